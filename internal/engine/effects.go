package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
	"github.com/tendhq/tend/internal/workspace"
)

// StoreEffects are the playbook runner's real effects: tasks, docs and
// in-app notifications in the store, and email, Slack and webhook
// notifications through the outbox. Every one carries the action's key, so
// that a retried action creates nothing twice (store.Work and
// store.Outbox both keep one record per key).
type StoreEffects struct {
	Store     store.Store
	Workspace *workspace.Workspace
	Now       func() time.Time
	// Enqueue stores outbox messages and wakes the worker
	// (outbox.Queue.Enqueue, which fills an email's From and Message-ID);
	// nil leaves email, Slack and webhook notifications out, with a note
	// in the action's result.
	Enqueue func(ctx context.Context, ms ...*store.OutboxMessage) error
	// SlackURL is the Slack incoming webhook notifications are posted to;
	// "" leaves Slack out.
	SlackURL string
	// WebhookURL is where webhook notifications are POSTed, signed with
	// the secret in the environment variable WebhookSecret names.
	WebhookURL    string
	WebhookSecret string
}

func (e *StoreEffects) actor(source string) account.Actor {
	return account.System(source, "playbook")
}

// CreateTask implements Effects.
func (e *StoreEffects) CreateTask(ctx context.Context, s TaskSpec) (string, error) {
	t := work.Task{AccountID: s.AccountID, Title: s.Title, Body: s.Body, DueDate: s.Due, Key: s.Key, Source: s.Source,
		Status: work.StatusOpen}
	if s.AssigneeID != 0 {
		id := s.AssigneeID
		t.AssigneeID = &id
	}
	if _, err := e.Store.CreateTask(ctx, &t, e.actor(s.Source)); err != nil {
		return "", err
	}
	return fmt.Sprintf("task %d", t.ID), nil
}

// CreateDoc implements Effects.
func (e *StoreEffects) CreateDoc(ctx context.Context, s DocSpec) (string, error) {
	d, _, err := CreateDoc(ctx, e.Store, e.Workspace, work.DocRequest{AccountID: s.AccountID, Template: s.Template,
		Title: s.Title, Key: s.Key, Source: s.Source}, e.actor(s.Source), e.Now())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("doc %d", d.ID), nil
}

// CancelTasks implements Effects.
func (e *StoreEffects) CancelTasks(ctx context.Context, accountID int64, source string) (int, error) {
	if accountID != 0 {
		ts, err := e.Store.CancelOpenTasks(ctx, accountID, source, e.actor(source))
		return len(ts), err
	}
	n := 0
	for {
		page, err := e.Store.ListTasks(ctx, work.TaskFilter{Source: source, Status: work.StatusOpen, Limit: 500})
		if err != nil {
			return n, err
		}
		if len(page.Tasks) == 0 {
			return n, nil
		}
		seen := map[int64]bool{}
		for _, t := range page.Tasks {
			if seen[t.AccountID] {
				continue
			}
			seen[t.AccountID] = true
			ts, err := e.Store.CancelOpenTasks(ctx, t.AccountID, source, e.actor(source))
			if err != nil {
				return n, err
			}
			n += len(ts)
		}
	}
}

// NotifyData is the data of a playbook's webhook notification
// (outbox.Event's data, type "playbook.notify"; docs/notifications.md).
type NotifyData struct {
	Title string      `json:"title"`
	Body  string      `json:"body"`
	URL   string      `json:"url"`
	User  WebhookUser `json:"user"`
}

// WebhookUser is the team member a notification is for.
type WebhookUser struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Notify implements Effects: one record per channel, each under the
// action's key and the channel.
func (e *StoreEffects) Notify(ctx context.Context, n NotifySpec) (string, error) {
	var done, skipped []string
	var msgs []*store.OutboxMessage
	acc := n.AccountID
	uid := n.User.ID
	pb := strings.TrimPrefix(n.Source, "playbook ")
	for _, ch := range n.Channels {
		key := n.Key + ":" + ch
		switch ch {
		case "inbox":
			if uid == 0 {
				skipped = append(skipped, "inbox (nobody to notify)")
				continue
			}
			nt := work.Notification{UserID: uid, AccountID: &acc, Title: n.Title, Body: n.Body, Link: localLink(n.URL), Key: key}
			if _, err := e.Store.CreateNotification(ctx, &nt); err != nil {
				return "", err
			}
			done = append(done, fmt.Sprintf("inbox %d", nt.ID))
		case "email":
			if n.User.Email == "" {
				skipped = append(skipped, "email (no address)")
				continue
			}
			text := n.Body
			if n.URL != "" {
				text += "\n\n" + n.URL
			}
			msgs = append(msgs, &store.OutboxMessage{Key: key, Channel: store.ChannelEmail, Transactional: true,
				AccountID: &acc, UserID: &uid, Playbook: pb, Firing: n.Key,
				Email: &store.Email{To: store.Address{Name: n.User.Name, Email: n.User.Email}, Subject: n.Title, Text: text}})
		case "slack":
			if e.SlackURL == "" {
				skipped = append(skipped, "slack (no webhook URL configured)")
				continue
			}
			text := "*" + slackEscape(n.Title) + "*"
			if n.Body != "" {
				text += "\n" + slackEscape(n.Body)
			}
			if n.URL != "" {
				text += "\n<" + n.URL + "|Open in Tend>"
			}
			blocks, err := json.Marshal([]any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": text}}})
			if err != nil {
				return "", err
			}
			m := outbox.NewSlack(key, e.SlackURL, n.Title, blocks)
			m.Transactional, m.AccountID, m.UserID, m.Playbook, m.Firing = true, &acc, &uid, pb, n.Key
			msgs = append(msgs, m)
		case "webhook":
			if e.WebhookURL == "" {
				skipped = append(skipped, "webhook (no URL configured)")
				continue
			}
			var name string
			if a, err := e.Store.GetAccount(ctx, acc); err == nil {
				name = a.Name
			} else if !derrors.Is(err, derrors.NotFound) {
				return "", err
			}
			data, err := json.Marshal(NotifyData{Title: n.Title, Body: n.Body, URL: n.URL,
				User: WebhookUser{ID: uid, Name: n.User.Name, Email: n.User.Email}})
			if err != nil {
				return "", err
			}
			m, err := outbox.NewWebhook(key, e.WebhookURL, e.WebhookSecret, outbox.Event{Type: "playbook.notify", CreatedAt: e.Now(),
				Account: &outbox.EventAccount{ID: acc, Name: name}, Playbook: pb, Firing: n.Key, Text: n.Title, Data: data})
			if err != nil {
				return "", err
			}
			m.Transactional, m.UserID = true, &uid
			msgs = append(msgs, m)
		default:
			return "", derrors.New(derrors.Invalid, "unknown notification channel %q", ch)
		}
	}
	if len(msgs) > 0 {
		if e.Enqueue == nil {
			for _, m := range msgs {
				skipped = append(skipped, m.Channel+" (no outbox)")
			}
		} else {
			if err := e.Enqueue(ctx, msgs...); err != nil {
				return "", err
			}
			for _, m := range msgs {
				done = append(done, fmt.Sprintf("%s message %d", m.Channel, m.ID))
			}
		}
	}
	out := strings.Join(done, ", ")
	if len(skipped) > 0 {
		if out != "" {
			out += "; "
		}
		out += "skipped " + strings.Join(skipped, ", ")
	}
	return out, nil
}

// localLink makes an absolute link to this site a path, as in-app
// notifications keep them.
func localLink(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Path == "" {
		return u
	}
	if p.IsAbs() {
		return p.Path
	}
	return u
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
