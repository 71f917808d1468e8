// Package sqlstore implements store.Store over database/sql. The two
// dialects (store/sqlite and store/postgres) hand it their embedded SQL: a
// queries.sql file of named queries and numbered goose migrations. The Go
// here is shared; what differs between engines lives in the .sql files and
// in the few Dialect hooks below.
package sqlstore

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tendhq/tend/internal/derrors"
)

// Dialect is what an engine supplies.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Goose is the goose dialect for migrations.
	Goose goose.Dialect
	// Queries holds queries.sql; Migrations holds the numbered *.sql files
	// at its root.
	Queries    fs.FS
	Migrations fs.FS
	// PackedBodies is the version of the Go migration from which raw
	// events' bodies may be stored packed (usage_bodies.go); Migrations
	// has no file of that number.
	PackedBodies int64
	// Time converts an instant to the argument its columns take.
	Time func(time.Time) any
	// Unique reports the field behind a unique-constraint violation.
	Unique func(error) (field string, ok bool)
	// ForeignKey reports the field behind a foreign-key violation ("" when
	// the engine does not say).
	ForeignKey func(error) (field string, ok bool)
	// MigrationLock, when set, makes migrations take a database-wide lock,
	// so that replicas starting together on one database migrate it once.
	MigrationLock func() (lock.SessionLocker, error)
	// InsertedID says the driver reports an inserted row's id (SQLite's
	// last_insert_rowid): the inserts insertID runs then have no
	// RETURNING, which SQLite runs as a trigger with a statement journal
	// (a temporary file written page by page) for every row.
	InsertedID bool
	// Pipeline, when set, sends stmts on conn in one round trip and calls
	// their Row for their rows, in order. It returns the first error,
	// naming the statement; the statements after a failed one do not
	// run. A COMMIT that ends in a rollback is ErrCommitRolledBack.
	// writeTx uses it (see there).
	Pipeline func(ctx context.Context, conn *sql.Conn, stmts []Stmt) error
}

// insertID runs a prepared insert of one row that may insert none (ON
// CONFLICT DO NOTHING) and says the new row's id: RETURNING id, or the
// driver's id of the row where the dialect has one (Dialect.InsertedID).
func (db *DB) insertID(ctx context.Context, st *sql.Stmt, args ...any) (id int64, inserted bool, err error) {
	if db.d.InsertedID {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return 0, false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return 0, false, err
		}
		id, err = res.LastInsertId()
		return id, err == nil, err
	}
	err = st.QueryRowContext(ctx, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// DB is a store.Store on one database.
type DB struct {
	d Dialect
	// w takes every write; SQLite gives it one connection (one writer).
	w *sql.DB
	// r serves reads outside transactions.
	r *sql.DB
	q map[string]string
	// Now is the store's clock for created/updated times. Tests replace it.
	Now func() time.Time
}

// Open runs the dialect's migrations on w and returns the store. r may be
// the same handle as w.
func Open(ctx context.Context, d Dialect, w, r *sql.DB) (*DB, error) {
	q, err := LoadQueries(d.Queries)
	if err != nil {
		return nil, err
	}
	db := &DB{d: d, w: w, r: r, q: q, Now: time.Now}
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// Migrate applies every migration not yet applied, each in its own
// transaction.
func (db *DB) Migrate(ctx context.Context) error {
	var opts []goose.ProviderOption
	if db.d.MigrationLock != nil {
		l, err := db.d.MigrationLock()
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	opts = append(opts, goose.WithGoMigrations(GoMigrations(db.d)...))
	p, err := goose.NewProvider(db.d.Goose, db.w, db.d.Migrations, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// GoMigrations are the dialect's migrations written in Go, for a goose
// provider of its Migrations (goose.WithGoMigrations): fresh ones each
// call, as a provider keeps its own.
func GoMigrations(d Dialect) []*goose.Migration {
	return []*goose.Migration{packedBodiesMigration(d.PackedBodies)}
}

// Dialect names the engine.
func (db *DB) Dialect() string { return db.d.Name }

// Close closes both handles.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// SQL returns the writer handle, for tools (benchmarks, backups) that need
// the database itself.
func (db *DB) SQL() *sql.DB { return db.w }

// now is the store clock at the precision both engines keep.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Millisecond) }

// query returns the SQL of a named query; a missing name is a programming
// error caught by the conformance suite.
func (db *DB) query(name string) string {
	s, ok := db.q[name]
	if !ok {
		panic("sqlstore: no query named " + name + " in " + db.d.Name + " queries.sql")
	}
	return s
}

// LoadQueries reads the queries.sql in fsys into its queries by name, as
// Open does: each "-- name: X" line starts one, and comment lines are left
// out.
func LoadQueries(fsys fs.FS) (map[string]string, error) {
	f, err := fsys.Open("queries.sql")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	var name string
	var b strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSpace(b.String())
		}
		b.Reset()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "-- name: "); ok {
			flush()
			name = strings.TrimSpace(n)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	flush()
	return out, sc.Err()
}

// queryIDs runs the named query with ids as its one argument, a JSON
// array, which the queries unpack (json_each on SQLite, jsonb_array_elements_text
// on PostgreSQL).
func (db *DB) queryIDs(ctx context.Context, q queryer, name string, ids []int64) (*sql.Rows, error) {
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, db.query(name), string(js))
}

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// mapErr turns engine constraint errors into coded errors.
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if f, ok := db.d.Unique(err); ok {
		return derrors.Field(derrors.Conflict, f, "is already taken")
	}
	if f, ok := db.d.ForeignKey(err); ok {
		if f == "" {
			return derrors.New(derrors.Unprocessable, "refers to a user or account that does not exist")
		}
		return derrors.Field(derrors.Unprocessable, f, "refers to a record that does not exist")
	}
	return err
}

// userRef is a column that refers to a user, for naming the field of a
// foreign-key violation.
type userRef struct {
	field string
	id    *int64
}

// mapRefErr is mapErr for a write whose foreign keys are user references.
// PostgreSQL names the column of a violated foreign key and SQLite does
// not, so on SQLite the store finds the missing user itself: both engines
// then answer with the field at fault. It runs only on the error path, and
// in the same transaction, which SQLite keeps usable after a failed
// statement.
func (db *DB) mapRefErr(ctx context.Context, q queryer, err error, refs ...userRef) error {
	if f, ok := db.d.ForeignKey(err); ok && f == "" {
		for _, r := range refs {
			if r.id == nil {
				continue
			}
			var n int
			if e := q.QueryRowContext(ctx, db.query("UserExists"), *r.id).Scan(&n); e == nil && n == 0 {
				return derrors.Field(derrors.Unprocessable, r.field, "user %d not found", *r.id)
			}
		}
	}
	return db.mapErr(err)
}

func notFound(what string, key any) error {
	return derrors.New(derrors.NotFound, "%s %v not found", what, key)
}

// timeVal scans an instant from INTEGER milliseconds (SQLite) or
// timestamptz (PostgreSQL).
type timeVal struct{ t *time.Time }

func (v timeVal) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		*v.t = time.UnixMilli(x).UTC()
	case time.Time:
		*v.t = x.UTC()
	default:
		return fmt.Errorf("time: cannot scan %T", src)
	}
	return nil
}

// nullTimeVal is timeVal for a nullable column.
type nullTimeVal struct{ t **time.Time }

func (v nullTimeVal) Scan(src any) error {
	if src == nil {
		*v.t = nil
		return nil
	}
	var t time.Time
	if err := (timeVal{&t}).Scan(src); err != nil {
		return err
	}
	*v.t = &t
	return nil
}

// nullIfEmpty stores "" as NULL, for unique columns where empty means unset.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullID stores a nil id as NULL.
func nullID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// idVal scans a nullable id.
type idVal struct{ p **int64 }

func (v idVal) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	if n.Valid {
		id := n.Int64
		*v.p = &id
	} else {
		*v.p = nil
	}
	return nil
}

// strVal scans a nullable text column into a string ("" for NULL).
type strVal struct{ p *string }

func (v strVal) Scan(src any) error {
	var n sql.NullString
	if err := n.Scan(src); err != nil {
		return err
	}
	*v.p = n.String
	return nil
}

// splitList reads a comma-separated list column.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}
