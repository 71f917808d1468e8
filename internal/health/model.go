package health

import (
	"fmt"
	"math"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
)

// Kind says how a metric reads its trait's value.
type Kind string

// The metric kinds. A days_since metric reads a date trait and scores the
// whole days from that date to the day of now, so it moves with the clock.
const (
	KindNumber    Kind = "number"
	KindBool      Kind = "bool"
	KindEnum      Kind = "enum"
	KindDaysSince Kind = "days_since"
)

// Op is a comparison of a number against a threshold value.
type Op string

// The comparisons a numeric threshold may use.
const (
	OpGE Op = ">="
	OpGT Op = ">"
	OpLE Op = "<="
	OpLT Op = "<"
)

// Threshold is the condition for one status of a metric. Number and
// days_since metrics use Op and Value; enum and bool metrics use Values (for
// bool, "true" and/or "false").
type Threshold struct {
	Op     Op       `json:"op,omitempty" yaml:"op,omitempty"`
	Value  float64  `json:"value,omitempty" yaml:"value,omitempty"`
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
}

// String renders the threshold as people read it: "≥ 0.30", "< 2",
// "Healthy".
func (t Threshold) String() string {
	if t.Op == "" {
		s := ""
		for i, v := range t.Values {
			if i > 0 {
				s += " or "
			}
			s += v
		}
		return s
	}
	return fmt.Sprintf("%s %s", opSymbol(t.Op), formatNum(t.Value, 0))
}

// Metric is one data point of a category: a trait and the conditions under
// which its value is healthy or poor. A value that is neither is concerning.
type Metric struct {
	Trait   string    `json:"trait" yaml:"trait"`
	Label   string    `json:"label" yaml:"label"`
	Kind    Kind      `json:"kind" yaml:"kind"`
	Healthy Threshold `json:"healthy" yaml:"healthy"`
	Poor    Threshold `json:"poor" yaml:"poor"`
	// Step is the smallest meaningful change of the value: 1 for counts and
	// days, 0.01 for ratios. Explanations round the distance to a threshold
	// up to it, so "> 0.20" reads as "0.21", and "< 2" as "1". Zero means
	// continuous.
	Step float64 `json:"step,omitempty" yaml:"step,omitempty"`
	// PerSeat marks a value that is a fraction of licensed seats (MAU over
	// seats); given the seats, an explanation also counts users.
	PerSeat bool `json:"per_seat,omitempty" yaml:"per_seat,omitempty"`
}

// Category groups metrics; its score is the mean of its metrics that have
// data, and its Weight its share of the account's score.
type Category struct {
	Name    string   `json:"name" yaml:"name"`
	Weight  float64  `json:"weight" yaml:"weight"`
	Metrics []Metric `json:"metrics" yaml:"metrics"`
}

// Bands are the lowest scores of the green and yellow colours on 0–10.
type Bands struct {
	Green  float64 `json:"green" yaml:"green"`
	Yellow float64 `json:"yellow" yaml:"yellow"`
}

// DefaultBands are the handbook's colour bands: green ≥ 6.67, yellow ≥ 3.33,
// red below (DESIGN.md §3).
var DefaultBands = Bands{Green: 6.67, Yellow: 3.33}

// Model is a health model: weighted categories of metrics and colour bands.
type Model struct {
	Name       string     `json:"name" yaml:"name"`
	Categories []Category `json:"categories" yaml:"categories"`
	Bands      Bands      `json:"bands" yaml:"bands"`
}

// DefaultModel returns the handbook's health model (004 "Customer Health",
// DESIGN.md §3), a fresh copy each call so callers may change it.
func DefaultModel() Model {
	count := func(trait, label string, healthy, poor Threshold) Metric {
		return Metric{Trait: trait, Label: label, Kind: KindNumber, Healthy: healthy, Poor: poor, Step: 1}
	}
	return Model{
		Name:  "default",
		Bands: DefaultBands,
		Categories: []Category{
			{Name: "TA Pulse", Weight: 5, Metrics: []Metric{
				// 004: "the TA's opinion of the account health. Healthy, Concerning, or Poor"
				{Trait: "ta_pulse", Label: "TA pulse", Kind: KindEnum,
					Healthy: Threshold{Values: []string{"Healthy"}}, Poor: Threshold{Values: []string{"Poor"}}},
			}},
			{Name: "Technical Health", Weight: 5, Metrics: []Metric{
				count("last_month_versions_behind", "versions behind",
					Threshold{Op: OpLE, Value: 2}, Threshold{Op: OpGT, Value: 4}),
				{Trait: "precise_intel_status", Label: "precise code intelligence", Kind: KindEnum,
					Healthy: Threshold{Values: []string{"active"}}, Poor: Threshold{Values: []string{"inactive"}}},
				// 004: "Less than 2 is considered healthy, 5 or more is considered poor."
				count("defect_tickets_90d", "defect tickets",
					Threshold{Op: OpLT, Value: 2}, Threshold{Op: OpGE, Value: 5}),
				// 004: "Less than 10 is considered healthy, 15 or more is considered poor."
				count("help_tickets_90d", "help tickets",
					Threshold{Op: OpLT, Value: 10}, Threshold{Op: OpGE, Value: 15}),
			}},
			{Name: "Relationships & Engagement", Weight: 15, Metrics: []Metric{
				{Trait: "active_champion", Label: "active champion", Kind: KindBool,
					Healthy: Threshold{Values: []string{"true"}}, Poor: Threshold{Values: []string{"false"}}},
				{Trait: "access_to_buyer", Label: "access to buyer", Kind: KindBool,
					Healthy: Threshold{Values: []string{"true"}}, Poor: Threshold{Values: []string{"false"}}},
				// 004: "14 or less days is considered healthy, 30 or more days of inactivity is considered poor."
				{Trait: "last_activity_date", Label: "last activity", Kind: KindDaysSince, Step: 1,
					Healthy: Threshold{Op: OpLE, Value: 14}, Poor: Threshold{Op: OpGE, Value: 30}},
			}},
			{Name: "Utilization", Weight: 75, Metrics: []Metric{
				// 004: "30% or higher (.3) is considered healthy, 20% or less is considered poor (.2)."
				{Trait: "usage_score", Label: "usage score", Kind: KindNumber, Step: 0.01,
					Healthy: Threshold{Op: OpGE, Value: 0.30}, Poor: Threshold{Op: OpLE, Value: 0.20}},
				// 004: "80% is considered healthy (.8), less than 50% (.5) is considered poor."
				{Trait: "last_month_mau_over_seats", Label: "MAU over seats", Kind: KindNumber, Step: 0.01, PerSeat: true,
					Healthy: Threshold{Op: OpGE, Value: 0.80}, Poor: Threshold{Op: OpLT, Value: 0.50}},
			}},
		},
	}
}

// Validate reports the first problem of a model as an Invalid error naming
// the field, e.g. "categories[3].metrics[0].poor".
func (m Model) Validate() error {
	if m.Name == "" {
		return derrors.Field(derrors.Invalid, "name", "a health model needs a name")
	}
	if len(m.Categories) == 0 {
		return derrors.Field(derrors.Invalid, "categories", "model %q has no categories", m.Name)
	}
	b := m.Bands
	if !(b.Yellow > 0 && b.Yellow < b.Green && b.Green <= MaxScore) {
		return derrors.Field(derrors.Invalid, "bands", "bands need 0 < yellow < green ≤ 10, got yellow %v, green %v", b.Yellow, b.Green)
	}
	names := map[string]bool{}
	for i, c := range m.Categories {
		f := fmt.Sprintf("categories[%d]", i)
		if c.Name == "" {
			return derrors.Field(derrors.Invalid, f+".name", "a category needs a name")
		}
		if names[c.Name] {
			return derrors.Field(derrors.Invalid, f+".name", "category %q appears twice", c.Name)
		}
		names[c.Name] = true
		if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
			return derrors.Field(derrors.Invalid, f+".weight", "category %q needs a weight above 0, got %v", c.Name, c.Weight)
		}
		if len(c.Metrics) == 0 {
			return derrors.Field(derrors.Invalid, f+".metrics", "category %q has no metrics", c.Name)
		}
		for j, mt := range c.Metrics {
			if err := mt.validate(fmt.Sprintf("%s.metrics[%d]", f, j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (mt Metric) validate(f string) error {
	if mt.Trait == "" {
		return derrors.Field(derrors.Invalid, f+".trait", "a metric needs a trait")
	}
	if !(mt.Step >= 0) || math.IsInf(mt.Step, 0) {
		return derrors.Field(derrors.Invalid, f+".step", "%s: step must be 0 or more, got %v", mt.Trait, mt.Step)
	}
	switch mt.Kind {
	case KindNumber, KindDaysSince:
		h, p := mt.Healthy, mt.Poor
		for _, x := range []struct {
			name string
			t    Threshold
		}{{"healthy", h}, {"poor", p}} {
			if !validOp(x.t.Op) {
				return derrors.Field(derrors.Invalid, f+"."+x.name+".op", "%s: %s needs an op of >=, >, <= or <, got %q", mt.Trait, x.name, x.t.Op)
			}
			if math.IsNaN(x.t.Value) || math.IsInf(x.t.Value, 0) {
				return derrors.Field(derrors.Invalid, f+"."+x.name+".value", "%s: %s needs a finite value", mt.Trait, x.name)
			}
			if len(x.t.Values) > 0 {
				return derrors.Field(derrors.Invalid, f+"."+x.name+".values", "%s: a %s metric compares numbers, not values", mt.Trait, mt.Kind)
			}
		}
		// Healthy must lie on one side and poor on the other, with no value
		// both: the higher-is-better form is healthy ≥/> a, poor ≤/< b, b ≤ a.
		up := h.Op == OpGE || h.Op == OpGT
		pup := p.Op == OpGE || p.Op == OpGT
		if up == pup {
			return derrors.Field(derrors.Invalid, f+".poor.op", "%s: healthy (%s) and poor (%s) point the same way", mt.Trait, h, p)
		}
		overlap := false
		if up {
			overlap = p.Value > h.Value || (p.Value == h.Value && h.Op == OpGE && p.Op == OpLE)
		} else {
			overlap = p.Value < h.Value || (p.Value == h.Value && h.Op == OpLE && p.Op == OpGE)
		}
		if overlap {
			return derrors.Field(derrors.Invalid, f+".poor.value", "%s: healthy (%s) and poor (%s) overlap", mt.Trait, h, p)
		}
	case KindEnum, KindBool:
		if len(mt.Healthy.Values) == 0 {
			return derrors.Field(derrors.Invalid, f+".healthy.values", "%s: healthy needs at least one value", mt.Trait)
		}
		for _, x := range []struct {
			name string
			t    Threshold
		}{{"healthy", mt.Healthy}, {"poor", mt.Poor}} {
			if x.t.Op != "" {
				return derrors.Field(derrors.Invalid, f+"."+x.name+".op", "%s: a %s metric matches values, not %q", mt.Trait, mt.Kind, x.t.Op)
			}
			for _, v := range x.t.Values {
				if mt.Kind == KindBool && v != "true" && v != "false" {
					return derrors.Field(derrors.Invalid, f+"."+x.name+".values", "%s: a bool metric's values are true or false, got %q", mt.Trait, v)
				}
			}
		}
		for _, v := range mt.Poor.Values {
			if contains(mt.Healthy.Values, v) {
				return derrors.Field(derrors.Invalid, f+".poor.values", "%s: %q is both healthy and poor", mt.Trait, v)
			}
		}
	default:
		return derrors.Field(derrors.Invalid, f+".kind", "%s: kind must be number, bool, enum or days_since, got %q", mt.Trait, mt.Kind)
	}
	return nil
}

func validOp(op Op) bool { return op == OpGE || op == OpGT || op == OpLE || op == OpLT }

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func opSymbol(op Op) string {
	switch op {
	case OpGE:
		return "≥"
	case OpLE:
		return "≤"
	}
	return string(op)
}
