package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
		stmts := map[string]*sql.Stmt{}
		for _, name := range []string{"AccountExists", "GetTraitValue", "UpsertTrait", "DeleteTrait", "InsertTraitChange"} {
			s, err := tx.PrepareContext(ctx, db.query(name))
			if err != nil {
				return err
			}
			defer s.Close()
			stmts[name] = s
		}
		known := map[int64]bool{}
		for i, w := range ws {
			if !known[w.AccountID] {
				var n int
				if err := stmts["AccountExists"].QueryRowContext(ctx, w.AccountID).Scan(&n); err != nil {
					return err
				}
				if n == 0 {
					return derrors.Field(derrors.NotFound, fmt.Sprintf("[%d].account_id", i), "account %d not found", w.AccountID)
				}
				known[w.AccountID] = true
			}
			var cur sql.NullString
			err := stmts["GetTraitValue"].QueryRowContext(ctx, w.AccountID, w.Key).Scan(&cur)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
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
			if next.Valid {
				_, err = stmts["UpsertTrait"].ExecContext(ctx, w.AccountID, w.Key, next.String, source, by.Name, db.d.Time(now))
			} else {
				_, err = stmts["DeleteTrait"].ExecContext(ctx, w.AccountID, w.Key)
			}
			if err != nil {
				return err
			}
			ch := account.TraitChange{AccountID: w.AccountID, Key: w.Key, Source: source, ActorID: by.UserID, Actor: by.Name, At: now}
			if ch.Old, err = decodeNullValue(cur); err != nil {
				return err
			}
			ch.New = w.Value
			if ch.New != nil { // return the value as it reads back
				ch.New, _ = decodeValue(next.String)
			}
			err = stmts["InsertTraitChange"].QueryRowContext(ctx, w.AccountID, w.Key, nullStr(cur), nullStr(next), source,
				nullID(by.UserID), by.Name, db.d.Time(now)).Scan(&ch.ID)
			if err != nil {
				return db.mapRefErr(ctx, tx, err, userRef{"actor_id", by.UserID})
			}
			changes = append(changes, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
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
