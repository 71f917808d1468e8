package outbox_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

func smtpWorker(st store.Outbox, c *clock, s outbox.Sender) *outbox.Worker {
	w := &outbox.Worker{Store: st, Clock: c.Now, Senders: map[string]outbox.Sender{store.ChannelEmail: s},
		Concurrency: 4, Poll: 20 * time.Millisecond}
	return w
}

// parts reads a received message: its header and its text and HTML
// bodies.
func parts(t *testing.T, data []byte) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	var text, html string
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			html = string(b)
		}
	}
	return msg.Header, text, html
}

// A campaign email goes out over SMTP as enqueued: to the contact, from
// the default sender, with one-click unsubscription, a Message-ID derived
// from its key, and a text body with an HTML alternative.
func TestSMTPDelivers(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		s := newSink(t)
		w := smtpWorker(st, c, s.sender(t))
		q := outbox.NewQueue(st, store.Address{Name: "Dana Advisor", Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		m := welcome("campaign/admin-onboarding/welcome/contact-7", "Ann@Initech.test")
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, st, m.Key, store.StatusSent)
		if got.SentAt == nil || !got.SentAt.Equal(c.Now()) {
			t.Errorf("SentAt %v, want %v", got.SentAt, c.Now())
		}
		rs := s.messages()
		if len(rs) != 1 {
			t.Fatalf("received %d messages, want 1", len(rs))
		}
		r := rs[0]
		if len(r.to) != 1 || !strings.EqualFold(r.to[0], "ann@initech.test") || r.from != "dana@tend.test" {
			t.Errorf("envelope from %q to %v", r.from, r.to)
		}
		h, text, html := parts(t, r.data)
		wantID := "<" + outbox.MessageID(m.Key, "tend.test") + ">"
		for field, want := range map[string]string{
			"Message-Id":            wantID,
			"From":                  `"Dana Advisor" <dana@tend.test>`,
			"To":                    `"Ann Admin" <Ann@Initech.test>`,
			"Reply-To":              "<dana@tend.test>",
			"Subject":               "Welcome to your new instance",
			"List-Unsubscribe":      "<https://tend.test/u/abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		} {
			if got := h.Get(field); got != want {
				t.Errorf("%s: %q, want %q", field, got, want)
			}
		}
		if text != "Hi Ann,\n\nwelcome aboard." {
			t.Errorf("text %q", text)
		}
		if html != "<p>Hi Ann,</p><p>welcome aboard.</p>" {
			t.Errorf("html %q", html)
		}
		// What the outbox shows is what went out.
		rendered, err := outbox.RenderEmail(&got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace(rendered), bytes.TrimSpace(r.data)) {
			t.Errorf("RenderEmail differs from the message sent:\n%s\n---\n%s", rendered, r.data)
		}
	})
}

// A 4xx is temporary: the message is queued again with backoff and sent
// on a later attempt, carrying the same Message-ID (the same bytes,
// indeed) so that a receiver that kept the first copy can drop the second.
func TestSMTPTemporaryFailureRetries(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		s := newSink(t)
		s.tempData = 1
		w := smtpWorker(st, c, s.sender(t))
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		m := welcome("campaign/x/welcome/contact-8", "bob@initech.test")
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		got := waitFor(t, st, m.Key, "queued after an attempt", func(m store.OutboxMessage) bool {
			return m.Status == store.StatusQueued && m.Attempts == 1
		})
		if !strings.Contains(got.LastError, "451") {
			t.Errorf("after the 451: last error %q", got.LastError)
		}
		wait := got.NextAttemptAt.Sub(c.Now())
		if wait < outbox.DefaultBackoff/2 || wait > outbox.DefaultBackoff {
			t.Errorf("retry due in %v, want within [%v, %v]", wait, outbox.DefaultBackoff/2, outbox.DefaultBackoff)
		}
		c.Advance(outbox.DefaultBackoff)
		w.Kick()
		got = waitStatus(t, st, m.Key, store.StatusSent)
		if got.Attempts != 2 {
			t.Errorf("attempts %d, want 2", got.Attempts)
		}
		rs := s.messages()
		if len(rs) != 2 {
			t.Fatalf("received %d copies, want 2 (the refused one and the accepted one)", len(rs))
		}
		h1, _, _ := parts(t, rs[0].data)
		h2, _, _ := parts(t, rs[1].data)
		if h1.Get("Message-Id") == "" || h1.Get("Message-Id") != h2.Get("Message-Id") {
			t.Errorf("Message-ID changed across the retry: %q, %q", h1.Get("Message-Id"), h2.Get("Message-Id"))
		}
		if !bytes.Equal(rs[0].data, rs[1].data) {
			t.Errorf("the retry sent different bytes:\n%s\n---\n%s", rs[0].data, rs[1].data)
		}
	})
}

// A 5xx refusing the recipient is permanent: the message fails at once,
// the address is suppressed as bounced, and the next email to it is
// suppressed, never sent.
func TestSMTPBounceSuppresses(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		s := newSink(t)
		s.reject["gone@initech.test"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		w := smtpWorker(st, c, s.sender(t))
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		ctx := context.Background()
		m := welcome("campaign/x/welcome/contact-9", "gone@initech.test")
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, st, m.Key, store.StatusFailed)
		if got.Attempts != 1 || !strings.Contains(got.LastError, "550") {
			t.Errorf("attempts %d, last error %q", got.Attempts, got.LastError)
		}
		sup, err := st.GetSuppression(ctx, "Gone@Initech.test")
		if err != nil {
			t.Fatal(err)
		}
		if sup.Reason != store.SuppressBounced || !strings.Contains(sup.Detail, "no such user") {
			t.Errorf("suppression %+v", sup)
		}
		next := welcome("campaign/x/day-3/contact-9", "gone@initech.test")
		if err := q.Enqueue(ctx, next); err != nil {
			t.Fatal(err)
		}
		if next.Status != store.StatusSuppressed {
			t.Errorf("next email: %s, want suppressed", next.Status)
		}
		if n := len(s.messages()); n != 0 {
			t.Errorf("the sink received %d messages", n)
		}
	})
}

// Temporary failures stop after MaxAttempts: the message fails, and the
// address is not suppressed (a full mailbox comes back).
func TestSMTPAttemptsRunOut(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		s := newSink(t)
		s.reject["full@initech.test"] = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		w := smtpWorker(st, c, s.sender(t))
		w.MaxAttempts = 3
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		ctx := context.Background()
		m := welcome("campaign/x/welcome/contact-10", "full@initech.test")
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < 3; i++ {
			waitFor(t, st, m.Key, fmt.Sprintf("queued after %d attempts", i), func(m store.OutboxMessage) bool {
				return m.Status == store.StatusQueued && m.Attempts == i
			})
			c.Advance(outbox.DefaultMaxBackoff)
			w.Kick()
		}
		got := waitStatus(t, st, m.Key, store.StatusFailed)
		if got.Attempts != 3 || !strings.Contains(got.LastError, "gave up after 3 attempts") {
			t.Errorf("attempts %d, last error %q", got.Attempts, got.LastError)
		}
		if _, err := st.GetSuppression(ctx, "full@initech.test"); err == nil {
			t.Error("a full mailbox was suppressed")
		}
	})
}

// Without SMTP (the demo) emails are captured: kept complete in the
// outbox, where RenderEmail shows them.
func TestCaptureWithoutSender(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		w := &outbox.Worker{Store: st, Clock: c.Now, Poll: 20 * time.Millisecond}
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		m := welcome("campaign/x/welcome/contact-11", "ann@initech.test")
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, st, m.Key, store.StatusCaptured)
		b, err := outbox.RenderEmail(&got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("List-Unsubscribe: <https://tend.test/u/abc>")) {
			t.Errorf("rendered:\n%s", b)
		}
	})
}

// Rendering is deterministic, and a long unsubscribe URL reaches the
// receiver whole.
func TestRenderEmailStable(t *testing.T) {
	long := "https://tend.test/u/" + strings.Repeat("0123456789abcdef", 8)
	m := welcome("campaign/x/welcome/contact-13", "ann@initech.test")
	m.Email.From = store.Address{Email: "dana@tend.test"}
	m.Email.MessageID = outbox.MessageID(m.Key, "tend.test")
	m.Email.Headers = map[string]string{"List-Unsubscribe": "<" + long + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Campaign": "admin-onboarding", "X-Tend-Step": "welcome"}
	first, err := outbox.RenderEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := outbox.RenderEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two renderings differ:\n%s\n---\n%s", first, again)
		}
	}
	h, _, _ := parts(t, first)
	if got := h.Get("List-Unsubscribe"); got != "<"+long+">" {
		t.Errorf("List-Unsubscribe %q", got)
	}
}

// A 5xx about the content (a spam filter) fails the message without
// suppressing the recipient: it is not the address's fault.
func TestSMTPContentRefusalDoesNotSuppress(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		s := newSink(t)
		s.dataErr = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "looks like spam"}
		w := smtpWorker(st, c, s.sender(t))
		q := outbox.NewQueue(st, store.Address{Email: "dana@tend.test"}).Notify(w.Kick)
		run(t, w)
		ctx := context.Background()
		m := welcome("campaign/x/welcome/contact-14", "ann@initech.test")
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, st, m.Key, store.StatusFailed)
		if got.Attempts != 1 || !strings.Contains(got.LastError, "554") {
			t.Errorf("attempts %d, last error %q", got.Attempts, got.LastError)
		}
		if _, err := st.GetSuppression(ctx, "ann@initech.test"); err == nil {
			t.Error("the recipient was suppressed for a content refusal")
		}
	})
}

// With STARTTLS (the default mode) the sender upgrades the connection,
// verifying the server's certificate, and refuses a server that does not
// offer it.
func TestSMTPStartTLS(t *testing.T) {
	// httptest's certificate is valid for 127.0.0.1; its client trusts it.
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	defer hs.Close()
	roots := hs.Client().Transport.(*http.Transport).TLSClientConfig
	s := newSinkTLS(t, &tls.Config{Certificates: hs.TLS.Certificates})
	plain := newSink(t)
	ctx := context.Background()
	m := welcome("campaign/x/welcome/contact-15", "ann@initech.test")
	m.Email.From = store.Address{Email: "dana@tend.test"}
	for _, tc := range []struct {
		name string
		port int
		ok   bool
	}{{"offers STARTTLS", s.port, true}, {"does not", plain.port, false}} {
		snd, err := outbox.NewSMTP(outbox.SMTPConfig{Host: "127.0.0.1", Port: tc.port, TLSConfig: roots, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = snd.Send(ctx, m)
		snd.Close()
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := len(s.messages()); n != 1 {
		t.Errorf("the TLS sink received %d", n)
	}
	if n := len(plain.messages()); n != 0 {
		t.Errorf("sent in the clear: %d", n)
	}
}
