package health

import (
	"testing"
)

func adviceFor(t *testing.T, ex Explanation, trait string) Advice {
	t.Helper()
	for _, a := range ex.Advice {
		if a.Trait == trait {
			return a
		}
	}
	t.Fatalf("no advice for %s in %+v", trait, ex.Advice)
	return Advice{}
}

func TestExplainNearestThreshold(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	tests := []struct {
		trait string
		value any
		seats float64
		want  string
		delta float64 // of the last step (to healthy)
	}{
		// 004: "30% or higher (.3) is considered healthy, 20% or less is considered poor (.2)."
		{"usage_score", 0.25, 0, "usage score 0.25: +0.05 reaches healthy (≥ 0.30)", 0.05},
		{"usage_score", 0.15, 0, "usage score 0.15: +0.06 leaves poor (> 0.20); +0.15 reaches healthy (≥ 0.30)", 0.15},
		{"usage_score", 0.2537, 0, "usage score 0.2537: +0.05 reaches healthy (≥ 0.30)", 0.05},
		// 004: "Less than 2 is considered healthy, 5 or more is considered poor."
		{"defect_tickets_90d", 3.0, 0, "defect tickets 3: 2 fewer reaches healthy (< 2)", -2},
		{"defect_tickets_90d", 5.0, 0, "defect tickets 5: 1 fewer leaves poor (< 5); 4 fewer reaches healthy (< 2)", -4},
		{"help_tickets_90d", 14.0, 0, "help tickets 14: 5 fewer reaches healthy (< 10)", -5},
		{"last_month_versions_behind", 5.0, 0, "versions behind 5: 1 fewer leaves poor (≤ 4); 3 fewer reaches healthy (≤ 2)", -3},
		// 004: "80% is considered healthy (.8), less than 50% (.5) is considered poor."
		{"last_month_mau_over_seats", 0.66, 100, "MAU over seats 0.66: +0.14 reaches healthy (≥ 0.80); +14 monthly active users reaches 80% of seats", 0.14},
		{"last_month_mau_over_seats", 0.4, 250, "MAU over seats 0.40: +0.10 leaves poor (≥ 0.50); +25 monthly active users reaches 50% of seats; +0.40 reaches healthy (≥ 0.80); +100 monthly active users reaches 80% of seats", 0.4},
		{"last_month_mau_over_seats", 0.66, 0, "MAU over seats 0.66: +0.14 reaches healthy (≥ 0.80)", 0.14},
		// 004: "14 or less days is considered healthy, 30 or more days of inactivity is considered poor."
		{"last_activity_date", daysAgo(20), 0, "last activity 20 days ago: a touch within 9 days keeps it from poor, log activity to reach healthy (≤ 14 days)", -20},
		{"last_activity_date", daysAgo(29), 0, "last activity 29 days ago: a touch today keeps it from poor, log activity to reach healthy (≤ 14 days)", -29},
		{"last_activity_date", daysAgo(45), 0, "last activity 45 days ago: logging an activity reaches healthy (≤ 14 days)", -45},
		{"ta_pulse", "Concerning", 0, "TA pulse Concerning: setting it to Healthy reaches healthy", 0},
		{"active_champion", false, 0, "active champion no: yes reaches healthy", 0},
	}
	for _, tc := range tests {
		res := Score(m, map[string]any{tc.trait: tc.value}, now)
		a := adviceFor(t, Explain(m, res, Context{Seats: tc.seats}), tc.trait)
		if a.Text != tc.want {
			t.Errorf("%s = %v:\n got %s\nwant %s", tc.trait, tc.value, a.Text, tc.want)
		}
		if last := a.Steps[len(a.Steps)-1]; last.To != Healthy || last.Delta != tc.delta {
			t.Errorf("%s = %v: last step %+v, want healthy with delta %v", tc.trait, tc.value, last, tc.delta)
		}
	}
}

func TestExplainSkipsHealthyAndMissing(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	ex := Explain(m, Score(m, map[string]any{"usage_score": 0.30, "ta_pulse": nil}, now), Context{})
	if len(ex.Advice) != 0 || len(ex.Moves) != 0 {
		t.Fatalf("healthy and missing metrics need no advice, got %+v", ex)
	}
}

func TestExplainColourMoves(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	values := map[string]any{ // TestWholeAccount's account: 5.06 yellow
		"ta_pulse": "Concerning", "last_month_versions_behind": 3.0, "precise_intel_status": "active",
		"defect_tickets_90d": 1.0, "help_tickets_90d": 15.0, "active_champion": true, "access_to_buyer": false,
		"last_activity_date": daysAgo(20), "usage_score": 0.25, "last_month_mau_over_seats": 0.66,
	}
	ex := Explain(m, Score(m, values, now), Context{Seats: 100})
	// Either Utilization metric turning healthy lifts Utilization to 7.5 and
	// the score to 0.25 + 0.3125 + 0.75 + 5.625 = 6.9375 → 6.94 green; no
	// other single metric moves it past 6.67. MAU/seats is +0.14 of a 0.30
	// band (0.47), usage +0.05 of 0.10 (0.5): MAU/seats is the smaller move.
	if len(ex.Moves) != 2 {
		t.Fatalf("moves %+v, want MAU/seats and usage score", ex.Moves)
	}
	first := ex.Moves[0]
	if first.Trait != "last_month_mau_over_seats" || first.NewScore != 6.94 || first.NewColor != Green {
		t.Errorf("first move %+v, want MAU/seats → 6.94 green", first)
	}
	if want := "+0.14 reaches healthy (≥ 0.80); +14 monthly active users reaches 80% of seats turns it green (score 6.94)"; first.Text != want {
		t.Errorf("move text\n got %s\nwant %s", first.Text, want)
	}
	if ex.Moves[1].Trait != "usage_score" {
		t.Errorf("second move %+v, want usage score", ex.Moves[1])
	}

	// Red to yellow: Utilization poor (0) and everything else healthy is
	// 25·10/100 = 2.5 red; usage leaving poor alone makes Utilization 2.5,
	// the score 2.5 + 1.875 = 4.38 yellow — a one-band step beats two.
	red := map[string]any{"ta_pulse": "Healthy", "precise_intel_status": "active", "active_champion": true,
		"usage_score": 0.1, "last_month_mau_over_seats": 0.3}
	ex = Explain(m, Score(m, red, now), Context{})
	if len(ex.Moves) == 0 || ex.Moves[0].Step.To != Concerning || ex.Moves[0].NewColor != Yellow || ex.Moves[0].NewScore != 4.38 {
		t.Fatalf("moves %+v, want a step out of poor to 4.38 yellow first", ex.Moves)
	}

	if g := Explain(m, Score(m, map[string]any{"usage_score": 0.5}, now), Context{}); len(g.Moves) != 0 {
		t.Errorf("green has no move up, got %+v", g.Moves)
	}
}
