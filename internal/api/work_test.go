package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/work"
)

// wantError checks an error answer's status and field.
func wantError(t *testing.T, res response, status int, field, contains string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status %d, want %d: %s", res.status, status, res.body)
		return
	}
	e := res.json(t)["error"].(map[string]any)
	if f, _ := e["field"].(string); f != field {
		t.Errorf("error field %q, want %q: %s", f, field, res.body)
	}
	if msg, _ := e["message"].(string); !strings.Contains(msg, contains) {
		t.Errorf("error message %q, want it to contain %q", msg, contains)
	}
}

func TestTasksAPI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)

	// Tara tasks herself on Acme; the key makes a retry harmless.
	body := `{"account_id": 1, "title": "Fill out the Handoff Doc", "body": "Seats, locations, contacts.",
		"assignee_id": 2, "due_date": "2026-03-01", "key": "ext:handoff:1", "source": "zapier"}`
	res := fx.do(t, "ta", "POST", Prefix+"/tasks", body)
	if res.status != 201 {
		t.Fatalf("POST /tasks: %d %s", res.status, res.body)
	}
	task := res.json(t)
	id := int64(task["id"].(float64))
	if res.header.Get("Location") != fmt.Sprintf("%s/tasks/%d", Prefix, id) || task["created_by"] != "tara@tend.test" ||
		task["created_by_id"] != 2.0 || task["status"] != "open" || task["account_name"] != "Acme Corp" || task["completed_at"] != nil {
		t.Errorf("created task %s, Location %q", res.body, res.header.Get("Location"))
	}
	again := fx.do(t, "ta", "POST", Prefix+"/tasks", strings.Replace(body, "Fill out", "Retry:", 1))
	if again.status != 200 || again.json(t)["id"] != task["id"] || again.json(t)["title"] != "Fill out the Handoff Doc" {
		t.Errorf("retry with the key: %d %s", again.status, again.body)
	}
	fx.do(t, "admin", "POST", Prefix+"/tasks", `{"account_id": 2, "title": "QBR prep", "due_date": "2026-03-20"}`)
	fx.do(t, "ta", "POST", Prefix+"/tasks", `{"account_id": 3, "title": "Unassigned, undated"}`)

	for _, tc := range []struct {
		as, body      string
		status        int
		field, reason string
	}{
		{"ta", `{"account_id": 1, "title": "x", "colour": "red"}`, 400, "colour", "is not a field"},
		{"ta", `{"account_id": 1, "title": 7}`, 400, "title", "must be a string"},
		{"ta", `{"account_id": 1, "title": "x", "due_date": "soon"}`, 400, "due_date", ""},
		{"ta", `{"title": "x"}`, 422, "account_id", "is required"},
		{"ta", `{"account_id": 1, "title": " "}`, 422, "title", "is required"},
		{"ta", `{"account_id": 99, "title": "x"}`, 422, "account_id", "account 99 not found"},
		{"ta", `{"account_id": 1, "title": "x", "assignee_id": 99}`, 422, "assignee_id", "no team member has id 99"},
		{"ta", `{"account_id": 1, "title": "x", "assignee_id": 4}`, 422, "assignee_id", "dee@tend.test is disabled"},
		{"ta", `{"account_id": 1, "title": "x", "status": "doing"}`, 422, "status", "is not one of open, done, cancelled"},
		{"ta", `{"account_id": 1, "title": "x", "completed_at": "2026-03-01T00:00:00Z"}`, 422, "completed_at", "is set by Tend"},
		{"ta", `{"account_id": 1, "title": "x", "created_by": "someone"}`, 422, "created_by", ""},
		{"viewer", `{"account_id": 1, "title": "x"}`, 403, "", ""},
	} {
		wantError(t, fx.do(t, tc.as, "POST", Prefix+"/tasks", tc.body), tc.status, tc.field, tc.reason)
	}

	// The inbox: Tara's open tasks; overdue as of the fixture's day (2 March).
	list := func(as, query string) []any {
		t.Helper()
		res := fx.do(t, as, "GET", Prefix+"/tasks"+query, "")
		if res.status != 200 {
			t.Fatalf("GET /tasks%s: %d %s", query, res.status, res.body)
		}
		return res.json(t)["data"].([]any)
	}
	titles := func(items []any) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.(map[string]any)["title"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "Fill out the Handoff Doc|QBR prep|Unassigned, undated"},
		{"?assignee=me&status=open", "Fill out the Handoff Doc"},
		{"?assignee=2", "Fill out the Handoff Doc"},
		{"?assignee=unassigned&limit=1", "QBR prep"},
		{"?overdue=true", "Fill out the Handoff Doc"},
		{"?due_before=2026-03-21&account=2", "QBR prep"},
		{"?source=zapier", "Fill out the Handoff Doc"},
		{"?status=done", ""},
	} {
		if got := strings.Join(titles(list("ta", tc.query)), "|"); got != tc.want {
			t.Errorf("GET /tasks%s = %q, want %q", tc.query, got, tc.want)
		}
	}
	if got := titles(list("admin", "?assignee=me")); len(got) != 0 {
		t.Errorf("the admin's own tasks = %v (Tara's are not theirs)", got)
	}
	for _, tc := range []struct{ query, field string }{
		{"?assignee=tara", "assignee"}, {"?status=doing", "status"}, {"?overdue=yes", "overdue"},
		{"?due_before=friday", "due_before"}, {"?limit=0", "limit"}, {"?account=x", "account"}, {"?owner=me", "owner"},
		{"?cursor=bogus", "cursor"},
	} {
		wantError(t, fx.do(t, "ta", "GET", Prefix+"/tasks"+tc.query, ""), 400, tc.field, "")
	}
	acct := fx.do(t, "viewer", "GET", Prefix+"/accounts/1/tasks?status=open", "")
	if acct.status != 200 || acct.json(t)["total"] != 1.0 {
		t.Errorf("GET /accounts/1/tasks: %d %s", acct.status, acct.body)
	}
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/accounts/99/tasks", ""), 404, "", "")
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/accounts/1/tasks?account=2", ""), 400, "account", "")

	// Done: the "task done" signal, on the timeline too.
	path := fmt.Sprintf("%s/tasks/%d", Prefix, id)
	res = fx.do(t, "ta", "PATCH", path, `{"status": "done", "due_date": null}`)
	if res.status != 200 || res.json(t)["status"] != "done" || res.json(t)["completed_at"] == nil || res.json(t)["due_date"] != nil {
		t.Fatalf("PATCH done: %d %s", res.status, res.body)
	}
	evs, err := fx.st.ListWorkEvents(context.Background(), 0, 0)
	must(t, err)
	if len(evs) != 1 || evs[0].Kind != work.EventTaskDone || evs[0].TaskID != id || evs[0].Actor != "tara@tend.test" {
		t.Errorf("events = %+v", evs)
	}
	acts, err := fx.st.ListActivities(context.Background(), 1, 1)
	must(t, err)
	if acts[0].Kind != account.ActivityTask || acts[0].Body != "Task done: Fill out the Handoff Doc" {
		t.Errorf("timeline = %+v", acts[0])
	}
	if got := fx.do(t, "ta", "GET", path, ""); got.status != 200 || got.json(t)["status"] != "done" {
		t.Errorf("GET task: %d %s", got.status, got.body)
	}
	for _, tc := range []struct {
		body          string
		status        int
		field, reason string
	}{
		{`{"account_id": 2}`, 422, "account_id", "a task stays on its account"},
		{`{"key": "x"}`, 422, "key", ""},
		{`{"status": "doing"}`, 422, "status", ""},
		{`{"assignee_id": 99}`, 422, "assignee_id", ""},
		{`{"title": ""}`, 422, "title", "is required"},
		{`{"colour": 1}`, 400, "colour", ""},
	} {
		wantError(t, fx.do(t, "ta", "PATCH", path, tc.body), tc.status, tc.field, tc.reason)
	}
	wantError(t, fx.do(t, "viewer", "PATCH", path, `{"status": "open"}`), 403, "", "")
	wantError(t, fx.do(t, "ta", "PATCH", Prefix+"/tasks/999", `{"status": "open"}`), 404, "", "")
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/tasks/999", ""), 404, "", "")

	// Comments.
	res = fx.do(t, "admin", "POST", path+"/comments", `{"body": "Knowledge transfer booked for Tuesday."}`)
	if res.status != 201 || res.json(t)["author"] != "admin@tend.test" {
		t.Fatalf("POST comment: %d %s", res.status, res.body)
	}
	if got := fx.do(t, "viewer", "GET", path+"/comments", ""); got.status != 200 || len(got.json(t)["data"].([]any)) != 1 {
		t.Errorf("GET comments: %d %s", got.status, got.body)
	}
	wantError(t, fx.do(t, "ta", "POST", path+"/comments", `{"body": ""}`), 422, "body", "is required")
	wantError(t, fx.do(t, "ta", "POST", Prefix+"/tasks/999/comments", `{"body": "x"}`), 404, "", "")
	wantError(t, fx.do(t, "viewer", "POST", path+"/comments", `{"body": "x"}`), 403, "", "")
}

func TestDocsAPI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)

	res := fx.do(t, "viewer", "GET", Prefix+"/doc-templates", "")
	if res.status != 200 {
		t.Fatalf("GET /doc-templates: %d %s", res.status, res.body)
	}
	var keys []string
	for _, d := range res.json(t)["data"].([]any) {
		keys = append(keys, d.(map[string]any)["key"].(string))
	}
	if strings.Join(keys, ",") != "handoff,health_assessment,ooo_coverage,qbr,save_plan,success_plan" {
		t.Errorf("templates = %v", keys)
	}

	// A health assessment for Acme: rendered for it, the renewal date
	// filled in.
	res = fx.do(t, "ta", "POST", Prefix+"/accounts/1/docs", `{"template": "health_assessment", "fields": {"rating": "Yellow"}}`)
	if res.status != 201 {
		t.Fatalf("POST docs: %d %s", res.status, res.body)
	}
	doc := res.json(t)
	id := int64(doc["id"].(float64))
	fields := doc["fields"].(map[string]any)
	if doc["title"] != "Renewal Health Assessment: Acme Corp" || fields["rating"] != "yellow" || fields["renewal_date"] != "2026-09-30" ||
		!strings.Contains(doc["body"].(string), "Completed by\nTara Advisor") || res.header.Get("Location") != fmt.Sprintf("%s/docs/%d", Prefix, id) {
		t.Errorf("doc = %s", res.body)
	}
	for _, tc := range []struct {
		body          string
		status        int
		field, reason string
	}{
		{`{}`, 422, "template", "is required"},
		{`{"template": "nda"}`, 422, "template", `"nda" is not a doc template of this workspace (it has handoff, health_assessment`},
		{`{"template": "health_assessment", "fields": {"rating": "purple"}}`, 422, "fields.rating", "is not one of green, yellow, red"},
		{`{"template": "health_assessment", "fields": {"colour": "red"}}`, 422, "fields.colour", "is not a field of the health_assessment template"},
		{`{"template": "qbr", "fields": {"meeting_date": "next week"}}`, 422, "fields.meeting_date", "date expected"},
		{`{"template": "qbr", "colour": 1}`, 400, "colour", ""},
	} {
		wantError(t, fx.do(t, "ta", "POST", Prefix+"/accounts/1/docs", tc.body), tc.status, tc.field, tc.reason)
	}
	wantError(t, fx.do(t, "ta", "POST", Prefix+"/accounts/99/docs", `{"template": "qbr"}`), 404, "", "")
	wantError(t, fx.do(t, "viewer", "POST", Prefix+"/accounts/1/docs", `{"template": "qbr"}`), 403, "", "")
	keyed := `{"template": "handoff", "key": "ext:handoff:1"}`
	first := fx.do(t, "ta", "POST", Prefix+"/accounts/1/docs", keyed)
	second := fx.do(t, "ta", "POST", Prefix+"/accounts/1/docs", keyed)
	if first.status != 201 || second.status != 200 || first.json(t)["id"] != second.json(t)["id"] {
		t.Errorf("keyed create: %d then %d", first.status, second.status)
	}

	// Rated red: a "doc field changed" signal; the renewal date cleared.
	path := fmt.Sprintf("%s/docs/%d", Prefix, id)
	res = fx.do(t, "ta", "PATCH", path, `{"fields": {"rating": "red", "renewal_date": null}, "title": "Assessment 2026"}`)
	if res.status != 200 {
		t.Fatalf("PATCH doc: %d %s", res.status, res.body)
	}
	if f := res.json(t)["fields"].(map[string]any); f["rating"] != "red" || len(f) != 1 || res.json(t)["title"] != "Assessment 2026" {
		t.Errorf("patched = %s", res.body)
	}
	evs, err := fx.st.ListWorkEvents(context.Background(), 0, 0)
	must(t, err)
	last := evs[len(evs)-2:]
	if last[0].Field != "rating" || last[0].Old != "yellow" || last[0].New != "red" || last[1].Field != "renewal_date" || last[1].New != nil {
		t.Errorf("the edit's events = %+v", last)
	}
	got, err := fx.st.DocFields(context.Background(), 1)
	must(t, err)
	if got["health_assessment"]["rating"] != "red" {
		t.Errorf("DocFields = %v", got)
	}
	for _, tc := range []struct {
		body          string
		status        int
		field, reason string
	}{
		{`{"fields": {"rating": "purple"}}`, 422, "fields.rating", "is not one of"},
		{`{"fields": {"nope": 1}}`, 422, "fields.nope", "is not a field"},
		{`{"fields": {"rating": ["red"]}}`, 400, "fields.rating", ""},
		{`{"fields": "red"}`, 400, "fields", "must be an object"},
		{`{"title": null}`, 422, "title", "cannot be null"},
		{`{"title": ""}`, 422, "title", "is required"},
		{`{"body": 3}`, 400, "body", "must be a string"},
		{`{"template": "qbr"}`, 422, "template", "cannot change"},
		{`{"colour": 1}`, 400, "colour", "is not a field of a doc"},
	} {
		wantError(t, fx.do(t, "ta", "PATCH", path, tc.body), tc.status, tc.field, tc.reason)
	}
	wantError(t, fx.do(t, "viewer", "PATCH", path, `{"title": "x"}`), 403, "", "")
	wantError(t, fx.do(t, "ta", "PATCH", Prefix+"/docs/999", `{"title": "x"}`), 404, "", "")
	if res := fx.do(t, "viewer", "GET", path, ""); res.status != 200 || res.json(t)["title"] != "Assessment 2026" {
		t.Errorf("GET doc: %d %s", res.status, res.body)
	}
	if res := fx.do(t, "viewer", "GET", Prefix+"/accounts/1/docs", ""); res.status != 200 || len(res.json(t)["data"].([]any)) != 2 {
		t.Errorf("GET docs: %d %s", res.status, res.body)
	}
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/accounts/99/docs", ""), 404, "", "")
}

func TestNotificationsAPI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	acme := int64(1)
	for _, n := range []work.Notification{
		{UserID: 2, AccountID: &acme, Title: "You are Acme Corp's Technical Advisor", Link: "/accounts/1"},
		{UserID: 2, Title: "Seats at 90%"},
		{UserID: 3, Title: "For the viewer"},
	} {
		_, err := fx.st.CreateNotification(ctx, &n)
		must(t, err)
	}
	res := fx.do(t, "ta", "GET", Prefix+"/notifications", "")
	if res.status != 200 || res.json(t)["unread"] != 2.0 || len(res.json(t)["data"].([]any)) != 2 {
		t.Fatalf("GET /notifications: %d %s", res.status, res.body)
	}
	// Another member's is not found; one's own is marked, viewers too.
	wantError(t, fx.do(t, "ta", "POST", Prefix+"/notifications/3/read", ""), 404, "", "")
	if res := fx.do(t, "viewer", "POST", Prefix+"/notifications/3/read", ""); res.status != 200 || res.json(t)["read_at"] == nil {
		t.Errorf("the viewer reads theirs: %d %s", res.status, res.body)
	}
	if res := fx.do(t, "ta", "POST", Prefix+"/notifications/1/read", ""); res.status != 200 || res.json(t)["account_name"] != "Acme Corp" {
		t.Errorf("read: %d %s", res.status, res.body)
	}
	if res := fx.do(t, "ta", "GET", Prefix+"/notifications?unread=true", ""); res.json(t)["unread"] != 1.0 || len(res.json(t)["data"].([]any)) != 1 {
		t.Errorf("unread only: %s", res.body)
	}
	if res := fx.do(t, "ta", "POST", Prefix+"/notifications/read-all", ""); res.status != 200 || res.json(t)["marked"] != 1.0 {
		t.Errorf("read-all: %d %s", res.status, res.body)
	}
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/notifications?unread=maybe", ""), 400, "unread", "")
	wantError(t, fx.do(t, "ta", "GET", Prefix+"/notifications?limit=201", ""), 400, "limit", "")
	wantError(t, fx.do(t, "", "GET", Prefix+"/notifications", ""), 401, "", "")
}
