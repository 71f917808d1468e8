package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// SaveDays implements store.Usage. When a batch names the same account and
// day twice, the last blob wins.
func (db *DB) SaveDays(ctx context.Context, blobs []store.DayBlob, watermark int64) (err error) {
	defer derrors.Wrap(&err, "store.SaveDays(%d, %d)", len(blobs), watermark)
	if watermark < 0 {
		return derrors.Field(derrors.Unprocessable, "watermark", "must not be negative")
	}
	type dayKey struct {
		account int64
		day     int32
	}
	last := make(map[dayKey]int, len(blobs))
	for i, b := range blobs {
		if b.AccountID <= 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "account_id", "is required"))
		}
		last[dayKey{b.AccountID, b.Day}] = i
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if q, ok := db.batchQuery("UpsertDays"); ok && len(blobs) > 0 {
			acc, day, blob := make([]int64, 0, len(last)), make([]int32, 0, len(last)), make([][]byte, 0, len(last))
			for i, b := range blobs {
				if last[dayKey{b.AccountID, b.Day}] == i {
					acc, day, blob = append(acc, b.AccountID), append(day, b.Day), append(blob, nonNil(b.Blob))
				}
			}
			if _, err := tx.ExecContext(ctx, q, acc, day, blob); err != nil {
				return err
			}
		} else if len(blobs) > 0 {
			stmt, err := tx.PrepareContext(ctx, db.query("UpsertDay"))
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i, b := range blobs {
				if last[dayKey{b.AccountID, b.Day}] != i {
					continue
				}
				if _, err := stmt.ExecContext(ctx, b.AccountID, b.Day, nonNil(b.Blob)); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, db.query("SetUsageState"), "applied_seq", watermark)
		return err
	})
}

// LoadDays implements store.Usage.
func (db *DB) LoadDays(ctx context.Context, fn func(store.DayBlob) error) error {
	return db.stream(ctx, "LoadDays", nil, func(rows *sql.Rows) error {
		var b store.DayBlob
		if err := rows.Scan(&b.AccountID, &b.Day, &b.Blob); err != nil {
			return err
		}
		return fn(b)
	})
}

// LoadAccountDays implements store.Usage.
func (db *DB) LoadAccountDays(ctx context.Context, accountID int64) ([]store.DayBlob, error) {
	out := []store.DayBlob{}
	err := db.stream(ctx, "LoadAccountDays", []any{accountID}, func(rows *sql.Rows) error {
		var b store.DayBlob
		err := rows.Scan(&b.AccountID, &b.Day, &b.Blob)
		out = append(out, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Watermark implements store.Usage.
func (db *DB) Watermark(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, db.query("GetUsageState"), "applied_seq").Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store.Watermark: %w", err)
	}
	return n, nil
}

// SaveFeatureUses implements store.Usage.
func (db *DB) SaveFeatureUses(ctx context.Context, uses []store.FeatureUse) (err error) {
	defer derrors.Wrap(&err, "store.SaveFeatureUses(%d)", len(uses))
	type useKey struct {
		account int64
		ordinal uint32
		feature string
	}
	// The earliest use per key is settled here: one statement cannot
	// update a row twice on PostgreSQL.
	earliest := make(map[useKey]int, len(uses))
	for i, u := range uses {
		if u.AccountID <= 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "account_id", "is required"))
		}
		if err := required("feature", u.Feature); err != nil {
			return rowErr(i, err)
		}
		if u.At.IsZero() {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "at", "is required"))
		}
		k := useKey{u.AccountID, u.Ordinal, u.Feature}
		if j, ok := earliest[k]; !ok || u.At.Before(uses[j].At) {
			earliest[k] = i
		}
	}
	if len(uses) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if q, ok := db.batchQuery("UpsertFeatureUses"); ok {
			n := len(earliest)
			acc, ord, feat, at := make([]int64, 0, n), make([]int64, 0, n), make([]string, 0, n), make([]time.Time, 0, n)
			for i, u := range uses {
				if earliest[useKey{u.AccountID, u.Ordinal, u.Feature}] == i {
					acc, ord, feat, at = append(acc, u.AccountID), append(ord, int64(u.Ordinal)), append(feat, u.Feature), append(at, msTime(u.At))
				}
			}
			_, err := tx.ExecContext(ctx, q, acc, ord, feat, at)
			return err
		}
		stmt, err := tx.PrepareContext(ctx, db.query("UpsertFeatureUse"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, u := range uses {
			if earliest[useKey{u.AccountID, u.Ordinal, u.Feature}] != i {
				continue
			}
			if _, err := stmt.ExecContext(ctx, u.AccountID, int64(u.Ordinal), u.Feature, db.d.Time(msTime(u.At))); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanFeatureUse(row interface{ Scan(...any) error }) (store.FeatureUse, error) {
	var u store.FeatureUse
	var ord int64
	err := row.Scan(&u.AccountID, &ord, &u.Feature, timeVal{&u.At})
	u.Ordinal = uint32(ord)
	return u, err
}

// ListFeatureUses implements store.Usage.
func (db *DB) ListFeatureUses(ctx context.Context, accountID int64) ([]store.FeatureUse, error) {
	out := []store.FeatureUse{}
	err := db.stream(ctx, "ListFeatureUses", []any{accountID}, func(rows *sql.Rows) error {
		u, err := scanFeatureUse(rows)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadFeatureUses implements store.Usage.
func (db *DB) LoadFeatureUses(ctx context.Context, fn func(store.FeatureUse) error) error {
	return db.stream(ctx, "LoadFeatureUses", nil, func(rows *sql.Rows) error {
		u, err := scanFeatureUse(rows)
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// ListFeatureAdoption implements store.Usage.
func (db *DB) ListFeatureAdoption(ctx context.Context, accountID int64) ([]store.FeatureAdoption, error) {
	out := []store.FeatureAdoption{}
	err := db.stream(ctx, "FeatureAdoption", []any{accountID}, func(rows *sql.Rows) error {
		var a store.FeatureAdoption
		err := rows.Scan(&a.Feature, timeVal{&a.FirstAt}, &a.Users)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveFirstPings implements store.Usage.
func (db *DB) SaveFirstPings(ctx context.Context, pings map[int64]time.Time) (err error) {
	defer derrors.Wrap(&err, "store.SaveFirstPings(%d)", len(pings))
	ids := make([]int64, 0, len(pings))
	for id, at := range pings {
		if id <= 0 {
			return derrors.Field(derrors.Unprocessable, "account_id", "%d is not an account id", id)
		}
		if at.IsZero() {
			return derrors.Field(derrors.Unprocessable, fmt.Sprintf("[%d]", id), "has no time")
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids) // one lock order for concurrent savers
	return db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, db.query("UpsertFirstPing"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id, db.d.Time(msTime(pings[id]))); err != nil {
				return err
			}
		}
		return nil
	})
}

// FirstPing implements store.Usage.
func (db *DB) FirstPing(ctx context.Context, accountID int64) (time.Time, error) {
	var t time.Time
	err := db.r.QueryRowContext(ctx, db.query("FirstPing"), accountID).Scan(timeVal{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return t, derrors.New(derrors.NotFound, "account %d has not sent usage", accountID)
	}
	if err != nil {
		return t, fmt.Errorf("store.FirstPing(%d): %w", accountID, err)
	}
	return t, nil
}

// ListFirstPings implements store.Usage.
func (db *DB) ListFirstPings(ctx context.Context) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	err := db.stream(ctx, "ListFirstPings", nil, func(rows *sql.Rows) error {
		var id int64
		var t time.Time
		if err := rows.Scan(&id, timeVal{&t}); err != nil {
			return err
		}
		out[id] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
