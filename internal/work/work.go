// Package work holds the work a team does around its accounts: tasks with
// their comments, docs made from the workspace's doc templates (the handoff
// doc, the renewal health assessment, the save plan, …), and the in-app
// notifications a team member reads in their inbox. It also defines the
// events the playbook runner reads to learn that a task was done or a doc
// field changed. It is pure: types, validation, template rendering and
// field coercion; the store keeps them and the engine acts on them.
package work

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
)

// Limits, in characters, wherever these are written.
const (
	MaxTitle      = 200
	MaxTaskBody   = 20_000
	MaxComment    = 10_000
	MaxDocBody    = 100_000
	MaxNoteBody   = 2_000 // a notification's body
	MaxKey        = 200
	MaxSource     = 100
	MaxLink       = 2_000
	maxFieldCount = 100
)

// checkText refuses text both stores would not keep alike (PostgreSQL's text
// cannot hold NUL; JSON cannot carry invalid UTF-8) and text over max
// characters. required says whether it may be empty.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return derrors.Field(derrors.Unprocessable, field, "is required")
	case !utf8.ValidString(s):
		return derrors.Field(derrors.Unprocessable, field, "is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return derrors.Field(derrors.Unprocessable, field, "contains a NUL character")
	case utf8.RuneCountInString(s) > max:
		return derrors.Field(derrors.Unprocessable, field, "is longer than %d characters", max)
	}
	return nil
}

// checkKey checks an idempotency key: up to MaxKey printable characters
// without spaces, such as "pb:handoff:42:2026-03-01:task:0". "" means none.
func checkKey(k string) error {
	if err := checkText("key", k, MaxKey, false); err != nil {
		return err
	}
	for _, r := range k {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return derrors.Field(derrors.Unprocessable, "key", "%q has a space or a control character; a key is printable characters without spaces", k)
		}
	}
	return nil
}

// normalizeText trims a single-line value and turns Windows line ends into
// newlines in a multi-line one, as forms send them.
func normalizeText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// LocalLink reports whether link is a path on this site ("/accounts/7"),
// the only links a notification takes besides http(s) URLs.
func LocalLink(link string) bool {
	return strings.HasPrefix(link, "/") && !strings.HasPrefix(link, "//") && !strings.HasPrefix(link, "/\\")
}

// checkLink accepts "", a path on this site, or an absolute http(s) URL.
func checkLink(link string) error {
	if err := checkText("link", link, MaxLink, false); err != nil {
		return err
	}
	if link == "" || LocalLink(link) {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return derrors.Field(derrors.Unprocessable, "link", "%q is not a path on this site (/accounts/7) or an http(s) URL", link)
	}
	return nil
}
