// Package web is Tend's server-rendered UI: html/template pages with htmx
// for the parts that update in place, embedded assets and no build step.
// Every page also works as plain links and forms, without JavaScript.
//
// One file per page (login.go, dashboard.go, book.go, health_changes.go,
// account.go, team.go, settings.go, writekeys.go, debugger.go; tasks.go,
// docs.go, notifications.go and playbooks.go for the work playbooks make;
// campaigns.go for the campaigns, their template preview and the account
// page's campaign and message cards; outbox.go for the outbox and the suppression list, public.go for the
// unsubscribe and survey pages campaign emails link to;
// the account page's usage card in usage.go,
// its health and lifecycle cards in account_health.go, the SVG charts in
// chart.go); this file holds the wiring every page shares: routes,
// sessions, access by role, cross-origin protection and the one error
// adapter.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// Config is what the UI needs.
type Config struct {
	Store     store.Store
	Workspace *workspace.Workspace
	// Usage is the running usage engine, which the account page's usage
	// card reads live; nil shows the card as not connected.
	Usage *engine.Usage
	// Assessor keeps segments, programs, stages and health current; the
	// account page's health and lifecycle cards read it. Nil shows them as
	// not running.
	Assessor *engine.Assessor
	Logger   *slog.Logger
	// Now is the clock for "in 52 days" and the like; nil is time.Now.
	Now func() time.Time
	// SecureCookies marks the session cookie Secure; set it whenever Tend is
	// served over HTTPS (directly or behind a proxy).
	SecureCookies bool
}

// UI is the web interface. It is safe for concurrent use.
type UI struct {
	st       store.Store
	ws       *workspace.Workspace
	usage    *engine.Usage
	assessor *engine.Assessor
	log      *slog.Logger
	secure   bool
	now      func() time.Time
	sessions *scs.SessionManager
	tmpl     *templates
	static   *assets
	handler  http.Handler
}

// Session lifetime. There is deliberately no idle timeout: scs re-commits
// the session on every request when one is set, which would turn every page
// view into a write on SQLite's single writer connection.
const sessionLifetime = 7 * 24 * time.Hour

// maxFormBytes caps a form post; the largest is a note.
const maxFormBytes = 1 << 20

// New builds the UI, parsing every template once; a broken template fails
// here rather than in front of a user.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil || cfg.Workspace == nil {
		return nil, errors.New("web.New: Store and Workspace are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ui := &UI{st: cfg.Store, ws: cfg.Workspace, usage: cfg.Usage, assessor: cfg.Assessor, log: cfg.Logger, now: cfg.Now, secure: cfg.SecureCookies}
	var err error
	if ui.static, err = loadAssets(); err != nil {
		return nil, err
	}
	if ui.tmpl, err = parseTemplates(templateFS, ui.funcs()); err != nil {
		return nil, err
	}

	sm := scs.New()
	sm.Store = cfg.Store
	sm.Lifetime = sessionLifetime
	sm.Cookie.Name = "tend_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies
	sm.Cookie.Persist = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		ui.fail(w, r, err)
	}
	ui.sessions = sm

	// CSRF: every unsafe request that a browser marks as cross-origin
	// (Sec-Fetch-Site, else Origin against Host) is refused before any
	// handler runs. SameSite=Lax on the cookie is the second line.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ui.fail(w, r, derrors.New(derrors.Forbidden, "This request came from another site and was refused."))
	}))
	ui.handler = securityHeaders(cop.Handler(ui.routes()))
	return ui, nil
}

// Handler returns the UI's handler, to be mounted at "/".
func (ui *UI) Handler() http.Handler { return ui.handler }

// routes lists every page of the UI. Static files are served without
// loading the session, so that they cost no database read.
func (ui *UI) routes() http.Handler {
	root := http.NewServeMux()
	root.Handle("GET /static/", ui.static)
	mux := http.NewServeMux()
	root.Handle("/", ui.sessions.LoadAndSave(mux))

	mux.Handle("GET /login", ui.route(anyone, ui.loginPage))
	mux.Handle("POST /login", ui.route(anyone, ui.login))
	mux.Handle("POST /logout", ui.route(anyone, ui.logout))

	mux.Handle("GET /{$}", ui.route(signedIn, ui.book))
	mux.Handle("GET /accounts/{id}", ui.route(signedIn, ui.accountPage))
	mux.Handle("GET /accounts/{id}/assessment", ui.route(signedIn, ui.accountAssessment))
	mux.Handle("POST /accounts/{id}/notes", ui.route(writer, ui.addNote))
	mux.Handle("POST /accounts/{id}/traits", ui.route(writer, ui.setTrait))
	mux.Handle("POST /accounts/{id}/docs", ui.route(writer, ui.createDoc))
	mux.Handle("GET /tasks", ui.route(signedIn, ui.tasks))
	mux.Handle("GET /tasks/{id}", ui.route(signedIn, ui.taskPage))
	mux.Handle("POST /tasks/{id}", ui.route(writer, ui.editTask))
	mux.Handle("POST /tasks/{id}/status", ui.route(writer, ui.setTaskStatus))
	mux.Handle("POST /tasks/{id}/comments", ui.route(writer, ui.addComment))
	mux.Handle("GET /docs/{id}", ui.route(signedIn, ui.docPage))
	mux.Handle("POST /docs/{id}", ui.route(writer, ui.saveDoc))
	mux.Handle("GET /notifications", ui.route(signedIn, ui.notifications))
	mux.Handle("POST /notifications/read-all", ui.route(signedIn, ui.readAllNotifications))
	mux.Handle("POST /notifications/{id}/read", ui.route(signedIn, ui.readNotification))
	mux.Handle("GET /playbooks", ui.route(signedIn, ui.playbooks))
	mux.Handle("GET /playbooks/{key}", ui.route(signedIn, ui.playbookPage))
	mux.Handle("GET /playbooks/{key}/preview", ui.route(signedIn, ui.playbookPreview))
	// Admins and managers switch playbooks, as in the API.
	mux.Handle("POST /playbooks/{key}/switch", ui.route(operator, ui.switchPlaybook))
	mux.Handle("GET /campaigns", ui.route(signedIn, ui.campaigns))
	mux.Handle("GET /campaigns/{key}", ui.route(signedIn, ui.campaignPage))
	// The preview renders a real contact's email with its working
	// unsubscribe link, and a broadcast emails every account of the
	// audience: admins and managers, as the outbox.
	mux.Handle("GET /campaigns/{key}/preview", ui.route(operator, ui.campaignPreview))
	mux.Handle("GET /campaigns/{key}/preview/html", ui.route(operator, ui.campaignPreviewHTML))
	mux.Handle("POST /campaigns/{key}/broadcast", ui.route(operator, ui.broadcast))
	mux.Handle("GET /team", ui.route(signedIn, ui.team))
	mux.Handle("GET /dashboard", ui.route(signedIn, ui.dashboard))
	mux.Handle("GET /health-changes", ui.route(signedIn, ui.healthChanges))
	mux.Handle("GET /health-changes.csv", ui.route(signedIn, ui.healthChangesCSV))

	mux.Handle("GET /settings", ui.route(admin, ui.settings))
	mux.Handle("POST /settings/users", ui.route(admin, ui.createUser))
	mux.Handle("POST /settings/users/{id}", ui.route(admin, ui.updateUser))
	// Only admins manage API tokens (issue 2), as in the API and the CLI.
	mux.Handle("GET /settings/tokens", ui.route(admin, ui.tokens))
	mux.Handle("POST /settings/tokens", ui.route(admin, ui.createToken))
	mux.Handle("POST /settings/tokens/{id}/delete", ui.route(admin, ui.deleteToken))
	mux.Handle("GET /settings/write-keys", ui.route(admin, ui.writeKeys))
	mux.Handle("POST /settings/write-keys", ui.route(admin, ui.createWriteKey))
	mux.Handle("POST /settings/write-keys/{id}/revoke", ui.route(admin, ui.revokeWriteKey))

	mux.Handle("GET /usage/debugger", ui.route(operator, ui.debugger))
	// The outbox shows what Tend sends to customers and the team, and the
	// suppression list who it never emails: admins and managers, as the
	// debugger.
	mux.Handle("GET /outbox", ui.route(operator, ui.outbox))
	mux.Handle("GET /outbox/{id}", ui.route(operator, ui.outboxMessage))
	mux.Handle("GET /outbox/{id}/html", ui.route(operator, ui.outboxMessageHTML))
	mux.Handle("POST /outbox/{id}/retry", ui.route(operator, ui.retryMessage))
	mux.Handle("GET /suppressions", ui.route(operator, ui.suppressions))
	mux.Handle("POST /suppressions", ui.route(operator, ui.addSuppression))
	mux.Handle("POST /suppressions/remove", ui.route(operator, ui.removeSuppression))

	// The pages campaign emails link to, for contacts without a session:
	// the signed token is the credential (public.go).
	mux.Handle("GET /u/{token}", ui.route(anyone, ui.unsubscribePage))
	mux.Handle("POST /u/{token}", ui.route(anyone, ui.unsubscribe))
	mux.Handle("GET /s/{token}", ui.route(anyone, ui.surveyPage))
	mux.Handle("POST /s/{token}", ui.route(anyone, ui.answerSurvey))

	mux.Handle("/", ui.route(signedIn, func(http.ResponseWriter, *http.Request) error {
		return derrors.New(derrors.NotFound, "There is no page here.")
	}))
	return root
}

// handler is a page handler: it writes a response or returns the error that
// the one adapter (fail) renders.
type handler func(w http.ResponseWriter, r *http.Request) error

// access is who may reach a route.
type access int

const (
	anyone   access = iota // the login page
	signedIn               // any signed-in, enabled user
	writer                 // a user whose role may change data (not viewers)
	admin                  // admins only
	operator               // admins and managers: the ingestion debugger, playbook switches
)

type userKey struct{}

// currentUser returns the signed-in user the request carries.
func currentUser(r *http.Request) *team.User {
	u, _ := r.Context().Value(userKey{}).(*team.User)
	return u
}

// sessionUserKey is the session key that holds the signed-in user's id.
const sessionUserKey = "user_id"

// route wraps h with the session's user, the access check and the error
// adapter.
func (ui *UI) route(a access, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := ui.sessionUser(r)
		if err != nil {
			ui.fail(w, r, err)
			return
		}
		if u != nil {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		switch {
		case a == anyone:
		case u == nil:
			ui.toLogin(w, r)
			return
		case a == writer && !u.Role.CanWrite():
			ui.fail(w, r, derrors.New(derrors.Forbidden, "Your role (%s) can read but not change data.", u.Role.Label()))
			return
		case a == admin && !u.Role.IsAdmin():
			ui.fail(w, r, derrors.New(derrors.Forbidden, "Only admins can open this page."))
			return
		case a == operator && !canOperate(u.Role):
			ui.fail(w, r, derrors.New(derrors.Forbidden, "Only admins and managers can open this page."))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					ui.fail(w, r, derrors.New(derrors.TooLarge, "The form is larger than %d bytes.", maxFormBytes))
					return
				}
				ui.fail(w, r, derrors.New(derrors.Invalid, "The form could not be read."))
				return
			}
		}
		if err := h(w, r); err != nil {
			ui.fail(w, r, err)
		}
	})
}

// canOperate reports whether a role sees how Tend runs: the ingestion
// debugger shows raw events, which may carry customers' user ids.
func canOperate(r team.Role) bool { return r == team.Admin || r == team.Manager }

// sessionUser loads the session's user on every request, so that disabling
// a user or changing their role takes effect at once, on every session.
func (ui *UI) sessionUser(r *http.Request) (*team.User, error) {
	id := ui.sessions.GetInt64(r.Context(), sessionUserKey)
	if id == 0 {
		return nil, nil
	}
	u, err := ui.st.GetUser(r.Context(), id)
	if derrors.Is(err, derrors.NotFound) || err == nil && u.Disabled {
		// The user went away or was disabled: end the session.
		return nil, ui.sessions.Destroy(r.Context())
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// toLogin sends a visitor without a session to the login page, coming back
// afterwards to where they were going.
func (ui *UI) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if isHTMX(r) {
		// A fragment request would otherwise swap the login page into a
		// table cell; htmx follows this header with a full navigation.
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// isHTMX reports whether htmx sent the request and wants a fragment. A
// history restore after a cache miss wants the whole page.
func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// localPath returns next when it is a path on this site, else "/": the
// login form must not become an open redirect.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// errorPage is the data of the error page.
type errorPage struct {
	base
	Status  int
	Heading string
	Message string
}

// fail is the one error adapter: it renders err as an HTML error page (or,
// for htmx, as a message in the page's flash area) with the status of its
// code. Only an *derrors.Error's message is shown; anything else is logged
// and shown as a generic message.
func (ui *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	pub := derrors.Public(err)
	status := pub.Code.HTTPStatus()
	if status >= 500 {
		ui.log.ErrorContext(r.Context(), "web", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
	}
	if pub.Code == derrors.Unauthorized {
		ui.toLogin(w, r)
		return
	}
	msg := sentence(pub.Message)
	if pub.Field != "" {
		msg = pub.Field + ": " + pub.Message
	}
	if status >= 500 {
		msg = "Something went wrong on our side. It has been logged; please try again."
	}
	data := errorPage{base: base{Title: http.StatusText(status), User: currentUser(r)}, Status: status,
		Heading: http.StatusText(status), Message: msg}
	if isHTMX(r) {
		// htmx swaps error responses only where told to (see the
		// htmx-config meta in layout.html): into the flash area.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		ui.renderBlock(w, r, status, "error", "flash-error", data)
		return
	}
	ui.renderPage(w, r, status, "error", data)
}

// sentence starts a message with a capital letter: stores word their
// messages for logs ("account 7 not found"), pages show sentences.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// securityHeaders sets the headers every UI response carries. The content
// security policy allows scripts and styles from this origin only, which
// is why the templates have no inline script or style.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// flash stores a one-line message shown on the next page the user sees.
func (ui *UI) flash(r *http.Request, msg string) {
	ui.sessions.Put(r.Context(), "flash", msg)
}
