package demo

import (
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/lifecycle"
)

// The handbook's segment, program and lifecycle values (DESIGN.md §3).
const (
	segmentStrategic  = "Strategic"
	segmentEnterprise = "Enterprise"
	segmentCommercial = "Commercial"

	programManaged = "Managed"
	programScaled  = "Scaled Success"

	stageProspect   = "0. Prospect"
	stageOnboarding = "1. Onboarding"
	stageAdopting   = "2. Adopting"
	stageNurturing  = "3. Nurturing"
	stageRenewing   = "4. Renewing"
)

// Every generated account is placed by the lifecycle package's rules
// (the handbook's defaults), so it is one the handbook's playbooks would
// have produced.
var rules = lifecycle.DefaultRules()

// segmentOf is 004's "Customer Segmentation Assignment".
func segmentOf(developers int) string {
	seg, _ := lifecycle.Segment(rules, developers)
	return seg
}

// programOf is 004's "Assign Scaled Success Accounts" rule.
func programOf(segment string, arr int64) string {
	prog, _ := lifecycle.Program(rules, segment, arr)
	return prog
}

// supportLevelOf is the TA support level that goes with a program.
func supportLevelOf(program string) string {
	if program == programScaled {
		return "scaled"
	}
	return "managed"
}

// stageOf places an account in the lifecycle (004 "Post-Sales Customer
// Lifecycle"). A generated account has no stage before, so Nurturing is
// reached only by meeting both utilization targets. outcome is the
// renewal_outcome trait: any outcome means the renewal was processed, a
// full churn ends the account.
func stageOf(today, closeDate, renewal date.Date, usage, mauOverSeats *float64, outcome string) string {
	return lifecycle.Stage(rules, lifecycle.Input{Now: today, Close: closeDate, Renewal: renewal,
		UsageScore: usage, MAUOverSeats: mauOverSeats,
		RenewalProcessed: outcome != "", Churned: outcome == assess.OutcomeFullChurn}).Stage
}

// The rules' numbers the generator draws dates and usage around.
var (
	onboardingDays    = rules.OnboardingDays
	renewingDays      = rules.RenewingLeadDays
	targetUsageScore  = rules.NurturingUsageScore
	targetMAUOverSeat = rules.NurturingMAUOverSeats
)
