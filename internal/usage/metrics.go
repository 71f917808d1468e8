package usage

import (
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// The windows of the handbook's utilization metrics, in local calendar days.
const (
	// UsageScoreDays is the "last 4 wk" of the usage score: 28 complete
	// days, whole weeks, so each weekday (and each weekend) weighs the same.
	UsageScoreDays = 28
	// ShortWindow and LongWindow are the trailing active-user windows;
	// LongWindow is the seat-utilization window.
	ShortWindow = 7
	LongWindow  = 30
)

// Metrics are an account's utilization numbers at one instant, as defined in
// the package documentation. A ratio that is undefined (no seats, an empty
// last month) is nil rather than zero, infinity or NaN, so that health
// scoring leaves it out instead of scoring it poor.
type Metrics struct {
	// AsOf is the instant computed for; Today is its local day.
	AsOf  time.Time `json:"as_of"`
	Today Day       `json:"today"`
	// DAU is the number of distinct users active today so far.
	DAU int `json:"dau"`
	// Active7 and Active30 count distinct users active on any of the 7 or 30
	// local days ending with today, today included.
	Active7  int `json:"active_7d"`
	Active30 int `json:"active_30d"`
	// MonthToDate counts distinct users active this calendar month so far.
	Month       Month `json:"month"`
	MonthToDate int   `json:"month_to_date_mau"`
	// LastMonth is the last complete calendar month; LastMonthMAU its MAU.
	LastMonth    Month `json:"last_month"`
	LastMonthMAU int   `json:"last_month_mau"`
	// AvgDAU28 is the mean DAU over the UsageScoreDays complete days before
	// today, days without activity counting as zero.
	AvgDAU28 float64 `json:"avg_dau_28d"`
	// Seats is the licensed seat count the ratios used.
	Seats int `json:"seats"`
	// UsageScore is AvgDAU28 / LastMonthMAU, nil when LastMonthMAU is 0
	// (004: healthy at 0.3 or higher, poor at 0.2 or less).
	UsageScore *float64 `json:"usage_score"`
	// LastMonthMAUOverSeats is LastMonthMAU / Seats, nil when Seats ≤ 0
	// (004: healthy at 0.8, poor below 0.5).
	LastMonthMAUOverSeats *float64 `json:"last_month_mau_over_seats"`
	// SeatUtilization is Active30 / Seats, nil when Seats ≤ 0: the live
	// measure behind the AE's seat alerts at 90% and 100%.
	SeatUtilization *float64 `json:"seat_utilization"`
	// FirstPing is the account's earliest event, nil before the first.
	FirstPing *time.Time `json:"first_ping"`
}

// Compute returns the account's metrics at now, given its licensed seats.
// Days and months are the account's local ones (NewAccount's zone), so the
// zone cannot disagree between the days stored and the windows read. It reads
// only the days from Horizon(now) through today: their counts for DAU and
// the 28-day mean, and for the distinct users of the windows each user's
// latest days, kept as the days are added (recentUsers), so that it costs a
// pass over the users active since the horizon rather than unions of day
// bitmaps. When an event lies after today it unions the days instead.
func Compute(a *Account, seats int, now time.Time) Metrics {
	today := a.DayOf(now)
	month := today.Month()
	m := Metrics{
		AsOf:      now,
		Today:     today,
		Month:     month,
		LastMonth: month - 1,
		Seats:     seats,
	}
	c := a.counts(today)
	m.Active7, m.Active30, m.MonthToDate, m.LastMonthMAU = c.active7, c.active30, c.monthToDate, c.lastMonth
	m.DAU = a.DAU(today)
	sum := a.sumDAU(today-UsageScoreDays, today-1)
	m.AvgDAU28 = float64(sum) / UsageScoreDays
	if m.LastMonthMAU > 0 {
		// One division of exact integers, so that a score of exactly 0.3 is
		// the float64 nearest 0.3 and compares ≥ 0.3 as the handbook means;
		// AvgDAU28 / LastMonthMAU would round twice.
		m.UsageScore = ratio(sum, UsageScoreDays*m.LastMonthMAU)
	}
	if seats > 0 {
		m.LastMonthMAUOverSeats = ratio(m.LastMonthMAU, seats)
		m.SeatUtilization = ratio(m.Active30, seats)
	}
	if t, ok := a.FirstPing(); ok {
		m.FirstPing = &t
	}
	return m
}

// counts returns the windows' distinct users at today: from the per-user
// table, plus the users of the days after the index's today through today,
// which the table does not hold yet; by unioning the days when the table
// cannot tell.
func (a *Account) counts(today Day) counts {
	c, ok := a.recent.count(today)
	if !ok {
		return a.unionCounts(a.horizon(today), today)
	}
	if t := a.recent.through; t != 0 && t.day() < today {
		a.countLater(&c, t.day()+1, today)
	}
	return c
}

// countLater adds to c the users of the days from through today (held as
// sets, after the index's today) whom the table does not already count in
// each window. A user's latest such day says which windows ending today they
// are in, and whether any is in last month the last.
func (a *Account) countLater(c *counts, from, today Day) {
	w, _ := windowsAt(today) // count succeeded, so the windows are in range
	type later struct {
		last      refDay
		lastMonth bool
	}
	users := map[uint32]later{}
	for d := today; d >= from; d-- {
		bm := a.view(d)
		if bm == nil {
			continue
		}
		v, _ := ref(d)
		inLM := v >= w.lastMonth && v < w.month
		bm.Iterate(func(o uint32) bool {
			l, seen := users[o]
			if !seen {
				l.last = v
			}
			l.lastMonth = l.lastMonth || inLM
			users[o] = l
			return true
		})
	}
	for o, l := range users {
		u, _ := a.recent.find(o) // the zero row counts in no window
		c.active7 += b2i(l.last >= w.s7 && u.last < w.s7)
		c.active30 += b2i(l.last >= w.s30 && u.last < w.s30)
		c.monthToDate += b2i(l.last >= w.month && u.last < w.month)
		c.lastMonth += b2i(l.lastMonth && !inLastMonth(w, u))
	}
}

// unionCounts counts the windows' distinct users at today by unioning the
// day bitmaps from (the horizon) through today: the way to count when the
// per-user table cannot (recentUsers.count), and the definition it must
// agree with.
func (a *Account) unionCounts(from, today Day) counts {
	month := today.Month()
	// Fetch each day once: a sealed day costs a decode, and the windows
	// below overlap.
	days := make([]*roaring.Bitmap, today-from+1)
	for d := from; d <= today; d++ {
		days[d-from] = a.view(d)
	}
	var c counts
	var bms []*roaring.Bitmap
	for _, bm := range days[(month-1).First()-from : (month-1).Last()-from+1] {
		if bm != nil {
			bms = append(bms, bm)
		}
	}
	c.lastMonth = cardinality(bms)
	// The windows ending today nest: count the latest-starting one, then
	// extend its union day by day back to the next start, so each day's
	// bitmap is unioned once rather than once per window.
	windows := []struct {
		start Day
		n     *int
	}{{today - ShortWindow + 1, &c.active7}, {month.First(), &c.monthToDate}, {today - LongWindow + 1, &c.active30}}
	slices.SortStableFunc(windows, func(x, y struct {
		start Day
		n     *int
	}) int {
		return int(y.start) - int(x.start)
	})
	var union *roaring.Bitmap
	next := today + 1 // the days from next to today are in union
	for _, w := range windows {
		if w.start < next {
			bms := make([]*roaring.Bitmap, 0, next-w.start+1)
			if union != nil {
				bms = append(bms, union)
			}
			for d := w.start; d < next; d++ {
				if bm := days[d-from]; bm != nil {
					bms = append(bms, bm)
				}
			}
			switch len(bms) {
			case 0:
			case 1:
				union = bms[0]
			default:
				union = roaring.FastOr(bms...)
			}
			next = w.start
		}
		if union != nil {
			*w.n = int(union.GetCardinality())
		}
	}
	return c
}

// Horizon returns the earliest day Compute reads at now: the first day of
// last month, or 29 days before today when that is earlier (on 1 March after
// a 28-day February, the 30-day window starts on 31 January). Days before it
// may be persisted and forgotten without changing any metric; the charts'
// series read further back.
func (a *Account) Horizon(now time.Time) Day { return a.horizon(a.DayOf(now)) }

func (a *Account) horizon(today Day) Day {
	return min((today.Month() - 1).First(), today-LongWindow+1, today-UsageScoreDays)
}

func ratio(num, den int) *float64 {
	r := float64(num) / float64(den)
	return &r
}

// MaxSeries caps the length of a series, about ten years of days or months,
// so that a length taken from a request cannot allocate without bound.
const MaxSeries = 3660

// DayCount is one point of a DAU chart.
type DayCount struct {
	Day   Day `json:"day"`
	Users int `json:"users"`
	// Partial marks today, whose count is still growing.
	Partial bool `json:"partial,omitempty"`
}

// DAUSeries returns DAU for the n local days ending with now's day (the
// usage chart shows 90), oldest first. Days without activity are zero, not
// missing, so the chart's x axis is every day.
func (a *Account) DAUSeries(now time.Time, n int) []DayCount {
	n = min(n, MaxSeries)
	if n <= 0 {
		return nil
	}
	today := a.DayOf(now)
	out := make([]DayCount, n)
	for i := range out {
		d := today - Day(n-1-i)
		out[i] = DayCount{Day: d, Users: a.DAU(d)}
	}
	out[n-1].Partial = true
	return out
}

// MonthCount is one point of an MAU chart.
type MonthCount struct {
	Month Month `json:"month"`
	Users int   `json:"users"`
	// Partial marks the current month, counted to today.
	Partial bool `json:"partial,omitempty"`
}

// MAUSeries returns MAU for the n calendar months ending with now's month
// (the usage chart shows 12), oldest first. The current month counts up to
// and including today.
func (a *Account) MAUSeries(now time.Time, n int) []MonthCount {
	n = min(n, MaxSeries)
	if n <= 0 {
		return nil
	}
	today := a.DayOf(now)
	month := today.Month()
	out := make([]MonthCount, n)
	for i := range n - 1 {
		m := month - Month(n-1-i)
		out[i] = MonthCount{Month: m, Users: a.MAU(m)}
	}
	out[n-1] = MonthCount{Month: month, Users: a.Actives(month.First(), today), Partial: true}
	return out
}
