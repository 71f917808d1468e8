package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/sqlstore"
)

// BenchmarkDeliverSMTP measures the worker end to end: b.N campaign
// emails, enqueued beforehand, claimed, rendered as MIME, delivered over
// SMTP to an in-process go-smtp server and recorded as sent, on in-memory
// SQLite (or PostgreSQL when TEND_TEST_DATABASE_URL is set, with
// -bench=DeliverSMTP/postgres).
func BenchmarkDeliverSMTP(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.OpenMemory(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchDeliver(b, db)
	})
	b.Run("postgres", func(b *testing.B) { benchDeliver(b, openPostgres(b)) })
}

func benchDeliver(b *testing.B, db *sqlstore.DB) {
	ctx := context.Background()
	s := newSink(b)
	s.discard = true
	snd, err := outbox.NewSMTP(outbox.SMTPConfig{Host: "127.0.0.1", Port: s.port, TLS: outbox.TLSNone, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer snd.Close()
	q := outbox.NewQueue(db, store.Address{Name: "Dana Advisor", Email: "dana@tend.test"})
	for i := 0; i < b.N; i += 500 {
		var ms []*store.OutboxMessage
		for j := i; j < min(i+500, b.N); j++ {
			ms = append(ms, welcome(fmt.Sprintf("bench/%d/contact-%d", b.N, j), fmt.Sprintf("c%d@initech.test", j)))
		}
		if err := q.Enqueue(ctx, ms...); err != nil {
			b.Fatal(err)
		}
	}
	w := &outbox.Worker{Store: db, Senders: map[string]outbox.Sender{store.ChannelEmail: snd},
		Concurrency: 8, Batch: 100, Poll: 5 * time.Millisecond}
	b.ResetTimer()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	for {
		counts, err := db.CountMessages(ctx, store.OutboxFilter{})
		if err != nil {
			b.Fatal(err)
		}
		if counts[store.StatusSent] == b.N {
			break
		}
		if counts[store.StatusFailed] > 0 {
			b.Fatalf("counts %v", counts)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
