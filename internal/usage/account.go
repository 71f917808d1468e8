package usage

import (
	"bytes"
	"cmp"
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
// Days are kept in three forms. A day that may still change is live: a
// sorted slice of ordinals, or a Roaring bitmap once it has more than
// smallDay users (dayset.go). Compact seals older days into one byte arena
// per account in the portable Roaring format; a late event for a sealed day
// brings the day back to life until the next Compact. Every query reads
// both forms, so sealing never changes a result. Release keeps only the
// count of days the caller has stored (8 bytes a day instead of the set): the metrics need no
// more, because the windows' distinct users come from the per-user table
// (recent.go); what needs a released day's users (a late event for it, a
// union in a chart, Merge) has the caller load it back with UnmarshalDay.
//
// The zero Account indexes days in UTC. An Account is not safe for concurrent
// use: writers (Add, UseFeature, Merge, UnmarshalDay, Compact, Forget,
// RestoreFirstPing) need the caller's lock; readers may run concurrently
// with each other.
type Account struct {
	loc      *time.Location
	live     map[Day]*daySet
	sealed   sealedDays
	released releasedDays

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
// already counted on that local day. The day must not be released (Released):
// the caller loads a released day back with UnmarshalDay first, because only
// the stored set can say whether the user is news; Add panics otherwise.
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
	if s := a.live[d]; s != nil {
		return s.add(ordinal)
	}
	if i, ok := a.sealed.find(d); ok {
		// An event for a sealed day brings the whole day back to life, even
		// when the user is already counted: late events come in runs (a
		// backfill, an offline client), and decoding the day once beats
		// decoding it for every event. The next Compact reseals it.
		s := setOf(a.sealed.bitmap(i))
		a.sealed.remove(i)
		a.setLive(d, s)
		return s.add(ordinal)
	}
	if a.released.has(d) {
		panic(fmt.Sprintf("usage: Add for day %s, whose users were released from memory: UnmarshalDay it first", d))
	}
	a.setLive(d, &daySet{small: []uint32{ordinal}})
	return true
}

func (a *Account) setLive(d Day, s *daySet) {
	if a.live == nil {
		a.live = make(map[Day]*daySet)
	}
	a.live[d] = s
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
	if s := a.live[d]; s != nil {
		return s.bitmap()
	}
	if i, ok := a.sealed.find(d); ok {
		return a.sealed.bitmap(i)
	}
	return nil
}

// DAU returns the number of distinct users active on local day d.
func (a *Account) DAU(d Day) int {
	if s := a.live[d]; s != nil {
		return s.card()
	}
	if i, ok := a.sealed.find(d); ok {
		return encodedCardinality(a.sealed.bytes(i))
	}
	return a.released.count(d)
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
			if s := a.live[d]; s != nil {
				sum += s.card()
			}
		}
	} else {
		for d, s := range a.live {
			if d >= from && d <= to {
				sum += s.card()
			}
		}
	}
	lo, _ := a.sealed.find(from)
	for i := lo; i < len(a.sealed.days) && a.sealed.days[i] <= to; i++ {
		sum += encodedCardinality(a.sealed.bytes(i))
	}
	return sum + a.released.sum(from, to)
}

// MAU returns the number of distinct users active on any day of calendar
// month m: the union of its days, so a user active on twenty days counts once.
// MAU, Actives, Users and MAUSeries read the days' sets: released days in
// the range count as if nobody had been active, so a caller that releases
// days loads them back first (the engine's chart reads the stored days).
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
			if s := a.live[d]; s != nil {
				out = append(out, s.bitmap())
			}
			if d == to {
				break
			}
		}
	} else {
		for d, s := range a.live {
			if d >= from && d <= to {
				out = append(out, s.bitmap())
			}
		}
	}
	lo, _ := a.sealed.find(from)
	for i := lo; i < len(a.sealed.days) && a.sealed.days[i] <= to; i++ {
		out = append(out, a.sealed.bitmap(i))
	}
	return out
}

// Days returns every day with at least one active user, oldest first,
// released days included. A store persists one MarshalDay blob per day
// listed that is not released.
func (a *Account) Days() []Day {
	out := make([]Day, 0, len(a.live)+len(a.sealed.days)+len(a.released.days))
	out = append(out, a.sealed.days...)
	for d := range a.live {
		out = append(out, d)
	}
	for _, c := range a.released.days {
		out = append(out, c.day)
	}
	slices.Sort(out)
	return out
}

// Holds reports whether the index has day d in any form: its set, or its
// count after Release.
func (a *Account) Holds(d Day) bool {
	if a.live[d] != nil || a.released.has(d) {
		return true
	}
	_, ok := a.sealed.find(d)
	return ok
}

// Released reports whether day d's users were released from memory
// (Release), so that only its count is held.
func (a *Account) Released(d Day) bool { return a.released.has(d) }

// MarshalDay returns day d's users in the portable Roaring format
// (https://github.com/RoaringBitmap/RoaringFormatSpec), which other Roaring
// implementations read too, PostgreSQL's roaringbitmap extension among them.
// A day without users encodes as the empty bitmap; a released day is an
// error, since its users are only in the store.
func (a *Account) MarshalDay(d Day) ([]byte, error) {
	if s := a.live[d]; s != nil {
		return s.encode()
	}
	if i, ok := a.sealed.find(d); ok {
		return bytes.Clone(a.sealed.bytes(i)), nil
	}
	if a.released.has(d) {
		return nil, fmt.Errorf("usage: day %s was released from memory; its users are in the store", d)
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
// for it have arrived loses none of them. A released day takes the blob as
// its set: it was released once stored, so the store's set is the whole of
// it. Corrupt input is an error and leaves the account unchanged.
func (a *Account) UnmarshalDay(d Day, blob []byte) error {
	bm, err := decode(blob)
	if err != nil {
		return fmt.Errorf("usage: day %s: %w", d, err)
	}
	if a.released.has(d) {
		a.released.remove(d)
		if bm.IsEmpty() {
			return nil
		}
		a.orInto(d, bm)
		return nil
	}
	if bm.IsEmpty() {
		return nil
	}
	a.orInto(d, bm)
	return nil
}

// RestoreDay loads a stored day the caller does not expect to change
// straight into its released form: its users enter the per-user table and
// only its count stays, so that loading two months of stored days costs no
// sets. A day after the index's today (Compact), or one the index holds as
// a set, is loaded as UnmarshalDay loads it.
func (a *Account) RestoreDay(d Day, blob []byte) error {
	if !a.releasable(d) || a.live[d] != nil {
		return a.UnmarshalDay(d, blob)
	}
	if _, ok := a.sealed.find(d); ok {
		return a.UnmarshalDay(d, blob)
	}
	bm, err := decode(blob)
	if err != nil {
		return fmt.Errorf("usage: day %s: %w", d, err)
	}
	a.released.remove(d)
	if bm.IsEmpty() {
		return nil
	}
	bm.Iterate(func(o uint32) bool {
		a.recent.note(o, d)
		return true
	})
	a.released.set(d, int(bm.GetCardinality()))
	return nil
}

// releasable reports whether day d may be held as a count only: the
// per-user table must hold its users, so the table must be on and d no
// later than the index's today.
func (a *Account) releasable(d Day) bool {
	t := a.recent
	if t.off || t.through == 0 {
		return false
	}
	v, ok := ref(d)
	return ok && v <= t.through
}

// Release drops from memory the sets of the days before the given day,
// keeping their counts: the caller has stored them (MarshalDay) and loads
// one back with UnmarshalDay before an event for it is added. The engine
// releases the days before yesterday at each day change, once they are
// saved, so an account holds the sets of yesterday and today only. Days
// after the index's today (Compact) are never released, nor anything when
// the per-user table is off, since Compute would then need the sets.
func (a *Account) Release(before Day) {
	for d, s := range a.live {
		if d < before && a.releasable(d) {
			a.released.set(d, s.card())
			delete(a.live, d)
		}
	}
	n := 0
	for i, d := range a.sealed.days {
		if d >= before || !a.releasable(d) {
			break
		}
		a.released.set(d, encodedCardinality(a.sealed.bytes(i)))
		n++
	}
	if n > 0 {
		for _, sp := range a.sealed.spans[:n] {
			a.sealed.garbage += int(sp.n)
		}
		a.sealed.days = a.sealed.days[n:]
		a.sealed.spans = a.sealed.spans[n:]
		a.sealed.rebuild(nil, nil)
	}
	if len(a.live) == 0 {
		a.live = nil
	}
	a.released.clip()
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

// orInto unions bm, which the account may keep, into day d, which is not
// released.
func (a *Account) orInto(d Day, bm *roaring.Bitmap) {
	bm.Iterate(func(o uint32) bool {
		a.recent.note(o, d)
		return true
	})
	if cur := a.live[d]; cur != nil {
		cur.or(bm)
		return
	}
	if i, ok := a.sealed.find(d); ok {
		cur := a.sealed.bitmap(i)
		a.sealed.remove(i)
		cur.Or(bm)
		bm = cur
	}
	a.setLive(d, setOf(bm))
}

// Merge adds everything b recorded to a: each day's users, the earlier first
// ping, and the earlier first use of each feature by the account and by each
// user. Both must index the same time zone and share one ordinal space (the
// same Ordinals allocator); merging an index with itself changes nothing.
// Sets cannot be unioned with counts: a day released in either index must
// be held as a set by a (the engine's chart loads every stored day into a
// fresh index and merges the live one into it), else Merge fails and
// changes nothing.
func (a *Account) Merge(b *Account) error {
	if a == b || b == nil {
		return nil
	}
	if a.Location().String() != b.Location().String() {
		return fmt.Errorf("usage: cannot merge an index in %s into one in %s", b.Location(), a.Location())
	}
	for _, c := range b.released.days {
		if _, sealed := a.sealed.find(c.day); !sealed && a.live[c.day] == nil {
			return fmt.Errorf("usage: cannot merge day %s, whose users were released from memory, into an index without them", c.day)
		}
	}
	for d := range b.live {
		if a.released.has(d) {
			return fmt.Errorf("usage: cannot merge into day %s, whose users were released from memory: UnmarshalDay it first", d)
		}
	}
	for _, d := range b.sealed.days {
		if a.released.has(d) {
			return fmt.Errorf("usage: cannot merge into day %s, whose users were released from memory: UnmarshalDay it first", d)
		}
	}
	for d, s := range b.live {
		a.orInto(d, s.owned())
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
// still likely. The engine calls it with today at each day change; a day
// sealed too early costs only a re-encode when an event for it arrives. It
// fails only if Roaring cannot encode a bitmap.
//
// The day is also the index's today from then on (it never moves back): the
// per-user table counts the days through it, and a day after it — an event
// from a client whose clock runs ahead — joins the table when a later
// Compact reaches it, so that windows ending today never count it. Compute
// for a later day reads such days from their sets. Compute for a day before
// the index's today, when someone was active after it, unions the days'
// sets instead, in which released days count as nobody: an index whose
// days are released answers for its today and later (the engine's clock
// does not go back).
func (a *Account) Compact(before Day) error {
	a.advance(before)
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
		b, err := a.live[d].encode()
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
	a.released.forget(before)
	if i, _ := a.sealed.find(before); i > 0 {
		for _, sp := range a.sealed.spans[:i] {
			a.sealed.garbage += int(sp.n)
		}
		a.sealed.days = a.sealed.days[i:]
		a.sealed.spans = a.sealed.spans[i:]
		a.sealed.rebuild(nil, nil)
	}
}

// advance makes today the index's today (see Compact): the days after the
// old today through the new one join the per-user table. The first time,
// the table is rebuilt without later days if it holds any; nothing is
// released before a today is set, so every day's set is at hand.
func (a *Account) advance(today Day) {
	t := &a.recent
	v, ok := ref(today)
	if t.off || !ok || v <= t.through {
		return
	}
	old := t.through
	t.through = v
	if old == 0 {
		if t.latest <= v {
			return
		}
		// Days after today were noted before there was a today: start
		// again from the sets, all held, leaving them out.
		*t = recentUsers{through: v}
		a.noteDays(refBase, today)
		return
	}
	a.noteDays(old.day()+1, today)
}

// noteDays enters the users of the days held as sets from through to into
// the per-user table.
func (a *Account) noteDays(from, to Day) {
	note := func(d Day, bm *roaring.Bitmap) {
		bm.Iterate(func(o uint32) bool {
			a.recent.note(o, d)
			return true
		})
	}
	for d, s := range a.live {
		if d >= from && d <= to {
			s.each(func(o uint32) { a.recent.note(o, d) })
		}
	}
	lo, _ := a.sealed.find(from)
	for i := lo; i < len(a.sealed.days) && a.sealed.days[i] <= to; i++ {
		note(a.sealed.days[i], a.sealed.bitmap(i))
	}
}

// releasedDays holds the counts of released days, ascending by day: 8
// bytes a day.
type releasedDays struct {
	days []dayCount
}

type dayCount struct {
	day Day
	n   uint32
}

func (r *releasedDays) find(d Day) (int, bool) {
	return slices.BinarySearchFunc(r.days, d, func(c dayCount, d Day) int { return cmp.Compare(c.day, d) })
}

func (r *releasedDays) has(d Day) bool {
	_, ok := r.find(d)
	return ok
}

func (r *releasedDays) count(d Day) int {
	if i, ok := r.find(d); ok {
		return int(r.days[i].n)
	}
	return 0
}

// sum returns the sum of the counts of the days from through to.
func (r *releasedDays) sum(from, to Day) int {
	i, _ := r.find(from)
	n := 0
	for ; i < len(r.days) && r.days[i].day <= to; i++ {
		n += int(r.days[i].n)
	}
	return n
}

func (r *releasedDays) set(d Day, n int) {
	i, ok := r.find(d)
	if ok {
		r.days[i].n = uint32(n)
		return
	}
	r.days = slices.Insert(r.days, i, dayCount{d, uint32(n)})
}

func (r *releasedDays) remove(d Day) {
	if i, ok := r.find(d); ok {
		r.days = slices.Delete(r.days, i, i+1)
	}
}

// forget drops the days before the given day.
func (r *releasedDays) forget(before Day) {
	if i, _ := r.find(before); i > 0 {
		r.days = slices.Delete(r.days, 0, i)
		r.clip()
	}
}

// clip gives back slack when the days hold much less than their capacity.
func (r *releasedDays) clip() {
	if len(r.days) == 0 {
		r.days = nil
	} else if cap(r.days) > len(r.days)+len(r.days)/4+4 {
		r.days = slices.Clone(r.days)
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
