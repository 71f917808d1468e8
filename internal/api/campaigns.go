package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
)

// campaignJSON is a campaign's definition, from its workspace file, and
// how it is doing.
type campaignJSON struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
	// Audience is the condition an account must meet to enter and to
	// stay; "" takes every account.
	Audience  string             `json:"audience"`
	Entry     campaignEntryJSON  `json:"entry"`
	Reentry   reentryJSON        `json:"reentry"`
	Exits     []campaignExitJSON `json:"exits"`
	Steps     []campaignStepJSON `json:"steps"`
	Templates []string           `json:"templates"`
	Stats     campaignStatsJSON  `json:"stats"`
}

type campaignEntryJSON struct {
	Kind campaign.EntryKind `json:"kind"`
	// Trigger is a trigger entry's, shaped as a playbook's.
	Trigger *triggerJSON `json:"trigger,omitempty"`
}

type reentryJSON struct {
	Mode  playbook.ReentryMode `json:"mode"`
	Count int                  `json:"count,omitempty"`
	Days  int                  `json:"days,omitempty"`
}

type campaignExitJSON struct {
	Name string `json:"name"`
	When string `json:"when"`
}

// campaignStepJSON is one step; exactly one of email, wait and branch is
// set, as kind says.
type campaignStepJSON struct {
	ID     string             `json:"id"`
	Kind   campaign.StepKind  `json:"kind"`
	Email  *campaignEmailJSON `json:"email,omitempty"`
	Wait   *campaignWaitJSON  `json:"wait,omitempty"`
	Branch []campaignCaseJSON `json:"branch,omitempty"`
}

type campaignEmailJSON struct {
	Template string                `json:"template"`
	To       []string              `json:"to"`
	Variants []campaignVariantJSON `json:"variants"`
	From     string                `json:"from"`
	ReplyTo  string                `json:"reply_to"`
}

type campaignVariantJSON struct {
	Name     string `json:"name"`
	When     string `json:"when"`
	Template string `json:"template"`
}

// campaignWaitJSON is a wait: for a duration, or until a condition with a
// timeout. Durations are written as in the workspace file (7d, 36h).
type campaignWaitJSON struct {
	For       string `json:"for,omitempty"`
	Until     string `json:"until,omitempty"`
	Timeout   string `json:"timeout,omitempty"`
	Then      string `json:"then,omitempty"`
	OnTimeout string `json:"on_timeout,omitempty"`
}

type campaignCaseJSON struct {
	When string `json:"when,omitempty"`
	Goto string `json:"goto"`
}

// campaignStatsJSON is how a campaign is doing: its enrollments and the
// messages it queued.
type campaignStatsJSON struct {
	// Enrollments counts enrollments by status (every status present);
	// ActiveByStep the active ones by the step they are at.
	Enrollments  map[string]int `json:"enrollments"`
	ActiveByStep map[string]int `json:"active_by_step"`
	// Messages counts the campaign's outbox messages by status (every
	// status present): suppressed ones went to an address on the
	// suppression list.
	Messages map[string]int `json:"messages"`
	// Unsubscribed counts the addresses that unsubscribed with the link in
	// one of the campaign's emails.
	Unsubscribed int `json:"unsubscribed"`
	// SurveyAnswers counts the answers to the campaign's survey links.
	SurveyAnswers int `json:"survey_answers"`
}

// unsubscribedScan caps the unsubscriptions read to count them by
// campaign.
const unsubscribedScan = 5000

// unsubscribedByCampaign counts unsubscriptions by campaign from the
// suppression list: the store keeps no count.
func (a *API) unsubscribedByCampaign(r *http.Request) (map[string]int, error) {
	out := map[string]int{}
	f := store.SuppressionFilter{Reason: store.SuppressUnsubscribed, Limit: 500}
	for read := 0; read < unsubscribedScan; {
		page, err := a.st.ListSuppressions(r.Context(), f)
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

// CampaignJSON renders a campaign's definition for the API, stats left
// empty.
func CampaignJSON(c *campaign.Campaign) campaignJSON {
	out := campaignJSON{Key: c.Key, Name: c.Name, Description: c.Description, Enabled: c.Enabled,
		Entry:   campaignEntryJSON{Kind: c.Entry.Kind},
		Reentry: reentryJSON{Mode: c.Reentry.Mode, Count: c.Reentry.Count, Days: c.Reentry.Days},
		Exits:   []campaignExitJSON{}, Steps: []campaignStepJSON{}, Templates: c.Templates()}
	if out.Templates == nil {
		out.Templates = []string{}
	}
	out.Audience = source(c.Audience)
	if c.Entry.Kind == campaign.EntryTrigger {
		t := triggerOf(c.Entry.Trigger)
		out.Entry.Trigger = &t
	}
	for _, x := range c.Exits {
		out.Exits = append(out.Exits, campaignExitJSON{Name: x.Name, When: source(x.When)})
	}
	for _, s := range c.Steps {
		sj := campaignStepJSON{ID: s.ID, Kind: s.Kind}
		switch {
		case s.Email != nil:
			e := s.Email
			ej := &campaignEmailJSON{Template: e.Template, To: e.To, Variants: []campaignVariantJSON{}, From: e.From, ReplyTo: e.ReplyTo}
			if ej.To == nil {
				ej.To = []string{}
			}
			for _, v := range e.Variants {
				ej.Variants = append(ej.Variants, campaignVariantJSON{Name: v.Name, When: source(v.When), Template: v.Template})
			}
			sj.Email = ej
		case s.Wait != nil:
			w := s.Wait
			wj := &campaignWaitJSON{Until: source(w.Until), Then: w.Then, OnTimeout: w.OnTimeout}
			if w.For > 0 {
				wj.For = campaign.FormatDuration(w.For)
			}
			if w.Timeout > 0 {
				wj.Timeout = campaign.FormatDuration(w.Timeout)
			}
			sj.Wait = wj
		case s.Kind == campaign.StepBranch:
			for _, b := range s.Branch {
				sj.Branch = append(sj.Branch, campaignCaseJSON{When: source(b.When), Goto: b.Goto})
			}
		}
		out.Steps = append(out.Steps, sj)
	}
	return out
}

// source is a condition's text, "" for none.
func source(p *condition.Program) string {
	if p == nil {
		return ""
	}
	return p.Source()
}

// campaignFigures are every campaign's enrollment counts and
// unsubscriptions, read once per request.
type campaignFigures struct {
	stats        map[string]store.CampaignStats
	unsubscribed map[string]int
}

func (a *API) campaignFigures(r *http.Request) (campaignFigures, error) {
	stats, err := a.st.CampaignStats(r.Context())
	if err != nil {
		return campaignFigures{}, err
	}
	unsub, err := a.unsubscribedByCampaign(r)
	return campaignFigures{stats: stats, unsubscribed: unsub}, err
}

// campaignStats reads one campaign's figures.
func (a *API) campaignStats(r *http.Request, key string, fig campaignFigures) (campaignStatsJSON, error) {
	ctx := r.Context()
	all := fig.stats
	out := campaignStatsJSON{Enrollments: map[string]int{}, ActiveByStep: map[string]int{}, Messages: map[string]int{},
		Unsubscribed: fig.unsubscribed[key]}
	for _, s := range store.EnrollmentStatuses {
		out.Enrollments[s] = all[key].ByStatus[s]
	}
	for step, n := range all[key].ActiveBySteps {
		out.ActiveByStep[step] = n
	}
	counts, err := a.st.CountMessages(ctx, store.OutboxFilter{Campaign: key})
	if err != nil {
		return out, err
	}
	for _, s := range store.Statuses {
		out.Messages[s] = counts[s]
	}
	out.SurveyAnswers = all[key].SurveyAnswers
	return out, nil
}

// lookupCampaign returns the workspace's campaign of the {key} wildcard.
func (a *API) lookupCampaign(r *http.Request) (*campaign.Campaign, error) {
	key := r.PathValue("key")
	c := a.ws.Campaign(key)
	if c == nil {
		return nil, derrors.New(derrors.NotFound, "campaign %q not found (the workspace's campaigns/ has no %s.yaml)", key, key)
	}
	return c, nil
}

// CampaignErr maps the engine's campaign errors to the API's, for the API
// and the UI: a server not running campaigns is a conflict with the
// server's state, not the request's fault.
func CampaignErr(key string, err error) error {
	switch {
	case errors.Is(err, engine.ErrNoCampaigns):
		return derrors.New(derrors.Conflict, "this server does not run campaigns")
	case errors.Is(err, engine.ErrUnknownCampaign):
		return derrors.New(derrors.NotFound, "campaign %q not found", key)
	case errors.Is(err, engine.ErrUnknownAccount):
		return derrors.Field(derrors.NotFound, "account", "account not found")
	}
	return err
}

func (a *API) needCampaigns() error {
	if a.assessor == nil {
		return CampaignErr("", engine.ErrNoCampaigns)
	}
	return nil
}

// listCampaigns is GET /campaigns: every campaign of the workspace, in
// file name order, with its figures.
func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	fig, err := a.campaignFigures(r)
	if err != nil {
		return err
	}
	out := []campaignJSON{}
	for _, c := range a.ws.Campaigns {
		cj := CampaignJSON(c)
		if cj.Stats, err = a.campaignStats(r, c.Key, fig); err != nil {
			return err
		}
		out = append(out, cj)
	}
	writeJSON(w, http.StatusOK, list[campaignJSON]{Data: out})
	return nil
}

// getCampaign is GET /campaigns/{key}.
func (a *API) getCampaign(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	c, err := a.lookupCampaign(r)
	if err != nil {
		return err
	}
	fig, err := a.campaignFigures(r)
	if err != nil {
		return err
	}
	cj := CampaignJSON(c)
	if cj.Stats, err = a.campaignStats(r, c.Key, fig); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cj)
	return nil
}

// enrollmentFilter reads an enrollment list's status, limit and cursor.
func enrollmentFilter(q query, f *store.EnrollmentFilter) error {
	f.Status = q.str("status")
	if f.Status != "" && !slices.Contains(store.EnrollmentStatuses, f.Status) {
		return derrors.Field(derrors.Invalid, "status", "%q is not one of %s", f.Status, strings.Join(store.EnrollmentStatuses, ", "))
	}
	var err error
	f.Limit, err = q.limit(50, 1000)
	f.Cursor = q.str("cursor")
	return err
}

// accountParam reads an optional account id parameter.
func accountParam(q query) (int64, error) {
	s := q.str("account")
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.Field(derrors.Invalid, "account", "%q is not an account id", s)
	}
	return id, nil
}

// campaignEnrollments is GET /campaigns/{key}/enrollments: who is in the
// campaign and where, the most recently changed first.
func (a *API) campaignEnrollments(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "status", "step", "account", "limit", "cursor")
	if err != nil {
		return err
	}
	c, err := a.lookupCampaign(r)
	if err != nil {
		return err
	}
	f := store.EnrollmentFilter{Campaign: c.Key, Step: q.str("step")}
	// A finished enrollment is at the step "end".
	if f.Step != "" && f.Step != campaign.End {
		if _, ok := c.Step(f.Step); !ok {
			ids := make([]string, 0, len(c.Steps)+1)
			for _, s := range c.Steps {
				ids = append(ids, s.ID)
			}
			ids = append(ids, campaign.End)
			return derrors.Field(derrors.Invalid, "step", "%q is not a step of %s (%s)", f.Step, c.Key, strings.Join(ids, ", "))
		}
	}
	if f.AccountID, err = accountParam(q); err != nil {
		return err
	}
	if err := enrollmentFilter(q, &f); err != nil {
		return err
	}
	page, err := a.st.ListEnrollments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// accountEnrollments is GET /accounts/{id}/enrollments: the account's
// campaigns, past and present.
func (a *API) accountEnrollments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "campaign", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	f := store.EnrollmentFilter{AccountID: id, Campaign: q.str("campaign")}
	if f.Campaign != "" && a.ws.Campaign(f.Campaign) == nil {
		return derrors.Field(derrors.Invalid, "campaign", "%q is not a campaign of the workspace", f.Campaign)
	}
	if err := enrollmentFilter(q, &f); err != nil {
		return err
	}
	page, err := a.st.ListEnrollments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// maxEndReason caps the reason a person gives for ending an enrollment.
const maxEndReason = 500

// endEnrollment is POST /accounts/{id}/enrollments/{campaign}/end: the
// account leaves the campaign now, as a playbook's unenroll action does,
// and is sent nothing more from it. Its body may give a reason. Ending
// an enrollment that is not active ends nothing: {"ended": 0}.
func (a *API) endEnrollment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, maxBody, &body); err != nil {
			return err
		}
	}
	key := r.PathValue("campaign")
	if a.ws.Campaign(key) == nil {
		return derrors.Field(derrors.NotFound, "campaign", "campaign %q not found", key)
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	body.Reason = strings.TrimSpace(body.Reason)
	if len([]rune(body.Reason)) > maxEndReason {
		return derrors.Field(derrors.Unprocessable, "reason", "is longer than %d characters", maxEndReason)
	}
	reason := "ended by " + callerOf(r).user.Email
	if body.Reason != "" {
		reason += ": " + body.Reason
	}
	n, err := a.st.EndEnrollments(r.Context(), id, key, reason, a.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaign": key, "account_id": id, "ended": n})
	return nil
}

// broadcastCampaign is POST /campaigns/{key}/broadcast: every account of a
// broadcast campaign's audience enters it now (release notes). Each call
// is a new broadcast; the engine refuses a campaign entered otherwise, or
// disabled, with a 422.
func (a *API) broadcastCampaign(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if r.ContentLength != 0 {
		var body struct{}
		if err := decodeJSON(w, r, maxBody, &body); err != nil {
			return err
		}
	}
	c, err := a.lookupCampaign(r)
	if err != nil {
		return err
	}
	if err := a.needCampaigns(); err != nil {
		return err
	}
	n, err := a.assessor.Broadcast(r.Context(), c.Key, callerOf(r).user.Email)
	if err != nil {
		return CampaignErr(c.Key, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaign": c.Key, "enrolled": n})
	return nil
}

// previewJSON is a template rendered for a real account and contact.
type previewJSON struct {
	Campaign  string `json:"campaign"`
	Template  string `json:"template"`
	AccountID int64  `json:"account_id"`
	ContactID int64  `json:"contact_id"`
	// Email is the message as the runner would send it now: its links are
	// the contact's real, signed unsubscribe and survey links.
	Email store.Email `json:"email"`
}

// previewCampaign is GET /campaigns/{key}/preview?template=&account=&contact=:
// one of the campaign's templates rendered for a real account and contact,
// sending and recording nothing. It is for admins and managers, as in the
// web UI: the rendered links act for the contact (unsubscribe, answer the
// survey).
func (a *API) previewCampaign(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "template", "account", "contact")
	if err != nil {
		return err
	}
	c, err := a.lookupCampaign(r)
	if err != nil {
		return err
	}
	tpl := q.str("template")
	templates := c.Templates()
	switch {
	case tpl == "":
		return derrors.Field(derrors.Invalid, "template", "is required; %s sends %s", c.Key, strings.Join(templates, ", "))
	case !slices.Contains(templates, tpl):
		return derrors.Field(derrors.Unprocessable, "template", "%q is not a template %s sends (%s)", tpl, c.Key, strings.Join(templates, ", "))
	}
	ids := map[string]int64{}
	for _, name := range []string{"account", "contact"} {
		s := q.str(name)
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return derrors.Field(derrors.Invalid, name, "%q is not a%s %s id; give ?%s=ID", s, map[string]string{"account": "n"}[name], name, name)
		}
		ids[name] = id
	}
	ctx := r.Context()
	if _, err := a.st.GetAccount(ctx, ids["account"]); derrors.Is(err, derrors.NotFound) {
		return derrors.Field(derrors.NotFound, "account", "account %d not found", ids["account"])
	} else if err != nil {
		return err
	}
	if ct, err := a.st.GetContact(ctx, ids["contact"]); derrors.Is(err, derrors.NotFound) {
		return derrors.Field(derrors.NotFound, "contact", "contact %d not found", ids["contact"])
	} else if err != nil {
		return err
	} else if ct.AccountID != ids["account"] {
		return derrors.Field(derrors.NotFound, "contact", "contact %d is not one of account %d's", ids["contact"], ids["account"])
	}
	if err := a.needCampaigns(); err != nil {
		return err
	}
	e, err := a.assessor.PreviewEmail(ctx, c.Key, tpl, ids["account"], ids["contact"])
	if err != nil {
		return CampaignErr(c.Key, err)
	}
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	writeJSON(w, http.StatusOK, previewJSON{Campaign: c.Key, Template: tpl, AccountID: ids["account"], ContactID: ids["contact"], Email: e})
	return nil
}

// surveyAnswers lists survey answers newest first under a filter.
func (a *API) surveyAnswers(w http.ResponseWriter, r *http.Request, q query, f store.SurveyFilter) error {
	if f.Campaign = q.str("campaign"); f.Campaign != "" && a.ws.Campaign(f.Campaign) == nil {
		return derrors.Field(derrors.Invalid, "campaign", "%q is not a campaign of the workspace", f.Campaign)
	}
	var err error
	if f.Limit, err = q.limit(100, 1000); err != nil {
		return err
	}
	answers, err := a.st.ListSurveyAnswers(r.Context(), f)
	if err != nil {
		return err
	}
	if answers == nil {
		answers = []store.SurveyAnswer{}
	}
	writeJSON(w, http.StatusOK, list[store.SurveyAnswer]{Data: answers})
	return nil
}

// listSurveyAnswers is GET /survey-answers: what contacts answered the
// check-in surveys, newest first.
func (a *API) listSurveyAnswers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "account", "campaign", "limit")
	if err != nil {
		return err
	}
	f := store.SurveyFilter{}
	if f.AccountID, err = accountParam(q); err != nil {
		return err
	}
	return a.surveyAnswers(w, r, q, f)
}

// accountSurveyAnswers is GET /accounts/{id}/survey-answers.
func (a *API) accountSurveyAnswers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "campaign", "limit")
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	return a.surveyAnswers(w, r, q, store.SurveyFilter{AccountID: id})
}
