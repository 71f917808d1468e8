package demo

import (
	"math"

	"github.com/tendhq/tend/internal/date"
)

// The demo scores health itself, with DESIGN.md §3's model, so that a fresh
// demo shows green, yellow and red accounts before any health engine has
// run. Its utilization metrics are the usage engine's, computed from the
// demo's product events (Generate places every account again by the traits
// the engine wrote); a health engine, once it exists, recomputes the same
// numbers from the same traits.

// Metric scores (§3): Healthy 10, Concerning 5, Poor 0.
const (
	scoreHealthy    = 10.0
	scoreConcerning = 5.0
	scorePoor       = 0.0
)

// healthOf returns the score (0–10) and colour of an account whose current
// trait values are vals, or ok false when no metric has data.
func healthOf(today date.Date, vals []traitVal) (score float64, color string, ok bool) {
	get := func(key string) (any, bool) {
		for _, v := range vals {
			if v.key == key {
				return v.value, true
			}
		}
		return nil, false
	}
	num := func(key string) (float64, bool) {
		v, ok := get(key)
		f, isNum := v.(float64)
		return f, ok && isNum
	}
	boolScore := func(key string) (float64, bool) {
		v, ok := get(key)
		b, isBool := v.(bool)
		if !ok || !isBool {
			return 0, false
		}
		if b {
			return scoreHealthy, true
		}
		return scorePoor, true
	}
	// band scores a number: healthy when good(x), poor when bad(x), else
	// concerning.
	band := func(key string, good, bad func(float64) bool) (float64, bool) {
		x, ok := num(key)
		switch {
		case !ok:
			return 0, false
		case good(x):
			return scoreHealthy, true
		case bad(x):
			return scorePoor, true
		}
		return scoreConcerning, true
	}

	type metric func() (float64, bool)
	categories := []struct {
		weight  float64
		metrics []metric
	}{
		{0.05, []metric{func() (float64, bool) {
			v, ok := get("ta_pulse")
			switch v {
			case "Healthy":
				return scoreHealthy, ok
			case "Concerning":
				return scoreConcerning, ok
			case "Poor":
				return scorePoor, ok
			}
			return 0, false
		}}},
		{0.05, []metric{
			func() (float64, bool) {
				return band("last_month_versions_behind", func(x float64) bool { return x <= 2 }, func(x float64) bool { return x > 4 })
			},
			func() (float64, bool) {
				v, ok := get("precise_intel_status")
				if !ok {
					return 0, false
				}
				if v == "active" {
					return scoreHealthy, true
				}
				return scorePoor, true
			},
			func() (float64, bool) {
				return band("defect_tickets_90d", func(x float64) bool { return x < 2 }, func(x float64) bool { return x >= 5 })
			},
			func() (float64, bool) {
				return band("help_tickets_90d", func(x float64) bool { return x < 10 }, func(x float64) bool { return x >= 15 })
			},
		}},
		{0.15, []metric{
			func() (float64, bool) { return boolScore("active_champion") },
			func() (float64, bool) { return boolScore("access_to_buyer") },
			func() (float64, bool) {
				v, ok := get("last_activity_date")
				s, isStr := v.(string)
				if !ok || !isStr {
					return 0, false
				}
				d, err := date.Parse(s)
				if err != nil {
					return 0, false
				}
				days := d.DaysUntil(today)
				switch {
				case days <= 14:
					return scoreHealthy, true
				case days >= 30:
					return scorePoor, true
				}
				return scoreConcerning, true
			},
		}},
		{0.75, []metric{
			func() (float64, bool) {
				return band("usage_score", func(x float64) bool { return x >= 0.30 }, func(x float64) bool { return x <= 0.20 })
			},
			func() (float64, bool) {
				return band("last_month_mau_over_seats", func(x float64) bool { return x >= 0.80 }, func(x float64) bool { return x < 0.50 })
			},
		}},
	}
	var sum, weights float64
	for _, c := range categories {
		var total float64
		n := 0
		for _, m := range c.metrics {
			if s, ok := m(); ok {
				total += s
				n++
			}
		}
		if n == 0 {
			continue // a category without data is left out and the weights re-normalised
		}
		sum += c.weight * total / float64(n)
		weights += c.weight
	}
	if weights == 0 {
		return 0, "", false
	}
	score = math.Round(sum/weights*100) / 100
	switch {
	case score >= 6.67:
		color = "green"
	case score >= 3.33:
		color = "yellow"
	default:
		color = "red"
	}
	return score, color, true
}
