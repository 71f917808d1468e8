package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/workspace"
)

type assessEnv struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	ws    *workspace.Workspace
	clock *engine.ManualClock
	mu    sync.Mutex
	seen  []string
}

func newAssessEnv(t *testing.T) *assessEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	st.Now = clock.Now
	return &assessEnv{t: t, ctx: ctx, st: st, ws: ws, clock: clock}
}

func (e *assessEnv) assessor() *engine.Assessor {
	return engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: e.clock.Now, Poll: 20 * time.Millisecond,
		OnChange: func(_ int64, name string, at time.Time, cs []assess.Change) {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, c := range cs {
				e.seen = append(e.seen, date.Of(at).String()+" "+name+" "+c.Kind+" "+c.Old+">"+c.New)
			}
		}})
}

func (e *assessEnv) step(a *engine.Assessor) {
	e.t.Helper()
	if err := a.Step(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *assessEnv) changes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.seen
	e.seen = nil
	return out
}

func (e *assessEnv) setTraits(id int64, kv ...any) {
	e.t.Helper()
	var ws []account.TraitWrite
	for i := 0; i < len(kv); i += 2 {
		ws = append(ws, account.TraitWrite{AccountID: id, Key: kv[i].(string), Value: kv[i+1]})
	}
	if _, err := e.st.SetTraits(e.ctx, ws, account.System("test", account.SourceManual)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *assessEnv) get(id int64) account.Account {
	e.t.Helper()
	a, err := e.st.GetAccount(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func TestAssessorRecomputesOnChange(t *testing.T) {
	e := newAssessEnv(t)
	acme := account.Account{Name: "Acme", EstimatedDevelopers: 900, ARR: 40_000, Seats: 100,
		CloseDate: date.MustParse("2025-10-01"), RenewalDate: date.MustParse("2026-10-01")}
	if err := e.st.CreateAccount(e.ctx, &acme, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	e.setTraits(acme.ID, "usage_score", 0.35, "last_month_mau_over_seats", 0.85, "ta_pulse", "Healthy")
	a := e.assessor()
	e.step(a)
	got := e.get(acme.ID)
	if got.Segment != "Commercial" || got.Program != "Scaled Success" || got.Stage != "3. Nurturing" || got.HealthColor != "green" {
		t.Fatalf("after the first step: %s / %s / %s / %s", got.Segment, got.Program, got.Stage, got.HealthColor)
	}
	if cs := e.changes(); len(cs) != 4 {
		t.Errorf("first step changes = %v, want segment, program, stage and health", cs)
	}
	// Nothing changed: nothing is written.
	e.step(a)
	if cs := e.changes(); len(cs) != 0 {
		t.Errorf("a step with no input change made %v", cs)
	}
	// A trait write queues the account; the next step moves its colour.
	e.setTraits(acme.ID, "usage_score", 0.1, "last_month_mau_over_seats", 0.3)
	e.step(a)
	if cs := e.changes(); len(cs) != 1 || cs[0] != "2026-03-10 Acme health green>red" {
		t.Errorf("after utilization fell: changes %v, want the colour (Nurturing stays, the handbook has no fall back)", cs)
	}
	page, err := e.st.ListStateChanges(e.ctx, store.StateChangeFilter{AccountID: acme.ID, Kind: store.ChangeHealth})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != 2 || !strings.Contains(page.Changes[0].Reason, "usage score 0.1 healthy → poor") {
		t.Errorf("recorded health changes = %+v", page.Changes)
	}
	// A field edit counts too: seats are not an input of health here,
	// developers are of the segment.
	if _, err := e.st.ModifyAccount(e.ctx, acme.ID, func(x *account.Account) error { x.EstimatedDevelopers = 2_000; return nil },
		account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	e.step(a)
	if cs := e.changes(); len(cs) != 2 || cs[0] != "2026-03-10 Acme segment Commercial>Enterprise" ||
		cs[1] != "2026-03-10 Acme program Scaled Success>Managed" {
		t.Errorf("after 2,000 developers: %v", cs)
	}
	snaps, err := e.st.HealthSnapshots(e.ctx, acme.ID, date.Date{}, date.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].Color != "red" {
		t.Errorf("snapshots = %+v, want today's, red", snaps)
	}
	// Deleted: forgotten.
	if err := e.st.DeleteAccount(e.ctx, acme.ID); err != nil {
		t.Fatal(err)
	}
	e.step(a)
	if n := a.Accounts(); n != 0 {
		t.Errorf("after deleting the account the assessor holds %d", n)
	}
}

// TestAssessorClockTick: time-driven inputs move with the clock — days
// since the last activity (004: "14 or less days is considered healthy, 30
// or more days of inactivity is considered poor") and the renewal window.
func TestAssessorClockTick(t *testing.T) {
	e := newAssessEnv(t)
	acme := account.Account{Name: "Acme", EstimatedDevelopers: 900, ARR: 40_000, Seats: 100,
		CloseDate: date.MustParse("2025-06-01"), RenewalDate: date.MustParse("2026-07-20")}
	if err := e.st.CreateAccount(e.ctx, &acme, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	// Only the last activity has data: its status is the score.
	e.setTraits(acme.ID, "last_activity_date", "2026-03-01")
	a := e.assessor()
	e.step(a)
	e.changes()
	if got := e.get(acme.ID); got.HealthColor != "green" || got.Stage != "2. Adopting" {
		t.Fatalf("9 days after the last activity: %s, %s; want green, Adopting", got.HealthColor, got.Stage)
	}
	day := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	if err := engine.Drive(e.ctx, e.clock, nil, a, e.clock.Now().AddDate(0, 0, 1), time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC), day, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-03-16 Acme health green>yellow",           // 15 days
		"2026-03-22 Acme stage 2. Adopting>4. Renewing", // 120 days before 2026-07-20
		"2026-03-31 Acme health yellow>red",             // 30 days
	}
	if got := e.changes(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes over March:\n got %v\nwant %v", got, want)
	}
	snaps, err := e.st.HealthSnapshots(e.ctx, acme.ID, date.Date{}, date.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 22 || snaps[0].Day != date.MustParse("2026-03-10") || snaps[21].Color != "red" {
		t.Errorf("snapshots: %d from %v, want one a day from 2026-03-10 to 2026-03-31", len(snaps), snaps[0].Day)
	}
}

// TestAssessorLive: a running assessor shows a trait edit within a second.
func TestAssessorLive(t *testing.T) {
	e := newAssessEnv(t)
	acme := account.Account{Name: "Acme", CloseDate: date.MustParse("2025-06-01")}
	if err := e.st.CreateAccount(e.ctx, &acme, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	a := e.assessor()
	a.Start()
	defer a.Close()
	e.setTraits(acme.ID, "ta_pulse", "Poor")
	deadline := time.Now().Add(time.Second)
	for e.get(acme.ID).HealthColor != "red" {
		if time.Now().After(deadline) {
			t.Fatalf("a second after TA pulse Poor, the colour is %q", e.get(acme.ID).HealthColor)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s, _, err := a.Current(e.ctx, acme.ID)
	if err != nil || s.Color() != "red" || s.Model != "default" {
		t.Errorf("Current = %s, %s, %v", s.Color(), s.Model, err)
	}
	if _, _, err := a.Current(e.ctx, 999); err != engine.ErrUnknownAccount {
		t.Errorf("Current(unknown) error = %v", err)
	}
}

// TestAssessorOneLeader: two processes sharing a database assess once.
func TestAssessorOneLeader(t *testing.T) {
	e := newAssessEnv(t)
	acme := account.Account{Name: "Acme"}
	if err := e.st.CreateAccount(e.ctx, &acme, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	one, two := e.assessor(), e.assessor()
	one.Start()
	defer one.Close()
	two.Start()
	defer two.Close()
	changes := func() int {
		page, err := e.st.ListStateChanges(e.ctx, store.StateChangeFilter{AccountID: acme.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Changes)
	}
	// Wait for the leader's first assessment (a loaded machine takes
	// longer than a fixed sleep allowed), then give the other as long
	// again to record anything twice.
	began := time.Now()
	for changes() < 3 && time.Since(began) < 20*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300*time.Millisecond + time.Since(began))
	// Segment, program, stage: recorded once, by the one leader.
	if n := changes(); n != 3 {
		t.Errorf("%d changes recorded, want 3 (one assessor leads)", n)
	}
}
