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

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/server"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// serveFlags are serve's flags beyond the store's; demo shares them.
type serveFlags struct {
	storeFlags
	listen        string
	secureCookies bool
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.storeFlags.register(fs)
	fs.StringVar(&f.listen, "listen", envOr("TEND_LISTEN", "127.0.0.1:8080"), "address to listen on (env TEND_LISTEN)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", os.Getenv("TEND_SECURE_COOKIES") == "true",
		"mark session cookies Secure, for serving behind https (env TEND_SECURE_COOKIES=true)")
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
	return serve(ctx, &f, st, ws, nil, stdout, stderr, nil)
}

// serve listens, then calls ready (if any) with the base URL, then serves
// until ctx is done. It serves usage with eng, which stays the caller's to
// close, or when eng is nil with an engine of its own.
func serve(ctx context.Context, f *serveFlags, st store.Store, ws *workspace.Workspace, eng *engine.Usage,
	stdout, stderr io.Writer, ready func(url string)) error {
	log := newLogger(stderr)
	if eng == nil {
		var err error
		if eng, err = startUsage(ctx, st, ws, log); err != nil {
			return err
		}
		// Closed after the server stops: queued events are committed and
		// the last derived state flushed.
		defer eng.Close()
	}
	h, err := server.Handler(server.Config{Store: st, Workspace: ws, Usage: eng, Logger: log, Now: time.Now,
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

// startUsage starts the usage engine on the real clock.
func startUsage(ctx context.Context, st store.Store, ws *workspace.Workspace, log *slog.Logger) (*engine.Usage, error) {
	return engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Logger: log, Now: time.Now})
}
