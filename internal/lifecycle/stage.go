package lifecycle

import (
	"fmt"
	"math"
	"strings"

	"github.com/tendhq/tend/internal/date"
)

// Signals a Decision may carry: facts the team should act on that do not, by
// themselves, change the stage.
const (
	// SignalTargetsLost: a Nurturing account no longer meets its
	// utilization targets (whether or not it falls back to Adopting).
	SignalTargetsLost = "targets lost"
	// SignalRenewalOverdue: the renewal date has passed and the renewal has
	// not been processed.
	SignalRenewalOverdue = "renewal overdue"
	// SignalUsageMissing: the account is past Onboarding but has no
	// MAU/seats or usage score, so its targets cannot be judged.
	SignalUsageMissing = "usage data missing"
)

// Input is what the stage rules read about one account. Dates that are not
// set are the zero date.Date.
type Input struct {
	// Now is today, from the engine's clock.
	Now date.Date
	// ExpectedClose is only explained; Close decides (a deal that has not
	// closed is a Prospect whatever its expected date).
	ExpectedClose date.Date
	Close         date.Date
	Renewal       date.Date
	// Churned reports a full churn: the account has ended.
	Churned bool
	// RenewalProcessed reports that the renewal due on Renewal has been
	// processed (004: "Renewal event complete") though Renewal has not yet
	// moved to the next term; the account then returns to Adopting or
	// Nurturing by its metrics. Moving Renewal forward has the same effect.
	RenewalProcessed bool
	// CurrentStage is the stage the account has now; it matters only for
	// Nurturing, which an account keeps when its targets are lost unless
	// Rules.FallBackToAdopting.
	CurrentStage string
	// MAUOverSeats (last complete month's MAU ÷ seats) and UsageScore
	// (4-week average DAU ÷ last month's MAU); nil when there is no usage
	// data.
	MAUOverSeats *float64
	UsageScore   *float64
	// Seats, when known (> 0), lets the explanation say how many more
	// monthly active users would meet the MAU/seats target.
	Seats int
}

// Decision is the stage the rules give an account, why, the signals raised
// and what would move it to its next stage.
type Decision struct {
	Stage   string   `json:"stage"`
	Reason  Reason   `json:"reason"`
	Signals []string `json:"signals,omitempty"`
	// Move says what would move the account on: for Adopting, how far each
	// utilization target is; for time-driven stages, when the next one
	// starts.
	Move []string `json:"move,omitempty"`
}

// Stage applies the lifecycle rules (004, DESIGN.md §3), in this order:
// Churned after a full churn; Prospect until the deal closes; Renewing from
// RenewingLeadDays before an unprocessed renewal (it takes precedence over
// every post-close stage); Onboarding for the first OnboardingDays after
// close; then Nurturing when both utilization targets are met and Adopting
// otherwise — except that a Nurturing account whose targets are lost stays
// Nurturing unless FallBackToAdopting, with SignalTargetsLost either way.
func Stage(r Rules, in Input) Decision {
	if in.Churned {
		return Decision{Stage: Churned, Reason: Reason{"stage.churned", "Churned: the account fully churned"}}
	}
	if in.Close.IsZero() || in.Now.Before(in.Close) {
		return prospect(in)
	}
	var d Decision
	renewing := !in.Renewal.IsZero() && !in.RenewalProcessed
	if renewing {
		away := in.Now.DaysUntil(in.Renewal)
		switch {
		case away < 0:
			return Decision{Stage: Renewing, Signals: []string{SignalRenewalOverdue}, Reason: Reason{"stage.renewing", fmt.Sprintf(
				"Renewing: renewal %s was %s ago and has not been processed", in.Renewal, days(-away))}}
		case away == 0:
			return Decision{Stage: Renewing, Reason: Reason{"stage.renewing", fmt.Sprintf(
				"Renewing: renewal %s is today", in.Renewal)}}
		case away <= r.RenewingLeadDays:
			return Decision{Stage: Renewing, Reason: Reason{"stage.renewing", fmt.Sprintf(
				"Renewing: renewal %s is %s away (≤ %d)", in.Renewal, days(away), r.RenewingLeadDays)}}
		}
	}
	since := in.Close.DaysUntil(in.Now)
	if since < r.OnboardingDays {
		ago := "closed today"
		if since > 0 {
			ago = "closed " + days(since) + " ago"
		}
		d = Decision{Stage: Onboarding, Reason: Reason{"stage.onboarding", fmt.Sprintf(
			"Onboarding: %s (first %d days)", ago, r.OnboardingDays)}}
		d.Move = append(d.Move, fmt.Sprintf("Onboarding ends on %s (in %s)",
			in.Close.AddDays(r.OnboardingDays), days(r.OnboardingDays-since)))
	} else {
		d = byMetrics(r, in)
	}
	if renewing {
		// Renewing is the next time-driven stage of every post-close stage.
		starts := in.Renewal.AddDays(-r.RenewingLeadDays)
		d.Move = append(d.Move, fmt.Sprintf("Renewing starts on %s (in %s, %d days before renewal %s)",
			starts, days(in.Now.DaysUntil(starts)), r.RenewingLeadDays, in.Renewal))
	}
	return d
}

// prospect explains a deal that has not closed.
func prospect(in Input) Decision {
	var b strings.Builder
	b.WriteString("Prospect: ")
	if in.Close.IsZero() {
		b.WriteString("the deal has not closed (no close date)")
	} else {
		fmt.Fprintf(&b, "the deal closes on %s (in %s)", in.Close, days(in.Now.DaysUntil(in.Close)))
	}
	if !in.ExpectedClose.IsZero() && in.Close.IsZero() {
		if n := in.Now.DaysUntil(in.ExpectedClose); n >= 0 {
			fmt.Fprintf(&b, "; expected close %s (in %s)", in.ExpectedClose, days(n))
		} else {
			fmt.Fprintf(&b, "; expected close %s was %s ago", in.ExpectedClose, days(-n))
		}
	}
	return Decision{Stage: Prospect, Reason: Reason{"stage.prospect", b.String()},
		Move: []string{"Onboarding starts when the deal closes"}}
}

// byMetrics decides between Adopting and Nurturing after Onboarding.
func byMetrics(r Rules, in Input) Decision {
	wasNurturing := in.CurrentStage == Nurturing
	if in.MAUOverSeats == nil || in.UsageScore == nil {
		var missing []string
		if in.MAUOverSeats == nil {
			missing = append(missing, "MAU/seats")
		}
		if in.UsageScore == nil {
			missing = append(missing, "usage score")
		}
		what := strings.Join(missing, " and ")
		if wasNurturing {
			// Missing data is not evidence that the targets were lost, so
			// it never moves a Nurturing account back.
			return Decision{Stage: Nurturing, Signals: []string{SignalUsageMissing}, Reason: Reason{"stage.nurturing", fmt.Sprintf(
				"Nurturing: stays, as %s data is missing and the targets cannot be checked", what)}}
		}
		return Decision{Stage: Adopting, Signals: []string{SignalUsageMissing}, Reason: Reason{"stage.adopting", fmt.Sprintf(
			"Adopting: %s data is missing, so the utilization targets (MAU/seats ≥ %s, usage ≥ %s) cannot be shown to hold",
			what, target(r.NurturingMAUOverSeats), target(r.NurturingUsageScore))},
			Move: []string{"usage data: " + what + " must be known before the account can be Nurturing"}}
	}
	mau, usage := *in.MAUOverSeats, *in.UsageScore
	mauOK, usageOK := meets(mau, r.NurturingMAUOverSeats), meets(usage, r.NurturingUsageScore)
	values := fmt.Sprintf("MAU/seats %s; usage %s",
		status(mau, r.NurturingMAUOverSeats), status(usage, r.NurturingUsageScore))
	if mauOK && usageOK {
		return Decision{Stage: Nurturing, Reason: Reason{"stage.nurturing", "Nurturing: " + values}}
	}
	move := moves(r, in.Seats, mau, usage)
	if wasNurturing {
		if r.FallBackToAdopting {
			return Decision{Stage: Adopting, Signals: []string{SignalTargetsLost}, Move: move, Reason: Reason{"stage.adopting",
				"Adopting: targets lost while Nurturing — " + values + " (fall back to Adopting is on)"}}
		}
		return Decision{Stage: Nurturing, Signals: []string{SignalTargetsLost}, Move: move, Reason: Reason{"stage.nurturing",
			"Nurturing: stays though targets are lost — " + values + " (fall back to Adopting is off)"}}
	}
	return Decision{Stage: Adopting, Move: move, Reason: Reason{"stage.adopting", "Adopting: " + values}}
}

// status shows a metric against its target: "0.34 ✓" or "0.72 of 0.80 needed".
func status(v, t float64) string {
	if meets(v, t) {
		return ratio(v, t) + " ✓"
	}
	return ratio(v, t) + " of " + target(t) + " needed"
}

// target formats a target with two decimals.
func target(t float64) string { return fmt.Sprintf("%.2f", t) }

// moves says how far each unmet target is.
func moves(r Rules, seats int, mau, usage float64) []string {
	var out []string
	if t := r.NurturingMAUOverSeats; !meets(mau, t) {
		s := fmt.Sprintf("MAU/seats %s → %s (+%s)", ratio(mau, t), target(t), gap(mau, t))
		if seats > 0 {
			// The MAU/seats value came from whole users, so round back to them.
			have := int(math.Round(mau * float64(seats)))
			need := int(math.Ceil(t*float64(seats) - eps))
			if n := need - have; n > 0 {
				users := "users"
				if n == 1 {
					users = "user"
				}
				s += fmt.Sprintf(": %d more monthly active %s reaches %.0f%% of %s seats",
					n, users, t*100, thousands(int64(seats)))
			}
		}
		out = append(out, s)
	}
	if t := r.NurturingUsageScore; !meets(usage, t) {
		out = append(out, fmt.Sprintf("usage score %s → %s (+%s)", ratio(usage, t), target(t), gap(usage, t)))
	}
	return out
}

// gap formats how far v is below t, never showing 0.00 for a real shortfall.
func gap(v, t float64) string {
	g := t - v
	s := fmt.Sprintf("%.2f", g)
	if s == "0.00" {
		return "<0.01"
	}
	return s
}
