package health

import (
	"testing"
	"time"
)

var now = time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)

// daysAgo is the date trait value n calendar days before now.
func daysAgo(n int) string { return now.AddDate(0, 0, -n).Format("2006-01-02") }

func metricOf(t *testing.T, res Result, trait string) MetricResult {
	t.Helper()
	for _, c := range res.Categories {
		for _, m := range c.Metrics {
			if m.Trait == trait {
				return m
			}
		}
	}
	t.Fatalf("no metric %s in result", trait)
	return MetricResult{}
}

func TestDefaultModelBoundaries(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	tests := []struct {
		trait string
		value any
		want  Status
	}{
		// 004: "80% is considered healthy (.8), less than 50% (.5) is considered poor."
		{"last_month_mau_over_seats", 0.49, Poor},
		{"last_month_mau_over_seats", 0.50, Concerning},
		{"last_month_mau_over_seats", 0.79, Concerning},
		{"last_month_mau_over_seats", 0.80, Healthy},
		{"last_month_mau_over_seats", 0.7 + 0.1, Healthy}, // 0.7999999999999999 is the handbook's .8
		// 004: "30% or higher (.3) is considered healthy, 20% or less is considered poor (.2)."
		{"usage_score", 0.20, Poor},
		{"usage_score", 0.21, Concerning},
		{"usage_score", 0.29, Concerning},
		{"usage_score", 0.30, Healthy},
		{"usage_score", 0.7 - 0.4, Healthy}, // 0.29999999999999993
		{"usage_score", 0.1 + 0.1, Poor},
		// 004: "Less than 2 is considered healthy, 5 or more is considered poor." (defects)
		{"defect_tickets_90d", 1.0, Healthy},
		{"defect_tickets_90d", 2.0, Concerning},
		{"defect_tickets_90d", 4.0, Concerning},
		{"defect_tickets_90d", 5.0, Poor},
		// 004: "Less than 10 is considered healthy, 15 or more is considered poor." (help)
		{"help_tickets_90d", 9.0, Healthy},
		{"help_tickets_90d", 10.0, Concerning},
		{"help_tickets_90d", 14.0, Concerning},
		{"help_tickets_90d", 15.0, Poor},
		// 004: "14 or less days is considered healthy, 30 or more days of inactivity is considered poor."
		{"last_activity_date", daysAgo(14), Healthy},
		{"last_activity_date", daysAgo(15), Concerning},
		{"last_activity_date", daysAgo(29), Concerning},
		{"last_activity_date", daysAgo(30), Poor},
		{"last_activity_date", daysAgo(-3), Healthy}, // a future date counts 0 days
		// DESIGN.md §3: versions behind "≤ 2" healthy, "> 4" poor.
		{"last_month_versions_behind", 2.0, Healthy},
		{"last_month_versions_behind", 3.0, Concerning},
		{"last_month_versions_behind", 4.0, Concerning},
		{"last_month_versions_behind", 5.0, Poor},
		// 004: "Healthy, Concerning, or Poor" (TA pulse)
		{"ta_pulse", "Healthy", Healthy},
		{"ta_pulse", "Concerning", Concerning},
		{"ta_pulse", "Poor", Poor},
		// 004: "This is either active or inactive." (precise intel)
		{"precise_intel_status", "active", Healthy},
		{"precise_intel_status", "inactive", Poor},
		// 004: active champion? / access to buyer? yes is healthy, no is poor.
		{"active_champion", true, Healthy},
		{"active_champion", false, Poor},
		{"access_to_buyer", true, Healthy},
		{"access_to_buyer", false, Poor},
		// A missing value is left out, never scored 0.
		{"usage_score", nil, Missing},
		{"last_activity_date", "", Missing},
		{"usage_score", "lots", Missing},
		{"active_champion", "maybe", Missing},
	}
	for _, tc := range tests {
		res := Score(m, map[string]any{tc.trait: tc.value}, now)
		got := metricOf(t, res, tc.trait)
		if got.Status != tc.want {
			t.Errorf("%s = %v: status %s, want %s", tc.trait, tc.value, got.Status, tc.want)
		}
		if got.Points != tc.want.Points() {
			t.Errorf("%s = %v: points %v, want %v", tc.trait, tc.value, got.Points, tc.want.Points())
		}
		if tc.want == Missing && res.Score != nil {
			t.Errorf("%s = %v: score %v from missing data, want nil", tc.trait, tc.value, *res.Score)
		}
	}
}

func TestDaysSinceCountsCalendarDays(t *testing.T) {
	t.Parallel()
	res := Score(DefaultModel(), map[string]any{"last_activity_date": "2026-01-01"}, now)
	if n := metricOf(t, res, "last_activity_date").Number; n == nil || *n != 30 {
		t.Fatalf("days since 2026-01-01 at %s = %v, want 30", now, n)
	}
}

// TestWholeAccount is computed by hand:
//
//	TA Pulse 5%:       Concerning 5                              → 5
//	Technical 5%:      3 behind 5, active 10, 1 defect 10, 15 help 0 → 6.25
//	Relationships 15%: champion 10, no buyer 0, 20 days ago 5     → 5
//	Utilization 75%:   usage 0.25 → 5, MAU/seats 0.66 → 5         → 5
//	score = 0.05·5 + 0.05·6.25 + 0.15·5 + 0.75·5 = 5.0625 → 5.06 yellow
func TestWholeAccount(t *testing.T) {
	t.Parallel()
	values := map[string]any{
		"ta_pulse": "Concerning", "last_month_versions_behind": 3.0, "precise_intel_status": "active",
		"defect_tickets_90d": 1.0, "help_tickets_90d": 15.0, "active_champion": true, "access_to_buyer": false,
		"last_activity_date": daysAgo(20), "usage_score": 0.25, "last_month_mau_over_seats": 0.66,
		"region": "EMEA", // not in the model: ignored
	}
	res := Score(DefaultModel(), values, now)
	if res.Score == nil || *res.Score != 5.06 || res.Color != Yellow {
		t.Fatalf("score %v %s, want 5.06 yellow", res.Score, res.Color)
	}
	wantMeans := []float64{5, 6.25, 5, 5}
	wantEff := []float64{0.05, 0.05, 0.15, 0.75}
	for i, c := range res.Categories {
		if c.Mean == nil || *c.Mean != wantMeans[i] {
			t.Errorf("%s mean %v, want %v", c.Name, c.Mean, wantMeans[i])
		}
		if c.EffectiveWeight != wantEff[i] {
			t.Errorf("%s effective weight %v, want %v", c.Name, c.EffectiveWeight, wantEff[i])
		}
	}
}

func TestMissingExcludedAndWeightsRenormalised(t *testing.T) {
	t.Parallel()
	// Only Utilization (75) and TA Pulse (5) have data: 75·10 + 5·0 over 80 = 9.375 → 9.38.
	res := Score(DefaultModel(), map[string]any{"usage_score": 0.35, "ta_pulse": "Poor", "last_month_mau_over_seats": nil}, now)
	if res.Score == nil || *res.Score != 9.38 || res.Color != Green {
		t.Fatalf("score %v %s, want 9.38 green", res.Score, res.Color)
	}
	want := map[string]float64{"TA Pulse": 0.0625, "Technical Health": 0, "Relationships & Engagement": 0, "Utilization": 0.9375}
	for _, c := range res.Categories {
		if c.EffectiveWeight != want[c.Name] {
			t.Errorf("%s effective weight %v, want %v", c.Name, c.EffectiveWeight, want[c.Name])
		}
		if (c.Mean == nil) != (want[c.Name] == 0) {
			t.Errorf("%s mean %v: a category without data has no mean", c.Name, c.Mean)
		}
	}
	// Utilization's mean is over its one metric with data, not two.
	if m := res.Categories[3].Mean; *m != 10 {
		t.Errorf("Utilization mean %v, want 10 (missing MAU/seats left out)", *m)
	}
	if p := metricOf(t, Score(DefaultModel(), map[string]any{"usage_score": "n/a"}, now), "usage_score").Problem; p == "" {
		t.Error("an unreadable value should say why it counts as missing")
	}

	empty := Score(DefaultModel(), nil, now)
	if empty.Score != nil || empty.Color != "" {
		t.Fatalf("no data: score %v colour %q, want nil and none", empty.Score, empty.Color)
	}
}

// twoCategories scores a·10 + b·0 over a+b: a weight of 667 against 333 is 6.67.
func twoCategories(a, b float64) Result {
	m := Model{Name: "edges", Bands: DefaultBands, Categories: []Category{
		{Name: "A", Weight: a, Metrics: []Metric{{Trait: "a", Kind: KindBool, Healthy: Threshold{Values: []string{"true"}}, Poor: Threshold{Values: []string{"false"}}}}},
		{Name: "B", Weight: b, Metrics: []Metric{{Trait: "b", Kind: KindBool, Healthy: Threshold{Values: []string{"true"}}, Poor: Threshold{Values: []string{"false"}}}}},
	}}
	return Score(m, map[string]any{"a": true, "b": false}, now)
}

func TestColourBands(t *testing.T) {
	t.Parallel()
	// DESIGN.md §3: "Colour: green ≥ 6.67, yellow ≥ 3.33, red below."
	tests := []struct {
		a, b  float64
		score float64
		want  Color
	}{
		{667, 333, 6.67, Green},
		{666, 334, 6.66, Yellow},
		{333, 667, 3.33, Yellow},
		{332, 668, 3.32, Red},
		{2, 1, 6.67, Green}, // 6.666… rounds to the 6.67 people see, and is green
		{1, 2, 3.33, Yellow},
		{1, 0.0001, 10, Green},
	}
	for _, tc := range tests {
		res := twoCategories(tc.a, tc.b)
		if res.Score == nil || *res.Score != tc.score || res.Color != tc.want {
			t.Errorf("weights %v/%v: %v %s, want %v %s", tc.a, tc.b, res.Score, res.Color, tc.score, tc.want)
		}
	}
	for _, tc := range []struct {
		score float64
		want  Color
	}{{6.67, Green}, {6.669999999999999, Green}, {6.66, Yellow}, {3.33, Yellow}, {3.3299999999999996, Yellow}, {3.32, Red}, {0, Red}, {10, Green}} {
		if got := DefaultBands.Color(tc.score); got != tc.want {
			t.Errorf("Color(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
}
