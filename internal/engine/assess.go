package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// AssessorConfig is what the assessor needs.
type AssessorConfig struct {
	Store     store.Store
	Workspace *workspace.Workspace
	Logger    *slog.Logger
	// Now is the engine's clock (tend serve --clock moves it).
	Now func() time.Time
	// Poll is how often the queue of changed accounts is read: the bound
	// on "a change is visible within one second" (default 200 ms).
	Poll time.Duration
	// Holder names this process for the lease that makes one process of
	// those sharing a database the assessor (default: host, pid, random).
	Holder string
	// OnChange, when set, is called with every change the assessor saves
	// (simulate reports them).
	OnChange func(accountID int64, name string, at time.Time, changes []assess.Change)
	// Playbooks, when set, runs the workspace's playbooks after each step.
	Playbooks *PlaybookConfig
}

// LeaseAssess names the assessor's lease.
const LeaseAssess = "assess"

// Lease timing: renewed every leaseRenew, lost after leaseTTL without.
const (
	leaseTTL   = 15 * time.Second
	leaseRenew = 5 * time.Second
)

// Assessor keeps every account's segment, program, lifecycle stage and
// health current: it recomputes an account as soon as one of its inputs
// changes (any writer queues it, see store.Assessments), every account once
// a day for the time-driven inputs (days since last activity, days to
// renewal, days since close), records each change with its reason, and
// keeps a daily health snapshot per account.
//
// It holds every account's inputs in memory, so a full recompute is pure
// computation; an input change reloads only the accounts it names.
type Assessor struct {
	cfg AssessorConfig
	st  store.Store
	ws  *workspace.Workspace
	log *slog.Logger
	loc *time.Location

	// stepMu serialises steps.
	stepMu sync.Mutex
	mu     sync.RWMutex
	inputs map[int64]*assess.Input
	loaded bool
	// today is the local day of the last full recompute.
	today date.Date

	// runner runs the playbooks (nil: none).
	runner *runner

	stop context.CancelFunc
	done chan struct{}
}

// NewAssessor returns an assessor; Start runs it in the background, or a
// caller (simulate, tests) drives it with Step.
func NewAssessor(cfg AssessorConfig) *Assessor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Holder = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	loc := cfg.Workspace.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	a := &Assessor{cfg: cfg, st: cfg.Store, ws: cfg.Workspace, log: cfg.Logger, loc: loc,
		inputs: map[int64]*assess.Input{}}
	if cfg.Playbooks != nil {
		a.runner = newRunner(a, *cfg.Playbooks)
	}
	return a
}

// Start runs the assessor until Close: while it holds the lease, it steps
// every Poll.
func (a *Assessor) Start() {
	ctx, stop := context.WithCancel(context.Background())
	a.stop, a.done = stop, make(chan struct{})
	go a.run(ctx)
}

func (a *Assessor) run(ctx context.Context) {
	defer close(a.done)
	leading := false
	var renewed time.Time
	tick := time.NewTicker(a.cfg.Poll)
	defer tick.Stop()
	for {
		if time.Since(renewed) >= leaseRenew || !leading {
			ok, err := a.st.AcquireLease(ctx, LeaseAssess, a.cfg.Holder, time.Now(), leaseTTL)
			if err != nil && ctx.Err() == nil {
				a.log.Error("assess: lease", "err", err)
			}
			if ok != leading {
				a.log.Info("assess: leadership", "leading", ok, "holder", a.cfg.Holder)
				if ok {
					// Another process may have assessed meanwhile.
					a.mu.Lock()
					a.loaded = false
					a.mu.Unlock()
				}
			}
			leading = ok && err == nil
			if leading {
				renewed = time.Now()
			}
		}
		if leading {
			if err := a.Step(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("assess: step", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			if leading {
				_ = a.st.ReleaseLease(context.Background(), LeaseAssess, a.cfg.Holder)
			}
			return
		case <-tick.C:
		}
	}
}

// Close stops the background loop.
func (a *Assessor) Close() error {
	if a.stop != nil {
		a.stop()
		<-a.done
	}
	return nil
}

// Step does one round: on the first, or when the local day changed, it
// reassesses every account and saves the day's snapshots; otherwise only the
// accounts whose inputs changed.
func (a *Assessor) Step(ctx context.Context) error {
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	now := a.cfg.Now()
	today := date.Of(now.In(a.loc))
	dirty, err := a.st.TakeDirtyAccounts(ctx)
	if err != nil {
		return err
	}
	a.mu.RLock()
	loaded := a.loaded
	full := !loaded || today != a.today
	a.mu.RUnlock()
	var events []playbook.Event
	var assessed []int64
	switch {
	case full:
		// The inputs are read whole once (at start, or on taking the lease);
		// a new day reassesses what memory holds, with the changed accounts
		// read again.
		ids := []int64(nil)
		if loaded {
			ids = dirty
		}
		if ids == nil || len(ids) > 0 {
			if events, err = a.reload(ctx, ids, now); err != nil {
				a.requeue(ctx, dirty)
				return err
			}
		}
		moved, err := a.assess(ctx, nil, now, true)
		if err != nil {
			return err
		}
		events = append(events, moved...)
		a.mu.Lock()
		a.loaded, a.today = true, today
		assessed = a.ids()
		a.mu.Unlock()
	case len(dirty) > 0:
		if events, err = a.reload(ctx, dirty, now); err != nil {
			a.requeue(ctx, dirty)
			return err
		}
		moved, err := a.assess(ctx, dirty, now, false)
		if err != nil {
			return err
		}
		events = append(events, moved...)
		assessed = dirty
	}
	if a.runner == nil {
		return nil
	}
	return a.runner.step(ctx, runInput{now: now, full: full, assessed: assessed, events: events})
}

// ids lists the accounts held. The caller holds mu.
func (a *Assessor) ids() []int64 {
	ids := make([]int64, 0, len(a.inputs))
	for id := range a.inputs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// facts are what conditions read about an account as last assessed.
func (a *Assessor) facts(id int64, now time.Time) (condition.Facts, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	in, ok := a.inputs[id]
	if !ok {
		return condition.Facts{}, false
	}
	return condition.Facts{Account: in.Account, Traits: in.Traits, Contacts: in.Contacts, Docs: in.Docs, Now: now, Location: a.loc}, true
}

// requeue puts dirty accounts back after a failed reload, by reloading them
// all on the next step.
func (a *Assessor) requeue(ctx context.Context, dirty []int64) {
	if len(dirty) > 0 {
		a.mu.Lock()
		a.loaded = false
		a.mu.Unlock()
	}
}

// reload reads the inputs of the given accounts (nil: all) into memory,
// dropping those that no longer exist, and returns the signals their
// changes raise (none on the first load: nothing changed that Tend saw).
func (a *Assessor) reload(ctx context.Context, ids []int64, now time.Time) ([]playbook.Event, error) {
	fresh := map[int64]*assess.Input{}
	err := a.st.LoadAssessmentInputs(ctx, ids, func(in store.AssessmentInput) error {
		x := assess.Input(in)
		fresh[in.Account.ID] = &x
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ids == nil {
		a.inputs = fresh
		return nil, nil
	}
	var events []playbook.Event
	for _, id := range ids {
		in, ok := fresh[id]
		if !ok {
			delete(a.inputs, id)
			continue
		}
		if old, had := a.inputs[id]; had {
			events = append(events, inputEvents(old, in, now)...)
		}
		a.inputs[id] = in
	}
	return events, nil
}

// assess recomputes the given accounts (nil: all) at now, saves those whose
// derived fields moved with their changes, and the day's snapshots: of
// every account on a full pass, of the changed ones otherwise.
func (a *Assessor) assess(ctx context.Context, ids []int64, now time.Time, full bool) ([]playbook.Event, error) {
	a.mu.RLock()
	if ids == nil {
		ids = make([]int64, 0, len(a.inputs))
		for id := range a.inputs {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	type result struct {
		id    int64
		name  string
		acc   account.Account
		state assess.State
	}
	var moved []result
	var snaps []store.HealthSnapshot
	today := date.Of(now.In(a.loc))
	for _, id := range ids {
		in, ok := a.inputs[id]
		if !ok {
			continue
		}
		s := assess.Assess(a.ws, *in, now)
		acc := in.Account
		if differs(acc, s) {
			moved = append(moved, result{id, acc.Name, acc, s})
		}
		if full || differs(acc, s) {
			snaps = append(snaps, snapshot(id, today, s))
		}
	}
	a.mu.RUnlock()
	if len(moved) == 0 && len(snaps) == 0 {
		return nil, nil
	}
	saves := make([]store.Assessment, 0, len(moved))
	changes := make([][]assess.Change, len(moved))
	for i, m := range moved {
		prev, err := a.previous(ctx, m.acc)
		if err != nil {
			return nil, err
		}
		changes[i] = assess.Diff(prev, m.state)
		state, err := json.Marshal(compact(m.state))
		if err != nil {
			return nil, err
		}
		sv := store.Assessment{AccountID: m.id, Segment: m.state.Segment, Program: m.state.Program,
			Stage: m.state.Stage.Stage, Score: m.state.Score(), Color: m.state.Color(), State: state, At: now}
		for _, c := range changes[i] {
			sv.Changes = append(sv.Changes, store.StateChange{Kind: c.Kind, Old: c.Old, New: c.New, OldScore: c.OldScore,
				NewScore: c.NewScore, Direction: c.Direction, Reason: c.Reason, Detail: c.Detail.JSON()})
		}
		saves = append(saves, sv)
	}
	if err := a.st.SaveAssessments(ctx, saves); err != nil {
		return nil, err
	}
	if err := a.st.SaveHealthSnapshots(ctx, snaps); err != nil {
		return nil, err
	}
	a.mu.Lock()
	for _, m := range moved {
		if in, ok := a.inputs[m.id]; ok {
			in.Account.Segment, in.Account.Program, in.Account.Stage = m.state.Segment, m.state.Program, m.state.Stage.Stage
			in.Account.HealthScore, in.Account.HealthColor = m.state.Score(), m.state.Color()
		}
	}
	a.mu.Unlock()
	var events []playbook.Event
	for i, m := range moved {
		for _, c := range changes[i] {
			if c.Old == "" {
				// A first value (a new account placed, a first score) is
				// no change a playbook reacts to: "turned red" means it was
				// another colour.
				continue
			}
			events = append(events, changeEvent(m.id, c, now))
		}
	}
	if a.cfg.OnChange != nil {
		for i, m := range moved {
			if len(changes[i]) > 0 {
				a.cfg.OnChange(m.id, m.name, now, changes[i])
			}
		}
	}
	return events, nil
}

// differs reports whether an assessment moves any derived field of the
// account as saved.
func differs(acc account.Account, s assess.State) bool {
	return acc.Segment != s.Segment || acc.Program != s.Program || acc.Stage != s.Stage.Stage ||
		acc.HealthColor != s.Color() || !sameScore(acc.HealthScore, s.Score())
}

func sameScore(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// previous is the account's last saved assessment, to diff against: its
// saved state, with the derived fields as the account has them (the fields
// are the record; an import may have set them). Nil for an account never
// assessed and without derived fields.
func (a *Assessor) previous(ctx context.Context, acc account.Account) (*assess.State, error) {
	var prev assess.State
	raw, err := a.st.AccountState(ctx, acc.ID)
	switch {
	case err == nil:
		var saved savedState
		if err := json.Unmarshal(raw, &saved); err != nil {
			a.log.Warn("assess: unreadable saved state", "account", acc.ID, "err", err)
		} else {
			prev = saved.state()
		}
	case isNotFound(err):
		if acc.Segment == "" && acc.Program == "" && acc.Stage == "" && acc.HealthColor == "" && acc.HealthScore == nil {
			return nil, nil
		}
	default:
		return nil, err
	}
	prev.Segment, prev.Program, prev.Stage.Stage = acc.Segment, acc.Program, acc.Stage
	if prev.Color() != acc.HealthColor || !sameScore(prev.Score(), acc.HealthScore) {
		// The fields were set outside the engine: they are what changed.
		prev.Health.Color, prev.Health.Score = health.Color(acc.HealthColor), acc.HealthScore
	}
	return &prev, nil
}

// savedState is what the store keeps of an assessment for the next diff:
// the decisions and every metric's status, not the texts, which the next
// assessment writes anew. It keeps a save small (a full pass saves every
// account whose score moved).
type savedState struct {
	Model   string        `json:"model,omitempty"`
	Score   *float64      `json:"score,omitempty"`
	Color   string        `json:"color,omitempty"`
	Metrics []savedMetric `json:"metrics,omitempty"`
}

type savedMetric struct {
	Category string        `json:"c"`
	Trait    string        `json:"t"`
	Status   health.Status `json:"s"`
}

func compact(s assess.State) savedState {
	out := savedState{Model: s.Model, Score: s.Score(), Color: s.Color()}
	for _, c := range s.Health.Categories {
		for _, m := range c.Metrics {
			out.Metrics = append(out.Metrics, savedMetric{c.Name, m.Trait, m.Status})
		}
	}
	return out
}

// state rebuilds what Diff reads: the model, score, colour and statuses.
func (s savedState) state() assess.State {
	st := assess.State{Model: s.Model}
	st.Health.Model, st.Health.Score, st.Health.Color = s.Model, s.Score, health.Color(s.Color)
	for _, m := range s.Metrics {
		n := len(st.Health.Categories)
		if n == 0 || st.Health.Categories[n-1].Name != m.Category {
			st.Health.Categories = append(st.Health.Categories, health.CategoryResult{Name: m.Category})
			n++
		}
		c := &st.Health.Categories[n-1]
		c.Metrics = append(c.Metrics, health.MetricResult{Trait: m.Trait, Status: m.Status})
	}
	return st
}

func snapshot(id int64, day date.Date, s assess.State) store.HealthSnapshot {
	sn := store.HealthSnapshot{AccountID: id, Day: day, Score: s.Score(), Color: s.Color(), Model: s.Model,
		Categories: map[string]float64{}}
	for _, c := range s.Health.Categories {
		if c.Mean != nil {
			sn.Categories[c.Name] = *c.Mean
		}
	}
	return sn
}

// ErrUnknownAccount is Current's answer for an account it does not hold.
var ErrUnknownAccount = errors.New("engine: account not assessed")

// Current assesses one account from the inputs held in memory, at now, for
// the pages and the API: the same result the next step would save. It
// reads the store when the assessor has not loaded yet (a process that is
// not the leader).
func (a *Assessor) Current(ctx context.Context, id int64) (assess.State, assess.Input, error) {
	a.mu.RLock()
	in, ok := a.inputs[id]
	var cp assess.Input
	if ok {
		cp = *in
	}
	loaded := a.loaded
	a.mu.RUnlock()
	if !ok || !loaded {
		found := false
		err := a.st.LoadAssessmentInputs(ctx, []int64{id}, func(x store.AssessmentInput) error {
			cp, found = assess.Input(x), true
			return nil
		})
		if err != nil {
			return assess.State{}, assess.Input{}, err
		}
		if !found {
			return assess.State{}, assess.Input{}, ErrUnknownAccount
		}
	}
	return assess.Assess(a.ws, cp, a.cfg.Now()), cp, nil
}

// Accounts returns how many accounts the assessor holds.
func (a *Assessor) Accounts() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.inputs)
}
