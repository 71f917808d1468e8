package outbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/sqlstore"
)

// forEachStore runs f on a fresh in-memory SQLite store and, when
// TEND_TEST_DATABASE_URL names a PostgreSQL server, on a fresh database
// there too (created for the test and dropped after, as the store's
// conformance suite does). Both stores run on the clock c.
func forEachStore(t *testing.T, f func(t *testing.T, st store.Outbox, c *clock)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.OpenMemory(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c := newClock()
		db.Now = c.Now
		f(t, db, c)
	})
	t.Run("postgres", func(t *testing.T) {
		db := openPostgres(t)
		c := newClock()
		db.Now = c.Now
		f(t, db, c)
	})
}

func openPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	raw := os.Getenv("TEND_TEST_DATABASE_URL")
	if raw == "" {
		t.Skip("TEND_TEST_DATABASE_URL is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEND_TEST_DATABASE_URL: %v", err)
	}
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	name := "tend_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clock is a test clock that moves only when told; it starts at
// 2026-03-02 09:00 UTC, a Monday, at whole milliseconds as the store
// keeps them.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sink is an in-process SMTP server that keeps what it receives.
type sink struct {
	addr string
	port int

	mu       sync.Mutex
	received []received
	// reject answers RCPT TO for an address with an error.
	reject map[string]*smtp.SMTPError
	// tempData answers the end of DATA with 451 this many times first.
	tempData int
	// dataErr answers the end of DATA with an error, always.
	dataErr *smtp.SMTPError
	// discard keeps only a count (benchmarks).
	discard bool
	count   int
}

type received struct {
	from string
	to   []string
	data []byte
}

func newSink(t testing.TB) *sink { return newSinkTLS(t, nil) }

// newSinkTLS starts a sink that offers STARTTLS with the configuration.
func newSinkTLS(t testing.TB, tc *tls.Config) *sink {
	t.Helper()
	s := &sink{reject: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.TLSConfig = tc
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.addr = l.Addr().String()
	s.port = l.Addr().(*net.TCPAddr).Port
	return s
}

func (s *sink) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

func (s *sink) sender(t testing.TB) *outbox.SMTP {
	t.Helper()
	snd, err := outbox.NewSMTP(outbox.SMTPConfig{Host: "127.0.0.1", Port: s.port, TLS: outbox.TLSNone,
		Timeout: 10 * time.Second, MaxConns: 4,
		From: store.Address{Name: "Tend", Email: "success@tend.test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return snd
}

type session struct {
	s    *sink
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
	x.s.mu.Lock()
	err := x.s.reject[strings.ToLower(to)]
	x.s.mu.Unlock()
	if err != nil {
		return err
	}
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
	if x.s.discard {
		x.s.count++
		return nil
	}
	x.s.received = append(x.s.received, received{from: x.from, to: x.to, data: b.Bytes()})
	if x.s.dataErr != nil {
		return x.s.dataErr
	}
	if x.s.tempData > 0 {
		x.s.tempData--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

// run starts the worker until the test ends.
func run(t testing.TB, w *outbox.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the worker did not stop")
		}
	})
}

// waitStatus waits until the message with the key has one of the
// statuses, and returns it.
func waitStatus(t testing.TB, st store.Outbox, key string, statuses ...string) store.OutboxMessage {
	t.Helper()
	return waitFor(t, st, key, fmt.Sprint("status in ", statuses), func(m store.OutboxMessage) bool {
		return slices.Contains(statuses, m.Status)
	})
}

// waitFor waits until the message with the key is as ok wants it.
func waitFor(t testing.TB, st store.Outbox, key, what string, ok func(store.OutboxMessage) bool) store.OutboxMessage {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var m store.OutboxMessage
	var err error
	for time.Now().Before(deadline) {
		m, err = st.GetMessageByKey(context.Background(), key)
		if err == nil && ok(m) {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("message %s: status %q, attempts %d (err %v), last error %q; want %s", key, m.Status, m.Attempts, err, m.LastError, what)
	return m
}

// welcome is a campaign step's email to Ann at Initech.
func welcome(key, to string) *store.OutboxMessage {
	e := store.Email{
		To:      store.Address{Name: "Ann Admin", Email: to},
		ReplyTo: store.Address{Email: "dana@tend.test"},
		Subject: "Welcome to your new instance",
		Text:    "Hi Ann,\n\nwelcome aboard.",
		HTML:    "<p>Hi Ann,</p><p>welcome aboard.</p>",
		Headers: outbox.UnsubscribeHeaders("https://tend.test/u/abc"),
	}
	m := outbox.NewEmail(key, e)
	m.Campaign, m.Step = "admin-onboarding", "welcome"
	return m
}
