package usage

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

func TestAddReportsNewForTheLocalDay(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	a := NewAccount(berlin)
	steps := []struct {
		user uint32
		at   string
		new  bool
	}{
		{1, "2026-02-01T09:00:00+01:00", true},
		{1, "2026-02-01T17:00:00+01:00", false}, // same user, same day
		{2, "2026-02-01T17:00:00+01:00", true},
		{1, "2026-01-31T23:30:00Z", false}, // 00:30 on Feb 1 in Berlin
		{1, "2026-01-31T22:30:00Z", true},  // 23:30 on Jan 31 in Berlin
		{1, "2026-02-02T00:00:00+01:00", true},
		{1<<32 - 1, "2026-02-02T00:00:00+01:00", true}, // the largest ordinal
	}
	for _, s := range steps {
		if got := a.Add(s.user, mustTime(s.at, berlin)); got != s.new {
			t.Errorf("Add(%d, %s) = %v, want %v", s.user, s.at, got, s.new)
		}
	}
	wantDays := []string{"2026-01-31", "2026-02-01", "2026-02-02"}
	var got []string
	for _, d := range a.Days() {
		got = append(got, d.String())
	}
	if !slices.Equal(got, wantDays) {
		t.Fatalf("Days() = %v, want %v", got, wantDays)
	}
	feb1 := DayOf(mustTime("2026-02-01T12:00:00+01:00", berlin), berlin)
	if a.DAU(feb1) != 2 || a.DAU(feb1-1) != 1 || a.DAU(feb1+1) != 2 || a.DAU(feb1+2) != 0 {
		t.Errorf("DAU around Feb 1 = %d %d %d %d, want 1 2 2 0", a.DAU(feb1-1), a.DAU(feb1), a.DAU(feb1+1), a.DAU(feb1+2))
	}
	if a.Actives(feb1-1, feb1+1) != 3 || a.Actives(feb1+1, feb1-1) != 0 {
		t.Errorf("Actives over three days = %d, reversed = %d; want 3 and 0", a.Actives(feb1-1, feb1+1), a.Actives(feb1+1, feb1-1))
	}
	if u := a.Users(feb1-1, feb1+1); !slices.Equal(u.ToArray(), []uint32{1, 2, 1<<32 - 1}) {
		t.Errorf("Users = %v", u.ToArray())
	}
	if first, ok := a.FirstPing(); !ok || !first.Equal(mustTime("2026-01-31T22:30:00Z", berlin)) {
		t.Errorf("FirstPing = %v, %v; want the late event's 22:30 UTC", first, ok)
	}
}

func TestZeroAccountIsUTC(t *testing.T) {
	t.Parallel()
	var a Account
	if !a.Add(7, time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC)) {
		t.Fatal("first Add on a zero Account is not new")
	}
	if a.Location() != time.UTC || a.MAU(MonthOf(2026, time.January)) != 1 {
		t.Fatalf("zero Account: zone %s, January MAU %d", a.Location(), a.MAU(MonthOf(2026, time.January)))
	}
	if _, ok := a.FirstPing(); !ok {
		t.Fatal("zero Account lost its first ping")
	}
	if NewAccount(nil).Location() != time.UTC {
		t.Fatal("NewAccount(nil) is not UTC")
	}
}

// TestCompact checks that sealing changes no answer, that a late event for a
// sealed day revives it, and that days near the cutoff stay live.
func TestCompact(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := range 90 {
		for u := range uint32(i%7 + 1) {
			a.Add(u*3, start.AddDate(0, 0, i))
		}
	}
	now := start.AddDate(0, 0, 89)
	before := Compute(a, 40, now)
	beforeDays := a.Days()
	blobs := map[Day][]byte{}
	for _, d := range beforeDays {
		b, err := a.MarshalDay(d)
		if err != nil {
			t.Fatal(err)
		}
		blobs[d] = b
	}

	cut := a.DayOf(now) - 1
	if err := a.Compact(cut); err != nil {
		t.Fatal(err)
	}
	if len(a.live) != 2 || len(a.sealed.days) != 88 {
		t.Fatalf("after Compact(yesterday): %d live and %d sealed days, want 2 and 88", len(a.live), len(a.sealed.days))
	}
	if after := Compute(a, 40, now); !sameUtilization(utilizationOf(after), utilizationOf(before)) {
		t.Fatalf("Compact changed the metrics:\n%v\n%v", utilizationOf(before), utilizationOf(after))
	}
	if !slices.Equal(a.Days(), beforeDays) {
		t.Fatal("Compact changed the list of days")
	}
	for d, want := range blobs {
		got, err := a.MarshalDay(d)
		if err != nil {
			t.Fatal(err)
		}
		if !sameUsers(t, got, want) {
			t.Errorf("day %s changed when sealed", d)
		}
	}

	// A user already on a sealed day: not new, and nothing changes.
	jan3 := a.DayOf(start) + 2
	dau := a.DAU(jan3)
	if a.Add(0, start.AddDate(0, 0, 2)) || a.DAU(jan3) != dau {
		t.Error("Add of a user already on a sealed day reported new")
	}
	// A new user on a sealed day: new, counted, the day live again.
	if !a.Add(1000, start.AddDate(0, 0, 2)) || a.DAU(jan3) != dau+1 {
		t.Errorf("late new user on a sealed day: DAU %d, want %d", a.DAU(jan3), dau+1)
	}
	if _, ok := a.sealed.find(jan3); ok || a.live[jan3] == nil {
		t.Error("the revived day is not live")
	}
	if a.sealed.garbage == 0 {
		t.Error("reviving a day left no garbage to reclaim")
	}
	// The next Compact reseals it and reclaims the arena bytes.
	if err := a.Compact(cut); err != nil {
		t.Fatal(err)
	}
	if a.sealed.garbage != 0 || a.live[jan3] != nil || a.DAU(jan3) != dau+1 {
		t.Errorf("after recompacting: garbage %d, live %v, DAU %d", a.sealed.garbage, a.live[jan3] != nil, a.DAU(jan3))
	}
	size := 0
	for _, sp := range a.sealed.spans {
		size += int(sp.n)
	}
	if size != len(a.sealed.arena) || cap(a.sealed.arena) != len(a.sealed.arena) {
		t.Errorf("arena holds %d bytes (cap %d) for %d bytes of days", len(a.sealed.arena), cap(a.sealed.arena), size)
	}
	// Compacting everything, then nothing, is fine.
	if err := a.Compact(a.DayOf(now) + 1); err != nil || a.live != nil {
		t.Fatalf("Compact(tomorrow): %v, live %v", err, a.live)
	}
	if err := a.Compact(0); err != nil {
		t.Fatal(err)
	}
	if after := Compute(a, 40, now); after.Active30 != before.Active30+0 || after.DAU != before.DAU {
		t.Fatalf("fully sealed: %v", utilizationOf(after))
	}
}

// sameUsers compares two day blobs by content, not by encoding.
func sameUsers(t *testing.T, x, y []byte) bool {
	t.Helper()
	bx, err := decode(x)
	if err != nil {
		t.Fatal(err)
	}
	by, err := decode(y)
	if err != nil {
		t.Fatal(err)
	}
	return bx.Equals(by)
}

func TestMarshalDay(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	day := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	d := a.DayOf(day)
	// A dense run (run container), a sparse tail, and one large ordinal in
	// another Roaring container.
	for u := range uint32(5000) {
		a.Add(u, day)
	}
	a.Add(70_000, day)
	a.Add(1<<31, day)

	blob, err := a.MarshalDay(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) > 64 {
		t.Errorf("5,002 users with a run of 5,000 encode in %d bytes; run containers should make it tiny", len(blob))
	}
	b := NewAccount(time.UTC)
	if err := b.UnmarshalDay(d, blob); err != nil {
		t.Fatal(err)
	}
	if b.DAU(d) != 5002 || !b.Users(d, d).Equals(a.Users(d, d)) {
		t.Fatalf("round trip: %d users", b.DAU(d))
	}
	// Loading is a union with what is already there.
	c := NewAccount(time.UTC)
	c.Add(1<<31, day)
	c.Add(9_999_999, day)
	if err := c.UnmarshalDay(d, blob); err != nil {
		t.Fatal(err)
	}
	if c.DAU(d) != 5003 {
		t.Fatalf("UnmarshalDay onto a live day: DAU %d, want 5003", c.DAU(d))
	}
	// … also onto a sealed day.
	if err := c.Compact(d + 1); err != nil {
		t.Fatal(err)
	}
	other := roaring.BitmapOf(424242)
	ob, _ := other.ToBytes()
	if err := c.UnmarshalDay(d, ob); err != nil || c.DAU(d) != 5004 {
		t.Fatalf("UnmarshalDay onto a sealed day: %v, DAU %d", err, c.DAU(d))
	}
	// The blob a caller gets is theirs: scribbling on it changes nothing.
	if err := c.Compact(d + 1); err != nil {
		t.Fatal(err)
	}
	sealed, _ := c.MarshalDay(d)
	clear(sealed)
	if c.DAU(d) != 5004 {
		t.Fatal("a MarshalDay result aliases the arena")
	}
	// A day without users is the empty bitmap, and loading it adds nothing.
	empty, err := a.MarshalDay(d + 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.UnmarshalDay(d+10, empty); err != nil || len(a.Days()) != 1 {
		t.Fatalf("empty day: %v, days %v", err, a.Days())
	}
}

func TestUnmarshalDayRejectsCorruptBlobs(t *testing.T) {
	t.Parallel()
	good, _ := roaring.BitmapOf(1, 2, 3, 100_000).ToBytes()
	bad := map[string][]byte{
		"nil":            nil,
		"garbage":        []byte("not a bitmap at all"),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(bytes.Clone(good), 0),
		"unsorted keys":  unsortedKeys(),
		"JSON":           []byte(`[1,2,3]`),
	}
	for name, blob := range bad {
		a := NewAccount(time.UTC)
		a.Add(5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		err := a.UnmarshalDay(0, blob)
		if err == nil {
			t.Errorf("%s: UnmarshalDay accepted it", name)
		}
		if a.DAU(DayOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)) != 1 || len(a.Days()) != 1 {
			t.Errorf("%s: a failed UnmarshalDay changed the account", name)
		}
	}
}

// unsortedKeys is a well-formed stream whose containers are out of order,
// which only Validate catches.
func unsortedKeys() []byte {
	x := roaring.BitmapOf(1<<16 | 1)
	y := roaring.BitmapOf(1)
	bx, _ := x.ToBytes()
	by, _ := y.ToBytes()
	// No-run format: cookie, count, then key/cardinality pairs, offsets and
	// data. Stitch a two-container header with keys 1 then 0.
	out := []byte{0x3a, 0x30, 0, 0, 2, 0, 0, 0}
	out = append(out, bx[8:12]...) // key 1, card 1
	out = append(out, by[8:12]...) // key 0, card 1
	out = append(out, 24, 0, 0, 0, 26, 0, 0, 0)
	out = append(out, 1, 0, 1, 0)
	return out
}

func TestMerge(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	jan := time.Date(2026, 1, 10, 9, 0, 0, 0, berlin)
	a, b := NewAccount(berlin), NewAccount(berlin)
	a.Add(1, jan)
	a.Add(2, jan.AddDate(0, 0, 1))
	b.Add(2, jan)
	b.Add(3, jan.AddDate(0, 0, 2))
	b.Add(4, jan.AddDate(0, 0, -5)) // b pinged first
	if err := b.Compact(b.DayOf(jan) + 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UseFeature("search", 1, jan); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UseFeature("search", 2, jan.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UseFeature("insights", 3, jan); err != nil {
		t.Fatal(err)
	}
	bBefore := Compute(b, 10, jan.AddDate(0, 0, 3))

	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	d := a.DayOf(jan)
	if a.DAU(d) != 2 || a.DAU(d+1) != 1 || a.DAU(d+2) != 1 || a.DAU(d-5) != 1 || a.MAU(MonthOf(2026, 1)) != 4 {
		t.Errorf("merged DAU %d %d %d %d, MAU %d", a.DAU(d-5), a.DAU(d), a.DAU(d+1), a.DAU(d+2), a.MAU(MonthOf(2026, 1)))
	}
	if first, _ := a.FirstPing(); !first.Equal(jan.AddDate(0, 0, -5)) {
		t.Errorf("merged first ping %v, want b's earlier one", first)
	}
	if at, _ := a.FeatureFirstUse("search"); !at.Equal(jan.Add(-time.Hour)) {
		t.Errorf("merged first use of search %v, want b's earlier one", at)
	}
	if fs := a.Features(); len(fs) != 2 || fs[0].Name != "search" || fs[0].Users != 2 || fs[1].Name != "insights" {
		t.Errorf("merged features %+v", fs)
	}
	// b is untouched, and merging is idempotent.
	if after := Compute(b, 10, jan.AddDate(0, 0, 3)); !sameUtilization(utilizationOf(after), utilizationOf(bBefore)) {
		t.Error("Merge changed its argument")
	}
	once := Compute(a, 10, jan.AddDate(0, 0, 3))
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(a); err != nil {
		t.Fatal(err)
	}
	if twice := Compute(a, 10, jan.AddDate(0, 0, 3)); !sameUtilization(utilizationOf(twice), utilizationOf(once)) {
		t.Error("merging the same index twice changed the counts")
	}
	if err := a.Merge(NewAccount(time.UTC)); err == nil {
		t.Error("merged an index kept in another time zone")
	}
}

// TestConcurrentReaders runs Compute and the series from several goroutines
// on one account with live and sealed days, for the race detector.
func TestConcurrentReaders(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	for i := range 120 {
		for u := range uint32(50) {
			if (int(u)+i)%3 == 0 {
				a.Add(u, now.AddDate(0, 0, -i))
			}
		}
	}
	if err := a.Compact(a.DayOf(now) - 40); err != nil {
		t.Fatal(err)
	}
	want := Compute(a, 50, now)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := Compute(a, 50, now); !sameUtilization(utilizationOf(got), utilizationOf(want)) {
					t.Error("concurrent Compute disagrees")
					return
				}
				a.DAUSeries(now, 90)
				a.MAUSeries(now, 12)
			}
		})
	}
	wg.Wait()
}

func TestHorizonAndForget(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	for _, tt := range []struct{ now, want string }{
		{"2026-03-15T12:00:00Z", "2026-02-01"}, // the first of last month
		{"2026-03-01T12:00:00Z", "2026-01-31"}, // after a 28-day February the 30-day window reaches back further
		{"2028-03-01T12:00:00Z", "2028-02-01"}, // after a 29-day one it does not
		{"2026-01-10T12:00:00Z", "2025-12-01"},
	} {
		if got := a.Horizon(mustTime(tt.now, time.UTC)); got.String() != tt.want {
			t.Errorf("Horizon(%s) = %s, want %s", tt.now, got, tt.want)
		}
	}

	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range 120 {
		a.Add(uint32(i%10), start.AddDate(0, 0, i))
	}
	now := start.AddDate(0, 0, 119)
	if err := a.Compact(a.DayOf(now) - 1); err != nil {
		t.Fatal(err)
	}
	want := Compute(a, 10, now)
	arena := len(a.sealed.arena)
	h := a.Horizon(now)
	a.Forget(h)
	if days := a.Days(); days[0] != h || len(days) != int(a.DayOf(now)-h)+1 {
		t.Fatalf("after Forget(%s): days %s … (%d)", h, days[0], len(days))
	}
	if len(a.sealed.arena) >= arena || a.sealed.garbage != 0 || cap(a.sealed.arena) != len(a.sealed.arena) {
		t.Errorf("Forget left the arena at %d bytes (was %d), garbage %d", len(a.sealed.arena), arena, a.sealed.garbage)
	}
	if got := Compute(a, 10, now); !sameUtilization(utilizationOf(got), utilizationOf(want)) {
		t.Errorf("Forget(Horizon) changed the metrics:\n%v\n%v", utilizationOf(got), utilizationOf(want))
	}
	if _, ok := a.FirstPing(); !ok {
		t.Error("Forget dropped the first ping")
	}
	a.Forget(a.DayOf(now) + 1)
	if len(a.Days()) != 0 || len(a.sealed.arena) != 0 {
		t.Errorf("Forget(tomorrow) kept %v", a.Days())
	}
}

// TestRelease checks what a released day still answers (its count, the
// metrics) and what needs it loaded back (its set: MarshalDay, Add, Merge),
// and that only days through the index's today are released.
func TestRelease(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a := NewAccount(time.UTC)
	for i := range 40 {
		for u := range uint32(i%5 + 1) {
			a.Add(u*70000+uint32(i%3), start.AddDate(0, 0, i))
		}
	}
	now := start.AddDate(0, 0, 39)
	today := a.DayOf(now)
	a.Add(9, now.AddDate(0, 0, 1)) // a client's clock ahead: tomorrow
	blobs := map[Day][]byte{}
	for _, d := range a.Days() {
		b, err := a.MarshalDay(d)
		if err != nil {
			t.Fatal(err)
		}
		blobs[d] = b
	}
	want := Compute(a, 20, now)

	a.Release(today + 5) // no today yet: nothing is released
	if len(a.released.days) != 0 {
		t.Fatalf("released %d days before a today was set", len(a.released.days))
	}
	if err := a.Compact(today); err != nil {
		t.Fatal(err)
	}
	a.Release(today + 5) // only the days through today
	if n := len(a.released.days); n != 40 || a.Released(today+1) || a.live[today+1] == nil {
		t.Fatalf("released %d days (want 40, today's included), tomorrow released %v", n, a.Released(today+1))
	}
	if len(a.sealed.days) != 0 || len(a.sealed.arena) != 0 {
		t.Errorf("the sealed days stayed: %d days, %d bytes", len(a.sealed.days), len(a.sealed.arena))
	}
	if got := Compute(a, 20, now); !sameUtilization(utilizationOf(got), utilizationOf(want)) {
		t.Fatalf("Release changed the metrics:\n got %v\nwant %v", utilizationOf(got), utilizationOf(want))
	}
	if got := a.Days(); len(got) != 41 {
		t.Errorf("Days lists %d days, want the 41 held", len(got))
	}
	d := today - 3
	if dau := a.DAU(d); dau != int(encodedCardinality(blobs[d])) {
		t.Errorf("released day's DAU %d", dau)
	}
	if _, err := a.MarshalDay(d); err == nil {
		t.Error("MarshalDay of a released day did not fail")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Add to a released day did not panic")
			}
		}()
		a.Add(1, d.Start(time.UTC))
	}()
	other := NewAccount(time.UTC)
	other.Add(5, d.Start(time.UTC))
	if err := a.Merge(other); err == nil {
		t.Error("merged a set into a released day")
	}
	if err := other.Merge(a); err == nil {
		t.Error("merged released days into an index without them")
	}
	// Loaded back, the day is a set again, and an event for it counts.
	if err := a.UnmarshalDay(d, blobs[d]); err != nil {
		t.Fatal(err)
	}
	if a.Released(d) || a.DAU(d) != encodedCardinality(blobs[d]) {
		t.Fatalf("after UnmarshalDay: released %v, DAU %d", a.Released(d), a.DAU(d))
	}
	if !a.Add(123456, d.Start(time.UTC)) || a.DAU(d) != encodedCardinality(blobs[d])+1 {
		t.Errorf("a late new user on a loaded-back day: DAU %d", a.DAU(d))
	}
	// A restored index (days loaded straight as counts) computes the same.
	r := NewAccount(time.UTC)
	if err := r.Compact(today); err != nil {
		t.Fatal(err)
	}
	for d, b := range blobs {
		if err := r.RestoreDay(d, b); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Released(today-1) || r.Released(today+1) {
		t.Errorf("RestoreDay: yesterday released %v, tomorrow released %v (want true, false)", r.Released(today-1), r.Released(today+1))
	}
	if got := Compute(r, 20, now); !sameUtilization(utilizationOf(got), utilizationOf(want)) {
		t.Fatalf("restored:\n got %v\nwant %v", utilizationOf(got), utilizationOf(want))
	}
	// Tomorrow, its users join the table, and Forget drops released days.
	if err := r.Compact(today + 1); err != nil {
		t.Fatal(err)
	}
	if m := Compute(r, 20, now.AddDate(0, 0, 1)); m.DAU != 1 || m.Active7 < 1 {
		t.Errorf("tomorrow: %+v", utilizationOf(m))
	}
	r.Forget(today)
	if days := r.Days(); days[0] != today {
		t.Errorf("after Forget(today) the days start %s", days[0])
	}
}
