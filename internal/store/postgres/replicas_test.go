package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
	"github.com/tendhq/tend/internal/workspace"
)

// TestTwoRunnersFireOnce: two replicas sharing one PostgreSQL database run
// the playbooks at the same moments — which the assessor's lease normally
// prevents, and which a lost lease or a clock skew still allows — and every
// firing, task and doc exists once: the firing's unique key and the claimed
// actions (FOR UPDATE SKIP LOCKED) decide, not the replicas' memory.
func TestTwoRunnersFireOnce(t *testing.T) {
	admin := adminDB(t)
	dsn := freshDatabase(t, admin)
	ctx := context.Background()
	open := func() store.Store {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st1, st2 := open(), open()
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	ta := team.User{Email: "ta@tend.test", Name: "TA", Role: team.TA}
	ae := team.User{Email: "ae@tend.test", Name: "AE", Role: team.AE}
	for _, u := range []*team.User{&ta, &ae} {
		if err := st1.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	const n = 40
	for i := range n {
		a := account.Account{Name: "Acct " + string(rune('A'+i%26)) + string(rune('a'+i/26)), EstimatedDevelopers: 500, ARR: 30_000,
			Seats: 50, OwnerID: &ta.ID, AEID: &ae.ID, CloseDate: date.MustParse("2025-07-20"), RenewalDate: date.MustParse("2026-07-20")}
		if err := st1.CreateAccount(ctx, &a, account.System("test", "")); err != nil {
			t.Fatal(err)
		}
	}
	runner := func(st store.Store) *engine.Assessor {
		return engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: clock.Now,
			Playbooks: &engine.PlaybookConfig{Effects: &engine.StoreEffects{Store: st, Workspace: ws, Now: clock.Now}}})
	}
	r1, r2 := runner(st1), runner(st2)
	// 2026-03-22 is 120 days before the renewals: both replicas step on
	// every day around it at once.
	for range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range []*engine.Assessor{r1, r2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = r.Step(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(24 * time.Hour)
	}
	page, err := st1.ListTasks(ctx, work.TaskFilter{Source: "playbook renewal", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != n {
		t.Errorf("%d renewal tasks for %d accounts", page.Total, n)
	}
	seen := map[int64]int{}
	for _, task := range page.Tasks {
		seen[task.AccountID]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("account %d has %d renewal tasks", id, c)
		}
	}
	firings, err := st2.ListFirings(ctx, store.FiringFilter{Playbook: "renewal", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(firings.Firings) != n {
		t.Errorf("%d renewal firings for %d accounts", len(firings.Firings), n)
	}
	docs := 0
	for id := range seen {
		ds, err := st2.ListDocs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Template == "health_assessment" {
				docs++
			}
		}
	}
	if docs != n {
		t.Errorf("%d health assessment docs for %d accounts", docs, n)
	}
}
