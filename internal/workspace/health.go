package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/health"
)

// HealthFile holds the health model.
const HealthFile = "health.yaml"

// traitTypeOf is the trait type each metric kind reads: a days_since metric
// counts days from a date.
var traitTypeOf = map[health.Kind]string{
	health.KindNumber:    account.TypeNumber,
	health.KindDaysSince: account.TypeDate,
	health.KindEnum:      account.TypeEnum,
	health.KindBool:      account.TypeBool,
}

// HealthModel is one model of health.yaml with the condition that says
// which accounts it scores (nil: every account no earlier model took).
type HealthModel struct {
	health.Model
	When *condition.Program
}

// healthModelDoc is one entry of health.yaml's models list.
type healthModelDoc struct {
	Name       string            `yaml:"name"`
	When       string            `yaml:"when"`
	Bands      health.Bands      `yaml:"bands"`
	Categories []health.Category `yaml:"categories"`
}

// HealthModelFor returns the model that scores the account the facts
// describe — the first whose condition holds, else the last (which has
// none) — and why, in words.
func (w *Workspace) HealthModelFor(f condition.Facts) (health.Model, string, error) {
	for i, m := range w.Health {
		if m.When == nil {
			why := m.Name + ": every account"
			if i > 0 {
				why = m.Name + ": no earlier model's condition holds"
			}
			return m.Model, why, nil
		}
		ok, err := m.When.Eval(f)
		if err != nil {
			return health.Model{}, "", fmt.Errorf("health model %s: condition %s: %w", m.Name, m.When.Source(), err)
		}
		if ok {
			return m.Model, m.Name + ": " + m.When.Source() + " holds", nil
		}
	}
	return health.Model{}, "", fmt.Errorf("no health model applies (the last one in %s must have no when)", HealthFile)
}

// HealthModel returns the model with that name.
func (w *Workspace) HealthModel(name string) (health.Model, bool) {
	for _, m := range w.Health {
		if m.Name == name {
			return m.Model, true
		}
	}
	return health.Model{}, false
}

// health loads health.yaml: one model (name, bands, categories), or
// several under models:, each with a when: condition but the last.
// traits are the workspace's trait definitions; when traits.yaml has
// problems of its own (traitsValid false) a metric's trait is not checked,
// or the same mistake would be reported twice.
func (l *loader) health(traits []account.TraitDef, traitsValid bool, schema *condition.Schema) []HealthModel {
	root, file := l.root(HealthFile)
	if root == nil {
		return nil
	}
	// A workspace with its own traits.yaml but no health.yaml gets the
	// default models, which read the handbook's traits: one problem saying
	// so reads better than ten about a file the team did not write.
	checks := l
	defaulted := l.defaulted(HealthFile)
	if defaulted {
		checks = &loader{fsys: l.fsys, dir: l.dir}
	}
	var models []HealthModel
	if hasKey(root, "models") {
		var doc struct {
			Models []healthModelDoc `yaml:"models"`
		}
		if !l.decode(file, "", root, reflect.ValueOf(&doc).Elem(), false) {
			return nil
		}
		list := valueOf(root, "models")
		if len(doc.Models) == 0 {
			l.problem(file, list.Line, "models lists no model")
			return nil
		}
		seen := map[string]int{}
		for i, d := range doc.Models {
			node := list.Content[i]
			m := HealthModel{Model: health.Model{Name: d.Name, Bands: d.Bands, Categories: d.Categories}}
			if line, dup := seen[d.Name]; dup && d.Name != "" {
				l.problem(file, lineOf(node, "name"), "model %q appears twice (first at line %d)", d.Name, line)
			}
			seen[d.Name] = lineOf(node, "name")
			last := i == len(doc.Models)-1
			switch {
			case d.When == "" && !last:
				l.problem(file, node.Line, "model %q has no when: only the last model may apply to every account", d.Name)
			case d.When != "" && last:
				l.problem(file, lineOf(node, "when"), "the last model (%q) must have no when: it scores every account no other model takes", d.Name)
			case d.When != "" && traitsValid:
				m.When = checks.condition(file, valueOf(node, "when"), schema)
			}
			l.model(checks, file, node, m.Model, traits, traitsValid)
			models = append(models, m)
		}
	} else {
		var m health.Model
		if !l.decode(file, "", root, reflect.ValueOf(&m).Elem(), false) {
			return nil
		}
		l.model(checks, file, root, m, traits, traitsValid)
		models = []HealthModel{{Model: m}}
	}
	if defaulted && len(checks.problems) > 0 {
		// The default's models read the same traits: count each problem once.
		distinct := map[string]bool{}
		for _, p := range checks.problems {
			distinct[p.Message] = true
		}
		more := ""
		if n := len(distinct) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more problems)", n)
		}
		l.problem(file, 0, "is missing, and the default health model does not fit %s: %s%s; write a %s for the workspace's traits",
			TraitsFile, checks.problems[0].Message, more, HealthFile)
	}
	return models
}

// model validates one model under node and checks its metrics against the
// traits, reporting through checks.
func (l *loader) model(checks *loader, file string, node *yaml.Node, m health.Model, traits []account.TraitDef, traitsValid bool) {
	l.validated(file, node, m.Validate())
	if !traitsValid {
		return
	}
	for i, c := range m.Categories {
		for j, mt := range c.Metrics {
			path := fmt.Sprintf("categories[%d].metrics[%d]", i, j)
			if strings.TrimSpace(mt.Label) == "" {
				checks.problem(file, lineOf(node, path+".label"), "%s: a metric needs a label", mt.Trait)
			}
			checks.metricTrait(file, node, path, mt, traits)
		}
	}
}

// condition compiles the condition in a YAML scalar, reporting a problem at
// the file's line and column of the mistake.
func (l *loader) condition(file string, n *yaml.Node, schema *condition.Schema) *condition.Program {
	if n.Kind != yaml.ScalarNode {
		l.problem(file, n.Line, "a condition must be text, not a %s", nodeKind(n))
		return nil
	}
	p, err := schema.Compile(n.Value)
	if err == nil {
		return p
	}
	var ce *condition.Error
	if !errors.As(err, &ce) {
		l.problem(file, n.Line, "%s", err)
		return nil
	}
	line, col := l.scalarPosition(file, n, ce.Line, ce.Col)
	l.problemAt(file, line, col, "%s", ce.Message)
	return nil
}

// scalarPosition maps a 1-based line and column inside a scalar's value to
// the file's: plain and quoted scalars start at the node (a quote adds a
// column); a block scalar's lines start on the lines after its indicator,
// at their indentation.
func (l *loader) scalarPosition(file string, n *yaml.Node, line, col int) (int, int) {
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		lines := strings.Split(string(l.source(file)), "\n")
		fileLine := n.Line + line
		if n.Style == yaml.FoldedStyle {
			fileLine = n.Line + 1 // folded lines join: the start is the best guess
		}
		// The block's indentation is its first content line's; a line may
		// be indented further, and those spaces are the value's.
		indent := 0
		for i := n.Line; i < len(lines); i++ {
			if text := lines[i]; strings.TrimSpace(text) != "" {
				indent = len(text) - len(strings.TrimLeft(text, " "))
				break
			}
		}
		if n.Style == yaml.FoldedStyle {
			return fileLine, indent + 1
		}
		return fileLine, indent + col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line == 1 {
			return n.Line, n.Column + col
		}
		return n.Line + line - 1, col
	}
	if line == 1 {
		return n.Line, n.Column + col - 1
	}
	return n.Line + line - 1, col
}

// source returns a workspace file's text (the default's when the workspace
// lacks it).
func (l *loader) source(file string) []byte {
	src, err := fs.ReadFile(l.fsys, file)
	if errors.Is(err, fs.ErrNotExist) && l.dir != "" {
		src, _ = fs.ReadFile(DefaultFiles(), file)
	}
	return src
}

// hasKey reports whether a mapping has key.
func hasKey(n *yaml.Node, key string) bool { return valueOf(n, key) != nil }

// valueOf returns a mapping's value for key, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// metricTrait checks a metric against the trait it reads, so that a typo in
// a trait name or a threshold value is a load error rather than a metric
// that never has data or never matches.
func (l *loader) metricTrait(file string, root *yaml.Node, path string, mt health.Metric, traits []account.TraitDef) {
	if mt.Trait == "" {
		return // Validate has said so
	}
	i := slices.IndexFunc(traits, func(d account.TraitDef) bool { return d.Key == mt.Trait })
	if i < 0 {
		l.problem(file, lineOf(root, path+".trait"), "metric trait %q is not a trait in %s", mt.Trait, TraitsFile)
		return
	}
	d := traits[i]
	want, known := traitTypeOf[mt.Kind]
	if !known {
		return // Validate has said so
	}
	if d.Type != want {
		l.problem(file, lineOf(root, path+".kind"), "%s: %s %s metric reads %s %s trait, but %s is %s %s trait",
			mt.Trait, article(string(mt.Kind)), mt.Kind, article(want), want, mt.Trait, article(d.Type), d.Type)
		return
	}
	if mt.Kind != health.KindEnum {
		return
	}
	for _, x := range []struct {
		name string
		t    health.Threshold
	}{{"healthy", mt.Healthy}, {"poor", mt.Poor}} {
		for k, v := range x.t.Values {
			if !slices.Contains(d.Values, v) {
				l.problem(file, lineOf(root, fmt.Sprintf("%s.%s.values[%d]", path, x.name, k)),
					"%s: %s value %q is not one of the trait's values (%s)", mt.Trait, x.name, v, strings.Join(d.Values, ", "))
			}
		}
	}
}

// article is "a" or "an" before word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
