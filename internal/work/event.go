package work

import "time"

// Event kinds: what the playbook runner hears about the work. A task done
// is the "task done" signal; a doc field changed (a health assessment's
// rating set to red) is the "doc field changed" signal.
const (
	EventTaskDone      = "task_done"
	EventTaskCancelled = "task_cancelled"
	EventTaskReopened  = "task_reopened"
	EventDocCreated    = "doc_created"
	// EventDocFieldChanged is recorded once per field: at creation for
	// each field the doc starts with (Old nil), then for each field an
	// edit changes.
	EventDocFieldChanged = "doc_field_changed"
)

// Event is one thing that happened to a task or a doc, in the order the
// store committed them: Seq only grows, so a reader that remembers the last
// Seq it handled misses none and sees none twice (store.Work
// .ListWorkEvents).
type Event struct {
	Seq       int64  `json:"seq"`
	Kind      string `json:"kind"`
	AccountID int64  `json:"account_id"`
	// TaskID or DocID is the record the event is about (0 for the other).
	TaskID int64 `json:"task_id"`
	DocID  int64 `json:"doc_id"`
	// Template is the doc's template key (doc events).
	Template string `json:"template"`
	// Field, Old and New are the changed field and its values (doc field
	// changes); nil is unset.
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
	// Key and Source are the task's or doc's, so that the runner knows
	// which of its firings made it.
	Key    string `json:"key"`
	Source string `json:"source"`
	// ActorID and Actor are who did it.
	ActorID *int64    `json:"actor_id"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
}
