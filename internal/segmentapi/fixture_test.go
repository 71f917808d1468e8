package segmentapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/segmentapi"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// fixture is a running ingestion API over a fresh in-memory SQLite store
// (or PostgreSQL database) and a real usage engine, with one write key.
type fixture struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	eng *engine.Usage
	srv *httptest.Server
	// key is the write key's secret; source the stored key.
	key    string
	source store.WriteKey
	// accounts maps each account's name to its id.
	accounts map[string]int64
}

// options shape a fixture.
type options struct {
	// now is the usage engine's clock; nil means time.Now. The API's own
	// clock (receivedAt) is always the real one, because clients stamp
	// sentAt with the real time and clock-skew correction measures one
	// against the other.
	now func() time.Time
	// accounts are created before the engine starts, so that it resolves
	// their group ids from its first load.
	accounts []account.Account
	// postgres puts the store in a fresh PostgreSQL database instead of
	// SQLite (openPostgres).
	postgres bool
}

func newFixture(t *testing.T, o options) *fixture {
	t.Helper()
	ctx := t.Context()
	var st store.Store
	if o.postgres {
		st = openPostgres(t)
	} else {
		var err error
		if st, err = sqlite.OpenMemory(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: ctx, st: st, accounts: map[string]int64{}}
	for _, a := range o.accounts {
		if err := st.CreateAccount(ctx, &a, account.System("test", account.SourceManual)); err != nil {
			t.Fatal(err)
		}
		f.accounts[a.Name] = a.ID
	}
	f.key, f.source = f.newKey("backend")

	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	f.eng, err = engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Now: o.now, FlushEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := segmentapi.New(segmentapi.Config{Store: st, Usage: f.eng})
	f.srv = httptest.NewServer(api.Handler())
	// The server stops before the engine: no request is left waiting on a
	// stopped committer.
	t.Cleanup(func() { f.eng.Close() })
	t.Cleanup(f.srv.Close)
	return f
}

// newKey stores a write key for a source and returns its secret.
func (f *fixture) newKey(name string) (string, store.WriteKey) {
	f.t.Helper()
	secret, hash, err := team.NewTokenSecret()
	if err != nil {
		f.t.Fatal(err)
	}
	k := store.WriteKey{Name: name, Prefix: secret[:10], Hash: hash}
	if err := f.st.CreateWriteKey(f.ctx, &k); err != nil {
		f.t.Fatal(err)
	}
	return secret, k
}

// reply is an answer of the API, decoded.
type reply struct {
	status int
	header http.Header
	raw    string
	// The fields of both answer shapes.
	Success    bool                                   `json:"success"`
	Accepted   int                                    `json:"accepted"`
	Duplicates int                                    `json:"duplicates"`
	Rejected   []rejectionJSON                        `json:"rejected"`
	Error      *struct{ Code, Message, Field string } `json:"error"`
}

type rejectionJSON struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId"`
	Type      string `json:"type"`
	Field     string `json:"field"`
	Reason    string `json:"reason"`
}

// auth is how a test request presents its key.
type auth int

const (
	noAuth    auth = iota
	basicAuth      // the key as the Basic-auth user, like the server libraries
)

// post sends body to path and decodes the answer.
func (f *fixture) post(path, key string, how auth, body []byte, header ...string) reply {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, "POST", f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if how == basicAuth {
		req.SetBasicAuth(key, "")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.do(req)
}

func (f *fixture) do(req *http.Request) reply {
	f.t.Helper()
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := reply{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r); err != nil {
			f.t.Fatalf("%s %s: answer is not JSON: %v\n%s", req.Method, req.URL.Path, err, b)
		}
	}
	return r
}

// jsonBody marshals v.
func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// traits returns an account's trait values by key.
func (f *fixture) traits(accountID int64) map[string]any {
	f.t.Helper()
	vs, err := f.st.ListTraits(f.ctx, accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	m := map[string]any{}
	for _, v := range vs {
		m[v.Key] = v.Value
	}
	return m
}

type storeEvent = store.Event

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
