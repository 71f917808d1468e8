package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/work"
)

func scanDoc(row interface{ Scan(...any) error }) (work.Doc, error) {
	var d work.Doc
	var fields string
	err := row.Scan(&d.ID, &d.AccountID, &d.Template, &d.Title, &d.Body, &fields, strVal{&d.Key}, &d.Source,
		idVal{&d.CreatedByID}, &d.CreatedBy, timeVal{&d.CreatedAt}, timeVal{&d.UpdatedAt}, &d.AccountName)
	if err != nil {
		return d, err
	}
	d.Fields, err = decodeFields(fields)
	return d, err
}

func decodeFields(s string) (map[string]any, error) {
	m := map[string]any{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("doc fields: %w", err)
	}
	return m, nil
}

// encodeFields writes field values as one JSON object; encoding/json sorts
// the keys, so equal values have equal text.
func encodeFields(m map[string]any) (string, error) {
	if m == nil {
		m = map[string]any{}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// CreateDoc implements store.Work.
func (db *DB) CreateDoc(ctx context.Context, d *work.Doc, by account.Actor) (created bool, err error) {
	defer derrors.Wrap(&err, "store.CreateDoc(%q)", d.Title)
	if d.CreatedBy == "" && d.CreatedByID == nil {
		d.CreatedByID, d.CreatedBy = by.UserID, by.Name
	}
	if err := d.Validate(); err != nil {
		return false, err
	}
	fields, err := encodeFields(d.Fields)
	if err != nil {
		return false, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.requireAccount(ctx, tx, d.AccountID, "account_id"); err != nil {
			return err
		}
		at := db.stamp(d.CreatedAt)
		var id int64
		err := tx.QueryRowContext(ctx, db.query("InsertDoc"), d.AccountID, d.Template, d.Title, d.Body, fields,
			nullIfEmpty(d.Key), d.Source, nullID(d.CreatedByID), d.CreatedBy, db.d.Time(at), db.d.Time(at)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			existing, err := scanDoc(tx.QueryRowContext(ctx, db.query("GetDocByKey"), d.Key))
			if err != nil {
				return err
			}
			*d = existing
			return nil
		}
		if err != nil {
			return db.mapRefErr(ctx, tx, err, userRef{"created_by_id", d.CreatedByID})
		}
		d.ID, d.CreatedAt, d.UpdatedAt = id, at, at
		if d.AccountName, err = db.accountName(ctx, tx, d.AccountID); err != nil {
			return err
		}
		created = true
		ev := work.Event{Kind: work.EventDocCreated, AccountID: d.AccountID, DocID: d.ID, Template: d.Template, Key: d.Key,
			Source: d.Source, ActorID: by.UserID, Actor: by.Name, At: at}
		if err := db.addWorkEvent(ctx, tx, ev); err != nil {
			return err
		}
		changes := work.DiffFields(nil, d.Fields)
		if err := db.fieldEvents(ctx, tx, ev, changes); err != nil {
			return err
		}
		return db.addActivity(ctx, tx, &account.Activity{AccountID: d.AccountID, Kind: account.ActivityDoc,
			ActorID: by.UserID, Actor: by.Name, Body: "Doc created: " + d.Title + changeText(changes, "; "), At: at})
	})
	return created, err
}

// fieldEvents records a doc_field_changed event per change.
func (db *DB) fieldEvents(ctx context.Context, tx *sql.Tx, ev work.Event, changes []work.FieldChange) error {
	for _, c := range changes {
		e := ev
		e.Kind, e.Field, e.Old, e.New = work.EventDocFieldChanged, c.Field, c.Old, c.New
		if err := db.addWorkEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// changeText lists field changes for the timeline: "rating: yellow → red".
func changeText(changes []work.FieldChange, lead string) string {
	if len(changes) == 0 {
		return ""
	}
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s: %s → %s", c.Field, account.FormatValue(c.Old), account.FormatValue(c.New))
	}
	return lead + strings.Join(parts, "; ")
}

// GetDoc implements store.Work.
func (db *DB) GetDoc(ctx context.Context, id int64) (work.Doc, error) {
	return db.getDoc(ctx, db.r, "GetDoc", id)
}

func (db *DB) getDoc(ctx context.Context, q queryer, query string, id int64) (work.Doc, error) {
	d, err := scanDoc(q.QueryRowContext(ctx, db.query(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("doc", id)
	}
	if err != nil {
		return d, fmt.Errorf("store.GetDoc(%d): %w", id, err)
	}
	return d, nil
}

// ModifyDoc implements store.Work.
func (db *DB) ModifyDoc(ctx context.Context, id int64, modify func(*work.Doc) error, by account.Actor) (d work.Doc, err error) {
	defer derrors.Wrap(&err, "store.ModifyDoc(%d)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.getDoc(ctx, tx, "GetDocForUpdate", id)
		if err != nil {
			return err
		}
		d = old
		d.Fields = maps.Clone(old.Fields)
		if err := modify(&d); err != nil {
			return err
		}
		d.ID, d.AccountID, d.Template, d.Key, d.Source = old.ID, old.AccountID, old.Template, old.Key, old.Source
		d.CreatedByID, d.CreatedBy, d.CreatedAt, d.AccountName = old.CreatedByID, old.CreatedBy, old.CreatedAt, old.AccountName
		if err := d.Validate(); err != nil {
			return err
		}
		changes := work.DiffFields(old.Fields, d.Fields)
		if d.Title == old.Title && d.Body == old.Body && len(changes) == 0 {
			d.UpdatedAt = old.UpdatedAt
			return nil
		}
		fields, err := encodeFields(d.Fields)
		if err != nil {
			return err
		}
		now := db.now()
		if _, err := tx.ExecContext(ctx, db.query("UpdateDoc"), d.ID, d.Title, d.Body, fields, db.d.Time(now)); err != nil {
			return err
		}
		d.UpdatedAt = now
		if len(changes) == 0 {
			return nil
		}
		ev := work.Event{AccountID: d.AccountID, DocID: d.ID, Template: d.Template, Key: d.Key, Source: d.Source,
			ActorID: by.UserID, Actor: by.Name, At: now}
		if err := db.fieldEvents(ctx, tx, ev, changes); err != nil {
			return err
		}
		return db.addActivity(ctx, tx, &account.Activity{AccountID: d.AccountID, Kind: account.ActivityDoc,
			ActorID: by.UserID, Actor: by.Name, Body: d.Title + changeText(changes, ": "), At: now})
	})
	return d, err
}

// ListDocs implements store.Work.
func (db *DB) ListDocs(ctx context.Context, accountID int64) (out []work.Doc, err error) {
	defer derrors.Wrap(&err, "store.ListDocs(%d)", accountID)
	rows, err := db.r.QueryContext(ctx, db.query("ListDocs"), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []work.Doc{}
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DocFields implements store.Work.
func (db *DB) DocFields(ctx context.Context, accountID int64) (map[string]map[string]any, error) {
	all, err := db.docFields(ctx, "DocFields", accountID)
	if err != nil {
		return nil, fmt.Errorf("store.DocFields(%d): %w", accountID, err)
	}
	if m, ok := all[accountID]; ok {
		return m, nil
	}
	return map[string]map[string]any{}, nil
}

// DocFieldsByAccount implements store.Work.
func (db *DB) DocFieldsByAccount(ctx context.Context, accountIDs []int64) (map[int64]map[string]map[string]any, error) {
	if accountIDs != nil && len(accountIDs) == 0 {
		return map[int64]map[string]map[string]any{}, nil
	}
	query, args := "DocFieldsAll", []any(nil)
	if accountIDs != nil {
		b, err := json.Marshal(slices.Compact(slices.Sorted(slices.Values(accountIDs))))
		if err != nil {
			return nil, err
		}
		query, args = "DocFieldsByID", []any{string(b)}
	}
	out, err := db.docFields(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store.DocFieldsByAccount: %w", err)
	}
	return out, nil
}

func (db *DB) docFields(ctx context.Context, query string, args ...any) (map[int64]map[string]map[string]any, error) {
	rows, err := db.r.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]map[string]map[string]any{}
	for rows.Next() {
		var id int64
		var tmpl, raw string
		if err := rows.Scan(&id, &tmpl, &raw); err != nil {
			return nil, err
		}
		fields, err := decodeFields(raw)
		if err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]map[string]any{}
		}
		out[id][tmpl] = fields
	}
	return out, rows.Err()
}
