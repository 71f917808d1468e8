package importer

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/date"
)

// The converters below read one cell — a CSV string or a decoded JSON
// value — into a field's Go type. An empty cell or JSON null is the zero
// value: a column present in the file sets the field, even to nothing.
// Their errors are messages for the person who wrote the file; the caller
// adds the line and the column.

// text reads a string field. A JSON number is taken as its digits, since
// CRM ids are sometimes exported as numbers.
func text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	}
	return "", fmt.Errorf("%s is not text", show(v))
}

// whole reads a count such as seats or estimated developers: "1,200" and
// 1200.0 are 1200; 12.5 is an error rather than a silent rounding.
func whole(v any) (int64, error) {
	s, err := numberText(v)
	if err != nil || s == "" {
		return 0, err
	}
	n, ok := parseWhole(strings.ReplaceAll(s, ",", ""))
	if !ok {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

// dollars reads ARR in whole US dollars the way spreadsheets and CRM
// exports write it: 48500, "48,500", "$48,500", "$48,500.00".
func dollars(v any) (int64, error) {
	s, err := numberText(v)
	if err != nil || s == "" {
		return 0, err
	}
	t := strings.NewReplacer(",", "", "$", "", " ", "").Replace(s)
	n, ok := parseWhole(t)
	if !ok {
		return 0, fmt.Errorf("%q is not an amount in whole US dollars (like 48500, 48,500 or $48,500)", s)
	}
	return n, nil
}

func numberText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	}
	return "", fmt.Errorf("%s is not a number", show(v))
}

// parseWhole parses an integer, or a decimal whose fraction is zero.
func parseWhole(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// day reads a date in the one form Tend writes, YYYY-MM-DD (a timestamp
// is taken for its day). 03/04/2026 is refused: it means two different
// days on the two sides of the Atlantic.
func day(v any) (date.Date, error) {
	switch x := v.(type) {
	case nil:
		return date.Date{}, nil
	case string:
		return date.Parse(x)
	}
	return date.Date{}, fmt.Errorf("%s is not a date of the form YYYY-MM-DD", show(v))
}

// list reads a multi-valued cell: "a;b", "a|b", or a JSON array of strings.
// Items are trimmed and empty ones dropped.
func list(v any) ([]string, error) {
	var items []string
	switch x := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		items = strings.FieldsFunc(x, func(r rune) bool { return r == ';' || r == '|' })
	case []any:
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("%s is not a list of strings", show(v))
			}
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("%s is not a list (separate the values with ; or |)", show(v))
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

// keyword turns a label such as "Self-hosted" or "Code Search" into the
// value Tend stores ("self_hosted", "code_search").
func keyword(s string) string { return normalizeName(s) }

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
