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
	"path/filepath"
	"strings"
	"sync"
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
		// 0012 is a Go migration (sqlstore.GoMigrations): the next SQL
		// file is 0013.
		PackedBodies: 12,
		Time:         func(t time.Time) any { return t.UnixMilli() },
		InsertedID:   true,
		Unique:       uniqueField,
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
// The writer checkpoints the WAL every 10,000 pages (40 MB) rather than
// SQLite's 1,000: a day's mass entry writes the same index pages again and
// again, and fewer, larger checkpoints copy each once (the recap day at
// 100,000 accounts: 2.00–2.02 s against 2.17–2.49 s). A new file starts as the migrated schema (schemaImage), so that creating
// one costs a file write rather than running every migration again.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if err := createFromImage(ctx, path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(10000)&_txlock=immediate")
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

// OpenMemory opens a fresh, private in-memory database: one per test. It
// starts as the migrated schema (schemaImage).
func OpenMemory(ctx context.Context) (*sqlstore.DB, error) {
	img, err := schemaImage(ctx)
	if err != nil {
		return nil, err
	}
	db, _, err := openMemory(ctx, img)
	return db, err
}

// openMemory opens a fresh in-memory database holding img (a Serialize
// image), or empty when img is nil, and migrates it. It returns the store
// and its one connection's handle.
func openMemory(ctx context.Context, img []byte) (*sqlstore.DB, *sql.DB, error) {
	name := fmt.Sprintf("file:tend-mem-%d?mode=memory&cache=shared&", memSeq.Add(1))
	w, err := sql.Open("sqlite", name+pragmas)
	if err != nil {
		return nil, nil, err
	}
	// One connection serves reads and writes: an in-memory database has no
	// WAL, and shared-cache readers would see table locks, not waits.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if img != nil {
		// The one connection's main database becomes the image.
		err := rawConn(ctx, w, func(c imageConn) error { return c.Deserialize(img) })
		if err != nil {
			w.Close()
			return nil, nil, fmt.Errorf("load the schema image: %w", err)
		}
	}
	db, err := sqlstore.Open(ctx, dialect(), w, w)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return db, w, nil
}

// imageConn is what modernc.org/sqlite's connection offers to copy a
// database whole.
type imageConn interface {
	Serialize() ([]byte, error)
	Deserialize([]byte) error
}

func rawConn(ctx context.Context, db *sql.DB, f func(imageConn) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		ic, ok := dc.(imageConn)
		if !ok {
			return fmt.Errorf("the SQLite driver's connection (%T) cannot serialize", dc)
		}
		return f(ic)
	})
}

// image is the schema every migration makes, as a database image.
var image struct {
	sync.Mutex
	img []byte
}

// schemaImage returns an image of a database every migration has run on
// and nothing else, made once per process by running them on an empty
// in-memory database. New databases start from it: the migrations are
// the same code either way, but running them costs about 15 ms each time
// (0.7 s under the race detector, which instruments the whole SQLite
// engine, and the test suite opens hundreds of databases).
func schemaImage(ctx context.Context) ([]byte, error) {
	image.Lock()
	defer image.Unlock()
	if image.img != nil {
		return image.img, nil
	}
	db, w, err := openMemory(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("make the schema image: %w", err)
	}
	defer db.Close()
	var img []byte
	err = rawConn(ctx, w, func(c imageConn) error {
		var err error
		img, err = c.Serialize()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("make the schema image: %w", err)
	}
	image.img = img
	return img, nil
}

// createFromImage writes the schema image to path when no file is there. It
// writes a temporary file and links it into place, so that a crash leaves
// no half-written database and two processes creating the same file do not
// clobber each other.
func createFromImage(ctx context.Context, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or not ours to decide: opening it says what is wrong
	}
	img, err := schemaImage(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(img); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
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
