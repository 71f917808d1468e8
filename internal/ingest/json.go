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
	var out [][]byte
	i := skipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' && len(out) <= limit {
		end := valueEnd(arr, i)
		out = append(out, arr[i:end])
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return out
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
