package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/importer"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/workspace"
)

// eventsNow is the clock of the events tests: 10 March 2026, so February
// is the last complete month.
var eventsNow = time.Date(2026, time.March, 10, 15, 0, 0, 0, time.UTC)

// eventsEnv is a store with one account, Acme (analytics id grp_acme, 10
// seats), and a usage engine on the fixed clock.
type eventsEnv struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	eng  *engine.Usage
	acme account.Account
}

func newEventsEnv(t *testing.T) *eventsEnv {
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
	e := &eventsEnv{t: t, ctx: ctx, st: st}
	e.acme = account.Account{Name: "Acme", ExternalID: "crm-acme", AnalyticsID: "grp_acme", Seats: 10}
	if err := st.CreateAccount(ctx, &e.acme, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	e.eng, err = engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, FlushEvery: time.Hour,
		Now: func() time.Time { return eventsNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.eng.Close() })
	return e
}

func (e *eventsEnv) run(file, content string, opt importer.Options) (importer.EventsReport, error) {
	e.t.Helper()
	opt.FileName = file
	return importer.RunEvents(e.ctx, e.st, e.eng, strings.NewReader(content), opt)
}

// february is a month of Acme's usage as a Segment export holds it: eight
// users active on 3 February, two of them on each of the 14 days from
// 20 February; each user's identify and group calls come last, as an
// export ordered by something else than time may put them. Last month's
// MAU is 8 (0.8 of the seats) and the mean DAU of the 28 days before
// 10 March is 14 × 2 / 28 = 1, a usage score of 1/8.
func february() (lines []string) {
	track := func(user, event, ts string) string {
		return fmt.Sprintf(`{"type": "track", "messageId": "t-%s-%s", "userId": %q, "event": %q, "properties": {"query": "repo:acme"}, "timestamp": %q, "receivedAt": %q}`,
			user, ts, user, event, ts, ts)
	}
	for i := 1; i <= 8; i++ {
		lines = append(lines, track(fmt.Sprintf("u%d", i), "Search Performed", "2026-02-03T10:00:00.000Z"))
	}
	for d := range 14 {
		day := time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC).AddDate(0, 0, d).Format("2006-01-02T15:04:05.000Z")
		lines = append(lines, track("u1", "Code Navigation Used", day), track("u2", "Code Navigation Used", day))
	}
	for i := 1; i <= 8; i++ {
		lines = append(lines,
			fmt.Sprintf(`{"type": "identify", "messageId": "i-u%d", "userId": "u%d", "traits": {"email": "u%d@acme.com"}, "timestamp": "2026-02-03T09:59:00Z"}`, i, i, i),
			fmt.Sprintf(`{"type": "group", "messageId": "g-u%d", "userId": "u%d", "groupId": "grp_acme", "timestamp": "2026-02-03T09:59:00Z"}`, i, i))
	}
	return lines
}

func TestImportEvents(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t)
	lines := february()
	var calls [][2]int
	opt := importer.Options{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	importer.SetChunk(&opt, 10)
	rep, err := e.run("events.jsonl", strings.Join(lines, "\n")+"\n", opt)
	if err != nil {
		t.Fatalf("import: %v %+v", err, rep.Invalid)
	}
	n := len(lines)
	if rep.Rows != n || rep.Accepted != n || rep.Duplicates != 0 || rep.BadRows != 0 || rep.Unattributed != 0 {
		t.Errorf("report %+v, want %d accepted", rep, n)
	}
	if want := fmt.Sprintf("%d events: %d accepted, 0 duplicates", n, n); rep.Summary() != want {
		t.Errorf("summary %q, want %q", rep.Summary(), want)
	}
	if len(calls) < 3 || calls[0] != [2]int{0, n} || calls[len(calls)-1] != [2]int{n, n} {
		t.Errorf("progress calls %v", calls)
	}

	// The engine's metrics, live and as the traits the flush wrote, are
	// the handbook's for the file (see february) — though the links came
	// after the events in the file.
	m := e.eng.Metrics(e.acme.ID)
	if m.LastMonthMAU != 8 || m.UsageScore == nil || *m.UsageScore != 0.125 || m.LastMonthMAUOverSeats == nil || *m.LastMonthMAUOverSeats != 0.8 {
		t.Errorf("metrics %+v", m)
	}
	want := map[string]any{"usage_score": 0.125, "last_month_mau_over_seats": 0.8, "last_month_mau": 8.0, "active_users_30d": 2.0,
		"first_usage_ping": "2026-02-03"}
	got := e.traits()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("trait %s = %v, want %v", k, got[k], v)
		}
	}
	keys, err := e.st.ListWriteKeys(e.ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "import events.jsonl" {
		t.Errorf("write keys %+v (%v)", keys, err)
	}

	// Importing the file again is harmless: every event is a duplicate of
	// its messageId, under the same source.
	rep, err = e.run("events.jsonl", strings.Join(lines, "\n"), importer.Options{})
	if err != nil || rep.Accepted != 0 || rep.Duplicates != n {
		t.Errorf("re-import: %+v %v, want %d duplicates", rep, err, n)
	}
	if keys, _ := e.st.ListWriteKeys(e.ctx); len(keys) != 1 {
		t.Errorf("re-import made another write key: %+v", keys)
	}
	if m2 := e.eng.Metrics(e.acme.ID); m2.LastMonthMAU != 8 || m2.Active30 != 2 {
		t.Errorf("metrics after re-import %+v", m2)
	}
}

func (e *eventsEnv) traits() map[string]any {
	e.t.Helper()
	vals, err := e.st.ListTraits(e.ctx, e.acme.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]any{}
	for _, v := range vals {
		out[v.Key] = v.Value
	}
	return out
}

// badFile has a good call on lines 1 and 10 and a fault on every other
// non-blank line.
var badFile = strings.Join([]string{
	`{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z"}`,
	`{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z"`,
	`{"type": "track", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z"}`,
	`{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "yesterday"}`,
	`{"type": "purchase", "userId": "u1", "timestamp": "2026-02-03T10:00:00Z"}`,
	``,
	`{"type": "track", "userId": "u1", "timestamp": "2026-02-03T10:00:00Z"}`,
	`{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z", "receivedAt": 1770112800}`,
	`{"userId": "u1", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z"}`,
	`{"type": "group", "userId": "u1", "groupId": "grp_acme", "receivedAt": "2026-02-03 09:00:00"}`,
	`{"type": "identify", "userId": "u1", "traits": {"email": "u1@acme.com"}}`,
	`{"type": "page", "userId": "u1", "properties": "home", "timestamp": "2026-02-03T10:00:00Z"}`,
}, "\n")

func TestImportEventsBadLines(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t)
	rep, err := e.run("events.jsonl", badFile, importer.Options{})
	if derrors.CodeOf(err) != derrors.Unprocessable || !strings.Contains(err.Error(), "9 of 11 lines are bad, so nothing was imported") {
		t.Fatalf("err = %v", err)
	}
	want := []struct {
		line          int
		field, reason string
	}{
		{2, "", "the line is not valid JSON: unexpected end of JSON input at column 99"},
		{3, "userId", "userId or anonymousId is required"},
		{4, "timestamp", `cannot read "yesterday" as a time`},
		{5, "type", `unknown call "purchase"`},
		{7, "event", "event is required for a track call"},
		{8, "receivedAt", "expected a string, got 1770112800"},
		{9, "type", "is required"},
		{11, "timestamp", "is required: an imported event needs the time it happened"},
		{12, "properties", "expected a JSON object, got a string"},
	}
	if len(rep.Invalid) != len(want) {
		t.Fatalf("%d faults, want %d: %+v", len(rep.Invalid), len(want), rep.Invalid)
	}
	for i, w := range want {
		if g := rep.Invalid[i]; g.Line != w.line || g.Field != w.field || !strings.Contains(g.Message, w.reason) {
			t.Errorf("fault %d = %+v, want line %d, field %q, %q", i, g, w.line, w.field, w.reason)
		}
	}
	var out bytes.Buffer
	if err := rep.WriteErrors(&out, "events.jsonl"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "events.jsonl:3: userId: userId or anonymousId is required\n") {
		t.Errorf("errors written as\n%s", out.String())
	}
	// Nothing was written: no events, no write key.
	if evs, err := e.st.RecentEvents(e.ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("%d events stored (%v)", len(evs), err)
	}
	if keys, err := e.st.ListWriteKeys(e.ctx); err != nil || len(keys) != 0 {
		t.Errorf("write keys %+v (%v)", keys, err)
	}

	// --skip-invalid writes the good lines and lists the bad ones.
	rep, err = e.run("events.jsonl", badFile, importer.Options{SkipInvalid: true})
	if err != nil || rep.Rows != 11 || rep.Accepted != 2 || rep.BadRows != 9 || len(rep.Invalid) != 9 {
		t.Fatalf("skip invalid: %+v %v", rep, err)
	}
	if !strings.HasSuffix(rep.Summary(), "9 bad lines skipped") {
		t.Errorf("summary %q", rep.Summary())
	}
	if m := e.eng.Metrics(e.acme.ID); m.LastMonthMAU != 1 {
		t.Errorf("last month MAU %d, want 1 (u1, linked by the group call on line 10)", m.LastMonthMAU)
	}
}

// TestImportEventsSegmentExport shows an exported call keeping Segment's
// timestamp: with the line's receivedAt as the arrival, the clock-skew
// correction gives back the timestamp Segment computed. A call whose
// group no account has is counted as unattributed.
func TestImportEventsSegmentExport(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t)
	// The sender's clock ran an hour (less a second) fast: it stamped the
	// call at 10:00:00 and sent it at 10:00:05 by its clock; Segment got it
	// at 09:00:06 by its own and dated it 09:00:01.
	lines := []string{
		`{"type": "track", "messageId": "m1", "userId": "u1", "event": "Search Performed", "context": {"groupId": "grp_acme"}, ` +
			`"originalTimestamp": "2026-02-03T10:00:00.000Z", "sentAt": "2026-02-03T10:00:05.000Z", ` +
			`"receivedAt": "2026-02-03T09:00:06.000Z", "timestamp": "2026-02-03T09:00:01.000Z"}`,
		`{"type": "group", "messageId": "m2", "userId": "u2", "groupId": "grp_nobody", "timestamp": "2026-02-03T09:00:00.000Z"}`,
	}
	rep, err := e.run("export.json", strings.Join(lines, "\n"), importer.Options{})
	if err != nil || rep.Accepted != 2 || rep.Unattributed != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if want := "2 events: 2 accepted, 0 duplicates; 1 event names a group id no account has (import the accounts with their analytics_id first)"; rep.Summary() != want {
		t.Errorf("summary %q, want %q", rep.Summary(), want)
	}
	evs, err := e.st.RecentEvents(e.ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.MessageID != "m1" {
			continue
		}
		if want := time.Date(2026, 2, 3, 9, 0, 1, 0, time.UTC); !ev.Timestamp.Equal(want) || !ev.ReceivedAt.Equal(want.Add(5*time.Second)) {
			t.Errorf("stored at %s, received %s; want Segment's %s", ev.Timestamp, ev.ReceivedAt, want)
		}
		if ev.AccountID == nil || *ev.AccountID != e.acme.ID {
			t.Errorf("context.groupId did not attribute the event: %v", ev.AccountID)
		}
	}
	if _, err := e.run("export.csv", lines[0], importer.Options{Format: "csv"}); derrors.CodeOf(err) != derrors.Invalid {
		t.Errorf("--format csv: %v, want invalid", err)
	}
	if _, err := e.run("empty.jsonl", "\n\n", importer.Options{}); derrors.CodeOf(err) != derrors.Invalid {
		t.Errorf("an empty file: %v, want invalid", err)
	}
}
