package segmentapi_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/server"
	"github.com/tendhq/tend/internal/workspace"
)

// call returns the JSON of one call of type typ with the fields every type
// requires, plus extra members.
func call(typ, messageID string, extra ...string) string {
	fields := map[string]string{
		"track":    `"userId":"u1","event":"Search Performed"`,
		"identify": `"userId":"u1","traits":{"email":"u1@acme.example"}`,
		"group":    `"userId":"u1","groupId":"grp-acme"`,
		"page":     `"userId":"u1","name":"Search"`,
		"screen":   `"anonymousId":"a1","name":"Main"`,
		"alias":    `"userId":"u1","previousId":"a1"`,
	}[typ]
	s := fmt.Sprintf(`{"type":%q,"messageId":%q,%s`, typ, messageID, fields)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// batchOf wraps calls in a batch body.
func batchOf(calls ...string) []byte {
	return []byte(`{"batch":[` + strings.Join(calls, ",") + `]}`)
}

// TestSingleCalls posts one call to every single-call endpoint, in both of
// Segment's auth modes: the server libraries' Basic auth with
// application/json, and analytics.js's writeKey in a text/plain body.
func TestSingleCalls(t *testing.T) {
	f := newFixture(t, options{accounts: []account.Account{{Name: "Acme", AnalyticsID: "grp-acme", Seats: 5}}})
	paths := []struct{ path, typ string }{
		{"track", "track"}, {"t", "track"}, {"identify", "identify"}, {"i", "identify"}, {"group", "group"},
		{"g", "group"}, {"page", "page"}, {"p", "page"}, {"screen", "screen"}, {"s", "screen"},
		{"alias", "alias"}, {"a", "alias"},
	}
	n := 0
	for _, p := range paths {
		for _, mode := range []string{"basic", "body"} {
			n++
			id := fmt.Sprintf("msg-%s-%s", p.path, mode)
			t.Run(p.path+"/"+mode, func(t *testing.T) {
				var r reply
				if mode == "basic" {
					// The path implies the type; a body may leave it out.
					body := strings.Replace(call(p.typ, id), `"type":"`+p.typ+`",`, "", 1)
					r = f.post("/v1/"+p.path, f.key, basicAuth, []byte(body), "Content-Type", "application/json")
				} else {
					body := call(p.typ, id, fmt.Sprintf(`"writeKey":%q`, f.key))
					r = f.post("/v1/"+p.path, "", noAuth, []byte(body), "Content-Type", "text/plain")
				}
				if r.status != 200 || !r.Success || r.Accepted != 1 || r.Duplicates != 0 || r.Rejected == nil || len(r.Rejected) != 0 {
					t.Fatalf("answer %d %s, want 200 with 1 accepted and an empty rejected list", r.status, r.raw)
				}
				if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
				}
			})
		}
	}
	evs, err := f.st.RecentEvents(f.ctx, f.source.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("%d events stored, want %d", len(evs), n)
	}
	for _, e := range evs {
		typ := strings.Split(e.MessageID, "-")[1]
		if want, _ := ingest.PathType(typ); e.Type != string(want) {
			t.Errorf("%s stored as a %s call, want %s", e.MessageID, e.Type, want)
		}
	}
}

// TestBatchEndpoints posts a batch to /v1/batch, analytics.js's /v1/b and
// the older /v1/import.
func TestBatchEndpoints(t *testing.T) {
	f := newFixture(t, options{})
	for _, path := range []string{"/v1/batch", "/v1/b", "/v1/import"} {
		body := batchOf(call("track", path+"-1"), call("identify", path+"-2"), call("page", path+"-3"))
		r := f.post(path, f.key, basicAuth, body)
		if r.status != 200 || r.Accepted != 3 {
			t.Errorf("%s: answer %d %s, want 200 with 3 accepted", path, r.status, r.raw)
		}
	}
}

// TestRefusals covers every way a request is refused as a whole, with the
// status, error code, field and the words the sender needs.
func TestRefusals(t *testing.T) {
	f := newFixture(t, options{})
	revoked, k := f.newKey("old web app")
	if err := f.st.RevokeWriteKey(f.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	big := `"properties":{"blob":"` + strings.Repeat("x", ingest.MaxEventBytes) + `"}`
	var many []string
	for i := range ingest.MaxBatchEvents + 1 {
		many = append(many, call("track", fmt.Sprint("m", i)))
	}
	// Valid JSON over 500 KB: 17 calls of 31 KB.
	var heavy []string
	for i := range 17 {
		heavy = append(heavy, call("track", fmt.Sprint("h", i), `"properties":{"blob":"`+strings.Repeat("y", 31<<10)+`"}`))
	}
	cases := []struct {
		name    string
		method  string
		path    string
		key     string
		how     auth
		body    string
		header  []string
		status  int
		code    string
		field   string
		message string
	}{
		{name: "no key", path: "/v1/track", body: call("track", "x"),
			status: 401, code: "unauthorized", message: "write key is required"},
		{name: "unknown key in the header", path: "/v1/batch", key: "tend_nosuchkey", how: basicAuth, body: string(batchOf(call("track", "x"))),
			status: 401, code: "unauthorized", message: "unknown or was revoked"},
		{name: "unknown key in the body", path: "/v1/t", body: call("track", "x", `"writeKey":"tend_nosuchkey"`),
			status: 401, code: "unauthorized", message: "not valid"},
		{name: "revoked key", path: "/v1/track", key: revoked, how: basicAuth, body: call("track", "x"),
			status: 401, code: "unauthorized", message: "revoked"},
		{name: "a bad key is refused before the body is read", path: "/v1/batch", key: "tend_nosuchkey", how: basicAuth, body: "{not json",
			status: 401, code: "unauthorized"},
		{name: "batch not JSON", path: "/v1/batch", key: f.key, how: basicAuth, body: `{"batch": [{"type": "track",}]}`,
			status: 400, code: "invalid", message: "not valid JSON"},
		{name: "single call not JSON", path: "/v1/identify", key: f.key, how: basicAuth, body: `{"userId": u1}`,
			status: 400, code: "invalid", message: "line 1, column 12"},
		{name: "empty body", path: "/v1/batch", key: f.key, how: basicAuth, body: "",
			status: 400, code: "invalid", message: "empty"},
		{name: "batch is not an object", path: "/v1/batch", key: f.key, how: basicAuth, body: `[1, 2]`,
			status: 400, code: "invalid", message: "JSON object"},
		{name: "no batch array", path: "/v1/batch", key: f.key, how: basicAuth, body: `{"calls": []}`,
			status: 400, code: "invalid", field: "batch"},
		{name: "2,501 events", path: "/v1/batch", key: f.key, how: basicAuth, body: string(batchOf(many...)),
			status: 400, code: "invalid", field: "batch", message: "at most 2500"},
		{name: "batch over 500 KB", path: "/v1/batch", key: f.key, how: basicAuth, body: string(batchOf(heavy...)),
			status: 413, code: "too_large", message: "at most 512000 bytes (500 KB)"},
		{name: "single call over 32 KB", path: "/v1/track", key: f.key, how: basicAuth, body: call("track", "x", big),
			status: 413, code: "too_large", message: "at most 32768 bytes (32 KB)"},
		{name: "rejected single call", path: "/v1/track", key: f.key, how: basicAuth, body: `{"userId": "u1"}`,
			status: 400, code: "invalid", field: "event", message: "event is required"},
		{name: "single call of another type", path: "/v1/track", key: f.key, how: basicAuth, body: call("identify", "x"),
			status: 400, code: "invalid", field: "type", message: "takes track calls"},
		{name: "unknown encoding", path: "/v1/batch", key: f.key, how: basicAuth, body: string(batchOf(call("track", "x"))),
			header: []string{"Content-Encoding", "br"}, status: 400, code: "invalid", message: "gzip"},
		{name: "not gzip", path: "/v1/batch", key: f.key, how: basicAuth, body: string(batchOf(call("track", "x"))),
			header: []string{"Content-Encoding", "gzip"}, status: 400, code: "invalid", message: "not gzip"},
		{name: "no such call", path: "/v1/purchase", key: f.key, how: basicAuth, body: "{}",
			status: 404, code: "not_found", message: "/v1/batch"},
		{name: "not under a call", path: "/v1/track/extra", key: f.key, how: basicAuth, body: "{}",
			status: 404, code: "not_found"},
		{name: "GET", method: "GET", path: "/v1/track", key: f.key, how: basicAuth,
			status: 405, code: "method_not_allowed", message: "POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			req, err := http.NewRequestWithContext(f.ctx, method, f.srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.how == basicAuth {
				req.SetBasicAuth(c.key, "")
			}
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			r := f.do(req)
			if r.status != c.status || r.Error == nil || r.Success {
				t.Fatalf("answer %d %.300s, want %d with an error", r.status, r.raw, c.status)
			}
			if r.Error.Code != c.code || r.Error.Field != c.field || !strings.Contains(r.Error.Message, c.message) {
				t.Errorf("error %+v, want code %q, field %q and a message with %q", *r.Error, c.code, c.field, c.message)
			}
			if got := r.header.Get("WWW-Authenticate"); (c.status == 401) != (got == `Basic realm="Tend ingestion"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if c.status == 405 && r.header.Get("Allow") != "POST, OPTIONS" {
				t.Errorf("Allow = %q, want POST, OPTIONS", r.header.Get("Allow"))
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("an error answer does not allow every origin: a browser cannot read it")
			}
		})
	}
	evs, err := f.st.RecentEvents(f.ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("refused requests stored %d events", len(evs))
	}
}

// TestBatchLimitBoundary: a batch of exactly 500 KB is taken, one byte more
// is not.
func TestBatchLimitBoundary(t *testing.T) {
	f := newFixture(t, options{})
	body := batchOf(call("track", "edge-1"), call("track", "edge-2"))
	pad := func(n int) []byte { return append(bytes.Repeat([]byte(" "), n-len(body)), body...) }
	if r := f.post("/v1/batch", f.key, basicAuth, pad(ingest.MaxBatchBytes)); r.status != 200 || r.Accepted != 2 {
		t.Errorf("%d bytes: answer %d %s, want 200", ingest.MaxBatchBytes, r.status, r.raw)
	}
	if r := f.post("/v1/batch", f.key, basicAuth, pad(ingest.MaxBatchBytes+1)); r.status != 413 {
		t.Errorf("%d bytes: answer %d %s, want 413", ingest.MaxBatchBytes+1, r.status, r.raw)
	}
	// A sender that streams (no Content-Length) is cut off at the limit too.
	req, err := http.NewRequestWithContext(f.ctx, "POST", f.srv.URL+"/v1/batch", struct{ *bytes.Reader }{bytes.NewReader(pad(ingest.MaxBatchBytes + 100))})
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(f.key, "")
	if r := f.do(req); r.status != 413 || !strings.Contains(r.Error.Message, "over 512000 bytes") {
		t.Errorf("streamed: answer %d %s, want 413", r.status, r.raw)
	}
}

// TestPartlyBadBatch: inside a well-formed batch, each bad call is rejected
// with its index, messageId, field and reason, and the rest are stored; the
// answer is a 200, because the official Go library retries every non-2xx
// and the good calls would be sent again and again. The rejections are kept
// for the ingestion debugger.
func TestPartlyBadBatch(t *testing.T) {
	f := newFixture(t, options{})
	big := `"properties":{"blob":"` + strings.Repeat("x", ingest.MaxEventBytes) + `"}`
	body := batchOf(
		call("track", "good-0"),
		call("track", "big-1", big),
		`{"type":"identify","messageId":"anon-2","traits":{"plan":"pro"}}`,
		call("page", "good-3"),
		`{"type":"track","messageId":"nul-4","userId":"u\u0000x","event":"Search Performed"}`,
		`{"type":"track","messageId":"late-5","userId":"u1","event":"E","timestamp":"yesterday"}`,
		call("screen", "good-6"),
		`{"type":"identify","messageId":"email-7","userId":"u2","traits":{"email":"u2\u0000@acme.example"}}`,
	)
	r := f.post("/v1/batch", f.key, basicAuth, body)
	if r.status != 200 || !r.Success || r.Accepted != 3 {
		t.Fatalf("answer %d %s, want 200 with 3 accepted", r.status, r.raw)
	}
	want := []rejectionJSON{
		{Index: 1, MessageID: "big-1", Type: "track", Reason: "the call is 32"},
		{Index: 2, MessageID: "anon-2", Type: "identify", Field: "userId", Reason: "userId or anonymousId is required"},
		{Index: 4, MessageID: "nul-4", Type: "track", Field: "userId", Reason: "NUL character"},
		{Index: 5, MessageID: "late-5", Type: "track", Field: "timestamp", Reason: "timestamp"},
		{Index: 7, MessageID: "email-7", Type: "identify", Field: "traits.email", Reason: "NUL character"},
	}
	if len(r.Rejected) != len(want) {
		t.Fatalf("rejected %+v, want %d", r.Rejected, len(want))
	}
	for i, w := range want {
		g := r.Rejected[i]
		if g.Index != w.Index || g.MessageID != w.MessageID || g.Type != w.Type || g.Field != w.Field || !strings.Contains(g.Reason, w.Reason) {
			t.Errorf("rejected[%d] = %+v, want %+v", i, g, w)
		}
	}
	rs, err := f.st.RecentRejections(f.ctx, f.source.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, rj := range rs {
		idx = append(idx, rj.Index)
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{1, 2, 4, 5, 7}) {
		t.Errorf("the debugger holds rejections of calls %v, want [1 2 4 5 7]", idx)
	}
}

// TestNULEventFailsAlone: an event the store cannot hold is rejected on its
// own, and a request committed in the same group as it is not failed.
func TestNULEventFailsAlone(t *testing.T) {
	f := newFixture(t, options{})
	done := make(chan reply, 20)
	for i := range 20 {
		go func() {
			body := batchOf(call("track", fmt.Sprint("ok-", i)))
			if i%2 == 0 {
				body = batchOf(`{"type":"track","messageId":"bad-`+fmt.Sprint(i)+`","userId":"u1","event":"E\u0000"}`,
					call("track", fmt.Sprint("ok-", i)))
			}
			done <- f.post("/v1/batch", f.key, basicAuth, body)
		}()
	}
	for range 20 {
		if r := <-done; r.status != 200 || r.Accepted != 1 {
			t.Errorf("answer %d %s, want 200 with 1 accepted", r.status, r.raw)
		}
	}
}

// TestDedup: a call is stored once per source and messageId; a retry of a
// stored batch is answered 200 with every call a duplicate.
func TestDedup(t *testing.T) {
	f := newFixture(t, options{})
	body := batchOf(call("track", "d1"), call("track", "d2"), call("identify", "d3"))
	if r := f.post("/v1/batch", f.key, basicAuth, body); r.status != 200 || r.Accepted != 3 || r.Duplicates != 0 {
		t.Fatalf("first: %d %s", r.status, r.raw)
	}
	if r := f.post("/v1/batch", f.key, basicAuth, body); r.status != 200 || r.Accepted != 0 || r.Duplicates != 3 {
		t.Errorf("retry: %d %s, want 200 with 0 accepted and 3 duplicates", r.status, r.raw)
	}
	// A repeat inside one batch, and a single call repeating a batch's.
	if r := f.post("/v1/batch", f.key, basicAuth, batchOf(call("page", "d4"), call("page", "d4"))); r.Accepted != 1 || r.Duplicates != 1 {
		t.Errorf("repeat in a batch: %d %s, want 1 accepted and 1 duplicate", r.status, r.raw)
	}
	if r := f.post("/v1/track", f.key, basicAuth, []byte(call("track", "d1"))); r.status != 200 || r.Accepted != 0 || r.Duplicates != 1 {
		t.Errorf("single retry: %d %s, want 200 with 1 duplicate", r.status, r.raw)
	}
	// Message ids are per source: another source's d1 is its own event.
	other, _ := f.newKey("web app")
	if r := f.post("/v1/track", other, basicAuth, []byte(call("track", "d1"))); r.Accepted != 1 {
		t.Errorf("another source: %d %s, want 1 accepted", r.status, r.raw)
	}
	// Calls without a messageId: a retry of the same bytes is the same call.
	anon := batchOf(`{"type":"track","userId":"u9","event":"E","timestamp":"2025-01-01T00:00:00Z"}`)
	f.post("/v1/batch", f.key, basicAuth, anon)
	if r := f.post("/v1/batch", f.key, basicAuth, anon); r.Accepted != 0 || r.Duplicates != 1 {
		t.Errorf("retry without messageId: %d %s, want 1 duplicate", r.status, r.raw)
	}
}

// TestWriteKeySources: the Basic-auth key wins over a body key; a batch's
// top-level writeKey or, as analytics.js sends it, each call's serves when
// there is no header; a call naming another key than the request's is
// stored under the request's (the sender holds that key and no other).
func TestWriteKeySources(t *testing.T) {
	f := newFixture(t, options{})
	web, webKey := f.newKey("web app")
	check := func(name string, r reply, source int64, ids ...string) {
		t.Helper()
		if r.status != 200 || r.Accepted != len(ids) {
			t.Fatalf("%s: answer %d %s", name, r.status, r.raw)
		}
		evs, err := f.st.RecentEvents(f.ctx, source, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !slices.ContainsFunc(evs, func(e storeEvent) bool { return e.MessageID == id }) {
				t.Errorf("%s: %s is not stored under source %d", name, id, source)
			}
		}
	}
	wk := func(k string) string { return fmt.Sprintf(`"writeKey":%q`, k) }
	check("header over body", f.post("/v1/batch", f.key, basicAuth,
		[]byte(`{"writeKey":"`+web+`","batch":[`+call("track", "k1")+`]}`)), f.source.ID, "k1")
	check("top-level writeKey", f.post("/v1/batch", "", noAuth,
		[]byte(`{"writeKey":"`+web+`","batch":[`+call("track", "k2")+`]}`), "Content-Type", "text/plain"), webKey.ID, "k2")
	check("analytics.js: writeKey in each call", f.post("/v1/b", "", noAuth,
		batchOf(call("track", "k3", wk(web)), call("page", "k4", wk(web))), "Content-Type", "text/plain"), webKey.ID, "k3", "k4")
	check("a call naming another key", f.post("/v1/batch", f.key, basicAuth,
		batchOf(call("track", "k5", wk(web)), call("track", "k6", wk("tend_forged")))), f.source.ID, "k5", "k6")
}

// TestGzip: a gzip body (analytics-python's gzip option) is taken, and its
// limit applies to the JSON inside.
func TestGzip(t *testing.T) {
	f := newFixture(t, options{})
	zip := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	r := f.post("/v1/batch", f.key, basicAuth, zip(batchOf(call("track", "z1"), call("group", "z2"))), "Content-Encoding", "gzip")
	if r.status != 200 || r.Accepted != 2 {
		t.Errorf("answer %d %s, want 200 with 2 accepted", r.status, r.raw)
	}
	// 600 KB of JSON compresses to a few KB, and is still too big.
	body := batchOf(call("track", "z3", `"properties":{"p":"`+strings.Repeat("z", 30<<10)+`"}`))
	body = append(bytes.Repeat([]byte(" "), 600<<10), body...)
	if r := f.post("/v1/batch", f.key, basicAuth, zip(body), "Content-Encoding", "gzip"); r.status != 413 {
		t.Errorf("600 KB gzipped: answer %d %s, want 413", r.status, r.raw)
	}
}

// TestRefusedRequestInDebugger: a request refused as a whole from a known
// source shows in the ingestion debugger, so a sender whose calls never
// arrive can see why.
func TestRefusedRequestInDebugger(t *testing.T) {
	f := newFixture(t, options{})
	if r := f.post("/v1/batch", f.key, basicAuth, []byte(`{"batch": [}`)); r.status != 400 {
		t.Fatalf("answer %d %s", r.status, r.raw)
	}
	rs, err := f.st.RecentRejections(f.ctx, f.source.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !strings.Contains(rs[0].Reason, "request refused: the request body is not valid JSON") || string(rs[0].Body) != `{"batch": [}` {
		t.Errorf("debugger holds %+v", rs)
	}
}

// TestCORS: a browser's preflight is answered, and every answer allows any
// origin: ingestion authenticates with a write key, never a cookie.
func TestCORS(t *testing.T) {
	f := newFixture(t, options{})
	req, err := http.NewRequestWithContext(f.ctx, "OPTIONS", f.srv.URL+"/v1/batch", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.customer.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	r := f.do(req)
	h := r.header
	if r.status != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", r.status, h)
	}
}

// TestCrossOriginThroughServer mounts the API the way tend serve does and
// posts from another site: ingestion sits outside the UI's cross-origin
// (CSRF) protection, which still refuses the same request to the UI.
func TestCrossOriginThroughServer(t *testing.T) {
	f := newFixture(t, options{})
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.Handler(server.Config{Store: f.st, Workspace: ws, Usage: f.eng, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = h
	cross := []string{"Origin", "https://app.customer.example", "Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"}
	body := call("track", "xo-1", fmt.Sprintf(`"writeKey":%q`, f.key))
	if r := f.post("/v1/t", "", noAuth, []byte(body), cross...); r.status != 200 || r.Accepted != 1 {
		t.Errorf("cross-site ingestion: %d %s, want 200", r.status, r.raw)
	}
	req, err := http.NewRequestWithContext(f.ctx, "POST", f.srv.URL+"/login", strings.NewReader("email=a%40b.c&password=x"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(cross); i += 2 {
		req.Header.Set(cross[i], cross[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("cross-site POST /login: %d, want 403 (the UI's CSRF protection)", res.StatusCode)
	}
}

// TestVisibleAtOnce: an event shows in the account's metrics as soon as its
// request is answered (the engine applies it before the 2xx), and in the
// computed traits within a second.
func TestVisibleAtOnce(t *testing.T) {
	f := newFixture(t, options{accounts: []account.Account{{Name: "Acme", AnalyticsID: "grp-acme", Seats: 4}}})
	id := f.accounts["Acme"]
	if m := f.eng.Metrics(id); m.DAU != 0 {
		t.Fatalf("DAU %d before any event", m.DAU)
	}
	sent := time.Now()
	r := f.post("/v1/track", f.key, basicAuth, []byte(`{"userId":"u1","event":"Search Performed","context":{"groupId":"grp-acme"}}`))
	if r.status != 200 || r.Accepted != 1 {
		t.Fatalf("answer %d %s", r.status, r.raw)
	}
	if m := f.eng.Metrics(id); m.DAU != 1 || m.Active30 != 1 || m.SeatUtilization == nil || *m.SeatUtilization != 0.25 {
		t.Errorf("right after the answer: DAU %d, 30-day actives %d, seat utilization %v; want 1, 1, 0.25",
			m.DAU, m.Active30, deref(m.SeatUtilization))
	}
	for {
		tr := f.traits(id)
		if fmt.Sprint(tr["active_users_30d"]) == "1" && fmt.Sprint(tr["seat_utilization"]) == "0.25" {
			break
		}
		if time.Since(sent) > time.Second {
			t.Fatalf("a second after sending, the computed traits are %v", tr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
