// Package assess puts the pure rules together for one account: its segment,
// program and lifecycle stage (internal/lifecycle), the health model that
// applies to it (the workspace's first model whose condition holds) and its
// health (internal/health), each with the reason people read. Diff says
// what changed between two assessments and why. It is a pure core: an
// account's data and now go in, data comes out; the engine, the API and
// `tend simulate` all call it, so a live run and a simulation cannot
// disagree.
package assess

import (
	"fmt"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/lifecycle"
	"github.com/tendhq/tend/internal/workspace"
)

// The traits the rules read beyond the health model's metrics.
const (
	// TraitUsageScore and TraitMAUOverSeats are the utilization targets
	// of the Nurturing stage (004), computed by the usage engine or set by
	// a warehouse sync.
	TraitUsageScore   = "usage_score"
	TraitMAUOverSeats = "last_month_mau_over_seats"
	// TraitRenewalOutcome is the final outcome of the current term's
	// renewal (004, "Renewal Forecast": full churn, partial churn, flat,
	// incremental). Any outcome means the renewal was processed; a full
	// churn ends the account.
	TraitRenewalOutcome = "renewal_outcome"
	// OutcomeFullChurn is the renewal outcome that churns the account.
	OutcomeFullChurn = "Full churn"
)

// Input is what an assessment reads about one account. It has the fields
// of store.AssessmentInput, so the engine converts one to the other.
type Input struct {
	Account account.Account
	// Traits are the account's trait values by key.
	Traits map[string]any
	// Contacts counts the account's contacts by role.
	Contacts map[string]int
	// Docs are the fields of the account's newest doc of each template.
	Docs map[string]map[string]any
}

// State is an account's assessment at one moment.
type State struct {
	At            time.Time        `json:"at"`
	Segment       string           `json:"segment"`
	SegmentReason lifecycle.Reason `json:"segment_reason"`
	Program       string           `json:"program"`
	ProgramReason lifecycle.Reason `json:"program_reason"`
	// Stage is the lifecycle decision: stage, reason, signals, what would
	// move it.
	Stage lifecycle.Decision `json:"stage"`
	// Model names the health model that applied, and ModelReason why.
	Model       string `json:"model"`
	ModelReason string `json:"model_reason"`
	// Health is the score metric by metric.
	Health health.Result `json:"health"`
	// Problem says why no model could be chosen (a condition that failed
	// to run); Health is then empty.
	Problem string `json:"problem,omitempty"`
}

// Score returns the health score (nil without data).
func (s State) Score() *float64 { return s.Health.Score }

// Color returns the health colour ("" without a score).
func (s State) Color() string { return string(s.Health.Color) }

// Assess applies the workspace's rules to one account at now. The rules
// run in order, each seeing what the one before decided: segment from
// estimated developers, program from segment and ARR, stage from dates and
// utilization, then the first health model whose condition holds for the
// account as it now is (its new stage included), then health.
func Assess(ws *workspace.Workspace, in Input, now time.Time) State {
	loc := ws.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	a := in.Account
	st := State{At: now}
	rules := ws.Lifecycle
	st.Segment, st.SegmentReason = lifecycle.Segment(rules, a.EstimatedDevelopers)
	st.Program, st.ProgramReason = lifecycle.Program(rules, st.Segment, a.ARR)
	outcome, _ := in.Traits[TraitRenewalOutcome].(string)
	st.Stage = lifecycle.Stage(rules, lifecycle.Input{
		Now:              date.Of(now),
		ExpectedClose:    a.ExpectedCloseDate,
		Close:            a.CloseDate,
		Renewal:          a.RenewalDate,
		Churned:          outcome == OutcomeFullChurn,
		RenewalProcessed: outcome != "",
		CurrentStage:     a.Stage,
		MAUOverSeats:     number(in.Traits[TraitMAUOverSeats]),
		UsageScore:       number(in.Traits[TraitUsageScore]),
		Seats:            a.Seats,
	})
	if st.Stage.Stage == lifecycle.Prospect {
		// Health is the customer's (004, "Customer Health"): a deal that
		// has not closed has no product usage or support history to score.
		st.ModelReason = "a prospect is not scored: health starts when the deal closes"
		return st
	}
	// The model's condition reads the account as assessed so far.
	a.Segment, a.Program, a.Stage = st.Segment, st.Program, st.Stage.Stage
	facts := condition.Facts{Account: a, Traits: in.Traits, Contacts: in.Contacts, Docs: in.Docs, Now: now, Location: loc}
	m, why, err := ws.HealthModelFor(facts)
	if err != nil {
		st.Problem = err.Error()
		return st
	}
	st.Model, st.ModelReason = m.Name, why
	st.Health = health.Score(m, in.Traits, now)
	return st
}

// Explain says what would move the account's health, under the model that
// applied.
func Explain(ws *workspace.Workspace, s State, seats int) health.Explanation {
	m, ok := ws.HealthModel(s.Model)
	if !ok || s.Health.Score == nil && len(s.Health.Categories) == 0 {
		return health.Explanation{}
	}
	return health.Explain(m, s.Health, health.Context{Seats: float64(seats)})
}

// number reads a trait value as a number; nil when absent or not a number.
func number(v any) *float64 {
	switch x := v.(type) {
	case float64:
		return &x
	case int:
		f := float64(x)
		return &f
	case int64:
		f := float64(x)
		return &f
	}
	return nil
}

// describeScore renders a score for reasons: "6.25", or "no score".
func describeScore(p *float64) string {
	if p == nil {
		return "no score"
	}
	return fmt.Sprintf("%.2f", *p)
}
