package demo

import (
	"strings"

	"github.com/tendhq/tend/internal/account"
)

// people are the customer contacts the notes mention by name.
type people struct {
	admin, program, champion, buyer string
}

// contacts draws the people at the customer by role (campaigns address
// them so): one or two instance admins, a program contact, a champion when
// the TA says there is one, the buyer, stakeholders on larger accounts and
// a few end users once the product is live.
func (g *generator) contacts(p *plan) {
	a := &p.acct
	// A company spells its addresses one way.
	format := pick(g.rng, []int{0, 1, 2}, []float64{60, 25, 15})
	used := map[string]bool{}
	add := func(titles []string, roles ...string) string {
		var first, last, local string
		for {
			first, last = pick(g.rng, firstNames, nil), pick(g.rng, lastNames, nil)
			f, l := strings.ToLower(first), strings.ToLower(last)
			local = []string{f + "." + l, f[:1] + l, f + l[:1]}[format]
			if !used[local] {
				break
			}
		}
		used[local] = true
		unsubscribe := 0.03
		if roles[0] == account.RoleEndUser {
			unsubscribe = 0.08
		}
		p.contacts = append(p.contacts, account.Contact{
			ExternalID:   g.crmID("0035e00001"),
			Name:         first + " " + last,
			Email:        local + "@" + a.Domain,
			Title:        pick(g.rng, titles, nil),
			Roles:        roles,
			Unsubscribed: g.rng.Float64() < unsubscribe,
		})
		return first + " " + last
	}

	prospect := a.CloseDate.IsZero()
	champion := false
	switch v, ok := traitValue(p.traits, "active_champion"); {
	case ok:
		champion = v == true
	case prospect:
		champion = g.rng.Float64() < 0.6 // the deal's internal sponsor
	default:
		champion = g.rng.IntN(2) == 0
	}

	admins := 1
	switch a.Segment {
	case segmentStrategic:
		admins = 2
	case segmentEnterprise:
		admins = g.between(1, 2)
	}
	for i := range admins {
		name := add(titlesInstanceAdmin, account.RoleInstanceAdmin)
		if i == 0 {
			p.people.admin = name
		}
	}
	// On a third of the accounts the program contact is the champion too.
	if champion && g.rng.Float64() < 0.33 {
		p.people.program = add(titlesChampion, account.RoleProgramContact, account.RoleChampion)
		p.people.champion = p.people.program
	} else {
		p.people.program = add(titlesProgramContact, account.RoleProgramContact)
		if champion {
			p.people.champion = add(titlesChampion, account.RoleChampion)
		}
	}
	p.people.buyer = add(titlesBuyer, account.RoleBuyer)
	stakeholders, users := g.rng.IntN(2), g.between(2, 3)
	switch a.Segment {
	case segmentStrategic:
		stakeholders, users = 2, g.between(4, 6)
	case segmentEnterprise:
		stakeholders, users = 1, g.between(3, 4)
	}
	for range stakeholders {
		add(titlesStakeholder, account.RoleStakeholder)
	}
	if prospect {
		return
	}
	for range users {
		add(titlesEndUser, account.RoleEndUser)
	}
}

func traitValue(vals []traitVal, key string) (any, bool) {
	for _, v := range vals {
		if v.key == key {
			return v.value, true
		}
	}
	return nil, false
}
