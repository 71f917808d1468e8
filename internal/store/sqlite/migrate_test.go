package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/store/storetest"
)

// TestMigrateLegacyEvents migrates a database holding events one row each
// (before 0005_usage_perf.sql) and checks that nothing is lost.
func TestMigrateLegacyEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tend.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		t.Fatal(err)
	}
	migrations, _ := fs.Sub(files, "sql/migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, migrations, goose.WithGoMigrations(sqlstore.GoMigrations(dialect())...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_at, updated_at) VALUES (1, 'Acme', 0, 0), (2, 'Gone', 0, 0)`,
		`INSERT INTO write_keys (id, name, prefix, hash, created_at) VALUES (1, 'web', 'wk_web', x'01', 0)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, e := range storetest.LegacyEvents {
		account := []any{storetest.LegacyAcme, storetest.LegacyGone, nil}[i]
		_, err := raw.ExecContext(ctx, `INSERT INTO usage_events (source_id, message_id, type, user_key, account_id, name, ts, received_at, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.SourceID, e.MessageID, e.Type, e.UserKey, account, e.Name,
			e.Timestamp.UnixMilli(), e.ReceivedAt.UnixMilli(), e.Body)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{`DELETE FROM usage_events WHERE seq = 3`, `DELETE FROM accounts WHERE id = 2`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckLegacyEvents(t, st)
	st.Close()

	// And back: the down migration gives every event its row again, m-9's
	// body unpacked first (usage_bodies.go).
	raw, err = sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var head string
	var size int
	if err := raw.QueryRowContext(ctx, `SELECT hex(substr(bodies, 1, 1)), length(bodies) FROM usage_batches WHERE first_seq = 4`).Scan(&head, &size); err != nil {
		t.Fatal(err)
	}
	if head != "01" || size >= len(storetest.LegacyFreshBody) {
		t.Errorf("m-9's bodies begin with %s and take %d bytes, want packed: 01 and under %d", head, size, len(storetest.LegacyFreshBody))
	}
	if p, err = goose.NewProvider(goose.DialectSQLite3, raw, migrations, goose.WithGoMigrations(sqlstore.GoMigrations(dialect())...)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := raw.QueryContext(ctx, `SELECT seq, message_id, user_key, coalesce(account_id, 0), hex(body) FROM usage_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq, account int64
		var msg, user, body string
		if err := rows.Scan(&seq, &msg, &user, &account, &body); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %q %d %s", seq, msg, user, account, body))
	}
	want := []string{
		fmt.Sprintf("1 m-1 %q 1 %X", storetest.LegacyEvents[0].UserKey, storetest.LegacyEvents[0].Body),
		`2 m-2 "anon:7f" 2 `,
		fmt.Sprintf(`4 m-9 "u9" 0 %X`, storetest.LegacyFreshBody),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after the down migration:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
