package segmentapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/server"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/workspace"
)

// serveEnv makes the test binary a server: TestMain sees it and runs serve
// instead of the tests.
const serveEnv = "SEGMENTAPI_TEST_SERVE_DATA"

func TestMain(m *testing.M) {
	if data := os.Getenv(serveEnv); data != "" {
		if err := serve(data); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serve is `tend serve --data DIR --listen 127.0.0.1:0` in this test
// binary: the same store, engine (flushing every second), server.Handler
// with the ingestion mount and graceful shutdown on SIGINT, without the
// rest of cmd/tend, so that the test does not depend on every command
// building.
func serve(data string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, err := sqlite.Open(ctx, filepath.Join(data, "tend.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	ws, err := workspace.Default()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Logger: log})
	if err != nil {
		return err
	}
	defer eng.Close()
	h, err := server.Handler(server.Config{Store: st, Workspace: ws, Usage: eng, Logger: log, Now: time.Now})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("serving on http://%s\n", ln.Addr())
	return server.Serve(ctx, ln, h)
}

// TestRestartAfterKill runs a server process on a data directory, sends
// batches from several clients, kills the process with SIGKILL while they
// are sending (no graceful stop, no last flush), starts it again on the
// same directory and checks that every event it answered 2xx for is stored
// and counted: in the restarted server's computed traits, and by a usage
// engine that replays the store afresh.
func TestRestartAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	dbPath := filepath.Join(data, "tend.db")

	// There is no write-key command yet: the key and the account go into
	// the database before the server starts.
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	acme := account.Account{Name: "Acme", AnalyticsID: "grp-acme", Seats: 500}
	if err := st.CreateAccount(ctx, &acme, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	secret, hash, err := team.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWriteKey(ctx, &store.WriteKey{Name: "backend", Prefix: secret[:10], Hash: hash}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Events land on the 1st to 20th day before today, so that every one
	// is inside the 30-day window whatever the hour.
	now := time.Now()
	const perBatch = 50
	batch := func(n int) []byte {
		var calls []string
		for i := range perBatch {
			user := fmt.Sprintf("u%d", (n*perBatch+i)%700)
			at := now.AddDate(0, 0, -1-(n+i)%20).UTC().Format(time.RFC3339Nano)
			calls = append(calls, fmt.Sprintf(`{"type":"track","messageId":"b%d-%d","userId":%q,"event":"Search Performed",`+
				`"timestamp":%q,"context":{"groupId":"grp-acme"},"properties":{"query":"repo:acme/api"}}`, n, i, user, at))
		}
		return batchOf(calls...)
	}

	// First run: four clients send until the process dies under them.
	first := startTend(ctx, t, bin, data)
	var acked sync.Map // batch number → true
	var nAcked, next atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				n := int(next.Add(1) - 1)
				req, _ := http.NewRequestWithContext(ctx, "POST", first.url+"/v1/batch", bytes.NewReader(batch(n)))
				req.SetBasicAuth(secret, "")
				res, err := client.Do(req)
				if err != nil {
					if !killed.Load() {
						errs <- err
					}
					return
				}
				res.Body.Close()
				if res.StatusCode/100 == 2 {
					acked.Store(n, true)
					nAcked.Add(1)
				} else if !killed.Load() {
					errs <- fmt.Errorf("batch %d: %s", n, res.Status)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for nAcked.Load() < 60 {
		select {
		case err := <-errs:
			first.kill(t)
			t.Fatalf("before the kill: %v\n%s", err, first.stderr)
		default:
		}
		if time.Now().After(deadline) {
			first.kill(t)
			t.Fatalf("%d batches acknowledged in a minute", nAcked.Load())
		}
		time.Sleep(time.Millisecond)
	}
	killed.Store(true)
	first.kill(t)
	wg.Wait()
	sentBatches := int(next.Load())
	t.Logf("%d batches acknowledged of %d sent before the kill", nAcked.Load(), sentBatches)

	// What the crash left: events beyond the derived state's watermark are
	// what the restart must replay.
	st, err = sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	watermark, err := st.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := allEvents(ctx, t, st)
	st.Close()
	if int64(len(stored)) > watermark {
		t.Logf("%d events stored, the watermark at %d: the restart replays %d", len(stored), watermark, int64(len(stored))-watermark)
	} else {
		t.Logf("the last flush before the kill covered every event: no replay exercised this run")
	}

	// Second run: it replays, takes more events, and stops gracefully,
	// writing the computed traits.
	second := startTend(ctx, t, bin, data)
	req, _ := http.NewRequestWithContext(ctx, "POST", second.url+"/v1/batch", bytes.NewReader(batch(sentBatches)))
	req.SetBasicAuth(secret, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("after the restart: %s", res.Status)
	}
	acked.Store(sentBatches, true)
	second.stop(t)

	st, err = sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored = allEvents(ctx, t, st)
	byID := map[string]store.Event{}
	for _, e := range stored {
		byID[e.MessageID] = e
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		for i := range perBatch {
			if _, ok := byID[fmt.Sprintf("b%d-%d", k.(int), i)]; !ok {
				missing++
			}
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged events are not stored after the crash", missing)
	}

	// The counts follow from the stored events (every acknowledged event and
	// any the crash committed without an answer getting out).
	users := map[string]bool{}
	perDay := map[usage.Day]map[string]bool{}
	for _, e := range stored {
		users[e.UserKey] = true
		d := usage.DayOf(e.Timestamp, time.UTC)
		if perDay[d] == nil {
			perDay[d] = map[string]bool{}
		}
		perDay[d][e.UserKey] = true
	}
	tr, err := st.ListTraits(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	var active any
	for _, v := range tr {
		if v.Key == "active_users_30d" {
			active = v.Value
		}
	}
	if fmt.Sprint(active) != fmt.Sprint(len(users)) {
		t.Errorf("the restarted server's active_users_30d is %v, want %d", active, len(users))
	}

	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if m := eng.Metrics(acme.ID); m.Active30 != len(users) {
		t.Errorf("30-day actives after the restart: %d, want %d", m.Active30, len(users))
	}
	chart, err := eng.Chart(ctx, acme.ID, 25, 2)
	if err != nil {
		t.Fatal(err)
	}
	days := 0
	for _, dc := range chart.DAU {
		if want := len(perDay[dc.Day]); dc.Users != want {
			t.Errorf("DAU on %v: %d, want %d", dc.Day, dc.Users, want)
		}
		days += min(dc.Users, 1)
	}
	if days != 20 {
		t.Errorf("%d days with activity in the chart, want 20", days)
	}
}

// tendProcess is a running server (serve, in this binary).
type tendProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan error
}

func startTend(ctx context.Context, t *testing.T, bin, data string) *tendProcess {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+data)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &tendProcess{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), " on http://"); ok {
				urls <- "http://" + url
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("the server exited before serving: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the server did not start in 30 s\n%s", p.stderr)
	}
	return p
}

// kill stops the process with SIGKILL: no shutdown code runs.
func (p *tendProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop asks the process to shut down gracefully and waits.
func (p *tendProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("the server: %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("the server did not stop in 30 s")
	}
}

// allEvents reads every stored event in sequence order.
func allEvents(ctx context.Context, t *testing.T, st store.Store) []store.Event {
	t.Helper()
	var all []store.Event
	var after int64
	for {
		evs, err := st.EventsSince(ctx, after, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Seq
	}
}
