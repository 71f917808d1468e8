package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var storeTests = []test{
	{"Dialect", testDialect},
	{"ConcurrentWriters", testConcurrentWriters},
	{"ConcurrentModifications", testConcurrentModifications},
}

// testConcurrentModifications: modifications of one account at once each
// see the others' results — no lost update (a PATCH of seats and a PATCH
// of ARR at the same moment both stick).
func testConcurrentModifications(e *env) {
	a := account.Account{Name: "Acme", ExternalID: "A-1"}
	e.ok(e.st.CreateAccount(e.ctx, &a, account.System("test", "")), "CreateAccount")
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := e.st.ModifyAccount(e.ctx, a.ID, func(acc *account.Account) error {
				acc.Seats++
				if i%2 == 0 {
					acc.ARR += 1000
				}
				return nil
			}, account.System("worker", ""))
			if err != nil {
				e.t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.Seats != n || got.ARR != n/2*1000 {
		e.t.Errorf("after %d concurrent modifications: seats %d, ARR %d; want %d and %d", n, got.Seats, got.ARR, n, n/2*1000)
	}
	// A modification that fails writes nothing, and a bad result is refused.
	_, err = e.st.ModifyAccount(e.ctx, a.ID, func(acc *account.Account) error { acc.Seats = -1; return nil }, account.System("t", ""))
	wantErr(e.t, err, derrors.Unprocessable, "seats")
	_, err = e.st.ModifyAccount(e.ctx, 999_999, func(*account.Account) error { return nil }, account.System("t", ""))
	wantErr(e.t, err, derrors.NotFound, "")
}

func testDialect(e *env) {
	if d := e.st.Dialect(); d != "sqlite" && d != "postgres" {
		e.t.Errorf("Dialect() = %q, want sqlite or postgres", d)
	}
}

// testConcurrentWriters runs the API's shape of load: several requests at
// once, each a write transaction followed by reads. On SQLite the one
// writer connection must queue them (busy timeout, BEGIN IMMEDIATE) rather
// than fail with "database is locked"; on PostgreSQL they simply overlap.
func testConcurrentWriters(e *env) {
	const workers, each = 6, 8
	u := e.user("Dana Advisor", "dana@tend.test", team.TA)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a := account.Account{Name: fmt.Sprintf("Account %d-%d", w, i), ExternalID: fmt.Sprintf("W%d-%d", w, i), OwnerID: &u.ID, ARR: 1000}
				if err := e.st.CreateAccount(e.ctx, &a, account.System("worker", "")); err != nil {
					errs <- err
					continue
				}
				if _, err := e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "usage_score", float64(i))}, account.System("worker", "")); err != nil {
					errs <- err
				}
				if _, err := e.st.ListAccounts(e.ctx, account.Filter{OwnerID: u.ID, Limit: 5}); err != nil {
					errs <- err
				}
				if err := e.st.Commit(fmt.Sprintf("s%d-%d", w, i), []byte("x"), e.now().Add(time.Hour)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Error(err)
	}
	stats, err := e.st.OwnerStats(e.ctx)
	e.ok(err, "OwnerStats")
	if got := stats[u.ID]; got.Accounts != workers*each || got.ARR != workers*each*1000 {
		e.t.Errorf("OwnerStats after concurrent creates = %+v, want %d accounts", got, workers*each)
	}
}
