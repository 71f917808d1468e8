// Package storetest is the conformance suite every store.Store passes, in
// the manner of river's riverdrivertest: each implementation's own test
// calls Run with a function that opens a fresh, empty store, and the suite
// checks every method against the contract documented in package store.
// What one engine does and the other does not is a bug in one of them, so
// the suite asserts exact results (ids, order, counts, error codes and
// fields, instants to the millisecond), not merely "no error".
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/team"
)

// Run runs the whole suite. open must return a new, empty, migrated store
// for every call (each subtest gets its own, so subtests run in parallel)
// and close it in a t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Accounts", accountTests},
		{"ListAccounts", listTests},
		{"UpsertAccounts", upsertAccountTests},
		{"Contacts", contactTests},
		{"Traits", traitTests},
		{"Activities", activityTests},
		{"Users", userTests},
		{"Tokens", tokenTests},
		{"Sessions", sessionTests},
		{"WriteKeys", writeKeyTests},
		{"Usage", usageTests},
		{"Assessments", assessmentTests},
		{"Playbooks", playbookTests},
		{"Work", workTests},
		{"Outbox", outboxTests},
		{"Campaigns", campaignTests},
		{"Store", storeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(newEnv(t, open))
				})
			}
		})
	}
}

// test is one case of the suite.
type test struct {
	name string
	fn   func(e *env)
}

// start is the suite's fixed clock reading. Its sub-millisecond part is
// there on purpose: both engines keep instants to the millisecond, and the
// suite checks that they agree on which millisecond.
var start = time.Date(2026, time.March, 14, 15, 9, 26, 535_897_932, time.UTC)

// clock is a settable clock shared by the store and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's store and clock.
type env struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	// clock drives the store's created/updated times when the store lets a
	// test set its clock (sqlstore.DB.Now); nil otherwise, and then times
	// are compared loosely against the wall clock.
	clock *clock
}

func newEnv(t *testing.T, open func(t *testing.T) store.Store) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), st: open(t)}
	if db, ok := e.st.(*sqlstore.DB); ok {
		e.clock = &clock{t: start}
		db.Now = e.clock.Now
	}
	return e
}

// now is the instant the store will stamp on the next write, at the
// precision both engines keep.
func (e *env) now() time.Time {
	if e.clock == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return e.clock.Now().UTC().Truncate(time.Millisecond)
}

// advance moves the store's clock on. Without a settable clock it only
// waits long enough for the next write to get a later millisecond; tests
// that need the exact step call needClock.
func (e *env) advance(d time.Duration) {
	if e.clock == nil {
		time.Sleep(2 * time.Millisecond)
		return
	}
	e.clock.Advance(d)
}

// needClock skips a test that has to move time by minutes or hours.
func (e *env) needClock() {
	if e.clock == nil {
		e.t.Skip("the store does not expose a settable clock")
	}
}

// sameInstant checks a stored time against the instant expected. With the
// fixed clock the match is exact to the millisecond; otherwise within a
// few seconds.
func (e *env) sameInstant(what string, got, want time.Time) {
	e.t.Helper()
	if e.clock == nil {
		if d := got.Sub(want); d < -5*time.Second || d > 5*time.Second {
			e.t.Errorf("%s = %v, want about %v", what, got, want)
		}
		return
	}
	if !got.Equal(want) {
		e.t.Errorf("%s = %v, want %v", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		e.t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// ok fails the test at once on an unexpected error.
func (e *env) ok(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// wantErr checks that err is a *derrors.Error with the code and, when
// field is not "", that field.
func wantErr(t *testing.T, err error, code derrors.Code, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("error = nil, want %s", code)
		return
	}
	var de *derrors.Error
	if !errors.As(err, &de) {
		t.Errorf("error %q (%T) is not a *derrors.Error; want %s", err, err, code)
		return
	}
	if de.Code != code {
		t.Errorf("error %q has code %s, want %s", err, de.Code, code)
	}
	if field != "" && de.Field != field {
		t.Errorf("error %q names field %q, want %q", err, de.Field, field)
	}
	if de.Message == "" {
		t.Errorf("error %q has no message", err)
	}
}

// sameJSON compares two values by their JSON form, which is what the API
// shows; the failure prints both.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// user creates a team member.
func (e *env) user(name, email string, role team.Role) team.User {
	e.t.Helper()
	u := team.User{Name: name, Email: email, Role: role}
	e.ok(e.st.CreateUser(e.ctx, &u), "CreateUser "+email)
	return u
}

// account creates a, by the system.
func (e *env) account(a account.Account) account.Account {
	e.t.Helper()
	e.ok(e.st.CreateAccount(e.ctx, &a, account.System("storetest", "")), "CreateAccount "+a.Name)
	return a
}

// contact creates c.
func (e *env) contact(c account.Contact) account.Contact {
	e.t.Helper()
	e.ok(e.st.CreateContact(e.ctx, &c), "CreateContact "+c.Email)
	return c
}

func ptr[T any](v T) *T { return &v }

func ids(as []account.Account) []int64 {
	out := make([]int64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}
