package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// AppendEvents implements store.Usage. The fresh events are stored as
// runs (usage_record.go): consecutive events with the same source and
// arrival time share one row, so that a request of 500 events costs one
// insert.
func (db *DB) AppendEvents(ctx context.Context, evs []store.Event, preps ...store.Prepared) (res store.AppendResult, err error) {
	defer derrors.Wrap(&err, "store.AppendEvents(%d events)", len(evs))
	res = store.AppendResult{Accepted: []int{}, Ordinals: map[string]uint32{}}
	if len(evs) == 0 {
		return res, nil
	}
	runs := db.preparedRuns(evs, preps)
	var fresh []int
	var users []newUser
	if runs == nil {
		if fresh, users, err = scanEvents(evs); err != nil {
			return res, err
		}
	}

	if err := db.prepare(ctx); err != nil {
		return res, err
	}
	// One batch at a time per store: the window must hold every committed
	// event before the next batch is checked against it. Batches from other
	// processes or replicas are read into it under the writer's lock
	// (appendUnderLock), when the insert of appendInOneTrip finds one.
	dd := db.usage().dedup
	dd.mu.Lock()
	defer dd.mu.Unlock()
	if err := dd.load(ctx, db); err != nil {
		return res, err
	}
	hashes := make([]uint64, len(evs))
	seqs := make([]int64, len(evs))
	var ords map[string]uint32
	ok, tried := false, false
	if runs != nil {
		if ords, ok, tried, err = db.appendPrepared(ctx, runs, hashes, seqs); err == nil && !ok {
			// The long way, with the events checked here.
			if fresh, users, err = scanEvents(evs); err != nil {
				return res, err
			}
		}
	}
	if !ok && err == nil {
		for _, i := range fresh {
			hashes[i] = dd.hash(evs[i].SourceID, evs[i].MessageID)
		}
		if !tried {
			ords, ok, err = db.appendInOneTrip(ctx, evs, fresh, users, hashes, seqs)
		}
		if err == nil && !ok {
			ords, err = db.appendUnderLock(ctx, evs, fresh, users, hashes, seqs)
		}
	}
	if err != nil {
		return store.AppendResult{}, db.eventErr(err)
	}
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

// scanEvents checks evs and returns the indexes of the first of each
// (source, message id) in the batch, and the users with the time each was
// first seen.
func scanEvents(evs []store.Event) (fresh []int, users []newUser, err error) {
	// Repeats inside the batch are settled here, so that the window only
	// sees each (source, message id) once.
	seen := make(map[sourceMessage]struct{}, len(evs))
	fresh = make([]int, 0, len(evs))
	userAt := make(map[string]int, len(evs))
	for i := range evs {
		e := &evs[i]
		if err := validateEvent(i, e); err != nil {
			return nil, nil, err
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
	return fresh, users, nil
}

// appendInOneTrip stores the fresh events in one round trip where the
// dialect pipelines and the store knows all it needs beforehand: every
// source, every user's ordinal and every account is known, and no event
// is in the deduplication window. BEGIN, the writer's lock, the insert and
// COMMIT then go out together, and the insert checks under the lock that
// nothing the writer knows changed meanwhile (InsertBatches). ok is false
// when the batch needs appendUnderLock: nothing was stored.
func (db *DB) appendInOneTrip(ctx context.Context, evs []store.Event, fresh []int, users []newUser, hashes []uint64, seqs []int64) (ords map[string]uint32, ok bool, err error) {
	lock, ok := db.lockStmt("LockEventSeq")
	if db.d.Pipeline == nil || !ok {
		return nil, false, nil
	}
	u := db.usage()
	if !u.knowsSources(len(evs), func(i int) int64 { return evs[i].SourceID }) {
		return nil, false, nil
	}
	ords = make(map[string]uint32, len(users))
	for _, usr := range users {
		n, ok := u.ordinals.get(usr.Key)
		if !ok {
			return nil, false, nil
		}
		ords[usr.Key] = n
	}
	dd, accounts := u.dedup, &u.accounts
	for _, i := range fresh {
		if _, held := dd.find(hashes[i]); held {
			return nil, false, nil
		}
		if id := evs[i].AccountID; id != nil && !accounts.known[*id] {
			return nil, false, nil
		}
	}
	var stored bool
	last, err := db.insertRuns(ctx, nil, evs, fresh, func(id int64) bool { return accounts.known[id] }, seqs, dd.last, &stored)
	if err != nil {
		return nil, false, err
	}
	if err := db.pipelineTx(ctx, append([]Stmt{lock}, last...)); err != nil {
		return nil, false, err
	}
	if !stored {
		clear(seqs)
		return nil, false, nil
	}
	return ords, true, nil
}

// appendUnderLock stores the fresh events in a transaction that first
// takes the writer's lock and reads, under it, what other writers stored
// and which accounts were deleted; then it adds the users it does not
// know, drops the events the window holds and inserts the rest.
func (db *DB) appendUnderLock(ctx context.Context, evs []store.Event, fresh []int, users []newUser, hashes []uint64, seqs []int64) (map[string]uint32, error) {
	dd := db.usage().dedup
	var ords map[string]uint32
	// Sequence numbers must become visible in the order they are handed
	// out, or a replay from a watermark could pass over an event that a
	// slower transaction committed later with a lower number. SQLite's one
	// writer guarantees it; PostgreSQL takes a lock until commit, and the
	// reads of what others committed are queued after it.
	var start []Stmt
	if lock, ok := db.lockStmt("LockEventSeq"); ok {
		start = append(start, lock)
	}
	catchUp, caughtUp := dd.catchUp(db)
	accounts := &db.usage().accounts
	start = append(start, catchUp, accounts.tombstonesSince(db))
	var stored bool
	err := db.writeTx(ctx, start, func(tx txConn) ([]Stmt, error) {
		if err := caughtUp(ctx, tx); err != nil {
			return nil, err
		}
		if err := db.checkSources(ctx, tx, evs); err != nil {
			return nil, err
		}
		var err error
		if ords, err = db.ensureUsers(ctx, tx, users); err != nil {
			return nil, err
		}
		if fresh, err = dd.unseen(ctx, db, tx, evs, fresh, hashes); err != nil {
			return nil, err
		}
		if len(fresh) == 0 {
			stored = true
			return nil, nil
		}
		live, err := accounts.live(ctx, db, tx, evs, fresh)
		if err != nil {
			return nil, err
		}
		return db.insertRuns(ctx, tx, evs, fresh, live, seqs, dd.last, &stored)
	})
	if err == nil && !stored {
		// Under the lock, after reading what it missed, the writer's view
		// is true.
		err = errors.New("InsertBatches stored nothing under the writer's lock")
	}
	if err != nil {
		clear(seqs)
		return nil, err
	}
	db.usage().ordinals.put(ords)
	return ords, nil
}

// knowsSources says every source(i), i < n, is a write key the store has
// found (checkSources).
func (u *usageState) knowsSources(n int, source func(int) int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range n {
		if !u.sources[source(i)] {
			return false
		}
	}
	return true
}

// checkSources refuses a batch naming a write key that does not exist,
// naming the first event that does: the events table has no foreign key
// to do it (0002_usage.sql says why). Write keys are revoked, never
// deleted, so a key found once is remembered.
func (db *DB) checkSources(ctx context.Context, tx txConn, evs []store.Event) error {
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

// insertRuns stores evs[i] for i in fresh, in order, as runs of the same
// source and arrival time, and sets seqs[i]. An attribution to an account
// that live does not know is stored as none. With the dialect's batch
// query (InsertBatches, which hands out the seqs itself) it returns the
// statement for writeTx to send with COMMIT; seqs are set when it runs,
// and only if no batch after seq after and no tombstone for an account
// it attributes to was stored meanwhile (it sets *stored then).
func (db *DB) insertRuns(ctx context.Context, tx txConn, evs []store.Event, fresh []int, live func(int64) bool, seqs []int64, after int64, stored *bool) ([]Stmt, error) {
	// The runs are numbered from 1 here; the seqs handed out are the
	// store's next, base+1 to base+len(fresh).
	var runs []run
	accounts := make([]int64, 0, len(fresh)) // attributed to, sorted and compacted below
	counts := map[minuteKey]int{}
	seq := int64(1)
	for j := 0; j < len(fresh); {
		head := &evs[fresh[j]]
		at := msTime(head.ReceivedAt)
		k := j
		for k < len(fresh) && evs[fresh[k]].SourceID == head.SourceID && msTime(evs[fresh[k]].ReceivedAt).Equal(at) {
			k++
		}
		r := run{first: seq, last: seq + int64(k-j) - 1, source: head.SourceID, received: at}
		r.keys, r.bodies = encodeRun(k-j, func(n int) *store.Event { return &evs[fresh[j+n]] }, func(e *store.Event) int64 {
			if e.AccountID != nil && live(*e.AccountID) {
				accounts = append(accounts, *e.AccountID)
				return *e.AccountID
			}
			return 0
		})
		for _, i := range fresh[j:k] {
			seqs[i] = seq
			seq++
		}
		counts[minuteKey{at.Truncate(time.Minute).UnixMilli(), head.SourceID}] += k - j
		runs = append(runs, r)
		j = k
	}
	handOut := func(base int64) {
		for _, i := range fresh {
			seqs[i] += base
		}
		*stored = true
	}

	if q, ok := db.batchQuery("InsertBatches"); ok {
		slices.Sort(accounts)
		return []Stmt{insertBatches(q, runs, counts, slices.Compact(accounts), after, handOut)}, nil
	}
	var last int64
	if err := db.stmtQueryRow(ctx, tx, "NextEventSeqs", int64(len(fresh))).Scan(&last); err != nil {
		return nil, fmt.Errorf("NextEventSeqs: %w", err)
	}
	base := last - int64(len(fresh))
	handOut(base)
	stmt, err := db.stmt(ctx, tx, "InsertBatch")
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if _, err := stmt.ExecContext(ctx, base+r.first, base+r.last, r.source, db.d.Time(r.received), r.keys, r.bodies); err != nil {
			return nil, err
		}
	}
	return nil, db.countMinutes(ctx, tx, counts, nil)
}

// run is a usage_batches row to insert: runs are numbered from 1 (first,
// last) until InsertBatches hands out their seqs.
type run struct {
	first, last, source int64
	received            time.Time
	keys, bodies        []byte // bodies packed (packBodies)
}

// insertBatches is the InsertBatches statement (query q) that stores runs,
// which hold the seqs 1 to the last run's last, counts them per minute and
// attributes events to accounts (sorted): only if no batch after seq after
// and no tombstone for those accounts was stored meanwhile. handOut gets
// the base of the seqs handed out when it does.
func insertBatches(q string, runs []run, counts map[minuteKey]int, accounts []int64, after int64, handOut func(base int64)) Stmt {
	n := len(runs)
	first, lastSeq, src, keys := make([]int64, n), make([]int64, n), make([]int64, n), make([][]byte, n)
	rcv, bodies := make([]time.Time, n), make([][]byte, n)
	for i, r := range runs {
		first[i], lastSeq[i], src[i], rcv[i], keys[i], bodies[i] = r.first, r.last, r.source, r.received, r.keys, r.bodies
	}
	mk := slices.SortedFunc(maps.Keys(counts), compareMinutes)
	minutes, msrc, mcount := make([]time.Time, len(mk)), make([]int64, len(mk)), make([]int64, len(mk))
	for i, k := range mk {
		minutes[i], msrc[i], mcount[i] = time.UnixMilli(k.minute).UTC(), k.source, int64(counts[k])
	}
	return Stmt{Name: "InsertBatches", SQL: q,
		Args: []any{runs[n-1].last, first, lastSeq, src, rcv, keys, bodies, minutes, msrc, mcount, after, accounts},
		Row: func(scan func(...any) error) error {
			var base int64
			if err := scan(&base); err != nil {
				return err
			}
			handOut(base)
			return nil
		}}
}

func compareMinutes(a, b minuteKey) int {
	return cmp.Or(cmp.Compare(a.minute, b.minute), cmp.Compare(a.source, b.source))
}

// stmtQueryRow runs a hot query that returns one row.
func (db *DB) stmtQueryRow(ctx context.Context, tx txConn, name string, args ...any) *sql.Row {
	stmt, err := db.stmt(ctx, tx, name)
	if err != nil {
		return tx.QueryRowContext(ctx, db.query(name), args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// accountCheck knows which account ids exist, so that an event attributed
// to an account deleted meanwhile is stored unattributed, without a lookup
// per event. An id found once stays known until a tombstone names it:
// deleting an account always leaves one (the usage_account_deleted
// trigger), in the deleting transaction, and the check runs under the
// writer's lock (SQLite's one writer; on PostgreSQL the trigger takes
// LockEventSeq), so a deletion is seen by the first batch after it.
type accountCheck struct {
	known  map[int64]bool
	loaded bool
	// mark is the newest tombstone seen (its last_seq); tombstones from
	// mark on are read again, since several can share one.
	mark int64
}

// tombstonesSince is the read that forgets the accounts deleted since the
// last one: writeTx queues it under the writer's lock.
func (c *accountCheck) tombstonesSince(db *DB) Stmt {
	return db.namedStmt("TombstonesSince", func(scan func(...any) error) error {
		var id, last int64
		if err := scan(&id, &last); err != nil {
			return err
		}
		delete(c.known, id)
		c.mark = max(c.mark, last)
		return nil
	}, c.mark)
}

// live returns which of the fresh events' accounts exist, once
// tombstonesSince has run. The caller holds the dedup lock (AppendEvents
// is one at a time per store) inside the writer's transaction.
func (c *accountCheck) live(ctx context.Context, db *DB, tx txConn, evs []store.Event, fresh []int) (func(int64) bool, error) {
	if c.known == nil {
		c.known = map[int64]bool{}
	}
	var ask []int64
	for _, i := range fresh {
		if id := evs[i].AccountID; id != nil && !c.known[*id] && !slices.Contains(ask, *id) {
			ask = append(ask, *id)
		}
	}
	if len(ask) > 0 {
		js, _ := json.Marshal(ask)
		rows, err := tx.QueryContext(ctx, db.query("AccountsExist"), string(js))
		if err != nil {
			return nil, fmt.Errorf("AccountsExist: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			c.known[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return func(id int64) bool { return c.known[id] }, nil
}

// tombstones reads every account tombstone; there are as many as accounts
// deleted while their events are kept.
func (db *DB) tombstones(ctx context.Context) (tombstones, error) {
	t := tombstones{}
	err := db.stream(ctx, "TombstonesSince", []any{int64(-1)}, func(rows *sql.Rows) error {
		var id, last int64
		if err := rows.Scan(&id, &last); err != nil {
			return err
		}
		t[id] = append(t[id], last)
		return nil
	})
	return t, err
}

// readRows streams usage_batches rows from a query selecting first_seq,
// last_seq, source_id, received_at, keys and bodies, until each returns
// false.
func (db *DB) readRows(ctx context.Context, query string, args []any, each func(*batchRow) (bool, error)) error {
	rows, err := db.r.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r batchRow
		if err := rows.Scan(&r.firstSeq, &r.lastSeq, &r.sourceID, timeVal{&r.receivedAt}, &r.keys, &r.bodies); err != nil {
			return fmt.Errorf("store.%s: %w", query, err)
		}
		more, err := each(&r)
		if err != nil || !more {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store.%s: %w", query, err)
	}
	return nil
}

// EventsSince implements store.Usage; limit defaults to 1,000.
func (db *DB) EventsSince(ctx context.Context, afterSeq int64, limit int) (out []store.Event, err error) {
	defer derrors.Wrap(&err, "store.EventsSince(%d)", afterSeq)
	limit = limitOr(limit, 1000)
	tombs, err := db.tombstones(ctx)
	if err != nil {
		return nil, err
	}
	out = []store.Event{}
	// Every row holds an event after afterSeq but perhaps the first (the
	// one holding afterSeq), so limit+1 rows always suffice.
	err = db.readRows(ctx, "BatchesFrom", []any{afterSeq, limit + 1}, func(r *batchRow) (bool, error) {
		evs, err := r.events(afterSeq, tombs)
		out = append(out, evs...)
		return len(out) < limit, err
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// RecentEvents implements store.Usage; limit defaults to 100.
func (db *DB) RecentEvents(ctx context.Context, sourceID int64, limit int) (out []store.Event, err error) {
	defer derrors.Wrap(&err, "store.RecentEvents(%d)", sourceID)
	limit = limitOr(limit, 100)
	tombs, err := db.tombstones(ctx)
	if err != nil {
		return nil, err
	}
	query, args := "RecentBatches", []any{limit}
	if sourceID != 0 {
		query, args = "RecentBatchesOfSource", []any{sourceID, limit}
	}
	out = []store.Event{}
	err = db.readRows(ctx, query, args, func(r *batchRow) (bool, error) {
		evs, err := r.events(0, tombs)
		for i := len(evs) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, evs[i])
		}
		return len(out) < limit, err
	})
	return out, err
}

// purgeChunk is how many rows one purge transaction deletes: small enough
// that SQLite's writer is free again within milliseconds.
const purgeChunk = 16

// PurgeEvents implements store.Usage.
func (db *DB) PurgeEvents(ctx context.Context, receivedBefore time.Time) (total int64, err error) {
	defer derrors.Wrap(&err, "store.PurgeEvents(%s)", receivedBefore.Format(time.RFC3339))
	before := db.d.Time(msTime(receivedBefore))
	for {
		rows, err := db.w.QueryContext(ctx, db.query("PurgeBatches"), before, purgeChunk)
		if err != nil {
			return total, err
		}
		n := 0
		for rows.Next() {
			var events int64
			if err := rows.Scan(&events); err != nil {
				rows.Close()
				return total, err
			}
			total += events
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, err
		}
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

// eventErr maps a failed append: checkSources has named a missing source
// already, so a foreign-key error from the insert means the key went away
// during the batch.
func (db *DB) eventErr(err error) error {
	if _, ok := db.d.ForeignKey(err); ok {
		return derrors.Field(derrors.Unprocessable, "source_id", "is not a write key")
	}
	return err
}

// countMinutes adds to the per-minute counters. The rows are written in key
// order, so that two transactions counting the same minutes cannot
// deadlock on PostgreSQL.
func (db *DB) countMinutes(ctx context.Context, tx txConn, accepted, rejected map[minuteKey]int) error {
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
