// Package benchprof profiles the timed part of a benchmark whose setup
// would swamp a -cpuprofile of the whole run (a book of 100,000 accounts,
// an ingestion warm-up).
package benchprof

import (
	"os"
	"runtime/pprof"
	"testing"
)

// Start writes a CPU profile to the file TEND_BENCH_PROFILE names, when it
// is set, until the function it returns is called.
func Start(b *testing.B) (stop func()) {
	name := os.Getenv("TEND_BENCH_PROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
