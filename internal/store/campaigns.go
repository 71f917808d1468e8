package store

import (
	"context"
	"time"
)

// Campaigns stores where each account stands in each digital campaign
// (its enrollment: the step, the times, the decision the last plan made),
// the survey answers contacts send from the check-in emails, and the
// server's signing secrets (unsubscribe and survey links).
//
// The messages an enrollment sends are the outbox's, keyed by the
// enrollment, its step and the contact (campaign.MessageKey): the runner
// enqueues them, then saves the enrollment's new state, and a crash
// between the two plans the same messages under the same keys again.
type Campaigns interface {
	// Enroll inserts enrollments, each active and due at once (or at
	// WakeAt). One whose Key is stored, or whose account has an active
	// enrollment in the campaign already, is not inserted: inserted says
	// which were. An unknown account is skipped too.
	Enroll(ctx context.Context, es []*Enrollment) (inserted []bool, err error)
	// DueEnrollments returns up to limit active enrollments due at now
	// (WakeAt at or before it), the longest due first.
	DueEnrollments(ctx context.Context, now time.Time, limit int) ([]Enrollment, error)
	// WatchingEnrollments returns the active enrollments of the accounts
	// that wait for a condition (Watch): the runner plans them again when
	// the accounts change. Nil accountIDs means every account (the daily
	// step); an empty slice none.
	WatchingEnrollments(ctx context.Context, accountIDs []int64) ([]Enrollment, error)
	// SaveEnrollments stores enrollments' states, statuses, wake times,
	// watch flags, exit reasons and last decisions, as the runner planned
	// them, in one transaction. One no longer active (ended meanwhile) is
	// not saved: saved says which were.
	SaveEnrollments(ctx context.Context, es []*Enrollment) (saved []bool, err error)
	// EndEnrollments ends the account's active enrollments in a campaign
	// ("" every campaign) as exited with the reason, and returns how many
	// (a playbook's unenroll action, a person).
	EndEnrollments(ctx context.Context, accountID int64, campaign, reason string, at time.Time) (int, error)
	// GetEnrollment returns an enrollment.
	GetEnrollment(ctx context.Context, id int64) (Enrollment, error)
	// ListEnrollments returns enrollments, the most recently changed
	// first, with their accounts' names.
	ListEnrollments(ctx context.Context, f EnrollmentFilter) (EnrollmentPage, error)
	// CampaignStats counts each campaign's enrollments by status, its
	// active ones by step and its survey answers, by campaign key.
	CampaignStats(ctx context.Context) (map[string]CampaignStats, error)

	// RecordSurveyAnswer stores a contact's answer to a campaign's survey,
	// and in the same transaction an entry on the account's timeline
	// (account.ActivitySurvey) and the survey_answered signal for
	// playbooks. Answering again (same Key) replaces the answer and
	// returns created false; the signal and the entry are recorded again.
	RecordSurveyAnswer(ctx context.Context, a *SurveyAnswer) (created bool, err error)
	// ListSurveyAnswers returns answers newest first.
	ListSurveyAnswers(ctx context.Context, f SurveyFilter) ([]SurveyAnswer, error)

	// Secret returns the server's secret of that name, making a random one
	// of 32 bytes the first time: every process sharing the database signs
	// and checks links with the same one.
	Secret(ctx context.Context, name string) ([]byte, error)
}

// The statuses of an enrollment.
const (
	EnrollmentActive = "active"
	EnrollmentDone   = "done"
	EnrollmentExited = "exited"
)

// EnrollmentStatuses lists them in the order the UI shows them.
var EnrollmentStatuses = []string{EnrollmentActive, EnrollmentDone, EnrollmentExited}

// Enrollment is one account's way through one campaign.
type Enrollment struct {
	ID        int64  `json:"id"`
	Campaign  string `json:"campaign"`
	AccountID int64  `json:"account_id"`
	// Key is unique: the campaign, the account and the entry under the
	// campaign's re-entry rule (campaign.EnrollmentKey).
	Key    string `json:"key"`
	Status string `json:"status"`
	// Entry says how the account entered, in words ("playbook
	// scaled_onboarding", "broadcast 3 by ada@…", "signal first_usage_ping").
	Entry string `json:"entry"`
	// Step, Seq, EnteredAt and StepStartedAt are the plan's state
	// (campaign.State).
	Step          string    `json:"step"`
	Seq           int       `json:"seq"`
	EnteredAt     time.Time `json:"entered_at"`
	StepStartedAt time.Time `json:"step_started_at"`
	// WakeAt is when the runner plans it next; Watch that it waits for a
	// condition and is planned again when the account changes.
	WakeAt time.Time `json:"wake_at"`
	Watch  bool      `json:"watch"`
	// Sent counts the messages the enrollment has queued.
	Sent int `json:"sent"`
	// ExitReason says why an exited enrollment ended.
	ExitReason string `json:"exit_reason,omitempty"`
	// Decision is the last plan's trail, in words.
	Decision  string    `json:"decision"`
	UpdatedAt time.Time `json:"updated_at"`
	// AccountName is filled by the lists.
	AccountName string `json:"account_name,omitempty"`
}

// EnrollmentFilter selects enrollments.
type EnrollmentFilter struct {
	Campaign  string
	AccountID int64
	Status    string
	Step      string
	Limit     int
	Cursor    string
}

// EnrollmentPage is a page of enrollments.
type EnrollmentPage struct {
	Enrollments []Enrollment `json:"data"`
	Next        string       `json:"next"`
}

// CampaignStats count one campaign's enrollments.
type CampaignStats struct {
	// ByStatus counts enrollments by status, ActiveBySteps the active ones
	// by their step.
	ByStatus      map[string]int `json:"by_status"`
	ActiveBySteps map[string]int `json:"active_by_step"`
	// SurveyAnswers counts the answers to its survey emails.
	SurveyAnswers int `json:"survey_answers"`
}

// SurveyAnswer is a contact's answer to a check-in survey: a rating from
// 1 to 5, a comment, and whether they would like help from the team.
type SurveyAnswer struct {
	ID int64 `json:"id"`
	// Key is unique: one answer per contact and survey email (the
	// message's key); answering again replaces it.
	Key       string    `json:"key"`
	AccountID int64     `json:"account_id"`
	ContactID int64     `json:"contact_id"`
	Campaign  string    `json:"campaign"`
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment"`
	WantsHelp bool      `json:"wants_help"`
	At        time.Time `json:"at"`
	// AccountName and ContactEmail are filled by ListSurveyAnswers.
	AccountName  string `json:"account_name,omitempty"`
	ContactEmail string `json:"contact_email,omitempty"`
}

// MaxSurveyComment caps a survey comment, in characters.
const MaxSurveyComment = 4000

// SurveyFilter selects survey answers.
type SurveyFilter struct {
	AccountID int64
	Campaign  string
	Limit     int
}
