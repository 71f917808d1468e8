package demo

import (
	"github.com/tendhq/tend/internal/date"
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

// The rules below restate DESIGN.md §3 so that every generated account is
// one the handbook's playbooks would have produced. They are the demo's
// own copy until the lifecycle package exists; the demo must agree with
// it then.

// segmentOf is 004's "Customer Segmentation Assignment": Strategic is
// 10,000+ developers, Enterprise 1,500 to 9,999, Commercial under 1,500.
func segmentOf(developers int) string {
	switch {
	case developers >= 10000:
		return segmentStrategic
	case developers >= 1500:
		return segmentEnterprise
	}
	return segmentCommercial
}

// scaledARRLimit is the "Assign Scaled Success Accounts" threshold (004).
const scaledARRLimit = 50_000

// programOf is 004's scaled-success rule: Commercial accounts under $50k
// ARR are Scaled Success, everyone else has a named TA.
func programOf(segment string, arr int64) string {
	if segment == segmentCommercial && arr < scaledARRLimit {
		return programScaled
	}
	return programManaged
}

// supportLevelOf is the TA support level that goes with a program.
func supportLevelOf(program string) string {
	if program == programScaled {
		return "scaled"
	}
	return "managed"
}

// Lifecycle thresholds (004 "Post-Sales Customer Lifecycle").
const (
	onboardingDays    = 60   // Onboarding lasts the first 60 days after close
	renewingDays      = 120  // Renewing starts 120 days before the renewal date
	targetUsageScore  = 0.30 // utilization targets that end Adopting
	targetMAUOverSeat = 0.80
)

// stageOf places an account in the lifecycle: Prospect until the deal
// closes, Renewing from 120 days before renewal (it takes precedence),
// Onboarding for the 60 days after close, then Adopting until both
// utilization targets hold, then Nurturing. A missing metric means the
// target is not shown to be met.
func stageOf(today, closeDate, renewal date.Date, usage, mauOverSeats *float64) string {
	switch {
	case closeDate.IsZero() || today.Before(closeDate):
		return stageProspect
	case !renewal.IsZero() && today.DaysUntil(renewal) <= renewingDays:
		return stageRenewing
	case closeDate.DaysUntil(today) < onboardingDays:
		return stageOnboarding
	case usage != nil && mauOverSeats != nil && *usage >= targetUsageScore && *mauOverSeats >= targetMAUOverSeat:
		return stageNurturing
	}
	return stageAdopting
}
