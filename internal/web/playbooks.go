package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/api"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
)

// playbookDays is how many days of firings the playbooks list charts.
const playbookDays = 14

// Limits of the playbook page's lists.
const (
	previewLimit    = 100
	firingsPageSize = 30
)

// needPlaybooks refuses the playbook pages on a server without the
// assessor, which runs them.
func (ui *UI) needPlaybooks() error {
	if ui.assessor == nil {
		return derrors.New(derrors.NotFound, "Playbooks are not running on this server.")
	}
	return nil
}

// playbookRow is one playbook as the list shows it.
type playbookRow struct {
	Key, Name, Description string
	Enabled                bool
	Trigger                string
	Actions                int
	Total                  int
	LastAt                 *time.Time
	LastError              string
	// Days are the firings per day, oldest first, for the sparkline.
	Days []dayCount
	Max  int
}

// dayCount is one day's firings.
type dayCount struct {
	Day   string
	Count int
}

// Bar is the day's bar in a 14×20 sparkline: x, y and height.
func (p playbookRow) Bar(i int) (bar struct{ X, Y, H float64 }) {
	bar.X = float64(i) * 7
	if p.Max == 0 {
		return bar
	}
	bar.H = 20 * float64(p.Days[i].Count) / float64(p.Max)
	if p.Days[i].Count > 0 && bar.H < 1.5 {
		bar.H = 1.5
	}
	bar.Y = 20 - bar.H
	return bar
}

// playbooksPage is the data of the playbooks list.
type playbooksPage struct {
	base
	Rows    []playbookRow
	Days    int
	Enabled int
}

func (ui *UI) playbookRow(info engine.PlaybookInfo) playbookRow {
	p := info.Playbook
	row := playbookRow{Key: p.Key, Name: p.Name, Description: p.Description, Enabled: info.Enabled, Trigger: triggerWords(p.Trigger),
		Actions: len(p.Actions), Total: info.Stats.Total, LastAt: info.Stats.LastAt, LastError: info.Stats.LastError}
	// Days as the store counts them: UTC.
	today := ui.now().UTC()
	for i := playbookDays - 1; i >= 0; i-- {
		d := today.AddDate(0, 0, -i).Format(time.DateOnly)
		n := info.Stats.PerDay[d]
		row.Days = append(row.Days, dayCount{Day: d, Count: n})
		row.Max = max(row.Max, n)
	}
	return row
}

// playbooks lists the workspace's playbooks: on or off, what starts each,
// how often it fired over the last two weeks, and its last error.
func (ui *UI) playbooks(w http.ResponseWriter, r *http.Request) error {
	if err := ui.needPlaybooks(); err != nil {
		return err
	}
	infos, err := ui.assessor.Playbooks(r.Context(), playbookDays)
	if err != nil {
		return err
	}
	p := playbooksPage{base: ui.base(r, "Playbooks", "playbooks"), Days: playbookDays}
	for _, info := range infos {
		p.Rows = append(p.Rows, ui.playbookRow(info))
		if info.Enabled {
			p.Enabled++
		}
	}
	return ui.renderPage(w, r, http.StatusOK, "playbooks", p)
}

// firingRow is one firing of a log, with its recorded explanation.
type firingRow struct {
	store.Firing
	PlaybookName string
	Detail       engine.FiringDetail
}

// KindLabel words the firing's kind.
func (f firingRow) KindLabel() string {
	switch f.Kind {
	case store.FiringFire:
		return "fired"
	case store.FiringExit:
		return "exited"
	case store.FiringCut:
		return "loop cut"
	}
	return f.Kind
}

// firingRows decodes the firings' details. A detail that does not decode
// (written by another version) is shown as its trigger alone.
func (ui *UI) firingRows(fs []store.Firing) []firingRow {
	rows := make([]firingRow, 0, len(fs))
	for _, f := range fs {
		row := firingRow{Firing: f, PlaybookName: f.Playbook}
		if p := ui.ws.Playbook(f.Playbook); p != nil {
			row.PlaybookName = p.Name
		}
		if len(f.Detail) > 0 {
			_ = json.Unmarshal(f.Detail, &row.Detail)
		}
		rows = append(rows, row)
	}
	return rows
}

// logQuery is the playbook log's filters.
type logQuery struct {
	Key     string
	Kind    string
	Account string
	Cursor  string
}

// URL is the playbook page with these filters (and no why).
func (q logQuery) URL(cursor string) string {
	v := url.Values{}
	for _, kv := range [][2]string{{"kind", q.Kind}, {"log_account", q.Account}, {"cursor", cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return withQuery("/playbooks/"+url.PathEscape(q.Key), v) + "#log"
}

// playbookPage is the data of a playbook's page.
type playbookPage struct {
	base
	Row     playbookRow
	Info    engine.PlaybookInfo
	Trigger string
	// Condition, When and Reentry are the definition in words.
	Condition   string
	When        string
	Reentry     string
	Actions     []string
	ExitActions []string
	// Why is the answer for ?account=, when asked.
	WhyAccount string
	Why        *whyView
	WhyError   string
	Log        []firingRow
	LogQ       logQuery
	Next       string
}

// whyView is engine.Why with the account and its firings for the page.
type whyView struct {
	engine.Why
	Account string
	Rows    []firingRow
}

// playbookPage shows one playbook: its definition in words, the switch,
// a preview of the accounts it matches now (on request: it evaluates every
// account), "why" for one account, and its log with filters.
func (ui *UI) playbookPage(w http.ResponseWriter, r *http.Request) error {
	if err := ui.needPlaybooks(); err != nil {
		return err
	}
	ctx := r.Context()
	key := r.PathValue("key")
	info, err := ui.playbookInfo(ctx, key)
	if err != nil {
		return err
	}
	pb := info.Playbook
	p := playbookPage{base: ui.base(r, pb.Name, "playbooks"), Info: info, Row: ui.playbookRow(info), Trigger: triggerWords(pb.Trigger),
		Reentry: reentryWords(pb.Reentry)}
	if pb.Trigger.Kind == playbook.TriggerWhen {
		p.When = pb.Trigger.When.Source()
	}
	if pb.Condition != nil {
		p.Condition = pb.Condition.Source()
	}
	for _, a := range pb.Actions {
		p.Actions = append(p.Actions, actionWords(a))
	}
	for _, a := range pb.ExitActions {
		p.ExitActions = append(p.ExitActions, actionWords(a))
	}
	q := r.URL.Query()
	if s := strings.TrimSpace(q.Get("account")); s != "" {
		p.WhyAccount = s
		why, err := ui.why(ctx, key, s)
		switch {
		case derrors.Is(err, derrors.NotFound), derrors.Is(err, derrors.Invalid):
			p.WhyError = sentence(derrors.Public(err).Message)
		case err != nil:
			return err
		default:
			p.Why = why
		}
	}
	p.LogQ = logQuery{Key: key, Kind: q.Get("kind"), Account: strings.TrimSpace(q.Get("log_account")), Cursor: q.Get("cursor")}
	f := store.FiringFilter{Playbook: key, Limit: firingsPageSize, Cursor: p.LogQ.Cursor}
	switch p.LogQ.Kind {
	case "", store.FiringFire, store.FiringExit, store.FiringCut:
		f.Kind = p.LogQ.Kind
	default:
		return derrors.Field(derrors.Invalid, "kind", "%q is not fire, exit or cut", p.LogQ.Kind)
	}
	if p.LogQ.Account != "" {
		id, err := strconv.ParseInt(p.LogQ.Account, 10, 64)
		if err != nil || id <= 0 {
			return derrors.Field(derrors.Invalid, "log_account", "%q is not an account id", p.LogQ.Account)
		}
		f.AccountID = id
	}
	page, err := ui.st.ListFirings(ctx, f)
	if err != nil {
		return err
	}
	p.Log, p.Next = ui.firingRows(page.Firings), page.Next
	return ui.renderPage(w, r, http.StatusOK, "playbook", p)
}

func (ui *UI) playbookInfo(ctx context.Context, key string) (engine.PlaybookInfo, error) {
	info, err := ui.assessor.PlaybookInfo(ctx, key, playbookDays)
	return info, api.PlaybookErr(key, err)
}

// why explains the playbook for one account, given by id.
func (ui *UI) why(ctx context.Context, key, account string) (*whyView, error) {
	id, err := strconv.ParseInt(account, 10, 64)
	if err != nil || id <= 0 {
		return nil, derrors.Field(derrors.Invalid, "account", "%q is not an account id: give the number in the account page's address", account)
	}
	w, err := ui.assessor.Why(ctx, key, id)
	if err != nil {
		return nil, api.PlaybookErr(key, err)
	}
	a, err := ui.st.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	return &whyView{Why: w, Account: a.Name, Rows: ui.firingRows(w.Firings)}, nil
}

// HoldsNow is "holds" or "fails" for a trigger with a state now (when,
// date), "" for one that fires on events.
func (w whyView) HoldsNow() string {
	switch {
	case w.Holds == nil:
		return ""
	case *w.Holds:
		return "holds"
	}
	return "fails"
}

// previewPage is the preview fragment's data.
type previewPage struct {
	base
	Key   string
	Rows  []engine.PreviewRow
	Total int
	Limit int
	// Owners maps owner ids to names.
	Owners map[int64]string
}

// OwnerName is a preview row's owner by name.
func (p previewPage) OwnerName(id *int64) string {
	if id == nil {
		return ""
	}
	return p.Owners[*id]
}

// playbookPreview lists the accounts the playbook matches now, whether it
// is enabled or not: what it would act on. It is a fragment for htmx (the
// preview button) and a page of its own otherwise.
func (ui *UI) playbookPreview(w http.ResponseWriter, r *http.Request) error {
	if err := ui.needPlaybooks(); err != nil {
		return err
	}
	key := r.PathValue("key")
	rows, total, err := ui.assessor.Preview(r.Context(), key, previewLimit)
	if err != nil {
		return api.PlaybookErr(key, err)
	}
	names, err := ui.userNames(r.Context())
	if err != nil {
		return err
	}
	p := previewPage{base: ui.base(r, "Preview of "+key, "playbooks"), Key: key, Rows: rows, Total: total, Limit: previewLimit, Owners: names}
	if isHTMX(r) {
		return ui.renderBlock(w, r, http.StatusOK, "playbook_preview", "preview", p)
	}
	return ui.renderPage(w, r, http.StatusOK, "playbook_preview", p)
}

// switchPlaybook turns a playbook on or off for the team. Off cancels its
// actions not yet run and, when the form asks, closes the open tasks it
// created; its log is kept either way.
func (ui *UI) switchPlaybook(w http.ResponseWriter, r *http.Request) error {
	if err := ui.needPlaybooks(); err != nil {
		return err
	}
	key := r.PathValue("key")
	on := r.PostFormValue("enabled") == "true"
	cancel := r.PostFormValue("cancel_open_tasks") == "true"
	n, err := ui.assessor.SetPlaybookEnabled(r.Context(), key, on, cancel && !on, currentUser(r).Email)
	if err != nil {
		return api.PlaybookErr(key, err)
	}
	msg := "Playbook enabled: it runs from now on."
	if !on {
		msg = "Playbook disabled: it fires for no account and its pending actions were cancelled."
		if cancel {
			msg += fmt.Sprintf(" %s %s closed.", number(n), plural(n, "open task was", "open tasks were"))
		}
	}
	ui.flash(r, msg)
	http.Redirect(w, r, "/playbooks/"+url.PathEscape(key), http.StatusSeeOther)
	return nil
}

// triggerWords says what starts a playbook.
func triggerWords(t playbook.Trigger) string {
	switch t.Kind {
	case playbook.TriggerWhen:
		return "When an account starts matching its condition"
	case playbook.TriggerSignal:
		s := "On the signal " + strings.ReplaceAll(t.Signal, "_", " ")
		var parts []string
		f := t.Filter
		for _, kv := range [][2]string{{"trait", f.Trait}, {"field", f.Field}, {"feature", f.Feature}, {"template", f.Template},
			{"doc field", f.DocField}, {"from playbook", f.Source}} {
			if kv[1] != "" {
				parts = append(parts, kv[0]+" "+kv[1])
			}
		}
		if len(f.From) > 0 {
			parts = append(parts, "from "+strings.Join(f.From, " or "))
		}
		if len(f.To) > 0 {
			parts = append(parts, "to "+strings.Join(f.To, " or "))
		}
		if f.Fraction > 0 {
			parts = append(parts, fmt.Sprintf("at %g%% of seats", f.Fraction*100))
		}
		if len(parts) > 0 {
			s += " (" + strings.Join(parts, ", ") + ")"
		}
		return s
	case playbook.TriggerDate:
		d := t.Date
		field := strings.ReplaceAll(strings.TrimPrefix(d.Field, "traits."), "_", " ")
		switch {
		case d.OffsetDays < 0:
			return fmt.Sprintf("%s before the %s", plural(-d.OffsetDays, "1 day", fmt.Sprintf("%d days", -d.OffsetDays)), field)
		case d.OffsetDays > 0:
			return fmt.Sprintf("%s after the %s", plural(d.OffsetDays, "1 day", fmt.Sprintf("%d days", d.OffsetDays)), field)
		}
		return "On the " + field
	case playbook.TriggerSchedule:
		loc := "UTC"
		if t.Location != nil {
			loc = t.Location.String()
		}
		return fmt.Sprintf("On the schedule %s (%s)", t.Cron, loc)
	}
	return string(t.Kind)
}

// reentryWords says how often a playbook may fire for one account.
func reentryWords(r playbook.Reentry) string {
	switch r.Mode {
	case playbook.Once:
		return "Once per account"
	case playbook.OncePerTerm:
		return "Once per contract term"
	case playbook.EveryTime:
		return "Each time it triggers"
	case playbook.Limited:
		return fmt.Sprintf("At most %d times in %d days", r.Count, r.Days)
	}
	return string(r.Mode)
}

// actionWords says what an action does.
func actionWords(a playbook.Action) string {
	var s string
	switch a.Kind {
	case playbook.ActionTask:
		s = fmt.Sprintf("Task %q for the %s", a.TitleSource, roleWords(a.To))
		if a.DueDays > 0 {
			s += fmt.Sprintf(", due in %d days", a.DueDays)
		}
	case playbook.ActionDoc:
		s = "Doc from the " + a.Template + " template"
	case playbook.ActionNote:
		s = fmt.Sprintf("Note %q on the timeline", a.BodySource)
	case playbook.ActionNotify:
		s = fmt.Sprintf("Notify the %s (%s): %q", roleWords(a.To), strings.Join(a.Channels, ", "), a.TitleSource)
	case playbook.ActionSet:
		what := a.Field
		if a.Trait != "" {
			what = "trait " + a.Trait
		}
		s = fmt.Sprintf("Set %s to %v", what, a.Value)
	case playbook.ActionAssign:
		s = fmt.Sprintf("Assign the %s by %s", roleWords(a.Role), strings.ReplaceAll(a.Strategy, "_", " "))
	case playbook.ActionRun:
		s = "Run the playbook " + a.Run
	case playbook.ActionCancelTasks:
		s = "Cancel the open tasks it created"
	default:
		s = string(a.Kind)
	}
	if a.DelayDays > 0 {
		s += fmt.Sprintf(" — after %d days", a.DelayDays)
	}
	return s
}

// roleWords names an action's person: a role or an email.
func roleWords(to string) string {
	switch to {
	case "owner":
		return "owner TA"
	case "ae":
		return "account executive"
	case "ce":
		return "customer engineer"
	case "ie":
		return "implementation engineer"
	case "":
		return "owner TA"
	}
	return to
}
