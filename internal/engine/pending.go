package engine

import (
	"time"

	"github.com/tendhq/tend/internal/store"
)

// pendingUses are the feature uses that await the next flush, kept
// compactly: a use is 24 bytes here against a store.FeatureUse's 56, with
// the feature's name held once. Between two flushes that save them there
// can be millions — the first day of a large book, when every user's
// every feature is new — and as store rows, growing by doubling, they were
// the peak of the engine's resident size (BenchmarkMemory). They are held
// in blocks of a fixed size, so growing never copies them nor leaves the
// old, doubled arrays for the collector.
type pendingUses struct {
	names  []string          // by index
	index  map[string]uint32 // name → index
	blocks [][]pendingUse    // each of capacity pendingBlock, all full but the last
	n      int
}

// pendingBlock is how many uses a block holds (96 KiB).
const pendingBlock = 4096

// pendingUse is one first use: a user's (ordinal > 0) or the account's
// (ordinal 0), at Unix milliseconds, the precision the store keeps.
type pendingUse struct {
	account int64
	ms      int64
	ordinal uint32
	feature uint32
}

// add records a first use.
func (p *pendingUses) add(account int64, ordinal uint32, feature string, at time.Time) {
	p.addMilli(account, ordinal, feature, at.UnixMilli())
}

func (p *pendingUses) addMilli(account int64, ordinal uint32, feature string, ms int64) {
	i, ok := p.index[feature]
	if !ok {
		if p.index == nil {
			p.index = map[string]uint32{}
		}
		i = uint32(len(p.names))
		p.names = append(p.names, feature)
		p.index[feature] = i
	}
	if len(p.blocks) == 0 || len(p.blocks[len(p.blocks)-1]) == pendingBlock {
		p.blocks = append(p.blocks, make([]pendingUse, 0, pendingBlock))
	}
	last := &p.blocks[len(p.blocks)-1]
	*last = append(*last, pendingUse{account: account, ms: ms, ordinal: ordinal, feature: i})
	p.n++
}

// len is how many uses wait.
func (p *pendingUses) len() int { return p.n }

// each calls fn for every use in the order added.
func (p *pendingUses) each(fn func(pendingUse) error) error {
	for _, b := range p.blocks {
		for _, u := range b {
			if err := fn(u); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge adds q's uses to p's (the store's upserts keep the earliest, so
// order and repeats do not matter).
func (p *pendingUses) merge(q pendingUses) {
	_ = q.each(func(u pendingUse) error {
		p.addMilli(u.account, u.ordinal, q.names[u.feature], u.ms)
		return nil
	})
}

// save writes the uses to the store chunk rows at a time, so the rows and
// the store's own work on them stay small whatever waited. The upserts
// keep the earliest use, so after an error saving all of them again is
// safe.
func (p *pendingUses) save(chunk int, write func([]store.FeatureUse) error) error {
	rows := make([]store.FeatureUse, 0, min(chunk, p.n))
	err := p.each(func(u pendingUse) error {
		rows = append(rows, store.FeatureUse{AccountID: u.account, Ordinal: u.ordinal,
			Feature: p.names[u.feature], At: time.UnixMilli(u.ms).UTC()})
		if len(rows) < chunk {
			return nil
		}
		err := write(rows)
		rows = rows[:0]
		return err
	})
	if err != nil || len(rows) == 0 {
		return err
	}
	return write(rows)
}
