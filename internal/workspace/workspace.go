// Package workspace loads and validates a team's definitions — the YAML
// files that make its process — and embeds the handbook's process as the
// default. A workspace is a directory that can be kept in git:
//
//	traits.yaml    trait definitions (key, type, label, category, source, …)
//	fields.yaml    the account fields' labels
//	settings.yaml  time zone and usage settings
//	health.yaml    the health model: categories, weights, metrics, bands
//	lifecycle.yaml segment, program and lifecycle stage rules
//	doc-templates/ the doc templates, <key>.md each: front matter (title,
//	               description, typed fields), then a Markdown body
//	campaigns/     the campaigns, <key>.yaml each, and their emails in
//	               campaigns/templates/<key>.md (docs/campaigns.md)
//
// Every problem is reported with its file and line, all at once, so that
// `tend check` shows a whole broken workspace in one run.
package workspace

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/lifecycle"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/work"
)

// Workspace is a loaded, validated set of definitions.
type Workspace struct {
	// Dir is where it was loaded from; "" for the embedded default.
	Dir string
	// Traits are the trait definitions (traits.yaml).
	Traits *account.TraitDefs
	// Fields are the account fields' labels (fields.yaml), keyed by the
	// field's JSON name (e.g. "arr" → "ARR").
	Fields map[string]string
	// Settings are the workspace-wide settings (settings.yaml).
	Settings Settings
	// Health are the health models (health.yaml), in order: an account is
	// scored by the first whose condition holds (HealthModelFor).
	Health []HealthModel
	// Conditions is the schema conditions compile against: the account's
	// fields and these traits.
	Conditions *condition.Schema
	// Playbooks are the playbooks (playbooks/*.yaml), by file name.
	Playbooks []*playbook.Playbook
	// Lifecycle are the segment, program and lifecycle rules
	// (lifecycle.yaml).
	Lifecycle lifecycle.Rules
	// DocTemplates are the doc templates (doc-templates/*.md), compiled,
	// in file name order.
	DocTemplates []*work.Template
	// Campaigns are the campaigns (campaigns/*.yaml), in file name order.
	Campaigns []*campaign.Campaign
	// CampaignTemplates are the campaigns' emails
	// (campaigns/templates/*.md), compiled, in file name order.
	CampaignTemplates []*campaign.Template
	// Notes are what a valid workspace should still be told: the default
	// campaigns left out because they read traits it does not define.
	Notes []string
}

// Playbook returns the playbook with that key, or nil.
func (w *Workspace) Playbook(key string) *playbook.Playbook {
	for _, p := range w.Playbooks {
		if p.Key == key {
			return p
		}
	}
	return nil
}

// FieldLabel returns the label of an account field, or the field name.
func (w *Workspace) FieldLabel(field string) string {
	if l, ok := w.Fields[field]; ok {
		return l
	}
	return field
}

// The files a workspace is made of.
const (
	TraitsFile = "traits.yaml"
	FieldsFile = "fields.yaml"
)

//go:embed default/*.yaml default/playbooks/*.yaml default/doc-templates/*.md default/campaigns/*.yaml default/campaigns/templates/*.md
var defaultFS embed.FS

// Default returns the handbook's workspace, embedded in the binary.
func Default() (*Workspace, error) {
	sub, err := fs.Sub(defaultFS, "default")
	if err != nil {
		return nil, err
	}
	return load(sub, "")
}

// DefaultFiles returns the embedded default workspace's files, for
// `tend check` users who want a starting point.
func DefaultFiles() fs.FS {
	sub, _ := fs.Sub(defaultFS, "default")
	return sub
}

// Load reads and validates the workspace in dir. A missing file takes the
// default's place; an invalid workspace returns a *LoadError listing every
// problem.
func Load(dir string) (*Workspace, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &LoadError{Problems: []Problem{{File: dir, Message: "cannot read the workspace: " + pathErr(err)}}}
	}
	if !st.IsDir() {
		return nil, &LoadError{Problems: []Problem{{File: dir, Message: "is not a directory"}}}
	}
	return load(os.DirFS(dir), dir)
}

func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Problem is one thing wrong in a workspace file.
type Problem struct {
	File string
	Line int // 0 when the problem is the whole file
	// Col is the column (1-based) where it is known: in conditions.
	Col     int
	Message string
}

func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// LoadError is an invalid workspace: every problem found, in file and line
// order.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// loader collects the problems of one load.
type loader struct {
	fsys     fs.FS
	dir      string
	problems []Problem
	// campaignRefs are the playbooks' enroll and unenroll actions.
	campaignRefs []campaignRef
}

func (l *loader) path(file string) string {
	if l.dir == "" {
		return file
	}
	return strings.TrimSuffix(l.dir, string(os.PathSeparator)) + string(os.PathSeparator) + file
}

func (l *loader) problem(file string, line int, format string, args ...any) {
	l.problemAt(file, line, 0, format, args...)
}

func (l *loader) problemAt(file string, line, col int, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.path(file), Line: line, Col: col, Message: fmt.Sprintf(format, args...)})
}

func load(fsys fs.FS, dir string) (*Workspace, error) {
	l := &loader{fsys: fsys, dir: dir}
	ws := &Workspace{Dir: dir}
	l.unknownFiles()
	before := len(l.problems)
	traits := l.traits()
	// A metric naming a trait that traits.yaml defines wrongly would be
	// reported twice; the traits' own problems come first.
	traitsValid := len(l.problems) == before
	ws.Fields = l.fields()
	ws.Settings = l.settings()
	traitKeys := make([]string, len(traits))
	for i, d := range traits {
		traitKeys[i] = d.Key
	}
	ws.DocTemplates = l.docTemplates(traitKeys, traitsValid)
	// Conditions may read doc fields (docs.health_assessment.rating), so
	// the schema knows the templates' typed fields.
	docs := make([]condition.DocTemplate, len(ws.DocTemplates))
	for i, t := range ws.DocTemplates {
		docs[i] = condition.DocTemplate{Key: t.Key}
		for _, f := range t.Fields {
			docs[i].Fields = append(docs[i].Fields, account.TraitDef{Key: f.Key, Type: f.Type, Values: f.Values})
		}
	}
	schema := condition.NewSchema(traits, docs...)
	ws.Health = l.health(traits, traitsValid, schema)
	ws.Lifecycle = l.lifecycle()
	ws.Playbooks = l.playbooks(traits, traitsValid, schema, ws.Settings.Location)
	ws.Campaigns, ws.CampaignTemplates, ws.Notes = l.campaigns(traits, traitKeys, traitsValid, schema, ws.Settings.Location)
	l.checkCampaignRefs(ws.Campaigns)
	if len(l.problems) > 0 {
		slices.SortStableFunc(l.problems, func(a, b Problem) int {
			if c := strings.Compare(a.File, b.File); c != 0 {
				return c
			}
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, &LoadError{Problems: l.problems}
	}
	if ws.Settings.Usage.MetricsSource == MetricsFromWarehouse {
		for i, d := range traits {
			if slices.Contains(UsageTraits, d.Key) && d.Source == account.SourceComputed {
				traits[i].Source = account.SourceWarehouse
			}
		}
	}
	ws.Traits = account.NewTraitDefs(traits)
	ws.Conditions = schema
	return ws, nil
}

// Files lists the files a workspace may hold.
var Files = []string{TraitsFile, FieldsFile, SettingsFile, HealthFile, LifecycleFile}

// unknownFiles reports YAML files the workspace does not read, so that a
// misnamed file (trait.yaml, traits.yml) is an error rather than silently
// replaced by the default.
func (l *loader) unknownFiles() {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() && name != DocTemplatesDir && strings.Contains(strings.ToLower(name), "template") {
			l.problem(name, 0, "is not a workspace directory; did you mean %s?", DocTemplatesDir)
			continue
		}
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || slices.Contains(Files, name) {
			continue
		}
		hint := ""
		for _, known := range Files {
			if strings.TrimSuffix(name, ext) == strings.TrimSuffix(known, ".yaml") || strings.TrimSuffix(name, ext)+"s" == strings.TrimSuffix(known, ".yaml") {
				hint = fmt.Sprintf("; did you mean %s?", known)
			}
		}
		l.problem(name, 0, "is not a workspace file (the files are %s)%s", strings.Join(Files, ", "), hint)
	}
}

// root reads file as YAML and returns its top-level mapping, falling back
// to the embedded default when the workspace lacks the file.
func (l *loader) root(file string) (*yaml.Node, string) {
	fsys := l.fsys
	if _, err := fs.Stat(fsys, file); errors.Is(err, fs.ErrNotExist) && l.dir != "" {
		fsys = DefaultFiles()
	}
	return l.rootFS(fsys, file), file
}

// rootFS parses file from fsys and returns its top-level mapping, or nil
// after reporting why it has none.
func (l *loader) rootFS(fsys fs.FS, file string) *yaml.Node {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		l.problem(file, 0, "cannot read: %s", pathErr(err))
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		if lines := strings.Split(string(src), "\n"); line > 0 && line <= len(lines) && unquotedOp.MatchString(lines[line-1]) {
			// ">" starts a folded block in YAML, so op: >= is a syntax
			// error whose parser message does not say why.
			msg += ` (quote the comparison: op: ">=")`
		}
		l.problem(file, line, "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		l.problem(file, 0, "is empty")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.problem(file, root.Line, "must be a mapping of keys to values")
		return nil
	}
	return root
}

// defaulted reports whether the workspace lacks file, so that the
// embedded default's takes its place.
func (l *loader) defaulted(file string) bool {
	if l.dir == "" {
		return false
	}
	_, err := fs.Stat(l.fsys, file)
	return errors.Is(err, fs.ErrNotExist)
}

// document returns the value of file's one top-level key.
func (l *loader) document(file, key string) (*yaml.Node, string) {
	root, file := l.root(file)
	if root == nil {
		return nil, file
	}
	var value *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == key {
			value = v
			continue
		}
		l.problem(file, k.Line, "unknown top-level key %q (want %q)", k.Value, key)
	}
	if value == nil {
		l.problem(file, root.Line, "has no top-level %q key", key)
	}
	return value, file
}

var unquotedOp = regexp.MustCompile(`\bop:\s*>`)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErrorLine splits a yaml.v3 syntax error into its line and message.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return n, "YAML syntax: " + m[2]
	}
	return 0, "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// accountFields are the API names of the account's standard fields; a trait
// may not take one, or conditions and imports could not tell them apart.
var accountFields = func() []string {
	var out []string
	t := reflect.TypeFor[account.Account]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}()

// traitFields are the keys a trait definition may have.
var traitFields = []string{"key", "type", "label", "category", "source", "description", "values", "unit"}

func (l *loader) traits() []account.TraitDef {
	seq, file := l.document(TraitsFile, "traits")
	if seq == nil {
		return nil
	}
	if seq.Kind != yaml.SequenceNode {
		l.problem(file, seq.Line, "traits must be a list of trait definitions")
		return nil
	}
	var defs []account.TraitDef
	firstLine := map[string]int{}
	for _, n := range seq.Content {
		if n.Kind != yaml.MappingNode {
			l.problem(file, n.Line, "a trait definition must be a mapping (key, type, label, …)")
			continue
		}
		ok := true
		lineOf := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			lineOf[k.Value] = k.Line
			if !slices.Contains(traitFields, k.Value) {
				l.problem(file, k.Line, "unknown trait setting %q (want one of %s)", k.Value, strings.Join(traitFields, ", "))
				ok = false
			}
		}
		var d account.TraitDef
		if err := n.Decode(&d); err != nil {
			l.problem(file, n.Line, "%s", strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
			continue
		}
		at := func(field string) int {
			if line, ok := lineOf[field]; ok {
				return line
			}
			return n.Line
		}
		bad := func(field, format string, args ...any) {
			l.problem(file, at(field), format, args...)
			ok = false
		}
		name := d.Key
		if name == "" {
			name = "trait"
		}
		switch {
		case d.Key == "":
			bad("key", "a trait needs a key")
		case !keyPattern.MatchString(d.Key) || len(d.Key) > 64:
			bad("key", "trait key %q must be lowercase letters, digits and _, starting with a letter, at most 64 long", d.Key)
		case slices.Contains(accountFields, d.Key):
			bad("key", "trait key %q is an account field; choose another key", d.Key)
		default:
			if first, dup := firstLine[d.Key]; dup {
				bad("key", "trait %q is defined twice (first at line %d)", d.Key, first)
			} else {
				firstLine[d.Key] = at("key")
			}
		}
		if !slices.Contains(account.TraitTypes, d.Type) {
			if d.Type == "" {
				bad("type", "%s: type is required (one of %s)", name, strings.Join(account.TraitTypes, ", "))
			} else {
				bad("type", "%s: type %q is not one of %s", name, d.Type, strings.Join(account.TraitTypes, ", "))
			}
		}
		if d.Source == "" {
			d.Source = account.SourceManual
		} else if !slices.Contains(account.TraitSources, d.Source) {
			bad("source", "%s: source %q is not one of %s", name, d.Source, strings.Join(account.TraitSources, ", "))
		}
		if strings.TrimSpace(d.Label) == "" {
			bad("label", "%s: a label is required", name)
		}
		if d.Category == "" {
			d.Category = "Other"
		}
		switch {
		case d.Type == account.TypeEnum && len(d.Values) == 0:
			bad("values", "%s: an enum needs values", name)
		case d.Type != account.TypeEnum && d.Type != "" && len(d.Values) > 0:
			bad("values", "%s: values are for enum traits, not %s", name, d.Type)
		}
		seen := map[string]bool{}
		for _, v := range d.Values {
			if strings.TrimSpace(v) == "" {
				bad("values", "%s: an enum value is empty", name)
			} else if seen[v] {
				bad("values", "%s: value %q is listed twice", name, v)
			}
			seen[v] = true
		}
		if d.Unit != "" && d.Type != account.TypeNumber {
			bad("unit", "%s: a unit is for number traits, not %s", name, d.Type)
		}
		if ok {
			defs = append(defs, d)
		}
	}
	return defs
}

func (l *loader) fields() map[string]string {
	m, file := l.document(FieldsFile, "fields")
	if m == nil {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		l.problem(file, m.Line, "fields must map field names to labels (arr: ARR)")
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case !slices.Contains(accountFields, k.Value):
			l.problem(file, k.Line, "%q is not an account field (fields are %s)", k.Value, strings.Join(accountFields, ", "))
		case v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "":
			l.problem(file, v.Line, "%s: the label must be a non-empty text", k.Value)
		case out[k.Value] != "":
			l.problem(file, k.Line, "%s is labelled twice", k.Value)
		default:
			out[k.Value] = v.Value
		}
	}
	return out
}
