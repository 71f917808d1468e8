package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/links"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// Effects are what playbook actions make outside the account record:
// tasks, docs, notifications. Each takes the action's unique key and must
// create nothing twice for one key, so that a retried action is harmless.
type Effects interface {
	CreateTask(ctx context.Context, t TaskSpec) (ref string, err error)
	CreateDoc(ctx context.Context, d DocSpec) (ref string, err error)
	Notify(ctx context.Context, n NotifySpec) (ref string, err error)
	// CancelTasks closes the open tasks source created on the account (0:
	// on every account).
	CancelTasks(ctx context.Context, accountID int64, source string) (int, error)
}

// TaskSpec is a task a playbook creates.
type TaskSpec struct {
	Key        string
	AccountID  int64
	AssigneeID int64
	Title      string
	Body       string
	Due        date.Date
	// Source names the playbook: "playbook <key>".
	Source string
}

// DocSpec is a doc a playbook creates from a template.
type DocSpec struct {
	Key       string
	AccountID int64
	Template  string
	Title     string
	Source    string
}

// NotifySpec is a notification to a team member.
type NotifySpec struct {
	Key       string
	AccountID int64
	User      team.User
	Channels  []string
	Title     string
	Body      string
	URL       string
	Source    string
}

// PlaybookConfig turns the assessor's playbook runner on.
type PlaybookConfig struct {
	Effects Effects
	// BaseURL is Tend's address, for links in texts ({{.account.url}}).
	BaseURL string
	// OnFiring, when set, is called with every firing recorded (simulate
	// reports them).
	OnFiring func(f store.Firing)
	// OnAction, when set, is called with every action run and its result.
	OnAction func(a store.FiringAction, result string, err error)
	// Campaigns, when set, runs the workspace's campaigns too: their own
	// triggers as playbooks, playbooks' enroll actions, and each
	// enrollment's steps after the playbooks' actions (campaigns.go).
	Campaigns *CampaignConfig
}

// maxChain is how many playbooks may trigger one another through their
// actions before the runner cuts the chain.
const maxChain = 8

// runner runs the workspace's playbooks after each assessor step: it sees
// the step's signals, the accounts it assessed (all of them on a new day),
// the scheduled times that passed, records each firing once under its key,
// and runs the actions that are due.
type runner struct {
	a   *Assessor
	st  store.Store
	ws  *workspace.Workspace
	log *slog.Logger
	cfg PlaybookConfig

	// matches caches each `when` playbook's matching accounts.
	matches map[string]map[int64]bool
	// chains are the playbooks whose set actions just changed an account:
	// what that account's next firings are caused by.
	chains map[int64][]string
	// first is true until the first step has run.
	first bool
	// batch holds the step's firings until they are recorded together;
	// recording is a full batch the store records while the evaluation
	// goes on (nil when none is); seq numbers entries and exits. lost says
	// a batch failed to be recorded in this step: the schedules' times are
	// not marked handled.
	batch     batch
	recording *recording
	seq       int64
	lost      bool
	// entries are the campaigns' own triggers as playbooks, by key; links
	// signs the links in campaign emails (made on first use); keys are the
	// workspace's trait keys.
	entries map[string]*playbook.Playbook
	// entered are the enrollments this step's recorded firings inserted
	// (campaign entries), as inserted: the campaign step plans them
	// without reading them back, but for the accounts in unenrolled, whose
	// enrollments an unenroll action of this step ended.
	entered    []store.Enrollment
	unenrolled map[int64]bool
	// lazyMu guards links and keys: a preview renders from a request's
	// goroutine.
	lazyMu sync.Mutex
	links  *links.Signer
	keys   []string
}

func newRunner(a *Assessor, cfg PlaybookConfig) *runner {
	r := &runner{a: a, st: a.st, ws: a.ws, log: a.log, cfg: cfg, matches: map[string]map[int64]bool{}, chains: map[int64][]string{},
		unenrolled: map[int64]bool{}, first: true}
	if r.campaignsOn() {
		r.entries = entryPlaybooks(a.ws.Campaigns)
	}
	return r
}

// runInput is what one assessor step saw.
type runInput struct {
	now      time.Time
	full     bool
	assessed []int64
	events   []playbook.Event
}

// enabled returns the playbooks that are on, by the team's switch or, when
// never switched, the file's setting.
func (r *runner) enabled(ctx context.Context) ([]*playbook.Playbook, map[string]store.PlaybookState, error) {
	states, err := r.st.PlaybookStates(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []*playbook.Playbook
	for _, p := range r.ws.Playbooks {
		on := p.Enabled
		if s, ok := states[p.Key]; ok {
			on = s.Enabled
		}
		if on {
			out = append(out, p)
		}
	}
	for _, c := range r.ws.Campaigns {
		if p := r.entries[entryPrefix+c.Key]; p != nil && p.Enabled {
			out = append(out, p)
		}
	}
	return out, states, nil
}

func (r *runner) step(ctx context.Context, in runInput) (err error) {
	defer func() {
		// An error can end the step while a batch is being recorded: the
		// step does not return before it is.
		if werr := r.await(); err == nil {
			err = werr
		}
	}()
	signals, err := r.st.TakeSignals(ctx, 10_000)
	if err != nil {
		return err
	}
	for _, s := range signals {
		in.events = append(in.events, signalEvent(s))
	}
	pbs, states, err := r.enabled(ctx)
	if err != nil {
		return err
	}
	chains := r.chains
	r.chains = map[int64][]string{}
	r.lost = false
	r.entered = nil
	clear(r.unenrolled)
	var perAccount []*playbook.Playbook
	ticks := map[string][]scheduled{}
	for _, p := range pbs {
		var err error
		switch p.Trigger.Kind {
		case playbook.TriggerSignal:
			for _, e := range in.events {
				if err == nil && p.Trigger.Matches(e) {
					o := playbook.Occurrence{Playbook: p.Key, AccountID: e.AccountID, ID: e.ID, Trigger: e.Describe(), At: in.now}
					err = r.fire(ctx, p, o, in.now, chains[e.AccountID], nil, nil)
				}
			}
		case playbook.TriggerSchedule:
			var t []time.Time
			if t, err = r.scheduleTicks(ctx, p, states[p.Key], in.now); len(t) > 0 {
				for _, tick := range t {
					ticks[p.Key] = append(ticks[p.Key], scheduled{at: tick, id: "cron:" + tick.UTC().Format(time.RFC3339),
						trigger: fmt.Sprintf("scheduled %s (%s)", tick.Format("2006-01-02 15:04 MST"), p.Trigger.Cron)})
				}
				perAccount = append(perAccount, p)
			}
		default:
			perAccount = append(perAccount, p)
		}
		if err != nil {
			r.log.Error("playbook: evaluate", "playbook", p.Key, "err", err)
		}
	}
	failed := r.evaluateAccounts(ctx, perAccount, ticks, in, chains)
	// The batch holds the schedules' last firings: their ticks are done
	// once it is recorded.
	if err := r.flush(ctx); err != nil {
		return err
	}
	for _, p := range perAccount {
		if t := ticks[p.Key]; len(t) > 0 && failed[p.Key] == nil && !r.lost {
			if err := r.saveTick(ctx, p, states[p.Key], t[len(t)-1].at, in.now); err != nil {
				r.log.Error("playbook: evaluate", "playbook", p.Key, "err", err)
			}
		}
	}
	r.first = false
	if err := r.runDue(ctx, in.now); err != nil {
		return err
	}
	return r.campaignStep(ctx, in)
}

// evaluateAccounts runs the per-account playbooks in one pass over the
// accounts: the `when` and date playbooks over the accounts the step
// assessed, and the schedules whose times passed (ticks) over every
// account. Each account's facts are read once and its condition
// environment built once, for every trigger, condition and audience the
// step evaluates for it and for the explanations of its firings. It
// returns the playbooks whose evaluation failed, which stop there (a
// failed schedule's times are evaluated again at the next step).
func (r *runner) evaluateAccounts(ctx context.Context, pbs []*playbook.Playbook, ticks map[string][]scheduled, in runInput,
	chains map[int64][]string) map[string]error {
	failed := map[string]error{}
	if len(pbs) == 0 {
		return failed
	}
	fail := func(p *playbook.Playbook, err error) {
		failed[p.Key] = err
		r.log.Error("playbook: evaluate", "playbook", p.Key, "err", err)
	}
	today := date.Of(in.now.In(r.a.loc))
	for _, p := range pbs {
		if p.Trigger.Kind == playbook.TriggerWhen {
			if err := r.loadMatches(ctx, p); err != nil {
				fail(p, err)
			}
		}
	}
	reads := r.reads(pbs)
	// The schedules fire for every account; a full pass assessed every
	// one.
	ids, assessed := in.assessed, map[int64]bool(nil)
	if len(ticks) > 0 {
		r.a.mu.RLock()
		ids = r.a.ids()
		r.a.mu.RUnlock()
		if !in.full {
			assessed = make(map[int64]bool, len(in.assessed))
			for _, id := range in.assessed {
				assessed[id] = true
			}
		}
	}
	// One subject, reset for each account: nothing keeps it past its turn.
	var s subject
	for _, id := range ids {
		whenAndDate := assessed == nil || assessed[id]
		f, ok := r.a.facts(id, in.now)
		if !ok {
			if whenAndDate {
				for _, p := range pbs {
					delete(r.matches[p.Key], id)
				}
			}
			continue
		}
		s = subject{f: f, schema: r.ws.Conditions, reads: reads}
		for _, p := range pbs {
			if failed[p.Key] != nil {
				continue
			}
			var err error
			switch p.Trigger.Kind {
			case playbook.TriggerSchedule:
				for _, tick := range ticks[p.Key] {
					o := playbook.Occurrence{Playbook: p.Key, AccountID: id, ID: tick.id, Trigger: tick.trigger, At: in.now}
					if err = r.fire(ctx, p, o, in.now, chains[id], nil, &s); err != nil {
						break
					}
				}
			case playbook.TriggerDate:
				if !whenAndDate {
					continue
				}
				due, on := p.Trigger.DateCheck(f, today)
				// A full pass fires a date rule on its day; the first pass
				// after a start catches up on the days Tend was down, and a
				// changed account (a date moved, an import) on its own.
				if !due || in.full && !r.first && on != today {
					continue
				}
				_, _, why := p.Trigger.DateDue(f, today)
				o := playbook.Occurrence{Playbook: p.Key, AccountID: id, ID: "date:" + on.String(), Trigger: why, At: in.now}
				err = r.fire(ctx, p, o, in.now, chains[id], nil, &s)
			case playbook.TriggerWhen:
				if !whenAndDate {
					continue
				}
				holds, cerr := s.holds(p.Trigger.When)
				if cerr != nil {
					r.log.Warn("playbook: condition", "playbook", p.Key, "account", id, "err", cerr)
					continue
				}
				err = r.when(ctx, p, id, holds, in.now, chains[id], &s)
			}
			if err != nil {
				fail(p, err)
			}
		}
	}
	return failed
}

// subject is one account as a step evaluates it: its facts, and its
// condition environment, built on first use for every condition the step
// evaluates for the account — triggers, playbooks' conditions, campaigns'
// audiences and exits — and their explanations. A condition of another
// schema (none in a loaded workspace) reads the facts.
type subject struct {
	f      condition.Facts
	schema *condition.Schema
	// reads, when set, are the names the environment holds (runner.reads):
	// what the step's conditions read.
	reads *condition.Reads
	env   *condition.Env
}

func (s *subject) fits(p *condition.Program) bool {
	if s.schema == nil {
		return false
	}
	if s.env == nil {
		var e condition.Env
		if s.reads != nil {
			e = s.reads.Env(s.f)
		} else {
			e = s.schema.Env(s.f)
		}
		s.env = &e
	}
	return s.env.Fits(p)
}

// reads are what the playbooks' triggers and conditions read, and for a
// campaign's entry its exits: an account's environment of only those
// serves all of them.
func (r *runner) reads(pbs []*playbook.Playbook) *condition.Reads {
	var progs []*condition.Program
	for _, p := range pbs {
		progs = append(progs, p.Trigger.When, p.Condition)
		if r.entries[p.Key] == p {
			if c := r.ws.Campaign(p.Actions[0].Campaign); c != nil {
				progs = append(progs, c.Audience)
				for _, e := range c.Exits {
					progs = append(progs, e.When)
				}
			}
		}
	}
	return r.ws.Conditions.Reads(progs...)
}

// holds evaluates a condition for the account.
func (s *subject) holds(p *condition.Program) (bool, error) {
	if s.fits(p) {
		return p.EvalEnv(*s.env)
	}
	return p.Eval(s.f)
}

// explain explains a condition for the account.
func (s *subject) explain(p *condition.Program) condition.Explanation {
	if s.fits(p) {
		return p.ExplainEnv(*s.env)
	}
	return p.Explain(s.f)
}

// loadMatches reads a `when` playbook's matching accounts once.
func (r *runner) loadMatches(ctx context.Context, p *playbook.Playbook) error {
	if _, ok := r.matches[p.Key]; ok {
		return nil
	}
	saved, err := r.st.PlaybookMatches(ctx, p.Key)
	if err != nil {
		return err
	}
	m := make(map[int64]bool, len(saved))
	for id := range saved {
		m[id] = true
	}
	r.matches[p.Key] = m
	return nil
}

// when handles a `when` playbook's condition for an account: entering
// fires it, leaving runs its exit actions.
func (r *runner) when(ctx context.Context, p *playbook.Playbook, id int64, holds bool, now time.Time, chain []string, s *subject) error {
	m := r.matches[p.Key]
	was := m[id]
	switch {
	case holds && !was:
		o := playbook.Occurrence{Playbook: p.Key, AccountID: id, ID: r.occurrenceID("enter", now),
			Trigger: "started to match: " + p.Trigger.When.Source(), At: now}
		change := store.MatchChange{Playbook: p.Key, AccountID: id, Matching: true, At: now}
		if err := r.fire(ctx, p, o, now, chain, &change, s); err != nil {
			return err
		}
		m[id] = true
	case !holds && was:
		change := store.MatchChange{Playbook: p.Key, AccountID: id, Matching: false, At: now}
		if err := r.exit(ctx, p, id, now, change); err != nil {
			return err
		}
		delete(m, id)
	}
	return nil
}

// maxTicks bounds the scheduled times one step catches up on (a server
// stopped for a long time does not fire a year of weekly check-ins).
const maxTicks = 3

// scheduled is a schedule's time that passed, with its occurrence's id and
// words, the same for every account.
type scheduled struct {
	at          time.Time
	id, trigger string
}

// scheduleTicks returns the times of a schedule playbook that passed since
// the last step handled, at most maxTicks of them. A schedule seen for the
// first time starts now: times before have passed unseen.
func (r *runner) scheduleTicks(ctx context.Context, p *playbook.Playbook, state store.PlaybookState, now time.Time) ([]time.Time, error) {
	if state.LastTick == nil {
		return nil, r.saveTick(ctx, p, state, now, now)
	}
	ticks := p.Trigger.Ticks(*state.LastTick, now, 1000)
	if len(ticks) > maxTicks {
		ticks = ticks[len(ticks)-maxTicks:]
	}
	return ticks, nil
}

// saveTick records the last scheduled time a schedule playbook handled.
func (r *runner) saveTick(ctx context.Context, p *playbook.Playbook, state store.PlaybookState, tick, now time.Time) error {
	if state.Playbook == "" {
		state = store.PlaybookState{Playbook: p.Key, Enabled: true, ChangedAt: now, ChangedBy: "tend"}
	}
	state.LastTick = &tick
	return r.st.SavePlaybookState(ctx, state)
}

// FiringDetail is what a firing records of why it fired (store.Firing's
// Detail, as JSON): the log's "why did this fire?".
type FiringDetail struct {
	Trigger   string                 `json:"trigger"`
	Condition *condition.Explanation `json:"condition,omitempty"`
	Reentry   string                 `json:"reentry"`
	Cut       string                 `json:"cut,omitempty"`
}

// fire records one occurrence as a firing under its key, when the
// playbook's condition holds and its re-entry rule allows, with its actions
// scheduled. change, when set, is the match change that goes with it; s,
// when set, is the account as the step evaluates it (else it is read
// here). A campaign's entry enrolls the account when the firing is
// recorded (entryAction).
func (r *runner) fire(ctx context.Context, p *playbook.Playbook, o playbook.Occurrence, now time.Time, chain []string,
	change *store.MatchChange, s *subject) error {
	if s == nil {
		f, ok := r.a.facts(o.AccountID, now)
		if !ok {
			return nil
		}
		s = &subject{f: f, schema: r.ws.Conditions}
	}
	f := s.f
	var changes []store.MatchChange
	if change != nil {
		changes = []store.MatchChange{*change}
	}
	detail := FiringDetail{Trigger: o.Trigger, Reentry: string(p.Reentry.Mode)}
	if p.Condition != nil {
		// Eval first: the explanation, dearer, is for the firings only.
		if holds, err := s.holds(p.Condition); err != nil || !holds {
			r.batch.matches = append(r.batch.matches, changes...)
			return err
		}
		ex := s.explain(p.Condition)
		detail.Condition = &ex
	}
	key := p.FiringKey(o, playbook.Term(f))
	if p.Reentry.Mode == playbook.Limited {
		if err := r.flush(ctx); err != nil {
			return err
		}
		n, err := r.st.CountFirings(ctx, p.Key, o.AccountID, now.AddDate(0, 0, -p.Reentry.Days))
		if err != nil {
			return err
		}
		if n >= p.Reentry.Count {
			r.batch.matches = append(r.batch.matches, changes...)
			return nil
		}
	}
	firing := store.Firing{Playbook: p.Key, AccountID: o.AccountID, Key: key, Kind: store.FiringFire, Trigger: o.Trigger, At: now}
	if slices.Contains(chain, p.Key) || len(chain) >= maxChain {
		// A loop: this playbook's own actions (through others) triggered
		// it again. Log it once, run nothing.
		detail.Cut = fmt.Sprintf("loop cut: %s → %s", strings.Join(chain, " → "), p.Key)
		firing.Kind, firing.Key = store.FiringCut, key+":cut"
		r.log.Warn("playbook: loop cut", "playbook", p.Key, "account", o.AccountID, "chain", strings.Join(chain, " → "))
	} else {
		for i, a := range p.Actions {
			firing.Actions = append(firing.Actions, store.FiringAction{Index: i, Kind: string(a.Kind),
				Key: playbook.ActionKey(key, false, i), DueAt: now.AddDate(0, 0, a.DelayDays)})
		}
		if r.entries[p.Key] == p {
			if err := r.entryAction(ctx, p, &firing.Actions[0], s, key, o.Trigger, now); err != nil {
				return err
			}
		}
	}
	firing.Chain = strings.Join(append(slices.Clone(chain), p.Key), ",")
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	firing.Detail = b
	return r.queue(ctx, &firing, changes)
}

// batchSize is how many firings go to the store in one transaction.
const batchSize = 500

// queue adds a firing (and its match changes) to the batch. A full batch
// is handed to the store to record beside the evaluation of the next
// accounts (on two cores, the recap day's evaluation and its writes take
// about as long as each other); the rest is recorded at the end of the
// evaluation.
func (r *runner) queue(ctx context.Context, f *store.Firing, changes []store.MatchChange) error {
	r.batch.firings = append(r.batch.firings, f)
	r.batch.matches = append(r.batch.matches, changes...)
	if len(r.batch.firings) >= batchSize {
		return r.handOff(ctx)
	}
	return nil
}

// recording is a batch the store is recording in a goroutine of its own;
// done closes when inserted and err are set. The goroutine alone touches
// the batch's firings until then.
type recording struct {
	b        batch
	done     chan struct{}
	inserted []bool
	err      error
}

// handOff starts recording the batch, once the batch before it is
// recorded: batches are recorded in order, one at a time. As when each
// is recorded in turn, a batch that fails is lost and its error returned,
// and the next is recorded all the same.
func (r *runner) handOff(ctx context.Context) error {
	err := r.await()
	rec := &recording{b: r.batch, done: make(chan struct{})}
	r.batch = batch{}
	go func() {
		defer close(rec.done)
		rec.inserted, rec.err = r.st.RecordFirings(ctx, rec.b.firings, rec.b.matches)
	}()
	r.recording = rec
	return err
}

// await waits for the batch being recorded, if any, and finishes it.
func (r *runner) await() error {
	rec := r.recording
	if rec == nil {
		return nil
	}
	<-rec.done
	r.recording = nil
	return r.recorded(rec.b, rec.inserted, rec.err)
}

// flush records every queued firing before it returns: whatever reads
// the store next (a count of earlier firings or entries, the due
// actions, the campaign step) sees them.
func (r *runner) flush(ctx context.Context) error {
	werr := r.await()
	b := r.batch
	r.batch = batch{}
	if len(b.firings) == 0 && len(b.matches) == 0 {
		return werr
	}
	inserted, err := r.st.RecordFirings(ctx, b.firings, b.matches)
	if err := r.recorded(b, inserted, err); werr == nil {
		werr = err
	}
	return werr
}

// recorded finishes a recorded batch: it reports the actions done with
// their firings (a campaign's entry) as runDue reports those it runs, and
// keeps the entries for the campaign step.
func (r *runner) recorded(b batch, inserted []bool, err error) error {
	if err != nil {
		r.lost = true
		return err
	}
	for i, f := range b.firings {
		if !inserted[i] {
			continue
		}
		if r.cfg.OnFiring != nil {
			r.cfg.OnFiring(*f)
		}
		for _, act := range f.Actions {
			if act.Enroll != nil && act.Enroll.ID != 0 {
				r.entered = append(r.entered, *act.Enroll)
			}
			if act.Status == store.ActionPending {
				continue
			}
			act.FiringKey, act.Chain, act.Trigger = f.Key, f.Chain, f.Trigger
			var err error
			result := act.Result
			if act.Status == store.ActionFailed {
				result, err = "", errors.New(act.Result)
				r.log.Warn("playbook: action", "playbook", act.Playbook, "account", act.AccountID, "action", act.Kind, "err", err)
			}
			if r.cfg.OnAction != nil {
				r.cfg.OnAction(act, result, err)
			}
		}
	}
	return nil
}

// batch is the firings and match changes not yet recorded.
type batch struct {
	firings []*store.Firing
	matches []store.MatchChange
}

// occurrenceID numbers an entry or an exit: the instant and a sequence, so
// that two at one instant (a clock that stands still) are two.
func (r *runner) occurrenceID(kind string, now time.Time) string {
	r.seq++
	return fmt.Sprintf("%s:%d.%d", kind, now.UnixMilli(), r.seq)
}

// exit records an account leaving a `when` playbook and schedules its exit
// actions, once per entry.
func (r *runner) exit(ctx context.Context, p *playbook.Playbook, id int64, now time.Time, change store.MatchChange) error {
	if len(p.ExitActions) == 0 {
		r.batch.matches = append(r.batch.matches, change)
		return nil
	}
	key := fmt.Sprintf("pb:%s:%d:%s", p.Key, id, r.occurrenceID("exit", now))
	firing := store.Firing{Playbook: p.Key, AccountID: id, Key: key, Kind: store.FiringExit, At: now,
		Trigger: "stopped matching: " + p.Trigger.When.Source()}
	for i, a := range p.ExitActions {
		firing.Actions = append(firing.Actions, store.FiringAction{Index: i, Exit: true, Kind: string(a.Kind),
			Key: playbook.ActionKey(key, true, i), DueAt: now.AddDate(0, 0, a.DelayDays)})
	}
	b, _ := json.Marshal(FiringDetail{Trigger: firing.Trigger, Reentry: string(p.Reentry.Mode)})
	firing.Detail = b
	return r.queue(ctx, &firing, []store.MatchChange{change})
}

// Claim timing: an action is claimed for actionClaim; a failed one is
// retried after actionRetry, up to maxAttempts.
const (
	actionClaim = 2 * time.Minute
	actionRetry = 5 * time.Minute
	maxAttempts = 5
)

// runDue runs the actions that are due.
func (r *runner) runDue(ctx context.Context, now time.Time) error {
	for {
		due, err := r.st.ClaimDueActions(ctx, now, actionClaim, 200)
		if err != nil {
			return err
		}
		results, errs := r.runAll(ctx, due, now)
		if ctx.Err() != nil {
			return ctx.Err() // not recorded: the claims expire and the actions run again
		}
		outcomes := make([]store.ActionOutcome, len(due))
		for i, act := range due {
			result, runErr := results[i], errs[i]
			o := store.ActionOutcome{ID: act.ID, Status: store.ActionDone, Result: result, At: now}
			switch {
			case runErr == errSkipped:
				o.Status, errs[i] = store.ActionSkipped, nil
			case runErr != nil && act.Attempts < maxAttempts && !derrors.Is(runErr, derrors.Invalid) && !derrors.Is(runErr, derrors.NotFound):
				o.Status, o.RetryAt, o.Result = store.ActionPending, now.Add(actionRetry), "retrying: "+runErr.Error()
			case runErr != nil:
				o.Status, o.Result = store.ActionFailed, runErr.Error()
			}
			outcomes[i] = o
		}
		if err := r.st.FinishActions(ctx, outcomes); err != nil {
			return err
		}
		for i, act := range due {
			if r.cfg.OnAction != nil {
				r.cfg.OnAction(act, results[i], errs[i])
			}
			if errs[i] != nil {
				r.log.Warn("playbook: action", "playbook", act.Playbook, "account", act.AccountID, "action", act.Kind, "err", errs[i])
			}
		}
		// A run action fires another playbook: record it now.
		if err := r.flush(ctx); err != nil {
			return err
		}
		if len(due) < 200 {
			return nil
		}
	}
}

// runAll performs claimed actions in order and says what each did. A run
// of enroll actions next to each other (a campaign's trigger entering a
// month's audience) enrolls in one store call.
func (r *runner) runAll(ctx context.Context, due []store.FiringAction, now time.Time) ([]string, []error) {
	results, errs := make([]string, len(due)), make([]error, len(due))
	var batch []int // indexes of enroll actions waiting to be stored
	var pending []*store.Enrollment
	enrollBatch := func() {
		if len(pending) > 0 {
			ins, err := r.st.Enroll(ctx, pending)
			for k, i := range batch {
				if err != nil {
					errs[i] = err
				} else {
					results[i] = store.EnrollResult(pending[k], ins[k])
				}
			}
		}
		batch, pending = batch[:0], pending[:0]
	}
	for i, act := range due {
		if ctx.Err() != nil {
			break
		}
		if act.Kind != string(playbook.ActionEnroll) {
			enrollBatch()
			results[i], errs[i] = r.run(ctx, act, now)
			continue
		}
		e, result, err := r.enrollment(ctx, act, now)
		if e == nil {
			results[i], errs[i] = result, err
			continue
		}
		batch, pending = append(batch, i), append(pending, e)
	}
	enrollBatch()
	return results, errs
}

// errSkipped marks an action that had nothing to do (a playbook removed
// from the workspace, an account deleted).
var errSkipped = derrors.New(derrors.NotFound, "skipped")

// action finds a claimed action's playbook and its definition; not ok when
// the playbook is gone or was edited since it fired.
func (r *runner) action(act store.FiringAction) (*playbook.Playbook, playbook.Action, bool) {
	p := r.playbook(act.Playbook)
	if p == nil {
		return nil, playbook.Action{}, false
	}
	list := p.Actions
	if act.Exit {
		list = p.ExitActions
	}
	if act.Index >= len(list) || string(list[act.Index].Kind) != act.Kind {
		return nil, playbook.Action{}, false
	}
	return p, list[act.Index], true
}

// run performs one action and says what it did.
func (r *runner) run(ctx context.Context, act store.FiringAction, now time.Time) (string, error) {
	p, a, ok := r.action(act)
	if !ok {
		return "", errSkipped
	}
	acc, err := r.st.GetAccount(ctx, act.AccountID)
	if derrors.Is(err, derrors.NotFound) {
		return "", errSkipped
	}
	if err != nil {
		return "", err
	}
	data, people, err := r.templateData(ctx, p, acc, act.Trigger, now)
	if err != nil {
		return "", err
	}
	source := "playbook " + p.Key
	actor := account.System("playbook "+p.Name, account.SourceManual)
	switch a.Kind {
	case playbook.ActionNote:
		body, err := playbook.Render(a.Body, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "note: %v", err)
		}
		act := account.Activity{AccountID: acc.ID, Kind: account.ActivityNote, Actor: actor.Name, Body: body, At: now}
		if err := r.st.AddActivity(ctx, &act); err != nil {
			return "", err
		}
		return fmt.Sprintf("note %d added", act.ID), nil
	case playbook.ActionSet:
		return r.set(ctx, p, a, acc, actor, act)
	case playbook.ActionAssign:
		return r.assign(ctx, p, a, acc, actor)
	case playbook.ActionRun:
		other := r.ws.Playbook(a.Run)
		if other == nil {
			return "", derrors.New(derrors.Invalid, "run: playbook %q is not in the workspace", a.Run)
		}
		o := playbook.Occurrence{Playbook: other.Key, AccountID: acc.ID, ID: "run:" + act.Key,
			Trigger: fmt.Sprintf("run by playbook %s", p.Key), At: now}
		chain := strings.Split(act.Chain, ",")
		if err := r.fire(ctx, other, o, now, chain, nil, nil); err != nil {
			return "", err
		}
		return "ran playbook " + other.Key, nil
	case playbook.ActionUnenroll:
		c := a.Campaign
		if c == "all" {
			c = ""
		}
		r.unenrolled[acc.ID] = true
		n, err := r.st.EndEnrollments(ctx, acc.ID, c, "removed by playbook "+p.Key, now)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d enrollments ended", n), nil
	}
	if r.cfg.Effects == nil {
		return "", derrors.New(derrors.Invalid, "%s: this server does not make tasks, docs or notifications", a.Kind)
	}
	switch a.Kind {
	case playbook.ActionTask:
		title, err := playbook.Render(a.Title, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "task title: %v", err)
		}
		body, err := playbook.Render(a.Body, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "task body: %v", err)
		}
		who, note, err := r.recipient(ctx, a.To, acc, people)
		if err != nil {
			return "", err
		}
		ref, err := r.cfg.Effects.CreateTask(ctx, TaskSpec{Key: act.Key, AccountID: acc.ID, AssigneeID: who.ID, Title: title, Body: body,
			Due: date.Of(now.In(r.a.loc)).AddDays(a.DueDays), Source: source})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s for %s%s", ref, who.Email, note), nil
	case playbook.ActionDoc:
		title, err := playbook.Render(a.Title, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "doc title: %v", err)
		}
		return r.cfg.Effects.CreateDoc(ctx, DocSpec{Key: act.Key, AccountID: acc.ID, Template: a.Template, Title: title, Source: source})
	case playbook.ActionNotify:
		title, err := playbook.Render(a.Title, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "notify title: %v", err)
		}
		body, err := playbook.Render(a.Body, data)
		if err != nil {
			return "", derrors.New(derrors.Invalid, "notify body: %v", err)
		}
		who, note, err := r.recipient(ctx, a.To, acc, people)
		if err != nil {
			return "", err
		}
		ref, err := r.cfg.Effects.Notify(ctx, NotifySpec{Key: act.Key, AccountID: acc.ID, User: who, Channels: a.Channels,
			Title: title, Body: body, URL: r.accountURL(acc.ID), Source: source})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s to %s%s", ref, who.Email, note), nil
	case playbook.ActionCancelTasks:
		n, err := r.cfg.Effects.CancelTasks(ctx, acc.ID, source)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d open tasks cancelled", n), nil
	}
	return "", derrors.New(derrors.Invalid, "unknown action %q", a.Kind)
}

func (r *runner) accountURL(id int64) string {
	if r.cfg.BaseURL == "" {
		return fmt.Sprintf("/accounts/%d", id)
	}
	return strings.TrimSuffix(r.cfg.BaseURL, "/") + fmt.Sprintf("/accounts/%d", id)
}

// templateData is what an action's texts read, and the account's people by
// role.
func (r *runner) templateData(ctx context.Context, p *playbook.Playbook, acc account.Account, trigger string, now time.Time) (playbook.TemplateData, map[string]*team.User, error) {
	users, err := r.st.ListUsers(ctx)
	if err != nil {
		return nil, nil, err
	}
	byID := map[int64]*team.User{}
	var manager *team.User
	for i := range users {
		u := &users[i]
		byID[u.ID] = u
		if manager == nil && u.Role == team.Manager && !u.Disabled {
			manager = u
		}
	}
	people := map[string]*team.User{"manager": manager}
	person := func(role string, id *int64) map[string]any {
		if id != nil {
			if u, ok := byID[*id]; ok && !u.Disabled {
				people[role] = u
				return map[string]any{"name": u.Name, "email": u.Email}
			}
		}
		return map[string]any{"name": "", "email": ""}
	}
	traits := map[string]any{}
	for _, d := range r.ws.Traits.All() {
		traits[d.Key] = nil
	}
	if f, ok := r.a.facts(acc.ID, now); ok {
		for k, v := range f.Traits {
			traits[k] = v
		}
	}
	dateText := func(d date.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	var score any
	if acc.HealthScore != nil {
		score = strconv.FormatFloat(*acc.HealthScore, 'f', 2, 64)
	}
	data := playbook.TemplateData{
		"account": map[string]any{"id": acc.ID, "name": acc.Name, "domain": acc.Domain, "external_id": acc.ExternalID,
			"estimated_developers": acc.EstimatedDevelopers, "arr": acc.ARR, "seats": acc.Seats, "support_level": acc.SupportLevel,
			"expected_close_date": dateText(acc.ExpectedCloseDate), "close_date": dateText(acc.CloseDate),
			"renewal_date": dateText(acc.RenewalDate), "entitlements": strings.Join(acc.Entitlements, ", "),
			"deployment": acc.Deployment, "segment": acc.Segment, "program": acc.Program, "stage": acc.Stage,
			"health_score": score, "health_color": acc.HealthColor, "url": r.accountURL(acc.ID)},
		"traits":   traits,
		"owner":    person("owner", acc.OwnerID),
		"ae":       person("ae", acc.AEID),
		"ce":       person("ce", acc.CEID),
		"ie":       person("ie", acc.IEID),
		"manager":  map[string]any{"name": "", "email": ""},
		"today":    date.Of(now.In(r.a.loc)).String(),
		"playbook": map[string]any{"name": p.Name, "key": p.Key},
		"trigger":  trigger,
	}
	if manager != nil {
		data["manager"] = map[string]any{"name": manager.Name, "email": manager.Email}
	}
	return data, people, nil
}

// recipient resolves an assignee or recipient: a role on the account (an
// unfilled role falls back to the owner TA, then to a manager, and says
// so), or a team member's email.
func (r *runner) recipient(ctx context.Context, to string, acc account.Account, people map[string]*team.User) (team.User, string, error) {
	if strings.Contains(to, "@") {
		u, err := r.st.GetUserByEmail(ctx, to)
		if err != nil {
			return team.User{}, "", derrors.New(derrors.Invalid, "no team member %s", to)
		}
		return u, "", nil
	}
	if u := people[to]; u != nil {
		return *u, "", nil
	}
	for _, fallback := range []string{"owner", "manager"} {
		if u := people[fallback]; u != nil && fallback != to {
			return *u, fmt.Sprintf(" (the account has no %s)", to), nil
		}
	}
	return team.User{}, "", derrors.New(derrors.Invalid, "the account has no %s, no owner TA, and the team has no manager", to)
}

// set writes a trait or a field, and marks the account as changed by this
// playbook: what fires next because of it is in its chain.
func (r *runner) set(ctx context.Context, p *playbook.Playbook, a playbook.Action, acc account.Account, actor account.Actor,
	act store.FiringAction) (string, error) {
	if a.Trait != "" {
		changes, err := r.st.SetTraits(ctx, []account.TraitWrite{{AccountID: acc.ID, Key: a.Trait, Value: a.Value}}, actor)
		if err != nil {
			return "", err
		}
		if len(changes) == 0 {
			return fmt.Sprintf("%s was already %v", a.Trait, a.Value), nil
		}
	} else {
		_, err := r.st.ModifyAccount(ctx, acc.ID, func(x *account.Account) error {
			switch a.Field {
			case "support_level":
				x.SupportLevel, _ = a.Value.(string)
			case "deployment":
				x.Deployment, _ = a.Value.(string)
			}
			return nil
		}, actor)
		if err != nil {
			return "", err
		}
	}
	r.chains[acc.ID] = strings.Split(act.Chain, ",")
	what := a.Trait
	if what == "" {
		what = a.Field
	}
	return fmt.Sprintf("%s set to %v", what, a.Value), nil
}

// roleTeam is the team role whose members an assignment picks from when it
// names none.
var roleTeam = map[string]team.Role{"owner": team.TA, "ae": team.AE, "ce": team.CE, "ie": team.CE}

// assign gives the account a member for a role, by the strategy.
func (r *runner) assign(ctx context.Context, p *playbook.Playbook, a playbook.Action, acc account.Account, actor account.Actor) (string, error) {
	users, err := r.st.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	var pool []team.User
	for _, u := range users {
		if u.Disabled {
			continue
		}
		if len(a.Users) > 0 {
			if slices.ContainsFunc(a.Users, func(e string) bool { return strings.EqualFold(e, u.Email) }) {
				pool = append(pool, u)
			}
		} else if u.Role == roleTeam[a.Role] {
			pool = append(pool, u)
		}
	}
	if len(pool) == 0 {
		return "", derrors.New(derrors.Invalid, "assign %s: no enabled team member to choose from", a.Role)
	}
	roleOf := func(x account.Account) *int64 {
		return map[string]*int64{"owner": x.OwnerID, "ae": x.AEID, "ce": x.CEID, "ie": x.IEID}[a.Role]
	}
	var pick team.User
	switch a.Strategy {
	case "fixed":
		pick = pool[0]
	case "round_robin":
		n, err := r.st.NextCounter(ctx, "assign:"+p.Key+":"+a.Role)
		if err != nil {
			return "", err
		}
		pick = pool[int((n-1)%int64(len(pool)))]
	case "fewest_accounts", "least_arr":
		// Counted over the book the assessor holds.
		load := map[int64]int64{}
		r.a.mu.RLock()
		for _, in := range r.a.inputs {
			if id := roleOf(in.Account); id != nil {
				if a.Strategy == "least_arr" {
					load[*id] += in.Account.ARR
				} else {
					load[*id]++
				}
			}
		}
		r.a.mu.RUnlock()
		pick = pool[0]
		for _, u := range pool[1:] {
			if load[u.ID] < load[pick.ID] {
				pick = u
			}
		}
	}
	_, err = r.st.ModifyAccount(ctx, acc.ID, func(x *account.Account) error {
		id := pick.ID
		switch a.Role {
		case "owner":
			x.OwnerID = &id
		case "ae":
			x.AEID = &id
		case "ce":
			x.CEID = &id
		case "ie":
			x.IEID = &id
		}
		return nil
	}, actor)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s assigned to %s (%s)", a.Role, pick.Email, a.Strategy), nil
}

// inputEvents are the signals of an account's inputs changing: traits and
// fields, the first usage ping, seat utilization rising.
func inputEvents(old, new *assess.Input, now time.Time) []playbook.Event {
	id := new.Account.ID
	stamp := strconv.FormatInt(now.UnixMilli(), 10)
	var out []playbook.Event
	keys := make([]string, 0, len(new.Traits)+len(old.Traits))
	for k := range new.Traits {
		keys = append(keys, k)
	}
	for k := range old.Traits {
		if _, ok := new.Traits[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ov, nv := old.Traits[k], new.Traits[k]
		if fmt.Sprint(ov) == fmt.Sprint(nv) && (ov == nil) == (nv == nil) {
			continue
		}
		out = append(out, playbook.Event{Kind: playbook.SignalTraitChanged, AccountID: id, ID: "trait:" + k + ":" + stamp,
			Trait: k, From: valueText(ov), To: valueText(nv), At: now})
		switch k {
		case "first_usage_ping":
			if ov == nil && nv != nil {
				out = append(out, playbook.Event{Kind: playbook.SignalFirstUsage, AccountID: id, ID: "first_ping", To: valueText(nv), At: now})
			}
		case "seat_utilization":
			o, _ := ov.(float64)
			n, ok := nv.(float64)
			if ok && n > o {
				out = append(out, playbook.Event{Kind: playbook.SignalSeatsCrossed, AccountID: id, ID: "seats:" + stamp, Old: o, New: n, At: now})
			}
		}
	}
	for _, c := range account.Diff(old.Account, new.Account) {
		out = append(out, playbook.Event{Kind: playbook.SignalFieldChanged, AccountID: id, ID: "field:" + c.Field + ":" + stamp,
			Field: c.Field, From: c.Old, To: c.New, At: now})
	}
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// changeEvent is the signal of an assessment change.
func changeEvent(id int64, c assess.Change, now time.Time) playbook.Event {
	kind := map[string]string{assess.KindStage: playbook.SignalStageChanged, assess.KindHealth: playbook.SignalHealthChanged,
		assess.KindSegment: playbook.SignalSegmentChanged, assess.KindProgram: playbook.SignalProgramChanged}[c.Kind]
	e := playbook.Event{Kind: kind, AccountID: id, ID: c.Kind + ":" + strconv.FormatInt(now.UnixMilli(), 10), From: c.Old, To: c.New, At: now}
	if c.Kind == assess.KindHealth {
		e.Reason = c.Reason // for {{.trigger}}: which metrics moved
	}
	return e
}

// signalEvent reads a queued signal.
func signalEvent(s store.Signal) playbook.Event {
	var d struct {
		Feature  string `json:"feature"`
		Template string `json:"template"`
		Field    string `json:"field"`
		Source   string `json:"source"`
		From     string `json:"from"`
		To       string `json:"to"`
	}
	_ = json.Unmarshal(s.Data, &d)
	return playbook.Event{Kind: s.Kind, AccountID: s.AccountID, ID: "signal:" + strconv.FormatInt(s.ID, 10), Feature: d.Feature,
		Template: d.Template, DocField: d.Field, Source: d.Source, From: d.From, To: d.To, At: s.At}
}
