package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/storetest"
)

// TestConformance runs the store suite against a real PostgreSQL server,
// each test in a database of its own that is created for it and dropped
// after. scripts/test starts a throwaway server and sets
// TEND_TEST_DATABASE_URL; without it the suite is skipped locally and fails
// in CI, where a skipped engine would pass unnoticed.
func TestConformance(t *testing.T) {
	admin := adminDB(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		ctx := context.Background()
		dsn := freshDatabase(t, admin)
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// Cleanups run last-in first-out: the store closes before its
		// database is dropped.
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
		return st
	})
}

// adminDB connects to the server named by TEND_TEST_DATABASE_URL.
func adminDB(t *testing.T) *admin {
	t.Helper()
	raw := os.Getenv("TEND_TEST_DATABASE_URL")
	if raw == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEND_TEST_DATABASE_URL is not set; scripts/test starts PostgreSQL")
		}
		t.Skip("TEND_TEST_DATABASE_URL is not set; run scripts/test to start PostgreSQL for this suite")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEND_TEST_DATABASE_URL: %v", err)
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("TEND_TEST_DATABASE_URL %s: %v", u.Redacted(), err)
	}
	return &admin{db: db, url: u}
}

type admin struct {
	db  *sql.DB
	url *url.URL
}

// freshDatabase creates an empty database for one test, drops it when the
// test ends, and returns its URL.
func freshDatabase(t *testing.T, a *admin) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "tend_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	// The name is ours (hex), so quoting it as an identifier is enough.
	if _, err := a.db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a failed test may have left open.
		if _, err := a.db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := *a.url
	u.Path = "/" + name
	return u.String()
}
