package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/tendhq/tend/internal/store"
)

// The TLS modes of an SMTP connection.
const (
	// TLSNone sends in the clear: a relay on localhost or a mail catcher.
	TLSNone = "none"
	// TLSStartTLS upgrades the connection with STARTTLS and refuses a
	// server that does not offer it (port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "tls"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	Host string
	// Port defaults to 587, or 465 with TLSImplicit, or 25 with TLSNone.
	Port     int
	Username string
	Password string
	// TLS is TLSNone, TLSStartTLS (the default) or TLSImplicit.
	TLS string
	// TLSConfig overrides the TLS client configuration (tests, a private
	// CA); ServerName defaults to Host.
	TLSConfig *tls.Config
	// From is the sender of an email that names none.
	From store.Address
	// EnvelopeFrom, when set, is the SMTP MAIL FROM, where bounces go;
	// otherwise the From address.
	EnvelopeFrom string
	// Timeout bounds a connection's dial and each transaction on it; 30
	// seconds by default. A send may take twice as long (a stale pooled
	// connection is redialled once), which must stay well inside the
	// worker's Claim: the SMTP client does not stop on its context.
	Timeout time.Duration
	// MaxConns is the most connections kept open, and used at once; 4 by
	// default. Set the worker's Concurrency no higher, or sends wait for
	// a connection.
	MaxConns int
}

// SMTP sends emails over SMTP, keeping a few connections open between
// messages. It is safe for concurrent use.
type SMTP struct {
	cfg    SMTPConfig
	client *mail.Client
	// conns holds a token per connection allowed; idle the open ones
	// not in use.
	conns chan struct{}
	idle  chan *smtp.Client
}

// NewSMTP returns an SMTP sender; it does not connect until it sends.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: no host")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4
	}
	opts := []mail.Option{mail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		if cfg.Port == 0 {
			cfg.Port = 25
		}
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		if cfg.Port == 0 {
			cfg.Port = 587
		}
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
		if cfg.Port == 0 {
			cfg.Port = 465
		}
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q is not one of none, starttls, tls", cfg.TLS)
	}
	opts = append(opts, mail.WithPort(cfg.Port))
	if cfg.TLSConfig != nil {
		tc := cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		opts = append(opts, mail.WithTLSConfig(tc))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	s := &SMTP{cfg: cfg, client: c, conns: make(chan struct{}, cfg.MaxConns), idle: make(chan *smtp.Client, cfg.MaxConns)}
	return s, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m *store.OutboxMessage) error {
	if m.Email != nil && m.Email.From.Email == "" {
		e := *m.Email
		e.From = s.cfg.From
		m = &store.OutboxMessage{ID: m.ID, Key: m.Key, CreatedAt: m.CreatedAt, Email: &e}
	}
	msg, err := buildEmail(m, s.cfg.EnvelopeFrom)
	if err != nil {
		return permanent(err)
	}
	select {
	case s.conns <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.conns }()
	c, reused, err := s.conn(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	err = s.client.SendWithSMTPClient(c, msg)
	var se *mail.SendError
	if err != nil && reused && errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
		// The server closed the idle connection: a fresh one, once.
		s.client.CloseWithSMTPClient(c)
		if c, err = s.dial(ctx); err != nil {
			return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
		}
		err = s.client.SendWithSMTPClient(c, msg)
	}
	if err != nil && !msg.IsDelivered() {
		// Whatever state the session is in, start the next on a fresh one.
		c.Close()
		return classifySMTP(err)
	}
	// Delivered, even if the RSET that follows failed.
	if err != nil {
		c.Close()
		return nil
	}
	select {
	case s.idle <- c:
	default:
		s.client.CloseWithSMTPClient(c)
	}
	return nil
}

// conn returns an idle connection or a new one.
func (s *SMTP) conn(ctx context.Context) (c *smtp.Client, reused bool, err error) {
	select {
	case c := <-s.idle:
		return c, true, nil
	default:
	}
	c, err = s.dial(ctx)
	return c, false, err
}

func (s *SMTP) dial(ctx context.Context) (*smtp.Client, error) {
	return s.client.DialToSMTPClientWithContext(ctx)
}

// Close ends the idle connections.
func (s *SMTP) Close() error {
	for {
		select {
		case c := <-s.idle:
			s.client.CloseWithSMTPClient(c)
		default:
			return nil
		}
	}
}

// classifySMTP turns a failed SMTP transaction into a SendError. A 5xx
// answer is permanent; it bounces the address (suppressed as bounced) when
// it rejects the recipient — at RCPT TO, or after the data with an
// enhanced status about the address or the mailbox (5.1.x, 5.2.x). A 5xx
// about the sender or the content (a misconfigured relay, a spam filter)
// is not the recipient's fault and suppresses nothing. A 4xx, the network
// and anything else is temporary.
func classifySMTP(err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return err
	}
	code := se.ErrorCode()
	switch {
	case code >= 500 && code < 600:
		out := &SendError{Err: err, Permanent: true}
		esc := se.EnhancedStatusCode()
		if se.Reason == mail.ErrSMTPRcptTo ||
			(se.Reason == mail.ErrSMTPDataClose && (strings.HasPrefix(esc, "5.1.") || strings.HasPrefix(esc, "5.2."))) {
			out.Suppress = store.SuppressBounced
		}
		return out
	case code >= 400:
		return &SendError{Err: err}
	}
	switch se.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		// The message itself is wrong: it would fail the same way again.
		return &SendError{Err: err, Permanent: true}
	}
	return &SendError{Err: err}
}
