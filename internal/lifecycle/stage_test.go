package lifecycle

import (
	"slices"
	"testing"

	"github.com/tendhq/tend/internal/date"
)

func f(v float64) *float64 { return &v }

// now is the day every stage case is judged on.
var now = date.MustParse("2026-06-01")

// post is an account closed long ago, renewing far ahead, with the given
// metrics: the shape of every Adopting/Nurturing case.
func post(stage string, mau, usage *float64) Input {
	return Input{Now: now, Close: now.AddDays(-200), Renewal: now.AddDays(300),
		CurrentStage: stage, MAUOverSeats: mau, UsageScore: usage}
}

func TestStage(t *testing.T) {
	t.Parallel()
	def := DefaultRules()
	fallback := DefaultRules()
	fallback.FallBackToAdopting = true
	for _, tc := range []struct {
		name    string
		rules   Rules
		in      Input
		stage   string
		reason  string
		signals []string
		move    []string
	}{
		// 004: "0. Prospect - a late-stage new business prospect that is 45- days out from closing."
		{name: "missing close date → Prospect", rules: def,
			in:    Input{Now: now, ExpectedClose: now.AddDays(45)},
			stage: Prospect, reason: "Prospect: the deal has not closed (no close date); expected close 2026-07-16 (in 45 days)",
			move: []string{"Onboarding starts when the deal closes"}},
		{name: "expected close passed without a close date → still Prospect", rules: def,
			in:    Input{Now: now, ExpectedClose: now.AddDays(-3)},
			stage: Prospect, reason: "Prospect: the deal has not closed (no close date); expected close 2026-05-29 was 3 days ago",
			move: []string{"Onboarding starts when the deal closes"}},
		{name: "close date ahead → Prospect", rules: def,
			in:    Input{Now: now, Close: now.AddDays(1), Renewal: now.AddDays(366)},
			stage: Prospect, reason: "Prospect: the deal closes on 2026-06-02 (in 1 day)",
			move: []string{"Onboarding starts when the deal closes"}},

		// 004: "when the deal closes, the account enters the onboarding phase ... Customers remain in this phase for the first 60 days of the partnership"
		{name: "closed today → Onboarding", rules: def,
			in:    Input{Now: now, Close: now, Renewal: now.AddDays(365)},
			stage: Onboarding, reason: "Onboarding: closed today (first 60 days)",
			move: []string{"Onboarding ends on 2026-07-31 (in 60 days)",
				"Renewing starts on 2027-02-01 (in 245 days, 120 days before renewal 2027-06-01)"}},
		{name: "closed 12 days ago → Onboarding", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-12), Renewal: now.AddDays(353)},
			stage: Onboarding, reason: "Onboarding: closed 12 days ago (first 60 days)",
			move: []string{"Onboarding ends on 2026-07-19 (in 48 days)",
				"Renewing starts on 2027-01-20 (in 233 days, 120 days before renewal 2027-05-20)"}},
		{name: "day 59 after close → still Onboarding, even with targets met", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-59), MAUOverSeats: f(0.9), UsageScore: f(0.5)},
			stage: Onboarding, reason: "Onboarding: closed 59 days ago (first 60 days)",
			move: []string{"Onboarding ends on 2026-06-02 (in 1 day)"}},
		// 004: "2. Adopting - after the initial onboarding phase, the account enters the adoption phase."
		{name: "day 60 after close → Adopting", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-60), MAUOverSeats: f(0.72), UsageScore: f(0.34), Seats: 200},
			stage: Adopting, reason: "Adopting: MAU/seats 0.72 of 0.80 needed; usage 0.34 ✓",
			move: []string{"MAU/seats 0.72 → 0.80 (+0.08): 16 more monthly active users reaches 80% of 200 seats"}},
		{name: "day 61 after close → Adopting", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-61), MAUOverSeats: f(0.5), UsageScore: f(0.1)},
			stage: Adopting, reason: "Adopting: MAU/seats 0.50 of 0.80 needed; usage 0.10 of 0.30 needed",
			move: []string{"MAU/seats 0.50 → 0.80 (+0.30)", "usage score 0.10 → 0.30 (+0.20)"}},
		// 004: "once the customer hits their utilization targets, % consumption, they enter the nurturing phase"
		{name: "day 60 with targets met → straight to Nurturing", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-60), MAUOverSeats: f(0.8), UsageScore: f(0.3)},
			stage: Nurturing, reason: "Nurturing: MAU/seats 0.80 ✓; usage 0.30 ✓"},

		// 004: "Customers remain in this phase until they hit our utilization targets of 30% Daily Active Use / Monthly Active use and 80% Monthly Active use / Total seats purchased."
		{name: "MAU/seats 0.79 and usage 0.31 → still Adopting", rules: def,
			in: post(Adopting, f(0.79), f(0.31)), stage: Adopting, reason: "Adopting: MAU/seats 0.79 of 0.80 needed; usage 0.31 ✓",
			move: []string{"MAU/seats 0.79 → 0.80 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "MAU/seats 0.80 and usage 0.29 → still Adopting", rules: def,
			in: post(Adopting, f(0.80), f(0.29)), stage: Adopting, reason: "Adopting: MAU/seats 0.80 ✓; usage 0.29 of 0.30 needed",
			move: []string{"usage score 0.29 → 0.30 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "MAU/seats 0.79 and usage 0.29 → still Adopting", rules: def,
			in: post(Adopting, f(0.79), f(0.29)), stage: Adopting, reason: "Adopting: MAU/seats 0.79 of 0.80 needed; usage 0.29 of 0.30 needed",
			move: []string{"MAU/seats 0.79 → 0.80 (+0.01)", "usage score 0.29 → 0.30 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "MAU/seats 0.80 and usage 0.30 → Nurturing", rules: def,
			in: post(Adopting, f(0.80), f(0.30)), stage: Nurturing, reason: "Nurturing: MAU/seats 0.80 ✓; usage 0.30 ✓",
			move: []string{"Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "ratios computed by division meet their targets", rules: def,
			in: post(Adopting, f(160.0/200.0), f(0.1*3)), stage: Nurturing, reason: "Nurturing: MAU/seats 0.80 ✓; usage 0.30 ✓",
			move: []string{"Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "0.799 is not shown as 0.80 of 0.80 needed", rules: def,
			in: Input{Now: now, Close: now.AddDays(-100), MAUOverSeats: f(0.799), UsageScore: f(0.3), Seats: 1000}, stage: Adopting,
			reason: "Adopting: MAU/seats 0.799 of 0.80 needed; usage 0.30 ✓",
			move:   []string{"MAU/seats 0.799 → 0.80 (+<0.01): 1 more monthly active user reaches 80% of 1,000 seats"}},
		{name: "no usage data → Adopting, saying it is missing", rules: def,
			in: Input{Now: now, Close: now.AddDays(-100)}, stage: Adopting,
			reason:  "Adopting: MAU/seats and usage score data is missing, so the utilization targets (MAU/seats ≥ 0.80, usage ≥ 0.30) cannot be shown to hold",
			signals: []string{SignalUsageMissing},
			move:    []string{"usage data: MAU/seats and usage score must be known before the account can be Nurturing"}},
		{name: "no usage score → Adopting, saying it is missing", rules: def,
			in: Input{Now: now, Close: now.AddDays(-100), MAUOverSeats: f(0.95)}, stage: Adopting,
			reason:  "Adopting: usage score data is missing, so the utilization targets (MAU/seats ≥ 0.80, usage ≥ 0.30) cannot be shown to hold",
			signals: []string{SignalUsageMissing},
			move:    []string{"usage data: usage score must be known before the account can be Nurturing"}},
		{name: "Nurturing with its usage data gone stays Nurturing", rules: fallback,
			in: Input{Now: now, Close: now.AddDays(-100), CurrentStage: Nurturing}, stage: Nurturing,
			reason:  "Nurturing: stays, as MAU/seats and usage score data is missing and the targets cannot be checked",
			signals: []string{SignalUsageMissing}},

		// DESIGN.md §3: whether Nurturing falls back to Adopting is a workspace setting (default: it does not; it raises a signal).
		{name: "Nurturing keeping its targets stays Nurturing", rules: def,
			in: post(Nurturing, f(0.85), f(0.40)), stage: Nurturing, reason: "Nurturing: MAU/seats 0.85 ✓; usage 0.40 ✓",
			move: []string{"Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "Nurturing losing targets without fallback stays Nurturing with a signal", rules: def,
			in: post(Nurturing, f(0.79), f(0.31)), stage: Nurturing,
			reason:  "Nurturing: stays though targets are lost — MAU/seats 0.79 of 0.80 needed; usage 0.31 ✓ (fall back to Adopting is off)",
			signals: []string{SignalTargetsLost},
			move:    []string{"MAU/seats 0.79 → 0.80 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "Nurturing losing targets with fallback goes back to Adopting with a signal", rules: fallback,
			in: post(Nurturing, f(0.79), f(0.31)), stage: Adopting,
			reason:  "Adopting: targets lost while Nurturing — MAU/seats 0.79 of 0.80 needed; usage 0.31 ✓ (fall back to Adopting is on)",
			signals: []string{SignalTargetsLost},
			move:    []string{"MAU/seats 0.79 → 0.80 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},
		{name: "Adopting is not sticky: fallback setting does not matter below targets", rules: fallback,
			in: post(Adopting, f(0.79), f(0.31)), stage: Adopting, reason: "Adopting: MAU/seats 0.79 of 0.80 needed; usage 0.31 ✓",
			move: []string{"MAU/seats 0.79 → 0.80 (+0.01)", "Renewing starts on 2026-11-28 (in 180 days, 120 days before renewal 2027-03-28)"}},

		// 004: "4. Renewing - 120 days out from contract renewal, the account transitions into the renewing phase."
		{name: "renewal 121 days away → not yet Renewing", rules: def,
			in: post(Nurturing, f(0.9), f(0.4)).withRenewal(121), stage: Nurturing, reason: "Nurturing: MAU/seats 0.90 ✓; usage 0.40 ✓",
			move: []string{"Renewing starts on 2026-06-02 (in 1 day, 120 days before renewal 2026-09-30)"}},
		{name: "renewal 120 days away → Renewing", rules: def,
			in: post(Nurturing, f(0.9), f(0.4)).withRenewal(120), stage: Renewing, reason: "Renewing: renewal 2026-09-29 is 120 days away (≤ 120)"},
		{name: "renewal 119 days away → Renewing", rules: def,
			in: post(Adopting, f(0.1), f(0.1)).withRenewal(119), stage: Renewing, reason: "Renewing: renewal 2026-09-28 is 119 days away (≤ 120)"},
		{name: "renewal 87 days away → Renewing", rules: def,
			in: post(Adopting, nil, nil).withRenewal(87), stage: Renewing, reason: "Renewing: renewal 2026-08-27 is 87 days away (≤ 120)"},
		{name: "renewal today → Renewing", rules: def,
			in: post(Renewing, nil, nil).withRenewal(0), stage: Renewing, reason: "Renewing: renewal 2026-06-01 is today"},
		// DESIGN.md §3: Renewing "takes precedence".
		{name: "Renewing takes precedence over Onboarding", rules: def,
			in:    Input{Now: now, Close: now.AddDays(-10), Renewal: now.AddDays(100)},
			stage: Renewing, reason: "Renewing: renewal 2026-09-09 is 100 days away (≤ 120)"},
		{name: "renewal in the past without processing → Renewing, overdue", rules: def,
			in: post(Renewing, f(0.9), f(0.4)).withRenewal(-5), stage: Renewing,
			reason:  "Renewing: renewal 2026-05-27 was 5 days ago and has not been processed",
			signals: []string{SignalRenewalOverdue}},
		// DESIGN.md §3: "After a renewal is processed the account returns to Adopting or Nurturing by its metrics"
		{name: "processed renewal with targets met → Nurturing", rules: def,
			in: post(Renewing, f(0.9), f(0.4)).withRenewal(-5).processed(), stage: Nurturing, reason: "Nurturing: MAU/seats 0.90 ✓; usage 0.40 ✓"},
		{name: "processed renewal below targets → Adopting, fallback setting aside", rules: def,
			in: post(Renewing, f(0.6), f(0.4)).withRenewal(30).processed(), stage: Adopting, reason: "Adopting: MAU/seats 0.60 of 0.80 needed; usage 0.40 ✓",
			move: []string{"MAU/seats 0.60 → 0.80 (+0.20)"}},
		{name: "renewal date moved to the next term → back by metrics", rules: def,
			in: post(Renewing, f(0.6), f(0.4)).withRenewal(360), stage: Adopting, reason: "Adopting: MAU/seats 0.60 of 0.80 needed; usage 0.40 ✓",
			move: []string{"MAU/seats 0.60 → 0.80 (+0.20)", "Renewing starts on 2027-01-27 (in 240 days, 120 days before renewal 2027-05-27)"}},

		// DESIGN.md §3: "a full churn ends the account (Churned)"
		{name: "full churn → Churned, whatever else holds", rules: def,
			in: post(Renewing, f(0.9), f(0.4)).withRenewal(-1).churned(), stage: Churned, reason: "Churned: the account fully churned"},
		{name: "churned prospect → Churned", rules: def,
			in: Input{Now: now, Churned: true}, stage: Churned, reason: "Churned: the account fully churned"},

		// Edited rules change the boundaries.
		{name: "a 90-day onboarding keeps day 60 in Onboarding", rules: Rules{OnboardingDays: 90, RenewingLeadDays: 120, NurturingMAUOverSeats: 0.8, NurturingUsageScore: 0.3},
			in: Input{Now: now, Close: now.AddDays(-60)}, stage: Onboarding, reason: "Onboarding: closed 60 days ago (first 90 days)",
			move: []string{"Onboarding ends on 2026-07-01 (in 30 days)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Stage(tc.rules, tc.in)
			if got.Stage != tc.stage {
				t.Errorf("stage = %q; want %q (reason %q)", got.Stage, tc.stage, got.Reason.Text)
			}
			if got.Reason.Text != tc.reason {
				t.Errorf("reason =\n  %q\nwant\n  %q", got.Reason.Text, tc.reason)
			}
			if want := "stage." + stageRule[tc.stage]; got.Reason.Rule != want {
				t.Errorf("rule = %q; want %q", got.Reason.Rule, want)
			}
			if !slices.Equal(got.Signals, tc.signals) {
				t.Errorf("signals = %q; want %q", got.Signals, tc.signals)
			}
			if !slices.Equal(got.Move, tc.move) {
				t.Errorf("move =\n  %q\nwant\n  %q", got.Move, tc.move)
			}
		})
	}
}

var stageRule = map[string]string{Prospect: "prospect", Onboarding: "onboarding", Adopting: "adopting",
	Nurturing: "nurturing", Renewing: "renewing", Churned: "churned"}

func (in Input) withRenewal(daysAway int) Input { in.Renewal = in.Now.AddDays(daysAway); return in }
func (in Input) processed() Input               { in.RenewalProcessed = true; return in }
func (in Input) churned() Input                 { in.Churned = true; return in }

// TestStageWalk follows one account through its life day by day and checks
// the days on which its stage changes, as the engine's clock tick will.
func TestStageWalk(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	closed := date.MustParse("2026-01-15")
	renewal := date.MustParse("2027-01-15")
	in := Input{ExpectedClose: closed, Renewal: renewal, MAUOverSeats: f(0.5), UsageScore: f(0.2)}
	type change struct {
		day   string
		stage string
	}
	var got []change
	stage := ""
	for day := date.MustParse("2025-12-01"); !day.After(date.MustParse("2027-02-01")); day = day.AddDays(1) {
		in.Now = day
		if day == closed {
			in.Close = closed
		}
		if day == date.MustParse("2026-05-01") { // usage reaches the targets
			in.MAUOverSeats, in.UsageScore = f(0.82), f(0.31)
		}
		if day == date.MustParse("2026-07-01") { // and drops again
			in.MAUOverSeats = f(0.7)
		}
		if day == date.MustParse("2027-01-20") { // renewal processed: next term
			in.Renewal = date.MustParse("2028-01-15")
		}
		in.CurrentStage = stage
		if d := Stage(r, in); d.Stage != stage {
			stage = d.Stage
			got = append(got, change{day.String(), stage})
		}
	}
	want := []change{
		{"2025-12-01", Prospect},
		{"2026-01-15", Onboarding}, // close day
		{"2026-03-16", Adopting},   // 60 days after close
		{"2026-05-01", Nurturing},  // targets met
		// 2026-07-01: targets lost, but Nurturing stays (no fallback by default)
		{"2026-09-17", Renewing}, // 120 days before 2027-01-15
		{"2027-01-20", Adopting}, // processed; MAU/seats 0.70 below target
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n  %v\nwant\n  %v", got, want)
	}
}
