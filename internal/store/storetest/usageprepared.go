package storetest

import (
	"bytes"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// appendPrepared appends requests as the usage engine does: each prepared
// on its own (PrepareEvents), then all in one batch. It returns the
// batch, with the seqs handed out.
func (e *env) appendPrepared(reqs ...[]store.Event) ([]store.Event, store.AppendResult, error) {
	var evs []store.Event
	var preps []store.Prepared
	for _, r := range reqs {
		preps = append(preps, e.st.PrepareEvents(e.ctx, r))
		evs = append(evs, r...)
	}
	res, err := e.st.AppendEvents(e.ctx, evs, preps...)
	return evs, res, err
}

// testPreparedAppends appends prepared requests (on PostgreSQL most take
// appendPrepared's one round trip) and checks that they are stored as
// unprepared ones are: each message once, seqs in batch order, bodies and
// attribution as sent, deleted accounts dropped, bad events refused.
func testPreparedAppends(e *env) {
	t := e.t
	src := e.writeKey("web app", "wk_web", nil)
	acme := e.account(account.Account{Name: "Acme"})
	ev := func(msg, user string, acct *int64, at time.Time) store.Event {
		x := track(src.ID, msg, user, at)
		x.AccountID = acct
		return x
	}
	// The source, the users and Acme become known.
	e.appendEvents(ev("w-1", "user-1", &acme.ID, start), ev("w-2", "user-2", nil, start))

	r1 := []store.Event{ev("p-1", "user-1", &acme.ID, start), ev("p-2", "user-2", nil, start)}
	r1[1].Body = []byte("{\"type\":\"track\"}\xff\x00 kept byte for byte")
	r2 := []store.Event{ev("p-3", "user-1", &acme.ID, start.Add(time.Second))}
	evs, res, err := e.appendPrepared(r1, r2)
	e.ok(err, "AppendEvents(prepared)")
	if !slices.Equal(res.Accepted, []int{0, 1, 2}) || res.Duplicates != 0 {
		t.Errorf("prepared: accepted %v, %d duplicates; want [0 1 2], 0", res.Accepted, res.Duplicates)
	}
	sameJSON(t, "prepared Ordinals", res.Ordinals, map[string]uint32{"user-1": 1, "user-2": 2})
	if got := seqs(evs); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("prepared: seqs %v, want [3 4 5], after the two before", got)
	}
	got := e.allEvents()
	if ids := messageIDs(got); !slices.Equal(ids, []string{"w-1", "w-2", "p-1", "p-2", "p-3"}) {
		t.Fatalf("stored %v, want w-1 w-2 p-1 p-2 p-3", ids)
	}
	for i, w := range append(slices.Clone(r1), r2...) {
		g := got[2+i]
		if idOr0(g.AccountID) != idOr0(w.AccountID) || !bytes.Equal(g.Body, w.Body) || g.UserKey != w.UserKey ||
			!g.ReceivedAt.Equal(w.ReceivedAt.Truncate(time.Millisecond)) {
			t.Errorf("prepared event stored as %+v\nwant %+v", g, w)
		}
	}

	// Repeats, each in a batch of its own (either makes the batch take the
	// long way): one already stored; one in two requests of the batch.
	evs, res, err = e.appendPrepared([]store.Event{ev("p-1", "user-1", nil, start), ev("p-4", "user-2", nil, start)})
	e.ok(err, "AppendEvents(prepared, a repeat of a stored one)")
	if !slices.Equal(res.Accepted, []int{1}) || res.Duplicates != 1 || evs[1].Seq != 6 {
		t.Errorf("prepared, p-1 again: accepted %v, %d duplicates, p-4 seq %d; want [1], 1, 6", res.Accepted, res.Duplicates, evs[1].Seq)
	}
	evs, res, err = e.appendPrepared([]store.Event{ev("p-4b", "user-2", nil, start)},
		[]store.Event{ev("p-4b", "user-1", nil, start.Add(time.Second))})
	e.ok(err, "AppendEvents(prepared, a repeat within the batch)")
	if !slices.Equal(res.Accepted, []int{0}) || res.Duplicates != 1 || evs[0].Seq != 7 {
		t.Errorf("prepared, p-4b twice: accepted %v, %d duplicates, seq %d; want [0], 1, 7", res.Accepted, res.Duplicates, evs[0].Seq)
	}

	// A user the store has not seen gets the next ordinal.
	_, res, err = e.appendPrepared([]store.Event{ev("p-5", "user-3", nil, start)})
	e.ok(err, "AppendEvents(prepared, new user)")
	sameJSON(t, "new user's Ordinals", res.Ordinals, map[string]uint32{"user-3": 3})

	// An account deleted after its events were seen: stored unattributed.
	e.ok(e.st.DeleteAccount(e.ctx, acme.ID), "DeleteAccount")
	_, res, err = e.appendPrepared([]store.Event{ev("p-6", "user-1", &acme.ID, start)})
	e.ok(err, "AppendEvents(prepared, deleted account)")
	if len(res.Accepted) != 1 {
		t.Errorf("prepared, deleted account: accepted %v, want it", res.Accepted)
	}

	// A bad event is refused as without preparing, named by its place in
	// the batch, and nothing of the batch is stored.
	bad := ev("p-8", "", nil, start)
	_, _, err = e.appendPrepared([]store.Event{ev("p-7", "user-1", nil, start)}, []store.Event{bad})
	wantErr(t, err, derrors.Unprocessable, "[1].user_key")

	// Preparations that do not cover the batch are left aside.
	batch := []store.Event{ev("p-9", "user-1", nil, start), ev("p-10", "user-2", nil, start)}
	res, err = e.st.AppendEvents(e.ctx, batch, e.st.PrepareEvents(e.ctx, batch[:1]))
	e.ok(err, "AppendEvents(part prepared)")
	if !slices.Equal(res.Accepted, []int{0, 1}) {
		t.Errorf("part prepared: accepted %v, want both", res.Accepted)
	}

	got = e.allEvents()
	if ids := messageIDs(got); !slices.Equal(ids, []string{"w-1", "w-2", "p-1", "p-2", "p-3", "p-4", "p-4b", "p-5", "p-6", "p-9", "p-10"}) {
		t.Errorf("stored %v, want each message once, p-7 and p-8 refused", ids)
	}
	for i, g := range got {
		if g.Seq != int64(i+1) {
			t.Errorf("stored seqs %v, want 1 to %d", seqs(got), len(got))
			break
		}
		if g.MessageID == "p-6" && g.AccountID != nil {
			t.Errorf("p-6 attributed to deleted account %d", *g.AccountID)
		}
	}
}
