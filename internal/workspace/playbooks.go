package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/playbook"
)

// PlaybooksDir holds the playbooks, one file each: playbooks/<key>.yaml.
const PlaybooksDir = "playbooks"

// playbookDoc is a playbook file.
type playbookDoc struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Enabled     bool        `yaml:"enabled"`
	Trigger     triggerDoc  `yaml:"trigger"`
	Condition   string      `yaml:"condition"`
	Reentry     string      `yaml:"reentry"`
	Limit       limitDoc    `yaml:"limit"`
	Actions     []actionDoc `yaml:"actions"`
	ExitActions []actionDoc `yaml:"exit_actions"`
}

type triggerDoc struct {
	When       string   `yaml:"when"`
	Signal     string   `yaml:"signal"`
	Trait      string   `yaml:"trait"`
	Field      string   `yaml:"field"`
	Feature    string   `yaml:"feature"`
	Template   string   `yaml:"template"`
	DocField   string   `yaml:"doc_field"`
	Source     string   `yaml:"source"`
	From       []string `yaml:"from"`
	To         []string `yaml:"to"`
	Fraction   float64  `yaml:"fraction"`
	Date       string   `yaml:"date"`
	OffsetDays int      `yaml:"offset_days"`
	GraceDays  int      `yaml:"grace_days"`
	Cron       string   `yaml:"cron"`
	Timezone   string   `yaml:"timezone"`
}

type limitDoc struct {
	Count int `yaml:"count"`
	Days  int `yaml:"days"`
}

type actionDoc struct {
	DelayDays   int        `yaml:"delay_days"`
	Task        *taskDoc   `yaml:"task"`
	Doc         *docDoc    `yaml:"doc"`
	Note        *noteDoc   `yaml:"note"`
	Notify      *notifyDoc `yaml:"notify"`
	Set         *setDoc    `yaml:"set"`
	Assign      *assignDoc `yaml:"assign"`
	Run         string     `yaml:"run"`
	CancelTasks bool       `yaml:"cancel_tasks"`
	// Enroll and Unenroll name a campaign (unenroll: all, every one).
	Enroll   string `yaml:"enroll"`
	Unenroll string `yaml:"unenroll"`
}

type taskDoc struct {
	Title    string `yaml:"title"`
	Body     string `yaml:"body"`
	Assignee string `yaml:"assignee"`
	DueDays  int    `yaml:"due_days"`
}

type docDoc struct {
	Template string `yaml:"template"`
	Title    string `yaml:"title"`
}

type noteDoc struct {
	Body string `yaml:"body"`
}

type notifyDoc struct {
	To       string   `yaml:"to"`
	Channels []string `yaml:"channels"`
	Title    string   `yaml:"title"`
	Body     string   `yaml:"body"`
}

type setDoc struct {
	Trait string    `yaml:"trait"`
	Field string    `yaml:"field"`
	Value yaml.Node `yaml:"value"`
}

type assignDoc struct {
	Role     string   `yaml:"role"`
	Strategy string   `yaml:"strategy"`
	Users    []string `yaml:"users"`
}

// SettableFields are the account fields a playbook's set action may
// write. Segment, program and stage are the lifecycle rules' (an account's
// value would be replaced the moment it is assessed); owners are assigned
// with assign.
var SettableFields = []string{"support_level", "deployment"}

// playbooks loads playbooks/*.yaml: the workspace's, or the default's when
// the workspace has no playbooks directory.
func (l *loader) playbooks(traits []account.TraitDef, traitsValid bool, schema *condition.Schema, loc *time.Location) []*playbook.Playbook {
	fsys := l.fsys
	if _, err := fs.Stat(fsys, PlaybooksDir); errors.Is(err, fs.ErrNotExist) && l.dir != "" {
		fsys = DefaultFiles()
	}
	entries, err := fs.ReadDir(fsys, PlaybooksDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		l.problem(PlaybooksDir, 0, "cannot read: %s", pathErr(err))
		return nil
	}
	var out []*playbook.Playbook
	nodes := map[string]*yaml.Node{}
	for _, e := range entries {
		name := e.Name()
		file := path.Join(PlaybooksDir, name)
		if e.IsDir() {
			l.problem(file, 0, "is a directory; playbooks are files playbooks/<key>.yaml")
			continue
		}
		key, ok := strings.CutSuffix(name, ".yaml")
		if !ok {
			l.problem(file, 0, "is not a playbook: playbooks are .yaml files")
			continue
		}
		if !keyPattern.MatchString(key) {
			l.problem(file, 0, "the file name %q must be a key: lowercase letters, digits and _, starting with a letter", key)
			continue
		}
		root := l.rootFS(fsys, file)
		if root == nil {
			continue
		}
		p := l.playbook(file, key, root, traits, traitsValid, schema, loc)
		if p != nil {
			out = append(out, p)
			nodes[key] = root
		}
	}
	known := func(k string) bool {
		return slices.ContainsFunc(out, func(p *playbook.Playbook) bool { return p.Key == k })
	}
	for _, p := range out {
		for _, msg := range p.Validate(known) {
			l.problem(path.Join(PlaybooksDir, p.Key+".yaml"), nodes[p.Key].Line, "%s", msg)
		}
	}
	return out
}

// playbook reads one playbook file; nil when it cannot be read at all.
func (l *loader) playbook(file, key string, root *yaml.Node, traits []account.TraitDef, traitsValid bool,
	schema *condition.Schema, loc *time.Location) *playbook.Playbook {
	var d playbookDoc
	if !l.decode(file, "", root, reflect.ValueOf(&d).Elem(), false) {
		return nil
	}
	p := &playbook.Playbook{Key: key, Name: strings.TrimSpace(d.Name), Description: d.Description, Enabled: true}
	if hasKey(root, "enabled") {
		p.Enabled = d.Enabled
	}
	traitKeys := make([]string, len(traits))
	for i, t := range traits {
		traitKeys[i] = t.Key
	}
	tnode := valueOf(root, "trigger")
	if tnode == nil {
		l.problem(file, root.Line, "trigger is missing: when, signal, date or cron")
	} else {
		p.Trigger = l.trigger(file, tnode, d.Trigger, traits, traitsValid, schema, loc)
	}
	if d.Condition != "" && traitsValid {
		p.Condition = l.condition(file, valueOf(root, "condition"), schema)
	}
	switch mode := playbook.ReentryMode(d.Reentry); mode {
	case "":
		p.Reentry.Mode = playbook.EveryTime
	case playbook.Once, playbook.OncePerTerm, playbook.EveryTime:
		p.Reentry.Mode = mode
	case playbook.Limited:
		p.Reentry = playbook.Reentry{Mode: mode, Count: d.Limit.Count, Days: d.Limit.Days}
		if d.Limit.Count < 1 || d.Limit.Days < 1 {
			l.problem(file, lineOf(root, "reentry"), "reentry limited needs limit: {count: N, days: D}, both at least 1")
		}
	default:
		l.problem(file, lineOf(root, "reentry"), "reentry %q is not one of once, once_per_term, every_time, limited", d.Reentry)
	}
	if d.Limit != (limitDoc{}) && p.Reentry.Mode != playbook.Limited {
		l.problem(file, lineOf(root, "limit"), "limit is for reentry: limited")
	}
	p.Actions = l.actions(file, valueOf(root, "actions"), d.Actions, traits, traitKeys)
	p.ExitActions = l.actions(file, valueOf(root, "exit_actions"), d.ExitActions, traits, traitKeys)
	return p
}

func (l *loader) trigger(file string, n *yaml.Node, d triggerDoc, traits []account.TraitDef, traitsValid bool,
	schema *condition.Schema, loc *time.Location) playbook.Trigger {
	var t playbook.Trigger
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"when", d.When != ""}, {"signal", d.Signal != ""}, {"date", d.Date != ""}, {"cron", d.Cron != ""}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		l.problem(file, n.Line, "a trigger is exactly one of when, signal, date or cron, got %s", orNothing(kinds))
		return t
	}
	// only reports settings that do not belong to the trigger's kind.
	only := func(allowed ...string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !slices.Contains(allowed, k) {
				l.problem(file, n.Content[i].Line, "%s is not a setting of a %s trigger (it takes %s)", k, kinds[0], strings.Join(allowed, ", "))
			}
		}
	}
	traitDef := func(key string) (account.TraitDef, bool) {
		i := slices.IndexFunc(traits, func(t account.TraitDef) bool { return t.Key == key })
		if i < 0 {
			return account.TraitDef{}, false
		}
		return traits[i], true
	}
	switch kinds[0] {
	case "when":
		only("when")
		t.Kind = playbook.TriggerWhen
		if traitsValid {
			t.When = l.condition(file, valueOf(n, "when"), schema)
		}
	case "signal":
		t.Kind, t.Signal = playbook.TriggerSignal, d.Signal
		t.Filter = playbook.Filter{Trait: d.Trait, Field: d.Field, From: d.From, To: d.To, Fraction: d.Fraction,
			Feature: d.Feature, Template: d.Template, DocField: d.DocField, Source: d.Source}
		if !slices.Contains(playbook.Signals, d.Signal) {
			l.problem(file, lineOf(n, "signal"), "signal %q is not one of %s", d.Signal, strings.Join(playbook.Signals, ", "))
			return t
		}
		allowed := map[string][]string{
			playbook.SignalTraitChanged:   {"trait", "from", "to"},
			playbook.SignalFieldChanged:   {"field", "from", "to"},
			playbook.SignalStageChanged:   {"from", "to"},
			playbook.SignalHealthChanged:  {"from", "to"},
			playbook.SignalSegmentChanged: {"from", "to"},
			playbook.SignalProgramChanged: {"from", "to"},
			playbook.SignalFeatureFirst:   {"feature"},
			playbook.SignalSeatsCrossed:   {"fraction"},
			playbook.SignalDocField:       {"template", "doc_field", "from", "to"},
			playbook.SignalTaskDone:       {"source"},
			playbook.SignalSurveyAnswered: {"to"},
		}[d.Signal]
		only(append([]string{"signal"}, allowed...)...)
		switch d.Signal {
		case playbook.SignalTraitChanged:
			if d.Trait == "" {
				l.problem(file, n.Line, "a trait_changed signal names its trait")
			} else if _, ok := traitDef(d.Trait); !ok && traitsValid {
				l.problem(file, lineOf(n, "trait"), "trait %q is not a trait in %s", d.Trait, TraitsFile)
			}
		case playbook.SignalFieldChanged:
			if !slices.Contains(accountFields, d.Field) {
				l.problem(file, lineOf(n, "field"), "field %q is not an account field (fields are %s)", d.Field, strings.Join(accountFields, ", "))
			}
		case playbook.SignalStageChanged:
			for _, s := range append(slices.Clone(d.From), d.To...) {
				if !slices.Contains(account.Stages, s) {
					l.problem(file, n.Line, "stage %q is not one of %s", s, strings.Join(account.Stages, ", "))
				}
			}
		case playbook.SignalHealthChanged:
			for _, s := range append(slices.Clone(d.From), d.To...) {
				if !slices.Contains([]string{"green", "yellow", "red", ""}, s) {
					l.problem(file, n.Line, "health colour %q is not green, yellow or red", s)
				}
			}
		case playbook.SignalSeatsCrossed:
			if !(d.Fraction > 0 && d.Fraction <= 10) {
				l.problem(file, lineOf(n, "fraction"), "a seats_crossed signal needs a fraction of seats above 0, such as 0.9 for 90%%")
			}
		}
	case "date":
		only("date", "offset_days", "grace_days")
		t.Kind = playbook.TriggerDate
		t.Date = playbook.DateRule{Field: d.Date, OffsetDays: d.OffsetDays, GraceDays: d.GraceDays}
		if !hasKey(n, "grace_days") {
			t.Date.GraceDays = 30
		}
		trait, isTrait := strings.CutPrefix(d.Date, "traits.")
		switch {
		case slices.Contains(playbook.DateFields, d.Date):
		case isTrait:
			if def, ok := traitDef(trait); traitsValid && (!ok || def.Type != account.TypeDate) {
				l.problem(file, lineOf(n, "date"), "%s is not a date trait in %s", d.Date, TraitsFile)
			}
		default:
			l.problem(file, lineOf(n, "date"), "date %q is not one of %s or traits.<a date trait>", d.Date, strings.Join(playbook.DateFields, ", "))
		}
		if t.Date.GraceDays < 0 {
			l.problem(file, lineOf(n, "grace_days"), "grace_days must not be negative")
		}
	case "cron":
		only("cron", "timezone")
		t.Kind = playbook.TriggerSchedule
		tz := loc
		if d.Timezone != "" {
			z, err := time.LoadLocation(d.Timezone)
			if err != nil {
				l.problem(file, lineOf(n, "timezone"), "timezone %q is not an IANA time zone", d.Timezone)
			}
			tz = z
		}
		if tz == nil {
			tz = time.UTC
		}
		if err := t.ParseCron(d.Cron, tz); err != nil {
			l.problem(file, lineOf(n, "cron"), "cron %q: %v", d.Cron, err)
		}
	}
	return t
}

func orNothing(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, " and ")
}

// actions reads a list of actions.
func (l *loader) actions(file string, list *yaml.Node, docs []actionDoc, traits []account.TraitDef, traitKeys []string) []playbook.Action {
	if list == nil {
		return nil
	}
	var out []playbook.Action
	for i, d := range docs {
		n := list.Content[i]
		a := playbook.Action{DelayDays: d.DelayDays}
		if d.DelayDays < 0 {
			l.problem(file, lineOf(n, "delay_days"), "delay_days must not be negative")
		}
		var kinds []string
		for _, k := range []struct {
			name string
			set  bool
		}{{"task", d.Task != nil}, {"doc", d.Doc != nil}, {"note", d.Note != nil}, {"notify", d.Notify != nil},
			{"set", d.Set != nil}, {"assign", d.Assign != nil}, {"run", d.Run != ""}, {"cancel_tasks", d.CancelTasks},
			{"enroll", d.Enroll != ""}, {"unenroll", d.Unenroll != ""}} {
			if k.set {
				kinds = append(kinds, k.name)
			}
		}
		if len(kinds) != 1 {
			l.problem(file, n.Line, "an action is exactly one of task, doc, note, notify, set, assign, run, cancel_tasks, enroll or unenroll, got %s", orNothing(kinds))
			continue
		}
		a.Kind = playbook.ActionKind(kinds[0])
		sub := valueOf(n, kinds[0])
		text := func(field, src string, required bool) (*yaml.Node, string) {
			if strings.TrimSpace(src) == "" {
				if required {
					l.problem(file, sub.Line, "%s needs a %s", kinds[0], field)
				}
				return nil, ""
			}
			return valueOf(sub, field), src
		}
		parse := func(field, src string, required bool) *template.Template {
			node, src := text(field, src, required)
			if node == nil {
				return nil
			}
			tmpl, err := playbook.ParseText(fmt.Sprintf("%s.%s", kinds[0], field), src, traitKeys)
			if err != nil {
				l.problem(file, node.Line, "%s.%s: %s", kinds[0], field, templateError(err))
				return nil
			}
			return tmpl
		}
		switch a.Kind {
		case playbook.ActionTask:
			t := d.Task
			a.Title, a.TitleSource = parse("title", t.Title, true), t.Title
			a.Body, a.BodySource = parse("body", t.Body, false), t.Body
			a.To, a.DueDays = t.Assignee, t.DueDays
			if a.To == "" {
				a.To = "owner"
			}
			l.checkRecipient(file, lineOf(sub, "assignee"), a.To)
			if t.DueDays < 0 {
				l.problem(file, lineOf(sub, "due_days"), "due_days must not be negative")
			}
		case playbook.ActionDoc:
			a.Template = d.Doc.Template
			a.Title, a.TitleSource = parse("title", d.Doc.Title, false), d.Doc.Title
			if a.Template == "" {
				l.problem(file, sub.Line, "doc needs a template")
			}
		case playbook.ActionNote:
			a.Body, a.BodySource = parse("body", d.Note.Body, true), d.Note.Body
		case playbook.ActionNotify:
			nd := d.Notify
			a.To, a.Channels = nd.To, nd.Channels
			if a.To == "" {
				a.To = "owner"
			}
			if len(a.Channels) == 0 {
				a.Channels = []string{"inbox"}
			}
			l.checkRecipient(file, lineOf(sub, "to"), a.To)
			for _, c := range a.Channels {
				if !slices.Contains(playbook.Channels, c) {
					l.problem(file, lineOf(sub, "channels"), "channel %q is not one of %s", c, strings.Join(playbook.Channels, ", "))
				}
			}
			a.Title, a.TitleSource = parse("title", nd.Title, true), nd.Title
			a.Body, a.BodySource = parse("body", nd.Body, false), nd.Body
		case playbook.ActionSet:
			l.setAction(file, sub, d.Set, traits, &a)
		case playbook.ActionAssign:
			ad := d.Assign
			a.Role, a.Strategy, a.Users = ad.Role, ad.Strategy, ad.Users
			if a.Strategy == "" {
				a.Strategy = "round_robin"
			}
			if !slices.Contains([]string{"owner", "ae", "ce", "ie"}, a.Role) {
				l.problem(file, lineOf(sub, "role"), "assign role %q is not one of owner, ae, ce, ie", a.Role)
			}
			if !slices.Contains(playbook.Strategies, a.Strategy) {
				l.problem(file, lineOf(sub, "strategy"), "strategy %q is not one of %s", a.Strategy, strings.Join(playbook.Strategies, ", "))
			}
			if a.Strategy == "fixed" && len(a.Users) != 1 {
				l.problem(file, sub.Line, "a fixed assignment names exactly one member in users")
			}
			for _, u := range a.Users {
				if _, err := mail.ParseAddress(u); err != nil {
					l.problem(file, lineOf(sub, "users"), "%q is not an email address", u)
				}
			}
		case playbook.ActionRun:
			a.Run = d.Run
		case playbook.ActionCancelTasks:
		case playbook.ActionEnroll, playbook.ActionUnenroll:
			a.Campaign = d.Enroll + d.Unenroll
			// The campaigns load after the playbooks: checked then.
			l.campaignRefs = append(l.campaignRefs, campaignRef{file: file, line: sub.Line, col: sub.Column, key: a.Campaign,
				all: a.Kind == playbook.ActionUnenroll})
		}
		out = append(out, a)
	}
	return out
}

// campaignRef is a playbook action's campaign, checked once the campaigns
// are loaded.
type campaignRef struct {
	file      string
	line, col int
	key       string
	// all allows "all" (unenroll from every campaign).
	all bool
}

// checkCampaignRefs reports playbook actions naming a campaign the
// workspace lacks.
func (l *loader) checkCampaignRefs(cs []*campaign.Campaign) {
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.Key
	}
	for _, r := range l.campaignRefs {
		if slices.Contains(keys, r.key) || r.all && r.key == "all" {
			continue
		}
		l.problemAt(r.file, r.line, r.col, "campaign %q is not in campaigns/ (it has %s)", r.key, strings.Join(keys, ", "))
	}
}

// checkRecipient checks an assignee or recipient: a role or an email.
func (l *loader) checkRecipient(file string, line int, to string) {
	if slices.Contains(playbook.Roles, to) {
		return
	}
	if _, err := mail.ParseAddress(to); err == nil && strings.Contains(to, "@") {
		return
	}
	l.problem(file, line, "%q is not a role (%s) or a team member's email", to, strings.Join(playbook.Roles, ", "))
}

// setAction reads a set action: a trait or a settable field, and a value
// of its type.
func (l *loader) setAction(file string, n *yaml.Node, d *setDoc, traits []account.TraitDef, a *playbook.Action) {
	a.Trait, a.Field = d.Trait, d.Field
	if (d.Trait == "") == (d.Field == "") {
		l.problem(file, n.Line, "set names exactly one trait or field")
		return
	}
	if valueOf(n, "value") == nil {
		l.problem(file, n.Line, "set needs a value (null clears it)")
		return
	}
	raw := any(d.Value.Value)
	if d.Value.Tag == "!!null" {
		raw = nil
	}
	if d.Field != "" {
		switch {
		case slices.Contains([]string{"segment", "program", "stage"}, d.Field):
			l.problem(file, lineOf(n, "field"), "%s is assigned by the lifecycle rules (lifecycle.yaml), not by playbooks", d.Field)
		case slices.Contains([]string{"owner_id", "ae_id", "ce_id", "ie_id"}, d.Field):
			l.problem(file, lineOf(n, "field"), "%s is set with assign, which picks a team member", d.Field)
		case !slices.Contains(SettableFields, d.Field):
			l.problem(file, lineOf(n, "field"), "set can write the fields %s, not %q", strings.Join(SettableFields, ", "), d.Field)
		default:
			s, _ := raw.(string)
			allowed := map[string][]string{"support_level": account.SupportLevels, "deployment": account.Deployments}[d.Field]
			if !slices.Contains(allowed, s) {
				l.problem(file, d.Value.Line, "%q is not a %s (one of %s)", s, d.Field, strings.Join(allowed[1:], ", "))
			}
			a.Value = s
		}
		return
	}
	i := slices.IndexFunc(traits, func(t account.TraitDef) bool { return t.Key == d.Trait })
	if i < 0 {
		l.problem(file, lineOf(n, "trait"), "trait %q is not a trait in %s", d.Trait, TraitsFile)
		return
	}
	def := traits[i]
	if def.Source == account.SourceComputed {
		l.problem(file, lineOf(n, "trait"), "%s is computed by Tend and cannot be set", d.Trait)
		return
	}
	v, err := def.Coerce(raw)
	if err != nil {
		l.problem(file, d.Value.Line, "value for %s: %v", d.Trait, err)
		return
	}
	a.Value = v
}

// missingKey is text/template's message for a name the data lacks.
var missingKey = regexp.MustCompile(`^\S+:(\d+):(\d+): executing "[^"]*" at <([^>]*)>: map has no entry for key "([^"]*)"$`)

// templateError says what is wrong with a text in the words of the file:
// "{{.account.nmae}} at line 1, column 10: nmae is not a name texts can
// use".
func templateError(err error) string {
	s := strings.TrimPrefix(err.Error(), "template: ")
	if m := missingKey.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("{{%s}} at line %s, column %s: %q is not a name texts can use (see docs/playbooks.md)", m[3], m[1], m[2], m[4])
	}
	return s
}
