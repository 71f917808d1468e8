package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// row is one data row of the file: its line and its cells by canonical
// column name. A CSV cell is a string; a JSON value is what encoding/json
// decodes with UseNumber (string, json.Number, bool, []any, nil, ...).
type row struct {
	line  int
	cells map[string]any
	// broken holds the fault that made the row unreadable (malformed JSON,
	// wrong column count); such a row has no cells.
	broken string
}

// Columns of each kind, in the order the docs list them.
var (
	accountColumns = []string{
		"external_id", "name", "domain", "analytics_id", "estimated_developers", "arr", "seats",
		"support_level", "owner_email", "ae_email", "ce_email", "ie_email",
		"expected_close_date", "close_date", "renewal_date", "entitlements", "deployment",
		"segment", "program", "stage",
	}
	contactColumns = []string{"account_external_id", "external_id", "name", "email", "title", "roles"}
	traitColumns   = []string{"external_id"}
)

// notImportable explains the account fields a file may not set.
var notImportable = map[string]string{
	"id":           "is Tend's own id; accounts are matched by external_id",
	"owner_id":     "is not imported; give the owner TA's email in owner_email",
	"ae_id":        "is not imported; give the AE's email in ae_email",
	"ce_id":        "is not imported; give the CE's email in ce_email",
	"ie_id":        "is not imported; give the IE's email in ie_email",
	"health_score": "is computed by Tend and cannot be imported",
	"health_color": "is computed by Tend and cannot be imported",
	"created_at":   "is set by Tend and cannot be imported",
	"updated_at":   "is set by Tend and cannot be imported",
	"account_id":   "is Tend's own id; give the account's external id in account_external_id",
	"unsubscribed": "is set when a contact opts out and cannot be imported",
}

// schema is the set of columns one kind of file may have.
type schema struct {
	kind     Kind
	columns  []string
	required []string
	// traits are the trait definitions whose keys may be columns; nil for
	// contacts.
	traits *account.TraitDefs
}

func newSchema(kind Kind, defs *account.TraitDefs) schema {
	switch kind {
	case Accounts:
		return schema{kind: kind, columns: accountColumns, required: []string{"external_id"}, traits: defs}
	case Contacts:
		return schema{kind: kind, columns: contactColumns, required: []string{"account_external_id"}}
	}
	return schema{kind: kind, columns: traitColumns, required: []string{"external_id"}, traits: defs}
}

// resolve maps a column name as written to its canonical name. It forgives
// case, surrounding spaces and spaces or hyphens for underscores, since
// spreadsheets and CRM exports vary in those.
func (s schema) resolve(name string) (string, error) {
	name = strings.TrimSpace(name)
	for _, n := range []string{name, normalizeName(name)} {
		if slices.Contains(s.columns, n) {
			return n, nil
		}
		if s.traits == nil {
			continue
		}
		if d, ok := s.traits.Get(n); ok {
			if d.Source == account.SourceComputed {
				return "", fmt.Errorf("column %q is the computed trait %s, which Tend works out itself and cannot be imported", name, d.Key)
			}
			if slices.Contains(s.columns, d.Key) {
				// A trait whose key is also a field would be ambiguous;
				// the field wins above, so this cannot be reached.
				continue
			}
			return n, nil
		}
	}
	if why, ok := notImportable[normalizeName(name)]; ok && (s.kind == Accounts || s.kind == Contacts) {
		return "", fmt.Errorf("column %q %s", name, why)
	}
	what := map[Kind]string{
		Accounts: "an account field or a trait this workspace defines",
		Contacts: "a contact field",
		Traits:   "external_id or a trait this workspace defines",
	}[s.kind]
	msg := fmt.Sprintf("column %q is not %s", name, what)
	if near := s.closest(name); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return "", errors.New(msg)
}

// isTrait reports whether a canonical column name is a trait key.
func (s schema) isTrait(col string) bool { return !slices.Contains(s.columns, col) }

// closest suggests the known column nearest to name, or "" when none is
// near enough to be a likely typo.
func (s schema) closest(name string) string {
	n := normalizeName(name)
	names := slices.Clone(s.columns)
	if s.traits != nil {
		for _, d := range s.traits.All() {
			if d.Source != account.SourceComputed {
				names = append(names, d.Key)
				// A column headed with the trait's label ("TA Pulse") is
				// a likely mistake for its key.
				if normalizeName(d.Label) == n {
					return d.Key
				}
			}
		}
	}
	best, bestDist := "", len(n)/3+2
	for _, c := range names {
		if d := editDistance(n, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func normalizeName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// headerError is the file-level error for bad columns, all of them at once.
func headerError(where string, faults []string) error {
	return derrors.New(derrors.Invalid, "%s: %s; nothing was imported", where, strings.Join(faults, "; "))
}

// readCSV reads a CSV file with a header row.
func readCSV(r io.Reader, s schema) ([]row, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, derrors.New(derrors.Invalid, "the file is empty; a CSV import starts with a header row naming the columns")
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := make([]string, len(header))
	var faults []string
	for i, h := range header {
		c, err := s.resolve(h)
		if err != nil {
			faults = append(faults, err.Error())
			continue
		}
		if j := slices.Index(cols[:i], c); j >= 0 {
			faults = append(faults, fmt.Sprintf("columns %d and %d are both %s", j+1, i+1, c))
		}
		cols[i] = c
	}
	for _, req := range s.required {
		if !slices.Contains(cols, req) {
			faults = append(faults, fmt.Sprintf("the required column %s is missing", req))
		}
	}
	if s.kind == Traits && len(cols) < 2 && len(faults) == 0 {
		faults = append(faults, "there are no trait columns next to external_id")
	}
	if len(faults) > 0 {
		return nil, headerError("line 1 (the header)", faults)
	}

	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// encoding/csv has consumed the faulty record and can go on
			// with the next one, so the rest of the file still gets checked.
			msg := "malformed CSV: " + pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				msg = fmt.Sprintf("has %d columns; the header has %d", len(rec), len(cols))
			}
			rows = append(rows, row{line: pe.StartLine, broken: msg})
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		cells := make(map[string]any, len(cols))
		for i, c := range cols {
			cells[c] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, row{line: line, cells: cells})
	}
}

// csvError describes a header that encoding/csv cannot read.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return derrors.New(derrors.Invalid, "line %d (the header): %s", pe.StartLine, pe.Err)
	}
	return err
}

// readJSONL reads one JSON object per line; blank lines are skipped. A
// traits file nests the values: {"external_id": "…", "traits": {"key": v}}.
func readJSONL(r *bufio.Reader, s schema) ([]row, error) {
	var rows []row
	// unknown keys are a file-level fault as in a CSV header: listed once,
	// with the first line each appears on.
	var faults []string
	seen := map[string]bool{}
	unknown := func(line int, key, shown string) {
		if seen[shown] {
			return
		}
		seen[shown] = true
		_, err := s.resolve(key)
		msg := strings.Replace(err.Error(), fmt.Sprintf("column %q", strings.TrimSpace(key)), fmt.Sprintf("key %q", shown), 1)
		faults = append(faults, fmt.Sprintf("line %d: %s", line, msg))
	}
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			rows = append(rows, parseJSONLine(line, t, s, unknown))
		}
		if err != nil {
			break
		}
	}
	if len(faults) > 0 {
		return nil, headerError("unknown keys", faults)
	}
	return rows, nil
}

func parseJSONLine(line int, b []byte, s schema, unknown func(line int, key, shown string)) row {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return row{line: line, broken: "malformed JSON: " + jsonMessage(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return row{line: line, broken: "malformed JSON: more than one value on the line; put one object on each line"}
	}
	if obj == nil {
		return row{line: line, broken: "malformed JSON: null is not an object"}
	}
	cells := make(map[string]any, len(obj))
	add := func(key, shown string, v any) {
		c, err := s.resolve(key)
		if err != nil {
			unknown(line, key, shown)
			return
		}
		cells[c] = v
	}
	// Sorted keys keep the messages in the same order from run to run.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		// Trait values may sit at the top level, as CSV columns do, or
		// nested under "traits" as the API writes them.
		if k == "traits" && s.traits != nil {
			m, ok := v.(map[string]any)
			if !ok {
				return row{line: line, broken: `"traits" must be an object of trait keys and values`}
			}
			for _, tk := range slices.Sorted(maps.Keys(m)) {
				tv := m[tk]
				if s.isTrait(normalizeName(tk)) {
					add(tk, "traits."+tk, tv)
				} else {
					unknown(line, "traits."+tk, "traits."+tk)
				}
			}
			continue
		}
		add(k, k, v)
	}
	return row{line: line, cells: cells}
}

// jsonMessage makes encoding/json's errors read without Go type names.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a line must be a JSON object, not %s", te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the object is not closed"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
