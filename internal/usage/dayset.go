package usage

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// smallDay is how many users a live day holds as a sorted slice before it
// becomes a Roaring bitmap.
//
// Ordinals are global, handed out in first-seen order across the whole
// workspace, so one account's users are scattered over the ordinal space:
// in a Roaring bitmap nearly every user of a small account gets a container
// of its own, about 60 bytes a user-day (a key, an interface, a container
// struct and its array), where a sorted slice costs 4. A large day fills
// its containers, Roaring costs about 2 bytes a user there, and a slice's
// inserts would move kilobytes each; smallDay is where the two meet, an
// insert moving at most 16 KiB.
const smallDay = 4096

// daySet is the users of one live day: a sorted slice of ordinals while
// the day is small, a Roaring bitmap once it is large (smallDay). It never
// goes back to a slice: a day that was large stays so until it is sealed.
type daySet struct {
	small []uint32        // ascending, when large is nil
	large *roaring.Bitmap // when the day outgrew smallDay
}

// setOf returns a day holding bm's users. It may keep bm.
func setOf(bm *roaring.Bitmap) *daySet {
	if bm.GetCardinality() > smallDay {
		return &daySet{large: bm}
	}
	return &daySet{small: bm.ToArray()}
}

// add adds ordinal o, and reports whether it was not there yet.
func (s *daySet) add(o uint32) bool {
	if s.large != nil {
		return s.large.CheckedAdd(o)
	}
	i, found := slices.BinarySearch(s.small, o)
	if found {
		return false
	}
	if len(s.small) == smallDay {
		s.large = roaring.BitmapOf(s.small...)
		s.small = nil
		s.large.Add(o)
		return true
	}
	s.small = slices.Insert(s.small, i, o)
	return true
}

// card returns how many users the day has.
func (s *daySet) card() int {
	if s.large != nil {
		return int(s.large.GetCardinality())
	}
	return len(s.small)
}

// each calls fn with every ordinal, ascending.
func (s *daySet) each(fn func(uint32)) {
	if s.large != nil {
		s.large.Iterate(func(o uint32) bool {
			fn(o)
			return true
		})
		return
	}
	for _, o := range s.small {
		fn(o)
	}
}

// bitmap returns the day as a bitmap the caller must not modify: the
// day's own when it is large, a new one otherwise.
func (s *daySet) bitmap() *roaring.Bitmap {
	if s.large != nil {
		return s.large
	}
	return roaring.BitmapOf(s.small...)
}

// owned returns the day as a new bitmap the caller owns.
func (s *daySet) owned() *roaring.Bitmap {
	if s.large != nil {
		return s.large.Clone()
	}
	return roaring.BitmapOf(s.small...)
}

// or adds bm's users to the day.
func (s *daySet) or(bm *roaring.Bitmap) {
	if s.large != nil {
		s.large.Or(bm)
		return
	}
	if n := len(s.small) + int(bm.GetCardinality()); n > smallDay {
		s.large = roaring.BitmapOf(s.small...)
		s.small = nil
		s.large.Or(bm)
		return
	}
	s.small = mergeSorted(s.small, bm.ToArray())
}

// clone returns a copy sharing nothing with s.
func (s *daySet) clone() *daySet {
	if s.large != nil {
		return &daySet{large: s.large.Clone()}
	}
	return &daySet{small: slices.Clone(s.small)}
}

// encode writes the day in the portable Roaring format, with run
// containers where they are smaller.
func (s *daySet) encode() ([]byte, error) {
	if s.large != nil {
		return encode(s.large)
	}
	bm := roaring.BitmapOf(s.small...)
	bm.RunOptimize()
	return bm.ToBytes()
}

// mergeSorted returns the union of two ascending slices, ascending and
// without repeats, in a new slice.
func mergeSorted(a, b []uint32) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
