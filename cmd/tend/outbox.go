package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

// mailFrom is the address Tend's notices are from: TEND_MAIL_FROM
// ("Tend <tend@example.com>" or a bare address), tend@localhost by default.
func mailFrom() (store.Address, error) {
	v := os.Getenv("TEND_MAIL_FROM")
	if v == "" {
		return store.Address{Name: "Tend", Email: "tend@localhost"}, nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		return store.Address{}, fmt.Errorf("TEND_MAIL_FROM %q is not an address: %v", v, err)
	}
	return store.Address{Name: a.Name, Email: a.Address}, nil
}

// startOutbox starts the outbox worker of a server: SMTP when
// TEND_SMTP_HOST is set (TEND_SMTP_PORT, TEND_SMTP_USERNAME,
// TEND_SMTP_PASSWORD, TEND_SMTP_TLS none / starttls / tls), otherwise
// emails are captured — kept in the outbox, readable in the UI — as in the
// demo; Slack and webhooks are always posted. It returns the queue to
// enqueue through and a stop function that lets sends under way finish.
func startOutbox(ctx context.Context, st store.Store, log *slog.Logger, now func() time.Time) (*outbox.Queue, func(), error) {
	from, err := mailFrom()
	if err != nil {
		return nil, nil, err
	}
	senders := map[string]outbox.Sender{store.ChannelSlack: &outbox.Slack{}, store.ChannelWebhook: &outbox.Webhook{}}
	var smtpSender *outbox.SMTP
	if host := os.Getenv("TEND_SMTP_HOST"); host != "" {
		cfg := outbox.SMTPConfig{Host: host, Username: os.Getenv("TEND_SMTP_USERNAME"), Password: os.Getenv("TEND_SMTP_PASSWORD"),
			TLS: os.Getenv("TEND_SMTP_TLS"), From: from}
		if p := os.Getenv("TEND_SMTP_PORT"); p != "" {
			if cfg.Port, err = strconv.Atoi(p); err != nil {
				return nil, nil, fmt.Errorf("TEND_SMTP_PORT %q is not a port number", p)
			}
		}
		if smtpSender, err = outbox.NewSMTP(cfg); err != nil {
			return nil, nil, err
		}
		senders[store.ChannelEmail] = smtpSender
	} else {
		log.Info("outbox: no SMTP server configured (TEND_SMTP_HOST): emails are captured in the outbox, not sent")
	}
	w := &outbox.Worker{Store: st, Senders: senders, Clock: now, Logger: log,
		Rate: map[string]float64{store.ChannelSlack: 1}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("outbox: worker stopped", "err", err)
		}
	}()
	stop := func() {
		cancel()
		<-done
		if smtpSender != nil {
			smtpSender.Close()
		}
	}
	return outbox.NewQueue(st, from).Notify(w.Kick), stop, nil
}
