package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// newCampaignFixture is the fixture with an assessor that runs the
// workspace's campaigns, their emails queued in the outbox (no worker),
// and a manager (mo@tend.test, "manager"). Globex, the Scaled Success
// account, gets two contacts:
//
//	contact 2 nora@globex.com  instance_admin
//	contact 3 pat@globex.com   program_contact
func newCampaignFixture(t *testing.T) *fixture {
	t.Helper()
	fx := newFixture(t)
	fx.addManager(t)
	ctx := context.Background()
	for _, c := range []account.Contact{
		{AccountID: 2, Name: "Nora Admin", Email: "nora@globex.com", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: 2, Name: "Pat Program", Email: "pat@globex.com", Roles: []string{account.RoleProgramContact}},
	} {
		must(t, fx.st.CreateContact(ctx, &c))
	}
	ws, err := workspace.Default()
	must(t, err)
	log := slog.New(slog.NewTextHandler(fx.logs, nil))
	now := func() time.Time { return fixtureNow }
	from := store.Address{Name: "Tend", Email: "tend@tend.test"}
	enqueue := outbox.NewQueue(fx.st, from).Enqueue
	fx.assessor = engine.NewAssessor(engine.AssessorConfig{Store: fx.st, Workspace: ws, Logger: log, Now: now,
		Playbooks: &engine.PlaybookConfig{
			Effects:   &engine.StoreEffects{Store: fx.st, Workspace: ws, Now: now, Enqueue: enqueue},
			Campaigns: &engine.CampaignConfig{Enqueue: enqueue, From: from, LinkBase: "https://tend.test"},
		}})
	fx.h = New(Config{Store: fx.st, Workspace: ws, Usage: fx.usage, Assessor: fx.assessor, Logger: log, Now: now}).Handler()
	fx.assess(t)
	return fx
}

// decode reads a response into v, failing on a status other than want.
func decode(t *testing.T, r response, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

func TestCampaignsList(t *testing.T) {
	fx := newCampaignFixture(t)
	var list struct{ Data []campaignJSON }
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns", ""), 200, &list)
	if len(list.Data) != 11 {
		t.Fatalf("%d campaigns, want the handbook's 11", len(list.Data))
	}
	byKey := map[string]campaignJSON{}
	for _, c := range list.Data {
		byKey[c.Key] = c
	}
	rn, ao := byKey["release_notes"], byKey["admin_onboarding"]
	if rn.Entry.Kind != "broadcast" || rn.Entry.Trigger != nil || rn.Audience != `account.program == "Scaled Success" && account.stage != "Churned"` ||
		len(rn.Steps) != 1 || rn.Steps[0].Email == nil || rn.Steps[0].Email.Template != "release_notes" ||
		strings.Join(rn.Steps[0].Email.To, ",") != "instance_admin,program_contact" {
		t.Errorf("release_notes = %+v", rn)
	}
	// Admin onboarding: from close over 60 days, once per term, churned
	// accounts leave.
	if ao.Entry.Kind != "trigger" || ao.Entry.Trigger == nil || ao.Entry.Trigger.Kind != "date" || ao.Reentry.Mode != "once_per_term" ||
		len(ao.Exits) != 1 || ao.Exits[0].Name != "churned" || ao.Steps[1].Kind != "wait" || ao.Steps[1].Wait.For != "7d" {
		t.Errorf("admin_onboarding = %+v", ao)
	}
	for _, c := range list.Data {
		if len(c.Stats.Enrollments) != 3 || len(c.Stats.Messages) != len(store.Statuses) {
			t.Errorf("%s stats = %+v, want every status counted", c.Key, c.Stats)
		}
	}
	if rn.Stats.Enrollments["active"] != 0 || rn.Stats.Messages["queued"] != 0 {
		t.Errorf("release_notes before any broadcast: %+v", rn.Stats)
	}

	r := fx.do(t, "viewer", "GET", "/api/v1/campaigns/nope", "")
	wantError(t, r, 404, "", `campaign "nope" not found`)
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns?x=1", ""), 400, "x", "not a parameter")
	if r := fx.do(t, "", "GET", "/api/v1/campaigns", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}

// A broadcast (release notes) enters every account of the audience — here
// Globex, the one Scaled Success account — and each broadcast is a new
// occurrence; ending the enrollment before it is planned sends nothing.
func TestCampaignBroadcastAndEnd(t *testing.T) {
	fx := newCampaignFixture(t)
	for _, who := range []string{"viewer", "ta"} {
		wantError(t, fx.do(t, who, "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 403, "", "")
	}
	var b struct {
		Campaign string
		Enrolled int
	}
	decode(t, fx.do(t, "manager", "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 200, &b)
	if b.Campaign != "release_notes" || b.Enrolled != 1 {
		t.Fatalf("broadcast = %+v, want Globex enrolled", b)
	}
	var page store.EnrollmentPage
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?status=active", ""), 200, &page)
	if len(page.Enrollments) != 1 || page.Enrollments[0].AccountName != "Globex" || page.Enrollments[0].Entry != "broadcast 1 by mo@tend.test" {
		t.Fatalf("enrollments = %+v", page)
	}

	wantError(t, fx.do(t, "viewer", "POST", "/api/v1/accounts/2/enrollments/release_notes/end", ""), 403, "", "")
	var end struct {
		Campaign  string
		AccountID int64 `json:"account_id"`
		Ended     int
	}
	decode(t, fx.do(t, "ta", "POST", "/api/v1/accounts/2/enrollments/release_notes/end", `{"reason": "asked by phone"}`), 200, &end)
	if end.Ended != 1 || end.AccountID != 2 {
		t.Errorf("end = %+v", end)
	}
	decode(t, fx.do(t, "ta", "POST", "/api/v1/accounts/2/enrollments/release_notes/end", ""), 200, &end)
	if end.Ended != 0 {
		t.Errorf("ending again = %+v, want nothing ended", end)
	}
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/accounts/2/enrollments", ""), 200, &page)
	if len(page.Enrollments) != 1 || page.Enrollments[0].Status != "exited" || page.Enrollments[0].ExitReason != "ended by tara@tend.test: asked by phone" {
		t.Errorf("after ending: %+v", page)
	}
	fx.assess(t)
	if n := fx.count(t, store.OutboxFilter{Campaign: "release_notes"}); n != 0 {
		t.Errorf("%d messages from an ended enrollment", n)
	}

	// The second broadcast is a new occurrence: Globex enters again, and
	// the next step queues the announcement to its admin and its program
	// contact.
	decode(t, fx.do(t, "admin", "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 200, &b)
	if b.Enrolled != 1 {
		t.Fatalf("second broadcast = %+v", b)
	}
	fx.assess(t)
	var c campaignJSON
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns/release_notes", ""), 200, &c)
	if c.Stats.Enrollments["done"] != 1 || c.Stats.Enrollments["exited"] != 1 || c.Stats.Messages["queued"] != 2 {
		t.Errorf("stats = %+v", c.Stats)
	}
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?step=end&account=2", ""), 200, &page)
	if len(page.Enrollments) != 1 || page.Enrollments[0].Status != "done" {
		t.Errorf("enrollments at the step: %+v", page)
	}

	for _, tc := range []struct {
		as, method, path, body string
		status                 int
		field, message         string
	}{
		// Admin onboarding starts from the close date, not by hand.
		{"admin", "POST", "/api/v1/campaigns/admin_onboarding/broadcast", "", 422, "", "not by a broadcast"},
		{"admin", "POST", "/api/v1/campaigns/nope/broadcast", "", 404, "", `"nope"`},
		{"admin", "POST", "/api/v1/campaigns/release_notes/broadcast", `{"accounts": [1]}`, 400, "accounts", "not a field"},
		{"ta", "POST", "/api/v1/accounts/2/enrollments/nope/end", "", 404, "campaign", `"nope"`},
		{"ta", "POST", "/api/v1/accounts/99/enrollments/release_notes/end", "", 404, "", "account"},
		{"ta", "POST", "/api/v1/accounts/2/enrollments/release_notes/end", `{"reason": 3}`, 400, "reason", "string"},
		{"ta", "POST", "/api/v1/accounts/2/enrollments/release_notes/end", `{"reason": "` + strings.Repeat("x", 501) + `"}`, 422, "reason", "500"},
		{"viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?status=paused", "", 400, "status", "active, done, exited"},
		{"viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?step=nope", "", 400, "step", "(announcement, end)"},
		{"viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?account=x", "", 400, "account", `"x"`},
		{"viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?limit=0", "", 400, "limit", "between 1 and 1000"},
		{"viewer", "GET", "/api/v1/campaigns/release_notes/enrollments?cursor=forged", "", 400, "cursor", ""},
		{"viewer", "GET", "/api/v1/campaigns/nope/enrollments", "", 404, "", `"nope"`},
		{"viewer", "GET", "/api/v1/accounts/99/enrollments", "", 404, "", "account"},
		{"viewer", "GET", "/api/v1/accounts/2/enrollments?campaign=nope", "", 400, "campaign", `"nope"`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantError(t, fx.do(t, tc.as, tc.method, tc.path, tc.body), tc.status, tc.field, tc.message)
		})
	}
}

// A server that does not run campaigns (no campaign config) refuses a
// broadcast and a preview with a 409; the definitions still read.
func TestCampaignsNotRunning(t *testing.T) {
	fx := newFixture(t)
	if r := fx.do(t, "viewer", "GET", "/api/v1/campaigns/release_notes", ""); r.status != 200 {
		t.Errorf("definition: %d %s", r.status, r.body)
	}
	wantError(t, fx.do(t, "admin", "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 409, "", "does not run campaigns")
	must(t, fx.st.CreateContact(context.Background(), &account.Contact{AccountID: 2, Name: "Nora", Email: "nora@globex.com",
		Roles: []string{account.RoleInstanceAdmin}}))
	wantError(t, fx.do(t, "admin", "GET", "/api/v1/campaigns/release_notes/preview?template=release_notes&account=2&contact=2", ""),
		409, "", "does not run campaigns")
}

func TestCampaignPreview(t *testing.T) {
	fx := newCampaignFixture(t)
	const path = "/api/v1/campaigns/release_notes/preview"
	var p previewJSON
	decode(t, fx.do(t, "manager", "GET", path+"?template=release_notes&account=2&contact=2", ""), 200, &p)
	e := p.Email
	if p.Campaign != "release_notes" || p.Template != "release_notes" || p.AccountID != 2 || p.ContactID != 2 ||
		e.To.Email != "nora@globex.com" || e.Subject == "" || e.Text == "" || !strings.Contains(e.HTML, "<") {
		t.Errorf("preview = %+v", p)
	}
	// Globex's owner is Ada: the email is from the owner TA.
	if e.From.Email != "admin@tend.test" || !strings.HasPrefix(e.Headers["List-Unsubscribe"], "<https://tend.test/u/") ||
		e.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("from %v, headers %v", e.From, e.Headers)
	}
	if !strings.Contains(e.Text, "Nora") {
		t.Errorf("text does not greet Nora:\n%s", e.Text)
	}
	// Nothing is sent or recorded.
	if n := fx.count(t, store.OutboxFilter{Campaign: "release_notes"}); n != 0 {
		t.Errorf("the preview queued %d messages", n)
	}
	// The links in it act for the contact: admins and managers only.
	for _, who := range []string{"viewer", "ta"} {
		wantError(t, fx.do(t, who, "GET", path+"?template=release_notes&account=2&contact=2", ""), 403, "", "")
	}
	for _, tc := range []struct {
		query          string
		status         int
		field, message string
	}{
		{"?account=2&contact=2", 400, "template", "release_notes sends release_notes"},
		{"?template=admin_welcome&account=2&contact=2", 422, "template", `"admin_welcome" is not a template release_notes sends`},
		{"?template=release_notes&contact=2", 400, "account", "give ?account=ID"},
		{"?template=release_notes&account=2&contact=nora", 400, "contact", `"nora" is not a contact id`},
		{"?template=release_notes&account=99&contact=2", 404, "account", "account 99 not found"},
		{"?template=release_notes&account=2&contact=99", 404, "contact", "contact 99 not found"},
		// Jane is Acme's.
		{"?template=release_notes&account=2&contact=1", 404, "contact", "not one of account 2's"},
		{"?template=release_notes&account=2&contact=2&html=1", 400, "html", "not a parameter"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			wantError(t, fx.do(t, "admin", "GET", path+tc.query, ""), tc.status, tc.field, tc.message)
		})
	}
	wantError(t, fx.do(t, "admin", "GET", "/api/v1/campaigns/nope/preview?template=x&account=2&contact=2", ""), 404, "", `"nope"`)
}

// count counts the outbox's messages under a filter.
func (fx *fixture) count(t *testing.T, f store.OutboxFilter) int {
	t.Helper()
	counts, err := fx.st.CountMessages(context.Background(), f)
	must(t, err)
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func TestSurveyAnswersAPI(t *testing.T) {
	fx := newCampaignFixture(t)
	ctx := context.Background()
	for _, a := range []store.SurveyAnswer{
		{Key: "s1", AccountID: 2, ContactID: 3, Campaign: "onboarding_checkin", Rating: 2, Comment: "Search is slow.", WantsHelp: true},
		{Key: "s2", AccountID: 1, ContactID: 1, Campaign: "onboarding_checkin", Rating: 5},
	} {
		_, err := fx.st.RecordSurveyAnswer(ctx, &a)
		must(t, err)
	}
	var list struct{ Data []store.SurveyAnswer }
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers", ""), 200, &list)
	if len(list.Data) != 2 {
		t.Fatalf("answers = %+v", list)
	}
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers?account=2&campaign=onboarding_checkin", ""), 200, &list)
	if len(list.Data) != 1 || list.Data[0].Rating != 2 || !list.Data[0].WantsHelp || list.Data[0].ContactEmail != "pat@globex.com" ||
		list.Data[0].AccountName != "Globex" {
		t.Errorf("Globex's answers = %+v", list)
	}
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/accounts/1/survey-answers", ""), 200, &list)
	if len(list.Data) != 1 || list.Data[0].Rating != 5 {
		t.Errorf("Acme's answers = %+v", list)
	}
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers?campaign=release_notes", ""), 200, &list)
	if len(list.Data) != 0 {
		t.Errorf("release notes answers = %+v", list)
	}
	// Pat unsubscribed with the link in a check-in email (the unsubscribe
	// page's entry); Legal was added by hand.
	for _, s := range []store.Suppression{
		{Address: "pat@globex.com", Reason: store.SuppressUnsubscribed, Detail: "unsubscribed with the link in an email of campaign onboarding_checkin"},
		{Address: "legal@globex.com", Reason: store.SuppressManual, Detail: "unsubscribed with the link in an email of campaign onboarding_checkin"},
	} {
		_, err := fx.st.AddSuppression(ctx, &s)
		must(t, err)
	}
	var c campaignJSON
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns/onboarding_checkin", ""), 200, &c)
	if c.Stats.SurveyAnswers != 2 || c.Stats.Unsubscribed != 1 {
		t.Errorf("check-in stats = %+v", c.Stats)
	}
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers?campaign=nope", ""), 400, "campaign", `"nope"`)
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers?account=-1", ""), 400, "account", `"-1"`)
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/survey-answers?limit=5000", ""), 400, "limit", "")
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/accounts/99/survey-answers", ""), 404, "", "account")
	wantError(t, fx.do(t, "viewer", "GET", "/api/v1/accounts/1/survey-answers?account=1", ""), 400, "account", "not a parameter")
}

// The outbox's messages: the release notes to Globex's two contacts, a
// failed one, and a Slack notice whose webhook URL is a secret.
func TestOutboxAPI(t *testing.T) {
	fx := newCampaignFixture(t)
	ctx := context.Background()
	decode(t, fx.do(t, "admin", "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 200, &struct{}{})
	fx.assess(t)
	slack := outbox.NewSlack("test:slack:1", "https://hooks.slack.com/services/T0/B0/sekrit", "Globex turned red", nil)
	must(t, fx.st.EnqueueMessages(ctx, []*store.OutboxMessage{slack}))

	for _, who := range []string{"viewer", "ta"} {
		wantError(t, fx.do(t, who, "GET", "/api/v1/outbox", ""), 403, "", "")
	}
	var page outboxPage
	decode(t, fx.do(t, "manager", "GET", "/api/v1/outbox?campaign=release_notes", ""), 200, &page)
	if len(page.Messages) != 2 || page.Counts["queued"] != 2 || len(page.Counts) != len(store.Statuses) {
		t.Fatalf("outbox = %+v", page)
	}
	for _, m := range page.Messages {
		if m.Email != nil || m.Campaign != "release_notes" || m.Step != "announcement" || *m.AccountID != 2 {
			t.Errorf("listed message %+v", m)
		}
	}
	decode(t, fx.do(t, "manager", "GET", "/api/v1/outbox?q=nora&account=2&channel=email", ""), 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].Recipient != "nora@globex.com" {
		t.Fatalf("nora's = %+v", page)
	}
	nora := page.Messages[0].ID

	var m store.OutboxMessage
	decode(t, fx.do(t, "manager", "GET", fmt.Sprintf("/api/v1/outbox/%d", nora), ""), 200, &m)
	if m.Email == nil || m.Email.To.Email != "nora@globex.com" || m.Email.Text == "" || m.Email.MessageID == "" ||
		m.Email.Headers["List-Unsubscribe"] == "" {
		t.Errorf("message = %+v", m)
	}
	r := fx.do(t, "admin", "GET", fmt.Sprintf("/api/v1/outbox/%d", slack.ID), "")
	decode(t, r, 200, &m)
	if m.Slack == nil || m.Slack.URL != "https://hooks.slack.com/…" || strings.Contains(string(r.body), "sekrit") {
		t.Errorf("slack message = %s", r.body)
	}

	// A queued message is not retried; a failed one is queued again.
	wantError(t, fx.do(t, "manager", "POST", fmt.Sprintf("/api/v1/outbox/%d/retry", nora), ""), 409, "", "")
	// The store's clock is the real one: the messages are due now.
	claimed, err := fx.st.ClaimMessages(ctx, time.Now(), time.Minute, 10)
	must(t, err)
	for _, c := range claimed {
		if c.ID == nora {
			_, err := fx.st.RecordDelivery(ctx, store.Delivery{ID: c.ID, Attempt: c.Attempts, Outcome: store.OutcomeFailed, At: fixtureNow,
				Error: "550 mailbox unavailable"})
			must(t, err)
		}
	}
	decode(t, fx.do(t, "manager", "GET", "/api/v1/outbox?status=failed", ""), 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].ID != nora || page.Messages[0].LastError != "550 mailbox unavailable" || page.Counts["failed"] != 1 {
		t.Fatalf("failed = %+v", page)
	}
	wantError(t, fx.do(t, "ta", "POST", fmt.Sprintf("/api/v1/outbox/%d/retry", nora), ""), 403, "", "")
	decode(t, fx.do(t, "manager", "POST", fmt.Sprintf("/api/v1/outbox/%d/retry", nora), ""), 200, &m)
	if m.ID != nora || m.Status != "queued" {
		t.Errorf("retried = %+v", m)
	}

	for _, tc := range []struct {
		method, path   string
		status         int
		field, message string
	}{
		{"GET", "/api/v1/outbox?status=lost", 400, "status", `"lost"`},
		{"GET", "/api/v1/outbox?channel=fax", 400, "channel", `"fax"`},
		{"GET", "/api/v1/outbox?account=acme", 400, "account", `"acme"`},
		{"GET", "/api/v1/outbox?account_id=2", 400, "account_id", "not a parameter"},
		{"GET", "/api/v1/outbox?limit=501", 400, "limit", "between 1 and 500"},
		{"GET", "/api/v1/outbox?cursor=forged", 400, "cursor", ""},
		{"GET", "/api/v1/outbox/999", 404, "", ""},
		{"GET", "/api/v1/outbox/x", 400, "id", `"x"`},
		{"POST", "/api/v1/outbox/999/retry", 404, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantError(t, fx.do(t, "manager", tc.method, tc.path, ""), tc.status, tc.field, tc.message)
		})
	}
}

func TestSuppressionsAPI(t *testing.T) {
	fx := newCampaignFixture(t)
	for _, tc := range []struct{ as, method, path, body string }{
		{"ta", "GET", "/api/v1/suppressions", ""},
		{"viewer", "POST", "/api/v1/suppressions", `{"address": "x@globex.com"}`},
		{"ta", "DELETE", "/api/v1/suppressions/x@globex.com", ""},
	} {
		wantError(t, fx.do(t, tc.as, tc.method, tc.path, tc.body), 403, "", "")
	}
	var s store.Suppression
	decode(t, fx.do(t, "manager", "POST", "/api/v1/suppressions", `{"address": " Legal@Globex.com ", "detail": "asked by phone"}`), 201, &s)
	if s.Address != "legal@globex.com" || s.Reason != "manual" || s.Detail != "added by mo@tend.test: asked by phone" {
		t.Errorf("added %+v", s)
	}
	// Again: the first entry stays.
	decode(t, fx.do(t, "admin", "POST", "/api/v1/suppressions", `{"address": "legal@globex.com"}`), 200, &s)
	if s.Detail != "added by mo@tend.test: asked by phone" {
		t.Errorf("again: %+v", s)
	}
	var page store.SuppressionPage
	decode(t, fx.do(t, "manager", "GET", "/api/v1/suppressions?reason=manual&q=globex", ""), 200, &page)
	if len(page.Suppressions) != 1 || page.Suppressions[0].Address != "legal@globex.com" {
		t.Errorf("list = %+v", page)
	}
	// Pat is suppressed now: the release notes reach Nora only, and Pat's
	// message is stored as suppressed.
	decode(t, fx.do(t, "manager", "POST", "/api/v1/suppressions", `{"address": "pat@globex.com"}`), 201, &s)
	decode(t, fx.do(t, "admin", "POST", "/api/v1/campaigns/release_notes/broadcast", ""), 200, &struct{}{})
	fx.assess(t)
	var c campaignJSON
	decode(t, fx.do(t, "viewer", "GET", "/api/v1/campaigns/release_notes", ""), 200, &c)
	if c.Stats.Messages["queued"] != 1 || c.Stats.Messages["suppressed"] != 1 {
		t.Errorf("stats = %+v", c.Stats)
	}
	var pats outboxPage
	decode(t, fx.do(t, "manager", "GET", "/api/v1/outbox?status=suppressed", ""), 200, &pats)
	if len(pats.Messages) != 1 || pats.Messages[0].Recipient != "pat@globex.com" {
		t.Fatalf("suppressed = %+v", pats)
	}
	// Still suppressed: not retried. Off the list: retried.
	retry := fmt.Sprintf("/api/v1/outbox/%d/retry", pats.Messages[0].ID)
	wantError(t, fx.do(t, "manager", "POST", retry, ""), 409, "", "")
	if r := fx.do(t, "manager", "DELETE", "/api/v1/suppressions/Pat@Globex.com", ""); r.status != 204 || len(r.body) != 0 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	var m store.OutboxMessage
	decode(t, fx.do(t, "manager", "POST", retry, ""), 200, &m)
	if m.Status != "queued" {
		t.Errorf("retried = %+v", m)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		field, message     string
	}{
		{"POST", "/api/v1/suppressions", `{"address": ""}`, 422, "address", "is required"},
		{"POST", "/api/v1/suppressions", `{}`, 422, "address", "is required"},
		{"POST", "/api/v1/suppressions", `{"address": "not an address"}`, 422, "address", "not an email address"},
		{"POST", "/api/v1/suppressions", `{"address": "Pat <pat@globex.com>"}`, 422, "address", "not an email address"},
		{"POST", "/api/v1/suppressions", `{"adress": "x@globex.com"}`, 400, "adress", "not a field"},
		{"POST", "/api/v1/suppressions", `{"address": "x@globex.com", "reason": "bounced"}`, 400, "reason", "not a field"},
		{"POST", "/api/v1/suppressions", `{"address": "x@globex.com", "detail": "` + strings.Repeat("x", 600) + `"}`, 422, "detail", "500"},
		{"GET", "/api/v1/suppressions?reason=angry", "", 400, "reason", `"angry"`},
		{"GET", "/api/v1/suppressions?limit=0", "", 400, "limit", ""},
		{"DELETE", "/api/v1/suppressions/pat@globex.com", "", 404, "address", "pat@globex.com is not on the suppression list"},
		{"DELETE", "/api/v1/suppressions/nobody", "", 422, "address", `"nobody" is not an email address`},
	} {
		t.Run(tc.method+" "+tc.body, func(t *testing.T) {
			wantError(t, fx.do(t, "manager", tc.method, tc.path, tc.body), tc.status, tc.field, tc.message)
		})
	}
}
