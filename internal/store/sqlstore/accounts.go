package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

func scanAccount(row interface{ Scan(...any) error }) (account.Account, error) {
	var a account.Account
	var ents string
	var score sql.NullFloat64
	err := row.Scan(&a.ID, &a.Name, &a.Domain, strVal{&a.ExternalID}, strVal{&a.AnalyticsID}, &a.EstimatedDevelopers,
		&a.ARR, &a.Seats, &a.SupportLevel, idVal{&a.OwnerID}, idVal{&a.AEID}, idVal{&a.CEID}, idVal{&a.IEID},
		&a.ExpectedCloseDate, &a.CloseDate, &a.RenewalDate, &ents, &a.Deployment, &a.Segment, &a.Program, &a.Stage,
		&score, &a.HealthColor, timeVal{&a.CreatedAt}, timeVal{&a.UpdatedAt})
	if err != nil {
		return a, err
	}
	a.Entitlements = splitList(ents)
	if score.Valid {
		a.HealthScore = &score.Float64
	}
	return a, nil
}

// accountArgs are the column values shared by insert and update, in the
// order of the queries' parameters after the leading one.
func (db *DB) accountArgs(a *account.Account) []any {
	var score any
	if a.HealthScore != nil {
		score = *a.HealthScore
	}
	return []any{a.Name, a.Domain, nullIfEmpty(a.ExternalID), nullIfEmpty(a.AnalyticsID), a.EstimatedDevelopers,
		a.ARR, a.Seats, a.SupportLevel, nullID(a.OwnerID), nullID(a.AEID), nullID(a.CEID), nullID(a.IEID),
		a.ExpectedCloseDate, a.CloseDate, a.RenewalDate, strings.Join(a.Entitlements, ","), a.Deployment,
		a.Segment, a.Program, a.Stage, score, a.HealthColor}
}

// CreateAccount implements store.Accounts.
func (db *DB) CreateAccount(ctx context.Context, a *account.Account, by account.Actor) (err error) {
	defer derrors.Wrap(&err, "store.CreateAccount(%q)", a.Name)
	if err := a.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertAccount(ctx, tx, a, by) })
}

func (db *DB) insertAccount(ctx context.Context, tx *sql.Tx, a *account.Account, by account.Actor) error {
	now := db.now()
	args := append(db.accountArgs(a), db.d.Time(now), db.d.Time(now))
	if err := tx.QueryRowContext(ctx, db.query("InsertAccount"), args...).Scan(&a.ID); err != nil {
		return db.mapRefErr(ctx, tx, err, accountUserRefs(a)...)
	}
	a.CreatedAt, a.UpdatedAt = now, now
	return db.addActivity(ctx, tx, &account.Activity{AccountID: a.ID, Kind: account.ActivityCreated,
		ActorID: by.UserID, Actor: by.Name, Body: "Account created", At: now})
}

// accountUserRefs are the account's references to team members.
func accountUserRefs(a *account.Account) []userRef {
	return []userRef{{"owner_id", a.OwnerID}, {"ae_id", a.AEID}, {"ce_id", a.CEID}, {"ie_id", a.IEID}}
}

// GetAccount implements store.Accounts.
func (db *DB) GetAccount(ctx context.Context, id int64) (account.Account, error) {
	return db.getAccount(ctx, db.r, "GetAccount", id)
}

// GetAccountByExternalID implements store.Accounts.
func (db *DB) GetAccountByExternalID(ctx context.Context, externalID string) (account.Account, error) {
	return db.getAccount(ctx, db.r, "GetAccountByExternalID", externalID)
}

func (db *DB) getAccount(ctx context.Context, q queryer, query string, key any) (account.Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, db.query(query), key))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account", key)
	}
	if err != nil {
		return a, fmt.Errorf("store.%s(%v): %w", query, key, err)
	}
	return a, nil
}

// UpdateAccount implements store.Accounts.
func (db *DB) UpdateAccount(ctx context.Context, a *account.Account, by account.Actor) (err error) {
	defer derrors.Wrap(&err, "store.UpdateAccount(%d)", a.ID)
	if err := a.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.getAccount(ctx, tx, "GetAccount", a.ID)
		if err != nil {
			return err
		}
		_, err = db.updateAccount(ctx, tx, old, a, by)
		return err
	})
}

// ModifyAccount implements store.Accounts. On PostgreSQL the row is read
// FOR UPDATE; on SQLite the write transaction already excludes every other
// writer.
func (db *DB) ModifyAccount(ctx context.Context, id int64, modify func(*account.Account) error, by account.Actor) (a account.Account, err error) {
	defer derrors.Wrap(&err, "store.ModifyAccount(%d)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.getAccount(ctx, tx, "GetAccountForUpdate", id)
		if err != nil {
			return err
		}
		a = old
		a.Entitlements = slices.Clone(old.Entitlements)
		if err := modify(&a); err != nil {
			return err
		}
		a.ID = id
		if err := a.Validate(); err != nil {
			return err
		}
		_, err = db.updateAccount(ctx, tx, old, &a, by)
		return err
	})
	return a, err
}

// updateAccount writes a over old and records the changed fields; it
// reports whether anything changed.
func (db *DB) updateAccount(ctx context.Context, tx *sql.Tx, old account.Account, a *account.Account, by account.Actor) (bool, error) {
	changes := account.Diff(old, *a)
	healthSame := old.HealthColor == a.HealthColor && floatPtrEqual(old.HealthScore, a.HealthScore)
	a.CreatedAt = old.CreatedAt
	if len(changes) == 0 && healthSame {
		a.UpdatedAt = old.UpdatedAt
		return false, nil
	}
	now := db.now()
	args := append([]any{a.ID}, db.accountArgs(a)...)
	args = append(args, db.d.Time(now))
	if _, err := tx.ExecContext(ctx, db.query("UpdateAccount"), args...); err != nil {
		return false, db.mapRefErr(ctx, tx, err, accountUserRefs(a)...)
	}
	a.UpdatedAt = now
	if len(changes) == 0 {
		return true, nil
	}
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s: %s → %s", c.Field, orDash(c.Old), orDash(c.New))
	}
	return true, db.addActivity(ctx, tx, &account.Activity{AccountID: a.ID, Kind: account.ActivityFieldChanged,
		ActorID: by.UserID, Actor: by.Name, Body: strings.Join(parts, "; "), At: now})
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func floatPtrEqual(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// DeleteAccount implements store.Accounts; contacts, traits and the
// timeline go with it (ON DELETE CASCADE).
func (db *DB) DeleteAccount(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, db.query("DeleteAccount"), id)
	if err != nil {
		return fmt.Errorf("store.DeleteAccount(%d): %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("account", id)
	}
	return nil
}

// ListAccounts implements store.Accounts. The cursor is an opaque offset:
// the book of business pages by any sort key, and an offset keeps the SQL
// static for all of them.
func (db *DB) ListAccounts(ctx context.Context, f account.Filter) (page account.Page, err error) {
	defer derrors.Wrap(&err, "store.ListAccounts")
	if err := f.Normalize(); err != nil {
		return page, err
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	where := []any{f.OwnerID, f.Segment, f.Program, f.Stage, f.HealthColor, likePattern(f.Query)}
	if err := db.r.QueryRowContext(ctx, db.query("CountAccounts"), where...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListAccounts"), append(where, f.Sort, f.Limit+1, offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Accounts = []account.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return page, err
		}
		page.Accounts = append(page.Accounts, a)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Accounts) > f.Limit {
		page.Accounts = page.Accounts[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

// decodeOffset reads an opaque offset cursor ("" is the first page).
func decodeOffset(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
	if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(b), "o:") {
		return 0, derrors.Field(derrors.Invalid, "cursor", "is not a cursor this server issued")
	}
	return n, nil
}

// encodeOffset makes the cursor of the page at offset.
func encodeOffset(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

// likePattern makes a search query a LIKE pattern ("" for none). The SQL
// folds it to lower case with the same function as the columns: Go's Unicode
// folding would disagree with SQLite's ASCII-only lower() and a name like
// "Évian" would not find itself.
func likePattern(q string) string {
	if q == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// UpsertAccounts implements store.Accounts.
func (db *DB) UpsertAccounts(ctx context.Context, as []account.Account, by account.Actor) (res account.UpsertResult, err error) {
	defer derrors.Wrap(&err, "store.UpsertAccounts(%d accounts)", len(as))
	seen := make(map[string]int, len(as))
	for i := range as {
		if err := as[i].Validate(); err != nil {
			return res, rowErr(i, err)
		}
		if as[i].ExternalID == "" {
			return res, rowErr(i, derrors.Field(derrors.Unprocessable, "external_id", "is required to upsert"))
		}
		if j, dup := seen[as[i].ExternalID]; dup {
			return res, rowErr(i, derrors.Field(derrors.Unprocessable, "external_id", "%q repeats row %d", as[i].ExternalID, j))
		}
		seen[as[i].ExternalID] = i
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		get, err := tx.PrepareContext(ctx, db.query("GetAccountByExternalID"))
		if err != nil {
			return err
		}
		defer get.Close()
		for i := range as {
			a := &as[i]
			old, err := scanAccount(get.QueryRowContext(ctx, a.ExternalID))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if err := db.insertAccount(ctx, tx, a, by); err != nil {
					return rowErr(i, err)
				}
				res.Created++
				continue
			case err != nil:
				return err
			}
			a.ID = old.ID
			if a.HealthScore == nil && a.HealthColor == "" { // imports do not carry health; keep it
				a.HealthScore, a.HealthColor = old.HealthScore, old.HealthColor
			}
			changed, err := db.updateAccount(ctx, tx, old, a, by)
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

// rowErr names the row of a bulk call in a field error.
func rowErr(i int, err error) error {
	var e *derrors.Error
	if errors.As(err, &e) {
		c := *e
		c.Field = fmt.Sprintf("[%d]", i)
		if e.Field != "" {
			c.Field += "." + e.Field
		}
		return &c
	}
	return fmt.Errorf("row %d: %w", i, err)
}

// ResolveExternalIDs implements store.Accounts.
func (db *DB) ResolveExternalIDs(ctx context.Context, externalIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(externalIDs))
	if len(externalIDs) == 0 {
		return out, nil
	}
	js, err := json.Marshal(externalIDs)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ResolveExternalIDs"), string(js))
	if err != nil {
		return nil, fmt.Errorf("store.ResolveExternalIDs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, err
		}
		out[ext] = id
	}
	return out, rows.Err()
}

// OwnerStats implements store.Accounts.
func (db *DB) OwnerStats(ctx context.Context) (map[int64]account.OwnerStats, error) {
	rows, err := db.r.QueryContext(ctx, db.query("OwnerStats"))
	if err != nil {
		return nil, fmt.Errorf("store.OwnerStats: %w", err)
	}
	defer rows.Close()
	out := map[int64]account.OwnerStats{}
	for rows.Next() {
		var id int64
		var s account.OwnerStats
		if err := rows.Scan(&id, &s.Accounts, &s.ARR); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}
