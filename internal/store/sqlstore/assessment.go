package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// LoadAssessmentInputs implements store.Assessments. It reads the accounts,
// then their traits and contacts' roles in two more queries, rather than
// three queries per account: a full recompute loads every account at once.
func (db *DB) LoadAssessmentInputs(ctx context.Context, ids []int64, fn func(store.AssessmentInput) error) (err error) {
	defer derrors.Wrap(&err, "store.LoadAssessmentInputs")
	if ids != nil && len(ids) == 0 {
		return nil
	}
	suffix, args := "", []any(nil)
	if ids != nil {
		b, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		suffix, args = "ByID", []any{string(b)}
	}
	var ins []store.AssessmentInput
	index := map[int64]int{}
	rows, err := db.r.QueryContext(ctx, db.query("AssessAccounts"+suffix), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return err
		}
		index[a.ID] = len(ins)
		ins = append(ins, store.AssessmentInput{Account: a, Traits: map[string]any{}, Contacts: map[string]int{}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ins) == 0 {
		return nil
	}
	rows, err = db.r.QueryContext(ctx, db.query("AssessTraits"+suffix), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var key, raw string
		if err := rows.Scan(&id, &key, &raw); err != nil {
			rows.Close()
			return err
		}
		i, ok := index[id]
		if !ok {
			continue // created after the accounts were read
		}
		v, err := decodeTraitFast(raw)
		if err != nil {
			rows.Close()
			return fmt.Errorf("trait %s of account %d: %w", key, id, err)
		}
		ins[i].Traits[key] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.r.QueryContext(ctx, db.query("AssessContacts"+suffix), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var roles string
		if err := rows.Scan(&id, &roles); err != nil {
			rows.Close()
			return err
		}
		if i, ok := index[id]; ok {
			for _, r := range splitList(roles) {
				ins[i].Contacts[r]++
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var docIDs []int64
	if ids != nil {
		docIDs = ids
	}
	docs, err := db.DocFieldsByAccount(ctx, docIDs)
	if err != nil {
		return err
	}
	for _, in := range ins {
		in.Docs = docs[in.Account.ID]
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// decodeTraitFast reads a stored trait value. Values are JSON numbers,
// booleans and strings; the common shapes skip encoding/json, which a full
// recompute would otherwise spend most of its load time in.
func decodeTraitFast(s string) (any, error) {
	switch {
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && !strings.ContainsAny(s[1:len(s)-1], `"\`):
		return s[1 : len(s)-1], nil
	case len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9'):
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	}
	return decodeValue(s)
}

// TakeDirtyAccounts implements store.Assessments.
func (db *DB) TakeDirtyAccounts(ctx context.Context) (ids []int64, err error) {
	defer derrors.Wrap(&err, "store.TakeDirtyAccounts")
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.query("TakeDirtyAccounts"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// SaveAssessments implements store.Assessments.
func (db *DB) SaveAssessments(ctx context.Context, as []store.Assessment) (err error) {
	defer derrors.Wrap(&err, "store.SaveAssessments(%d)", len(as))
	if len(as) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		stmts := map[string]*sql.Stmt{}
		for _, name := range []string{"SaveDerivedFields", "UpsertAccountState", "InsertStateChange", "InsertActivity"} {
			s, err := tx.PrepareContext(ctx, db.query(name))
			if err != nil {
				return err
			}
			defer s.Close()
			stmts[name] = s
		}
		for _, a := range as {
			at := msTime(a.At)
			res, err := stmts["SaveDerivedFields"].ExecContext(ctx, a.AccountID, a.Segment, a.Program, a.Stage, floatArg(a.Score), a.Color)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // deleted since it was read
			}
			state := string(a.State)
			if state == "" {
				state = "{}"
			}
			if _, err := stmts["UpsertAccountState"].ExecContext(ctx, a.AccountID, state, db.d.Time(at)); err != nil {
				return err
			}
			for _, c := range a.Changes {
				detail := string(c.Detail)
				if detail == "" {
					detail = "{}"
				}
				var id int64
				err := stmts["InsertStateChange"].QueryRowContext(ctx, a.AccountID, c.Kind, c.Old, c.New,
					floatArg(c.OldScore), floatArg(c.NewScore), c.Direction, c.Reason, detail, db.d.Time(at)).Scan(&id)
				if err != nil {
					return err
				}
				kind := account.ActivityLifecycle
				if c.Kind == store.ChangeHealth {
					kind = account.ActivityHealth
				}
				if err := stmts["InsertActivity"].QueryRowContext(ctx, a.AccountID, kind, nil, "assessment", c.Reason,
					db.d.Time(at)).Scan(&id); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func floatArg(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// AccountState implements store.Assessments.
func (db *DB) AccountState(ctx context.Context, accountID int64) (json.RawMessage, error) {
	var s string
	err := db.r.QueryRowContext(ctx, db.query("GetAccountState"), accountID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, derrors.New(derrors.NotFound, "account %d has not been assessed", accountID)
	}
	if err != nil {
		return nil, fmt.Errorf("store.AccountState(%d): %w", accountID, err)
	}
	return json.RawMessage(s), nil
}

// MaxStateChanges caps a page of state changes.
const maxStateChanges = 1000

// ListStateChanges implements store.Assessments.
func (db *DB) ListStateChanges(ctx context.Context, f store.StateChangeFilter) (page store.StateChangePage, err error) {
	defer derrors.Wrap(&err, "store.ListStateChanges")
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > maxStateChanges {
		return page, derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", maxStateChanges)
	}
	if f.Direction < -1 || f.Direction > 1 {
		return page, derrors.Field(derrors.Invalid, "direction", "must be better, worse or empty")
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
	rows, err := db.r.QueryContext(ctx, db.query("ListStateChanges"), f.AccountID, f.Kind, f.OwnerID,
		timeArg(f.From), timeArg(f.To), f.Direction, f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Changes = []store.StateChange{}
	for rows.Next() {
		var c store.StateChange
		var oldScore, newScore sql.NullFloat64
		var detail string
		if err := rows.Scan(&c.ID, &c.AccountID, &c.Kind, &c.Old, &c.New, &oldScore, &newScore, &c.Direction,
			&c.Reason, &detail, timeVal{&c.At}, &c.AccountName, idVal{&c.OwnerID}); err != nil {
			return page, err
		}
		c.OldScore, c.NewScore = nullFloat(oldScore), nullFloat(newScore)
		c.Detail = json.RawMessage(detail)
		page.Changes = append(page.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Changes) > f.Limit {
		page.Changes = page.Changes[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

func nullFloat(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

// SaveHealthSnapshots implements store.Assessments.
func (db *DB) SaveHealthSnapshots(ctx context.Context, ss []store.HealthSnapshot) (err error) {
	defer derrors.Wrap(&err, "store.SaveHealthSnapshots(%d)", len(ss))
	if len(ss) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.query("UpsertHealthSnapshot"))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, s := range ss {
			if s.Day.IsZero() {
				return derrors.Field(derrors.Invalid, "day", "a health snapshot needs a day")
			}
			cats := s.Categories
			if cats == nil {
				cats = map[string]float64{}
			}
			b, err := json.Marshal(cats)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, s.AccountID, s.Day, floatArg(s.Score), s.Color, s.Model, string(b)); err != nil {
				return err
			}
		}
		return nil
	})
}

// HealthSnapshots implements store.Assessments.
func (db *DB) HealthSnapshots(ctx context.Context, accountID int64, from, to date.Date) (out []store.HealthSnapshot, err error) {
	defer derrors.Wrap(&err, "store.HealthSnapshots(%d)", accountID)
	rows, err := db.r.QueryContext(ctx, db.query("HealthSnapshots"), accountID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []store.HealthSnapshot{}
	for rows.Next() {
		var s store.HealthSnapshot
		var score sql.NullFloat64
		var cats string
		if err := rows.Scan(&s.AccountID, &s.Day, &score, &s.Color, &s.Model, &cats); err != nil {
			return nil, err
		}
		s.Score = nullFloat(score)
		if err := json.Unmarshal([]byte(cats), &s.Categories); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", s.Day, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// HealthCounts implements store.Assessments.
func (db *DB) HealthCounts(ctx context.Context, f account.Filter) (counts map[string]int, err error) {
	defer derrors.Wrap(&err, "store.HealthCounts")
	f.HealthColor, f.Sort, f.Cursor, f.Limit = "", "", "", 0
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("HealthCounts"), f.OwnerID, f.Segment, f.Program, f.Stage, likePattern(f.Query))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts = map[string]int{}
	for rows.Next() {
		var color string
		var n int
		if err := rows.Scan(&color, &n); err != nil {
			return nil, err
		}
		counts[color] = n
	}
	return counts, rows.Err()
}

// AcquireLease implements store.Leases.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (ok bool, err error) {
	defer derrors.Wrap(&err, "store.AcquireLease(%q)", name)
	if name == "" || holder == "" || ttl <= 0 {
		return false, derrors.New(derrors.Invalid, "a lease needs a name, a holder and a positive duration")
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.query("AcquireLease"), name, holder, db.d.Time(msTime(now)), db.d.Time(msTime(now.Add(ttl)))); err != nil {
			return err
		}
		var h string
		if err := tx.QueryRowContext(ctx, db.query("LeaseHolder"), name).Scan(&h); err != nil {
			return err
		}
		ok = h == holder
		return nil
	})
	return ok, err
}

// ReleaseLease implements store.Leases.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.w.ExecContext(ctx, db.query("ReleaseLease"), name, holder); err != nil {
		return fmt.Errorf("store.ReleaseLease(%q): %w", name, err)
	}
	return nil
}
