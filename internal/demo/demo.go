// Package demo generates Tend's demo: a deterministic, realistic book of
// business — a post-sales team, a few hundred customer accounts in every
// segment and lifecycle stage, their contacts by role, the handbook's
// traits with some history, the TAs' notes, and about a year of product
// usage — written into a fresh store through the ordinary store API, the
// usage as Segment events through the usage engine, which computes the
// accounts' utilization from them. The same seed at the same instant gives
// the same book and the same events.
package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
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
	// Seed picks the book: the same seed and day give the same data, and
	// the same seed and instant the same product events.
	Seed int64
	// Now anchors every date (close, renewal, last activity, notes) and the
	// product usage, which runs up to it. Zero means time.Now().
	Now time.Time
	// Usage starts the usage engine the demo's product events go through.
	// Generate calls it once the accounts are stored, because an engine
	// resolves the events' group ids against the accounts it has loaded;
	// the engine it returns stays the caller's to serve with and close.
	// Nil: Generate runs an engine of its own on the clock Now and closes
	// it when done.
	Usage func(ctx context.Context) (*engine.Usage, error)
}

// Result says what Generate wrote and how to log in.
type Result struct {
	AdminEmail    string
	AdminPassword string
	Users         int
	Accounts      int
	Contacts      int
	// Traits counts the trait values the accounts hold at the end, the
	// usage engine's computed ones included.
	Traits int
	// WriteKey is the secret of the "demo product" source, which sends
	// events like the demo's; shown once, only its hash is stored.
	WriteKey string
	// ProductUsers and Events count the people using the product at the
	// customers and the events the demo sent for them.
	ProductUsers int
	Events       int
	// SampleUserID and SampleGroupID are a product user and their
	// account's analytics id, for an example event.
	SampleUserID, SampleGroupID string
}

// WriteKeyName names the demo's source of product events.
const WriteKeyName = "demo product"

// Generate writes the demo book into st, which should be empty (the admin's
// email must be free). Trait values go through ws's definitions; traits
// the workspace does not define are left out. The product usage goes as
// Segment events, under a "demo product" write key, through the usage
// engine (see Options.Usage), which computes the accounts' utilization
// traits; each account's stage and health are those its utilization gives.
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

	loc := ws.Settings.Location
	if loc == nil {
		loc = time.UTC
	}

	staff, err := createTeam(ctx, st)
	if err != nil {
		return res, err
	}
	g := &generator{
		seed:    uint64(opts.Seed),
		nameRNG: rand.New(rand.NewPCG(uint64(opts.Seed), 0)),
		today:   date.Of(now),
		now:     now,
		loc:     loc,
		staff:   staff,
		seen:    map[string]bool{},
	}
	g.cacheDays()
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
		p.acct.ID = accts[i].ID
		for _, c := range p.contacts {
			c.AccountID = accts[i].ID
			contacts = append(contacts, c)
		}
	}
	if _, err := st.UpsertContacts(ctx, contacts); err != nil {
		return res, err
	}

	if err := writeTraits(ctx, st, ws, staff, plans, accts); err != nil {
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

	res = Result{AdminEmail: AdminEmail, AdminPassword: Password, Users: len(staff.users), Accounts: n, Contacts: len(contacts)}
	if err := g.sendProductUsage(ctx, st, ws, opts, plans, staff, &res); err != nil {
		return res, err
	}
	if res.Traits, err = g.settle(ctx, st, plans); err != nil {
		return res, err
	}
	return res, nil
}

// sendProductUsage creates the demo's write key and sends the accounts'
// product usage through the usage engine, then flushes it, which writes
// the utilization traits.
func (g *generator) sendProductUsage(ctx context.Context, st store.Store, ws *workspace.Workspace, opts Options,
	plans []*plan, s *staff, res *Result) (err error) {
	secret, hash, prefix, err := team.NewWriteKeySecret()
	if err != nil {
		return err
	}
	res.WriteKey = secret
	key := store.WriteKey{Name: WriteKeyName, Prefix: prefix, Hash: hash, CreatedBy: &s.users[0].ID}
	if err := st.CreateWriteKey(ctx, &key); err != nil {
		return err
	}

	var eng *engine.Usage
	if opts.Usage != nil {
		eng, err = opts.Usage(ctx)
	} else {
		// Its own engine flushes when told to, on the demo's clock.
		eng, err = engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, FlushEvery: time.Hour,
			Now: func() time.Time { return g.now }})
		if eng != nil {
			defer func() { err = errors.Join(err, eng.Close()) }()
		}
	}
	if err != nil {
		return err
	}
	if res.Events, err = sendUsage(ctx, g, eng, key, plans); err != nil {
		return err
	}
	if err := eng.Flush(ctx); err != nil {
		return err
	}
	for _, p := range plans {
		if up := p.usage; up != nil && up.days > 0 {
			if res.SampleGroupID == "" {
				res.SampleUserID, res.SampleGroupID = up.users[0].id, p.acct.AnalyticsID
			}
			res.ProductUsers += len(up.users) - up.idle()
		}
	}
	return nil
}

// settle reads back the utilization the usage engine computed and places
// each account (stage, health) by it. The plans drew the events to give
// the utilization they were placed by, with the engine's own maths, so
// nothing changes unless the two disagree; if they do, the engine wins. It
// returns how many trait values the accounts hold.
func (g *generator) settle(ctx context.Context, st store.Store, plans []*plan) (int, error) {
	total := 0
	var moved []account.Account
	for _, p := range plans {
		vals, err := st.ListTraits(ctx, p.acct.ID)
		if err != nil {
			return 0, err
		}
		total += len(vals)
		if p.acct.CloseDate.IsZero() {
			continue
		}
		var computed []traitVal
		for _, v := range vals {
			if slices.Contains(workspace.UsageTraits, v.Key) {
				computed = append(computed, traitVal{v.Key, v.Value, v.Source})
			}
		}
		was := p.acct
		p.computed = computed
		g.place(p)
		if p.acct.Stage != was.Stage || p.acct.HealthColor != was.HealthColor || !sameScore(p.acct.HealthScore, was.HealthScore) {
			moved = append(moved, p.acct)
		}
	}
	if len(moved) > 0 {
		if _, err := st.UpsertAccounts(ctx, moved, account.System("tend demo", "")); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func sameScore(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// cacheDays works out how busy each day of the demo's year is, once.
func (g *generator) cacheDays() {
	today := usage.DayOf(g.now, g.loc)
	g.factorsFrom = monthStart(today.Month() - 12)
	g.factors = nil
	factors := make([]float64, 0, today-g.factorsFrom+1)
	for d := g.factorsFrom; d <= today; d++ {
		factors = append(factors, g.dayFactor(d))
	}
	g.factors = factors
}

// writeTraits stores the plans' traits in a few bulk calls, one per actor:
// each TA sets the manual traits of their own accounts (earlier values
// first, so that the trait history shows the change), and two system
// actors stand for the CRM sync and the warehouse sync. The utilization
// traits are the usage engine's to write from the events — unless the
// workspace takes them from the warehouse (usage.metrics_source), when
// the demo's warehouse sync sets them to what the events give.
func writeTraits(ctx context.Context, st store.Store, ws *workspace.Workspace, s *staff, plans []*plan, accts []account.Account) error {
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
			return err
		}
	}
	for _, sys := range []account.Actor{
		account.System("demo CRM sync", account.SourceCRM),
		account.System("demo warehouse sync", account.SourceWarehouse),
	} {
		err := write(sys, func(p *plan) []traitVal {
			vals := bySource(p.traits, sys.Source)
			for _, c := range p.computed {
				if d, ok := ws.Traits.Get(c.key); ok && d.Source == sys.Source {
					vals = append(vals, c)
				}
			}
			return vals
		})
		if err != nil {
			return err
		}
	}
	return nil
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
