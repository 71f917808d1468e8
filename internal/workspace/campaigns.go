package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/playbook"
)

// CampaignsDir holds the campaigns, one file each (campaigns/<key>.yaml),
// and their email templates (campaigns/templates/<key>.md).
const (
	CampaignsDir         = "campaigns"
	CampaignTemplatesDir = "campaigns/templates"
)

// Campaign returns the campaign with that key, or nil.
func (w *Workspace) Campaign(key string) *campaign.Campaign {
	for _, c := range w.Campaigns {
		if c.Key == key {
			return c
		}
	}
	return nil
}

// CampaignTemplate returns the campaign email template with that key.
func (w *Workspace) CampaignTemplate(key string) (*campaign.Template, bool) {
	for _, t := range w.CampaignTemplates {
		if t.Key == key {
			return t, true
		}
	}
	return nil, false
}

// campaignDoc is a campaign file. Conditions are kept as nodes, to be
// compiled with their positions.
type campaignDoc struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Enabled     bool      `yaml:"enabled"`
	Audience    yaml.Node `yaml:"audience"`
	Entry       yaml.Node `yaml:"entry"`
	Reentry     string    `yaml:"reentry"`
	Limit       limitDoc  `yaml:"limit"`
	From        string    `yaml:"from"`
	ReplyTo     string    `yaml:"reply_to"`
	Exit        []exitDoc `yaml:"exit"`
	Steps       []stepDoc `yaml:"steps"`
}

type exitDoc struct {
	Name string    `yaml:"name"`
	When yaml.Node `yaml:"when"`
}

type stepDoc struct {
	ID     string    `yaml:"id"`
	Email  *emailDoc `yaml:"email"`
	Wait   *waitDoc  `yaml:"wait"`
	Branch []caseDoc `yaml:"branch"`
}

type emailDoc struct {
	Template string       `yaml:"template"`
	To       []string     `yaml:"to"`
	From     string       `yaml:"from"`
	ReplyTo  string       `yaml:"reply_to"`
	Variants []variantDoc `yaml:"variants"`
}

type variantDoc struct {
	Name     string    `yaml:"name"`
	When     yaml.Node `yaml:"when"`
	Template string    `yaml:"template"`
}

type waitDoc struct {
	For       string    `yaml:"for"`
	Until     yaml.Node `yaml:"until"`
	Timeout   string    `yaml:"timeout"`
	Then      string    `yaml:"then"`
	OnTimeout string    `yaml:"on_timeout"`
}

type caseDoc struct {
	When yaml.Node `yaml:"when"`
	Goto string    `yaml:"goto"`
}

// campaigns loads campaigns/: the workspace's, or the default's when the
// workspace has no campaigns directory (the directory falls back whole,
// templates with it, as doc-templates/ does). A default campaign that does
// not fit the workspace — it reads a trait traits.yaml does not define — is
// left out with a note rather than failing a workspace the team did not
// write campaigns for.
func (l *loader) campaigns(traits []account.TraitDef, traitKeys []string, traitsValid bool, schema *condition.Schema,
	loc *time.Location) ([]*campaign.Campaign, []*campaign.Template, []string) {
	if _, err := fs.Stat(l.fsys, CampaignsDir); errors.Is(err, fs.ErrNotExist) && l.dir != "" {
		sub := &loader{fsys: DefaultFiles()}
		cs, ts := sub.campaignsFrom(sub.fsys, traits, traitKeys, traitsValid, schema, loc)
		if len(sub.problems) == 0 {
			return cs, ts, nil
		}
		bad := map[string][]string{}
		for _, p := range sub.problems {
			bad[p.File] = append(bad[p.File], p.String())
		}
		var notes []string
		ts = slices.DeleteFunc(ts, func(t *campaign.Template) bool {
			return bad[path.Join(CampaignTemplatesDir, t.Key+".md")] != nil
		})
		for _, c := range cs {
			var why []string
			why = append(why, bad[path.Join(CampaignsDir, c.Key+".yaml")]...)
			for _, k := range c.Templates() {
				why = append(why, bad[path.Join(CampaignTemplatesDir, k+".md")]...)
			}
			if len(why) > 0 {
				notes = append(notes, fmt.Sprintf("the default campaign %s is left out: it does not fit this workspace (%s); write a %s/ directory of the workspace's own campaigns",
					c.Key, strings.Join(why, "; "), CampaignsDir))
			}
		}
		for file, why := range bad {
			if strings.HasPrefix(file, CampaignsDir+"/") && !strings.HasPrefix(file, CampaignTemplatesDir+"/") &&
				!slices.ContainsFunc(cs, func(c *campaign.Campaign) bool { return path.Join(CampaignsDir, c.Key+".yaml") == file }) {
				notes = append(notes, fmt.Sprintf("the default campaign %s is left out: it does not fit this workspace (%s); write a %s/ directory of the workspace's own campaigns",
					strings.TrimSuffix(path.Base(file), ".yaml"), strings.Join(why, "; "), CampaignsDir))
			}
		}
		cs = slices.DeleteFunc(cs, func(c *campaign.Campaign) bool {
			if bad[path.Join(CampaignsDir, c.Key+".yaml")] != nil {
				return true
			}
			return slices.ContainsFunc(c.Templates(), func(k string) bool { return bad[path.Join(CampaignTemplatesDir, k+".md")] != nil })
		})
		slices.Sort(notes)
		return cs, ts, notes
	}
	cs, ts := l.campaignsFrom(l.fsys, traits, traitKeys, traitsValid, schema, loc)
	return cs, ts, nil
}

// campaignsFrom loads campaigns/ and campaigns/templates/ from fsys.
func (l *loader) campaignsFrom(fsys fs.FS, traits []account.TraitDef, traitKeys []string, traitsValid bool, schema *condition.Schema,
	loc *time.Location) ([]*campaign.Campaign, []*campaign.Template) {
	entries, err := fs.ReadDir(fsys, CampaignsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		l.problem(CampaignsDir, 0, "cannot read: %s", pathErr(err))
		return nil, nil
	}
	templates, templateFiles := l.campaignTemplates(fsys, traitKeys, traitsValid)
	var out []*campaign.Campaign
	for _, e := range entries {
		name := e.Name()
		file := path.Join(CampaignsDir, name)
		key, isYAML := strings.CutSuffix(name, ".yaml")
		switch {
		case strings.HasPrefix(name, "."):
			continue
		case e.IsDir() && name == "templates":
			continue
		case e.IsDir():
			l.problem(file, 0, "is a directory; campaigns are files %s/<key>.yaml and their emails %s/<key>.md", CampaignsDir, CampaignTemplatesDir)
			continue
		case !isYAML:
			l.problem(file, 0, "is not a campaign: campaigns are %s/<key>.yaml files", CampaignsDir)
			continue
		case !keyPattern.MatchString(key) || len(key) > 64:
			l.problem(file, 0, "the file name %q must be a key: lowercase letters, digits and _, starting with a letter, at most 64 long", key)
			continue
		}
		root := l.rootFS(fsys, file)
		if root == nil {
			continue
		}
		if c := l.campaign(file, key, root, traits, traitsValid, schema, loc, templateFiles); c != nil {
			out = append(out, c)
		}
	}
	return out, templates
}

// campaign reads one campaign file; nil when it has a problem.
func (l *loader) campaign(file, key string, root *yaml.Node, traits []account.TraitDef, traitsValid bool,
	schema *condition.Schema, loc *time.Location, templateFiles map[string]bool) *campaign.Campaign {
	before := len(l.problems)
	var d campaignDoc
	decoded := l.decode(file, "", root, reflect.ValueOf(&d).Elem(), false)
	c := &campaign.Campaign{Key: key, Name: strings.TrimSpace(d.Name), Description: strings.TrimSpace(d.Description), Enabled: true}
	if hasKey(root, "enabled") {
		c.Enabled = d.Enabled
	}
	// cond compiles a condition at its position. A condition that does not
	// compile is reported and stands in as `true`, so the structure is
	// still checked in the same run.
	placeholder, _ := schema.Compile("true")
	cond := func(n *yaml.Node) *condition.Program {
		if n == nil || n.Kind == 0 {
			return nil
		}
		if !traitsValid {
			return placeholder
		}
		if p := l.condition(file, n, schema); p != nil {
			return p
		}
		return placeholder
	}
	c.Audience = cond(&d.Audience)

	// entry: playbook | broadcast | {trigger: {...}}
	entry := valueOf(root, "entry")
	switch {
	case entry == nil:
		l.problemAt(file, root.Line, root.Column, "entry is missing: playbook, broadcast or trigger: {…}")
		c.Entry.Kind = campaign.EntryBroadcast // stands in, as a broken condition does
	case entry.Kind == yaml.ScalarNode && (entry.Value == string(campaign.EntryPlaybook) || entry.Value == string(campaign.EntryBroadcast)):
		c.Entry.Kind = campaign.EntryKind(entry.Value)
	case entry.Kind == yaml.MappingNode && len(entry.Content) == 2 && entry.Content[0].Value == "trigger":
		c.Entry.Kind = campaign.EntryTrigger
		tn := entry.Content[1]
		var td triggerDoc
		if l.decode(file, "entry.trigger", tn, reflect.ValueOf(&td).Elem(), false) {
			c.Entry.Trigger = l.trigger(file, tn, td, traits, traitsValid, schema, loc)
		}
	default:
		l.problemAt(file, entry.Line, entry.Column, "entry is playbook (a playbook's action enrolls), broadcast (the team sends it) or trigger: {signal, date, when or cron}")
		c.Entry.Kind = campaign.EntryBroadcast
	}

	// Each broadcast and each scheduled time is a new occasion (the
	// monthly recap); anything else enrolls an account once by default.
	defaultMode := playbook.Once
	if c.Entry.Kind == campaign.EntryBroadcast || c.Entry.Trigger.Kind == playbook.TriggerSchedule {
		defaultMode = playbook.EveryTime
	}
	switch mode := playbook.ReentryMode(d.Reentry); mode {
	case "":
		c.Reentry.Mode = defaultMode
	case playbook.Once, playbook.OncePerTerm, playbook.EveryTime:
		c.Reentry.Mode = mode
	case playbook.Limited:
		c.Reentry = playbook.Reentry{Mode: mode, Count: d.Limit.Count, Days: d.Limit.Days}
		if d.Limit.Count < 1 || d.Limit.Days < 1 {
			l.at(file, valueOf(root, "reentry"), "reentry limited needs limit: {count: N, days: D}, both at least 1")
		}
	default:
		l.at(file, valueOf(root, "reentry"), "reentry %q is not one of once, once_per_term, every_time, limited", d.Reentry)
	}
	if d.Limit != (limitDoc{}) && c.Reentry.Mode != playbook.Limited {
		l.at(file, valueOf(root, "limit"), "limit is for reentry: limited")
	}

	// The campaign's sender is its emails' default.
	from, replyTo := campaign.Owner, ""
	if d.From != "" {
		if campaign.ValidSender(d.From) {
			from = d.From
		} else {
			l.at(file, valueOf(root, "from"), "from %q is not %s (the account's owner TA) or an email address such as \"Scaled Success <success@example.com>\"", d.From, campaign.Owner)
		}
	}
	if d.ReplyTo != "" {
		if campaign.ValidSender(d.ReplyTo) {
			replyTo = d.ReplyTo
		} else {
			l.at(file, valueOf(root, "reply_to"), "reply_to %q is not %s or an email address", d.ReplyTo, campaign.Owner)
		}
	}

	for _, e := range d.Exit {
		c.Exits = append(c.Exits, campaign.Exit{Name: strings.TrimSpace(e.Name), When: cond(&e.When)})
	}
	stepsNode := valueOf(root, "steps")
	for i, sd := range d.Steps {
		s := campaign.Step{ID: sd.ID}
		sn := stepsNode.Content[i]
		switch {
		case sd.Email != nil:
			s.Kind = campaign.StepEmail
			ed := sd.Email
			e := &campaign.Email{Template: ed.Template, To: ed.To, From: ed.From, ReplyTo: ed.ReplyTo}
			if e.From == "" {
				e.From = from
			}
			if e.ReplyTo == "" {
				e.ReplyTo = replyTo
			}
			if e.ReplyTo == "" {
				e.ReplyTo = e.From
			}
			for _, vd := range ed.Variants {
				name := strings.TrimSpace(vd.Name)
				if name == "" {
					name = vd.Template
				}
				e.Variants = append(e.Variants, campaign.Variant{Name: name, When: cond(&vd.When), Template: vd.Template})
			}
			s.Email = e
		case sd.Wait != nil:
			s.Kind = campaign.StepWait
			wd := sd.Wait
			wn := valueOf(sn, "wait")
			w := &campaign.Wait{Until: cond(&wd.Until), Then: wd.Then, OnTimeout: wd.OnTimeout}
			duration := func(key, src string) time.Duration {
				if src == "" {
					return 0
				}
				dur, err := campaign.ParseDuration(src)
				if err != nil {
					l.at(file, valueOf(wn, key), "wait %s: %v", key, err)
					return time.Hour // stands in, so the wait is not also "missing" one
				}
				return dur
			}
			w.For, w.Timeout = duration("for", wd.For), duration("timeout", wd.Timeout)
			s.Wait = w
		case sd.Branch != nil:
			s.Kind = campaign.StepBranch
			s.Branch = []campaign.Case{}
			for _, cd := range sd.Branch {
				s.Branch = append(s.Branch, campaign.Case{When: cond(&cd.When), Goto: cd.Goto})
			}
		}
		c.Steps = append(c.Steps, s)
	}
	if !decoded {
		return nil
	}
	for _, p := range c.Validate(func(k string) bool { return templateFiles[k] }) {
		n := nodeAt(root, p.Path)
		l.problemAt(file, n.Line, n.Column, "%s", p.Message)
	}
	if len(l.problems) > before {
		return nil
	}
	return c
}

// at reports a problem at a node's line and column (the file's first line
// when the node is missing).
func (l *loader) at(file string, n *yaml.Node, format string, args ...any) {
	if n == nil {
		l.problem(file, 1, format, args...)
		return
	}
	l.problemAt(file, n.Line, n.Column, format, args...)
}

// nodeAt finds the node a campaign.Problem's path names
// ("steps[2].wait.then", "steps[0].email.to[1]"): a value as written, a
// list item, or the key of a mapping or list; the deepest part that exists.
func nodeAt(root *yaml.Node, p string) *yaml.Node {
	at, n := root, root
	for _, part := range strings.Split(p, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			j, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return at
			}
			name, idx = part[:i], j
		}
		if n.Kind != yaml.MappingNode {
			return at
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				at, next = n.Content[i], n.Content[i+1]
				break
			}
		}
		if next == nil {
			return at
		}
		n = next
		if idx < 0 && n.Kind == yaml.ScalarNode {
			at = n
		}
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return at
			}
			n = n.Content[idx]
			at = n
		}
	}
	return at
}

// campaignTemplates loads campaigns/templates/*.md from fsys. It returns
// the compiled templates and every template file's key, valid or not, so
// that a campaign naming a broken template is not also told it is missing.
func (l *loader) campaignTemplates(fsys fs.FS, traitKeys []string, traitsValid bool) ([]*campaign.Template, map[string]bool) {
	files := map[string]bool{}
	entries, err := fs.ReadDir(fsys, CampaignTemplatesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, files
	}
	if err != nil {
		l.problem(CampaignTemplatesDir, 0, "cannot read: %s", pathErr(err))
		return nil, files
	}
	var out []*campaign.Template
	for _, e := range entries {
		name := e.Name()
		file := path.Join(CampaignTemplatesDir, name)
		key, isMD := strings.CutSuffix(name, ".md")
		switch {
		case strings.HasPrefix(name, "."):
			continue
		case e.IsDir():
			l.problem(file, 0, "is a directory; campaign emails are files, %s/<key>.md", CampaignTemplatesDir)
			continue
		case !isMD:
			l.problem(file, 0, "is not a campaign email: they are %s/<key>.md", CampaignTemplatesDir)
			continue
		case !keyPattern.MatchString(key) || len(key) > 64:
			l.problem(file, 0, "template key %q (the file name) must be lowercase letters, digits and _, starting with a letter, at most 64 long", key)
			continue
		}
		files[key] = true
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			l.problem(file, 0, "cannot read: %s", pathErr(err))
			continue
		}
		if t := l.campaignTemplate(file, key, string(src), traitKeys, traitsValid); t != nil {
			out = append(out, t)
		}
	}
	return out, files
}

// campaignFrontMatter is what a campaign email's front matter may hold.
type campaignFrontMatter struct {
	Subject     string `yaml:"subject"`
	Description string `yaml:"description"`
}

// campaignTemplate parses one email: front matter between two "---" lines
// (subject, description), then the Markdown body.
func (l *loader) campaignTemplate(file, key, src string, traitKeys []string, traitsValid bool) *campaign.Template {
	lines := strings.SplitAfter(src, "\n")
	if len(lines) == 0 || strings.TrimRight(lines[0], "\r\n") != "---" {
		l.problemAt(file, 1, 1, `must start with front matter: a line "---", the subject (and a description) in YAML, and "---"`)
		return nil
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], "\r\n") == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		l.problemAt(file, 1, 1, `the front matter has no closing "---" line`)
		return nil
	}
	front := strings.Join(lines[1:end], "")
	body := strings.ReplaceAll(strings.Join(lines[end+1:], ""), "\r\n", "\n")
	bodyLine := end + 2
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(front), &doc); err != nil {
		line, msg := yamlErrorLine(err)
		if line > 0 {
			line++
		}
		l.problem(file, line, "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		l.problemAt(file, 2, 1, "the front matter is empty; an email needs a subject")
		return nil
	}
	root := doc.Content[0]
	shiftLines(root, 1)
	var fm campaignFrontMatter
	if !l.decode(file, "", root, reflect.ValueOf(&fm).Elem(), false) {
		return nil
	}
	subject := valueOf(root, "subject")
	if strings.TrimSpace(fm.Subject) == "" {
		l.at(file, orNode(subject, root), "an email needs a subject")
		return nil
	}
	t := &campaign.Template{Key: key, Subject: fm.Subject, Description: strings.TrimSpace(fm.Description), Body: body}
	if !traitsValid {
		return t
	}
	err := t.Compile(traitKeys)
	if err == nil {
		return t
	}
	var te *campaign.TextError
	if !errors.As(err, &te) {
		l.problem(file, 0, "%s", err)
		return nil
	}
	switch te.Part {
	case "subject":
		col := te.Col
		if col > 0 && subject.Style == 0 && te.Line == 1 {
			col += subject.Column - 1
		} else if col > 0 && (subject.Style == yaml.DoubleQuotedStyle || subject.Style == yaml.SingleQuotedStyle) && te.Line == 1 {
			col += subject.Column
		} else {
			col = 0
		}
		l.problemAt(file, subject.Line+te.Line-1, col, "subject: %s", te.Message)
	default:
		l.problemAt(file, bodyLine+te.Line-1, te.Col, "%s", te.Message)
	}
	return nil
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}
