package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// Usage's writes come in batches. Each dialect's queries.sql decides how a
// batch reaches the engine: a row query (InsertBatch, UpsertDay,
// UpsertFeatureUse) runs once per row on a statement prepared for the
// transaction, which over SQLite's in-process connection is as fast as SQL
// gets; a batch query of the same name in the plural (InsertBatches,
// UpsertDays, UpsertFeatureUses) takes one array per column and does the
// whole batch in one round trip, which is what a networked server needs
// (InsertBatches counts the minutes too, for a round trip less). A dialect
// defines the batch query only if its driver binds Go slices to arrays (pgx
// does).
//
// The code is split by job: usage_events.go stores and reads the raw
// events (usage_record.go is their row format), usage_dedup.go is the
// deduplication window, usage_users.go the users and their ordinals,
// usage_derived.go what the engine derives (days, features, first pings),
// usage_rejections.go the refused events.

// batchQuery returns the dialect's batch query of that name, if it has one.
func (db *DB) batchQuery(name string) (string, bool) {
	q, ok := db.q[name]
	return q, ok && q != ""
}

// lockStmt is a dialect's lock query as a Stmt, for a pipeline; ok is
// false for a dialect with one writer (see lock).
func (db *DB) lockStmt(name string) (Stmt, bool) {
	q := db.query(name)
	return Stmt{Name: name, SQL: q}, q != ""
}

// lock runs a dialect's lock query in tx. A dialect with one writer needs
// no locks and leaves the query empty (comments only).
func (db *DB) lock(ctx context.Context, tx txConn, name string) error {
	if q := db.query(name); q != "" {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// msTime is an instant at the precision both engines keep.
func msTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// checkText refuses text the engines would not store alike: PostgreSQL's
// text cannot hold NUL, and JSON (how keys travel in batches) cannot carry
// invalid UTF-8.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return derrors.Field(derrors.Unprocessable, field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return derrors.Field(derrors.Unprocessable, field, "contains a NUL character")
	}
	return nil
}

// required is checkText for a field that must not be empty.
func required(field, s string) error {
	if s == "" {
		return derrors.Field(derrors.Unprocessable, field, "is required")
	}
	return checkText(field, s)
}

func validateEvent(i int, e *store.Event) error {
	if e.SourceID <= 0 {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "source_id", "is required"))
	}
	for _, f := range []struct {
		name, val string
		req       bool
	}{{"message_id", e.MessageID, true}, {"type", e.Type, true}, {"user_key", e.UserKey, true}, {"name", e.Name, false}} {
		err := checkText(f.name, f.val)
		if f.req {
			err = required(f.name, f.val)
		}
		if err != nil {
			return rowErr(i, err)
		}
	}
	if e.Timestamp.IsZero() {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "timestamp", "is required"))
	}
	if e.ReceivedAt.IsZero() {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "received_at", "is required"))
	}
	return nil
}

// newUser is a user key a batch may have to give an ordinal to, with the
// time it was first seen.
type newUser struct {
	Key  string `json:"k"`
	Seen int64  `json:"t"` // unix ms
}

// sourceMessage identifies an event for deduplication.
type sourceMessage struct {
	source  int64
	message string
}

// minuteKey is one row of the per-minute counters.
type minuteKey struct {
	minute int64 // unix ms
	source int64
}

// usageState is what the usage methods keep per store beside the SQL:
// the deduplication window, statements of the hot path prepared once, and
// the write keys known to exist.
type usageState struct {
	dedup    *dedup
	ordinals ordinalCache
	// accounts is used under dedup.mu, as AppendEvents is.
	accounts accountCheck

	// preparing is held while the hot statements are prepared, which may
	// wait for the writer's connection; mu is only ever held briefly, so a
	// transaction in progress can always read stmts.
	preparing sync.Mutex
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt // nil until prepared
	sources   map[int64]bool
}

// usageStates holds each store's usageState, keyed weakly so that a store
// that is closed and dropped takes its state with it (DB has no field for
// it: the state belongs to usage alone).
var usageStates sync.Map // weak.Pointer[DB] → *usageState

func (db *DB) usage() *usageState {
	k := weak.Make(db)
	if u, ok := usageStates.Load(k); ok {
		return u.(*usageState)
	}
	u := &usageState{sources: map[int64]bool{}, dedup: &dedup{seed: maphash.MakeSeed()}}
	got, loaded := usageStates.LoadOrStore(k, u)
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[DB]) { usageStates.Delete(k) }, k)
	}
	return got.(*usageState)
}

// hotQueries are the statements of the hot path, prepared once per store.
var hotQueries = []string{"NextEventSeqs", "InsertBatch", "UsageUserOrdinals", "InsertUsageUsers", "CountMinute"}

// prepare makes sure the hot statements are prepared on the writer. It runs
// outside transactions: preparing takes the writer's connection, which a
// transaction of this goroutine would be holding (SQLite has one).
func (db *DB) prepare(ctx context.Context) error {
	u := db.usage()
	u.preparing.Lock()
	defer u.preparing.Unlock()
	u.mu.Lock()
	done := u.stmts != nil
	u.mu.Unlock()
	if done {
		return nil
	}
	stmts := map[string]*sql.Stmt{}
	for _, name := range hotQueries {
		q, ok := db.q[name]
		if !ok || q == "" { // a dialect may insert events in batches instead
			continue
		}
		s, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			for _, s := range stmts {
				s.Close()
			}
			return fmt.Errorf("preparing %s: %w", name, err)
		}
		stmts[name] = s
	}
	u.mu.Lock()
	u.stmts = stmts
	u.mu.Unlock()
	return nil
}

// stmt returns the named query for q: in a *sql.Tx, the statement prepare
// made when there is one, which every transaction on the writer's
// connection reuses where SQLite would otherwise compile the query on
// each call; on a connection (writeTx on PostgreSQL), the query's text.
func (db *DB) stmt(ctx context.Context, q txConn, name string) (bound, error) {
	tx, ok := q.(*sql.Tx)
	if !ok {
		return bound{q: q, query: db.query(name)}, nil
	}
	u := db.usage()
	u.mu.Lock()
	s, ok := u.stmts[name]
	u.mu.Unlock()
	if ok {
		return bound{s: tx.StmtContext(ctx, s)}, nil
	}
	s, err := tx.PrepareContext(ctx, db.query(name))
	if err != nil {
		return bound{}, fmt.Errorf("%s: %w", name, err)
	}
	return bound{s: s}, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// limitOr is limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// stream runs a read and calls each for every row, stopping at the first
// error.
func (db *DB) stream(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	return nil
}
