package account

import "time"

// Actor is who or what made a change: a team member, or a system source
// such as an import or a sync.
type Actor struct {
	UserID *int64
	// Name is shown in history: the member's email, or e.g. "import accounts.csv".
	Name string
	// Source is the trait source the change counts as (see TraitSources).
	Source string
}

// System returns an actor that is not a person.
func System(name, source string) Actor { return Actor{Name: name, Source: source} }

// MaxNoteLength caps a note, in characters, wherever it is written.
const MaxNoteLength = 10_000

// Activity kinds on the account timeline.
const (
	ActivityNote         = "note"
	ActivityCreated      = "created"
	ActivityFieldChanged = "field_changed"
	ActivityTraitChanged = "trait_changed"
	// ActivityUsage marks a usage milestone: the first product ping, a
	// feature's first use.
	ActivityUsage = "usage"
	// ActivityLifecycle and ActivityHealth mark an assessment change: a
	// new segment, program or stage, or a new health colour, with why.
	ActivityLifecycle = "lifecycle"
	ActivityHealth    = "health"
	// ActivityTask marks a task made, done, cancelled or reopened, and
	// ActivityDoc a doc made or its fields changed (package work).
	ActivityTask = "task"
	ActivityDoc  = "doc"
	// ActivitySurvey marks a contact's answer to a campaign's survey.
	ActivitySurvey = "survey"
)

// Activity is one entry of an account's timeline.
type Activity struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"account_id"`
	Kind      string    `json:"kind"`
	ActorID   *int64    `json:"actor_id"`
	Actor     string    `json:"actor"`
	Body      string    `json:"body"`
	At        time.Time `json:"at"`
}
