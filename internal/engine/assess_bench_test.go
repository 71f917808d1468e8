package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

var benchNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// benchAccount makes a varied account with the handbook's traits: every
// segment, stage and colour occurs.
func benchAccount(r *rand.Rand, i int) (account.Account, map[string]any) {
	today := date.Of(benchNow)
	a := account.Account{ID: int64(i + 1), Name: fmt.Sprintf("Account %d", i), ExternalID: fmt.Sprintf("bench-%d", i),
		EstimatedDevelopers: r.IntN(20_000), ARR: int64(r.IntN(400_000)), Seats: 10 + r.IntN(2_000),
		CloseDate: today.AddDays(-r.IntN(800) + 30), RenewalDate: today.AddDays(r.IntN(365) + 31)}
	pulses := []string{"Healthy", "Concerning", "Poor"}
	traits := map[string]any{
		"ta_pulse": pulses[r.IntN(3)], "last_month_versions_behind": float64(r.IntN(7)),
		"precise_intel_status": []string{"active", "inactive"}[r.IntN(2)],
		"defect_tickets_90d":   float64(r.IntN(7)), "help_tickets_90d": float64(r.IntN(20)),
		"active_champion": r.IntN(2) == 0, "access_to_buyer": r.IntN(2) == 0,
		"last_activity_date": today.AddDays(-r.IntN(45)).String(),
		"usage_score":        r.Float64() * 0.5, "last_month_mau_over_seats": r.Float64() * 1.1, "seat_utilization": r.Float64(),
	}
	return a, traits
}

// BenchmarkAssessFull is the pure part of a full recompute — segment,
// program, stage, model choice, health, explanation and the diff against
// the last assessment — for every account of a book, per account, at
// three book sizes: the cost per account must stay flat.
//
//	go test -run '^$' -bench AssessFull -benchtime 3x ./internal/engine/
func BenchmarkAssessFull(b *testing.B) {
	ws, err := workspace.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			ins := make([]assess.Input, n)
			prev := make([]assess.State, n)
			for i := range ins {
				a, traits := benchAccount(r, i)
				ins[i] = assess.Input{Account: a, Traits: traits, Contacts: map[string]int{account.RoleChampion: 1}}
				prev[i] = assess.Assess(ws, ins[i], benchNow.AddDate(0, 0, -1))
			}
			b.ResetTimer()
			changes := 0
			for range b.N {
				for i := range ins {
					s := assess.Assess(ws, ins[i], benchNow)
					_ = assess.Explain(ws, s, ins[i].Account.Seats)
					changes += len(assess.Diff(&prev[i], s))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/account")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pass")
		})
	}
}

// benchStore fills a SQLite file with n accounts and their traits.
func benchStore(b *testing.B, n int) (*sqlstore.DB, *workspace.Workspace) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tend.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	st.Now = func() time.Time { return benchNow }
	ws, err := workspace.Default()
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const chunk = 5_000
	for from := 0; from < n; from += chunk {
		var as []account.Account
		var traits []map[string]any
		for i := from; i < min(n, from+chunk); i++ {
			a, t := benchAccount(r, i)
			a.ID = 0
			as = append(as, a)
			traits = append(traits, t)
		}
		if _, err := st.UpsertAccounts(ctx, as, account.System("bench", "")); err != nil {
			b.Fatal(err)
		}
		ids, err := st.ResolveExternalIDs(ctx, externalIDs(as))
		if err != nil {
			b.Fatal(err)
		}
		var ws []account.TraitWrite
		for i, a := range as {
			for k, v := range traits[i] {
				ws = append(ws, account.TraitWrite{AccountID: ids[a.ExternalID], Key: k, Value: v})
			}
		}
		if _, err := st.SetTraits(ctx, ws, account.System("bench", account.SourceWarehouse)); err != nil {
			b.Fatal(err)
		}
	}
	return st, ws
}

func externalIDs(as []account.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ExternalID
	}
	return out
}

func benchAccounts() int {
	if s := os.Getenv("TEND_BENCH_ACCOUNTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 10_000
}

// BenchmarkAssessorStepFull is a whole full pass of the assessor over a
// SQLite file: load every account's inputs, assess, save what moved and a
// snapshot of every account for the day. The book is TEND_BENCH_ACCOUNTS
// accounts (default 10,000); each iteration is a new day.
//
//	TEND_BENCH_ACCOUNTS=100000 go test -run '^$' -bench AssessorStepFull -benchtime 3x -timeout 30m ./internal/engine/
func BenchmarkAssessorStepFull(b *testing.B) {
	n := benchAccounts()
	st, ws := benchStore(b, n)
	clock := engine.NewManualClock(benchNow)
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: clock.Now})
	ctx := context.Background()
	if err := a.Step(ctx); err != nil { // the first assessment writes every account
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		clock.Advance(24 * time.Hour)
		if err := a.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pass")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/account")
}

// BenchmarkAssessorStepOne is the incremental path: one trait of one
// account changes (timer stopped), then the step that reloads, reassesses
// and saves it (timed).
//
//	go test -run '^$' -bench AssessorStepOne -benchtime 2000x ./internal/engine/
func BenchmarkAssessorStepOne(b *testing.B) {
	n := benchAccounts()
	st, ws := benchStore(b, n)
	clock := engine.NewManualClock(benchNow)
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: clock.Now})
	ctx := context.Background()
	if err := a.Step(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := int64(i%n + 1)
		// Alternate the pulse, so the score moves and the account is saved.
		pulse := []string{"Healthy", "Poor"}[i%2]
		if _, err := st.SetTraits(ctx, []account.TraitWrite{{AccountID: id, Key: "ta_pulse", Value: pulse}},
			account.System("bench", account.SourceManual)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := a.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaybookTraitChange is one trait change to its actions: a TA
// pulse is written (as the API writes it), then the step that reloads and
// reassesses the account and runs the playbooks it triggers — the
// handbook's twelve and one that, on every pulse change, creates a task and
// notifies the owner in Tend — through the real effects in the store. The
// write and the step are timed together.
//
//	TEND_BENCH_ACCOUNTS=100000 go test -run '^$' -bench PlaybookTraitChange -benchtime 500x -timeout 30m ./internal/engine/
func BenchmarkPlaybookTraitChange(b *testing.B) {
	n := benchAccounts()
	st, ws := benchStore(b, n)
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "playbooks", "pulse.yaml"), []byte(`name: Pulse changed
trigger:
  signal: trait_changed
  trait: ta_pulse
reentry: every_time
actions:
  - task: {assignee: owner, due_days: 3, title: "Pulse of {{.account.name}} changed: {{.trigger}}"}
  - notify: {to: owner, channels: [inbox], title: "{{.account.name}}: pulse changed"}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	extra, err := workspace.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	w := *ws
	w.Playbooks = append(slices.Clone(ws.Playbooks), extra.Playbook("pulse"))
	ctx := context.Background()
	ta := team.User{Email: "ta@bench.test", Name: "TA", Role: team.TA}
	if err := st.CreateUser(ctx, &ta); err != nil {
		b.Fatal(err)
	}
	clock := engine.NewManualClock(benchNow)
	tasks := 0
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: &w, Now: clock.Now,
		Playbooks: &engine.PlaybookConfig{Effects: &engine.StoreEffects{Store: st, Workspace: &w, Now: clock.Now},
			OnAction: func(fa store.FiringAction, _ string, err error) {
				if fa.Playbook != "pulse" {
					return // the handbook's, on accounts the bench gave no owner
				}
				if err != nil {
					b.Fatal(err)
				}
				if fa.Kind == "task" {
					tasks++
				}
			}}})
	if err := a.Step(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := int64(i%n + 1)
		if _, err := st.ModifyAccount(ctx, id, func(x *account.Account) error { x.OwnerID = &ta.ID; return nil },
			account.System("bench", "")); err != nil {
			b.Fatal(err)
		}
		if _, err := st.SetTraits(ctx, []account.TraitWrite{{AccountID: id, Key: "ta_pulse", Value: "Concerning"}},
			account.System("bench", account.SourceManual)); err != nil {
			b.Fatal(err)
		}
		if err := a.Step(ctx); err != nil {
			b.Fatal(err)
		}
		clock.Advance(time.Second)
		before := tasks
		b.StartTimer()
		pulse := []string{"Healthy", "Poor"}[i%2]
		if _, err := st.SetTraits(ctx, []account.TraitWrite{{AccountID: id, Key: "ta_pulse", Value: pulse}},
			account.System("bench", account.SourceManual)); err != nil {
			b.Fatal(err)
		}
		if err := a.Step(ctx); err != nil {
			b.Fatal(err)
		}
		if tasks == before {
			b.Fatalf("the pulse change of account %d made no task", id)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/change")
}
