package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

const crmSecret = "whsec-initech-crm"

func secrets(name string) (string, bool) {
	if name == "TEND_WEBHOOK_SECRET_CRM" {
		return crmSecret, true
	}
	return "", false
}

// A webhook reaches its receiver signed: the receiver verifies the
// signature with Verify over the raw body, and reads the event type and
// the delivery's key from the headers.
func TestWebhookSignedDelivery(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		type got struct {
			event, delivery string
			ev              outbox.Event
		}
		deliveries := make(chan got, 4)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := outbox.Verify(crmSecret, r.Header.Get("Tend-Signature"), body, time.Now(), 5*time.Minute); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			var ev outbox.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			deliveries <- got{r.Header.Get("Tend-Event"), r.Header.Get("Tend-Delivery"), ev}
		}))
		defer srv.Close()
		w := &outbox.Worker{Store: st, Clock: c.Now, Poll: 20 * time.Millisecond,
			Senders: map[string]outbox.Sender{store.ChannelWebhook: &outbox.Webhook{Secret: secrets}}}
		q := outbox.NewQueue(st, store.Address{}).Notify(w.Kick)
		run(t, w)
		m, err := outbox.NewWebhook("playbook/seats/f-2/notify", srv.URL+"/hooks/tend", "TEND_WEBHOOK_SECRET_CRM", outbox.Event{
			Type: "playbook.notify", CreatedAt: c.Now(), Playbook: "seats", Firing: "f-2",
			Account: &outbox.EventAccount{ID: 7, Name: "Initech", ExternalID: "sf-001"},
			Text:    "Initech is at 95% of its seats", Data: json.RawMessage(`{"seats":95}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if m.AccountID == nil || *m.AccountID != 7 {
			t.Errorf("AccountID %v, want 7", m.AccountID)
		}
		m.AccountID = nil // no account 7 in this store
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, st, m.Key, store.StatusSent)
		d := <-deliveries
		if d.event != "playbook.notify" || d.delivery != m.Key {
			t.Errorf("Tend-Event %q, Tend-Delivery %q", d.event, d.delivery)
		}
		if d.ev.ID != m.Key || d.ev.Account == nil || d.ev.Account.Name != "Initech" || string(d.ev.Data) != `{"seats":95}` {
			t.Errorf("event %+v", d.ev)
		}
	})
}

// Verify accepts the body as signed and nothing else: a tampered body, a
// wrong secret, an old signature, a missing header.
func TestVerify(t *testing.T) {
	body := []byte(`{"id":"k","type":"playbook.notify"}`)
	at := time.Unix(1_770_000_000, 0)
	sig := outbox.Sign(crmSecret, at, body)
	if !strings.HasPrefix(sig, "t=1770000000,v1=") {
		t.Errorf("signature %q", sig)
	}
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"as signed", crmSecret, sig, body, at.Add(time.Minute), nil},
		{"a second v1 for a new secret", crmSecret, sig + ",v1=00ff", body, at, nil},
		{"tampered body", crmSecret, sig, []byte(`{"id":"k","type":"playbook.notifz"}`), at, outbox.ErrBadSignature},
		{"wrong secret", "other", sig, body, at, outbox.ErrBadSignature},
		{"replayed an hour later", crmSecret, sig, body, at.Add(time.Hour), outbox.ErrStale},
		{"no header", crmSecret, "", body, at, outbox.ErrNoSignature},
		{"no v1", crmSecret, "t=1770000000", body, at, outbox.ErrNoSignature},
	} {
		if err := outbox.Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Receivers answer: 410 and other 4xx are permanent, 5xx temporary, and a
// missing secret fails the webhook without posting it.
func TestWebhookOutcomes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		status := map[string]int{"/gone": 410, "/bad": 422, "/down": 503, "/slow": 408}
		var mu sync.Mutex
		posts := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			posts++
			mu.Unlock()
			w.WriteHeader(status[r.URL.Path])
		}))
		defer srv.Close()
		w := &outbox.Worker{Store: st, Clock: c.Now, Poll: 20 * time.Millisecond,
			Senders: map[string]outbox.Sender{store.ChannelWebhook: &outbox.Webhook{Secret: secrets}}}
		q := outbox.NewQueue(st, store.Address{}).Notify(w.Kick)
		run(t, w)
		want := map[string]string{"/gone": store.StatusFailed, "/bad": store.StatusFailed, "/down": store.StatusQueued, "/slow": store.StatusQueued}
		for path := range want {
			m, _ := outbox.NewWebhook("hook"+path, srv.URL+path, "TEND_WEBHOOK_SECRET_CRM", outbox.Event{Type: "playbook.notify"})
			if err := q.Enqueue(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		unset, _ := outbox.NewWebhook("hook/unset", srv.URL+"/gone", "TEND_WEBHOOK_SECRET_NONE", outbox.Event{Type: "x"})
		if err := q.Enqueue(context.Background(), unset); err != nil {
			t.Fatal(err)
		}
		for path, want := range want {
			code := status[path]
			got := waitFor(t, st, "hook"+path, want, func(m store.OutboxMessage) bool { return m.Status == want && m.Attempts == 1 })
			if !strings.Contains(got.LastError, fmt.Sprint(code)) {
				t.Errorf("%s: last error %q", path, got.LastError)
			}
		}
		for _, key := range []string{"hook/unset"} {
			got := waitStatus(t, st, key, store.StatusFailed)
			if !strings.Contains(got.LastError, "TEND_WEBHOOK_SECRET_") {
				t.Errorf("%s: last error %q", key, got.LastError)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if posts != 4 {
			t.Errorf("%d posts, want 4 (none without a secret)", posts)
		}
	})
}

// A Slack message is posted as Slack documents it, {"text", "blocks"};
// a 429 is retried no sooner than its Retry-After, and a 404 no_service
// (the webhook was removed) fails the message.
func TestSlack(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Outbox, c *clock) {
		var mu sync.Mutex
		var bodies []map[string]any
		limited := 1
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/services/T0/B0/removed" {
				http.Error(w, "no_service", http.StatusNotFound)
				return
			}
			if r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "invalid_payload", http.StatusBadRequest)
				return
			}
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, "invalid_payload", http.StatusBadRequest)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			bodies = append(bodies, body)
			if limited > 0 {
				limited--
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			io.WriteString(w, "ok")
		}))
		defer srv.Close()
		w := &outbox.Worker{Store: st, Clock: c.Now, Poll: 20 * time.Millisecond,
			Senders: map[string]outbox.Sender{store.ChannelSlack: &outbox.Slack{}}}
		q := outbox.NewQueue(st, store.Address{}).Notify(w.Kick)
		run(t, w)
		blocks := json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"*Initech* turned red"}}]`)
		m := outbox.NewSlack("playbook/health-red/f-1/slack", srv.URL+"/services/T0/B0/secret", "Initech turned red", blocks)
		gone := outbox.NewSlack("playbook/health-red/f-1/slack-old", srv.URL+"/services/T0/B0/removed", "Initech turned red", nil)
		if err := q.Enqueue(context.Background(), m, gone); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, st, gone.Key, store.StatusFailed)
		if !strings.Contains(got.LastError, "no_service") || strings.Contains(got.LastError, "removed") {
			t.Errorf("last error %q: wants Slack's answer and not the secret URL", got.LastError)
		}
		got = waitFor(t, st, m.Key, "queued after the 429", func(m store.OutboxMessage) bool {
			return m.Status == store.StatusQueued && m.Attempts == 1
		})
		if wait := got.NextAttemptAt.Sub(c.Now()); wait < 120*time.Second {
			t.Errorf("retry due in %v, want at least Retry-After's 120s", wait)
		}
		c.Advance(121 * time.Second)
		w.Kick()
		waitStatus(t, st, m.Key, store.StatusSent)
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) != 2 {
			t.Fatalf("%d posts, want 2", len(bodies))
		}
		b := bodies[1]
		bl, _ := b["blocks"].([]any)
		if b["text"] != "Initech turned red" || len(bl) != 1 || len(b) != 2 {
			t.Errorf("body %v, want text and one block", b)
		}
	})
}
