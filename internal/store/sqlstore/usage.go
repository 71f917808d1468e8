package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// Usage's writes come in batches. Each dialect's queries.sql decides how a
// batch reaches the engine: a row query (InsertEvent, UpsertDay,
// UpsertFeatureUse) runs once per row on a statement prepared for the
// transaction, which over SQLite's in-process connection is as fast as SQL
// gets (InsertEvent's seq is its LastInsertId: SQLite's rowid); a batch
// query of the same name in the plural (InsertEvents, UpsertDays,
// UpsertFeatureUses) takes one array per column and does the whole batch in
// one round trip, which is what a networked server needs (InsertEvents
// counts the minutes too, for a round trip less). A dialect defines the
// batch query only if its driver binds Go slices to arrays (pgx does).

// batchQuery returns the dialect's batch query of that name, if it has one.
func (db *DB) batchQuery(name string) (string, bool) {
	q, ok := db.q[name]
	return q, ok && q != ""
}

// lock runs a dialect's lock query in tx. A dialect with one writer needs
// no locks and leaves the query empty (comments only).
func (db *DB) lock(ctx context.Context, tx *sql.Tx, name string) error {
	if q := db.query(name); q != "" {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// msTime is an instant at the precision both engines keep.
func msTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// checkText refuses text the engines would not store alike: PostgreSQL's
// text cannot hold NUL, and JSON (how keys travel in batches) cannot carry
// invalid UTF-8.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return derrors.Field(derrors.Unprocessable, field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return derrors.Field(derrors.Unprocessable, field, "contains a NUL character")
	}
	return nil
}

// required is checkText for a field that must not be empty.
func required(field, s string) error {
	if s == "" {
		return derrors.Field(derrors.Unprocessable, field, "is required")
	}
	return checkText(field, s)
}

func validateEvent(i int, e *store.Event) error {
	if e.SourceID <= 0 {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "source_id", "is required"))
	}
	for _, f := range []struct {
		name, val string
		req       bool
	}{{"message_id", e.MessageID, true}, {"type", e.Type, true}, {"user_key", e.UserKey, true}, {"name", e.Name, false}} {
		err := checkText(f.name, f.val)
		if f.req {
			err = required(f.name, f.val)
		}
		if err != nil {
			return rowErr(i, err)
		}
	}
	if e.Timestamp.IsZero() {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "timestamp", "is required"))
	}
	if e.ReceivedAt.IsZero() {
		return rowErr(i, derrors.Field(derrors.Unprocessable, "received_at", "is required"))
	}
	return nil
}

// newUser is a user key a batch may have to give an ordinal to, with the
// time it was first seen.
type newUser struct {
	Key  string `json:"k"`
	Seen int64  `json:"t"` // unix ms
}

// sourceMessage identifies an event for deduplication.
type sourceMessage struct {
	source  int64
	message string
}

// minuteKey is one row of the per-minute counters.
type minuteKey struct {
	minute int64 // unix ms
	source int64
}

// AppendEvents implements store.Usage.
func (db *DB) AppendEvents(ctx context.Context, evs []store.Event) (res store.AppendResult, err error) {
	defer derrors.Wrap(&err, "store.AppendEvents(%d events)", len(evs))
	res = store.AppendResult{Accepted: []int{}, Ordinals: map[string]uint32{}}
	if len(evs) == 0 {
		return res, nil
	}
	// Repeats inside the batch are settled here, so that the engine only
	// sees each (source, message id) once and the batch query's results map
	// back to one event each.
	seen := make(map[sourceMessage]struct{}, len(evs))
	fresh := make([]int, 0, len(evs))
	var users []newUser
	userAt := make(map[string]int, len(evs))
	for i := range evs {
		e := &evs[i]
		if err := validateEvent(i, e); err != nil {
			return res, err
		}
		k := sourceMessage{e.SourceID, e.MessageID}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			fresh = append(fresh, i)
		}
		ts := e.Timestamp.UnixMilli()
		if j, ok := userAt[e.UserKey]; !ok {
			userAt[e.UserKey] = len(users)
			users = append(users, newUser{e.UserKey, ts})
		} else if ts < users[j].Seen {
			users[j].Seen = ts
		}
	}

	if err := db.prepare(ctx); err != nil {
		return res, err
	}
	// One batch at a time per store: the window must hold every committed
	// event before the next batch is checked against it. Batches from other
	// processes or replicas are read into it under the writer's lock below.
	dd := db.usage().dedup
	dd.mu.Lock()
	defer dd.mu.Unlock()
	if err := dd.load(ctx, db); err != nil {
		return res, err
	}
	hashes := make([]uint64, len(evs))
	for _, i := range fresh {
		hashes[i] = dd.hash(evs[i].SourceID, evs[i].MessageID)
	}
	seqs := make([]int64, len(evs))
	var ords map[string]uint32
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Sequence numbers must become visible in the order they are handed
		// out, or a replay from a watermark could pass over an event that a
		// slower transaction committed later with a lower number. SQLite's
		// one writer guarantees it; PostgreSQL takes a lock until commit.
		if err := db.lock(ctx, tx, "LockEventSeq"); err != nil {
			return err
		}
		if err := dd.catchUp(ctx, db, tx); err != nil {
			return err
		}
		if err := db.checkSources(ctx, tx, evs); err != nil {
			return err
		}
		var err error
		if ords, err = db.ensureUsers(ctx, tx, users); err != nil {
			return err
		}
		if fresh, err = dd.unseen(ctx, db, tx, evs, fresh, hashes); err != nil {
			return err
		}
		counted, err := db.insertEvents(ctx, tx, evs, fresh, seqs)
		if err != nil || counted {
			return err
		}
		counts := map[minuteKey]int{}
		for i, s := range seqs {
			if s != 0 {
				counts[minuteKey{evs[i].ReceivedAt.Truncate(time.Minute).UnixMilli(), evs[i].SourceID}]++
			}
		}
		return db.countMinutes(ctx, tx, counts, nil)
	})
	if err != nil {
		return store.AppendResult{}, err
	}
	db.usage().ordinals.put(ords)
	for i, s := range seqs {
		if s != 0 {
			evs[i].Seq = s
			res.Accepted = append(res.Accepted, i)
			dd.add(hashes[i], s)
		}
	}
	res.Duplicates = len(evs) - len(res.Accepted)
	res.Ordinals = ords
	return res, nil
}

// Message ids are deduplicated in memory, not by a unique index. Message
// ids are random (UUIDs), and a B-tree on a random key costs a page write
// per event: on SQLite, which logs every touched page whole, it cut
// ingestion to a third; on PostgreSQL it was half the cost of the insert.
// A duplicate that slips past the window is harmless to the usage metrics
// (distinct users per day, earliest uses), which are why events are kept.

// dedupGeneration is how many events one generation of the window holds.
// The window keeps the current generation and the one before, so a
// duplicate is caught when the first copy is among the newest 1–2 million
// events: the retry of a batch whose answer was lost comes within seconds
// or minutes, and Segment itself promises deduplication over about a day.
const dedupGeneration = 1 << 20

// dedup is a store's deduplication window. It maps a hash of (source,
// message id) to the seq of the event; a hit is confirmed against the
// stored event, so a hash collision never drops an event, and neither does
// an id whose event has been purged. Two generations of 8-byte hash to seq
// cost at most about 40 MB.
//
// The window stays exact when other processes (tend import beside tend
// serve on one SQLite file) or replicas (on PostgreSQL) append too: under
// the writer's lock, before checking a batch, it reads the events committed
// since the newest it knows (catchUp), which is nothing when it is alone.
type dedup struct {
	// mu serialises AppendEvents within the process; the writer's lock
	// (SQLite's one writer, PostgreSQL's LockEventSeq) serialises it across
	// processes.
	mu        sync.Mutex
	loaded    bool
	seed      maphash.Seed
	cur, prev map[uint64]int64
	// last is the newest seq the window knows.
	last int64
}

// usageState is what the usage methods keep per store beside the SQL:
// the deduplication window, statements of the hot path prepared once, and
// the write keys known to exist.
type usageState struct {
	dedup    *dedup
	ordinals ordinalCache

	// preparing is held while the hot statements are prepared, which may
	// wait for the writer's connection; mu is only ever held briefly, so a
	// transaction in progress can always read stmts.
	preparing sync.Mutex
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt // nil until prepared
	sources   map[int64]bool
}

// usageStates holds each store's usageState, keyed weakly so that a store
// that is closed and dropped takes its state with it (DB has no field for
// it: the state belongs to usage alone).
var usageStates sync.Map // weak.Pointer[DB] → *usageState

func (db *DB) usage() *usageState {
	k := weak.Make(db)
	if u, ok := usageStates.Load(k); ok {
		return u.(*usageState)
	}
	u := &usageState{sources: map[int64]bool{}, dedup: &dedup{seed: maphash.MakeSeed()}}
	got, loaded := usageStates.LoadOrStore(k, u)
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[DB]) { usageStates.Delete(k) }, k)
	}
	return got.(*usageState)
}

// hotQueries are the statements of the hot path, prepared once per store.
var hotQueries = []string{"InsertEvent", "EventKeysSince", "UsageUserOrdinals", "InsertUsageUsers", "CountMinute"}

// prepare makes sure the hot statements are prepared on the writer. It runs
// outside transactions: preparing takes the writer's connection, which a
// transaction of this goroutine would be holding (SQLite has one).
func (db *DB) prepare(ctx context.Context) error {
	u := db.usage()
	u.preparing.Lock()
	defer u.preparing.Unlock()
	u.mu.Lock()
	done := u.stmts != nil
	u.mu.Unlock()
	if done {
		return nil
	}
	stmts := map[string]*sql.Stmt{}
	for _, name := range hotQueries {
		q, ok := db.q[name]
		if !ok || q == "" { // a dialect may insert events in batches instead
			continue
		}
		s, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			for _, s := range stmts {
				s.Close()
			}
			return fmt.Errorf("preparing %s: %w", name, err)
		}
		stmts[name] = s
	}
	u.mu.Lock()
	u.stmts = stmts
	u.mu.Unlock()
	return nil
}

// stmt returns the named query for tx: the statement prepare made when
// there is one, which every transaction on the writer's connection reuses
// where SQLite would otherwise compile the query on each call.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, name string) (*sql.Stmt, error) {
	u := db.usage()
	u.mu.Lock()
	s, ok := u.stmts[name]
	u.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, s), nil
	}
	s, err := tx.PrepareContext(ctx, db.query(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func (d *dedup) hash(source int64, message string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(source))
	h.Write(b[:])
	h.WriteString(message)
	return h.Sum64()
}

// load fills the window from the newest stored events, once per process:
// a restart must still recognise the retry of a batch it committed just
// before.
func (d *dedup) load(ctx context.Context, db *DB) error {
	if d.loaded {
		return nil
	}
	d.cur, d.prev, d.last = map[uint64]int64{}, map[uint64]int64{}, 0
	err := db.stream(ctx, "RecentMessageIDs", []any{dedupGeneration}, func(rows *sql.Rows) error {
		var seq, src int64
		var msg string
		if err := rows.Scan(&seq, &src, &msg); err != nil {
			return err
		}
		if h := d.hash(src, msg); d.prev[h] == 0 { // newest first: keep the newest copy
			d.prev[h] = seq
		}
		d.last = max(d.last, seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("loading the deduplication window: %w", err)
	}
	d.loaded = true
	return nil
}

// catchUp adds the events committed since the newest the window knows: by
// other processes or replicas, as this process adds its own. It runs under
// the writer's lock, so nothing can commit between it and the batch.
func (d *dedup) catchUp(ctx context.Context, db *DB, tx *sql.Tx) error {
	stmt, err := db.stmt(ctx, tx, "EventKeysSince")
	if err != nil {
		return err
	}
	const chunk = 10_000
	for {
		n := 0
		rows, err := stmt.QueryContext(ctx, d.last, chunk)
		if err != nil {
			return fmt.Errorf("EventKeysSince: %w", err)
		}
		for rows.Next() {
			var seq, src int64
			var msg string
			if err := rows.Scan(&seq, &src, &msg); err != nil {
				rows.Close()
				return err
			}
			d.add(d.hash(src, msg), seq)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n < chunk {
			return nil
		}
	}
}

// unseen returns the events of fresh that the window does not hold.
func (d *dedup) unseen(ctx context.Context, db *DB, tx *sql.Tx, evs []store.Event, fresh []int, hashes []uint64) ([]int, error) {
	out := fresh[:0:0]
	for _, i := range fresh {
		seq, ok := d.cur[hashes[i]]
		if !ok {
			seq, ok = d.prev[hashes[i]]
		}
		if ok {
			var src int64
			var msg string
			err := tx.QueryRowContext(ctx, db.query("EventKey"), seq).Scan(&src, &msg)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			if err == nil && src == evs[i].SourceID && msg == evs[i].MessageID {
				continue
			}
		}
		out = append(out, i)
	}
	return out, nil
}

// add records a committed event, starting a new generation when the
// current one is full.
func (d *dedup) add(h uint64, seq int64) {
	if len(d.cur) >= dedupGeneration {
		d.prev, d.cur = d.cur, make(map[uint64]int64, dedupGeneration/4)
	}
	d.cur[h] = seq
	d.last = max(d.last, seq)
}

// checkSources refuses a batch naming a write key that does not exist,
// naming the first event that does: the events table has no foreign key
// to do it (0002_usage.sql says why). Write keys are revoked, never
// deleted, so a key found once is remembered.
func (db *DB) checkSources(ctx context.Context, tx *sql.Tx, evs []store.Event) error {
	u := db.usage()
	for i := range evs {
		src := evs[i].SourceID
		u.mu.Lock()
		known := u.sources[src]
		u.mu.Unlock()
		if known {
			continue
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.query("WriteKeyExists"), src).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "source_id", "write key %d not found", src))
		}
		u.mu.Lock()
		u.sources[src] = true
		u.mu.Unlock()
	}
	return nil
}

// insertEvents inserts evs[i] for i in fresh and sets seqs[i]. It reports
// whether the dialect's batch query has also counted them per minute.
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, evs []store.Event, fresh []int, seqs []int64) (counted bool, err error) {
	if len(fresh) == 0 {
		return false, nil
	}
	if q, ok := db.batchQuery("InsertEvents"); ok {
		n := len(fresh)
		var (
			src       = make([]int64, n)
			msg       = make([]string, n)
			typ       = make([]string, n)
			key       = make([]string, n)
			acc       = make([]*int64, n)
			name      = make([]string, n)
			ts, rcv   = make([]time.Time, n), make([]time.Time, n)
			body      = make([][]byte, n)
			positions = make(map[sourceMessage]int, n)
		)
		for j, i := range fresh {
			e := &evs[i]
			src[j], msg[j], typ[j], key[j], acc[j], name[j] = e.SourceID, e.MessageID, e.Type, e.UserKey, e.AccountID, e.Name
			ts[j], rcv[j], body[j] = msTime(e.Timestamp), msTime(e.ReceivedAt), nonNil(e.Body)
			positions[sourceMessage{e.SourceID, e.MessageID}] = i
		}
		rows, err := tx.QueryContext(ctx, q, src, msg, typ, key, acc, name, ts, rcv, body)
		if err != nil {
			return false, db.eventErr(err, -1)
		}
		defer rows.Close()
		for rows.Next() {
			var seq, s int64
			var m string
			if err := rows.Scan(&seq, &s, &m); err != nil {
				return false, err
			}
			seqs[positions[sourceMessage{s, m}]] = seq
		}
		if err := rows.Err(); err != nil {
			return false, db.eventErr(err, -1)
		}
		return true, nil
	}
	stmt, err := db.stmt(ctx, tx, "InsertEvent")
	if err != nil {
		return false, err
	}
	for _, i := range fresh {
		e := &evs[i]
		r, err := stmt.ExecContext(ctx, e.SourceID, e.MessageID, e.Type, e.UserKey, nullID(e.AccountID), e.Name,
			db.d.Time(msTime(e.Timestamp)), db.d.Time(msTime(e.ReceivedAt)), nonNil(e.Body))
		if err != nil {
			return false, db.eventErr(err, i)
		}
		if seqs[i], err = r.LastInsertId(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// eventErr maps a failed event insert: checkSources has named a missing
// source already, so a foreign-key error here means the key went away
// during the batch. i is the event's index, -1 for the whole batch.
func (db *DB) eventErr(err error, i int) error {
	if _, ok := db.d.ForeignKey(err); ok {
		fe := derrors.Field(derrors.Unprocessable, "source_id", "is not a write key")
		if i < 0 {
			return fe
		}
		return rowErr(i, fe)
	}
	return err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ensureUsers returns the ordinal of every user, giving the next ordinals
// to the new ones in the order given. Most batches only name known users,
// and those cost one read; a batch with new ones takes the dialect's
// ordinal lock (PostgreSQL: the counter's row, held to commit, so that two
// replicas never hand out the same number or skip one).
func (db *DB) ensureUsers(ctx context.Context, tx *sql.Tx, users []newUser) (map[string]uint32, error) {
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
func (db *DB) readOrdinals(ctx context.Context, tx *sql.Tx, query string, arg any, out map[string]uint32) error {
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

// countMinutes adds to the per-minute counters. The rows are written in key
// order, so that two transactions counting the same minutes cannot
// deadlock on PostgreSQL.
func (db *DB) countMinutes(ctx context.Context, tx *sql.Tx, accepted, rejected map[minuteKey]int) error {
	keys := make([]minuteKey, 0, len(accepted)+len(rejected))
	for k := range accepted {
		keys = append(keys, k)
	}
	for k := range rejected {
		if _, ok := accepted[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b minuteKey) int {
		return cmp.Or(cmp.Compare(a.minute, b.minute), cmp.Compare(a.source, b.source))
	})
	if len(keys) == 0 {
		return nil
	}
	stmt, err := db.stmt(ctx, tx, "CountMinute")
	if err != nil {
		return err
	}
	for _, k := range keys {
		_, err := stmt.ExecContext(ctx, db.d.Time(time.UnixMilli(k.minute).UTC()), k.source, accepted[k], rejected[k])
		if err != nil {
			return err
		}
	}
	return nil
}

func scanEvent(row interface{ Scan(...any) error }) (store.Event, error) {
	var e store.Event
	err := row.Scan(&e.Seq, &e.SourceID, &e.MessageID, &e.Type, &e.UserKey, idVal{&e.AccountID}, &e.Name,
		timeVal{&e.Timestamp}, timeVal{&e.ReceivedAt}, &e.Body)
	e.Body = nonNil(e.Body) // an empty blob reads back as nil on SQLite
	return e, err
}

func (db *DB) listEvents(ctx context.Context, query string, args ...any) ([]store.Event, error) {
	rows, err := db.r.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store.%s: %w", query, err)
	}
	defer rows.Close()
	out := []store.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store.%s: %w", query, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// limitOr is limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// EventsSince implements store.Usage; limit defaults to 1,000.
func (db *DB) EventsSince(ctx context.Context, afterSeq int64, limit int) ([]store.Event, error) {
	return db.listEvents(ctx, "EventsSince", afterSeq, limitOr(limit, 1000))
}

// RecentEvents implements store.Usage; limit defaults to 100.
func (db *DB) RecentEvents(ctx context.Context, sourceID int64, limit int) ([]store.Event, error) {
	if sourceID == 0 {
		return db.listEvents(ctx, "RecentEvents", limitOr(limit, 100))
	}
	return db.listEvents(ctx, "RecentEventsOfSource", sourceID, limitOr(limit, 100))
}

// purgeChunk is how many events one purge transaction deletes: small
// enough that SQLite's writer is free again within milliseconds.
const purgeChunk = 2000

// PurgeEvents implements store.Usage.
func (db *DB) PurgeEvents(ctx context.Context, receivedBefore time.Time) (total int64, err error) {
	defer derrors.Wrap(&err, "store.PurgeEvents(%s)", receivedBefore.Format(time.RFC3339))
	before := db.d.Time(msTime(receivedBefore))
	for {
		res, err := db.w.ExecContext(ctx, db.query("PurgeEvents"), before, purgeChunk)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < purgeChunk {
			break
		}
	}
	// A minute's counters go once the whole minute is before the cutoff.
	if _, err := db.w.ExecContext(ctx, db.query("PurgeMinutes"), db.d.Time(receivedBefore.UTC().Truncate(time.Minute))); err != nil {
		return total, err
	}
	_, err = db.w.ExecContext(ctx, db.query("PurgeRejections"), before)
	return total, err
}

// EventCountsPerMinute implements store.Usage.
func (db *DB) EventCountsPerMinute(ctx context.Context, since time.Time) ([]store.MinuteCount, error) {
	rows, err := db.r.QueryContext(ctx, db.query("EventCountsPerMinute"), db.d.Time(since.UTC().Truncate(time.Minute)))
	if err != nil {
		return nil, fmt.Errorf("store.EventCountsPerMinute: %w", err)
	}
	defer rows.Close()
	out := []store.MinuteCount{}
	for rows.Next() {
		var c store.MinuteCount
		if err := rows.Scan(timeVal{&c.Minute}, &c.SourceID, &c.Accepted, &c.Rejected); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

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

// stream runs a read and calls each for every row, stopping at the first
// error.
func (db *DB) stream(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	return nil
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

// SaveDays implements store.Usage. When a batch names the same account and
// day twice, the last blob wins.
func (db *DB) SaveDays(ctx context.Context, blobs []store.DayBlob, watermark int64) (err error) {
	defer derrors.Wrap(&err, "store.SaveDays(%d, %d)", len(blobs), watermark)
	if watermark < 0 {
		return derrors.Field(derrors.Unprocessable, "watermark", "must not be negative")
	}
	type dayKey struct {
		account int64
		day     int32
	}
	last := make(map[dayKey]int, len(blobs))
	for i, b := range blobs {
		if b.AccountID <= 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "account_id", "is required"))
		}
		last[dayKey{b.AccountID, b.Day}] = i
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if q, ok := db.batchQuery("UpsertDays"); ok && len(blobs) > 0 {
			acc, day, blob := make([]int64, 0, len(last)), make([]int32, 0, len(last)), make([][]byte, 0, len(last))
			for i, b := range blobs {
				if last[dayKey{b.AccountID, b.Day}] == i {
					acc, day, blob = append(acc, b.AccountID), append(day, b.Day), append(blob, nonNil(b.Blob))
				}
			}
			if _, err := tx.ExecContext(ctx, q, acc, day, blob); err != nil {
				return err
			}
		} else if len(blobs) > 0 {
			stmt, err := tx.PrepareContext(ctx, db.query("UpsertDay"))
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i, b := range blobs {
				if last[dayKey{b.AccountID, b.Day}] != i {
					continue
				}
				if _, err := stmt.ExecContext(ctx, b.AccountID, b.Day, nonNil(b.Blob)); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, db.query("SetUsageState"), "applied_seq", watermark)
		return err
	})
}

// LoadDays implements store.Usage.
func (db *DB) LoadDays(ctx context.Context, fn func(store.DayBlob) error) error {
	return db.stream(ctx, "LoadDays", nil, func(rows *sql.Rows) error {
		var b store.DayBlob
		if err := rows.Scan(&b.AccountID, &b.Day, &b.Blob); err != nil {
			return err
		}
		return fn(b)
	})
}

// LoadAccountDays implements store.Usage.
func (db *DB) LoadAccountDays(ctx context.Context, accountID int64) ([]store.DayBlob, error) {
	out := []store.DayBlob{}
	err := db.stream(ctx, "LoadAccountDays", []any{accountID}, func(rows *sql.Rows) error {
		var b store.DayBlob
		err := rows.Scan(&b.AccountID, &b.Day, &b.Blob)
		out = append(out, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Watermark implements store.Usage.
func (db *DB) Watermark(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, db.query("GetUsageState"), "applied_seq").Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store.Watermark: %w", err)
	}
	return n, nil
}

// SaveFeatureUses implements store.Usage.
func (db *DB) SaveFeatureUses(ctx context.Context, uses []store.FeatureUse) (err error) {
	defer derrors.Wrap(&err, "store.SaveFeatureUses(%d)", len(uses))
	type useKey struct {
		account int64
		ordinal uint32
		feature string
	}
	// The earliest use per key is settled here: one statement cannot
	// update a row twice on PostgreSQL.
	earliest := make(map[useKey]int, len(uses))
	for i, u := range uses {
		if u.AccountID <= 0 {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "account_id", "is required"))
		}
		if err := required("feature", u.Feature); err != nil {
			return rowErr(i, err)
		}
		if u.At.IsZero() {
			return rowErr(i, derrors.Field(derrors.Unprocessable, "at", "is required"))
		}
		k := useKey{u.AccountID, u.Ordinal, u.Feature}
		if j, ok := earliest[k]; !ok || u.At.Before(uses[j].At) {
			earliest[k] = i
		}
	}
	if len(uses) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if q, ok := db.batchQuery("UpsertFeatureUses"); ok {
			n := len(earliest)
			acc, ord, feat, at := make([]int64, 0, n), make([]int64, 0, n), make([]string, 0, n), make([]time.Time, 0, n)
			for i, u := range uses {
				if earliest[useKey{u.AccountID, u.Ordinal, u.Feature}] == i {
					acc, ord, feat, at = append(acc, u.AccountID), append(ord, int64(u.Ordinal)), append(feat, u.Feature), append(at, msTime(u.At))
				}
			}
			_, err := tx.ExecContext(ctx, q, acc, ord, feat, at)
			return err
		}
		stmt, err := tx.PrepareContext(ctx, db.query("UpsertFeatureUse"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, u := range uses {
			if earliest[useKey{u.AccountID, u.Ordinal, u.Feature}] != i {
				continue
			}
			if _, err := stmt.ExecContext(ctx, u.AccountID, int64(u.Ordinal), u.Feature, db.d.Time(msTime(u.At))); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanFeatureUse(row interface{ Scan(...any) error }) (store.FeatureUse, error) {
	var u store.FeatureUse
	var ord int64
	err := row.Scan(&u.AccountID, &ord, &u.Feature, timeVal{&u.At})
	u.Ordinal = uint32(ord)
	return u, err
}

// ListFeatureUses implements store.Usage.
func (db *DB) ListFeatureUses(ctx context.Context, accountID int64) ([]store.FeatureUse, error) {
	out := []store.FeatureUse{}
	err := db.stream(ctx, "ListFeatureUses", []any{accountID}, func(rows *sql.Rows) error {
		u, err := scanFeatureUse(rows)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadFeatureUses implements store.Usage.
func (db *DB) LoadFeatureUses(ctx context.Context, fn func(store.FeatureUse) error) error {
	return db.stream(ctx, "LoadFeatureUses", nil, func(rows *sql.Rows) error {
		u, err := scanFeatureUse(rows)
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// ListFeatureAdoption implements store.Usage.
func (db *DB) ListFeatureAdoption(ctx context.Context, accountID int64) ([]store.FeatureAdoption, error) {
	out := []store.FeatureAdoption{}
	err := db.stream(ctx, "FeatureAdoption", []any{accountID}, func(rows *sql.Rows) error {
		var a store.FeatureAdoption
		err := rows.Scan(&a.Feature, timeVal{&a.FirstAt}, &a.Users)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveFirstPings implements store.Usage.
func (db *DB) SaveFirstPings(ctx context.Context, pings map[int64]time.Time) (err error) {
	defer derrors.Wrap(&err, "store.SaveFirstPings(%d)", len(pings))
	ids := make([]int64, 0, len(pings))
	for id, at := range pings {
		if id <= 0 {
			return derrors.Field(derrors.Unprocessable, "account_id", "%d is not an account id", id)
		}
		if at.IsZero() {
			return derrors.Field(derrors.Unprocessable, fmt.Sprintf("[%d]", id), "has no time")
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids) // one lock order for concurrent savers
	return db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, db.query("UpsertFirstPing"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id, db.d.Time(msTime(pings[id]))); err != nil {
				return err
			}
		}
		return nil
	})
}

// FirstPing implements store.Usage.
func (db *DB) FirstPing(ctx context.Context, accountID int64) (time.Time, error) {
	var t time.Time
	err := db.r.QueryRowContext(ctx, db.query("FirstPing"), accountID).Scan(timeVal{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return t, derrors.New(derrors.NotFound, "account %d has not sent usage", accountID)
	}
	if err != nil {
		return t, fmt.Errorf("store.FirstPing(%d): %w", accountID, err)
	}
	return t, nil
}

// ListFirstPings implements store.Usage.
func (db *DB) ListFirstPings(ctx context.Context) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	err := db.stream(ctx, "ListFirstPings", nil, func(rows *sql.Rows) error {
		var id int64
		var t time.Time
		if err := rows.Scan(&id, timeVal{&t}); err != nil {
			return err
		}
		out[id] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
