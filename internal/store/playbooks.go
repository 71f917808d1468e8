package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Playbooks stores what the playbook runner needs to fire each playbook at
// most once per key, run its actions durably and answer "why did this
// fire?".
type Playbooks interface {
	// PlaybookStates returns the team's run-time state of every playbook
	// that has one, by key.
	PlaybookStates(ctx context.Context) (map[string]PlaybookState, error)
	// SavePlaybookState inserts or replaces a playbook's state.
	SavePlaybookState(ctx context.Context, s PlaybookState) error
	// PlaybookMatches returns the accounts a playbook's condition trigger
	// matched at its last evaluation, with since when.
	PlaybookMatches(ctx context.Context, playbook string) (map[int64]time.Time, error)
	// RecordFiring inserts a firing and its actions in one transaction,
	// and updates the playbook's matches as given. A firing whose key exists
	// is not inserted (false, nil): it happened already, here or in
	// another process. Matches are applied either way.
	RecordFiring(ctx context.Context, f *Firing, matches []MatchChange) (bool, error)
	// RecordFirings is RecordFiring for many firings in one transaction
	// (a tick of the runner): inserted says which were new.
	//
	// An action may be done when its firing is recorded, in the same
	// transaction, and never claimed: one given finished (Status done,
	// failed or skipped, with its Result) is recorded so, at its DueAt;
	// one with an Enroll (a campaign's entry) enrolls it as Campaigns.Enroll
	// does and is recorded done, its Result saying whether it entered
	// (EnrollResult). Nothing of a firing that is not inserted is done.
	RecordFirings(ctx context.Context, fs []*Firing, matches []MatchChange) (inserted []bool, err error)
	// SaveMatches applies match changes without a firing (an account that
	// starts matching but fails the condition, or is blocked by re-entry).
	SaveMatches(ctx context.Context, matches []MatchChange) error
	// CountFirings counts a playbook's firings (kind fire) for an account
	// at or after since.
	CountFirings(ctx context.Context, playbook string, accountID int64, since time.Time) (int, error)
	// ListFirings returns firings newest first, with their actions.
	ListFirings(ctx context.Context, f FiringFilter) (FiringPage, error)
	// FiringStats counts each playbook's firings (kind fire) per day since
	// a time, and returns its latest failed action's error.
	FiringStats(ctx context.Context, since time.Time) (map[string]FiringStats, error)
	// ClaimDueActions marks up to limit pending actions due at now (and
	// running ones whose claim expired) as running until now+claim, and
	// returns them: one runner gets each.
	ClaimDueActions(ctx context.Context, now time.Time, claim time.Duration, limit int) ([]FiringAction, error)
	// FinishActions records actions' outcomes in one transaction: done,
	// failed, skipped, or pending again (a retry) at RetryAt.
	FinishActions(ctx context.Context, outcomes []ActionOutcome) error
	// CancelPendingActions cancels a playbook's actions not yet run, for
	// one account (0: all), e.g. when it is disabled.
	CancelPendingActions(ctx context.Context, playbook string, accountID int64, at time.Time) (int, error)
	// AddSignals queues signals for the runner.
	AddSignals(ctx context.Context, ss []Signal) error
	// TakeSignals returns and removes up to limit queued signals, oldest
	// first.
	TakeSignals(ctx context.Context, limit int) ([]Signal, error)
	// NextCounter increments a named counter and returns its new value.
	NextCounter(ctx context.Context, name string) (int64, error)
}

// PlaybookState is the team's switch on a playbook, and where its schedule
// got to.
type PlaybookState struct {
	Playbook  string    `json:"playbook"`
	Enabled   bool      `json:"enabled"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
	// LastTick is the last scheduled time a schedule trigger handled.
	LastTick *time.Time `json:"last_tick,omitempty"`
}

// MatchChange says an account starts (Matching) or stops matching a
// playbook's condition trigger.
type MatchChange struct {
	Playbook  string
	AccountID int64
	Matching  bool
	At        time.Time
}

// The kinds of firing.
const (
	FiringFire = "fire"
	FiringExit = "exit"
	FiringCut  = "cut"
)

// Firing is one playbook firing for one account.
type Firing struct {
	ID        int64  `json:"id"`
	Playbook  string `json:"playbook"`
	AccountID int64  `json:"account_id"`
	// Key is unique: the playbook, the account and the occurrence under
	// the playbook's re-entry rule.
	Key  string `json:"key"`
	Kind string `json:"kind"`
	// Trigger says what fired it, in words; Detail the condition's
	// explanation and the values it read, as JSON.
	Trigger string          `json:"trigger"`
	Detail  json.RawMessage `json:"detail"`
	// Chain lists the playbooks whose actions led to this firing, for
	// cutting loops.
	Chain   string         `json:"chain,omitempty"`
	At      time.Time      `json:"at"`
	Actions []FiringAction `json:"actions"`
	// AccountName is filled by ListFirings.
	AccountName string `json:"account_name,omitempty"`
}

// The statuses of a firing's action.
const (
	ActionPending   = "pending"
	ActionRunning   = "running"
	ActionDone      = "done"
	ActionFailed    = "failed"
	ActionSkipped   = "skipped"
	ActionCancelled = "cancelled"
)

// FiringAction is one action a firing scheduled.
type FiringAction struct {
	ID        int64  `json:"id"`
	FiringID  int64  `json:"firing_id"`
	Playbook  string `json:"playbook"`
	AccountID int64  `json:"account_id"`
	// Index is the action's place in the playbook's actions (or exit
	// actions, with Exit).
	Index int    `json:"index"`
	Exit  bool   `json:"exit,omitempty"`
	Kind  string `json:"kind"`
	// Key is unique; what the action creates carries it, so a retry
	// creates nothing twice.
	Key      string     `json:"key"`
	DueAt    time.Time  `json:"due_at"`
	Status   string     `json:"status"`
	Attempts int        `json:"attempts"`
	Result   string     `json:"result"`
	DoneAt   *time.Time `json:"done_at,omitempty"`
	// FiringKey, Chain and Trigger are the firing's, filled by
	// ClaimDueActions.
	FiringKey string `json:"-"`
	Chain     string `json:"-"`
	Trigger   string `json:"-"`
	// Enroll, given to RecordFirings, is the enrollment the action makes
	// when its firing is recorded; its ID is filled when it entered.
	Enroll *Enrollment `json:"-"`
}

// EnrollResult is the result of an enroll action: the enrollment it
// inserted, or that it inserted none (the account is in the campaign, or
// entered under this key before).
func EnrollResult(e *Enrollment, inserted bool) string {
	if inserted {
		return fmt.Sprintf("enrolled in %s (enrollment %d)", e.Campaign, e.ID)
	}
	return "not enrolled in " + e.Campaign + ": in it already, or entered before under this re-entry rule"
}

// ActionOutcome is what became of a claimed action (FinishActions).
type ActionOutcome struct {
	ID     int64
	Status string // ActionDone, ActionFailed, ActionSkipped, or ActionPending for a retry
	Result string
	At     time.Time
	// RetryAt is when a pending action is due again (At when zero).
	RetryAt time.Time
}

// FiringFilter selects firings.
type FiringFilter struct {
	Playbook  string
	AccountID int64
	Kind      string
	From, To  time.Time
	Limit     int
	Cursor    string
}

// FiringPage is a page of firings.
type FiringPage struct {
	Firings []Firing `json:"data"`
	Next    string   `json:"next"`
}

// FiringStats summarise a playbook's recent firings.
type FiringStats struct {
	// PerDay counts firings by day (YYYY-MM-DD, UTC).
	PerDay    map[string]int `json:"per_day"`
	Total     int            `json:"total"`
	LastError string         `json:"last_error,omitempty"`
	LastAt    *time.Time     `json:"last_at,omitempty"`
}

// Signal is something that happened to an account that playbooks may be
// triggered by, raised by a part of Tend the runner does not watch itself
// (the usage engine's first feature use, a task done, a doc field, a
// survey answer).
type Signal struct {
	ID        int64           `json:"id"`
	AccountID int64           `json:"account_id"`
	Kind      string          `json:"kind"`
	Data      json.RawMessage `json:"data"`
	At        time.Time       `json:"at"`
}
