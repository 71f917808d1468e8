package importer

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// Events is the kind of import that backfills product usage: historical
// Segment calls, one JSON object per line, as a Segment export or a
// warehouse dump of one holds them. It needs the usage engine, so it runs
// through RunEvents rather than Run.
const Events Kind = "events"

// EventBatch is how many events go to the usage engine in one Ingest.
const EventBatch = 5000

// EventsReport says what an events import did.
type EventsReport struct {
	// Rows counts the calls read (non-blank lines).
	Rows int `json:"rows"`
	// Accepted counts the events stored; Duplicates those already stored
	// under the same messageId, by an earlier import of the same events.
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Unattributed counts the events whose group id (a group call's, or
	// context.groupId) no account has as its analytics or external id:
	// they are stored but count for no account.
	Unattributed int `json:"unattributed"`
	// BadRows counts the bad lines, listed in Invalid; none is written.
	BadRows int        `json:"bad_rows"`
	Invalid []RowError `json:"invalid"`
}

// Summary says in one line what the import did, e.g. "1200 events: 1190
// accepted, 10 duplicates; 3 bad lines skipped".
func (r EventsReport) Summary() string {
	s := fmt.Sprintf("%s: %d accepted, %s", plural(r.Rows, "event"), r.Accepted, plural(r.Duplicates, "duplicate"))
	if r.BadRows > 0 {
		if r.Accepted+r.Duplicates == 0 {
			s += fmt.Sprintf("; %s, nothing written", plural(r.BadRows, "bad line"))
		} else {
			s += fmt.Sprintf("; %s skipped", plural(r.BadRows, "bad line"))
		}
	}
	if r.Unattributed > 0 {
		verb := "name"
		if r.Unattributed == 1 {
			verb = "names"
		}
		s += fmt.Sprintf("; %s %s a group id no account has (import the accounts with their analytics_id first)",
			plural(r.Unattributed, "event"), verb)
	}
	return s
}

// WriteErrors prints every bad line as "file:line: field: reason".
func (r EventsReport) WriteErrors(w io.Writer, file string) error {
	return Report{Invalid: r.Invalid}.WriteErrors(w, file)
}

// RunEvents imports the Segment calls r holds, one JSON object per line,
// through eng, under a write key named "import <file name>" (created the
// first time, reused after, so that a second import of the same file is
// all duplicates). Each line is decoded as the ingestion API decodes a
// single call, with the line's receivedAt as the time it arrived — so
// that the clock-skew correction gives back the timestamp Segment
// computed — or, without one, its timestamp.
//
// Like Run it checks every line before writing any: bad lines are listed
// with their line and field, and unless opt.SkipInvalid is set they make
// RunEvents write nothing and return a derrors.Unprocessable error. The
// good lines go to the engine in batches of EventBatch, the calls that
// link users to accounts (identify, group) first, so that a backfill
// attributes every user's events however the file is ordered; then the
// engine is flushed, which writes the accounts' usage traits. r is read
// once per pass, so it must be able to seek.
func RunEvents(ctx context.Context, st store.Store, eng *engine.Usage, r io.ReadSeeker, opt Options) (rep EventsReport, err error) {
	defer derrors.Wrap(&err, "importer.RunEvents(%q)", opt.FileName)
	rep.Invalid = []RowError{}
	if f := strings.ToLower(opt.Format); f != "" && f != FormatJSONL && f != "ndjson" && f != "json" {
		return rep, derrors.Field(derrors.Invalid, "format", "events are imported from JSON lines, not %q", opt.Format)
	}
	groups, err := groupIDs(ctx, st)
	if err != nil {
		return rep, err
	}

	// Pass 1: check every line.
	good, links := 0, 0
	err = eachCall(r, func(line int, c call, rowErr *RowError) error {
		rep.Rows++
		if rowErr != nil {
			rep.Invalid = append(rep.Invalid, *rowErr)
			rep.BadRows++
			return nil
		}
		good++
		if c.link() {
			links++
		}
		if g := c.ev.AccountGroupID(); g != "" && !groups[g] {
			rep.Unattributed++
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if rep.Rows == 0 {
		return rep, derrors.New(derrors.Invalid, "the file has no events to import")
	}
	if rep.BadRows > 0 && !opt.SkipInvalid {
		verb := "are"
		if rep.BadRows == 1 {
			verb = "is"
		}
		return rep, derrors.New(derrors.Unprocessable,
			"%d of %s %s bad, so nothing was imported; fix them, or skip them with --skip-invalid", rep.BadRows, plural(rep.Rows, "line"), verb)
	}
	if good == 0 {
		return rep, nil
	}

	key, err := importKey(ctx, st, opt.FileName)
	if err != nil {
		return rep, err
	}
	batchSize := cmp.Or(opt.chunk, EventBatch)
	batch := make([]ingest.Event, 0, min(batchSize, good))
	done := 0
	progress := func() {
		if opt.Progress != nil {
			opt.Progress(done, good)
		}
	}
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := eng.Ingest(ctx, key, ingest.Batch{Events: batch})
		if err != nil {
			return err
		}
		rep.Accepted += res.Accepted
		rep.Duplicates += res.Duplicates
		done += len(batch)
		batch = batch[:0]
		progress()
		return nil
	}
	progress()
	// Pass 2 sends the links, pass 3 everything else.
	for _, links := range []bool{true, false} {
		err := eachCall(r, func(_ int, c call, rowErr *RowError) error {
			if rowErr != nil || c.link() != links {
				return nil
			}
			batch = append(batch, c.ev)
			if len(batch) == batchSize {
				return send()
			}
			return nil
		})
		if err == nil {
			err = send()
		}
		if err != nil {
			return rep, fmt.Errorf("%d of %d events were imported: %w", rep.Accepted+rep.Duplicates, good, err)
		}
	}
	return rep, eng.Flush(ctx)
}

// call is one decoded line.
type call struct {
	ev ingest.Event
}

// link reports whether the call links its user to an account or a
// contact, which the engine must know before the user's other events.
func (c call) link() bool { return c.ev.Type == ingest.Identify || c.ev.Type == ingest.Group }

// eachCall reads r from its start and calls fn with each non-blank line,
// decoded, or with what is wrong with it.
func eachCall(r io.ReadSeeker, fn func(line int, c call, rowErr *RowError) error) error {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\uFEFF")) {
		br.Discard(3)
	}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			c, rowErr := decodeCall(line, t)
			if ferr := fn(line, c, rowErr); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// decodeCall decodes one line as the ingestion API decodes a single call.
func decodeCall(line int, b []byte) (call, *RowError) {
	fail := func(field, msg string) (call, *RowError) {
		// The decoder speaks of request bodies and their JSON lines, and
		// starts its reasons with the field, which the report has in a
		// column of its own.
		msg = strings.TrimPrefix(msg, field+": ")
		msg = strings.Replace(msg, "the request body", "the line", 1)
		msg = jsonPosition.ReplaceAllString(msg, "at column $1")
		return call{}, &RowError{Line: line, Field: field, Message: msg}
	}
	var head struct {
		Type              json.RawMessage `json:"type"`
		Timestamp         json.RawMessage `json:"timestamp"`
		OriginalTimestamp json.RawMessage `json:"originalTimestamp"`
		ReceivedAt        json.RawMessage `json:"receivedAt"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		// The decoder says where the JSON breaks, or that it is no object.
		if _, derr := ingest.DecodeSingle("track", b, time.Now()); derr != nil {
			e := derrors.Public(derr)
			return fail(e.Field, e.Message)
		}
		return fail("", "cannot decode the line: "+err.Error())
	}
	var typ string
	switch {
	case isNull(head.Type):
		return fail("type", "is required: one of identify, track, page, screen, group or alias")
	case json.Unmarshal(head.Type, &typ) != nil:
		return fail("type", fmt.Sprintf("expected a string, got %s", head.Type))
	}
	if _, ok := ingest.ParseType(typ); !ok {
		return fail("type", fmt.Sprintf("unknown call %q; want identify, track, page, screen, group or alias", clip(typ)))
	}
	// When the call arrived: its receivedAt, else when it happened.
	var received time.Time
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"receivedAt", head.ReceivedAt}, {"timestamp", head.Timestamp}, {"originalTimestamp", head.OriginalTimestamp}} {
		if isNull(f.raw) {
			continue
		}
		t, err := parseEventTime(f.raw)
		if err != nil {
			return fail(f.name, err.Error())
		}
		received = t
		break
	}
	if received.IsZero() {
		return fail("timestamp", "is required: an imported event needs the time it happened (timestamp, or receivedAt)")
	}
	bt, err := ingest.DecodeSingle(typ, b, received)
	if err != nil {
		e := derrors.Public(err)
		return fail(e.Field, e.Message)
	}
	if len(bt.Rejected) > 0 {
		rj := bt.Rejected[0]
		return fail(rj.Field, rj.Reason)
	}
	return call{ev: bt.Events[0]}, nil
}

// jsonPosition is where the decoder places a JSON syntax error; a line
// holds one JSON line, so the column says it all.
var jsonPosition = regexp.MustCompile(`at line 1, column (\d+) \(byte offset \d+\)`)

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// eventTimeLayouts are the ISO 8601 forms the ingestion API reads (package
// ingest), for the receivedAt it is given rather than reads.
var eventTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseEventTime reads a JSON string holding an ISO 8601 time, with "T" or
// a space between date and time (warehouses write the space).
func parseEventTime(raw json.RawMessage) (time.Time, error) {
	const want = "want ISO 8601 such as 2026-11-24T10:00:00.123Z or 2026-11-24T11:00:00+01:00"
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("expected a string, got %s; %s", clip(string(raw)), want)
	}
	v := s
	if len(v) > 10 && (v[10] == ' ' || v[10] == 't') {
		v = v[:10] + "T" + v[11:]
	}
	if strings.HasSuffix(v, "z") {
		v = v[:len(v)-1] + "Z"
	}
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time; %s", clip(s), want)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// groupIDs returns the ids events may name accounts by: analytics ids and
// external ids.
func groupIDs(ctx context.Context, st store.Store) (map[string]bool, error) {
	ids := map[string]bool{}
	f := account.Filter{Limit: account.MaxLimit, Sort: "created"}
	for {
		page, err := st.ListAccounts(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Accounts {
			for _, id := range []string{a.AnalyticsID, a.ExternalID} {
				if id != "" {
					ids[id] = true
				}
			}
		}
		if page.Next == "" {
			return ids, nil
		}
		f.Cursor = page.Next
	}
}

// importKey returns the write key imports of the file go under: the
// unrevoked one named "import <file name>", created the first time. Its
// secret is never shown: nothing but imports sends with it. Messages are
// deduplicated per source, so reusing the key is what makes importing the
// same file twice harmless.
func importKey(ctx context.Context, st store.Store, file string) (store.WriteKey, error) {
	name := "import events"
	if file != "" && file != "-" {
		name = "import " + filepath.Base(file)
	}
	keys, err := st.ListWriteKeys(ctx)
	if err != nil {
		return store.WriteKey{}, err
	}
	for _, k := range keys {
		if k.Name == name && k.RevokedAt == nil {
			return k, nil
		}
	}
	_, hash, prefix, err := team.NewWriteKeySecret()
	if err != nil {
		return store.WriteKey{}, err
	}
	k := store.WriteKey{Name: name, Prefix: prefix, Hash: hash}
	if err := st.CreateWriteKey(ctx, &k); err != nil {
		return store.WriteKey{}, err
	}
	return k, nil
}
