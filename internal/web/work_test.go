package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
)

// withPlaybooks starts an assessor that runs the default workspace's
// playbooks — the handbook's — with their real effects in the env's store
// (tasks, docs, notes, the inbox; email into the outbox), and serves a UI
// that reads it. Call it before signing in.
func (e *testEnv) withPlaybooks() *engine.Assessor {
	e.t.Helper()
	q := outbox.NewQueue(e.st, store.Address{Name: "Tend", Email: "tend@tend.test"})
	a := engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: func() time.Time { return today },
		Poll: 20 * time.Millisecond, Playbooks: &engine.PlaybookConfig{
			Effects: &engine.StoreEffects{Store: e.st, Workspace: e.ws, Now: func() time.Time { return today }, Enqueue: q.Enqueue},
			BaseURL: "http://tend.test"}})
	a.Start()
	e.t.Cleanup(func() { a.Close() })
	e.assessor = a
	e.serve()
	return a
}

// waitTasks polls until the account has a task the playbook made, and
// returns its tasks from that playbook.
func (e *testEnv) waitTasks(accountID int64, pb string) []work.Task {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := e.st.ListTasks(context.Background(), work.TaskFilter{AccountID: accountID, Source: "playbook " + pb})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page.Tasks) > 0 {
			return page.Tasks
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no task from the %s playbook for account %d after 10 s\n%s", pb, accountID, e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDoc polls until the account has a doc of the template.
func (e *testEnv) waitDoc(accountID int64, template string) work.Doc {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		docs, err := e.st.ListDocs(context.Background(), accountID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, d := range docs {
			if d.Template == template {
				return d
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no %s doc for account %d after 10 s", template, accountID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// 004, "Renewal Process Phases": "Vitally triggers Health Assessment doc
// 120 days before renewal". Acme renews on 2026-04-23, 52 days after the
// tests' today: its renewal playbook has fired, and the pages show it.
func TestPlaybookPages(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.withPlaybooks()
	b.waitTasks(b.acme.ID, "renewal")

	c := b.login(b.tina.Email)
	res, body := c.get("/playbooks")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<tr id="playbook-renewal" class="">`, `<a href="/playbooks/renewal">Renewal health assessment</a>`,
		"120 days before the renewal date", `<span class="tag tag-ok">on</span>`, `<svg class="spark"`,
		`<a href="/playbooks" aria-current="page">Playbooks</a>`)

	res, body = c.get("/playbooks/renewal")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Renewal health assessment", "Each time it triggers",
		"Doc from the health_assessment template",
		`Task &#34;Complete the Renewal Health Assessment for {{.account.name}} with {{.ae.name}}&#34; for the owner TA, due in 14 days`,
		`id="preview-button"`,
		// the log: Acme's firing, what started it, its actions' results
		`<a href="/accounts/`+fmt.Sprint(b.acme.ID)+`">Acme Corp</a>`, "renewal_date", `<span class="fa-kind">doc</span>`,
		`<span class="tag tag-ok">done</span>`, fmt.Sprintf(`href="/playbooks/renewal?account=%d#why"`, b.acme.ID),
		// a TA reads but does not switch
		"Admins and managers turn playbooks on and off.")

	// The preview, as the button asks for it: Acme and Globex renew
	// within 120 days; Initech and Umbrella have no renewal date.
	res, body = c.get("/playbooks/renewal/preview", "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<div id="preview" class="preview">`, `<strong id="preview-total">2</strong> accounts match now`,
		">Acme Corp</a>", ">Globex</a>")
	wantNotIn(t, body, "<html", "Initech", "Umbrella")
	res, body = c.get("/playbooks/renewal/preview")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "<html", `<strong id="preview-total">2</strong>`)

	// Why, for an account it fired for and one it did not.
	res, body = c.get(fmt.Sprintf("/playbooks/renewal?account=%d", b.acme.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="why-answer"`, "It fired 1 times for this account", `<span class="ex-true">holds now</span>`)
	res, body = c.get(fmt.Sprintf("/playbooks/renewal?account=%d", b.initech.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "It has not fired: its trigger does not hold", `<span class="ex-false">does not hold now</span>`)
	// A condition's terms with their values: the lighthouse playbook
	// reads the assessment's rating, which Acme has not set.
	res, body = c.get(fmt.Sprintf("/playbooks/health_red?account=%d", b.globex.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="why-answer"`, `class="verdict"`)
	// Bad input gets a message, not a failure.
	res, body = c.get("/playbooks/renewal?account=acme")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `&#34;acme&#34; is not an account id`)
	res, body = c.get("/playbooks/renewal?account=99999")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Account not found")
	res, body = c.get("/playbooks/renewal?kind=bogus")
	wantStatus(t, res, body, http.StatusBadRequest)
	res, body = c.get("/playbooks/nope")
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, "Playbook &#34;nope&#34; not found")
	// The log's filters.
	res, body = c.get(fmt.Sprintf("/playbooks/renewal?kind=exit&log_account=%d", b.acme.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "No firings match these filters.")

	// Switching: not a TA's; an admin turns it off and closes its tasks.
	res, body = c.post("/playbooks/renewal/switch", url.Values{"enabled": {"false"}})
	wantStatus(t, res, body, http.StatusForbidden)
	admin := b.login(b.admin.Email)
	res, body = admin.get("/playbooks/renewal")
	wantIn(t, body, `id="disable-button"`, `name="cancel_open_tasks"`)
	res, body = admin.post("/playbooks/renewal/switch", url.Values{"enabled": {"false"}, "cancel_open_tasks": {"true"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = admin.get("/playbooks/renewal")
	wantIn(t, body, `<span class="tag tag-muted" id="playbook-state">off</span>`, "turned off by ada@tend.test",
		"2 open tasks were closed.", `id="enable-button"`)
	for _, id := range []int64{b.acme.ID, b.globex.ID} {
		page, err := b.st.ListTasks(context.Background(), work.TaskFilter{AccountID: id, Source: "playbook renewal", Status: work.StatusOpen})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 0 {
			t.Errorf("account %d: %d open renewal tasks after disabling with cancel, want 0", id, page.Total)
		}
	}
	res, body = admin.post("/playbooks/renewal/switch", url.Values{"enabled": {"true"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get("/playbooks/renewal")
	wantIn(t, body, `id="playbook-state">on</span>`, "Playbook enabled")
}

// The playbook pages need the engine; without one they say so.
func TestPlaybookPagesWithoutEngine(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	res, body := c.get("/playbooks")
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, "Playbooks are not running on this server.")
}

// taskRow finds a task's row in a page.
func taskRow(t *testing.T, body string, id int64) string {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="task-%d" class="[^"]*">.*?</tr>`, id)).FindString(body)
	if m == "" {
		t.Fatalf("no row for task %d in\n%s", id, body)
	}
	return m
}

// The task inbox: a TA sees the tasks playbooks gave her, completes one
// from the list without leaving it (the "task done" signal), comments,
// and changes a due date; a viewer reads only.
func TestTaskInbox(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.withPlaybooks()
	task := b.waitTasks(b.acme.ID, "renewal")[0]
	ctx := context.Background()
	// A task of Theo's and an overdue one of Tina's, made by people.
	theirs := work.Task{AccountID: b.globex.ID, Title: "Call Globex's champion", AssigneeID: &b.theo.ID}
	late := work.Task{AccountID: b.initech.ID, Title: "Send Initech the onboarding deck", AssigneeID: &b.tina.ID,
		DueDate: day("2026-02-20")}
	for _, x := range []*work.Task{&theirs, &late} {
		if _, err := b.st.CreateTask(ctx, x, account.Actor{UserID: &b.admin.ID, Name: b.admin.Email, Source: account.SourceManual}); err != nil {
			t.Fatal(err)
		}
	}

	c := b.login(b.tina.Email)
	res, body := c.get("/tasks")
	wantStatus(t, res, body, http.StatusOK)
	row := taskRow(t, body, task.ID)
	wantIn(t, row, "Complete the Renewal Health Assessment for Acme Corp with Alma Exec", ">Acme Corp</a>", "Tina Advisor",
		"2026-03-16", "in 14 days", `<a href="/playbooks/renewal">playbook renewal</a>`, fmt.Sprintf(`id="done-%d"`, task.ID))
	wantIn(t, taskRow(t, body, late.ID), "task-overdue", "10 days ago")
	wantNotIn(t, body, "Call Globex")
	wantIn(t, body, `My open tasks <span class="count">2</span>`, `My overdue <span class="count count-bad">1</span>`)
	// Filters: everyone's; overdue only.
	_, body = c.get("/tasks?assignee=all", "HX-Request", "true")
	wantIn(t, body, `<div id="task-results"`, "Call Globex")
	wantNotIn(t, body, "<html")
	_, body = c.get("/tasks?overdue=true")
	wantIn(t, body, "Send Initech")
	wantNotIn(t, body, "Complete the Renewal")
	// An admin, who watches the work, sees everyone's by default.
	_, body = b.login(b.admin.Email).get("/tasks")
	wantIn(t, body, "Call Globex", "Send Initech", `<option value="all" selected>Anyone</option>`)
	res, body = c.get("/tasks?assignee=bob")
	wantStatus(t, res, body, http.StatusBadRequest)

	// Done from the list: the row comes back re-drawn, with the flash.
	res, body = c.post(fmt.Sprintf("/tasks/%d/status", task.ID), url.Values{"status": {"done"}, "from": {"/tasks"}},
		"HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, fmt.Sprintf(`<tr id="task-%d" class="task-row task-done">`, task.ID), `<span class="tag tag-ok">done</span>`,
		fmt.Sprintf(`id="reopen-%d"`, task.ID), `hx-swap-oob="true"`, "marked done.")
	got, err := b.st.GetTask(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != work.StatusDone || got.CompletedAt == nil {
		t.Fatalf("task after done: %+v", got)
	}
	// The "task done" signal is recorded with it.
	evs, err := b.st.ListWorkEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Kind == work.EventTaskDone && ev.TaskID == task.ID
	}
	if !found {
		t.Errorf("no task_done event for task %d in %+v", task.ID, evs)
	}
	res, body = c.post(fmt.Sprintf("/tasks/%d/status", task.ID), url.Values{"status": {"later"}})
	wantStatus(t, res, body, http.StatusBadRequest)

	// The task's page: comment, refused comment, due date.
	res, body = c.get(fmt.Sprintf("/tasks/%d", late.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Send Initech the onboarding deck", `<span class="tag tag-bad">overdue</span>`, "ada@tend.test")
	res, body = c.post(fmt.Sprintf("/tasks/%d/comments", late.ID), url.Values{"body": {"  "}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Write the comment first: it is empty.")
	res, body = c.post(fmt.Sprintf("/tasks/%d/comments", late.ID), url.Values{"body": {"Sent <b>v2</b> of the deck."}})
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = c.post(fmt.Sprintf("/tasks/%d", late.ID), url.Values{"assignee_id": {fmt.Sprint(b.tina.ID)}, "due_date": {"next week"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "&#34;next week&#34; is not a date (YYYY-MM-DD).")
	res, body = c.post(fmt.Sprintf("/tasks/%d", late.ID), url.Values{"assignee_id": {fmt.Sprint(b.theo.ID)}, "due_date": {"2026-03-09"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get(fmt.Sprintf("/tasks/%d", late.ID))
	wantIn(t, body, "Sent &lt;b&gt;v2&lt;/b&gt; of the deck.", "Tina Advisor", "2026-03-09", "in 7 days", "Theo Park")
	wantNotIn(t, body, "tag-bad")

	// A viewer reads, and cannot change.
	v := b.login(b.viewer.Email)
	res, body = v.get(fmt.Sprintf("/tasks/%d", late.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantNotIn(t, body, "Mark done", "Comment</button>")
	res, body = v.post(fmt.Sprintf("/tasks/%d/status", late.ID), url.Values{"status": {"done"}})
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = v.get("/tasks/99999")
	wantStatus(t, res, body, http.StatusNotFound)
}

// A Renewal Health Assessment rated red starts the Lighthouse save plan
// (004: "If the rating is yellow or red, the account enters the Lighthouse
// Program"): a bad rating is refused on its field, a good one is saved and
// is the signal the lighthouse playbook fires on.
func TestDocPage(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.withPlaybooks()
	doc := b.waitDoc(b.acme.ID, "health_assessment")
	c := b.login(b.tina.Email)
	res, body := c.get(fmt.Sprintf("/docs/%d", doc.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Renewal Health Assessment: Acme Corp (2026-04-23)", `<span class="tag tag-muted">Renewal Health Assessment</span>`,
		`<select name="field.rating" id="field-rating">`, "<option>red</option>", "Still to fill in:", `id="doc-save"`)

	form := url.Values{"title": {doc.Title}, "body": {doc.Body}, "field.rating": {"purple"}}
	res, body = c.post(fmt.Sprintf("/docs/%d", doc.ID), form)
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Some fields were refused; nothing was saved.", `class="has-error"`, "purple")
	form.Set("title", "")
	res, body = c.post(fmt.Sprintf("/docs/%d", doc.ID), form)
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "A doc needs a title.")
	if d, _ := b.st.GetDoc(context.Background(), doc.ID); len(d.Fields) != len(doc.Fields) || d.Title != doc.Title {
		t.Fatalf("a refused save changed the doc: %+v", d)
	}

	form.Set("title", doc.Title)
	form.Set("field.rating", "red")
	res, body = c.post(fmt.Sprintf("/docs/%d", doc.ID), form)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get(fmt.Sprintf("/docs/%d", doc.ID))
	wantIn(t, body, "<option selected>red</option>", `<span class="chip chip-color-red">Red</span>`)
	b.waitDoc(b.acme.ID, "save_plan")
	b.waitTasks(b.acme.ID, "lighthouse")

	// The account page's cards: open tasks, docs with the rating, the
	// firings; and a doc made by hand from a template.
	res, body = c.get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, sectionOf(t, body, "tasks"), "Complete the Renewal Health Assessment", "Lighthouse")
	wantIn(t, sectionOf(t, body, "docs"), fmt.Sprintf(`<a href="/docs/%d">`, doc.ID), `chip-color-red`, "Lighthouse Save Plan",
		`<option value="qbr">QBR</option>`)
	wantIn(t, sectionOf(t, body, "firings"), `<a href="/playbooks/renewal">Renewal health assessment</a>`,
		`<a href="/playbooks/lighthouse">`)
	// The timeline has the firings among the notes, each asking why.
	wantIn(t, sectionOf(t, body, "timeline"), `<li class="act act-playbook">`, "Playbook fired</span>",
		"Renewal health assessment · ", fmt.Sprintf(`<a class="small" href="/playbooks/renewal?account=%d#why">why?</a>`, b.acme.ID),
		"Kickoff went well.")
	res, body = c.post(fmt.Sprintf("/accounts/%d/docs", b.acme.ID), url.Values{"template": {"qbr"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !regexp.MustCompile(`^/docs/\d+$`).MatchString(loc) {
		t.Fatalf("new doc went to %q", loc)
	}
	res, body = c.post(fmt.Sprintf("/accounts/%d/docs", b.acme.ID), url.Values{"template": {"nope"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "is not a doc template of this workspace")
}

// The in-app inbox: unread first with a count in the nav, opening one
// marks it read and follows its link, and all can be marked read.
func TestNotificationsInbox(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ctx := context.Background()
	mk := func(u int64, title, link string, acc *int64) work.Notification {
		n := work.Notification{UserID: u, Title: title, Body: "From the seats playbook.", Link: link, AccountID: acc}
		if _, err := b.st.CreateNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	seats := mk(b.tina.ID, "Acme Corp reached 90% of its seats", fmt.Sprintf("/accounts/%d", b.acme.ID), &b.acme.ID)
	mk(b.tina.ID, "Globex turned red", "https://crm.example/globex", &b.globex.ID)
	mk(b.theo.ID, "Not Tina's", "", nil)

	c := b.login(b.tina.Email)
	res, body := c.get("/")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<span class="badge" id="unread-badge" aria-label="2 unread">2</span>`)
	_, body = c.get("/notifications")
	wantIn(t, body, `<span id="unread-total">2</span> unread`, "Acme Corp reached 90% of its seats", ">Acme Corp</a>",
		`<a class="small" href="https://crm.example/globex" rel="noopener noreferrer">Open ↗</a>`, `id="read-all"`)
	wantNotIn(t, body, "Not Tina&#39;s")

	res, body = c.post(fmt.Sprintf("/notifications/%d/read", seats.ID), url.Values{"open": {"true"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != acmePath(b) {
		t.Errorf("opening went to %q, want %q", loc, acmePath(b))
	}
	_, body = c.get("/")
	wantIn(t, body, `aria-label="1 unread">1</span>`)
	// Another member's notification is not hers to read.
	theos, err := b.st.ListNotifications(ctx, work.NotificationFilter{UserID: b.theo.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, body = c.post(fmt.Sprintf("/notifications/%d/read", theos.Notifications[0].ID), nil)
	wantStatus(t, res, body, http.StatusNotFound)

	res, body = c.post("/notifications/read-all", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get("/notifications")
	wantIn(t, body, "1 notification marked read.", `<span id="unread-total">0</span> unread`)
	wantNotIn(t, body, `id="unread-badge"`, `class="note-item unread"`)
}
