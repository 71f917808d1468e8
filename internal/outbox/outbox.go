// Package outbox delivers every message Tend sends — campaign emails,
// notifications to the team, Slack messages and signed webhooks — through
// the durable outbox in the store (store.Outbox).
//
// Whoever decides to send something (the campaign engine, the playbook
// runner) builds a store.OutboxMessage named by an idempotency key and hands
// it to a Queue; deciding twice stores it once. The Worker claims due
// messages, hands each to the Sender of its channel (SMTP, Slack, webhook)
// and records the outcome: sent, retried with backoff after a temporary
// failure, failed after a permanent one (a permanent SMTP failure also
// suppresses the address), or captured — kept, complete, in the outbox —
// when the channel has no sender, as in the demo.
//
// One file per part: queue.go (enqueueing, Message-IDs, the payload
// builders), worker.go, email.go (the MIME message), smtp.go, slack.go,
// webhook.go (delivery and signatures). docs/notifications.md describes the
// guarantees, the webhook payload and how a receiver verifies it.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// A Sender delivers one message of its channel. It returns nil once the
// receiving system has accepted the message, a *SendError for a failure it
// has classified, and any other error for a temporary failure (the network,
// a timeout), which the worker retries. It must return soon after ctx is
// done, without having delivered the message if it can help it.
type Sender interface {
	Send(ctx context.Context, m *store.OutboxMessage) error
}

// SendError is a failed delivery the sender has classified.
type SendError struct {
	Err error
	// Permanent failures are not retried: the same message would fail the
	// same way (an SMTP 5xx, a Slack 404).
	Permanent bool
	// Suppress, on a permanent email failure, puts the recipient on the
	// suppression list with this reason (store.SuppressBounced).
	Suppress string
	// RetryAfter is how long the receiver asked to wait (Slack's 429).
	RetryAfter time.Duration
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s failure: %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// permanent wraps err as a permanent failure.
func permanent(err error) error { return &SendError{Err: err, Permanent: true} }

// errorOf classifies a sender's error: a *SendError as it is, anything else
// as temporary.
func errorOf(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Err: err}
}
