package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/work"
)

func scanTask(row interface{ Scan(...any) error }) (work.Task, error) {
	var t work.Task
	err := row.Scan(&t.ID, &t.AccountID, &t.Title, &t.Body, idVal{&t.AssigneeID}, &t.Status, &t.DueDate, strVal{&t.Key},
		&t.Source, idVal{&t.CreatedByID}, &t.CreatedBy, timeVal{&t.CreatedAt}, timeVal{&t.UpdatedAt},
		nullTimeVal{&t.CompletedAt}, &t.AccountName)
	return t, err
}

// nullTime stores a nil instant as NULL.
func (db *DB) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.d.Time(msTime(*t))
}

// stamp is the instant a record is written at: the one it brings, at the
// stores' precision, else the store's now.
func (db *DB) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return db.now()
	}
	return msTime(t)
}

// CreateTask implements store.Work.
func (db *DB) CreateTask(ctx context.Context, t *work.Task, by account.Actor) (created bool, err error) {
	defer derrors.Wrap(&err, "store.CreateTask(%q)", t.Title)
	if t.CreatedBy == "" && t.CreatedByID == nil {
		t.CreatedByID, t.CreatedBy = by.UserID, by.Name
	}
	if err := t.Validate(); err != nil {
		return false, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.requireAccount(ctx, tx, t.AccountID, "account_id"); err != nil {
			return err
		}
		at := db.stamp(t.CreatedAt)
		var completed *time.Time
		if !t.Open() {
			completed = &at
		}
		var id int64
		err := tx.QueryRowContext(ctx, db.query("InsertTask"), t.AccountID, t.Title, t.Body, nullID(t.AssigneeID), t.Status,
			t.DueDate, nullIfEmpty(t.Key), t.Source, nullID(t.CreatedByID), t.CreatedBy, db.d.Time(at), db.d.Time(at),
			db.nullTime(completed)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// The key exists: the task was made before (a retry or a replay).
			existing, err := scanTask(tx.QueryRowContext(ctx, db.query("GetTaskByKey"), t.Key))
			if err != nil {
				return err
			}
			*t = existing
			return nil
		}
		if err != nil {
			return db.mapRefErr(ctx, tx, err, userRef{"assignee_id", t.AssigneeID}, userRef{"created_by_id", t.CreatedByID})
		}
		t.ID, t.CreatedAt, t.UpdatedAt, t.CompletedAt = id, at, at, completed
		if t.AccountName, err = db.accountName(ctx, tx, t.AccountID); err != nil {
			return err
		}
		created = true
		body := "Task: " + t.Title
		if !t.DueDate.IsZero() {
			body += " (due " + t.DueDate.String() + ")"
		}
		return db.addActivity(ctx, tx, &account.Activity{AccountID: t.AccountID, Kind: account.ActivityTask,
			ActorID: by.UserID, Actor: by.Name, Body: body, At: at})
	})
	return created, err
}

func (db *DB) accountName(ctx context.Context, q queryer, id int64) (string, error) {
	a, err := db.getAccount(ctx, q, "GetAccount", id)
	return a.Name, err
}

// GetTask implements store.Work.
func (db *DB) GetTask(ctx context.Context, id int64) (work.Task, error) {
	return db.getTask(ctx, db.r, "GetTask", id)
}

func (db *DB) getTask(ctx context.Context, q queryer, query string, id int64) (work.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, db.query(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("task", id)
	}
	if err != nil {
		return t, fmt.Errorf("store.GetTask(%d): %w", id, err)
	}
	return t, nil
}

// ModifyTask implements store.Work.
func (db *DB) ModifyTask(ctx context.Context, id int64, modify func(*work.Task) error, by account.Actor) (t work.Task, err error) {
	defer derrors.Wrap(&err, "store.ModifyTask(%d)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.getTask(ctx, tx, "GetTaskForUpdate", id)
		if err != nil {
			return err
		}
		t = old
		if err := modify(&t); err != nil {
			return err
		}
		// What a task is and where it came from do not change.
		t.ID, t.AccountID, t.Key, t.Source, t.CreatedByID, t.CreatedBy = old.ID, old.AccountID, old.Key, old.Source, old.CreatedByID, old.CreatedBy
		t.CreatedAt, t.AccountName = old.CreatedAt, old.AccountName
		if err := t.Validate(); err != nil {
			return err
		}
		return db.saveTask(ctx, tx, old, &t, by)
	})
	return t, err
}

// saveTask writes t over old, and records a status change as an event and
// a timeline entry.
func (db *DB) saveTask(ctx context.Context, tx *sql.Tx, old work.Task, t *work.Task, by account.Actor) error {
	now := db.now()
	switch {
	case t.Open():
		t.CompletedAt = nil
	case t.Status != old.Status:
		// Closed now, or closed the other way: at now, unless modify said
		// when.
		if t.CompletedAt == nil || equalTime(t.CompletedAt, old.CompletedAt) {
			t.CompletedAt = &now
		}
	case t.CompletedAt == nil:
		t.CompletedAt = old.CompletedAt
	}
	if t.CompletedAt != nil {
		c := msTime(*t.CompletedAt)
		t.CompletedAt = &c
	}
	same := t.Title == old.Title && t.Body == old.Body && equalID(t.AssigneeID, old.AssigneeID) && t.Status == old.Status &&
		t.DueDate == old.DueDate && equalTime(t.CompletedAt, old.CompletedAt)
	if same {
		t.UpdatedAt = old.UpdatedAt
		return nil
	}
	t.UpdatedAt = now
	if _, err := tx.ExecContext(ctx, db.query("UpdateTask"), t.ID, t.Title, t.Body, nullID(t.AssigneeID), t.Status,
		t.DueDate, db.d.Time(now), db.nullTime(t.CompletedAt)); err != nil {
		return db.mapRefErr(ctx, tx, err, userRef{"assignee_id", t.AssigneeID})
	}
	if t.Status == old.Status {
		return nil
	}
	kind, verb := work.EventTaskDone, "Task done: "
	switch t.Status {
	case work.StatusCancelled:
		kind, verb = work.EventTaskCancelled, "Task cancelled: "
	case work.StatusOpen:
		kind, verb = work.EventTaskReopened, "Task reopened: "
	}
	at := now
	if t.CompletedAt != nil {
		at = *t.CompletedAt
	}
	if err := db.addWorkEvent(ctx, tx, work.Event{Kind: kind, AccountID: t.AccountID, TaskID: t.ID, Key: t.Key,
		Source: t.Source, ActorID: by.UserID, Actor: by.Name, At: at}); err != nil {
		return err
	}
	return db.addActivity(ctx, tx, &account.Activity{AccountID: t.AccountID, Kind: account.ActivityTask,
		ActorID: by.UserID, Actor: by.Name, Body: verb + t.Title, At: at})
}

func equalID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// ListTasks implements store.Work.
func (db *DB) ListTasks(ctx context.Context, f work.TaskFilter) (page work.TaskPage, err error) {
	defer derrors.Wrap(&err, "store.ListTasks")
	if err := f.Normalize(); err != nil {
		return page, err
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	where := []any{f.AssigneeID, f.AccountID, f.Status, f.OverdueOn, f.DueBefore, f.Source}
	if err := db.r.QueryRowContext(ctx, db.query("CountTasks"), where...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListTasks"), append(where, f.Limit+1, offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Tasks = []work.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return page, err
		}
		page.Tasks = append(page.Tasks, t)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Tasks) > f.Limit {
		page.Tasks = page.Tasks[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

// CancelOpenTasks implements store.Work.
func (db *DB) CancelOpenTasks(ctx context.Context, accountID int64, source string, by account.Actor) (out []work.Task, err error) {
	defer derrors.Wrap(&err, "store.CancelOpenTasks(%d, %q)", accountID, source)
	source = strings.TrimSpace(source)
	if source == "" {
		return nil, derrors.Field(derrors.Invalid, "source", "is required: only the tasks one source made are cancelled together")
	}
	out = []work.Task{}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.query("OpenTasksOfSource"), accountID, source)
		if err != nil {
			return err
		}
		var open []work.Task
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				rows.Close()
				return err
			}
			open = append(open, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, old := range open {
			t := old
			t.Status = work.StatusCancelled
			if err := db.saveTask(ctx, tx, old, &t, by); err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddComment implements store.Work.
func (db *DB) AddComment(ctx context.Context, c *work.Comment) (err error) {
	defer derrors.Wrap(&err, "store.AddComment(%d)", c.TaskID)
	if err := c.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.query("TaskExists"), c.TaskID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("task", c.TaskID)
		}
		c.CreatedAt = db.stamp(c.CreatedAt)
		err := tx.QueryRowContext(ctx, db.query("InsertComment"), c.TaskID, nullID(c.AuthorID), c.Author, c.Body,
			db.d.Time(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			return db.mapRefErr(ctx, tx, err, userRef{"author_id", c.AuthorID})
		}
		return nil
	})
}

// ListComments implements store.Work.
func (db *DB) ListComments(ctx context.Context, taskID int64) (out []work.Comment, err error) {
	defer derrors.Wrap(&err, "store.ListComments(%d)", taskID)
	rows, err := db.r.QueryContext(ctx, db.query("ListComments"), taskID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []work.Comment{}
	for rows.Next() {
		var c work.Comment
		if err := rows.Scan(&c.ID, &c.TaskID, idVal{&c.AuthorID}, &c.Author, &c.Body, timeVal{&c.CreatedAt}); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
