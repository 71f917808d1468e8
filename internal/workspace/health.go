package workspace

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
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

// health loads health.yaml. traits are the workspace's trait definitions;
// when traits.yaml has problems of its own (traitsValid false) a metric's
// trait is not checked, or the same mistake would be reported twice.
func (l *loader) health(traits []account.TraitDef, traitsValid bool) health.Model {
	root, file := l.root(HealthFile)
	if root == nil {
		return health.Model{}
	}
	var m health.Model
	if !l.decode(file, "", root, reflect.ValueOf(&m).Elem(), false) {
		return health.Model{}
	}
	l.validated(file, root, m.Validate())
	if !traitsValid {
		return m
	}
	// A workspace with its own traits.yaml but no health.yaml gets the
	// default model, which reads the handbook's traits: one problem saying
	// so reads better than ten about a file the team did not write.
	checks := l
	defaulted := l.defaulted(HealthFile)
	if defaulted {
		checks = &loader{fsys: l.fsys, dir: l.dir}
	}
	for i, c := range m.Categories {
		for j, mt := range c.Metrics {
			path := fmt.Sprintf("categories[%d].metrics[%d]", i, j)
			if strings.TrimSpace(mt.Label) == "" {
				checks.problem(file, lineOf(root, path+".label"), "%s: a metric needs a label", mt.Trait)
			}
			checks.metricTrait(file, root, path, mt, traits)
		}
	}
	if defaulted && len(checks.problems) > 0 {
		more := ""
		if n := len(checks.problems) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more problems)", n)
		}
		l.problem(file, 0, "is missing, and the default health model does not fit %s: %s%s; write a %s for the workspace's traits",
			TraitsFile, checks.problems[0].Message, more, HealthFile)
	}
	return m
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
