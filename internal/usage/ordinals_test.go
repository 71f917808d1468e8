package usage

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/tendhq/tend/internal/derrors"
)

func TestOrdinalsAreDenseInFirstSeenOrder(t *testing.T) {
	t.Parallel()
	var o Ordinals // the zero value is ready
	ids := []string{"user-b", "anon-7f3a", "user-a", "user-b", "Ünïcode", "user-a"}
	want := []struct {
		ord   uint32
		added bool
	}{{0, true}, {1, true}, {2, true}, {0, false}, {3, true}, {2, false}}
	for i, id := range ids {
		ord, added, err := o.Ordinal(id)
		if err != nil || ord != want[i].ord || added != want[i].added {
			t.Errorf("Ordinal(%q) = %d, %v, %v; want %d, %v", id, ord, added, err, want[i].ord, want[i].added)
		}
	}
	if o.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", o.Len())
	}
	if id, ok := o.ID(3); !ok || id != "Ünïcode" {
		t.Errorf("ID(3) = %q, %v", id, ok)
	}
	if _, ok := o.ID(4); ok {
		t.Error("ID(4) exists")
	}
	if n, ok := o.Lookup("anon-7f3a"); !ok || n != 1 {
		t.Errorf("Lookup = %d, %v", n, ok)
	}
	if _, ok := o.Lookup("nobody"); ok || o.Len() != 4 {
		t.Error("Lookup allocated")
	}
	if got := o.IDs(2); !slices.Equal(got, []string{"user-a", "Ünïcode"}) {
		t.Errorf("IDs(2) = %v", got)
	}
	if o.IDs(4) != nil || o.IDs(-1) != nil {
		t.Error("IDs out of range is not nil")
	}
}

func TestOrdinalsCopyTheID(t *testing.T) {
	t.Parallel()
	var o Ordinals
	buf := []byte(`{"userId":"u-123"}`)
	id := unsafeString(buf[11:16])
	if _, _, err := o.Ordinal(id); err != nil {
		t.Fatal(err)
	}
	copy(buf[11:], "XXXXX") // the request buffer is reused
	if got, _ := o.ID(0); got != "u-123" {
		t.Fatalf("stored id changed with the caller's buffer: %q", got)
	}
	if _, ok := o.Lookup("u-123"); !ok {
		t.Fatal("lookup by the original id fails")
	}
}

func TestOrdinalsRejectBadIDs(t *testing.T) {
	t.Parallel()
	var o Ordinals
	for _, bad := range []string{"", strings.Repeat("x", MaxUserID+1), "\xc3\x28"} {
		_, _, err := o.Ordinal(bad)
		if derrors.CodeOf(err) != derrors.Invalid || derrors.Public(err).Field != "userId" {
			t.Errorf("Ordinal(%.20q) = %v, want an invalid-input error on field userId", bad, err)
		}
	}
	if o.Len() != 0 {
		t.Fatal("a rejected id took an ordinal")
	}
	if _, err := OrdinalsOf("a", "b", "a"); err == nil {
		t.Error("OrdinalsOf accepted a repeated id")
	}
	if _, err := OrdinalsOf("a", ""); err == nil {
		t.Error("OrdinalsOf accepted an empty id")
	}
}

func TestOrdinalsBinary(t *testing.T) {
	t.Parallel()
	o, err := OrdinalsOf("alice", "bob", strings.Repeat("long-", 60), "Ünïcode")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Ordinals
	if err := back.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.IDs(0), o.IDs(0)) {
		t.Fatalf("round trip = %v", back.IDs(0))
	}
	if n, _, _ := back.Ordinal("carol"); n != 4 {
		t.Fatalf("after a round trip the next ordinal is %d, want 4", n)
	}

	var empty Ordinals
	eb, _ := empty.MarshalBinary()
	if err := back.UnmarshalBinary(eb); err != nil || back.Len() != 0 {
		t.Fatalf("empty round trip: %v, %d ids", err, back.Len())
	}

	bad := map[string][]byte{
		"empty":          {},
		"version 2":      append([]byte{2}, blob[1:]...),
		"truncated":      blob[:len(blob)-1],
		"trailing bytes": append(slices.Clone(blob), 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a'},
		"duplicate id":   {1, 2, 1, 'a', 1, 'a'},
		"empty id":       {1, 1, 0, 0},
		"over-long zero": {1, 0x80, 0x00}, // found by FuzzOrdinalsUnmarshal
		"over-long len":  {1, 1, 0x81, 0x00, 'a'},
		"bad length":     {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'},
	}
	for name, b := range bad {
		keep, _ := OrdinalsOf("kept")
		if err := keep.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: UnmarshalBinary accepted it", name)
		}
		if keep.Len() != 1 {
			t.Errorf("%s: a failed UnmarshalBinary changed the allocator", name)
		}
	}
}

// unsafeString views b as a string without copying, as zero-copy request
// decoders do.
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
