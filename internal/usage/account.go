package usage

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Account is the activity index of one customer account: for each local
// calendar day, the set of user ordinals active that day, as a compressed
// bitmap; plus the account's first usage ping and its first use of each
// feature (feature.go).
//
// Days are kept in two forms. A day that may still change is a live
// *roaring.Bitmap. Compact seals older days into one byte arena per account in
// the portable Roaring format, which costs about a third of a live bitmap's
// memory (see BenchmarkMemory); a late event for a sealed day brings the day
// back to life until the next Compact. Every query reads both forms, so
// sealing never changes a result.
//
// The zero Account indexes days in UTC. An Account is not safe for concurrent
// use: writers (Add, UseFeature, Merge, UnmarshalDay, Compact, Forget,
// RestoreFirstPing) need the caller's lock; readers may run concurrently
// with each other.
type Account struct {
	loc    *time.Location
	live   map[Day]*roaring.Bitmap
	sealed sealedDays

	// firstPing is the earliest event time seen; zero when there has been
	// none. Events arrive out of order (backfills, offline clients), so it is
	// a minimum, not the first call's time.
	firstPing time.Time

	features map[string]*feature

	// recent is each user's latest active day and latest day in an earlier
	// month, kept with the days, from which Compute counts the windows.
	recent recentUsers
}

// NewAccount returns an empty index whose days are calendar days in loc, the
// workspace's time zone (UTC when nil). The zone is fixed for the life of the
// index: changing a workspace's zone means rebuilding its indexes from raw
// events, because a day's users cannot be split after the fact.
func NewAccount(loc *time.Location) *Account {
	if loc == nil {
		loc = time.UTC
	}
	return &Account{loc: loc}
}

// Location returns the time zone the account's days are in.
func (a *Account) Location() *time.Location {
	if a.loc == nil {
		return time.UTC
	}
	return a.loc
}

// DayOf returns the account's local day of t.
func (a *Account) DayOf(t time.Time) Day { return DayOf(t, a.Location()) }

// Add records that the user with the given ordinal was active at the given
// time, and reports whether that is news for the day: false when the user was
// already counted on that local day.
func (a *Account) Add(ordinal uint32, at time.Time) bool {
	a.notePing(at)
	d := a.DayOf(at)
	if !a.addOnDay(d, ordinal) {
		return false
	}
	a.recent.note(ordinal, d)
	return true
}

func (a *Account) addOnDay(d Day, ordinal uint32) bool {
	if bm := a.live[d]; bm != nil {
		return bm.CheckedAdd(ordinal)
	}
	if i, ok := a.sealed.find(d); ok {
		// An event for a sealed day brings the whole day back to life, even
		// when the user is already counted: late events come in runs (a
		// backfill, an offline client), and decoding the day once beats
		// decoding it for every event. The next Compact reseals it.
		bm := a.sealed.bitmap(i)
		a.sealed.remove(i)
		a.setLive(d, bm)
		return bm.CheckedAdd(ordinal)
	}
	bm := roaring.New()
	bm.Add(ordinal)
	a.setLive(d, bm)
	return true
}

func (a *Account) setLive(d Day, bm *roaring.Bitmap) {
	if a.live == nil {
		a.live = make(map[Day]*roaring.Bitmap)
	}
	a.live[d] = bm
}

// RestoreFirstPing lowers the account's first usage ping to at when at is
// earlier (or sets it when there is none). Loading an index from a store calls
// it with the persisted value; Add keeps it current otherwise.
func (a *Account) RestoreFirstPing(at time.Time) { a.notePing(at) }

func (a *Account) notePing(at time.Time) {
	if a.firstPing.IsZero() || at.Before(a.firstPing) {
		a.firstPing = at.UTC()
	}
}

// FirstPing returns the time of the earliest event recorded for the account,
// and false when there has been none. DESIGN.md §3: the end-user onboarding
// campaign starts "at the first usage ping".
func (a *Account) FirstPing() (time.Time, bool) {
	return a.firstPing, !a.firstPing.IsZero()
}

// view returns day d's users, or nil when nobody was active. The result may
// be the live bitmap itself: callers must not modify it.
func (a *Account) view(d Day) *roaring.Bitmap {
	if bm := a.live[d]; bm != nil {
		return bm
	}
	if i, ok := a.sealed.find(d); ok {
		return a.sealed.bitmap(i)
	}
	return nil
}

// DAU returns the number of distinct users active on local day d.
func (a *Account) DAU(d Day) int {
	if bm := a.live[d]; bm != nil {
		return int(bm.GetCardinality())
	}
	if i, ok := a.sealed.find(d); ok {
		return encodedCardinality(a.sealed.bytes(i))
	}
	return 0
}

// sumDAU returns the sum of DAU over the days from through to, both
// included, reading sealed days' counts from their headers.
func (a *Account) sumDAU(from, to Day) int {
	if to < from {
		return 0
	}
	sum := 0
	if span := int64(to) - int64(from) + 1; span < int64(len(a.live)) {
		for d := from; d <= to; d++ {
			if bm := a.live[d]; bm != nil {
				sum += int(bm.GetCardinality())
			}
		}
	} else {
		for d, bm := range a.live {
			if d >= from && d <= to {
				sum += int(bm.GetCardinality())
			}
		}
	}
	lo, _ := a.sealed.find(from)
	for i := lo; i < len(a.sealed.days) && a.sealed.days[i] <= to; i++ {
		sum += encodedCardinality(a.sealed.bytes(i))
	}
	return sum
}

// MAU returns the number of distinct users active on any day of calendar
// month m: the union of its days, so a user active on twenty days counts once.
func (a *Account) MAU(m Month) int { return a.Actives(m.First(), m.Last()) }

// Actives returns the number of distinct users active on any day from
// through to, both included; zero when to is before from.
func (a *Account) Actives(from, to Day) int {
	return cardinality(a.between(from, to))
}

// Users returns the set of user ordinals active on any day from through to,
// both included, as a new bitmap the caller owns.
func (a *Account) Users(from, to Day) *roaring.Bitmap {
	bms := a.between(from, to)
	switch len(bms) {
	case 0:
		return roaring.New()
	case 1:
		return bms[0].Clone()
	}
	return roaring.FastOr(bms...)
}

// cardinality counts the union of read-only bitmaps.
func cardinality(bms []*roaring.Bitmap) int {
	switch len(bms) {
	case 0:
		return 0
	case 1:
		return int(bms[0].GetCardinality())
	case 2:
		return int(bms[0].OrCardinality(bms[1]))
	}
	return int(roaring.FastOr(bms...).GetCardinality())
}

// between returns the read-only bitmaps of the days in [from, to].
func (a *Account) between(from, to Day) []*roaring.Bitmap {
	if to < from {
		return nil
	}
	var out []*roaring.Bitmap
	// Short windows (a month, 30 days) look days up one by one; long ones
	// (a year of chart) walk the live map once instead.
	if span := int64(to) - int64(from) + 1; span <= int64(len(a.live)) || span <= 64 {
		for d := from; ; d++ {
			if bm := a.live[d]; bm != nil {
				out = append(out, bm)
			}
			if d == to {
				break
			}
		}
	} else {
		for d, bm := range a.live {
			if d >= from && d <= to {
				out = append(out, bm)
			}
		}
	}
	lo, _ := a.sealed.find(from)
	for i := lo; i < len(a.sealed.days) && a.sealed.days[i] <= to; i++ {
		out = append(out, a.sealed.bitmap(i))
	}
	return out
}

// Days returns every day with at least one active user, oldest first. A
// store persists one MarshalDay blob per day listed.
func (a *Account) Days() []Day {
	out := make([]Day, 0, len(a.live)+len(a.sealed.days))
	out = append(out, a.sealed.days...)
	for d := range a.live {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// MarshalDay returns day d's users in the portable Roaring format
// (https://github.com/RoaringBitmap/RoaringFormatSpec), which other Roaring
// implementations read too, PostgreSQL's roaringbitmap extension among them.
// A day without users encodes as the empty bitmap.
func (a *Account) MarshalDay(d Day) ([]byte, error) {
	if bm := a.live[d]; bm != nil {
		return encode(bm)
	}
	if i, ok := a.sealed.find(d); ok {
		return bytes.Clone(a.sealed.bytes(i)), nil
	}
	return roaring.New().ToBytes()
}

// encode serialises bm with run containers where they are smaller, without
// changing bm's own representation (readers may share it).
func encode(bm *roaring.Bitmap) ([]byte, error) {
	c := bm.Clone()
	c.RunOptimize()
	return c.ToBytes()
}

// UnmarshalDay adds the users in blob, as MarshalDay wrote it, to day d. It
// is a union, not a replacement, so loading a stored day after live events
// for it have arrived loses none of them. Corrupt input is an error and
// leaves the account unchanged.
func (a *Account) UnmarshalDay(d Day, blob []byte) error {
	bm, err := decode(blob)
	if err != nil {
		return fmt.Errorf("usage: day %s: %w", d, err)
	}
	if bm.IsEmpty() {
		return nil
	}
	a.orInto(d, bm)
	return nil
}

// decode reads a portable Roaring bitmap and checks it thoroughly: stored
// blobs outlive the code that wrote them, and a damaged row must come back
// as an error, not as a wrong count or a crash.
func decode(blob []byte) (bm *roaring.Bitmap, err error) {
	bm = roaring.New()
	// bytes.Reader makes roaring copy what it reads, so the bitmap never
	// aliases blob, which the caller may reuse.
	n, err := bm.ReadFrom(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("not a Roaring bitmap: %w", err)
	}
	if n != int64(len(blob)) {
		return nil, fmt.Errorf("not a Roaring bitmap: %d trailing bytes", int64(len(blob))-n)
	}
	if err := bm.Validate(); err != nil {
		return nil, fmt.Errorf("not a valid Roaring bitmap: %w", err)
	}
	return bm, nil
}

// orInto unions bm, which the account may keep, into day d.
func (a *Account) orInto(d Day, bm *roaring.Bitmap) {
	bm.Iterate(func(o uint32) bool {
		a.recent.note(o, d)
		return true
	})
	if cur := a.live[d]; cur != nil {
		cur.Or(bm)
		return
	}
	if i, ok := a.sealed.find(d); ok {
		cur := a.sealed.bitmap(i)
		a.sealed.remove(i)
		cur.Or(bm)
		bm = cur
	}
	a.setLive(d, bm)
}

// Merge adds everything b recorded to a: each day's users, the earlier first
// ping, and the earlier first use of each feature by the account and by each
// user. Both must index the same time zone and share one ordinal space (the
// same Ordinals allocator); merging an index with itself changes nothing.
func (a *Account) Merge(b *Account) error {
	if a == b || b == nil {
		return nil
	}
	if a.Location().String() != b.Location().String() {
		return fmt.Errorf("usage: cannot merge an index in %s into one in %s", b.Location(), a.Location())
	}
	for d, bm := range b.live {
		a.orInto(d, bm.Clone())
	}
	for i, d := range b.sealed.days {
		a.orInto(d, b.sealed.bitmap(i))
	}
	if !b.firstPing.IsZero() {
		a.notePing(b.firstPing)
	}
	for name, f := range b.features {
		a.mergeFeature(name, f)
	}
	return nil
}

// Compact seals every live day before the given day into the account's
// compact form, keeping later days live because late events for them are
// still likely. The engine calls it with yesterday (or the day before) after
// a flush; a day sealed too early costs only a re-encode when an event for it
// arrives. It fails only if Roaring cannot encode a bitmap.
func (a *Account) Compact(before Day) error {
	var seal []Day
	for d := range a.live {
		if d < before {
			seal = append(seal, d)
		}
	}
	if len(seal) == 0 && a.sealed.garbage == 0 {
		return nil
	}
	slices.Sort(seal)
	blobs := make([][]byte, len(seal))
	for i, d := range seal {
		b, err := encode(a.live[d])
		if err != nil {
			return fmt.Errorf("usage: compact day %s: %w", d, err)
		}
		blobs[i] = b
	}
	a.sealed.rebuild(seal, blobs)
	a.recent.clip()
	for _, d := range seal {
		delete(a.live, d)
	}
	if len(a.live) == 0 {
		a.live = nil
	} else {
		// A Go map never shrinks; after sealing most of a year, copy the few
		// live days into a map of their own size.
		a.live = maps.Clone(a.live)
	}
	return nil
}

// Forget drops the days before the given day from memory, sealed or live.
// A store that has persisted them (MarshalDay) calls it with Horizon(now) to
// keep only what the live metrics read, so that resident memory stays about
// two months of sets per account however long the history; the account page
// loads older days back with UnmarshalDay when it draws a year of chart. The
// first ping and feature first uses are kept.
func (a *Account) Forget(before Day) {
	a.recent.forget(before)
	for d := range a.live {
		if d < before {
			delete(a.live, d)
		}
	}
	if i, _ := a.sealed.find(before); i > 0 {
		for _, sp := range a.sealed.spans[:i] {
			a.sealed.garbage += int(sp.n)
		}
		a.sealed.days = a.sealed.days[i:]
		a.sealed.spans = a.sealed.spans[i:]
		a.sealed.rebuild(nil, nil)
	}
}

// sealedDays holds days in the portable Roaring format, back to back in one
// byte arena, so that a sealed day costs its encoded size plus twelve bytes
// of index instead of a bitmap's several small allocations.
type sealedDays struct {
	days  []Day  // ascending
	spans []span // spans[i] locates days[i] in arena
	arena []byte
	// garbage counts arena bytes of days removed since the last rebuild.
	garbage int
}

type span struct{ off, n uint32 }

// find returns the index of d, or where it would be inserted.
func (s *sealedDays) find(d Day) (int, bool) { return slices.BinarySearch(s.days, d) }

func (s *sealedDays) bytes(i int) []byte {
	sp := s.spans[i]
	return s.arena[sp.off : sp.off+sp.n : sp.off+sp.n]
}

// bitmap decodes day i into a new bitmap the caller owns. The arena holds
// only what encode wrote, so a failure here is memory corruption.
func (s *sealedDays) bitmap(i int) *roaring.Bitmap {
	bm := roaring.New()
	if _, err := bm.ReadFrom(bytes.NewReader(s.bytes(i))); err != nil {
		panic(fmt.Sprintf("usage: sealed day %s unreadable: %v", s.days[i], err))
	}
	return bm
}

// remove forgets day i; its bytes stay in the arena until the next rebuild.
func (s *sealedDays) remove(i int) {
	s.garbage += int(s.spans[i].n)
	s.days = slices.Delete(s.days, i, i+1)
	s.spans = slices.Delete(s.spans, i, i+1)
}

// rebuild writes a new, exactly sized arena holding the current sealed days
// and the given new ones (sorted, none already sealed). It always copies:
// days are sealed about once a day per account, and an exact fit is what
// makes sealing worth it.
func (s *sealedDays) rebuild(days []Day, blobs [][]byte) {
	size := len(s.arena) - s.garbage
	for _, b := range blobs {
		size += len(b)
	}
	n := len(s.days) + len(days)
	out := sealedDays{
		days:  make([]Day, 0, n),
		spans: make([]span, 0, n),
		arena: make([]byte, 0, size),
	}
	add := func(d Day, b []byte) {
		out.days = append(out.days, d)
		out.spans = append(out.spans, span{uint32(len(out.arena)), uint32(len(b))})
		out.arena = append(out.arena, b...)
	}
	i, j := 0, 0
	for i < len(s.days) || j < len(days) {
		if j == len(days) || (i < len(s.days) && s.days[i] < days[j]) {
			add(s.days[i], s.bytes(i))
			i++
		} else {
			add(days[j], blobs[j])
			j++
		}
	}
	*s = out
}
