package web

import (
	"net/http"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/team"
)

// teamPage is the data of the team page.
type teamPage struct {
	base
	Members []member
	// Total and Unassigned count the accounts of the whole book.
	Total      int
	Unassigned int
	TotalARR   int64
}

// member is one team member and their book of business.
type member struct {
	team.User
	Book account.OwnerStats
	// Share is the member's part of the ARR that has an owner, in percent.
	Share float64
}

// team lists the team members and the size of each one's book.
func (ui *UI) team(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return err
	}
	stats, err := ui.st.OwnerStats(ctx)
	if err != nil {
		return err
	}
	all, err := ui.st.ListAccounts(ctx, account.Filter{Limit: 1})
	if err != nil {
		return err
	}
	none, err := ui.st.ListAccounts(ctx, account.Filter{OwnerID: account.Unassigned, Limit: 1})
	if err != nil {
		return err
	}
	p := teamPage{base: ui.base(r, "Team", "team"), Total: all.Total, Unassigned: none.Total}
	for _, s := range stats {
		p.TotalARR += s.ARR
	}
	for _, u := range users {
		m := member{User: u, Book: stats[u.ID]}
		if p.TotalARR > 0 {
			m.Share = 100 * float64(m.Book.ARR) / float64(p.TotalARR)
		}
		p.Members = append(p.Members, m)
	}
	return ui.renderPage(w, r, http.StatusOK, "team", p)
}
