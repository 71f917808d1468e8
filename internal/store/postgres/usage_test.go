package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/store"
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

// TestReplicasAppendTogether: two replicas that know their users append at
// once, each batch in one round trip (appendInOneTrip, or appendPrepared
// for the half sent as two prepared requests), half the batches sent to
// both, as a retry through another replica is. Each message is
// stored once, and the seqs run from 1 without a gap or a repeat: an
// insert whose check fails (the other replica stored meanwhile) goes the
// long way instead.
func TestReplicasAppendTogether(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t, adminDB(t))
	var sts [2]store.Store
	for i := range sts {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sts[i] = st
	}
	src := store.WriteKey{Name: "web app", Prefix: "wk_web", Hash: []byte("replicas")}
	if err := sts[0].CreateWriteKey(ctx, &src); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC)
	batch := func(ids ...string) []store.Event {
		evs := make([]store.Event, len(ids))
		for i, id := range ids {
			evs[i] = store.Event{SourceID: src.ID, MessageID: id, Type: "track", UserKey: fmt.Sprintf("user-%d", i), Name: "Searched code",
				Timestamp: at, ReceivedAt: at, Body: []byte(`{"type":"track"}`)}
		}
		return evs
	}
	const size, batches = 10, 150
	want := map[string]bool{}
	for r, st := range sts { // each learns the users and the source
		ids := make([]string, size)
		for j := range ids {
			ids[j] = fmt.Sprintf("warm-%d-%d", r, j)
			want[ids[j]] = true
		}
		if _, err := st.AppendEvents(ctx, batch(ids...)); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, len(sts))
	for r, st := range sts {
		go func() {
			for k := range batches {
				ids := make([]string, size)
				for j := range ids {
					if k%2 == 0 {
						ids[j] = fmt.Sprintf("both-%d-%d", k, j)
					} else {
						ids[j] = fmt.Sprintf("own-%d-%d-%d", r, k, j)
					}
				}
				evs := batch(ids...)
				var preps []store.Prepared
				if k%4 >= 2 { // half as the usage engine sends them: two requests, each prepared
					preps = []store.Prepared{st.PrepareEvents(ctx, evs[:size/2]), st.PrepareEvents(ctx, evs[size/2:])}
				}
				if _, err := st.AppendEvents(ctx, evs, preps...); err != nil {
					errs <- fmt.Errorf("replica %d, batch %d: %w", r, k, err)
					return
				}
			}
			errs <- nil
		}()
		for k := range batches {
			for j := range size {
				if k%2 == 0 {
					want[fmt.Sprintf("both-%d-%d", k, j)] = true
				} else {
					want[fmt.Sprintf("own-%d-%d-%d", r, k, j)] = true
				}
			}
		}
	}
	for range sts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	evs, err := sts[1].EventsSince(ctx, 0, 10*len(want))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, e := range evs {
		seen[e.MessageID]++
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d (%s) has seq %d, want %d: seqs must run without gaps", i, e.MessageID, e.Seq, i+1)
		}
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("message %s stored %d times (sent: %v)", id, n, want[id])
		}
	}
	if len(evs) != len(want) {
		t.Errorf("%d events stored, want %d distinct messages", len(evs), len(want))
	}
}

// TestFailedAppendRollsBack: an append is sent as two pipelines (BEGIN with
// the lock and the reads after it; the insert with COMMIT), or as one when
// the store knows everything the insert needs. One that fails in either
// half, or between them, stores nothing, hands out no seq and leaves no
// connection in a transaction, and the next append goes through. So does
// one missing the seq counter's row.
func TestFailedAppendRollsBack(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDatabase(t, adminDB(t))
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	src := store.WriteKey{Name: "web app", Prefix: "wk_web", Hash: []byte("rollback")}
	if err := st.CreateWriteKey(ctx, &src); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC)
	ev := func(msg string) store.Event {
		return store.Event{SourceID: src.ID, MessageID: msg, Type: "track", UserKey: "user-" + msg, Name: "Searched code",
			Timestamp: at, ReceivedAt: at, Body: []byte(`{"type":"track"}`)}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func(step string, wantSeq int64, wantRows int) {
		t.Helper()
		var seq int64
		var rows int
		var open []string
		if err := raw.QueryRowContext(ctx, `SELECT value FROM usage_state WHERE key = 'event_seq'`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM usage_batches`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		r, err := raw.QueryContext(ctx, `SELECT state FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			r.Scan(&s)
			open = append(open, s)
		}
		r.Close()
		if seq != wantSeq || rows != wantRows || len(open) > 0 {
			t.Errorf("%s: event_seq %d, %d rows, connections %q; want %d, %d and none in a transaction", step, seq, rows, open, wantSeq, wantRows)
		}
	}
	if _, err := st.AppendEvents(ctx, []store.Event{ev("m1")}); err != nil {
		t.Fatal(err)
	}
	check("after m1", 1, 1)

	// In one round trip (the user and the source are known by now): the
	// insert fails, and the transaction is rolled back.
	exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refused'; END$$`)
	exec(`CREATE TRIGGER refuse BEFORE INSERT ON usage_minutes FOR EACH ROW EXECUTE FUNCTION refuse()`)
	known := ev("m1b")
	known.UserKey = "user-m1"
	if _, err := st.AppendEvents(ctx, []store.Event{known}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("AppendEvents in one round trip, refused: %v, want the insert's error", err)
	}
	check("after a failed insert in one round trip", 1, 1)
	exec(`DROP TRIGGER refuse ON usage_minutes`)

	// The insert fails: a row already holds the next seq.
	exec(`INSERT INTO usage_batches (first_seq, last_seq, source_id, received_at, keys, bodies) VALUES (2, 2, $1, now(), '[]', '')`, src.ID)
	if _, err := st.AppendEvents(ctx, []store.Event{ev("m2")}); err == nil || !strings.Contains(err.Error(), "InsertBatches") {
		t.Fatalf("AppendEvents over a row holding its seq: %v, want the insert's error", err)
	}
	check("after a failed insert", 1, 2)

	// The reads after the lock fail: a row whose keys do not parse.
	exec(`UPDATE usage_batches SET keys = 'not json' WHERE first_seq = 2`)
	if _, err := st.AppendEvents(ctx, []store.Event{ev("m2")}); err == nil || !strings.Contains(err.Error(), "BatchKeysSince") {
		t.Fatalf("AppendEvents after a row of bad keys: %v, want the read's error", err)
	}
	check("after a failed read", 1, 2)
	exec(`DELETE FROM usage_batches WHERE first_seq = 2`)

	// Between the pipelines: a write key that does not exist.
	bad := ev("m2")
	bad.SourceID = src.ID + 100
	if _, err := st.AppendEvents(ctx, []store.Event{bad}); err == nil || !strings.Contains(err.Error(), "write key") {
		t.Fatalf("AppendEvents with an unknown write key: %v, want it named", err)
	}
	check("after an unknown write key", 1, 1)

	res, err := st.AppendEvents(ctx, []store.Event{ev("m2"), ev("m3")})
	if err != nil {
		t.Fatal(err)
	}
	check("after m2 m3", 3, 2)
	evs, err := st.EventsSince(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s@%d", e.MessageID, e.Seq))
	}
	if len(res.Accepted) != 2 || fmt.Sprint(got) != "[m1@1 m2@2 m3@3]" {
		t.Errorf("accepted %v, stored %v; want both, [m1@1 m2@2 m3@3]", res.Accepted, got)
	}

	// With the seq counter's row gone, the insert must fail, not commit
	// nothing.
	exec(`DELETE FROM usage_state WHERE key = 'event_seq'`)
	if _, err := st.AppendEvents(ctx, []store.Event{ev("m4")}); err == nil {
		t.Error("AppendEvents without the event_seq row: no error")
	}
	exec(`INSERT INTO usage_state (key, value) VALUES ('event_seq', 3)`)
	check("after the event_seq row went missing", 3, 2)
}
