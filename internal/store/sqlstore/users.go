package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

func scanUser(row interface{ Scan(...any) error }) (team.User, error) {
	var u team.User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, timeVal{&u.CreatedAt})
	return u, err
}

// CreateUser implements store.Users.
func (db *DB) CreateUser(ctx context.Context, u *team.User) (err error) {
	defer derrors.Wrap(&err, "store.CreateUser(%q)", u.Email)
	if err := u.Validate(); err != nil {
		return err
	}
	now := db.now()
	err = db.w.QueryRowContext(ctx, db.query("InsertUser"), u.Email, u.Name, u.Role, u.PasswordHash, u.Disabled,
		db.d.Time(now)).Scan(&u.ID)
	if err != nil {
		return db.mapErr(err)
	}
	u.CreatedAt = now
	return nil
}

// GetUser implements store.Users.
func (db *DB) GetUser(ctx context.Context, id int64) (team.User, error) {
	return db.getUser(ctx, "GetUser", id)
}

// GetUserByEmail implements store.Users; the email matches case-insensitively.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (team.User, error) {
	// Lower-cased here as Validate stores it: SQL lower() folds only ASCII
	// on SQLite (and on PostgreSQL in the C locale).
	return db.getUser(ctx, "GetUserByEmail", strings.ToLower(strings.TrimSpace(email)))
}

func (db *DB) getUser(ctx context.Context, query string, key any) (team.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, db.query(query), key))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("user", key)
	}
	if err != nil {
		return u, fmt.Errorf("store.%s(%v): %w", query, key, err)
	}
	return u, nil
}

// ListUsers implements store.Users.
func (db *DB) ListUsers(ctx context.Context) ([]team.User, error) {
	rows, err := db.r.QueryContext(ctx, db.query("ListUsers"))
	if err != nil {
		return nil, fmt.Errorf("store.ListUsers: %w", err)
	}
	defer rows.Close()
	out := []team.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser implements store.Users.
func (db *DB) UpdateUser(ctx context.Context, u *team.User) (err error) {
	defer derrors.Wrap(&err, "store.UpdateUser(%d)", u.ID)
	if err := u.Validate(); err != nil {
		return err
	}
	res, err := db.w.ExecContext(ctx, db.query("UpdateUser"), u.ID, u.Email, u.Name, u.Role, u.PasswordHash, u.Disabled)
	if err != nil {
		return db.mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user", u.ID)
	}
	return nil
}
