package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/api"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
)

// tasksPageSize is how many tasks a page of the task list shows.
const tasksPageSize = 50

// tasksQuery is the task list's view, kept in the query string.
type tasksQuery struct {
	// Assignee is a member's id, me, unassigned or all (default: me for
	// TAs, AEs and CEs, all for the others).
	Assignee string
	// Status is open (the default), done, cancelled or all.
	Status string
	// Overdue keeps only the open tasks due before today.
	Overdue bool
	Cursor  string
}

// parseTasks reads the task list's view and its store filter, through the
// API's parser (api.TaskFilter), so the page and GET /api/v1/tasks agree.
func (ui *UI) parseTasks(v url.Values, u *team.User) (tasksQuery, work.TaskFilter, error) {
	q := tasksQuery{Assignee: strings.TrimSpace(v.Get("assignee")), Status: v.Get("status"), Overdue: v.Get("overdue") == "true",
		Cursor: v.Get("cursor")}
	if q.Assignee == "" {
		// Those who do the work see theirs; admins, managers and viewers,
		// who mostly watch it, see everyone's.
		q.Assignee = ownerAll
		if u.Role == team.TA || u.Role == team.AE || u.Role == team.CE {
			q.Assignee = ownerMe
		}
	}
	if q.Status == "" {
		q.Status = work.StatusOpen
	}
	params := map[string]string{"assignee": q.Assignee, "status": q.Status, "cursor": q.Cursor,
		"limit": strconv.Itoa(tasksPageSize)}
	if q.Assignee == ownerAll {
		params["assignee"] = ""
	}
	if q.Status == "all" {
		params["status"] = ""
	}
	if q.Overdue {
		params["overdue"] = "true"
	}
	f, err := api.TaskFilter(params, u.ID, ui.localToday())
	return q, f, err
}

// URL returns the link to this view, leaving out the default status.
func (q tasksQuery) URL() string {
	v := url.Values{"assignee": {q.Assignee}}
	if q.Status != work.StatusOpen {
		v.Set("status", q.Status)
	}
	if q.Overdue {
		v.Set("overdue", "true")
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return withQuery("/tasks", v)
}

// PageURL returns the link to the page at cursor ("" for the first).
func (q tasksQuery) PageURL(cursor string) string {
	q.Cursor = cursor
	return q.URL()
}

// taskRow is one task as the lists show it.
type taskRow struct {
	work.Task
	Assignee string
	Overdue  bool
	// DueIn says when it is due: "in 3 days", "2 days ago".
	DueIn string
	// CanWrite shows the buttons that change it.
	CanWrite bool
}

// Done reports whether the task was completed.
func (t taskRow) Done() bool { return t.Status == work.StatusDone }

// SourceLabel names what made the task for people: the playbook's name,
// or the member who made it.
func (t taskRow) SourceLabel() string {
	if t.Source != "" {
		return t.Source
	}
	return t.CreatedBy
}

// PlaybookKey is the key of the playbook that made the task, "" if a
// person did.
func (t taskRow) PlaybookKey() string {
	k, _ := strings.CutPrefix(t.Source, "playbook ")
	if k == t.Source {
		return ""
	}
	return k
}

// taskRows words tasks for people.
func (ui *UI) taskRows(ts []work.Task, names map[int64]string, canWrite bool) []taskRow {
	today := ui.localToday()
	rows := make([]taskRow, 0, len(ts))
	for _, t := range ts {
		row := taskRow{Task: t, Overdue: t.Overdue(today), CanWrite: canWrite}
		if t.AssigneeID != nil {
			row.Assignee = names[*t.AssigneeID]
		}
		if t.Open() {
			row.DueIn = relDays(today, t.DueDate)
		}
		rows = append(rows, row)
	}
	return rows
}

// tasksPage is the data of the task list.
type tasksPage struct {
	base
	Q     tasksQuery
	Rows  []taskRow
	Total int
	Next  string
	// Members are who the assignee filter offers.
	Members []team.User
	// Counts are the signed-in member's open and overdue tasks, for the
	// tabs.
	MyOpen, MyOverdue int
}

// tasks is the task inbox: the signed-in member's open tasks by default,
// due first; filters for anyone's, done and cancelled, and overdue. An
// htmx request (a filter) gets only the results.
func (ui *UI) tasks(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	q, f, err := ui.parseTasks(r.URL.Query(), u)
	if err != nil {
		return err
	}
	ctx := r.Context()
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return err
	}
	page, err := ui.st.ListTasks(ctx, f)
	if err != nil {
		return err
	}
	p := tasksPage{base: ui.base(r, "Tasks", "tasks"), Q: q, Total: page.Total, Next: page.Next}
	p.Rows = ui.taskRows(page.Tasks, nameMap(users), p.CanWrite())
	for _, m := range users {
		if !m.Disabled || strconv.FormatInt(m.ID, 10) == q.Assignee {
			p.Members = append(p.Members, m)
		}
	}
	if p.MyOpen, p.MyOverdue, err = ui.myTaskCounts(ctx, u.ID); err != nil {
		return err
	}
	if isHTMX(r) {
		return ui.renderBlock(w, r, http.StatusOK, "tasks", "task-results", p)
	}
	return ui.renderPage(w, r, http.StatusOK, "tasks", p)
}

// myTaskCounts counts a member's open and overdue tasks.
func (ui *UI) myTaskCounts(ctx context.Context, userID int64) (open, overdue int, err error) {
	pg, err := ui.st.ListTasks(ctx, work.TaskFilter{AssigneeID: userID, Status: work.StatusOpen, Limit: 1})
	if err != nil {
		return 0, 0, err
	}
	od, err := ui.st.ListTasks(ctx, work.TaskFilter{AssigneeID: userID, Status: work.StatusOpen, OverdueOn: ui.localToday(), Limit: 1})
	if err != nil {
		return 0, 0, err
	}
	return pg.Total, od.Total, nil
}

// nameMap maps team members' ids to their names.
func nameMap(users []team.User) map[int64]string {
	names := make(map[int64]string, len(users))
	for _, m := range users {
		names[m.ID] = m.Name
	}
	return names
}

// taskPage is the data of one task's page.
type taskPage struct {
	base
	Task     taskRow
	Comments []work.Comment
	Members  []team.User
	// CommentBody and CommentError re-show a comment that was refused;
	// EditError a refused edit.
	CommentBody, CommentError string
	EditError                 string
}

// AssigneeValue is the assignee select's current value.
func (p taskPage) AssigneeValue() string {
	if p.Task.AssigneeID == nil {
		return ""
	}
	return strconv.FormatInt(*p.Task.AssigneeID, 10)
}

// DueValue is the due date input's current value.
func (p taskPage) DueValue() string {
	if p.Task.DueDate.IsZero() {
		return ""
	}
	return p.Task.DueDate.String()
}

func (ui *UI) loadTask(r *http.Request, id int64) (taskPage, error) {
	ctx := r.Context()
	t, err := ui.st.GetTask(ctx, id)
	if err != nil {
		return taskPage{}, err
	}
	users, err := ui.st.ListUsers(ctx)
	if err != nil {
		return taskPage{}, err
	}
	p := taskPage{base: ui.base(r, t.Title, "tasks")}
	p.Task = ui.taskRows([]work.Task{t}, nameMap(users), p.CanWrite())[0]
	for _, m := range users {
		if !m.Disabled {
			p.Members = append(p.Members, m)
		}
	}
	if p.Comments, err = ui.st.ListComments(ctx, id); err != nil {
		return p, err
	}
	return p, nil
}

// taskPage shows one task: what, on which account, for whom, by when, who
// or which playbook made it, and its comments.
func (ui *UI) taskPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "task")
	if err != nil {
		return err
	}
	p, err := ui.loadTask(r, id)
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "task", p)
}

// actor is the signed-in member as the store records who did something.
func actor(u *team.User) account.Actor {
	return account.Actor{UserID: &u.ID, Name: u.Email, Source: account.SourceManual}
}

// taskStatusWords are the flash messages of a status change.
var taskStatusWords = map[string]string{
	work.StatusDone: "marked done", work.StatusOpen: "reopened", work.StatusCancelled: "cancelled",
}

// setTaskStatus completes, reopens or cancels a task. Completing one is the
// "task done" signal playbooks hear (the Lighthouse check-ins, for one).
// From the lists (htmx) it answers the task's row, re-drawn; a plain form
// goes back to where it came from.
func (ui *UI) setTaskStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "task")
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	words, ok := taskStatusWords[status]
	if !ok {
		return derrors.Field(derrors.Invalid, "status", "%q is not done, open or cancelled", status)
	}
	t, err := ui.st.ModifyTask(r.Context(), id, func(t *work.Task) error {
		t.Status = status
		return nil
	}, actor(currentUser(r)))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%q %s.", t.Title, words)
	if isHTMX(r) {
		users, err := ui.st.ListUsers(r.Context())
		if err != nil {
			return err
		}
		row := ui.taskRows([]work.Task{t}, nameMap(users), true)[0]
		return ui.renderBlock(w, r, http.StatusOK, "tasks", "task-row-update", struct {
			base
			Row  taskRow
			From string
		}{base: base{Flash: msg, User: currentUser(r)}, Row: row, From: r.PostFormValue("from")})
	}
	ui.flash(r, msg)
	http.Redirect(w, r, backTo(r.PostFormValue("from"), fmt.Sprintf("/tasks/%d", id)), http.StatusSeeOther)
	return nil
}

// backTo is where a form goes after it is done: the page it names, when
// that is a path on this site, else fallback.
func backTo(from, fallback string) string {
	if from == "" || localPath(from) != from {
		return fallback
	}
	return from
}

// editTask changes a task's assignee and due date.
func (ui *UI) editTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "task")
	if err != nil {
		return err
	}
	var assignee *int64
	if s := r.PostFormValue("assignee_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return derrors.Field(derrors.Invalid, "assignee_id", "%q is not a member's id", s)
		}
		m, err := ui.st.GetUser(r.Context(), n)
		if derrors.Is(err, derrors.NotFound) || err == nil && m.Disabled {
			return ui.taskRefused(w, r, id, "", "", "That team member cannot take tasks: they are not on the team or are disabled.")
		}
		if err != nil {
			return err
		}
		assignee = &n
	}
	var due date.Date
	if s := strings.TrimSpace(r.PostFormValue("due_date")); s != "" {
		if due, err = date.Parse(s); err != nil {
			return ui.taskRefused(w, r, id, "", "", fmt.Sprintf("%q is not a date (YYYY-MM-DD).", s))
		}
	}
	t, err := ui.st.ModifyTask(r.Context(), id, func(t *work.Task) error {
		t.AssigneeID, t.DueDate = assignee, due
		return nil
	}, actor(currentUser(r)))
	if err != nil {
		return err
	}
	ui.flash(r, fmt.Sprintf("%q saved.", t.Title))
	http.Redirect(w, r, fmt.Sprintf("/tasks/%d", id), http.StatusSeeOther)
	return nil
}

// taskRefused re-shows the task page with what was refused, as 422.
func (ui *UI) taskRefused(w http.ResponseWriter, r *http.Request, id int64, body, commentErr, editErr string) error {
	p, err := ui.loadTask(r, id)
	if err != nil {
		return err
	}
	p.CommentBody, p.CommentError, p.EditError = body, commentErr, editErr
	return ui.renderPage(w, r, http.StatusUnprocessableEntity, "task", p)
}

// addComment adds a comment to a task's thread.
func (ui *UI) addComment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "task")
	if err != nil {
		return err
	}
	if _, err := ui.st.GetTask(r.Context(), id); err != nil {
		return err
	}
	u := currentUser(r)
	body := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"))
	c := work.Comment{TaskID: id, AuthorID: &u.ID, Author: u.Name, Body: body}
	if err := ui.st.AddComment(r.Context(), &c); err != nil {
		if !derrors.Is(err, derrors.Unprocessable) {
			return err
		}
		msg := derrors.Public(err).Message
		if body == "" {
			msg = "Write the comment first: it is empty."
		}
		return ui.taskRefused(w, r, id, body, sentence(msg), "")
	}
	ui.flash(r, "Comment added.")
	http.Redirect(w, r, fmt.Sprintf("/tasks/%d#comments", id), http.StatusSeeOther)
	return nil
}

// accountTasks are the open tasks the account card lists, and how many
// there are in all.
func (ui *UI) accountTasks(ctx context.Context, id int64, names map[int64]string, canWrite bool) ([]taskRow, int, error) {
	page, err := ui.st.ListTasks(ctx, work.TaskFilter{AccountID: id, Status: work.StatusOpen, Limit: 10})
	if err != nil {
		return nil, 0, err
	}
	return ui.taskRows(page.Tasks, names, canWrite), page.Total, nil
}

// since formats how long ago t was, for the inbox: "5 min ago".
func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}
