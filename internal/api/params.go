package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
)

// pathID reads the {id} wildcard of the route as a positive integer.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.Field(derrors.Invalid, "id", "%q is not an id (a positive whole number)", s)
	}
	return id, nil
}

// query is a request's query string, checked against the parameters a
// route takes: an unknown or repeated parameter is a 400 rather than
// silently ignored, because a misspelt filter that returns everything looks
// like a right answer.
type query struct {
	v url.Values
}

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, derrors.New(derrors.Invalid, "malformed query string: %v", err)
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return query{}, derrors.Field(derrors.Invalid, name, "is not a parameter of this endpoint (it takes none)")
			}
			return query{}, derrors.Field(derrors.Invalid, name, "is not a parameter of this endpoint (it takes %s)", strings.Join(allowed, ", "))
		}
		if len(v[name]) > 1 {
			return query{}, derrors.Field(derrors.Invalid, name, "is given %d times; give it once", len(v[name]))
		}
	}
	return query{v: v}, nil
}

// str returns a parameter's value, "" when absent.
func (q query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// limit reads a page size between 1 and max, def when absent.
func (q query) limit(def, max int) (int, error) { return q.intIn("limit", def, 1, max) }

// intIn reads a whole-number parameter between lo and hi, def when absent.
func (q query) intIn(name string, def, lo, hi int) (int, error) {
	s := q.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, derrors.Field(derrors.Invalid, name, "%q is not a whole number between %d and %d", s, lo, hi)
	}
	return n, nil
}

// bool reads a true/false parameter, false when absent.
func (q query) bool(name string) (bool, error) {
	s := q.str(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, derrors.Field(derrors.Invalid, name, "%q is not true or false", s)
	}
	return b, nil
}
