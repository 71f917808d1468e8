package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/storetest"
)

// BenchmarkAppendEvents measures ingestion's write path on the server
// named by TEND_TEST_DATABASE_URL, in a database of its own; each batch is
// committed before AppendEvents returns, with the server's own durability
// settings (scripts/test turns fsync off; measure on a server configured as
// in production for figures worth quoting).
func BenchmarkAppendEvents(b *testing.B) {
	raw := os.Getenv("TEND_TEST_DATABASE_URL")
	if raw == "" {
		b.Skip("TEND_TEST_DATABASE_URL is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	for _, size := range []int{100, 500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			rb := make([]byte, 8)
			rand.Read(rb)
			name := "tend_bench_" + hex.EncodeToString(rb)
			if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
				b.Fatal(err)
			}
			defer admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
			dsn := *u
			dsn.Path = "/" + name
			st, err := postgres.Open(ctx, dsn.String())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			storetest.BenchmarkAppendEvents(b, st, size)
		})
	}
}
