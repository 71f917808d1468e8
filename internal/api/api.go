// Package api is Tend's JSON REST API under /api/v1/: accounts, contacts,
// traits and their history, notes and the timeline, tasks with their
// comments, docs made from templates, the caller's notifications, team members and API
// tokens, a bulk trait upsert for warehouse syncs, accounts' live product
// usage, digital campaigns with their enrollments, previews, broadcasts and
// survey answers, the outbox and the suppression list, the write keys that
// authenticate usage sources, and the ingestion debugger. Callers authenticate
// with a Bearer API token; the token's user's role decides what they may do.
// The routes are listed in one place (routes) and described by the
// hand-written OpenAPI document served at /api/v1/openapi.json; a test keeps
// the two in step.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// Config is what the API needs.
type Config struct {
	Store     store.Store
	Workspace *workspace.Workspace
	Logger    *slog.Logger
	// Usage is the running usage engine, which the usage endpoint reads
	// live metrics from; nil when the server runs without one, and then
	// that endpoint answers 404. Write keys and the ingestion debugger
	// need only the store.
	Usage *engine.Usage
	// Assessor is the running assessor, which the health and lifecycle
	// endpoints read; nil answers them 404.
	Assessor *engine.Assessor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API serves the REST API.
type API struct {
	st       store.Store
	ws       *workspace.Workspace
	usage    *engine.Usage
	assessor *engine.Assessor
	log      *slog.Logger
	now      func() time.Time
}

// New returns the API over the store and workspace.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, ws: cfg.Workspace, usage: cfg.Usage, assessor: cfg.Assessor, log: cfg.Logger, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Prefix is where the API is mounted; routes carry it in full.
const Prefix = "/api/v1"

// access is who may call a route.
type access int

const (
	// public needs no token (the OpenAPI description only).
	public access = iota
	// reader is any valid token, viewers included.
	reader
	// writer is any role that can change data: everyone but viewers.
	writer
	// lead is admins and managers: deleting an account with its history,
	// the ingestion debugger, playbook switches, campaign broadcasts, the
	// outbox and the suppression list.
	lead
	// admin is admins only: managing team members, API tokens and write
	// keys.
	admin
)

// handlerFunc is an API handler: it writes a response or returns an error
// for the one adapter (errors.go) to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint of the API.
type route struct {
	method string
	path   string // a ServeMux path pattern, Prefix included
	access access
	h      handlerFunc
}

// routes lists every endpoint in one table, so that the mux, the role
// checks and the OpenAPI test all read the same list.
func (a *API) routes() []route {
	p := Prefix
	return []route{
		{"GET", p + "/openapi.json", public, a.openAPI},
		{"GET", p + "/me", reader, a.me},

		{"GET", p + "/accounts", reader, a.listAccounts},
		{"POST", p + "/accounts", writer, a.createAccount},
		{"GET", p + "/accounts/{id}", reader, a.getAccount},
		{"PATCH", p + "/accounts/{id}", writer, a.patchAccount},
		{"DELETE", p + "/accounts/{id}", lead, a.deleteAccount},

		{"GET", p + "/accounts/{id}/contacts", reader, a.listContacts},
		{"POST", p + "/accounts/{id}/contacts", writer, a.createContact},
		{"GET", p + "/contacts/{id}", reader, a.getContact},
		{"PATCH", p + "/contacts/{id}", writer, a.patchContact},
		{"DELETE", p + "/contacts/{id}", writer, a.deleteContact},

		{"GET", p + "/traits", reader, a.listTraitDefs},
		{"POST", p + "/traits:batch", writer, a.batchTraits},
		{"GET", p + "/accounts/{id}/traits", reader, a.accountTraits},
		{"GET", p + "/accounts/{id}/traits/history", reader, a.traitHistory},

		{"GET", p + "/accounts/{id}/notes", reader, a.listNotes},
		{"POST", p + "/accounts/{id}/notes", writer, a.createNote},
		{"GET", p + "/accounts/{id}/activities", reader, a.listActivities},

		{"GET", p + "/accounts/{id}/usage", reader, a.accountUsage},
		{"GET", p + "/accounts/{id}/health", reader, a.accountHealth},
		{"GET", p + "/accounts/{id}/health/history", reader, a.healthHistory},
		{"GET", p + "/accounts/{id}/lifecycle", reader, a.accountLifecycle},
		{"GET", p + "/accounts/{id}/changes", reader, a.accountChanges},
		{"GET", p + "/health-changes", reader, a.healthChanges},
		{"GET", p + "/health/distribution", reader, a.healthDistribution},

		{"GET", p + "/playbooks", reader, a.listPlaybooks},
		{"GET", p + "/playbooks/{key}", reader, a.getPlaybook},
		{"POST", p + "/playbooks/{key}/enable", lead, a.enablePlaybook},
		{"POST", p + "/playbooks/{key}/disable", lead, a.disablePlaybook},
		{"GET", p + "/playbooks/{key}/preview", reader, a.previewPlaybook},
		{"GET", p + "/playbooks/{key}/why", reader, a.playbookWhy},
		{"GET", p + "/playbooks/{key}/firings", reader, a.playbookFirings},
		{"GET", p + "/accounts/{id}/firings", reader, a.accountFirings},

		{"GET", p + "/campaigns", reader, a.listCampaigns},
		{"GET", p + "/campaigns/{key}", reader, a.getCampaign},
		{"GET", p + "/campaigns/{key}/enrollments", reader, a.campaignEnrollments},
		// A broadcast emails a whole audience: admins and managers, as
		// playbook switches.
		{"POST", p + "/campaigns/{key}/broadcast", lead, a.broadcastCampaign},
		// The preview's links act for the contact (unsubscribe, survey):
		// admins and managers too, as in the web UI.
		{"GET", p + "/campaigns/{key}/preview", lead, a.previewCampaign},
		{"GET", p + "/accounts/{id}/enrollments", reader, a.accountEnrollments},
		{"POST", p + "/accounts/{id}/enrollments/{campaign}/end", writer, a.endEnrollment},
		{"GET", p + "/survey-answers", reader, a.listSurveyAnswers},
		{"GET", p + "/accounts/{id}/survey-answers", reader, a.accountSurveyAnswers},

		// The outbox and the suppression list: admins and managers, as in
		// the web UI.
		{"GET", p + "/outbox", lead, a.listOutbox},
		{"GET", p + "/outbox/{id}", lead, a.getOutboxMessage},
		{"POST", p + "/outbox/{id}/retry", lead, a.retryOutboxMessage},
		{"GET", p + "/suppressions", lead, a.listSuppressions},
		{"POST", p + "/suppressions", lead, a.addSuppression},
		{"DELETE", p + "/suppressions/{address}", lead, a.removeSuppression},

		{"GET", p + "/tasks", reader, a.listTasks},
		{"POST", p + "/tasks", writer, a.createTask},
		{"GET", p + "/tasks/{id}", reader, a.getTask},
		{"PATCH", p + "/tasks/{id}", writer, a.patchTask},
		{"GET", p + "/tasks/{id}/comments", reader, a.listComments},
		{"POST", p + "/tasks/{id}/comments", writer, a.createComment},
		{"GET", p + "/accounts/{id}/tasks", reader, a.accountTasks},

		{"GET", p + "/doc-templates", reader, a.listDocTemplates},
		{"GET", p + "/accounts/{id}/docs", reader, a.listDocs},
		{"POST", p + "/accounts/{id}/docs", writer, a.createDoc},
		{"GET", p + "/docs/{id}", reader, a.getDoc},
		{"PATCH", p + "/docs/{id}", writer, a.patchDoc},

		// Reading one's own notifications changes nothing but one's own
		// inbox, so viewers may mark theirs read too.
		{"GET", p + "/notifications", reader, a.listNotifications},
		{"POST", p + "/notifications/{id}/read", reader, a.readNotification},
		{"POST", p + "/notifications/read-all", reader, a.readAllNotifications},

		{"GET", p + "/users", reader, a.listUsers},
		{"POST", p + "/users", admin, a.createUser},
		{"GET", p + "/users/{id}", reader, a.getUser},
		{"PATCH", p + "/users/{id}", admin, a.patchUser},

		{"GET", p + "/tokens", admin, a.listTokens},
		{"POST", p + "/tokens", admin, a.createToken},
		{"DELETE", p + "/tokens/{id}", admin, a.deleteToken},

		{"GET", p + "/write-keys", admin, a.listWriteKeys},
		{"POST", p + "/write-keys", admin, a.createWriteKey},
		{"DELETE", p + "/write-keys/{id}", admin, a.revokeWriteKey},

		{"GET", p + "/ingestion/events", lead, a.ingestionEvents},
		{"GET", p + "/ingestion/rejections", lead, a.ingestionRejections},
		{"GET", p + "/ingestion/counts", lead, a.ingestionCounts},
	}
}

// Handler returns the API's handler. It expects full paths (/api/v1/...).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		h := a.adapt(rt.h)
		if rt.access != public {
			h = a.authenticate(a.authorize(rt, h))
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h, pattern := mux.Handler(r)
		if pattern == "" {
			// The mux's own 404 and 405 are plain text; answer in the API's
			// error format instead, keeping the status and Allow header.
			a.unrouted(w, r, h)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unrouted renders the mux's answer for a request no route takes.
func (a *API) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &probeWriter{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorJSON{Code: "method_not_allowed",
			Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + probe.header.Get("Allow")}})
	case http.StatusNotFound, 0:
		writeJSON(w, http.StatusNotFound, errorBody{Error: errorJSON{Code: "not_found",
			Message: "no endpoint " + r.Method + " " + r.URL.Path + " (see " + Prefix + "/openapi.json)"}})
	default: // redirects to a cleaned path
		for k, v := range probe.header {
			w.Header()[k] = v
		}
		w.WriteHeader(probe.status)
	}
}

// probeWriter records the status and headers of the mux's fallback handler
// and drops its body.
type probeWriter struct {
	header http.Header
	status int
}

// Header implements http.ResponseWriter.
func (p *probeWriter) Header() http.Header { return p.header }

// Write implements http.ResponseWriter, dropping the body.
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// WriteHeader implements http.ResponseWriter, keeping the first status.
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// ctxKey keys the caller in a request's context.
type ctxKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// callerOf returns the authenticated caller; the auth middleware guarantees
// one on every non-public route.
func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(ctxKey{}).(*caller)
	if c == nil {
		panic("api: no caller on an authenticated route")
	}
	return c
}
