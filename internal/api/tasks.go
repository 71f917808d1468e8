package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/work"
)

// taskReadOnly are the task fields a client cannot set.
var taskReadOnly = map[string]string{
	"id":            "is assigned by Tend and cannot be set",
	"created_at":    "is set by Tend and cannot be set",
	"updated_at":    "is set by Tend and cannot be set",
	"completed_at":  "is set by Tend when the status changes",
	"created_by":    "is the member whose token makes the task",
	"created_by_id": "is the member whose token makes the task",
	"account_name":  "comes from the account",
}

// taskPatchReadOnly adds what a task keeps for good.
var taskPatchReadOnly = func() map[string]string {
	m := maps.Clone(taskReadOnly)
	m["account_id"] = "cannot change: a task stays on its account"
	m["key"] = "cannot change: it identifies the task to the playbook that made it"
	m["source"] = "cannot change: it names what made the task"
	return m
}()

// taskListParams are the parameters of the task lists.
var taskListParams = []string{"assignee", "account", "status", "overdue", "due_before", "source", "limit", "cursor"}

// TaskFilter reads a task list's parameters — assignee (a member's id, me
// or unassigned), account, status, overdue (true: open and due before
// today, in the workspace's time zone), due_before (a day), source, limit,
// cursor — for the API and the UI alike.
func TaskFilter(q map[string]string, me int64, today date.Date) (work.TaskFilter, error) {
	var f work.TaskFilter
	switch s := q["assignee"]; s {
	case "":
	case "me":
		f.AssigneeID = me
	case "unassigned":
		f.AssigneeID = work.Unassigned
	default:
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return f, derrors.Field(derrors.Invalid, "assignee", "%q is not a member's id, me or unassigned", s)
		}
		f.AssigneeID = id
	}
	if s := q["account"]; s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return f, derrors.Field(derrors.Invalid, "account", "%q is not an account id", s)
		}
		f.AccountID = id
	}
	f.Status = q["status"]
	switch s := q["overdue"]; s {
	case "", "false":
	case "true":
		f.OverdueOn = today
	default:
		return f, derrors.Field(derrors.Invalid, "overdue", "%q is not true or false", s)
	}
	if s := q["due_before"]; s != "" {
		d, err := date.Parse(s)
		if err != nil {
			return f, derrors.Field(derrors.Invalid, "due_before", "%q is not a date (YYYY-MM-DD)", s)
		}
		f.DueBefore = d
	}
	f.Source = q["source"]
	if s := q["limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > work.MaxTaskLimit {
			return f, derrors.Field(derrors.Invalid, "limit", "%q is not a whole number between 1 and %d", s, work.MaxTaskLimit)
		}
		f.Limit = n
	}
	f.Cursor = q["cursor"]
	return f, f.Normalize()
}

// Today is the current day in the workspace's time zone: what "overdue"
// and "due today" mean.
func Today(now time.Time, loc *time.Location) date.Date {
	if loc == nil {
		loc = time.UTC
	}
	return date.Of(now.In(loc))
}

func (a *API) today() date.Date { return Today(a.now(), a.ws.Settings.Location) }

// taskParams reads a task list's query.
func (a *API) taskParams(r *http.Request, allowed []string) (work.TaskFilter, error) {
	q, err := parseQuery(r, allowed...)
	if err != nil {
		return work.TaskFilter{}, err
	}
	params := map[string]string{}
	for _, name := range allowed {
		params[name] = q.str(name)
	}
	return TaskFilter(params, callerOf(r).user.ID, a.today())
}

// listTasks is GET /tasks: everyone's tasks, filtered.
func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	f, err := a.taskParams(r, taskListParams)
	if err != nil {
		return err
	}
	page, err := a.st.ListTasks(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// accountTasks is GET /accounts/{id}/tasks.
func (a *API) accountTasks(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var allowed []string
	for _, p := range taskListParams {
		if p != "account" {
			allowed = append(allowed, p)
		}
	}
	f, err := a.taskParams(r, allowed)
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	f.AccountID = id
	page, err := a.st.ListTasks(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// createTask is POST /tasks. A key that a task already has answers 200
// with that task and writes nothing: what a retried automation needs.
func (a *API) createTask(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	var t work.Task
	if err := applyFields(&t, body, "a task", taskReadOnly); err != nil {
		return err
	}
	if _, ok := body["account_id"]; !ok {
		return derrors.Field(derrors.Unprocessable, "account_id", "is required")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if err := a.checkTaskRefs(r.Context(), &t); err != nil {
		return err
	}
	created, err := a.st.CreateTask(r.Context(), &t, callerOf(r).actor())
	if err != nil {
		return err
	}
	if !created {
		writeJSON(w, http.StatusOK, t)
		return nil
	}
	w.Header().Set("Location", fmt.Sprintf("%s/tasks/%d", Prefix, t.ID))
	writeJSON(w, http.StatusCreated, t)
	return nil
}

// checkTaskRefs answers a task's unknown account or assignee with a 422 on
// its field, and refuses a disabled assignee: nobody would see the task.
func (a *API) checkTaskRefs(ctx context.Context, t *work.Task) error {
	if _, err := a.st.GetAccount(ctx, t.AccountID); err != nil {
		if derrors.Is(err, derrors.NotFound) {
			return derrors.Field(derrors.Unprocessable, "account_id", "account %d not found", t.AccountID)
		}
		return err
	}
	if t.AssigneeID == nil {
		return nil
	}
	u, err := a.st.GetUser(ctx, *t.AssigneeID)
	switch {
	case derrors.Is(err, derrors.NotFound):
		return derrors.Field(derrors.Unprocessable, "assignee_id", "no team member has id %d", *t.AssigneeID)
	case err != nil:
		return err
	case u.Disabled:
		return derrors.Field(derrors.Unprocessable, "assignee_id", "%s is disabled", u.Email)
	}
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	t, err := a.st.GetTask(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// patchTask changes the members the body names: title, body, assignee_id,
// due_date, status. Setting status to done completes the task, which is
// the "task done" signal playbooks hear.
func (a *API) patchTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cur, err := a.st.GetTask(r.Context(), id)
	if err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	next := cur
	if err := applyFields(&next, body, "a task", taskPatchReadOnly); err != nil {
		return err
	}
	if err := next.Validate(); err != nil {
		return err
	}
	if _, ok := body["assignee_id"]; ok {
		if err := a.checkTaskRefs(r.Context(), &next); err != nil {
			return err
		}
	}
	t, err := a.st.ModifyTask(r.Context(), id, func(t *work.Task) error {
		return applyFields(t, body, "a task", taskPatchReadOnly)
	}, callerOf(r).actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) listComments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if _, err := a.st.GetTask(r.Context(), id); err != nil {
		return err
	}
	cs, err := a.st.ListComments(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[work.Comment]{cs})
	return nil
}

// createComment adds a comment to a task, signed by the token's member.
func (a *API) createComment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.st.GetTask(r.Context(), id); err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	by := callerOf(r).actor()
	c := work.Comment{TaskID: id, AuthorID: by.UserID, Author: by.Name, Body: strings.TrimSpace(in.Body)}
	if err := a.st.AddComment(r.Context(), &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}
