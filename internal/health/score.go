package health

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
)

// MaxScore is the top of the 0–10 scale.
const MaxScore = 10

// Status is a metric's verdict.
type Status string

// The statuses. Missing means the account has no usable value, and the
// metric is left out of its category's mean.
const (
	Healthy    Status = "healthy"
	Concerning Status = "concerning"
	Poor       Status = "poor"
	Missing    Status = "missing"
)

// Points is what a status scores: 004's Healthy 10, Concerning 5, Poor 0.
func (s Status) Points() float64 {
	switch s {
	case Healthy:
		return 10
	case Concerning:
		return 5
	}
	return 0
}

func (s Status) rank() int {
	switch s {
	case Healthy:
		return 2
	case Concerning:
		return 1
	}
	return 0
}

// Color is an account's health colour; empty when there is no score.
type Color string

// The colours.
const (
	Green  Color = "green"
	Yellow Color = "yellow"
	Red    Color = "red"
)

func (c Color) rank() int {
	switch c {
	case Green:
		return 3
	case Yellow:
		return 2
	case Red:
		return 1
	}
	return 0
}

// Color returns the band a score falls in. Comparisons forgive float noise
// below 1e-9, so a score of 6.67 computed as 6.669999999999999 is green.
func (b Bands) Color(score float64) Color {
	switch {
	case atLeast(score, b.Green):
		return Green
	case atLeast(score, b.Yellow):
		return Yellow
	}
	return Red
}

// MetricResult is one metric's part of a score.
type MetricResult struct {
	Trait string `json:"trait"`
	Label string `json:"label"`
	Kind  Kind   `json:"kind"`
	// Value is the trait value as given (nil when absent).
	Value any `json:"value"`
	// Number is the value compared for number metrics, and the days since
	// the date for days_since metrics.
	Number *float64 `json:"number,omitempty"`
	Status Status   `json:"status"`
	// Points is 10, 5 or 0; 0 and not counted when Status is Missing.
	Points float64 `json:"points"`
	// Problem says why a value present in the data could not be read (and
	// so counts as missing), e.g. a text where a number belongs.
	Problem string `json:"problem,omitempty"`
}

// CategoryResult is one category's part of a score.
type CategoryResult struct {
	Name string `json:"name"`
	// Weight is the model's weight; EffectiveWeight its share (0–1) once
	// the weights of categories without data are re-normalised away.
	Weight          float64        `json:"weight"`
	EffectiveWeight float64        `json:"effective_weight"`
	Mean            *float64       `json:"mean"`
	Metrics         []MetricResult `json:"metrics"`
}

// Result is an account's health under one model at one moment.
type Result struct {
	Model string `json:"model"`
	// Score is the weighted mean on 0–10, rounded to two decimals — the
	// number people see and the one banded, so a displayed 6.67 is never
	// yellow. Nil when no metric has data.
	Score      *float64         `json:"score"`
	Color      Color            `json:"color,omitempty"`
	Categories []CategoryResult `json:"categories"`
}

// Score evaluates a model against an account's trait values at now. It is
// pure: values are read, never changed.
func Score(m Model, values map[string]any, now time.Time) Result {
	res := Result{Model: m.Name, Categories: make([]CategoryResult, len(m.Categories))}
	for i, c := range m.Categories {
		cr := CategoryResult{Name: c.Name, Weight: c.Weight, Metrics: make([]MetricResult, len(c.Metrics))}
		for j, mt := range c.Metrics {
			cr.Metrics[j] = evaluate(mt, values[mt.Trait], now)
		}
		res.Categories[i] = cr
	}
	finish(m, &res)
	return res
}

// finish fills means, effective weights, score and colour from the metric
// statuses, so a what-if can change a status and finish again.
func finish(m Model, res *Result) {
	total, sum := 0.0, 0.0
	for i := range res.Categories {
		cr := &res.Categories[i]
		n, pts := 0, 0.0
		for _, mr := range cr.Metrics {
			if mr.Status != Missing {
				n++
				pts += mr.Status.Points()
			}
		}
		cr.Mean, cr.EffectiveWeight = nil, 0
		if n > 0 {
			mean := pts / float64(n)
			cr.Mean = &mean
			total += cr.Weight
			sum += cr.Weight * mean
		}
	}
	res.Score, res.Color = nil, ""
	if total == 0 {
		return
	}
	for i := range res.Categories {
		if res.Categories[i].Mean != nil {
			res.Categories[i].EffectiveWeight = res.Categories[i].Weight / total
		}
	}
	score := math.Round(sum/total*100) / 100
	res.Score = &score
	res.Color = m.Bands.Color(score)
}

func evaluate(mt Metric, v any, now time.Time) MetricResult {
	r := MetricResult{Trait: mt.Trait, Label: mt.Label, Kind: mt.Kind, Value: v, Status: Missing}
	if v == nil {
		return r
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return r
	}
	switch mt.Kind {
	case KindNumber, KindDaysSince:
		var x float64
		var err error
		if mt.Kind == KindNumber {
			x, err = number(v)
		} else {
			x, err = daysSince(v, now)
		}
		if err != nil {
			r.Problem = err.Error()
			return r
		}
		r.Number = &x
		r.Status = mt.statusOf(x)
	case KindEnum, KindBool:
		s, err := text(mt.Kind, v)
		if err != nil {
			r.Problem = err.Error()
			return r
		}
		switch {
		case contains(mt.Healthy.Values, s):
			r.Status = Healthy
		case contains(mt.Poor.Values, s):
			r.Status = Poor
		default:
			// 004's TA pulse: "Concerning" is in neither list.
			r.Status = Concerning
		}
	}
	r.Points = r.Status.Points()
	return r
}

func (mt Metric) statusOf(x float64) Status {
	switch {
	case holds(mt.Healthy, x):
		return Healthy
	case holds(mt.Poor, x):
		return Poor
	}
	return Concerning
}

// eps absorbs float noise at a threshold: a usage score computed as
// 0.29999999999999993 is the handbook's 0.3, which is healthy.
const eps = 1e-9

func tol(t float64) float64 { return eps * math.Max(1, math.Abs(t)) }

func atLeast(x, t float64) bool { return x >= t-tol(t) }
func atMost(x, t float64) bool  { return x <= t+tol(t) }

func holds(t Threshold, x float64) bool {
	switch t.Op {
	case OpGE:
		return atLeast(x, t.Value)
	case OpGT:
		return !atMost(x, t.Value)
	case OpLE:
		return atMost(x, t.Value)
	case OpLT:
		return !atLeast(x, t.Value)
	}
	return false
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%v is not a finite number", x)
		}
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// daysSince counts whole calendar days from a date to now's day (in now's
// location). A date in the future counts as 0 days.
func daysSince(v any, now time.Time) (float64, error) {
	var d date.Date
	switch x := v.(type) {
	case string:
		p, err := date.Parse(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD)", x)
		}
		d = p
	case date.Date:
		d = x
	case time.Time:
		d = date.Of(x.In(now.Location()))
	default:
		return 0, fmt.Errorf("%v (%T) is not a date", v, v)
	}
	if d.IsZero() {
		return 0, fmt.Errorf("%v is not a date", v)
	}
	return float64(max(0, d.DaysUntil(date.Of(now)))), nil
}

func text(k Kind, v any) (string, error) {
	switch x := v.(type) {
	case bool:
		if k == KindBool {
			return strconv.FormatBool(x), nil
		}
	case string:
		if k == KindEnum {
			return x, nil
		}
	}
	return "", fmt.Errorf("%v (%T) is not a %s value", v, v, k)
}
