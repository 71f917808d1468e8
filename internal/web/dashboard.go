package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/api"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/lifecycle"
	"github.com/tendhq/tend/internal/team"
)

// What the dashboard shows.
const (
	// dashboardChangeDays is how far back "recent health changes" go,
	// today included.
	dashboardChangeDays = 14
	dashboardChanges    = 20
	// dashboardEnteringDays is the window of "entering Renewing soon".
	dashboardEnteringDays = 30
	dashboardRenewing     = 50
)

// dashboardPage is a Technical Advisor's morning view of their book: the
// accounts by colour, the recent health changes, the accounts about to
// enter Renewing and those already in it.
type dashboardPage struct {
	base
	// Owner is the view's owner filter (a user id, me, unassigned, all).
	Owner      string
	OwnerTitle string
	Owners     []team.User
	Dist       distBar
	// Changes are the health changes of the last dashboardChangeDays days;
	// MoreChanges says the list has more.
	Changes     []healthChangeRow
	MoreChanges bool
	ChangesURL  string
	// Entering are the accounts whose Renewing starts within
	// dashboardEnteringDays; Renewing those in it, RenewingTotal how many.
	Entering      []renewalRow
	Renewing      []renewalRow
	RenewingTotal int
	RenewingURL   string
	LeadDays      int
	EnteringDays  int
	ChangeDays    int
	TimeZone      string
	today         date.Date
}

// renewalRow is an account with its renewal and when Renewing starts.
type renewalRow struct {
	Account account.Account
	// Starts is the first day of Renewing (the renewal less the lead
	// days).
	Starts date.Date
}

// RenewalIn says how far a renewal is: "in 52 days", "3 days ago".
func (p dashboardPage) RenewalIn(d date.Date) string { return relDays(p.today, d) }

// BookURL links to the book of business filtered to the dashboard's owner
// and a health colour ("" any).
func (p dashboardPage) BookURL(color string) string {
	return bookQuery{Owner: p.Owner, Health: color, Sort: "name"}.URL()
}

// dashboard is the landing page of a Technical Advisor (see login): their
// own accounts by default, any owner's with ?owner= like the book.
func (ui *UI) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(r)
	owner, ownerID, err := parseOwner(strings.TrimSpace(r.URL.Query().Get("owner")), u)
	if err != nil {
		return err
	}
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(users))
	for _, m := range users {
		names[m.ID] = m.Name
	}
	today := ui.localToday()
	lead := ui.ws.Lifecycle.RenewingLeadDays
	p := dashboardPage{base: ui.base(r, "Dashboard", "dashboard"), Owner: owner, OwnerTitle: ownerTitle(owner, names),
		Owners: ownerOptions(users, owner), LeadDays: lead, EnteringDays: dashboardEnteringDays,
		ChangeDays: dashboardChangeDays, TimeZone: ui.location().String(), today: ui.today()}

	counts, err := ui.st.HealthCounts(ctx, account.Filter{OwnerID: ownerID})
	if err != nil {
		return err
	}
	p.Dist = healthDistribution(counts, "", p.BookURL)

	// The same filter as the health changes list's, so its link shows the
	// same changes and more.
	from := today.AddDays(1 - dashboardChangeDays).String()
	changesOwner := owner
	if changesOwner == ownerAll {
		changesOwner = ""
	}
	f, err := api.HealthChangeFilter(map[string]string{"owner": changesOwner, "from": from}, u.ID, ui.location())
	if err != nil {
		return err
	}
	f.Limit = dashboardChanges
	changes, err := ui.st.ListStateChanges(ctx, f)
	if err != nil {
		return err
	}
	p.Changes, p.MoreChanges = healthChangeRows(changes.Changes, names), changes.Next != ""
	p.ChangesURL = healthChangesQuery{Owner: owner, From: from}.URL()

	if p.Entering, err = ui.enteringRenewing(ctx, ownerID, today, lead); err != nil {
		return err
	}
	renewing, err := ui.st.ListAccounts(ctx, account.Filter{OwnerID: ownerID, Stage: lifecycle.Renewing, Sort: "renewal",
		Limit: dashboardRenewing})
	if err != nil {
		return err
	}
	p.RenewingTotal = renewing.Total
	p.RenewingURL = bookQuery{Owner: owner, Stage: lifecycle.Renewing, Sort: "renewal"}.URL()
	for _, a := range renewing.Accounts {
		p.Renewing = append(p.Renewing, renewalRow{Account: a, Starts: renewingStarts(a.RenewalDate, lead)})
	}
	return ui.renderPage(w, r, http.StatusOK, "dashboard", p)
}

// renewingStarts is the first day of Renewing for a renewal date (004:
// "120 days out from contract renewal"); zero without a renewal.
func renewingStarts(renewal date.Date, lead int) date.Date {
	if renewal.IsZero() {
		return date.Date{}
	}
	return renewal.AddDays(-lead)
}

// enteringRenewing lists the owner's accounts that the clock alone will
// move into Renewing within dashboardEnteringDays: after Prospect and not
// churned, not Renewing yet, and Renewing starting after today and within
// the window — a renewal between lead+1 and lead+window days away. An
// account whose renewal was processed gets a new renewal date and is
// listed by it. The book is read by renewal date, soonest first, and only
// as far as the window.
func (ui *UI) enteringRenewing(ctx context.Context, ownerID int64, today date.Date, lead int) ([]renewalRow, error) {
	var out []renewalRow
	f := account.Filter{OwnerID: ownerID, Sort: "renewal", Limit: account.MaxLimit}
	for {
		page, err := ui.st.ListAccounts(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Accounts {
			if a.RenewalDate.IsZero() {
				return out, nil // unset renewals sort last
			}
			away := today.DaysUntil(a.RenewalDate)
			if away > lead+dashboardEnteringDays {
				return out, nil
			}
			if away <= lead || a.Stage == lifecycle.Renewing || a.Stage == lifecycle.Churned || a.Stage == lifecycle.Prospect {
				continue
			}
			out = append(out, renewalRow{Account: a, Starts: renewingStarts(a.RenewalDate, lead)})
		}
		if page.Next == "" {
			return out, nil
		}
		f.Cursor = page.Next
	}
}

// landing is where signing in leads when no page was asked for: a
// Technical Advisor's dashboard, everyone else's book of business.
func landing(u team.User) string {
	if u.Role == team.TA {
		return "/dashboard"
	}
	return "/"
}
