package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/web"
	"github.com/tendhq/tend/internal/workspace"
)

// today is the tests' clock: renewals read "in N days" from it.
var today = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// password is every test user's password.
const password = "correct horse battery"

// testEnv is a running UI on a fresh in-memory store.
type testEnv struct {
	t   testing.TB
	st  store.Store
	ws  *workspace.Workspace
	srv *httptest.Server
	log *syncBuffer
	// usage and assessor are the engines the UI reads, once started
	// (withUsage, withAssessor, withPlaybooks).
	usage    *engine.Usage
	assessor *engine.Assessor
}

// syncBuffer is a log sink the server goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	st, err := sqlite.OpenMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.Now = func() time.Time { return today }
	return startEnv(t, st)
}

func startEnv(t testing.TB, st store.Store) *testEnv {
	t.Helper()
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, st: st, ws: ws, log: &syncBuffer{}}
	e.serve()
	return e
}

// serve (re)starts the UI with the engines the env has, at a new address:
// sign in after it.
func (e *testEnv) serve() {
	e.t.Helper()
	ui, err := web.New(web.Config{Store: e.st, Workspace: e.ws, Usage: e.usage, Assessor: e.assessor,
		Logger: slog.New(slog.NewTextHandler(e.log, nil)), Now: func() time.Time { return today }})
	if err != nil {
		e.t.Fatal(err)
	}
	if e.srv != nil {
		e.srv.Close()
	}
	e.srv = httptest.NewServer(ui.Handler())
	e.t.Cleanup(e.srv.Close)
}

// addUser creates a team member with the test password.
func (e *testEnv) addUser(email, name string, role team.Role) team.User {
	e.t.Helper()
	hash, err := team.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	u := team.User{Email: email, Name: name, Role: role, PasswordHash: hash}
	if err := e.st.CreateUser(context.Background(), &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// addAccount creates an account.
func (e *testEnv) addAccount(a account.Account) account.Account {
	e.t.Helper()
	if err := e.st.CreateAccount(context.Background(), &a, account.System("test", account.SourceManual)); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// client is a browser-like HTTP client with its own cookie jar that does
// not follow redirects, so tests see them.
type client struct {
	t   testing.TB
	e   *testEnv
	c   *http.Client
	jar http.CookieJar
}

func (e *testEnv) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login returns a client signed in as email.
func (e *testEnv) login(email string) *client {
	e.t.Helper()
	return e.loginWith(email, password)
}

// loginWith returns a client signed in with the credentials.
func (e *testEnv) loginWith(email, password string) *client {
	e.t.Helper()
	c := e.anonymous()
	res, body := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d\n%s", email, res.StatusCode, body)
	}
	return c
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

func (c *client) get(path string, header ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values, header ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// wantStatus fails the test unless res has the status.
func wantStatus(t testing.TB, res *http.Response, body string, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, body)
	}
}

// wantIn fails the test unless body contains every string.
func wantIn(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("body:\n%s", body)
		t.FailNow()
	}
}

// wantNotIn fails the test if body contains any of the strings.
func wantNotIn(t testing.TB, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("body has %q", w)
		}
	}
	if t.Failed() {
		t.Logf("body:\n%s", body)
		t.FailNow()
	}
}

func ptr[T any](v T) *T { return &v }

func day(s string) date.Date { return date.MustParse(s) }
