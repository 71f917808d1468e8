package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
)

var workTests = []test{
	{"CreateTask", testCreateTask},
	{"TaskKeys", testTaskKeys},
	{"ModifyTask", testModifyTask},
	{"ListTasks", testListTasks},
	{"CancelOpenTasks", testCancelOpenTasks},
	{"Comments", testComments},
	{"Docs", testDocs},
	{"DocKeys", testDocKeys},
	{"DocFields", testDocFields},
	{"Notifications", testNotifications},
	{"WorkEvents", testWorkEvents},
	{"WorkSignals", testWorkSignals},
	{"AccountDeleted", testWorkAccountDeleted},
}

// playbook is the system actor the runner writes as.
var playbook = account.System("playbook handoff", "")

func (e *env) task(t work.Task) work.Task {
	e.t.Helper()
	created, err := e.st.CreateTask(e.ctx, &t, playbook)
	e.ok(err, "CreateTask "+t.Title)
	if !created {
		e.t.Fatalf("CreateTask %q: created = false", t.Title)
	}
	return t
}

func (e *env) events(after int64) []work.Event {
	e.t.Helper()
	evs, err := e.st.ListWorkEvents(e.ctx, after, 0)
	e.ok(err, "ListWorkEvents")
	return evs
}

func eventKinds(evs []work.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
		if ev.Field != "" {
			out[i] += ":" + ev.Field
		}
	}
	return out
}

func taskIDs(ts []work.Task) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func testCreateTask(e *env) {
	t := e.t
	maya := e.user("Maya Engineer", "maya@tend.test", team.CE)
	a := e.account(account.Account{Name: "Hooli"})
	e.advance(time.Minute)
	now := e.now()
	task := work.Task{AccountID: a.ID, Title: "  Fill out the Handoff Doc  ", Body: "Seats, locations,\r\ncontacts.",
		AssigneeID: &maya.ID, DueDate: date.MustParse("2026-04-01"), Key: "pb:handoff:1:2026-03-14:task:0",
		Source: "playbook handoff"}
	created, err := e.st.CreateTask(e.ctx, &task, playbook)
	e.ok(err, "CreateTask")
	if !created || task.ID <= 0 {
		t.Fatalf("CreateTask: created %v, id %d", created, task.ID)
	}
	if task.Title != "Fill out the Handoff Doc" || task.Body != "Seats, locations,\ncontacts." || task.Status != work.StatusOpen {
		t.Errorf("task after create = %+v, want trimmed title, \\n line ends, status open", task)
	}
	if task.CreatedBy != "playbook handoff" || task.CreatedByID != nil || task.AccountName != "Hooli" || task.CompletedAt != nil {
		t.Errorf("task after create = %+v, want created by the actor, account name, no completion", task)
	}
	e.sameInstant("CreatedAt", task.CreatedAt, now)
	e.sameInstant("UpdatedAt", task.UpdatedAt, now)
	got, err := e.st.GetTask(e.ctx, task.ID)
	e.ok(err, "GetTask")
	sameJSON(t, "GetTask", got, task)

	acts := e.mustActivities(a.ID, 10)
	if acts[0].Kind != account.ActivityTask || acts[0].Body != "Task: Fill out the Handoff Doc (due 2026-04-01)" ||
		acts[0].Actor != "playbook handoff" {
		t.Errorf("timeline entry = %+v, want the new task", acts[0])
	}
	if evs := e.events(0); len(evs) != 0 {
		t.Errorf("creating a task recorded events %v; only its ending is a signal", eventKinds(evs))
	}

	// A person's task: created by them; an explicit time is kept.
	at := time.Date(2026, time.March, 1, 8, 0, 0, 987_654_321, time.UTC)
	mine := work.Task{AccountID: a.ID, Title: "Send the QBR deck", CreatedAt: at}
	_, err = e.st.CreateTask(e.ctx, &mine, account.Actor{UserID: &maya.ID, Name: maya.Email})
	e.ok(err, "CreateTask by a person")
	if mine.CreatedByID == nil || *mine.CreatedByID != maya.ID || mine.CreatedBy != maya.Email || mine.AssigneeID != nil ||
		!mine.DueDate.IsZero() || !mine.CreatedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("task = %+v, want created by Maya at %v, unassigned, undated", mine, at)
	}

	for _, tc := range []struct {
		name  string
		task  work.Task
		code  derrors.Code
		field string
	}{
		{"no title", work.Task{AccountID: a.ID, Title: "  "}, derrors.Unprocessable, "title"},
		{"long title", work.Task{AccountID: a.ID, Title: strings.Repeat("x", 201)}, derrors.Unprocessable, "title"},
		{"NUL in body", work.Task{AccountID: a.ID, Title: "x", Body: "a\x00b"}, derrors.Unprocessable, "body"},
		{"bad status", work.Task{AccountID: a.ID, Title: "x", Status: "doing"}, derrors.Unprocessable, "status"},
		{"key with a space", work.Task{AccountID: a.ID, Title: "x", Key: "pb handoff"}, derrors.Unprocessable, "key"},
		{"no account", work.Task{Title: "x"}, derrors.Unprocessable, "account_id"},
		{"unknown account", work.Task{AccountID: 99_999, Title: "x"}, derrors.NotFound, "account_id"},
		{"unknown assignee", work.Task{AccountID: a.ID, Title: "x", AssigneeID: ptr(int64(99_999))}, derrors.Unprocessable, "assignee_id"},
	} {
		_, err := e.st.CreateTask(e.ctx, &tc.task, playbook)
		t.Run(tc.name, func(t *testing.T) { wantErr(t, err, tc.code, tc.field) })
	}
	if _, err := e.st.GetTask(e.ctx, 99_999); !derrors.Is(err, derrors.NotFound) {
		t.Errorf("GetTask(99999) = %v, want NotFound", err)
	}
}

func testTaskKeys(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	first := e.task(work.Task{AccountID: a.ID, Title: "Issue the production license", Key: "pb:license:1:t0"})
	before := len(e.mustActivities(a.ID, 100))
	e.advance(time.Hour)

	// A replay of the same firing: nothing is written, the existing task
	// comes back.
	again := work.Task{AccountID: a.ID, Title: "Issue the production license (retry)", Key: "pb:license:1:t0"}
	created, err := e.st.CreateTask(e.ctx, &again, playbook)
	e.ok(err, "CreateTask with an existing key")
	if created {
		t.Error("CreateTask with an existing key: created = true")
	}
	sameJSON(t, "the task returned for an existing key", again, first)
	if n := len(e.mustActivities(a.ID, 100)); n != before {
		t.Errorf("timeline has %d entries after the replay, want %d", n, before)
	}
	page, err := e.st.ListTasks(e.ctx, work.TaskFilter{AccountID: a.ID})
	e.ok(err, "ListTasks")
	if page.Total != 1 {
		t.Errorf("%d tasks, want 1", page.Total)
	}
	// Tasks without a key never collide.
	e.task(work.Task{AccountID: a.ID, Title: "one"})
	e.task(work.Task{AccountID: a.ID, Title: "two"})
}

func testModifyTask(e *env) {
	t := e.t
	maya := e.user("Maya Engineer", "maya@tend.test", team.CE)
	tara := e.user("Tara Advisor", "tara@tend.test", team.TA)
	a := e.account(account.Account{Name: "Hooli"})
	task := e.task(work.Task{AccountID: a.ID, Title: "Fill out the Handoff Doc", AssigneeID: &maya.ID,
		DueDate: date.MustParse("2026-04-01"), Key: "k1", Source: "playbook handoff"})
	byTara := account.Actor{UserID: &tara.ID, Name: tara.Email}

	// Edits of the fields a person may change; the others stay.
	e.advance(time.Minute)
	edited, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error {
		x.Title, x.Body, x.AssigneeID, x.DueDate = "Fill out the Handoff Doc with the AE", "Seats first.", &tara.ID, date.MustParse("2026-04-03")
		x.Key, x.Source, x.AccountID, x.CreatedBy = "changed", "changed", 99_999, "someone else"
		return nil
	}, byTara)
	e.ok(err, "ModifyTask")
	if edited.Title != "Fill out the Handoff Doc with the AE" || edited.Body != "Seats first." || *edited.AssigneeID != tara.ID ||
		edited.DueDate != date.MustParse("2026-04-03") || edited.Key != "k1" || edited.Source != "playbook handoff" ||
		edited.AccountID != a.ID || edited.CreatedBy != "playbook handoff" {
		t.Errorf("after edit = %+v", edited)
	}
	e.sameInstant("UpdatedAt", edited.UpdatedAt, e.now())
	got, _ := e.st.GetTask(e.ctx, task.ID)
	sameJSON(t, "stored after edit", got, edited)
	if evs := e.events(0); len(evs) != 0 {
		t.Errorf("edits recorded events %v", eventKinds(evs))
	}

	// Done: completed now, the task_done signal and a timeline entry.
	e.advance(time.Minute)
	doneAt := e.now()
	done, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { x.Status = work.StatusDone; return nil }, byTara)
	e.ok(err, "ModifyTask done")
	if done.Status != work.StatusDone || done.CompletedAt == nil {
		t.Fatalf("done = %+v", done)
	}
	e.sameInstant("CompletedAt", *done.CompletedAt, doneAt)
	evs := e.events(0)
	if len(evs) != 1 {
		t.Fatalf("events = %v, want one task_done", eventKinds(evs))
	}
	ev := evs[0]
	if ev.Kind != work.EventTaskDone || ev.AccountID != a.ID || ev.TaskID != task.ID || ev.Key != "k1" || ev.Source != "playbook handoff" ||
		ev.ActorID == nil || *ev.ActorID != tara.ID || ev.Actor != tara.Email || ev.DocID != 0 {
		t.Errorf("event = %+v", ev)
	}
	e.sameInstant("event At", ev.At, doneAt)
	if acts := e.mustActivities(a.ID, 1); acts[0].Body != "Task done: Fill out the Handoff Doc with the AE" || acts[0].Kind != account.ActivityTask {
		t.Errorf("timeline = %+v", acts[0])
	}

	// Saving it unchanged writes nothing.
	e.advance(time.Minute)
	same, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { return nil }, byTara)
	e.ok(err, "ModifyTask unchanged")
	if !same.UpdatedAt.Equal(done.UpdatedAt) || !same.CompletedAt.Equal(*done.CompletedAt) {
		t.Errorf("an unchanged save moved the times: %+v", same)
	}

	// Reopened: no completion; then cancelled with a given time.
	reopened, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { x.Status = work.StatusOpen; return nil }, byTara)
	e.ok(err, "reopen")
	if reopened.CompletedAt != nil {
		t.Errorf("reopened CompletedAt = %v", reopened.CompletedAt)
	}
	when := doneAt.Add(-24 * time.Hour)
	cancelled, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error {
		x.Status, x.CompletedAt = work.StatusCancelled, &when
		return nil
	}, byTara)
	e.ok(err, "cancel")
	if cancelled.CompletedAt == nil || !cancelled.CompletedAt.Equal(when) {
		t.Errorf("cancelled CompletedAt = %v, want %v", cancelled.CompletedAt, when)
	}
	if got := eventKinds(e.events(0)); !slices.Equal(got, []string{work.EventTaskDone, work.EventTaskReopened, work.EventTaskCancelled}) {
		t.Errorf("events = %v", got)
	}

	// modify's error comes back as it is and nothing is written.
	boom := errors.New("boom")
	if _, err := e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { x.Title = "lost"; return boom }, byTara); !errors.Is(err, boom) {
		t.Errorf("ModifyTask with a failing modify = %v, want boom", err)
	}
	_, err = e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { x.Status = "doing"; return nil }, byTara)
	wantErr(t, err, derrors.Unprocessable, "status")
	_, err = e.st.ModifyTask(e.ctx, task.ID, func(x *work.Task) error { x.AssigneeID = ptr(int64(99_999)); return nil }, byTara)
	wantErr(t, err, derrors.Unprocessable, "assignee_id")
	if got, _ := e.st.GetTask(e.ctx, task.ID); got.Title != cancelled.Title || got.Status != work.StatusCancelled {
		t.Errorf("after refused edits: %+v", got)
	}
	_, err = e.st.ModifyTask(e.ctx, 99_999, func(x *work.Task) error { return nil }, byTara)
	wantErr(t, err, derrors.NotFound, "")
}

func testListTasks(e *env) {
	t := e.t
	maya := e.user("Maya Engineer", "maya@tend.test", team.CE)
	tara := e.user("Tara Advisor", "tara@tend.test", team.TA)
	a := e.account(account.Account{Name: "Hooli"})
	b := e.account(account.Account{Name: "Initech"})
	d := date.MustParse
	t1 := e.task(work.Task{AccountID: a.ID, Title: "due 10th", AssigneeID: &maya.ID, DueDate: d("2026-03-10"), Source: "playbook handoff"})
	t2 := e.task(work.Task{AccountID: a.ID, Title: "undated", AssigneeID: &maya.ID})
	t3 := e.task(work.Task{AccountID: b.ID, Title: "due 1st", AssigneeID: &tara.ID, DueDate: d("2026-03-01")})
	t4 := e.task(work.Task{AccountID: b.ID, Title: "due 20th, unassigned", DueDate: d("2026-03-20"), Source: "playbook renewal"})
	t5 := e.task(work.Task{AccountID: a.ID, Title: "done, due 2nd", AssigneeID: &maya.ID, DueDate: d("2026-03-02")})
	t6 := e.task(work.Task{AccountID: a.ID, Title: "due 10th too", AssigneeID: &tara.ID, DueDate: d("2026-03-10")})
	_, err := e.st.ModifyTask(e.ctx, t5.ID, func(x *work.Task) error { x.Status = work.StatusDone; return nil }, playbook)
	e.ok(err, "complete t5")

	for _, tc := range []struct {
		name string
		f    work.TaskFilter
		want []int64
	}{
		// Open first, by due date (undated last), then id; closed after.
		{"all", work.TaskFilter{}, []int64{t3.ID, t1.ID, t6.ID, t4.ID, t2.ID, t5.ID}},
		{"Maya's", work.TaskFilter{AssigneeID: maya.ID}, []int64{t1.ID, t2.ID, t5.ID}},
		{"unassigned", work.TaskFilter{AssigneeID: work.Unassigned}, []int64{t4.ID}},
		{"one account", work.TaskFilter{AccountID: b.ID}, []int64{t3.ID, t4.ID}},
		{"open", work.TaskFilter{Status: work.StatusOpen}, []int64{t3.ID, t1.ID, t6.ID, t4.ID, t2.ID}},
		{"done", work.TaskFilter{Status: work.StatusDone}, []int64{t5.ID}},
		// Overdue on the 10th: open and due before it (the done one is not).
		{"overdue on the 10th", work.TaskFilter{OverdueOn: d("2026-03-10")}, []int64{t3.ID}},
		{"overdue on the 11th", work.TaskFilter{OverdueOn: d("2026-03-11")}, []int64{t3.ID, t1.ID, t6.ID}},
		{"due before the 10th", work.TaskFilter{DueBefore: d("2026-03-10")}, []int64{t3.ID, t5.ID}},
		{"by source", work.TaskFilter{Source: "playbook handoff"}, []int64{t1.ID}},
		{"Maya's overdue on the 11th", work.TaskFilter{AssigneeID: maya.ID, OverdueOn: d("2026-03-11")}, []int64{t1.ID}},
		{"nobody's", work.TaskFilter{AssigneeID: 99_999}, []int64{}},
	} {
		page, err := e.st.ListTasks(e.ctx, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := taskIDs(page.Tasks); !slices.Equal(got, tc.want) || page.Total != len(tc.want) || page.Next != "" {
			t.Errorf("%s: ids %v, total %d, next %q; want %v", tc.name, got, page.Total, page.Next, tc.want)
		}
	}
	page, err := e.st.ListTasks(e.ctx, work.TaskFilter{AccountID: a.ID})
	e.ok(err, "ListTasks")
	if page.Tasks[0].AccountName != "Hooli" {
		t.Errorf("account name = %q", page.Tasks[0].AccountName)
	}

	// Paging: the cursor walks the same order.
	var walked []int64
	f := work.TaskFilter{Limit: 4}
	for range 3 {
		p, err := e.st.ListTasks(e.ctx, f)
		e.ok(err, "ListTasks page")
		if p.Total != 6 {
			t.Errorf("page total = %d, want 6", p.Total)
		}
		walked = append(walked, taskIDs(p.Tasks)...)
		if p.Next == "" {
			break
		}
		f.Cursor = p.Next
	}
	if !slices.Equal(walked, []int64{t3.ID, t1.ID, t6.ID, t4.ID, t2.ID, t5.ID}) {
		t.Errorf("paged walk = %v", walked)
	}
	for _, tc := range []struct {
		f     work.TaskFilter
		field string
	}{
		{work.TaskFilter{Limit: 501}, "limit"},
		{work.TaskFilter{Limit: -1}, "limit"},
		{work.TaskFilter{Status: "doing"}, "status"},
		{work.TaskFilter{Cursor: "bogus"}, "cursor"},
	} {
		_, err := e.st.ListTasks(e.ctx, tc.f)
		wantErr(t, err, derrors.Invalid, tc.field)
	}
}

func testCancelOpenTasks(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	b := e.account(account.Account{Name: "Initech"})
	src := "playbook renewal"
	c1 := e.task(work.Task{AccountID: a.ID, Title: "Health assessment", Source: src, Key: "r1"})
	c2 := e.task(work.Task{AccountID: a.ID, Title: "Weekly check-in", Source: src})
	done := e.task(work.Task{AccountID: a.ID, Title: "Already done", Source: src})
	_, err := e.st.ModifyTask(e.ctx, done.ID, func(x *work.Task) error { x.Status = work.StatusDone; return nil }, playbook)
	e.ok(err, "complete")
	mine := e.task(work.Task{AccountID: a.ID, Title: "A person's task"})
	other := e.task(work.Task{AccountID: b.ID, Title: "Another account's", Source: src})
	after := e.events(0)

	e.advance(time.Minute)
	cancelled, err := e.st.CancelOpenTasks(e.ctx, a.ID, src, account.System("playbook renewal", ""))
	e.ok(err, "CancelOpenTasks")
	if got := taskIDs(cancelled); !slices.Equal(got, []int64{c1.ID, c2.ID}) {
		t.Fatalf("cancelled %v, want the renewal playbook's open tasks of Hooli %v", got, []int64{c1.ID, c2.ID})
	}
	for _, x := range cancelled {
		if x.Status != work.StatusCancelled || x.CompletedAt == nil {
			t.Errorf("returned task %+v, want cancelled with a time", x)
		}
		e.sameInstant("CompletedAt", *x.CompletedAt, e.now())
	}
	for id, want := range map[int64]string{c1.ID: work.StatusCancelled, c2.ID: work.StatusCancelled, done.ID: work.StatusDone,
		mine.ID: work.StatusOpen, other.ID: work.StatusOpen} {
		if got, _ := e.st.GetTask(e.ctx, id); got.Status != want {
			t.Errorf("task %d (%s) is %s, want %s", id, got.Title, got.Status, want)
		}
	}
	evs := e.events(after[len(after)-1].Seq)
	if len(evs) != 2 || evs[0].Kind != work.EventTaskCancelled || evs[0].TaskID != c1.ID || evs[0].Key != "r1" || evs[1].TaskID != c2.ID {
		t.Errorf("events = %+v", evs)
	}
	if again, err := e.st.CancelOpenTasks(e.ctx, a.ID, src, playbook); err != nil || len(again) != 0 {
		t.Errorf("a second CancelOpenTasks = %v, %v; want none", again, err)
	}
	_, err = e.st.CancelOpenTasks(e.ctx, a.ID, " ", playbook)
	wantErr(t, err, derrors.Invalid, "source")
}

func testComments(e *env) {
	t := e.t
	maya := e.user("Maya Engineer", "maya@tend.test", team.CE)
	a := e.account(account.Account{Name: "Hooli"})
	task := e.task(work.Task{AccountID: a.ID, Title: "Fill out the Handoff Doc"})
	other := e.task(work.Task{AccountID: a.ID, Title: "Other"})
	e.advance(time.Minute)
	c1 := work.Comment{TaskID: task.ID, AuthorID: &maya.ID, Author: maya.Email, Body: " Knowledge transfer booked for Tuesday.\r\n "}
	e.ok(e.st.AddComment(e.ctx, &c1), "AddComment")
	if c1.ID <= 0 || c1.Body != "Knowledge transfer booked for Tuesday." {
		t.Errorf("comment = %+v", c1)
	}
	e.sameInstant("CreatedAt", c1.CreatedAt, e.now())
	earlier := work.Comment{TaskID: task.ID, Author: "playbook handoff", Body: "Created by the handoff playbook.",
		CreatedAt: e.now().Add(-time.Hour)}
	e.ok(e.st.AddComment(e.ctx, &earlier), "AddComment back-dated")
	e.ok(e.st.AddComment(e.ctx, &work.Comment{TaskID: other.ID, Body: "elsewhere"}), "AddComment other")
	got, err := e.st.ListComments(e.ctx, task.ID)
	e.ok(err, "ListComments")
	sameJSON(t, "comments oldest first", got, []work.Comment{earlier, c1})
	if none, err := e.st.ListComments(e.ctx, 99_999); err != nil || len(none) != 0 {
		t.Errorf("ListComments(unknown) = %v, %v", none, err)
	}
	wantErr(t, e.st.AddComment(e.ctx, &work.Comment{TaskID: 99_999, Body: "x"}), derrors.NotFound, "")
	wantErr(t, e.st.AddComment(e.ctx, &work.Comment{TaskID: task.ID, Body: " \n "}), derrors.Unprocessable, "body")
	wantErr(t, e.st.AddComment(e.ctx, &work.Comment{TaskID: task.ID, Body: strings.Repeat("x", 10_001)}), derrors.Unprocessable, "body")
	wantErr(t, e.st.AddComment(e.ctx, &work.Comment{TaskID: task.ID, Body: "x", AuthorID: ptr(int64(99_999))}), derrors.Unprocessable, "author_id")
}

func testDocs(e *env) {
	t := e.t
	tara := e.user("Tara Advisor", "tara@tend.test", team.TA)
	a := e.account(account.Account{Name: "Hooli"})
	byTara := account.Actor{UserID: &tara.ID, Name: tara.Email}
	e.advance(time.Minute)
	created := e.now()
	doc := work.Doc{AccountID: a.ID, Template: "health_assessment", Title: "Renewal Health Assessment: Hooli",
		Body: "# Health\r\n\r\nUsage is steady.", Fields: map[string]any{"rating": "yellow", "renewal_date": "2026-07-01"},
		Source: "playbook renewal"}
	ok, err := e.st.CreateDoc(e.ctx, &doc, byTara)
	e.ok(err, "CreateDoc")
	if !ok || doc.ID <= 0 || doc.Body != "# Health\n\nUsage is steady." || doc.CreatedBy != tara.Email || doc.AccountName != "Hooli" {
		t.Fatalf("CreateDoc: %v, %+v", ok, doc)
	}
	e.sameInstant("CreatedAt", doc.CreatedAt, created)
	got, err := e.st.GetDoc(e.ctx, doc.ID)
	e.ok(err, "GetDoc")
	sameJSON(t, "GetDoc", got, doc)
	// Created: the doc, then each field it starts with, as changes from
	// unset.
	evs := e.events(0)
	if k := eventKinds(evs); !slices.Equal(k, []string{"doc_created", "doc_field_changed:rating", "doc_field_changed:renewal_date"}) {
		t.Fatalf("events = %v", k)
	}
	if ev := evs[1]; ev.DocID != doc.ID || ev.Template != "health_assessment" || ev.Old != nil || ev.New != "yellow" ||
		ev.Source != "playbook renewal" || ev.TaskID != 0 {
		t.Errorf("field event = %+v", ev)
	}
	if act := e.mustActivities(a.ID, 1)[0]; act.Kind != account.ActivityDoc ||
		act.Body != "Doc created: Renewal Health Assessment: Hooli; rating: — → yellow; renewal_date: — → 2026-07-01" {
		t.Errorf("timeline = %+v", act)
	}

	// An edit: each changed field is an event, all of them one timeline
	// entry; the template and the key stay.
	e.advance(time.Minute)
	edited, err := e.st.ModifyDoc(e.ctx, doc.ID, func(d *work.Doc) error {
		d.Title = "Renewal Health Assessment 2026: Hooli"
		d.Fields["rating"] = "red"
		delete(d.Fields, "renewal_date")
		d.Fields["seats"] = 120.0
		d.Template, d.Key = "qbr", "changed"
		return nil
	}, byTara)
	e.ok(err, "ModifyDoc")
	if edited.Template != "health_assessment" || edited.Key != "" || edited.Title != "Renewal Health Assessment 2026: Hooli" {
		t.Errorf("edited = %+v", edited)
	}
	e.sameInstant("UpdatedAt", edited.UpdatedAt, e.now())
	sameJSON(t, "fields after the edit", edited.Fields, map[string]any{"rating": "red", "seats": 120})
	got, _ = e.st.GetDoc(e.ctx, doc.ID)
	sameJSON(t, "stored after the edit", got, edited)
	evs = e.events(evs[len(evs)-1].Seq)
	if k := eventKinds(evs); !slices.Equal(k, []string{"doc_field_changed:rating", "doc_field_changed:renewal_date", "doc_field_changed:seats"}) {
		t.Fatalf("edit events = %v", k)
	}
	if evs[0].Old != "yellow" || evs[0].New != "red" || evs[1].Old != "2026-07-01" || evs[1].New != nil || evs[2].New != 120.0 {
		t.Errorf("edit events = %+v", evs)
	}
	if act := e.mustActivities(a.ID, 1)[0]; act.Body != "Renewal Health Assessment 2026: Hooli: rating: yellow → red; renewal_date: 2026-07-01 → —; seats: — → 120" {
		t.Errorf("timeline = %q", act.Body)
	}
	// A body edit alone is no signal and no timeline entry.
	n := len(e.mustActivities(a.ID, 100))
	_, err = e.st.ModifyDoc(e.ctx, doc.ID, func(d *work.Doc) error { d.Body += "\n\nMore."; return nil }, byTara)
	e.ok(err, "ModifyDoc body")
	if evs2 := e.events(evs[len(evs)-1].Seq); len(evs2) != 0 || len(e.mustActivities(a.ID, 100)) != n {
		t.Errorf("a body edit recorded events %v or a timeline entry", eventKinds(evs2))
	}

	second := work.Doc{AccountID: a.ID, Template: "qbr", Title: "QBR Q2"}
	_, err = e.st.CreateDoc(e.ctx, &second, byTara)
	e.ok(err, "CreateDoc second")
	if second.Fields == nil || len(second.Fields) != 0 {
		t.Errorf("fields of a doc without any = %v, want {}", second.Fields)
	}
	list, err := e.st.ListDocs(e.ctx, a.ID)
	e.ok(err, "ListDocs")
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != doc.ID {
		t.Errorf("ListDocs = %+v, want newest first", list)
	}

	for _, tc := range []struct {
		name  string
		doc   work.Doc
		field string
	}{
		{"no title", work.Doc{AccountID: a.ID, Template: "qbr"}, "title"},
		{"bad template key", work.Doc{AccountID: a.ID, Template: "QBR!", Title: "x"}, "template"},
		{"bad field key", work.Doc{AccountID: a.ID, Template: "qbr", Title: "x", Fields: map[string]any{"Bad Key": 1.0}}, "fields.Bad Key"},
	} {
		_, err := e.st.CreateDoc(e.ctx, &tc.doc, byTara)
		t.Run(tc.name, func(t *testing.T) { wantErr(t, err, derrors.Unprocessable, tc.field) })
	}
	_, err = e.st.CreateDoc(e.ctx, &work.Doc{AccountID: 99_999, Template: "qbr", Title: "x"}, byTara)
	wantErr(t, err, derrors.NotFound, "account_id")
	_, err = e.st.GetDoc(e.ctx, 99_999)
	wantErr(t, err, derrors.NotFound, "")
	_, err = e.st.ModifyDoc(e.ctx, doc.ID, func(d *work.Doc) error { d.Title = ""; return nil }, byTara)
	wantErr(t, err, derrors.Unprocessable, "title")
}

func testDocKeys(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	first := work.Doc{AccountID: a.ID, Template: "handoff", Title: "Handoff Doc: Hooli", Key: "pb:handoff:1:doc:0",
		Fields: map[string]any{"seats": 100.0}}
	ok, err := e.st.CreateDoc(e.ctx, &first, playbook)
	e.ok(err, "CreateDoc")
	seq := e.events(0)
	again := work.Doc{AccountID: a.ID, Template: "handoff", Title: "another", Key: "pb:handoff:1:doc:0"}
	ok2, err := e.st.CreateDoc(e.ctx, &again, playbook)
	e.ok(err, "CreateDoc again")
	if !ok || ok2 {
		t.Errorf("created = %v then %v, want true then false", ok, ok2)
	}
	sameJSON(t, "the doc returned for an existing key", again, first)
	if evs := e.events(seq[len(seq)-1].Seq); len(evs) != 0 {
		t.Errorf("the replay recorded %v", eventKinds(evs))
	}
}

func testDocFields(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	b := e.account(account.Account{Name: "Initech"})
	c := e.account(account.Account{Name: "Umbrella"})
	mk := func(acc int64, tmpl string, fields map[string]any, at time.Time) work.Doc {
		d := work.Doc{AccountID: acc, Template: tmpl, Title: tmpl, Fields: fields, CreatedAt: at}
		_, err := e.st.CreateDoc(e.ctx, &d, playbook)
		e.ok(err, "CreateDoc")
		return d
	}
	base := e.now()
	// Last year's assessment, made after this year's (a back-filled
	// import): the newest by creation time counts, not the last written.
	mk(a.ID, "health_assessment", map[string]any{"rating": "red"}, base.Add(-365*24*time.Hour))
	latest := mk(a.ID, "health_assessment", map[string]any{"rating": "green", "renewal_date": "2026-07-01"}, base)
	mk(a.ID, "health_assessment", map[string]any{"rating": "yellow"}, base.Add(-30*24*time.Hour))
	// Two at one instant: the later id.
	mk(a.ID, "handoff", map[string]any{"seats": 100.0}, base)
	mk(a.ID, "handoff", map[string]any{"seats": 150.0, "deployment_plan": "staged"}, base)
	mk(b.ID, "save_plan", map[string]any{"risk": "low adoption"}, base)

	got, err := e.st.DocFields(e.ctx, a.ID)
	e.ok(err, "DocFields")
	sameJSON(t, "DocFields(Hooli)", got, map[string]map[string]any{
		"handoff":           {"seats": 150, "deployment_plan": "staged"},
		"health_assessment": {"rating": "green", "renewal_date": "2026-07-01"},
	})
	// Editing the newest changes what conditions read.
	_, err = e.st.ModifyDoc(e.ctx, latest.ID, func(d *work.Doc) error { d.Fields["rating"] = "red"; return nil }, playbook)
	e.ok(err, "ModifyDoc")
	got, _ = e.st.DocFields(e.ctx, a.ID)
	if got["health_assessment"]["rating"] != "red" {
		t.Errorf("rating after the edit = %v", got["health_assessment"]["rating"])
	}
	if none, err := e.st.DocFields(e.ctx, c.ID); err != nil || none == nil || len(none) != 0 {
		t.Errorf("DocFields(no docs) = %v, %v; want an empty map", none, err)
	}
	all, err := e.st.DocFieldsByAccount(e.ctx, nil)
	e.ok(err, "DocFieldsByAccount(nil)")
	if len(all) != 2 || all[a.ID]["health_assessment"]["rating"] != "red" || all[b.ID]["save_plan"]["risk"] != "low adoption" {
		t.Errorf("DocFieldsByAccount(nil) = %v", all)
	}
	some, err := e.st.DocFieldsByAccount(e.ctx, []int64{b.ID, c.ID, b.ID, 99_999})
	e.ok(err, "DocFieldsByAccount(ids)")
	sameJSON(t, "DocFieldsByAccount([Initech, Umbrella, …])", some, map[int64]map[string]map[string]any{
		b.ID: {"save_plan": {"risk": "low adoption"}}})
	if empty, err := e.st.DocFieldsByAccount(e.ctx, []int64{}); err != nil || len(empty) != 0 {
		t.Errorf("DocFieldsByAccount([]) = %v, %v", empty, err)
	}
}

func testNotifications(e *env) {
	t := e.t
	tara := e.user("Tara Advisor", "tara@tend.test", team.TA)
	theo := e.user("Theo Advisor", "theo@tend.test", team.TA)
	a := e.account(account.Account{Name: "Hooli"})
	base := e.now()
	note := func(n work.Notification) work.Notification {
		t.Helper()
		ok, err := e.st.CreateNotification(e.ctx, &n)
		e.ok(err, "CreateNotification")
		if !ok {
			t.Fatalf("CreateNotification %q: created false", n.Title)
		}
		return n
	}
	n1 := note(work.Notification{UserID: tara.ID, AccountID: &a.ID, Title: "You are Hooli's Technical Advisor", Link: "/accounts/1",
		CreatedAt: base.Add(-3 * time.Hour)})
	n2 := note(work.Notification{UserID: tara.ID, Title: "Seats at 90%", Body: "Hooli has 90 of 100 seats active.",
		Key: "seats:1:0.9", CreatedAt: base.Add(-2 * time.Hour)})
	n3 := note(work.Notification{UserID: tara.ID, Title: "Health turned red", Link: "https://tend.example/accounts/1",
		CreatedAt: base.Add(-time.Hour)})
	note(work.Notification{UserID: theo.ID, Title: "Theo's"})
	if n1.AccountName != "Hooli" || n1.ReadAt != nil || !n1.CreatedAt.Equal(base.Add(-3*time.Hour)) {
		t.Errorf("n1 = %+v", n1)
	}

	// Idempotent by key.
	again := work.Notification{UserID: tara.ID, Title: "Seats at 90% (again)", Key: "seats:1:0.9"}
	ok, err := e.st.CreateNotification(e.ctx, &again)
	e.ok(err, "CreateNotification with an existing key")
	if ok || again.ID != n2.ID || again.Title != n2.Title {
		t.Errorf("a repeated key: created %v, %+v", ok, again)
	}

	list := func(f work.NotificationFilter) work.NotificationPage {
		t.Helper()
		p, err := e.st.ListNotifications(e.ctx, f)
		e.ok(err, "ListNotifications")
		return p
	}
	ids := func(ns []work.Notification) []int64 {
		out := make([]int64, len(ns))
		for i, n := range ns {
			out[i] = n.ID
		}
		return out
	}
	if p := list(work.NotificationFilter{UserID: tara.ID}); !slices.Equal(ids(p.Notifications), []int64{n3.ID, n2.ID, n1.ID}) || p.Unread != 3 {
		t.Errorf("Tara's = %v (%d unread), want newest first, 3 unread", ids(p.Notifications), p.Unread)
	}

	// Reading one: it moves after the unread ones; another member's is
	// not found; reading it twice keeps the first time.
	e.advance(time.Minute)
	readAt := e.now()
	r, err := e.st.MarkNotificationRead(e.ctx, tara.ID, n3.ID)
	e.ok(err, "MarkNotificationRead")
	if r.ReadAt == nil {
		t.Fatal("ReadAt is nil after marking it read")
	}
	e.sameInstant("ReadAt", *r.ReadAt, readAt)
	e.advance(time.Minute)
	r2, err := e.st.MarkNotificationRead(e.ctx, tara.ID, n3.ID)
	e.ok(err, "MarkNotificationRead twice")
	e.sameInstant("ReadAt after a second read", *r2.ReadAt, readAt)
	_, err = e.st.MarkNotificationRead(e.ctx, theo.ID, n1.ID)
	wantErr(t, err, derrors.NotFound, "")
	if p := list(work.NotificationFilter{UserID: tara.ID}); !slices.Equal(ids(p.Notifications), []int64{n2.ID, n1.ID, n3.ID}) || p.Unread != 2 {
		t.Errorf("after reading n3: %v (%d unread), want unread first", ids(p.Notifications), p.Unread)
	}
	if p := list(work.NotificationFilter{UserID: tara.ID, UnreadOnly: true}); !slices.Equal(ids(p.Notifications), []int64{n2.ID, n1.ID}) {
		t.Errorf("unread only: %v", ids(p.Notifications))
	}
	p := list(work.NotificationFilter{UserID: tara.ID, Limit: 2})
	if p.Next == "" || len(p.Notifications) != 2 {
		t.Fatalf("first page of 2: %+v", p)
	}
	if p2 := list(work.NotificationFilter{UserID: tara.ID, Limit: 2, Cursor: p.Next}); !slices.Equal(ids(p2.Notifications), []int64{n3.ID}) || p2.Next != "" {
		t.Errorf("second page: %v, next %q", ids(p2.Notifications), p2.Next)
	}

	n, err := e.st.MarkAllNotificationsRead(e.ctx, tara.ID)
	e.ok(err, "MarkAllNotificationsRead")
	if n != 2 {
		t.Errorf("MarkAllNotificationsRead marked %d, want 2", n)
	}
	if c, _ := e.st.UnreadNotifications(e.ctx, tara.ID); c != 0 {
		t.Errorf("Tara's unread = %d, want 0", c)
	}
	if c, _ := e.st.UnreadNotifications(e.ctx, theo.ID); c != 1 {
		t.Errorf("Theo's unread = %d, want 1 (Tara's mark-all is hers)", c)
	}

	for _, tc := range []struct {
		name  string
		n     work.Notification
		field string
	}{
		{"no title", work.Notification{UserID: tara.ID}, "title"},
		{"no user", work.Notification{Title: "x"}, "user_id"},
		{"unknown user", work.Notification{UserID: 99_999, Title: "x"}, "user_id"},
		{"javascript link", work.Notification{UserID: tara.ID, Title: "x", Link: "javascript:alert(1)"}, "link"},
		{"protocol-relative link", work.Notification{UserID: tara.ID, Title: "x", Link: "//evil.example/"}, "link"},
	} {
		_, err := e.st.CreateNotification(e.ctx, &tc.n)
		t.Run(tc.name, func(t *testing.T) { wantErr(t, err, derrors.Unprocessable, tc.field) })
	}
	_, err = e.st.CreateNotification(e.ctx, &work.Notification{UserID: tara.ID, AccountID: ptr(int64(99_999)), Title: "x"})
	wantErr(t, err, derrors.NotFound, "account_id")
	_, err = e.st.ListNotifications(e.ctx, work.NotificationFilter{})
	wantErr(t, err, derrors.Invalid, "user_id")
}

func testWorkEvents(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	var tasks []work.Task
	for i := range 5 {
		tasks = append(tasks, e.task(work.Task{AccountID: a.ID, Title: "t" + string(rune('0'+i))}))
	}
	for _, x := range tasks {
		_, err := e.st.ModifyTask(e.ctx, x.ID, func(t *work.Task) error { t.Status = work.StatusDone; return nil }, playbook)
		e.ok(err, "done")
	}
	all := e.events(0)
	if len(all) != 5 {
		t.Fatalf("%d events, want 5", len(all))
	}
	for i, ev := range all {
		if ev.TaskID != tasks[i].ID || (i > 0 && ev.Seq <= all[i-1].Seq) {
			t.Errorf("event %d = %+v: want task %d with a growing seq", i, ev, tasks[i].ID)
		}
	}
	// A reader keeps the last seq it handled.
	rest, err := e.st.ListWorkEvents(e.ctx, all[1].Seq, 2)
	e.ok(err, "ListWorkEvents after, limit 2")
	if len(rest) != 2 || rest[0].Seq != all[2].Seq || rest[1].Seq != all[3].Seq {
		t.Errorf("after %d, limit 2: %+v", all[1].Seq, rest)
	}
	if none := e.events(all[4].Seq); len(none) != 0 {
		t.Errorf("after the last: %v", none)
	}
	_, err = e.st.ListWorkEvents(e.ctx, 0, -1)
	wantErr(t, err, derrors.Invalid, "limit")
}

// testWorkSignals: a task done and a doc field changed queue the playbook
// signals task_done and doc_field_changed in their own transaction, and a
// doc field change queues the account for assessment (conditions read doc
// fields); other work events queue neither.
func testWorkSignals(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Hooli"})
	_, err := e.st.TakeSignals(e.ctx, 100)
	e.ok(err, "TakeSignals")
	_, err = e.st.TakeDirtyAccounts(e.ctx)
	e.ok(err, "TakeDirtyAccounts")
	task := e.task(work.Task{AccountID: a.ID, Title: "Issue the license", Source: "playbook production_license"})
	_, err = e.st.ModifyTask(e.ctx, task.ID, func(t *work.Task) error { t.Title = "Issue the licence"; return nil }, playbook)
	e.ok(err, "retitle")
	if ss, err := e.st.TakeSignals(e.ctx, 100); err != nil || len(ss) != 0 {
		t.Errorf("signals after creating and retitling a task: %+v, %v", ss, err)
	}
	_, err = e.st.ModifyTask(e.ctx, task.ID, func(t *work.Task) error { t.Status = work.StatusDone; return nil }, playbook)
	e.ok(err, "done")
	ss, err := e.st.TakeSignals(e.ctx, 100)
	e.ok(err, "TakeSignals")
	if len(ss) != 1 || ss[0].Kind != work.EventTaskDone || ss[0].AccountID != a.ID ||
		!strings.Contains(string(ss[0].Data), `"source":"playbook production_license"`) {
		t.Errorf("signals after the task was done: %+v", ss)
	}
	dirty, err := e.st.TakeDirtyAccounts(e.ctx)
	e.ok(err, "TakeDirtyAccounts")
	if len(dirty) != 0 {
		t.Errorf("a task done queued accounts %v for assessment", dirty)
	}
	doc := work.Doc{AccountID: a.ID, Template: "health_assessment", Title: "HA"}
	_, err = e.st.CreateDoc(e.ctx, &doc, playbook)
	e.ok(err, "doc")
	_, err = e.st.TakeSignals(e.ctx, 100)
	e.ok(err, "TakeSignals")
	_, err = e.st.TakeDirtyAccounts(e.ctx)
	e.ok(err, "TakeDirtyAccounts")
	_, err = e.st.ModifyDoc(e.ctx, doc.ID, func(d *work.Doc) error { d.Fields["rating"] = "red"; return nil }, playbook)
	e.ok(err, "rate")
	ss, err = e.st.TakeSignals(e.ctx, 100)
	e.ok(err, "TakeSignals")
	if len(ss) != 1 || ss[0].Kind != work.EventDocFieldChanged ||
		!strings.Contains(string(ss[0].Data), `"template":"health_assessment"`) || !strings.Contains(string(ss[0].Data), `"field":"rating"`) ||
		!strings.Contains(string(ss[0].Data), `"to":"red"`) {
		t.Errorf("signals after rating the doc: %+v", ss)
	}
	dirty, err = e.st.TakeDirtyAccounts(e.ctx)
	e.ok(err, "TakeDirtyAccounts")
	if len(dirty) != 1 || dirty[0] != a.ID {
		t.Errorf("accounts queued after a doc field change: %v, want [%d]", dirty, a.ID)
	}
}

func testWorkAccountDeleted(e *env) {
	t := e.t
	tara := e.user("Tara Advisor", "tara@tend.test", team.TA)
	a := e.account(account.Account{Name: "Hooli"})
	b := e.account(account.Account{Name: "Initech"})
	task := e.task(work.Task{AccountID: a.ID, Title: "x", Key: "gone"})
	_, err := e.st.ModifyTask(e.ctx, task.ID, func(t *work.Task) error { t.Status = work.StatusDone; return nil }, playbook)
	e.ok(err, "done")
	e.ok(e.st.AddComment(e.ctx, &work.Comment{TaskID: task.ID, Body: "c"}), "comment")
	doc := work.Doc{AccountID: a.ID, Template: "qbr", Title: "QBR"}
	_, err = e.st.CreateDoc(e.ctx, &doc, playbook)
	e.ok(err, "doc")
	_, err = e.st.CreateNotification(e.ctx, &work.Notification{UserID: tara.ID, AccountID: &a.ID, Title: "about Hooli"})
	e.ok(err, "notification")
	_, err = e.st.CreateNotification(e.ctx, &work.Notification{UserID: tara.ID, Title: "about nothing"})
	e.ok(err, "notification")
	before := e.events(0)

	e.ok(e.st.DeleteAccount(e.ctx, a.ID), "DeleteAccount")
	if _, err := e.st.GetTask(e.ctx, task.ID); !derrors.Is(err, derrors.NotFound) {
		t.Errorf("task of a deleted account: %v", err)
	}
	if _, err := e.st.GetDoc(e.ctx, doc.ID); !derrors.Is(err, derrors.NotFound) {
		t.Errorf("doc of a deleted account: %v", err)
	}
	if c, _ := e.st.UnreadNotifications(e.ctx, tara.ID); c != 1 {
		t.Errorf("unread after the account went = %d, want 1", c)
	}
	// Its key is free again, and seqs keep growing past the deleted
	// account's events.
	again := e.task(work.Task{AccountID: b.ID, Title: "y", Key: "gone"})
	_, err = e.st.ModifyTask(e.ctx, again.ID, func(t *work.Task) error { t.Status = work.StatusDone; return nil }, playbook)
	e.ok(err, "done")
	evs := e.events(0)
	if len(evs) != 1 || evs[0].Seq <= before[len(before)-1].Seq {
		t.Errorf("events after the delete = %+v; want one, after seq %d", evs, before[len(before)-1].Seq)
	}
}
