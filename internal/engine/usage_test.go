package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/workspace"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

type env struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	ws   *workspace.Workspace
	clk  *clock
	key  store.WriteKey
	acme account.Account
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/tend.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, st: st, ws: ws, clk: &clock{t: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}}
	e.acme = account.Account{Name: "Acme", ExternalID: "crm-acme", AnalyticsID: "grp_acme", Seats: 10}
	if err := st.CreateAccount(ctx, &e.acme, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	e.key = store.WriteKey{Name: "web app", Prefix: "wk_test", Hash: team.HashToken("wk_test_secret")}
	if err := st.CreateWriteKey(ctx, &e.key); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) engine(flush time.Duration) *engine.Usage {
	e.t.Helper()
	u, err := engine.NewUsage(e.ctx, engine.UsageConfig{Store: e.st, Workspace: e.ws, Now: e.clk.Now, FlushEvery: flush})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// send decodes a batch of Segment calls and ingests it.
func (e *env) send(u *engine.Usage, calls ...string) engine.IngestResult {
	e.t.Helper()
	b, err := ingest.DecodeBatch([]byte(`{"batch": [`+strings.Join(calls, ",")+`]}`), e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := u.Ingest(e.ctx, e.key, b)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func group(user, groupID string) string {
	return fmt.Sprintf(`{"type": "group", "userId": %q, "groupId": %q, "messageId": "g-%s", "timestamp": "2026-01-01T00:00:00Z"}`, user, groupID, user)
}

func track(user, event, ts string) string {
	return fmt.Sprintf(`{"type": "track", "userId": %q, "event": %q, "messageId": "t-%s-%s-%s", "timestamp": %q}`, user, event, user, event, ts, ts)
}

// february plays out a month the handbook's ratios can be checked on: 8
// users active in February (last month at 10 March), and in the 28 days
// before 10 March (10 Feb – 9 Mar) 2 users on each of 14 days.
func february(e *env, u *engine.Usage) {
	var calls []string
	for i := 1; i <= 8; i++ {
		calls = append(calls, group(fmt.Sprintf("u%d", i), "grp_acme"))
	}
	for i := 1; i <= 8; i++ {
		calls = append(calls, track(fmt.Sprintf("u%d", i), "Search Performed", "2026-02-03T10:00:00Z"))
	}
	for d := 0; d < 14; d++ {
		day := time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC).AddDate(0, 0, d).Format(time.RFC3339)
		calls = append(calls, track("u1", "Code Navigation Used", day), track("u2", "Code Navigation Used", day))
	}
	if res := e.send(u, calls...); res.Accepted != len(calls) || res.Duplicates != 0 {
		e.t.Fatalf("ingest: %+v, want %d accepted", res, len(calls))
	}
}

func TestUsageMetricsAreExactAndLive(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	defer u.Close()
	february(e, u)

	// Live: the metrics count the events as soon as Ingest returns.
	m := u.Metrics(e.acme.ID)
	if m.LastMonthMAU != 8 {
		t.Errorf("last month MAU = %d, want 8", m.LastMonthMAU)
	}
	// 004: "Usage Score (Last 4 Wk DAU / Last Month MAU)": 28 DAU over 28
	// days is a mean of 1 (days 20 Feb – 5 Mar inside 10 Feb – 9 Mar: 14
	// days × 2 users); 1 / 8 = 0.125.
	if m.UsageScore == nil || *m.UsageScore != 0.125 {
		t.Errorf("usage score = %v, want 0.125", m.UsageScore)
	}
	// 004: "Last Month Mau Over Seats": 8 / 10 seats = 0.8, healthy.
	if m.LastMonthMAUOverSeats == nil || *m.LastMonthMAUOverSeats != 0.8 {
		t.Errorf("MAU over seats = %v, want 0.8", m.LastMonthMAUOverSeats)
	}
	// Trailing 30 days (9 Feb – 10 Mar): u1, u2 only.
	if m.Active30 != 2 {
		t.Errorf("active 30d = %d, want 2", m.Active30)
	}

	// A resend is absorbed by the message ids.
	if res := e.send(u, track("u1", "Search Performed", "2026-02-03T10:00:00Z")); res.Accepted != 0 || res.Duplicates != 1 {
		t.Errorf("resend: %+v, want one duplicate", res)
	}

	// The flush writes the computed traits and the first-use milestones.
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	traits := map[string]any{}
	vals, err := e.st.ListTraits(e.ctx, e.acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		traits[v.Key] = v.Value
		if v.Source != account.SourceComputed {
			t.Errorf("%s has source %s", v.Key, v.Source)
		}
	}
	want := map[string]any{"usage_score": 0.125, "last_month_mau_over_seats": 0.8, "last_month_mau": 8.0,
		"active_users_30d": 2.0, "seat_utilization": 0.2, "first_usage_ping": "2026-01-01"}
	for k, v := range want {
		if traits[k] != v {
			t.Errorf("trait %s = %v (%T), want %v", k, traits[k], traits[k], v)
		}
	}
	acts, err := e.st.ListActivities(e.ctx, e.acme.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var milestones []string
	for _, a := range acts {
		if a.Kind == account.ActivityUsage {
			milestones = append(milestones, a.Body)
		}
	}
	if len(milestones) != 3 { // first ping, Search Performed, Code Navigation Used
		t.Errorf("usage milestones on the timeline: %q", milestones)
	}

	// A second flush with nothing new writes nothing.
	before, _ := e.st.TraitHistory(e.ctx, e.acme.ID, "", 100)
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := e.st.TraitHistory(e.ctx, e.acme.ID, "", 100)
	if len(after) != len(before) {
		t.Errorf("an idle flush wrote %d trait changes", len(after)-len(before))
	}
}

// Acknowledged events survive a crash: the engine is abandoned without a
// flush, and a new one replays what came after the saved watermark.
func TestUsageReplaysAfterACrash(t *testing.T) {
	e := newEnv(t)
	first := e.engine(time.Hour)
	february(e, first)
	if err := first.Flush(e.ctx); err != nil { // saved up to here
		t.Fatal(err)
	}
	// Acknowledged but never flushed: a new user in March.
	e.send(first, group("u9", "crm-acme"), track("u9", "AI Chat Message", "2026-03-09T09:00:00Z"))
	want := first.Metrics(e.acme.ID)
	// No Close: the process "dies" here. (The abandoned engine's loop has an
	// hour-long tick, so it writes nothing more.)

	second := e.engine(time.Hour)
	defer second.Close()
	got := second.Metrics(e.acme.ID)
	if got.Active30 != want.Active30 || got.LastMonthMAU != want.LastMonthMAU || got.DAU != want.DAU || *got.UsageScore != *want.UsageScore {
		t.Errorf("after replay: %+v\nwant %+v", got, want)
	}
	if got.Active30 != 3 {
		t.Errorf("active 30d = %d, want 3 (u1, u2 and the unflushed u9)", got.Active30)
	}
	chart, err := second.Chart(e.ctx, e.acme.ID, 90, 12)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range chart.Features {
		names = append(names, f.Name)
	}
	if len(names) != 3 {
		t.Errorf("features after replay: %v", names)
	}
	if n := len(chart.DAU); n != 90 {
		t.Errorf("%d DAU points, want 90", n)
	}
}

// A new day moves the trailing windows with no new events: the clock tick
// recomputes the traits.
func TestUsageRecomputesOnANewDay(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	defer u.Close()
	february(e, u)
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.mu.Lock()
	e.clk.t = time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC) // March is last month; no one was active after 5 March
	e.clk.mu.Unlock()
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	vals, _ := e.st.ListTraits(e.ctx, e.acme.ID)
	for _, v := range vals {
		if v.Key == "active_users_30d" && v.Value != 0.0 {
			t.Errorf("active_users_30d = %v on 10 April, want 0", v.Value)
		}
		if v.Key == "last_month_mau" && v.Value != 2.0 {
			t.Errorf("last_month_mau = %v for March, want 2", v.Value)
		}
	}
}

// Raw events are kept for the workspace's retention (90 days by default);
// the day bitmaps they made are kept for good.
func TestUsagePurgesRawEventsAfterRetention(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	defer u.Close()
	february(e, u) // received on 10 March
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.mu.Lock()
	e.clk.t = time.Date(2026, 6, 7, 9, 0, 0, 0, time.UTC) // 89 days later
	e.clk.mu.Unlock()
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := e.st.EventsSince(e.ctx, 0, 10); len(evs) == 0 {
		t.Fatal("events purged before 90 days")
	}
	e.clk.mu.Lock()
	e.clk.t = time.Date(2026, 6, 9, 9, 0, 0, 0, time.UTC) // 91 days later
	e.clk.mu.Unlock()
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := e.st.EventsSince(e.ctx, 0, 10); len(evs) != 0 {
		t.Errorf("%d raw events left after 91 days", len(evs))
	}
	chart, err := u.Chart(e.ctx, e.acme.ID, 150, 6)
	if err != nil {
		t.Fatal(err)
	}
	feb := -1
	for _, m := range chart.MAU {
		if m.Month == usage.MonthOf(2026, time.February) {
			feb = m.Users
		}
	}
	if feb != 8 {
		t.Errorf("February's MAU after the purge = %d, want 8 (the bitmaps stay): %+v", feb, chart.MAU)
	}
}

// Issue 3: "an identify with an email that matches a contact links them".
func TestUsageLinksIdentifiedUsersToContacts(t *testing.T) {
	e := newEnv(t)
	jane := account.Contact{AccountID: e.acme.ID, Name: "Jane Champion", Email: "jane@acme.example", Roles: []string{"champion"}}
	if err := e.st.CreateContact(e.ctx, &jane); err != nil {
		t.Fatal(err)
	}
	u := e.engine(time.Hour)
	defer u.Close()
	e.send(u, group("u1", "grp_acme"),
		`{"type": "identify", "userId": "u1", "messageId": "i-u1", "traits": {"email": "Jane@Acme.example"}}`,
		`{"type": "identify", "userId": "u2", "messageId": "i-u2", "traits": {"email": "nobody@acme.example", "company": {"id": "grp_acme"}}}`)
	users, err := e.st.UsageUsersOfAccount(e.ctx, e.acme.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*int64{}
	for _, us := range users {
		got[us.Key] = us.ContactID
	}
	if got["u1"] == nil || *got["u1"] != jane.ID {
		t.Errorf("u1 linked to contact %v, want %d", got["u1"], jane.ID)
	}
	if c, ok := got["u2"]; !ok || c != nil {
		t.Errorf("u2 (an email no contact has) = %v, %v; want a user of Acme without a contact", c, ok)
	}
}

// A track sent before its user's group call counts for the account once
// the group call links the user — live, as it does after a replay.
func TestUsageCountsEventsSentBeforeTheGroupCall(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	defer u.Close()
	e.send(u, track("u7", "Search Performed", "2026-03-09T10:00:00Z"))
	if m := u.Metrics(e.acme.ID); m.Active30 != 0 {
		t.Fatalf("before the group call: active 30d = %d, want 0", m.Active30)
	}
	e.send(u, group("u7", "grp_acme"))
	m := u.Metrics(e.acme.ID)
	if m.Active30 != 1 {
		t.Errorf("after the group call: active 30d = %d, want 1", m.Active30)
	}
	chart, err := u.Chart(e.ctx, e.acme.ID, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(chart.Features) != 1 || chart.Features[0].Name != "Search Performed" {
		t.Errorf("features = %+v, want Search Performed", chart.Features)
	}
	// A restart (replay from the last watermark) agrees.
	again := e.engine(time.Hour)
	defer again.Close()
	if got := again.Metrics(e.acme.ID); got.Active30 != m.Active30 || got.DAU != m.DAU {
		t.Errorf("after replay %+v, live %+v", got, m)
	}
}

// linkCounter counts the links the engine writes.
type linkCounter struct {
	store.Store
	mu    sync.Mutex
	links int
}

func (c *linkCounter) LinkUsers(ctx context.Context, links []store.UserLink) (map[string]uint32, error) {
	c.mu.Lock()
	c.links += len(links)
	c.mu.Unlock()
	return c.Store.LinkUsers(ctx, links)
}

func (c *linkCounter) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.links
	c.links = 0
	return n
}

// A product sends the same group and identify calls again and again: only
// those that tell the store something new are written, and a contact made
// since a user's identify is found at the next identify after a minute.
func TestUsageWritesOnlyLinksThatChange(t *testing.T) {
	e := newEnv(t)
	globex := account.Account{Name: "Globex", AnalyticsID: "grp_globex"}
	if err := e.st.CreateAccount(e.ctx, &globex, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	counter := &linkCounter{Store: e.st}
	u, err := engine.NewUsage(e.ctx, engine.UsageConfig{Store: counter, Workspace: e.ws, Now: e.clk.Now, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	identify := func(user, email, msg string) string {
		return fmt.Sprintf(`{"type": "identify", "userId": %q, "messageId": %q, "traits": {"email": %q}}`, user, msg, email)
	}
	groupAs := func(user, groupID, msg string) string {
		return fmt.Sprintf(`{"type": "group", "userId": %q, "groupId": %q, "messageId": %q}`, user, groupID, msg)
	}
	contactOf := func(key string) *int64 {
		t.Helper()
		var got *int64
		err := e.st.ListUsageUsers(e.ctx, func(us store.UsageUser) error {
			if us.Key == key {
				got = us.ContactID
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	e.send(u, groupAs("u1", "grp_acme", "g1"), identify("u1", "u1@acme.example", "i1"))
	if n := counter.take(); n != 2 {
		t.Errorf("first group and identify: %d links written, want 2", n)
	}
	e.send(u, groupAs("u1", "grp_acme", "g2"), identify("u1", "u1@acme.example", "i2"), identify("u1", " u1@acme.example ", "i3"))
	if n := counter.take(); n != 0 {
		t.Errorf("the same calls again: %d links written, want 0", n)
	}

	// A move to another account is written, and the email is matched
	// against the new account's contacts at once.
	ann := account.Contact{AccountID: globex.ID, Name: "Ann", Email: "U1@acme.example"}
	if err := e.st.CreateContact(e.ctx, &ann); err != nil {
		t.Fatal(err)
	}
	e.send(u, groupAs("u1", "grp_globex", "g3"), identify("u1", "u1@acme.example", "i4"))
	if n := counter.take(); n != 2 {
		t.Errorf("a move and an identify there: %d links written, want 2", n)
	}
	if c := contactOf("u1"); c == nil || *c != ann.ID {
		t.Errorf("u1's contact after the move = %v, want %d", c, ann.ID)
	}

	// A contact made after the identify: found once the minute is up.
	e.send(u, groupAs("u3", "grp_acme", "g4"), identify("u3", "bo@acme.example", "i5"))
	counter.take()
	bo := account.Contact{AccountID: e.acme.ID, Name: "Bo", Email: "bo@acme.example"}
	if err := e.st.CreateContact(e.ctx, &bo); err != nil {
		t.Fatal(err)
	}
	e.send(u, identify("u3", "bo@acme.example", "i6"))
	if n, c := counter.take(), contactOf("u3"); n != 0 || c != nil {
		t.Errorf("within the minute: %d links written, contact %v; want 0, none yet", n, c)
	}
	e.clk.mu.Lock()
	e.clk.t = e.clk.t.Add(2 * time.Minute)
	e.clk.mu.Unlock()
	e.send(u, identify("u3", "bo@acme.example", "i7"))
	if n, c := counter.take(), contactOf("u3"); n != 1 || c == nil || *c != bo.ID {
		t.Errorf("after the minute: %d links written, contact %v; want 1, %d", n, c, bo.ID)
	}
}

// Once saved, the days before yesterday keep only their counts in memory
// (issue 3: "Memory: resident size at 100,000 accounts, 10M users, a year
// of days: target ≤ 1 GB"): the metrics stay exact, a late event for such a
// day loads it back and counts once, and a restart loads the stored days
// as counts.
func TestUsageReleasesSavedDays(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	february(e, u)
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	mar2 := usage.DayOf(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), time.UTC)
	if u.Released(e.acme.ID, mar2) {
		t.Fatal("a day was released before a day change")
	}
	want := u.Metrics(e.acme.ID)
	e.clk.mu.Lock()
	e.clk.t = time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	e.clk.mu.Unlock()
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if !u.Released(e.acme.ID, mar2) || !u.Released(e.acme.ID, mar2-10) {
		t.Fatal("the saved days before yesterday were not released at the day change")
	}
	got := u.Metrics(e.acme.ID)
	// 11 March: u1 and u2 in the 30 days, the same 8 users last month, the
	// 28 days before now 11 Feb – 10 Mar (u1 and u2 on 14 days) as before.
	if got.Active30 != 2 || got.LastMonthMAU != want.LastMonthMAU || *got.UsageScore != *want.UsageScore {
		t.Fatalf("after releasing: %+v\nbefore: %+v", got, want)
	}
	// Late events for a released day: one already counted, one new.
	e.send(u, track("u1", "Search Performed", "2026-03-02T18:00:00Z"), group("u10", "grp_acme"), track("u10", "Search Performed", "2026-03-02T19:00:00Z"))
	if u.Released(e.acme.ID, mar2) {
		t.Fatal("the late event's day was not loaded back")
	}
	if got := u.Metrics(e.acme.ID); got.Active30 != 3 {
		t.Fatalf("active 30d after the late events = %d, want 3 (u1, u2, u10)", got.Active30)
	}
	dauOn := func(u *engine.Usage, d usage.Day) int {
		t.Helper()
		chart, err := u.Chart(e.ctx, e.acme.ID, 30, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range chart.DAU {
			if p.Day == d {
				return p.Users
			}
		}
		t.Fatalf("no chart point for %s", d)
		return 0
	}
	if n := dauOn(u, mar2); n != 3 {
		t.Errorf("DAU on 2 March = %d, want 3 (u1, u2, and u10 late)", n)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	again := e.engine(time.Hour)
	defer again.Close()
	if !again.Released(e.acme.ID, mar2-1) {
		t.Error("after a restart the stored days before yesterday are not held as counts")
	}
	if got := again.Metrics(e.acme.ID); got.Active30 != 3 || got.LastMonthMAU != want.LastMonthMAU {
		t.Errorf("after a restart: %+v", got)
	}
	if n := dauOn(again, mar2); n != 3 {
		t.Errorf("after a restart, DAU on 2 March = %d, want 3", n)
	}
}

// A feature's first uses are minimums: an older event arriving after a
// newer one moves the stored first use of the user (and of the account,
// when it is the earliest), so a restart finds the same as memory had.
// Issue 3: "per feature … the first time the account and each user used it".
func TestUsageSavesEarlierFeatureUses(t *testing.T) {
	e := newEnv(t)
	u := e.engine(time.Hour)
	e.send(u, group("u1", "grp_acme"), group("u2", "grp_acme"),
		track("u1", "Search Performed", "2026-03-05T10:00:00Z"),
		track("u2", "Search Performed", "2026-03-06T10:00:00Z"))
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	// Late: u2 searched on 4 March (earliest in the account), u1 on the
	// 5th an hour earlier than recorded.
	e.send(u, track("u2", "Search Performed", "2026-03-04T10:00:00Z"),
		track("u1", "Search Performed", "2026-03-05T09:00:00Z"))
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	u.Close()
	// ListFeatureUses holds only the account's rows; the startup load
	// reads the users' too.
	got := map[uint32]time.Time{}
	err := e.st.LoadFeatureUses(e.ctx, func(r store.FeatureUse) error {
		if r.AccountID == e.acme.ID && r.Feature == "Search Performed" {
			got[r.Ordinal] = r.At.UTC()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]time.Time{
		0: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), // the account's
		1: time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC),  // u1 (first seen)
		2: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), // u2
	}
	if len(got) != len(want) {
		t.Fatalf("stored first uses %v, want %v", got, want)
	}
	for ord, at := range want {
		if !got[ord].Equal(at) {
			t.Errorf("stored first use of ordinal %d = %v, want %v", ord, got[ord], at)
		}
	}
	again := e.engine(time.Hour)
	defer again.Close()
	ch, err := again.Chart(e.ctx, e.acme.ID, 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Features) != 1 || !ch.Features[0].FirstUsed.Equal(want[0]) || ch.Features[0].Users != 2 {
		t.Errorf("after a restart, features %+v, want Search Performed first used %v by 2 users", ch.Features, want[0])
	}
}

// A new day recomputes every account with usage; their traits are written
// some thousands at a time, and every account's arrive.
func TestUsageWritesEveryAccountsTraitsAtANewDay(t *testing.T) {
	e := newEnv(t)
	const n = 1_100 // six traits each: more than one store call's worth
	ids := make([]int64, n)
	calls := make([]string, 0, 2*n)
	for i := range n {
		a := account.Account{Name: fmt.Sprintf("Account %d", i), AnalyticsID: fmt.Sprintf("grp_%d", i), Seats: 4}
		if err := e.st.CreateAccount(e.ctx, &a, account.System("test", account.SourceManual)); err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
		user := fmt.Sprintf("user%d", i)
		calls = append(calls, group(user, a.AnalyticsID), track(user, "Search Performed", "2026-03-09T10:00:00Z"))
	}
	u := e.engine(time.Hour)
	defer u.Close()
	e.send(u, calls...)
	e.clk.t = e.clk.t.AddDate(0, 0, 1) // a new day: everyone is recomputed
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{ids[0], ids[n/2], ids[n-1]} {
		vals, err := e.st.ListTraits(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, v := range vals {
			got[v.Key] = v.Value
		}
		// One of four seats active in the trailing 30 days.
		if got["seat_utilization"] != 0.25 || got["active_users_30d"] != 1.0 || got["first_usage_ping"] != "2026-01-01" {
			t.Errorf("account %d traits %v, want seat utilization 0.25, 1 active user, first ping 2026-01-01 (the group call)", id, got)
		}
	}
}
