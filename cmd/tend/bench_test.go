package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// BenchmarkColdStart measures a built binary from exec to the first 200
// from /healthz, on a fresh SQLite data directory (migrations included),
// and reports the binary's size.
//
//	go test -run '^$' -bench ColdStart -benchtime 10x ./cmd/tend/
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "tend")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	urlRe := regexp.MustCompile(`on (http://\S+)`)
	var total time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		data := filepath.Join(dir, "data", string(rune('a'+i%26))+time.Now().Format("150405.000000000"))
		start := time.Now()
		cmd := exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			b.Fatalf("no URL printed: %v", err)
		}
		url := urlRe.FindStringSubmatch(line)[1]
		for {
			resp, err := http.Get(url + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		n++
		cmd.Process.Kill()
		cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-to-healthz")
	b.ReportMetric(float64(fi.Size())/(1<<20), "binary-MiB")
}
