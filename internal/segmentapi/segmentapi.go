// Package segmentapi serves the Segment HTTP tracking API under /v1/, so
// that every Segment library (analytics-go, analytics.js, analytics-node,
// analytics-python, …) and plain curl can send product usage to Tend
// unchanged: POST /v1/batch and the single calls /v1/track, /v1/identify,
// /v1/group, /v1/page, /v1/screen and /v1/alias, with analytics.js's
// one-letter forms (/v1/b, /v1/t, /v1/i, /v1/g, /v1/p, /v1/s, /v1/a).
//
// It is the HTTP shell around two other packages: ingest decodes and
// validates the bodies (pure), and the usage engine commits the events and
// applies them to the live metrics. This package reads the body within the
// Segment limits, authenticates the write key, hands the decoded request to
// the engine and says what happened.
//
// The answers follow one rule, because the official Go library retries every
// non-2xx answer (ten times) and browsers retry too: a request that can
// never succeed as sent gets a 4xx at once (bad key 401, too big 413, not
// JSON or not a batch 400), a request Tend failed to store gets a 500 so
// that the sender retries it, and a well-formed batch gets a 200 even when
// some of its events were rejected, with the rejected ones listed by index
// and reason; retrying those would never help. A 2xx means the accepted
// events are committed to the database and already counted in the live
// metrics.
//
// Ingestion is not the UI: it authenticates with a write key in a header or
// the body, never a cookie, so it needs no CSRF protection and allows every
// origin (analytics.js posts from the customer's product pages).
package segmentapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
)

// Config is what the ingestion API needs.
type Config struct {
	// Store authenticates write keys and records requests refused as a
	// whole in the ingestion debugger.
	Store store.Store
	// Usage is the running usage engine the events are handed to. Without
	// one, every call is answered 503.
	Usage  *engine.Usage
	Logger *slog.Logger
	// Now is the clock requests are received by (receivedAt, the base of
	// clock-skew correction); nil means time.Now.
	Now func() time.Time
}

// API serves the Segment-compatible ingestion endpoints.
type API struct {
	st    store.Store
	usage *engine.Usage
	log   *slog.Logger
	now   func() time.Time
	keys  keyCache
}

// New returns the ingestion API.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, usage: cfg.Usage, log: cfg.Logger, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Prefix is where the API is mounted; the paths are Segment's.
const Prefix = "/v1/"

// Handler returns the API's handler, to be mounted at Prefix. Every answer,
// errors included, allows any origin, so that a browser can read it.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{call}", a.post)
	mux.HandleFunc("OPTIONS /v1/{call}", a.preflight)
	// Other methods on a call's path, and paths that are no call: JSON
	// answers rather than the mux's plain text, so a sender's log shows why.
	mux.HandleFunc("/v1/{call}", a.wrongMethod)
	mux.HandleFunc("/", a.notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// preflight answers a browser's CORS preflight. analytics.js posts
// text/plain precisely to avoid one, but a browser client that sets
// Authorization or Content-Type: application/json needs it, and a preflight
// answered with an error makes the browser drop the call (and some clients
// retry it forever).
func (a *API) preflight(w http.ResponseWriter, r *http.Request) {
	if _, ok := endpointOf(r.PathValue("call")); !ok {
		a.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) wrongMethod(w http.ResponseWriter, r *http.Request) {
	if _, ok := endpointOf(r.PathValue("call")); !ok {
		a.notFound(w, r)
		return
	}
	w.Header().Set("Allow", "POST, OPTIONS")
	writeJSON(w, http.StatusMethodNotAllowed, failure{Error: errorJSON{Code: "method_not_allowed",
		Message: r.Method + " is not allowed on " + r.URL.Path + "; Segment calls are sent with POST"}})
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, failure{Error: errorJSON{Code: "not_found",
		Message: "no endpoint " + r.URL.Path + "; the Segment calls are POST /v1/batch, /v1/track, /v1/identify, " +
			"/v1/group, /v1/page, /v1/screen and /v1/alias"}})
}
