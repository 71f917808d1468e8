package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/store/postgres"
)

// TestHotPlansUseIndexes: the statements every append or window read runs
// are prepared once (pgx caches them), so after five executions
// PostgreSQL may keep a generic plan, made without the parameters' values.
// For these it must still go by an index of usage_batches or usage_users,
// never read the whole table: at 50,000 rows (5 million events) a scan
// costs milliseconds, and each append pays it.
func TestHotPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t, adminDB(t))
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`INSERT INTO usage_batches (first_seq, last_seq, source_id, received_at, keys, bodies)
		 SELECT g*100+1, g*100+100, 1, now(), '[]', '' FROM generate_series(0, 49999) g`,
		`INSERT INTO usage_users (ordinal, key, first_seen) SELECT g, 'user-' || g, now() FROM generate_series(1, 50000) g`,
		`ANALYZE usage_batches`,
		`ANALYZE usage_users`,
		`SET plan_cache_mode = force_generic_plan`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	queries := postgres.Queries()
	for name, args := range map[string]string{
		"InsertBatches": `(10, '{1}', '{10}', '{1}', '{2026-03-14 10:00:00+00}', '{"[]"}', '{"\\x"}',
			'{2026-03-14 10:00:00+00}', '{1}', '{10}', 5000000, '{}')`,
		"BatchKeysAt":     `(4000000)`,
		"RecentBatchKeys": `(1000)`,
		"BatchKeysSince":  `(4000000, 1000)`,
		"BatchesFrom":     `(4000000, 100)`,
		// The users' ordinals, on a cache miss.
		"UsageUserOrdinals": `('["user-1", "user-2"]')`,
		"InsertUsageUsers":  `('[{"k": "user-1", "t": 0}, {"k": "new", "t": 0}]')`,
	} {
		q, ok := queries[name]
		if !ok {
			t.Fatalf("no query %s", name)
		}
		if _, err := conn.ExecContext(ctx, "PREPARE "+strings.ToLower(name)+" AS "+q); err != nil {
			t.Fatalf("PREPARE %s: %v", name, err)
		}
		rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE "+strings.ToLower(name)+args)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		for _, table := range []string{"usage_batches", "usage_users"} {
			if strings.Contains(p, "Seq Scan on "+table) {
				t.Errorf("%s's generic plan reads all of %s:\n%s", name, table, p)
			}
		}
	}
}
