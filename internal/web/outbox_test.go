package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// campaignEmail is a check-in email to Jane at Acme, as the campaign
// runner renders it.
func campaignEmail(b *book, key, to string) *store.OutboxMessage {
	return &store.OutboxMessage{Key: key, Channel: store.ChannelEmail, AccountID: &b.acme.ID, Campaign: "checkin", Step: "survey",
		Email: &store.Email{
			From:    store.Address{Name: "Tina Advisor", Email: "tina@tend.test"},
			To:      store.Address{Name: "Jane Champion", Email: to},
			Subject: "How is Tend going?",
			Text:    "Hi Jane,\n\nhow is it going?",
			HTML:    `<p style="color:#333">Hi Jane,</p><p>how is it <b>going</b>?</p>`,
			Headers: map[string]string{
				"List-Unsubscribe":      "<https://tend.test/u/abc>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			},
			MessageID: strings.ReplaceAll(key, ":", ".") + "@tend.test",
		}}
}

// enqueue stores messages in the outbox.
func enqueue(t *testing.T, b *book, ms ...*store.OutboxMessage) {
	t.Helper()
	if err := b.st.EnqueueMessages(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
}

// fail claims every due message and records it failed.
func failAll(t *testing.T, b *book, why string) {
	t.Helper()
	ctx := context.Background()
	ms, err := b.st.ClaimMessages(ctx, today, 60e9, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, err := b.st.RecordDelivery(ctx, store.Delivery{ID: m.ID, Attempt: m.Attempts, Outcome: store.OutcomeFailed,
			At: today, Error: why}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutboxPages(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	mona := b.addUser("mona@tend.test", "Mona Manager", team.Manager)
	first := campaignEmail(b, "cp:checkin:1", "jane@acme.example")
	enqueue(t, b, first)
	failAll(t, b, "550 mailbox unavailable")
	second := campaignEmail(b, "cp:checkin:2", "bob@acme.example")
	slack := &store.OutboxMessage{Key: "pb:red:1", Channel: store.ChannelSlack, Playbook: "health-red", Firing: "f-1",
		Subject: "Globex turned red", Slack: &store.SlackMessage{URL: "https://hooks.slack.test/services/T0/B0/secret",
			Body: json.RawMessage(`{"text":"Globex turned red"}`)}}
	enqueue(t, b, second, slack)

	// Managers and admins; everyone else is refused.
	for _, email := range []string{b.tina.Email, b.viewer.Email, b.ae.Email} {
		c := b.login(email)
		for _, p := range []string{"/outbox", fmt.Sprintf("/outbox/%d", first.ID), fmt.Sprintf("/outbox/%d/html", first.ID), "/suppressions"} {
			res, body := c.get(p)
			wantStatus(t, res, body, http.StatusForbidden)
		}
		res, body := c.post(fmt.Sprintf("/outbox/%d/retry", first.ID), nil)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	res, _ := b.anonymous().get("/outbox")
	wantStatus(t, res, "", http.StatusSeeOther)

	m := b.login(mona.Email)
	res, body := m.get("/outbox")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `href="/outbox"`, "Outbox", "jane@acme.example", "bob@acme.example", "hooks.slack.test", "Globex turned red",
		`id="count-failed"`, `failed <span class="count count-bad">1</span>`, `queued <span class="count">2</span>`,
		`All <span class="count">3</span>`, fmt.Sprintf(`href="/outbox/%d"`, first.ID))
	// Newest first.
	if strings.Index(body, "bob@acme.example") > strings.Index(body, "jane@acme.example") {
		t.Errorf("bob's newer message is listed after jane's")
	}

	// Filters: status, channel, campaign; the counts follow channel and
	// campaign, not status.
	res, body = m.get("/outbox?status=failed")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "jane@acme.example", `queued <span class="count">2</span>`)
	wantNotIn(t, body, "bob@acme.example", "Globex turned red")
	res, body = m.get("/outbox?channel=slack")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Globex turned red", `All <span class="count">1</span>`)
	wantNotIn(t, body, "jane@acme.example")
	res, body = m.get("/outbox?campaign=checkin")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "jane@acme.example", "bob@acme.example")
	wantNotIn(t, body, "Globex turned red")
	res, body = m.get("/outbox?campaign=nope")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "No messages match these filters.")
	res, body = m.get("/outbox?status=lost")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "status: &#34;lost&#34; is not one of queued")
	res, body = m.get("/outbox?channel=fax")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "channel: &#34;fax&#34; is not one of email")

	// One message: its fields, headers, text and framed HTML.
	res, body = m.get(fmt.Sprintf("/outbox/%d", first.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "How is Tend going?", "jane@acme.example", "550 mailbox unavailable", `id="retry"`,
		fmt.Sprintf(`href="/accounts/%d">Acme Corp</a>`, b.acme.ID), `href="/outbox?campaign=checkin">checkin</a> · step survey`,
		"List-Unsubscribe-Post", "List-Unsubscribe=One-Click", "Tina Advisor &lt;tina@tend.test&gt;", "&lt;cp.checkin.1@tend.test&gt;",
		"Hi Jane,\n\nhow is it going?", fmt.Sprintf(`<iframe class="email-html" id="email-html" sandbox src="/outbox/%d/html"`, first.ID))
	res, body = m.get(fmt.Sprintf("/outbox/%d/html", first.ID))
	wantStatus(t, res, body, http.StatusOK)
	if body != first.Email.HTML {
		t.Errorf("HTML body %q", body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'unsafe-inline'", "frame-ancestors 'self'", "sandbox"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the HTML's policy %q lacks %q", csp, want)
		}
	}
	// Every other page keeps the strict policy.
	if csp := res.Header.Get("X-Content-Type-Options"); csp != "nosniff" {
		t.Errorf("nosniff %q", csp)
	}
	res, body = m.get(fmt.Sprintf("/outbox/%d", slack.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Globex turned red", `href="/playbooks/health-red"`, "{&#34;text&#34;:&#34;Globex turned red&#34;}")
	wantNotIn(t, body, "secret", `id="retry"`, "<iframe")
	res, body = m.get(fmt.Sprintf("/outbox/%d/html", slack.ID))
	wantStatus(t, res, body, http.StatusNotFound)
	for _, p := range []string{"/outbox/999", "/outbox/x", "/outbox/999/html"} {
		res, body = m.get(p)
		wantStatus(t, res, body, http.StatusNotFound)
	}
}

func TestOutboxRetry(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	failed := campaignEmail(b, "cp:checkin:1", "jane@acme.example")
	enqueue(t, b, failed)
	failAll(t, b, "421 try later")
	queued := campaignEmail(b, "cp:checkin:2", "bob@acme.example")
	enqueue(t, b, queued)
	a := b.login(b.admin.Email)

	res, body := a.post(fmt.Sprintf("/outbox/%d/retry", failed.ID), nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("/outbox/%d", failed.ID) {
		t.Errorf("redirect to %q", loc)
	}
	_, body = a.get(fmt.Sprintf("/outbox/%d", failed.ID))
	wantIn(t, body, fmt.Sprintf("Message %d to jane@acme.example is queued again.", failed.ID), `id="message-status">queued`)
	got, err := b.st.GetMessage(context.Background(), failed.ID)
	if err != nil || got.Status != store.StatusQueued {
		t.Fatalf("retried message %+v, %v", got.Status, err)
	}

	// A queued message cannot be retried: the flash says why.
	res, body = a.post(fmt.Sprintf("/outbox/%d/retry", queued.ID), nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = a.get(fmt.Sprintf("/outbox/%d", queued.ID))
	wantIn(t, body, fmt.Sprintf("Not retried: Message %d is queued; only a failed or suppressed message can be retried.", queued.ID))
	res, body = a.post("/outbox/999/retry", nil)
	wantStatus(t, res, body, http.StatusNotFound)

	// A suppressed message waits until its address is off the list.
	ctx := context.Background()
	if _, err := b.st.AddSuppression(ctx, &store.Suppression{Address: "nora@acme.example", Reason: store.SuppressBounced}); err != nil {
		t.Fatal(err)
	}
	sup := campaignEmail(b, "cp:checkin:3", "nora@acme.example")
	enqueue(t, b, sup)
	if sup.Status != store.StatusSuppressed {
		t.Fatalf("status %s", sup.Status)
	}
	a.post(fmt.Sprintf("/outbox/%d/retry", sup.ID), nil)
	_, body = a.get(fmt.Sprintf("/outbox/%d", sup.ID))
	wantIn(t, body, "Not retried:", "take it off the list first")
	res, body = a.post("/suppressions/remove", url.Values{"address": {"nora@acme.example"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	a.post(fmt.Sprintf("/outbox/%d/retry", sup.ID), nil)
	_, body = a.get(fmt.Sprintf("/outbox/%d", sup.ID))
	wantIn(t, body, "is queued again.")
}

func TestSuppressionList(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	mona := b.addUser("mona@tend.test", "Mona Manager", team.Manager)
	ctx := context.Background()
	if _, err := b.st.AddSuppression(ctx, &store.Suppression{Address: "bounce@acme.example", Reason: store.SuppressBounced,
		Detail: "550 no such user"}); err != nil {
		t.Fatal(err)
	}
	m := b.login(mona.Email)
	res, body := m.get("/suppressions")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "bounce@acme.example", "bounced", "550 no such user", "2026-03-02")

	// Add by hand: reason manual, the detail naming who.
	res, body = m.post("/suppressions", url.Values{"address": {"Legal@Acme.example"}, "detail": {"asked by phone"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = m.get("/suppressions")
	wantIn(t, body, "legal@acme.example is suppressed", "manual", "added by mona@tend.test: asked by phone")
	s, err := b.st.GetSuppression(ctx, "legal@acme.example")
	if err != nil || s.Reason != store.SuppressManual {
		t.Fatalf("suppression %+v, %v", s, err)
	}
	// Again: the first entry stays.
	res, body = m.post("/suppressions", url.Values{"address": {"bounce@acme.example"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = m.get("/suppressions")
	wantIn(t, body, "bounce@acme.example was already suppressed (bounced")

	// Refused addresses: 422 with the message at the field, the input kept.
	for _, tc := range []struct{ address, want string }{
		{"", "Address is required."},
		{"not an address", "Address:"},
	} {
		res, body = m.post("/suppressions", url.Values{"address": {tc.address}})
		wantStatus(t, res, body, http.StatusUnprocessableEntity)
		wantIn(t, body, `<p class="field-error" role="alert">`+tc.want, `aria-invalid="true"`)
	}
	res, body = m.post("/suppressions/remove", url.Values{"address": {"nobody@acme.example"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Address: nobody@acme.example is not on the suppression list.")

	// Remove.
	res, body = m.post("/suppressions/remove", url.Values{"address": {"legal@acme.example"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = m.get("/suppressions")
	wantIn(t, body, "legal@acme.example is off the suppression list.")
	if _, err := b.st.GetSuppression(ctx, "legal@acme.example"); err == nil {
		t.Error("still suppressed")
	}
	res, body = b.login(b.tina.Email).post("/suppressions", url.Values{"address": {"x@acme.example"}})
	wantStatus(t, res, body, http.StatusForbidden)
}
