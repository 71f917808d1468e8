package ingest

import (
	"bytes"
	"regexp"
	"unicode/utf8"
)

// writeKeyMember finds a "writeKey" member and the start of its value in
// JSON text, whole or cut short (a rejection's body is cut to 2 KB).
var writeKeyMember = regexp.MustCompile(`"writeKey"\s*:\s*"([^"\\]*)`)

// RedactWriteKeys cuts the write keys a body names (Segment's browser
// library puts one on every call) to the prefix the write key list shows.
// The debugger is open to managers, who may not manage keys; a body must not
// hand them a working one. The libraries write the member name plainly, so
// matching the text finds it without decoding, and keeps the body's bytes
// otherwise as sent.
func RedactWriteKeys(b []byte) []byte {
	if !bytes.Contains(b, []byte(`"writeKey"`)) {
		return b
	}
	return writeKeyMember.ReplaceAllFunc(b, func(m []byte) []byte {
		key := writeKeyMember.FindSubmatch(m)[1]
		return append(m[:len(m)-len(key):len(m)-len(key)], maskKey(string(key))...)
	})
}

// maskKey keeps the part of a key that the write key list shows.
func maskKey(key string) string {
	n := 10 // "wk_" and seven characters, as team.NewWriteKeySecret keeps
	if len(key) <= n {
		return "…"
	}
	for n > 0 && !utf8.RuneStart(key[n]) {
		n--
	}
	return key[:n] + "…"
}
