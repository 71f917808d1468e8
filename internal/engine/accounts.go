package engine

import (
	"context"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// accountIndex resolves the group ids events carry — an account's analytics
// id or its CRM external id — and knows each account's seats. It is loaded
// from the store and reloaded when an id misses, so that an account created
// a moment ago is found: at most once per minRefresh, and an id that missed
// after a reload is not retried for missTTL, so a stream of events for an
// unknown group cannot turn every event into a reload.
type accountIndex struct {
	st         store.Store
	minRefresh time.Duration
	missTTL    time.Duration

	// loading is held while the index reloads: requests resolve their
	// events in their own goroutines, and one reload serves them all.
	loading  sync.Mutex
	mu       sync.RWMutex
	byGroup  map[string]int64
	seats    map[int64]int
	loadedAt time.Time
	// misses holds ids not found after a reload, with when.
	misses map[string]time.Time
}

func newAccountIndex(st store.Store) *accountIndex {
	return &accountIndex{st: st, minRefresh: 100 * time.Millisecond, missTTL: 2 * time.Second,
		byGroup: map[string]int64{}, seats: map[int64]int{}, misses: map[string]time.Time{}}
}

// load reads every account's ids and seats.
func (x *accountIndex) load(ctx context.Context) error {
	byGroup, seats := map[string]int64{}, map[int64]int{}
	f := account.Filter{Limit: account.MaxLimit, Sort: "created"}
	for {
		page, err := x.st.ListAccounts(ctx, f)
		if err != nil {
			return err
		}
		for _, a := range page.Accounts {
			if a.ExternalID != "" {
				byGroup[a.ExternalID] = a.ID
			}
			if a.AnalyticsID != "" {
				byGroup[a.AnalyticsID] = a.ID // the analytics id wins a clash
			}
			seats[a.ID] = a.Seats
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	x.mu.Lock()
	x.byGroup, x.seats, x.loadedAt = byGroup, seats, time.Now()
	clear(x.misses)
	x.mu.Unlock()
	return nil
}

// resolve returns the account a group id names, reloading the index on a
// miss when it is older than minRefresh.
func (x *accountIndex) resolve(ctx context.Context, group string) (int64, bool) {
	if group == "" {
		return 0, false
	}
	x.mu.RLock()
	id, ok := x.byGroup[group]
	missed, known := x.misses[group]
	recent := time.Since(x.loadedAt) < x.minRefresh
	x.mu.RUnlock()
	if ok || recent || known && time.Since(missed) < x.missTTL {
		return id, ok
	}
	x.loading.Lock()
	defer x.loading.Unlock()
	x.mu.RLock()
	id, ok = x.byGroup[group]
	recent = time.Since(x.loadedAt) < x.minRefresh
	x.mu.RUnlock()
	if ok || recent {
		return id, ok // another request reloaded meanwhile
	}
	if err := x.load(ctx); err != nil {
		return 0, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok = x.byGroup[group]
	if !ok {
		if len(x.misses) > 10_000 {
			clear(x.misses)
		}
		x.misses[group] = time.Now()
	}
	return id, ok
}

// seatsOf returns an account's seats as last loaded.
func (x *accountIndex) seatsOf(id int64) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.seats[id]
}

// setSeats records an account's current seats (after an edit).
func (x *accountIndex) setSeats(id int64, seats int) {
	x.mu.Lock()
	x.seats[id] = seats
	x.mu.Unlock()
}

func isNotFound(err error) bool { return derrors.Is(err, derrors.NotFound) }
