// Package demo generates Tend's demo: a deterministic, realistic book of
// business — a post-sales team, a few hundred customer accounts in every
// segment and lifecycle stage, their contacts by role, the handbook's
// traits with some history, and the TAs' notes — written into a fresh
// store through the ordinary store API. The same seed on the same day
// gives the same book.
package demo

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// The demo logins. Every demo team member has Password; the admin and the
// read-only viewer are the two people a demo is shown with.
const (
	AdminEmail  = "admin@tend.demo"
	ViewerEmail = "viewer@tend.demo"
	Password    = "tend-demo-password"
)

// DefaultAccounts is the size of the book when Options.Accounts is 0.
const DefaultAccounts = 300

// MaxAccounts is the largest book the name lists can make without repeating
// a company.
var MaxAccounts = len(brands) * len(industries) * len(nameVariants)

// Options shape a demo book.
type Options struct {
	// Accounts is how many accounts to generate; 0 means DefaultAccounts.
	Accounts int
	// Seed picks the book: the same seed and day give the same data.
	Seed int64
	// Now anchors every date (close, renewal, last activity, notes); its day
	// is what counts. Zero means time.Now().
	Now time.Time
}

// Result says what Generate wrote and how to log in.
type Result struct {
	AdminEmail    string
	AdminPassword string
	Users         int
	Accounts      int
	Contacts      int
	// Traits counts the trait values the accounts hold at the end.
	Traits int
}

// Generate writes the demo book into st, which should be empty (the admin's
// email must be free). Trait values go through ws's definitions; traits
// the workspace does not define are left out.
func Generate(ctx context.Context, st store.Store, ws *workspace.Workspace, opts Options) (res Result, err error) {
	defer derrors.Wrap(&err, "demo.Generate")
	n := opts.Accounts
	if n == 0 {
		n = DefaultAccounts
	}
	if n < 0 || n > MaxAccounts {
		return res, derrors.Field(derrors.Invalid, "accounts", "must be between 1 and %d", MaxAccounts)
	}
	// A workspace that redefines one of the handbook's traits (other enum
	// values, another type) is found before anything is stored.
	for _, v := range traitSamples {
		if _, _, err := coerce(ws, 0, v); err != nil {
			return res, err
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}

	staff, err := createTeam(ctx, st)
	if err != nil {
		return res, err
	}
	g := &generator{
		seed:    uint64(opts.Seed),
		nameRNG: rand.New(rand.NewPCG(uint64(opts.Seed), 0)),
		today:   date.Of(now),
		staff:   staff,
		seen:    map[string]bool{},
	}
	plans := make([]*plan, n)
	accts := make([]account.Account, n)
	for i := range n {
		plans[i] = g.account(i)
		accts[i] = plans[i].acct
	}

	if _, err := st.UpsertAccounts(ctx, accts, account.System("tend demo", "")); err != nil {
		return res, err
	}
	var contacts []account.Contact
	for i, p := range plans {
		for _, c := range p.contacts {
			c.AccountID = accts[i].ID
			contacts = append(contacts, c)
		}
	}
	if _, err := st.UpsertContacts(ctx, contacts); err != nil {
		return res, err
	}

	traits, err := writeTraits(ctx, st, ws, staff, plans, accts)
	if err != nil {
		return res, err
	}

	for i, p := range plans {
		for _, note := range p.notes {
			note.AccountID = accts[i].ID
			if err := st.AddActivity(ctx, &note); err != nil {
				return res, err
			}
		}
	}

	return Result{
		AdminEmail:    AdminEmail,
		AdminPassword: Password,
		Users:         len(staff.users),
		Accounts:      n,
		Contacts:      len(contacts),
		Traits:        traits,
	}, nil
}

// writeTraits stores the plans' traits in a few bulk calls, one per actor:
// each TA sets the manual traits of their own accounts (earlier values
// first, so that the history shows the change), and three system actors
// stand for the CRM sync, the warehouse sync and the usage metrics. It
// returns how many values the accounts hold afterwards.
func writeTraits(ctx context.Context, st store.Store, ws *workspace.Workspace, s *staff, plans []*plan, accts []account.Account) (int, error) {
	write := func(by account.Actor, pick func(p *plan) []traitVal) error {
		var writes []account.TraitWrite
		for i, p := range plans {
			for _, v := range pick(p) {
				w, ok, err := coerce(ws, accts[i].ID, v)
				if err != nil {
					return err
				}
				if ok {
					writes = append(writes, w)
				}
			}
		}
		_, err := st.SetTraits(ctx, writes, by)
		return err
	}
	for _, ta := range slices.Concat(s.managedTAs, s.scaledTAs) {
		by := account.Actor{UserID: &ta.ID, Name: ta.Email, Source: account.SourceManual}
		err := write(by, func(p *plan) []traitVal {
			if p.owner != ta {
				return nil
			}
			return slices.Concat(p.before, bySource(p.traits, account.SourceManual))
		})
		if err != nil {
			return 0, err
		}
	}
	for _, sys := range []account.Actor{
		account.System("demo CRM sync", account.SourceCRM),
		account.System("demo warehouse sync", account.SourceWarehouse),
		// Until the usage engine computes them from events, the demo
		// stands in for it.
		account.System("demo usage metrics", account.SourceComputed),
	} {
		if err := write(sys, func(p *plan) []traitVal { return bySource(p.traits, sys.Source) }); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, p := range plans {
		for _, v := range p.traits {
			if _, ok := ws.Traits.Get(v.key); ok {
				total++
			}
		}
	}
	return total, nil
}

// coerce validates one planned value against the workspace. A trait the
// workspace does not define is skipped (ok false): a team's own workspace
// may leave out some of the handbook's traits.
func coerce(ws *workspace.Workspace, accountID int64, v traitVal) (account.TraitWrite, bool, error) {
	if _, defined := ws.Traits.Get(v.key); !defined {
		return account.TraitWrite{}, false, nil
	}
	w, err := ws.Traits.Write(accountID, v.key, v.value)
	return w, err == nil, err
}

func bySource(vals []traitVal, source string) []traitVal {
	var out []traitVal
	for _, v := range vals {
		if v.source == source {
			out = append(out, v)
		}
	}
	return out
}
