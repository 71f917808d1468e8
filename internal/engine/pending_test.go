package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/store"
)

func TestPendingUses(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 123e6, time.UTC)
	var p pendingUses
	p.add(1, 7, "Search Performed", t0)
	p.add(1, 0, "Search Performed", t0)
	p.add(2, 3, "Report Exported", t0.Add(time.Hour))
	var q pendingUses
	q.add(3, 1, "Report Exported", t0.Add(2*time.Hour))
	q.add(3, 0, "Dashboard Viewed", t0.Add(3*time.Hour))
	p.merge(q)
	if p.len() != 5 || len(p.names) != 3 {
		t.Fatalf("%d uses of %d features, want 5 of 3", p.len(), len(p.names))
	}
	var chunks [][]store.FeatureUse
	err := p.save(2, func(rows []store.FeatureUse) error {
		chunks = append(chunks, append([]store.FeatureUse(nil), rows...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 || len(chunks[0]) != 2 || len(chunks[2]) != 1 {
		t.Fatalf("chunks %v, want 2+2+1 rows", chunks)
	}
	want := store.FeatureUse{AccountID: 3, Ordinal: 0, Feature: "Dashboard Viewed", At: t0.Add(3 * time.Hour)}
	if got := chunks[2][0]; got != want {
		t.Errorf("last row %+v, want %+v", got, want)
	}
	if got := chunks[0][0]; got.AccountID != 1 || got.Ordinal != 7 || !got.At.Equal(t0) {
		t.Errorf("first row %+v, want account 1, ordinal 7 at %v (milliseconds kept)", got, t0)
	}
	boom := errors.New("disk full")
	calls := 0
	if err := p.save(2, func([]store.FeatureUse) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
		t.Errorf("save after a failing write: err %v after %d calls, want %v after 1", err, calls, boom)
	}
	// Across blocks: every use once, in the order added.
	var big pendingUses
	n := 2*pendingBlock + 1
	for i := range n {
		big.add(int64(i), 1, "Search Performed", t0)
	}
	next := int64(0)
	err = big.save(3000, func(rows []store.FeatureUse) error {
		for _, r := range rows {
			if r.AccountID != next {
				return errors.New("out of order")
			}
			next++
		}
		return nil
	})
	if err != nil || next != int64(n) || big.len() != n {
		t.Errorf("saving %d uses across blocks: %d saved in order, len %d, err %v", n, next, big.len(), err)
	}
}
