package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// AppendEvents is one at a time per store (the deduplication window must
// hold every committed event before the next batch is checked against
// it), so whatever it does before its round trip adds to every request's
// wait. Most of that concerns one request alone: checking its events,
// hashing their message ids, looking up its users' ordinals, writing its
// run's keys and packing its bodies. PrepareEvents does that part in the
// request's own goroutine, requests in parallel, and AppendEvents, given
// the prepared requests of its batch, is left with what concerns the
// batch: the window, the accounts, and the round trip (appendPrepared).

// prepared is a request's events made ready for appendPrepared.
type prepared struct {
	db *DB
	n  int
	// ok says the events can take appendPrepared: valid, of one source
	// and arrival time (one run), no message id twice, and every user's
	// ordinal known. Otherwise AppendEvents does it all itself.
	ok       bool
	source   int64
	received time.Time // to the millisecond
	hashes   []uint64
	ords     map[string]uint32
	accounts []int64 // attributed to, sorted, each once
	keys     []byte  // the run's keys, with the accounts as given
	bodies   []byte  // packed
}

// Len implements store.Prepared.
func (p *prepared) Len() int { return p.n }

// PrepareEvents implements store.Usage. It only ever makes AppendEvents
// faster: whatever it finds that the one round trip cannot take (an
// invalid event, a user without an ordinal yet), AppendEvents deals with
// as if nothing had been prepared.
func (db *DB) PrepareEvents(ctx context.Context, evs []store.Event) store.Prepared {
	p := &prepared{db: db, n: len(evs)}
	if db.d.Pipeline == nil || len(evs) == 0 || db.prepare(ctx) != nil {
		return p
	}
	u := db.usage()
	head := &evs[0]
	p.source, p.received = head.SourceID, msTime(head.ReceivedAt)
	p.hashes = make([]uint64, len(evs))
	p.ords = make(map[string]uint32, len(evs))
	seen := make(map[string]struct{}, len(evs))
	for i := range evs {
		e := &evs[i]
		if validateEvent(i, e) != nil || e.SourceID != p.source || !msTime(e.ReceivedAt).Equal(p.received) {
			return p
		}
		if _, dup := seen[e.MessageID]; dup {
			return p
		}
		seen[e.MessageID] = struct{}{}
		p.hashes[i] = u.dedup.hash(e.SourceID, e.MessageID)
		if _, ok := p.ords[e.UserKey]; !ok {
			n, ok := u.ordinals.get(e.UserKey)
			if !ok {
				return p
			}
			p.ords[e.UserKey] = n
		}
		if e.AccountID != nil {
			p.accounts = append(p.accounts, *e.AccountID)
		}
	}
	slices.Sort(p.accounts)
	p.accounts = slices.Compact(p.accounts)

	p.keys, p.bodies = encodeRun(len(evs), func(n int) *store.Event { return &evs[n] }, func(e *store.Event) int64 {
		if e.AccountID != nil {
			return *e.AccountID
		}
		return 0
	})
	p.ok = true
	return p
}

// preparedRuns returns preps as this store's prepared requests, if they
// cover evs and every one can take appendPrepared; else nil.
func (db *DB) preparedRuns(evs []store.Event, preps []store.Prepared) []*prepared {
	if len(preps) == 0 {
		return nil
	}
	out := make([]*prepared, len(preps))
	n := 0
	for i, sp := range preps {
		p, ok := sp.(*prepared)
		if !ok || p.db != db || !p.ok {
			return nil
		}
		out[i] = p
		n += p.n
	}
	if n != len(evs) {
		return nil
	}
	return out
}

// appendPrepared stores a batch of prepared requests in one round trip, as
// appendInOneTrip does, when nothing the batch needs is missing: every
// source and account known, no message id in the window or in two of its
// requests. It fills hashes and seqs. ok is false when it stored nothing:
// tried then says whether the round trip went out (and found that another
// writer stored meanwhile), so that AppendEvents takes the long way
// without trying the one trip again. The caller holds the window's lock.
func (db *DB) appendPrepared(ctx context.Context, runs []*prepared, hashes []uint64, seqs []int64) (ords map[string]uint32, ok, tried bool, err error) {
	lock, ok := db.lockStmt("LockEventSeq")
	q, batched := db.batchQuery("InsertBatches")
	if !ok || !batched {
		return nil, false, false, nil
	}
	u := db.usage()
	if !u.knowsSources(len(runs), func(i int) int64 { return runs[i].source }) {
		return nil, false, false, nil
	}
	dd, known := u.dedup, u.accounts.known
	var batch map[uint64]struct{} // the batch's hashes, when it has several requests
	if len(runs) > 1 {
		batch = make(map[uint64]struct{}, len(hashes))
	}
	i := 0
	for _, p := range runs {
		for _, h := range p.hashes {
			if _, held := dd.find(h); held {
				return nil, false, false, nil
			}
			if batch != nil {
				if _, dup := batch[h]; dup { // or two ids with one hash: the long way tells
					return nil, false, false, nil
				}
				batch[h] = struct{}{}
			}
			hashes[i] = h
			i++
		}
		for _, a := range p.accounts {
			if !known[a] {
				return nil, false, false, nil
			}
		}
	}

	rs := make([]run, len(runs))
	counts := make(map[minuteKey]int, len(runs))
	var accounts []int64
	ords = runs[0].ords
	if len(runs) > 1 {
		ords = make(map[string]uint32, len(hashes))
	}
	seq := int64(1)
	for j, p := range runs {
		rs[j] = run{first: seq, last: seq + int64(p.n) - 1, source: p.source, received: p.received, keys: p.keys, bodies: p.bodies}
		seq += int64(p.n)
		counts[minuteKey{p.received.Truncate(time.Minute).UnixMilli(), p.source}] += p.n
		accounts = append(accounts, p.accounts...)
		if len(runs) > 1 {
			for k, n := range p.ords {
				ords[k] = n
			}
		}
	}
	slices.Sort(accounts)
	var stored bool
	stmt := insertBatches(q, rs, counts, slices.Compact(accounts), dd.last, func(base int64) {
		for i := range seqs {
			seqs[i] = base + int64(i) + 1
		}
		stored = true
	})
	if err := db.pipelineTx(ctx, []Stmt{lock, stmt}); err != nil {
		clear(seqs)
		return nil, false, true, err
	}
	if !stored {
		clear(seqs)
		return nil, false, true, nil
	}
	return ords, true, true, nil
}
