package assess

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/health"
)

// The kinds of change, as store.StateChange records them.
const (
	KindSegment = "segment"
	KindProgram = "program"
	KindStage   = "stage"
	KindHealth  = "health"
)

// Change is one difference between two assessments of an account.
type Change struct {
	Kind string `json:"kind"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// OldScore and NewScore surround a health change.
	OldScore *float64 `json:"old_score,omitempty"`
	NewScore *float64 `json:"new_score,omitempty"`
	// Direction is +1 when the health colour got better, -1 worse.
	Direction int `json:"direction"`
	// Reason is the sentence people read; Detail the values behind it.
	Reason string `json:"reason"`
	Detail Detail `json:"detail"`
}

// Detail holds what a change was decided on.
type Detail struct {
	// Rule names the lifecycle rule that decided a segment, program or
	// stage change.
	Rule    string   `json:"rule,omitempty"`
	Signals []string `json:"signals,omitempty"`
	// Model is the health model of a health change, and Metrics the
	// metrics whose status moved, with their values.
	Model   string         `json:"model,omitempty"`
	Metrics []MetricChange `json:"metrics,omitempty"`
}

// JSON renders the detail for the store.
func (d Detail) JSON() json.RawMessage {
	b, _ := json.Marshal(d) // plain data: cannot fail
	return b
}

// MetricChange is one metric whose status differs between two health
// results.
type MetricChange struct {
	Category string        `json:"category"`
	Trait    string        `json:"trait"`
	Label    string        `json:"label"`
	Old      health.Status `json:"old"`
	New      health.Status `json:"new"`
	Value    any           `json:"value"`
	// Days is, for a days_since metric, the days since its date.
	Days *float64 `json:"days,omitempty"`
}

// Diff lists what changed from old to new: segment, program, stage and
// health colour, in that order, each with its reason. A health score that
// moves within its colour is not a change (the daily snapshot keeps it).
// With old nil — the first assessment of an account — every assigned value
// is a change from "".
func Diff(old *State, new State) []Change {
	var prev State
	if old != nil {
		prev = *old
	}
	var out []Change
	if prev.Segment != new.Segment {
		out = append(out, Change{Kind: KindSegment, Old: prev.Segment, New: new.Segment,
			Reason: new.SegmentReason.Text, Detail: Detail{Rule: new.SegmentReason.Rule}})
	}
	if prev.Program != new.Program {
		out = append(out, Change{Kind: KindProgram, Old: prev.Program, New: new.Program,
			Reason: new.ProgramReason.Text, Detail: Detail{Rule: new.ProgramReason.Rule}})
	}
	if prev.Stage.Stage != new.Stage.Stage {
		out = append(out, Change{Kind: KindStage, Old: prev.Stage.Stage, New: new.Stage.Stage,
			Reason: new.Stage.Reason.Text, Detail: Detail{Rule: new.Stage.Reason.Rule, Signals: new.Stage.Signals}})
	}
	if oc, nc := prev.Color(), new.Color(); oc != nc {
		metrics := metricChanges(prev.Health, new.Health)
		out = append(out, Change{Kind: KindHealth, Old: oc, New: nc, OldScore: prev.Score(), NewScore: new.Score(),
			Direction: direction(oc, nc), Reason: healthReason(prev, new, metrics),
			Detail: Detail{Model: new.Model, Metrics: metrics}})
	}
	return out
}

func colorRank(c string) int {
	switch c {
	case "green":
		return 3
	case "yellow":
		return 2
	case "red":
		return 1
	}
	return 0
}

func direction(old, new string) int {
	o, n := colorRank(old), colorRank(new)
	switch {
	case o == 0 || n == 0:
		return 0 // a first score, or a score lost: neither better nor worse
	case n > o:
		return 1
	case n < o:
		return -1
	}
	return 0
}

// metricChanges pairs the metrics of two results by trait. A metric only in
// one of them (the model changed) counts as missing in the other.
func metricChanges(old, new health.Result) []MetricChange {
	type key struct{ cat, trait string }
	before := map[key]health.MetricResult{}
	for _, c := range old.Categories {
		for _, m := range c.Metrics {
			before[key{c.Name, m.Trait}] = m
		}
	}
	var out []MetricChange
	for _, c := range new.Categories {
		for _, m := range c.Metrics {
			o, ok := before[key{c.Name, m.Trait}]
			os := health.Missing
			if ok {
				os = o.Status
			}
			if os != m.Status {
				mc := MetricChange{Category: c.Name, Trait: m.Trait, Label: m.Label, Old: os, New: m.Status, Value: m.Value}
				if m.Kind == health.KindDaysSince {
					mc.Days = m.Number
				}
				out = append(out, mc)
			}
		}
	}
	return out
}

// healthReason says why the colour changed: the score and the metrics
// whose status moved, e.g. "Health yellow → red (score 4.50 → 2.75): MAU
// over seats 0.45 concerning → poor".
func healthReason(old, new State, ms []MetricChange) string {
	var b strings.Builder
	oc, nc := old.Color(), new.Color()
	switch {
	case nc == "":
		b.WriteString("Health has no score")
		switch {
		case new.Problem != "":
			fmt.Fprintf(&b, ": %s", new.Problem)
		case new.Model == "" && new.ModelReason != "":
			fmt.Fprintf(&b, ": %s", new.ModelReason)
		default:
			b.WriteString(": no metric of the model has data")
		}
		fmt.Fprintf(&b, " (was %s, %s)", oc, describeScore(old.Score()))
		return b.String()
	case oc == "":
		fmt.Fprintf(&b, "Health %s (score %s, model %s)", nc, describeScore(new.Score()), new.Model)
	default:
		fmt.Fprintf(&b, "Health %s → %s (score %s → %s)", oc, nc, describeScore(old.Score()), describeScore(new.Score()))
		if old.Model != new.Model && old.Model != "" {
			fmt.Fprintf(&b, ", model %s → %s", old.Model, new.Model)
		}
	}
	if len(ms) == 0 {
		return b.String()
	}
	b.WriteString(": ")
	for i, m := range ms {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Label)
		switch {
		case m.New == health.Missing:
		case m.Days != nil:
			fmt.Fprintf(&b, " %s days ago", valueText(*m.Days))
		default:
			fmt.Fprintf(&b, " %s", valueText(m.Value))
		}
		fmt.Fprintf(&b, " %s → %s", m.Old, m.New)
	}
	return b.String()
}

func valueText(v any) string {
	switch x := v.(type) {
	case float64:
		// Exactly as stored (ratios keep four places): rounding 0.2988 to
		// 0.3 would read as healthy.
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "none"
	}
	return fmt.Sprint(v)
}
