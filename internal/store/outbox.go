package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
)

// Outbox stores every message Tend sends — campaign emails, notifications
// to the team, Slack messages, webhooks — from the moment it is decided
// until it is delivered, failed or captured. A message is enqueued once per
// idempotency key, claimed by a worker, and its delivery recorded; several
// workers, in one process or in replicas sharing PostgreSQL, never hold one
// message at once.
//
// The email suppression list lives here too: an email to a suppressed
// address is stored as suppressed, never sent.
type Outbox interface {
	// EnqueueMessages stores the messages in one transaction, each as
	// queued and due at once (or at NextAttemptAt when it is set), or as
	// suppressed when it is an email to an address on the suppression list
	// (a transactional email ignores an unsubscription, not a bounce or a
	// complaint). A message whose Key is already stored is not stored again:
	// *m is replaced by the stored message and Existing set, so that a
	// caller repeating itself after a crash learns what became of the first
	// attempt. Otherwise *m gets its ID, status and times. A message that
	// fails validation fails the whole call (Unprocessable, naming the
	// field, with the index of the message when there are several).
	EnqueueMessages(ctx context.Context, ms []*OutboxMessage) error
	// GetMessage returns a message with its payload.
	GetMessage(ctx context.Context, id int64) (OutboxMessage, error)
	// GetMessageByKey returns the message with an idempotency key.
	GetMessageByKey(ctx context.Context, key string) (OutboxMessage, error)
	// ListMessages returns messages newest first, without their payloads
	// (Subject and Recipient summarise them).
	ListMessages(ctx context.Context, f OutboxFilter) (OutboxPage, error)
	// CountMessages counts the messages a filter selects by status; the
	// filter's own status and paging are ignored.
	CountMessages(ctx context.Context, f OutboxFilter) (map[string]int, error)
	// ClaimMessages takes up to limit messages that are due at now — queued
	// ones whose NextAttemptAt has come, and sending ones whose claim has
	// expired (their worker died) — oldest due first, and marks them
	// sending until now+claim, counting an attempt each. The returned
	// messages carry their payloads; NextAttemptAt is the claim's expiry
	// and Attempts the claim's number, which RecordDelivery checks. Two
	// callers at once never get the same message (PostgreSQL: FOR UPDATE
	// SKIP LOCKED; SQLite: one writer).
	ClaimMessages(ctx context.Context, now time.Time, claim time.Duration, limit int) ([]OutboxMessage, error)
	// RecordDelivery records what became of a claimed message. Sent and
	// captured are recorded whenever the message is still sending, even
	// when its claim expired and was taken again (it was delivered: that is
	// the truth to keep); the other outcomes only while the claim is the
	// one recorded (same Attempt), so that a worker that lost its claim
	// cannot undo another's work. It reports whether the message changed.
	// A failure with Suppress set adds the email's recipient to the
	// suppression list in the same transaction.
	RecordDelivery(ctx context.Context, d Delivery) (bool, error)
	// RetryMessage queues a failed message again, due at now, with a fresh
	// budget of attempts; a suppressed one too once its address is no
	// longer suppressed. Any other status is Conflict.
	RetryMessage(ctx context.Context, id int64, now time.Time) (OutboxMessage, error)

	// AddSuppression adds an address (lower-cased) to the suppression list.
	// An address already there keeps its first entry, which is copied into
	// *s, and created is false.
	AddSuppression(ctx context.Context, s *Suppression) (created bool, err error)
	// GetSuppression returns the entry of an address (any case).
	GetSuppression(ctx context.Context, address string) (Suppression, error)
	// RemoveSuppression takes an address off the list; NotFound when it is
	// not on it. Messages already suppressed stay so (RetryMessage requeues
	// one).
	RemoveSuppression(ctx context.Context, address string) error
	// ListSuppressions returns the list newest first.
	ListSuppressions(ctx context.Context, f SuppressionFilter) (SuppressionPage, error)
}

// The channels a message goes out on.
const (
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
)

// Channels lists the channels in the order the UI shows them.
var Channels = []string{ChannelEmail, ChannelSlack, ChannelWebhook}

// The statuses of a message. Queued and sending are the worker's; the rest
// are final, except that a failed message can be retried.
const (
	StatusQueued     = "queued"
	StatusSending    = "sending"
	StatusSent       = "sent"
	StatusFailed     = "failed"
	StatusCaptured   = "captured"
	StatusSuppressed = "suppressed"
)

// Statuses lists the statuses in the order the UI shows them.
var Statuses = []string{StatusQueued, StatusSending, StatusSent, StatusFailed, StatusCaptured, StatusSuppressed}

// The reasons an address is suppressed.
const (
	SuppressUnsubscribed = "unsubscribed"
	SuppressBounced      = "bounced"
	SuppressComplaint    = "complaint"
	SuppressManual       = "manual"
)

// SuppressionReasons lists the reasons.
var SuppressionReasons = []string{SuppressUnsubscribed, SuppressBounced, SuppressComplaint, SuppressManual}

// Limits on a message, checked on enqueue.
const (
	// MaxMessageKey is the longest idempotency key.
	MaxMessageKey = 300
	// MaxPayload is the largest payload, as stored JSON.
	MaxPayload = 2 << 20
	// MaxRef is the longest campaign, step, playbook or firing reference.
	MaxRef = 200
)

// OutboxMessage is one message in the outbox.
type OutboxMessage struct {
	ID int64 `json:"id"`
	// Key is the idempotency key: whoever decides to send a message names
	// it by what makes it unique (campaign × step × contact, playbook ×
	// firing × action), so that deciding twice sends once.
	Key     string `json:"key"`
	Channel string `json:"channel"`
	Status  string `json:"status"`
	// Recipient is the email address (lower-cased), or the host a Slack or
	// webhook message is posted to; filled by the store.
	Recipient string `json:"recipient"`
	// Subject summarises the message in lists: an email's subject (filled
	// by the store), a Slack message's text, a webhook's event type.
	Subject string `json:"subject"`
	// Transactional marks a notice to the team rather than campaign mail:
	// an unsubscription does not stop it (a bounce still does).
	Transactional bool `json:"transactional"`

	// What the message is about, for the outbox's filters and the account
	// page. All optional.
	AccountID *int64 `json:"account_id"`
	ContactID *int64 `json:"contact_id"`
	UserID    *int64 `json:"user_id"`
	Campaign  string `json:"campaign"`
	Step      string `json:"step"`
	Playbook  string `json:"playbook"`
	Firing    string `json:"firing"`

	// Attempts counts the claims of the message, every one ever made.
	Attempts int `json:"attempts"`
	// NextAttemptAt is when a queued message is due, or when a sending
	// message's claim expires.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// LastError is the last failed attempt's error, or why a message was
	// suppressed.
	LastError string     `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SentAt    *time.Time `json:"sent_at"`

	// The payload: the one of the message's channel is set. Lists leave
	// them out.
	Email   *Email          `json:"email,omitempty"`
	Slack   *SlackMessage   `json:"slack,omitempty"`
	Webhook *WebhookMessage `json:"webhook,omitempty"`

	// Existing is set by EnqueueMessages when the key was already stored.
	Existing bool `json:"-"`
	// RetryBase is Attempts when the message was last retried by hand; the
	// worker's budget counts the attempts since.
	RetryBase int `json:"-"`
}

// Email is a rendered email, ready to send as it is.
type Email struct {
	From    Address `json:"from"`
	ReplyTo Address `json:"reply_to"`
	To      Address `json:"to"`
	Subject string  `json:"subject"`
	Text    string  `json:"text"`
	HTML    string  `json:"html"`
	// Headers are extra header fields, e.g. List-Unsubscribe and
	// List-Unsubscribe-Post (RFC 8058). The fields the message is built
	// from (From, To, Subject, Message-ID, Date, MIME and content fields)
	// cannot be set here.
	Headers map[string]string `json:"headers"`
	// MessageID is the Message-ID without angle brackets, derived from the
	// idempotency key (outbox.MessageID), so that every attempt carries the
	// same one and a receiver can drop a duplicate.
	MessageID string `json:"message_id"`
}

// Address is a mailbox: a display name and an address.
type Address struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// SlackMessage is a message for a Slack incoming webhook.
type SlackMessage struct {
	// URL is the incoming webhook's URL, a secret: the API and the UI show
	// it shortened.
	URL string `json:"url"`
	// Body is the JSON posted: {"text": …, "blocks": […]}.
	Body json.RawMessage `json:"body"`
}

// WebhookMessage is a signed POST of a JSON body.
type WebhookMessage struct {
	URL  string          `json:"url"`
	Body json.RawMessage `json:"body"`
	// Secret names the signing secret, which is never stored: the worker
	// reads it from the environment variable of that name.
	Secret string `json:"secret"`
}

// Delivery is what became of one claimed message.
type Delivery struct {
	ID int64
	// Attempt is the claim's Attempts, as ClaimMessages returned it.
	Attempt int
	Outcome Outcome
	At      time.Time
	// Next is when a retried message is due again.
	Next time.Time
	// Error says what went wrong (retry and failed).
	Error string
	// Suppress, on a failed email, adds its recipient to the suppression
	// list with this reason (a permanent SMTP failure: bounced).
	Suppress string
}

// Outcome is the result of one delivery attempt.
type Outcome string

// The outcomes of an attempt.
const (
	// Sent: the receiving system accepted the message.
	OutcomeSent Outcome = "sent"
	// Captured: kept in the outbox instead of sent (no SMTP configured).
	OutcomeCaptured Outcome = "captured"
	// Retry: a temporary failure; queued again for Next.
	OutcomeRetry Outcome = "retry"
	// Failed: a permanent failure, or the attempts ran out.
	OutcomeFailed Outcome = "failed"
	// Released: not attempted (the worker stopped first); queued again at
	// once, the claim's attempt not counted.
	OutcomeReleased Outcome = "released"
)

// OutboxFilter selects messages.
type OutboxFilter struct {
	Status    string
	Channel   string
	AccountID int64
	Campaign  string
	Playbook  string
	// Query matches the recipient or the subject (case-insensitively).
	Query  string
	Limit  int
	Cursor string
}

// OutboxPage is one page of messages.
type OutboxPage struct {
	Messages []OutboxMessage `json:"data"`
	Next     string          `json:"next"`
}

// Suppression is an address Tend never emails.
type Suppression struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
	// Detail says more: the SMTP server's answer to a bounce, who added
	// it by hand and why.
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
}

// SuppressionFilter selects suppressions.
type SuppressionFilter struct {
	Reason string
	// Query matches part of the address.
	Query  string
	Limit  int
	Cursor string
}

// SuppressionPage is one page of suppressions.
type SuppressionPage struct {
	Suppressions []Suppression `json:"data"`
	Next         string        `json:"next"`
}

// unsubscribeDetailPrefix starts the suppression detail of an
// unsubscription made with the link in an email.
const unsubscribeDetailPrefix = "unsubscribed with the link in an email"

// UnsubscribeDetail is the suppression detail of an unsubscription made
// with the link in an email of the campaign ("" none): the campaign
// counts read it back with UnsubscribedCampaign.
func UnsubscribeDetail(campaign string) string {
	if campaign == "" {
		return unsubscribeDetailPrefix
	}
	return unsubscribeDetailPrefix + " of campaign " + campaign
}

// UnsubscribedCampaign reads the campaign back from a suppression detail
// UnsubscribeDetail wrote.
func UnsubscribedCampaign(detail string) (string, bool) {
	key, ok := strings.CutPrefix(detail, unsubscribeDetailPrefix+" of campaign ")
	return key, ok && key != ""
}

// Unsubscribe is what an email's unsubscribe link does: the contact is
// marked unsubscribed from campaign mail and the address is put on the
// suppression list, naming the campaign the link came in. Doing it again
// changes nothing.
func Unsubscribe(ctx context.Context, st Store, c account.Contact, campaign string) error {
	if !c.Unsubscribed {
		c.Unsubscribed = true
		if err := st.UpdateContact(ctx, &c); err != nil {
			return err
		}
	}
	if c.Email == "" {
		return nil
	}
	_, err := st.AddSuppression(ctx, &Suppression{Address: c.Email, Reason: SuppressUnsubscribed, Detail: UnsubscribeDetail(campaign)})
	return err
}
