package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/postgres"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/workspace"
)

// storeFlags are the flags every command that opens the database shares;
// each has an environment variable that does the same.
type storeFlags struct {
	data        string
	databaseURL string
	workspace   string
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", envOr("TEND_DATA", "tend-data"), "directory of the embedded SQLite database (env TEND_DATA)")
	fs.StringVar(&f.databaseURL, "database-url", os.Getenv("TEND_DATABASE_URL"), "PostgreSQL URL, postgres://…; overrides --data (env TEND_DATABASE_URL)")
	fs.StringVar(&f.workspace, "workspace", os.Getenv("TEND_WORKSPACE"), "workspace directory; default: the handbook's, embedded (env TEND_WORKSPACE)")
}

// openStore opens PostgreSQL when a postgres:// URL is given, else the
// SQLite file in the data directory, creating it.
func (f *storeFlags) openStore(ctx context.Context) (store.Store, error) {
	if u := f.databaseURL; u != "" {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, fmt.Errorf("--database-url %q: only postgres:// URLs are supported; use --data for SQLite", redact(u))
		}
		return postgres.Open(ctx, u)
	}
	if err := os.MkdirAll(f.data, 0o750); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(f.data, "tend.db"))
}

// where describes the database for people, without a password.
func (f *storeFlags) where() string {
	if f.databaseURL != "" {
		return "PostgreSQL " + redact(f.databaseURL)
	}
	return "SQLite " + filepath.Join(f.data, "tend.db")
}

func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	creds := u[scheme+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return u[:scheme+3] + user + ":***" + u[at:]
	}
	return u
}

// loadWorkspace loads --workspace, or the embedded default. Problems are
// printed one per line as file:line: message.
func (f *storeFlags) loadWorkspace(stderr io.Writer) (*workspace.Workspace, error) {
	var ws *workspace.Workspace
	var err error
	if f.workspace == "" {
		ws, err = workspace.Default()
	} else {
		ws, err = workspace.Load(f.workspace)
	}
	if err != nil {
		fmt.Fprintf(stderr, "workspace %s is not valid:\n%v\n", orDefault(f.workspace), err)
		return nil, silentError{err}
	}
	return ws, nil
}

func orDefault(dir string) string {
	if dir == "" {
		return "(embedded default)"
	}
	return dir
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("TEND_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// parse parses a subcommand's flags; mistakes are explained by the flag
// package and turn into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	return nil
}

// noArgs refuses arguments left after the flags: flag parsing stops at the
// first one, so a stray word would silently drop every flag after it.
func noArgs(fs *flag.FlagSet, allowed int) error {
	if fs.NArg() > allowed {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q (flags go before any argument)\n", fs.Name(), fs.Arg(allowed))
		return errUsage
	}
	return nil
}
