// Package importer loads accounts, contacts and traits in bulk from CSV or
// JSON lines files, the way `tend import` does.
//
// An import is two passes. The first reads every row, resolves it against
// the store (existing accounts, team members' emails, trait definitions) and
// validates it, collecting every bad row with its line and field. Only then,
// if the file is clean (or Options.SkipInvalid says to go on), the second
// pass writes the good rows in chunks through the store's bulk upserts. So a
// file with one typo writes nothing by default (issue 2: "by default nothing
// is written if any row is bad"), and the person fixing it sees all the
// problems at once rather than one per run.
//
// Rows upsert by external id, and a column present in the file sets that
// field while an absent column leaves it as it is: an import of
// external_id,arr changes ARR and nothing else. Re-importing the same file
// changes nothing and records no history.
package importer

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// Kind is what a file holds.
type Kind string

// The kinds of import.
const (
	Accounts Kind = "accounts"
	Contacts Kind = "contacts"
	Traits   Kind = "traits"
)

// Kinds lists the kinds of import.
var Kinds = []Kind{Accounts, Contacts, Traits}

// Formats of an import file.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// ChunkSize is how many rows go to the store in one bulk call (and one
// transaction). It bounds the transaction a writer holds on SQLite and paces
// the progress callback.
const ChunkSize = 1000

// Options tune an import.
type Options struct {
	// Format is FormatCSV or FormatJSONL; "" takes it from FileName's
	// extension (.csv; .jsonl, .ndjson, .json) or else from the first byte.
	Format string
	// SkipInvalid writes the good rows when some are bad. Without it a file
	// with any bad row writes nothing.
	SkipInvalid bool
	// Progress, when set, is called with the rows written so far and the
	// rows to write, once before the first chunk and after each chunk.
	Progress func(done, total int)
	// Actor is recorded in the accounts' timeline and the trait history. The
	// default is account.System("import <file name>", ...). Each trait write
	// counts as its definition's source (crm, warehouse, manual), whatever
	// Actor.Source says: that is where the value comes from.
	Actor account.Actor
	// FileName names the file in messages and in the default actor.
	FileName string

	// chunk overrides ChunkSize in tests, which cannot afford thousands of
	// rows under the race detector.
	chunk int
}

// RowError is one fault in one row of the file.
type RowError struct {
	// Line is the 1-based line of the row in the file; a CSV header is line 1.
	Line int `json:"line"`
	// Field is the column (or JSON key) at fault; "" when the row as a whole
	// is bad (malformed JSON, wrong number of columns).
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Error renders the fault as "line 12: arr: message".
func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// Report says what an import did.
type Report struct {
	// Rows counts the data rows read (not the CSV header, not blank lines).
	Rows int `json:"rows"`
	// Created, Updated and Unchanged count the records written: accounts,
	// contacts, or — for a traits import — accounts whose traits changed
	// (Updated) or did not (Unchanged).
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// TraitsChanged counts the trait values that changed, each of which is
	// one entry of trait history.
	TraitsChanged int `json:"traits_changed"`
	// BadRows counts the rows with at least one entry in Invalid; none of
	// them is written.
	BadRows int `json:"bad_rows"`
	// Invalid lists every fault of every bad row, by line.
	Invalid []RowError `json:"invalid"`
}

// Run imports the rows of kind that r holds into st. Trait columns are
// checked against ws's definitions.
//
// A file-level fault (unknown format, empty file, unknown or missing column)
// is a derrors.Invalid error and nothing is read further. Bad rows are listed
// in the report; unless opt.SkipInvalid is set they also make Run write
// nothing and return a derrors.Unprocessable error alongside the report.
func Run(ctx context.Context, st store.Store, ws *workspace.Workspace, kind Kind, r io.Reader, opt Options) (rep Report, err error) {
	defer derrors.Wrap(&err, "importer.Run(%s, %q)", kind, opt.FileName)
	if !slices.Contains(Kinds, kind) {
		return Report{}, derrors.New(derrors.Invalid, "%q is not a kind of import; use accounts, contacts or traits", kind)
	}
	defs := account.NewTraitDefs(nil)
	if ws != nil && ws.Traits != nil {
		defs = ws.Traits
	}
	if opt.Actor.Name == "" && opt.Actor.UserID == nil {
		name := string(kind) // standard input, or a caller without a file
		if opt.FileName != "" && opt.FileName != "-" {
			name = filepath.Base(opt.FileName)
		}
		opt.Actor = account.System("import "+name, "")
	}

	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheet programs save "CSV UTF-8" with a byte order mark.
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\uFEFF")) {
		br.Discard(3)
	}
	format, err := detectFormat(opt.Format, opt.FileName, br)
	if err != nil {
		return Report{}, err
	}
	sch := newSchema(kind, defs)
	var rows []row
	if format == FormatCSV {
		rows, err = readCSV(br, sch)
	} else {
		rows, err = readJSONL(br, sch)
	}
	if err != nil {
		return Report{}, err
	}
	if len(rows) == 0 {
		return Report{}, derrors.New(derrors.Invalid, "the file has no rows to import")
	}

	im := &importer{ctx: ctx, st: st, defs: defs, opt: opt, rep: Report{Rows: len(rows), Invalid: []RowError{}}}
	switch kind {
	case Accounts:
		err = im.accounts(rows)
	case Contacts:
		err = im.contacts(rows)
	case Traits:
		err = im.traits(rows)
	}
	return im.rep, err
}

// importer carries one run's state through the kind-specific passes.
type importer struct {
	ctx  context.Context
	st   store.Store
	defs *account.TraitDefs
	opt  Options
	rep  Report
	// bad marks the lines that already have a fault.
	bad map[int]bool
}

// fail records a fault of the row at line.
func (im *importer) fail(line int, field, format string, args ...any) {
	im.rep.Invalid = append(im.rep.Invalid, RowError{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	if im.bad == nil {
		im.bad = map[int]bool{}
	}
	im.bad[line] = true
}

// failErr records err, a validation error, as a fault of the row at line.
func (im *importer) failErr(line int, field string, err error) {
	e := derrors.Public(err)
	if e.Field != "" {
		field = e.Field
	}
	im.fail(line, field, "%s", e.Message)
}

// proceed closes the first pass: it sorts the faults and decides whether
// the good rows may be written. A false answer comes with the error to
// return.
func (im *importer) proceed() (bool, error) {
	slices.SortStableFunc(im.rep.Invalid, func(a, b RowError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field))
	})
	im.rep.BadRows = len(im.bad)
	if im.rep.BadRows == 0 || im.opt.SkipInvalid {
		return true, nil
	}
	bad := fmt.Sprintf("%d of %d rows are bad", im.rep.BadRows, im.rep.Rows)
	if im.rep.BadRows == 1 {
		bad = fmt.Sprintf("1 of %d rows is bad", im.rep.Rows)
	}
	return false, derrors.New(derrors.Unprocessable,
		"%s, so nothing was imported; fix them, or write the good ones with --skip-invalid", bad)
}

// chunk is the number of rows per bulk call.
func (im *importer) chunk() int { return cmp.Or(im.opt.chunk, ChunkSize) }

// progress reports rows written.
func (im *importer) progress(done, total int) {
	if im.opt.Progress != nil {
		im.opt.Progress(done, total)
	}
}

// actor returns the run's actor counting as source.
func (im *importer) actor(source string) account.Actor {
	a := im.opt.Actor
	a.Source = source
	return a
}

// setTraits writes the trait values of one chunk, one call per source so
// that each change is recorded with the source its definition names.
func (im *importer) setTraits(ws []account.TraitWrite) ([]account.TraitChange, error) {
	bySource := map[string][]account.TraitWrite{}
	var sources []string
	for _, w := range ws {
		d, _ := im.defs.Get(w.Key)
		if _, ok := bySource[d.Source]; !ok {
			sources = append(sources, d.Source)
		}
		bySource[d.Source] = append(bySource[d.Source], w)
	}
	var all []account.TraitChange
	for _, src := range sources {
		ch, err := im.st.SetTraits(im.ctx, bySource[src], im.actor(src))
		if err != nil {
			return all, err
		}
		all = append(all, ch...)
	}
	return all, nil
}

// resolveExternalIDs maps external ids to account ids, a chunk at a time so
// that no query carries more parameters than a database allows.
func (im *importer) resolveExternalIDs(ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	for c := range slices.Chunk(ids, im.chunk()) {
		m, err := im.st.ResolveExternalIDs(im.ctx, c)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// writeFailed turns a store error from a chunk into one that names the row
// at fault. The store names the row by its index in the chunk ("[3].email");
// lines maps that back to the file. Chunks are separate transactions, so the
// rows of earlier chunks are written: the message says so, and since
// imports are idempotent, running the fixed file again finishes the job.
func (im *importer) writeFailed(err error, lines []int, written int) error {
	if derrors.CodeOf(err) == derrors.Internal {
		return err
	}
	e := derrors.Public(err)
	field := e.Field
	line := 0
	if rest, ok := strings.CutPrefix(field, "["); ok {
		if i, f, ok := strings.Cut(rest, "]"); ok {
			if n, err := strconv.Atoi(i); err == nil && n >= 0 && n < len(lines) {
				line, field = lines[n], strings.TrimPrefix(f, ".")
			}
		}
	}
	if line == 0 {
		return err
	}
	im.rep.Invalid = append(im.rep.Invalid, RowError{Line: line, Field: field, Message: e.Message})
	im.rep.BadRows++
	return derrors.New(e.Code, "line %d: %s: %s; %d rows before its chunk were written and the rest were not — fix the row and import the file again",
		line, field, e.Message, written)
}

// detectFormat picks the file's format: the one asked for, else the file
// name's, else a guess from the first byte (a JSON object opens with "{",
// a CSV header never does).
func detectFormat(format, name string, br *bufio.Reader) (string, error) {
	switch strings.ToLower(format) {
	case FormatCSV:
		return FormatCSV, nil
	case FormatJSONL, "ndjson", "json":
		return FormatJSONL, nil
	case "":
	default:
		return "", derrors.Field(derrors.Invalid, "format", "%q is not a format; use csv or jsonl", format)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if err == nil || err == io.EOF || err == bufio.ErrBufferFull {
				return FormatCSV, nil
			}
			return "", err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatJSONL, nil
		default:
			return FormatCSV, nil
		}
	}
}
