package work

import (
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

// Task statuses. A task starts open and is closed as done or cancelled;
// either can be reopened.
const (
	StatusOpen      = "open"
	StatusDone      = "done"
	StatusCancelled = "cancelled"
)

// Statuses lists the task statuses.
var Statuses = []string{StatusOpen, StatusDone, StatusCancelled}

// Task is a piece of work on an account for one team member: "Fill out the
// Handoff Doc and schedule the knowledge transfer with the TA and AE"
// (004).
type Task struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	Title     string `json:"title"`
	// Body is Markdown.
	Body string `json:"body"`
	// AssigneeID is the team member the task is for; nil is unassigned
	// (a playbook assigning by role to an account without that role).
	AssigneeID *int64    `json:"assignee_id"`
	Status     string    `json:"status"`
	DueDate    date.Date `json:"due_date"`
	// CreatedByID and CreatedBy are who made the task: a member, or a
	// system actor such as "playbook handoff" (CreatedByID nil).
	CreatedByID *int64 `json:"created_by_id"`
	CreatedBy   string `json:"created_by"`
	// Key, when set, is unique across tasks: the playbook runner's
	// idempotency key (playbook × account × occurrence × action, e.g.
	// "pb:handoff:42:2026-03-01:task:0"). Creating a task with a key that
	// exists returns the existing task instead (see store.Work).
	Key string `json:"key"`
	// Source names what made the task, e.g. "playbook handoff"; the runner
	// closes a playbook's open tasks by it (store.Work.CancelOpenTasks).
	// "" for a task a person made.
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// CompletedAt is when the task was closed (done or cancelled); nil
	// while it is open.
	CompletedAt *time.Time `json:"completed_at"`
	// AccountName is the account's name, filled by the store's reads.
	AccountName string `json:"account_name"`
}

// Validate checks the task and fills defaults, returning the first fault
// as a field-named *derrors.Error.
func (t *Task) Validate() error {
	t.Title = strings.TrimSpace(t.Title)
	t.Body = normalizeText(t.Body)
	t.Key = strings.TrimSpace(t.Key)
	t.Source = strings.TrimSpace(t.Source)
	if t.Status == "" {
		t.Status = StatusOpen
	}
	if t.AccountID <= 0 {
		return derrors.Field(derrors.Unprocessable, "account_id", "is required")
	}
	if err := checkText("title", t.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("body", t.Body, MaxTaskBody, false); err != nil {
		return err
	}
	if !slices.Contains(Statuses, t.Status) {
		return derrors.Field(derrors.Unprocessable, "status", "%q is not one of %s", t.Status, strings.Join(Statuses, ", "))
	}
	if err := checkKey(t.Key); err != nil {
		return err
	}
	if err := checkText("source", t.Source, MaxSource, false); err != nil {
		return err
	}
	return checkText("created_by", t.CreatedBy, MaxTitle, false)
}

// Open reports whether the task is still to do.
func (t Task) Open() bool { return t.Status == StatusOpen }

// Overdue reports whether the task is open and was due before today.
func (t Task) Overdue(today date.Date) bool {
	return t.Open() && !t.DueDate.IsZero() && t.DueDate.Before(today)
}

// Comment is one remark on a task's thread.
type Comment struct {
	ID     int64 `json:"id"`
	TaskID int64 `json:"task_id"`
	// AuthorID is the member who wrote it (nil for a system actor).
	AuthorID *int64 `json:"author_id"`
	Author   string `json:"author"`
	// Body is Markdown.
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks the comment.
func (c *Comment) Validate() error {
	c.Body = normalizeText(c.Body)
	if c.TaskID <= 0 {
		return derrors.Field(derrors.Unprocessable, "task_id", "is required")
	}
	if err := checkText("author", c.Author, MaxTitle, false); err != nil {
		return err
	}
	return checkText("body", c.Body, MaxComment, true)
}

// Unassigned is the TaskFilter.AssigneeID that selects tasks without an
// assignee.
const Unassigned int64 = -1

// TaskFilter selects tasks. The zero value selects every task.
type TaskFilter struct {
	// AssigneeID selects one member's tasks; 0 is anyone's, Unassigned
	// those without an assignee.
	AssigneeID int64
	// AccountID selects one account's tasks (0: every account).
	AccountID int64
	// Status selects one status ("": every status).
	Status string
	// OverdueOn, when set, selects the open tasks due before that day:
	// overdue as of it.
	OverdueOn date.Date
	// DueBefore, when set, selects the tasks due before that day.
	DueBefore date.Date
	// Source selects the tasks one source made ("": any).
	Source string
	Limit  int
	Cursor string
}

// MaxTaskLimit caps a page of tasks.
const MaxTaskLimit = 500

// Normalize checks the filter and fills defaults.
func (f *TaskFilter) Normalize() error {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > MaxTaskLimit {
		return derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", MaxTaskLimit)
	}
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return derrors.Field(derrors.Invalid, "status", "%q is not one of %s", f.Status, strings.Join(Statuses, ", "))
	}
	if f.AssigneeID < Unassigned {
		return derrors.Field(derrors.Invalid, "assignee", "%d is not a member's id", f.AssigneeID)
	}
	return nil
}

// TaskPage is one page of tasks: open tasks first, each part by due date
// (undated last), then by id.
type TaskPage struct {
	Tasks []Task `json:"data"`
	// Next is the cursor of the following page, "" on the last one.
	Next string `json:"next"`
	// Total counts every task the filter selects.
	Total int `json:"total"`
}
