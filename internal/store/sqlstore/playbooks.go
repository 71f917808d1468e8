package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// PlaybookStates implements store.Playbooks.
func (db *DB) PlaybookStates(ctx context.Context) (out map[string]store.PlaybookState, err error) {
	defer derrors.Wrap(&err, "store.PlaybookStates")
	rows, err := db.r.QueryContext(ctx, db.query("PlaybookStates"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = map[string]store.PlaybookState{}
	for rows.Next() {
		var s store.PlaybookState
		if err := rows.Scan(&s.Playbook, &s.Enabled, timeVal{&s.ChangedAt}, &s.ChangedBy, nullTimeVal{&s.LastTick}); err != nil {
			return nil, err
		}
		out[s.Playbook] = s
	}
	return out, rows.Err()
}

// SavePlaybookState implements store.Playbooks.
func (db *DB) SavePlaybookState(ctx context.Context, s store.PlaybookState) error {
	var tick any
	if s.LastTick != nil {
		tick = db.d.Time(msTime(*s.LastTick))
	}
	if _, err := db.w.ExecContext(ctx, db.query("SavePlaybookState"), s.Playbook, s.Enabled, db.d.Time(msTime(s.ChangedAt)),
		s.ChangedBy, tick); err != nil {
		return fmt.Errorf("store.SavePlaybookState(%q): %w", s.Playbook, err)
	}
	return nil
}

// PlaybookMatches implements store.Playbooks.
func (db *DB) PlaybookMatches(ctx context.Context, playbook string) (out map[int64]time.Time, err error) {
	defer derrors.Wrap(&err, "store.PlaybookMatches(%q)", playbook)
	rows, err := db.r.QueryContext(ctx, db.query("PlaybookMatches"), playbook)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var since time.Time
		if err := rows.Scan(&id, timeVal{&since}); err != nil {
			return nil, err
		}
		out[id] = since
	}
	return out, rows.Err()
}

func (db *DB) saveMatches(ctx context.Context, tx *sql.Tx, ms []store.MatchChange) error {
	for _, m := range ms {
		var err error
		if m.Matching {
			_, err = tx.ExecContext(ctx, db.query("AddMatch"), m.Playbook, m.AccountID, db.d.Time(msTime(m.At)))
		} else {
			_, err = tx.ExecContext(ctx, db.query("RemoveMatch"), m.Playbook, m.AccountID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// SaveMatches implements store.Playbooks.
func (db *DB) SaveMatches(ctx context.Context, ms []store.MatchChange) (err error) {
	defer derrors.Wrap(&err, "store.SaveMatches(%d)", len(ms))
	if len(ms) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.saveMatches(ctx, tx, ms) })
}

// RecordFiring implements store.Playbooks.
func (db *DB) RecordFiring(ctx context.Context, f *store.Firing, ms []store.MatchChange) (bool, error) {
	ins, err := db.RecordFirings(ctx, []*store.Firing{f}, ms)
	if err != nil {
		return false, err
	}
	return ins[0], nil
}

// RecordFirings implements store.Playbooks.
func (db *DB) RecordFirings(ctx context.Context, fs []*store.Firing, ms []store.MatchChange) (inserted []bool, err error) {
	defer derrors.Wrap(&err, "store.RecordFirings(%d)", len(fs))
	enrolls := false
	for _, f := range fs {
		if f.Key == "" || f.Playbook == "" || f.Kind == "" {
			return nil, derrors.New(derrors.Invalid, "a firing needs a key, a playbook and a kind")
		}
		for _, a := range f.Actions {
			switch a.Status {
			case "", store.ActionPending:
			case store.ActionDone, store.ActionFailed, store.ActionSkipped:
				if a.Enroll != nil {
					return nil, derrors.New(derrors.Invalid, "action %s: an enrollment comes with a pending action, which it finishes", a.Key)
				}
			default:
				return nil, derrors.Field(derrors.Invalid, "status", "action %s: a firing's action is pending or finished, not %q", a.Key, a.Status)
			}
			if a.Enroll != nil {
				if err := validEnrollment(a.Enroll); err != nil {
					err.Message = fmt.Sprintf("action %s: %s", a.Key, err.Message)
					return nil, err
				}
				if a.Enroll.AccountID != f.AccountID {
					return nil, derrors.New(derrors.Invalid, "action %s enrolls account %d for a firing of account %d", a.Key, a.Enroll.AccountID, f.AccountID)
				}
				enrolls = true
			}
		}
	}
	inserted = make([]bool, len(fs))
	now := db.now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		names := []string{"AddMatch", "RemoveMatch", "InsertFiring", "InsertFiringAction"}
		if enrolls {
			names = append(names, "InsertEnrollment")
		}
		ids := make([]int64, len(fs))
		for i, f := range fs {
			ids[i] = f.AccountID
		}
		exists, err := db.accountsExist(ctx, tx, ids)
		if err != nil {
			return err
		}
		stmts := map[string]*sql.Stmt{}
		for _, name := range names {
			st, err := tx.PrepareContext(ctx, db.query(name))
			if err != nil {
				return err
			}
			defer st.Close()
			stmts[name] = st
		}
		for _, m := range ms {
			var err error
			if m.Matching {
				_, err = stmts["AddMatch"].ExecContext(ctx, m.Playbook, m.AccountID, db.d.Time(msTime(m.At)))
			} else {
				_, err = stmts["RemoveMatch"].ExecContext(ctx, m.Playbook, m.AccountID)
			}
			if err != nil {
				return err
			}
		}
		for i, f := range fs {
			detail := string(f.Detail)
			if detail == "" {
				detail = "{}"
			}
			f.At = msTime(f.At)
			if !exists[f.AccountID] {
				continue // the account is gone
			}
			id, ok, err := db.insertID(ctx, stmts["InsertFiring"], f.Playbook, f.AccountID, f.Key, f.Kind, f.Trigger, detail,
				f.Chain, db.d.Time(f.At))
			if err != nil {
				return err
			}
			if !ok {
				continue // fired already
			}
			f.ID, inserted[i] = id, true
			for j := range f.Actions {
				a := &f.Actions[j]
				a.FiringID, a.Playbook, a.AccountID = f.ID, f.Playbook, f.AccountID
				if a.Status == "" {
					a.Status = store.ActionPending
				}
				a.DueAt = msTime(a.DueAt)
				if a.Enroll != nil {
					ok, err := db.insertEnrollment(ctx, stmts["InsertEnrollment"], a.Enroll, now)
					if err != nil {
						return err
					}
					a.Status, a.Result = store.ActionDone, store.EnrollResult(a.Enroll, ok)
				}
				var done any
				if a.Status != store.ActionPending {
					t := a.DueAt
					a.Attempts, a.DoneAt, done = 1, &t, db.d.Time(t)
				}
				id, ok, err := db.insertID(ctx, stmts["InsertFiringAction"], f.ID, f.Playbook, f.AccountID, a.Index, a.Exit,
					a.Kind, a.Key, db.d.Time(a.DueAt), a.Status, a.Attempts, a.Result, done)
				if err == nil && !ok {
					err = fmt.Errorf("action %s: not inserted", a.Key)
				}
				if err != nil {
					return err
				}
				a.ID = id
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inserted, nil
}

// CountFirings implements store.Playbooks.
func (db *DB) CountFirings(ctx context.Context, playbook string, accountID int64, since time.Time) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, db.query("CountFirings"), playbook, accountID, db.d.Time(msTime(since))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store.CountFirings: %w", err)
	}
	return n, nil
}

// ListFirings implements store.Playbooks.
func (db *DB) ListFirings(ctx context.Context, f store.FiringFilter) (page store.FiringPage, err error) {
	defer derrors.Wrap(&err, "store.ListFirings")
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > 500 {
		return page, derrors.Field(derrors.Invalid, "limit", "must be between 1 and 500")
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	timeArg := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return db.d.Time(msTime(t))
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListFirings"), f.Playbook, f.AccountID, f.Kind, timeArg(f.From), timeArg(f.To),
		f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	page.Firings = []store.Firing{}
	for rows.Next() {
		var x store.Firing
		var detail string
		if err := rows.Scan(&x.ID, &x.Playbook, &x.AccountID, &x.Key, &x.Kind, &x.Trigger, &detail, &x.Chain, timeVal{&x.At},
			&x.AccountName); err != nil {
			rows.Close()
			return page, err
		}
		x.Detail = json.RawMessage(detail)
		page.Firings = append(page.Firings, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Firings) > f.Limit {
		page.Firings = page.Firings[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	for i := range page.Firings {
		if page.Firings[i].Actions, err = db.firingActions(ctx, page.Firings[i].ID); err != nil {
			return page, err
		}
	}
	return page, nil
}

func scanAction(row interface{ Scan(...any) error }, extra ...any) (store.FiringAction, error) {
	var a store.FiringAction
	err := row.Scan(append([]any{&a.ID, &a.FiringID, &a.Playbook, &a.AccountID, &a.Index, &a.Exit, &a.Kind, &a.Key,
		timeVal{&a.DueAt}, &a.Status, &a.Attempts, &a.Result, nullTimeVal{&a.DoneAt}}, extra...)...)
	return a, err
}

func (db *DB) firingActions(ctx context.Context, firingID int64) ([]store.FiringAction, error) {
	rows, err := db.r.QueryContext(ctx, db.query("FiringActions"), firingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.FiringAction{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// FiringStats implements store.Playbooks.
func (db *DB) FiringStats(ctx context.Context, since time.Time) (out map[string]store.FiringStats, err error) {
	defer derrors.Wrap(&err, "store.FiringStats")
	out = map[string]store.FiringStats{}
	get := func(pb string) store.FiringStats {
		s, ok := out[pb]
		if !ok {
			s.PerDay = map[string]int{}
		}
		return s
	}
	rows, err := db.r.QueryContext(ctx, db.query("FiringsPerDay"), db.d.Time(msTime(since)))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var pb string
		var at time.Time
		if err := rows.Scan(&pb, timeVal{&at}); err != nil {
			rows.Close()
			return nil, err
		}
		s := get(pb)
		s.PerDay[at.UTC().Format("2006-01-02")]++
		s.Total++
		if s.LastAt == nil || at.After(*s.LastAt) {
			t := at
			s.LastAt = &t
		}
		out[pb] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.r.QueryContext(ctx, db.query("LastActionErrors"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pb, result string
		var at *time.Time
		if err := rows.Scan(&pb, &result, nullTimeVal{&at}); err != nil {
			return nil, err
		}
		if s := get(pb); s.LastError == "" {
			s.LastError = result
			out[pb] = s
		}
	}
	return out, rows.Err()
}

// ClaimDueActions implements store.Playbooks. The ids are picked and
// claimed in one transaction (on PostgreSQL the pick skips rows another
// runner has locked), so two runners never run one action.
func (db *DB) ClaimDueActions(ctx context.Context, now time.Time, claim time.Duration, limit int) (out []store.FiringAction, err error) {
	defer derrors.Wrap(&err, "store.ClaimDueActions")
	now = msTime(now)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// The expired claims first (a runner died), then the due ones.
		var ids []int64
		for _, name := range []string{"ExpiredActionIDs", "DueActionIDs"} {
			if len(ids) >= limit {
				break
			}
			rows, err := tx.QueryContext(ctx, db.query(name), db.d.Time(now), limit-len(ids))
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		claimSt, err := tx.PrepareContext(ctx, db.query("ClaimAction"))
		if err != nil {
			return err
		}
		defer claimSt.Close()
		getSt, err := tx.PrepareContext(ctx, db.query("GetAction"))
		if err != nil {
			return err
		}
		defer getSt.Close()
		for _, id := range ids {
			res, err := claimSt.ExecContext(ctx, id, db.d.Time(now.Add(claim)), db.d.Time(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			var fk, chain, trigger string
			a, err := scanAction(getSt.QueryRowContext(ctx, id), &fk, &chain, &trigger)
			if err != nil {
				return err
			}
			a.FiringKey, a.Chain, a.Trigger = fk, chain, trigger
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishActions implements store.Playbooks.
func (db *DB) FinishActions(ctx context.Context, outcomes []store.ActionOutcome) (err error) {
	defer derrors.Wrap(&err, "store.FinishActions(%d)", len(outcomes))
	if len(outcomes) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.query("FinishAction"))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, o := range outcomes {
			var done any
			if o.Status != store.ActionPending {
				done = db.d.Time(msTime(o.At))
			}
			retryAt := o.RetryAt
			if retryAt.IsZero() {
				retryAt = o.At
			}
			if _, err := st.ExecContext(ctx, o.ID, o.Status, o.Result, done, db.d.Time(msTime(retryAt))); err != nil {
				return fmt.Errorf("action %d: %w", o.ID, err)
			}
		}
		return nil
	})
}

// CancelPendingActions implements store.Playbooks.
func (db *DB) CancelPendingActions(ctx context.Context, playbook string, accountID int64, at time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, db.query("CancelPendingActions"), playbook, accountID, db.d.Time(msTime(at)))
	if err != nil {
		return 0, fmt.Errorf("store.CancelPendingActions(%q): %w", playbook, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AddSignals implements store.Playbooks.
func (db *DB) AddSignals(ctx context.Context, ss []store.Signal) (err error) {
	defer derrors.Wrap(&err, "store.AddSignals(%d)", len(ss))
	if len(ss) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.addSignals(ctx, tx, ss) })
}

// addSignals queues signals inside a caller's transaction, so that a
// change and the signal it raises commit together.
func (db *DB) addSignals(ctx context.Context, tx *sql.Tx, ss []store.Signal) error {
	for _, s := range ss {
		data := string(s.Data)
		if data == "" {
			data = "{}"
		}
		at := s.At
		if at.IsZero() {
			at = db.now()
		}
		if _, err := tx.ExecContext(ctx, db.query("InsertSignal"), s.AccountID, s.Kind, data, db.d.Time(msTime(at))); err != nil {
			return err
		}
	}
	return nil
}

// TakeSignals implements store.Playbooks.
func (db *DB) TakeSignals(ctx context.Context, limit int) (out []store.Signal, err error) {
	defer derrors.Wrap(&err, "store.TakeSignals")
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.query("TakeSignals"), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s store.Signal
			var data string
			if err := rows.Scan(&s.ID, &s.AccountID, &s.Kind, &data, timeVal{&s.At}); err != nil {
				return err
			}
			s.Data = json.RawMessage(data)
			out = append(out, s)
		}
		return rows.Err()
	})
	// RETURNING of a DELETE does not promise an order.
	slices.SortFunc(out, func(a, b store.Signal) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// NextCounter implements store.Playbooks.
func (db *DB) NextCounter(ctx context.Context, name string) (int64, error) {
	var n int64
	if err := db.w.QueryRowContext(ctx, db.query("NextCounter"), name).Scan(&n); err != nil {
		return 0, fmt.Errorf("store.NextCounter(%q): %w", name, err)
	}
	return n, nil
}
