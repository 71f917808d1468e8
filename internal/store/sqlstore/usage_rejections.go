package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// AddRejections implements store.Usage. A zero ReceivedAt is the store's
// now.
func (db *DB) AddRejections(ctx context.Context, rs []store.Rejection) (err error) {
	defer derrors.Wrap(&err, "store.AddRejections(%d)", len(rs))
	if len(rs) == 0 {
		return nil
	}
	now := db.now()
	for i := range rs {
		r := &rs[i]
		if r.SourceID <= 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "source_id", "is required"))
		}
		if err := required("reason", r.Reason); err != nil {
			return rowErr(i, err)
		}
		if err := checkText("message_id", r.MessageID); err != nil {
			return rowErr(i, err)
		}
	}
	if err := db.prepare(ctx); err != nil {
		return err
	}
	ids := make([]int64, len(rs))
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, db.query("InsertRejection"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		counts := map[minuteKey]int{}
		for i := range rs {
			r := &rs[i]
			at := now
			if !r.ReceivedAt.IsZero() {
				at = msTime(r.ReceivedAt)
			}
			body := nonNil(r.Body)
			if len(body) > store.MaxRejectionBody {
				body = body[:store.MaxRejectionBody]
			}
			err := stmt.QueryRowContext(ctx, r.SourceID, db.d.Time(at), r.Index, r.MessageID, r.Reason, body).Scan(&ids[i])
			if err != nil {
				if _, ok := db.d.ForeignKey(err); ok {
					return rowErr(i, derrors.Field(derrors.Unprocessable, "source_id", "is not a write key"))
				}
				return err
			}
			counts[minuteKey{at.Truncate(time.Minute).UnixMilli(), r.SourceID}]++
		}
		if err := db.countMinutes(ctx, tx, nil, counts); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.query("TrimRejections"), store.MaxRejections)
		return err
	})
	if err != nil {
		return err
	}
	for i := range rs {
		rs[i].ID = ids[i]
		if rs[i].ReceivedAt.IsZero() {
			rs[i].ReceivedAt = now
		} else {
			rs[i].ReceivedAt = msTime(rs[i].ReceivedAt)
		}
		if len(rs[i].Body) > store.MaxRejectionBody {
			rs[i].Body = rs[i].Body[:store.MaxRejectionBody]
		}
	}
	return nil
}

// RecentRejections implements store.Usage; limit defaults to 100.
func (db *DB) RecentRejections(ctx context.Context, sourceID int64, limit int) ([]store.Rejection, error) {
	var rows *sql.Rows
	var err error
	if sourceID == 0 {
		rows, err = db.r.QueryContext(ctx, db.query("RecentRejections"), limitOr(limit, 100))
	} else {
		rows, err = db.r.QueryContext(ctx, db.query("RecentRejectionsOfSource"), sourceID, limitOr(limit, 100))
	}
	if err != nil {
		return nil, fmt.Errorf("store.RecentRejections(%d): %w", sourceID, err)
	}
	defer rows.Close()
	out := []store.Rejection{}
	for rows.Next() {
		var r store.Rejection
		if err := rows.Scan(&r.ID, &r.SourceID, timeVal{&r.ReceivedAt}, &r.Index, &r.MessageID, &r.Reason, &r.Body); err != nil {
			return nil, err
		}
		r.Body = nonNil(r.Body)
		out = append(out, r)
	}
	return out, rows.Err()
}
