package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
)

// The scenario tests run the default workspace's playbooks — the
// handbook's — with their real effects in the store, drive the clock
// through the dates, and assert the tasks, docs, notifications and outbox
// messages they make, and that nothing is made twice.

type scenario struct {
	*assessEnv
	a            *engine.Assessor
	ta, ae, ce   team.User
	taID, aeID   *int64
	ceID         *int64
	firingsCount map[string]int
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	s := &scenario{assessEnv: newAssessEnv(t), firingsCount: map[string]int{}}
	for _, u := range []*team.User{
		{Email: "tara@tend.test", Name: "Tara TA", Role: team.TA},
		{Email: "alex@tend.test", Name: "Alex AE", Role: team.AE},
		{Email: "cole@tend.test", Name: "Cole CE", Role: team.CE},
	} {
		if err := s.st.CreateUser(s.ctx, u); err != nil {
			t.Fatal(err)
		}
		switch u.Role {
		case team.TA:
			s.ta = *u
		case team.AE:
			s.ae = *u
		default:
			s.ce = *u
		}
	}
	s.taID, s.aeID, s.ceID = &s.ta.ID, &s.ae.ID, &s.ce.ID
	enqueue := func(ctx context.Context, ms ...*store.OutboxMessage) error {
		for _, m := range ms {
			if m.Email != nil {
				m.Email.From = store.Address{Name: "Tend", Email: "tend@tend.test"}
				m.Email.MessageID = fmt.Sprintf("%d.%s@tend.test", len(m.Key), strings.NewReplacer(":", ".", " ", "").Replace(m.Key))
			}
		}
		return s.st.EnqueueMessages(ctx, ms)
	}
	s.a = engine.NewAssessor(engine.AssessorConfig{Store: s.st, Workspace: s.ws, Now: s.clock.Now,
		Playbooks: &engine.PlaybookConfig{
			Effects: &engine.StoreEffects{Store: s.st, Workspace: s.ws, Now: s.clock.Now, Enqueue: enqueue,
				SlackURL: "https://hooks.slack.test/T0/B0", WebhookURL: "https://hooks.tend.test/in", WebhookSecret: "TEND_WEBHOOK_SECRET_TEST"},
			OnFiring: func(f store.Firing) { s.firingsCount[f.Playbook]++ },
		}})
	s.step(s.a)
	return s
}

func (s *scenario) account(a account.Account) account.Account {
	s.t.Helper()
	if err := s.st.CreateAccount(s.ctx, &a, account.System("test", "")); err != nil {
		s.t.Fatal(err)
	}
	return a
}

// until steps the engine a day at a time up to and including day d (9:00).
func (s *scenario) until(d string) {
	s.t.Helper()
	end := date.MustParse(d).Time(time.UTC).Add(9 * time.Hour)
	for s.clock.Now().Before(end) {
		s.clock.Advance(24 * time.Hour)
		s.step(s.a)
	}
}

// tasks lists the account's tasks a playbook made, as "assignee: title".
func (s *scenario) tasks(accountID int64, pb string) []work.Task {
	s.t.Helper()
	page, err := s.st.ListTasks(s.ctx, work.TaskFilter{AccountID: accountID, Source: "playbook " + pb, Limit: 500})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Tasks
}

func (s *scenario) docs(accountID int64, template string) []work.Doc {
	s.t.Helper()
	all, err := s.st.ListDocs(s.ctx, accountID)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []work.Doc
	for _, d := range all {
		if d.Template == template {
			out = append(out, d)
		}
	}
	return out
}

func (s *scenario) inbox(u team.User) []work.Notification {
	s.t.Helper()
	page, err := s.st.ListNotifications(s.ctx, work.NotificationFilter{UserID: u.ID, Limit: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Notifications
}

func (s *scenario) outbox(channel string) []store.OutboxMessage {
	s.t.Helper()
	page, err := s.st.ListMessages(s.ctx, store.OutboxFilter{Channel: channel, Limit: 500})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Messages
}

func wantCount[T any](t *testing.T, what string, got []T, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d, want %d: %+v", what, len(got), n, got)
	}
}

// TestScenarioHandoffAndLicense: 001 "Pre-to-Post Sales Handoff": "35 days
// before expected close, Vitally creates the Handoff Doc and a task for the
// CE to fill it in and schedule the knowledge transfer with TA, AE (and IE
// when involved)"; at close, "TA issues the production license". And 004:
// the TA hears when assigned.
func TestScenarioHandoffAndLicense(t *testing.T) {
	s := newScenario(t)
	acme := s.account(account.Account{Name: "Acme", EstimatedDevelopers: 2000, ARR: 120_000, Seats: 200,
		ExpectedCloseDate: date.MustParse("2026-04-20"), AEID: s.aeID, CEID: s.ceID})
	s.until("2026-03-15")
	wantCount(t, "handoff tasks 36 days before", s.tasks(acme.ID, "handoff"), 0)
	s.until("2026-03-16") // 35 days before 2026-04-20
	tasks := s.tasks(acme.ID, "handoff")
	wantCount(t, "handoff tasks", tasks, 1)
	if tasks[0].AssigneeID == nil || *tasks[0].AssigneeID != s.ce.ID || !strings.Contains(tasks[0].Title, "Handoff Doc") ||
		tasks[0].DueDate != date.MustParse("2026-03-23") {
		t.Errorf("handoff task %+v: want the CE's, due in 7 days", tasks[0])
	}
	wantCount(t, "handoff docs", s.docs(acme.ID, "handoff"), 1)

	// The TA is assigned: the TA hears in Tend and by email.
	if _, err := s.st.ModifyAccount(s.ctx, acme.ID, func(a *account.Account) error { a.OwnerID = s.taID; return nil },
		account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	s.until("2026-03-17")
	in := s.inbox(s.ta)
	wantCount(t, "TA's inbox", in, 1)
	if !strings.Contains(in[0].Title, "You are the Technical Advisor of Acme") {
		t.Errorf("TA notified %q", in[0].Title)
	}
	mails := s.outbox(store.ChannelEmail)
	wantCount(t, "emails", mails, 1)
	if mails[0].Recipient != "tara@tend.test" || !mails[0].Transactional {
		t.Errorf("email %+v", mails[0])
	}

	// The deal closes on the expected day.
	if _, err := s.st.ModifyAccount(s.ctx, acme.ID, func(a *account.Account) error {
		a.CloseDate = date.MustParse("2026-04-20")
		a.RenewalDate = date.MustParse("2027-04-20")
		return nil
	}, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	s.until("2026-04-19")
	wantCount(t, "license tasks before close", s.tasks(acme.ID, "production_license"), 0)
	s.until("2026-04-20")
	lic := s.tasks(acme.ID, "production_license")
	wantCount(t, "license tasks", lic, 1)
	if *lic[0].AssigneeID != s.ta.ID || !strings.Contains(lic[0].Title, "production license") {
		t.Errorf("license task %+v", lic[0])
	}
	// Nothing fires twice: sixty more days, a restart of the engine.
	s.until("2026-05-20")
	s.a = engine.NewAssessor(engine.AssessorConfig{Store: s.st, Workspace: s.ws, Now: s.clock.Now,
		Playbooks: &engine.PlaybookConfig{Effects: &engine.StoreEffects{Store: s.st, Workspace: s.ws, Now: s.clock.Now}}})
	s.until("2026-06-20")
	wantCount(t, "handoff tasks at the end", s.tasks(acme.ID, "handoff"), 1)
	wantCount(t, "handoff docs at the end", s.docs(acme.ID, "handoff"), 1)
	wantCount(t, "license tasks at the end", s.tasks(acme.ID, "production_license"), 1)
	wantCount(t, "TA's inbox at the end", s.inbox(s.ta), 1)
}

// TestScenarioRenewalLighthouse: 004 "Renewal Process Phases": "Vitally
// triggers Health Assessment doc 120 days before renewal"; "If yellow /
// red, elevate to Lighthouse program. If green, monitor"; Renewal Plan:
// "Yellow / Red: TA: Check-in on plan progress, additional corrective action
// weekly".
func TestScenarioRenewalLighthouse(t *testing.T) {
	s := newScenario(t)
	red := s.account(account.Account{Name: "Redwood", EstimatedDevelopers: 800, ARR: 30_000, Seats: 50, OwnerID: s.taID, AEID: s.aeID,
		CloseDate: date.MustParse("2025-07-20"), RenewalDate: date.MustParse("2026-07-20")})
	green := s.account(account.Account{Name: "Greenfield", EstimatedDevelopers: 800, ARR: 30_000, Seats: 50, OwnerID: s.taID, AEID: s.aeID,
		CloseDate: date.MustParse("2025-07-20"), RenewalDate: date.MustParse("2026-07-20")})
	s.until("2026-03-21")
	wantCount(t, "assessments 121 days before", s.docs(red.ID, "health_assessment"), 0)
	s.until("2026-03-22") // 120 days before 2026-07-20
	for _, a := range []account.Account{red, green} {
		wantCount(t, a.Name+" health assessment docs", s.docs(a.ID, "health_assessment"), 1)
		tasks := s.tasks(a.ID, "renewal")
		wantCount(t, a.Name+" renewal tasks", tasks, 1)
		if *tasks[0].AssigneeID != s.ta.ID || !strings.Contains(tasks[0].Title, "with Alex AE") {
			t.Errorf("renewal task %+v", tasks[0])
		}
		if got := s.get(a.ID).Stage; got != "4. Renewing" {
			t.Errorf("%s stage %q", a.Name, got)
		}
	}
	rate := func(a account.Account, rating string) {
		t.Helper()
		d := s.docs(a.ID, "health_assessment")[0]
		if _, err := s.st.ModifyDoc(s.ctx, d.ID, func(x *work.Doc) error { x.Fields["rating"] = rating; return nil },
			account.Actor{UserID: s.taID, Name: s.ta.Email}); err != nil {
			t.Fatal(err)
		}
	}
	rate(red, "red")
	rate(green, "green")
	s.until("2026-03-23") // a Monday
	wantCount(t, "save plans", s.docs(red.ID, "save_plan"), 1)
	wantCount(t, "green's save plans", s.docs(green.ID, "save_plan"), 0)
	save := s.tasks(red.ID, "lighthouse")
	wantCount(t, "save plan tasks", save, 1)
	if !strings.Contains(save[0].Body, "red") {
		t.Errorf("save plan task body %q does not say the rating", save[0].Body)
	}
	ae := s.inbox(s.ae)
	wantCount(t, "AE's inbox", ae, 1)
	if !strings.Contains(ae[0].Title, "Redwood is in the Lighthouse Program") {
		t.Errorf("AE notified %q", ae[0].Title)
	}
	if notes := s.notes(green.ID); len(notes) != 1 || !strings.Contains(notes[0], "rated green: continue monitoring") {
		t.Errorf("green account's notes %q", notes)
	}
	// Mondays 23 and 30 March, 6 and 13 April: one check-in each, for the
	// red account only.
	s.until("2026-04-18")
	wantCount(t, "weekly check-ins", s.tasks(red.ID, "lighthouse_checkin"), 4)
	wantCount(t, "green's check-ins", s.tasks(green.ID, "lighthouse_checkin"), 0)
	// Editing the rating again within the term makes no second save plan.
	rate(red, "yellow")
	s.until("2026-04-19")
	wantCount(t, "save plans after a second rating", s.docs(red.ID, "save_plan"), 1)
	wantCount(t, "renewal tasks at the end", s.tasks(red.ID, "renewal"), 1)
}

// TestScenarioSeatsAndRed: DESIGN.md §3, from 004 "Seat Utilization": the AE
// hears at 90% and at 100% of seats, once per threshold per term; and 004
// "Red Accounts": when health turns red the owner is alerted.
func TestScenarioSeatsAndRed(t *testing.T) {
	s := newScenario(t)
	acme := s.account(account.Account{Name: "Acme", EstimatedDevelopers: 800, ARR: 30_000, Seats: 100, OwnerID: s.taID, AEID: s.aeID,
		CloseDate: date.MustParse("2025-10-01"), RenewalDate: date.MustParse("2026-10-01")})
	usage := func(seats, score float64) {
		t.Helper()
		if _, err := s.st.SetTraits(s.ctx, []account.TraitWrite{
			{AccountID: acme.ID, Key: "seat_utilization", Value: seats},
			{AccountID: acme.ID, Key: "mau_over_seats", Value: seats},
			{AccountID: acme.ID, Key: "usage_score", Value: score},
		}, account.System("usage", account.SourceComputed)); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Hour)
		s.step(s.a)
	}
	usage(0.85, 0.4)
	if c := s.get(acme.ID).HealthColor; c != "green" {
		t.Fatalf("health %q, want green to start", c)
	}
	wantCount(t, "AE's inbox at 85%", s.inbox(s.ae), 0)
	usage(0.92, 0.4)
	usage(0.95, 0.4)
	ae := s.inbox(s.ae)
	wantCount(t, "AE's inbox at 92% then 95%", ae, 1)
	if !strings.Contains(ae[0].Title, "uses 90% of its seats") {
		t.Errorf("AE notified %q", ae[0].Title)
	}
	usage(1.02, 0.4)
	usage(0.8, 0.4)
	usage(1.05, 0.4)
	wantCount(t, "AE's inbox after 100%, down and up again", s.inbox(s.ae), 2)
	wantCount(t, "emails to the AE", s.outbox(store.ChannelEmail), 2)

	usage(0.3, 0.1)
	if c := s.get(acme.ID).HealthColor; c != "red" {
		t.Fatalf("health %q, want red", c)
	}
	ta := s.inbox(s.ta)
	wantCount(t, "TA's inbox after red", ta, 1)
	if !strings.Contains(ta[0].Title, "Acme turned red") {
		t.Errorf("TA notified %q", ta[0].Title)
	}
	usage(0.2, 0.1)
	wantCount(t, "TA's inbox while still red", s.inbox(s.ta), 1)
}

// TestScenarioSuccessPlanAndQBR: 004 "Account Success Plans": "twice a
// year"; "QBRs": "on a quarterly basis" — for managed accounts only.
func TestScenarioSuccessPlanAndQBR(t *testing.T) {
	s := newScenario(t)
	managed := s.account(account.Account{Name: "Bigco", EstimatedDevelopers: 12_000, ARR: 900_000, Seats: 5000, OwnerID: s.taID,
		AEID: s.aeID, CloseDate: date.MustParse("2025-10-01"), RenewalDate: date.MustParse("2027-10-01")})
	scaled := s.account(account.Account{Name: "Smallco", EstimatedDevelopers: 200, ARR: 20_000, Seats: 50, OwnerID: s.taID,
		AEID: s.aeID, CloseDate: date.MustParse("2025-10-01"), RenewalDate: date.MustParse("2027-10-01")})
	s.step(s.a)
	if p := s.get(managed.ID).Program; p != "Managed" {
		t.Fatalf("Bigco program %q", p)
	}
	if p := s.get(scaled.ID).Program; p != "Scaled Success" {
		t.Fatalf("Smallco program %q", p)
	}
	s.until("2027-01-02")
	// QBRs on 1 April, 1 July, 1 October 2026, 1 January 2027; success
	// plans on 1 July 2026 and 1 January 2027.
	wantCount(t, "QBR docs", s.docs(managed.ID, "qbr"), 4)
	wantCount(t, "QBR tasks", s.tasks(managed.ID, "qbr"), 4)
	wantCount(t, "success plans", s.docs(managed.ID, "success_plan"), 2)
	wantCount(t, "success plan tasks", s.tasks(managed.ID, "success_plan"), 2)
	wantCount(t, "scaled account's QBRs", s.docs(scaled.ID, "qbr"), 0)
	wantCount(t, "scaled account's success plans", s.docs(scaled.ID, "success_plan"), 0)
}

// TestScenarioSurveyHelp: 002 "Onboarding check-in": the survey lets
// customers "Request help from the TA team as desired"; DESIGN.md §3: "a
// reply or low rating tasks the team". A request for help or a rating of 1
// or 2 gives the owner TA a task, once per answer; a good rating does not.
func TestScenarioSurveyHelp(t *testing.T) {
	s := newScenario(t)
	acme := s.account(account.Account{Name: "Acme", Seats: 20, OwnerID: s.taID, CloseDate: date.MustParse("2026-01-01")})
	jane := account.Contact{AccountID: acme.ID, Email: "jane@acme.test", Name: "Jane", Roles: []string{"program_contact"}}
	if err := s.st.CreateContact(s.ctx, &jane); err != nil {
		t.Fatal(err)
	}
	answer := func(key string, rating int, help bool) {
		t.Helper()
		if _, err := s.st.RecordSurveyAnswer(s.ctx, &store.SurveyAnswer{Key: key, AccountID: acme.ID, ContactID: jane.ID,
			Campaign: "onboarding_checkin", Rating: rating, WantsHelp: help, At: s.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Hour)
		s.step(s.a)
	}
	answer("survey:1", 5, false)
	wantCount(t, "tasks after a 5", s.tasks(acme.ID, "survey_help"), 0)
	answer("survey:2", 4, true)
	tasks := s.tasks(acme.ID, "survey_help")
	wantCount(t, "tasks after a request for help", tasks, 1)
	if tk := tasks[0]; tk.AssigneeID == nil || *tk.AssigneeID != s.ta.ID || !strings.Contains(tk.Title, "Acme") || !strings.Contains(tk.Body, "asked for help in the onboarding_checkin survey") {
		t.Errorf("task %+v, want Acme's for the owner TA", tk)
	}
	answer("survey:3", 2, false)
	wantCount(t, "tasks after a 2", s.tasks(acme.ID, "survey_help"), 2)
	answer("survey:4", 3, false)
	wantCount(t, "tasks after a 3", s.tasks(acme.ID, "survey_help"), 2)
}
