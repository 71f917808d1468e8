package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// The values the book's filters offer: the handbook's segments, programs
// and lifecycle stages (DESIGN.md §3). A value outside these lists that a
// URL asks for is still offered, so a filter is never silently dropped.
var (
	bookSegments = []string{"Strategic", "Enterprise", "Commercial"}
	bookPrograms = []string{"Managed", "Scaled Success"}
	bookStages   = []string{"0. Prospect", "1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing", "Churned"}
	bookHealths  = []string{"green", "yellow", "red"}
)

// Owner filter values besides a user id.
const (
	ownerMe         = "me"
	ownerAll        = "all"
	ownerUnassigned = "unassigned"
)

// bookQuery is the book of business's state, kept in the query string so
// that every view is a link that can be shared and bookmarked.
type bookQuery struct {
	Owner   string // a user id, me, unassigned or all
	Segment string
	Program string
	Stage   string
	Health  string
	Q       string
	Sort    string
	Cursor  string
}

// parseBookQuery reads the query string into the view and the store filter.
// A Technical Advisor's book defaults to their own accounts.
func parseBookQuery(v url.Values, u *team.User) (bookQuery, account.Filter, error) {
	q := bookQuery{Owner: strings.TrimSpace(v.Get("owner")), Segment: v.Get("segment"), Program: v.Get("program"),
		Stage: v.Get("stage"), Health: v.Get("health"), Q: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort"),
		Cursor: v.Get("cursor")}
	f := account.Filter{Segment: q.Segment, Program: q.Program, Stage: q.Stage, HealthColor: q.Health, Query: q.Q,
		Sort: q.Sort, Cursor: q.Cursor}
	var err error
	if q.Owner, f.OwnerID, err = parseOwner(q.Owner, u); err != nil {
		return q, f, err
	}
	if err := f.Normalize(); err != nil {
		return q, f, err
	}
	q.Sort = f.Sort
	return q, f, nil
}

// parseOwner reads an owner filter — a user id, me, unassigned or all —
// into the view's value and the store's OwnerID (0 all, account.Unassigned
// none). Empty is the default: a Technical Advisor's own accounts, every
// account for everyone else.
func parseOwner(owner string, u *team.User) (string, int64, error) {
	if owner == "" {
		owner = ownerAll
		if u.Role == team.TA {
			owner = ownerMe
		}
	}
	switch owner {
	case ownerAll:
		return owner, 0, nil
	case ownerMe:
		return owner, u.ID, nil
	case ownerUnassigned:
		return owner, account.Unassigned, nil
	}
	id, err := strconv.ParseInt(owner, 10, 64)
	if err != nil || id <= 0 {
		return owner, 0, derrors.Field(derrors.Invalid, "owner", "%q is not a team member's id, me, unassigned or all", owner)
	}
	return owner, id, nil
}

// ownerOptions are the team members an owner filter offers: Technical
// Advisors and managers (who sometimes hold accounts), and whoever the
// view already names.
func ownerOptions(users []team.User, owner string) []team.User {
	var out []team.User
	for _, m := range users {
		if !m.Disabled && (m.Role == team.TA || m.Role == team.Manager) || strconv.FormatInt(m.ID, 10) == owner {
			out = append(out, m)
		}
	}
	return out
}

// ownerTitle says whose accounts a view shows; names maps ids to names.
func ownerTitle(owner string, names map[int64]string) string {
	switch owner {
	case ownerAll:
		return "All accounts"
	case ownerMe:
		return "My accounts"
	case ownerUnassigned:
		return "Unassigned accounts"
	}
	id, _ := strconv.ParseInt(owner, 10, 64)
	if n, ok := names[id]; ok {
		return n + "’s accounts"
	}
	return "#" + owner + "’s accounts"
}

// values encodes the view, leaving out what is at its default.
func (q bookQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("owner", q.Owner)
	set("segment", q.Segment)
	set("program", q.Program)
	set("stage", q.Stage)
	set("health", q.Health)
	set("q", q.Q)
	if q.Sort != "name" {
		set("sort", q.Sort)
	}
	set("cursor", q.Cursor)
	return v
}

// URL returns the link to this view.
func (q bookQuery) URL() string {
	if enc := q.values().Encode(); enc != "" {
		return "/?" + enc
	}
	return "/"
}

// descFirst are the sort keys whose first click sorts largest first: the
// biggest accounts and the healthiest are what people look for.
var descFirst = []string{"arr", "seats", "developers", "health", "created"}

// SortURL returns the link that sorts by key, reversing the order when the
// view is already sorted by it. Sorting starts again at the first page.
func (q bookQuery) SortURL(key string) string {
	next := key
	switch q.Sort {
	case key:
		next = "-" + key
	case "-" + key:
		next = key
	default:
		if slices.Contains(descFirst, key) {
			next = "-" + key
		}
	}
	q.Sort, q.Cursor = next, ""
	return q.URL()
}

// SortState is the column's aria-sort value.
func (q bookQuery) SortState(key string) string {
	switch q.Sort {
	case key:
		return "ascending"
	case "-" + key:
		return "descending"
	}
	return "none"
}

// HealthURL returns the link that filters the view by a health colour, or
// clears the filter when it is that colour already.
func (q bookQuery) HealthURL(color string) string {
	if q.Health == color {
		color = ""
	}
	q.Health, q.Cursor = color, ""
	return q.URL()
}

// PageURL returns the link to the page at cursor ("" for the first).
func (q bookQuery) PageURL(cursor string) string {
	q.Cursor = cursor
	return q.URL()
}

// bookPage is the data of the book of business.
type bookPage struct {
	base
	Q      bookQuery
	Page   account.Page
	Owners []team.User
	// Dist is the health distribution of the accounts the filters other
	// than health select.
	Dist  distBar
	names map[int64]string
	label func(string) string
	usage map[int64]bookUsage
}

// bookUsage is an account's utilization in the book: the handbook's two
// ratios, each with its status (004).
type bookUsage struct {
	MAUSeats, Score bookMetric
}

// bookMetric is one ratio, formatted, with its handbook status; an empty
// Value is a metric the account does not have.
type bookMetric struct {
	Value  string
	Status string
}

// Usage returns the account's utilization ratios.
func (p bookPage) Usage(id int64) bookUsage { return p.usage[id] }

// Name returns the team member's name for an owner id.
func (p bookPage) Name(id *int64) string {
	if id == nil {
		return ""
	}
	if n, ok := p.names[*id]; ok {
		return n
	}
	return "#" + strconv.FormatInt(*id, 10)
}

// Label returns the workspace's label of an account field.
func (p bookPage) Label(field string) string { return p.label(field) }

// OwnerTitle says whose book the page shows.
func (p bookPage) OwnerTitle() string { return ownerTitle(p.Q.Owner, p.names) }

// Segments are the segment filter's options.
func (p bookPage) Segments() []string { return withValue(bookSegments, p.Q.Segment) }

// Programs are the program filter's options.
func (p bookPage) Programs() []string { return withValue(bookPrograms, p.Q.Program) }

// Stages are the lifecycle stage filter's options.
func (p bookPage) Stages() []string { return withValue(bookStages, p.Q.Stage) }

// Healths are the health filter's options.
func (p bookPage) Healths() []string { return bookHealths }

// withValue returns options with v added when it is set and missing.
func withValue(options []string, v string) []string {
	if v == "" || slices.Contains(options, v) {
		return options
	}
	return append(slices.Clip(options), v)
}

// book is the book of business: the table of accounts. An htmx request
// (filter, search, sort, next page) gets only the results.
func (ui *UI) book(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	q, f, err := parseBookQuery(r.URL.Query(), u)
	if err != nil {
		return err
	}
	users, err := ui.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	page, err := ui.st.ListAccounts(r.Context(), f)
	if err != nil {
		return err
	}
	data := bookPage{base: ui.base(r, "Book of business", "book"), Q: q, Page: page, names: make(map[int64]string, len(users)),
		label: ui.ws.FieldLabel}
	if data.usage, err = ui.bookUsage(r.Context(), page.Accounts); err != nil {
		return err
	}
	counts, err := ui.st.HealthCounts(r.Context(), f)
	if err != nil {
		return err
	}
	data.Dist = healthDistribution(counts, q.Health, q.HealthURL)
	for _, m := range users {
		data.names[m.ID] = m.Name
	}
	data.Owners = ownerOptions(users, q.Owner)
	if isHTMX(r) {
		return ui.renderBlock(w, r, http.StatusOK, "book", "results-htmx", data)
	}
	return ui.renderPage(w, r, http.StatusOK, "book", data)
}

// bookUsage reads the utilization traits of a page of accounts. The book's
// query returns no traits, and a page is at most 50 rows, so this is one
// small indexed query per row (BenchmarkBookOfBusiness measures it). The
// traits, not the live engine, are read because a workspace may take these
// metrics from its warehouse instead of from events.
func (ui *UI) bookUsage(ctx context.Context, accounts []account.Account) (map[int64]bookUsage, error) {
	out := make(map[int64]bookUsage, len(accounts))
	for _, a := range accounts {
		traits, err := ui.st.ListTraits(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		var u bookUsage
		for _, t := range traits {
			v, ok := t.Value.(float64)
			if !ok {
				continue
			}
			switch t.Key {
			case "usage_score":
				u.Score = bookMetric{Value: ratio(v), Status: usageScoreStatus(v)}
			case "last_month_mau_over_seats":
				u.MAUSeats = bookMetric{Value: ratio(v), Status: mauSeatsStatus(v)}
			}
		}
		out[a.ID] = u
	}
	return out, nil
}
