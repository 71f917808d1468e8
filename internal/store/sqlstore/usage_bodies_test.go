package sqlstore

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPackBodies(t *testing.T) {
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	batch := []byte(strings.Repeat(`{"type":"track","event":"Search Performed","context":{"groupId":"acct-0042"},"properties":{"results":17}}`, 100))
	for _, c := range []struct {
		name   string
		raw    []byte
		packed bool // stored packed, else as is
	}{
		{"empty", []byte{}, false},
		{"a batch of JSON packs", batch, true},
		{"one short body stays as it is", []byte(`{}`), false},
		{"bytes that do not pack stay as they are", random, false},
		// Bodies are stored as given: one that begins with the marker
		// must not read back as packed, so it is packed though larger.
		{"a body beginning with the marker is packed", append([]byte{packedBodies}, random...), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored := packBodies(c.raw)
			if got := len(stored) > 0 && stored[0] == packedBodies; got != c.packed {
				t.Errorf("packed = %v, want %v (%d bytes from %d)", got, c.packed, len(stored), len(c.raw))
			}
			if c.packed && c.raw[0] != packedBodies && len(stored) >= len(c.raw) {
				t.Errorf("packed to %d bytes from %d", len(stored), len(c.raw))
			}
			if !c.packed && (!bytes.Equal(stored, c.raw) || len(c.raw) > 0 && &stored[0] == &c.raw[0]) {
				t.Errorf("stored as is should be a copy of raw")
			}
			back, err := unpackBodies(stored)
			if err != nil || !bytes.Equal(back, c.raw) || back == nil {
				t.Errorf("unpacked %d bytes (%v), want the %d given", len(back), err, len(c.raw))
			}
		})
	}
	// Packing works in a shared buffer: a second run must not change the
	// first's stored bytes.
	first := packBodies(batch)
	keep := bytes.Clone(first)
	packBodies(bytes.Repeat([]byte(`{"x":1}`), 500))
	if !bytes.Equal(first, keep) {
		t.Error("packing another run changed the first's stored bytes")
	}
}

func TestUnpackBodiesCorrupt(t *testing.T) {
	stored := packBodies([]byte(strings.Repeat(`{"type":"page"}`, 50)))
	_, err := unpackBodies(stored[:len(stored)-3])
	if err == nil || !strings.Contains(err.Error(), "packed bodies") {
		t.Errorf("a cut packed column: %v, want an error naming the packed bodies", err)
	}
	r := batchRow{firstSeq: 7, lastSeq: 7, keys: []byte(`[["m","track","u",null,"x",0,15]]`), bodies: stored[:len(stored)-3]}
	if _, err := r.events(0, nil); err == nil || !strings.Contains(err.Error(), "usage_batches row 7") {
		t.Errorf("reading the row: %v, want an error naming usage_batches row 7", err)
	}
}
