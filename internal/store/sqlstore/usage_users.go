package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// ensureUsers returns the ordinal of every user, giving the next ordinals
// to the new ones in the order given. Most batches only name known users,
// and those cost one read; a batch with new ones takes the dialect's
// ordinal lock (PostgreSQL: the counter's row, held to commit, so that two
// replicas never hand out the same number or skip one).
func (db *DB) ensureUsers(ctx context.Context, tx txConn, users []newUser) (map[string]uint32, error) {
	out := make(map[string]uint32, len(users))
	if len(users) == 0 {
		return out, nil
	}
	cache := &db.usage().ordinals
	keys := make([]string, 0, len(users))
	for _, u := range users {
		if n, ok := cache.get(u.Key); ok {
			out[u.Key] = n
		} else {
			keys = append(keys, u.Key)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	if err := db.readOrdinals(ctx, tx, "UsageUserOrdinals", keys, out); err != nil {
		return nil, err
	}
	var missing []newUser
	for _, u := range users {
		if _, ok := out[u.Key]; !ok {
			missing = append(missing, u)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	if err := db.lock(ctx, tx, "LockUserOrdinals"); err != nil {
		return nil, err
	}
	if err := db.readOrdinals(ctx, tx, "InsertUsageUsers", missing, out); err != nil {
		return nil, err
	}
	// A key another transaction added between the first read and the lock
	// is not inserted again; read its ordinal.
	keys = keys[:0]
	for _, u := range missing {
		if _, ok := out[u.Key]; !ok {
			keys = append(keys, u.Key)
		}
	}
	if len(keys) > 0 {
		if err := db.readOrdinals(ctx, tx, "UsageUserOrdinals", keys, out); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if _, ok := out[k]; !ok {
				return nil, fmt.Errorf("user %q has no ordinal after insert", k)
			}
		}
	}
	return out, nil
}

// ordinalCacheGeneration is how many users one generation of the ordinal
// cache holds: with the one before, the active users of a busy day, in
// about 20 MB at most.
const ordinalCacheGeneration = 1 << 17

// ordinalCache remembers the ordinals of recently seen users, so that a
// batch of known users costs no read: an ordinal, once committed, never
// changes, and users are never deleted, so an entry cannot go stale (not
// even when another process or replica adds users). Only committed
// ordinals go in.
type ordinalCache struct {
	mu        sync.Mutex
	cur, prev map[string]uint32
}

func (c *ordinalCache) get(key string) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.cur[key]
	if !ok {
		if n, ok = c.prev[key]; ok { // still in use: keep it a generation longer
			c.putLocked(key, n)
		}
	}
	return n, ok
}

// put adds committed ordinals.
func (c *ordinalCache) put(ords map[string]uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range ords {
		if _, ok := c.cur[k]; !ok {
			// Cloned: the key may share memory with a whole request body.
			c.putLocked(strings.Clone(k), n)
		}
	}
}

func (c *ordinalCache) putLocked(key string, n uint32) {
	if c.cur == nil || len(c.cur) >= ordinalCacheGeneration {
		c.prev, c.cur = c.cur, make(map[string]uint32)
	}
	c.cur[key] = n
}

// readOrdinals runs a query that takes a JSON array and returns (key,
// ordinal) rows, adding them to out.
func (db *DB) readOrdinals(ctx context.Context, tx txConn, query string, arg any, out map[string]uint32) error {
	js, err := json.Marshal(arg)
	if err != nil {
		return err
	}
	stmt, err := db.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, string(js))
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		if n <= 0 || n > math.MaxUint32 {
			return fmt.Errorf("user %q has ordinal %d, outside 1..2^32-1", k, n)
		}
		out[k] = uint32(n)
	}
	return rows.Err()
}

// LinkUsers implements store.Usage.
func (db *DB) LinkUsers(ctx context.Context, links []store.UserLink) (ords map[string]uint32, err error) {
	defer derrors.Wrap(&err, "store.LinkUsers(%d)", len(links))
	if len(links) == 0 {
		return map[string]uint32{}, nil
	}
	now := db.now().UnixMilli()
	var users []newUser
	at := map[string]int{}
	for i := range links {
		l := &links[i]
		if err := required("key", l.Key); err != nil {
			return nil, rowErr(i, err)
		}
		l.Email = strings.TrimSpace(l.Email)
		if err := checkText("email", l.Email); err != nil {
			return nil, rowErr(i, err)
		}
		seen := now
		if !l.Seen.IsZero() {
			seen = l.Seen.UnixMilli()
		}
		if j, ok := at[l.Key]; !ok {
			at[l.Key] = len(users)
			users = append(users, newUser{l.Key, seen})
		} else if seen < users[j].Seen {
			users[j].Seen = seen
		}
	}
	// A call may link a key several times; the last value given for each
	// field wins. Merged here, every key is updated once, which a batch
	// UPDATE needs.
	type link struct {
		account, contact *int64
		email            string
	}
	merged := map[string]*link{}
	var order []string
	for _, l := range links {
		if l.AccountID == nil && l.Email == "" && l.ContactID == nil {
			continue
		}
		m := merged[l.Key]
		if m == nil {
			m = &link{}
			merged[l.Key] = m
			order = append(order, l.Key)
		}
		if l.AccountID != nil {
			m.account = l.AccountID
		}
		if l.Email != "" {
			m.email = l.Email
		}
		if l.ContactID != nil {
			m.contact = l.ContactID
		}
	}
	if err := db.prepare(ctx); err != nil {
		return nil, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ords, err = db.ensureUsers(ctx, tx, users); err != nil {
			return err
		}
		if len(order) == 0 {
			return nil
		}
		if q, ok := db.batchQuery("LinkUsageUsers"); ok {
			acc, email, contact := make([]*int64, len(order)), make([]string, len(order)), make([]*int64, len(order))
			for i, k := range order {
				acc[i], email[i], contact[i] = merged[k].account, merged[k].email, merged[k].contact
			}
			_, err := tx.ExecContext(ctx, q, order, acc, email, contact)
			return err
		}
		stmt, err := tx.PrepareContext(ctx, db.query("LinkUsageUser"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, k := range order {
			m := merged[k]
			if _, err := stmt.ExecContext(ctx, k, nullID(m.account), m.email, nullID(m.contact)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.usage().ordinals.put(ords)
	return ords, nil
}

func scanUsageUser(row interface{ Scan(...any) error }) (store.UsageUser, error) {
	var u store.UsageUser
	var ord int64
	err := row.Scan(&ord, &u.Key, idVal{&u.AccountID}, &u.Email, idVal{&u.ContactID}, timeVal{&u.FirstSeen})
	u.Ordinal = uint32(ord)
	return u, err
}

// ListUsageUsers implements store.Usage.
func (db *DB) ListUsageUsers(ctx context.Context, fn func(store.UsageUser) error) error {
	return db.stream(ctx, "ListUsageUsers", nil, func(rows *sql.Rows) error {
		u, err := scanUsageUser(rows)
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// ListUserAccounts implements store.Usage.
func (db *DB) ListUserAccounts(ctx context.Context, fn func(ordinal uint32, accountID int64) error) error {
	return db.stream(ctx, "ListUserAccounts", nil, func(rows *sql.Rows) error {
		var ord, account int64
		if err := rows.Scan(&ord, &account); err != nil {
			return err
		}
		return fn(uint32(ord), account)
	})
}

// UsageUsersOfAccount implements store.Usage; limit defaults to 100.
func (db *DB) UsageUsersOfAccount(ctx context.Context, accountID int64, limit int) ([]store.UsageUser, error) {
	out := []store.UsageUser{}
	err := db.stream(ctx, "UsageUsersOfAccount", []any{accountID, limitOr(limit, 100)}, func(rows *sql.Rows) error {
		u, err := scanUsageUser(rows)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
