package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
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
		dsn := migratedDatabase(t, admin)
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

// The migrated template: one database per test process that every migration
// has run on, which migratedDatabase copies (CREATE DATABASE … TEMPLATE).
// Running the migrations takes about half a second a database, and the
// suite creates hundreds. TestMain drops it.
var template struct {
	sync.Mutex
	name  string
	admin *sql.DB
}

// migratedDatabase creates a database for one test with the schema every
// migration makes, drops it when the test ends, and returns its URL. Open
// migrates it as it would any database (finding nothing to do), so the
// store is opened exactly as in production; the migrations themselves run
// on the template, and from empty in migrate_test.go.
func migratedDatabase(t *testing.T, a *admin) string {
	t.Helper()
	ctx := context.Background()
	template.Lock()
	if template.name == "" {
		b := make([]byte, 8)
		rand.Read(b)
		name := "tend_template_" + hex.EncodeToString(b)
		if _, err := a.db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
			template.Unlock()
			t.Fatalf("create database %s: %v", name, err)
		}
		u := *a.url
		u.Path = "/" + name
		st, err := postgres.Open(ctx, u.String())
		if err == nil {
			err = st.Close()
		}
		if err != nil {
			a.db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
			template.Unlock()
			t.Fatalf("migrate the template database: %v", err)
		}
		// TestMain drops it with a connection of its own: a's closes
		// with the test that made it.
		admin, err := sql.Open("pgx", a.url.String())
		if err != nil {
			template.Unlock()
			t.Fatal(err)
		}
		template.name, template.admin = name, admin
	}
	name := template.name
	template.Unlock()
	return createDatabase(t, a, `TEMPLATE "`+name+`"`)
}

// dropTemplate drops the migrated template, if a test made one.
func dropTemplate() {
	template.Lock()
	defer template.Unlock()
	if template.name == "" {
		return
	}
	if _, err := template.admin.Exec(`DROP DATABASE IF EXISTS "` + template.name + `" WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "drop the template database %s: %v\n", template.name, err)
	}
	template.admin.Close()
}

// freshDatabase creates an empty database for one test, drops it when the
// test ends, and returns its URL.
func freshDatabase(t *testing.T, a *admin) string {
	t.Helper()
	return createDatabase(t, a, "")
}

// createDatabase creates a database for one test with the given options,
// drops it when the test ends, and returns its URL.
func createDatabase(t *testing.T, a *admin, options string) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "tend_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	// The name is ours (hex), so quoting it as an identifier is enough.
	if _, err := a.db.ExecContext(ctx, `CREATE DATABASE "`+name+`" `+options); err != nil {
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

func TestMain(m *testing.M) {
	code := m.Run()
	dropTemplate()
	os.Exit(code)
}
