package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// AddActivity implements store.Activities. A zero At is the store's now.
func (db *DB) AddActivity(ctx context.Context, a *account.Activity) (err error) {
	defer derrors.Wrap(&err, "store.AddActivity(%d)", a.AccountID)
	if a.Kind == "" {
		return derrors.Field(derrors.Unprocessable, "kind", "is required")
	}
	if a.Kind == account.ActivityNote && a.Body == "" {
		return derrors.Field(derrors.Unprocessable, "body", "is required")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.requireAccount(ctx, tx, a.AccountID, "account_id"); err != nil {
			return err
		}
		return db.addActivity(ctx, tx, a)
	})
}

func (db *DB) addActivity(ctx context.Context, tx *sql.Tx, a *account.Activity) error {
	if a.At.IsZero() {
		a.At = db.now()
	}
	a.At = a.At.UTC().Truncate(time.Millisecond)
	err := tx.QueryRowContext(ctx, db.query("InsertActivity"), a.AccountID, a.Kind, nullID(a.ActorID), a.Actor, a.Body,
		db.d.Time(a.At)).Scan(&a.ID)
	if err != nil {
		return db.mapRefErr(ctx, tx, err, userRef{"actor_id", a.ActorID})
	}
	return nil
}

// ListActivities implements store.Activities.
func (db *DB) ListActivities(ctx context.Context, accountID int64, limit int) ([]account.Activity, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListActivities"), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("store.ListActivities(%d): %w", accountID, err)
	}
	defer rows.Close()
	out := []account.Activity{}
	for rows.Next() {
		var a account.Activity
		if err := rows.Scan(&a.ID, &a.AccountID, &a.Kind, idVal{&a.ActorID}, &a.Actor, &a.Body, timeVal{&a.At}); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
