package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

var campaignTests = []test{
	{"EnrollOncePerKeyAndOneActive", testEnrollOnce},
	{"DueWatchSave", testEnrollmentDueWatchSave},
	{"ListStatsEnd", testEnrollmentListStats},
	{"SurveyAnswers", testSurveyAnswers},
	{"Secret", testSecret},
}

func (e *env) enroll(es ...*store.Enrollment) []bool {
	e.t.Helper()
	ins, err := e.st.Enroll(e.ctx, es)
	e.ok(err, "Enroll")
	return ins
}

// save stores one enrollment, which must be active.
func (e *env) save(en *store.Enrollment) {
	e.t.Helper()
	saved, err := e.st.SaveEnrollments(e.ctx, []*store.Enrollment{en})
	e.ok(err, "SaveEnrollments")
	if len(saved) != 1 || !saved[0] {
		e.t.Errorf("enrollment %d was not saved", en.ID)
	}
}

// An account is in a campaign at most once at a time, and an enrollment key
// is used once: a runner that enrolls again after a crash, or a second
// replica, enrolls nobody twice.
func testEnrollOnce(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	first := &store.Enrollment{Campaign: "onboarding", AccountID: a.ID, Key: "cp:onboarding:1", Entry: "signal first_usage_ping"}
	ins := e.enroll(first,
		&store.Enrollment{Campaign: "onboarding", AccountID: a.ID, Key: "cp:onboarding:1:again"},   // already active
		&store.Enrollment{Campaign: "recap", AccountID: a.ID, Key: "cp:recap:1"},                   // another campaign
		&store.Enrollment{Campaign: "onboarding", AccountID: b.ID, Key: "cp:onboarding:1"},         // the key is taken
		&store.Enrollment{Campaign: "onboarding", AccountID: 999_999, Key: "cp:onboarding:999999"}, // no such account
	)
	if want := []bool{true, false, true, false, false}; !sameBools(ins, want) {
		t.Fatalf("inserted %v, want %v", ins, want)
	}
	if first.ID == 0 || first.Status != store.EnrollmentActive {
		t.Errorf("enrolled %+v", first)
	}
	got, err := e.st.GetEnrollment(e.ctx, first.ID)
	e.ok(err, "GetEnrollment")
	if got.Campaign != "onboarding" || got.AccountName != "Acme" || got.Entry != "signal first_usage_ping" || got.Step != "" {
		t.Errorf("stored %+v", got)
	}
	e.sameInstant("entered_at", got.EnteredAt, e.now())
	e.sameInstant("wake_at", got.WakeAt, e.now())
	// Once ended, the account may enter again — under a new key only.
	got.Status, got.ExitReason = store.EnrollmentExited, "reached the goal"
	e.save(&got)
	if ins := e.enroll(&store.Enrollment{Campaign: "onboarding", AccountID: a.ID, Key: "cp:onboarding:1"}); ins[0] {
		t.Error("an ended enrollment's key enrolled again")
	}
	if ins := e.enroll(&store.Enrollment{Campaign: "onboarding", AccountID: a.ID, Key: "cp:onboarding:1:term2"}); !ins[0] {
		t.Error("a new key after the end did not enroll")
	}
	// An ended one is not saved again (someone ended it meanwhile), and
	// the others in the batch are.
	checkin := &store.Enrollment{Campaign: "checkin", AccountID: a.ID, Key: "cp:checkin:1"}
	if !e.enroll(checkin)[0] {
		t.Fatal("checkin did not enroll")
	}
	o, err := e.st.GetEnrollment(e.ctx, checkin.ID)
	e.ok(err, "GetEnrollment checkin")
	o.Decision = "waiting"
	got.Decision = "ended twice"
	saved, err := e.st.SaveEnrollments(e.ctx, []*store.Enrollment{&got, &o})
	e.ok(err, "SaveEnrollments")
	if len(saved) != 2 || saved[0] || !saved[1] {
		t.Errorf("saved = %v, want [false true]: an ended enrollment is not saved, an active one is", saved)
	}
	if back, _ := e.st.GetEnrollment(e.ctx, got.ID); back.Decision == "ended twice" {
		t.Error("an ended enrollment was overwritten")
	}
	if back, _ := e.st.GetEnrollment(e.ctx, o.ID); back.Decision != "waiting" {
		t.Errorf("the active one in the batch was not saved: %+v", back)
	}
	_, err = e.st.Enroll(e.ctx, []*store.Enrollment{{Campaign: "", AccountID: a.ID, Key: "k"}})
	wantErr(t, err, derrors.Invalid, "")

	// Racing enrollers: one wins.
	n := race(t, 8, func(i int) (bool, error) {
		ins, err := e.st.Enroll(e.ctx, []*store.Enrollment{{Campaign: "race", AccountID: b.ID, Key: "cp:race:" + string(rune('a'+i))}})
		if err != nil {
			return false, fmt.Errorf("Enroll %d: %w", i, err)
		}
		return ins[0], nil
	})
	if n != 1 {
		t.Errorf("%d racing enrollments of one account in one campaign won, want 1", n)
	}
}

// race runs f for 0 … n-1 at once and returns how many reported a win; an
// error fails the test.
func race(t *testing.T, n int, f func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	wins := make([]bool, n)
	for i := range wins {
		wg.Go(func() {
			won, err := f(i)
			if err != nil {
				t.Error(err)
				return
			}
			wins[i] = won
		})
	}
	wg.Wait()
	won := 0
	for _, w := range wins {
		if w {
			won++
		}
	}
	return won
}

func sameBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Due enrollments come longest due first; watching ones by account; a
// save keeps the plan's state.
func testEnrollmentDueWatchSave(e *env) {
	t := e.t
	e.needClock()
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	now := e.now()
	late := &store.Enrollment{Campaign: "c1", AccountID: a.ID, Key: "k1", WakeAt: now.Add(-time.Hour)}
	soon := &store.Enrollment{Campaign: "c2", AccountID: a.ID, Key: "k2", WakeAt: now.Add(time.Hour)}
	now1 := &store.Enrollment{Campaign: "c1", AccountID: b.ID, Key: "k3"}
	e.enroll(late, soon, now1)
	due, err := e.st.DueEnrollments(e.ctx, now, 10)
	e.ok(err, "DueEnrollments")
	if len(due) != 2 || due[0].ID != late.ID || due[1].ID != now1.ID {
		t.Fatalf("due = %+v, want k1 then k3", due)
	}
	if due, _ := e.st.DueEnrollments(e.ctx, now.Add(2*time.Hour), 1); len(due) != 1 || due[0].ID != late.ID {
		t.Errorf("due with limit 1 = %+v", due)
	}

	// The plan moved it on: an email sent, now waiting for a condition
	// until a timeout.
	d := due[0]
	d.Step, d.Seq, d.StepStartedAt, d.WakeAt, d.Watch, d.Sent = "wait_for_ping", 2, now, now.Add(72*time.Hour), true, 1
	d.Decision = "sent welcome; waiting until traits.first_ping_at != nil, at most 3d"
	e.save(&d)
	got, err := e.st.GetEnrollment(e.ctx, d.ID)
	e.ok(err, "GetEnrollment")
	if got.Step != "wait_for_ping" || got.Seq != 2 || !got.Watch || got.Sent != 1 || got.Decision != d.Decision ||
		got.Status != store.EnrollmentActive {
		t.Errorf("saved %+v", got)
	}
	e.sameInstant("wake_at", got.WakeAt, now.Add(72*time.Hour))
	watching, err := e.st.WatchingEnrollments(e.ctx, []int64{a.ID, b.ID})
	e.ok(err, "WatchingEnrollments")
	if len(watching) != 1 || watching[0].ID != d.ID {
		t.Errorf("watching = %+v, want only %d", watching, d.ID)
	}
	if all, _ := e.st.WatchingEnrollments(e.ctx, nil); len(all) != 1 || all[0].ID != d.ID {
		t.Errorf("watching of every account = %+v", all)
	}
	if none, _ := e.st.WatchingEnrollments(e.ctx, []int64{}); len(none) != 0 {
		t.Errorf("watching of no account = %+v", none)
	}
	if due, _ := e.st.DueEnrollments(e.ctx, now, 10); len(due) != 1 || due[0].ID != now1.ID {
		t.Errorf("due after the save = %+v, want only k3", due)
	}
	// Done: no longer due nor watching.
	got.Status = store.EnrollmentDone
	e.save(&got)
	if w, _ := e.st.WatchingEnrollments(e.ctx, []int64{a.ID}); len(w) != 0 {
		t.Errorf("a finished enrollment still watches: %+v", w)
	}
	if due, _ := e.st.DueEnrollments(e.ctx, now.Add(1000*time.Hour), 10); len(due) != 2 {
		t.Errorf("due much later = %d enrollments, want 2 (k2 and k3)", len(due))
	}
	bad := got
	bad.Status = "paused"
	_, err = e.st.SaveEnrollments(e.ctx, []*store.Enrollment{&d, &bad})
	wantErr(t, err, derrors.Invalid, "status")
}

func testEnrollmentListStats(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Acme"})
	b := e.account(account.Account{Name: "Globex"})
	e.enroll(&store.Enrollment{Campaign: "onboarding", AccountID: a.ID, Key: "k1", Step: "welcome"},
		&store.Enrollment{Campaign: "onboarding", AccountID: b.ID, Key: "k2", Step: "welcome"},
		&store.Enrollment{Campaign: "recap", AccountID: a.ID, Key: "k3", Step: "send"})
	n, err := e.st.EndEnrollments(e.ctx, a.ID, "onboarding", "removed by playbook churned", time.Time{})
	e.ok(err, "EndEnrollments")
	if n != 1 {
		t.Errorf("ended %d, want 1", n)
	}
	stats, err := e.st.CampaignStats(e.ctx)
	e.ok(err, "CampaignStats")
	ob := stats["onboarding"]
	if ob.ByStatus[store.EnrollmentActive] != 1 || ob.ByStatus[store.EnrollmentExited] != 1 || ob.ActiveBySteps["welcome"] != 1 {
		t.Errorf("onboarding stats %+v", ob)
	}
	if stats["recap"].ByStatus[store.EnrollmentActive] != 1 {
		t.Errorf("recap stats %+v", stats["recap"])
	}
	page, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: "onboarding"})
	e.ok(err, "ListEnrollments")
	if len(page.Enrollments) != 2 {
		t.Fatalf("onboarding enrollments %+v", page.Enrollments)
	}
	page, err = e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{AccountID: a.ID, Status: store.EnrollmentExited})
	e.ok(err, "ListEnrollments")
	if len(page.Enrollments) != 1 || page.Enrollments[0].ExitReason != "removed by playbook churned" || page.Enrollments[0].AccountName != "Acme" {
		t.Errorf("Acme's exited %+v", page.Enrollments)
	}
	page, err = e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Limit: 2})
	e.ok(err, "ListEnrollments page 1")
	if len(page.Enrollments) != 2 || page.Next == "" {
		t.Fatalf("page 1: %d, next %q", len(page.Enrollments), page.Next)
	}
	page, err = e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Limit: 2, Cursor: page.Next})
	e.ok(err, "ListEnrollments page 2")
	if len(page.Enrollments) != 1 || page.Next != "" {
		t.Errorf("page 2: %d, next %q", len(page.Enrollments), page.Next)
	}
	_, err = e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Cursor: "nope"})
	wantErr(t, err, derrors.Invalid, "cursor")
}

// A survey answer lands on the timeline and is a signal for playbooks:
// "help" when the contact asked for it, else the rating.
func testSurveyAnswers(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Acme"})
	other := e.account(account.Account{Name: "Globex"})
	c := e.contact(account.Contact{AccountID: a.ID, Name: "Jane Champion", Email: "jane@acme.example"})
	ans := &store.SurveyAnswer{Key: "cp:checkin:1:1:survey:7", AccountID: a.ID, ContactID: c.ID, Campaign: "checkin", Rating: 2,
		Comment: "Search is slow on our monorepo.", WantsHelp: true}
	created, err := e.st.RecordSurveyAnswer(e.ctx, ans)
	e.ok(err, "RecordSurveyAnswer")
	if !created || ans.ID == 0 {
		t.Errorf("created %v, id %d", created, ans.ID)
	}
	acts := e.mustActivities(a.ID, 1)
	if acts[0].Kind != account.ActivitySurvey || acts[0].Body != "Jane Champion rated 2 of 5 and would like help from the team: Search is slow on our monorepo." {
		t.Errorf("timeline entry %+v", acts[0])
	}
	sigs, err := e.st.TakeSignals(e.ctx, 10)
	e.ok(err, "TakeSignals")
	if len(sigs) != 1 || sigs[0].Kind != "survey_answered" || sigs[0].AccountID != a.ID {
		t.Fatalf("signals %+v", sigs)
	}
	var data map[string]string
	_ = json.Unmarshal(sigs[0].Data, &data)
	if data["to"] != "help" || data["source"] != "checkin" {
		t.Errorf("signal data %s", sigs[0].Data)
	}
	// Answering again replaces the answer.
	again := *ans
	again.ID, again.Rating, again.WantsHelp, again.Comment = 0, 4, false, "Fixed after the call, thanks!"
	created, err = e.st.RecordSurveyAnswer(e.ctx, &again)
	e.ok(err, "RecordSurveyAnswer again")
	if created || again.ID != ans.ID {
		t.Errorf("again: created %v, id %d (first %d)", created, again.ID, ans.ID)
	}
	list, err := e.st.ListSurveyAnswers(e.ctx, store.SurveyFilter{AccountID: a.ID})
	e.ok(err, "ListSurveyAnswers")
	if len(list) != 1 || list[0].Rating != 4 || list[0].WantsHelp || list[0].ContactEmail != "jane@acme.example" || list[0].AccountName != "Acme" {
		t.Errorf("answers %+v", list)
	}
	if sigs, _ := e.st.TakeSignals(e.ctx, 10); len(sigs) != 1 || !bytes.Contains(sigs[0].Data, []byte(`"to":"4"`)) {
		t.Errorf("second signal %+v", sigs)
	}
	// Bad answers, and another account's contact.
	for _, bad := range []struct {
		a     store.SurveyAnswer
		code  derrors.Code
		field string
	}{
		{store.SurveyAnswer{Key: "k", AccountID: a.ID, ContactID: c.ID, Rating: 0}, derrors.Unprocessable, "rating"},
		{store.SurveyAnswer{Key: "k", AccountID: a.ID, ContactID: c.ID, Rating: 6}, derrors.Unprocessable, "rating"},
		{store.SurveyAnswer{Key: "", AccountID: a.ID, ContactID: c.ID, Rating: 3}, derrors.Invalid, "key"},
		{store.SurveyAnswer{Key: "k", AccountID: other.ID, ContactID: c.ID, Rating: 3}, derrors.NotFound, "contact_id"},
	} {
		_, err := e.st.RecordSurveyAnswer(e.ctx, &bad.a)
		wantErr(t, err, bad.code, bad.field)
	}
	// Counted by campaign (the replaced answer once), whether or not the
	// campaign has enrollments.
	c2 := e.contact(account.Contact{AccountID: a.ID, Name: "Joe Admin", Email: "joe@acme.example"})
	for _, ans := range []store.SurveyAnswer{
		{Key: "cp:checkin:1:2:survey:8", AccountID: a.ID, ContactID: c2.ID, Campaign: "checkin", Rating: 5},
		{Key: "cp:recap:1:2:survey:9", AccountID: a.ID, ContactID: c2.ID, Campaign: "recap", Rating: 3},
	} {
		_, err := e.st.RecordSurveyAnswer(e.ctx, &ans)
		e.ok(err, "RecordSurveyAnswer "+ans.Key)
	}
	stats, err := e.st.CampaignStats(e.ctx)
	e.ok(err, "CampaignStats")
	if stats["checkin"].SurveyAnswers != 2 || stats["recap"].SurveyAnswers != 1 || len(stats) != 2 {
		t.Errorf("survey answers counted %+v; want checkin 2, recap 1", stats)
	}
}

// The signing secret is made once and shared.
func testSecret(e *env) {
	t := e.t
	a, err := e.st.Secret(e.ctx, "links")
	e.ok(err, "Secret")
	b, err := e.st.Secret(e.ctx, "links")
	e.ok(err, "Secret again")
	if len(a) != 32 || !bytes.Equal(a, b) {
		t.Errorf("secrets %x and %x", a, b)
	}
	if c, _ := e.st.Secret(e.ctx, "other"); bytes.Equal(a, c) {
		t.Error("two names share a secret")
	}
}
