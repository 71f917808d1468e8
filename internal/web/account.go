package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
)

// How much of an account's history the page shows.
const (
	timelineLimit     = 100
	traitHistoryLimit = 50
)

// accountPage is the data of the account page.
type accountPage struct {
	base
	Account  account.Account
	Fields   []fieldRow
	Groups   []traitGroup
	History  []historyRow
	Contacts []contactGroup
	Timeline []activityRow
	// Usage is the usage card (the whole page only; writes over htmx do
	// not change it).
	Usage usageCard
	// Assessment is the health and lifecycle cards (the whole page and
	// their own refresh, see account_health.go).
	Assessment assessmentCards
	// Tasks are the account's open tasks (TaskTotal counts them all),
	// Docs its docs, Firings its latest playbook firings; DocTemplates
	// the templates a new doc can be made from. The whole page only.
	Tasks        []taskRow
	TaskTotal    int
	Docs         []docRow
	Firings      []firingRow
	DocTemplates []*work.Template
	// Enrollments are the account's campaign enrollments, Messages a page
	// of its outbox messages (MessagesCursor the page, MessagesNext the
	// next), Answers its survey answers (campaigns.go). The whole page
	// only.
	Enrollments    []enrollmentRow
	Messages       []store.OutboxMessage
	MessagesCursor string
	MessagesNext   string
	Answers        []store.SurveyAnswer
	// NoteBody and NoteError re-show a note that could not be added.
	NoteBody  string
	NoteError string
	// OOB marks the sections for an htmx out-of-band swap.
	OOB   bool
	today date.Date
	label func(string) string
}

// Label returns the workspace's label of an account field.
func (p accountPage) Label(field string) string { return p.label(field) }

// Score is the health score to one decimal, "" when there is none.
func (p accountPage) Score() string {
	if p.Account.HealthScore == nil {
		return ""
	}
	return strconv.FormatFloat(*p.Account.HealthScore, 'f', 1, 64)
}

// RenewalIn says how far the renewal is: "in 52 days".
func (p accountPage) RenewalIn() string { return relDays(p.today, p.Account.RenewalDate) }

// RenewingSoon reports whether the account is within the renewal window.
func (p accountPage) RenewingSoon() bool { return renewingSoon(p.today, p.Account.RenewalDate) }

// fieldRow is one standard field, labelled by the workspace.
type fieldRow struct {
	Label string
	Value string
}

// traitGroup is one category of traits, in the workspace's order.
type traitGroup struct {
	Category string
	Rows     []traitRow
}

// traitRow is one trait of the account: its definition, value and where
// the value came from. Editable rows get a form.
type traitRow struct {
	Def       account.TraitDef
	Set       bool
	Value     any
	Text      string
	Source    string
	UpdatedBy string
	UpdatedAt time.Time
	Editable  bool
	// Input is the form's current value: the stored value as text, or
	// what the user typed when it was refused.
	Input string
	Error string
}

// IsBool reports whether the trait takes a yes/no select.
func (t traitRow) IsBool() bool { return t.Def.Type == account.TypeBool }

// IsEnum reports whether the trait takes a select of its values.
func (t traitRow) IsEnum() bool { return t.Def.Type == account.TypeEnum }

// IsDate reports whether the trait takes a date input.
func (t traitRow) IsDate() bool { return t.Def.Type == account.TypeDate }

// IsNumber reports whether the trait takes a number.
func (t traitRow) IsNumber() bool { return t.Def.Type == account.TypeNumber }

// historyRow is one trait change, for people.
type historyRow struct {
	At     time.Time
	Label  string
	Old    string
	New    string
	Source string
	Actor  string
}

// contactGroup is the account's contacts that have one role.
type contactGroup struct {
	Role     string
	Contacts []account.Contact
}

// activityRow is one timeline entry.
type activityRow struct {
	Kind  string
	Label string
	Body  string
	Actor string
	At    time.Time
	// Link, when set, is where the entry is explained (a firing's why).
	Link string
}

var activityLabels = map[string]string{
	account.ActivityNote:         "Note",
	account.ActivityCreated:      "Created",
	account.ActivityFieldChanged: "Fields changed",
	account.ActivityTraitChanged: "Trait changed",
	account.ActivityUsage:        "Usage",
	account.ActivityHealth:       "Health",
	account.ActivityLifecycle:    "Lifecycle",
	account.ActivityTask:         "Task",
	account.ActivityDoc:          "Doc",
	account.ActivitySurvey:       "Survey answer",
}

// valueLabels are the people's names of the closed fields' values.
var valueLabels = map[string]string{
	"managed": "Managed", "scaled": "Scaled", "cloud": "Cloud", "self_hosted": "Self-hosted",
	"code_search": "Code search", "ai_assistant": "AI assistant",
}

func valueLabel(v string) string {
	if l, ok := valueLabels[v]; ok {
		return l
	}
	return v
}

// pathID reads the {id} path value; anything but a positive integer is a
// page that does not exist.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.New(derrors.NotFound, "There is no %s %q.", what, r.PathValue("id"))
	}
	return id, nil
}

// accountPage shows one account: fields, traits, history, contacts and
// timeline.
func (ui *UI) accountPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	p, err := ui.loadAccount(r, id)
	if err != nil {
		return err
	}
	if p.Assessment, err = ui.loadAssessment(r.Context(), p.Account); err != nil {
		return err
	}
	if err := ui.versionAssessment(&p); err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "account", p)
}

// loadAccount gathers everything the account page shows.
func (ui *UI) loadAccount(r *http.Request, id int64) (accountPage, error) {
	ctx := r.Context()
	a, err := ui.st.GetAccount(ctx, id)
	if err != nil {
		return accountPage{}, err
	}
	p := accountPage{base: ui.base(r, a.Name, "book"), Account: a, today: ui.today(), label: ui.ws.FieldLabel}
	names, err := ui.userNames(ctx)
	if err != nil {
		return p, err
	}
	nameOf := func(id *int64) string {
		if id == nil {
			return ""
		}
		if n, ok := names[*id]; ok {
			return n
		}
		return "#" + strconv.FormatInt(*id, 10)
	}
	p.Fields = ui.fieldRows(a, nameOf)

	values, err := ui.st.ListTraits(ctx, id)
	if err != nil {
		return p, err
	}
	p.Groups = ui.traitGroups(values, p.CanWrite())
	if !isHTMX(r) {
		if p.Usage, err = ui.loadUsage(ctx, a, values); err != nil {
			return p, err
		}
		if err := ui.loadWork(ctx, &p, names); err != nil {
			return p, err
		}
		if err := ui.accountCampaigns(r, &p); err != nil {
			return p, err
		}
	}

	changes, err := ui.st.TraitHistory(ctx, id, "", traitHistoryLimit)
	if err != nil {
		return p, err
	}
	for _, c := range changes {
		def, ok := ui.ws.Traits.Get(c.Key)
		if !ok {
			def = account.TraitDef{Key: c.Key, Label: c.Key}
		}
		actor := c.Actor
		if n := nameOf(c.ActorID); n != "" {
			actor = n
		}
		p.History = append(p.History, historyRow{At: c.At, Label: def.Label, Old: traitText(def, c.Old),
			New: traitText(def, c.New), Source: c.Source, Actor: actor})
	}

	contacts, err := ui.st.ListContacts(ctx, id)
	if err != nil {
		return p, err
	}
	p.Contacts = groupContacts(contacts)

	acts, err := ui.st.ListActivities(ctx, id, timelineLimit)
	if err != nil {
		return p, err
	}
	for _, a := range acts {
		actor := a.Actor
		if n := nameOf(a.ActorID); n != "" {
			actor = n
		}
		label, ok := activityLabels[a.Kind]
		if !ok {
			label = a.Kind
		}
		p.Timeline = append(p.Timeline, activityRow{Kind: a.Kind, Label: label, Body: a.Body, Actor: actor, At: a.At})
	}
	if err := ui.timelineFirings(ctx, &p); err != nil {
		return p, err
	}
	return p, nil
}

// accountFiringsCard is how many firings the account page's playbook card
// explains.
const accountFiringsCard = 10

// timelineFirings puts the account's playbook firings on its timeline,
// newest first among the activities, each linking to why it fired. The
// timeline keeps its length: the newest timelineLimit entries of both.
// The newest firings also fill the playbook card.
func (ui *UI) timelineFirings(ctx context.Context, p *accountPage) error {
	page, err := ui.st.ListFirings(ctx, store.FiringFilter{AccountID: p.Account.ID, Limit: timelineLimit})
	if err != nil || len(page.Firings) == 0 {
		return err
	}
	rows := ui.firingRows(page.Firings)
	p.Firings = rows[:min(len(rows), accountFiringsCard)]
	for _, f := range rows {
		p.Timeline = append(p.Timeline, activityRow{Kind: "playbook", Label: "Playbook " + f.KindLabel(), Actor: f.PlaybookName,
			Body: f.Trigger, At: f.At, Link: fmt.Sprintf("/playbooks/%s?account=%d#why", url.PathEscape(f.Playbook), f.AccountID)})
	}
	slices.SortStableFunc(p.Timeline, func(a, b activityRow) int { return b.At.Compare(a.At) })
	if len(p.Timeline) > timelineLimit {
		p.Timeline = p.Timeline[:timelineLimit]
	}
	return nil
}

// loadWork gathers the account page's work cards: open tasks, docs and
// playbook firings (read with the timeline).
func (ui *UI) loadWork(ctx context.Context, p *accountPage, names map[int64]string) error {
	id := p.Account.ID
	var err error
	if p.Tasks, p.TaskTotal, err = ui.accountTasks(ctx, id, names, p.CanWrite()); err != nil {
		return err
	}
	docs, err := ui.st.ListDocs(ctx, id)
	if err != nil {
		return err
	}
	p.Docs = ui.docRows(docs)
	p.DocTemplates = ui.ws.DocTemplates
	return nil
}

// userNames maps every team member's id to their name.
func (ui *UI) userNames(ctx context.Context) (map[int64]string, error) {
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(users))
	for _, u := range users {
		names[u.ID] = u.Name
	}
	return names, nil
}

// fieldRows lists the account's standard fields under the workspace's
// labels. Name, segment, program, stage, health, ARR, seats and renewal
// head the page instead.
func (ui *UI) fieldRows(a account.Account, nameOf func(*int64) string) []fieldRow {
	l := ui.ws.FieldLabel
	text := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	person := func(id *int64) string { return text(nameOf(id)) }
	ents := make([]string, len(a.Entitlements))
	for i, e := range a.Entitlements {
		ents[i] = valueLabel(e)
	}
	return []fieldRow{
		{Label: l("owner_id"), Value: person(a.OwnerID)},
		{Label: l("ae_id"), Value: person(a.AEID)},
		{Label: l("ce_id"), Value: person(a.CEID)},
		{Label: l("ie_id"), Value: person(a.IEID)},
		{Label: l("estimated_developers"), Value: number(a.EstimatedDevelopers)},
		{Label: l("close_date"), Value: day(a.CloseDate)},
		{Label: l("expected_close_date"), Value: day(a.ExpectedCloseDate)},
		{Label: l("support_level"), Value: text(valueLabel(a.SupportLevel))},
		{Label: l("deployment"), Value: text(valueLabel(a.Deployment))},
		{Label: l("entitlements"), Value: text(strings.Join(ents, ", "))},
		{Label: l("domain"), Value: text(a.Domain)},
		{Label: l("external_id"), Value: text(a.ExternalID)},
		{Label: l("analytics_id"), Value: text(a.AnalyticsID)},
	}
}

// traitGroups puts the account's trait values under the workspace's
// categories, every defined trait listed whether set or not. Values of
// traits the workspace no longer defines are still shown, apart.
func (ui *UI) traitGroups(values []account.TraitValue, canWrite bool) []traitGroup {
	byKey := make(map[string]account.TraitValue, len(values))
	for _, v := range values {
		byKey[v.Key] = v
	}
	var groups []traitGroup
	for _, cat := range ui.ws.Traits.Categories() {
		g := traitGroup{Category: cat}
		for _, def := range ui.ws.Traits.All() {
			if def.Category != cat {
				continue
			}
			row := traitRow{Def: def, Text: "—", Editable: canWrite && def.Source == account.SourceManual}
			if v, ok := byKey[def.Key]; ok {
				row.Set, row.Value, row.Text = true, v.Value, traitText(def, v.Value)
				row.Source, row.UpdatedBy, row.UpdatedAt = v.Source, v.UpdatedBy, v.UpdatedAt
				row.Input = inputText(v.Value)
				delete(byKey, def.Key)
			}
			g.Rows = append(g.Rows, row)
		}
		groups = append(groups, g)
	}
	if len(byKey) > 0 {
		g := traitGroup{Category: "Not in the workspace"}
		for _, v := range values {
			if _, left := byKey[v.Key]; left {
				def := account.TraitDef{Key: v.Key, Label: v.Key}
				g.Rows = append(g.Rows, traitRow{Def: def, Set: true, Value: v.Value, Text: traitText(def, v.Value),
					Source: v.Source, UpdatedBy: v.UpdatedBy, UpdatedAt: v.UpdatedAt})
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// inputText is a stored trait value as a form field holds it.
func inputText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	}
	return account.FormatValue(v)
}

// groupContacts lists contacts under each role they hold, in the roles'
// display order; contacts with no role come last.
func groupContacts(cs []account.Contact) []contactGroup {
	var out []contactGroup
	for _, role := range account.ContactRoles {
		g := contactGroup{Role: account.ContactRoleLabel(role)}
		for _, c := range cs {
			if c.HasRole(role) {
				g.Contacts = append(g.Contacts, c)
			}
		}
		if len(g.Contacts) > 0 {
			out = append(out, g)
		}
	}
	g := contactGroup{Role: "No role"}
	for _, c := range cs {
		if len(c.Roles) == 0 {
			g.Contacts = append(g.Contacts, c)
		}
	}
	if len(g.Contacts) > 0 {
		out = append(out, g)
	}
	return out
}

// addNote adds a note to the account's timeline.
func (ui *UI) addNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	if _, err := ui.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	u := currentUser(r)
	body := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"))
	var problem string
	switch {
	case body == "":
		problem = "Write the note first: it is empty."
	case utf8.RuneCountInString(body) > account.MaxNoteLength:
		problem = fmt.Sprintf("A note is at most %s characters; this one has %s.", number(account.MaxNoteLength), number(utf8.RuneCountInString(body)))
	}
	if problem != "" {
		p, err := ui.loadAccount(r, id)
		if err != nil {
			return err
		}
		p.NoteBody, p.NoteError = body, problem
		return ui.accountUpdate(w, r, http.StatusUnprocessableEntity, p)
	}
	err = ui.st.AddActivity(r.Context(), &account.Activity{AccountID: id, Kind: account.ActivityNote, ActorID: &u.ID,
		Actor: u.Email, Body: body})
	if err != nil {
		return err
	}
	return ui.accountDone(w, r, id, "Note added.", "timeline")
}

// setTrait sets (or, with an empty value, clears) one manual trait.
func (ui *UI) setTrait(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	if _, err := ui.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	key, raw := r.PostFormValue("key"), r.PostFormValue("value")
	def, ok := ui.ws.Traits.Get(key)
	if !ok {
		return derrors.Field(derrors.Unprocessable, "traits."+key, "is not a trait this workspace defines")
	}
	if def.Source != account.SourceManual {
		// Synced and computed traits would be overwritten by their source.
		return derrors.Field(derrors.Unprocessable, "traits."+key, "comes from %s, so it cannot be edited here", def.Source)
	}
	tw, err := ui.ws.Traits.Write(id, key, raw)
	if err != nil {
		if !derrors.Is(err, derrors.Unprocessable) {
			return err
		}
		p, lerr := ui.loadAccount(r, id)
		if lerr != nil {
			return lerr
		}
		for gi := range p.Groups {
			for ri := range p.Groups[gi].Rows {
				if row := &p.Groups[gi].Rows[ri]; row.Def.Key == key {
					row.Input, row.Error = raw, derrors.Public(err).Message
				}
			}
		}
		return ui.accountUpdate(w, r, http.StatusUnprocessableEntity, p)
	}
	u := currentUser(r)
	changes, err := ui.st.SetTraits(r.Context(), []account.TraitWrite{tw},
		account.Actor{UserID: &u.ID, Name: u.Email, Source: account.SourceManual})
	if err != nil {
		return err
	}
	msg := def.Label + " is unchanged."
	if len(changes) > 0 {
		// The assessor recomputes the account within its poll; the cards
		// refresh a moment later instead of at their next poll.
		w.Header().Set("HX-Trigger", inputsChanged)
		msg = def.Label + " set to " + traitText(def, tw.Value) + "."
		if tw.Value == nil {
			msg = def.Label + " cleared."
		}
	}
	return ui.accountDone(w, r, id, msg, "traits")
}

// accountDone answers a successful write: htmx gets the changed sections,
// a plain form post is redirected back to the page (post/redirect/get).
func (ui *UI) accountDone(w http.ResponseWriter, r *http.Request, id int64, msg, anchor string) error {
	if !isHTMX(r) {
		ui.flash(r, msg)
		http.Redirect(w, r, fmt.Sprintf("/accounts/%d#%s", id, anchor), http.StatusSeeOther)
		return nil
	}
	p, err := ui.loadAccount(r, id)
	if err != nil {
		return err
	}
	p.Flash = msg
	return ui.accountUpdate(w, r, http.StatusOK, p)
}

// accountUpdate renders the account page after a write: the whole page for
// a plain form post, the sections that change for htmx.
func (ui *UI) accountUpdate(w http.ResponseWriter, r *http.Request, status int, p accountPage) error {
	if !isHTMX(r) {
		return ui.renderPage(w, r, status, "account", p)
	}
	p.OOB = true
	return ui.renderBlock(w, r, status, "account", "sections", p)
}
