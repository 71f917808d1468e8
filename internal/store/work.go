package store

import (
	"context"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/work"
)

// Work stores the work around accounts (package work): tasks and their
// comments, docs made from templates, members' in-app notifications, and
// the events the playbook runner reads.
//
// Idempotency keys: a task, doc or notification may carry a Key, unique
// among its kind. Creating one whose Key exists writes nothing and returns
// created false with the existing record in place of the argument, and no
// error, so that a retried or replayed playbook action is harmless. Keys
// are global, so a key names the account in it.
//
// Signals: completing, cancelling or reopening a task, creating a doc and
// changing a doc's field each record a work.Event (read in order with
// ListWorkEvents) and an entry on the account's timeline (kinds
// account.ActivityTask and account.ActivityDoc), in the same transaction.
type Work interface {
	// CreateTask validates and inserts t, setting its ID and times (a
	// zero CreatedAt is the store's now), and records a timeline entry. An
	// unknown account is NotFound on account_id (as for contacts), an
	// unknown assignee Unprocessable on assignee_id.
	CreateTask(ctx context.Context, t *work.Task, by account.Actor) (created bool, err error)
	GetTask(ctx context.Context, id int64) (work.Task, error)
	// ModifyTask reads the task and applies modify to it, validates and
	// saves it, in one write transaction. modify may change the title,
	// body, assignee, due date and status; the other fields are kept as
	// stored. Closing the task (done or cancelled) sets CompletedAt to the
	// store's now unless modify set it; reopening clears it. A status
	// change records its event and timeline entry. modify must not call
	// the store; its error is returned as it is and nothing is written.
	ModifyTask(ctx context.Context, id int64, modify func(*work.Task) error, by account.Actor) (work.Task, error)
	// ListTasks returns a page of tasks: open first, then by due date
	// (undated last) and id.
	ListTasks(ctx context.Context, f work.TaskFilter) (work.TaskPage, error)
	// CancelOpenTasks cancels the account's open tasks that source made
	// (a playbook's exit action, or disabling it), each with its event and
	// timeline entry, and returns them. source must not be "": a person's
	// tasks are never cancelled in bulk.
	CancelOpenTasks(ctx context.Context, accountID int64, source string, by account.Actor) ([]work.Task, error)
	// AddComment validates and adds a comment to a task (a zero CreatedAt
	// is the store's now); an unknown task is NotFound.
	AddComment(ctx context.Context, c *work.Comment) error
	// ListComments returns a task's comments, oldest first.
	ListComments(ctx context.Context, taskID int64) ([]work.Comment, error)

	// CreateDoc validates and inserts d (field values already checked
	// against its template), records doc_created and a doc_field_changed
	// event for each field it starts with, and a timeline entry.
	CreateDoc(ctx context.Context, d *work.Doc, by account.Actor) (created bool, err error)
	GetDoc(ctx context.Context, id int64) (work.Doc, error)
	// ModifyDoc reads the doc and applies modify to it, validates and
	// saves it, in one write transaction. modify may change the title, the
	// body and the fields (checked against the template by the caller);
	// each changed field records a doc_field_changed event, and the
	// changes together one timeline entry.
	ModifyDoc(ctx context.Context, id int64, modify func(*work.Doc) error, by account.Actor) (work.Doc, error)
	// ListDocs returns an account's docs, newest first.
	ListDocs(ctx context.Context, accountID int64) ([]work.Doc, error)
	// DocFields returns the field values of the account's newest doc of
	// each template, by template key: what conditions read
	// (docs.health_assessment.rating).
	DocFields(ctx context.Context, accountID int64) (map[string]map[string]any, error)
	// DocFieldsByAccount is DocFields for many accounts in one query, by
	// account id; nil ids means every account. Accounts without docs are
	// absent.
	DocFieldsByAccount(ctx context.Context, accountIDs []int64) (map[int64]map[string]map[string]any, error)

	// CreateNotification validates and inserts n (a zero CreatedAt is the
	// store's now). An unknown user is Unprocessable on user_id, an unknown
	// account NotFound on account_id.
	CreateNotification(ctx context.Context, n *work.Notification) (created bool, err error)
	// ListNotifications returns a page of one member's notifications,
	// unread first, each part newest first, with their unread count.
	ListNotifications(ctx context.Context, f work.NotificationFilter) (work.NotificationPage, error)
	// UnreadNotifications counts a member's unread notifications.
	UnreadNotifications(ctx context.Context, userID int64) (int, error)
	// MarkNotificationRead marks one of userID's notifications read (a
	// read one keeps its first ReadAt) and returns it; another member's is
	// NotFound.
	MarkNotificationRead(ctx context.Context, userID, id int64) (work.Notification, error)
	// MarkAllNotificationsRead marks every unread notification of userID
	// read and returns how many it marked.
	MarkAllNotificationsRead(ctx context.Context, userID int64) (int, error)

	// ListWorkEvents returns up to limit events with Seq above afterSeq,
	// in Seq order. Seqs only grow and become visible in order on both
	// engines, so a reader that keeps the last Seq it handled misses none.
	ListWorkEvents(ctx context.Context, afterSeq int64, limit int) ([]work.Event, error)
}
