package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store"
)

// SharedDatabase checks deduplication between two stores open on one
// database: two processes on a SQLite file (tend import beside tend serve),
// two replicas on PostgreSQL. a and b must be new handles on the same
// empty, migrated database. Neither may store an event the other has
// stored, including after a restart (b opens its window after a wrote).
func SharedDatabase(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	src := store.WriteKey{Name: "web app", Prefix: "wk_web", Hash: []byte("shared-database")}
	if err := a.CreateWriteKey(ctx, &src); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC)
	ev := func(msg string) store.Event { return track(src.ID, msg, "user-"+msg, at) }
	send := func(st store.Store, name string, msgs ...string) []int {
		t.Helper()
		evs := make([]store.Event, len(msgs))
		for i, m := range msgs {
			evs[i] = ev(m)
		}
		res, err := st.AppendEvents(ctx, evs)
		if err != nil {
			t.Fatalf("%s: AppendEvents: %v", name, err)
		}
		return res.Accepted
	}
	if got := send(a, "a", "m1", "m2"); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("a accepted %v of m1 m2, want both", got)
	}
	if got := send(b, "b", "m2", "m3"); !slices.Equal(got, []int{1}) {
		t.Errorf("b accepted %v of m2 m3, want only m3 (a stored m2)", got)
	}
	if got := send(a, "a", "m3", "m4"); !slices.Equal(got, []int{1}) {
		t.Errorf("a accepted %v of m3 m4, want only m4 (b stored m3)", got)
	}
	if got := send(b, "b", "m4", "m1"); len(got) != 0 {
		t.Errorf("b accepted %v of m4 m1, want neither", got)
	}
	evs, err := b.EventsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(evs); !slices.Equal(got, []string{"m1", "m2", "m3", "m4"}) {
		t.Errorf("stored %v, want m1 m2 m3 m4 once each", got)
	}
	// A batch from a handle that knows its users, source and accounts goes
	// out in one round trip on PostgreSQL (appendInOneTrip), which must still
	// notice what the other handle stored since: here the copy of m5.
	known := func(msg string) store.Event { return track(src.ID, msg, "user-m1", at) }
	if res, err := b.AppendEvents(ctx, []store.Event{known("m5")}); err != nil || len(res.Accepted) != 1 {
		t.Fatalf("b: AppendEvents(m5): %v accepted, %v", res.Accepted, err)
	}
	if res, err := a.AppendEvents(ctx, []store.Event{known("m5"), known("m5b")}); err != nil || !slices.Equal(res.Accepted, []int{1}) {
		t.Errorf("a accepted %v of m5 m5b, want only m5b (b stored m5); err %v", res.Accepted, err)
	}
	evs, err = a.EventsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(evs); !slices.Equal(got, []string{"m1", "m2", "m3", "m4", "m5", "m5b"}) {
		t.Errorf("stored %v, want m1 to m5 and m5b once each", got)
	}
	// The same with prepared requests, as the usage engine sends them
	// (appendPrepared's round trip on PostgreSQL): a's must find the copy
	// of m8 that b stored, and take the long way.
	prepared := func(st store.Store, msgs ...string) []int {
		t.Helper()
		evs := make([]store.Event, len(msgs))
		for i, m := range msgs {
			evs[i] = known(m)
		}
		res, err := st.AppendEvents(ctx, evs, st.PrepareEvents(ctx, evs))
		if err != nil {
			t.Fatalf("AppendEvents(%v, prepared): %v", msgs, err)
		}
		return res.Accepted
	}
	if got := prepared(b, "m8"); len(got) != 1 {
		t.Fatalf("b accepted %v of m8 prepared, want it", got)
	}
	if got := prepared(a, "m8", "m8b"); !slices.Equal(got, []int{1}) {
		t.Errorf("a accepted %v of m8 m8b prepared, want only m8b (b stored m8)", got)
	}
	evs, err = b.EventsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(evs); !slices.Equal(got[len(got)-2:], []string{"m8", "m8b"}) || len(got) != 8 {
		t.Errorf("stored %v, want m1 to m5, m5b, m8 and m8b once each", got)
	}
	for _, st := range []store.Store{a, b} {
		ords, err := st.LinkUsers(ctx, []store.UserLink{{Key: "user-m3"}, {Key: "user-m5"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]uint32{"user-m3": 3, "user-m5": 5}; fmt.Sprint(ords) != fmt.Sprint(want) {
			t.Errorf("ordinals %v, want %v on both handles", ords, want)
		}
	}

	// An account one handle has seen events for, deleted by the other: the
	// first stores later events for it unattributed.
	acme := account.Account{Name: "Acme"}
	if err := a.CreateAccount(ctx, &acme, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	// The same user each time, so that the event after the deletion is one
	// a knows everything about: its round trip must see the tombstone.
	attributed := func(msg string) []store.Event {
		e := track(src.ID, msg, "user-m6", at)
		e.AccountID = &acme.ID
		return []store.Event{e}
	}
	for _, m := range []string{"m6", "m6b"} { // the second in one round trip
		if _, err := a.AppendEvents(ctx, attributed(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteAccount(ctx, acme.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendEvents(ctx, attributed("m7")); err != nil {
		t.Fatal(err)
	}
	evs, err = b.EventsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.AccountID != nil {
			t.Errorf("event %s attributed to deleted account %d", e.MessageID, *e.AccountID)
		}
	}

	// Purged by one, an id is new again for the other.
	if _, err := b.PurgeEvents(ctx, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := send(a, "a", "m1"); !slices.Equal(got, []int{0}) {
		t.Errorf("a accepted %v of a purged m1, want it", got)
	}

	// More rows from the other handle than one read of them takes (1,000
	// a read): the window learns them all before the next batch.
	many := make([]store.Event, 2001)
	for i := range many {
		many[i] = ev(fmt.Sprintf("r%d", i))
		many[i].ReceivedAt = many[i].ReceivedAt.Add(time.Duration(i) * time.Millisecond) // a row each
	}
	if res, err := b.AppendEvents(ctx, many); err != nil || len(res.Accepted) != len(many) {
		t.Fatalf("b: AppendEvents of %d rows: %d accepted, %v", len(many), len(res.Accepted), err)
	}
	if res, err := a.AppendEvents(ctx, many); err != nil || len(res.Accepted) != 0 {
		t.Errorf("a accepted %d of the %d events b stored, want none (err %v)", len(res.Accepted), len(many), err)
	}
}
