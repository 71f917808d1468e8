package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// txConn is what a writer's statements run on: a *sql.Tx, or the
// *sql.Conn of a transaction that writeTx began itself.
type txConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Stmt is one statement of a pipeline (Dialect.Pipeline): Row, when set,
// is called for each row it returns, in order, with the row's Scan.
type Stmt struct {
	Name string // for errors: the query's name in queries.sql
	SQL  string
	Args []any
	Row  func(scan func(dest ...any) error) error
}

// namedStmt is the named query of the dialect as a Stmt.
func (db *DB) namedStmt(name string, row func(scan func(dest ...any) error) error, args ...any) Stmt {
	return Stmt{Name: name, SQL: db.query(name), Args: args, Row: row}
}

// writeTx runs a writer's transaction whose first statements (start) and
// last (the ones fn returns) each take one round trip where the dialect
// pipelines (PostgreSQL): BEGIN with start, then fn's own statements on
// the connection, then the last statements with COMMIT. Elsewhere they
// run one by one in an ordinary transaction. An error anywhere rolls the
// transaction back.
//
// The statements of a pipeline run in order, each with its own snapshot,
// so a read queued after a lock sees what the lock's last holder
// committed. The last statements' rows are read once the server has run
// the COMMIT after them: their Row must not be a check that ought to
// undo the transaction (put that in the SQL, or in fn).
func (db *DB) writeTx(ctx context.Context, start []Stmt, fn func(q txConn) (last []Stmt, err error)) error {
	if db.d.Pipeline == nil {
		return db.inTx(ctx, func(tx *sql.Tx) error {
			if err := runStmts(ctx, tx, start); err != nil {
				return err
			}
			last, err := fn(tx)
			if err != nil {
				return err
			}
			return runStmts(ctx, tx, last)
		})
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = db.d.Pipeline(ctx, conn, append([]Stmt{begin}, start...))
	if err == nil {
		var last []Stmt
		if last, err = fn(conn); err == nil {
			err = db.d.Pipeline(ctx, conn, append(last, commit))
			if err == nil {
				return nil
			}
		}
	}
	rollback(ctx, conn)
	return err
}

var (
	begin  = Stmt{Name: "BEGIN", SQL: "BEGIN"}
	commit = Stmt{Name: "COMMIT", SQL: "COMMIT"}
)

// pipelineTx runs stmts as one transaction in one round trip: BEGIN, the
// statements and COMMIT in one pipeline. The dialect must pipeline.
func (db *DB) pipelineTx(ctx context.Context, stmts []Stmt) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	all := make([]Stmt, 0, len(stmts)+2)
	all = append(append(append(all, begin), stmts...), commit)
	if err := db.d.Pipeline(ctx, conn, all); err != nil {
		rollback(ctx, conn)
		return err
	}
	return nil
}

// rollback ends a pipelined transaction that failed. It may be open or
// aborted (or the connection gone): roll back, or have the pool drop the
// connection.
func rollback(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// runStmts runs stmts one by one on q.
func runStmts(ctx context.Context, q txConn, stmts []Stmt) error {
	for _, s := range stmts {
		if err := runStmt(ctx, q, s); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

func runStmt(ctx context.Context, q txConn, s Stmt) error {
	rows, err := q.QueryContext(ctx, s.SQL, s.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := s.Rows(rows); err != nil {
		return err
	}
	return rows.Err()
}

// Rows hands each of rows to s.Row, in order (a pipeline's driver rows,
// or database/sql's).
func (s Stmt) Rows(rows interface {
	Next() bool
	Scan(dest ...any) error
}) error {
	for rows.Next() {
		if s.Row == nil {
			continue
		}
		if err := s.Row(rows.Scan); err != nil {
			return err
		}
	}
	return nil
}

// ErrCommitRolledBack is a pipeline's COMMIT that PostgreSQL answered with
// ROLLBACK: the transaction had failed.
var ErrCommitRolledBack = errors.New("COMMIT rolled back: the transaction had failed")

// bound is a hot statement (hotQueries) ready to run on a writer's
// transaction: the store's prepared statement on a *sql.Tx, or the
// query's text on another txConn (pgx prepares and caches statements per
// connection itself).
type bound struct {
	s     *sql.Stmt
	q     txConn
	query string
}

func (b bound) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if b.s != nil {
		return b.s.ExecContext(ctx, args...)
	}
	return b.q.ExecContext(ctx, b.query, args...)
}

func (b bound) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	if b.s != nil {
		return b.s.QueryContext(ctx, args...)
	}
	return b.q.QueryContext(ctx, b.query, args...)
}

func (b bound) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if b.s != nil {
		return b.s.QueryRowContext(ctx, args...)
	}
	return b.q.QueryRowContext(ctx, b.query, args...)
}
