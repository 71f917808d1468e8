package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

func scanToken(row interface{ Scan(...any) error }, extra ...any) (team.Token, error) {
	var t team.Token
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, timeVal{&t.CreatedAt}, nullTimeVal{&t.LastUsedAt}}, extra...)
	err := row.Scan(dest...)
	return t, err
}

// CreateToken implements store.Tokens.
func (db *DB) CreateToken(ctx context.Context, t *team.Token) (err error) {
	defer derrors.Wrap(&err, "store.CreateToken(%q)", t.Name)
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return derrors.Field(derrors.Unprocessable, "name", "is required")
	}
	if len(t.Hash) == 0 {
		return derrors.Field(derrors.Unprocessable, "hash", "is required")
	}
	if _, err := db.GetUser(ctx, t.UserID); err != nil {
		if derrors.Is(err, derrors.NotFound) {
			return derrors.Field(derrors.Unprocessable, "user_id", "user %d not found", t.UserID)
		}
		return err
	}
	now := db.now()
	err = db.w.QueryRowContext(ctx, db.query("InsertToken"), t.UserID, t.Name, t.Prefix, t.Hash, db.d.Time(now)).Scan(&t.ID)
	if err != nil {
		return db.mapErr(err)
	}
	t.CreatedAt = now
	return nil
}

// ListTokens implements store.Tokens.
func (db *DB) ListTokens(ctx context.Context, userID int64) ([]team.Token, error) {
	rows, err := db.r.QueryContext(ctx, db.query("ListTokens"), userID)
	if err != nil {
		return nil, fmt.Errorf("store.ListTokens(%d): %w", userID, err)
	}
	defer rows.Close()
	out := []team.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken implements store.Tokens.
func (db *DB) DeleteToken(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, db.query("DeleteToken"), id)
	if err != nil {
		return fmt.Errorf("store.DeleteToken(%d): %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("token", id)
	}
	return nil
}

// TokenByHash implements store.Tokens. An unknown token and a disabled
// user's token are both Unauthorized: the caller learns nothing more.
func (db *DB) TokenByHash(ctx context.Context, hash []byte, now time.Time) (team.Token, team.User, error) {
	var u team.User
	t, err := scanToken(db.r.QueryRowContext(ctx, db.query("TokenByHash"), hash),
		&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, timeVal{&u.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && u.Disabled) {
		return team.Token{}, team.User{}, derrors.New(derrors.Unauthorized, "the API token is not valid")
	}
	if err != nil {
		return t, u, fmt.Errorf("store.TokenByHash: %w", err)
	}
	// Last use is kept to the minute: a token used in a tight loop should not
	// turn every API read into a write.
	now = now.UTC().Truncate(time.Millisecond)
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if _, err := db.w.ExecContext(ctx, db.query("TouchToken"), t.ID, db.d.Time(now)); err != nil {
			return t, u, fmt.Errorf("store.TokenByHash: %w", err)
		}
		t.LastUsedAt = &now
	}
	return t, u, nil
}
