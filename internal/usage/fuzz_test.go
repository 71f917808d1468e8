package usage

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// dayBlobSeeds are valid day blobs of every container kind, and damaged
// variants of them, for the fuzzer to start from.
func dayBlobSeeds(t testing.TB) [][]byte {
	array := roaring.BitmapOf(0, 1, 7, 4000, 65535)
	run := roaring.New()
	run.AddRange(0, 5000)
	run.RunOptimize()
	dense := roaring.New()
	for u := uint32(0); u < 20000; u += 3 {
		dense.Add(u) // more than 4,096 values: a bitmap container
	}
	multi := roaring.BitmapOf(1, 1<<16, 1<<20, 1<<31, 1<<32-1)
	var out [][]byte
	for _, bm := range []*roaring.Bitmap{roaring.New(), array, run, dense, multi} {
		b, err := bm.ToBytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b, b[:len(b)/2], append(slices.Clone(b), 1, 2, 3))
		if len(b) > 6 {
			flipped := slices.Clone(b)
			flipped[5] ^= 0xff // the container count or a run flag
			out = append(out, flipped)
		}
	}
	return append(out, nil, []byte{0x3b, 0x30}, []byte{0x3a, 0x30, 0, 0, 0xff, 0xff, 0xff, 0xff}, unsortedKeys())
}

// FuzzUnmarshalDay feeds arbitrary bytes to UnmarshalDay, as a damaged store
// row would: it must return an error or a day that re-encodes to the same
// users, never panic, and never touch other days. Run it longer with
// go test -fuzz=FuzzUnmarshalDay ./internal/usage/.
func FuzzUnmarshalDay(f *testing.F) {
	for _, seed := range dayBlobSeeds(f) {
		f.Add(seed)
	}
	at := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, blob []byte) {
		a := NewAccount(time.UTC)
		a.Add(42, at.AddDate(0, 0, -1))
		d := a.DayOf(at)
		if err := a.UnmarshalDay(d, blob); err != nil {
			if len(a.Days()) != 1 || a.DAU(d) != 0 {
				t.Fatalf("a rejected blob changed the account: days %v", a.Days())
			}
			return
		}
		if a.DAU(d-1) != 1 {
			t.Fatal("loading one day changed another")
		}
		again, err := a.MarshalDay(d)
		if err != nil {
			t.Fatal(err)
		}
		b := NewAccount(time.UTC)
		if err := b.UnmarshalDay(d, again); err != nil {
			t.Fatalf("re-encoded day does not load: %v", err)
		}
		if b.DAU(d) != a.DAU(d) || !b.Users(d, d).Equals(a.Users(d, d)) {
			t.Fatalf("re-encoded day has %d users, loaded %d", b.DAU(d), a.DAU(d))
		}
		// Sealing and reading back must agree too.
		if err := a.Compact(d + 1); err != nil {
			t.Fatal(err)
		}
		if !a.Users(d, d).Equals(b.Users(d, d)) {
			t.Fatal("sealed day differs from the loaded one")
		}
	})
}

// FuzzOrdinalsUnmarshal does the same for the user-id allocator's blob.
func FuzzOrdinalsUnmarshal(f *testing.F) {
	o, _ := OrdinalsOf("alice", "bob", "Ünïcode")
	good, _ := o.MarshalBinary()
	for _, seed := range [][]byte{good, good[:5], {1, 0}, {}, {2}, {1, 0xff, 0xff, 0xff, 0xff, 0x0f}, {1, 2, 1, 'a', 1, 'a'}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		var o Ordinals
		if err := o.UnmarshalBinary(blob); err != nil {
			return
		}
		again, err := o.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, blob) {
			t.Fatalf("accepted %x but re-encodes as %x", blob, again)
		}
		for i := range o.Len() {
			id, _ := o.ID(uint32(i))
			if n, ok := o.Lookup(id); !ok || n != uint32(i) {
				t.Fatalf("id %q: ordinal %d, lookup %d", id, i, n)
			}
		}
	})
}
