package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// fixture is a small book of business on a fresh in-memory SQLite, served
// by the API:
//
//	users:    1 admin@tend.test (admin), 2 tara@tend.test (ta),
//	          3 vic@tend.test (viewer), 4 dee@tend.test (ta, disabled)
//	tokens:   one per user, named "<role> token"
//	accounts: 1 Acme Corp   A-1 owner 2  Enterprise Managed        2. Adopting   $120k green
//	          2 Globex      A-2 owner 1  Commercial Scaled Success 1. Onboarding $30k  red
//	          3 Initech     A-3 no owner Strategic  Managed        4. Renewing   $900k yellow
//	contact:  1 jane@acme.com on Acme (champion)
//	traits:   Acme ta_pulse=Healthy, help_tickets_90d=4
//	note:     one on Acme
//
// A usage engine runs over the store; fx.feed sends it events, as the
// ingestion endpoint does, with write keys made on first use.
type fixture struct {
	st    *sqlstore.DB
	h     http.Handler
	usage *engine.Usage
	// assessor is not started: a test steps it (fx.assess).
	assessor *engine.Assessor
	secret   map[string]string // "admin", "ta", "viewer", "disabled"; "manager" after addManager
	token    map[string]team.Token
	keys     map[string]store.WriteKey // by name, made by fx.writeKey
	logs     *syncBuffer
}

// syncBuffer is a log sink the handler's goroutines may share.
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

var fixtureNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{st: st, secret: map[string]string{}, token: map[string]team.Token{}, keys: map[string]store.WriteKey{},
		logs: &syncBuffer{}}
	users := []struct {
		key  string
		user team.User
	}{
		{"admin", team.User{Email: "admin@tend.test", Name: "Ada Admin", Role: team.Admin}},
		{"ta", team.User{Email: "tara@tend.test", Name: "Tara Advisor", Role: team.TA}},
		{"viewer", team.User{Email: "vic@tend.test", Name: "Vic Viewer", Role: team.Viewer}},
		{"disabled", team.User{Email: "dee@tend.test", Name: "Dee Gone", Role: team.TA}},
	}
	for _, u := range users {
		must(t, st.CreateUser(ctx, &u.user))
		secret, tok, err := team.NewToken(u.user.ID, u.key+" token")
		must(t, err)
		must(t, st.CreateToken(ctx, &tok))
		fx.secret[u.key], fx.token[u.key] = secret, tok
		if u.key == "disabled" {
			u.user.Disabled = true
			must(t, st.UpdateUser(ctx, &u.user))
		}
	}
	id := func(n int64) *int64 { return &n }
	score := func(f float64) *float64 { return &f }
	accts := []account.Account{
		{Name: "Acme Corp", Domain: "acme.com", ExternalID: "A-1", OwnerID: id(2), Segment: "Enterprise", Program: "Managed",
			Stage: "2. Adopting", ARR: 120_000, Seats: 500, EstimatedDevelopers: 3000, HealthScore: score(8.1), HealthColor: "green",
			RenewalDate: date.MustParse("2026-09-30")},
		{Name: "Globex", Domain: "globex.com", ExternalID: "A-2", OwnerID: id(1), Segment: "Commercial", Program: "Scaled Success",
			Stage: "1. Onboarding", ARR: 30_000, Seats: 50, EstimatedDevelopers: 400, HealthScore: score(2), HealthColor: "red"},
		{Name: "Initech", Domain: "initech.com", ExternalID: "A-3", Segment: "Strategic", Program: "Managed",
			Stage: "4. Renewing", ARR: 900_000, Seats: 5000, EstimatedDevelopers: 12_000, HealthScore: score(5), HealthColor: "yellow"},
	}
	seed := account.System("test fixture", account.SourceManual)
	for i := range accts {
		must(t, st.CreateAccount(ctx, &accts[i], seed))
	}
	must(t, st.CreateContact(ctx, &account.Contact{AccountID: 1, Name: "Jane Doe", Email: "jane@acme.com", Roles: []string{"champion"}}))
	_, err = st.SetTraits(ctx, []account.TraitWrite{{AccountID: 1, Key: "ta_pulse", Value: "Healthy"},
		{AccountID: 1, Key: "help_tickets_90d", Value: 4.0}}, seed)
	must(t, err)
	must(t, st.AddActivity(ctx, &account.Activity{AccountID: 1, Kind: account.ActivityNote, Actor: "tara@tend.test", Body: "Kickoff went well"}))

	log := slog.New(slog.NewTextHandler(fx.logs, nil))
	now := func() time.Time { return fixtureNow }
	fx.usage, err = engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Logger: log, Now: now,
		FlushEvery: 20 * time.Millisecond})
	must(t, err)
	t.Cleanup(func() { fx.usage.Close() }) // before the store closes: cleanups run last first
	fx.assessor = engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Logger: log, Now: now})
	fx.h = New(Config{Store: st, Workspace: ws, Usage: fx.usage, Assessor: fx.assessor, Logger: log, Now: now}).Handler()
	return fx
}

// addManager adds a manager, mo@tend.test (user 5), with a token as
// "manager". The fixture leaves managers out so that the ids other tests
// expect stay put.
func (fx *fixture) addManager(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	u := team.User{Email: "mo@tend.test", Name: "Mo Manager", Role: team.Manager}
	must(t, fx.st.CreateUser(ctx, &u))
	secret, tok, err := team.NewToken(u.ID, "manager token")
	must(t, err)
	must(t, fx.st.CreateToken(ctx, &tok))
	fx.secret["manager"], fx.token["manager"] = secret, tok
}

// writeKey returns the write key of the named source, making it (as the
// admin) the first time.
func (fx *fixture) writeKey(t testing.TB, name string) store.WriteKey {
	t.Helper()
	if k, ok := fx.keys[name]; ok {
		return k
	}
	_, hash, prefix, err := team.NewWriteKeySecret()
	must(t, err)
	admin := int64(1)
	k := store.WriteKey{Name: name, Prefix: prefix, Hash: hash, CreatedBy: &admin}
	must(t, fx.st.CreateWriteKey(context.Background(), &k))
	fx.keys[name] = k
	return k
}

// feed sends a Segment batch body from the source through the usage
// engine, decoded as the ingestion endpoint decodes it, and returns once
// the events are stored and counted.
func (fx *fixture) feed(t testing.TB, source, body string) engine.IngestResult {
	t.Helper()
	b, err := ingest.DecodeBatch([]byte(body), fixtureNow)
	must(t, err)
	res, err := fx.usage.Ingest(context.Background(), fx.writeKey(t, source), b)
	must(t, err)
	return res
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request as the named caller: a key of fx.secret, "" for no
// Authorization header, "header:<value>" for a literal one, or "lower:<key>"
// for the key's token with the scheme spelt "bearer".
func (fx *fixture) do(t testing.TB, as, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	switch {
	case as == "":
	case strings.HasPrefix(as, "header:"):
		req.Header.Set("Authorization", strings.TrimPrefix(as, "header:"))
	case strings.HasPrefix(as, "lower:"):
		req.Header.Set("Authorization", "bearer "+fx.secret[strings.TrimPrefix(as, "lower:")])
	default:
		secret, ok := fx.secret[as]
		if !ok {
			t.Fatalf("no token for %q", as)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// account reads an account straight from the store.
func (fx *fixture) account(t testing.TB, id int64) account.Account {
	t.Helper()
	a, err := fx.st.GetAccount(context.Background(), id)
	must(t, err)
	return a
}

// traits reads an account's traits straight from the store.
func (fx *fixture) traits(t testing.TB, id int64) map[string]any {
	t.Helper()
	vals, err := fx.st.ListTraits(context.Background(), id)
	must(t, err)
	out := map[string]any{}
	for _, v := range vals {
		out[v.Key] = v.Value
	}
	return out
}
