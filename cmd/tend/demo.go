package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/demo"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	accounts := fs.Int("accounts", 300, "number of accounts to generate")
	seed := fs.Int64("seed", 1, "random seed: the same seed on the same day gives the same book")
	reset := fs.Bool("reset", false, "wipe the SQLite database in --data first")
	if err := parse(fs, args); err != nil {
		return err
	}
	dataSet := false
	fs.Visit(func(fl *flag.Flag) { dataSet = dataSet || fl.Name == "data" })
	if f.databaseURL == "" && !dataSet && os.Getenv("TEND_DATA") == "" {
		// The demo never touches a real ./tend-data: by default it gets a
		// directory of its own.
		dir, err := os.MkdirTemp("", "tend-demo-*")
		if err != nil {
			return err
		}
		f.data = dir
		// Registered first, so it runs last: after the store is closed.
		// Give --data to keep a demo.
		defer os.RemoveAll(dir)
	}
	if *reset {
		if f.databaseURL != "" {
			return errors.New("--reset only wipes SQLite; give the demo an empty PostgreSQL database instead")
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(filepath.Join(f.data, "tend.db"+suffix)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := requireEmpty(ctx, st); err != nil {
		return fmt.Errorf("%s: %w", f.where(), err)
	}
	base, err := f.now(ws)
	if err != nil {
		return err
	}
	start := time.Now()
	now := base()
	// The demo's clock stands still while the book is written and its
	// history replayed (it starts historyDays back, so accounts are created
	// then), and runs from now on once the demo serves.
	clock := engine.NewManualClock(now.AddDate(0, 0, -historyDays))
	var live atomic.Pointer[func() time.Time]
	demoNow := func() time.Time {
		if l := live.Load(); l != nil {
			return (*l)()
		}
		return clock.Now()
	}
	setStoreClock(st, demoNow)
	// One usage engine takes the demo's year of product events and then
	// serves. Generate starts it once the accounts exist, since an engine
	// resolves the events' group ids against the accounts it has loaded.
	var eng *engine.Usage
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	startEngine := func(ctx context.Context) (*engine.Usage, error) {
		var err error
		eng, err = startUsage(ctx, st, ws, newLogger(stderr), demoNow)
		return eng, err
	}
	res, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: *accounts, Seed: *seed, Now: now, Usage: startEngine})
	if err != nil {
		return fmt.Errorf("generate the demo: %w", err)
	}
	changes, err := demoHistory(ctx, st, ws, eng, clock, now)
	if err != nil {
		return fmt.Errorf("replay the demo's history: %w", err)
	}
	running := engine.StartedClock(now)
	live.Store(&running)
	admin, err := st.GetUserByEmail(ctx, res.AdminEmail)
	if err != nil {
		return err
	}
	secret, tok, err := team.NewToken(admin.ID, "demo")
	if err != nil {
		return err
	}
	if err := st.CreateToken(ctx, &tok); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Generated %d accounts, %d contacts, %d team members, %d trait values, a year of product usage "+
		"(%d events from %d people) and %d days of health and lifecycle history (%d changes) in %s (%s).\n",
		res.Accounts, res.Contacts, res.Users, res.Traits, res.Events, res.ProductUsers, historyDays, changes,
		time.Since(start).Round(time.Millisecond), f.where())
	return serve(ctx, &f, st, ws, eng, demoNow, stdout, stderr, func(url string) {
		fmt.Fprintf(stdout, "\nTend demo is running: %s\n\n  Log in:    %s / %s\n  API token: %s\n  Try:       curl -H 'Authorization: Bearer %s' '%s/api/v1/accounts?limit=3'\n",
			url, res.AdminEmail, res.AdminPassword, secret, secret, url)
		if res.SampleGroupID != "" {
			fmt.Fprintf(stdout, "\n  Write key: %s\n  Send:      %s\n", res.WriteKey, trackExample(url, res))
		}
		fmt.Fprintf(stdout, "\nPress Ctrl-C to stop.\n")
	})
}

// historyDays is how far back the demo replays its engine, so that health
// trends, the health changes list and lifecycle history have a past.
const historyDays = 180

// demoHistory runs the engine over the demo's last historyDays, a day at a
// time, as a server would have run it: the usage metrics of each day, the
// stages and health they give, every change with its reason and a daily
// health snapshot. It returns how many changes it recorded.
func demoHistory(ctx context.Context, st store.Store, ws *workspace.Workspace, eng *engine.Usage,
	clock *engine.ManualClock, now time.Time) (int, error) {
	changes := 0
	as := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: clock.Now,
		Playbooks: playbookConfig(st, ws, clock.Now, nil),
		OnChange:  func(_ int64, _ string, _ time.Time, cs []assess.Change) { changes += len(cs) }})
	day := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	team := &demoTeam{st: st, end: now}
	err := engine.Drive(ctx, clock, eng, as, now.AddDate(0, 0, -historyDays), now, day, func(t time.Time) error {
		return team.day(ctx, t)
	})
	return changes, err
}

// trackExample is a curl command that sends one product event with the
// demo's write key (the Basic-auth user, as Segment's libraries send it),
// for one of the demo's product users in their account.
func trackExample(url string, res demo.Result) string {
	body := fmt.Sprintf(`{"userId": %q, "event": "Search Performed", "context": {"groupId": %q}}`, res.SampleUserID, res.SampleGroupID)
	return fmt.Sprintf("curl -u '%s:' -H 'Content-Type: application/json' -d '%s' '%s/v1/track'", res.WriteKey, body, url)
}

// requireEmpty refuses a store that already holds a team or accounts: the
// demo must never mix its made-up book into real data.
func requireEmpty(ctx context.Context, st store.Store) error {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errors.New("the database already has data; the demo needs a fresh one (use another --data, or --reset)")
	}
	return nil
}
