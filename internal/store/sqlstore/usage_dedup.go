package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/tendhq/tend/internal/store"
)

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
	n := 0
	err := db.streamKeys(ctx, db.r, "RecentBatchKeys", []any{dedupGeneration}, func(r keyRow) (bool, error) {
		d.last = max(d.last, r.lastSeq)
		seq := r.firstSeq
		err := parseKeys(r.keys, func(k eventKey) error {
			if h := d.hash(r.sourceID, k.messageID); d.prev[h] < seq { // keep the newest copy
				d.prev[h] = seq
			}
			seq++
			n++
			return nil
		})
		return n < dedupGeneration, err
	})
	if err != nil {
		return fmt.Errorf("loading the deduplication window: %w", err)
	}
	d.loaded = true
	return nil
}

// keyRow is a usage_batches row without its bodies.
type keyRow struct {
	firstSeq, lastSeq, sourceID int64
	keys                        []byte
}

// streamKeys runs a query selecting first_seq, last_seq, source_id and keys
// on q (the readers, or the writer's transaction) and calls each for every
// row until it returns false.
func (db *DB) streamKeys(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, each func(keyRow) (bool, error)) error {
	rows, err := q.QueryContext(ctx, db.query(query), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r keyRow
		if err := rows.Scan(&r.firstSeq, &r.lastSeq, &r.sourceID, &r.keys); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		more, err := each(r)
		if err != nil {
			return fmt.Errorf("%s: usage_batches row %d: %w", query, r.firstSeq, err)
		}
		if !more {
			return nil
		}
	}
	return rows.Err()
}

// catchUpChunk is how many rows one read of catchUp takes.
const catchUpChunk = 1000

// catchUp returns the read that adds to the window the events committed
// since the newest it knows (by other processes or replicas, as this
// process adds its own), and rest, which reads on q what a read that
// filled its chunk left. It runs under the writer's lock, so nothing can
// commit between it and the batch; rows commit whole, so none holds both
// d.last and a later seq.
func (d *dedup) catchUp(db *DB) (read Stmt, rest func(context.Context, txConn) error) {
	n := 0
	next := func() Stmt {
		n = 0
		return db.namedStmt("BatchKeysSince", func(scan func(...any) error) error {
			var r keyRow
			if err := scan(&r.firstSeq, &r.lastSeq, &r.sourceID, &r.keys); err != nil {
				return err
			}
			n++
			seq := r.firstSeq
			err := parseKeys(r.keys, func(k eventKey) error {
				d.add(d.hash(r.sourceID, k.messageID), seq)
				seq++
				return nil
			})
			if err != nil {
				return fmt.Errorf("usage_batches row %d: %w", r.firstSeq, err)
			}
			return nil
		}, d.last, catchUpChunk)
	}
	return next(), func(ctx context.Context, q txConn) error {
		for n == catchUpChunk {
			if err := runStmts(ctx, q, []Stmt{next()}); err != nil {
				return err
			}
		}
		return nil
	}
}

// unseen returns the events of fresh that the window does not hold. A hit
// is confirmed against the stored event; the rows read are kept for the
// call, since a resent request hits one row again and again.
func (d *dedup) unseen(ctx context.Context, db *DB, tx txConn, evs []store.Event, fresh []int, hashes []uint64) ([]int, error) {
	out := fresh[:0:0]
	var rows []keyRow
	var ids [][]string // message ids of rows[i]
	stored := func(seq int64) (int64, string, error) {
		for i, r := range rows {
			if seq >= r.firstSeq && seq <= r.lastSeq {
				return r.sourceID, ids[i][seq-r.firstSeq], nil
			}
		}
		var r keyRow
		err := tx.QueryRowContext(ctx, db.query("BatchKeysAt"), seq).Scan(&r.firstSeq, &r.lastSeq, &r.sourceID, &r.keys)
		if errors.Is(err, sql.ErrNoRows) || err == nil && seq > r.lastSeq {
			return 0, "", nil // purged
		}
		if err != nil {
			return 0, "", fmt.Errorf("BatchKeysAt: %w", err)
		}
		var msgs []string
		if err := parseKeys(r.keys, func(k eventKey) error { msgs = append(msgs, k.messageID); return nil }); err != nil {
			return 0, "", fmt.Errorf("usage_batches row %d: %w", r.firstSeq, err)
		}
		if int64(len(msgs)) != r.lastSeq-r.firstSeq+1 {
			return 0, "", fmt.Errorf("usage_batches row %d: %w", r.firstSeq, errBadKeys)
		}
		rows, ids = append(rows, r), append(ids, msgs)
		return r.sourceID, msgs[seq-r.firstSeq], nil
	}
	for _, i := range fresh {
		if seq, ok := d.find(hashes[i]); ok {
			src, msg, err := stored(seq)
			if err != nil {
				return nil, err
			}
			if src == evs[i].SourceID && msg == evs[i].MessageID {
				continue
			}
		}
		out = append(out, i)
	}
	return out, nil
}

// find returns the seq of the window's event with hash h, if it holds
// one: a possible duplicate, for unseen to confirm.
func (d *dedup) find(h uint64) (int64, bool) {
	if seq, ok := d.cur[h]; ok {
		return seq, true
	}
	seq, ok := d.prev[h]
	return seq, ok
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
