package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
)

// What the ingestion debugger shows.
const (
	debuggerRows    = 50
	debuggerMinutes = 60
	// maxRawShown caps the JSON shown for one event: events may be 32 KB
	// and the tables refresh every five seconds.
	maxRawShown = 8 << 10
)

// debuggerPage is the data of the ingestion debugger: per source, events
// per minute over the last hour; the newest events; the newest rejections.
type debuggerPage struct {
	base
	// Source is the source filter, 0 for every source.
	Source     int64
	Options    []sourceOption
	Sources    []sourceActivity
	Events     []eventRow
	Rejections []rejectionRow
	// Since is the first minute of the per-minute charts.
	Since time.Time
}

// URL is the page's address with its filter, which the refresh asks for.
func (p debuggerPage) URL() string {
	if p.Source == 0 {
		return "/usage/debugger"
	}
	return "/usage/debugger?source=" + strconv.FormatInt(p.Source, 10)
}

// sourceOption is a write key in the source filter.
type sourceOption struct {
	ID      int64
	Name    string
	Revoked bool
}

// sourceActivity is a source's last hour.
type sourceActivity struct {
	ID       int64
	Name     string
	Prefix   string
	Revoked  bool
	Accepted int
	Rejected int
	Chart    barChart
}

// eventRow is a stored event as the debugger lists it.
type eventRow struct {
	store.Event
	Source  string
	Account string
	Raw     string
}

// rejectionRow is a rejected event as the debugger lists it.
type rejectionRow struct {
	store.Rejection
	Source string
	Raw    string
}

// debugger is the ingestion debugger. htmx asks for the live part (charts
// and tables) every five seconds and when the source filter changes.
func (ui *UI) debugger(w http.ResponseWriter, r *http.Request) error {
	p := debuggerPage{base: ui.base(r, "Ingestion", "ingestion")}
	if s := r.URL.Query().Get("source"); s != "" && s != "all" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return derrors.Field(derrors.Invalid, "source", "%q is not a write key's id or all", s)
		}
		p.Source = id
	}
	ctx := r.Context()
	keys, err := ui.st.ListWriteKeys(ctx)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(keys))
	for _, k := range keys {
		names[k.ID] = k.Name
		p.Options = append(p.Options, sourceOption{ID: k.ID, Name: k.Name, Revoked: k.RevokedAt != nil})
	}
	if _, ok := names[p.Source]; p.Source != 0 && !ok {
		return derrors.Field(derrors.Invalid, "source", "there is no write key %d", p.Source)
	}
	sourceName := func(id int64) string {
		if n, ok := names[id]; ok {
			return n
		}
		return "source #" + strconv.FormatInt(id, 10)
	}

	// The last hour, whole minutes, the current one last (still counting).
	now := ui.now().UTC()
	p.Since = now.Truncate(time.Minute).Add(-(debuggerMinutes - 1) * time.Minute)
	counts, err := ui.st.EventCountsPerMinute(ctx, p.Since)
	if err != nil {
		return err
	}
	type series struct{ accepted, rejected []int }
	per := map[int64]*series{}
	for _, k := range keys {
		// Revoked keys are shown only when they were used in the hour.
		if k.RevokedAt == nil {
			per[k.ID] = &series{make([]int, debuggerMinutes), make([]int, debuggerMinutes)}
		}
	}
	for _, c := range counts {
		i := int(c.Minute.Sub(p.Since) / time.Minute)
		if i < 0 || i >= debuggerMinutes {
			continue
		}
		s := per[c.SourceID]
		if s == nil {
			s = &series{make([]int, debuggerMinutes), make([]int, debuggerMinutes)}
			per[c.SourceID] = s
		}
		s.accepted[i] += c.Accepted
		s.rejected[i] += c.Rejected
	}
	byID := make(map[int64]store.WriteKey, len(keys))
	for _, k := range keys {
		byID[k.ID] = k
	}
	for id, s := range per {
		if p.Source != 0 && id != p.Source {
			continue
		}
		a := sourceActivity{ID: id, Name: sourceName(id), Prefix: byID[id].Prefix, Revoked: byID[id].RevokedAt != nil}
		for i := range s.accepted {
			a.Accepted += s.accepted[i]
			a.Rejected += s.rejected[i]
		}
		a.Chart = minuteChart("Events per minute from "+a.Name+", last hour", s.accepted, s.rejected, p.Since)
		p.Sources = append(p.Sources, a)
	}
	// The busiest sources first, then by name.
	slices.SortFunc(p.Sources, func(a, b sourceActivity) int {
		if d := (b.Accepted + b.Rejected) - (a.Accepted + a.Rejected); d != 0 {
			return d
		}
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})

	evs, err := ui.st.RecentEvents(ctx, p.Source, debuggerRows)
	if err != nil {
		return err
	}
	accounts := map[int64]string{}
	for _, e := range evs {
		row := eventRow{Event: e, Source: sourceName(e.SourceID), Raw: prettyJSON(ingest.RedactWriteKeys(e.Body))}
		if id := e.AccountID; id != nil {
			name, seen := accounts[*id]
			if !seen {
				a, err := ui.st.GetAccount(ctx, *id)
				switch {
				case err == nil:
					name = a.Name
				case derrors.Is(err, derrors.NotFound):
					name = fmt.Sprintf("account %d (deleted)", *id)
				default:
					return err
				}
				accounts[*id] = name
			}
			row.Account = name
		}
		p.Events = append(p.Events, row)
	}
	rjs, err := ui.st.RecentRejections(ctx, p.Source, debuggerRows)
	if err != nil {
		return err
	}
	for _, rj := range rjs {
		p.Rejections = append(p.Rejections, rejectionRow{Rejection: rj, Source: sourceName(rj.SourceID), Raw: prettyJSON(ingest.RedactWriteKeys(rj.Body))})
	}
	if isHTMX(r) {
		return ui.renderBlock(w, r, http.StatusOK, "debugger", "live", p)
	}
	return ui.renderPage(w, r, http.StatusOK, "debugger", p)
}

// prettyJSON indents an event's JSON for reading, cut at maxRawShown. A
// rejected body may not be JSON at all (that may be why it was rejected):
// it is shown as it came.
func prettyJSON(b []byte) string {
	var buf bytes.Buffer
	s := string(b)
	if json.Indent(&buf, b, "", "  ") == nil {
		s = buf.String()
	}
	if len(s) > maxRawShown {
		cut := maxRawShown
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + fmt.Sprintf("\n… (%s bytes in all)", number(len(b)))
	}
	return s
}
