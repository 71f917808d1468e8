// Package sqlite is Tend's embedded store: one SQLite file in WAL mode with
// foreign keys on, a busy timeout, one writer connection and a small pool of
// read-only readers. It is pure Go (modernc.org/sqlite), so the binary stays
// static.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"

	"github.com/tendhq/tend/internal/store/sqlstore"
)

//go:embed sql
var files embed.FS

// dialect is SQLite's part of sqlstore.
func init() {
	// tend_fold lower-cases all of Unicode (SQLite's lower() folds only
	// ASCII), so that searching "ärzte" finds "Ärzte GmbH" as it does on
	// PostgreSQL.
	err := sqlite3.RegisterDeterministicScalarFunction("tend_fold", 1, func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
	if err != nil {
		panic(err)
	}
}

func dialect() sqlstore.Dialect {
	queries, _ := fs.Sub(files, "sql")
	migrations, _ := fs.Sub(files, "sql/migrations")
	return sqlstore.Dialect{
		Name:       "sqlite",
		Goose:      goose.DialectSQLite3,
		Queries:    queries,
		Migrations: migrations,
		Time:       func(t time.Time) any { return t.UnixMilli() },
		Unique:     uniqueField,
		ForeignKey: func(err error) (string, bool) {
			return "", errors.As(err, new(*sqlite3.Error)) && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
		},
	}
}

// uniqueField reads the column from "UNIQUE constraint failed: t.a, t.b";
// for a composite key the last column is the one a person would change.
func uniqueField(err error) (string, bool) {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return "", false
	}
	_, cols, ok := strings.Cut(se.Error(), "UNIQUE constraint failed: ")
	if !ok {
		return "", false
	}
	cols, _, _ = strings.Cut(cols, " (")
	parts := strings.Split(cols, ", ")
	last := parts[len(parts)-1]
	if _, col, ok := strings.Cut(last, "."); ok {
		last = col
	}
	return strings.TrimSpace(last), true
}

// pragmas every connection gets. _txlock=immediate makes write transactions
// take the lock at BEGIN, so two writers queue on the busy timeout instead
// of failing on upgrade.
const pragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db, err := sqlstore.Open(ctx, dialect(), w, r)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

var memSeq atomic.Int64

// OpenMemory opens a fresh, private in-memory database: one per test.
func OpenMemory(ctx context.Context) (*sqlstore.DB, error) {
	name := fmt.Sprintf("file:tend-mem-%d?mode=memory&cache=shared&", memSeq.Add(1))
	w, err := sql.Open("sqlite", name+pragmas)
	if err != nil {
		return nil, err
	}
	// One connection serves reads and writes: an in-memory database has no
	// WAL, and shared-cache readers would see table locks, not waits.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db, err := sqlstore.Open(ctx, dialect(), w, w)
	if err != nil {
		w.Close()
		return nil, err
	}
	return db, nil
}

// Snapshot copies the database file at src to dst (which must not exist)
// as one consistent snapshot, while other processes may be writing to it:
// `tend simulate` runs on such a copy. It opens src read-only and runs no
// migration on it.
func Snapshot(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	u := "file:" + (&url.URL{Path: src}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", u)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	return nil
}
