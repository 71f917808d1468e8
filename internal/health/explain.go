package health

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Context is optional account data that makes explanations concrete.
type Context struct {
	// Seats is the licensed seats; when above 0, per-seat metrics are also
	// explained in monthly active users.
	Seats float64
}

// Step is one way to improve a metric: the change that reaches a status.
type Step struct {
	To Status `json:"to"`
	// Delta is the change of the metric's number (negative: fewer), and
	// Target the value it reaches; both zero for enum and bool metrics,
	// whose Set names the value to set.
	Delta  float64 `json:"delta"`
	Target float64 `json:"target"`
	Set    string  `json:"set,omitempty"`
	// Users is, for a per-seat metric with seats known, the additional
	// monthly active users needed.
	Users int `json:"users,omitempty"`
}

// Advice explains one metric that is not healthy.
type Advice struct {
	Trait  string `json:"trait"`
	Label  string `json:"label"`
	Status Status `json:"status"`
	// Steps are the improvements in order: out of poor (when a concerning
	// band exists), then to healthy.
	Steps []Step `json:"steps"`
	// Text says it in a sentence: "usage score 0.25: +0.05 reaches healthy
	// (≥ 0.30)".
	Text string `json:"text"`
}

// Move is a single-metric change that changes the colour.
type Move struct {
	Trait    string  `json:"trait"`
	Label    string  `json:"label"`
	From     Status  `json:"from"`
	Step     Step    `json:"step"`
	NewScore float64 `json:"new_score"`
	NewColor Color   `json:"new_color"`
	Text     string  `json:"text"`
}

// Explanation is what would move an account's health.
type Explanation struct {
	// Advice has one entry per metric with data that is not healthy, in
	// model order.
	Advice []Advice `json:"advice"`
	// Moves are the single-metric changes that raise the colour, smallest
	// first (fewest status steps, then the smallest distance relative to
	// the metric's concerning band); Moves[0] is the answer to "what would
	// turn it green/yellow". Empty when green, without score, or when no one
	// metric can do it.
	Moves []Move `json:"moves"`
}

// Explain says, for a result of Score under m, what would move each
// unhealthy metric and which single change would raise the colour.
func Explain(m Model, res Result, ctx Context) Explanation {
	var ex Explanation
	for i, c := range m.Categories {
		for j, mt := range c.Metrics {
			mr := res.Categories[i].Metrics[j]
			if mr.Status == Missing || mr.Status == Healthy {
				continue
			}
			steps := mt.steps(mr, ctx)
			ex.Advice = append(ex.Advice, Advice{Trait: mt.Trait, Label: mt.Label, Status: mr.Status,
				Steps: steps, Text: mt.sentence(mr, steps, ctx)})
			if res.Score == nil || res.Color == Green {
				continue
			}
			for _, s := range steps {
				score, color := scoreIf(m, res, i, j, s.To)
				if color.rank() > res.Color.rank() {
					ex.Moves = append(ex.Moves, Move{Trait: mt.Trait, Label: mt.Label, From: mr.Status, Step: s,
						NewScore: score, NewColor: color,
						Text: mt.stepText(mr, s, ctx) + " turns it " + string(color) + " (score " + strconv.FormatFloat(score, 'f', 2, 64) + ")"})
					break // the smaller step of this metric suffices
				}
			}
		}
	}
	sort.SliceStable(ex.Moves, func(a, b int) bool {
		ma, mb := ex.Moves[a], ex.Moves[b]
		sa, sb := ma.Step.To.rank()-ma.From.rank(), mb.Step.To.rank()-mb.From.rank()
		if sa != sb {
			return sa < sb
		}
		return moveSize(m, ma) < moveSize(m, mb)
	})
	return ex
}

// moveSize compares changes of different metrics: the distance as a share
// of the metric's concerning band (an enum or bool change, or logging an
// activity, counts as a whole band).
func moveSize(m Model, mv Move) float64 {
	for _, c := range m.Categories {
		for _, mt := range c.Metrics {
			if mt.Trait == mv.Trait && mt.Kind == KindNumber {
				if w := math.Abs(mt.Healthy.Value - mt.Poor.Value); w > 0 {
					return math.Abs(mv.Step.Delta) / w
				}
			}
		}
	}
	return 1
}

// scoreIf is the score and colour res would have if metric j of category i
// had status st: finish's arithmetic, without copying the result, as
// Explain asks it for every step of every unhealthy metric.
func scoreIf(m Model, res Result, i, j int, st Status) (float64, Color) {
	total, sum := 0.0, 0.0
	for ci := range res.Categories {
		cr := &res.Categories[ci]
		n, pts := 0, 0.0
		for mi := range cr.Metrics {
			s := cr.Metrics[mi].Status
			if ci == i && mi == j {
				s = st
			}
			if s != Missing {
				n++
				pts += s.Points()
			}
		}
		if n > 0 {
			total += cr.Weight
			sum += cr.Weight * (pts / float64(n))
		}
	}
	if total == 0 {
		return 0, ""
	}
	score := math.Round(sum/total*100) / 100
	return score, m.Bands.Color(score)
}

func (mt Metric) steps(mr MetricResult, ctx Context) []Step {
	switch mt.Kind {
	case KindEnum, KindBool:
		return []Step{{To: Healthy, Set: mt.Healthy.Values[0]}}
	case KindDaysSince:
		// Days only grow; logging an activity today resets them to 0.
		return []Step{{To: Healthy, Delta: -*mr.Number, Target: 0}}
	}
	x := *mr.Number
	var out []Step
	if mr.Status == Poor {
		// The concerning band lies just past the poor threshold.
		t := mt.reach(negate(mt.Poor), x)
		if mt.statusOf(t) == Concerning {
			out = append(out, mt.step(Concerning, x, t, ctx))
		}
	}
	return append(out, mt.step(Healthy, x, mt.reach(mt.Healthy, x), ctx))
}

func (mt Metric) step(to Status, x, t float64, ctx Context) Step {
	s := Step{To: to, Target: t, Delta: mt.round(t - x)}
	if mt.PerSeat && ctx.Seats > 0 {
		have := math.Round(x * ctx.Seats)
		need := math.Ceil(t*ctx.Seats - tol(t*ctx.Seats))
		s.Users = int(max(0, need-have))
	}
	return s
}

// reach returns the value nearest x that satisfies t, on the metric's Step
// grid for strict comparisons.
func (mt Metric) reach(t Threshold, x float64) float64 {
	switch t.Op {
	case OpGT:
		return mt.round(t.Value + mt.Step)
	case OpLT:
		return mt.round(t.Value - mt.Step)
	}
	return t.Value
}

func negate(t Threshold) Threshold {
	switch t.Op {
	case OpGE:
		t.Op = OpLT
	case OpGT:
		t.Op = OpLE
	case OpLE:
		t.Op = OpGT
	case OpLT:
		t.Op = OpGE
	}
	return t
}

// round snaps x to the Step grid, so 0.30 − 0.25 reads 0.05, not
// 0.04999999999999999.
func (mt Metric) round(x float64) float64 {
	if mt.Step <= 0 {
		return x
	}
	inv := math.Round(1 / mt.Step)
	if inv >= 1 && math.Abs(inv*mt.Step-1) < eps {
		return math.Round(x*inv) / inv
	}
	return math.Round(x/mt.Step) * mt.Step
}

func (mt Metric) decimals() int {
	d := 0
	for s := mt.Step; s > 0 && s < 1-eps && d < 6; s *= 10 {
		d++
	}
	return d
}

func (mt Metric) num(x float64) string { return formatNum(x, mt.decimals()) }

func (mt Metric) threshold(t Threshold) string {
	if t.Op == "" {
		return t.String()
	}
	return opSymbol(t.Op) + " " + mt.num(t.Value)
}

func (mt Metric) valueText(mr MetricResult) string {
	switch mt.Kind {
	case KindDaysSince:
		return formatNum(*mr.Number, 0) + " days ago"
	case KindBool:
		if b, _ := mr.Value.(bool); b {
			return "yes"
		}
		return "no"
	case KindEnum:
		return fmt.Sprint(mr.Value)
	}
	return mt.num(*mr.Number)
}

func (mt Metric) stepText(mr MetricResult, s Step, ctx Context) string {
	th := mt.Healthy
	if s.To == Concerning {
		th = negate(mt.Poor)
	}
	verb := "reaches healthy"
	if s.To == Concerning {
		verb = "leaves poor"
	}
	switch mt.Kind {
	case KindEnum:
		return "setting it to " + s.Set + " " + verb
	case KindBool:
		if s.Set == "true" {
			return "yes " + verb
		}
		return "no " + verb
	case KindDaysSince:
		return "logging an activity " + verb + " (" + mt.threshold(th) + " days)"
	}
	var d string
	switch {
	case s.Delta < 0 && mt.Step == 1:
		d = mt.num(-s.Delta) + " fewer"
	case s.Delta < 0:
		d = "−" + mt.num(-s.Delta)
	default:
		d = "+" + mt.num(s.Delta)
	}
	// Concatenation, not Sprintf: a full recompute explains every account.
	out := d + " " + verb + " (" + mt.threshold(th) + ")"
	if mt.PerSeat && ctx.Seats > 0 {
		out += "; +" + strconv.Itoa(s.Users) + " monthly active users reaches " + formatNum(s.Target*100, 0) + "% of seats"
	}
	return out
}

func (mt Metric) sentence(mr MetricResult, steps []Step, ctx Context) string {
	parts := make([]string, 0, len(steps)+1)
	if mt.Kind == KindDaysSince && mr.Status == Concerning {
		// The clock alone turns it poor: say how long is left.
		left := mt.Poor.Value - *mr.Number - 1
		if mt.Poor.Op == OpGT {
			left++
		}
		within := "within " + plural(left, "day")
		if left <= 0 {
			within = "today"
		}
		parts = append(parts, fmt.Sprintf("a touch %s keeps it from poor, log activity to reach healthy (%s days)",
			within, mt.threshold(mt.Healthy)))
	} else {
		for _, s := range steps {
			parts = append(parts, mt.stepText(mr, s, ctx))
		}
	}
	return mt.Label + " " + mt.valueText(mr) + ": " + strings.Join(parts, "; ")
}

func plural(n float64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return formatNum(n, 0) + " " + unit + "s"
}

// formatNum prints x with at least minDec decimals and at most four, without
// trailing zeros beyond min: formatNum(0.3, 2) = "0.30", formatNum(3, 0) = "3".
func formatNum(x float64, minDec int) string {
	s := strconv.FormatFloat(x, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	dot := strings.IndexByte(s, '.')
	if have := len(s) - dot - 1; have < minDec {
		s += strings.Repeat("0", minDec-have)
	}
	return strings.TrimSuffix(s, ".")
}
