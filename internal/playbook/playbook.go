// Package playbook is the pure core of Tend's automation: a playbook is a
// trigger (an account starts or stops matching a condition, a signal, a
// date rule, a schedule), a condition, a re-entry rule and actions. This
// package says, for one account and one moment, whether a playbook fires
// and under which unique key, and why or why not; the engine's runner
// (internal/engine) does the I/O — records firings, runs actions, retries.
//
// Loading playbooks from workspace files, with file:line:col errors, is
// internal/workspace's.
package playbook

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/tendhq/tend/internal/condition"
)

// Playbook is one playbook of the workspace.
type Playbook struct {
	// Key names it: its file's name without .yaml.
	Key         string
	Name        string
	Description string
	// Enabled is the workspace file's setting; the team may turn a
	// playbook off and on at run time without editing it.
	Enabled bool
	Trigger Trigger
	// Condition, when set, must also hold for the account when the
	// trigger fires.
	Condition *condition.Program
	Reentry   Reentry
	Actions   []Action
	// ExitActions run when an account stops matching a `when` trigger's
	// condition (e.g. cancel the open tasks this playbook created).
	ExitActions []Action
}

// TriggerKind is what starts a playbook.
type TriggerKind string

// The trigger kinds.
const (
	// TriggerWhen fires when an account starts matching a condition.
	TriggerWhen TriggerKind = "when"
	// TriggerSignal fires on something that happened to the account.
	TriggerSignal TriggerKind = "signal"
	// TriggerDate fires a number of days before or after a date.
	TriggerDate TriggerKind = "date"
	// TriggerSchedule fires for every account at the times of a cron spec.
	TriggerSchedule TriggerKind = "schedule"
)

// Trigger is when a playbook fires.
type Trigger struct {
	Kind TriggerKind
	// When is the condition of a TriggerWhen.
	When *condition.Program
	// Signal and its filter, for a TriggerSignal.
	Signal string
	Filter Filter
	// Date is a TriggerDate's rule.
	Date DateRule
	// Cron is a TriggerSchedule's spec in its time zone.
	Cron     string
	Location *time.Location
	schedule cron.Schedule
}

// The signals a playbook can be triggered by.
const (
	SignalStageChanged   = "stage_changed"
	SignalHealthChanged  = "health_changed"
	SignalSegmentChanged = "segment_changed"
	SignalProgramChanged = "program_changed"
	SignalTraitChanged   = "trait_changed"
	SignalFieldChanged   = "field_changed"
	SignalFirstUsage     = "first_usage_ping"
	SignalFeatureFirst   = "feature_first_used"
	SignalSeatsCrossed   = "seats_crossed"
	SignalDocField       = "doc_field_changed"
	SignalTaskDone       = "task_done"
	SignalSurveyAnswered = "survey_answered"
)

// Signals lists the signal names.
var Signals = []string{SignalStageChanged, SignalHealthChanged, SignalSegmentChanged, SignalProgramChanged,
	SignalTraitChanged, SignalFieldChanged, SignalFirstUsage, SignalFeatureFirst, SignalSeatsCrossed,
	SignalDocField, SignalTaskDone, SignalSurveyAnswered}

// Filter narrows a signal: every set part must match the event.
type Filter struct {
	// Trait or Field names the trait or account field of a
	// trait_changed / field_changed signal.
	Trait string
	Field string
	// From and To are the old and new values (as text) that match; empty
	// matches any. "" in To means cleared.
	From []string
	To   []string
	// Fraction is a seats_crossed threshold (0.9: 90% of seats).
	Fraction float64
	// Feature, Template and DocField narrow feature and doc signals.
	Feature  string
	Template string
	DocField string
	// Source narrows task_done to tasks a playbook (its key) created.
	Source string
}

// DateRule fires OffsetDays after the date in Field (negative: before).
// It fires once the day has come, and not once the date itself (or the
// firing day, when later) is more than GraceDays past: an account imported
// late still gets its renewal playbook, one from years ago does not.
type DateRule struct {
	// Field is expected_close_date, close_date, renewal_date or
	// traits.<key> of a date trait.
	Field      string
	OffsetDays int
	GraceDays  int
}

// DateFields are the account fields a date rule may read.
var DateFields = []string{"expected_close_date", "close_date", "renewal_date"}

// ReentryMode is how often a playbook may fire for one account.
type ReentryMode string

// The re-entry modes.
const (
	// Once per account, ever.
	Once ReentryMode = "once"
	// OncePerTerm: once per contract term (renewal date).
	OncePerTerm ReentryMode = "once_per_term"
	// EveryTime it triggers: each entry into a condition, each signal,
	// each date, each scheduled time.
	EveryTime ReentryMode = "every_time"
	// Limited: every time, at most Count times in Days days.
	Limited ReentryMode = "limited"
)

// Reentry is a playbook's re-entry rule.
type Reentry struct {
	Mode  ReentryMode
	Count int
	Days  int
}

// ActionKind is what an action does.
type ActionKind string

// The action kinds.
const (
	ActionTask        ActionKind = "task"
	ActionDoc         ActionKind = "doc"
	ActionNote        ActionKind = "note"
	ActionNotify      ActionKind = "notify"
	ActionSet         ActionKind = "set"
	ActionAssign      ActionKind = "assign"
	ActionRun         ActionKind = "run"
	ActionCancelTasks ActionKind = "cancel_tasks"
	// ActionEnroll enters the account in a campaign (Campaign);
	// ActionUnenroll ends its enrollment in one (or, with "all", in every
	// campaign).
	ActionEnroll   ActionKind = "enroll"
	ActionUnenroll ActionKind = "unenroll"
)

// Action is one thing a playbook does, after DelayDays.
type Action struct {
	Kind      ActionKind
	DelayDays int
	// Task, note and notify texts; doc title.
	Title *template.Template
	Body  *template.Template
	// Assignee (task) or recipient (notify): a role — owner, ae, ce, ie,
	// manager — or a team member's email.
	To string
	// DueDays is a task's due date, days after it is created.
	DueDays int
	// Template is a doc's template key.
	Template string
	// Channels are where a notification goes: inbox, email, slack, webhook.
	Channels []string
	// Set: a trait (Trait) or an account field (Field) gets Value.
	Trait string
	Field string
	Value any
	// Assign: Role gets a member by Strategy among Users (emails; empty:
	// every member with the role's team role).
	Role     string
	Strategy string
	Users    []string
	// Run is another playbook's key.
	Run string
	// Campaign is an enroll or unenroll action's campaign key.
	Campaign string
	// Source is the text Title, Body came from, for showing a definition.
	TitleSource, BodySource string
}

// The people an action can address by role.
var Roles = []string{"owner", "ae", "ce", "ie", "manager"}

// The notification channels.
var Channels = []string{"inbox", "email", "slack", "webhook"}

// The assignment strategies.
var Strategies = []string{"fixed", "round_robin", "fewest_accounts", "least_arr"}

// ParseCron reads a schedule trigger's spec (five fields, or a descriptor
// such as @weekly) in loc.
func (t *Trigger) ParseCron(spec string, loc *time.Location) error {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return err
	}
	t.Cron, t.Location, t.schedule = spec, loc, s
	return nil
}

// Ticks returns the scheduled times after from up to to (inclusive), at
// most max of them.
func (t Trigger) Ticks(from, to time.Time, max int) []time.Time {
	if t.schedule == nil {
		return nil
	}
	var out []time.Time
	next := from.In(t.Location)
	for len(out) < max {
		next = t.schedule.Next(next)
		if next.IsZero() || next.After(to) {
			break
		}
		out = append(out, next)
	}
	return out
}

// TemplateData is what a playbook's texts read: {{.account.name}},
// {{.owner.name}}, {{.traits.usage_score}}, {{.today}}, {{.playbook.name}}.
type TemplateData map[string]any

// SampleData has every key a text may use, for checking templates when
// the workspace loads.
func SampleData(traitKeys []string) TemplateData {
	person := map[string]any{"name": "", "email": ""}
	traits := map[string]any{}
	for _, k := range traitKeys {
		traits[k] = nil
	}
	acct := map[string]any{}
	for _, k := range AccountKeys {
		acct[k] = nil
	}
	return TemplateData{"account": acct, "traits": traits, "owner": person, "ae": person, "ce": person, "ie": person,
		"manager": person, "today": "", "playbook": map[string]any{"name": "", "key": ""}, "trigger": ""}
}

// AccountKeys are the account fields a text may read.
var AccountKeys = []string{"id", "name", "domain", "external_id", "estimated_developers", "arr", "seats", "support_level",
	"expected_close_date", "close_date", "renewal_date", "entitlements", "deployment", "segment", "program", "stage",
	"health_score", "health_color", "url"}

// ParseText parses a playbook text and checks it against the data shape:
// a misspelt key is an error now, not an empty string in a task later.
func ParseText(name, src string, traitKeys []string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(&bytes.Buffer{}, SampleData(traitKeys)); err != nil {
		return nil, err
	}
	return t, nil
}

// Render executes a text; a failure is an error the runner logs on the
// action.
func Render(t *template.Template, data TemplateData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// Validate checks what the loader cannot see field by field. Problems are
// returned as plain sentences naming the part.
func (p *Playbook) Validate(known func(key string) bool) []string {
	var out []string
	if p.Name == "" {
		out = append(out, "name: a playbook needs a name")
	}
	if len(p.Actions) == 0 {
		out = append(out, "actions: a playbook needs at least one action")
	}
	if len(p.ExitActions) > 0 && p.Trigger.Kind != TriggerWhen {
		out = append(out, "exit_actions: only a `when` trigger has an exit (the account stops matching)")
	}
	for _, a := range append(slices.Clone(p.Actions), p.ExitActions...) {
		if a.Kind == ActionRun {
			if a.Run == p.Key {
				out = append(out, fmt.Sprintf("run: %s runs itself", p.Key))
			} else if known != nil && !known(a.Run) {
				out = append(out, fmt.Sprintf("run: %q is not a playbook of the workspace", a.Run))
			}
		}
	}
	return out
}
