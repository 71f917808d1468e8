package outbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// The header fields of a webhook.
const (
	// SignatureHeader carries t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" keyed with the secret>.
	SignatureHeader = "Tend-Signature"
	// EventHeader carries the event's type.
	EventHeader = "Tend-Event"
	// DeliveryHeader carries the message's idempotency key, the same on
	// every attempt: a receiver drops a delivery it has seen.
	DeliveryHeader = "Tend-Delivery"
)

// SecretPrefix begins the name of every environment variable a webhook's
// secret may be read from, so that a webhook cannot be signed with any
// other variable of the server's environment.
const SecretPrefix = "TEND_WEBHOOK_SECRET_"

// Webhook posts signed webhooks. It is safe for concurrent use.
type Webhook struct {
	// Client defaults to one with a 30-second timeout.
	Client *http.Client
	// Secret looks a secret up by its name (WebhookMessage.Secret);
	// os.LookupEnv by default.
	Secret func(name string) (string, bool)
	// Now is the signature's time; time.Now by default.
	Now func() time.Time
}

// Send implements Sender: 2xx is delivered; 408 and 429 and 5xx are
// retried; any other 4xx (410 Gone: the receiver is no more) is
// permanent. A secret that is not set fails the message: set it and retry
// the message from the outbox.
func (w *Webhook) Send(ctx context.Context, m *store.OutboxMessage) error {
	h := m.Webhook
	if h == nil {
		return permanent(errors.New("not a webhook"))
	}
	if !strings.HasPrefix(h.Secret, SecretPrefix) {
		return permanent(fmt.Errorf("secret %q: the name must begin with %s", h.Secret, SecretPrefix))
	}
	lookup := w.Secret
	if lookup == nil {
		lookup = os.LookupEnv
	}
	secret, ok := lookup(h.Secret)
	if !ok || secret == "" {
		return permanent(fmt.Errorf("secret %s is not set", h.Secret))
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	hdr := http.Header{}
	hdr.Set(SignatureHeader, Sign(secret, now, h.Body))
	hdr.Set(EventHeader, m.Subject)
	hdr.Set(DeliveryHeader, m.Key)
	return post(ctx, w.Client, h.URL, h.Body, hdr, func(code int) bool {
		return code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
	})
}

// Sign returns the Tend-Signature of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return h.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no valid Tend-Signature")
	ErrBadSignature = errors.New("webhook: signature does not match the body")
	ErrStale        = errors.New("webhook: signature time outside the tolerance")
)

// Verify checks a webhook as its receiver gets it: header is the
// Tend-Signature field, body the raw request body (before any JSON
// decoding), now the receiver's time. The signature must match one v1
// value (several are allowed, for a change of secret) and its time must be
// within tolerance of now, which stops a recorded request being replayed
// later (5 minutes is usual; 0 checks no time).
func Verify(secret string, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrStale
		}
	}
	return nil
}
