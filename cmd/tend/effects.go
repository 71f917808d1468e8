package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// playbookConfig is how serve, the demo and simulate run playbooks: real
// effects in st (tasks, docs, notes, in-app notifications) and email,
// Slack and webhook notifications through enqueue into the outbox. Slack
// and webhooks go where the environment says (TEND_SLACK_WEBHOOK_URL,
// TEND_WEBHOOK_URL signed with TEND_WEBHOOK_SECRET_PLAYBOOKS); TEND_BASE_URL is
// Tend's address for links.
func playbookConfig(st store.Store, ws *workspace.Workspace, now func() time.Time,
	enqueue func(context.Context, ...*store.OutboxMessage) error) *engine.PlaybookConfig {
	if enqueue == nil {
		enqueue = func(ctx context.Context, ms ...*store.OutboxMessage) error {
			from := store.Address{Name: "Tend", Email: "tend@localhost"}
			if v := os.Getenv("TEND_MAIL_FROM"); v != "" {
				from.Email = v
			}
			for _, m := range ms {
				if m.Email != nil && m.Email.From.Email == "" {
					m.Email.From = from
				}
				if m.Email != nil && m.Email.MessageID == "" {
					m.Email.MessageID = fmt.Sprintf("%x@tend.invalid", sha256.Sum256([]byte(m.Key)))
				}
			}
			return st.EnqueueMessages(ctx, ms)
		}
	}
	return &engine.PlaybookConfig{
		Effects: &engine.StoreEffects{Store: st, Workspace: ws, Now: now, Enqueue: enqueue,
			SlackURL: os.Getenv("TEND_SLACK_WEBHOOK_URL"), WebhookURL: os.Getenv("TEND_WEBHOOK_URL"), WebhookSecret: "TEND_WEBHOOK_SECRET_PLAYBOOKS"},
		BaseURL: os.Getenv("TEND_BASE_URL"),
	}
}
