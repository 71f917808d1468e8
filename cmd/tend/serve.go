package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/server"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/workspace"
)

// serveFlags are serve's flags beyond the store's; demo shares them.
type serveFlags struct {
	storeFlags
	listen        string
	secureCookies bool
	clock         string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.storeFlags.register(fs)
	fs.StringVar(&f.listen, "listen", envOr("TEND_LISTEN", "127.0.0.1:8080"), "address to listen on (env TEND_LISTEN)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", os.Getenv("TEND_SECURE_COOKIES") == "true",
		"mark session cookies Secure, for serving behind https (env TEND_SECURE_COOKIES=true)")
	fs.StringVar(&f.clock, "clock", os.Getenv("TEND_CLOCK"),
		"start the engine's clock at this instant (RFC 3339, or YYYY-MM-DD for its midnight in the workspace's time zone); it then advances normally (env TEND_CLOCK)")
}

// now returns the server's clock: the real one, or --clock's.
func (f *serveFlags) now(ws *workspace.Workspace) (func() time.Time, error) {
	if f.clock == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, f.clock)
	if err != nil {
		d, derr := date.Parse(f.clock)
		if derr != nil {
			return nil, fmt.Errorf("--clock %q is not an instant (2026-01-15T00:00:00Z) or a day (2026-01-15)", f.clock)
		}
		loc := ws.Settings.Location
		if loc == nil {
			loc = time.UTC
		}
		t = d.Time(loc)
	}
	return engine.StartedClock(t), nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now, err := f.now(ws)
	if err != nil {
		return err
	}
	setStoreClock(st, now)
	return serve(ctx, &f, st, ws, nil, now, stdout, stderr, nil)
}

// setStoreClock makes the store stamp records (created, trait history) with
// the engine's clock, so that a server on --clock keeps one time.
func setStoreClock(st store.Store, now func() time.Time) {
	if db, ok := st.(*sqlstore.DB); ok {
		db.Now = now
	}
}

// serve listens, then calls ready (if any) with the base URL, then serves
// until ctx is done. It serves usage with eng, which stays the caller's to
// close, or when eng is nil with an engine of its own, and runs the
// assessor. now is the engine's clock.
func serve(ctx context.Context, f *serveFlags, st store.Store, ws *workspace.Workspace, eng *engine.Usage,
	now func() time.Time, stdout, stderr io.Writer, ready func(url string)) error {
	log := newLogger(stderr)
	if eng == nil {
		var err error
		if eng, err = startUsage(ctx, st, ws, log, now); err != nil {
			return err
		}
		// Closed after the server stops: queued events are committed and
		// the last derived state flushed.
		defer eng.Close()
	}
	queue, stopOutbox, err := startOutbox(ctx, st, log, now)
	if err != nil {
		return err
	}
	defer stopOutbox()
	pbs := playbookConfig(st, ws, now, queue.Enqueue)
	if os.Getenv("TEND_BASE_URL") == "" {
		// Emails' unsubscribe and survey links lead here.
		pbs.Campaigns.LinkBase = "http://" + f.listen
	}
	as := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Logger: log, Now: now, Playbooks: pbs})
	as.Start()
	defer as.Close()
	h, err := server.Handler(server.Config{Store: st, Workspace: ws, Usage: eng, Assessor: as, Logger: log, Now: now,
		SecureCookies: f.secureCookies})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if ready != nil {
		ready(url)
	} else {
		fmt.Fprintf(stdout, "Tend is serving %s on %s\n", f.where(), url)
	}
	return server.Serve(ctx, ln, h)
}

// startUsage starts the usage engine on the clock now.
func startUsage(ctx context.Context, st store.Store, ws *workspace.Workspace, log *slog.Logger, now func() time.Time) (*engine.Usage, error) {
	return engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Logger: log, Now: now})
}
