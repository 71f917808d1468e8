package usage

import (
	"fmt"
	"math"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

// Day is a calendar day in the workspace's time zone, counted from
// 1970-01-01 (day 0). It is a small integer rather than a time.Time so that
// an account's days are cheap map keys and window arithmetic (today-27) is
// plain subtraction that DST cannot disturb.
type Day int32

const secondsPerDay = 24 * 60 * 60

// DayOf returns the local calendar day of t in loc (UTC when loc is nil).
// Times whose day does not fit a Day (beyond ±5 million years) are clamped to
// the first or last Day, where no metric window reaches; ingestion rejects
// such timestamps with CheckTime first.
func DayOf(t time.Time, loc *time.Location) Day {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return dayFromCivil(y, m, d)
}

// DayFromDate returns the Day of a calendar date; the zero date is day 0.
func DayFromDate(d date.Date) Day {
	if d.IsZero() {
		return 0
	}
	y, m, dd := d.Time(time.UTC).Date()
	return dayFromCivil(y, m, dd)
}

func dayFromCivil(y int, m time.Month, d int) Day {
	// Midnight UTC of a civil date is an exact multiple of a day, so the
	// division is exact for dates before 1970 too.
	n := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return Day(n)
}

// civil returns the year, month and day of d.
func (d Day) civil() (int, time.Month, int) {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
}

// Date returns d as a calendar date, the form stores and the API use.
func (d Day) Date() date.Date {
	y, m, dd := d.civil()
	return date.New(y, m, dd)
}

// Start returns the first instant of d in loc (local midnight, or the first
// instant after it where a DST change skips midnight).
func (d Day) Start(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, dd := d.civil()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Month returns the calendar month d falls in.
func (d Day) Month() Month {
	y, m, _ := d.civil()
	return MonthOf(y, m)
}

// String returns d as 2026-01-31.
func (d Day) String() string {
	y, m, dd := d.civil()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// MarshalText encodes d as 2026-01-31, so that JSON shows dates, not counts.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a day of the form 2026-01-31.
func (d *Day) UnmarshalText(b []byte) error {
	t, err := time.Parse(date.Layout, string(b))
	if err != nil {
		return derrors.New(derrors.Invalid, "%q is not a day of the form YYYY-MM-DD", b)
	}
	*d = dayFromCivil(t.Date())
	return nil
}

// Month is a calendar month, counted as year*12 + (month-1) so that the
// month before January 2026 is simply m-1 (December 2025).
type Month int32

// MonthOf returns the month y-m; m outside 1..12 is normalised as time.Date
// does (month 13 of 2025 is January 2026).
func MonthOf(y int, m time.Month) Month {
	n := int64(y)*12 + int64(m) - 1
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return Month(n)
}

// Date returns the year and month of m.
func (m Month) Date() (int, time.Month) {
	y := int(m) / 12
	mm := int(m) % 12
	if mm < 0 { // Go's % truncates; months before year 0 still count forwards
		mm += 12
		y--
	}
	return y, time.Month(mm + 1)
}

// First returns the first day of m.
func (m Month) First() Day {
	y, mm := m.Date()
	return dayFromCivil(y, mm, 1)
}

// Last returns the last day of m: 28, 29, 30 or 31 days after First, less one.
func (m Month) Last() Day { return (m + 1).First() - 1 }

// Days returns how many days m has (29 for February of a leap year).
func (m Month) Days() int { return int(m.Last()-m.First()) + 1 }

// String returns m as 2026-01.
func (m Month) String() string {
	y, mm := m.Date()
	return fmt.Sprintf("%04d-%02d", y, int(mm))
}

// MarshalText encodes m as 2026-01.
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a month of the form 2026-01.
func (m *Month) UnmarshalText(b []byte) error {
	t, err := time.Parse("2006-01", string(b))
	if err != nil {
		return derrors.New(derrors.Invalid, "%q is not a month of the form YYYY-MM", b)
	}
	*m = MonthOf(t.Year(), t.Month())
	return nil
}

// The range of event times the index accepts. Product usage predates no
// customer by centuries, and a timestamp far outside this range is a client
// bug (seconds sent as milliseconds, a zero time) that would otherwise land
// on a day no chart shows.
var (
	MinTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// CheckTime returns a field error for an event time outside [MinTime,
// MaxTime). Ingestion calls it before Add; Add itself accepts any time.
func CheckTime(at time.Time) error {
	if at.Before(MinTime) || !at.Before(MaxTime) {
		return derrors.Field(derrors.Invalid, "timestamp", "%s is outside the accepted range %s to %s",
			at.UTC().Format(time.RFC3339), MinTime.Format(date.Layout), MaxTime.Format(date.Layout))
	}
	return nil
}
