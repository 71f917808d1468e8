// Package postgres is Tend's store for teams that run several replicas: the
// same schema and queries as SQLite, in PostgreSQL's native types, through
// pgx's database/sql driver.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tendhq/tend/internal/store/sqlstore"
)

//go:embed sql
var files embed.FS

func dialect() sqlstore.Dialect {
	queries, _ := fs.Sub(files, "sql")
	migrations, _ := fs.Sub(files, "sql/migrations")
	return sqlstore.Dialect{
		Name:  "postgres",
		Goose: goose.DialectPostgres,
		// Several replicas may start together on a fresh database.
		MigrationLock: func() (lock.SessionLocker, error) { return lock.NewPostgresSessionLocker() },
		Queries:       queries,
		Migrations:    migrations,
		Time:          func(t time.Time) any { return t },
		Unique:        func(err error) (string, bool) { return keyColumn(err, "23505") },
		ForeignKey:    func(err error) (string, bool) { return keyColumn(err, "23503") },
	}
}

// keyColumn reads the column from a constraint error's detail,
// "Key (account_id, email)=(…) already exists.", when the error has the
// SQLSTATE code; for a composite key, the last column.
func keyColumn(err error, code string) (string, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		return "", false
	}
	_, rest, ok := strings.Cut(pe.Detail, "Key (")
	if !ok {
		return "", true
	}
	cols, _, _ := strings.Cut(rest, ")=")
	parts := strings.Split(cols, ", ")
	return strings.TrimSpace(parts[len(parts)-1]), true
}

// Open connects to the database at url (postgres://…) and migrates it.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s, err := sqlstore.Open(ctx, dialect(), db, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
