package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
)

// scalarKind is the JSON kind of a field read by scalar.
type scalarKind uint8

const (
	kindAbsent scalarKind = iota // not in the object, or null
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

// scalar is a field whose JSON kind is checked after decoding rather than by
// encoding/json, so that a wrong kind becomes a rejection that names the
// field (encoding/json would stop at the first mismatch and, for an
// Unmarshaler, lose the field's name) and so that ids sent as numbers
// (userId: 42, as some senders do) can be read as strings.
type scalar struct {
	kind scalarKind
	s    string // the string's value, or the number's literal
}

// UnmarshalJSON records the kind and, for strings and numbers, the text. It
// never fails: every kind is acceptable to decode and judged later.
func (v *scalar) UnmarshalJSON(b []byte) error {
	v.s = ""
	switch b[0] {
	case '"':
		v.kind, v.s = kindString, ""
		for _, t := range callTypes {
			// A type's name is the constant's, not a copy per call.
			if string(b[1:len(b)-1]) == string(t) {
				v.s = string(t)
				return nil
			}
		}
		v.s = unquote(b)
	case 'n':
		v.kind = kindAbsent
	case 't', 'f':
		v.kind = kindBool
	case '{':
		v.kind = kindObject
	case '[':
		v.kind = kindArray
	default:
		v.kind, v.s = kindNumber, string(b)
	}
	return nil
}

var callTypes = [...]Type{Track, Page, Identify, Group, Screen, Alias}

// id returns the value of an id field: a string, or a number's literal.
func (v scalar) id() (string, bool) {
	switch v.kind {
	case kindAbsent:
		return "", true
	case kindString, kindNumber:
		return v.s, true
	}
	return "", false
}

// text returns the value of a field that must be a string when present.
func (v scalar) text() (string, bool) {
	switch v.kind {
	case kindAbsent:
		return "", true
	case kindString:
		return v.s, true
	}
	return "", false
}

func (v scalar) kindName() string {
	switch v.kind {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return "null"
}

// kindOf names the JSON kind of a valid JSON value, for messages.
func kindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	var v scalar
	_ = v.UnmarshalJSON(raw)
	return v.kindName()
}

// unquote returns the value of a valid JSON string literal.
func unquote(b []byte) string {
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(b, &s) // b is valid JSON: it cannot fail
	return s
}

// checkJSON returns nil for valid JSON, else an Invalid error that says
// where the body stops being JSON, as line, column and byte offset, so that
// a sender can find the fault in a 500 KB batch.
func checkJSON(body []byte) error {
	if json.Valid(body) {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return derrors.New(derrors.Invalid, "the request body is empty; send a JSON object")
	}
	var discard struct{}
	err := json.Unmarshal(body, &discard)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return derrors.New(derrors.Invalid, "the request body is not valid JSON")
	}
	// Offset counts the bytes read up to and including the offending one;
	// at the end of the input no byte offends and the fault is the end.
	off := max(int(se.Offset)-1, 0)
	if int(se.Offset) >= len(body) && strings.Contains(se.Error(), "unexpected end") {
		off = len(body)
	}
	line, col := position(body, off)
	return derrors.New(derrors.Invalid, "the request body is not valid JSON: %s at line %d, column %d (byte offset %d)",
		se.Error(), line, col, off)
}

// position returns the 1-based line and column (in bytes) of offset off.
func position(b []byte, off int) (line, col int) {
	off = min(off, len(b))
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// The walkers below split valid JSON (checked by checkJSON first) without
// decoding it, so that each call of a batch is measured and decoded on its
// own bytes: one bad call cannot fail its neighbours, its size is its size
// as sent, and its bytes are what its derived messageId hashes.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string literal starting at b[i]:
// the first quote after it that an even run of backslashes precedes.
func stringEnd(b []byte, i int) int {
	start := i + 1
	for i = start; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			break
		}
		i += j
		k := i
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// eachMember calls fn with the key (the string literal as sent, quotes and
// all; compare it with keyIs or sameKey) and the raw value of each member of
// the valid JSON object that starts at obj[0], in order (a repeated key is
// reported each time, so the last one wins for a caller that overwrites).
func eachMember(obj []byte, fn func(key, val []byte)) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kStart, kEnd := i, stringEnd(obj, i)
		i = skipSpace(obj, kEnd)
		i = skipSpace(obj, i+1) // past ':'
		vEnd := valueEnd(obj, i)
		fn(obj[kStart:kEnd], obj[i:vEnd])
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
}

// keyIs reports whether the JSON string literal key spells name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1:len(key)-1]) == name
	}
	return unquote(key) == name
}

// sameKey reports whether two JSON string literals spell the same key.
func sameKey(a, b []byte) bool {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return bytes.Equal(a, b)
	}
	return unquote(a) == unquote(b)
}

// elements returns the raw elements of the valid JSON array that starts at
// arr[0], stopping once it has found limit+1 of them: a caller refusing more
// than limit need not index a 500 KB array of zeros.
func elements(arr []byte, limit int) [][]byte {
	items, _, _ := elementsEnd(arr, 0, limit)
	return items
}

// elementsEnd returns the raw elements of the valid JSON array that starts
// at b[start] and the index after it; when it stops at limit+1 elements,
// complete is false and end is unknown.
func elementsEnd(b []byte, start, limit int) (items [][]byte, end int, complete bool) {
	i := skipSpace(b, start+1)
	for i < len(b) && b[i] != ']' {
		if len(items) > limit {
			return items, 0, false
		}
		e := valueEnd(b, i)
		items = append(items, b[i:e])
		i = skipSpace(b, e)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return items, min(i+1, len(b)), true
}

// eachMemberSplit is eachMember that gives fn the elements of a member's
// value too when split picks its key and the value is an array, walking
// the array once (a batch is most of its request).
func eachMemberSplit(obj []byte, split func(key []byte) bool, limit int, fn func(key, val []byte, items [][]byte)) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kStart, kEnd := i, stringEnd(obj, i)
		i = skipSpace(obj, kEnd)
		i = skipSpace(obj, i+1) // past ':'
		key := obj[kStart:kEnd]
		var vEnd int
		var items [][]byte
		if i < len(obj) && obj[i] == '[' && split(key) {
			var complete bool
			if items, vEnd, complete = elementsEnd(obj, i, limit); !complete {
				vEnd = valueEnd(obj, i)
			}
		} else {
			vEnd = valueEnd(obj, i)
		}
		fn(key, obj[i:vEnd], items)
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
}

// clip shortens s for quoting in a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// The validating walk below does what json.Valid does, in one pass that
// also splits the batch into its calls: json.Valid followed by walks was
// most of the cost of decoding a batch. It accepts exactly what json.Valid
// accepts (FuzzValid compares them), so that any body it refuses is then
// described by checkJSON's error.

// maxDepth is encoding/json's nesting limit: deeper is not valid JSON to it.
const maxDepth = 10000

// plainString marks the bytes a JSON string holds without escaping.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// validEnd returns the index after the valid JSON value at b[i], or -1.
func validEnd(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return validStringEnd(b, i)
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return -1
				}
				if i = validStringEnd(b, i); i < 0 {
					return -1
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return -1
				}
				i = skipSpace(b, i+1)
			}
			if i = validEnd(b, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			switch {
			case i >= len(b):
				return -1
			case b[i] == ',':
				i = skipSpace(b, i+1)
			case b[i] == closer:
				return i + 1
			default:
				return -1
			}
		}
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return validNumberEnd(b, i)
	}
	return -1
}

func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// validStringEnd returns the index after the valid string literal at b[i].
func validStringEnd(b []byte, i int) int {
	i++
	for i < len(b) {
		if plainString[b[i]] {
			i++
			continue
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 {
					return -1
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

// validNumberEnd returns the index after the valid number at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumberEnd(b []byte, i int) int {
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return -1
		}
	}
	return i
}

// validJSON reports whether b is one valid JSON value, as json.Valid does.
func validJSON(b []byte) bool {
	end := validEnd(b, skipSpace(b, 0), 0)
	return end >= 0 && skipSpace(b, end) == len(b)
}

// validMembersSplit is eachMemberSplit for a body not yet validated: it
// validates the object at obj[0] (and that only whitespace follows it) as
// it walks, and reports whether all of it was valid JSON; fn may have been
// called for the members before a fault.
func validMembersSplit(obj []byte, split func(key []byte) bool, limit int, fn func(key, val []byte, items [][]byte)) bool {
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		kStart, kEnd := i, validStringEnd(obj, i)
		if kEnd < 0 {
			return false
		}
		if i = skipSpace(obj, kEnd); i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		key := obj[kStart:kEnd]
		var vEnd int
		var items [][]byte
		if i < len(obj) && obj[i] == '[' && split(key) {
			if items, vEnd = validElements(obj, i, limit); vEnd < 0 {
				return false
			}
		} else if vEnd = validEnd(obj, i, 1); vEnd < 0 {
			return false
		}
		fn(key, obj[i:vEnd], items)
		i = skipSpace(obj, vEnd)
		switch {
		case i >= len(obj):
			return false
		case obj[i] == ',':
			i = skipSpace(obj, i+1)
		case obj[i] == '}':
			return skipSpace(obj, i+1) == len(obj)
		default:
			return false
		}
	}
}

// validElements validates the array at b[start] (at depth 1) and returns
// its first limit+1 elements and the index after it, or -1.
func validElements(b []byte, start, limit int) ([][]byte, int) {
	var items [][]byte
	i := skipSpace(b, start+1)
	if i < len(b) && b[i] == ']' {
		return nil, i + 1
	}
	for {
		e := validEnd(b, i, 2)
		if e < 0 {
			return nil, -1
		}
		if len(items) <= limit {
			items = append(items, b[i:e])
		}
		i = skipSpace(b, e)
		switch {
		case i >= len(b):
			return nil, -1
		case b[i] == ',':
			i = skipSpace(b, i+1)
		case b[i] == ']':
			return items, i + 1
		default:
			return nil, -1
		}
	}
}
