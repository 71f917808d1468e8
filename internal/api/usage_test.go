package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/workspace"
)

// usageBatch is a month and two days of Acme's product usage (account 1,
// external id A-1, 500 seats), as Segment libraries send it. Fixture time
// is Monday 2 March 2026, 09:00 UTC, and the workspace counts days in UTC:
//
//	u1  group A-1 3 Feb; Search Performed 10 Feb and today 08:00
//	u2  group A-1 3 Feb; Search Performed 11 Feb; a page on 1 Mar
//	u3  Code Insights Viewed 20 Feb, attributed by context.groupId alone
//	u4  a track with no account: stored, counted for no one
//
// So February's MAU is 3, today's DAU 1, the last 7 days 2, the last 30
// days 3; Search Performed has 2 users, Code Insights Viewed 1. The first
// call carries a writeKey in its body, as analytics.js sends it.
const usageBatch = `{"batch": [
	{"type": "group", "userId": "u1", "groupId": "A-1", "timestamp": "2026-02-03T10:00:00Z", "messageId": "m1",
	 "writeKey": "wk_abcdefgsecretsecretsecretsecret12"},
	{"type": "group", "userId": "u2", "groupId": "A-1", "timestamp": "2026-02-03T11:00:00Z", "messageId": "m2"},
	{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-10T15:00:00Z", "messageId": "m3"},
	{"type": "track", "userId": "u2", "event": "Search Performed", "timestamp": "2026-02-11T15:00:00Z", "messageId": "m4"},
	{"type": "track", "userId": "u3", "event": "Code Insights Viewed", "timestamp": "2026-02-20T15:00:00Z", "messageId": "m5",
	 "context": {"groupId": "A-1"}},
	{"type": "page", "userId": "u2", "name": "Dashboard", "timestamp": "2026-03-01T12:00:00Z", "messageId": "m6"},
	{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-03-02T08:00:00Z", "messageId": "m7"},
	{"type": "track", "userId": "u4", "event": "Search Performed", "timestamp": "2026-03-02T08:30:00Z", "messageId": "m8"}
]}`

// badBatch has one good call and two the decoder refuses one by one.
const badBatch = `{"batch": [
	{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-03-02T08:40:00Z", "messageId": "b1"},
	{"type": "track", "event": "No One", "messageId": "b2", "writeKey": "wk_abcdefgsecretsecretsecretsecret12"},
	{"type": "track", "userId": "u5", "timestamp": "2026-03-02T08:41:00Z", "messageId": "b3"}
]}`

// feedUsage sends usageBatch from "web app" (write key 1) and checks the
// engine took all eight calls.
func feedUsage(t *testing.T, fx *fixture) {
	t.Helper()
	if res := fx.feed(t, "web app", usageBatch); res.Accepted != 8 || res.Duplicates != 0 {
		t.Fatalf("feed: %+v, want 8 accepted", res)
	}
}

// feedBad sends badBatch from "backend" (write key 2 after feedUsage).
func feedBad(t *testing.T, fx *fixture) {
	t.Helper()
	if res := fx.feed(t, "backend", badBatch); res.Accepted != 1 {
		t.Fatalf("feed: %+v, want 1 accepted", res)
	}
}

// usageIs checks the usage answer for usageBatch, to the number.
func usageIs(t *testing.T, _ *fixture, res response) {
	t.Helper()
	var got usageJSON
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	m := got.Metrics
	if got.AccountID != 1 || got.MetricsSource != "events" {
		t.Errorf("account_id %d, metrics_source %q", got.AccountID, got.MetricsSource)
	}
	if m.DAU != 1 || m.Active7 != 2 || m.Active30 != 3 || m.MonthToDate != 2 || m.LastMonthMAU != 3 || m.Seats != 500 {
		t.Errorf("metrics dau=%d 7d=%d 30d=%d mtd=%d last-month=%d seats=%d, want 1 2 3 2 3 500",
			m.DAU, m.Active7, m.Active30, m.MonthToDate, m.LastMonthMAU, m.Seats)
	}
	if m.LastMonth.String() != "2026-02" || m.LastMonthMAUOverSeats == nil || *m.LastMonthMAUOverSeats != 3.0/500 {
		t.Errorf("last month %s, MAU over seats %v, want 2026-02 and 0.006", m.LastMonth, m.LastMonthMAUOverSeats)
	}
	// 004: the usage score is the mean DAU over the 28 days before today
	// over last month's MAU. 3 Feb–1 Mar holds 2+1+1+1+1 user-days.
	if m.UsageScore == nil || math.Abs(*m.UsageScore-6.0/28/3) > 1e-12 {
		t.Errorf("usage score %v, want %v", m.UsageScore, 6.0/28/3)
	}
	if m.FirstPing == nil || m.FirstPing.Format("2006-01-02T15:04") != "2026-02-03T10:00" {
		t.Errorf("first ping %v", m.FirstPing)
	}
	var feats []string
	for _, f := range got.Features {
		feats = append(feats, fmt.Sprintf("%s=%d@%s", f.Name, f.Users, f.FirstUsed.Format("01-02")))
	}
	if strings.Join(feats, " ") != "Search Performed=2@02-10 Code Insights Viewed=1@02-20" {
		t.Errorf("features %v", feats)
	}
	if got.Series.Seats != 500 {
		t.Errorf("series seats %d", got.Series.Seats)
	}
}

// TestUsageDisabled: a server without a usage engine says so rather than
// answering zeros, and the endpoints that need only the store still work.
func TestUsageDisabled(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ws, err := workspace.Default()
	must(t, err)
	fx.h = New(Config{Store: fx.st, Workspace: ws}).Handler()
	res := fx.do(t, "viewer", "GET", Prefix+"/accounts/1/usage", "")
	if res.status != 404 || !strings.Contains(string(res.body), "usage is not enabled on this server") {
		t.Errorf("usage without an engine: %d %s", res.status, res.body)
	}
	if res := fx.do(t, "admin", "GET", Prefix+"/write-keys", ""); res.status != 200 {
		t.Errorf("write keys without an engine: %d %s", res.status, res.body)
	}
	if res := fx.do(t, "admin", "GET", Prefix+"/ingestion/events", ""); res.status != 200 {
		t.Errorf("debugger without an engine: %d %s", res.status, res.body)
	}
}

// TestRedactWriteKey: bodies in the debugger never carry a working write
// key, whole or cut short, and are otherwise left as sent.
func TestRedactWriteKey(t *testing.T) {
	t.Parallel()
	const key = "wk_abcdefgsecretsecretsecretsecret12"
	for _, c := range []struct{ in, want string }{
		{`{"type":"track","writeKey":"` + key + `","event":"x"}`, `{"type":"track","writeKey":"wk_abcdefg…","event":"x"}`},
		{`{"writeKey" : "` + key + `"}`, `{"writeKey" : "wk_abcdefg…"}`},
		{`{"context":{"writeKey":"` + key + `"}}`, `{"context":{"writeKey":"wk_abcdefg…"}}`},
		{`{"event":"x","writeKey":"` + key[:20], `{"event":"x","writeKey":"wk_abcdefg…`}, // cut at 2 KB
		{`{"writeKey":"short"}`, `{"writeKey":"…"}`},
		{`{"writeKey":12}`, `{"writeKey":12}`},
		{`{"event":"<b>&</b>","userId":"u1"}`, `{"event":"<b>&</b>","userId":"u1"}`},
		{`not json`, `not json`},
	} {
		if got := string(ingest.RedactWriteKeys([]byte(c.in))); got != c.want {
			t.Errorf("redact %s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	src := []byte(`{"writeKey":"` + key + `"} and the rest`)
	ingest.RedactWriteKeys(src)
	if !strings.Contains(string(src), key) {
		t.Error("redactWriteKey changed its input")
	}
	if s := string(eventBody(nil)); s != "null" {
		t.Errorf("empty body: %s", s)
	}
	if s := string(eventBody([]byte(`{"a":`))); s != `"{\"a\":"` {
		t.Errorf("a body that is not JSON: %s", s)
	}
}
