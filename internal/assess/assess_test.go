package assess_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/workspace"
)

func defaultWS(t *testing.T) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// closed is a post-sales account closed days ago, renewing in a year.
func closed(days int, traits map[string]any) assess.Input {
	d := date.Of(now)
	return assess.Input{Account: account.Account{ID: 1, Name: "Initech", EstimatedDevelopers: 900, ARR: 40_000, Seats: 100,
		CloseDate: d.AddDays(-days), RenewalDate: d.AddDays(365)}, Traits: traits, Contacts: map[string]int{}}
}

func TestAssess(t *testing.T) {
	ws := defaultWS(t)
	healthy := map[string]any{"usage_score": 0.35, "last_month_mau_over_seats": 0.85, "seat_utilization": 0.9,
		"ta_pulse": "Healthy", "active_champion": true, "access_to_buyer": true}
	for _, tc := range []struct {
		name                    string
		in                      assess.Input
		segment, program, stage string
		model, color            string
	}{
		// 004: "Assign Scaled Success Accounts ... commercial segment and is
		// less than $50k ARR"; 004: "Customers remain in this phase for the
		// first 60 days"; the onboarding model applies in Onboarding.
		{"Commercial, $40k, closed 10 days ago → Scaled Success, Onboarding, onboarding model",
			closed(10, healthy), "Commercial", "Scaled Success", "1. Onboarding", "onboarding", "green"},
		// 004: Nurturing "once the customer hits their utilization targets".
		{"closed 90 days ago, targets met → Nurturing, default model",
			closed(90, healthy), "Commercial", "Scaled Success", "3. Nurturing", "default", "green"},
		{"no traits at all → no score, no colour (a missing value is left out, never scored 0)",
			closed(90, map[string]any{}), "Commercial", "Scaled Success", "2. Adopting", "default", ""},
		// 004 "Renewal Forecast": the outcome ends the term; a full churn
		// ends the account.
		{"renewal outcome Full churn → Churned",
			func() assess.Input {
				in := closed(400, map[string]any{"renewal_outcome": "Full churn"})
				in.Account.RenewalDate = date.Of(now).AddDays(10)
				return in
			}(), "Commercial", "Scaled Success", "Churned", "default", ""},
		{"renewal 10 days away, not processed → Renewing",
			func() assess.Input {
				in := closed(400, healthy)
				in.Account.RenewalDate = date.Of(now).AddDays(10)
				return in
			}(), "Commercial", "Scaled Success", "4. Renewing", "default", "green"},
		{"renewal 10 days away, processed (outcome Flat) → back to Nurturing by its metrics",
			func() assess.Input {
				traits := map[string]any{"renewal_outcome": "Flat"}
				for k, v := range healthy {
					traits[k] = v
				}
				in := closed(400, traits)
				in.Account.RenewalDate = date.Of(now).AddDays(10)
				return in
			}(), "Commercial", "Scaled Success", "3. Nurturing", "default", "green"},
		// 004: "0. Prospect - a late-stage new business prospect": health
		// is the customer's, scored from the close.
		{"not closed yet → Prospect, not scored",
			func() assess.Input { in := closed(90, healthy); in.Account.CloseDate = date.Date{}; return in }(),
			"Commercial", "Scaled Success", "0. Prospect", "", ""},
		// 001: "Strategic 10k+ devs, any amount of ARR spend" — Managed.
		{"12,000 developers → Strategic, Managed",
			func() assess.Input { in := closed(90, healthy); in.Account.EstimatedDevelopers = 12_000; return in }(),
			"Strategic", "Managed", "3. Nurturing", "default", "green"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := assess.Assess(ws, tc.in, now)
			if s.Problem != "" {
				t.Fatalf("problem: %s", s.Problem)
			}
			if s.Segment != tc.segment || s.Program != tc.program || s.Stage.Stage != tc.stage || s.Model != tc.model || s.Color() != tc.color {
				t.Errorf("got %s / %s / %s / model %s / %q; want %s / %s / %s / model %s / %q\nstage reason: %s",
					s.Segment, s.Program, s.Stage.Stage, s.Model, s.Color(), tc.segment, tc.program, tc.stage, tc.model, tc.color, s.Stage.Reason.Text)
			}
			if s.SegmentReason.Text == "" || s.ProgramReason.Text == "" || s.Stage.Reason.Text == "" || s.ModelReason == "" {
				t.Errorf("a decision has no reason: %+v", s)
			}
		})
	}
}

func TestOnboardingModelReadsSeatUtilization(t *testing.T) {
	ws := defaultWS(t)
	// Onboarding: the last complete month predates the close, so the
	// onboarding model reads the trailing 30 days over seats instead.
	in := closed(20, map[string]any{"usage_score": 0.35, "last_month_mau_over_seats": 0.1, "seat_utilization": 0.85})
	s := assess.Assess(ws, in, now)
	if s.Model != "onboarding" || s.Color() != "green" {
		t.Fatalf("onboarding account with seat utilization 0.85: model %s, colour %q; want onboarding, green", s.Model, s.Color())
	}
	in = closed(90, in.Traits)
	if s := assess.Assess(ws, in, now); s.Model != "default" || s.Color() != "yellow" {
		t.Errorf("after Onboarding, MAU/seats 0.10 counts: model %s, colour %q (score %v); want default, yellow",
			s.Model, s.Color(), s.Score())
	}
}

func TestDiff(t *testing.T) {
	ws := defaultWS(t)
	traits := map[string]any{"usage_score": 0.35, "last_month_mau_over_seats": 0.85, "ta_pulse": "Healthy",
		"active_champion": true, "access_to_buyer": true}
	before := assess.Assess(ws, closed(90, traits), now)
	if cs := assess.Diff(&before, before); len(cs) != 0 {
		t.Errorf("Diff of an assessment with itself = %v, want none", cs)
	}
	first := assess.Diff(nil, before)
	if len(first) != 4 || first[0].Kind != "segment" || first[0].Old != "" || first[3].Kind != "health" || first[3].Direction != 0 {
		t.Errorf("first assessment's changes = %+v; want segment, program, stage and health from nothing", first)
	}

	// A score that moves within its colour is no change.
	t2 := clone(traits)
	t2["usage_score"] = 0.25
	within := assess.Assess(ws, closed(90, t2), now)
	if cs := assess.Diff(&before, within); len(cs) != 1 || cs[0].Kind != "stage" {
		t.Errorf("usage 0.35 → 0.25 (still green? %s): changes %+v; want only the stage (targets lost)", within.Color(), cs)
	}

	t3 := clone(traits)
	t3["usage_score"], t3["last_month_mau_over_seats"] = 0.15, 0.4
	worse := assess.Assess(ws, closed(90, t3), now)
	cs := assess.Diff(&before, worse)
	var h *assess.Change
	for i := range cs {
		if cs[i].Kind == "health" {
			h = &cs[i]
		}
	}
	if h == nil {
		t.Fatalf("usage 0.15 and MAU/seats 0.40: no health change in %+v", cs)
	}
	if h.Old != "green" || h.New != "red" || h.Direction != -1 || *h.OldScore != 10 {
		t.Errorf("health change = %+v; want green → red, worse, from 10", h)
	}
	for _, want := range []string{"Health green → red", "usage score 0.15 healthy → poor", "MAU over seats 0.4 healthy → poor"} {
		if !strings.Contains(h.Reason, want) {
			t.Errorf("reason %q lacks %q", h.Reason, want)
		}
	}
	if len(h.Detail.Metrics) != 2 || h.Detail.Metrics[0].New != health.Poor || h.Detail.Model != "default" {
		t.Errorf("detail = %+v", h.Detail)
	}
	back := assess.Diff(&worse, before)
	if back[len(back)-1].Direction != 1 {
		t.Errorf("red → green direction = %d, want +1 (better)", back[len(back)-1].Direction)
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
