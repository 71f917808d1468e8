package postgres_test

import (
	"context"
	"testing"

	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/storetest"
)

// TestSharedDatabase opens one database twice, as two replicas do.
func TestSharedDatabase(t *testing.T) {
	dsn := freshDatabase(t, adminDB(t))
	a, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	storetest.SharedDatabase(t, a, b)
}
