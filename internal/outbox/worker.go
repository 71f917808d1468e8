package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// Defaults of a Worker's zero fields.
const (
	DefaultClaim       = 2 * time.Minute
	DefaultBatch       = 50
	DefaultConcurrency = 8
	DefaultMaxAttempts = 8
	DefaultBackoff     = 30 * time.Second
	DefaultMaxBackoff  = 6 * time.Hour
	DefaultPoll        = 5 * time.Second
)

// claimMargin is how long before its claim expires a send is given up (a
// quarter of the claim when that is less): a
// send never outlasts its claim, so that a second worker never takes a
// message the first is still sending (docs/notifications.md).
const claimMargin = 5 * time.Second

// Worker delivers the outbox: it claims due messages, hands each to the
// Sender of its channel and records the outcome. Several workers, in one
// process or in replicas sharing PostgreSQL, can run at once; the store's
// claims keep them off each other's messages. Set the fields, then call
// Run; zero fields take the defaults above.
type Worker struct {
	Store store.Outbox
	// Senders maps a channel (store.ChannelEmail, …) to its sender. A
	// channel without one captures its messages: they are kept in the
	// outbox, complete, as sent would have been (the demo, a server with
	// no SMTP configured).
	Senders map[string]Sender
	// Clock is the time the worker claims and records at; time.Now when
	// nil. Timeouts and rate limits use the real time.
	Clock func() time.Time
	// Claim is how long a claimed message is the worker's: a worker that
	// dies holding it loses it after Claim, when another takes it.
	Claim time.Duration
	// Batch is the most messages claimed at once.
	Batch int
	// Concurrency is the most messages sent at once.
	Concurrency int
	// MaxAttempts is the budget of attempts (since the last retry by hand)
	// after which a temporary failure fails the message.
	MaxAttempts int
	// Backoff is the wait after the first temporary failure, doubling
	// after each further one up to MaxBackoff, with jitter.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Poll is how often an idle worker looks for due messages without
	// being kicked (retries come due, other processes enqueue).
	Poll time.Duration
	// Rate limits each channel to so many messages a second (with a burst
	// of as many); a channel not named is not limited.
	Rate map[string]float64
	// Logger logs failures to claim and record; slog.Default when nil.
	Logger *slog.Logger

	once    sync.Once
	kick    chan struct{}
	buckets map[string]*bucket
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.kick = make(chan struct{}, 1)
		w.buckets = map[string]*bucket{}
		for ch, r := range w.Rate {
			if r > 0 {
				w.buckets[ch] = newBucket(r)
			}
		}
	})
}

// Kick wakes the worker to look for due messages now, e.g. after an
// enqueue (Queue.Notify). It never blocks.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) now() time.Time {
	if w.Clock != nil {
		return w.Clock()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}

// Run delivers until ctx is done, then stops gracefully: it claims no more,
// releases the claimed messages it has not started (they are due again at
// once, for whichever worker runs next), lets the sends under way finish
// (each is bounded by its claim) and records them, and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	batch := orDefault(w.Batch, DefaultBatch)
	poll := orDefault(w.Poll, DefaultPoll)
	sem := make(chan struct{}, orDefault(w.Concurrency, DefaultConcurrency))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if ctx.Err() != nil {
			return nil
		}
		ms, err := w.Store.ClaimMessages(ctx, w.now(), orDefault(w.Claim, DefaultClaim), batch)
		if err != nil && ctx.Err() == nil {
			w.logger().Error("outbox: claim", "err", err)
		}
		for i := range ms {
			m := &ms[i]
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				w.release(ms[i:])
				return nil
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				w.deliver(ctx, m)
			}()
		}
		if len(ms) == batch {
			continue // more may be due
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// release gives claimed messages back unsent.
func (w *Worker) release(ms []store.OutboxMessage) {
	for _, m := range ms {
		w.record(store.Delivery{ID: m.ID, Attempt: m.Attempts, Outcome: store.OutcomeReleased, At: w.now()})
	}
}

// deliver sends one claimed message and records what became of it.
func (w *Worker) deliver(ctx context.Context, m *store.OutboxMessage) {
	d := store.Delivery{ID: m.ID, Attempt: m.Attempts}
	sender := w.Senders[m.Channel]
	if sender == nil {
		d.Outcome, d.At = store.OutcomeCaptured, w.now()
		w.record(d)
		return
	}
	// A send started is finished even when the worker is stopping (giving
	// up half-way could deliver without recording it), but never outlasts
	// the claim.
	margin := min(claimMargin, orDefault(w.Claim, DefaultClaim)/4)
	if b := w.buckets[m.Channel]; b != nil {
		// A token is waited for only while the claim leaves time to send;
		// one that would come later is not taken, so that a released
		// message costs the channel nothing.
		if err := b.wait(ctx, time.Now().Add(m.NextAttemptAt.Sub(w.now())-margin)); err != nil {
			d.Outcome, d.At = store.OutcomeReleased, w.now()
			w.record(d)
			return
		}
	}
	if ctx.Err() != nil {
		d.Outcome, d.At = store.OutcomeReleased, w.now()
		w.record(d)
		return
	}
	left := m.NextAttemptAt.Sub(w.now()) - margin
	if left <= 0 {
		// Waited too long for a slot or a token: another worker may take
		// it any moment, so let it.
		d.Outcome, d.At = store.OutcomeReleased, w.now()
		w.record(d)
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), left)
	err := sender.Send(sctx, m)
	cancel()
	d.At = w.now()
	if err == nil {
		d.Outcome = store.OutcomeSent
		w.record(d)
		return
	}
	se := errorOf(err)
	d.Error = se.Error()
	attempts := m.Attempts - m.RetryBase
	switch {
	case se.Permanent:
		d.Outcome = store.OutcomeFailed
		if m.Channel == store.ChannelEmail {
			d.Suppress = se.Suppress
		}
	case attempts >= orDefault(w.MaxAttempts, DefaultMaxAttempts):
		d.Outcome = store.OutcomeFailed
		d.Error = fmt.Sprintf("gave up after %d attempts: %s", attempts, d.Error)
	default:
		d.Outcome = store.OutcomeRetry
		d.Next = d.At.Add(max(se.RetryAfter, w.backoff(attempts)))
	}
	w.record(d)
}

// backoff is the wait after the n-th failed attempt: Backoff doubled n-1
// times, at most MaxBackoff, less up to half of it at random so that
// messages failing together do not come back together.
func (w *Worker) backoff(n int) time.Duration {
	base := orDefault(w.Backoff, DefaultBackoff)
	limit := orDefault(w.MaxBackoff, DefaultMaxBackoff)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d - rand.N(d/2+1)
}

// record stores an outcome. It runs even while the worker stops, and
// tries again after a failure: a delivery that happened must be recorded,
// or it would be sent again when the claim expires.
func (w *Worker) record(d store.Delivery) {
	var err error
	for try := range 3 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 250 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = w.Store.RecordDelivery(ctx, d)
		cancel()
		if err == nil {
			return
		}
	}
	w.logger().Error("outbox: record delivery", "id", d.ID, "outcome", d.Outcome, "err", err)
}

// bucket is a token bucket: rate tokens a second, as many at most.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64) *bucket {
	burst := max(rate, 1)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// errNoToken is a bucket's answer when no token comes before the deadline.
var errNoToken = errors.New("outbox: no send slot before the claim ends")

// wait takes a token, waiting for one until ctx is done. When the next
// token would come after deadline it takes none and returns errNoToken at
// once.
func (b *bucket) wait(ctx context.Context, deadline time.Time) error {
	for {
		b.mu.Lock()
		now := time.Now()
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		if now.Add(need).After(deadline) {
			return errNoToken
		}
		t := time.NewTimer(need)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
