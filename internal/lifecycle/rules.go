package lifecycle

import (
	"fmt"
	"slices"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// The segment, program and stage values the rules assign; they are the
// strings account.Segments, account.Programs and account.Stages list.
const (
	Strategic  = "Strategic"
	Enterprise = "Enterprise"
	Commercial = "Commercial"

	Managed       = "Managed"
	ScaledSuccess = "Scaled Success"

	Prospect   = "0. Prospect"
	Onboarding = "1. Onboarding"
	Adopting   = "2. Adopting"
	Nurturing  = "3. Nurturing"
	Renewing   = "4. Renewing"
	Churned    = "Churned"
)

// Direction says on which side of the ARR threshold the program rule
// assigns Scaled Success. Both sides are strict because both handbook pages
// are: 004 says "less than $50k", 001 says ">$100k".
type Direction string

// The two directions of the program rule.
const (
	// Below assigns Scaled Success when ARR < threshold (004's rule).
	Below Direction = "below"
	// Above assigns Scaled Success when ARR > threshold (001's table).
	Above Direction = "above"
)

// ProgramRule is the one editable program rule: accounts of Segment whose
// ARR is on Direction's side of ARRThreshold are Scaled Success; every other
// account is Managed. It is one rule rather than a fixed one because the
// handbook's pages disagree (004: Commercial under $50k; 001: Commercial
// over $100k).
type ProgramRule struct {
	Segment string `json:"segment"`
	// ARRThreshold is in whole US dollars, like account.Account.ARR.
	ARRThreshold int64     `json:"arr_threshold"`
	Direction    Direction `json:"direction"`
}

// Rules are the parameters of the segment, program and lifecycle rules. A
// workspace may change every one; DefaultRules returns the handbook's.
type Rules struct {
	// StrategicMinDevelopers is the smallest developer estimate that is
	// Strategic; EnterpriseMinDevelopers the smallest that is Enterprise.
	// Anything smaller is Commercial.
	StrategicMinDevelopers  int         `json:"strategic_min_developers"`
	EnterpriseMinDevelopers int         `json:"enterprise_min_developers"`
	Program                 ProgramRule `json:"program"`
	// OnboardingDays is how long after close an account is Onboarding; the
	// close day is day 0, so day OnboardingDays is the first day after it.
	OnboardingDays int `json:"onboarding_days"`
	// RenewingLeadDays is how many days before the renewal date Renewing
	// starts.
	RenewingLeadDays int `json:"renewing_lead_days"`
	// NurturingMAUOverSeats and NurturingUsageScore are the utilization
	// targets: an account is Nurturing when both are met (≥).
	NurturingMAUOverSeats float64 `json:"nurturing_mau_over_seats"`
	NurturingUsageScore   float64 `json:"nurturing_usage_score"`
	// FallBackToAdopting says whether a Nurturing account that no longer
	// meets its targets goes back to Adopting. The handbook does not say it
	// does, so by default it stays Nurturing and the decision carries
	// SignalTargetsLost for the team to act on.
	FallBackToAdopting bool `json:"fall_back_to_adopting"`
}

// DefaultRules returns the handbook's rules (DESIGN.md §3).
func DefaultRules() Rules {
	return Rules{
		// 001: "Strategic 10k+ devs"; "Enterprise 1.5k - 10k devs".
		StrategicMinDevelopers:  10_000,
		EnterpriseMinDevelopers: 1_500,
		// 004: "check if Account is in the commercial segment and is less
		// than $50k ARR. If so, account is assigned ... Scaled Success".
		Program: ProgramRule{Segment: Commercial, ARRThreshold: 50_000, Direction: Below},
		// 004: "Customers remain in this phase for the first 60 days".
		OnboardingDays: 60,
		// 004: "120 days out from contract renewal, the account transitions
		// into the renewing phase".
		RenewingLeadDays: 120,
		// 004: "utilization targets of 30% Daily Active Use / Monthly Active
		// use and 80% Monthly Active use / Total seats purchased".
		NurturingMAUOverSeats: 0.8,
		NurturingUsageScore:   0.3,
		FallBackToAdopting:    false,
	}
}

// Validate reports the first rule parameter that cannot work, as an Invalid
// *derrors.Error naming the field, so that a workspace file with a bad value
// fails at load rather than mis-assigning accounts.
func (r Rules) Validate() error {
	switch {
	case r.EnterpriseMinDevelopers < 1:
		return derrors.Field(derrors.Invalid, "enterprise_min_developers",
			"enterprise_min_developers must be at least 1, got %d", r.EnterpriseMinDevelopers)
	case r.StrategicMinDevelopers <= r.EnterpriseMinDevelopers:
		return derrors.Field(derrors.Invalid, "strategic_min_developers",
			"strategic_min_developers (%d) must be greater than enterprise_min_developers (%d)",
			r.StrategicMinDevelopers, r.EnterpriseMinDevelopers)
	case !slices.Contains(account.Segments, r.Program.Segment):
		return derrors.Field(derrors.Invalid, "program.segment",
			"program.segment must be one of %v, got %q", account.Segments, r.Program.Segment)
	case r.Program.ARRThreshold < 0:
		return derrors.Field(derrors.Invalid, "program.arr_threshold",
			"program.arr_threshold must not be negative, got %d", r.Program.ARRThreshold)
	case r.Program.Direction != Below && r.Program.Direction != Above:
		return derrors.Field(derrors.Invalid, "program.direction",
			"program.direction must be %q or %q, got %q", Below, Above, r.Program.Direction)
	case r.OnboardingDays < 0:
		return derrors.Field(derrors.Invalid, "onboarding_days",
			"onboarding_days must not be negative, got %d", r.OnboardingDays)
	case r.RenewingLeadDays < 0:
		return derrors.Field(derrors.Invalid, "renewing_lead_days",
			"renewing_lead_days must not be negative, got %d", r.RenewingLeadDays)
	case !(r.NurturingMAUOverSeats > 0): // also rejects NaN
		return derrors.Field(derrors.Invalid, "nurturing_mau_over_seats",
			"nurturing_mau_over_seats must be greater than 0, got %s", fmt.Sprint(r.NurturingMAUOverSeats))
	case !(r.NurturingUsageScore > 0 && r.NurturingUsageScore <= 1):
		// Usage score is 4-week average DAU over last month's MAU, so it
		// cannot exceed 1 by much; a target above 1 could never be met.
		return derrors.Field(derrors.Invalid, "nurturing_usage_score",
			"nurturing_usage_score must be greater than 0 and at most 1, got %s", fmt.Sprint(r.NurturingUsageScore))
	}
	return nil
}
