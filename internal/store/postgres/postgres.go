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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
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
		// 0011 is a Go migration (sqlstore.GoMigrations): the next SQL
		// file is 0012.
		PackedBodies: 11,
		Time:         func(t time.Time) any { return t },
		Unique:       func(err error) (string, bool) { return keyColumn(err, "23505") },
		ForeignKey:   func(err error) (string, bool) { return keyColumn(err, "23503") },
		Pipeline:     pipeline,
	}
}

// pipeline implements sqlstore.Dialect.Pipeline with a pgx batch on the
// connection's pgx.Conn: the statements go out together and their results
// come back in order, so a transaction's opening (BEGIN, its lock, the
// reads after the lock) or its close (the insert, COMMIT) costs one round
// trip. After a failed statement the server skips the rest.
func pipeline(ctx context.Context, conn *sql.Conn, stmts []sqlstore.Stmt) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: the driver's connection is a %T, not pgx's", dc)
		}
		b := &pgx.Batch{}
		for _, s := range stmts {
			b.Queue(s.SQL, s.Args...)
		}
		br := c.Conn().SendBatch(ctx, b)
		for _, s := range stmts {
			if err := result(br, s); err != nil {
				br.Close()
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		return br.Close()
	})
}

// result reads the rows of statement s from br.
func result(br pgx.BatchResults, s sqlstore.Stmt) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := s.Rows(rows); err != nil {
		return err
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// As pgx's Tx.Commit: COMMIT in a failed transaction rolls back.
	if strings.EqualFold(s.SQL, "COMMIT") && rows.CommandTag().String() == "ROLLBACK" {
		return sqlstore.ErrCommitRolledBack
	}
	return nil
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
