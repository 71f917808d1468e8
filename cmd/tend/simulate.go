package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/workspace"
)

// SimReport is what `tend simulate --out` writes: every change the engine
// made, per account per day.
type SimReport struct {
	From     date.Date `json:"from"`
	To       date.Date `json:"to"`
	Step     string    `json:"step"`
	Accounts int       `json:"accounts"`
	// Baseline are the changes of the first assessment at From: where the
	// data as it is stands by the rules on that day, before any day passes.
	Baseline []SimChange `json:"baseline"`
	// Changes are the changes made after From, in time order.
	Changes []SimChange `json:"changes"`
	// Totals count Changes by kind.
	Totals map[string]int `json:"totals"`
	// Actions are the playbook actions run after From, in time order:
	// what the playbooks would do (tasks, docs, notes, notifications).
	Actions []SimAction `json:"actions"`
	// ActionTotals count Actions by playbook.
	ActionTotals map[string]int `json:"action_totals"`
	// Emails are the campaign emails the accounts would get, in time
	// order: one per recipient contact.
	Emails []SimEmail `json:"emails"`
	// EmailTotals count Emails by campaign.
	EmailTotals map[string]int `json:"email_totals"`
}

// SimAction is one playbook action run on one day of the simulation.
type SimAction struct {
	Day       date.Date `json:"day"`
	At        time.Time `json:"at"`
	Playbook  string    `json:"playbook"`
	AccountID int64     `json:"account_id"`
	Account   string    `json:"account"`
	Kind      string    `json:"kind"`
	Trigger   string    `json:"trigger"`
	// Result is what the action made ("task 12", "doc 3", "inbox 5 to
	// …"), or its error.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// SimEmail is one campaign email the simulation queued.
type SimEmail struct {
	Day       date.Date `json:"day"`
	At        time.Time `json:"at"`
	Campaign  string    `json:"campaign"`
	Step      string    `json:"step"`
	AccountID int64     `json:"account_id"`
	Account   string    `json:"account"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
}

// SimChange is one change of one account at one step.
type SimChange struct {
	Day       date.Date `json:"day"`
	At        time.Time `json:"at"`
	AccountID int64     `json:"account_id"`
	Account   string    `json:"account"`
	assess.Change
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	fromS := fs.String("from", "", "first day, YYYY-MM-DD (required)")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (required)")
	stepS := fs.String("step", "1d", "how far the clock moves each step: Nd (days) or Nh (hours)")
	out := fs.String("out", "", "write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "print only the totals, not every change")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: tend simulate --from DATE --to DATE [--step 1d] [--data DIR] [--out report.json]\n\n"+
			"Runs the engine day by day over a copy of the data — usage metrics, segments, programs, lifecycle\n"+
			"stages and health — and reports every change it would make, with reasons. The data itself is\n"+
			"never written.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	from, err := dateFlag("from", *fromS)
	if err != nil {
		return err
	}
	to, err := dateFlag("to", *toS)
	if err != nil {
		return err
	}
	if to.Before(from) {
		return fmt.Errorf("--to %s is before --from %s", to, from)
	}
	next, err := stepFlag(*stepS)
	if err != nil {
		return err
	}
	if f.databaseURL != "" {
		return errors.New("simulate runs on a copy of a SQLite data directory (--data); to simulate a PostgreSQL " +
			"database, give it a SQLite copy")
	}
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return err
	}
	src := filepath.Join(f.data, "tend.db")
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no Tend database in %s (--data): %w", f.data, err)
	}
	dir, err := os.MkdirTemp("", "tend-simulate-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "tend.db")
	if err := sqlite.Snapshot(ctx, src, copyPath); err != nil {
		return err
	}
	rep, err := simulate(ctx, copyPath, ws, from, to, *stepS, next)
	if err != nil {
		return err
	}
	if *out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	printSummary(stdout, rep, *quiet)
	if *out != "" {
		fmt.Fprintf(stdout, "Report written to %s\n", *out)
	}
	return nil
}

// simulate drives the engine over the copy at path from from to to.
func simulate(ctx context.Context, path string, ws *workspace.Workspace, from, to date.Date, step string,
	next func(time.Time) time.Time) (SimReport, error) {
	loc := ws.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	rep := SimReport{From: from, To: to, Step: step, Baseline: []SimChange{}, Changes: []SimChange{}, Totals: map[string]int{},
		Actions: []SimAction{}, ActionTotals: map[string]int{},
		Emails: []SimEmail{}, EmailTotals: map[string]int{}}
	clock := engine.NewManualClock(from.Time(loc))
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return rep, err
	}
	defer st.Close()
	st.Now = clock.Now
	u, err := engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, Now: clock.Now, FlushEvery: 24 * time.Hour})
	if err != nil {
		return rep, err
	}
	defer u.Close()
	baseline := true
	names := map[int64]string{}
	// The playbooks act on the copy only: tasks, docs and notes land in
	// it, and notifications by email, Slack or webhook stay in its outbox
	// (no worker sends them).
	pbs := playbookConfig(st, ws, clock.Now, nil)
	pbs.OnAction = func(fa store.FiringAction, result string, err error) {
		now := clock.Now()
		sa := SimAction{Day: date.Of(now.In(loc)), At: now, Playbook: fa.Playbook, AccountID: fa.AccountID, Account: names[fa.AccountID],
			Kind: fa.Kind, Trigger: fa.Trigger, Result: result}
		if sa.Account == "" {
			if acc, gerr := st.GetAccount(ctx, fa.AccountID); gerr == nil {
				sa.Account, names[fa.AccountID] = acc.Name, acc.Name
			}
		}
		if err != nil {
			sa.Result, sa.Error = "", err.Error()
		}
		rep.Actions = append(rep.Actions, sa)
		rep.ActionTotals[fa.Playbook]++
	}
	pbs.Campaigns.OnMessage = func(m store.OutboxMessage) {
		if m.Email == nil || m.Campaign == "" {
			return
		}
		now := clock.Now()
		se := SimEmail{Day: date.Of(now.In(loc)), At: now, Campaign: m.Campaign, Step: m.Step, To: m.Email.To.Email,
			Subject: m.Email.Subject}
		if m.AccountID != nil {
			se.AccountID = *m.AccountID
			if se.Account = names[se.AccountID]; se.Account == "" {
				if acc, gerr := st.GetAccount(ctx, se.AccountID); gerr == nil {
					se.Account, names[se.AccountID] = acc.Name, acc.Name
				}
			}
		}
		rep.Emails = append(rep.Emails, se)
		rep.EmailTotals[m.Campaign]++
	}
	a := engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: clock.Now, Playbooks: pbs,
		OnChange: func(id int64, name string, at time.Time, cs []assess.Change) {
			for _, c := range cs {
				sc := SimChange{Day: date.Of(at.In(loc)), At: at, AccountID: id, Account: name, Change: c}
				if baseline {
					rep.Baseline = append(rep.Baseline, sc)
					continue
				}
				rep.Changes = append(rep.Changes, sc)
				rep.Totals[c.Kind]++
			}
		}})
	start := from.Time(loc)
	err = engine.Drive(ctx, clock, u, a, start, to.Time(loc), next, func(t time.Time) error {
		baseline = false
		return nil
	})
	rep.Accounts = a.Accounts()
	return rep, err
}

var stepPattern = regexp.MustCompile(`^([1-9][0-9]*)([dh])$`)

// stepFlag reads --step: whole days (in the workspace's calendar, so a
// day is a day across a DST change) or hours.
func stepFlag(s string) (func(time.Time) time.Time, error) {
	m := stepPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, fmt.Errorf("--step %q is not a number of days or hours, like 1d, 7d or 6h", s)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "d" {
		return func(t time.Time) time.Time { return t.AddDate(0, 0, n) }, nil
	}
	return func(t time.Time) time.Time { return t.Add(time.Duration(n) * time.Hour) }, nil
}

func dateFlag(name, s string) (date.Date, error) {
	if s == "" {
		return date.Date{}, fmt.Errorf("--%s is required (YYYY-MM-DD)", name)
	}
	d, err := date.Parse(s)
	if err != nil {
		return date.Date{}, fmt.Errorf("--%s %q is not a date (YYYY-MM-DD)", name, s)
	}
	return d, nil
}

// printSummary prints the report for people: every change, one a line,
// then the totals.
func printSummary(w io.Writer, rep SimReport, quiet bool) {
	fmt.Fprintf(w, "Simulated %d accounts from %s to %s, step %s.\n", rep.Accounts, rep.From, rep.To, rep.Step)
	if len(rep.Baseline) > 0 {
		fmt.Fprintf(w, "On %s the rules first moved %d values of the data as it is (see baseline in the report).\n",
			rep.From, len(rep.Baseline))
	}
	if !quiet {
		for _, c := range rep.Changes {
			old := c.Old
			if old == "" {
				old = "(none)"
			}
			fmt.Fprintf(w, "%s  %-28s %-7s %s → %s — %s\n", c.Day, truncate(c.Account, 28), c.Kind, old, orNone(c.New), c.Reason)
		}
	}
	fmt.Fprintf(w, "Changes: %d segment, %d program, %d stage, %d health.\n",
		rep.Totals[assess.KindSegment], rep.Totals[assess.KindProgram], rep.Totals[assess.KindStage], rep.Totals[assess.KindHealth])
	if !quiet {
		for _, a := range rep.Actions {
			res := a.Result
			if a.Error != "" {
				res = "error: " + a.Error
			}
			fmt.Fprintf(w, "%s  %-28s %-22s %-7s %s\n", a.Day, truncate(a.Account, 28), truncate(a.Playbook, 22), a.Kind, res)
		}
	}
	keys := make([]string, 0, len(rep.ActionTotals))
	for k := range rep.ActionTotals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", rep.ActionTotals[k], k)
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "Playbook actions: %d (%s).\n", len(rep.Actions), strings.Join(parts, ", "))
	if !quiet {
		for _, e := range rep.Emails {
			fmt.Fprintf(w, "%s  %-28s %-22s %-30s %s\n", e.Day, truncate(e.Account, 28), truncate(e.Campaign, 22), truncate(e.To, 30), e.Subject)
		}
	}
	keys = keys[:0]
	for k := range rep.EmailTotals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts = parts[:0]
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", rep.EmailTotals[k], k))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "Campaign emails: %d (%s).\n", len(rep.Emails), strings.Join(parts, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
