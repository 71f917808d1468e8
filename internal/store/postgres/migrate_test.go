package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tendhq/tend/internal/store/postgres"
)

// Replicas started together on a fresh database migrate it once: the
// migrations take a session lock (without it, two of three fail with
// "relation already exists").
func TestConcurrentMigrations(t *testing.T) {
	dsn := freshDatabase(t, adminDB(t))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			st, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				err = st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}
