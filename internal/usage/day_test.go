package usage

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

func TestDayOf(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	la := mustZone(t, "America/Los_Angeles")
	tokyo := mustZone(t, "Asia/Tokyo")
	tests := []struct {
		at   string
		loc  *time.Location
		want string
	}{
		{"1970-01-01T00:00:00Z", time.UTC, "1970-01-01"},
		{"2026-01-31T23:30:00Z", time.UTC, "2026-01-31"},
		{"2026-01-31T23:30:00Z", berlin, "2026-02-01"},
		{"2026-01-31T23:30:00Z", la, "2026-01-31"},
		{"2026-01-31T14:59:59Z", tokyo, "2026-01-31"},
		{"2026-01-31T15:00:00Z", tokyo, "2026-02-01"},
		{"2026-03-29T00:59:59Z", berlin, "2026-03-29"}, // 01:59:59 CET, just before the jump to 03:00 CEST
		{"2026-03-29T21:59:59Z", berlin, "2026-03-29"}, // 23:59:59 CEST
		{"2026-03-29T22:00:00Z", berlin, "2026-03-30"},
		{"2026-10-25T22:59:59Z", berlin, "2026-10-25"}, // 23:59:59 CET on the 25-hour day
		{"2028-02-29T12:00:00Z", time.UTC, "2028-02-29"},
		{"1969-12-31T23:59:59Z", time.UTC, "1969-12-31"},
	}
	for _, tt := range tests {
		at := mustTime(tt.at, time.UTC)
		d := DayOf(at, tt.loc)
		if d.String() != tt.want {
			t.Errorf("DayOf(%s, %s) = %s, want %s", tt.at, tt.loc, d, tt.want)
		}
		if d.Date().String() != tt.want || DayFromDate(date.MustParse(tt.want)) != d {
			t.Errorf("%s does not round-trip through date.Date", tt.want)
		}
		if start := d.Start(tt.loc); DayOf(start, tt.loc) != d || DayOf(start.Add(-time.Nanosecond), tt.loc) != d-1 {
			t.Errorf("%s.Start(%s) = %s is not the day's first instant", d, tt.loc, start)
		}
	}
	if DayOf(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), nil) != 1 {
		t.Error("DayOf with a nil zone is not UTC, or day 1 is not 1970-01-02")
	}
	if far := DayOf(time.Date(9_000_000, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC); far != 1<<31-1 {
		t.Errorf("a day beyond the range is %d, want it clamped to the last Day", far)
	}
}

func TestMonth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m           Month
		first, last string
		days        int
		prev, next  string
	}{
		{MonthOf(2026, time.January), "2026-01-01", "2026-01-31", 31, "2025-12", "2026-02"},
		{MonthOf(2026, time.February), "2026-02-01", "2026-02-28", 28, "2026-01", "2026-03"},
		{MonthOf(2028, time.February), "2028-02-01", "2028-02-29", 29, "2028-01", "2028-03"},
		{MonthOf(2100, time.February), "2100-02-01", "2100-02-28", 28, "2100-01", "2100-03"}, // not a leap year
		{MonthOf(2000, time.February), "2000-02-01", "2000-02-29", 29, "2000-01", "2000-03"}, // a leap year
		{MonthOf(2026, time.December), "2026-12-01", "2026-12-31", 31, "2026-11", "2027-01"},
		{MonthOf(2025, 13), "2026-01-01", "2026-01-31", 31, "2025-12", "2026-02"},
		{MonthOf(-1, time.January), "-001-01-01", "-001-01-31", 31, "-002-12", "-001-02"},
	}
	for _, tt := range tests {
		if got := tt.m.First().String(); got != tt.first {
			t.Errorf("%s.First() = %s, want %s", tt.m, got, tt.first)
		}
		if got := tt.m.Last().String(); got != tt.last {
			t.Errorf("%s.Last() = %s, want %s", tt.m, got, tt.last)
		}
		if tt.m.Days() != tt.days {
			t.Errorf("%s.Days() = %d, want %d", tt.m, tt.m.Days(), tt.days)
		}
		if (tt.m-1).String() != tt.prev || (tt.m+1).String() != tt.next {
			t.Errorf("around %s: %s and %s, want %s and %s", tt.m, tt.m-1, tt.m+1, tt.prev, tt.next)
		}
		if tt.m.First().Month() != tt.m || tt.m.Last().Month() != tt.m || (tt.m.Last()+1).Month() != tt.m+1 {
			t.Errorf("%s: its days do not map back to it", tt.m)
		}
	}
}

func TestDayAndMonthText(t *testing.T) {
	t.Parallel()
	type row struct {
		D Day   `json:"d"`
		M Month `json:"m"`
	}
	in := row{D: DayFromDate(date.MustParse("2028-02-29")), M: MonthOf(2028, time.February)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"d":"2028-02-29","m":"2028-02"}` {
		t.Fatalf("JSON = %s", b)
	}
	var out row
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip = %+v, %v; want %+v", out, err, in)
	}
	for _, bad := range []string{`{"d":"2026-02-30"}`, `{"d":"tomorrow"}`, `{"m":"2026-13"}`, `{"m":"2026-1-1"}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil || !derrors.Is(err, derrors.Invalid) {
			t.Errorf("Unmarshal(%s) = %v, want an invalid-input error", bad, err)
		}
	}
}

func TestCheckTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		at time.Time
		ok bool
	}{
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{MinTime, true},
		{MinTime.Add(-time.Nanosecond), false},
		{MaxTime.Add(-time.Nanosecond), true},
		{MaxTime, false},
		{time.Time{}, false},
		{time.UnixMilli(1_772_000_000_000 * 1000), false}, // milliseconds sent as microseconds
	} {
		err := CheckTime(tt.at)
		if (err == nil) != tt.ok {
			t.Errorf("CheckTime(%s) = %v, want ok=%v", tt.at, err, tt.ok)
		}
		if err != nil && (derrors.CodeOf(err) != derrors.Invalid || derrors.Public(err).Field != "timestamp") {
			t.Errorf("CheckTime(%s) = %#v, want an invalid-input error on field timestamp", tt.at, err)
		}
	}
}
