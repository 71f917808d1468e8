package usage

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestDaySetAgreesWithAMap adds, unions and encodes days of every size
// around smallDay, where a day turns from a slice into a bitmap, and
// checks each against a plain set.
func TestDaySetAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, n := range []int{1, 2, 100, smallDay - 1, smallDay, smallDay + 1, 3 * smallDay} {
		s := &daySet{small: []uint32{}}
		want := map[uint32]bool{}
		for range n {
			// Scattered over the ordinal space as global ordinals are, with
			// repeats.
			o := rng.Uint32N(uint32(2 * n * 1000))
			if got := s.add(o); got != !want[o] {
				t.Fatalf("n=%d: add(%d) = %v with it already there: %v", n, o, got, want[o])
			}
			want[o] = true
		}
		check := func(what string, s *daySet) {
			t.Helper()
			if s.card() != len(want) {
				t.Fatalf("n=%d, %s: card %d, want %d", n, what, s.card(), len(want))
			}
			var got []uint32
			s.each(func(o uint32) { got = append(got, o) })
			if !slices.IsSorted(got) || len(got) != len(want) {
				t.Fatalf("n=%d, %s: each gave %d ordinals, sorted %v; want %d", n, what, len(got), slices.IsSorted(got), len(want))
			}
			for _, o := range got {
				if !want[o] {
					t.Fatalf("n=%d, %s: %d is not in the day", n, what, o)
				}
			}
			blob, err := s.encode()
			if err != nil {
				t.Fatal(err)
			}
			bm, err := decode(blob)
			if err != nil {
				t.Fatalf("n=%d, %s: encoded day does not decode: %v", n, what, err)
			}
			if !bm.Equals(s.bitmap()) || !bm.Equals(s.owned()) || int(bm.GetCardinality()) != len(want) {
				t.Fatalf("n=%d, %s: encoded, bitmap and owned days differ", n, what)
			}
		}
		check("added", s)
		if large := s.large != nil; large != (len(want) > smallDay) {
			t.Errorf("n=%d: %d users held as a bitmap: %v", n, len(want), large)
		}

		before := s.card()
		c := s.clone()
		other := roaring.New()
		for range n {
			o := rng.Uint32N(uint32(2 * n * 1000))
			other.Add(o)
			want[o] = true
		}
		c.or(other)
		check("unioned", c)
		if c.large == nil && len(want) > smallDay {
			t.Errorf("n=%d: a union of %d users is still a slice", n, len(want))
		}
		// The clone shares nothing: s is as it was.
		if s.card() != before {
			t.Errorf("n=%d: the union into a clone changed the original: %d users, was %d", n, s.card(), before)
		}
		o := s.owned()
		o.Add(1<<32 - 1)
		if s.bitmap().Contains(1<<32 - 1) {
			t.Errorf("n=%d: owned shares the day's bitmap", n)
		}
	}
}

func TestMergeSorted(t *testing.T) {
	for _, c := range []struct{ a, b, want []uint32 }{
		{nil, nil, []uint32{}},
		{[]uint32{1, 3}, nil, []uint32{1, 3}},
		{nil, []uint32{2}, []uint32{2}},
		{[]uint32{1, 3, 5}, []uint32{2, 3, 6, 7}, []uint32{1, 2, 3, 5, 6, 7}},
		{[]uint32{4}, []uint32{4}, []uint32{4}},
	} {
		if got := mergeSorted(c.a, c.b); !slices.Equal(got, c.want) {
			t.Errorf("mergeSorted(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
