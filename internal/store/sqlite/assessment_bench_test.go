package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSaveHealthSnapshots writes the daily pass's snapshots: one per
// account of a 10,000-account book, a new day each iteration. cpu-ms/op is
// the process's CPU time, steadier than wall time on a shared machine.
//
//	go test -run '^$' -bench SaveHealthSnapshots -benchtime 5x ./internal/store/sqlite/
func BenchmarkSaveHealthSnapshots(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tend.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 10_000
	as := make([]account.Account, n)
	for i := range as {
		as[i] = account.Account{Name: fmt.Sprintf("A%d", i), ExternalID: fmt.Sprintf("a-%d", i)}
	}
	if _, err := st.UpsertAccounts(ctx, as, account.System("bench", "")); err != nil {
		b.Fatal(err)
	}
	day := date.MustParse("2026-01-01")
	score := 6.5
	ss := make([]store.HealthSnapshot, n)
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		for j := range ss {
			ss[j] = store.HealthSnapshot{AccountID: int64(j + 1), Day: day.AddDays(i), Score: &score, Color: "yellow", Model: "default",
				Categories: map[string]float64{"Utilization": 5, "TA Pulse": 10, "Relationships & Engagement": 6.67}}
		}
		if err := st.SaveHealthSnapshots(ctx, ss); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}
