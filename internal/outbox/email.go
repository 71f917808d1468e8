package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	mail "github.com/wneessen/go-mail"

	"github.com/tendhq/tend/internal/store"
)

// userAgent names Tend in the User-Agent and X-Mailer fields.
const userAgent = "Tend"

// buildEmail turns an outbox email into the MIME message sent. Everything
// in it comes from the stored message — the Date is when it was enqueued,
// the boundary is derived from the key — so that every attempt sends the
// same bytes and RenderEmail shows exactly what went out. envelopeFrom,
// when set, is the SMTP MAIL FROM (where bounces go).
func buildEmail(m *store.OutboxMessage, envelopeFrom string) (*mail.Msg, error) {
	e := m.Email
	if e == nil {
		return nil, fmt.Errorf("message %d is not an email", m.ID)
	}
	sum := sha256.Sum256([]byte("boundary:" + m.Key))
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent(), mail.WithBoundary("tend-"+hex.EncodeToString(sum[:12])))
	if err := msg.FromFormat(e.From.Name, e.From.Email); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.AddToFormat(e.To.Name, e.To.Email); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if e.ReplyTo.Email != "" {
		if err := msg.ReplyToFormat(e.ReplyTo.Name, e.ReplyTo.Email); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
	}
	if envelopeFrom != "" {
		if err := msg.EnvelopeFrom(envelopeFrom); err != nil {
			return nil, fmt.Errorf("envelope from: %w", err)
		}
	}
	msg.Subject(e.Subject)
	id := e.MessageID
	if id == "" {
		// Enqueued around the Queue: still one Message-ID per key.
		id = MessageID(m.Key, domainOf(e.From.Email))
	}
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetUserAgent(userAgent)
	for _, name := range slices.Sorted(maps.Keys(e.Headers)) {
		// Generic fields, which go-mail writes sorted: its preformatted
		// ones come out in map order, and every attempt must send the same
		// bytes. An ASCII value is written as given (List-Unsubscribe's
		// <https://…> must reach the receiver untouched, RFC 2369, RFC
		// 8058); it is only folded at its spaces when long.
		msg.SetGenHeader(mail.Header(name), e.Headers[name])
	}
	switch {
	case e.Text != "" && e.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	case e.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, e.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
	}
	return msg, nil
}

// RenderEmail returns an outbox email as the RFC 5322 message the SMTP
// sender writes (without the envelope): the source a mail catcher shows.
func RenderEmail(m *store.OutboxMessage) ([]byte, error) {
	msg, err := buildEmail(m, "")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
