package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/api"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// healthChangesPageSize is how many changes a page of the list shows.
const healthChangesPageSize = 50

// healthChangesQuery is the health changes list's view, kept in the query
// string like the book's.
type healthChangesQuery struct {
	// Owner is a user id, me, unassigned or all.
	Owner string
	// From and To are days (YYYY-MM-DD), inclusive, in the workspace's
	// time zone; empty is open.
	From, To string
	// Direction is better, worse or empty.
	Direction string
	Cursor    string
}

// parseHealthChanges reads the list's view and its store filter; the
// parameters other than the owner are read by api.HealthChangeFilter, so
// the page, its CSV export and the API agree.
func (ui *UI) parseHealthChanges(v url.Values, u *team.User) (healthChangesQuery, store.StateChangeFilter, error) {
	q := healthChangesQuery{Owner: strings.TrimSpace(v.Get("owner")), From: strings.TrimSpace(v.Get("from")),
		To: strings.TrimSpace(v.Get("to")), Direction: v.Get("direction"), Cursor: v.Get("cursor")}
	var err error
	if q.Owner, _, err = parseOwner(q.Owner, u); err != nil {
		return q, store.StateChangeFilter{}, err
	}
	owner := q.Owner
	if owner == ownerAll {
		owner = "" // the API's "any owner"
	}
	f, err := api.HealthChangeFilter(map[string]string{"owner": owner, "from": q.From, "to": q.To, "direction": q.Direction},
		u.ID, ui.location())
	if err != nil {
		return q, f, err
	}
	f.Cursor, f.Limit = q.Cursor, healthChangesPageSize
	return q, f, nil
}

// values encodes the view, leaving out what is empty.
func (q healthChangesQuery) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"owner", q.Owner}, {"from", q.From}, {"to", q.To}, {"direction", q.Direction},
		{"cursor", q.Cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// URL returns the link to this view.
func (q healthChangesQuery) URL() string { return withQuery("/health-changes", q.values()) }

// PageURL returns the link to the page at cursor ("" for the first).
func (q healthChangesQuery) PageURL(cursor string) string {
	q.Cursor = cursor
	return q.URL()
}

// CSVURL returns the export of every change the view's filters select.
func (q healthChangesQuery) CSVURL() string {
	q.Cursor = ""
	return withQuery("/health-changes.csv", q.values())
}

// withQuery appends an encoded query to a path, when there is one.
func withQuery(path string, v url.Values) string {
	if enc := v.Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

// healthChangeRow is one change of an account's health colour.
type healthChangeRow struct {
	At                 time.Time
	AccountID          int64
	Account            string
	Old, New           string
	OldScore, NewScore string
	Direction          int
	Owner              string
	Reason             string
}

// healthChangeRows words stored health changes, with owners by name.
func healthChangeRows(cs []store.StateChange, names map[int64]string) []healthChangeRow {
	rows := make([]healthChangeRow, 0, len(cs))
	for _, c := range cs {
		row := healthChangeRow{At: c.At, AccountID: c.AccountID, Account: c.AccountName, Old: c.Old, New: c.New,
			OldScore: score2(c.OldScore), NewScore: score2(c.NewScore), Direction: c.Direction, Reason: c.Reason}
		if c.OwnerID != nil {
			row.Owner = names[*c.OwnerID]
		}
		rows = append(rows, row)
	}
	return rows
}

// healthChangesPage is the data of the health changes list.
type healthChangesPage struct {
	base
	Q      healthChangesQuery
	Rows   []healthChangeRow
	Next   string
	Owners []team.User
	// TimeZone is the workspace's, in which days are counted and times
	// shown.
	TimeZone string
}

// healthChanges is the handbook's "list of health score category changes"
// (001): which account changed colour, when, from what to what, and whose
// it is, newest first. An htmx request (a filter, a page link) gets only
// the results.
func (ui *UI) healthChanges(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	q, f, err := ui.parseHealthChanges(r.URL.Query(), u)
	if err != nil {
		return err
	}
	ctx := r.Context()
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return err
	}
	page, err := ui.st.ListStateChanges(ctx, f)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(users))
	for _, m := range users {
		names[m.ID] = m.Name
	}
	p := healthChangesPage{base: ui.base(r, "Health changes", "health"), Q: q, Rows: healthChangeRows(page.Changes, names),
		Next: page.Next, Owners: ownerOptions(users, q.Owner), TimeZone: ui.location().String()}
	if isHTMX(r) {
		return ui.renderBlock(w, r, http.StatusOK, "health_changes", "results", p)
	}
	return ui.renderPage(w, r, http.StatusOK, "health_changes", p)
}

// healthChangesCSV exports every change the list's filters select, as the
// API's CSV does (api.WriteHealthChangesCSV): account, date and time in the
// workspace's zone, old and new colour and score, owner, reason. The
// cursor, if any, is ignored: an export has every page.
func (ui *UI) healthChangesCSV(w http.ResponseWriter, r *http.Request) error {
	_, f, err := ui.parseHealthChanges(r.URL.Query(), currentUser(r))
	if err != nil {
		return err
	}
	return api.WriteHealthChangesCSV(w, r, ui.st, f, ui.location())
}
