package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

func scanWriteKey(row interface{ Scan(...any) error }) (store.WriteKey, error) {
	var k store.WriteKey
	err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, idVal{&k.CreatedBy}, timeVal{&k.CreatedAt},
		nullTimeVal{&k.RevokedAt}, nullTimeVal{&k.LastUsedAt})
	return k, err
}

// CreateWriteKey implements store.Usage.
func (db *DB) CreateWriteKey(ctx context.Context, k *store.WriteKey) (err error) {
	defer derrors.Wrap(&err, "store.CreateWriteKey(%q)", k.Name)
	k.Name = strings.TrimSpace(k.Name)
	if k.Name == "" {
		return derrors.Field(derrors.Unprocessable, "name", "is required")
	}
	if len(k.Hash) == 0 {
		return derrors.Field(derrors.Unprocessable, "hash", "is required")
	}
	now := db.now()
	err = db.w.QueryRowContext(ctx, db.query("InsertWriteKey"), k.Name, k.Prefix, k.Hash, nullID(k.CreatedBy),
		db.d.Time(now)).Scan(&k.ID)
	if err != nil {
		return db.mapRefErr(ctx, db.w, err, userRef{"created_by", k.CreatedBy})
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = now, nil, nil
	return nil
}

// ListWriteKeys implements store.Usage.
func (db *DB) ListWriteKeys(ctx context.Context) ([]store.WriteKey, error) {
	rows, err := db.r.QueryContext(ctx, db.query("ListWriteKeys"))
	if err != nil {
		return nil, fmt.Errorf("store.ListWriteKeys: %w", err)
	}
	defer rows.Close()
	out := []store.WriteKey{}
	for rows.Next() {
		k, err := scanWriteKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeWriteKey implements store.Usage.
func (db *DB) RevokeWriteKey(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, db.query("RevokeWriteKey"), id, db.d.Time(db.now()))
	if err != nil {
		return fmt.Errorf("store.RevokeWriteKey(%d): %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("write key", id)
	}
	return nil
}

// WriteKeyByHash implements store.Usage.
func (db *DB) WriteKeyByHash(ctx context.Context, hash []byte, now time.Time) (store.WriteKey, error) {
	k, err := scanWriteKey(db.r.QueryRowContext(ctx, db.query("WriteKeyByHash"), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WriteKey{}, derrors.New(derrors.Unauthorized, "the write key is not valid")
	}
	if err != nil {
		return store.WriteKey{}, fmt.Errorf("store.WriteKeyByHash: %w", err)
	}
	// Kept to the minute: a source sends many requests a second, and each
	// must not become a write.
	now = now.UTC().Truncate(time.Millisecond)
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= time.Minute {
		if _, err := db.w.ExecContext(ctx, db.query("TouchWriteKey"), k.ID, db.d.Time(now)); err != nil {
			return store.WriteKey{}, fmt.Errorf("store.WriteKeyByHash: %w", err)
		}
		k.LastUsedAt = &now
	}
	return k, nil
}
