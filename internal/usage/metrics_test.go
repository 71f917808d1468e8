package usage

import (
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

// event is one (user, instant) pair; at is RFC 3339 with its offset, so a
// row says exactly which instant it means.
type event struct {
	user uint32
	at   string
}

// each returns one event per user per local day from first through last
// (2026-02-10), at the given local clock time.
func each(loc *time.Location, first, last, clock string, users ...uint32) []event {
	from := mustTime(first+"T"+clock, loc)
	to := mustTime(last+"T"+clock, loc)
	var out []event
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		for _, u := range users {
			out = append(out, event{u, d.Format(time.RFC3339)})
		}
	}
	return out
}

// on returns one event per user at one instant.
func on(at string, users ...uint32) []event {
	out := make([]event, len(users))
	for i, u := range users {
		out[i] = event{u, at}
	}
	return out
}

func users(from, to uint32) []uint32 {
	var out []uint32
	for u := from; u <= to; u++ {
		out = append(out, u)
	}
	return out
}

func mustTime(s string, loc *time.Location) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func build(loc *time.Location, groups ...[]event) *Account {
	a := NewAccount(loc)
	for _, g := range groups {
		for _, e := range g {
			a.Add(e.user, mustTime(e.at, loc))
		}
	}
	return a
}

func f(v float64) *float64 { return &v }

// utilization is the part of Metrics the handbook rows speak about.
type utilization struct {
	DAU, Active7, Active30, MonthToDate int
	LastMonth                           string
	LastMonthMAU                        int
	AvgDAU28                            float64
	UsageScore                          *float64
	LastMonthMAUOverSeats               *float64
	SeatUtilization                     *float64
}

func show(v *float64) string {
	if v == nil {
		return "undefined"
	}
	return fmt.Sprint(*v)
}

func (u utilization) String() string {
	p := show
	return fmt.Sprintf("DAU %d, 7d %d, 30d %d, MTD %d, last month %s MAU %d, avg DAU %v, usage score %s, MAU/seats %s, seat utilization %s",
		u.DAU, u.Active7, u.Active30, u.MonthToDate, u.LastMonth, u.LastMonthMAU, u.AvgDAU28,
		p(u.UsageScore), p(u.LastMonthMAUOverSeats), p(u.SeatUtilization))
}

func utilizationOf(m Metrics) utilization {
	return utilization{m.DAU, m.Active7, m.Active30, m.MonthToDate, m.LastMonth.String(), m.LastMonthMAU,
		m.AvgDAU28, m.UsageScore, m.LastMonthMAUOverSeats, m.SeatUtilization}
}

func TestComputeHandbook(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	la := mustZone(t, "America/Los_Angeles")

	tests := []struct {
		name   string
		loc    *time.Location
		events [][]event
		seats  int
		now    string
		want   utilization
	}{
		{
			name: "004 Usage Score (Last 4 Wk DAU / Last Month MAU): 30% or higher (.3) is considered healthy — 3 daily users of February's 10",
			loc:  berlin,
			events: [][]event{
				on("2026-02-02T10:00:00+01:00", users(0, 9)...),
				each(berlin, "2026-02-10", "2026-03-09", "10:00", 0, 1, 2),
			},
			seats: 12, now: "2026-03-10T12:00:00+01:00",
			want: utilization{DAU: 0, Active7: 3, Active30: 3, MonthToDate: 3, LastMonth: "2026-02", LastMonthMAU: 10,
				AvgDAU28: 3, UsageScore: f(0.3), LastMonthMAUOverSeats: f(10.0 / 12), SeatUtilization: f(3.0 / 12)},
		},
		{
			name: "004 Usage Score: 20% or less is considered poor (.2) — 2 daily users of 10",
			loc:  berlin,
			events: [][]event{
				on("2026-02-02T10:00:00+01:00", users(0, 9)...),
				each(berlin, "2026-02-10", "2026-03-09", "10:00", 0, 1),
			},
			seats: 10, now: "2026-03-10T12:00:00+01:00",
			want: utilization{Active7: 2, Active30: 2, MonthToDate: 2, LastMonth: "2026-02", LastMonthMAU: 10,
				AvgDAU28: 2, UsageScore: f(0.2), LastMonthMAUOverSeats: f(1), SeatUtilization: f(0.2)},
		},
		{
			name: "004 Last Month Mau Over Seats: 80% is considered healthy (.8) — February MAU 80 of 100 seats",
			loc:  berlin,
			events: [][]event{
				on("2026-02-03T09:00:00+01:00", users(0, 79)...),
			},
			seats: 100, now: "2026-03-10T12:00:00+01:00",
			want: utilization{LastMonth: "2026-02", LastMonthMAU: 80,
				UsageScore: f(0), LastMonthMAUOverSeats: f(0.8), SeatUtilization: f(0)},
		},
		{
			name: "004 Last Month Mau Over Seats: less than 50% (.5) is considered poor — 49 of 100",
			loc:  berlin,
			events: [][]event{
				on("2026-02-27T09:00:00+01:00", users(0, 48)...),
			},
			seats: 100, now: "2026-03-10T12:00:00+01:00",
			want: utilization{Active30: 49, LastMonth: "2026-02", LastMonthMAU: 49,
				AvgDAU28: 49.0 / 28, UsageScore: f(1.0 / 28), LastMonthMAUOverSeats: f(0.49), SeatUtilization: f(0.49)},
		},
		{
			name: "a user active on many days is counted once in MAU: one user every day of February plus one user once",
			loc:  la,
			events: [][]event{
				each(la, "2026-02-01", "2026-02-28", "09:30", 7),
				on("2026-02-14T09:30:00-08:00", 8),
			},
			seats: 4, now: "2026-03-01T08:00:00-08:00",
			// Window Feb 1 … Feb 28: user 7 on 28 days, user 8 on one.
			want: utilization{Active7: 1, Active30: 2, LastMonth: "2026-02", LastMonthMAU: 2,
				AvgDAU28: 29.0 / 28, UsageScore: f(29.0 / 56), LastMonthMAUOverSeats: f(0.5), SeatUtilization: f(0.5)},
		},
		{
			name: "seats = 0: MAU over seats and seat utilization are undefined, not +Inf; the usage score still stands",
			loc:  berlin,
			events: [][]event{
				each(berlin, "2026-02-10", "2026-03-09", "10:00", 0, 1, 2),
			},
			seats: 0, now: "2026-03-10T12:00:00+01:00",
			want: utilization{Active7: 3, Active30: 3, MonthToDate: 3, LastMonth: "2026-02", LastMonthMAU: 3,
				AvgDAU28: 3, UsageScore: f(1)},
		},
		{
			name: "negative seats (bad data) are as undefined as none",
			loc:  berlin,
			events: [][]event{
				on("2026-02-03T09:00:00+01:00", 1),
			},
			seats: -5, now: "2026-03-10T12:00:00+01:00",
			want: utilization{LastMonth: "2026-02", LastMonthMAU: 1, UsageScore: f(0)},
		},
		{
			name: "an empty last month: MAU 0 makes the usage score undefined, and MAU over seats a defined 0",
			loc:  berlin,
			events: [][]event{
				on("2026-01-20T09:00:00+01:00", 1, 2),
				on("2026-03-02T09:00:00+01:00", 3),
			},
			seats: 10, now: "2026-03-10T12:00:00+01:00",
			want: utilization{Active30: 1, MonthToDate: 1, LastMonth: "2026-02",
				AvgDAU28: 1.0 / 28, LastMonthMAUOverSeats: f(0), SeatUtilization: f(0.1)},
		},
		{
			name:  "an account that never pinged: every count 0, usage score undefined",
			loc:   berlin,
			seats: 25, now: "2026-03-10T12:00:00+01:00",
			want: utilization{LastMonth: "2026-02", LastMonthMAUOverSeats: f(0), SeatUtilization: f(0)},
		},
		{
			name: "Jan 31 → Feb 1 in the local zone: 23:59 on the 31st is January's, 00:00 on the 1st is February's",
			loc:  berlin,
			events: [][]event{
				on("2026-01-31T23:59:00+01:00", 1),
				on("2026-02-01T00:00:00+01:00", 2),
			},
			seats: 10, now: "2026-02-01T09:00:00+01:00",
			want: utilization{DAU: 1, Active7: 2, Active30: 2, MonthToDate: 1, LastMonth: "2026-01", LastMonthMAU: 1,
				AvgDAU28: 1.0 / 28, UsageScore: f(1.0 / 28), LastMonthMAUOverSeats: f(0.1), SeatUtilization: f(0.2)},
		},
		{
			name: "an event at 23:30 UTC on Jan 31 is on Feb 1 in Europe/Berlin: a February user",
			loc:  berlin,
			events: [][]event{
				on("2026-01-31T23:30:00Z", 1),
			},
			seats: 10, now: "2026-02-01T12:00:00Z",
			want: utilization{DAU: 1, Active7: 1, Active30: 1, MonthToDate: 1, LastMonth: "2026-01",
				LastMonthMAUOverSeats: f(0), SeatUtilization: f(0.1)},
		},
		{
			name: "the same event is on Jan 31 in America/Los_Angeles: a January user, and in the last 4 weeks",
			loc:  la,
			events: [][]event{
				on("2026-01-31T23:30:00Z", 1),
			},
			seats: 10, now: "2026-02-01T12:00:00Z",
			want: utilization{Active7: 1, Active30: 1, LastMonth: "2026-01", LastMonthMAU: 1,
				AvgDAU28: 1.0 / 28, UsageScore: f(1.0 / 28), LastMonthMAUOverSeats: f(0.1), SeatUtilization: f(0.1)},
		},
		{
			name: "DST spring forward (Berlin 2026-03-29 has 23 hours): 00:30 CET and 23:30 CEST are one day",
			loc:  berlin,
			events: [][]event{
				on("2026-03-29T00:30:00+01:00", 1),
				on("2026-03-29T23:30:00+02:00", 2),
				// Monday 00:30, the first day of the 7-day window ending Sunday.
				on("2026-03-23T00:30:00+01:00", 3),
				// Sunday 23:30, one week earlier: outside it.
				on("2026-03-22T23:30:00+01:00", 4),
			},
			seats: 10, now: "2026-03-29T23:45:00+02:00",
			want: utilization{DAU: 2, Active7: 3, Active30: 4, MonthToDate: 4, LastMonth: "2026-02",
				AvgDAU28: 2.0 / 28, LastMonthMAUOverSeats: f(0), SeatUtilization: f(0.4)},
		},
		{
			name: "DST fall back (Berlin 2026-10-25 has 25 hours): both 02:30s and 23:30 CET are one day",
			loc:  berlin,
			events: [][]event{
				on("2026-10-25T00:30:00+02:00", 1),
				on("2026-10-25T02:30:00+02:00", 2),
				on("2026-10-25T02:30:00+01:00", 3),
				on("2026-10-25T23:30:00+01:00", 4),
				on("2026-10-26T00:00:00+01:00", 5),
			},
			seats: 8, now: "2026-10-25T23:59:00+01:00",
			want: utilization{DAU: 4, Active7: 4, Active30: 4, MonthToDate: 4, LastMonth: "2026-09",
				LastMonthMAUOverSeats: f(0), SeatUtilization: f(0.5)},
		},
		{
			name: "DST in Los Angeles (2026-03-08 has 23 hours): the 28-day window counts calendar days, not 24-hour blocks",
			loc:  la,
			events: [][]event{
				// today−28 … today−1 for today = 2026-03-20 is Feb 20 … Mar 19.
				on("2026-02-20T00:10:00-08:00", 1),
				on("2026-02-19T23:50:00-08:00", 2),
				on("2026-03-19T23:50:00-07:00", 3),
			},
			seats: 3, now: "2026-03-20T00:05:00-07:00",
			want: utilization{Active7: 1, Active30: 3, MonthToDate: 1, LastMonth: "2026-02", LastMonthMAU: 2,
				AvgDAU28: 2.0 / 28, UsageScore: f(2.0 / 56), LastMonthMAUOverSeats: f(2.0 / 3), SeatUtilization: f(1)},
		},
		{
			name: "leap year: February 2028 has 29 days, and on March 1 the 4 weeks are Feb 2 … Feb 29",
			loc:  time.UTC,
			events: [][]event{
				on("2028-02-01T10:00:00Z", 1),
				on("2028-02-29T10:00:00Z", 2),
			},
			seats: 2, now: "2028-03-01T10:00:00Z",
			want: utilization{Active7: 1, Active30: 2, LastMonth: "2028-02", LastMonthMAU: 2,
				AvgDAU28: 1.0 / 28, UsageScore: f(1.0 / 56), LastMonthMAUOverSeats: f(1), SeatUtilization: f(1)},
		},
		{
			name: "not a leap year: on 2026-03-01 the 4 weeks are exactly February, Feb 1 … Feb 28",
			loc:  time.UTC,
			events: [][]event{
				on("2026-02-01T10:00:00Z", 1),
				on("2026-02-28T10:00:00Z", 2),
			},
			seats: 2, now: "2026-03-01T10:00:00Z",
			want: utilization{Active7: 1, Active30: 2, LastMonth: "2026-02", LastMonthMAU: 2,
				AvgDAU28: 2.0 / 28, UsageScore: f(2.0 / 56), LastMonthMAUOverSeats: f(1), SeatUtilization: f(1)},
		},
		{
			name: "in January the last complete month is December of the year before",
			loc:  berlin,
			events: [][]event{
				on("2026-12-31T22:00:00+01:00", 1, 2),
				on("2027-01-04T09:00:00+01:00", 1),
			},
			seats: 4, now: "2027-01-05T09:00:00+01:00",
			want: utilization{Active7: 2, Active30: 2, MonthToDate: 1, LastMonth: "2026-12", LastMonthMAU: 2,
				AvgDAU28: 3.0 / 28, UsageScore: f(3.0 / 56), LastMonthMAUOverSeats: f(0.5), SeatUtilization: f(0.5)},
		},
		{
			name: "seat alerts: 9 users active in the last 30 days on 10 seats is 90% seat utilization",
			loc:  berlin,
			events: [][]event{
				on("2026-05-05T09:00:00+02:00", users(1, 9)...),
				on("2026-04-11T09:00:00+02:00", 10), // today−30: outside the 30 days
			},
			seats: 10, now: "2026-05-11T09:00:00+02:00",
			want: utilization{Active7: 9, Active30: 9, MonthToDate: 9, LastMonth: "2026-04", LastMonthMAU: 1,
				AvgDAU28: 9.0 / 28, UsageScore: f(9.0 / 28), LastMonthMAUOverSeats: f(0.1), SeatUtilization: f(0.9)},
		},
		{
			name: "seat alerts: 10 of 10 seats active in the last 30 days is 100%",
			loc:  berlin,
			events: [][]event{
				on("2026-04-12T09:00:00+02:00", users(1, 10)...), // today−29: inside
			},
			seats: 10, now: "2026-05-11T09:00:00+02:00",
			want: utilization{Active30: 10, LastMonth: "2026-04", LastMonthMAU: 10,
				UsageScore: f(0), LastMonthMAUOverSeats: f(1), SeatUtilization: f(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := build(tt.loc, tt.events...)
			now := mustTime(tt.now, tt.loc)
			for _, compact := range []bool{false, true} {
				if compact {
					// Sealing every complete day must not change a number.
					if err := a.Compact(a.DayOf(now)); err != nil {
						t.Fatal(err)
					}
				}
				got := utilizationOf(Compute(a, tt.seats, now))
				if !sameUtilization(got, tt.want) {
					t.Errorf("compacted=%v\n got %v\nwant %v", compact, got, tt.want)
				}
			}
		})
	}
}

func sameUtilization(x, y utilization) bool {
	same := func(p, q *float64) bool {
		return (p == nil) == (q == nil) && (p == nil || *p == *q)
	}
	return x.DAU == y.DAU && x.Active7 == y.Active7 && x.Active30 == y.Active30 &&
		x.MonthToDate == y.MonthToDate && x.LastMonth == y.LastMonth && x.LastMonthMAU == y.LastMonthMAU &&
		x.AvgDAU28 == y.AvgDAU28 && same(x.UsageScore, y.UsageScore) &&
		same(x.LastMonthMAUOverSeats, y.LastMonthMAUOverSeats) && same(x.SeatUtilization, y.SeatUtilization)
}

// TestUsageScoreIsCorrectlyRounded guards the one-division rule: the score
// is the float64 nearest the exact ratio of user-days to 28 × MAU, so the
// handbook's boundary values (0.3, 0.2) land exactly on 0.3 and 0.2, and no
// score is one ulp off the way (sum/28)/MAU is for, say, 5 user-days over an
// MAU of 3.
func TestUsageScoreIsCorrectlyRounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.March, 31, 12, 0, 0, 0, time.UTC)
	feb := time.Date(2026, time.February, 10, 0, 0, 0, 0, time.UTC)
	for mau := 1; mau <= 12; mau++ {
		a := NewAccount(time.UTC)
		for u := range mau {
			a.Add(uint32(u), feb)
		}
		for sum := 1; sum <= UsageScoreDays*mau; sum++ {
			// One more user-day in the window Mar 3 … Mar 30.
			i := sum - 1
			a.Add(uint32(i/UsageScoreDays), now.AddDate(0, 0, -1-i%UsageScoreDays))
			m := Compute(a, 1, now)
			want, _ := big.NewRat(int64(sum), int64(UsageScoreDays*mau)).Float64()
			if m.UsageScore == nil || *m.UsageScore != want {
				t.Fatalf("%d user-days over 28 days, last month MAU %d: usage score %s, want %v", sum, mau, show(m.UsageScore), want)
			}
		}
	}
	for _, boundary := range []struct {
		sum, mau int
		want     float64
	}{
		{84, 10, 0.3}, {42, 5, 0.3}, {168, 30, 0.2}, {336, 40, 0.3},
	} {
		got := *ratio(boundary.sum, UsageScoreDays*boundary.mau)
		if got != boundary.want {
			t.Errorf("%d user-days / (28 × %d) = %v, want exactly %v", boundary.sum, boundary.mau, got, boundary.want)
		}
	}
}

func TestComputeFirstPingAndJSON(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	a := NewAccount(berlin)
	now := time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)
	m := Compute(a, 10, now)
	if m.FirstPing != nil {
		t.Fatalf("FirstPing = %v before any event", m.FirstPing)
	}
	a.Add(3, time.Date(2026, time.March, 9, 8, 0, 0, 0, time.UTC))
	a.Add(4, time.Date(2026, time.March, 1, 8, 0, 0, 0, time.UTC)) // late, earlier event
	m = Compute(a, 0, now)
	if want := time.Date(2026, time.March, 1, 8, 0, 0, 0, time.UTC); m.FirstPing == nil || !m.FirstPing.Equal(want) {
		t.Fatalf("FirstPing = %v, want %v", m.FirstPing, want)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"today": "2026-03-10", "last_month": "2026-02", "month": "2026-03",
		"usage_score": nil, "last_month_mau_over_seats": nil, "seat_utilization": nil,
		"month_to_date_mau": 2.0,
	} {
		if back[key] != want {
			t.Errorf("JSON %s = %v, want %v (in %s)", key, back[key], want, b)
		}
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	loc := mustZone(t, "America/Los_Angeles")
	a := build(loc,
		each(loc, "2025-11-01", "2026-03-10", "12:00", 1),
		on("2026-01-15T12:00:00-08:00", 2, 3),
		on("2026-03-10T12:00:00-07:00", 4),
		on("2026-03-11T12:00:00-07:00", 5), // tomorrow: not in any series
	)
	now := mustTime("2026-03-10T18:00:00-07:00", loc)

	days := a.DAUSeries(now, 90)
	if len(days) != 90 {
		t.Fatalf("DAUSeries(90) has %d points", len(days))
	}
	if first, last := days[0], days[89]; first.Day.String() != "2025-12-11" || last.Day.String() != "2026-03-10" ||
		!last.Partial || first.Partial || last.Users != 2 {
		t.Fatalf("DAU series runs %+v … %+v, want 2025-12-11 … 2026-03-10 (partial, 2 users)", first, last)
	}
	for _, p := range days {
		want := 1
		switch p.Day.String() {
		case "2026-01-15":
			want = 3
		case "2026-03-10":
			want = 2
		}
		if p.Users != want {
			t.Errorf("DAU %s = %d, want %d", p.Day, p.Users, want)
		}
	}

	months := a.MAUSeries(now, 12)
	want := []struct {
		month   string
		users   int
		partial bool
	}{
		{"2025-04", 0, false}, {"2025-05", 0, false}, {"2025-06", 0, false}, {"2025-07", 0, false},
		{"2025-08", 0, false}, {"2025-09", 0, false}, {"2025-10", 0, false}, {"2025-11", 1, false},
		{"2025-12", 1, false}, {"2026-01", 3, false}, {"2026-02", 1, false}, {"2026-03", 2, true},
	}
	if len(months) != len(want) {
		t.Fatalf("MAUSeries(12) has %d points", len(months))
	}
	for i, w := range want {
		if g := months[i]; g.Month.String() != w.month || g.Users != w.users || g.Partial != w.partial {
			t.Errorf("MAU point %d = %+v (%s), want %+v", i, g, g.Month, w)
		}
	}
	if a.DAUSeries(now, 0) != nil || a.MAUSeries(now, -1) != nil {
		t.Error("a series of no points is not nil")
	}
	if n := len(a.DAUSeries(now, 1<<30)); n != MaxSeries {
		t.Errorf("DAUSeries(1<<30) has %d points, want the cap %d", n, MaxSeries)
	}
}

// Compute keeps last month's MAU between calls; every change to the days
// — a late event, a merged or loaded day, forgetting old days — must show.
func TestLastMonthMAUFollowsLateChanges(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 14, 9, 0, 0, 0, time.UTC)
	a := NewAccount(time.UTC)
	a.Add(1, feb)
	if got := Compute(a, 10, now).LastMonthMAU; got != 1 {
		t.Fatalf("MAU = %d, want 1", got)
	}
	a.Add(2, feb) // a late event for a complete month
	if got := Compute(a, 10, now).LastMonthMAU; got != 2 {
		t.Errorf("after a late event MAU = %d, want 2", got)
	}
	b := NewAccount(time.UTC)
	b.Add(3, feb)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if got := Compute(a, 10, now).LastMonthMAU; got != 3 {
		t.Errorf("after a merge MAU = %d, want 3", got)
	}
	blob, _ := b.MarshalDay(DayOf(feb, time.UTC))
	c := NewAccount(time.UTC)
	Compute(c, 10, now)
	if err := c.UnmarshalDay(DayOf(feb, time.UTC), blob); err != nil {
		t.Fatal(err)
	}
	if got := Compute(c, 10, now).LastMonthMAU; got != 1 {
		t.Errorf("after loading a day MAU = %d, want 1", got)
	}
	a.Forget(DayOf(now, time.UTC))
	if got := Compute(a, 10, now).LastMonthMAU; got != 0 {
		t.Errorf("after forgetting February MAU = %d, want 0", got)
	}
}
