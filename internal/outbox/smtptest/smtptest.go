// Package smtptest is an in-process SMTP server for tests and benchmarks
// (github.com/emersion/go-smtp): it keeps every message it receives, so a
// test can check who got what, with which headers and bodies.
package smtptest

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

// Message is one message received.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Header parses the message's header.
func (m Message) Header() (mail.Header, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, err
	}
	return msg.Header, nil
}

// Sink is a running server.
type Sink struct {
	Port int

	mu       sync.Mutex
	received []Message
	// Discard keeps only a count (benchmarks).
	Discard bool
	count   int
}

// New starts a sink on a free loopback port until the test ends.
func New(t testing.TB) *Sink {
	t.Helper()
	s := &Sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.Port = l.Addr().(*net.TCPAddr).Port
	return s
}

// Messages returns what was received, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

// Count is how many messages were received.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Sender is an outbox SMTP sender to the sink, closed when the test ends.
func (s *Sink) Sender(t testing.TB, from store.Address) *outbox.SMTP {
	t.Helper()
	snd, err := outbox.NewSMTP(outbox.SMTPConfig{Host: "127.0.0.1", Port: s.Port, TLS: outbox.TLSNone,
		Timeout: 10 * time.Second, MaxConns: 4, From: from})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return snd
}

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.count++
	if !x.s.Discard {
		x.s.received = append(x.s.received, Message{From: x.from, To: x.to, Data: b.Bytes()})
	}
	return nil
}
