package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/storetest"
)

// TestSharedDatabase opens one file twice, as tend serve and tend import
// do when they run side by side.
func TestSharedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tend.db")
	a, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	storetest.SharedDatabase(t, a, b)
}
