package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/store"
)

// Raw events are stored as runs: one usage_batches row holds the events of
// one source that arrived at one instant (a request), with consecutive
// seqs first_seq..last_seq. Its keys column says, as JSON, what the store
// and the engine read without the bodies,
//
//	[[message id, type, user key, account id or null, name, timestamp (unix ms), body length], …]
//
// and bodies holds the bodies back to back, packed when that is smaller
// (usage_bodies.go). JSON rather than a binary
// layout so that the migration from one row per event (0005_usage_perf.sql)
// is plain SQL, and a row can be read in a SQL shell.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// eventKey is one event's entry in a row's keys.
type eventKey struct {
	messageID, typ, userKey, name string
	accountID                     int64 // 0: none
	ts                            int64 // unix ms
	bodyLen                       int
}

var errBadKeys = errors.New("malformed keys column")

// keysParser reads a keys column. It accepts any JSON of the shape
// appendKeys writes, with the whitespace and escapes that SQLite's and
// PostgreSQL's JSON functions write too (the migration builds rows with
// them).
type keysParser struct {
	b []byte
	i int
}

// parseKeys calls fn with each event's keys in order; the strings of an
// eventKey are valid only during the call when fn does not keep them (they
// are fresh strings, so keeping them is safe).
func parseKeys(b []byte, fn func(k eventKey) error) error {
	p := keysParser{b: b}
	if !p.byte('[') {
		return errBadKeys
	}
	if p.peek() == ']' {
		p.i++
		return p.end()
	}
	for {
		var k eventKey
		if err := p.event(&k); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch {
		case p.byte(','):
		case p.byte(']'):
			return p.end()
		default:
			return errBadKeys
		}
	}
}

func (p *keysParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *keysParser) peek() byte {
	p.space()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *keysParser) byte(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *keysParser) end() error {
	if p.space(); p.i != len(p.b) {
		return errBadKeys
	}
	return nil
}

func (p *keysParser) event(k *eventKey) error {
	var err error
	ok := p.byte('[')
	if ok {
		k.messageID, ok = p.str()
	}
	if ok = ok && p.byte(','); ok {
		k.typ, ok = p.str()
	}
	if ok = ok && p.byte(','); ok {
		k.userKey, ok = p.str()
	}
	if ok = ok && p.byte(','); ok {
		if p.peek() == 'n' && p.i+4 <= len(p.b) && string(p.b[p.i:p.i+4]) == "null" {
			p.i += 4
		} else {
			k.accountID, ok = p.int()
		}
	}
	if ok = ok && p.byte(','); ok {
		k.name, ok = p.str()
	}
	if ok = ok && p.byte(','); ok {
		k.ts, ok = p.int()
	}
	var n int64
	if ok = ok && p.byte(','); ok {
		n, ok = p.int()
		k.bodyLen = int(n)
	}
	if !ok || !p.byte(']') || n < 0 {
		err = errBadKeys
	}
	return err
}

func (p *keysParser) int() (int64, bool) {
	p.space()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	return n, err == nil
}

// str reads a JSON string literal.
func (p *keysParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// escaped finishes a string literal that holds escapes, from its start.
func (p *keysParser) escaped(start int) (string, bool) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), utf8.Valid(out)
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", false
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					if r2, ok = p.hex4(); !ok {
						return "", false
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *keysParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
	p.i += 4
	return rune(n), err == nil
}

// batchRow is a usage_batches row as read.
type batchRow struct {
	firstSeq, lastSeq, sourceID int64
	receivedAt                  time.Time
	keys, bodies                []byte
}

// events decodes the row's events with seq > after, oldest first, masking
// the attribution of events that a tombstone covers (an account deleted
// after they were stored). Bodies are copies.
func (r *batchRow) events(after int64, tombs tombstones) ([]store.Event, error) {
	bodies, err := unpackBodies(r.bodies)
	if err != nil {
		return nil, fmt.Errorf("usage_batches row %d: %w", r.firstSeq, err)
	}
	out := make([]store.Event, 0, r.lastSeq-max(r.firstSeq-1, after))
	seq, off := r.firstSeq, 0
	err = parseKeys(r.keys, func(k eventKey) error {
		if off+k.bodyLen > len(bodies) {
			return errBadKeys
		}
		body := bodies[off : off+k.bodyLen]
		off += k.bodyLen
		s := seq
		seq++
		if s <= after {
			return nil
		}
		e := store.Event{Seq: s, SourceID: r.sourceID, MessageID: k.messageID, Type: k.typ, UserKey: k.userKey,
			Name: k.name, Timestamp: time.UnixMilli(k.ts).UTC(), ReceivedAt: r.receivedAt, Body: append([]byte{}, body...)}
		if k.accountID != 0 && !tombs.masks(k.accountID, s) {
			id := k.accountID
			e.AccountID = &id
		}
		out = append(out, e)
		return nil
	})
	if err == nil && (seq-1 != r.lastSeq || off != len(bodies)) {
		err = errBadKeys
	}
	if err != nil {
		return nil, fmt.Errorf("usage_batches row %d: %w", r.firstSeq, err)
	}
	return out, nil
}

// tombstones are accounts deleted when the newest seq was last: events up
// to there no longer count for them (the account id may be given again).
type tombstones map[int64][]int64

func (t tombstones) masks(accountID, seq int64) bool {
	for _, last := range t[accountID] {
		if last >= seq {
			return true
		}
	}
	return false
}

// encodeRun writes a usage_batches row's keys and packed bodies for n
// events, event(0) to event(n-1), each attributed to account(e) (0: none).
func encodeRun(n int, event func(int) *store.Event, account func(*store.Event) int64) (keys, bodies []byte) {
	bp := scratch.Get().(*[]byte) // the bodies as they are, for packBodies
	defer scratch.Put(bp)
	raw := (*bp)[:0]
	keys = make([]byte, 0, 128*n)
	keys = append(keys, '[')
	for i := range n {
		e := event(i)
		if i > 0 {
			keys = append(keys, ',')
		}
		keys = appendKey(keys, e, account(e))
		raw = append(raw, e.Body...)
	}
	*bp = raw
	return append(keys, ']'), packBodies(raw)
}

// appendKey appends one event's keys array, attributed to accountID (0:
// none).
func appendKey(b []byte, e *store.Event, accountID int64) []byte {
	b = append(b, '[')
	b = appendJSONString(b, e.MessageID)
	b = append(b, ',')
	b = appendJSONString(b, e.Type)
	b = append(b, ',')
	b = appendJSONString(b, e.UserKey)
	b = append(b, ',')
	if accountID != 0 {
		b = strconv.AppendInt(b, accountID, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, ',')
	b = appendJSONString(b, e.Name)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Timestamp.UnixMilli(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(len(e.Body)), 10)
	return append(b, ']')
}
