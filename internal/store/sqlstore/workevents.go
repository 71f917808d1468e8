package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
)

// addWorkEvent records one event in tx. On PostgreSQL it first takes the
// lock that keeps events visible in seq order (held to commit); SQLite's
// one writer does that by itself.
func (db *DB) addWorkEvent(ctx context.Context, tx *sql.Tx, e work.Event) error {
	if err := db.lock(ctx, tx, "LockWorkEvents"); err != nil {
		return err
	}
	old, err := nullJSON(e.Old)
	if err != nil {
		return err
	}
	new, err := nullJSON(e.New)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.query("InsertWorkEvent"), e.Kind, e.AccountID, e.TaskID, e.DocID, e.Template, e.Field,
		old, new, e.Key, e.Source, nullID(e.ActorID), e.Actor, db.d.Time(db.stamp(e.At)))
	if err != nil {
		return db.mapRefErr(ctx, tx, err, userRef{"actor_id", e.ActorID})
	}
	return db.workSignal(ctx, tx, e)
}

// workSignal queues, in the event's transaction, the playbook signal a
// work event is (a task done, a doc field changed), and a doc field change
// queues the account for assessment too, since conditions read doc fields
// (docs.health_assessment.rating).
func (db *DB) workSignal(ctx context.Context, tx *sql.Tx, e work.Event) error {
	if e.Kind != work.EventTaskDone && e.Kind != work.EventDocFieldChanged {
		return nil
	}
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	data, err := json.Marshal(map[string]string{"source": e.Source, "template": e.Template, "field": e.Field,
		"from": str(e.Old), "to": str(e.New), "key": e.Key})
	if err != nil {
		return err
	}
	if err := db.addSignals(ctx, tx, []store.Signal{{AccountID: e.AccountID, Kind: e.Kind, Data: data, At: db.stamp(e.At)}}); err != nil {
		return err
	}
	if e.Kind == work.EventDocFieldChanged {
		_, err = tx.ExecContext(ctx, db.query("MarkAccountDirty"), e.AccountID)
	}
	return err
}

// nullJSON encodes a value as JSON text, nil as NULL.
func nullJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	return encodeValue(v)
}

// maxWorkEvents caps one read of the work events.
const maxWorkEvents = 10_000

// ListWorkEvents implements store.Work.
func (db *DB) ListWorkEvents(ctx context.Context, afterSeq int64, limit int) (out []work.Event, err error) {
	defer derrors.Wrap(&err, "store.ListWorkEvents(%d)", afterSeq)
	if limit == 0 {
		limit = 1000
	}
	if limit < 0 || limit > maxWorkEvents {
		return nil, derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", maxWorkEvents)
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListWorkEvents"), afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []work.Event{}
	for rows.Next() {
		var e work.Event
		var old, new sql.NullString
		if err := rows.Scan(&e.Seq, &e.Kind, &e.AccountID, &e.TaskID, &e.DocID, &e.Template, &e.Field, &old, &new,
			&e.Key, &e.Source, idVal{&e.ActorID}, &e.Actor, timeVal{&e.At}); err != nil {
			return nil, err
		}
		if e.Old, err = decodeNullValue(old); err != nil {
			return nil, err
		}
		if e.New, err = decodeNullValue(new); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
