package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Find implements scs.Store: the session's data, if it has not expired.
func (db *DB) Find(token string) ([]byte, bool, error) {
	var b []byte
	err := db.r.QueryRowContext(context.Background(), db.query("FindSession"), token, db.d.Time(db.now())).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Commit implements scs.Store. It also sweeps expired sessions, so the
// table never grows without bound and no background job is needed.
func (db *DB) Commit(token string, b []byte, expiry time.Time) error {
	ctx := context.Background()
	// scs hands over nanoseconds; SQLite keeps milliseconds and PostgreSQL
	// microseconds. Truncating here makes a session end at the same
	// instant on both engines.
	expiry = expiry.UTC().Truncate(time.Millisecond)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.query("DeleteExpiredSessions"), db.d.Time(db.now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.query("CommitSession"), token, b, db.d.Time(expiry))
		return err
	})
}

// Delete implements scs.Store.
func (db *DB) Delete(token string) error {
	_, err := db.w.ExecContext(context.Background(), db.query("DeleteSession"), token)
	return err
}
