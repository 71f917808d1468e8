package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
)

// Why answers "did this playbook fire for this account, and why — or why
// not?".
type Why struct {
	Playbook  string `json:"playbook"`
	AccountID int64  `json:"account_id"`
	Enabled   bool   `json:"enabled"`
	// Firings are the playbook's firings for the account, newest first,
	// each with what triggered it and the condition's values then.
	Firings []store.Firing `json:"firings"`
	// Trigger says where the trigger stands now, in words, and Holds
	// whether it would fire now (when and date triggers; signals and
	// schedules fire on events and times, not states).
	Trigger string `json:"trigger"`
	Holds   *bool  `json:"holds,omitempty"`
	// When explains a `when` trigger's condition now.
	When *condition.Explanation `json:"when,omitempty"`
	// Condition explains the playbook's condition now.
	Condition *condition.Explanation `json:"condition,omitempty"`
	// Reentry says whether the re-entry rule lets it fire again.
	Reentry string `json:"reentry"`
	// Verdict is the answer in one sentence.
	Verdict string `json:"verdict"`
}

// ErrUnknownPlaybook is the answer for a playbook the workspace lacks.
var ErrUnknownPlaybook = errors.New("engine: no such playbook")

// Why explains a playbook for an account at the engine's clock.
func (a *Assessor) Why(ctx context.Context, key string, accountID int64) (Why, error) {
	p := a.ws.Playbook(key)
	if p == nil {
		return Why{}, ErrUnknownPlaybook
	}
	now := a.cfg.Now()
	f, ok, err := a.factsOrLoad(ctx, accountID, now)
	if err != nil {
		return Why{}, err
	}
	if !ok {
		return Why{}, ErrUnknownAccount
	}
	w := Why{Playbook: key, AccountID: accountID, Reentry: string(p.Reentry.Mode)}
	if w.Enabled, err = a.playbookEnabled(ctx, p); err != nil {
		return w, err
	}
	page, err := a.st.ListFirings(ctx, store.FiringFilter{Playbook: key, AccountID: accountID, Limit: 20})
	if err != nil {
		return w, err
	}
	w.Firings = page.Firings
	today := date.Of(now.In(a.loc))
	switch p.Trigger.Kind {
	case playbook.TriggerWhen:
		ex := p.Trigger.When.Explain(f)
		w.When, w.Holds = &ex, &ex.Holds
		w.Trigger = "when " + p.Trigger.When.Source()
	case playbook.TriggerDate:
		due, _, why := p.Trigger.DateDue(f, today)
		w.Holds, w.Trigger = &due, "date rule: "+why
	case playbook.TriggerSignal:
		w.Trigger = "on the signal " + p.Trigger.Signal + filterWords(p.Trigger.Filter)
	case playbook.TriggerSchedule:
		next := p.Trigger.Ticks(now, now.AddDate(1, 0, 0), 1)
		w.Trigger = "on the schedule " + p.Trigger.Cron
		if len(next) == 1 {
			w.Trigger += ", next on " + next[0].Format("2006-01-02 15:04 MST")
		}
	}
	condOK := true
	if p.Condition != nil {
		ex := p.Condition.Explain(f)
		w.Condition, condOK = &ex, ex.Holds
	}
	fired := 0
	for _, x := range w.Firings {
		if x.Kind == store.FiringFire {
			fired++
		}
	}
	switch p.Reentry.Mode {
	case playbook.Once:
		if fired > 0 {
			w.Reentry = "once: it fired for this account already and will not again"
		} else {
			w.Reentry = "once: it has not fired for this account yet"
		}
	case playbook.OncePerTerm:
		w.Reentry = "once per term (renewal " + playbook.Term(f) + ")"
	case playbook.Limited:
		n, err := a.st.CountFirings(ctx, key, accountID, now.AddDate(0, 0, -p.Reentry.Days))
		if err != nil {
			return w, err
		}
		w.Reentry = fmt.Sprintf("at most %d times in %d days: %d so far", p.Reentry.Count, p.Reentry.Days, n)
	default:
		w.Reentry = "every time it triggers"
	}
	switch {
	case !w.Enabled:
		w.Verdict = "It is disabled: it fires for no account."
	case fired > 0:
		w.Verdict = fmt.Sprintf("It fired %d times for this account, last on %s: %s.", fired,
			w.Firings[0].At.In(a.loc).Format("2006-01-02 15:04"), w.Firings[0].Trigger)
	case w.Holds != nil && !*w.Holds:
		w.Verdict = "It has not fired: its trigger does not hold (" + w.Trigger + ")."
	case !condOK:
		w.Verdict = "It has not fired: its condition does not hold."
	case w.Holds != nil:
		w.Verdict = "It has not fired yet, but would at the next step: the trigger and condition hold."
	default:
		w.Verdict = "It has not fired: " + w.Trigger + " has not happened for this account."
	}
	return w, nil
}

func filterWords(f playbook.Filter) string {
	s := ""
	add := func(k, v string) {
		if v != "" {
			s += " " + k + "=" + v
		}
	}
	add("trait", f.Trait)
	add("field", f.Field)
	add("feature", f.Feature)
	add("template", f.Template)
	add("doc_field", f.DocField)
	if len(f.To) > 0 {
		add("to", fmt.Sprint(f.To))
	}
	if f.Fraction > 0 {
		add("fraction", fmt.Sprint(f.Fraction))
	}
	return s
}

// factsOrLoad reads an account's facts from memory, or from the store when
// this process has not loaded them (it does not hold the lease).
func (a *Assessor) factsOrLoad(ctx context.Context, id int64, now time.Time) (condition.Facts, bool, error) {
	a.mu.RLock()
	loaded := a.loaded
	a.mu.RUnlock()
	if loaded {
		f, ok := a.facts(id, now)
		return f, ok, nil
	}
	_, in, err := a.Current(ctx, id)
	if errors.Is(err, ErrUnknownAccount) {
		return condition.Facts{}, false, nil
	}
	if err != nil {
		return condition.Facts{}, false, err
	}
	return condition.Facts{Account: in.Account, Traits: in.Traits, Contacts: in.Contacts, Docs: in.Docs, Now: now, Location: a.loc}, true, nil
}

func (a *Assessor) playbookEnabled(ctx context.Context, p *playbook.Playbook) (bool, error) {
	states, err := a.st.PlaybookStates(ctx)
	if err != nil {
		return false, err
	}
	if s, ok := states[p.Key]; ok {
		return s.Enabled, nil
	}
	return p.Enabled, nil
}

// PreviewRow is an account a playbook matches now.
type PreviewRow struct {
	AccountID int64    `json:"account_id"`
	Name      string   `json:"name"`
	OwnerID   *int64   `json:"owner_id"`
	Stage     string   `json:"stage"`
	Health    string   `json:"health_color"`
	Score     *float64 `json:"health_score"`
	// Why says what matches: the trigger's state, or that the condition
	// holds (a signal or schedule playbook matches the accounts its
	// condition takes).
	Why string `json:"why"`
}

// Preview lists the accounts a playbook matches now — before it is
// enabled: a `when` or date trigger that holds with the condition, or, for
// signal and schedule playbooks, the condition alone.
func (a *Assessor) Preview(ctx context.Context, key string, limit int) ([]PreviewRow, int, error) {
	p := a.ws.Playbook(key)
	if p == nil {
		return nil, 0, ErrUnknownPlaybook
	}
	now := a.cfg.Now()
	all, err := a.allFacts(ctx, now)
	if err != nil {
		return nil, 0, err
	}
	today := date.Of(now.In(a.loc))
	var out []PreviewRow
	total := 0
	for _, f := range all {
		id := f.Account.ID
		why := ""
		switch p.Trigger.Kind {
		case playbook.TriggerWhen:
			if holds, _ := p.Trigger.When.Eval(f); !holds {
				continue
			}
			why = p.Trigger.When.Source()
		case playbook.TriggerDate:
			due, _, w := p.Trigger.DateDue(f, today)
			if !due {
				continue
			}
			why = w
		default:
			why = "the condition holds"
			if p.Condition == nil {
				why = "every account"
			}
		}
		if p.Condition != nil {
			if holds, _ := p.Condition.Eval(f); !holds {
				continue
			}
		}
		total++
		if len(out) < limit {
			out = append(out, PreviewRow{AccountID: id, Name: f.Account.Name, OwnerID: f.Account.OwnerID, Stage: f.Account.Stage,
				Health: f.Account.HealthColor, Score: f.Account.HealthScore, Why: why})
		}
	}
	return out, total, nil
}

// allFacts are every account's facts: from memory, or read from the store
// by a process that does not hold the lease (and so holds no accounts).
func (a *Assessor) allFacts(ctx context.Context, now time.Time) ([]condition.Facts, error) {
	a.mu.RLock()
	loaded := a.loaded
	var out []condition.Facts
	if loaded {
		for _, id := range a.ids() {
			in := a.inputs[id]
			out = append(out, condition.Facts{Account: in.Account, Traits: in.Traits, Contacts: in.Contacts, Docs: in.Docs, Now: now, Location: a.loc})
		}
	}
	a.mu.RUnlock()
	if loaded {
		return out, nil
	}
	err := a.st.LoadAssessmentInputs(ctx, nil, func(in store.AssessmentInput) error {
		out = append(out, condition.Facts{Account: in.Account, Traits: in.Traits, Contacts: in.Contacts, Docs: in.Docs, Now: now, Location: a.loc})
		return nil
	})
	return out, err
}

// SetPlaybookEnabled turns a playbook on or off for the team. Turning it
// off cancels its actions not yet run, and with cancelTasks closes the open
// tasks it created (the team chooses).
func (a *Assessor) SetPlaybookEnabled(ctx context.Context, key string, enabled, cancelTasks bool, by string) (cancelled int, err error) {
	p := a.ws.Playbook(key)
	if p == nil {
		return 0, ErrUnknownPlaybook
	}
	states, err := a.st.PlaybookStates(ctx)
	if err != nil {
		return 0, err
	}
	s := states[key]
	s.Playbook, s.Enabled, s.ChangedAt, s.ChangedBy = key, enabled, a.cfg.Now(), by
	if err := a.st.SavePlaybookState(ctx, s); err != nil {
		return 0, err
	}
	if enabled {
		return 0, nil
	}
	if _, err := a.st.CancelPendingActions(ctx, key, 0, a.cfg.Now()); err != nil {
		return 0, err
	}
	if !cancelTasks || a.runner == nil || a.runner.cfg.Effects == nil {
		return 0, nil
	}
	return a.runner.cfg.Effects.CancelTasks(ctx, 0, "playbook "+key)
}

// PlaybookInfo is a playbook as the list shows it.
type PlaybookInfo struct {
	Playbook *playbook.Playbook  `json:"-"`
	Enabled  bool                `json:"enabled"`
	State    store.PlaybookState `json:"state"`
	Stats    store.FiringStats   `json:"stats"`
}

// Playbooks lists the workspace's playbooks with their state and the last
// days' firings.
func (a *Assessor) Playbooks(ctx context.Context, days int) ([]PlaybookInfo, error) {
	states, err := a.st.PlaybookStates(ctx)
	if err != nil {
		return nil, err
	}
	stats, err := a.st.FiringStats(ctx, a.cfg.Now().AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	var out []PlaybookInfo
	for _, p := range a.ws.Playbooks {
		on := p.Enabled
		s, ok := states[p.Key]
		if ok {
			on = s.Enabled
		}
		st := stats[p.Key]
		if st.PerDay == nil {
			st.PerDay = map[string]int{}
		}
		out = append(out, PlaybookInfo{Playbook: p, Enabled: on, State: s, Stats: st})
	}
	return out, nil
}

// PlaybookInfo is one playbook of Playbooks, by key; an unknown key is
// ErrUnknownPlaybook.
func (a *Assessor) PlaybookInfo(ctx context.Context, key string, days int) (PlaybookInfo, error) {
	if a.ws.Playbook(key) == nil {
		return PlaybookInfo{}, ErrUnknownPlaybook
	}
	infos, err := a.Playbooks(ctx, days)
	if err != nil {
		return PlaybookInfo{}, err
	}
	for _, info := range infos {
		if info.Playbook.Key == key {
			return info, nil
		}
	}
	return PlaybookInfo{}, ErrUnknownPlaybook
}
