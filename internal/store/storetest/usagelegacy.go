package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// Legacy events are what a store held before raw events were stored a
// request at a time (migration 0005): one row per event. A dialect's test
// writes LegacyEvents into a database migrated to version 2 (seqs 1, 2 and
// 3, then deletes the event of seq 3 and the account "Gone"), migrates it
// to the end and calls CheckLegacyEvents.
var LegacyEvents = []store.Event{
	{Seq: 1, SourceID: 1, MessageID: "m-1", Type: "track", UserKey: "user \"q\" \\ é\t", Name: "Searched code",
		Timestamp: time.UnixMilli(1773482400123).UTC(), ReceivedAt: time.UnixMilli(1773482402000).UTC(),
		Body: []byte("{\"type\":\"track\"}\xff\x00")},
	{Seq: 2, SourceID: 1, MessageID: "m-2", Type: "page", UserKey: "anon:7f",
		Timestamp: time.UnixMilli(1773482401000).UTC(), ReceivedAt: time.UnixMilli(1773482402000).UTC(), Body: []byte{}},
	{Seq: 3, SourceID: 1, MessageID: "m-3", Type: "track", UserKey: "u3", Name: "x",
		Timestamp: time.UnixMilli(1773482401000).UTC(), ReceivedAt: time.UnixMilli(1773482403000).UTC(), Body: []byte("{}")},
}

// LegacyFreshBody is the body of the event CheckLegacyEvents appends
// after the migration (m-9, seq 4): JSON that packs (usage_bodies.go), so
// that a down migration after it must unpack it.
var LegacyFreshBody = []byte(`{"type":"track","event":"x","properties":{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}`)

// LegacyAccounts are the accounts of LegacyEvents: event 1 is attributed to
// Acme (id 1), event 2 to Gone (id 2), which is deleted.
const (
	LegacyAcme = 1
	LegacyGone = 2
)

// CheckLegacyEvents checks a store migrated from LegacyEvents: the events
// are all there, byte for byte, the deleted account's attribution masked;
// their message ids are still duplicates; and the next seq is after every
// seq handed out, the deleted newest one included.
func CheckLegacyEvents(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	got, err := st.EventsSince(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(LegacyEvents[:2])
	acme := int64(LegacyAcme)
	want[0].AccountID = &acme
	if len(got) != len(want) {
		t.Fatalf("migrated events %+v, want %+v", got, want)
	}
	for i, g := range got {
		w := want[i]
		if g.Seq != w.Seq || g.SourceID != w.SourceID || g.MessageID != w.MessageID || g.Type != w.Type ||
			g.UserKey != w.UserKey || idOr0(g.AccountID) != idOr0(w.AccountID) || g.Name != w.Name ||
			!g.Timestamp.Equal(w.Timestamp) || !g.ReceivedAt.Equal(w.ReceivedAt) || !bytes.Equal(g.Body, w.Body) || g.Body == nil {
			t.Errorf("migrated event %d = %+v\nwant %+v", i, g, w)
		}
	}
	recent, err := st.RecentEvents(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ids := messageIDs(recent); !slices.Equal(ids, []string{"m-2", "m-1"}) {
		t.Errorf("RecentEvents after migration = %v, want [m-2 m-1]", ids)
	}
	again := LegacyEvents[0]
	again.Seq = 0
	fresh := store.Event{SourceID: 1, MessageID: "m-9", Type: "track", UserKey: "u9", Timestamp: again.Timestamp, ReceivedAt: again.ReceivedAt,
		Body: LegacyFreshBody}
	evs := []store.Event{again, fresh}
	res, err := st.AppendEvents(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Accepted, []int{1}) || res.Duplicates != 1 {
		t.Errorf("appending m-1 and m-9 after migration: accepted %v, %d duplicates; want [1], 1", res.Accepted, res.Duplicates)
	}
	if evs[1].Seq != 4 {
		t.Errorf("the first seq after migration is %d, want 4 (3 was handed out, then deleted)", evs[1].Seq)
	}
}
