package demo

import (
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
)

// The demo scores health with the handbook's model (internal/health), so
// that a fresh demo shows green, yellow and red accounts before the health
// engine runs. Its utilization metrics are the usage engine's, computed
// from the demo's product events (Generate places every account again by
// the traits the engine wrote).

// healthOf returns the score (0–10) and colour of an account whose current
// trait values are vals, or ok false when no metric has data.
func healthOf(today date.Date, vals []traitVal) (score float64, color string, ok bool) {
	values := make(map[string]any, len(vals))
	for _, v := range vals {
		values[v.key] = v.value
	}
	r := health.Score(health.DefaultModel(), values, today.Time(time.UTC).Add(12*time.Hour))
	if r.Score == nil {
		return 0, "", false
	}
	return *r.Score, string(r.Color), true
}
