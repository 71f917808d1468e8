package usage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
)

// MaxUserID is the longest user id Ordinals accepts, in bytes. Segment sets no
// limit short of its 32 KB event size; ids longer than this are not ids.
const MaxUserID = 1024

// Ordinals maps the product's user ids (Segment userId or anonymousId, any
// string) to dense ordinals 0, 1, 2, … in first-seen order, the form the day
// bitmaps store. Keep one Ordinals per account: an account's ordinals then
// run 0..n-1 for its n users and its day bitmaps stay a few bytes per user,
// whereas a global numbering would scatter each account's users over the
// whole range and multiply the bitmaps' size.
//
// Ordinals is pure and serialisable (MarshalBinary); it is not safe for
// concurrent use.
type Ordinals struct {
	ids   []string
	index map[string]uint32
}

// OrdinalsOf returns an allocator in which ids[i] has ordinal i, for
// rebuilding one from stored rows. Empty, over-long, non-UTF-8 or repeated
// ids are an error.
func OrdinalsOf(ids ...string) (*Ordinals, error) {
	o := &Ordinals{ids: make([]string, 0, len(ids)), index: make(map[string]uint32, len(ids))}
	for i, id := range ids {
		if err := checkUserID(id); err != nil {
			return nil, fmt.Errorf("usage: ordinal %d: %w", i, err)
		}
		if _, dup := o.index[id]; dup {
			return nil, fmt.Errorf("usage: ordinal %d: user id %q already has ordinal %d", i, id, o.index[id])
		}
		o.add(id)
	}
	return o, nil
}

// Ordinal returns the user's ordinal, allocating the next one when the id is
// new, and reports whether it was. The id is copied, so it may be a view into
// a request buffer.
func (o *Ordinals) Ordinal(id string) (ordinal uint32, added bool, err error) {
	if n, ok := o.index[id]; ok {
		return n, false, nil
	}
	if err := checkUserID(id); err != nil {
		return 0, false, err
	}
	if uint64(len(o.ids)) > math.MaxUint32 {
		return 0, false, derrors.New(derrors.Unprocessable, "the account has %d users, the most an index can count", len(o.ids))
	}
	return o.add(strings.Clone(id)), true, nil
}

func (o *Ordinals) add(id string) uint32 {
	if o.index == nil {
		o.index = make(map[string]uint32)
	}
	n := uint32(len(o.ids))
	o.ids = append(o.ids, id)
	o.index[id] = n
	return n
}

func checkUserID(id string) error {
	switch {
	case id == "":
		return derrors.Field(derrors.Invalid, "userId", "is empty; an event needs a userId or an anonymousId")
	case len(id) > MaxUserID:
		return derrors.Field(derrors.Invalid, "userId", "is %d bytes long; the limit is %d", len(id), MaxUserID)
	case !utf8.ValidString(id):
		return derrors.Field(derrors.Invalid, "userId", "is not valid UTF-8")
	}
	return nil
}

// Lookup returns the ordinal of a known user id without allocating one.
func (o *Ordinals) Lookup(id string) (uint32, bool) {
	n, ok := o.index[id]
	return n, ok
}

// ID returns the user id with the given ordinal.
func (o *Ordinals) ID(ordinal uint32) (string, bool) {
	if uint64(ordinal) >= uint64(len(o.ids)) {
		return "", false
	}
	return o.ids[ordinal], true
}

// Len returns how many ordinals have been allocated; the next one is Len().
func (o *Ordinals) Len() int { return len(o.ids) }

// IDs returns the user ids with ordinals from onwards, in ordinal order: a
// store appends just these rows after a flush.
func (o *Ordinals) IDs(from int) []string {
	if from < 0 || from >= len(o.ids) {
		return nil
	}
	return append([]string(nil), o.ids[from:]...)
}

// ordinalsVersion is the first byte of the binary form, so that the format
// can change without misreading old blobs.
const ordinalsVersion = 1

// MarshalBinary encodes the allocator: a version byte, the number of ids,
// then each id as a length and its bytes (unsigned varints).
func (o *Ordinals) MarshalBinary() ([]byte, error) {
	size := 1 + binary.MaxVarintLen64
	for _, id := range o.ids {
		size += binary.MaxVarintLen32 + len(id)
	}
	b := make([]byte, 0, size)
	b = append(b, ordinalsVersion)
	b = binary.AppendUvarint(b, uint64(len(o.ids)))
	for _, id := range o.ids {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	return b, nil
}

var errOrdinalsTruncated = errors.New("usage: ordinals blob is truncated")

// UnmarshalBinary replaces o with the allocator MarshalBinary encoded. It
// checks everything (version, lengths, the ids themselves, trailing bytes)
// and leaves o unchanged on error.
func (o *Ordinals) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errOrdinalsTruncated
	}
	if b[0] != ordinalsVersion {
		return fmt.Errorf("usage: ordinals blob has version %d; this build reads version %d", b[0], ordinalsVersion)
	}
	b = b[1:]
	count, n := uvarint(b)
	if n <= 0 {
		return errOrdinalsTruncated
	}
	b = b[n:]
	// Each id takes at least two bytes (length and one byte), so a count
	// beyond that is a lie; checking first keeps garbage from allocating.
	if count > uint64(len(b)/2) {
		return fmt.Errorf("usage: ordinals blob claims %d ids in %d bytes", count, len(b))
	}
	ids := make([]string, 0, count)
	for i := range count {
		l, n := uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return fmt.Errorf("usage: ordinals blob is truncated at id %d", i)
		}
		ids = append(ids, string(b[n:n+int(l)]))
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return fmt.Errorf("usage: ordinals blob has %d trailing bytes", len(b))
	}
	p, err := OrdinalsOf(ids...)
	if err != nil {
		return err
	}
	*o = *p
	return nil
}

// uvarint is binary.Uvarint that also rejects over-long encodings (0x80 0x00
// for 0), so that every accepted blob has exactly one form and re-encodes to
// itself.
func uvarint(b []byte) (uint64, int) {
	v, n := binary.Uvarint(b)
	var canonical [binary.MaxVarintLen64]byte
	if n > 0 && n != binary.PutUvarint(canonical[:], v) {
		return 0, -n
	}
	return v, n
}
