package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
)

// TestNotifyChannels: one notify action on every channel makes one in-app
// notification and one outbox message per other channel, each under the
// action's key and channel, with Slack's message shape (text, and a mrkdwn
// section block) and the documented webhook payload; repeating the action
// makes nothing new.
func TestNotifyChannels(t *testing.T) {
	e := newAssessEnv(t)
	u := team.User{Email: "tara@tend.test", Name: "Tara", Role: team.TA}
	if err := e.st.CreateUser(e.ctx, &u); err != nil {
		t.Fatal(err)
	}
	a := account.Account{Name: "Acme <Inc> & Co", Seats: 10, RenewalDate: date.MustParse("2026-09-01"), OwnerID: &u.ID}
	if err := e.st.CreateAccount(e.ctx, &a, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	var enqueued []*store.OutboxMessage
	fx := &engine.StoreEffects{Store: e.st, Workspace: e.ws, Now: e.clock.Now,
		Enqueue: func(_ context.Context, ms ...*store.OutboxMessage) error {
			for _, m := range ms {
				if m.Email != nil {
					m.Email.From = store.Address{Email: "tend@tend.test"}
					m.Email.MessageID = "x1@tend.test"
				}
			}
			enqueued = append(enqueued, ms...)
			return e.st.EnqueueMessages(e.ctx, ms)
		},
		SlackURL: "https://hooks.slack.test/T0/B0/x", WebhookURL: "https://receiver.test/tend", WebhookSecret: "TEND_WEBHOOK_SECRET_PLAYBOOKS"}
	spec := engine.NotifySpec{Key: "pb:health_red:1:x:notify:0", AccountID: a.ID, User: u, Channels: []string{"inbox", "email", "slack", "webhook"},
		Title: "Acme <Inc> & Co turned red", Body: "last activity 30 days ago", URL: "https://tend.test/accounts/1", Source: "playbook health_red"}
	ref, err := fx.Notify(e.ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ref, "inbox") || !strings.Contains(ref, "slack message") || !strings.Contains(ref, "webhook message") {
		t.Errorf("result %q", ref)
	}
	if len(enqueued) != 3 {
		t.Fatalf("%d messages enqueued, want email, slack and webhook", len(enqueued))
	}
	for _, m := range enqueued {
		if m.Key != spec.Key+":"+m.Channel || !m.Transactional || m.Playbook != "health_red" || *m.AccountID != a.ID {
			t.Errorf("message %+v", m)
		}
		switch m.Channel {
		case store.ChannelSlack:
			var body struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
					Text struct {
						Type string `json:"type"`
						Text string `json:"text"`
					} `json:"text"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(m.Slack.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Text != spec.Title || len(body.Blocks) != 1 || body.Blocks[0].Type != "section" || body.Blocks[0].Text.Type != "mrkdwn" ||
				!strings.Contains(body.Blocks[0].Text.Text, "*Acme &lt;Inc&gt; &amp; Co turned red*") ||
				!strings.Contains(body.Blocks[0].Text.Text, "<https://tend.test/accounts/1|Open in Tend>") {
				t.Errorf("slack body %s", m.Slack.Body)
			}
		case store.ChannelWebhook:
			var ev struct {
				outbox.Event
				Data engine.NotifyData `json:"data"`
			}
			if err := json.Unmarshal(m.Webhook.Body, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != "playbook.notify" || ev.ID != m.Key || ev.Playbook != "health_red" || ev.Account == nil || ev.Account.ID != a.ID ||
				ev.Account.Name != a.Name || ev.Data.User.Email != u.Email || ev.Data.Title != spec.Title || ev.Data.URL != spec.URL ||
				m.Webhook.Secret != "TEND_WEBHOOK_SECRET_PLAYBOOKS" {
				t.Errorf("webhook event %s", m.Webhook.Body)
			}
		case store.ChannelEmail:
			if m.Email.To.Email != u.Email || m.Email.Subject != spec.Title || !strings.Contains(m.Email.Text, spec.URL) {
				t.Errorf("email %+v", m.Email)
			}
		}
	}
	// The action again (a retry): nothing new.
	if _, err := fx.Notify(e.ctx, spec); err != nil {
		t.Fatal(err)
	}
	page, err := e.st.ListNotifications(e.ctx, work.NotificationFilter{UserID: u.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Notifications) != 1 || page.Notifications[0].Link != "/accounts/1" {
		t.Errorf("notifications %+v", page.Notifications)
	}
	msgs, err := e.st.ListMessages(e.ctx, store.OutboxFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Messages) != 3 {
		t.Errorf("%d outbox messages after a retry, want 3", len(msgs.Messages))
	}
	// Without a Slack URL, Slack is skipped and the result says so.
	fx.SlackURL = ""
	spec.Key, spec.Channels = "pb:other", []string{"slack"}
	if ref, err := fx.Notify(e.ctx, spec); err != nil || !strings.Contains(ref, "skipped slack (no webhook URL configured)") {
		t.Errorf("no Slack URL: %q, %v", ref, err)
	}
}
