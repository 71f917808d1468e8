package usage

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestEncodedCardinality checks the header count against a decoded bitmap
// for every container kind, with and without run containers in the format.
func TestEncodedCardinality(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	cases := map[string]*roaring.Bitmap{
		"empty":       roaring.New(),
		"one":         roaring.BitmapOf(3),
		"max":         roaring.BitmapOf(0, 1<<32-1),
		"full run":    roaring.New(),
		"dense":       roaring.New(),
		"scattered":   roaring.New(),
		"many chunks": roaring.New(),
	}
	cases["full run"].AddRange(0, 1<<16)
	for range 20000 {
		cases["dense"].Add(uint32(r.IntN(40000)))
		cases["scattered"].Add(r.Uint32())
	}
	for i := range uint32(300) {
		cases["many chunks"].AddRange(uint64(i)<<16+5, uint64(i)<<16+5+uint64(i))
	}
	for name, bm := range cases {
		want := int(bm.GetCardinality())
		plain, err := bm.ToBytes()
		if err != nil {
			t.Fatal(err)
		}
		packed, err := encode(bm)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodedCardinality(plain); got != want {
			t.Errorf("%s: encodedCardinality = %d, want %d", name, got, want)
		}
		if got := encodedCardinality(packed); got != want {
			t.Errorf("%s, run-optimised: encodedCardinality = %d, want %d", name, got, want)
		}
	}
}

// TestRecentUsersAgreeWithTheDays feeds days out of order, forgets, reloads
// forgotten days, sets a today (Compact) and merges days on both sides of
// it, and checks after each step that the per-user table — with the days
// after the index's today counted from their sets — counts what the union
// of the day bitmaps counts, at every day from the latest one on for two
// months.
func TestRecentUsersAgreeWithTheDays(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	base := dayFromCivil(2026, time.January, 15)
	check := func(step string, a *Account) {
		t.Helper()
		latest := a.Days()[len(a.Days())-1]
		for today := latest; today < latest+62; today++ {
			if _, ok := a.recent.count(today); !ok {
				t.Fatalf("%s: the table cannot count at %s", step, today)
			}
			// The table, plus the days after the index's today once a
			// Compact has set one.
			got := a.counts(today)
			from := min((today.Month() - 1).First(), today-LongWindow+1)
			if want := a.unionCounts(from, today); got != want {
				t.Fatalf("%s, today %s: table %+v, days %+v", step, today, got, want)
			}
		}
	}
	for range 50 {
		a := NewAccount(time.UTC)
		var stored []Day
		blobs := map[Day][]byte{}
		for range 400 {
			// Ordinals in scattered containers, days in any order.
			at := (base + Day(r.IntN(120))).Start(time.UTC).Add(time.Duration(r.IntN(24)) * time.Hour)
			a.Add(uint32(r.IntN(80))*uint32(1+r.IntN(3000)), at)
		}
		check("added", a)
		for _, d := range a.Days() {
			b, err := a.MarshalDay(d)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, d)
			blobs[d] = b
		}
		cut := base + Day(r.IntN(120))
		a.Forget(cut)
		if len(a.Days()) == 0 {
			continue
		}
		check("forgotten", a)
		// Load back some forgotten days, as the account page does for a
		// year of chart.
		for _, d := range stored {
			if d < cut && r.IntN(2) == 0 {
				if err := a.UnmarshalDay(d, blobs[d]); err != nil {
					t.Fatal(err)
				}
			}
		}
		check("reloaded", a)
		if err := a.Compact(base + Day(r.IntN(120))); err != nil {
			t.Fatal(err)
		}
		b := NewAccount(time.UTC)
		for range 50 {
			b.Add(uint32(r.IntN(200)), base.Start(time.UTC).Add(time.Duration(r.IntN(120*24))*time.Hour))
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		check("merged", a)
	}
}

// TestRecentUsersOutOfRange: an event on a day a refDay cannot hold turns
// the table off, and Compute still counts, from the days.
func TestRecentUsersOutOfRange(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	now := mustTime("2026-03-10T12:00:00Z", time.UTC)
	a.Add(1, now.AddDate(0, 0, -1))
	a.Add(2, now.AddDate(0, -1, 0))
	if _, ok := a.recent.count(a.DayOf(now)); !ok {
		t.Fatal("the table cannot count an ordinary account")
	}
	a.Add(3, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, ok := a.recent.count(a.DayOf(now)); ok {
		t.Fatal("the table still counts after a day in 1990")
	}
	m := Compute(a, 10, now)
	if m.Active7 != 1 || m.Active30 != 2 || m.LastMonthMAU != 1 || m.MonthToDate != 1 {
		t.Fatalf("Compute = %+v, want 1 user in 7 days, 2 in 30, 1 last month, 1 this month", m)
	}
}

// TestRecentUsersForgetTheirEarlierMonth: a user's latest day in an earlier
// month goes when Forget drops it, even the day just before the cut, while
// their latest day stays.
func TestRecentUsersForgetTheirEarlierMonth(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	a.Add(1, mustTime("2026-01-31T10:00:00Z", time.UTC))
	a.Add(1, mustTime("2026-02-05T10:00:00Z", time.UTC))
	now := mustTime("2026-02-10T12:00:00Z", time.UTC)
	if m := Compute(a, 0, now); m.LastMonthMAU != 1 || m.MonthToDate != 1 {
		t.Fatalf("before Forget: last month %d, this month %d; want 1 and 1", m.LastMonthMAU, m.MonthToDate)
	}
	a.Forget(dayFromCivil(2026, time.February, 1))
	if m := Compute(a, 0, now); m.LastMonthMAU != 0 || m.MonthToDate != 1 || m.Active30 != 1 {
		t.Fatalf("after Forget(1 February): last month %d, this month %d, 30 days %d; want 0, 1 and 1", m.LastMonthMAU, m.MonthToDate, m.Active30)
	}
}
