// Package server assembles Tend's HTTP surfaces — the web UI, the REST API,
// the Segment-compatible ingestion API and the health check — into one
// handler, and runs it with graceful shutdown. Only the UI sits behind
// cross-origin protection: the API authenticates with tokens and ingestion
// with write keys, and browsers post events from other origins.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tendhq/tend/internal/api"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/segmentapi"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/web"
	"github.com/tendhq/tend/internal/workspace"
)

// Config is what the server needs.
type Config struct {
	Store     store.Store
	Workspace *workspace.Workspace
	// Usage is the running usage engine: ingestion hands it events, the
	// UI and API read live metrics from it.
	Usage *engine.Usage
	// Assessor keeps segments, programs, stages and health current; the
	// UI and API read explanations from it.
	Assessor      *engine.Assessor
	Logger        *slog.Logger
	Now           func() time.Time
	SecureCookies bool
}

// Handler returns the whole of Tend's HTTP surface.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ui, err := web.New(web.Config{Store: cfg.Store, Workspace: cfg.Workspace, Logger: cfg.Logger, Now: cfg.Now,
		SecureCookies: cfg.SecureCookies, Usage: cfg.Usage, Assessor: cfg.Assessor})
	if err != nil {
		return nil, err
	}
	rest := api.New(api.Config{Store: cfg.Store, Workspace: cfg.Workspace, Usage: cfg.Usage, Assessor: cfg.Assessor,
		Logger: cfg.Logger, Now: cfg.Now})
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(cfg.Store))
	mux.Handle("/api/v1/", rest.Handler())
	mux.Handle("/v1/", segmentapi.New(segmentapi.Config{Store: cfg.Store, Usage: cfg.Usage, Logger: cfg.Logger, Now: cfg.Now}).Handler())
	mux.Handle("/", ui.Handler())
	return logRequests(cfg.Logger, mux), nil
}

// healthz answers 200 once the server is serving and its database answers.
func healthz(st store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := st.ListUsers(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" || len(r.URL.Path) > 7 && r.URL.Path[:8] == "/static/" {
			return
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "http", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
	})
}

// Serve serves h on ln until ctx is done, then shuts down gracefully,
// letting requests in flight finish for up to ten seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // bulk trait uploads
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
