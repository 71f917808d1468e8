package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/storetest"
)

// BenchmarkAppendEvents measures ingestion's write path on a database file,
// as production runs it (WAL, synchronous=NORMAL, one writer): each batch
// is committed before AppendEvents returns.
func BenchmarkAppendEvents(b *testing.B) {
	for _, size := range []int{100, 500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tend.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			storetest.BenchmarkAppendEvents(b, st, size)
		})
	}
}
