package main

import (
	"context"
	"os"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// playbookConfig is how serve, the demo and simulate run playbooks: real
// effects in st (tasks, docs, notes, in-app notifications) and email,
// Slack and webhook notifications through enqueue into the outbox. Slack
// and webhooks go where the environment says (TEND_SLACK_WEBHOOK_URL,
// TEND_WEBHOOK_URL signed with TEND_WEBHOOK_SECRET_PLAYBOOKS); TEND_BASE_URL is
// Tend's address for links. Campaigns run too, their emails into the same
// outbox.
func playbookConfig(st store.Store, ws *workspace.Workspace, now func() time.Time,
	enqueue func(context.Context, ...*store.OutboxMessage) error) *engine.PlaybookConfig {
	from, err := mailFrom()
	if err != nil {
		from = store.Address{Name: "Tend", Email: "tend@localhost"}
	}
	if enqueue == nil {
		// No worker here (the demo's history, simulate): the messages wait
		// in the outbox, their From and Message-ID filled as a server's
		// queue fills them.
		enqueue = outbox.NewQueue(st, from).Enqueue
	}
	linkBase := os.Getenv("TEND_BASE_URL")
	if linkBase == "" {
		// Links in emails must be absolute: the default listen address.
		linkBase = "http://127.0.0.1:8080"
	}
	return &engine.PlaybookConfig{
		Effects: &engine.StoreEffects{Store: st, Workspace: ws, Now: now, Enqueue: enqueue,
			SlackURL: os.Getenv("TEND_SLACK_WEBHOOK_URL"), WebhookURL: os.Getenv("TEND_WEBHOOK_URL"), WebhookSecret: "TEND_WEBHOOK_SECRET_PLAYBOOKS"},
		BaseURL:   os.Getenv("TEND_BASE_URL"),
		Campaigns: &engine.CampaignConfig{Enqueue: enqueue, From: from, LinkBase: linkBase},
	}
}
