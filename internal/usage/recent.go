package usage

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// recentUsers keeps, for each user of the account, the latest day they were
// active and the latest day they were active in an earlier calendar month
// than that. The two days are all the trailing windows and last month's MAU
// need: a user counts in the window from day s through today when their
// latest day is s or later, and in last month when their latest day is in
// it, or is in this month and the earlier one is in last month. Compute
// then makes one pass over the account's users instead of unioning up to 62
// day bitmaps (about 85% of its time before this table; the profile is in
// the commit that added it).
//
// The table is a function of the set of (user, day) pairs the account
// holds, whatever the order they came in: note keeps it so for every pair
// added, and forget for the days Forget drops. So Compute's answer from it
// equals the union of the day bitmaps, which it falls back to when the table
// cannot answer (days beyond today, or outside the range a refDay holds).
//
// It costs 8 bytes per user active since the last Forget, sorted by
// ordinal; an Add that is not news for its day does not touch it.
type recentUsers struct {
	users []userDays
	// latest is the latest day noted, or zero when none has been; Forget
	// does not lower it, so it is an upper bound of the latest day held.
	latest refDay
	// through is the index's today (Account.Compact), zero before one is
	// set: the table holds the days through it, and a later day is noted
	// when the index's today reaches it (Account.advance). Before a today
	// is set every day is noted.
	through refDay
	// off is set when a day outside refDay's range was noted; the table is
	// then dropped for good and Compute unions the days.
	off bool
}

type userDays struct {
	ordinal uint32
	// last is the user's latest active day; prev their latest active day in
	// a month before last's month, zero when there is none.
	last, prev refDay
}

// refDay is a Day counted from refBase, so that a user's two days fit in 4
// bytes: 1 is refBase, 0 means none. Its range, 1999-12-01 to 2179, holds
// every day of an event CheckTime accepts, in any time zone.
type refDay uint16

var refBase = dayFromCivil(1999, 12, 1)

// ref returns d as a refDay, and false when it is out of range.
func ref(d Day) (refDay, bool) {
	if d < refBase || int64(d)-int64(refBase) >= 1<<16-1 {
		return 0, false
	}
	return refDay(d - refBase + 1), true
}

func (r refDay) day() Day { return refBase + Day(r) - 1 }

// note records that the user was active on day d.
func (t *recentUsers) note(ordinal uint32, d Day) {
	if t.off {
		return
	}
	v, ok := ref(d)
	if !ok {
		*t = recentUsers{off: true}
		return
	}
	if t.through != 0 && v > t.through {
		return // after the index's today: noted when it gets there
	}
	t.latest = max(t.latest, v)
	i, found := slices.BinarySearchFunc(t.users, ordinal, compareOrdinal)
	if !found {
		t.users = slices.Insert(t.users, i, userDays{ordinal: ordinal, last: v})
		return
	}
	u := &t.users[i]
	if v == u.last {
		return
	}
	// Keep last = the latest day, prev = the latest day in a month before
	// last's, whatever order the days arrive in.
	switch dm, lm := d.Month(), u.last.day().Month(); {
	case dm > lm:
		u.prev, u.last = u.last, v
	case dm == lm:
		u.last = max(u.last, v)
	default:
		u.prev = max(u.prev, v)
	}
}

// forget drops the days before the given day, as Account.Forget drops them
// from the bitmaps: a user whose latest day is earlier goes, and an earlier
// month's day that is earlier becomes none (it was the latest of those
// months, so no later one remains).
func (t *recentUsers) forget(before Day) {
	if t.off || len(t.users) == 0 {
		return
	}
	b, ok := ref(before)
	if !ok {
		if before > refBase {
			t.users = nil // every day held is earlier
		}
		return
	}
	kept := t.users[:0]
	for _, u := range t.users {
		if u.last < b {
			continue
		}
		if u.prev < b {
			u.prev = 0
		}
		kept = append(kept, u)
	}
	t.users = kept
	t.clip()
}

// clip gives back the slack slices.Insert leaves when the table holds much
// less than its capacity.
func (t *recentUsers) clip() {
	if cap(t.users) > 64 && cap(t.users) > len(t.users)+len(t.users)/4 {
		t.users = slices.Clone(t.users)
	}
}

// counts are the distinct users Compute reads from the table.
type counts struct {
	active7, active30, monthToDate, lastMonth int
}

// count returns the windows' distinct users at today, and false when the
// table cannot tell: it is off, a day after today is held (a window ending
// today must not count it), or a window starts before refBase. When today
// is after the index's today, the days between are not in the table:
// Account.counts adds them.
func (t *recentUsers) count(today Day) (counts, bool) {
	if t.off {
		return counts{}, false
	}
	w, ok := windowsAt(today)
	if !ok || t.latest > w.today {
		return counts{}, false
	}
	var c counts
	for _, u := range t.users {
		c.add(w, u, 1)
	}
	return c, true
}

// windows are the first days of the windows ending today, as refDays.
type windows struct {
	today, s7, s30, month, lastMonth refDay
}

// windowsAt returns the windows ending today, and false when one starts
// before refBase or today is out of range.
func windowsAt(today Day) (windows, bool) {
	month := today.Month()
	if _, ok := ref(min((month - 1).First(), today-LongWindow+1)); !ok {
		return windows{}, false
	}
	now, ok := ref(today)
	if !ok {
		return windows{}, false
	}
	s7, _ := ref(today - ShortWindow + 1)
	s30, _ := ref(today - LongWindow + 1)
	sm, _ := ref(month.First())
	lm, _ := ref((month - 1).First())
	return windows{now, s7, s30, sm, lm}, true
}

// add counts n for each window the user's days fall in.
func (c *counts) add(w windows, u userDays, n int) {
	l := u.last
	c.active7 += n * b2i(l >= w.s7)
	c.active30 += n * b2i(l >= w.s30)
	c.monthToDate += n * b2i(l >= w.month)
	// Last month: the latest day is in it, or it is in this month and
	// the latest earlier-month day is in last month.
	c.lastMonth += n * b2i(inLastMonth(w, u))
}

func inLastMonth(w windows, u userDays) bool {
	return (u.last >= w.lastMonth && u.last < w.month) || (u.last >= w.month && u.prev >= w.lastMonth)
}

// find returns the user's row, and false when the table has none.
func (t *recentUsers) find(ordinal uint32) (userDays, bool) {
	i, ok := slices.BinarySearchFunc(t.users, ordinal, compareOrdinal)
	if !ok {
		return userDays{}, false
	}
	return t.users[i], true
}

func compareOrdinal(u userDays, o uint32) int { return cmp.Compare(u.ordinal, o) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The portable Roaring format's cookies
// (https://github.com/RoaringBitmap/RoaringFormatSpec).
const (
	serialCookieNoRuns = 12346
	serialCookie       = 12347
)

// encodedCardinality returns the number of values in a portable Roaring
// bitmap from its header alone (each container's cardinality less one), so
// that a sealed day's DAU costs no decoding.
func encodedCardinality(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	cookie := binary.LittleEndian.Uint32(b)
	var n int
	switch {
	case cookie == serialCookieNoRuns:
		n = int(binary.LittleEndian.Uint32(b[4:]))
		b = b[8:]
	case cookie&0xFFFF == serialCookie:
		n = int(cookie>>16) + 1
		b = b[4+(n+7)/8:]
	default:
		panic("usage: sealed day is not a portable Roaring bitmap")
	}
	card := 0
	for i := range n {
		card += int(binary.LittleEndian.Uint16(b[4*i+2:])) + 1
	}
	return card
}
