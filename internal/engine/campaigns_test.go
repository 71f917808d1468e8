package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/links"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/outbox/smtptest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// campaignEnv runs the default workspace's campaigns — the handbook's —
// on a Scaled Success account, through the real outbox and an SMTP worker
// to an in-process SMTP server.
type campaignEnv struct {
	*assessEnv
	a      *engine.Assessor
	ta     team.User
	acme   account.Account
	people map[string]account.Contact
	sink   *smtptest.Sink
	worker *outbox.Worker
}

const linkBase = "https://tend.example"

func newCampaignEnv(t *testing.T, entitlements []string) *campaignEnv {
	t.Helper()
	e := &campaignEnv{assessEnv: newAssessEnv(t), people: map[string]account.Contact{}}
	e.ta = team.User{Email: "tara@tend.test", Name: "Tara Advisor", Role: team.TA}
	if err := e.st.CreateUser(e.ctx, &e.ta); err != nil {
		t.Fatal(err)
	}
	// Small enough for the Scaled Success program (Commercial, ARR under
	// the managed threshold); it closes today, 2026-03-10.
	e.acme = account.Account{Name: "Acme", ExternalID: "acme", EstimatedDevelopers: 80, ARR: 12_000, Seats: 50, OwnerID: &e.ta.ID,
		ExpectedCloseDate: date.MustParse("2026-03-10"), CloseDate: date.MustParse("2026-03-10"), RenewalDate: date.MustParse("2027-03-10"),
		Entitlements: entitlements}
	if err := e.st.CreateAccount(e.ctx, &e.acme, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []account.Contact{
		{Name: "Ian Admin", Email: "ian@acme.example", Roles: []string{account.RoleInstanceAdmin}},
		{Name: "Oona Optout", Email: "oona@acme.example", Roles: []string{account.RoleInstanceAdmin}, Unsubscribed: true},
		{Name: "Pat Program", Email: "pat@acme.example", Roles: []string{account.RoleProgramContact}},
		{Name: "Nobody Special", Email: "nobody@acme.example"},
	} {
		c.AccountID = e.acme.ID
		if err := e.st.CreateContact(e.ctx, &c); err != nil {
			t.Fatal(err)
		}
		e.people[c.Email] = c
	}
	e.a = e.newAssessor()
	e.sink = smtptest.New(t)
	e.worker = &outbox.Worker{Store: e.st, Clock: e.clock.Now, Poll: 10 * time.Millisecond, Concurrency: 2,
		Senders: map[string]outbox.Sender{store.ChannelEmail: e.sink.Sender(t, store.Address{Name: "Tend", Email: "success@tend.test"})}}
	return e
}

// newAssessor makes an assessor of e.ws that runs the playbooks' actions
// and the campaigns through the outbox.
func (e *campaignEnv) newAssessor() *engine.Assessor {
	q := outbox.NewQueue(e.st, store.Address{Name: "Acme Success at Tend", Email: "success@tend.test"})
	return engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: e.clock.Now,
		Playbooks: &engine.PlaybookConfig{
			Effects:   &engine.StoreEffects{Store: e.st, Workspace: e.ws, Now: e.clock.Now, Enqueue: q.Enqueue},
			Campaigns: &engine.CampaignConfig{Enqueue: q.Enqueue, From: store.Address{Name: "Tend", Email: "success@tend.test"}, LinkBase: linkBase},
		}})
}

// deliver runs the worker until every queued email is sent, then stops it.
func (e *campaignEnv) deliver() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.worker.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := e.st.CountMessages(e.ctx, store.OutboxFilter{Channel: store.ChannelEmail})
		if err != nil {
			e.t.Fatal(err)
		}
		if n[store.StatusQueued]+n[store.StatusSending] == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("emails still queued after 10 s: %v", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		e.t.Fatal(err)
	}
}

// received is one email the SMTP server got, decoded.
type received struct {
	to, subject, text, html string
	header                  mail.Header
}

func (e *campaignEnv) received() []received {
	e.t.Helper()
	var out []received
	for _, m := range e.sink.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			e.t.Fatal(err)
		}
		r := received{to: strings.Join(m.To, ","), header: msg.Header}
		r.subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			e.t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				e.t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			body := decodeQP(p.Header.Get("Content-Transfer-Encoding"), b)
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				r.html = body
			} else {
				r.text = body
			}
		}
		out = append(out, r)
	}
	return out
}

// day steps the engine to 9:00 of each day up to d.
func (e *campaignEnv) until(d string) {
	e.t.Helper()
	end := date.MustParse(d).Time(time.UTC).Add(9 * time.Hour)
	for e.clock.Now().Before(end) {
		e.clock.Advance(24 * time.Hour)
		e.step(e.a)
	}
}

// 002, "Digital campaigns": admin onboarding is "sent to anyone tagged as
// an Instance Admin on the account" and runs "for 60 days from contract
// close"; end-user onboarding goes to the program contacts "at the first
// usage ping", with a variant for what the customer bought. An
// unsubscribed admin gets nothing; every campaign email carries the
// one-click unsubscribe headers (RFC 8058) and a stable Message-ID.
func TestCampaignEmailsOverSMTP(t *testing.T) {
	e := newCampaignEnv(t, []string{"code_search"})
	e.step(e.a) // the close date has come: admin onboarding's welcome
	// The product pings for the first time.
	if err := e.st.AddSignals(e.ctx, []store.Signal{{AccountID: e.acme.ID, Kind: "first_usage_ping", At: e.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	e.step(e.a)
	e.deliver()
	got := e.received()
	var lines []string
	for _, r := range got {
		lines = append(lines, r.to+" | "+r.subject)
	}
	slices.Sort(lines)
	want := []string{
		"ian@acme.example | Welcome aboard: getting Acme's instance ready",
		"pat@acme.example | " + subjectOf(t, e, "end_user_kit_code_search"),
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("received:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), strings.Join(want, "\n  "))
	}
	secret, err := e.st.Secret(e.ctx, links.SecretName)
	if err != nil {
		t.Fatal(err)
	}
	signer := links.New(secret, linkBase)
	for _, r := range got {
		to := e.people[r.to]
		if from := r.header.Get("From"); !strings.Contains(from, "tara@tend.test") {
			t.Errorf("%s: From %q, want the owner TA", r.to, from)
		}
		unsub := signer.UnsubscribeURL(e.acme.ID, to.ID, map[string]string{"ian@acme.example": "admin_onboarding",
			"pat@acme.example": "end_user_onboarding"}[r.to])
		if h := r.header.Get("List-Unsubscribe"); h != "<"+unsub+">" {
			t.Errorf("%s: List-Unsubscribe %q, want <%s>", r.to, h, unsub)
		}
		if h := r.header.Get("List-Unsubscribe-Post"); h != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe-Post %q", r.to, h)
		}
		if !strings.Contains(r.text, unsub) || !strings.Contains(r.html, unsub) {
			t.Errorf("%s: the bodies lack the unsubscribe link", r.to)
		}
		if !strings.Contains(r.text, "Acme") || !strings.Contains(r.html, "<p>") {
			t.Errorf("%s: bodies\n%s\n%s", r.to, r.text, r.html)
		}
		if id := r.header.Get("Message-Id"); !strings.HasSuffix(id, "@tend.test>") {
			t.Errorf("%s: Message-ID %q", r.to, id)
		}
	}
	// Each email's message in the outbox names its campaign, step, account
	// and contact.
	page, err := e.st.ListMessages(e.ctx, store.OutboxFilter{Campaign: "end_user_onboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].Step != "rollout_kit" || *page.Messages[0].ContactID != e.people["pat@acme.example"].ID ||
		page.Messages[0].Status != store.StatusSent {
		t.Errorf("outbox %+v", page.Messages)
	}

	// Days 7, 21, 42 and 60 of admin onboarding, and the rollout help two
	// weeks after the kit; nothing twice.
	e.until("2026-05-10")
	e.deliver()
	var all []string
	for _, r := range e.received() {
		all = append(all, r.to+" | "+r.subject)
	}
	// 002: the admin emails on days 0, 7, 21, 42 and 60; the rollout help
	// two weeks after the kit; the 30-day check-in (with its survey) to the
	// program contact and the instance admin.
	wantAll := []string{
		"ian@acme.example | Welcome aboard: getting Acme's instance ready",
		"pat@acme.example | Your code search rollout kit for Acme",
		"ian@acme.example | Week two: all of Acme's code, searchable and navigable",
		"pat@acme.example | How is the rollout going at Acme?",
		"ian@acme.example | Week three: users, permissions and seats at Acme",
		"ian@acme.example | 30 days in: how is it going at Acme?",
		"ian@acme.example | Keeping Acme's instance healthy",
		"pat@acme.example | 30 days in: how is it going at Acme?",
		"ian@acme.example | 60 days in: Acme's admin checklist",
	}
	// The worker sends in parallel: compare as sets.
	slices.Sort(all)
	slices.Sort(wantAll)
	if !slices.Equal(all, wantAll) {
		t.Errorf("emails by day 61:\n  %s\nwant:\n  %s", strings.Join(all, "\n  "), strings.Join(wantAll, "\n  "))
	}
	for _, r := range e.received() {
		if strings.HasPrefix(r.subject, "30 days in") && !strings.Contains(r.text, linkBase+"/s/") {
			t.Errorf("the check-in to %s has no survey link:\n%s", r.to, r.text)
		}
	}
	seen := map[string]int{}
	for _, l := range all {
		seen[l]++
		if seen[l] > 1 {
			t.Errorf("sent twice: %s", l)
		}
		if strings.HasPrefix(l, "oona@") || strings.HasPrefix(l, "nobody@") {
			t.Errorf("sent to someone it should not: %s", l)
		}
	}
	enr, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: "admin_onboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if len(enr.Enrollments) != 1 || enr.Enrollments[0].Status != store.EnrollmentDone || enr.Enrollments[0].Sent != 5 {
		t.Errorf("admin onboarding enrollment %+v", enr.Enrollments)
	}
}

func subjectOf(t *testing.T, e *campaignEnv, template string) string {
	t.Helper()
	pat := e.people["pat@acme.example"]
	em, err := e.a.PreviewEmail(e.ctx, "", template, e.acme.ID, pat.ID)
	if err != nil {
		t.Fatal(err)
	}
	return em.Subject
}

// The variant follows what the customer bought (002: "three entitlement
// variants").
func TestCampaignVariants(t *testing.T) {
	for _, tc := range []struct {
		ents     []string
		template string
	}{
		{[]string{"code_search"}, "end_user_kit_code_search"},
		{[]string{"ai_assistant"}, "end_user_kit_ai_assistant"},
		{[]string{"code_search", "ai_assistant"}, "end_user_kit_both"},
	} {
		t.Run(strings.Join(tc.ents, "+"), func(t *testing.T) {
			e := newCampaignEnv(t, tc.ents)
			e.step(e.a)
			if err := e.st.AddSignals(e.ctx, []store.Signal{{AccountID: e.acme.ID, Kind: "first_usage_ping", At: e.clock.Now()}}); err != nil {
				t.Fatal(err)
			}
			e.step(e.a)
			page, err := e.st.ListMessages(e.ctx, store.OutboxFilter{Campaign: "end_user_onboarding"})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Messages) != 1 {
				t.Fatalf("messages %+v", page.Messages)
			}
			if want := subjectOf(t, e, tc.template); page.Messages[0].Subject != want {
				t.Errorf("subject %q, want %s's %q", page.Messages[0].Subject, tc.template, want)
			}
		})
	}
}

// A crash between queueing a step's emails and saving the enrollment
// plans the same step again on restart: the outbox keeps one message per
// key, so nothing is sent twice. The runner is simulated by a second
// assessor on the same store after the first one's state save failed.
func TestCampaignRestartSendsOnce(t *testing.T) {
	e := newCampaignEnv(t, []string{"code_search"})
	e.step(e.a)
	page, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: "admin_onboarding"})
	if err != nil || len(page.Enrollments) != 1 {
		t.Fatalf("enrollments %+v, %v", page, err)
	}
	// Put the enrollment back where it was before its first plan, as if
	// the save after the enqueue never happened.
	en := page.Enrollments[0]
	en.Step, en.Seq, en.WakeAt, en.Sent = "", 0, e.clock.Now(), 0
	if saved, err := e.st.SaveEnrollments(e.ctx, []*store.Enrollment{&en}); err != nil || !saved[0] {
		t.Fatal(saved, err)
	}
	restarted := engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: e.clock.Now,
		Playbooks: &engine.PlaybookConfig{Campaigns: &engine.CampaignConfig{
			Enqueue: outbox.NewQueue(e.st, store.Address{Email: "success@tend.test"}).Enqueue, LinkBase: linkBase}}})
	e.step(restarted)
	e.deliver()
	if got := e.received(); len(got) != 1 {
		t.Fatalf("%d emails after a replan, want 1", len(got))
	}
	again, err := e.st.GetEnrollment(e.ctx, en.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Step != "week_one" || again.Sent != 0 {
		// Sent counts only messages new to the outbox: the replan's was not.
		t.Errorf("after the replan %+v", again)
	}
}

// decodeQP decodes a body part's transfer encoding.
func decodeQP(enc string, b []byte) string {
	if strings.EqualFold(enc, "quoted-printable") {
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err == nil {
			return string(out)
		}
	}
	return string(b)
}

// A campaign's entry is a playbook firing whose enrollment is made in the
// transaction that records it: the firing log says why it fired and what
// its enroll action did, nothing is left to claim, a restart enrolls nobody
// twice, and a re-entry rule that refuses is recorded as the action's
// result. Health enablement (002) takes an account at most once in 90 days.
func TestCampaignEntryEnrollsWithItsFiring(t *testing.T) {
	e := newCampaignEnv(t, nil)
	e.step(e.a) // the close date: admin onboarding
	firings := func(pb string) []store.Firing {
		t.Helper()
		page, err := e.st.ListFirings(e.ctx, store.FiringFilter{Playbook: pb, AccountID: e.acme.ID})
		if err != nil {
			t.Fatal(err)
		}
		return page.Firings
	}
	enrollments := func(c string) []store.Enrollment {
		t.Helper()
		page, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: c, AccountID: e.acme.ID})
		if err != nil {
			t.Fatal(err)
		}
		return page.Enrollments
	}
	fs, es := firings("campaign.admin_onboarding"), enrollments("admin_onboarding")
	if len(fs) != 1 || len(fs[0].Actions) != 1 || len(es) != 1 {
		t.Fatalf("firings %+v, enrollments %+v", fs, es)
	}
	act := fs[0].Actions[0]
	if want := fmt.Sprintf("enrolled in admin_onboarding (enrollment %d)", es[0].ID); act.Kind != "enroll" || act.Status != store.ActionDone ||
		act.Result != want || act.DoneAt == nil {
		t.Errorf("the entry's action %+v, want done: %q", act, want)
	}
	var detail engine.FiringDetail
	if err := json.Unmarshal(fs[0].Detail, &detail); err != nil || detail.Condition == nil || !detail.Condition.Holds ||
		detail.Condition.Source != `account.program == "Scaled Success"` || !strings.Contains(detail.Condition.String(), `account.program = "Scaled Success"`) {
		t.Errorf("why it fired: %s (%v)", fs[0].Detail, err)
	}
	if !strings.HasPrefix(es[0].Entry, "trigger of admin_onboarding: ") {
		t.Errorf("entry %q", es[0].Entry)
	}
	if due, err := e.st.ClaimDueActions(e.ctx, e.clock.Now().Add(time.Hour), time.Minute, 100); err != nil || len(due) != 0 {
		t.Errorf("actions left to claim: %+v, %v", due, err)
	}
	// A restart catches up on the day: the firing exists, nobody enters
	// twice.
	e.step(engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: e.clock.Now,
		Playbooks: &engine.PlaybookConfig{Campaigns: &engine.CampaignConfig{Enqueue: outbox.NewQueue(e.st, store.Address{Email: "s@tend.test"}).Enqueue}}}))
	if fs, es := firings("campaign.admin_onboarding"), enrollments("admin_onboarding"); len(fs) != 1 || len(es) != 1 {
		t.Errorf("after a restart: %d firings, %d enrollments; want 1 and 1", len(fs), len(es))
	}

	// Red (the TA's pulse is the only health input): health enablement.
	e.setTraits(e.acme.ID, "ta_pulse", "Poor")
	e.clock.Advance(time.Hour)
	e.step(e.a)
	if es := enrollments("health_enablement"); len(es) != 1 {
		t.Fatalf("health enablement enrollments after red: %+v (health %v)", es, e.get(e.acme.ID).HealthColor)
	}
	// Green, then red again within 90 days: the entry fires again, and
	// its action says why the account did not enter.
	e.setTraits(e.acme.ID, "ta_pulse", "Healthy")
	e.clock.Advance(time.Hour)
	e.step(e.a)
	e.setTraits(e.acme.ID, "ta_pulse", "Poor")
	e.clock.Advance(time.Hour)
	e.step(e.a)
	fs = firings("campaign.health_enablement")
	if len(fs) != 2 || len(enrollments("health_enablement")) != 1 {
		t.Fatalf("health enablement: %d firings, %d enrollments; want 2 and 1", len(fs), len(enrollments("health_enablement")))
	}
	if a := fs[0].Actions[0]; a.Status != store.ActionDone || a.Result != "not enrolled in health_enablement: entered 1 times in 90 days already" {
		t.Errorf("the second entry's action %+v", a)
	}
	if a := fs[1].Actions[0]; a.Status != store.ActionDone || !strings.HasPrefix(a.Result, "enrolled in health_enablement (enrollment ") {
		t.Errorf("the first entry's action %+v", a)
	}
}

// An entry is planned in its step without being read back, unless an
// unenroll of that step ended it: then it sends nothing.
func TestCampaignEntryUnenrolledInItsStep(t *testing.T) {
	e := newCampaignEnv(t, nil)
	e.ws = playbookWorkspace(t, map[string]string{"no_onboarding": `name: No onboarding email
trigger:
  when: account.program == "Scaled Success"
actions:
  - unenroll: admin_onboarding
`})
	e.a = e.newAssessor()
	e.step(e.a) // the close date: admin onboarding enters, and is ended
	page, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: "admin_onboarding", AccountID: e.acme.ID})
	if err != nil {
		t.Fatal(err)
	}
	if es := page.Enrollments; len(es) != 1 || es[0].Status != store.EnrollmentExited || es[0].ExitReason != "removed by playbook no_onboarding" {
		t.Fatalf("enrollments %+v, want one ended by the playbook", es)
	}
	if n, err := e.st.CountMessages(e.ctx, store.OutboxFilter{Channel: store.ChannelEmail}); err != nil || n[store.StatusQueued] != 0 {
		t.Errorf("emails queued %v (%v), want none", n, err)
	}

	// Without the unenroll the same entry is planned in its step: the
	// welcome email is queued at once.
	f := newCampaignEnv(t, nil)
	f.step(f.a)
	if n, err := f.st.CountMessages(f.ctx, store.OutboxFilter{Channel: store.ChannelEmail}); err != nil || n[store.StatusQueued] == 0 {
		t.Errorf("emails queued %v (%v), want the admin onboarding's first", n, err)
	}
}
