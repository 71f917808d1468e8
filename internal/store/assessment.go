package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
)

// Assessments stores what the engine derives for each account — segment,
// program, lifecycle stage and health — with the history of their changes,
// the daily health snapshots, and the queue of accounts whose inputs
// changed.
type Assessments interface {
	// LoadAssessmentInputs calls fn with the account, its traits and its
	// contacts counted by role, for the given accounts or, when ids is nil,
	// for every account, in id order. A listed id without an account is
	// skipped.
	LoadAssessmentInputs(ctx context.Context, ids []int64, fn func(AssessmentInput) error) error
	// TakeDirtyAccounts returns the accounts whose assessment inputs (their
	// fields other than the derived ones, traits, contacts) changed since
	// the last call, or that were deleted, and clears the queue. Every
	// writer queues them, in this process or another.
	TakeDirtyAccounts(ctx context.Context) ([]int64, error)
	// SaveAssessments writes each account's derived fields and last state,
	// and records its changes (with a timeline entry each), in one
	// transaction. An account deleted since is skipped.
	SaveAssessments(ctx context.Context, as []Assessment) error
	// AccountState returns the last saved state of an account; NotFound
	// when it was never assessed.
	AccountState(ctx context.Context, accountID int64) (json.RawMessage, error)
	// ListStateChanges returns changes newest first.
	ListStateChanges(ctx context.Context, f StateChangeFilter) (StateChangePage, error)
	// SaveHealthSnapshots upserts one snapshot per account and day.
	SaveHealthSnapshots(ctx context.Context, ss []HealthSnapshot) error
	// HealthSnapshots returns an account's snapshots from from to to
	// (inclusive; a zero date is open), oldest first.
	HealthSnapshots(ctx context.Context, accountID int64, from, to date.Date) ([]HealthSnapshot, error)
	// HealthCounts counts the accounts a filter selects by health colour
	// ("" for no score); the filter's own colour, sort and paging are
	// ignored.
	HealthCounts(ctx context.Context, f account.Filter) (map[string]int, error)
}

// Leases give a piece of periodic work one doer among the processes that
// share a database.
type Leases interface {
	// AcquireLease takes or renews the lease name for holder until now+ttl,
	// and reports whether holder has it: it fails while another holder's
	// lease has not expired.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease, if it has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// AssessmentInput is what the engine reads about one account.
type AssessmentInput struct {
	Account account.Account
	// Traits are the current trait values by key.
	Traits map[string]any
	// Contacts counts the account's contacts by role.
	Contacts map[string]int
	// Docs are the field values of the account's newest doc of each
	// template (Work.DocFields), for docs.<template>.<field>; nil when it
	// has none.
	Docs map[string]map[string]any
}

// The kinds of state change.
const (
	ChangeSegment = "segment"
	ChangeProgram = "program"
	ChangeStage   = "stage"
	ChangeHealth  = "health"
)

// StateChange is one recorded change of an account's segment, program,
// stage or health colour.
type StateChange struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	Kind      string `json:"kind"`
	Old       string `json:"old"`
	New       string `json:"new"`
	// OldScore and NewScore are the health scores around a health change.
	OldScore *float64 `json:"old_score,omitempty"`
	NewScore *float64 `json:"new_score,omitempty"`
	// Direction is +1 when a health colour got better, -1 when worse.
	Direction int `json:"direction"`
	// Reason says which rule decided it, on which values.
	Reason string `json:"reason"`
	// Detail holds the values behind the reason as JSON.
	Detail json.RawMessage `json:"detail"`
	At     time.Time       `json:"at"`
	// AccountName and OwnerID are the account's as they are now, filled
	// by ListStateChanges.
	AccountName string `json:"account_name"`
	OwnerID     *int64 `json:"owner_id"`
}

// StateChangeFilter selects state changes.
type StateChangeFilter struct {
	// AccountID selects one account's changes (0: all).
	AccountID int64
	// Kind selects one kind ("" all).
	Kind string
	// OwnerID selects accounts the owner TA has now (0 any,
	// account.Unassigned none).
	OwnerID int64
	// From and To bound the time (zero: open); To is exclusive.
	From, To time.Time
	// Direction selects +1 (better), -1 (worse) or 0 (either).
	Direction int
	Limit     int
	Cursor    string
}

// StateChangePage is one page of state changes.
type StateChangePage struct {
	Changes []StateChange `json:"data"`
	Next    string        `json:"next"`
}

// Assessment is the engine's result for one account, to save.
type Assessment struct {
	AccountID int64
	Segment   string
	Program   string
	Stage     string
	Score     *float64
	Color     string
	// State is the whole assessment as JSON, kept for the next one.
	State json.RawMessage
	// Changes are recorded with this assessment; their AccountID and At
	// are filled from it.
	Changes []StateChange
	At      time.Time
}

// HealthSnapshot is an account's health on one day.
type HealthSnapshot struct {
	AccountID int64     `json:"account_id"`
	Day       date.Date `json:"day"`
	Score     *float64  `json:"score"`
	Color     string    `json:"color"`
	Model     string    `json:"model"`
	// Categories maps each category with data to its mean (0–10).
	Categories map[string]float64 `json:"categories"`
}
