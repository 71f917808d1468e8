package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store"
)

// The shape of BenchmarkAppendEvents' load.
const (
	benchAccounts = 1_000
	benchUsers    = 10_000
)

// BenchmarkAppendEvents measures AppendEvents on st (a new, empty store)
// with batches of the given size, in the shape of the ingestion API's
// steady load: Segment track calls of about 300 bytes with random message
// ids, from 10,000 known users in 1,000 accounts, every event attributed.
// The users are linked before the timer starts, as in a steady state where
// the store has their ordinals cached. It reports events/s; generating the
// events is not timed.
func BenchmarkAppendEvents(b *testing.B, st store.Store, batch int) {
	ctx := context.Background()
	src := store.WriteKey{Name: "bench", Prefix: "wk_bench", Hash: []byte(fmt.Sprintf("bench-%d", time.Now().UnixNano()))}
	if err := st.CreateWriteKey(ctx, &src); err != nil {
		b.Fatal(err)
	}
	as := make([]account.Account, benchAccounts)
	for i := range as {
		as[i] = account.Account{Name: fmt.Sprintf("Account %04d", i), ExternalID: fmt.Sprintf("acct-%04d", i), Seats: 50}
	}
	if _, err := st.UpsertAccounts(ctx, as, account.System("bench", "")); err != nil {
		b.Fatal(err)
	}
	ids, err := st.ResolveExternalIDs(ctx, func() []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.ExternalID
		}
		return out
	}())
	if err != nil {
		b.Fatal(err)
	}
	accountOf := make([]int64, benchUsers)
	links := make([]store.UserLink, benchUsers)
	for u := range benchUsers {
		id := ids[fmt.Sprintf("acct-%04d", u%benchAccounts)]
		accountOf[u] = id
		links[u] = store.UserLink{Key: fmt.Sprintf("user-%05d", u), AccountID: &id}
	}
	if _, err := st.LinkUsers(ctx, links); err != nil {
		b.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	events := []string{"Searched code", "Viewed file", "Ran batch change", "Asked assistant", "Opened repository"}
	now := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	evs := make([]store.Event, batch)
	fill := func() {
		for i := range evs {
			u := rng.IntN(benchUsers)
			name := events[rng.IntN(len(events))]
			msg := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
				rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
			ts := now.Add(-time.Duration(rng.IntN(3_600_000)) * time.Millisecond)
			user := fmt.Sprintf("user-%05d", u)
			evs[i] = store.Event{SourceID: src.ID, MessageID: msg, Type: "track", UserKey: user, AccountID: &accountOf[u],
				Name: name, Timestamp: ts, ReceivedAt: now,
				Body: fmt.Appendf(nil, `{"type":"track","event":%q,"userId":%q,"messageId":%q,"timestamp":%q,`+
					`"properties":{"query":"repo:acme/api lang:go","results":%d,"duration_ms":%d},`+
					`"context":{"library":{"name":"analytics-go","version":"3.3.0"},"groupId":"acct-%04d"}}`,
					name, user, msg, ts.Format(time.RFC3339Nano), rng.IntN(500), rng.IntN(2000), u%benchAccounts)}
		}
	}
	bodyBytes := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fill()
		for i := range evs {
			bodyBytes += len(evs[i].Body)
		}
		b.StartTimer()
		res, err := st.AppendEvents(ctx, evs)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Accepted) != batch {
			b.Fatalf("%d of %d accepted", len(res.Accepted), batch)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bodyBytes)/float64(b.N*batch), "body-bytes/event")
}
