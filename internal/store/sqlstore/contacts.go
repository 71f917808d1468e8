package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

func scanContact(row interface{ Scan(...any) error }) (account.Contact, error) {
	var c account.Contact
	var roles string
	err := row.Scan(&c.ID, &c.AccountID, strVal{&c.ExternalID}, &c.Name, &c.Email, &c.Title, &roles, &c.Unsubscribed,
		timeVal{&c.CreatedAt}, timeVal{&c.UpdatedAt})
	c.Roles = splitList(roles)
	return c, err
}

// CreateContact implements store.Contacts.
func (db *DB) CreateContact(ctx context.Context, c *account.Contact) (err error) {
	defer derrors.Wrap(&err, "store.CreateContact(%q)", c.Email)
	if err := c.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertContact(ctx, tx, c) })
}

func (db *DB) insertContact(ctx context.Context, tx *sql.Tx, c *account.Contact) error {
	if err := db.requireAccount(ctx, tx, c.AccountID, "account_id"); err != nil {
		return err
	}
	now := db.now()
	err := tx.QueryRowContext(ctx, db.query("InsertContact"), c.AccountID, nullIfEmpty(c.ExternalID), c.Name, c.Email,
		c.Title, strings.Join(c.Roles, ","), c.Unsubscribed, db.d.Time(now), db.d.Time(now)).Scan(&c.ID)
	if err != nil {
		return db.mapErr(err)
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

// requireAccount answers an unknown account id with an error on field.
func (db *DB) requireAccount(ctx context.Context, q queryer, id int64, field string) error {
	var n int
	if err := q.QueryRowContext(ctx, db.query("AccountExists"), id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return derrors.Field(derrors.NotFound, field, "account %d not found", id)
	}
	return nil
}

// GetContact implements store.Contacts.
func (db *DB) GetContact(ctx context.Context, id int64) (account.Contact, error) {
	c, err := scanContact(db.r.QueryRowContext(ctx, db.query("GetContact"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("contact", id)
	}
	if err != nil {
		return c, fmt.Errorf("store.GetContact(%d): %w", id, err)
	}
	return c, nil
}

// UpdateContact implements store.Contacts.
func (db *DB) UpdateContact(ctx context.Context, c *account.Contact) (err error) {
	defer derrors.Wrap(&err, "store.UpdateContact(%d)", c.ID)
	if err := c.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanContact(tx.QueryRowContext(ctx, db.query("GetContact"), c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("contact", c.ID)
		}
		if err != nil {
			return err
		}
		_, err = db.updateContact(ctx, tx, old, c)
		return err
	})
}

func (db *DB) updateContact(ctx context.Context, tx *sql.Tx, old account.Contact, c *account.Contact) (bool, error) {
	c.CreatedAt = old.CreatedAt
	if old.AccountID == c.AccountID && old.ExternalID == c.ExternalID && old.Name == c.Name && old.Email == c.Email &&
		old.Title == c.Title && slices.Equal(old.Roles, c.Roles) && old.Unsubscribed == c.Unsubscribed {
		c.UpdatedAt = old.UpdatedAt
		return false, nil
	}
	if c.AccountID != old.AccountID {
		if err := db.requireAccount(ctx, tx, c.AccountID, "account_id"); err != nil {
			return false, err
		}
	}
	now := db.now()
	_, err := tx.ExecContext(ctx, db.query("UpdateContact"), c.ID, c.AccountID, nullIfEmpty(c.ExternalID), c.Name,
		c.Email, c.Title, strings.Join(c.Roles, ","), c.Unsubscribed, db.d.Time(now))
	if err != nil {
		return false, db.mapErr(err)
	}
	c.UpdatedAt = now
	return true, nil
}

// DeleteContact implements store.Contacts.
func (db *DB) DeleteContact(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, db.query("DeleteContact"), id)
	if err != nil {
		return fmt.Errorf("store.DeleteContact(%d): %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("contact", id)
	}
	return nil
}

// ListContacts implements store.Contacts.
func (db *DB) ListContacts(ctx context.Context, accountID int64) ([]account.Contact, error) {
	rows, err := db.r.QueryContext(ctx, db.query("ListContacts"), accountID)
	if err != nil {
		return nil, fmt.Errorf("store.ListContacts(%d): %w", accountID, err)
	}
	defer rows.Close()
	out := []account.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListContactsOf implements store.Contacts.
func (db *DB) ListContactsOf(ctx context.Context, accountIDs []int64) (out map[int64][]account.Contact, err error) {
	defer derrors.Wrap(&err, "store.ListContactsOf(%d accounts)", len(accountIDs))
	out = map[int64][]account.Contact{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	// One query for the lot (a due batch of enrollments plans 500 accounts).
	js, err := json.Marshal(accountIDs)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListContactsOf"), string(js))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out[c.AccountID] = append(out[c.AccountID], c)
	}
	return out, rows.Err()
}

// UpsertContacts implements store.Contacts.
func (db *DB) UpsertContacts(ctx context.Context, cs []account.Contact) (res account.UpsertResult, err error) {
	defer derrors.Wrap(&err, "store.UpsertContacts(%d contacts)", len(cs))
	for i := range cs {
		if err := cs[i].Validate(); err != nil {
			return res, rowErr(i, err)
		}
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		for i := range cs {
			c := &cs[i]
			var old account.Contact
			var err error
			if c.ExternalID != "" {
				old, err = scanContact(tx.QueryRowContext(ctx, db.query("GetContactByExternalID"), c.ExternalID))
			} else {
				old, err = scanContact(tx.QueryRowContext(ctx, db.query("GetContactByEmail"), c.AccountID, c.Email))
			}
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if err := db.insertContact(ctx, tx, c); err != nil {
					return rowErr(i, err)
				}
				res.Created++
				continue
			case err != nil:
				return err
			}
			c.ID = old.ID
			// An opt-out is the person's own word: a bulk sync may record
			// one but never undo it.
			c.Unsubscribed = c.Unsubscribed || old.Unsubscribed
			changed, err := db.updateContact(ctx, tx, old, c)
			if err != nil {
				return rowErr(i, err)
			}
			if changed {
				res.Updated++
			} else {
				res.Unchanged++
			}
		}
		return nil
	})
	if err != nil {
		return account.UpsertResult{}, err
	}
	return res, nil
}
