package segmentapi_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/usage"
)

// clientLog fails the test on any error the Segment library logs (a non-2xx
// answer, a dropped message) and counts what it reports through Callback.
type clientLog struct {
	t         *testing.T
	mu        sync.Mutex
	succeeded int
	failed    int
}

func (l *clientLog) Logf(format string, args ...any) { l.t.Logf("analytics-go: "+format, args...) }
func (l *clientLog) Errorf(format string, args ...any) {
	l.t.Errorf("analytics-go error: "+format, args...)
}
func (l *clientLog) Success(analytics.Message) { l.mu.Lock(); l.succeeded++; l.mu.Unlock() }
func (l *clientLog) Failure(m analytics.Message, err error) {
	l.mu.Lock()
	l.failed++
	l.mu.Unlock()
	l.t.Errorf("analytics-go: message failed: %v: %#v", err, m)
}

// segmentClient returns the official Go library pointed at the fixture.
func (f *fixture) segmentClient(log *clientLog, batchSize int) analytics.Client {
	f.t.Helper()
	c, err := analytics.NewWithConfig(f.key, analytics.Config{
		Endpoint:  f.srv.URL,
		BatchSize: batchSize,
		Interval:  50 * time.Millisecond,
		Logger:    log,
		Callback:  log,
		// A failure is a test failure: no waiting through retries.
		RetryAfter: func(int) time.Duration { return time.Millisecond },
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestOfficialGoClient sends identify, group, track and page calls with the
// official analytics-go v3.3.0 library and checks every account's metrics
// and computed traits against values worked out by hand from the handbook's
// definitions (usage package doc, 003/004).
//
// Today is Wednesday 12 March 2025, UTC (the default workspace's zone).
// Last month is February (28 days). The usage score's 4 weeks are the 28
// complete days 12 February … 11 March; the 30-day window is 11 February …
// 12 March; the 7-day window 6 … 12 March. Every call counts as activity on
// its day, identify and group included, so each user's identify or group is
// sent on the day of their first track.
//
// Acme (analytics id grp-acme, 10 seats), linked by group calls (u1, u2,
// u3) and by an identify's traits.company.id (u4):
//
//	u1: 3 Feb, 20 Feb, 1 Mar, 12 Mar     u2: 20 Feb, 5 Mar (track and page)
//	u3: 15 Jan, 11 Mar                   u4: 10 Feb
//
//	February MAU = {u1, u2, u4} = 3; MAU/seats = 3/10 = 0.3
//	4-week DAU: 20 Feb 2 (u1, u2), 1 Mar 1, 5 Mar 1, 11 Mar 1 → 5;
//	usage score = 5 / (28 × 3) = 0.0595 (4 places)
//	30-day actives = {u1, u2, u3} = 3 (u4's 10 Feb is outside); seat
//	utilization 0.3; 7-day {u1, u3} = 2; today {u1} = 1; March so far 3
//	first ping: u3's group call on 15 January
//
// Globex (CRM external id crm-globex, no seats), linked by group calls
// naming its external id:
//
//	g1: 25 Feb, 12 Mar      g2: 2 Mar
//	February MAU 1; 4-week DAU 25 Feb 1, 2 Mar 1 → 2; score 2/28 = 0.0714;
//	no seats: MAU/seats and seat utilization undefined
//
// Initech (grp-initech, 4 seats), no group calls: every track carries
// context.groupId.
//
//	i1: 14, 15, 16 Feb, 10 Mar       i2: 14 Feb, 12 Mar
//	February MAU 2; MAU/seats 0.5; 4-week DAU 14 Feb 2, 15 Feb 1, 16 Feb 1,
//	10 Mar 1 → 5; score 5/(28 × 2) = 0.0893; 30-day actives 2; seat
//	utilization 0.5; today 1
//
// A user never linked to an account (x1) is stored but counted nowhere.
func TestOfficialGoClient(t *testing.T) { testOfficialGoClient(t, false) }

// TestOfficialGoClientPostgres is the same on PostgreSQL, where the
// engine's prepared requests take the store's one round trip
// (appendPrepared).
func TestOfficialGoClientPostgres(t *testing.T) { testOfficialGoClient(t, true) }

func testOfficialGoClient(t *testing.T, postgres bool) {
	today := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	f := newFixture(t, options{
		postgres: postgres,
		now:      func() time.Time { return today },
		accounts: []account.Account{
			{Name: "Acme", AnalyticsID: "grp-acme", Seats: 10},
			{Name: "Globex", ExternalID: "crm-globex"},
			{Name: "Initech", AnalyticsID: "grp-initech", Seats: 4},
		},
	})
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 12, 0, 0, 0, time.UTC) }
	log := &clientLog{t: t}

	// First who belongs where: the links a later track relies on. Closing
	// the client sends everything and waits for the answers.
	links := f.segmentClient(log, 3)
	enqueue := func(c analytics.Client, m analytics.Message) {
		t.Helper()
		if err := c.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []struct {
		user, group string
		at          time.Time
	}{
		{"u1", "grp-acme", day(2, 3)}, {"u2", "grp-acme", day(2, 20)}, {"u3", "grp-acme", day(1, 15).Add(-time.Minute)},
		{"g1", "crm-globex", day(2, 25)}, {"g2", "crm-globex", day(3, 2)},
	} {
		enqueue(links, analytics.Group{UserId: g.user, GroupId: g.group, Timestamp: g.at,
			Traits: analytics.NewTraits().SetName("ignored by usage")})
	}
	enqueue(links, analytics.Identify{UserId: "u4", Timestamp: day(2, 10),
		Traits: analytics.NewTraits().SetEmail("u4@acme.example").Set("company", map[string]any{"id": "grp-acme", "name": "Acme"})})
	if err := links.Close(); err != nil {
		t.Fatal(err)
	}

	// Then the usage, in several batches.
	c := f.segmentClient(log, 4)
	track := func(user string, at time.Time, groupID string) {
		m := analytics.Track{UserId: user, Event: "Search Performed", Timestamp: at,
			Properties: analytics.NewProperties().Set("query", "repo:acme/api")}
		if groupID != "" {
			m.Context = &analytics.Context{GroupID: groupID}
		}
		enqueue(c, m)
	}
	for _, d := range []time.Time{day(2, 3), day(2, 20), day(3, 1), day(3, 12)} {
		track("u1", d, "")
	}
	track("u2", day(2, 20), "")
	track("u2", day(3, 5), "")
	enqueue(c, analytics.Page{UserId: "u2", Name: "Search", Timestamp: day(3, 5).Add(time.Hour)})
	track("u3", day(1, 15), "")
	track("u3", day(3, 11), "")
	track("u4", day(2, 10), "")
	track("g1", day(2, 25), "")
	track("g1", day(3, 12), "")
	track("g2", day(3, 2), "")
	for _, d := range []time.Time{day(2, 14), day(2, 15), day(2, 16), day(3, 10)} {
		track("i1", d, "grp-initech")
	}
	track("i2", day(2, 14), "grp-initech")
	track("i2", day(3, 12), "grp-initech")
	track("x1", day(3, 12), "")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	const sent = 6 + 20
	if log.succeeded != sent || log.failed != 0 {
		t.Fatalf("the library reports %d messages sent and %d failed; want %d and 0", log.succeeded, log.failed, sent)
	}

	// Live metrics: every 2xx was applied before it was answered.
	score := func(sum, mau int) *float64 { v := float64(sum) / float64(28*mau); return &v }
	ratio := func(v float64) *float64 { return &v }
	want := map[string]usage.Metrics{
		"Acme": {DAU: 1, Active7: 2, Active30: 3, MonthToDate: 3, LastMonthMAU: 3, Seats: 10,
			AvgDAU28: 5.0 / 28, UsageScore: score(5, 3), LastMonthMAUOverSeats: ratio(0.3), SeatUtilization: ratio(0.3)},
		"Globex": {DAU: 1, Active7: 1, Active30: 2, MonthToDate: 2, LastMonthMAU: 1, Seats: 0,
			AvgDAU28: 2.0 / 28, UsageScore: score(2, 1)},
		"Initech": {DAU: 1, Active7: 2, Active30: 2, MonthToDate: 2, LastMonthMAU: 2, Seats: 4,
			AvgDAU28: 5.0 / 28, UsageScore: score(5, 2), LastMonthMAUOverSeats: ratio(0.5), SeatUtilization: ratio(0.5)},
	}
	firstPing := map[string]time.Time{"Acme": day(1, 15).Add(-time.Minute), "Globex": day(2, 25), "Initech": day(2, 14)}
	for name, w := range want {
		got := f.eng.Metrics(f.accounts[name])
		if d := diffMetrics(got, w); d != "" {
			t.Errorf("%s: metrics %s", name, d)
		}
		// Clock-skew correction moves each time by the request's transit
		// (receivedAt − sentAt): milliseconds here.
		if got.FirstPing == nil || got.FirstPing.Sub(firstPing[name]).Abs() > time.Second {
			t.Errorf("%s: first ping %v, want %v", name, got.FirstPing, firstPing[name])
		}
	}

	// Computed traits, written by the flush.
	if err := f.eng.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	wantTraits := map[string]map[string]any{
		"Acme": {"usage_score": 0.0595, "last_month_mau_over_seats": 0.3, "seat_utilization": 0.3,
			"last_month_mau": 3.0, "active_users_30d": 3.0, "first_usage_ping": "2025-01-15"},
		"Globex": {"usage_score": 0.0714, "last_month_mau_over_seats": nil, "seat_utilization": nil,
			"last_month_mau": 1.0, "active_users_30d": 2.0, "first_usage_ping": "2025-02-25"},
		"Initech": {"usage_score": 0.0893, "last_month_mau_over_seats": 0.5, "seat_utilization": 0.5,
			"last_month_mau": 2.0, "active_users_30d": 2.0, "first_usage_ping": "2025-02-14"},
	}
	for name, w := range wantTraits {
		got := f.traits(f.accounts[name])
		for k, v := range w {
			if g := got[k]; fmt.Sprint(g) != fmt.Sprint(v) {
				t.Errorf("%s: trait %s = %v, want %v", name, k, g, v)
			}
		}
	}

	// x1's event is stored, attributed to no account.
	evs, err := f.st.RecentEvents(f.ctx, f.source.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != sent {
		t.Errorf("%d events stored, want %d", len(evs), sent)
	}
	for _, e := range evs {
		if e.UserKey == "x1" && e.AccountID != nil {
			t.Errorf("x1's event is attributed to account %d", *e.AccountID)
		}
	}
}

// diffMetrics compares the counts and ratios of two Metrics, ratios to
// 1e-12; "" when they agree.
func diffMetrics(got, want usage.Metrics) string {
	var out string
	ints := []struct {
		name      string
		got, want int
	}{
		{"DAU", got.DAU, want.DAU}, {"Active7", got.Active7, want.Active7}, {"Active30", got.Active30, want.Active30},
		{"MonthToDate", got.MonthToDate, want.MonthToDate}, {"LastMonthMAU", got.LastMonthMAU, want.LastMonthMAU},
		{"Seats", got.Seats, want.Seats},
	}
	for _, c := range ints {
		if c.got != c.want {
			out += fmt.Sprintf("%s = %d, want %d; ", c.name, c.got, c.want)
		}
	}
	floats := []struct {
		name      string
		got, want *float64
	}{
		{"AvgDAU28", &got.AvgDAU28, &want.AvgDAU28}, {"UsageScore", got.UsageScore, want.UsageScore},
		{"LastMonthMAUOverSeats", got.LastMonthMAUOverSeats, want.LastMonthMAUOverSeats},
		{"SeatUtilization", got.SeatUtilization, want.SeatUtilization},
	}
	for _, c := range floats {
		switch {
		case (c.got == nil) != (c.want == nil):
			out += fmt.Sprintf("%s = %v, want %v; ", c.name, deref(c.got), deref(c.want))
		case c.got != nil && math.Abs(*c.got-*c.want) > 1e-12:
			out += fmt.Sprintf("%s = %v, want %v; ", c.name, *c.got, *c.want)
		}
	}
	return out
}

func deref(p *float64) any {
	if p == nil {
		return "undefined"
	}
	return *p
}
