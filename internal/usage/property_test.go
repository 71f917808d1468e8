package usage

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// naive is the obviously correct model the bitmaps must agree with: a set of
// user ids per local date string, with windows built from time.Date.
type naive struct {
	loc   *time.Location
	days  map[string]map[string]bool
	first time.Time
}

func (n *naive) add(id string, at time.Time) bool {
	key := at.In(n.loc).Format("2006-01-02")
	if n.days[key] == nil {
		n.days[key] = map[string]bool{}
	}
	if n.first.IsZero() || at.Before(n.first) {
		n.first = at
	}
	had := n.days[key][id]
	n.days[key][id] = true
	return !had
}

// day returns the local date string i days after now's (noon avoids DST
// transitions at midnight).
func (n *naive) day(now time.Time, i int) string {
	y, m, d := now.In(n.loc).Date()
	return time.Date(y, m, d+i, 12, 0, 0, 0, n.loc).Format("2006-01-02")
}

func (n *naive) union(keys ...string) int {
	set := map[string]bool{}
	for _, k := range keys {
		for id := range n.days[k] {
			set[id] = true
		}
	}
	return len(set)
}

func (n *naive) trailing(now time.Time, days int) int {
	var keys []string
	for i := range days {
		keys = append(keys, n.day(now, -i))
	}
	return n.union(keys...)
}

// month returns the MAU of the month `offset` months from now's, counting
// days up to and including `upTo` when it is not empty.
func (n *naive) month(now time.Time, offset int, upTo string) int {
	y, m, _ := now.In(n.loc).Date()
	prefix := time.Date(y, m+time.Month(offset), 1, 12, 0, 0, 0, n.loc).Format("2006-01")
	var keys []string
	for k := range n.days {
		if k[:7] == prefix && (upTo == "" || k <= upTo) {
			keys = append(keys, k)
		}
	}
	return n.union(keys...)
}

func (n *naive) metrics(now time.Time, seats int) utilization {
	today := n.day(now, 0)
	u := utilization{
		DAU:          len(n.days[today]),
		Active7:      n.trailing(now, 7),
		Active30:     n.trailing(now, 30),
		MonthToDate:  n.month(now, 0, today),
		LastMonthMAU: n.month(now, -1, ""),
	}
	y, m, _ := now.In(n.loc).Date()
	u.LastMonth = time.Date(y, m-1, 1, 12, 0, 0, 0, n.loc).Format("2006-01")
	sum := 0
	for i := 1; i <= 28; i++ {
		sum += len(n.days[n.day(now, -i)])
	}
	u.AvgDAU28 = float64(sum) / 28
	if u.LastMonthMAU > 0 {
		u.UsageScore = f(float64(sum) / float64(28*u.LastMonthMAU))
	}
	if seats > 0 {
		u.LastMonthMAUOverSeats = f(float64(u.LastMonthMAU) / float64(seats))
		u.SeatUtilization = f(float64(u.Active30) / float64(seats))
	}
	return u
}

// TestAgreesWithNaiveSets drives random events through Ordinals and Account,
// with sealing, releasing (days saved to a map standing for the store and
// loaded back before they change), restoring from it, blob round trips and
// merges mixed in, and checks every metric
// and series against the naive model, across zones with DST, half-hour and
// quarter-hour offsets. Half the iterations have events up to two days after
// now, which Compute must leave out of windows ending today (it then unions
// the days); in the other half it counts from the per-user table, and that
// must agree too.
func TestAgreesWithNaiveSets(t *testing.T) {
	t.Parallel()
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago"} {
		zones = append(zones, mustZone(t, name))
	}
	iterations := 300
	if testing.Short() {
		iterations = 40
	}
	r := rand.New(rand.NewPCG(2026, 3))
	fromTable, released, withReleased := 0, 0, 0
	for it := range iterations {
		loc := zones[r.IntN(len(zones))]
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(4 * 365 * 24 * time.Hour))))
		seats := r.IntN(60) - 5
		users := 1 + r.IntN(60)
		events := r.IntN(600)
		ahead := time.Duration(0)
		if r.IntN(2) == 0 {
			ahead = 2 * 24 * time.Hour
		}
		name := fmt.Sprintf("iteration %d (%s, now %s, %d users, %d events, %d seats)", it, loc, now.In(loc).Format(time.RFC3339), users, events, seats)

		var ords Ordinals
		model := &naive{loc: loc, days: map[string]map[string]bool{}}
		modelA := &naive{loc: loc, days: map[string]map[string]bool{}}
		a, b := NewAccount(loc), NewAccount(loc)
		// stored is a's store: each day's set as last saved. Before a
		// Release the days held as sets are saved, and a released day is
		// loaded back before it changes, as the engine does.
		stored := map[Day][]byte{}
		release := func(before Day) {
			for _, d := range a.Days() {
				if a.Released(d) {
					continue
				}
				blob, err := a.MarshalDay(d)
				if err != nil {
					t.Fatal(err)
				}
				stored[d] = blob
			}
			a.Release(before)
			released++
		}
		load := func(d Day) {
			if a.Released(d) {
				if err := a.UnmarshalDay(d, stored[d]); err != nil {
					t.Fatal(err)
				}
			}
		}
		for e := range events {
			id := fmt.Sprintf("user-%d", r.IntN(users))
			// From 100 days before now to now, or to two days after (clock
			// skew).
			at := now.Add(time.Duration(r.Int64N(int64(100*24*time.Hour+ahead))) - 100*24*time.Hour)
			ord, _, err := ords.Ordinal(id)
			if err != nil {
				t.Fatal(err)
			}
			model.add(id, at)
			// Half the events go to a second index merged in later, so
			// "new for the day" is checked against a's own events.
			if r.IntN(2) == 0 {
				b.Add(ord, at)
			} else {
				load(a.DayOf(at))
				if got, want := a.Add(ord, at), modelA.add(id, at); got != want {
					t.Fatalf("%s: event %d: Add = %v, naive says %v", name, e, got, want)
				}
			}
			if r.IntN(150) == 0 {
				if err := a.Compact(a.DayOf(now) - Day(r.IntN(60))); err != nil {
					t.Fatal(err)
				}
			}
			if r.IntN(100) == 0 {
				release(a.DayOf(now) - Day(r.IntN(60)))
			}
		}
		// Persist b day by day and load it into a third index, as a store
		// would, then merge that into a.
		c := NewAccount(loc)
		for _, d := range b.Days() {
			blob, err := b.MarshalDay(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.UnmarshalDay(d, blob); err != nil {
				t.Fatal(err)
			}
			load(d)
		}
		if first, ok := b.FirstPing(); ok {
			c.RestoreFirstPing(first)
		}
		if err := a.Merge(c); err != nil {
			t.Fatal(err)
		}
		if r.IntN(2) == 0 {
			if err := a.Compact(a.DayOf(now) - 1); err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(2) == 0 {
			release(a.DayOf(now) - 1)
		}
		// A restored copy: every stored day loaded straight into its
		// released form after a today is set, as the engine loads at
		// startup, and the rest as sets.
		restored := NewAccount(loc)
		if err := restored.Compact(a.DayOf(now)); err != nil {
			t.Fatal(err)
		}
		for _, d := range a.Days() {
			blob := stored[d]
			if !a.Released(d) {
				var err error
				if blob, err = a.MarshalDay(d); err != nil {
					t.Fatal(err)
				}
			}
			if d < a.DayOf(now)-1 {
				if err := restored.RestoreDay(d, blob); err != nil {
					t.Fatal(err)
				}
			} else if err := restored.UnmarshalDay(d, blob); err != nil {
				t.Fatal(err)
			}
		}
		if first, ok := a.FirstPing(); ok {
			restored.RestoreFirstPing(first)
		}
		if got, want := utilizationOf(Compute(restored, seats, now)), model.metrics(now, seats); !sameUtilization(got, want) {
			t.Fatalf("%s: restored:\n got %v\nwant %v", name, got, want)
		}

		if len(a.released.days) > 0 {
			withReleased++
		}
		got := utilizationOf(Compute(a, seats, now))
		if want := model.metrics(now, seats); !sameUtilization(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", name, got, want)
		}
		for i, p := range a.DAUSeries(now, 40) {
			if want := len(model.days[model.day(now, i-39)]); p.Users != want || p.Day.String() != model.day(now, i-39) {
				t.Fatalf("%s: DAU series point %d = %+v, naive %s %d (released days counted)", name, i, p, model.day(now, i-39), want)
			}
		}
		// The unions below read sets: load the released days back, as
		// the chart does.
		for _, d := range a.Days() {
			load(d)
		}
		if _, ok := a.recent.count(a.DayOf(now)); ok {
			fromTable++
			if c, u := a.counts(a.DayOf(now)), a.unionCounts(a.Horizon(now), a.DayOf(now)); c != u {
				t.Fatalf("%s: the per-user table counts %+v, the union of the days %+v", name, c, u)
			}
		}
		first, ok := a.FirstPing()
		if ok != !model.first.IsZero() || (ok && !first.Equal(model.first)) {
			t.Fatalf("%s: FirstPing %v %v, naive %v", name, first, ok, model.first)
		}
		for i, p := range a.DAUSeries(now, 40) {
			if want := len(model.days[model.day(now, i-39)]); p.Users != want || p.Day.String() != model.day(now, i-39) {
				t.Fatalf("%s: DAU series point %d = %+v, naive %s %d", name, i, p, model.day(now, i-39), want)
			}
		}
		for i, p := range a.MAUSeries(now, 5) {
			upTo := ""
			if i == 4 {
				upTo = model.day(now, 0)
			}
			if want := model.month(now, i-4, upTo); p.Users != want {
				t.Fatalf("%s: MAU series point %d (%s) = %d, naive %d", name, i, p.Month, p.Users, want)
			}
		}
		// Forgetting everything before the horizon changes no metric.
		a.Forget(a.Horizon(now))
		if got := utilizationOf(Compute(a, seats, now)); !sameUtilization(got, model.metrics(now, seats)) {
			t.Fatalf("%s: after Forget(Horizon):\n got %v\nwant %v", name, got, model.metrics(now, seats))
		}
		if days := a.Days(); len(days) > 0 && days[0] < a.Horizon(now) {
			t.Fatalf("%s: Forget kept day %s before the horizon %s", name, days[0], a.Horizon(now))
		}
	}
	if released < iterations || withReleased < iterations/3 {
		t.Errorf("released days %d times in %d iterations, and Compute read released days in %d; the test means to release about twice an iteration and to read them in about half", released, iterations, withReleased)
	}
	if fromTable < iterations/3 {
		t.Errorf("Compute counted from the per-user table in %d of %d iterations; the test means to check it in about half", fromTable, iterations)
	}
}
