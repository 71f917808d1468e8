package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
)

// Limits of the campaign pages' lists.
const (
	enrollmentsPageSize    = 50
	campaignMessagesLimit  = 20
	campaignAnswersLimit   = 50
	previewAccountsLimit   = 20
	accountMessagesPerPage = 50
	accountEnrollmentsCard = 50
	// unsubscribedScan caps the unsubscriptions the list reads to count
	// them by campaign.
	unsubscribedScan = 5000
)

// campaignErr turns the engine's campaign errors into the page's.
func campaignErr(key string, err error) error {
	switch {
	case errors.Is(err, engine.ErrNoCampaigns):
		return derrors.New(derrors.NotFound, "This server does not run campaigns.")
	case errors.Is(err, engine.ErrUnknownCampaign):
		return derrors.New(derrors.NotFound, "There is no campaign %q.", key)
	case errors.Is(err, engine.ErrUnknownAccount):
		return derrors.Field(derrors.NotFound, "account", "there is no such account")
	}
	return err
}

// lookupCampaign returns the workspace's campaign, or the 404 page.
func (ui *UI) lookupCampaign(key string) (*campaign.Campaign, error) {
	c := ui.ws.Campaign(key)
	if c == nil {
		return nil, derrors.New(derrors.NotFound, "There is no campaign %q.", key)
	}
	return c, nil
}

// campaignRow is one campaign as the list shows it.
type campaignRow struct {
	Key, Name, Description string
	Enabled                bool
	Audience               string
	Entry                  string
	Broadcast              bool
	// Enrollments by status.
	Active, Done, Exited int
	// Messages by status.
	Sent, Failed, Captured, Queued, Suppressed int
	// Unsubscribed counts the contacts who unsubscribed with a link in one
	// of its emails.
	Unsubscribed int
	Answers      int
	// SendsSurvey marks a campaign whose emails carry the survey link.
	SendsSurvey bool
}

// campaignsPage is the data of the campaigns list.
type campaignsPage struct {
	base
	Rows    []campaignRow
	Enabled int
	// Running says whether this server runs the campaigns.
	Running bool
}

// entryWords says how accounts enter a campaign.
func entryWords(c *campaign.Campaign) string {
	switch c.Entry.Kind {
	case campaign.EntryTrigger:
		return triggerWords(c.Entry.Trigger)
	case campaign.EntryPlaybook:
		return "When a playbook enrolls the account"
	case campaign.EntryBroadcast:
		return "Broadcast by the team, to every account of the audience"
	}
	return string(c.Entry.Kind)
}

// sendsSurvey reports whether one of the campaign's emails links to the
// survey.
func (ui *UI) sendsSurvey(c *campaign.Campaign) bool {
	for _, k := range c.Templates() {
		if t, ok := ui.ws.CampaignTemplate(k); ok && strings.Contains(t.Body, "links.survey_url") {
			return true
		}
	}
	return false
}

// campaignRow counts one campaign's enrollments, messages and answers.
func (ui *UI) campaignRow(ctx context.Context, c *campaign.Campaign, stats store.CampaignStats, unsubscribed map[string]int) (campaignRow, error) {
	row := campaignRow{Key: c.Key, Name: c.Name, Description: c.Description, Enabled: c.Enabled, Entry: entryWords(c),
		Broadcast: c.Entry.Kind == campaign.EntryBroadcast, Active: stats.ByStatus[store.EnrollmentActive],
		Done: stats.ByStatus[store.EnrollmentDone], Exited: stats.ByStatus[store.EnrollmentExited],
		Unsubscribed: unsubscribed[c.Key], SendsSurvey: ui.sendsSurvey(c)}
	if c.Audience != nil {
		row.Audience = c.Audience.Source()
	}
	counts, err := ui.st.CountMessages(ctx, store.OutboxFilter{Campaign: c.Key})
	if err != nil {
		return row, err
	}
	row.Sent, row.Failed, row.Captured = counts[store.StatusSent], counts[store.StatusFailed], counts[store.StatusCaptured]
	row.Queued, row.Suppressed = counts[store.StatusQueued]+counts[store.StatusSending], counts[store.StatusSuppressed]
	row.Answers = stats.SurveyAnswers
	return row, nil
}

// unsubscribedByCampaign counts the unsubscriptions made with a link in
// each campaign's emails, from the suppression list (the unsubscribe page
// names the campaign in the entry's detail).
func (ui *UI) unsubscribedByCampaign(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	f := store.SuppressionFilter{Reason: store.SuppressUnsubscribed, Limit: 500}
	for read := 0; read < unsubscribedScan; {
		page, err := ui.st.ListSuppressions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Suppressions {
			if key, ok := store.UnsubscribedCampaign(s.Detail); ok {
				out[key]++
			}
		}
		read += len(page.Suppressions)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	return out, nil
}

// campaigns lists the workspace's campaigns with their enrollments,
// messages, unsubscriptions and survey answers.
func (ui *UI) campaigns(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	stats, err := ui.st.CampaignStats(ctx)
	if err != nil {
		return err
	}
	unsub, err := ui.unsubscribedByCampaign(ctx)
	if err != nil {
		return err
	}
	p := campaignsPage{base: ui.base(r, "Campaigns", "campaigns"), Running: ui.assessor != nil}
	for _, c := range ui.ws.Campaigns {
		row, err := ui.campaignRow(ctx, c, stats[c.Key], unsub)
		if err != nil {
			return err
		}
		p.Rows = append(p.Rows, row)
		if c.Enabled {
			p.Enabled++
		}
	}
	return ui.renderPage(w, r, http.StatusOK, "campaigns", p)
}

// stepView is one step of a campaign in words, with the active
// enrollments at it.
type stepView struct {
	N        int
	ID       string
	Kind     campaign.StepKind
	Template string
	Variants []variantView
	To       []string
	From     string
	ReplyTo  string
	// Wait is the wait in words, Until its condition; Then and OnTimeout
	// where it goes ("" the next step).
	Wait, Until, Then, OnTimeout string
	Cases                        []caseView
	Active                       int
}

// variantView is one variant of an email step.
type variantView struct{ Name, When, Template string }

// caseView is one case of a branch.
type caseView struct{ When, Goto string }

// stepViews puts a campaign's steps in words.
func stepViews(c *campaign.Campaign, active map[string]int) []stepView {
	out := make([]stepView, 0, len(c.Steps))
	for i, s := range c.Steps {
		v := stepView{N: i + 1, ID: s.ID, Kind: s.Kind, Active: active[s.ID]}
		switch {
		case s.Email != nil:
			v.Template, v.From, v.ReplyTo = s.Email.Template, s.Email.From, s.Email.ReplyTo
			for _, r := range s.Email.To {
				v.To = append(v.To, account.ContactRoleLabel(r))
			}
			for _, x := range s.Email.Variants {
				vv := variantView{Name: x.Name, Template: x.Template}
				if x.When != nil {
					vv.When = x.When.Source()
				}
				v.Variants = append(v.Variants, vv)
			}
		case s.Wait != nil:
			if s.Wait.Until != nil {
				v.Until = s.Wait.Until.Source()
				v.Wait = "until the condition holds, at most " + campaign.FormatDuration(s.Wait.Timeout)
			} else {
				v.Wait = "for " + campaign.FormatDuration(s.Wait.For)
			}
			v.Then, v.OnTimeout = s.Wait.Then, s.Wait.OnTimeout
		default:
			for _, cs := range s.Branch {
				cv := caseView{Goto: cs.Goto}
				if cs.When != nil {
					cv.When = cs.When.Source()
				}
				v.Cases = append(v.Cases, cv)
			}
		}
		out = append(out, v)
	}
	return out
}

// enrollmentQuery is the campaign page's enrollment filters.
type enrollmentQuery struct {
	Key, Status, Step, Cursor string
}

// URL is the campaign page with these filters, at cursor.
func (q enrollmentQuery) URL(cursor string) string {
	v := url.Values{}
	for _, kv := range [][2]string{{"status", q.Status}, {"step", q.Step}, {"cursor", cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return withQuery("/campaigns/"+url.PathEscape(q.Key), v) + "#enrollments"
}

// StepURL is the list of the active enrollments at a step.
func (q enrollmentQuery) StepURL(step string) string {
	return enrollmentQuery{Key: q.Key, Status: store.EnrollmentActive, Step: step}.URL("")
}

// campaignPage is the data of a campaign's page.
type campaignPage struct {
	base
	C         *campaign.Campaign
	Row       campaignRow
	Reentry   string
	Exits     []caseView
	Steps     []stepView
	Templates []string
	// Counts are the campaign's messages by status.
	Counts      []statusCount
	Total       int
	Messages    []store.OutboxMessage
	Enrollments []store.Enrollment
	EQ          enrollmentQuery
	Next        string
	// Statuses are the enrollment statuses, for the filter.
	Statuses []string
	Answers  []store.SurveyAnswer
}

// parseEnrollments reads the enrollment filters of a campaign's page:
// a status (active, done, exited or all; active by default) and a step of
// the campaign. Anything else is a 400 naming the parameter.
func parseEnrollments(c *campaign.Campaign, v url.Values) (enrollmentQuery, error) {
	q := enrollmentQuery{Key: c.Key, Status: strings.TrimSpace(v.Get("status")), Step: strings.TrimSpace(v.Get("step")), Cursor: v.Get("cursor")}
	switch {
	case q.Status == "":
		q.Status = store.EnrollmentActive
	case q.Status != "all" && !slices.Contains(store.EnrollmentStatuses, q.Status):
		return q, derrors.Field(derrors.Invalid, "status", "%q is not one of %s or all", q.Status, strings.Join(store.EnrollmentStatuses, ", "))
	}
	if q.Step != "" && q.Step != campaign.End {
		if _, ok := c.Step(q.Step); !ok {
			ids := make([]string, len(c.Steps))
			for i, s := range c.Steps {
				ids[i] = s.ID
			}
			return q, derrors.Field(derrors.Invalid, "step", "%q is not a step of this campaign (its steps are %s)", q.Step, strings.Join(ids, ", "))
		}
	}
	return q, nil
}

// campaignPage shows one campaign: its definition step by step with the
// active enrollments at each, who is where (filtered by step and status),
// its messages by status and the newest, and its survey answers.
func (ui *UI) campaignPage(w http.ResponseWriter, r *http.Request) error {
	c, err := ui.lookupCampaign(r.PathValue("key"))
	if err != nil {
		return err
	}
	q, err := parseEnrollments(c, r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	stats, err := ui.st.CampaignStats(ctx)
	if err != nil {
		return err
	}
	unsub, err := ui.unsubscribedByCampaign(ctx)
	if err != nil {
		return err
	}
	row, err := ui.campaignRow(ctx, c, stats[c.Key], unsub)
	if err != nil {
		return err
	}
	p := campaignPage{base: ui.base(r, c.Name, "campaigns"), C: c, Row: row, Reentry: reentryWords(c.Reentry),
		Steps: stepViews(c, stats[c.Key].ActiveBySteps), Templates: stepTemplates(c), EQ: q, Statuses: store.EnrollmentStatuses}
	for _, x := range c.Exits {
		p.Exits = append(p.Exits, caseView{Goto: x.Name, When: x.When.Source()})
	}
	counts, err := ui.st.CountMessages(ctx, store.OutboxFilter{Campaign: c.Key})
	if err != nil {
		return err
	}
	for _, s := range store.Statuses {
		p.Counts = append(p.Counts, statusCount{Status: s, Count: counts[s]})
		p.Total += counts[s]
	}
	msgs, err := ui.st.ListMessages(ctx, store.OutboxFilter{Campaign: c.Key, Limit: campaignMessagesLimit})
	if err != nil {
		return err
	}
	p.Messages = msgs.Messages
	f := store.EnrollmentFilter{Campaign: c.Key, Status: q.Status, Step: q.Step, Limit: enrollmentsPageSize, Cursor: q.Cursor}
	if f.Status == "all" {
		f.Status = ""
	}
	page, err := ui.st.ListEnrollments(ctx, f)
	if err != nil {
		return err
	}
	p.Enrollments, p.Next = page.Enrollments, page.Next
	if row.SendsSurvey {
		if p.Answers, err = ui.st.ListSurveyAnswers(ctx, store.SurveyFilter{Campaign: c.Key, Limit: campaignAnswersLimit}); err != nil {
			return err
		}
	}
	return ui.renderPage(w, r, http.StatusOK, "campaign", p)
}

// broadcast enters every account of a broadcast campaign's audience now:
// one more release announcement to all of them. The form asks for an
// explicit confirmation, as the emails cannot be taken back.
func (ui *UI) broadcast(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	c, err := ui.lookupCampaign(key)
	if err != nil {
		return err
	}
	target := "/campaigns/" + url.PathEscape(c.Key)
	if r.PostFormValue("confirm") != "yes" {
		ui.flash(r, "Not sent: tick the confirmation to email every account of the audience.")
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	if ui.assessor == nil {
		return campaignErr(key, engine.ErrNoCampaigns)
	}
	n, err := ui.assessor.Broadcast(r.Context(), c.Key, currentUser(r).Email)
	switch {
	case derrors.Is(err, derrors.Unprocessable):
		ui.flash(r, "Not sent: "+sentence(derrors.Public(err).Message)+".")
	case err != nil:
		return campaignErr(key, err)
	default:
		ui.flash(r, fmt.Sprintf("Broadcast started: %s %s entered %s; the emails are queued at the next step.",
			number(n), plural(n, "account", "accounts"), c.Name))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// previewQuery is what the template preview renders: a template of the
// campaign for an account's contact.
type previewQuery struct {
	Key, Template string
	Account       int64
	Contact       int64
	// Q searches accounts to pick from.
	Q string
}

// values are the preview's parameters.
func (q previewQuery) values() url.Values {
	v := url.Values{}
	if q.Template != "" {
		v.Set("template", q.Template)
	}
	if q.Account > 0 {
		v.Set("account", strconv.FormatInt(q.Account, 10))
	}
	if q.Contact > 0 {
		v.Set("contact", strconv.FormatInt(q.Contact, 10))
	}
	return v
}

// HTMLURL is the address of the rendered HTML body, for the frame.
func (q previewQuery) HTMLURL() string {
	return withQuery("/campaigns/"+url.PathEscape(q.Key)+"/preview/html", q.values())
}

// AccountURL is the preview for another account, its contact chosen again.
func (q previewQuery) AccountURL(id int64) string {
	q.Account, q.Contact = id, 0
	return withQuery("/campaigns/"+url.PathEscape(q.Key)+"/preview", q.values())
}

// stepTemplates lists the templates a campaign's emails send, in step
// order (a step's variants, then its default), each once.
func stepTemplates(c *campaign.Campaign) []string {
	var out []string
	add := func(k string) {
		if k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, s := range c.Steps {
		if s.Email == nil {
			continue
		}
		for _, v := range s.Email.Variants {
			add(v.Template)
		}
		add(s.Email.Template)
	}
	return out
}

// parsePreview reads the preview's parameters. The template defaults to
// the campaign's first; a template the campaign does not send, or an id
// that is not a number, is a 400 naming the parameter.
func parsePreview(c *campaign.Campaign, v url.Values) (previewQuery, error) {
	q := previewQuery{Key: c.Key, Template: strings.TrimSpace(v.Get("template")), Q: strings.TrimSpace(v.Get("q"))}
	ts := stepTemplates(c)
	switch {
	case q.Template == "" && len(ts) > 0:
		q.Template = ts[0]
	case !slices.Contains(ts, q.Template):
		return q, derrors.Field(derrors.Invalid, "template", "%q is not one of this campaign's templates (%s)", q.Template, strings.Join(ts, ", "))
	}
	for _, p := range []struct {
		name string
		to   *int64
	}{{"account", &q.Account}, {"contact", &q.Contact}} {
		s := strings.TrimSpace(v.Get(p.name))
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return q, derrors.Field(derrors.Invalid, p.name, "%q is not an id", s)
		}
		*p.to = id
	}
	return q, nil
}

// templateOption is one template of the preview's select, with the step
// that sends it.
type templateOption struct{ Key, Step, Subject string }

// previewContact is one contact of the preview's select.
type previewContact struct {
	account.Contact
	// Recipient says the step sends the template to the contact's roles.
	Recipient bool
}

// campaignPreviewPage is the data of the template preview.
type campaignPreviewPage struct {
	base
	C         *campaign.Campaign
	Q         previewQuery
	Templates []templateOption
	Step      string
	To        []string
	// Account is the chosen account ("" none), Contacts its contacts;
	// Matches are the accounts the search found, Suggested the campaign's
	// most recent enrollments.
	Account   string
	Contacts  []previewContact
	Matches   []account.Account
	Suggested []store.Enrollment
	// Email is the rendered email, Headers its fields; Error why it could
	// not be rendered.
	Email   *store.Email
	Headers []header
	Error   string
}

// stepOf returns the email step that sends a template.
func stepOf(c *campaign.Campaign, tpl string) *campaign.Step {
	for i, s := range c.Steps {
		if s.Email != nil && (s.Email.Template == tpl || slices.ContainsFunc(s.Email.Variants,
			func(v campaign.Variant) bool { return v.Template == tpl })) {
			return &c.Steps[i]
		}
	}
	return nil
}

// campaignPreview renders a template of the campaign for a real account and
// contact, as the runner would send it now, without sending anything:
// subject, headers, plain text and the HTML framed from preview/html. It
// is for admins and managers, as the outbox: the email carries the
// contact's working unsubscribe link.
func (ui *UI) campaignPreview(w http.ResponseWriter, r *http.Request) error {
	c, err := ui.lookupCampaign(r.PathValue("key"))
	if err != nil {
		return err
	}
	q, err := parsePreview(c, r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := campaignPreviewPage{base: ui.base(r, "Preview · "+c.Name, "campaigns"), C: c, Q: q}
	for _, k := range stepTemplates(c) {
		o := templateOption{Key: k}
		if s := stepOf(c, k); s != nil {
			o.Step = s.ID
		}
		if t, ok := ui.ws.CampaignTemplate(k); ok {
			o.Subject = t.Subject
		}
		p.Templates = append(p.Templates, o)
	}
	var roles []string
	if s := stepOf(c, q.Template); s != nil {
		p.Step, roles = s.ID, s.Email.To
		for _, r := range roles {
			p.To = append(p.To, account.ContactRoleLabel(r))
		}
	}
	if q.Q != "" {
		page, err := ui.st.ListAccounts(ctx, account.Filter{Query: q.Q, Sort: "name", Limit: previewAccountsLimit})
		if err != nil {
			return err
		}
		p.Matches = page.Accounts
	}
	if q.Account == 0 {
		sugg, err := ui.st.ListEnrollments(ctx, store.EnrollmentFilter{Campaign: c.Key, Limit: 10})
		if err != nil {
			return err
		}
		p.Suggested = sugg.Enrollments
		return ui.renderPage(w, r, http.StatusOK, "campaign_preview", p)
	}
	a, err := ui.st.GetAccount(ctx, q.Account)
	if derrors.Is(err, derrors.NotFound) {
		p.Error = fmt.Sprintf("There is no account %d.", q.Account)
		return ui.renderPage(w, r, http.StatusNotFound, "campaign_preview", p)
	}
	if err != nil {
		return err
	}
	p.Account = a.Name
	contacts, err := ui.st.ListContacts(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, ct := range contacts {
		p.Contacts = append(p.Contacts, previewContact{Contact: ct,
			Recipient: slices.ContainsFunc(ct.Roles, func(r string) bool { return slices.Contains(roles, r) })})
	}
	// The step's subscribed recipients first: those are whom it is
	// written for and would be sent to.
	rank := func(c previewContact) int {
		switch {
		case c.Recipient && !c.Unsubscribed:
			return 0
		case c.Recipient:
			return 1
		}
		return 2
	}
	sort.SliceStable(p.Contacts, func(i, j int) bool { return rank(p.Contacts[i]) < rank(p.Contacts[j]) })
	if q.Contact == 0 && len(p.Contacts) > 0 {
		p.Q.Contact = p.Contacts[0].ID
	}
	if p.Q.Contact == 0 {
		p.Error = a.Name + " has no contacts to preview the email for."
		return ui.renderPage(w, r, http.StatusOK, "campaign_preview", p)
	}
	e, status, err := ui.renderPreview(ctx, p.Q)
	if err != nil {
		if status == 0 {
			return err
		}
		p.Error = previewMessage(err)
		return ui.renderPage(w, r, status, "campaign_preview", p)
	}
	p.Email = &e
	p.Headers = emailHeaders(e)
	return ui.renderPage(w, r, http.StatusOK, "campaign_preview", p)
}

// renderPreview renders the preview's email. A mistake the page shows (a
// template that does not render, an unknown contact) comes with its
// status; any other error with 0.
func (ui *UI) renderPreview(ctx context.Context, q previewQuery) (store.Email, int, error) {
	if ui.assessor == nil {
		return store.Email{}, http.StatusNotFound, campaignErr(q.Key, engine.ErrNoCampaigns)
	}
	e, err := ui.assessor.PreviewEmail(ctx, q.Key, q.Template, q.Account, q.Contact)
	err = campaignErr(q.Key, err)
	if err == nil {
		return e, http.StatusOK, nil
	}
	if status, ok := formStatus(err); ok {
		return e, status, err
	}
	if errors.Is(err, engine.ErrNoCampaigns) || derrors.Is(err, derrors.NotFound) {
		return e, http.StatusNotFound, err
	}
	return e, 0, err
}

// previewMessage words a preview that could not be rendered.
func previewMessage(err error) string {
	e := derrors.Public(err)
	msg := sentence(e.Message)
	if e.Field != "" {
		msg = sentence(e.Field) + ": " + e.Message
	}
	if e.Code == derrors.Unprocessable {
		msg = "The template does not render: " + e.Message
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// emailHeaders are an email's header fields as the message page shows
// them.
func emailHeaders(e store.Email) []header {
	hs := []header{{"From", mailbox(e.From)}, {"To", mailbox(e.To)}}
	if e.ReplyTo.Email != "" {
		hs = append(hs, header{"Reply-To", mailbox(e.ReplyTo)})
	}
	hs = append(hs, header{"Subject", e.Subject})
	extra := make([]header, 0, len(e.Headers))
	for k, v := range e.Headers {
		extra = append(extra, header{k, v})
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	return append(hs, extra...)
}

// campaignPreviewHTML serves the preview's HTML body for its sandboxed
// frame, with the policy of a message's HTML in the outbox.
func (ui *UI) campaignPreviewHTML(w http.ResponseWriter, r *http.Request) error {
	c, err := ui.lookupCampaign(r.PathValue("key"))
	if err != nil {
		return err
	}
	q, err := parsePreview(c, r.URL.Query())
	if err != nil {
		return err
	}
	if q.Account == 0 || q.Contact == 0 {
		return derrors.Field(derrors.Invalid, "account", "the preview needs an account and a contact")
	}
	e, _, err := ui.renderPreview(r.Context(), q)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", emailHTMLPolicy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, err = w.Write([]byte(e.HTML))
	return err
}

// accountCampaigns fills the account page's campaign and message cards:
// its enrollments, its messages newest first (paged by ?messages=), and
// its survey answers.
func (ui *UI) accountCampaigns(r *http.Request, p *accountPage) error {
	ctx := r.Context()
	id := p.Account.ID
	es, err := ui.st.ListEnrollments(ctx, store.EnrollmentFilter{AccountID: id, Limit: accountEnrollmentsCard})
	if err != nil {
		return err
	}
	for _, e := range es.Enrollments {
		name := e.Campaign
		if c := ui.ws.Campaign(e.Campaign); c != nil {
			name = c.Name
		}
		p.Enrollments = append(p.Enrollments, enrollmentRow{Enrollment: e, CampaignName: name})
	}
	p.MessagesCursor = r.URL.Query().Get("messages")
	msgs, err := ui.st.ListMessages(ctx, store.OutboxFilter{AccountID: id, Limit: accountMessagesPerPage, Cursor: p.MessagesCursor})
	if err != nil {
		return err
	}
	p.Messages, p.MessagesNext = msgs.Messages, msgs.Next
	p.Answers, err = ui.st.ListSurveyAnswers(ctx, store.SurveyFilter{AccountID: id, Limit: campaignAnswersLimit})
	return err
}

// enrollmentRow is one of an account's enrollments, with its campaign's
// name.
type enrollmentRow struct {
	store.Enrollment
	CampaignName string
}

// MessagesURL is the account page at a page of its messages.
func (p accountPage) MessagesURL(cursor string) string {
	v := url.Values{}
	if cursor != "" {
		v.Set("messages", cursor)
	}
	return withQuery(fmt.Sprintf("/accounts/%d", p.Account.ID), v) + "#messages"
}
