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
// the peak of the engine's resident size (BenchmarkMemory).
type pendingUses struct {
	names []string          // by index
	index map[string]uint32 // name → index
	uses  []pendingUse
}

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
	i, ok := p.index[feature]
	if !ok {
		if p.index == nil {
			p.index = map[string]uint32{}
		}
		i = uint32(len(p.names))
		p.names = append(p.names, feature)
		p.index[feature] = i
	}
	p.uses = append(p.uses, pendingUse{account: account, ms: at.UnixMilli(), ordinal: ordinal, feature: i})
}

// len is how many uses wait.
func (p *pendingUses) len() int { return len(p.uses) }

// merge adds q's uses to p's (the store's upserts keep the earliest, so
// order and repeats do not matter).
func (p *pendingUses) merge(q pendingUses) {
	for _, u := range q.uses {
		p.add(u.account, u.ordinal, q.names[u.feature], time.UnixMilli(u.ms).UTC())
	}
}

// save writes the uses to the store chunk rows at a time, so the rows and
// the store's own work on them stay small whatever waited. The upserts
// keep the earliest use, so after an error saving all of them again is
// safe.
func (p *pendingUses) save(chunk int, write func([]store.FeatureUse) error) error {
	rows := make([]store.FeatureUse, 0, min(chunk, len(p.uses)))
	for start := 0; start < len(p.uses); start += chunk {
		rows = rows[:0]
		for _, u := range p.uses[start:min(start+chunk, len(p.uses))] {
			rows = append(rows, store.FeatureUse{AccountID: u.account, Ordinal: u.ordinal,
				Feature: p.names[u.feature], At: time.UnixMilli(u.ms).UTC()})
		}
		if err := write(rows); err != nil {
			return err
		}
	}
	return nil
}
