package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/store"
)

// What the account page's health and lifecycle cards show.
const (
	// trendDays is the health trend's span: 12 months of daily snapshots.
	trendDays = 365
	// accountChangesLimit is how many of the account's state changes the
	// lifecycle card lists, newest first.
	accountChangesLimit = 25
)

// inputsChanged is the htmx event a trait save raises (HX-Trigger); the
// cards refresh shortly after it instead of waiting for their next poll.
const inputsChanged = "inputs-changed"

// assessmentCards are the account page's health and lifecycle cards. They
// refresh themselves: the page polls /accounts/{id}/assessment with the
// cards' Version and gets 204 No Content while nothing changed.
type assessmentCards struct {
	// Running is false when the server has no assessor: the cards say so
	// and show only what is stored (the trend and the history).
	Running bool
	// Assessed is false when the assessor could not assess the account
	// (it went away between the page's reads).
	Assessed  bool
	AsOf      time.Time
	Health    healthCard
	Lifecycle lifecycleCard
	Trend     lineChart
	Changes   []changeRow
	// MoreChanges says the history has older changes than those listed.
	MoreChanges bool
	// Version identifies the rendered cards; see accountAssessment.
	Version string
}

// healthCard is the account's health: score, colour, the model that
// applied and why, each category and metric, and what would move it.
type healthCard struct {
	Score       string
	Color       string
	Model       string
	ModelReason string
	// Problem says why no model could be chosen.
	Problem    string
	Categories []categoryRow
	// Moves are the single-metric changes that raise the colour, the
	// smallest first.
	Moves []moveRow
}

// categoryRow is one category of the health model with its metrics.
type categoryRow struct {
	Name string
	// Weight is the model's; Effective its share of the score once the
	// categories without data are left out ("" when it has none).
	Weight    string
	Effective string
	Mean      string
	Metrics   []metricRow
}

// metricRow is one metric of the health model as the account scores it.
type metricRow struct {
	Trait string
	Label string
	// Rule is the metric's thresholds, for a tooltip.
	Rule   string
	Value  string
	Status string
	Points string
	// Advice says what would move a metric that is not healthy
	// (health.Advice.Text); Problem why a value could not be read.
	Advice  string
	Problem string
}

// moveRow is one colour-raising change.
type moveRow struct {
	Label    string
	Text     string
	NewColor string
}

// lifecycleCard is the account's segment, program and stage, each with its
// reason, the stage's signals and what would move it on.
type lifecycleCard struct {
	Segment, SegmentReason string
	Program, ProgramReason string
	Stage, StageReason     string
	Signals                []string
	Move                   []string
}

// changeRow is one recorded change of segment, program, stage or health.
type changeRow struct {
	At                 time.Time
	Kind               string
	KindLabel          string
	Old, New           string
	OldScore, NewScore string
	// Direction is +1 for a better health colour, -1 for a worse one.
	Direction int
	Reason    string
}

var changeKindLabels = map[string]string{
	store.ChangeSegment: "Segment",
	store.ChangeProgram: "Program",
	store.ChangeStage:   "Stage",
	store.ChangeHealth:  "Health",
}

// loadAssessment builds the cards for an account: the assessor's current
// assessment of it, its trend and its change history.
func (ui *UI) loadAssessment(ctx context.Context, a account.Account) (assessmentCards, error) {
	c := assessmentCards{Running: ui.assessor != nil}
	bands := health.DefaultBands
	if ui.assessor != nil {
		s, in, err := ui.assessor.Current(ctx, a.ID)
		switch {
		case errors.Is(err, engine.ErrUnknownAccount):
		case err != nil:
			return c, err
		default:
			c.Assessed, c.AsOf = true, s.At
			c.Health = ui.healthCard(s, in)
			c.Lifecycle = lifecycleCard{Segment: s.Segment, SegmentReason: s.SegmentReason.Text,
				Program: s.Program, ProgramReason: s.ProgramReason.Text,
				Stage: s.Stage.Stage, StageReason: s.Stage.Reason.Text, Signals: s.Stage.Signals, Move: s.Stage.Move}
			if m, ok := ui.ws.HealthModel(s.Model); ok {
				bands = m.Bands
			}
		}
	}
	if !c.Assessed {
		// The record still has the last saved values.
		c.Lifecycle = lifecycleCard{Segment: a.Segment, Program: a.Program, Stage: a.Stage}
	}
	today := ui.localToday()
	snaps, err := ui.st.HealthSnapshots(ctx, a.ID, today.AddDays(1-trendDays), today)
	if err != nil {
		return c, err
	}
	c.Trend = trendChart(snaps, today, trendDays, bands)
	page, err := ui.st.ListStateChanges(ctx, store.StateChangeFilter{AccountID: a.ID, Limit: accountChangesLimit})
	if err != nil {
		return c, err
	}
	c.MoreChanges = page.Next != ""
	for _, ch := range page.Changes {
		c.Changes = append(c.Changes, newChangeRow(ch))
	}
	return c, nil
}

// newChangeRow words a stored change; health colours read "Green", scores
// to two places.
func newChangeRow(ch store.StateChange) changeRow {
	row := changeRow{At: ch.At, Kind: ch.Kind, KindLabel: changeKindLabels[ch.Kind], Old: ch.Old, New: ch.New,
		Direction: ch.Direction, Reason: ch.Reason, OldScore: score2(ch.OldScore), NewScore: score2(ch.NewScore)}
	if row.KindLabel == "" {
		row.KindLabel = ch.Kind
	}
	if ch.Kind == store.ChangeHealth {
		row.Old, row.New = colorName(ch.Old), colorName(ch.New)
	}
	return row
}

// score2 is a health score to two places, as the model rounds it; "" for
// none.
func score2(s *float64) string {
	if s == nil {
		return ""
	}
	return strconv.FormatFloat(*s, 'f', 2, 64)
}

// healthCard words an assessment's health for people, metric by metric,
// with the model's explanation.
func (ui *UI) healthCard(s assess.State, in assess.Input) healthCard {
	h := healthCard{Score: score2(s.Score()), Color: s.Color(), Model: s.Model, ModelReason: s.ModelReason, Problem: s.Problem}
	model, _ := ui.ws.HealthModel(s.Model)
	ex := assess.Explain(ui.ws, s, in.Account.Seats)
	advice := map[string]string{}
	for _, a := range ex.Advice {
		advice[a.Trait] = a.Text
	}
	for i, c := range s.Health.Categories {
		row := categoryRow{Name: c.Name, Weight: strconv.FormatFloat(c.Weight, 'f', -1, 64)}
		if c.Mean != nil {
			row.Mean = strconv.FormatFloat(*c.Mean, 'f', 1, 64)
			row.Effective = strconv.FormatFloat(c.EffectiveWeight*100, 'f', 0, 64) + "%"
		}
		for j, m := range c.Metrics {
			var mt health.Metric
			if i < len(model.Categories) && j < len(model.Categories[i].Metrics) {
				mt = model.Categories[i].Metrics[j]
			}
			mr := metricRow{Trait: m.Trait, Label: capitalize(m.Label), Value: metricValue(m, mt), Status: string(m.Status),
				Points: "—", Problem: m.Problem, Rule: metricRule(mt)}
			if m.Status != health.Missing {
				mr.Points = strconv.FormatFloat(m.Points, 'f', -1, 64)
				mr.Advice = advice[m.Trait]
			}
			row.Metrics = append(row.Metrics, mr)
		}
		h.Categories = append(h.Categories, row)
	}
	for _, mv := range ex.Moves {
		h.Moves = append(h.Moves, moveRow{Label: capitalize(mv.Label), Text: mv.Text, NewColor: string(mv.NewColor)})
	}
	return h
}

// metricValue is a metric's value as people read it: a ratio to the
// metric's step ("0.35"), a count, "12 days ago", "Yes", or a dash.
func metricValue(m health.MetricResult, mt health.Metric) string {
	if m.Status == health.Missing && m.Number == nil {
		if m.Value == nil {
			return "—"
		}
		return account.FormatValue(m.Value)
	}
	switch m.Kind {
	case health.KindDaysSince:
		n := int(*m.Number)
		return strconv.Itoa(n) + " " + plural(n, "day", "days") + " ago (" + account.FormatValue(m.Value) + ")"
	case health.KindNumber:
		if m.Number != nil && mt.Step > 0 && mt.Step < 1 {
			places := len(strings.TrimPrefix(strconv.FormatFloat(mt.Step, 'f', -1, 64), "0."))
			return strconv.FormatFloat(*m.Number, 'f', places, 64)
		}
	}
	return account.FormatValue(m.Value)
}

// metricRule says a metric's thresholds: "healthy ≥ 0.3, poor ≤ 0.2".
func metricRule(mt health.Metric) string {
	if mt.Trait == "" {
		return ""
	}
	return "healthy " + mt.Healthy.String() + ", poor " + mt.Poor.String() + ", concerning between"
}

// capitalize starts a label with a capital letter: the model's labels are
// written to sit inside sentences ("usage score").
func capitalize(s string) string { return sentence(s) }

// localToday is today in the workspace's time zone, the day snapshots and
// the health changes list count in.
func (ui *UI) localToday() date.Date { return date.Of(ui.now().In(ui.location())) }

// versionAssessment sets the cards' Version: a hash of what they and the
// page header render to, so that a poll can tell whether anything changed.
func (ui *UI) versionAssessment(p *accountPage) error {
	oob := p.OOB
	p.OOB, p.Assessment.Version = false, ""
	defer func() { p.OOB = oob }()
	h := sha256.New()
	for _, block := range []string{"assessment-cards", "account-head"} {
		b, err := ui.renderBytes("account", block, *p)
		if err != nil {
			return err
		}
		h.Write(b)
	}
	p.Assessment.Version = hex.EncodeToString(h.Sum(nil)[:8])
	return nil
}

// accountAssessment answers the cards' refresh: the cards and, out of band,
// the page header (its colour and stage come from the same assessment), or
// 204 No Content when the version the page has (?v=) is still current.
func (ui *UI) accountAssessment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := ui.st.GetAccount(ctx, id)
	if err != nil {
		return err
	}
	p := accountPage{base: base{Title: a.Name, Section: "book", User: currentUser(r)}, Account: a, today: ui.today(),
		label: ui.ws.FieldLabel}
	if p.Assessment, err = ui.loadAssessment(ctx, a); err != nil {
		return err
	}
	if err := ui.versionAssessment(&p); err != nil {
		return err
	}
	if r.URL.Query().Get("v") == p.Assessment.Version {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	p.OOB = true
	return ui.renderBlock(w, r, http.StatusOK, "account", "assessment-poll", p)
}
