package engine

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/links"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
)

// CampaignConfig runs the workspace's campaigns (PlaybookConfig.Campaigns):
// the runner enrolls accounts (a campaign's own trigger, a playbook's
// enroll action, a broadcast), plans each enrollment's next step
// (campaign.Plan) when it is due, and renders its emails into the outbox.
type CampaignConfig struct {
	// Enqueue stores outbox messages (outbox.Queue.Enqueue).
	Enqueue func(ctx context.Context, ms ...*store.OutboxMessage) error
	// From is the sender of an email from the owner TA when the account
	// has none, and the fallback of a team address that does not parse.
	From store.Address
	// OnMessage, when set, is called with every message queued for the
	// first time (simulate reports them).
	OnMessage func(m store.OutboxMessage)
	// LinkBase is Tend's public address for the unsubscribe and survey
	// links in emails (https://tend.example.com); PlaybookConfig.BaseURL
	// when empty.
	LinkBase string
}

// entryPrefix starts the key of the playbook that a campaign's own trigger
// becomes: the runner fires it as any playbook, logged and explained, and
// its one action enrolls the account.
const entryPrefix = "campaign."

// entryPlaybooks are the campaigns' own triggers as playbooks.
func entryPlaybooks(cs []*campaign.Campaign) map[string]*playbook.Playbook {
	out := map[string]*playbook.Playbook{}
	for _, c := range cs {
		if c.Entry.Kind != campaign.EntryTrigger {
			continue
		}
		// It fires for the accounts of the audience, at every occurrence:
		// the campaign's re-entry rule is the enrollment key's
		// (campaign.EnrollmentKey), and its exits are checked when it
		// enrolls (campaign.CanEnter).
		p := &playbook.Playbook{Key: entryPrefix + c.Key, Name: "Campaign entry: " + c.Name,
			Description: "Enters accounts in the campaign " + c.Name + " when its trigger fires.", Enabled: c.Enabled,
			Trigger: c.Entry.Trigger, Condition: c.Audience, Reentry: playbook.Reentry{Mode: playbook.EveryTime},
			Actions: []playbook.Action{{Kind: playbook.ActionEnroll, Campaign: c.Key}}}
		out[p.Key] = p
	}
	return out
}

// playbook returns a playbook of the workspace or a campaign's entry.
func (r *runner) playbook(key string) *playbook.Playbook {
	if p := r.ws.Playbook(key); p != nil {
		return p
	}
	return r.entries[key]
}

// campaignsOn reports whether this runner runs campaigns.
func (r *runner) campaignsOn() bool { return r.cfg.Campaigns != nil && r.cfg.Campaigns.Enqueue != nil }

// signer returns the link signer, reading the store's secret once.
func (r *runner) signer(ctx context.Context) (*links.Signer, error) {
	r.lazyMu.Lock()
	defer r.lazyMu.Unlock()
	if r.links != nil {
		return r.links, nil
	}
	secret, err := r.st.Secret(ctx, links.SecretName)
	if err != nil {
		return nil, err
	}
	base := r.cfg.Campaigns.LinkBase
	if base == "" {
		base = r.cfg.BaseURL
	}
	r.links = links.New(secret, base)
	return r.links, nil
}

// enrollment is what a claimed enroll action enters: the account in the
// campaign for the firing's occurrence, when the campaign takes it now.
// Otherwise it says why not (or errSkipped: the playbook or the account is
// gone).
func (r *runner) enrollment(ctx context.Context, act store.FiringAction, now time.Time) (*store.Enrollment, string, error) {
	p, a, ok := r.action(act)
	if !ok || a.Kind != playbook.ActionEnroll {
		return nil, "", errSkipped
	}
	f, ok := r.a.facts(act.AccountID, now)
	if !ok {
		return nil, "", errSkipped
	}
	return r.enter(ctx, p, a.Campaign, &subject{f: f, schema: r.ws.Conditions}, act.FiringKey, act.Trigger, now)
}

// entryAction settles a campaign entry's enroll action as it fires, to be
// done in the transaction that records the firing (store.RecordFirings):
// the enrollment to insert, or the action finished with why the account
// does not enter. Nothing is claimed or run for it later, and a firing
// recorded already enrolls nobody.
func (r *runner) entryAction(ctx context.Context, p *playbook.Playbook, act *store.FiringAction, s *subject, firingKey, trigger string,
	now time.Time) error {
	if c := r.ws.Campaign(p.Actions[0].Campaign); c != nil && c.Reentry.Mode == playbook.Limited {
		// The count reads the store: the batch's entries first.
		if err := r.flush(ctx); err != nil {
			return err
		}
	}
	e, result, err := r.enter(ctx, p, p.Actions[0].Campaign, s, firingKey, trigger, now)
	switch {
	case derrors.Is(err, derrors.Invalid):
		act.Status, act.Result = store.ActionFailed, err.Error()
	case err != nil:
		return err
	case e != nil:
		act.Enroll = e
	default:
		act.Status, act.Result = store.ActionDone, result
	}
	return nil
}

// enter is what playbook p's enroll action enters for an account: the
// account in the campaign for the firing's occurrence, when the campaign
// takes it now; otherwise why not.
func (r *runner) enter(ctx context.Context, p *playbook.Playbook, key string, s *subject, firingKey, trigger string,
	now time.Time) (*store.Enrollment, string, error) {
	f := s.f
	if !r.campaignsOn() {
		return nil, "", derrors.New(derrors.Invalid, "enroll: this server does not run campaigns")
	}
	c := r.ws.Campaign(key)
	if c == nil {
		return nil, "", derrors.New(derrors.Invalid, "enroll: campaign %q is not in the workspace", key)
	}
	ok, why, err := campaign.CanEnterWith(c, s.holds)
	if err != nil {
		return nil, "", derrors.New(derrors.Invalid, "enroll in %s: %v", key, err)
	}
	if !ok {
		return nil, "not enrolled in " + key + ": " + why, nil
	}
	if c.Reentry.Mode == playbook.Limited {
		n, err := r.enteredSince(ctx, key, f.Account.ID, now.AddDate(0, 0, -c.Reentry.Days))
		if err != nil {
			return nil, "", err
		}
		if n >= c.Reentry.Count {
			return nil, fmt.Sprintf("not enrolled in %s: entered %d times in %d days already", key, n, c.Reentry.Days), nil
		}
	}
	entry := "playbook " + p.Key
	if c, isEntry := strings.CutPrefix(p.Key, entryPrefix); isEntry {
		entry = "trigger of " + c + ": " + trigger
	}
	return &store.Enrollment{Campaign: key, AccountID: f.Account.ID, Key: campaign.EnrollmentKey(c, f.Account.ID, firingKey, playbook.Term(f)),
		Entry: entry, EnteredAt: now, StepStartedAt: now, WakeAt: now, Decision: "entered: " + entry}, "", nil
}

// enteredSince counts an account's enrollments in a campaign entered since.
func (r *runner) enteredSince(ctx context.Context, key string, accountID int64, since time.Time) (int, error) {
	page, err := r.st.ListEnrollments(ctx, store.EnrollmentFilter{Campaign: key, AccountID: accountID, Limit: 1000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range page.Enrollments {
		if !e.EnteredAt.Before(since) {
			n++
		}
	}
	return n, nil
}

// ErrNoCampaigns is the answer when this server does not run campaigns.
var ErrNoCampaigns = errors.New("engine: this server does not run campaigns")

// ErrUnknownCampaign is the answer for a campaign the workspace lacks.
var ErrUnknownCampaign = errors.New("engine: no such campaign")

// Broadcast enters every account of a broadcast campaign's audience now
// (release notes): one occurrence, numbered, so that a second broadcast
// sends again and a repeated request for the same one does not. It returns
// how many accounts entered.
func (a *Assessor) Broadcast(ctx context.Context, key, by string) (int, error) {
	if a.runner == nil || !a.runner.campaignsOn() {
		return 0, ErrNoCampaigns
	}
	c := a.ws.Campaign(key)
	if c == nil {
		return 0, ErrUnknownCampaign
	}
	if c.Entry.Kind != campaign.EntryBroadcast {
		return 0, derrors.New(derrors.Unprocessable, "campaign %s is entered by %s, not by a broadcast", key, c.Entry.Kind)
	}
	if !c.Enabled {
		return 0, derrors.New(derrors.Unprocessable, "campaign %s is disabled", key)
	}
	n, err := a.st.NextCounter(ctx, "broadcast:"+key)
	if err != nil {
		return 0, err
	}
	now := a.cfg.Now()
	all, err := a.allFacts(ctx, now)
	if err != nil {
		return 0, err
	}
	occurrence := fmt.Sprintf("broadcast:%d", n)
	entry := fmt.Sprintf("broadcast %d by %s", n, by)
	var es []*store.Enrollment
	for _, f := range all {
		if ok, _, err := campaign.CanEnter(c, f); err != nil || !ok {
			continue
		}
		es = append(es, &store.Enrollment{Campaign: key, AccountID: f.Account.ID, Key: campaign.EnrollmentKey(c, f.Account.ID, occurrence, playbook.Term(f)),
			Entry: entry, EnteredAt: now, StepStartedAt: now, WakeAt: now, Decision: "entered: " + entry})
	}
	entered := 0
	for len(es) > 0 {
		chunk := es[:min(len(es), 500)]
		es = es[len(chunk):]
		ins, err := a.st.Enroll(ctx, chunk)
		if err != nil {
			return entered, err
		}
		for _, ok := range ins {
			if ok {
				entered++
			}
		}
	}
	return entered, nil
}

// dueBatch is how many due enrollments a step plans at a time.
const dueBatch = 500

// campaignStep plans the enrollments that are due, and those waiting for a
// condition whose account changed in this step.
func (r *runner) campaignStep(ctx context.Context, in runInput) error {
	if !r.campaignsOn() {
		return nil
	}
	// The step's entries, as their firings inserted them: planned without
	// reading them back.
	entered := slices.DeleteFunc(r.entered, func(e store.Enrollment) bool {
		return r.unenrolled[e.AccountID] || e.Status != store.EnrollmentActive || e.WakeAt.After(in.now)
	})
	r.entered = nil
	for len(entered) > 0 {
		chunk := entered[:min(len(entered), dueBatch)]
		entered = entered[len(chunk):]
		if err := r.advance(ctx, chunk, in.now); err != nil {
			return err
		}
	}
	var watch []int64
	if !in.full {
		watch = in.assessed
	}
	if in.full || len(watch) > 0 {
		es, err := r.st.WatchingEnrollments(ctx, watch)
		if err != nil {
			return err
		}
		for len(es) > 0 {
			chunk := es[:min(len(es), dueBatch)]
			es = es[len(chunk):]
			if err := r.advance(ctx, chunk, in.now); err != nil {
				return err
			}
		}
	}
	for {
		due, err := r.st.DueEnrollments(ctx, in.now, dueBatch)
		if err != nil {
			return err
		}
		if err := r.advance(ctx, due, in.now); err != nil {
			return err
		}
		if len(due) < dueBatch {
			return nil
		}
	}
}

// errorRetry is how long an enrollment whose plan failed waits to be
// planned again.
const errorRetry = time.Hour

// A plan is one enrollment's next move, as advance works it out.
type plan struct {
	e     *store.Enrollment
	c     *campaign.Campaign
	f     condition.Facts
	sends []campaign.Message
	d     campaign.Decision
	msgs  []*store.OutboxMessage
	err   error
}

// advance plans enrollments at now: queues the emails of the steps each
// passes, then stores where each stands. The messages go first, under keys
// made from the enrollment's state: after a crash in between, the same
// plan queues the same keys, which the outbox stores once. The store is
// called a few times for the lot (their contacts, their messages, their
// states), not per enrollment.
func (r *runner) advance(ctx context.Context, es []store.Enrollment, now time.Time) error {
	if len(es) == 0 {
		return nil
	}
	ps := make([]plan, len(es))
	var sending []int64
	for i := range es {
		p := &ps[i]
		p.e, p.c = &es[i], r.ws.Campaign(es[i].Campaign)
		if p.c == nil {
			continue
		}
		var ok bool
		if p.f, ok = r.a.facts(p.e.AccountID, now); !ok {
			continue
		}
		st := campaign.State{Step: p.e.Step, EnteredAt: p.e.EnteredAt, StepStartedAt: p.e.StepStartedAt, Seq: p.e.Seq}
		p.sends, p.d, p.err = campaign.Advance(p.c, st, p.f)
		if p.err == nil && len(p.sends) > 0 {
			sending = append(sending, p.e.AccountID)
		}
	}
	// Render every email, then queue them together.
	var contacts map[int64][]account.Contact
	var err error
	if len(sending) > 0 {
		contacts, err = r.st.ListContactsOf(ctx, sending)
	}
	var all []*store.OutboxMessage
	for i := range ps {
		p := &ps[i]
		if p.c == nil || p.f.Account.ID == 0 || p.err != nil || len(p.sends) == 0 {
			continue
		}
		if p.err = err; err == nil {
			p.msgs, p.err = r.campaignMessages(ctx, p.c, p.e, p.f, p.sends, contacts[p.e.AccountID], now)
			all = append(all, p.msgs...)
		}
	}
	if err := r.queueMessages(ctx, all); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// One at a time, so that one plan's failure is its own.
		for i := range ps {
			if p := &ps[i]; p.err == nil && len(p.msgs) > 0 {
				p.err = r.queueMessages(ctx, p.msgs)
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i := range ps {
		p, e := &ps[i], ps[i].e
		switch {
		case p.c == nil:
			e.Status, e.ExitReason = store.EnrollmentExited, "the campaign is no longer in the workspace"
			continue
		case p.f.Account.ID == 0:
			e.Status, e.ExitReason = store.EnrollmentExited, "the account is gone"
			continue
		case p.err != nil:
			// Not moved on: the next plan starts from the same state.
			r.log.Warn("campaign: plan", "campaign", e.Campaign, "account", e.AccountID, "err", p.err)
			e.WakeAt, e.Decision = now.Add(errorRetry), "error, planned again in an hour: "+p.err.Error()
			continue
		}
		for _, m := range p.msgs {
			if !m.Existing {
				e.Sent++
			}
		}
		d := p.d
		e.Step, e.Seq, e.StepStartedAt = d.State.Step, d.State.Seq, d.State.StepStartedAt
		e.Decision = strings.Join(d.Trail, "; ")
		switch d.Kind {
		case campaign.KindWait:
			e.WakeAt, e.Watch = d.WakeAt, d.Watch
		case campaign.KindExit:
			e.Status, e.ExitReason = store.EnrollmentExited, d.Exit
		case campaign.KindDone:
			e.Status = store.EnrollmentDone
		}
	}
	save := make([]*store.Enrollment, len(es))
	for i := range es {
		save[i] = &es[i]
	}
	// One ended meanwhile (unenrolled) is not saved, as it should not be.
	_, err = r.st.SaveEnrollments(ctx, save)
	return err
}

func (r *runner) queueMessages(ctx context.Context, msgs []*store.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := r.cfg.Campaigns.Enqueue(ctx, msgs...); err != nil {
		return err
	}
	if r.cfg.Campaigns.OnMessage != nil {
		for _, m := range msgs {
			if !m.Existing {
				r.cfg.Campaigns.OnMessage(*m)
			}
		}
	}
	return nil
}

// campaignMessages renders the emails of the steps a plan passed, one per
// recipient among the account's contacts.
func (r *runner) campaignMessages(ctx context.Context, c *campaign.Campaign, e *store.Enrollment, f condition.Facts,
	sends []campaign.Message, contacts []account.Contact, now time.Time) ([]*store.OutboxMessage, error) {
	type send struct {
		m  campaign.Message
		to []account.Contact
	}
	var todo []send
	for _, m := range sends {
		if to := campaign.Recipients(m.To, contacts); len(to) > 0 {
			todo = append(todo, send{m, to})
		}
	}
	if len(todo) == 0 {
		return nil, nil // nobody to write to: nothing to render
	}
	in, err := r.emailInput(ctx, c, f, now)
	if err != nil {
		return nil, err
	}
	var out []*store.OutboxMessage
	for _, s := range todo {
		m := s.m
		for _, ct := range s.to {
			msg, err := r.renderEmail(ctx, c, e.Key, m, in, ct)
			if err != nil {
				return nil, err
			}
			out = append(out, msg)
		}
	}
	return out, nil
}

// emailInput is what every email of one account at one moment shares.
func (r *runner) emailInput(ctx context.Context, c *campaign.Campaign, f condition.Facts, now time.Time) (campaign.DataInput, error) {
	in := campaign.DataInput{Account: f.Account, Traits: f.Traits, TraitKeys: r.traitKeys(), Campaign: c.Name,
		Today: date.Of(now.In(r.a.loc))}
	if id := f.Account.OwnerID; id != nil {
		u, err := r.st.GetUser(ctx, *id)
		if err != nil && !derrors.Is(err, derrors.NotFound) {
			return in, err
		}
		if err == nil {
			in.Owner = campaign.Person{Name: u.Name, Email: u.Email}
		}
	}
	usage, err := r.usageRecap(ctx, f, now)
	if err != nil {
		return in, err
	}
	in.Usage = usage
	in.Links.Account = r.accountURL(f.Account.ID)
	return in, nil
}

func (r *runner) traitKeys() []string {
	r.lazyMu.Lock()
	defer r.lazyMu.Unlock()
	if r.keys == nil {
		for _, d := range r.ws.Traits.All() {
			r.keys = append(r.keys, d.Key)
		}
	}
	return r.keys
}

// usageRecap reads the recap's figures: the usage traits now, and each as
// it stood before this month began (its trait history), for the change.
func (r *runner) usageRecap(ctx context.Context, f condition.Facts, now time.Time) (campaign.Usage, error) {
	u := campaign.UsageFromTraits(f.Traits)
	local := now.In(r.a.loc)
	monthStart := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, r.a.loc)
	u.Month = monthStart.AddDate(0, -1, 0)
	for _, m := range []struct {
		key    string
		metric *campaign.Metric
	}{{"last_month_mau", &u.MAU}, {"usage_score", &u.UsageScore}, {"last_month_mau_over_seats", &u.MAUOverSeats}} {
		if m.metric.Value == nil {
			continue
		}
		hist, err := r.st.TraitHistory(ctx, f.Account.ID, m.key, 50)
		if err != nil {
			return u, err
		}
		for _, h := range hist { // newest first
			if h.At.Before(monthStart) {
				if v, ok := h.New.(float64); ok {
					m.metric.Previous = &v
				}
				break
			}
		}
	}
	return u, nil
}

// renderEmail renders one email step's message to one contact.
func (r *runner) renderEmail(ctx context.Context, c *campaign.Campaign, enrollmentKey string, m campaign.Message,
	in campaign.DataInput, ct account.Contact) (*store.OutboxMessage, error) {
	tpl, ok := r.ws.CampaignTemplate(m.Template)
	if !ok {
		return nil, fmt.Errorf("template %q is not in the workspace", m.Template)
	}
	key := campaign.MessageKey(enrollmentKey, m, ct.ID)
	signer, err := r.signer(ctx)
	if err != nil {
		return nil, err
	}
	from := r.sender(m.From, in.Owner)
	replyTo := from
	if m.ReplyTo != "" {
		replyTo = r.sender(m.ReplyTo, in.Owner)
	}
	in.Contact = ct
	in.Sender = campaign.Person{Name: from.Name, Email: from.Email}
	unsubscribe := signer.UnsubscribeURL(in.Account.ID, ct.ID, c.Key)
	in.Links.Unsubscribe = unsubscribe
	in.Links.Survey = signer.SurveyURL(in.Account.ID, ct.ID, c.Key, key)
	out, err := tpl.Render(campaign.NewData(in))
	if err != nil {
		return nil, fmt.Errorf("render %s for contact %d: %w", m.Template, ct.ID, err)
	}
	msg := outbox.NewEmail(key, store.Email{From: from, ReplyTo: replyTo, To: store.Address{Name: ct.Name, Email: ct.Email},
		Subject: out.Subject, Text: out.Text, HTML: out.HTML, Headers: outbox.UnsubscribeHeaders(unsubscribe)})
	accountID, contactID := in.Account.ID, ct.ID
	msg.AccountID, msg.ContactID, msg.Campaign, msg.Step = &accountID, &contactID, c.Key, m.Step
	return msg, nil
}

// sender resolves an email's From or Reply-To: the owner TA (the team
// address when the account has none), or an address.
func (r *runner) sender(s string, owner campaign.Person) store.Address {
	if s == "" || s == campaign.Owner {
		if owner.Email != "" {
			return store.Address{Name: owner.Name, Email: owner.Email}
		}
		return r.cfg.Campaigns.From
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return r.cfg.Campaigns.From
	}
	return store.Address{Name: a.Name, Email: a.Address}
}

// PreviewEmail renders one of a campaign's email templates for a real
// account and contact, as the runner would send it now, without sending
// or recording anything: the template preview of the UI and the CLI. An
// empty campaign key previews the template under the first campaign that
// sends it.
func (a *Assessor) PreviewEmail(ctx context.Context, campaignKey, templateKey string, accountID, contactID int64) (store.Email, error) {
	if a.runner == nil || !a.runner.campaignsOn() {
		return store.Email{}, ErrNoCampaigns
	}
	r := a.runner
	var c *campaign.Campaign
	if campaignKey != "" {
		if c = a.ws.Campaign(campaignKey); c == nil {
			return store.Email{}, ErrUnknownCampaign
		}
	} else {
		for _, x := range a.ws.Campaigns {
			if slices.Contains(x.Templates(), templateKey) {
				c = x
				break
			}
		}
		if c == nil {
			return store.Email{}, derrors.Field(derrors.NotFound, "template", "no campaign sends the template %q", templateKey)
		}
	}
	if _, ok := a.ws.CampaignTemplate(templateKey); !ok {
		return store.Email{}, derrors.Field(derrors.NotFound, "template", "template %q is not in campaigns/templates/", templateKey)
	}
	now := a.cfg.Now()
	f, ok, err := a.factsOrLoad(ctx, accountID, now)
	if err != nil {
		return store.Email{}, err
	}
	if !ok {
		return store.Email{}, ErrUnknownAccount
	}
	ct, err := a.st.GetContact(ctx, contactID)
	if err != nil {
		return store.Email{}, err
	}
	if ct.AccountID != accountID {
		return store.Email{}, derrors.Field(derrors.NotFound, "contact", "contact %d is not one of account %d's", contactID, accountID)
	}
	in, err := r.emailInput(ctx, c, f, now)
	if err != nil {
		return store.Email{}, err
	}
	// The step that sends it, for its sender and reply-to.
	m := campaign.Message{Step: "preview", Template: templateKey}
	for _, s := range c.Steps {
		if s.Email != nil && (s.Email.Template == templateKey || slices.ContainsFunc(s.Email.Variants,
			func(v campaign.Variant) bool { return v.Template == templateKey })) {
			m.Step, m.From, m.ReplyTo, m.To = s.ID, s.Email.From, s.Email.ReplyTo, s.Email.To
			break
		}
	}
	msg, err := r.renderEmail(ctx, c, "preview:"+c.Key, m, in, ct)
	if err != nil {
		return store.Email{}, derrors.New(derrors.Unprocessable, "%v", err)
	}
	return *msg.Email, nil
}
