package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// Queue is how the rest of Tend sends a message: it fills an email's
// defaults (the From address, a Message-ID derived from the key), stores
// the messages in the outbox and wakes the worker. It is safe for
// concurrent use.
type Queue struct {
	st   store.Outbox
	from store.Address
	wake func()
}

// NewQueue returns a queue over the store whose emails are from from when
// they name no sender. A process without a worker (an import, a CLI
// command) enqueues through one; a running worker picks the messages up
// within its poll interval.
func NewQueue(st store.Outbox, from store.Address) *Queue {
	return &Queue{st: st, from: from, wake: func() {}}
}

// Enqueue stores the messages in one transaction. A message whose key was
// enqueued before is not stored again: *m becomes the stored message, with
// Existing set (see store.Outbox.EnqueueMessages). An email without a From
// gets the queue's; one without a MessageID gets MessageID(key, the From's
// domain).
func (q *Queue) Enqueue(ctx context.Context, ms ...*store.OutboxMessage) error {
	for _, m := range ms {
		if m.Email == nil {
			continue
		}
		if m.Email.From.Email == "" {
			m.Email.From = q.from
		}
		if m.Email.MessageID == "" {
			m.Email.MessageID = MessageID(m.Key, domainOf(m.Email.From.Email))
		}
	}
	if err := q.st.EnqueueMessages(ctx, ms); err != nil {
		return err
	}
	q.wake()
	return nil
}

// MessageID is the Message-ID (without angle brackets) of the email with
// the idempotency key: the same on every attempt, so that a receiving
// system that sees a message twice (the one window in which Tend cannot
// know whether a send went through, docs/notifications.md) can drop the
// copy.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	if domain == "" {
		domain = "tend.invalid"
	}
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// Notify makes the queue call wake after every enqueue, e.g. the Kick of
// the worker in the same process. Call it before the queue is used.
func (q *Queue) Notify(wake func()) *Queue {
	q.wake = wake
	return q
}

// NewEmail builds an email message with the idempotency key. A zero
// From or MessageID is filled by Queue.Enqueue.
func NewEmail(key string, e store.Email) *store.OutboxMessage {
	return &store.OutboxMessage{Key: key, Channel: store.ChannelEmail, Email: &e}
}

// UnsubscribeHeaders are the header fields of one-click unsubscription
// (RFC 2369, RFC 8058) for an email's Headers: url must be an HTTPS URL
// that unsubscribes on a POST without further confirmation.
func UnsubscribeHeaders(url string) map[string]string {
	return map[string]string{
		"List-Unsubscribe":      "<" + url + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}

// NewSlack builds a Slack message for an incoming webhook: text is the
// message (and its notification preview), blocks, when set, Block Kit
// blocks that Slack shows instead.
func NewSlack(key, url, text string, blocks json.RawMessage) *store.OutboxMessage {
	body := struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks,omitempty"`
	}{text, blocks}
	b, _ := json.Marshal(body) // a string and a JSON value: cannot fail
	return &store.OutboxMessage{Key: key, Channel: store.ChannelSlack, Subject: text,
		Slack: &store.SlackMessage{URL: url, Body: b}}
}

// Event is the JSON body of every webhook Tend sends
// (docs/notifications.md).
type Event struct {
	// ID is the message's idempotency key: a receiver that has seen it
	// before drops the delivery.
	ID string `json:"id"`
	// Type says what happened, e.g. "playbook.notify".
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	// Account is the account the event is about, if any.
	Account *EventAccount `json:"account,omitempty"`
	// Playbook and Firing name the playbook and the firing that sent it.
	Playbook string `json:"playbook,omitempty"`
	Firing   string `json:"firing,omitempty"`
	// Text is the human-readable message.
	Text string `json:"text,omitempty"`
	// Data holds the sender's own fields.
	Data json.RawMessage `json:"data,omitempty"`
}

// EventAccount identifies an account in a webhook.
type EventAccount struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"external_id,omitempty"`
}

// NewWebhook builds a webhook message posting ev to url, signed with the
// secret in the environment variable secret (TEND_WEBHOOK_SECRET_…). The
// event's ID is the message's key.
func NewWebhook(key, url, secret string, ev Event) (*store.OutboxMessage, error) {
	ev.ID = key
	ev.CreatedAt = ev.CreatedAt.UTC()
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	m := &store.OutboxMessage{Key: key, Channel: store.ChannelWebhook, Subject: ev.Type,
		Playbook: ev.Playbook, Firing: ev.Firing,
		Webhook: &store.WebhookMessage{URL: url, Body: b, Secret: secret}}
	if ev.Account != nil && ev.Account.ID > 0 {
		id := ev.Account.ID
		m.AccountID = &id
	}
	return m, nil
}
