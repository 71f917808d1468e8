package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
)

// playbookJSON is a playbook's definition and state.
type playbookJSON struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Enabled is whether it runs now; FileEnabled the workspace file's
	// setting, which the team's switch overrides.
	Enabled     bool               `json:"enabled"`
	FileEnabled bool               `json:"file_enabled"`
	ChangedBy   string             `json:"changed_by,omitempty"`
	ChangedAt   *time.Time         `json:"changed_at,omitempty"`
	Trigger     triggerJSON        `json:"trigger"`
	Condition   string             `json:"condition,omitempty"`
	Reentry     playbook.Reentry   `json:"reentry"`
	Actions     []actionJSON       `json:"actions"`
	ExitActions []actionJSON       `json:"exit_actions"`
	Stats       *store.FiringStats `json:"stats,omitempty"`
}

type triggerJSON struct {
	Kind     playbook.TriggerKind `json:"kind"`
	When     string               `json:"when,omitempty"`
	Signal   string               `json:"signal,omitempty"`
	Filter   *playbook.Filter     `json:"filter,omitempty"`
	Date     *playbook.DateRule   `json:"date,omitempty"`
	Cron     string               `json:"cron,omitempty"`
	Timezone string               `json:"timezone,omitempty"`
}

type actionJSON struct {
	Kind      playbook.ActionKind `json:"kind"`
	DelayDays int                 `json:"delay_days"`
	Title     string              `json:"title,omitempty"`
	Body      string              `json:"body,omitempty"`
	To        string              `json:"to,omitempty"`
	DueDays   int                 `json:"due_days,omitempty"`
	Template  string              `json:"template,omitempty"`
	Channels  []string            `json:"channels,omitempty"`
	Trait     string              `json:"trait,omitempty"`
	Field     string              `json:"field,omitempty"`
	Value     any                 `json:"value,omitempty"`
	Role      string              `json:"role,omitempty"`
	Strategy  string              `json:"strategy,omitempty"`
	Users     []string            `json:"users,omitempty"`
	Run       string              `json:"run,omitempty"`
}

// PlaybookJSON renders a playbook for the API (and the UI's definition).
func PlaybookJSON(info engine.PlaybookInfo) playbookJSON {
	p := info.Playbook
	out := playbookJSON{Key: p.Key, Name: p.Name, Description: p.Description, Enabled: info.Enabled, FileEnabled: p.Enabled,
		Reentry: p.Reentry, Actions: actionsJSON(p.Actions), ExitActions: actionsJSON(p.ExitActions)}
	if info.State.Playbook != "" && info.State.ChangedBy != "tend" {
		out.ChangedBy, out.ChangedAt = info.State.ChangedBy, &info.State.ChangedAt
	}
	out.Trigger = triggerOf(p.Trigger)
	if p.Condition != nil {
		out.Condition = p.Condition.Source()
	}
	return out
}

// triggerOf renders a trigger, a playbook's or a campaign's own.
func triggerOf(t playbook.Trigger) triggerJSON {
	out := triggerJSON{Kind: t.Kind, Signal: t.Signal, Cron: t.Cron}
	switch t.Kind {
	case playbook.TriggerWhen:
		out.When = t.When.Source()
	case playbook.TriggerSignal:
		f := t.Filter
		out.Filter = &f
	case playbook.TriggerDate:
		d := t.Date
		out.Date = &d
	case playbook.TriggerSchedule:
		out.Timezone = t.Location.String()
	}
	return out
}

func actionsJSON(as []playbook.Action) []actionJSON {
	out := []actionJSON{}
	for _, a := range as {
		out = append(out, actionJSON{Kind: a.Kind, DelayDays: a.DelayDays, Title: a.TitleSource, Body: a.BodySource, To: a.To,
			DueDays: a.DueDays, Template: a.Template, Channels: a.Channels, Trait: a.Trait, Field: a.Field, Value: a.Value,
			Role: a.Role, Strategy: a.Strategy, Users: a.Users, Run: a.Run})
	}
	return out
}

func (a *API) needAssessor() error {
	if a.assessor == nil {
		return derrors.New(derrors.NotFound, "playbooks are not running on this server")
	}
	return nil
}

// PlaybookErr maps the engine's lookups to 404s, for the API and the UI.
func PlaybookErr(key string, err error) error {
	switch {
	case errors.Is(err, engine.ErrUnknownPlaybook):
		return derrors.New(derrors.NotFound, "playbook %q not found", key)
	case errors.Is(err, engine.ErrUnknownAccount):
		return derrors.New(derrors.NotFound, "account not found")
	}
	return err
}

// playbookDays is how many days of firings the list counts.
const playbookDays = 14

func (a *API) listPlaybooks(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if err := a.needAssessor(); err != nil {
		return err
	}
	infos, err := a.assessor.Playbooks(r.Context(), playbookDays)
	if err != nil {
		return err
	}
	out := []playbookJSON{}
	for _, info := range infos {
		pj := PlaybookJSON(info)
		st := info.Stats
		pj.Stats = &st
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "days": playbookDays})
	return nil
}

func (a *API) playbookInfo(r *http.Request) (engine.PlaybookInfo, error) {
	if err := a.needAssessor(); err != nil {
		return engine.PlaybookInfo{}, err
	}
	key := r.PathValue("key")
	info, err := a.assessor.PlaybookInfo(r.Context(), key, playbookDays)
	return info, PlaybookErr(key, err)
}

func (a *API) getPlaybook(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	info, err := a.playbookInfo(r)
	if err != nil {
		return err
	}
	pj := PlaybookJSON(info)
	pj.Stats = &info.Stats
	writeJSON(w, http.StatusOK, pj)
	return nil
}

func (a *API) enablePlaybook(w http.ResponseWriter, r *http.Request) error {
	return a.switchPlaybook(w, r, true)
}

func (a *API) disablePlaybook(w http.ResponseWriter, r *http.Request) error {
	return a.switchPlaybook(w, r, false)
}

// switchPlaybook turns a playbook on or off. Off takes
// {"cancel_open_tasks": true} to close the open tasks it created; its
// actions not yet run are cancelled either way, and its log is kept.
func (a *API) switchPlaybook(w http.ResponseWriter, r *http.Request, on bool) error {
	if err := a.needAssessor(); err != nil {
		return err
	}
	var body struct {
		CancelOpenTasks bool `json:"cancel_open_tasks"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, maxBody, &body); err != nil {
			return err
		}
	}
	if on && body.CancelOpenTasks {
		return derrors.Field(derrors.Invalid, "cancel_open_tasks", "is for disabling a playbook")
	}
	key := r.PathValue("key")
	n, err := a.assessor.SetPlaybookEnabled(r.Context(), key, on, body.CancelOpenTasks, callerOf(r).user.Email)
	if err != nil {
		return PlaybookErr(key, err)
	}
	info, err := a.playbookInfo(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbook": PlaybookJSON(info), "tasks_cancelled": n})
	return nil
}

func (a *API) previewPlaybook(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "limit")
	if err != nil {
		return err
	}
	limit, err := q.limit(100, 1000)
	if err != nil {
		return err
	}
	if err := a.needAssessor(); err != nil {
		return err
	}
	key := r.PathValue("key")
	rows, total, err := a.assessor.Preview(r.Context(), key, limit)
	if err != nil {
		return PlaybookErr(key, err)
	}
	if rows == nil {
		rows = []engine.PreviewRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbook": key, "total": total, "data": rows})
	return nil
}

func (a *API) playbookWhy(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "account")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(q.str("account"), 10, 64)
	if err != nil || id <= 0 {
		return derrors.Field(derrors.Invalid, "account", "%q is not an account id; give ?account=ID", q.str("account"))
	}
	if err := a.needAssessor(); err != nil {
		return err
	}
	key := r.PathValue("key")
	why, err := a.assessor.Why(r.Context(), key, id)
	if err != nil {
		return PlaybookErr(key, err)
	}
	if why.Firings == nil {
		why.Firings = []store.Firing{}
	}
	writeJSON(w, http.StatusOK, why)
	return nil
}

// firingFilter reads a firing log's filters.
func firingFilter(q query, f *store.FiringFilter) error {
	if s := q.str("account"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return derrors.Field(derrors.Invalid, "account", "%q is not an account id", s)
		}
		f.AccountID = id
	}
	switch k := q.str("kind"); k {
	case "", store.FiringFire, store.FiringExit, store.FiringCut:
		f.Kind = k
	default:
		return derrors.Field(derrors.Invalid, "kind", "%q is not fire, exit or cut", k)
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.str(b.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return derrors.Field(derrors.Invalid, b.name, "%q is not an instant (RFC 3339, 2026-03-01T00:00:00Z)", s)
			}
			*b.t = t
		}
	}
	var err error
	f.Limit, err = q.limit(50, 500)
	f.Cursor = q.str("cursor")
	return err
}

func (a *API) playbookFirings(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "account", "kind", "from", "to", "limit", "cursor")
	if err != nil {
		return err
	}
	if _, err := a.playbookInfo(r); err != nil {
		return err
	}
	f := store.FiringFilter{Playbook: r.PathValue("key")}
	if err := firingFilter(q, &f); err != nil {
		return err
	}
	page, err := a.st.ListFirings(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) accountFirings(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "kind", "from", "to", "limit", "cursor")
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	f := store.FiringFilter{AccountID: id}
	if err := firingFilter(q, &f); err != nil {
		return err
	}
	page, err := a.st.ListFirings(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
