package outbox_test

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

// A worker that dies holding a claim loses it when the claim expires: a
// second worker then takes the message and sends it, once, and the dead
// worker's late report changes nothing.
func TestClaimExpiryAfterCrash(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		ctx := context.Background()
		s := newSink(t)
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"})
		m := welcome("campaign/x/welcome/contact-12", "ann@initech.test")
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		// The first worker claims it for a minute, then crashes.
		dead, err := st.ClaimMessages(ctx, c.Now(), time.Minute, 10)
		if err != nil || len(dead) != 1 {
			t.Fatalf("claim: %v, %d messages", err, len(dead))
		}
		w := smtpWorker(st, c, s.sender(t))
		run(t, w)
		w.Kick()
		time.Sleep(100 * time.Millisecond)
		if got := waitStatus(t, st, m.Key, store.StatusSending); got.Attempts != 1 {
			t.Errorf("attempts %d while the dead claim holds", got.Attempts)
		}
		if n := len(s.messages()); n != 0 {
			t.Fatalf("sent %d while another worker held the claim", n)
		}
		c.Advance(time.Minute + time.Second)
		w.Kick()
		got := waitStatus(t, st, m.Key, store.StatusSent)
		if got.Attempts != 2 {
			t.Errorf("attempts %d, want 2", got.Attempts)
		}
		changed, err := st.RecordDelivery(ctx, store.Delivery{ID: dead[0].ID, Attempt: dead[0].Attempts,
			Outcome: store.OutcomeRetry, At: c.Now(), Next: c.Now().Add(time.Minute), Error: "late"})
		if err != nil || changed {
			t.Errorf("the dead worker's late retry: changed %v, %v", changed, err)
		}
		if got := waitStatus(t, st, m.Key, store.StatusSent); got.LastError != "" {
			t.Errorf("last error %q", got.LastError)
		}
		if n := len(s.messages()); n != 1 {
			t.Errorf("received %d copies, want 1", n)
		}
	})
}

// Two workers on one store, and every message decided twice, still send
// each message once.
func TestTwoWorkersNoDuplicates(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		ctx := context.Background()
		s := newSink(t)
		w1, w2 := smtpWorker(st, c, s.sender(t)), smtpWorker(st, c, s.sender(t))
		w1.Batch, w2.Batch = 7, 7
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(func() { w1.Kick(); w2.Kick() })
		run(t, w1)
		run(t, w2)
		const n = 60
		for round := 0; round < 2; round++ {
			var ms []*store.OutboxMessage
			for i := range n {
				ms = append(ms, welcome(fmt.Sprintf("campaign/x/welcome/contact-%d", i), fmt.Sprintf("c%d@initech.test", i)))
			}
			if err := q.Enqueue(ctx, ms...); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			counts, err := st.CountMessages(ctx, store.OutboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if counts[store.StatusSent] == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("counts %v", counts)
			}
			time.Sleep(10 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, r := range s.messages() {
			msg, err := mail.ReadMessage(strings.NewReader(string(r.data)))
			if err != nil {
				t.Fatal(err)
			}
			seen[msg.Header.Get("Message-Id")]++
		}
		if len(seen) != n {
			t.Errorf("%d distinct messages received, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s received %d times", id, k)
			}
		}
	})
}

// blocking is a sender that holds every send until released.
type blocking struct {
	started chan string
	release chan struct{}
}

func (b *blocking) Send(ctx context.Context, m *store.OutboxMessage) error {
	b.started <- m.Key
	<-b.release
	return nil
}

// A stopping worker finishes and records the send under way, and gives
// back the messages it claimed but had not started: queued, due at once,
// the attempt not counted.
func TestGracefulStop(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		ctx := context.Background()
		b := &blocking{started: make(chan string, 10), release: make(chan struct{})}
		w := &outbox.Worker{Store: st, Clock: c.Now, Concurrency: 1, Poll: time.Hour,
			Senders: map[string]outbox.Sender{store.ChannelSlack: b}}
		q := outbox.NewQueue(st, store.Address{})
		keys := []string{"slack/1", "slack/2", "slack/3"}
		for _, k := range keys {
			if err := q.Enqueue(ctx, outbox.NewSlack(k, "https://hooks.slack.test/services/T0/B0/x", "hello "+k, nil)); err != nil {
				t.Fatal(err)
			}
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		first := <-b.started
		cancel()
		time.Sleep(50 * time.Millisecond)
		select {
		case <-done:
			t.Fatal("Run returned with a send under way")
		default:
		}
		close(b.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			m, err := st.GetMessageByKey(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case k == first && m.Status != store.StatusSent:
				t.Errorf("%s (under way): %s, want sent", k, m.Status)
			case k != first && (m.Status != store.StatusQueued || m.Attempts != 0 || !m.NextAttemptAt.Equal(c.Now())):
				t.Errorf("%s (not started): %s, attempts %d, due %v; want queued, 0, now", k, m.Status, m.Attempts, m.NextAttemptAt)
			}
		}
	})
}

// A channel's rate limit spaces its sends.
func TestRateLimit(t *testing.T) {
	db := func(t *testing.T, st store.Outbox, c *clock) {
		ctx := context.Background()
		b := &blocking{started: make(chan string, 10), release: make(chan struct{})}
		close(b.release)
		w := &outbox.Worker{Store: st, Clock: c.Now, Concurrency: 4, Poll: time.Hour,
			Senders: map[string]outbox.Sender{store.ChannelSlack: b}, Rate: map[string]float64{store.ChannelSlack: 20}}
		q := outbox.NewQueue(st, store.Address{}).Notify(w.Kick)
		for i := range 30 {
			if err := q.Enqueue(ctx, outbox.NewSlack(fmt.Sprint("slack/", i), "https://hooks.slack.test/services/T0/B0/x", "hi", nil)); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		run(t, w)
		for range 30 {
			<-b.started
		}
		// A burst of 20, then 10 more at 20 a second.
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("30 sends in %v; the limit allows no fewer than 0.5s", d)
		}
	}
	forEachStore(t, db)
}
