package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/storetest"
)

// TestMigrateLegacyEvents migrates a database holding events one row each
// (before 0005_usage_perf.sql), checks that nothing is lost, and that the
// down migration gives them back.
func TestMigrateLegacyEvents(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t, adminDB(t))
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, raw, postgres.Migrations(), goose.WithGoMigrations(postgres.GoMigrations()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_at, updated_at) VALUES (1, 'Acme', now(), now()), (2, 'Gone', now(), now())`,
		`INSERT INTO write_keys (id, name, prefix, hash, created_at) VALUES (1, 'web', 'wk_web', '\x01', now())`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, e := range storetest.LegacyEvents {
		account := []any{storetest.LegacyAcme, storetest.LegacyGone, nil}[i]
		_, err := raw.ExecContext(ctx, `INSERT INTO usage_events (source_id, message_id, type, user_key, account_id, name, ts, received_at, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.SourceID, e.MessageID, e.Type, e.UserKey, account, e.Name,
			e.Timestamp, e.ReceivedAt, e.Body)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{`DELETE FROM usage_events WHERE seq = 3`, `DELETE FROM accounts WHERE id = 2`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckLegacyEvents(t, st)
	st.Close()

	var head []byte
	var size int
	if err := raw.QueryRowContext(ctx, `SELECT substr(bodies, 1, 1), octet_length(bodies) FROM usage_batches WHERE first_seq = 4`).Scan(&head, &size); err != nil {
		t.Fatal(err)
	}
	if string(head) != "\x01" || size >= len(storetest.LegacyFreshBody) {
		t.Errorf("m-9's bodies begin with %x and take %d bytes, want packed: 01 and under %d", head, size, len(storetest.LegacyFreshBody))
	}

	// The down migration unpacks m-9's body (usage_bodies.go), then gives
	// every event its row again.
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var n, bodies int
	var last int64
	var fresh []byte
	err = raw.QueryRowContext(ctx, `SELECT count(*), sum(octet_length(body)), (SELECT last_value FROM usage_events_seq_seq),
		(SELECT body FROM usage_events WHERE message_id = 'm-9') FROM usage_events`).Scan(&n, &bodies, &last, &fresh)
	if err != nil {
		t.Fatal(err)
	}
	want := len(storetest.LegacyEvents[0].Body) + len(storetest.LegacyFreshBody)
	if n != 3 || bodies != want || last != 4 || string(fresh) != string(storetest.LegacyFreshBody) {
		t.Errorf("after the down migration: %d events, %d body bytes, sequence at %d, m-9's body %q; want 3, %d, 4, %q",
			n, bodies, last, fresh, want, storetest.LegacyFreshBody)
	}
}
