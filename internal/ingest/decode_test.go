package ingest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// ctxMap decodes an event's context for assertions.
func ctxMap(t testing.TB, e Event) map[string]any {
	t.Helper()
	if e.Context == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(e.Context, &m); err != nil {
		t.Fatalf("context %s: %v", e.Context, err)
	}
	return m
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecodeBatch(t *testing.T, body string, receivedAt time.Time) Batch {
	t.Helper()
	b, err := DecodeBatch([]byte(body), receivedAt)
	if err != nil {
		t.Fatalf("DecodeBatch: %v\nbody: %s", err, clip(body, 300))
	}
	return b
}

// recv is the arrival time the tests use unless a case is about time.
var recv = time.Date(2026, 11, 24, 10, 0, 5, 100_000_000, time.UTC)

func TestDecodeBatchAnalyticsGo(t *testing.T) {
	t.Parallel()
	b, err := DecodeBatch(readFixture(t, "analytics-go-batch.json"), recv)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) != 0 || len(b.Events) != 3 {
		t.Fatalf("got %d events, rejected %+v; want 3 events", len(b.Events), b.Rejected)
	}
	identify, group, track := b.Events[0], b.Events[1], b.Events[2]
	if identify.Type != Identify || group.Type != Group || track.Type != Track {
		t.Errorf("types = %s, %s, %s", identify.Type, group.Type, track.Type)
	}
	if track.MessageID != "0b9a4c1e-7c1e-4d8e-a0a5-5f0c6b7e1d03" || track.UserID != "u-1042" || track.Event != "Search Performed" {
		t.Errorf("track = %+v", track)
	}
	// The request's sentAt (11:00:05.000000001+01:00) against the arrival
	// (10:00:05.1Z) says 99.999999ms passed between sending and arriving.
	want := mustTime(t, "2026-11-24T10:00:00.223456788Z")
	if !identify.Timestamp.Equal(want) {
		t.Errorf("identify timestamp = %s, want %s", identify.Timestamp.UTC().Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if !identify.OriginalTimestamp.Equal(mustTime(t, "2026-11-24T11:00:00.123456789+01:00")) {
		t.Errorf("originalTimestamp = %s", identify.OriginalTimestamp)
	}
	if !identify.SentAt.Equal(mustTime(t, "2026-11-24T10:00:05.000000001Z")) || !identify.ReceivedAt.Equal(recv) {
		t.Errorf("sentAt = %s, receivedAt = %s", identify.SentAt, identify.ReceivedAt)
	}
	// The request's context (library) reaches every call; the call's own
	// keys stay.
	for _, e := range b.Events {
		lib, _ := ctxMap(t, e)["library"].(map[string]any)
		if lib["name"] != "analytics-go" {
			t.Errorf("%s context = %s, want library analytics-go", e.Type, e.Context)
		}
	}
	if c := ctxMap(t, track); c["ip"] != "203.0.113.7" || c["groupId"] != "acme" {
		t.Errorf("track context = %s", track.Context)
	}
	if n, ok := track.Property("results").(json.Number); !ok || n != "128" {
		t.Errorf("properties.results = %#v, want json.Number 128", track.Property("results"))
	}
	if b.WriteKey != "" {
		t.Errorf("WriteKey = %q; analytics-go sends it as Basic auth, not in the body", b.WriteKey)
	}
}

func TestDecodeBatchAnalyticsJS(t *testing.T) {
	t.Parallel()
	// The browser's clock is 3 minutes slow and the request took 250ms.
	arrived := mustTime(t, "2026-11-24T10:03:00.250Z")
	b, err := DecodeBatch(readFixture(t, "analytics-js-batch.json"), arrived)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 2 || len(b.Rejected) != 0 {
		t.Fatalf("events %d, rejected %+v", len(b.Events), b.Rejected)
	}
	if b.WriteKey != "wk_browser_7Qp2" {
		t.Errorf("WriteKey = %q", b.WriteKey)
	}
	page, track := b.Events[0], b.Events[1]
	if page.Type != Page || page.Name != "Search" || track.Event != "Insights Dashboard Viewed" {
		t.Errorf("page = %s %q, track = %q", page.Type, page.Name, track.Event)
	}
	for _, c := range []struct {
		e    Event
		want string
	}{
		{page, "2026-11-24T10:02:58.37Z"},
		{track, "2026-11-24T10:03:00.12Z"},
	} {
		if got := c.e.Timestamp.UTC().Format(time.RFC3339Nano); got != c.want {
			t.Errorf("%s timestamp = %s, want %s", c.e.Type, got, c.want)
		}
	}
	if page.WriteKey != "wk_browser_7Qp2" || page.AnonymousID != "5f2b7c1e-9a4d-4e8b-b6c3-1d0f2a9e8c7b" {
		t.Errorf("page = %+v", page)
	}
}

func TestDecodeBatchRejectsBadCallsKeepsGoodOnes(t *testing.T) {
	t.Parallel()
	const good = `{"type":"track","messageId":"good","userId":"u1","event":"Login"}`
	tests := []struct {
		name, call, field, reason string
	}{
		{"no user", `{"type":"track","event":"Login"}`, "userId", "userId or anonymousId is required"},
		{"empty ids", `{"type":"track","userId":"","anonymousId":"","event":"Login"}`, "userId", "userId or anonymousId is required"},
		{"track without event", `{"type":"track","userId":"u1"}`, "event", "event is required for a track call"},
		{"track with empty event", `{"type":"track","userId":"u1","event":""}`, "event", "event is required"},
		{"event not a string", `{"type":"track","userId":"u1","event":["Login"]}`, "event", "event: expected the event's name as a string, got an array"},
		{"group without groupId", `{"type":"group","userId":"u1","traits":{"name":"Acme"}}`, "groupId", "groupId is required for a group call"},
		{"alias without previousId", `{"type":"alias","userId":"u1"}`, "previousId", "previousId is required for an alias call"},
		{"no type", `{"userId":"u1","event":"Login"}`, "type", "type is required"},
		{"type not a string", `{"type":7,"userId":"u1"}`, "type", "type: expected a string, got a number"},
		{"unknown type", `{"type":"purchase","userId":"u1"}`, "type", `type: unknown call "purchase"`},
		{"type is case-sensitive", `{"type":"Track","userId":"u1","event":"Login"}`, "type", `unknown call "Track"`},
		{"one-letter type is a path, not a type", `{"type":"t","userId":"u1","event":"Login"}`, "type", `unknown call "t"`},
		{"userId an object", `{"type":"identify","userId":{"id":1}}`, "userId", "userId: expected a string, got an object"},
		{"groupId a boolean", `{"type":"group","userId":"u1","groupId":true}`, "groupId", "groupId: expected a string, got a boolean"},
		{"page name a number", `{"type":"page","userId":"u1","name":5}`, "name", "name: expected the page's name as a string, got a number"},
		{"properties an array", `{"type":"track","userId":"u1","event":"Login","properties":[1,2]}`, "properties", "properties: expected a JSON object, got an array"},
		{"traits a string", `{"type":"identify","userId":"u1","traits":"vip"}`, "traits", "traits: expected a JSON object, got a string"},
		{"context a boolean", `{"type":"track","userId":"u1","event":"Login","context":true}`, "context", "context: expected a JSON object, got a boolean"},
		{"integrations a number", `{"type":"track","userId":"u1","event":"Login","integrations":1}`, "integrations", "integrations: expected a JSON object, got a number"},
		{"writeKey a number", `{"type":"track","userId":"u1","event":"Login","writeKey":5}`, "writeKey", "writeKey: expected a string, got a number"},
		{"timestamp words", `{"type":"track","userId":"u1","event":"Login","timestamp":"yesterday"}`, "timestamp", `timestamp: cannot read "yesterday" as a time`},
		{"timestamp epoch millis", `{"type":"track","userId":"u1","event":"Login","timestamp":1764000000000}`, "timestamp", "timestamp: expected a string, got a number"},
		{"timestamp month 13", `{"type":"track","userId":"u1","event":"Login","timestamp":"2026-13-01T00:00:00Z"}`, "timestamp", "cannot read"},
		{"timestamp US order", `{"type":"track","userId":"u1","event":"Login","timestamp":"11/24/2026 10:00"}`, "timestamp", "cannot read"},
		{"originalTimestamp bad", `{"type":"track","userId":"u1","event":"Login","originalTimestamp":"2026-11-24T10:00:00+25:00"}`, "originalTimestamp", "cannot read"},
		{"sentAt hour 25", `{"type":"track","userId":"u1","event":"Login","sentAt":"2026-11-24T25:00:00Z"}`, "sentAt", "sentAt: cannot read"},
		{"sentAt centuries away", `{"type":"track","userId":"u1","event":"Login","timestamp":"2026-11-24T10:00:00Z","sentAt":"1700-01-01T00:00:00Z"}`, "sentAt", "centuries away"},
		{"timestamp before 1970", `{"type":"track","userId":"u1","event":"Login","timestamp":"1969-12-31T23:59:59Z"}`, "timestamp", "timestamp: 1969-12-31T23:59:59Z (corrected for the sender's clock) is not between 1970 and 9999"},
		{"corrected past 9999", `{"type":"track","userId":"u1","event":"Login","timestamp":"9999-12-31T00:00:00Z","sentAt":"2026-11-23T10:00:00Z"}`, "timestamp", "not between 1970 and 9999"},
		{"a string, not a call", `"track"`, "", "each call must be a JSON object, got a string"},
		{"null, not a call", `null`, "", "each call must be a JSON object, got null"},
		{"an array, not a call", `[{"type":"track"}]`, "", "each call must be a JSON object, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := `{"batch":[` + good + `,` + tt.call + `,` + strings.Replace(good, `"good"`, `"good2"`, 1) + `]}`
			b := mustDecodeBatch(t, body, recv)
			if len(b.Events) != 2 || b.Events[0].MessageID != "good" || b.Events[1].MessageID != "good2" {
				t.Errorf("events = %d %+v; want the two good calls kept", len(b.Events), b.Events)
			}
			if len(b.Rejected) != 1 {
				t.Fatalf("rejected = %+v; want one", b.Rejected)
			}
			r := b.Rejected[0]
			if r.Index != 1 || r.Field != tt.field || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("rejection = {Index:%d Field:%q Reason:%q}; want index 1, field %q, reason containing %q",
					r.Index, r.Field, r.Reason, tt.field, tt.reason)
			}
			if string(r.Raw) != tt.call {
				t.Errorf("rejection raw = %s, want the call as sent", r.Raw)
			}
		})
	}
}

func TestRejectionEchoesMessageIDAndType(t *testing.T) {
	t.Parallel()
	b := mustDecodeBatch(t, `{"batch":[{"type":"track","messageId":"m-77","event":"Login"},{"type":"group","messageId":42,"userId":"u"}]}`, recv)
	if len(b.Rejected) != 2 {
		t.Fatalf("rejected = %+v", b.Rejected)
	}
	if r := b.Rejected[0]; r.MessageID != "m-77" || r.Type != "track" {
		t.Errorf("rejection = %+v; want messageId m-77, type track", r)
	}
	if r := b.Rejected[1]; r.Index != 1 || r.MessageID != "42" || r.Type != "group" {
		t.Errorf("rejection = %+v; want index 1, messageId 42, type group", r)
	}
}

func TestDecodeBatchAcceptsEveryCallShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, call string
		check      func(t *testing.T, e Event)
	}{
		{"identify with traits", `{"type":"identify","userId":"u1","traits":{"email":"a@b.example","plan":"pro"}}`, func(t *testing.T, e Event) {
			if e.Trait("plan") != "pro" {
				t.Errorf("traits = %v", e.Traits)
			}
		}},
		{"anonymous track", `{"type":"track","anonymousId":"anon-1","event":"Signed Up"}`, func(t *testing.T, e Event) {
			if e.AnonymousID != "anon-1" || e.UserID != "" {
				t.Errorf("ids = %q %q", e.UserID, e.AnonymousID)
			}
		}},
		{"numeric userId", `{"type":"identify","userId":1234567890123456789}`, func(t *testing.T, e Event) {
			if e.UserID != "1234567890123456789" {
				t.Errorf("userId = %q, want every digit", e.UserID)
			}
		}},
		{"numeric groupId", `{"type":"group","userId":"u1","groupId":77}`, func(t *testing.T, e Event) {
			if e.GroupID != "77" {
				t.Errorf("groupId = %q", e.GroupID)
			}
		}},
		{"page without name", `{"type":"page","userId":"u1","properties":{"path":"/"}}`, func(t *testing.T, e Event) {
			if e.Type != Page || e.Name != "" {
				t.Errorf("page = %+v", e)
			}
		}},
		{"screen", `{"type":"screen","userId":"u1","name":"Dashboard"}`, func(t *testing.T, e Event) {
			if e.Type != Screen || e.Name != "Dashboard" {
				t.Errorf("screen = %+v", e)
			}
		}},
		{"alias", `{"type":"alias","userId":"u1","previousId":"anon-1"}`, func(t *testing.T, e Event) {
			if e.PreviousID != "anon-1" {
				t.Errorf("previousId = %q", e.PreviousID)
			}
		}},
		{"nulls are absent", `{"type":"track","userId":"u1","event":"Login","properties":null,"timestamp":null,"context":null,"anonymousId":null}`, func(t *testing.T, e Event) {
			if e.Properties != nil || !e.Timestamp.Equal(recv) || e.Context != nil {
				t.Errorf("event = %+v", e)
			}
		}},
		{"unknown fields ignored", `{"type":"track","userId":"u1","event":"Login","_metadata":{"bundled":[]},"version":2,"channel":"server"}`, nil},
		{"escaped strings", `{"type":"track","userId":"\u0075\"1","event":"Caf\u00e9 Opened"}`, func(t *testing.T, e Event) {
			if e.UserID != `u"1` || e.Event != "Café Opened" {
				t.Errorf("ids = %q %q", e.UserID, e.Event)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := mustDecodeBatch(t, `{"batch":[`+tt.call+`]}`, recv)
			if len(b.Events) != 1 {
				t.Fatalf("rejected: %+v", b.Rejected)
			}
			if b.Events[0].MessageID == "" {
				t.Error("no messageId")
			}
			if tt.check != nil {
				tt.check(t, b.Events[0])
			}
		})
	}
}

func TestDecodeBatchWholeRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		code       derrors.Code
		field, msg string
	}{
		{"empty body", "", derrors.Invalid, "", "the request body is empty"},
		{"blank body", " \n", derrors.Invalid, "", "the request body is empty"},
		{"truncated", `{"batch": [`, derrors.Invalid, "", "unexpected end of JSON input at line 1, column 12 (byte offset 11)"},
		{"bad token on line 3", "{\n  \"batch\": [\n    {\"type\": \"track\" \"userId\": \"u1\"}\n  ]\n}",
			derrors.Invalid, "", "invalid character '\"' after object key:value pair at line 3, column 22 (byte offset 36)"},
		{"trailing garbage", `{"batch": []} x`, derrors.Invalid, "", "byte offset 14"},
		{"array body", `[{"type":"track"}]`, derrors.Invalid, "", `must be a JSON object with a "batch" array, got an array`},
		{"string body", `"hello"`, derrors.Invalid, "", "got a string"},
		{"no batch", `{"sentAt":"2026-11-24T10:00:00Z"}`, derrors.Invalid, "batch", "is required"},
		{"null batch", `{"batch":null}`, derrors.Invalid, "batch", "is required"},
		{"batch an object", `{"batch":{"type":"track"}}`, derrors.Invalid, "batch", "must be a JSON array of calls, got an object"},
		{"context a string", `{"batch":[],"context":"web"}`, derrors.Invalid, "context", "must be a JSON object, got a string"},
		{"sentAt not a time", `{"batch":[],"sentAt":"soon"}`, derrors.Invalid, "sentAt", `cannot read "soon" as a time`},
		{"sentAt a number", `{"batch":[],"sentAt":1764000000}`, derrors.Invalid, "sentAt", "expected a string, got a number"},
		{"writeKey a number", `{"batch":[],"writeKey":12}`, derrors.Invalid, "writeKey", "must be a string, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeBatch([]byte(tt.body), recv)
			assertError(t, err, tt.code, tt.field, tt.msg)
		})
	}
}

func assertError(t *testing.T, err error, code derrors.Code, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s %q", code, msg)
	}
	e := derrors.Public(err)
	if e.Code != code || e.Field != field || !strings.Contains(e.Message, msg) {
		t.Errorf("error = {Code:%s Field:%q Message:%q}; want %s, field %q, message containing %q",
			e.Code, e.Field, e.Message, code, field, msg)
	}
}

func TestDecodeBatchEmptyBatchIsFine(t *testing.T) {
	t.Parallel()
	b := mustDecodeBatch(t, `{"batch":[]}`, recv)
	if len(b.Events)+len(b.Rejected) != 0 {
		t.Errorf("batch = %+v", b)
	}
}

// callOfSize returns a track call of exactly n bytes (n ≥ 100).
func callOfSize(t testing.TB, i, n int) string {
	t.Helper()
	head := fmt.Sprintf(`{"type":"track","messageId":"m-%d","userId":"u-%d","event":"Search Performed","properties":{"q":"`, i, i)
	tail := `"}}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("call of %d bytes is too small", n)
	}
	s := head + strings.Repeat("x", pad) + tail
	if len(s) != n {
		t.Fatalf("built %d bytes, want %d", len(s), n)
	}
	return s
}

func TestEventSizeLimit(t *testing.T) {
	t.Parallel()
	ok := callOfSize(t, 0, MaxEventBytes)
	over := callOfSize(t, 1, MaxEventBytes+1)
	b := mustDecodeBatch(t, `{"batch":[`+ok+`,`+over+`]}`, recv)
	if len(b.Events) != 1 || b.Events[0].MessageID != "m-0" {
		t.Errorf("the call of exactly 32 KB was not accepted: %d events", len(b.Events))
	}
	if len(b.Rejected) != 1 {
		t.Fatalf("rejected = %d; want the call one byte over", len(b.Rejected))
	}
	r := b.Rejected[0]
	want := "the call is 32769 bytes; a call may be at most 32768 bytes (32 KB)"
	if r.Index != 1 || r.MessageID != "m-1" || r.Type != "track" || r.Reason != want {
		t.Errorf("rejection = %+v; want index 1, messageId m-1, reason %q", r, want)
	}
}

func TestBatchCountLimit(t *testing.T) {
	t.Parallel()
	batchOf := func(n int) []byte {
		calls := make([]string, n)
		for i := range calls {
			calls[i] = fmt.Sprintf(`{"type":"track","userId":"u%d","event":"Login"}`, i)
		}
		return []byte(`{"batch":[` + strings.Join(calls, ",") + `]}`)
	}
	b, err := DecodeBatch(batchOf(MaxBatchEvents), recv)
	if err != nil || len(b.Events) != MaxBatchEvents {
		t.Fatalf("2,500 calls: %d events, err %v; want all accepted", len(b.Events), err)
	}
	_, err = DecodeBatch(batchOf(MaxBatchEvents+1), recv)
	assertError(t, err, derrors.Invalid, "batch", "has more than 2500 calls")
}

func TestBatchBodyLimit(t *testing.T) {
	t.Parallel()
	// 15 calls of 32 KB and one smaller, padded to exactly 500 KB.
	calls := make([]string, 15)
	for i := range calls {
		calls[i] = callOfSize(t, i, MaxEventBytes)
	}
	body := `{"batch":[` + strings.Join(calls, ",") + `],"sentAt":"2026-11-24T10:00:05Z"}`
	exact := body + strings.Repeat(" ", MaxBatchBytes-len(body))
	if len(exact) != MaxBatchBytes {
		t.Fatalf("built %d bytes", len(exact))
	}
	b, err := DecodeBatch([]byte(exact), recv)
	if err != nil || len(b.Events) != 15 {
		t.Fatalf("500 KB body: %d events, err %v; want all accepted", len(b.Events), err)
	}
	_, err = DecodeBatch([]byte(exact+" "), recv)
	assertError(t, err, derrors.TooLarge, "", "the request body is 512001 bytes; a batch may be at most 512000 bytes (500 KB)")
}

func TestContextMerge(t *testing.T) {
	t.Parallel()
	body := `{"context":{"library":{"name":"analytics-go","version":"3.3.0"},"ip":"198.51.100.1","app":{"name":"Acme Code"}},
	"batch":[
		{"type":"track","userId":"u1","event":"A","context":{"ip":"203.0.113.7","groupId":"acme","library":{"name":"custom"}}},
		{"type":"track","userId":"u1","event":"B"},
		{"type":"track","userId":"u1","event":"C","context":{}}
	]}`
	b := mustDecodeBatch(t, body, recv)
	a, bb, c := ctxMap(t, b.Events[0]), ctxMap(t, b.Events[1]), ctxMap(t, b.Events[2])
	// The call's keys win, whole: its library replaces the request's.
	if a["ip"] != "203.0.113.7" || a["groupId"] != "acme" || a["library"].(map[string]any)["name"] != "custom" || a["library"].(map[string]any)["version"] != nil {
		t.Errorf("call with context = %s", b.Events[0].Context)
	}
	if a["app"].(map[string]any)["name"] != "Acme Code" || len(a) != 4 {
		t.Errorf("request keys the call lacks are not merged: %s", b.Events[0].Context)
	}
	for _, ctx := range []map[string]any{bb, c} {
		if ctx["ip"] != "198.51.100.1" || ctx["library"].(map[string]any)["name"] != "analytics-go" || len(ctx) != 3 {
			t.Errorf("call without context = %v; want the request's", ctx)
		}
	}
	// The merged context is one object per call, whatever the spacing.
	spaced := mustDecodeBatch(t, `{"context":{ "a" : 1 , "b":{"c":[1,2]} },"batch":[{"type":"track","userId":"u","event":"E","context":{ "b" : 2 }  }]}`, recv)
	if got := string(spaced.Events[0].Context); got != `{ "b" : 2 ,"a":1}` {
		t.Errorf("merged context = %s", got)
	}
	// The request's context, shared by its events, does not alias the
	// request body; Raw is the body's own bytes (no copy per call).
	raw := []byte(`{"context":{"ip":"198.51.100.1"},"batch":[{"type":"track","userId":"u","event":"E"}]}`)
	kept, err := DecodeBatch(raw, recv)
	if err != nil {
		t.Fatal(err)
	}
	if string(kept.Events[0].Raw) != `{"type":"track","userId":"u","event":"E"}` {
		t.Errorf("raw = %q", kept.Events[0].Raw)
	}
	copy(raw, make([]byte, len(raw)))
	if string(kept.Events[0].Context) != `{"ip":"198.51.100.1"}` {
		t.Errorf("the request's context aliases the body: %q", kept.Events[0].Context)
	}

	// No context anywhere: none on the event.
	if e := mustDecodeBatch(t, `{"batch":[{"type":"track","userId":"u1","event":"A"}]}`, recv).Events[0]; e.Context != nil {
		t.Errorf("context = %v, want nil", e.Context)
	}
}

func TestWriteKeyFromBody(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"top level", `{"writeKey":"wk_top","batch":[{"type":"track","userId":"u","event":"A","writeKey":"wk_call"}]}`, "wk_top"},
		{"first call's, as analytics.js", `{"batch":[{"type":"track","userId":"u","event":"A","writeKey":"wk_call"}]}`, "wk_call"},
		{"a rejected call's still names it", `{"batch":[{"type":"track","writeKey":"wk_call"}]}`, "wk_call"},
		{"none", `{"batch":[{"type":"track","userId":"u","event":"A"}]}`, ""},
	}
	for _, tt := range tests {
		if got := mustDecodeBatch(t, tt.body, recv).WriteKey; got != tt.want {
			t.Errorf("%s: WriteKey = %q, want %q", tt.name, got, tt.want)
		}
	}
	b := mustDecodeBatch(t, `{"writeKey":"wk_top","batch":[{"type":"track","userId":"u","event":"A"},{"type":"track","userId":"u","event":"B","writeKey":"wk_other"}]}`, recv)
	if b.Events[0].WriteKey != "wk_top" || b.Events[1].WriteKey != "wk_other" {
		t.Errorf("event write keys = %q, %q; want the batch's, then the call's own", b.Events[0].WriteKey, b.Events[1].WriteKey)
	}
}

func TestMessageIDDerivedWhenAbsent(t *testing.T) {
	t.Parallel()
	timed := `{"type":"track","userId":"u1","event":"Login","timestamp":"2026-11-24T09:00:00Z"}`
	untimed := `{"type":"track","userId":"u1","event":"Login"}`
	id := func(call string, at time.Time) string {
		t.Helper()
		b := mustDecodeBatch(t, `{"batch":[`+call+`]}`, at)
		if len(b.Events) != 1 {
			t.Fatalf("rejected %+v", b.Rejected)
		}
		return b.Events[0].MessageID
	}
	later := recv.Add(3 * time.Hour)
	nextDay := recv.Add(24 * time.Hour)

	first := id(timed, recv)
	if !strings.HasPrefix(first, "tend-") || len(first) != len("tend-")+32 {
		t.Errorf("derived id = %q; want tend- and 32 hex digits", first)
	}
	if id(timed, recv) != first || id(timed, nextDay) != first {
		t.Error("a retry of a timed call got a different messageId")
	}
	if id(strings.Replace(timed, "Login", "Logout", 1), recv) == first {
		t.Error("different calls got the same messageId")
	}
	// Untimed calls are dated by arrival: the same body is one event per day.
	if id(untimed, recv) != id(untimed, later) {
		t.Error("a same-day retry of an untimed call got a different messageId")
	}
	if id(untimed, recv) == id(untimed, nextDay) {
		t.Error("the same untimed body on two days got one messageId")
	}
	// The request's sentAt changes on every retry (analytics.js restamps
	// it), so it must not change the id.
	a := mustDecodeBatch(t, `{"sentAt":"2026-11-24T10:00:00Z","batch":[`+timed+`]}`, recv).Events[0].MessageID
	b := mustDecodeBatch(t, `{"sentAt":"2026-11-24T10:00:09Z","batch":[`+timed+`]}`, recv).Events[0].MessageID
	if a != b || a != first {
		t.Error("the request's sentAt changed a derived messageId")
	}
	// A messageId that is sent is kept, an empty one is replaced.
	if got := id(`{"type":"track","userId":"u1","event":"Login","messageId":"ajs-next-1"}`, recv); got != "ajs-next-1" {
		t.Errorf("messageId = %q", got)
	}
	if got := id(`{"type":"track","userId":"u1","event":"Login","messageId":""}`, recv); !strings.HasPrefix(got, "tend-") {
		t.Errorf("empty messageId kept as %q", got)
	}
}

func TestEventJSONUsesSegmentNames(t *testing.T) {
	t.Parallel()
	b := mustDecodeBatch(t, `{"writeKey":"secret","sentAt":"2026-11-24T10:00:05Z","batch":[{"type":"track","messageId":"m1","userId":"u1","event":"Login","timestamp":"2026-11-24T10:00:00Z","properties":{"n":12345678901234567890}}]}`, recv)
	out, err := json.Marshal(b.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "messageId", "userId", "event", "properties", "timestamp", "originalTimestamp", "sentAt", "receivedAt"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if strings.Contains(string(out), "secret") {
		t.Errorf("the write key leaked into JSON: %s", out)
	}
	if !strings.Contains(string(out), `"n":12345678901234567890`) {
		t.Errorf("a big number lost digits: %s", out)
	}
	if m["timestamp"] != "2026-11-24T10:00:00.1Z" {
		t.Errorf("timestamp = %v", m["timestamp"])
	}
}

func TestDecodeSingle(t *testing.T) {
	t.Parallel()
	t.Run("track", func(t *testing.T) {
		t.Parallel()
		body := `{"userId":"u-1042","event":"Search Performed","properties":{"q":"x"},"writeKey":"wk_1","timestamp":"2026-11-24T10:00:00.000Z","sentAt":"2026-11-24T10:00:05.000Z","context":{"groupId":"acme"}}`
		b, err := DecodeSingle("track", []byte(body), recv)
		if err != nil || len(b.Events) != 1 {
			t.Fatalf("err %v, batch %+v", err, b)
		}
		e := b.Events[0]
		if e.Type != Track || b.WriteKey != "wk_1" || e.WriteKey != "wk_1" || string(e.Raw) != body {
			t.Errorf("event = %+v, key %q", e, b.WriteKey)
		}
		if !e.Timestamp.Equal(mustTime(t, "2026-11-24T10:00:00.1Z")) {
			t.Errorf("timestamp = %s", e.Timestamp)
		}
	})
	t.Run("analytics.js paths", func(t *testing.T) {
		t.Parallel()
		for path, want := range map[string]Type{"t": Track, "i": Identify, "g": Group, "p": Page, "s": Screen, "a": Alias} {
			body := fmt.Sprintf(`{"type":%q,"userId":"u","event":"E","groupId":"g","previousId":"p"}`, want)
			b, err := DecodeSingle(path, []byte(body), recv)
			if err != nil || len(b.Events) != 1 || b.Events[0].Type != want {
				t.Errorf("/v1/%s: err %v, batch %+v", path, err, b)
			}
		}
	})
	t.Run("rejected call", func(t *testing.T) {
		t.Parallel()
		b, err := DecodeSingle("group", []byte(`{"userId":"u","writeKey":"wk_1","messageId":"m9"}`), recv)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Events) != 0 || len(b.Rejected) != 1 || b.Rejected[0].Field != "groupId" || b.Rejected[0].MessageID != "m9" || b.WriteKey != "wk_1" {
			t.Errorf("batch = %+v", b)
		}
	})
	t.Run("type mismatch", func(t *testing.T) {
		t.Parallel()
		b, err := DecodeSingle("track", []byte(`{"type":"identify","userId":"u"}`), recv)
		if err != nil || len(b.Rejected) != 1 || !strings.Contains(b.Rejected[0].Reason, `"identify" does not match the endpoint, which takes track calls`) {
			t.Errorf("err %v, batch %+v", err, b)
		}
	})
	t.Run("size limit", func(t *testing.T) {
		t.Parallel()
		call := callOfSize(t, 0, MaxEventBytes)
		if b, err := DecodeSingle("track", []byte(call), recv); err != nil || len(b.Events) != 1 {
			t.Errorf("exactly 32 KB: err %v, %d events", err, len(b.Events))
		}
		_, err := DecodeSingle("track", []byte(callOfSize(t, 0, MaxEventBytes+1)), recv)
		assertError(t, err, derrors.TooLarge, "", "the request body is 32769 bytes; a single call may be at most 32768 bytes (32 KB)")
	})
	t.Run("whole-request errors", func(t *testing.T) {
		t.Parallel()
		_, err := DecodeSingle("purchase", []byte(`{}`), recv)
		assertError(t, err, derrors.NotFound, "", "/v1/purchase is not a Segment call")
		_, err = DecodeSingle("track", []byte(`{"userId":`), recv)
		assertError(t, err, derrors.Invalid, "", "not valid JSON")
		_, err = DecodeSingle("track", []byte(`[{"userId":"u"}]`), recv)
		assertError(t, err, derrors.Invalid, "", "must be a JSON object (one track call), got an array")
		_, err = DecodeSingle("identify", nil, recv)
		assertError(t, err, derrors.Invalid, "", "empty")
	})
	t.Run("surrounding whitespace", func(t *testing.T) {
		t.Parallel()
		b, err := DecodeSingle("identify", []byte("\n {\"userId\":\"u\"} \n"), recv)
		if err != nil || len(b.Events) != 1 || string(b.Events[0].Raw) != `{"userId":"u"}` {
			t.Errorf("err %v, batch %+v", err, b)
		}
	})
}
