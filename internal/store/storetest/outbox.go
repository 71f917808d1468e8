package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

var outboxTests = []test{
	{"EnqueueAndGet", testEnqueueMessages},
	{"EnqueueIsIdempotent", testEnqueueIdempotent},
	{"EnqueueValidation", testEnqueueValidation},
	{"EnqueueSuppressed", testEnqueueSuppressed},
	{"Claim", testClaimMessages},
	{"RecordDelivery", testRecordDelivery},
	{"Retry", testRetryMessage},
	{"ListAndCount", testListMessages},
	{"Suppressions", testSuppressions},
	{"ConcurrentClaims", testConcurrentClaims},
	{"References", testOutboxReferences},
}

// campaignEmail is a campaign step's email to ann at Initech, as the
// campaign engine renders it.
func campaignEmail(key, to string) *store.OutboxMessage {
	return &store.OutboxMessage{
		Key: key, Channel: store.ChannelEmail, Campaign: "admin-onboarding", Step: "welcome",
		Email: &store.Email{
			From:    store.Address{Name: "Dana Advisor", Email: "dana@tend.test"},
			ReplyTo: store.Address{Email: "success@tend.test"},
			To:      store.Address{Name: "Ann Admin", Email: to},
			Subject: "Welcome to your new instance",
			Text:    "Hi Ann,\n\nwelcome aboard.",
			HTML:    "<p>Hi Ann,</p><p>welcome aboard.</p>",
			Headers: map[string]string{
				"List-Unsubscribe":      "<https://tend.test/u/abc>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			},
			MessageID: "0123abcd@tend.test",
		},
	}
}

func slackMessage(key string) *store.OutboxMessage {
	return &store.OutboxMessage{Key: key, Channel: store.ChannelSlack, Playbook: "health-red", Firing: "f-1",
		Subject: "Initech turned red",
		Slack:   &store.SlackMessage{URL: "https://hooks.slack.test/services/T0/B0/secret", Body: json.RawMessage(`{"text":"Initech turned red"}`)}}
}

func webhookMessage(key string) *store.OutboxMessage {
	return &store.OutboxMessage{Key: key, Channel: store.ChannelWebhook, Playbook: "seats", Firing: "f-2", Subject: "playbook.notify",
		Webhook: &store.WebhookMessage{URL: "https://crm.test/hooks/tend", Body: json.RawMessage(`{"type":"playbook.notify"}`),
			Secret: "TEND_WEBHOOK_SECRET_CRM"}}
}

func (e *env) enqueue(ms ...*store.OutboxMessage) {
	e.t.Helper()
	e.ok(e.st.EnqueueMessages(e.ctx, ms), "EnqueueMessages")
}

func (e *env) claim(limit int) []store.OutboxMessage {
	e.t.Helper()
	ms, err := e.st.ClaimMessages(e.ctx, e.now(), 5*time.Minute, limit)
	e.ok(err, "ClaimMessages")
	return ms
}

func keys(ms []store.OutboxMessage) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Key)
	}
	return out
}

func testEnqueueMessages(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	c := e.contact(account.Contact{AccountID: a.ID, Email: "ann@initech.test", Name: "Ann Admin"})
	m := campaignEmail("campaign:admin-onboarding:welcome:1", "Ann@Initech.test")
	m.AccountID, m.ContactID = &a.ID, &c.ID
	s, w := slackMessage("playbook:health-red:f-1:0"), webhookMessage("playbook:seats:f-2:0")
	later := e.now().Add(time.Hour)
	w.NextAttemptAt = later
	e.enqueue(m, s, w)
	if m.ID == 0 || m.Status != store.StatusQueued || m.Existing || m.Attempts != 0 || m.SentAt != nil {
		t.Errorf("enqueued email = %+v, want an id, queued", m)
	}
	e.sameInstant("created_at", m.CreatedAt, e.now())
	e.sameInstant("next_attempt_at", m.NextAttemptAt, e.now())
	e.sameInstant("delayed next_attempt_at", w.NextAttemptAt, later)
	if m.Recipient != "ann@initech.test" || m.Subject != "Welcome to your new instance" {
		t.Errorf("recipient %q, subject %q; want the lower-cased address and the email's subject", m.Recipient, m.Subject)
	}
	if s.Recipient != "hooks.slack.test" || w.Recipient != "crm.test" || s.Subject != "Initech turned red" {
		t.Errorf("slack recipient %q subject %q, webhook recipient %q", s.Recipient, s.Subject, w.Recipient)
	}
	got, err := e.st.GetMessage(e.ctx, m.ID)
	e.ok(err, "GetMessage")
	sameJSON(t, "GetMessage", got, *m)
	if got.Email == nil || got.Email.To.Email != "Ann@Initech.test" || got.Email.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("stored email = %+v, want the address as written and the headers", got.Email)
	}
	byKey, err := e.st.GetMessageByKey(e.ctx, s.Key)
	e.ok(err, "GetMessageByKey")
	sameJSON(t, "GetMessageByKey", byKey, *s)
	if byKey.Slack == nil || string(byKey.Slack.Body) != `{"text":"Initech turned red"}` || byKey.Email != nil {
		t.Errorf("slack payload = %+v", byKey.Slack)
	}
	hook, err := e.st.GetMessage(e.ctx, w.ID)
	e.ok(err, "GetMessage webhook")
	if hook.Webhook == nil || hook.Webhook.Secret != "TEND_WEBHOOK_SECRET_CRM" {
		t.Errorf("webhook payload = %+v", hook.Webhook)
	}
	_, err = e.st.GetMessage(e.ctx, 999_999)
	wantErr(t, err, derrors.NotFound, "")
	_, err = e.st.GetMessageByKey(e.ctx, "nope")
	wantErr(t, err, derrors.NotFound, "")
	// Headers left nil read back as an empty set.
	bare := campaignEmail("bare", "bob@initech.test")
	bare.Email.Headers = nil
	e.enqueue(bare)
	if got, _ := e.st.GetMessage(e.ctx, bare.ID); got.Email == nil || got.Email.Headers == nil || len(got.Email.Headers) != 0 {
		t.Errorf("headers of a message without = %v, want {}", got.Email)
	}
}

// testEnqueueIdempotent: deciding to send twice sends once — the second
// enqueue of a key stores nothing and reports the first.
func testEnqueueIdempotent(e *env) {
	t := e.t
	first := campaignEmail("k-1", "ann@initech.test")
	e.enqueue(first)
	e.advance(time.Minute)
	again := campaignEmail("k-1", "someone-else@initech.test")
	again.Email.Subject = "A different subject"
	fresh := campaignEmail("k-2", "bob@initech.test")
	e.enqueue(again, fresh)
	if !again.Existing || again.ID != first.ID || again.Email.To.Email != "ann@initech.test" || again.Email.Subject != first.Email.Subject {
		t.Errorf("second enqueue of k-1 = %+v, want the first message, marked existing", again)
	}
	e.sameInstant("created_at of the repeat", again.CreatedAt, first.CreatedAt)
	if fresh.Existing || fresh.ID == first.ID {
		t.Errorf("k-2 = %+v, want a new message", fresh)
	}
	// What became of the first is what the repeat learns.
	ms := e.claim(10)
	e.ok(func() error {
		_, err := e.st.RecordDelivery(e.ctx, store.Delivery{ID: first.ID, Attempt: ms[0].Attempts, Outcome: store.OutcomeSent, At: e.now()})
		return err
	}(), "RecordDelivery")
	third := campaignEmail("k-1", "ann@initech.test")
	e.enqueue(third)
	if !third.Existing || third.Status != store.StatusSent || third.SentAt == nil {
		t.Errorf("enqueue after sending = %+v, want the sent message", third)
	}
	counts, err := e.st.CountMessages(e.ctx, store.OutboxFilter{})
	e.ok(err, "CountMessages")
	sameJSON(t, "counts", counts, map[string]int{store.StatusSent: 1, store.StatusSending: 1})
}

func testEnqueueValidation(e *env) {
	t := e.t
	cases := []struct {
		name  string
		edit  func(m *store.OutboxMessage)
		field string
	}{
		{"no key", func(m *store.OutboxMessage) { m.Key = " " }, "key"},
		{"long key", func(m *store.OutboxMessage) { m.Key = strings.Repeat("k", store.MaxMessageKey+1) }, "key"},
		{"unknown channel", func(m *store.OutboxMessage) { m.Channel = "fax" }, "channel"},
		{"no payload", func(m *store.OutboxMessage) { m.Email = nil }, "email"},
		{"two payloads", func(m *store.OutboxMessage) { m.Slack = slackMessage("x").Slack }, "email"},
		{"no recipient", func(m *store.OutboxMessage) { m.Email.To.Email = "" }, "email.to"},
		{"bad recipient", func(m *store.OutboxMessage) { m.Email.To.Email = "Ann <ann@initech.test>" }, "email.to"},
		{"bad sender", func(m *store.OutboxMessage) { m.Email.From.Email = "dana" }, "email.from"},
		{"bad reply-to", func(m *store.OutboxMessage) { m.Email.ReplyTo.Email = "@x" }, "email.reply_to"},
		{"header injection in the subject", func(m *store.OutboxMessage) { m.Email.Subject = "Hi\r\nBcc: all@x.test" }, "email.subject"},
		{"header injection in a name", func(m *store.OutboxMessage) { m.Email.To.Name = "Ann\nBcc: x@x.test" }, "email.to.name"},
		{"no subject", func(m *store.OutboxMessage) { m.Email.Subject = "" }, "email.subject"},
		{"no body", func(m *store.OutboxMessage) { m.Email.Text, m.Email.HTML = "", "" }, "email.text"},
		{"no message id", func(m *store.OutboxMessage) { m.Email.MessageID = "" }, "email.message_id"},
		{"message id in brackets", func(m *store.OutboxMessage) { m.Email.MessageID = "<a@b>" }, "email.message_id"},
		{"reserved header", func(m *store.OutboxMessage) { m.Email.Headers["Bcc"] = "all@x.test" }, "email.headers.Bcc"},
		{"header name", func(m *store.OutboxMessage) { m.Email.Headers["X Bad"] = "1" }, "email.headers.X Bad"},
		{"header value on two lines", func(m *store.OutboxMessage) { m.Email.Headers["X-Tend"] = "a\r\nBcc: x" }, "email.headers.X-Tend"},
		{"NUL in the body", func(m *store.OutboxMessage) { m.Email.Text = "a\x00b" }, "email.text"},
		{"long campaign", func(m *store.OutboxMessage) { m.Campaign = strings.Repeat("c", store.MaxRef+1) }, "campaign"},
	}
	for _, tc := range cases {
		m := campaignEmail("k", "ann@initech.test")
		tc.edit(m)
		err := e.st.EnqueueMessages(e.ctx, []*store.OutboxMessage{m})
		if err == nil {
			t.Errorf("%s: enqueued, want an error on %s", tc.name, tc.field)
			continue
		}
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	for _, tc := range []struct {
		name  string
		m     *store.OutboxMessage
		field string
	}{
		{"slack without a URL", func() *store.OutboxMessage { m := slackMessage("s"); m.Slack.URL = "hooks.slack.test/x"; return m }(), "slack.url"},
		{"slack body not an object", func() *store.OutboxMessage { m := slackMessage("s"); m.Slack.Body = json.RawMessage(`"hi"`); return m }(), "slack.body"},
		{"webhook with credentials", func() *store.OutboxMessage {
			m := webhookMessage("w")
			m.Webhook.URL = "https://u:p@crm.test/"
			return m
		}(), "webhook.url"},
		{"webhook secret from any variable", func() *store.OutboxMessage {
			m := webhookMessage("w")
			m.Webhook.Secret = "TEND_DATABASE_URL"
			return m
		}(), "webhook.secret"},
	} {
		err := e.st.EnqueueMessages(e.ctx, []*store.OutboxMessage{tc.m})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	// One bad message fails the batch, which names it; nothing is stored.
	bad := campaignEmail("b", "")
	err := e.st.EnqueueMessages(e.ctx, []*store.OutboxMessage{campaignEmail("a", "ann@initech.test"), bad})
	wantErr(t, err, derrors.Unprocessable, "messages[1].email.to")
	counts, err := e.st.CountMessages(e.ctx, store.OutboxFilter{})
	e.ok(err, "CountMessages")
	if len(counts) != 0 {
		t.Errorf("after refused enqueues, counts = %v, want none", counts)
	}
	// An account that does not exist is refused.
	m := campaignEmail("ghost", "ann@initech.test")
	m.AccountID = ptr(int64(999_999))
	wantErr(t, e.st.EnqueueMessages(e.ctx, []*store.OutboxMessage{m}), derrors.Unprocessable, "")
}

// testEnqueueSuppressed: an email to a suppressed address is stored as
// suppressed, never queued; a notice to the team ignores an unsubscription
// but not a bounce.
func testEnqueueSuppressed(e *env) {
	t := e.t
	_, err := e.st.AddSuppression(e.ctx, &store.Suppression{Address: "ANN@initech.test", Reason: store.SuppressBounced, Detail: "550 5.1.1 no such user"})
	e.ok(err, "AddSuppression")
	_, err = e.st.AddSuppression(e.ctx, &store.Suppression{Address: "bob@initech.test", Reason: store.SuppressUnsubscribed})
	e.ok(err, "AddSuppression")
	campaign := campaignEmail("c-ann", "Ann@Initech.test")
	toBob := campaignEmail("c-bob", "bob@initech.test")
	noticeBob := campaignEmail("n-bob", "bob@initech.test")
	noticeBob.Transactional = true
	noticeAnn := campaignEmail("n-ann", "ann@initech.test")
	noticeAnn.Transactional = true
	other := campaignEmail("c-cy", "cy@initech.test")
	e.enqueue(campaign, toBob, noticeBob, noticeAnn, other)
	for _, tc := range []struct {
		m    *store.OutboxMessage
		want string
	}{{campaign, store.StatusSuppressed}, {toBob, store.StatusSuppressed}, {noticeBob, store.StatusQueued},
		{noticeAnn, store.StatusSuppressed}, {other, store.StatusQueued}} {
		if tc.m.Status != tc.want {
			t.Errorf("%s to %s: status %s, want %s", tc.m.Key, tc.m.Recipient, tc.m.Status, tc.want)
		}
	}
	if !strings.Contains(campaign.LastError, "ann@initech.test") || !strings.Contains(campaign.LastError, "bounced") {
		t.Errorf("last_error of a suppressed message = %q, want the address and the reason", campaign.LastError)
	}
	// Suppressed messages are never claimed.
	if got := keys(e.claim(10)); !slices.Equal(got, []string{"n-bob", "c-cy"}) {
		t.Errorf("claimed %v, want the two queued messages", got)
	}
}

func testClaimMessages(e *env) {
	t := e.t
	e.needClock()
	first, second := campaignEmail("m-1", "a@x.test"), campaignEmail("m-2", "b@x.test")
	e.enqueue(first)
	e.advance(time.Second)
	e.enqueue(second)
	delayed := campaignEmail("m-3", "c@x.test")
	delayed.NextAttemptAt = e.now().Add(10 * time.Minute)
	e.enqueue(delayed)
	_, err := e.st.ClaimMessages(e.ctx, e.now(), 0, 10)
	wantErr(t, err, derrors.Invalid, "")

	ms := e.claim(10)
	if got := keys(ms); !slices.Equal(got, []string{"m-1", "m-2"}) {
		t.Fatalf("claimed %v, want the two due messages, oldest first", got)
	}
	for _, m := range ms {
		if m.Status != store.StatusSending || m.Attempts != 1 || m.Email == nil {
			t.Errorf("claimed %s = status %s, attempts %d, payload %v; want sending, 1, with its payload", m.Key, m.Status, m.Attempts, m.Email != nil)
		}
		e.sameInstant("claim expiry", m.NextAttemptAt, e.now().Add(5*time.Minute))
	}
	if got := e.claim(10); len(got) != 0 {
		t.Errorf("claimed again at once: %v, want nothing (they are held)", keys(got))
	}
	// A worker that died leaves its claims; they expire and are taken
	// again, with the attempt counted.
	e.advance(5*time.Minute + time.Millisecond)
	again := e.claim(1)
	if got := keys(again); !slices.Equal(got, []string{"m-1"}) || again[0].Attempts != 2 {
		t.Errorf("after the claims expired, claim(1) = %v (attempts %d), want m-1 on its second attempt", got, again[0].Attempts)
	}
	_, err = e.st.RecordDelivery(e.ctx, store.Delivery{ID: again[0].ID, Attempt: 2, Outcome: store.OutcomeSent, At: e.now()})
	e.ok(err, "RecordDelivery")
	e.advance(5 * time.Minute)
	if got := keys(e.claim(10)); !slices.Equal(got, []string{"m-2", "m-3"}) {
		t.Errorf("later: claimed %v, want m-2 (expired) and m-3 (now due)", got)
	}
}

func testRecordDelivery(e *env) {
	t := e.t
	e.needClock()
	sent, retried, failed, released, captured := campaignEmail("sent", "a@x.test"), campaignEmail("retried", "b@x.test"),
		campaignEmail("failed", "Gone@X.test"), campaignEmail("released", "d@x.test"), campaignEmail("captured", "e@x.test")
	e.enqueue(sent, retried, failed, released, captured)
	claimed := map[string]store.OutboxMessage{}
	for _, m := range e.claim(10) {
		claimed[m.Key] = m
	}
	record := func(key string, d store.Delivery) bool {
		t.Helper()
		d.ID = claimed[key].ID
		if d.Attempt == 0 {
			d.Attempt = claimed[key].Attempts
		}
		if d.At.IsZero() {
			d.At = e.now()
		}
		ok, err := e.st.RecordDelivery(e.ctx, d)
		e.ok(err, "RecordDelivery "+key)
		return ok
	}
	get := func(key string) store.OutboxMessage {
		t.Helper()
		m, err := e.st.GetMessageByKey(e.ctx, key)
		e.ok(err, "GetMessageByKey")
		return m
	}
	e.advance(time.Second)
	if !record("sent", store.Delivery{Outcome: store.OutcomeSent}) {
		t.Error("recording sent changed nothing")
	}
	if m := get("sent"); m.Status != store.StatusSent || m.SentAt == nil {
		t.Errorf("sent = %+v", m)
	} else {
		e.sameInstant("sent_at", *m.SentAt, e.now())
	}
	if record("sent", store.Delivery{Outcome: store.OutcomeSent}) {
		t.Error("recording sent twice changed the message again")
	}
	if !record("captured", store.Delivery{Outcome: store.OutcomeCaptured}) || get("captured").Status != store.StatusCaptured {
		t.Errorf("captured = %+v", get("captured"))
	}

	// A worker whose claim was taken over cannot undo the new one's work.
	if record("retried", store.Delivery{Attempt: 7, Outcome: store.OutcomeRetry, Next: e.now().Add(time.Minute), Error: "451 try later"}) {
		t.Error("a retry with a stale attempt was recorded")
	}
	next := e.now().Add(30 * time.Second)
	if !record("retried", store.Delivery{Outcome: store.OutcomeRetry, Next: next, Error: "451 4.7.1 greylisted"}) {
		t.Error("recording a retry changed nothing")
	}
	m := get("retried")
	if m.Status != store.StatusQueued || m.LastError != "451 4.7.1 greylisted" || m.Attempts != 1 {
		t.Errorf("retried = %+v", m)
	}
	e.sameInstant("retry due", m.NextAttemptAt, next)

	if !record("failed", store.Delivery{Outcome: store.OutcomeFailed, Error: "550 5.1.1 no such user", Suppress: store.SuppressBounced}) {
		t.Error("recording a failure changed nothing")
	}
	if m := get("failed"); m.Status != store.StatusFailed || m.LastError != "550 5.1.1 no such user" {
		t.Errorf("failed = %+v", m)
	}
	s, err := e.st.GetSuppression(e.ctx, "gone@x.test")
	e.ok(err, "GetSuppression")
	if s.Reason != store.SuppressBounced || s.Detail != "550 5.1.1 no such user" {
		t.Errorf("suppression after a bounce = %+v", s)
	}

	if !record("released", store.Delivery{Outcome: store.OutcomeReleased}) {
		t.Error("releasing changed nothing")
	}
	m = get("released")
	if m.Status != store.StatusQueued || m.Attempts != 0 {
		t.Errorf("released = %+v, want queued with the attempt given back", m)
	}
	e.sameInstant("released due", m.NextAttemptAt, e.now())

	_, err = e.st.RecordDelivery(e.ctx, store.Delivery{ID: 1, Outcome: "lost"})
	wantErr(t, err, derrors.Invalid, "outcome")
	// Sent is kept even from a worker whose claim expired and was taken
	// again: the message did go out.
	e.advance(time.Minute)
	re := e.claim(10)
	if got := keys(re); !slices.Contains(got, "retried") || !slices.Contains(got, "released") {
		t.Fatalf("claimed %v, want the retried and released messages", got)
	}
	if !record("retried", store.Delivery{Attempt: 1, Outcome: store.OutcomeSent}) || get("retried").Status != store.StatusSent {
		t.Errorf("sent from an old claim: %+v", get("retried"))
	}
}

func testRetryMessage(e *env) {
	t := e.t
	e.needClock()
	failed, sent := campaignEmail("f", "a@x.test"), campaignEmail("s", "b@x.test")
	e.enqueue(failed, sent)
	for _, m := range e.claim(10) {
		outcome := store.OutcomeSent
		if m.Key == "f" {
			outcome = store.OutcomeFailed
		}
		_, err := e.st.RecordDelivery(e.ctx, store.Delivery{ID: m.ID, Attempt: m.Attempts, Outcome: outcome, At: e.now(), Error: "boom"})
		e.ok(err, "RecordDelivery")
	}
	e.advance(time.Hour)
	got, err := e.st.RetryMessage(e.ctx, failed.ID, e.now())
	e.ok(err, "RetryMessage")
	if got.Status != store.StatusQueued || got.RetryBase != 1 || got.Attempts != 1 || got.Email == nil {
		t.Errorf("retried = %+v, want queued with a fresh budget from attempt 1", got)
	}
	e.sameInstant("retry due", got.NextAttemptAt, e.now())
	_, err = e.st.RetryMessage(e.ctx, sent.ID, e.now())
	wantErr(t, err, derrors.Conflict, "")
	_, err = e.st.RetryMessage(e.ctx, failed.ID, e.now())
	wantErr(t, err, derrors.Conflict, "")
	_, err = e.st.RetryMessage(e.ctx, 999_999, e.now())
	wantErr(t, err, derrors.NotFound, "")

	// A suppressed message is retried once its address is off the list.
	_, err = e.st.AddSuppression(e.ctx, &store.Suppression{Address: "c@x.test", Reason: store.SuppressManual})
	e.ok(err, "AddSuppression")
	held := campaignEmail("h", "c@x.test")
	e.enqueue(held)
	_, err = e.st.RetryMessage(e.ctx, held.ID, e.now())
	wantErr(t, err, derrors.Conflict, "")
	e.ok(e.st.RemoveSuppression(e.ctx, "C@x.test"), "RemoveSuppression")
	got, err = e.st.RetryMessage(e.ctx, held.ID, e.now())
	e.ok(err, "RetryMessage after removing the suppression")
	if got.Status != store.StatusQueued {
		t.Errorf("suppressed then retried = %s, want queued", got.Status)
	}
}

func testListMessages(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	var all []*store.OutboxMessage
	for i := range 5 {
		m := campaignEmail(fmt.Sprintf("e-%d", i), fmt.Sprintf("user%d@initech.test", i))
		m.AccountID = &a.ID
		if i >= 3 {
			m.Campaign, m.AccountID = "usage-recap", &b.ID
			m.Email.Subject = "Your monthly Ümlaut recap"
		}
		all = append(all, m)
	}
	s, w := slackMessage("s-1"), webhookMessage("w-1")
	all = append(all, s, w)
	for _, m := range all {
		e.enqueue(m)
		e.advance(time.Second)
	}
	// Deliver one, fail one.
	for _, m := range e.claim(2) {
		outcome := store.OutcomeSent
		if m.Key == "e-1" {
			outcome = store.OutcomeFailed
		}
		_, err := e.st.RecordDelivery(e.ctx, store.Delivery{ID: m.ID, Attempt: m.Attempts, Outcome: outcome, At: e.now()})
		e.ok(err, "RecordDelivery")
	}
	list := func(f store.OutboxFilter) []string {
		t.Helper()
		p, err := e.st.ListMessages(e.ctx, f)
		e.ok(err, "ListMessages")
		for _, m := range p.Messages {
			if m.Email != nil || m.Slack != nil || m.Webhook != nil {
				t.Errorf("ListMessages returned %s with its payload", m.Key)
			}
		}
		return keys(p.Messages)
	}
	for _, tc := range []struct {
		name string
		f    store.OutboxFilter
		want []string
	}{
		{"all, newest first", store.OutboxFilter{}, []string{"w-1", "s-1", "e-4", "e-3", "e-2", "e-1", "e-0"}},
		{"sent", store.OutboxFilter{Status: store.StatusSent}, []string{"e-0"}},
		{"failed", store.OutboxFilter{Status: store.StatusFailed}, []string{"e-1"}},
		{"slack", store.OutboxFilter{Channel: store.ChannelSlack}, []string{"s-1"}},
		{"an account", store.OutboxFilter{AccountID: b.ID}, []string{"e-4", "e-3"}},
		{"a campaign", store.OutboxFilter{Campaign: "usage-recap"}, []string{"e-4", "e-3"}},
		{"a playbook", store.OutboxFilter{Playbook: "seats"}, []string{"w-1"}},
		{"recipient", store.OutboxFilter{Query: "USER2@"}, []string{"e-2"}},
		{"subject, in any case", store.OutboxFilter{Query: "MONTHLY"}, []string{"e-4", "e-3"}},
		{"LIKE characters are literal", store.OutboxFilter{Query: "%"}, nil},
		{"queued emails of Initech", store.OutboxFilter{Status: store.StatusQueued, Channel: store.ChannelEmail, AccountID: a.ID}, []string{"e-2"}},
	} {
		if got := list(tc.f); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Paging.
	p, err := e.st.ListMessages(e.ctx, store.OutboxFilter{Limit: 3})
	e.ok(err, "ListMessages page 1")
	if got := keys(p.Messages); !slices.Equal(got, []string{"w-1", "s-1", "e-4"}) || p.Next == "" {
		t.Fatalf("page 1 = %v, next %q", got, p.Next)
	}
	p, err = e.st.ListMessages(e.ctx, store.OutboxFilter{Limit: 3, Cursor: p.Next})
	e.ok(err, "ListMessages page 2")
	p, err = e.st.ListMessages(e.ctx, store.OutboxFilter{Limit: 3, Cursor: p.Next})
	e.ok(err, "ListMessages page 3")
	if got := keys(p.Messages); !slices.Equal(got, []string{"e-0"}) || p.Next != "" {
		t.Errorf("page 3 = %v, next %q; want the last one and no next", got, p.Next)
	}
	for _, tc := range []struct {
		f     store.OutboxFilter
		field string
	}{
		{store.OutboxFilter{Status: "delivered"}, "status"},
		{store.OutboxFilter{Channel: "sms"}, "channel"},
		{store.OutboxFilter{Limit: 501}, "limit"},
		{store.OutboxFilter{Cursor: "nope"}, "cursor"},
	} {
		_, err := e.st.ListMessages(e.ctx, tc.f)
		wantErr(t, err, derrors.Invalid, tc.field)
	}
	counts, err := e.st.CountMessages(e.ctx, store.OutboxFilter{Status: store.StatusSent})
	e.ok(err, "CountMessages")
	sameJSON(t, "counts (status ignored)", counts, map[string]int{store.StatusQueued: 5, store.StatusSent: 1, store.StatusFailed: 1})
	counts, err = e.st.CountMessages(e.ctx, store.OutboxFilter{Channel: store.ChannelEmail, AccountID: a.ID})
	e.ok(err, "CountMessages")
	sameJSON(t, "counts of Initech's emails", counts, map[string]int{store.StatusQueued: 1, store.StatusSent: 1, store.StatusFailed: 1})
	_, err = e.st.CountMessages(e.ctx, store.OutboxFilter{Channel: "sms"})
	wantErr(t, err, derrors.Invalid, "channel")
}

func testSuppressions(e *env) {
	t := e.t
	add := func(addr, reason, detail string) (store.Suppression, bool) {
		t.Helper()
		s := store.Suppression{Address: addr, Reason: reason, Detail: detail}
		created, err := e.st.AddSuppression(e.ctx, &s)
		e.ok(err, "AddSuppression "+addr)
		return s, created
	}
	first, created := add(" Ann@Initech.test ", store.SuppressUnsubscribed, "one-click unsubscribe")
	if !created || first.Address != "ann@initech.test" {
		t.Errorf("AddSuppression = %+v (created %v), want the address lower-cased, created", first, created)
	}
	e.sameInstant("created_at", first.CreatedAt, e.now())
	e.advance(time.Minute)
	again, created := add("ann@initech.test", store.SuppressBounced, "550")
	if created || again.Reason != store.SuppressUnsubscribed || again.Detail != "one-click unsubscribe" {
		t.Errorf("adding again = %+v (created %v), want the first entry kept", again, created)
	}
	e.advance(time.Minute)
	add("bob@initech.test", store.SuppressBounced, "550 5.1.1")
	e.advance(time.Minute)
	add("cy@globex.test", store.SuppressManual, "asked by phone")
	got, err := e.st.GetSuppression(e.ctx, "ANN@initech.TEST")
	e.ok(err, "GetSuppression")
	sameJSON(t, "GetSuppression", got, first)
	_, err = e.st.GetSuppression(e.ctx, "nobody@x.test")
	wantErr(t, err, derrors.NotFound, "")

	addrs := func(f store.SuppressionFilter) []string {
		t.Helper()
		p, err := e.st.ListSuppressions(e.ctx, f)
		e.ok(err, "ListSuppressions")
		out := []string{}
		for _, s := range p.Suppressions {
			out = append(out, s.Address)
		}
		return out
	}
	if got := addrs(store.SuppressionFilter{}); !slices.Equal(got, []string{"cy@globex.test", "bob@initech.test", "ann@initech.test"}) {
		t.Errorf("ListSuppressions = %v, want newest first", got)
	}
	if got := addrs(store.SuppressionFilter{Reason: store.SuppressBounced}); !slices.Equal(got, []string{"bob@initech.test"}) {
		t.Errorf("bounced = %v", got)
	}
	if got := addrs(store.SuppressionFilter{Query: "INITECH"}); !slices.Equal(got, []string{"bob@initech.test", "ann@initech.test"}) {
		t.Errorf("query initech = %v", got)
	}
	p, err := e.st.ListSuppressions(e.ctx, store.SuppressionFilter{Limit: 2})
	e.ok(err, "ListSuppressions page")
	if len(p.Suppressions) != 2 || p.Next == "" {
		t.Errorf("page of 2 = %d, next %q", len(p.Suppressions), p.Next)
	}
	_, err = e.st.ListSuppressions(e.ctx, store.SuppressionFilter{Reason: "spam"})
	wantErr(t, err, derrors.Invalid, "reason")

	for _, tc := range []struct{ addr, reason, field string }{
		{"", store.SuppressManual, "address"},
		{"not an address", store.SuppressManual, "address"},
		{"Ann <ann@x.test>", store.SuppressManual, "address"},
		{"dee@x.test", "spam", "reason"},
	} {
		_, err := e.st.AddSuppression(e.ctx, &store.Suppression{Address: tc.addr, Reason: tc.reason})
		wantErr(t, err, derrors.Unprocessable, tc.field)
	}
	e.ok(e.st.RemoveSuppression(e.ctx, "BOB@initech.test"), "RemoveSuppression")
	wantErr(t, e.st.RemoveSuppression(e.ctx, "bob@initech.test"), derrors.NotFound, "")
	if got := addrs(store.SuppressionFilter{}); !slices.Equal(got, []string{"cy@globex.test", "ann@initech.test"}) {
		t.Errorf("after removing bob: %v", got)
	}
}

// testConcurrentClaims: workers claiming at once never get the same
// message, and together get every one (PostgreSQL: SKIP LOCKED; SQLite:
// the one writer).
func testConcurrentClaims(e *env) {
	t := e.t
	const n, workers = 120, 6
	var ms []*store.OutboxMessage
	for i := range n {
		ms = append(ms, campaignEmail(fmt.Sprintf("m-%03d", i), fmt.Sprintf("u%d@x.test", i)))
	}
	e.enqueue(ms...)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				got, err := e.st.ClaimMessages(e.ctx, e.now(), time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d workers claimed %d distinct messages, want all %d", workers, len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %d was claimed %d times", id, c)
		}
	}
}

// testOutboxReferences: a deleted account takes its messages with it; a
// deleted contact or user leaves the message, without the reference.
func testOutboxReferences(e *env) {
	t := e.t
	u := e.user("Dana Advisor", "dana@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	c := e.contact(account.Contact{AccountID: b.ID, Email: "ann@globex.test"})
	gone := campaignEmail("gone", "x@initech.test")
	gone.AccountID = &a.ID
	kept := campaignEmail("kept", "ann@globex.test")
	kept.AccountID, kept.ContactID, kept.UserID = &b.ID, &c.ID, &u.ID
	e.enqueue(gone, kept)
	e.ok(e.st.DeleteAccount(e.ctx, a.ID), "DeleteAccount")
	_, err := e.st.GetMessage(e.ctx, gone.ID)
	wantErr(t, err, derrors.NotFound, "")
	e.ok(e.st.DeleteContact(e.ctx, c.ID), "DeleteContact")
	got, err := e.st.GetMessage(e.ctx, kept.ID)
	e.ok(err, "GetMessage")
	if got.ContactID != nil || got.AccountID == nil || *got.AccountID != b.ID || got.UserID == nil {
		t.Errorf("after deleting the contact: account %v contact %v user %v", got.AccountID, got.ContactID, got.UserID)
	}
}
