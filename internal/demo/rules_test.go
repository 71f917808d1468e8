package demo

import (
	"testing"

	"github.com/tendhq/tend/internal/date"
)

func TestSegmentAndProgram(t *testing.T) {
	for _, c := range []struct {
		developers int
		arr        int64
		segment    string
		program    string
	}{
		{10000, 400_000, "Strategic", "Managed"},
		{9999, 80_000, "Enterprise", "Managed"},
		{1500, 45_000, "Enterprise", "Managed"}, // only Commercial is scaled
		{1499, 49_999, "Commercial", "Scaled Success"},
		{300, 50_000, "Commercial", "Managed"},
		{40, 10_000, "Commercial", "Scaled Success"},
	} {
		seg := segmentOf(c.developers)
		if prog := programOf(seg, c.arr); seg != c.segment || prog != c.program {
			t.Errorf("%d developers, $%d ARR → %s, %s; want %s, %s", c.developers, c.arr, seg, prog, c.segment, c.program)
		}
	}
}

func TestStageOf(t *testing.T) {
	today := date.MustParse("2026-03-10")
	f := func(x float64) *float64 { return &x }
	for _, c := range []struct {
		name           string
		close, renewal string
		usage, mau     *float64
		want           string
	}{
		{"deal not closed", "", "", nil, nil, stageProspect},
		{"closed today", "2026-03-10", "2027-03-10", nil, nil, stageOnboarding},
		{"day 59 after close", "2026-01-10", "2027-01-10", f(0.5), f(0.9), stageOnboarding},
		{"day 60 after close", "2026-01-09", "2027-01-09", f(0.1), f(0.1), stageAdopting},
		{"MAU/seats 0.79 and usage 0.31: still Adopting", "2025-09-01", "2026-09-01", f(0.31), f(0.79), stageAdopting},
		{"both targets met", "2025-09-01", "2026-09-01", f(0.30), f(0.80), stageNurturing},
		{"no usage data", "2025-09-01", "2026-09-01", nil, nil, stageAdopting},
		{"renewal in 121 days", "2025-07-09", "2026-07-09", f(0.5), f(0.9), stageNurturing},
		{"renewal in 120 days", "2025-07-08", "2026-07-08", f(0.1), f(0.1), stageRenewing},
		{"Renewing takes precedence over Onboarding", "2026-02-01", "2026-06-01", nil, nil, stageRenewing},
	} {
		got := stageOf(today, date.MustParse(c.close), date.MustParse(c.renewal), c.usage, c.mau, "")
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestHealthOf(t *testing.T) {
	today := date.MustParse("2026-03-10")
	for _, c := range []struct {
		name  string
		vals  []traitVal
		score float64
		color string
	}{
		{"utilization healthy only", []traitVal{{"usage_score", 0.30, ""}, {"last_month_mau_over_seats", 0.80, ""}}, 10, "green"},
		{"utilization poor only", []traitVal{{"usage_score", 0.20, ""}, {"last_month_mau_over_seats", 0.49, ""}}, 0, "red"},
		{"utilization concerning", []traitVal{{"usage_score", 0.25, ""}, {"last_month_mau_over_seats", 0.50, ""}}, 5, "yellow"},
		{"every category", []traitVal{
			{"ta_pulse", "Poor", ""},                 // 0 × 5%
			{"last_month_versions_behind", 3.0, ""},  // 5
			{"precise_intel_status", "active", ""},   // 10
			{"defect_tickets_90d", 5.0, ""},          // 0
			{"help_tickets_90d", 9.0, ""},            // 10 → technical 6.25 × 5%
			{"active_champion", true, ""},            // 10
			{"access_to_buyer", false, ""},           // 0
			{"last_activity_date", "2026-02-08", ""}, // 30 days: 0 → relationships 3.33 × 15%
			{"usage_score", 0.31, ""},                // 10
			{"last_month_mau_over_seats", 0.79, ""},  // 5 → utilization 7.5 × 75%
		}, 0.05*6.25 + 0.15*10.0/3 + 0.75*7.5, "yellow"}, // 6.44
	} {
		score, color, ok := healthOf(today, c.vals)
		if !ok || color != c.color || score-c.score > 0.005 || c.score-score > 0.005 {
			t.Errorf("%s: %v %s %v, want %v %s", c.name, score, color, ok, c.score, c.color)
		}
	}
	if _, _, ok := healthOf(today, []traitVal{{"region", "EMEA", ""}}); ok {
		t.Error("an account without health inputs has a score")
	}
}
