package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

func TestSegment(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	for _, tc := range []struct {
		name       string
		developers int
		want       string
		reason     string
	}{
		// 001: "Commercial | 0 - 1.5k devs"
		{"no estimate is Commercial", 0, Commercial, "Commercial: no estimated developer count (under 1,500 counts as Commercial)"},
		{"1,499 developers is Commercial", 1499, Commercial, "Commercial: 1,499 estimated developers (under 1,500)"},
		// 001: "Enterprise | 1.5k - 10k devs"
		{"1,500 developers is Enterprise", 1500, Enterprise, "Enterprise: 1,500 estimated developers (1,500 to 9,999)"},
		{"9,999 developers is Enterprise", 9999, Enterprise, "Enterprise: 9,999 estimated developers (1,500 to 9,999)"},
		// 001: "Strategic | 10k+ devs"
		{"10,000 developers is Strategic", 10000, Strategic, "Strategic: 10,000 estimated developers (10,000 or more)"},
		{"1,250,000 developers is Strategic", 1250000, Strategic, "Strategic: 1,250,000 estimated developers (10,000 or more)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Segment(r, tc.developers)
			if got != tc.want || why.Text != tc.reason {
				t.Errorf("Segment(%d) = %q, %q; want %q, %q", tc.developers, got, why.Text, tc.want, tc.reason)
			}
			if !slices.Contains(account.Segments, got) {
				t.Errorf("Segment(%d) = %q, not one of account.Segments", tc.developers, got)
			}
			if why.Rule != "segment."+strings.ToLower(got) {
				t.Errorf("Segment(%d) rule = %q", tc.developers, why.Rule)
			}
		})
	}
}

func TestProgram(t *testing.T) {
	t.Parallel()
	def := DefaultRules()
	// 001: "Commercial | 0 - 1.5k devs, >$100k ARR spend" is unmanaged.
	above := DefaultRules()
	above.Program = ProgramRule{Segment: Commercial, ARRThreshold: 100_000, Direction: Above}
	for _, tc := range []struct {
		name    string
		rules   Rules
		segment string
		arr     int64
		want    string
		reason  string
	}{
		// 004: "check if Account is in the commercial segment and is less than $50k ARR. If so, ... Scaled Success"
		{"Commercial, $40k ARR → Scaled Success", def, Commercial, 40_000, ScaledSuccess, "Scaled Success: Commercial with ARR $40,000, under $50,000"},
		{"Commercial, $49,999 ARR → Scaled Success", def, Commercial, 49_999, ScaledSuccess, "Scaled Success: Commercial with ARR $49,999, under $50,000"},
		{"Commercial, $50,000 ARR → Managed", def, Commercial, 50_000, Managed, "Managed: Commercial but ARR $50,000 is not under $50,000"},
		{"Commercial, no ARR → Scaled Success", def, Commercial, 0, ScaledSuccess, "Scaled Success: Commercial with ARR $0, under $50,000"},
		// 001: "Enterprise | 1.5k - 10k devs, any amount of ARR spend" is managed.
		{"Enterprise, $10k ARR stays Managed", def, Enterprise, 10_000, Managed, "Managed: Enterprise (Scaled Success is for Commercial accounts with ARR under $50,000)"},
		// 001: "Strategic | 10k+ devs, any amount of ARR spend" is managed.
		{"Strategic, $1k ARR stays Managed", def, Strategic, 1_000, Managed, "Managed: Strategic (Scaled Success is for Commercial accounts with ARR under $50,000)"},
		{"no segment yet → Managed", def, "", 1_000, Managed, "Managed: no segment (Scaled Success is for Commercial accounts with ARR under $50,000)"},
		// The rule's direction is editable for 001's reading.
		{"001 rule: Commercial, $100,001 ARR → Scaled Success", above, Commercial, 100_001, ScaledSuccess, "Scaled Success: Commercial with ARR $100,001, over $100,000"},
		{"001 rule: Commercial, $100,000 ARR → Managed", above, Commercial, 100_000, Managed, "Managed: Commercial but ARR $100,000 is not over $100,000"},
		{"001 rule: Commercial, $40k ARR → Managed", above, Commercial, 40_000, Managed, "Managed: Commercial but ARR $40,000 is not over $100,000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Program(tc.rules, tc.segment, tc.arr)
			if got != tc.want || why.Text != tc.reason {
				t.Errorf("Program(%q, %d) = %q, %q; want %q, %q", tc.segment, tc.arr, got, why.Text, tc.want, tc.reason)
			}
			if !slices.Contains(account.Programs, got) {
				t.Errorf("Program = %q, not one of account.Programs", got)
			}
		})
	}
}

func TestStageNamesAreAccountValues(t *testing.T) {
	t.Parallel()
	for _, s := range []string{Prospect, Onboarding, Adopting, Nurturing, Renewing, Churned} {
		if !slices.Contains(account.Stages, s) {
			t.Errorf("stage %q is not one of account.Stages %v", s, account.Stages)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("DefaultRules().Validate() = %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Rules)
	}{
		{"enterprise_min_developers", func(r *Rules) { r.EnterpriseMinDevelopers = 0 }},
		{"strategic_min_developers", func(r *Rules) { r.StrategicMinDevelopers = 1500 }},
		{"program.segment", func(r *Rules) { r.Program.Segment = "Comercial" }},
		{"program.arr_threshold", func(r *Rules) { r.Program.ARRThreshold = -1 }},
		{"program.direction", func(r *Rules) { r.Program.Direction = "under" }},
		{"onboarding_days", func(r *Rules) { r.OnboardingDays = -1 }},
		{"renewing_lead_days", func(r *Rules) { r.RenewingLeadDays = -1 }},
		{"nurturing_mau_over_seats", func(r *Rules) { r.NurturingMAUOverSeats = 0 }},
		{"nurturing_usage_score", func(r *Rules) { r.NurturingUsageScore = 1.5 }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := DefaultRules()
			tc.edit(&r)
			err := r.Validate()
			if derrors.CodeOf(err) != derrors.Invalid || err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Validate() = %v; want an invalid error naming %s", err, tc.field)
			}
		})
	}
}
