package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// Trait values are stored as JSON text: float64, bool and string survive the
// round trip exactly, and equal values have equal text, which is how an
// unchanged write is recognised.
func encodeValue(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeValue(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

func decodeNullValue(s sql.NullString) (any, error) {
	if !s.Valid {
		return nil, nil
	}
	return decodeValue(s.String)
}

// ListTraits implements store.Traits.
func (db *DB) ListTraits(ctx context.Context, accountID int64) ([]account.TraitValue, error) {
	rows, err := db.r.QueryContext(ctx, db.query("ListTraits"), accountID)
	if err != nil {
		return nil, fmt.Errorf("store.ListTraits(%d): %w", accountID, err)
	}
	defer rows.Close()
	out := []account.TraitValue{}
	for rows.Next() {
		var t account.TraitValue
		var raw string
		if err := rows.Scan(&t.AccountID, &t.Key, &raw, &t.Source, &t.UpdatedBy, timeVal{&t.UpdatedAt}); err != nil {
			return nil, err
		}
		if t.Value, err = decodeValue(raw); err != nil {
			return nil, fmt.Errorf("trait %s of account %d: %w", t.Key, t.AccountID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTraits implements store.Traits.
func (db *DB) SetTraits(ctx context.Context, ws []account.TraitWrite, by account.Actor) (changes []account.TraitChange, err error) {
	defer derrors.Wrap(&err, "store.SetTraits(%d writes)", len(ws))
	if len(ws) == 0 {
		return nil, nil
	}
	source := by.Source
	if source == "" {
		source = account.SourceManual
	}
	now := db.now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// The accounts and their current values are read in two queries,
		// not two per write: the usage engine writes a few traits of
		// every active account each second, and on PostgreSQL each query
		// is a round trip.
		current, err := db.traitValuesOf(ctx, tx, ws)
		if err != nil {
			return err
		}
		// The changes are settled first, in order, then written.
		var olds, nexts []sql.NullString
		type traitKey struct {
			account int64
			key     string
		}
		changed := map[traitKey]bool{}
		repeats := false
		for i, w := range ws {
			vals, known := current[w.AccountID]
			if !known {
				return derrors.Field(derrors.NotFound, fmt.Sprintf("[%d].account_id", i), "account %d not found", w.AccountID)
			}
			cur := vals[w.Key]
			var next sql.NullString
			if w.Value != nil {
				s, err := encodeValue(w.Value)
				if err != nil {
					return derrors.Field(derrors.Unprocessable, "traits."+w.Key, "cannot be stored: %v", err)
				}
				next = sql.NullString{String: s, Valid: true}
			}
			if cur == next {
				continue
			}
			vals[w.Key] = next // a later write of the key in ws changes this value
			ch := account.TraitChange{AccountID: w.AccountID, Key: w.Key, Source: source, ActorID: by.UserID, Actor: by.Name, At: now}
			if ch.Old, err = decodeNullValue(cur); err != nil {
				return err
			}
			ch.New = w.Value
			if ch.New != nil { // return the value as it reads back
				ch.New, _ = decodeValue(next.String)
			}
			changes = append(changes, ch)
			olds, nexts = append(olds, cur), append(nexts, next)
			k := traitKey{w.AccountID, w.Key}
			repeats = repeats || changed[k]
			changed[k] = true
		}
		if len(changes) == 0 {
			return nil
		}
		if !repeats {
			return db.writeTraitChanges(ctx, tx, changes, olds, nexts, by)
		}
		// A key written twice with two different values: one row at a time.
		stmts := map[string]*sql.Stmt{}
		for _, name := range []string{"UpsertTrait", "DeleteTrait", "InsertTraitChange"} {
			s, err := tx.PrepareContext(ctx, db.query(name))
			if err != nil {
				return err
			}
			defer s.Close()
			stmts[name] = s
		}
		for i := range changes {
			ch, cur, next := &changes[i], olds[i], nexts[i]
			if next.Valid {
				_, err = stmts["UpsertTrait"].ExecContext(ctx, ch.AccountID, ch.Key, next.String, source, by.Name, db.d.Time(now))
			} else {
				_, err = stmts["DeleteTrait"].ExecContext(ctx, ch.AccountID, ch.Key)
			}
			if err != nil {
				return err
			}
			err = stmts["InsertTraitChange"].QueryRowContext(ctx, ch.AccountID, ch.Key, nullStr(cur), nullStr(next), source,
				nullID(by.UserID), by.Name, db.d.Time(now)).Scan(&ch.ID)
			if err != nil {
				return db.mapRefErr(ctx, tx, err, userRef{"actor_id", by.UserID})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// writeTraitChanges sets the values of the changes settled by SetTraits
// and records their history in three statements, whatever their number:
// the usage engine changes a few computed traits of every active account
// each second. Each (account, key) is changed at most once.
func (db *DB) writeTraitChanges(ctx context.Context, tx *sql.Tx, changes []account.TraitChange, olds, nexts []sql.NullString, by account.Actor) error {
	type row struct {
		Account int64   `json:"a"`
		Key     string  `json:"k"`
		Old     *string `json:"o"`
		New     *string `json:"n"`
	}
	type traitKey struct {
		account int64
		key     string
	}
	rows := make([]row, len(changes))
	at := make(map[traitKey]int, len(changes))
	for i, ch := range changes {
		rows[i] = row{Account: ch.AccountID, Key: ch.Key}
		if olds[i].Valid {
			rows[i].Old = &olds[i].String
		}
		if nexts[i].Valid {
			rows[i].New = &nexts[i].String
		}
		at[traitKey{ch.AccountID, ch.Key}] = i
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	source, now := changes[0].Source, db.d.Time(changes[0].At)
	if _, err := tx.ExecContext(ctx, db.query("DeleteTraitsOf"), string(js)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.query("UpsertTraitsOf"), string(js), source, by.Name, now); err != nil {
		return err
	}
	res, err := tx.QueryContext(ctx, db.query("InsertTraitChangesOf"), string(js), source, nullID(by.UserID), by.Name, now)
	if err != nil {
		return db.mapRefErr(ctx, tx, err, userRef{"actor_id", by.UserID})
	}
	defer res.Close()
	for res.Next() {
		var id, accountID int64
		var key string
		if err := res.Scan(&id, &accountID, &key); err != nil {
			return err
		}
		changes[at[traitKey{accountID, key}]].ID = id
	}
	if err := res.Err(); err != nil {
		return db.mapRefErr(ctx, tx, err, userRef{"actor_id", by.UserID})
	}
	return nil
}

// traitValuesOf returns the current trait values of the accounts the
// writes name, by account and key; an account that does not exist has no
// entry.
func (db *DB) traitValuesOf(ctx context.Context, tx *sql.Tx, ws []account.TraitWrite) (map[int64]map[string]sql.NullString, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, w := range ws {
		if !seen[w.AccountID] {
			seen[w.AccountID] = true
			ids = append(ids, w.AccountID)
		}
	}
	exist, err := db.accountsExist(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]map[string]sql.NullString, len(exist))
	for id := range exist {
		out[id] = map[string]sql.NullString{}
	}
	rows, err := db.queryIDs(ctx, tx, "TraitValuesOf", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key, value string
		if err := rows.Scan(&id, &key, &value); err != nil {
			return nil, err
		}
		if vals, ok := out[id]; ok {
			vals[key] = sql.NullString{String: value, Valid: true}
		}
	}
	return out, rows.Err()
}

func nullStr(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

// TraitHistory implements store.Traits.
func (db *DB) TraitHistory(ctx context.Context, accountID int64, key string, limit int) ([]account.TraitChange, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, db.query("TraitHistory"), accountID, key, limit)
	if err != nil {
		return nil, fmt.Errorf("store.TraitHistory(%d, %q): %w", accountID, key, err)
	}
	defer rows.Close()
	out := []account.TraitChange{}
	for rows.Next() {
		var c account.TraitChange
		var old, nu sql.NullString
		if err := rows.Scan(&c.ID, &c.AccountID, &c.Key, &old, &nu, &c.Source, idVal{&c.ActorID}, &c.Actor, timeVal{&c.At}); err != nil {
			return nil, err
		}
		if c.Old, err = decodeNullValue(old); err != nil {
			return nil, err
		}
		if c.New, err = decodeNullValue(nu); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
