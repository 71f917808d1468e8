package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

var usageTests = []test{
	{"AppendAndReplay", testAppendAndReplay},
	{"DedupPerSource", testDedupPerSource},
	{"OrdinalsDenseAndStable", testOrdinals},
	{"AppendErrors", testAppendErrors},
	{"PreparedAppends", testPreparedAppends},
	{"Attribution", testEventAttribution},
	{"EventsSinceOrderAndLimit", testEventsSince},
	{"RecentEvents", testRecentEvents},
	{"Purge", testPurgeEvents},
	{"LargeBatchesAndChunkedPurge", testLargeBatches},
	{"ConcurrentAppends", testConcurrentAppends},
	{"CountsPerMinute", testCountsPerMinute},
	{"Rejections", testRejections},
	{"RejectionsTrimmed", testRejectionsTrimmed},
	{"LinkUsers", testLinkUsers},
	{"StreamsStopOnError", testStreamsStop},
	{"DaysAndWatermark", testDays},
	{"FeaturesKeepEarliest", testFeatures},
	{"FirstPings", testFirstPings},
	{"AccountDeleteCascades", testUsageCascade},
	{"ContactDeleteUnlinks", testContactDeleteUnlinks},
}

// track is a track call by user at the instant, received two seconds later.
func track(src int64, msg, user string, at time.Time) store.Event {
	return store.Event{SourceID: src, MessageID: msg, Type: "track", UserKey: user, Name: "Searched code",
		Timestamp: at, ReceivedAt: at.Add(2 * time.Second),
		Body: fmt.Appendf(nil, `{"type":"track","messageId":%q,"userId":%q,"event":"Searched code"}`, msg, user)}
}

// appendEvents appends and fails the test on an error.
func (e *env) appendEvents(evs ...store.Event) store.AppendResult {
	e.t.Helper()
	res, err := e.st.AppendEvents(e.ctx, evs)
	e.ok(err, "AppendEvents")
	return res
}

// allEvents replays every stored event.
func (e *env) allEvents() []store.Event {
	e.t.Helper()
	evs, err := e.st.EventsSince(e.ctx, 0, 100_000)
	e.ok(err, "EventsSince")
	return evs
}

// usageUsers reads every usage user.
func (e *env) usageUsers() []store.UsageUser {
	e.t.Helper()
	var out []store.UsageUser
	e.ok(e.st.ListUsageUsers(e.ctx, func(u store.UsageUser) error {
		out = append(out, u)
		return nil
	}), "ListUsageUsers")
	return out
}

func (e *env) usageUser(key string) store.UsageUser {
	e.t.Helper()
	for _, u := range e.usageUsers() {
		if u.Key == key {
			return u
		}
	}
	e.t.Fatalf("no usage user %q", key)
	return store.UsageUser{}
}

func seqs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func messageIDs(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.MessageID
	}
	return out
}

func idOr0(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func testAppendAndReplay(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	acme := e.account(account.Account{Name: "Acme"})
	at := time.Date(2026, time.March, 14, 9, 0, 0, 987_654_321, time.FixedZone("CET", 3600))

	res, err := e.st.AppendEvents(e.ctx, nil)
	e.ok(err, "AppendEvents(nil)")
	if res.Accepted == nil || len(res.Accepted) != 0 || res.Duplicates != 0 || res.Ordinals == nil || len(res.Ordinals) != 0 {
		t.Errorf("AppendEvents(nil) = %+v, want empty, non-nil results", res)
	}

	first := track(src.ID, "m-1", "user-1", at)
	first.AccountID = &acme.ID
	// The body is kept byte for byte, whatever it holds.
	first.Body = []byte("{ \"type\": \"track\",\n  \"properties\": {\"q\": \"r\\u00e9sum\\u00e9\"} }\xff\x00")
	identify := store.Event{SourceID: src.ID, MessageID: "m-2", Type: "identify", UserKey: "user-2",
		Timestamp: at.Add(time.Second), ReceivedAt: at.Add(3 * time.Second), Body: []byte(`{"type":"identify"}`)}
	page := store.Event{SourceID: src.ID, MessageID: "m-3", Type: "page", UserKey: "anon:7f3c", Name: "Pricing",
		Timestamp: at.Add(2 * time.Second), ReceivedAt: at.Add(3 * time.Second)}
	evs := []store.Event{first, identify, page}
	res = e.appendEvents(evs...)
	if !slices.Equal(res.Accepted, []int{0, 1, 2}) || res.Duplicates != 0 {
		t.Errorf("AppendEvents = accepted %v, %d duplicates; want [0 1 2], 0", res.Accepted, res.Duplicates)
	}
	sameJSON(t, "Ordinals", res.Ordinals, map[string]uint32{"user-1": 1, "user-2": 2, "anon:7f3c": 3})
	if evs[0].Seq <= 0 || evs[1].Seq <= evs[0].Seq || evs[2].Seq <= evs[1].Seq {
		t.Fatalf("Seq = %v, want increasing in batch order", seqs(evs))
	}

	got := e.allEvents()
	if !slices.Equal(seqs(got), seqs(evs)) {
		t.Fatalf("EventsSince(0) = seqs %v, want %v", seqs(got), seqs(evs))
	}
	g := got[0]
	if g.SourceID != src.ID || g.MessageID != "m-1" || g.Type != "track" || g.UserKey != "user-1" ||
		idOr0(g.AccountID) != acme.ID || g.Name != "Searched code" || !bytes.Equal(g.Body, first.Body) {
		t.Errorf("replayed event = %+v\nwant %+v", g, first)
	}
	e.sameInstant("Timestamp", g.Timestamp, at.Truncate(time.Millisecond))
	e.sameInstant("ReceivedAt", g.ReceivedAt, at.Add(2*time.Second).Truncate(time.Millisecond))
	if got[1].AccountID != nil || got[1].Name != "" || got[1].Type != "identify" {
		t.Errorf("identify replayed as %+v", got[1])
	}
	if got[2].Body == nil || len(got[2].Body) != 0 || got[2].Name != "Pricing" || got[2].UserKey != "anon:7f3c" {
		t.Errorf("page with no body replayed as %+v, want an empty body", got[2])
	}
}

func testDedupPerSource(e *env) {
	t := e.t
	web := e.writeKey("web app", "wk_web", nil)
	backend := e.writeKey("backend", "wk_backend", nil)
	at := start.Add(-time.Hour)
	batch := func() []store.Event {
		return []store.Event{
			track(web.ID, "m-1", "user-1", at),
			track(backend.ID, "m-1", "user-1", at), // the same id from another source is another event
			track(web.ID, "m-2", "user-2", at),
			track(web.ID, "m-1", "user-3", at.Add(time.Second)), // a repeat inside the batch
		}
	}
	evs := batch()
	res := e.appendEvents(evs...)
	if !slices.Equal(res.Accepted, []int{0, 1, 2}) || res.Duplicates != 1 {
		t.Errorf("first send: accepted %v, %d duplicates; want [0 1 2], 1", res.Accepted, res.Duplicates)
	}
	if evs[3].Seq != 0 {
		t.Errorf("the repeat got Seq %d, want none", evs[3].Seq)
	}
	want := map[string]uint32{"user-1": 1, "user-2": 2, "user-3": 3}
	sameJSON(t, "Ordinals", res.Ordinals, want)

	// A client that lost the answer sends the batch again: nothing new.
	again := batch()
	res = e.appendEvents(again...)
	if len(res.Accepted) != 0 || res.Accepted == nil || res.Duplicates != 4 {
		t.Errorf("resend: accepted %v, %d duplicates; want [], 4", res.Accepted, res.Duplicates)
	}
	if !slices.Equal(seqs(again), []int64{0, 0, 0, 0}) {
		t.Errorf("resent events got Seq %v, want none", seqs(again))
	}
	sameJSON(t, "Ordinals on resend", res.Ordinals, want)
	got := e.allEvents()
	if !slices.Equal(seqs(got), seqs(evs[:3])) {
		t.Errorf("stored seqs %v, want %v", seqs(got), seqs(evs[:3]))
	}
	if got[0].SourceID != web.ID || got[1].SourceID != backend.ID || got[0].UserKey != "user-1" {
		t.Errorf("stored %+v", got[:2])
	}
}

func testOrdinals(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	at := start.Add(-time.Hour)
	res := e.appendEvents(
		track(src.ID, "a1", "u1", at),
		track(src.ID, "a2", "u2", at),
		track(src.ID, "a3", "u1", at.Add(-30*time.Minute)), // u1's first sighting is this one
		track(src.ID, "a4", "u3", at),
	)
	sameJSON(t, "first batch", res.Ordinals, map[string]uint32{"u1": 1, "u2": 2, "u3": 3})
	res = e.appendEvents(track(src.ID, "b1", "u4", at), track(src.ID, "b2", "u2", at), track(src.ID, "b3", "u5", at))
	sameJSON(t, "second batch", res.Ordinals, map[string]uint32{"u2": 2, "u4": 4, "u5": 5})

	// A refused batch hands out nothing.
	_, err := e.st.AppendEvents(e.ctx, []store.Event{track(src.ID, "c1", "u-refused", at), track(src.ID+100, "c2", "u-refused-2", at)})
	wantErr(t, err, derrors.Unprocessable, "[1].source_id")
	links, err := e.st.LinkUsers(e.ctx, []store.UserLink{{Key: "u6"}, {Key: "u3"}})
	e.ok(err, "LinkUsers")
	sameJSON(t, "LinkUsers", links, map[string]uint32{"u3": 3, "u6": 6})
	res = e.appendEvents(track(src.ID, "d1", "u7", at))
	sameJSON(t, "after a refused batch", res.Ordinals, map[string]uint32{"u7": 7})

	us := e.usageUsers()
	var keys []string
	for i, u := range us {
		if u.Ordinal != uint32(i+1) {
			t.Errorf("user %d has ordinal %d, want %d (dense, in order)", i, u.Ordinal, i+1)
		}
		keys = append(keys, u.Key)
	}
	if want := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}; !slices.Equal(keys, want) {
		t.Errorf("users %v, want %v", keys, want)
	}
	e.sameInstant("u1 FirstSeen", us[0].FirstSeen, at.Add(-30*time.Minute).Truncate(time.Millisecond))
	e.sameInstant("u6 FirstSeen (linked)", us[5].FirstSeen, e.now())
}

func testAppendErrors(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	at := start
	good := track(src.ID, "ok-1", "user-1", at)
	for _, tc := range []struct {
		field string
		edit  func(*store.Event)
	}{
		{"[1].source_id", func(ev *store.Event) { ev.SourceID = 0 }},
		{"[1].source_id", func(ev *store.Event) { ev.SourceID = src.ID + 100 }},
		{"[1].message_id", func(ev *store.Event) { ev.MessageID = "" }},
		{"[1].message_id", func(ev *store.Event) { ev.MessageID = "bad\xffutf8" }},
		{"[1].type", func(ev *store.Event) { ev.Type = "" }},
		{"[1].user_key", func(ev *store.Event) { ev.UserKey = "" }},
		{"[1].user_key", func(ev *store.Event) { ev.UserKey = "nul\x00inside" }},
		{"[1].name", func(ev *store.Event) { ev.Name = "nul\x00" }},
		{"[1].timestamp", func(ev *store.Event) { ev.Timestamp = time.Time{} }},
		{"[1].received_at", func(ev *store.Event) { ev.ReceivedAt = time.Time{} }},
	} {
		bad := track(src.ID, "bad-1", "user-2", at)
		tc.edit(&bad)
		_, err := e.st.AppendEvents(e.ctx, []store.Event{good, bad})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	if got := e.allEvents(); len(got) != 0 {
		t.Errorf("%d events stored from refused batches, want none", len(got))
	}
	if us := e.usageUsers(); len(us) != 0 {
		t.Errorf("refused batches created users %+v", us)
	}
	counts, err := e.st.EventCountsPerMinute(e.ctx, at.Add(-time.Hour))
	e.ok(err, "EventCountsPerMinute")
	if len(counts) != 0 {
		t.Errorf("refused batches counted: %+v", counts)
	}
}

func testEventAttribution(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	acme := e.account(account.Account{Name: "Acme"})
	gone := e.account(account.Account{Name: "Gone"})
	e.ok(e.st.DeleteAccount(e.ctx, gone.ID), "DeleteAccount")
	a := track(src.ID, "m-1", "user-1", start)
	a.AccountID = &acme.ID
	b := track(src.ID, "m-2", "user-2", start)
	// Deleted between attribution and commit: the event is kept, unattributed.
	b.AccountID = &gone.ID
	res := e.appendEvents(a, b)
	if !slices.Equal(res.Accepted, []int{0, 1}) {
		t.Errorf("accepted %v, want both", res.Accepted)
	}
	got := e.allEvents()
	if len(got) != 2 || idOr0(got[0].AccountID) != acme.ID || got[1].AccountID != nil {
		t.Errorf("attribution stored as %v, %v; want %d, none", idOr0(got[0].AccountID), idOr0(got[1].AccountID), acme.ID)
	}

	// An account the store has seen events for, deleted, then named again
	// by an event attributed before the deletion: stored unattributed.
	later := track(src.ID, "m-3", "user-1", start.Add(time.Minute))
	later.AccountID = &acme.ID
	e.ok(e.st.DeleteAccount(e.ctx, acme.ID), "DeleteAccount")
	e.appendEvents(later)
	for _, ev := range e.allEvents() {
		if ev.AccountID != nil {
			t.Errorf("event %s attributed to %d after its account was deleted", ev.MessageID, *ev.AccountID)
		}
	}
}

func testEventsSince(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	var all []store.Event
	for b := range 3 {
		evs := []store.Event{
			track(src.ID, fmt.Sprintf("m-%d-a", b), "user-1", start.Add(time.Duration(b)*time.Minute)),
			track(src.ID, fmt.Sprintf("m-%d-b", b), "user-2", start.Add(time.Duration(b)*time.Minute)),
		}
		e.appendEvents(evs...)
		all = append(all, evs...)
	}
	got, err := e.st.EventsSince(e.ctx, 0, 4)
	e.ok(err, "EventsSince(0, 4)")
	if !slices.Equal(seqs(got), seqs(all[:4])) {
		t.Errorf("EventsSince(0, 4) = %v, want %v", seqs(got), seqs(all[:4]))
	}
	got, err = e.st.EventsSince(e.ctx, all[3].Seq, 100)
	e.ok(err, "EventsSince(4th, 100)")
	if !slices.Equal(messageIDs(got), []string{"m-2-a", "m-2-b"}) {
		t.Errorf("EventsSince after the 4th = %v, want the last two", messageIDs(got))
	}
	got, err = e.st.EventsSince(e.ctx, all[5].Seq, 100)
	e.ok(err, "EventsSince(last)")
	if got == nil || len(got) != 0 {
		t.Errorf("EventsSince(last) = %#v, want an empty list", got)
	}
}

func testRecentEvents(e *env) {
	t := e.t
	web := e.writeKey("web app", "wk_web", nil)
	backend := e.writeKey("backend", "wk_backend", nil)
	e.appendEvents(track(web.ID, "w1", "u1", start), track(backend.ID, "b1", "u1", start))
	e.appendEvents(track(web.ID, "w2", "u1", start), track(web.ID, "w3", "u2", start), track(backend.ID, "b2", "u2", start))

	got, err := e.st.RecentEvents(e.ctx, 0, 3)
	e.ok(err, "RecentEvents(all, 3)")
	if want := []string{"b2", "w3", "w2"}; !slices.Equal(messageIDs(got), want) {
		t.Errorf("RecentEvents(all, 3) = %v, want %v", messageIDs(got), want)
	}
	got, err = e.st.RecentEvents(e.ctx, web.ID, 10)
	e.ok(err, "RecentEvents(web)")
	if want := []string{"w3", "w2", "w1"}; !slices.Equal(messageIDs(got), want) {
		t.Errorf("RecentEvents(web) = %v, want %v", messageIDs(got), want)
	}
	got, err = e.st.RecentEvents(e.ctx, backend.ID+100, 10)
	e.ok(err, "RecentEvents(unknown)")
	if got == nil || len(got) != 0 {
		t.Errorf("RecentEvents(unknown source) = %#v, want an empty list", got)
	}
}

func testPurgeEvents(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	t0 := time.Date(2026, time.January, 5, 10, 0, 0, 0, time.UTC)
	evs := []store.Event{track(src.ID, "old", "u1", t0), track(src.ID, "mid", "u1", t0.Add(time.Hour)), track(src.ID, "new", "u1", t0.Add(2*time.Hour))}
	e.appendEvents(evs...)

	// Received strictly before the cutoff goes; "mid" was received at t0+1h+2s.
	n, err := e.st.PurgeEvents(e.ctx, t0.Add(time.Hour+2*time.Second))
	e.ok(err, "PurgeEvents")
	if n != 1 {
		t.Errorf("PurgeEvents = %d, want 1", n)
	}
	if got := messageIDs(e.allEvents()); !slices.Equal(got, []string{"mid", "new"}) {
		t.Errorf("after purge: %v, want [mid new]", got)
	}
	// The counters of a minute go when the whole minute is before the
	// cutoff: 11:00 holds "mid", which stays.
	counts, err := e.st.EventCountsPerMinute(e.ctx, t0.Add(-time.Hour))
	e.ok(err, "EventCountsPerMinute")
	if len(counts) != 2 || !counts[0].Minute.Equal(t0.Add(time.Hour)) {
		t.Errorf("counts after purge = %+v, want the minutes of mid and new", counts)
	}

	n, err = e.st.PurgeEvents(e.ctx, t0.Add(24*time.Hour))
	e.ok(err, "PurgeEvents(all)")
	if n != 2 || len(e.allEvents()) != 0 {
		t.Errorf("PurgeEvents(all) = %d, want 2 and nothing left", n)
	}
	// A seq is never handed out twice, even when the newest events were
	// purged: a watermark at evs[2].Seq must not hide the next event.
	next := []store.Event{track(src.ID, "after", "u1", t0.Add(25*time.Hour))}
	e.appendEvents(next...)
	if next[0].Seq <= evs[2].Seq {
		t.Errorf("Seq after purging everything = %d, want more than %d", next[0].Seq, evs[2].Seq)
	}
	// A purged message id is new again: the window of deduplication is
	// the retention.
	again := track(src.ID, "old", "u1", t0)
	if res := e.appendEvents(again); len(res.Accepted) != 1 {
		t.Errorf("a purged message id was refused as a duplicate")
	}
	if n, err := e.st.PurgeEvents(e.ctx, t0); err != nil || n != 0 {
		t.Errorf("PurgeEvents with nothing to do = %d, %v", n, err)
	}
}

func testLargeBatches(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	var all []store.Event
	for b := range 2 {
		evs := make([]store.Event, 1300)
		for i := range evs {
			evs[i] = track(src.ID, fmt.Sprintf("m-%d-%d", b, i), fmt.Sprintf("user-%d", (i*7)%300), start.Add(time.Duration(i)*time.Millisecond))
		}
		evs[1299].MessageID = evs[5].MessageID // one repeat
		res := e.appendEvents(evs...)
		if len(res.Accepted) != 1299 || res.Duplicates != 1 || len(res.Ordinals) != 300 {
			t.Fatalf("batch %d: %d accepted, %d duplicates, %d ordinals; want 1299, 1, 300", b, len(res.Accepted), res.Duplicates, len(res.Ordinals))
		}
		all = append(all, evs[:1299]...)
	}
	got := e.allEvents()
	if !slices.Equal(messageIDs(got), messageIDs(all)) {
		t.Errorf("replay order differs from append order")
	}
	if !slices.IsSorted(seqs(got)) || !slices.Equal(seqs(got), seqs(all)) {
		t.Errorf("seqs not increasing in batch order")
	}
	n, err := e.st.PurgeEvents(e.ctx, start.Add(time.Hour))
	e.ok(err, "PurgeEvents")
	if n != 2598 || len(e.allEvents()) != 0 {
		t.Errorf("PurgeEvents = %d, want 2598 and nothing left", n)
	}
}

// testConcurrentAppends sends overlapping batches at once, with new users
// in common: every event is stored once, and the users get one ordinal
// each, dense from 1.
func testConcurrentAppends(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	const workers, batches, size, users = 4, 5, 40, 150
	var mu sync.Mutex
	seen := map[string]uint32{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				evs := make([]store.Event, size)
				for i := range evs {
					u := fmt.Sprintf("user-%d", (w*31+b*17+i*13)%users)
					evs[i] = track(src.ID, fmt.Sprintf("w%d-b%d-%d", w, b, i), u, start)
				}
				res, err := e.st.AppendEvents(e.ctx, evs)
				if err == nil && len(res.Accepted) != size {
					err = fmt.Errorf("worker %d batch %d: %d accepted", w, b, len(res.Accepted))
				}
				if err != nil {
					errs <- err
					continue
				}
				var links []store.UserLink
				if b == 2 {
					links = append(links, store.UserLink{Key: fmt.Sprintf("linked-%d", w%2)})
				}
				ords, err := e.st.LinkUsers(e.ctx, links)
				if err != nil {
					errs <- err
				}
				mu.Lock()
				for _, m := range []map[string]uint32{res.Ordinals, ords} {
					for k, o := range m {
						if prev, ok := seen[k]; ok && prev != o {
							errs <- fmt.Errorf("user %s got ordinals %d and %d", k, prev, o)
						}
						seen[k] = o
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(e.allEvents()); got != workers*batches*size {
		t.Errorf("%d events stored, want %d", got, workers*batches*size)
	}
	us := e.usageUsers()
	if len(us) != len(seen) {
		t.Errorf("%d users stored, %d seen", len(us), len(seen))
	}
	for i, u := range us {
		if u.Ordinal != uint32(i+1) || seen[u.Key] != u.Ordinal {
			t.Errorf("user %s stored with ordinal %d at position %d, returned as %d", u.Key, u.Ordinal, i, seen[u.Key])
		}
	}
}

func testCountsPerMinute(e *env) {
	t := e.t
	web := e.writeKey("web app", "wk_web", nil)
	backend := e.writeKey("backend", "wk_backend", nil)
	m0 := time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC)
	at := func(ev store.Event, rcv time.Time) store.Event { ev.ReceivedAt = rcv; return ev }
	e.appendEvents(
		at(track(web.ID, "w1", "u1", m0), m0.Add(5*time.Second)),
		at(track(web.ID, "w2", "u1", m0), m0.Add(59*time.Second+999*time.Millisecond)),
		at(track(backend.ID, "b1", "u1", m0), m0.Add(59*time.Second)),
		at(track(web.ID, "w3", "u1", m0), m0.Add(90*time.Second)),
	)
	// Duplicates are not counted again.
	e.appendEvents(at(track(web.ID, "w1", "u1", m0), m0.Add(91*time.Second)))
	e.ok(e.st.AddRejections(e.ctx, []store.Rejection{
		{SourceID: web.ID, ReceivedAt: m0.Add(70 * time.Second), Reason: "userId or anonymousId is required"},
		{SourceID: web.ID, ReceivedAt: m0.Add(71 * time.Second), Index: 1, Reason: "event is required"},
		{SourceID: backend.ID, ReceivedAt: m0.Add(2 * time.Minute), Reason: "timestamp is not a time"},
	}), "AddRejections")

	got, err := e.st.EventCountsPerMinute(e.ctx, m0.Add(30*time.Second))
	e.ok(err, "EventCountsPerMinute")
	want := []store.MinuteCount{
		{Minute: m0, SourceID: web.ID, Accepted: 2},
		{Minute: m0, SourceID: backend.ID, Accepted: 1},
		{Minute: m0.Add(time.Minute), SourceID: web.ID, Accepted: 1, Rejected: 2},
		{Minute: m0.Add(2 * time.Minute), SourceID: backend.ID, Rejected: 1},
	}
	sameJSON(t, "counts since 10:00:30 (from its minute)", got, want)
	got, err = e.st.EventCountsPerMinute(e.ctx, m0.Add(time.Minute))
	e.ok(err, "EventCountsPerMinute")
	sameJSON(t, "counts since 10:01", got, want[2:])
	got, err = e.st.EventCountsPerMinute(e.ctx, m0.Add(time.Hour))
	e.ok(err, "EventCountsPerMinute")
	if got == nil || len(got) != 0 {
		t.Errorf("counts of a quiet hour = %#v, want an empty list", got)
	}
}

func testRejections(e *env) {
	t := e.t
	web := e.writeKey("web app", "wk_web", nil)
	backend := e.writeKey("backend", "wk_backend", nil)
	big := bytes.Repeat([]byte("x"), store.MaxRejectionBody+900)
	rcv := time.Date(2026, time.March, 14, 10, 0, 0, 123_456_789, time.UTC)
	rs := []store.Rejection{
		{SourceID: web.ID, ReceivedAt: rcv, Index: 0, MessageID: "m-1", Reason: "event is required", Body: []byte(`{"type":"track"}`)},
		{SourceID: backend.ID, ReceivedAt: rcv, Index: 3, Reason: "the event is larger than 32 KB", Body: big},
		{SourceID: web.ID, Index: 7, Reason: "userId or anonymousId is required"},
	}
	e.ok(e.st.AddRejections(e.ctx, rs), "AddRejections")
	if rs[0].ID <= 0 || rs[1].ID <= rs[0].ID || rs[2].ID <= rs[1].ID {
		t.Fatalf("IDs %d %d %d, want increasing", rs[0].ID, rs[1].ID, rs[2].ID)
	}
	e.sameInstant("zero ReceivedAt", rs[2].ReceivedAt, e.now())

	got, err := e.st.RecentRejections(e.ctx, 0, 10)
	e.ok(err, "RecentRejections")
	if len(got) != 3 || got[0].ID != rs[2].ID || got[2].ID != rs[0].ID {
		t.Fatalf("RecentRejections = %+v, want the three newest first", got)
	}
	g := got[2]
	if g.SourceID != web.ID || g.Index != 0 || g.MessageID != "m-1" || g.Reason != "event is required" || string(g.Body) != `{"type":"track"}` {
		t.Errorf("rejection read back as %+v", g)
	}
	e.sameInstant("ReceivedAt", g.ReceivedAt, rcv.Truncate(time.Millisecond))
	if !bytes.Equal(got[1].Body, big[:store.MaxRejectionBody]) || got[1].Index != 3 {
		t.Errorf("oversize body kept as %d bytes, want the first %d", len(got[1].Body), store.MaxRejectionBody)
	}
	if got[0].Body == nil || len(got[0].Body) != 0 {
		t.Errorf("no body read back as %q, want empty", got[0].Body)
	}
	got, err = e.st.RecentRejections(e.ctx, web.ID, 1)
	e.ok(err, "RecentRejections(web, 1)")
	if len(got) != 1 || got[0].ID != rs[2].ID {
		t.Errorf("RecentRejections(web, 1) = %+v, want rejection %d", got, rs[2].ID)
	}

	for _, tc := range []struct {
		field string
		r     store.Rejection
	}{
		{"[1].reason", store.Rejection{SourceID: web.ID}},
		{"[1].source_id", store.Rejection{Reason: "x"}},
		{"[1].source_id", store.Rejection{SourceID: backend.ID + 100, Reason: "x"}},
	} {
		err := e.st.AddRejections(e.ctx, []store.Rejection{{SourceID: web.ID, Reason: "fine"}, tc.r})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	got, err = e.st.RecentRejections(e.ctx, 0, 10)
	e.ok(err, "RecentRejections")
	if len(got) != 3 {
		t.Errorf("%d rejections after refused adds, want 3", len(got))
	}
}

func testRejectionsTrimmed(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	const total = store.MaxRejections + 25
	var last store.Rejection
	for from := 0; from < total; from += 2500 {
		rs := make([]store.Rejection, min(2500, total-from))
		for i := range rs {
			rs[i] = store.Rejection{SourceID: src.ID, Index: from + i, Reason: "event is required"}
		}
		e.ok(e.st.AddRejections(e.ctx, rs), "AddRejections")
		last = rs[len(rs)-1]
	}
	got, err := e.st.RecentRejections(e.ctx, 0, 2*store.MaxRejections)
	e.ok(err, "RecentRejections")
	if len(got) != store.MaxRejections {
		t.Fatalf("%d rejections kept, want %d", len(got), store.MaxRejections)
	}
	if got[0].ID != last.ID || got[0].Index != total-1 || got[len(got)-1].Index != 25 {
		t.Errorf("kept %d..%d (newest id %d), want the newest: %d..25 (id %d)", got[0].Index, got[len(got)-1].Index, got[0].ID, total-1, last.ID)
	}
}

func testLinkUsers(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	acme := e.account(account.Account{Name: "Acme"})
	globex := e.account(account.Account{Name: "Globex"})
	peter := e.contact(account.Contact{AccountID: globex.ID, Email: "peter@globex.example"})
	e.appendEvents(track(src.ID, "m-1", "u1", start.Add(-time.Hour)))
	link := func(ls ...store.UserLink) map[string]uint32 {
		t.Helper()
		ords, err := e.st.LinkUsers(e.ctx, ls)
		e.ok(err, "LinkUsers")
		return ords
	}
	check := func(step, key string, acc int64, email string, contact int64) {
		t.Helper()
		u := e.usageUser(key)
		if idOr0(u.AccountID) != acc || u.Email != email || idOr0(u.ContactID) != contact {
			t.Errorf("%s: %s = account %d, email %q, contact %d; want %d, %q, %d", step, key,
				idOr0(u.AccountID), u.Email, idOr0(u.ContactID), acc, email, contact)
		}
	}

	sameJSON(t, "ordinals", link(store.UserLink{Key: "u1", AccountID: &acme.ID}), map[string]uint32{"u1": 1})
	check("group", "u1", acme.ID, "", 0)
	link(store.UserLink{Key: "u1", Email: " u1@acme.example "})
	check("identify keeps the account", "u1", acme.ID, "u1@acme.example", 0)
	link(store.UserLink{Key: "u1", AccountID: &globex.ID, ContactID: &peter.ID})
	check("a new group overwrites the account, keeps the email", "u1", globex.ID, "u1@acme.example", peter.ID)
	link(store.UserLink{Key: "u1"})
	check("an empty link changes nothing", "u1", globex.ID, "u1@acme.example", peter.ID)
	ghost := globex.ID + 100
	ghostContact := peter.ID + 100
	link(store.UserLink{Key: "u1", AccountID: &ghost, ContactID: &ghostContact})
	check("links to records that are gone are ignored", "u1", globex.ID, "u1@acme.example", peter.ID)

	seen := time.Date(2025, time.November, 2, 8, 0, 0, 555_999_000, time.UTC)
	ords := link(
		store.UserLink{Key: "u2", AccountID: &acme.ID, Seen: seen},
		store.UserLink{Key: "u3"},
		store.UserLink{Key: "u4", AccountID: &acme.ID},
		store.UserLink{Key: "u4", Email: "u4@acme.example"},
	)
	sameJSON(t, "new users' ordinals", ords, map[string]uint32{"u2": 2, "u3": 3, "u4": 4})
	check("new user", "u2", acme.ID, "", 0)
	check("two links in one call", "u4", acme.ID, "u4@acme.example", 0)
	link(store.UserLink{Key: "u4", AccountID: &globex.ID}, store.UserLink{Key: "u4", AccountID: &acme.ID})
	check("the last of two links wins", "u4", acme.ID, "u4@acme.example", 0)
	e.sameInstant("FirstSeen of a linked user", e.usageUser("u2").FirstSeen, seen.Truncate(time.Millisecond))
	e.sameInstant("FirstSeen without Seen", e.usageUser("u3").FirstSeen, e.now())

	of := func(id int64, limit int) []string {
		t.Helper()
		us, err := e.st.UsageUsersOfAccount(e.ctx, id, limit)
		e.ok(err, "UsageUsersOfAccount")
		keys := []string{}
		for _, u := range us {
			keys = append(keys, u.Key)
		}
		return keys
	}
	if got := of(acme.ID, 10); !slices.Equal(got, []string{"u2", "u4"}) {
		t.Errorf("users of Acme = %v, want [u2 u4]", got)
	}
	if got := of(acme.ID, 1); !slices.Equal(got, []string{"u2"}) {
		t.Errorf("users of Acme, limit 1 = %v, want [u2]", got)
	}
	if got := of(globex.ID, 0); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("users of Globex = %v, want [u1]", got)
	}
	var linked []string
	e.ok(e.st.ListUserAccounts(e.ctx, func(ord uint32, id int64) error {
		linked = append(linked, fmt.Sprintf("%d→%d", ord, id))
		return nil
	}), "ListUserAccounts")
	if want := []string{fmt.Sprintf("1→%d", globex.ID), fmt.Sprintf("2→%d", acme.ID), fmt.Sprintf("4→%d", acme.ID)}; !slices.Equal(linked, want) {
		t.Errorf("ListUserAccounts = %v, want %v (u3 is not linked)", linked, want)
	}

	for _, tc := range []struct {
		field string
		l     store.UserLink
	}{
		{"[1].key", store.UserLink{}},
		{"[1].key", store.UserLink{Key: "a\x00b"}},
		{"[1].email", store.UserLink{Key: "u9", Email: "\xff@x"}},
	} {
		_, err := e.st.LinkUsers(e.ctx, []store.UserLink{{Key: "u8"}, tc.l})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	if n := len(e.usageUsers()); n != 4 {
		t.Errorf("%d users after refused links, want 4", n)
	}
}

func testStreamsStop(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	a := e.account(account.Account{Name: "Acme"})
	e.appendEvents(track(src.ID, "1", "u1", start), track(src.ID, "2", "u2", start), track(src.ID, "3", "u3", start))
	_, err := e.st.LinkUsers(e.ctx, []store.UserLink{{Key: "u1", AccountID: &a.ID}, {Key: "u2", AccountID: &a.ID}, {Key: "u3", AccountID: &a.ID}})
	e.ok(err, "LinkUsers")
	e.ok(e.st.SaveDays(e.ctx, []store.DayBlob{day(a.ID, 1, []byte{1}), day(a.ID, 2, []byte{2}), day(a.ID, 3, []byte{3})}, 3), "SaveDays")
	e.ok(e.st.SaveFeatureUses(e.ctx, []store.FeatureUse{use(a.ID, 0, "f1", start), use(a.ID, 0, "f2", start), use(a.ID, 0, "f3", start)}), "SaveFeatureUses")
	stop := errors.New("enough")
	for name, walk := range map[string]func(fn func() error) error{
		"ListUsageUsers": func(fn func() error) error {
			return e.st.ListUsageUsers(e.ctx, func(store.UsageUser) error { return fn() })
		},
		"ListUserAccounts": func(fn func() error) error {
			return e.st.ListUserAccounts(e.ctx, func(uint32, int64) error { return fn() })
		},
		"LoadDays": func(fn func() error) error { return e.st.LoadDays(e.ctx, func(store.DayBlob) error { return fn() }) },
		"LoadFeatureUses": func(fn func() error) error {
			return e.st.LoadFeatureUses(e.ctx, func(store.FeatureUse) error { return fn() })
		},
	} {
		calls := 0
		err := walk(func() error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 2 {
			t.Errorf("%s: %d calls, error %v; want 2 calls and the callback's error", name, calls, err)
		}
	}
	// The store is usable after a walk stopped early.
	if n := len(e.usageUsers()); n != 3 {
		t.Errorf("%d users after a stopped walk, want 3", n)
	}
}

func day(accountID int64, d int32, blob []byte) store.DayBlob {
	return store.DayBlob{AccountID: accountID, Day: d, Blob: blob}
}

func use(accountID int64, ordinal uint32, feature string, at time.Time) store.FeatureUse {
	return store.FeatureUse{AccountID: accountID, Ordinal: ordinal, Feature: feature, At: at}
}

func dayList(bs []store.DayBlob) string {
	var b strings.Builder
	for _, d := range bs {
		fmt.Fprintf(&b, "%d/%d=%s ", d.AccountID, d.Day, d.Blob)
	}
	return b.String()
}

func (e *env) loadDays() []store.DayBlob {
	e.t.Helper()
	var out []store.DayBlob
	e.ok(e.st.LoadDays(e.ctx, func(d store.DayBlob) error {
		out = append(out, d)
		return nil
	}), "LoadDays")
	return out
}

func (e *env) watermark() int64 {
	e.t.Helper()
	w, err := e.st.Watermark(e.ctx)
	e.ok(err, "Watermark")
	return w
}

func testDays(e *env) {
	t := e.t
	if w := e.watermark(); w != 0 {
		t.Errorf("Watermark of a new store = %d, want 0", w)
	}
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	gone := b.ID + 100
	e.ok(e.st.SaveDays(e.ctx, []store.DayBlob{
		day(b.ID, 20500, []byte("b0")),
		day(a.ID, 20501, []byte("a1")),
		day(a.ID, 20500, []byte("a0")),
		day(a.ID, -3, []byte("before 1970")),
		day(gone, 20500, []byte("deleted meanwhile")),
	}, 42), "SaveDays")
	if w := e.watermark(); w != 42 {
		t.Errorf("Watermark = %d, want 42", w)
	}
	want := fmt.Sprintf("%d/-3=before 1970 %[1]d/20500=a0 %[1]d/20501=a1 %d/20500=b0 ", a.ID, b.ID)
	if got := dayList(e.loadDays()); got != want {
		t.Errorf("LoadDays = %s\nwant %s", got, want)
	}

	// An upsert replaces a day; the last blob for a day in a batch wins.
	e.ok(e.st.SaveDays(e.ctx, []store.DayBlob{day(a.ID, 20500, []byte("a0 v2")), day(a.ID, 20500, []byte("a0 v3"))}, 50), "SaveDays")
	got, err := e.st.LoadAccountDays(e.ctx, a.ID)
	e.ok(err, "LoadAccountDays")
	if s := dayList(got); s != fmt.Sprintf("%d/-3=before 1970 %[1]d/20500=a0 v3 %[1]d/20501=a1 ", a.ID) {
		t.Errorf("LoadAccountDays = %s", s)
	}
	got, err = e.st.LoadAccountDays(e.ctx, gone)
	e.ok(err, "LoadAccountDays(unknown)")
	if got == nil || len(got) != 0 {
		t.Errorf("LoadAccountDays(unknown) = %#v, want an empty list", got)
	}
	// A flush with no dirty days still moves the watermark.
	e.ok(e.st.SaveDays(e.ctx, nil, 60), "SaveDays(nil)")
	if w := e.watermark(); w != 60 {
		t.Errorf("Watermark = %d, want 60", w)
	}

	// A refused flush saves neither days nor the watermark.
	err = e.st.SaveDays(e.ctx, []store.DayBlob{day(a.ID, 20500, []byte("lost")), day(0, 20500, nil)}, 70)
	wantErr(t, err, derrors.Unprocessable, "[1].account_id")
	wantErr(t, e.st.SaveDays(e.ctx, []store.DayBlob{day(a.ID, 20500, []byte("lost"))}, -1), derrors.Unprocessable, "watermark")
	if w := e.watermark(); w != 60 {
		t.Errorf("Watermark after refused saves = %d, want 60", w)
	}
	got, err = e.st.LoadAccountDays(e.ctx, a.ID)
	e.ok(err, "LoadAccountDays")
	if len(got) != 3 || string(got[1].Blob) != "a0 v3" {
		t.Errorf("days after refused saves = %s", dayList(got))
	}
}

func testFeatures(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Acme"})
	t0 := time.Date(2026, time.February, 1, 12, 0, 0, 400_700_000, time.UTC)
	gone := a.ID + 100
	e.ok(e.st.SaveFeatureUses(e.ctx, []store.FeatureUse{
		use(a.ID, 0, "code_search", t0.Add(2*time.Hour)),
		use(a.ID, 3, "code_search", t0.Add(3*time.Hour)),
		use(a.ID, 0, "batch_changes", t0.Add(time.Hour)),
		use(a.ID, 5, "code_search", t0.Add(2*time.Hour)),
		use(a.ID, 3, "code_search", t0.Add(90*time.Minute)), // earlier, in the same batch
		use(gone, 0, "code_search", t0),
	}), "SaveFeatureUses")
	list := func() []store.FeatureUse {
		t.Helper()
		us, err := e.st.ListFeatureUses(e.ctx, a.ID)
		e.ok(err, "ListFeatureUses")
		return us
	}
	ms := func(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Millisecond) }
	sameJSON(t, "account-level uses", list(), []store.FeatureUse{
		use(a.ID, 0, "batch_changes", ms(time.Hour)),
		use(a.ID, 0, "code_search", ms(2*time.Hour)),
	})

	// Only an earlier use moves the first use.
	e.ok(e.st.SaveFeatureUses(e.ctx, []store.FeatureUse{
		use(a.ID, 0, "code_search", t0.Add(80*time.Minute)),
		use(a.ID, 0, "batch_changes", t0.Add(5*time.Hour)),
		use(a.ID, 5, "code_search", t0.Add(4*time.Hour)),
	}), "SaveFeatureUses")
	sameJSON(t, "account-level uses after an earlier one", list(), []store.FeatureUse{
		use(a.ID, 0, "batch_changes", ms(time.Hour)),
		use(a.ID, 0, "code_search", ms(80*time.Minute)),
	})
	adoption, err := e.st.ListFeatureAdoption(e.ctx, a.ID)
	e.ok(err, "ListFeatureAdoption")
	sameJSON(t, "adoption", adoption, []store.FeatureAdoption{
		{Feature: "batch_changes", FirstAt: ms(time.Hour), Users: 0},
		{Feature: "code_search", FirstAt: ms(80 * time.Minute), Users: 2},
	})
	var all []store.FeatureUse
	e.ok(e.st.LoadFeatureUses(e.ctx, func(u store.FeatureUse) error {
		all = append(all, u)
		return nil
	}), "LoadFeatureUses")
	sameJSON(t, "every use", all, []store.FeatureUse{
		use(a.ID, 0, "batch_changes", ms(time.Hour)),
		use(a.ID, 0, "code_search", ms(80*time.Minute)),
		use(a.ID, 3, "code_search", ms(90*time.Minute)),
		use(a.ID, 5, "code_search", ms(2*time.Hour)),
	})

	for _, tc := range []struct {
		field string
		u     store.FeatureUse
	}{
		{"[1].account_id", store.FeatureUse{Feature: "x", At: t0}},
		{"[1].feature", store.FeatureUse{AccountID: a.ID, At: t0}},
		{"[1].at", store.FeatureUse{AccountID: a.ID, Feature: "x"}},
	} {
		err := e.st.SaveFeatureUses(e.ctx, []store.FeatureUse{use(a.ID, 0, "lost", t0), tc.u})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	if n := len(list()); n != 2 {
		t.Errorf("%d uses after refused saves, want 2", n)
	}
	empty, err := e.st.ListFeatureAdoption(e.ctx, gone)
	e.ok(err, "ListFeatureAdoption(unknown)")
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListFeatureAdoption(unknown) = %#v, want an empty list", empty)
	}
}

func testFirstPings(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	_, err := e.st.FirstPing(e.ctx, a.ID)
	wantErr(t, err, derrors.NotFound, "")
	t0 := time.Date(2026, time.January, 10, 9, 30, 0, 250_500_000, time.UTC)
	e.ok(e.st.SaveFirstPings(e.ctx, map[int64]time.Time{a.ID: t0.Add(time.Hour), b.ID: t0, b.ID + 100: t0}), "SaveFirstPings")
	e.ok(e.st.SaveFirstPings(e.ctx, map[int64]time.Time{a.ID: t0, b.ID: t0.Add(time.Hour)}), "SaveFirstPings")
	got, err := e.st.FirstPing(e.ctx, a.ID)
	e.ok(err, "FirstPing")
	e.sameInstant("first ping moved earlier", got, t0.Truncate(time.Millisecond))
	got, err = e.st.FirstPing(e.ctx, b.ID)
	e.ok(err, "FirstPing")
	e.sameInstant("first ping kept", got, t0.Truncate(time.Millisecond))
	all, err := e.st.ListFirstPings(e.ctx)
	e.ok(err, "ListFirstPings")
	if want := []int64{a.ID, b.ID}; !slices.Equal(slices.Sorted(maps.Keys(all)), want) {
		t.Errorf("ListFirstPings has accounts %v, want %v", slices.Sorted(maps.Keys(all)), want)
	}
	wantErr(t, e.st.SaveFirstPings(e.ctx, map[int64]time.Time{0: t0}), derrors.Unprocessable, "account_id")
	wantErr(t, e.st.SaveFirstPings(e.ctx, map[int64]time.Time{a.ID: {}}), derrors.Unprocessable, "")
}

func testUsageCascade(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	ca := e.contact(account.Contact{AccountID: a.ID, Email: "ann@acme.example"})
	ea, eb := track(src.ID, "1", "u-a", start), track(src.ID, "2", "u-b", start)
	ea.AccountID, eb.AccountID = &a.ID, &b.ID
	e.appendEvents(ea, eb)
	_, err := e.st.LinkUsers(e.ctx, []store.UserLink{{Key: "u-a", AccountID: &a.ID, ContactID: &ca.ID}, {Key: "u-b", AccountID: &b.ID}})
	e.ok(err, "LinkUsers")
	e.ok(e.st.SaveDays(e.ctx, []store.DayBlob{day(a.ID, 1, []byte("a")), day(b.ID, 1, []byte("b"))}, 2), "SaveDays")
	e.ok(e.st.SaveFeatureUses(e.ctx, []store.FeatureUse{use(a.ID, 0, "f", start), use(a.ID, 1, "f", start), use(b.ID, 0, "f", start)}), "SaveFeatureUses")
	e.ok(e.st.SaveFirstPings(e.ctx, map[int64]time.Time{a.ID: start, b.ID: start}), "SaveFirstPings")

	e.ok(e.st.DeleteAccount(e.ctx, a.ID), "DeleteAccount")

	evs := e.allEvents()
	if len(evs) != 2 || evs[0].AccountID != nil || idOr0(evs[1].AccountID) != b.ID {
		t.Errorf("events after delete attributed to %v, %v; want none, %d", idOr0(evs[0].AccountID), idOr0(evs[1].AccountID), b.ID)
	}
	if u := e.usageUser("u-a"); u.AccountID != nil || u.ContactID != nil || u.Ordinal != 1 {
		t.Errorf("user of the deleted account = %+v, want kept, unattributed", u)
	}
	if u := e.usageUser("u-b"); idOr0(u.AccountID) != b.ID {
		t.Errorf("other user = %+v", u)
	}
	if got := dayList(e.loadDays()); got != fmt.Sprintf("%d/1=b ", b.ID) {
		t.Errorf("days after delete = %s", got)
	}
	if w := e.watermark(); w != 2 {
		t.Errorf("watermark after delete = %d, want 2", w)
	}
	var uses []store.FeatureUse
	e.ok(e.st.LoadFeatureUses(e.ctx, func(u store.FeatureUse) error { uses = append(uses, u); return nil }), "LoadFeatureUses")
	if len(uses) != 1 || uses[0].AccountID != b.ID {
		t.Errorf("feature uses after delete = %+v", uses)
	}
	_, err = e.st.FirstPing(e.ctx, a.ID)
	wantErr(t, err, derrors.NotFound, "")
	pings, err := e.st.ListFirstPings(e.ctx)
	e.ok(err, "ListFirstPings")
	if _, ok := pings[b.ID]; !ok || len(pings) != 1 {
		t.Errorf("first pings after delete = %v", pings)
	}
	users, err := e.st.UsageUsersOfAccount(e.ctx, a.ID, 10)
	e.ok(err, "UsageUsersOfAccount")
	if len(users) != 0 {
		t.Errorf("deleted account still has users %+v", users)
	}
	var linked []int64
	e.ok(e.st.ListUserAccounts(e.ctx, func(_ uint32, id int64) error { linked = append(linked, id); return nil }), "ListUserAccounts")
	if !slices.Equal(linked, []int64{b.ID}) {
		t.Errorf("linked users' accounts after delete = %v, want [%d]", linked, b.ID)
	}
}

func testContactDeleteUnlinks(e *env) {
	a := e.account(account.Account{Name: "Acme"})
	c := e.contact(account.Contact{AccountID: a.ID, Email: "ann@acme.example"})
	_, err := e.st.LinkUsers(e.ctx, []store.UserLink{{Key: "ann", AccountID: &a.ID, Email: c.Email, ContactID: &c.ID}})
	e.ok(err, "LinkUsers")
	e.ok(e.st.DeleteContact(e.ctx, c.ID), "DeleteContact")
	if u := e.usageUser("ann"); u.ContactID != nil || idOr0(u.AccountID) != a.ID || u.Email != c.Email {
		e.t.Errorf("user after the contact's deletion = %+v, want only the contact link gone", u)
	}
}
