package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/lifecycle"
	"github.com/tendhq/tend/internal/store"
)

// healthJSON is GET /accounts/{id}/health: the score metric by metric,
// category by category, and what would move it.
type healthJSON struct {
	AccountID  int64     `json:"account_id"`
	AssessedAt time.Time `json:"assessed_at"`
	// Model is the health model that applies, and ModelReason why (its
	// condition, or that it is the default).
	Model       string                  `json:"model"`
	ModelReason string                  `json:"model_reason"`
	Score       *float64                `json:"score"`
	Color       string                  `json:"color"`
	Categories  []health.CategoryResult `json:"categories"`
	Explanation health.Explanation      `json:"explanation"`
	// Problem says why there is no model (a condition that cannot run).
	Problem string `json:"problem,omitempty"`
}

// lifecycleJSON is GET /accounts/{id}/lifecycle: segment, program and stage
// with the rule and values behind each, and what would move the stage.
type lifecycleJSON struct {
	AccountID  int64              `json:"account_id"`
	AssessedAt time.Time          `json:"assessed_at"`
	Segment    decided            `json:"segment"`
	Program    decided            `json:"program"`
	Stage      lifecycle.Decision `json:"stage"`
}

type decided struct {
	Value  string           `json:"value"`
	Reason lifecycle.Reason `json:"reason"`
}

// current assesses the account in the path now.
func (a *API) current(r *http.Request) (assess.State, assess.Input, error) {
	id, err := pathID(r)
	if err != nil {
		return assess.State{}, assess.Input{}, err
	}
	if a.assessor == nil {
		return assess.State{}, assess.Input{}, derrors.New(derrors.NotFound, "assessment is not enabled on this server")
	}
	s, in, err := a.assessor.Current(r.Context(), id)
	if errors.Is(err, engine.ErrUnknownAccount) {
		return s, in, derrors.New(derrors.NotFound, "account %d not found", id)
	}
	return s, in, err
}

func (a *API) accountHealth(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	s, in, err := a.current(r)
	if err != nil {
		return err
	}
	out := healthJSON{AccountID: in.Account.ID, AssessedAt: s.At, Model: s.Model, ModelReason: s.ModelReason,
		Score: s.Score(), Color: s.Color(), Categories: s.Health.Categories,
		Explanation: assess.Explain(a.ws, s, in.Account.Seats), Problem: s.Problem}
	if out.Categories == nil {
		out.Categories = []health.CategoryResult{}
	}
	if out.Explanation.Advice == nil {
		out.Explanation.Advice = []health.Advice{}
	}
	if out.Explanation.Moves == nil {
		out.Explanation.Moves = []health.Move{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) accountLifecycle(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	s, in, err := a.current(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, lifecycleJSON{AccountID: in.Account.ID, AssessedAt: s.At,
		Segment: decided{s.Segment, s.SegmentReason}, Program: decided{s.Program, s.ProgramReason}, Stage: s.Stage})
	return nil
}

// healthHistory is GET /accounts/{id}/health/history: the daily snapshots,
// by default of the last year.
func (a *API) healthHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "from", "to")
	if err != nil {
		return err
	}
	today := date.Of(a.now().In(a.location()))
	from, err := q.date("from", today.AddDays(-365))
	if err != nil {
		return err
	}
	to, err := q.date("to", today)
	if err != nil {
		return err
	}
	if to.Before(from) {
		return derrors.Field(derrors.Invalid, "to", "%s is before from %s", to, from)
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	snaps, err := a.st.HealthSnapshots(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"account_id": id, "from": from, "to": to, "data": snaps})
	return nil
}

// accountChanges is GET /accounts/{id}/changes: the account's segment,
// program, stage and health changes, newest first.
func (a *API) accountChanges(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "kind", "limit", "cursor")
	if err != nil {
		return err
	}
	f := store.StateChangeFilter{AccountID: id, Kind: q.str("kind"), Cursor: q.str("cursor")}
	if err := checkKind(f.Kind); err != nil {
		return err
	}
	if f.Limit, err = q.limit(100, 1000); err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	page, err := a.st.ListStateChanges(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func checkKind(k string) error {
	switch k {
	case "", store.ChangeSegment, store.ChangeProgram, store.ChangeStage, store.ChangeHealth:
		return nil
	}
	return derrors.Field(derrors.Invalid, "kind", "%q is not one of segment, program, stage, health", k)
}

// HealthChangeFilter reads the health changes list's parameters — owner,
// from and to (days, inclusive, in the workspace's time zone), direction
// (better or worse) — for the API and the UI alike.
func HealthChangeFilter(q map[string]string, me int64, loc *time.Location) (store.StateChangeFilter, error) {
	f := store.StateChangeFilter{Kind: store.ChangeHealth}
	var err error
	if f.OwnerID, err = ownerParam(q["owner"], me); err != nil {
		return f, err
	}
	for _, b := range []struct {
		name string
		t    *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		s := q[b.name]
		if s == "" {
			continue
		}
		d, err := date.Parse(s)
		if err != nil {
			return f, derrors.Field(derrors.Invalid, b.name, "%q is not a date (YYYY-MM-DD)", s)
		}
		*b.t = d.AddDays(b.add).Time(loc)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, derrors.Field(derrors.Invalid, "to", "is before from")
	}
	switch q["direction"] {
	case "":
	case "better":
		f.Direction = 1
	case "worse":
		f.Direction = -1
	default:
		return f, derrors.Field(derrors.Invalid, "direction", "%q is not better or worse", q["direction"])
	}
	return f, nil
}

// ownerParam reads an owner filter: a user id, "me" or "unassigned".
func ownerParam(owner string, me int64) (int64, error) {
	switch owner {
	case "":
		return 0, nil
	case "me":
		return me, nil
	case "unassigned":
		return account.Unassigned, nil
	}
	id, err := strconv.ParseInt(owner, 10, 64)
	if err != nil || id <= 0 {
		return 0, derrors.Field(derrors.Invalid, "owner", "%q is not a user id, me or unassigned", owner)
	}
	return id, nil
}

// healthChanges is GET /health-changes: the handbook's "list of health
// score category changes" (001: "the Account that changed, the date it
// changes, it's current green/yellow/red status and it's old
// green/yellow/red status"), newest first, as JSON or CSV.
func (a *API) healthChanges(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "owner", "from", "to", "direction", "limit", "cursor", "format")
	if err != nil {
		return err
	}
	params := map[string]string{"owner": q.str("owner"), "from": q.str("from"), "to": q.str("to"), "direction": q.str("direction")}
	f, err := HealthChangeFilter(params, callerOf(r).user.ID, a.location())
	if err != nil {
		return err
	}
	f.Cursor = q.str("cursor")
	switch format := q.str("format"); format {
	case "", "json":
		if f.Limit, err = q.limit(100, 1000); err != nil {
			return err
		}
		page, err := a.st.ListStateChanges(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	case "csv":
		if q.str("limit") != "" || f.Cursor != "" {
			return derrors.Field(derrors.Invalid, "format", "a CSV export has every change; it takes no limit or cursor")
		}
		return WriteHealthChangesCSV(w, r, a.st, f, a.location())
	default:
		return derrors.Field(derrors.Invalid, "format", "%q is not json or csv", format)
	}
}

// WriteHealthChangesCSV writes every health change the filter selects as a
// CSV download, page by page.
func WriteHealthChangesCSV(w http.ResponseWriter, r *http.Request, st store.Store, f store.StateChangeFilter, loc *time.Location) error {
	users, err := st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	owners := map[int64]string{}
	for _, u := range users {
		owners[u.ID] = u.Email
	}
	f.Limit, f.Cursor = 1000, ""
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="health-changes.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"account_id", "account", "date", "time", "old_color", "new_color", "old_score", "new_score", "owner", "reason"})
	score := func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf("%.2f", *p)
	}
	for {
		page, err := st.ListStateChanges(r.Context(), f)
		if err != nil {
			return err
		}
		for _, c := range page.Changes {
			owner := ""
			if c.OwnerID != nil {
				owner = owners[*c.OwnerID]
			}
			at := c.At.In(loc)
			_ = cw.Write([]string{strconv.FormatInt(c.AccountID, 10), c.AccountName, at.Format("2006-01-02"), at.Format("15:04"),
				c.Old, c.New, score(c.OldScore), score(c.NewScore), owner, c.Reason})
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	cw.Flush()
	return cw.Error()
}

// healthDistribution is GET /health/distribution: how many accounts a book
// filter selects in each colour.
func (a *API) healthDistribution(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "owner", "segment", "program", "stage", "q")
	if err != nil {
		return err
	}
	f := account.Filter{Segment: q.str("segment"), Program: q.str("program"), Stage: q.str("stage"), Query: q.str("q")}
	if f.OwnerID, err = ownerParam(q.str("owner"), callerOf(r).user.ID); err != nil {
		return err
	}
	counts, err := a.st.HealthCounts(r.Context(), f)
	if err != nil {
		return err
	}
	out := map[string]int{"green": counts["green"], "yellow": counts["yellow"], "red": counts["red"], "none": counts[""]}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// date reads a YYYY-MM-DD parameter, def when absent.
func (q query) date(name string, def date.Date) (date.Date, error) {
	s := q.str(name)
	if s == "" {
		return def, nil
	}
	d, err := date.Parse(s)
	if err != nil {
		return date.Date{}, derrors.Field(derrors.Invalid, name, "%q is not a date (YYYY-MM-DD)", s)
	}
	return d, nil
}

// location is the workspace's time zone.
func (a *API) location() *time.Location {
	if loc := a.ws.Settings.Location; loc != nil {
		return loc
	}
	return time.UTC
}
