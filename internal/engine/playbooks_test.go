package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// pbEnv is a store, a workspace of the given playbooks (the rest the
// default's), a manual clock and an assessor that runs them.
type pbEnv struct {
	*assessEnv
	a       *engine.Assessor
	firings []store.Firing
}

func newPBEnv(t *testing.T, playbooks map[string]string) *pbEnv {
	t.Helper()
	e := &pbEnv{assessEnv: newAssessEnv(t)}
	e.ws = playbookWorkspace(t, playbooks)
	e.a = e.newAssessor()
	return e
}

// playbookWorkspace loads a workspace of the given playbooks, by file name
// without .yaml; the rest is the default's.
func playbookWorkspace(t *testing.T, playbooks map[string]string) *workspace.Workspace {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range playbooks {
		if err := os.WriteFile(filepath.Join(dir, "playbooks", name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func (e *pbEnv) newAssessor() *engine.Assessor {
	return engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: e.clock.Now,
		Playbooks: &engine.PlaybookConfig{OnFiring: func(f store.Firing) { e.firings = append(e.firings, f) }}})
}

// notes are the account's timeline notes, oldest first.
func (e *assessEnv) notes(id int64) []string {
	e.t.Helper()
	acts, err := e.st.ListActivities(e.ctx, id, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range acts {
		if a.Kind == account.ActivityNote {
			out = append(out, a.Body)
		}
	}
	slices.Reverse(out)
	return out
}

func (e *pbEnv) days(n int) {
	e.t.Helper()
	for range n {
		e.clock.Advance(24 * time.Hour)
		e.step(e.a)
	}
}

func (e *pbEnv) newAccount(a account.Account) account.Account {
	e.t.Helper()
	if err := e.st.CreateAccount(e.ctx, &a, account.System("test", "")); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// TestTriggerKinds: each kind of trigger fires once per occurrence.
func TestTriggerKinds(t *testing.T) {
	e := newPBEnv(t, map[string]string{
		"on_pulse": `name: Pulse dropped
trigger: {signal: trait_changed, trait: ta_pulse, to: [Poor]}
actions:
  - note: {body: "pulse {{.traits.ta_pulse}} on {{.account.name}}"}
`,
		"enters": `name: Big usage
trigger: {when: "traits.usage_score >= 0.5"}
actions:
  - note: {body: "usage high"}
exit_actions:
  - note: {body: "usage fell"}
`,
		"renewal": `name: Renewal
trigger: {date: renewal_date, offset_days: -10}
actions:
  - note: {body: "renewal soon"}
`,
		"weekly": `name: Weekly
trigger: {cron: "0 9 * * 1"}
condition: account.name == "Acme"
actions:
  - note: {body: "monday"}
`,
	})
	// 2026-03-10 is a Tuesday.
	acme := e.newAccount(account.Account{Name: "Acme", CloseDate: date.MustParse("2025-01-01"), RenewalDate: date.MustParse("2026-03-25")})
	e.step(e.a)
	if got := e.notes(acme.ID); len(got) != 0 {
		t.Fatalf("nothing due yet, but: %v", got)
	}
	e.setTraits(acme.ID, "ta_pulse", "Poor", "usage_score", 0.6)
	e.step(e.a)
	e.step(e.a)                                          // actions run in the step after the firing when due at once
	want := []string{"pulse Poor on Acme", "usage high"} // signals first, then conditions and dates
	if got := e.notes(acme.ID); !slices.Equal(got, want) {
		t.Errorf("after the trait changes: %v, want %v", got, want)
	}
	// The same values again change nothing; a drop and a rise re-enter.
	e.setTraits(acme.ID, "usage_score", 0.2)
	e.step(e.a)
	e.setTraits(acme.ID, "usage_score", 0.7)
	e.step(e.a)
	e.step(e.a)
	want = append(want, "usage fell", "usage high")
	if got := e.notes(acme.ID); !slices.Equal(got, want) {
		t.Errorf("after leaving and re-entering: %v, want %v", got, want)
	}
	// Days pass: the date rule on 2026-03-15, the schedule on Monday the 16th.
	e.days(7)
	want = append(want, "renewal soon", "monday")
	if got := e.notes(acme.ID); !slices.Equal(got, want) {
		t.Errorf("after a week: %v, want %v", got, want)
	}
	// Nothing fires twice: a fresh assessor (a restart) on the same store.
	e.a = e.newAssessor()
	e.step(e.a)
	e.step(e.a)
	if got := e.notes(acme.ID); !slices.Equal(got, want) {
		t.Errorf("after a restart: %v, want %v", got, want)
	}
	page, err := e.st.ListFirings(e.ctx, store.FiringFilter{Playbook: "renewal"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Firings) != 1 || !strings.Contains(page.Firings[0].Trigger, "renewal_date 2026-03-25 − 10 days") {
		t.Errorf("renewal firings = %+v", page.Firings)
	}
}

// TestReentry: once, once per term, every time and a limit.
func TestReentry(t *testing.T) {
	mk := func(mode string) string {
		return `name: ` + mode + `
trigger: {signal: trait_changed, trait: ta_pulse}
reentry: ` + mode + `
` + map[bool]string{true: "limit: {count: 2, days: 30}\n", false: ""}[mode == "limited"] + `actions:
  - note: {body: "` + mode + `"}
`
	}
	e := newPBEnv(t, map[string]string{"a_once": mk("once"), "b_term": mk("once_per_term"), "c_every": mk("every_time"), "d_limit": mk("limited")})
	acme := e.newAccount(account.Account{Name: "Acme", CloseDate: date.MustParse("2025-01-01"), RenewalDate: date.MustParse("2026-06-01")})
	e.step(e.a)
	for i, pulse := range []string{"Poor", "Concerning", "Healthy"} {
		e.setTraits(acme.ID, "ta_pulse", pulse)
		e.step(e.a)
		e.step(e.a)
		if i == 1 {
			// A new term: the renewal was processed and the date moved.
			if _, err := e.st.ModifyAccount(e.ctx, acme.ID, func(a *account.Account) error {
				a.RenewalDate = date.MustParse("2027-06-01")
				return nil
			}, account.System("t", "")); err != nil {
				t.Fatal(err)
			}
			e.step(e.a)
		}
		e.clock.Advance(time.Hour)
	}
	count := map[string]int{}
	for _, n := range e.notes(acme.ID) {
		count[n]++
	}
	want := map[string]int{"once": 1, "once_per_term": 2, "every_time": 3, "limited": 2}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%s fired %d times, want %d (all: %v)", k, count[k], v, count)
		}
	}
}

// TestLoopCut: A sets a trait that triggers B, which sets one that
// triggers A: the chain is cut, logged, and each fired once.
func TestLoopCut(t *testing.T) {
	e := newPBEnv(t, map[string]string{
		"a": `name: A
trigger: {signal: trait_changed, trait: ta_pulse}
actions:
  - set: {trait: region, value: EMEA}
`,
		"b": `name: B
trigger: {signal: trait_changed, trait: region}
actions:
  - set: {trait: ta_pulse, value: Healthy}
`,
	})
	acme := e.newAccount(account.Account{Name: "Acme"})
	e.step(e.a)
	e.setTraits(acme.ID, "ta_pulse", "Poor")
	for range 8 {
		e.step(e.a)
	}
	page, err := e.st.ListFirings(e.ctx, store.FiringFilter{AccountID: acme.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range page.Firings {
		kinds = append(kinds, f.Playbook+":"+f.Kind)
	}
	slices.Reverse(kinds)
	if want := []string{"a:fire", "b:fire", "a:cut"}; !slices.Equal(kinds, want) {
		t.Errorf("firings = %v, want %v", kinds, want)
	}
	if cut := page.Firings[0]; !strings.Contains(string(cut.Detail), "loop cut: a → b → a") {
		t.Errorf("the cut's detail = %s", cut.Detail)
	}
}

// TestAssignRoundRobin: new accounts get TAs in turn; the assignment is a
// field change that fires the "TA assigned" kind of playbook.
func TestAssignRoundRobin(t *testing.T) {
	e := newPBEnv(t, map[string]string{
		"assign": `name: Assign a TA
trigger: {when: "account.owner_id == nil && account.estimated_developers > 0"}
actions:
  - assign: {role: owner, strategy: round_robin}
`,
		"assigned": `name: TA assigned
trigger: {signal: field_changed, field: owner_id}
condition: account.owner_id != nil
actions:
  - note: {body: "assigned to {{.owner.name}}"}
`,
	})
	var tas []team.User
	for _, name := range []string{"Ana", "Bo"} {
		u := team.User{Email: strings.ToLower(name) + "@tend.test", Name: name, Role: team.TA}
		if err := e.st.CreateUser(e.ctx, &u); err != nil {
			t.Fatal(err)
		}
		tas = append(tas, u)
	}
	var ids []int64
	for _, n := range []string{"A", "B", "C"} {
		ids = append(ids, e.newAccount(account.Account{Name: n, EstimatedDevelopers: 10}).ID)
	}
	for range 4 {
		e.step(e.a)
	}
	var owners []string
	for _, id := range ids {
		a := e.get(id)
		if a.OwnerID == nil {
			t.Fatalf("account %d has no owner", id)
		}
		owners = append(owners, map[int64]string{tas[0].ID: "Ana", tas[1].ID: "Bo"}[*a.OwnerID])
		if got := e.notes(id); len(got) != 1 || got[0] != "assigned to "+owners[len(owners)-1] {
			t.Errorf("account %d notes = %v", id, got)
		}
	}
	if want := []string{"Ana", "Bo", "Ana"}; !slices.Equal(owners, want) {
		t.Errorf("owners = %v, want %v", owners, want)
	}
}

// TestDelayAcrossRestart: a delayed action waits in the store and runs
// after a restart, once.
func TestDelayAcrossRestart(t *testing.T) {
	e := newPBEnv(t, map[string]string{
		"later": `name: Later
trigger: {signal: trait_changed, trait: ta_pulse}
actions:
  - note: {body: "now"}
  - note: {body: "three days later"}
    delay_days: 3
`,
	})
	acme := e.newAccount(account.Account{Name: "Acme"})
	e.step(e.a)
	e.setTraits(acme.ID, "ta_pulse", "Poor")
	e.step(e.a)
	e.step(e.a)
	if got := e.notes(acme.ID); !slices.Equal(got, []string{"now"}) {
		t.Fatalf("at once: %v", got)
	}
	// A restart: a new assessor, with nothing in memory, on the store.
	e.a = e.newAssessor()
	e.days(2)
	if got := e.notes(acme.ID); len(got) != 1 {
		t.Errorf("after 2 days: %v", got)
	}
	e.days(1)
	if got := e.notes(acme.ID); !slices.Equal(got, []string{"now", "three days later"}) {
		t.Errorf("after 3 days: %v", got)
	}
	e.days(3)
	if got := e.notes(acme.ID); len(got) != 2 {
		t.Errorf("later still: %v", got)
	}
}

// failingFirings is a store whose RecordFirings fails while fail is set.
type failingFirings struct {
	store.Store
	fail bool
}

func (s *failingFirings) RecordFirings(ctx context.Context, fs []*store.Firing, ms []store.MatchChange) ([]bool, error) {
	if s.fail {
		return nil, errors.New("disk full")
	}
	return s.Store.RecordFirings(ctx, fs, ms)
}

// weeklyNote is a workspace of one schedule, every Monday at 9:00, that
// adds a note.
func weeklyNote() map[string]string {
	return map[string]string{"weekly": `name: Weekly
trigger: {cron: "0 9 * * 1"}
actions:
  - note: {body: "monday"}
`}
}

// failingBatch is a store whose RecordFirings fails on call n (from 1)
// while n is set; calls counts them.
type failingBatch struct {
	store.Store
	n, calls atomic.Int32
}

func (s *failingBatch) RecordFirings(ctx context.Context, fs []*store.Firing, ms []store.MatchChange) ([]bool, error) {
	if c := s.calls.Add(1); c == s.n.Load() {
		return nil, errors.New("disk full")
	}
	return s.Store.RecordFirings(ctx, fs, ms)
}

// A step's firings past the first batch are recorded while the step goes
// on evaluating accounts: every one is recorded, in batches, before the
// step ends, and a batch that fails beside the evaluation is lost and
// fails the step as one recorded in turn does — the batches after it are
// recorded — so that the schedule fires again.
func TestFiringsRecordedBesideTheEvaluation(t *testing.T) {
	e := newPBEnv(t, weeklyNote())
	const n = 1_100 // three batches: two handed off, the last flushed
	as, ext := make([]account.Account, n), make([]string, n)
	for i := range as {
		ext[i] = fmt.Sprintf("acct-%04d", i)
		as[i] = account.Account{Name: fmt.Sprintf("Account %04d", i), ExternalID: ext[i]}
	}
	if _, err := e.st.UpsertAccounts(e.ctx, as, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	ids, err := e.st.ResolveExternalIDs(e.ctx, ext)
	if err != nil || len(ids) != n {
		t.Fatalf("accounts: %d, %v", len(ids), err)
	}
	st := &failingBatch{Store: e.st}
	var fired atomic.Int32
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: e.ws, Now: e.clock.Now,
		Playbooks: &engine.PlaybookConfig{OnFiring: func(store.Firing) { fired.Add(1) }}})
	e.step(a)                                   // 2026-03-10, a Tuesday: the schedule starts
	e.clock.Advance(6*24*time.Hour + time.Hour) // Monday the 16th, 10:00
	st.n.Store(st.calls.Load() + 2)             // the second batch of the Monday: one handed off
	if err := a.Step(e.ctx); err == nil {
		t.Fatal("a step whose second batch was not recorded did not fail")
	}
	if got := fired.Load(); got != n-500 {
		t.Errorf("recorded in the failed step: %d firings, want %d: all but the failed batch of 500", got, n-500)
	}
	st.n.Store(0)
	e.clock.Advance(time.Minute)
	e.step(a) // the rest fire: the schedule's time was not marked handled
	e.step(a) // the actions run
	if got := fired.Load(); got != n {
		t.Errorf("%d firings recorded, want one for each of the %d accounts", got, n)
	}
	for _, x := range ext {
		if got := e.notes(ids[x]); !slices.Equal(got, []string{"monday"}) {
			t.Fatalf("%s: %v, want the Monday note once", x, got)
		}
	}
}

// A schedule's time is handled once its firings are recorded: when the
// batch that holds them fails, the next step fires them.
func TestScheduleAfterFailedBatch(t *testing.T) {
	e := newPBEnv(t, weeklyNote())
	acme := e.newAccount(account.Account{Name: "Acme"})
	st := &failingFirings{Store: e.st}
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: e.ws, Now: e.clock.Now, Playbooks: &engine.PlaybookConfig{}})
	e.step(a)                                   // 2026-03-10, a Tuesday: the schedule starts
	e.clock.Advance(6*24*time.Hour + time.Hour) // Monday the 16th, 10:00
	st.fail = true
	if err := a.Step(e.ctx); err == nil {
		t.Fatal("a step whose firings were not recorded did not fail")
	}
	st.fail = false
	e.clock.Advance(time.Minute)
	e.step(a)
	e.step(a) // the action runs
	if got := e.notes(acme.ID); !slices.Equal(got, []string{"monday"}) {
		t.Errorf("after the failed batch: %v, want the Monday note once", got)
	}
}
