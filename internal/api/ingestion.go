package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
)

// The ingestion debugger's bounds. Events may be 32 KB each, so a page is
// at most 500 of them (16 MB); per-minute counts go back a day.
const (
	defaultDebugRows    = 50
	maxDebugRows        = 500
	defaultDebugMinutes = 60
	maxDebugMinutes     = 24 * 60
)

// eventJSON is a stored event as the debugger shows it: where it came from
// and its body as sent.
type eventJSON struct {
	store.Event
	// Source is the name of the write key the event came with.
	Source string `json:"source"`
	// Body is the call as sent, a JSON object, with any writeKey in it cut
	// to the key's prefix.
	Body json.RawMessage `json:"body"`
}

// rejectionJSON is a refused event as the debugger shows it.
type rejectionJSON struct {
	store.Rejection
	Source string `json:"source"`
	// Body is the start of what was sent (store.MaxRejectionBody bytes), as
	// text: it may be cut mid-value, or not be JSON at all, which is often
	// why it was refused. Any writeKey in it is cut to the key's prefix.
	Body string `json:"body"`
}

// minuteJSON is one source's counts in one minute.
type minuteJSON struct {
	store.MinuteCount
	Source string `json:"source"`
}

// countsJSON is GET /ingestion/counts: the minutes from Since on that saw
// events, oldest first; a minute missing from Data saw none.
type countsJSON struct {
	Since time.Time    `json:"since"`
	Data  []minuteJSON `json:"data"`
}

// sources names the write keys by id. Managers may read the debugger but
// not list the keys, so each row carries its source's name.
type sources map[int64]string

func (a *API) sources(ctx context.Context) (sources, error) {
	keys, err := a.st.ListWriteKeys(ctx)
	if err != nil {
		return nil, err
	}
	s := make(sources, len(keys))
	for _, k := range keys {
		s[k.ID] = k.Name
	}
	return s, nil
}

// name is a source's name. Keys are revoked, never deleted, so every
// source has one; should one be missing, the row is still worth showing.
func (s sources) name(id int64) string {
	if n, ok := s[id]; ok {
		return n
	}
	return "source " + strconv.FormatInt(id, 10)
}

// filter reads ?source=, a write key's id (revoked keys included); 0, all
// sources, when absent.
func (s sources) filter(q query) (int64, error) {
	v := q.str("source")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.Field(derrors.Invalid, "source", "%q is not a write key id (a positive whole number)", v)
	}
	if _, ok := s[id]; !ok {
		return 0, derrors.Field(derrors.Invalid, "source", "no write key has the id %d", id)
	}
	return id, nil
}

// debugQuery reads the source and limit of the event and rejection lists.
func (a *API) debugQuery(r *http.Request) (sources, int64, int, error) {
	q, err := parseQuery(r, "source", "limit")
	if err != nil {
		return nil, 0, 0, err
	}
	limit, err := q.limit(defaultDebugRows, maxDebugRows)
	if err != nil {
		return nil, 0, 0, err
	}
	srcs, err := a.sources(r.Context())
	if err != nil {
		return nil, 0, 0, err
	}
	source, err := srcs.filter(q)
	if err != nil {
		return nil, 0, 0, err
	}
	return srcs, source, limit, nil
}

// ingestionEvents lists the newest stored events, of one source or all.
func (a *API) ingestionEvents(w http.ResponseWriter, r *http.Request) error {
	srcs, source, limit, err := a.debugQuery(r)
	if err != nil {
		return err
	}
	evs, err := a.st.RecentEvents(r.Context(), source, limit)
	if err != nil {
		return err
	}
	out := make([]eventJSON, len(evs))
	for i, e := range evs {
		out[i] = eventJSON{Event: e, Source: srcs.name(e.SourceID), Body: eventBody(e.Body)}
	}
	writeJSON(w, http.StatusOK, list[eventJSON]{out})
	return nil
}

// ingestionRejections lists the newest refused events with the reasons.
func (a *API) ingestionRejections(w http.ResponseWriter, r *http.Request) error {
	srcs, source, limit, err := a.debugQuery(r)
	if err != nil {
		return err
	}
	rs, err := a.st.RecentRejections(r.Context(), source, limit)
	if err != nil {
		return err
	}
	out := make([]rejectionJSON, len(rs))
	for i, rj := range rs {
		out[i] = rejectionJSON{Rejection: rj, Source: srcs.name(rj.SourceID), Body: string(ingest.RedactWriteKeys(rj.Body))}
	}
	writeJSON(w, http.StatusOK, list[rejectionJSON]{out})
	return nil
}

// ingestionCounts answers how many events each source had accepted and
// rejected per minute over the last ?minutes= (the current minute, still
// counting, included).
func (a *API) ingestionCounts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "source", "minutes")
	if err != nil {
		return err
	}
	minutes, err := q.intIn("minutes", defaultDebugMinutes, 1, maxDebugMinutes)
	if err != nil {
		return err
	}
	srcs, err := a.sources(r.Context())
	if err != nil {
		return err
	}
	source, err := srcs.filter(q)
	if err != nil {
		return err
	}
	since := a.now().UTC().Truncate(time.Minute).Add(-time.Duration(minutes-1) * time.Minute)
	counts, err := a.st.EventCountsPerMinute(r.Context(), since)
	if err != nil {
		return err
	}
	out := countsJSON{Since: since, Data: []minuteJSON{}}
	for _, c := range counts {
		if source == 0 || c.SourceID == source {
			out.Data = append(out.Data, minuteJSON{MinuteCount: c, Source: srcs.name(c.SourceID)})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// eventBody is a stored event's body as a JSON value. Accepted events were
// valid JSON when they arrived; should one not be, it is shown as a string
// rather than breaking the response.
func eventBody(b []byte) json.RawMessage {
	b = ingest.RedactWriteKeys(b)
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if !json.Valid(b) {
		s, _ := json.Marshal(string(b))
		return s
	}
	return b
}
