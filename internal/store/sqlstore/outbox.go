package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// maxOutboxPage caps a page of messages or suppressions.
const maxOutboxPage = 500

// maxSubject is the longest subject kept for lists; longer Slack texts are
// cut (an email's subject is refused instead).
const maxSubject = 200

// EnqueueMessages implements store.Outbox.
func (db *DB) EnqueueMessages(ctx context.Context, ms []*store.OutboxMessage) (err error) {
	defer derrors.Wrap(&err, "store.EnqueueMessages(%d)", len(ms))
	if len(ms) == 0 {
		return nil
	}
	payloads := make([]string, len(ms))
	for i, m := range ms {
		p, err := prepareMessage(m)
		if err != nil {
			if len(ms) > 1 {
				var de *derrors.Error
				if errors.As(err, &de) {
					de.Field = fmt.Sprintf("messages[%d].%s", i, de.Field)
				}
			}
			return err
		}
		payloads[i] = p
	}
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for i, m := range ms {
			status, lastErr := store.StatusQueued, ""
			if m.Channel == store.ChannelEmail {
				s, err := scanSuppression(tx.QueryRowContext(ctx, db.query("Suppression"), m.Recipient))
				switch {
				case errors.Is(err, sql.ErrNoRows):
				case err != nil:
					return err
				case m.Transactional && s.Reason == store.SuppressUnsubscribed:
					// A notice to the team is not campaign mail.
				default:
					status, lastErr = store.StatusSuppressed, suppressedBecause(s)
				}
			}
			next := now
			if !m.NextAttemptAt.IsZero() {
				next = msTime(m.NextAttemptAt)
			}
			var id int64
			err := tx.QueryRowContext(ctx, db.query("InsertOutboxMessage"), m.Key, m.Channel, status, m.Recipient,
				m.Subject, m.Transactional, payloads[i], nullID(m.AccountID), nullID(m.ContactID), nullID(m.UserID),
				m.Campaign, m.Step, m.Playbook, m.Firing, db.d.Time(next), lastErr, db.d.Time(now)).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				// The key is taken: this message was enqueued before.
				stored, err := scanMessage(tx.QueryRowContext(ctx, db.query("OutboxMessageByKey"), m.Key), true)
				if err != nil {
					return err
				}
				*m = stored
				m.Existing = true
				continue
			}
			if err != nil {
				return db.mapErr(err)
			}
			m.ID, m.Status, m.LastError, m.Existing = id, status, lastErr, false
			m.Attempts, m.RetryBase, m.NextAttemptAt, m.CreatedAt, m.UpdatedAt, m.SentAt = 0, 0, next, now, now, nil
		}
		return nil
	})
}

func suppressedBecause(s store.Suppression) string {
	return fmt.Sprintf("%s is on the suppression list (%s)", s.Address, s.Reason)
}

// GetMessage implements store.Outbox.
func (db *DB) GetMessage(ctx context.Context, id int64) (store.OutboxMessage, error) {
	m, err := scanMessage(db.r.QueryRowContext(ctx, db.query("OutboxMessage"), id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("message", id)
	}
	if err != nil {
		return m, fmt.Errorf("store.GetMessage(%d): %w", id, err)
	}
	return m, nil
}

// GetMessageByKey implements store.Outbox.
func (db *DB) GetMessageByKey(ctx context.Context, key string) (store.OutboxMessage, error) {
	m, err := scanMessage(db.r.QueryRowContext(ctx, db.query("OutboxMessageByKey"), key), true)
	if errors.Is(err, sql.ErrNoRows) {
		return m, derrors.New(derrors.NotFound, "no message has the key %q", key)
	}
	if err != nil {
		return m, fmt.Errorf("store.GetMessageByKey(%q): %w", key, err)
	}
	return m, nil
}

// checkOutboxFilter refuses a status or channel that does not exist: a
// misspelt filter that lists nothing looks like an empty outbox.
func checkOutboxFilter(f *store.OutboxFilter) error {
	if f.Status != "" && !slices.Contains(store.Statuses, f.Status) {
		return derrors.Field(derrors.Invalid, "status", "%q is not a status (%s)", f.Status, strings.Join(store.Statuses, ", "))
	}
	if f.Channel != "" && !slices.Contains(store.Channels, f.Channel) {
		return derrors.Field(derrors.Invalid, "channel", "%q is not a channel (%s)", f.Channel, strings.Join(store.Channels, ", "))
	}
	if f.AccountID < 0 {
		return derrors.Field(derrors.Invalid, "account_id", "must be positive")
	}
	return nil
}

// ListMessages implements store.Outbox.
func (db *DB) ListMessages(ctx context.Context, f store.OutboxFilter) (page store.OutboxPage, err error) {
	defer derrors.Wrap(&err, "store.ListMessages")
	if err := checkOutboxFilter(&f); err != nil {
		return page, err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > maxOutboxPage {
		return page, derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", maxOutboxPage)
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListOutbox"), f.Status, f.Channel, f.Campaign, f.Playbook, f.AccountID,
		likePattern(strings.TrimSpace(f.Query)), f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Messages = []store.OutboxMessage{}
	for rows.Next() {
		m, err := scanMessage(rows, false)
		if err != nil {
			return page, err
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Messages) > f.Limit {
		page.Messages = page.Messages[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

// CountMessages implements store.Outbox.
func (db *DB) CountMessages(ctx context.Context, f store.OutboxFilter) (counts map[string]int, err error) {
	defer derrors.Wrap(&err, "store.CountMessages")
	f.Status = ""
	if err := checkOutboxFilter(&f); err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("CountOutbox"), f.Channel, f.Campaign, f.Playbook, f.AccountID,
		likePattern(strings.TrimSpace(f.Query)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts = map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		counts[status] = n
	}
	return counts, rows.Err()
}

// ClaimMessages implements store.Outbox.
func (db *DB) ClaimMessages(ctx context.Context, now time.Time, claim time.Duration, limit int) (ms []store.OutboxMessage, err error) {
	defer derrors.Wrap(&err, "store.ClaimMessages")
	if claim <= 0 || limit <= 0 {
		return nil, derrors.New(derrors.Invalid, "a claim needs a positive duration and limit")
	}
	now = msTime(now)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.query("ClaimOutbox"), db.d.Time(now), db.d.Time(now.Add(claim)), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows, true)
			if err != nil {
				return err
			}
			ms = append(ms, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; the worker sends the oldest due first.
	slices.SortFunc(ms, func(a, b store.OutboxMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return ms, nil
}

// RecordDelivery implements store.Outbox.
func (db *DB) RecordDelivery(ctx context.Context, d store.Delivery) (changed bool, err error) {
	defer derrors.Wrap(&err, "store.RecordDelivery(%d, %s)", d.ID, d.Outcome)
	at := db.d.Time(msTime(d.At))
	errText := strings.ToValidUTF8(strings.ReplaceAll(d.Error, "\x00", ""), "?")
	if len(errText) > 2000 {
		errText = errText[:2000]
	}
	var res sql.Result
	switch d.Outcome {
	case store.OutcomeSent, store.OutcomeCaptured:
		res, err = db.w.ExecContext(ctx, db.query("RecordOutboxSent"), d.ID, string(d.Outcome), at)
	case store.OutcomeRetry:
		res, err = db.w.ExecContext(ctx, db.query("RecordOutboxRetry"), d.ID, d.Attempt, at, db.d.Time(msTime(d.Next)), errText)
	case store.OutcomeReleased:
		res, err = db.w.ExecContext(ctx, db.query("RecordOutboxReleased"), d.ID, d.Attempt, at)
	case store.OutcomeFailed:
		if d.Suppress != "" && !slices.Contains(store.SuppressionReasons, d.Suppress) {
			return false, derrors.Field(derrors.Invalid, "suppress", "%q is not a suppression reason", d.Suppress)
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			var channel, recipient string
			err := tx.QueryRowContext(ctx, db.query("RecordOutboxFailed"), d.ID, d.Attempt, at, errText).Scan(&channel, &recipient)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			changed = true
			if d.Suppress == "" || channel != store.ChannelEmail || recipient == "" {
				return nil
			}
			var addr string
			err = tx.QueryRowContext(ctx, db.query("InsertSuppression"), recipient, d.Suppress, errText, at).Scan(&addr)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // already suppressed: the first reason stays
			}
			return err
		})
		return changed, err
	default:
		return false, derrors.Field(derrors.Invalid, "outcome", "%q is not an outcome", d.Outcome)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RetryMessage implements store.Outbox.
func (db *DB) RetryMessage(ctx context.Context, id int64, now time.Time) (m store.OutboxMessage, err error) {
	defer derrors.Wrap(&err, "store.RetryMessage(%d)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanMessage(tx.QueryRowContext(ctx, db.query("OutboxMessage"), id), true)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("message", id)
		}
		if err != nil {
			return err
		}
		switch cur.Status {
		case store.StatusFailed:
		case store.StatusSuppressed:
			s, err := scanSuppression(tx.QueryRowContext(ctx, db.query("Suppression"), cur.Recipient))
			if err == nil && !(cur.Transactional && s.Reason == store.SuppressUnsubscribed) {
				return derrors.New(derrors.Conflict, "%s; take it off the list first", suppressedBecause(s))
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		default:
			return derrors.New(derrors.Conflict, "message %d is %s; only a failed or suppressed message can be retried", id, cur.Status)
		}
		_, err = tx.ExecContext(ctx, db.query("RetryOutboxMessage"), id, db.d.Time(msTime(now)))
		return err
	})
	if err != nil {
		return m, err
	}
	return db.getMessageW(ctx, id)
}

// getMessageW reads a message through the writer, so that it sees the
// write just made (the readers of a SQLite file may lag a commit).
func (db *DB) getMessageW(ctx context.Context, id int64) (store.OutboxMessage, error) {
	return scanMessage(db.w.QueryRowContext(ctx, db.query("OutboxMessage"), id), true)
}

// AddSuppression implements store.Outbox.
func (db *DB) AddSuppression(ctx context.Context, s *store.Suppression) (created bool, err error) {
	defer derrors.Wrap(&err, "store.AddSuppression")
	addr, err := normalizeAddress("address", s.Address)
	if err != nil {
		return false, err
	}
	addr = strings.ToLower(addr)
	if !slices.Contains(store.SuppressionReasons, s.Reason) {
		return false, derrors.Field(derrors.Unprocessable, "reason", "%q is not a reason (%s)", s.Reason,
			strings.Join(store.SuppressionReasons, ", "))
	}
	s.Detail = strings.TrimSpace(s.Detail)
	if err := checkText("detail", s.Detail); err != nil {
		return false, err
	}
	if utf8.RuneCountInString(s.Detail) > 500 {
		return false, derrors.Field(derrors.Unprocessable, "detail", "is longer than 500 characters")
	}
	now := db.now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var got string
		err := tx.QueryRowContext(ctx, db.query("InsertSuppression"), addr, s.Reason, s.Detail, db.d.Time(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			*s, err = scanSuppression(tx.QueryRowContext(ctx, db.query("Suppression"), addr))
			return err
		}
		if err != nil {
			return err
		}
		created = true
		s.Address, s.CreatedAt = addr, now
		return nil
	})
	return created, err
}

// GetSuppression implements store.Outbox.
func (db *DB) GetSuppression(ctx context.Context, address string) (store.Suppression, error) {
	addr := strings.ToLower(strings.TrimSpace(address))
	s, err := scanSuppression(db.r.QueryRowContext(ctx, db.query("Suppression"), addr))
	if errors.Is(err, sql.ErrNoRows) {
		return s, derrors.New(derrors.NotFound, "%s is not on the suppression list", addr)
	}
	if err != nil {
		return s, fmt.Errorf("store.GetSuppression: %w", err)
	}
	return s, nil
}

// RemoveSuppression implements store.Outbox.
func (db *DB) RemoveSuppression(ctx context.Context, address string) error {
	addr := strings.ToLower(strings.TrimSpace(address))
	res, err := db.w.ExecContext(ctx, db.query("DeleteSuppression"), addr)
	if err != nil {
		return fmt.Errorf("store.RemoveSuppression: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return derrors.New(derrors.NotFound, "%s is not on the suppression list", addr)
	}
	return nil
}

// ListSuppressions implements store.Outbox.
func (db *DB) ListSuppressions(ctx context.Context, f store.SuppressionFilter) (page store.SuppressionPage, err error) {
	defer derrors.Wrap(&err, "store.ListSuppressions")
	if f.Reason != "" && !slices.Contains(store.SuppressionReasons, f.Reason) {
		return page, derrors.Field(derrors.Invalid, "reason", "%q is not a reason (%s)", f.Reason,
			strings.Join(store.SuppressionReasons, ", "))
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > maxOutboxPage {
		return page, derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", maxOutboxPage)
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListSuppressions"), f.Reason, likePattern(strings.TrimSpace(f.Query)),
		f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Suppressions = []store.Suppression{}
	for rows.Next() {
		s, err := scanSuppression(rows)
		if err != nil {
			return page, err
		}
		page.Suppressions = append(page.Suppressions, s)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Suppressions) > f.Limit {
		page.Suppressions = page.Suppressions[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

func scanSuppression(row interface{ Scan(...any) error }) (store.Suppression, error) {
	var s store.Suppression
	err := row.Scan(&s.Address, &s.Reason, &s.Detail, timeVal{&s.CreatedAt})
	return s, err
}

// scanMessage reads a message's columns, and its payload when the query
// returns it.
func scanMessage(row interface{ Scan(...any) error }, withPayload bool) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	var payload string
	dest := []any{&m.ID, &m.Key, &m.Channel, &m.Status, &m.Recipient, &m.Subject, &m.Transactional,
		idVal{&m.AccountID}, idVal{&m.ContactID}, idVal{&m.UserID}, &m.Campaign, &m.Step, &m.Playbook, &m.Firing,
		&m.Attempts, &m.RetryBase, timeVal{&m.NextAttemptAt}, &m.LastError, timeVal{&m.CreatedAt},
		timeVal{&m.UpdatedAt}, nullTimeVal{&m.SentAt}}
	if withPayload {
		dest = append(dest, &payload)
	}
	if err := row.Scan(dest...); err != nil {
		return m, err
	}
	if !withPayload {
		return m, nil
	}
	var err error
	switch m.Channel {
	case store.ChannelEmail:
		m.Email = new(store.Email)
		err = json.Unmarshal([]byte(payload), m.Email)
	case store.ChannelSlack:
		m.Slack = new(store.SlackMessage)
		err = json.Unmarshal([]byte(payload), m.Slack)
	case store.ChannelWebhook:
		m.Webhook = new(store.WebhookMessage)
		err = json.Unmarshal([]byte(payload), m.Webhook)
	}
	if err != nil {
		return m, fmt.Errorf("message %d: payload: %w", m.ID, err)
	}
	return m, nil
}

// prepareMessage validates a message to enqueue, fills what the store
// derives (recipient, subject) and returns its payload as JSON.
func prepareMessage(m *store.OutboxMessage) (string, error) {
	m.Key = strings.TrimSpace(m.Key)
	switch {
	case m.Key == "":
		return "", derrors.Field(derrors.Unprocessable, "key", "is required: name the message by what makes it unique")
	case len(m.Key) > store.MaxMessageKey:
		return "", derrors.Field(derrors.Unprocessable, "key", "is longer than %d bytes", store.MaxMessageKey)
	}
	if err := checkText("key", m.Key); err != nil {
		return "", err
	}
	for _, r := range []struct{ field, v string }{{"campaign", m.Campaign}, {"step", m.Step}, {"playbook", m.Playbook}, {"firing", m.Firing}} {
		if err := checkText(r.field, r.v); err != nil {
			return "", err
		}
		if len(r.v) > store.MaxRef {
			return "", derrors.Field(derrors.Unprocessable, r.field, "is longer than %d bytes", store.MaxRef)
		}
	}
	if !slices.Contains(store.Channels, m.Channel) {
		return "", derrors.Field(derrors.Unprocessable, "channel", "%q is not a channel (%s)", m.Channel, strings.Join(store.Channels, ", "))
	}
	set := 0
	for _, p := range []bool{m.Email != nil, m.Slack != nil, m.Webhook != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		return "", derrors.Field(derrors.Unprocessable, m.Channel, "a message carries the payload of its channel only")
	}
	var payload any
	var err error
	switch m.Channel {
	case store.ChannelEmail:
		if m.Email == nil {
			return "", derrors.Field(derrors.Unprocessable, "email", "is required on an email message")
		}
		err = prepareEmail(m)
		payload = m.Email
	case store.ChannelSlack:
		if m.Slack == nil {
			return "", derrors.Field(derrors.Unprocessable, "slack", "is required on a Slack message")
		}
		m.Recipient, err = postURL("slack.url", m.Slack.URL)
		if err == nil {
			err = jsonObject("slack.body", m.Slack.Body)
		}
		payload = m.Slack
	case store.ChannelWebhook:
		if m.Webhook == nil {
			return "", derrors.Field(derrors.Unprocessable, "webhook", "is required on a webhook message")
		}
		m.Recipient, err = postURL("webhook.url", m.Webhook.URL)
		if err == nil {
			err = jsonObject("webhook.body", m.Webhook.Body)
		}
		if err == nil && !secretName.MatchString(m.Webhook.Secret) {
			err = derrors.Field(derrors.Unprocessable, "webhook.secret", "must name the signing secret's environment variable (TEND_WEBHOOK_SECRET_…)")
		}
		payload = m.Webhook
	default:
		return "", derrors.Field(derrors.Unprocessable, "channel", "%q is not a channel (%s)", m.Channel, strings.Join(store.Channels, ", "))
	}
	if err != nil {
		return "", err
	}
	if m.Channel != store.ChannelEmail {
		m.Subject = strings.ToValidUTF8(strings.TrimSpace(strings.ReplaceAll(m.Subject, "\x00", "")), "")
		if utf8.RuneCountInString(m.Subject) > maxSubject {
			m.Subject = string([]rune(m.Subject)[:maxSubject-1]) + "…"
		}
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	if len(b) > store.MaxPayload {
		return "", derrors.Field(derrors.Unprocessable, m.Channel, "the message is larger than %d MiB", store.MaxPayload>>20)
	}
	return string(b), nil
}

// secretName is an environment variable a webhook's signing secret may be
// read from: only Tend's own, so that a workspace cannot point the signer
// at the database password.
var secretName = regexp.MustCompile(`^TEND_WEBHOOK_SECRET_[A-Z0-9_]+$`)

// messageID is what a Message-ID may hold between its angle brackets.
var messageID = regexp.MustCompile(`^[!#-'*+\-/-9=?A-Z^-~.]+@[!#-'*+\-/-9=?A-Z^-~.\[\]]+$`)

// reservedHeaders are the header fields built from the message itself.
var reservedHeaders = []string{"from", "to", "cc", "bcc", "reply-to", "subject", "message-id", "date", "sender",
	"mime-version", "content-type", "content-transfer-encoding", "return-path"}

func prepareEmail(m *store.OutboxMessage) error {
	e := m.Email
	var err error
	if e.To.Email, err = normalizeAddress("email.to", e.To.Email); err != nil {
		return err
	}
	if e.From.Email, err = normalizeAddress("email.from", e.From.Email); err != nil {
		return err
	}
	if e.ReplyTo.Email != "" {
		if e.ReplyTo.Email, err = normalizeAddress("email.reply_to", e.ReplyTo.Email); err != nil {
			return err
		}
	}
	for _, f := range []struct{ field, v string }{{"email.to.name", e.To.Name}, {"email.from.name", e.From.Name},
		{"email.reply_to.name", e.ReplyTo.Name}, {"email.subject", e.Subject}} {
		if strings.ContainsAny(f.v, "\r\n") {
			return derrors.Field(derrors.Unprocessable, f.field, "must be one line")
		}
		if err := checkText(f.field, f.v); err != nil {
			return err
		}
	}
	e.Subject = strings.TrimSpace(e.Subject)
	switch {
	case e.Subject == "":
		return derrors.Field(derrors.Unprocessable, "email.subject", "is required")
	case utf8.RuneCountInString(e.Subject) > 998:
		return derrors.Field(derrors.Unprocessable, "email.subject", "is longer than 998 characters")
	case e.Text == "" && e.HTML == "":
		return derrors.Field(derrors.Unprocessable, "email.text", "an email needs a text or an HTML body")
	case !messageID.MatchString(e.MessageID):
		return derrors.Field(derrors.Unprocessable, "email.message_id", "must be an id like 3f2a…@example.com, without angle brackets (outbox.MessageID makes one from the key)")
	}
	for _, f := range []struct{ field, v string }{{"email.text", e.Text}, {"email.html", e.HTML}} {
		if err := checkText(f.field, f.v); err != nil {
			return err
		}
	}
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	for name, v := range e.Headers {
		field := "email.headers." + name
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) >= 0 {
			return derrors.Field(derrors.Unprocessable, field, "is not a header field name")
		}
		if slices.Contains(reservedHeaders, strings.ToLower(name)) {
			return derrors.Field(derrors.Unprocessable, field, "is set from the message itself, not as a header")
		}
		if strings.ContainsAny(v, "\r\n") {
			return derrors.Field(derrors.Unprocessable, field, "must be one line")
		}
		if err := checkText(field, v); err != nil {
			return err
		}
	}
	m.Recipient = strings.ToLower(e.To.Email)
	m.Subject = e.Subject
	return nil
}

// normalizeAddress checks a bare email address and trims it. (The
// suppression list and the recipient column hold it lower-cased, to match
// it in any case; the message keeps it as written.)
func normalizeAddress(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", derrors.Field(derrors.Unprocessable, field, "is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", derrors.Field(derrors.Unprocessable, field, "%q is not an email address", s)
	}
	return s, nil
}

// postURL checks a URL to post to and returns its host.
func postURL(field, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", derrors.Field(derrors.Unprocessable, field, "must be an http or https URL without credentials")
	}
	return strings.ToLower(u.Host), nil
}

// jsonObject checks that a body is one JSON object.
func jsonObject(field string, b json.RawMessage) error {
	var v map[string]json.RawMessage
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return derrors.Field(derrors.Unprocessable, field, "must be a JSON object")
	}
	return nil
}
