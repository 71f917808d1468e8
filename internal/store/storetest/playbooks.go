package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

var playbookTests = []test{
	{"States", testPlaybookStates},
	{"FiringOncePerKey", testFiringOncePerKey},
	{"Matches", testPlaybookMatches},
	{"ActionsClaimedOnce", testActionsClaimedOnce},
	{"ActionsDoneWithTheirFiring", testActionsDoneWithFiring},
	{"ListAndStats", testListFirings},
	{"Signals", testSignals},
	{"Counter", testCounter},
}

func testPlaybookStates(e *env) {
	t := e.t
	states, err := e.st.PlaybookStates(e.ctx)
	e.ok(err, "PlaybookStates")
	if len(states) != 0 {
		t.Errorf("states of a new store = %v", states)
	}
	tick := start.Add(time.Hour)
	e.ok(e.st.SavePlaybookState(e.ctx, store.PlaybookState{Playbook: "qbr", Enabled: false, ChangedAt: start, ChangedBy: "ana@tend.test"}), "SavePlaybookState")
	e.ok(e.st.SavePlaybookState(e.ctx, store.PlaybookState{Playbook: "qbr", Enabled: true, ChangedAt: start, ChangedBy: "bo@tend.test", LastTick: &tick}), "SavePlaybookState again")
	states, err = e.st.PlaybookStates(e.ctx)
	e.ok(err, "PlaybookStates")
	s := states["qbr"]
	if !s.Enabled || s.ChangedBy != "bo@tend.test" || s.LastTick == nil {
		t.Fatalf("state = %+v", s)
	}
	e.sameInstant("last tick", *s.LastTick, tick.Truncate(time.Millisecond))
}

func firing(key string, accountID int64, at time.Time, actions ...store.FiringAction) *store.Firing {
	return &store.Firing{Playbook: "renewal", AccountID: accountID, Key: key, Kind: store.FiringFire,
		Trigger: "renewal_date 2026-07-01 − 120 days", Detail: json.RawMessage(`{"holds":true}`), At: at, Actions: actions}
}

func testFiringOncePerKey(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	f := firing("pb:renewal:1:date:2026-03-03", a.ID, start,
		store.FiringAction{Index: 0, Kind: "doc", Key: "pb:renewal:1:date:2026-03-03:0", DueAt: start},
		store.FiringAction{Index: 1, Kind: "task", Key: "pb:renewal:1:date:2026-03-03:1", DueAt: start.Add(72 * time.Hour)})
	ok, err := e.st.RecordFiring(e.ctx, f, nil)
	e.ok(err, "RecordFiring")
	if !ok || f.ID == 0 || f.Actions[1].ID == 0 {
		t.Fatalf("first RecordFiring = %v, firing %+v", ok, f)
	}
	again := firing(f.Key, a.ID, start.Add(time.Minute), store.FiringAction{Index: 0, Kind: "doc", Key: "other", DueAt: start})
	ok, err = e.st.RecordFiring(e.ctx, again, nil)
	e.ok(err, "RecordFiring again")
	if ok {
		t.Error("a second firing with the same key was recorded")
	}
	// Two runners at once: one wins.
	var wg sync.WaitGroup
	wins := make(chan bool, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := e.st.RecordFiring(e.ctx, firing("pb:renewal:1:race", a.ID, start, store.FiringAction{Index: 0, Kind: "doc",
				Key: "pb:renewal:1:race:0:" + string(rune('a'+i)), DueAt: start}), nil)
			if err != nil {
				t.Errorf("concurrent RecordFiring: %v", err)
			}
			wins <- ok
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d concurrent firings of one key were recorded, want 1", n)
	}
	c, err := e.st.CountFirings(e.ctx, "renewal", a.ID, start.Add(-time.Hour))
	e.ok(err, "CountFirings")
	if c != 2 {
		t.Errorf("CountFirings = %d, want 2", c)
	}
	if c, _ := e.st.CountFirings(e.ctx, "renewal", a.ID, start.Add(time.Hour)); c != 0 {
		t.Errorf("CountFirings since later = %d, want 0", c)
	}
	// A firing of an account deleted meanwhile is not recorded.
	ok, err = e.st.RecordFiring(e.ctx, firing("pb:renewal:999", 999, start), nil)
	e.ok(err, "RecordFiring of a missing account")
	if ok {
		t.Error("a firing of a missing account was recorded")
	}
	_, err = e.st.RecordFiring(e.ctx, &store.Firing{Playbook: "x", AccountID: a.ID}, nil)
	wantErr(t, err, derrors.Invalid, "")
}

func testPlaybookMatches(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	e.ok(e.st.SaveMatches(e.ctx, []store.MatchChange{
		{Playbook: "p", AccountID: a.ID, Matching: true, At: start},
		{Playbook: "p", AccountID: b.ID, Matching: true, At: start},
		{Playbook: "q", AccountID: a.ID, Matching: true, At: start},
		{Playbook: "p", AccountID: 999, Matching: true, At: start},
	}), "SaveMatches")
	_, err := e.st.RecordFiring(e.ctx, firing("k", a.ID, start), []store.MatchChange{{Playbook: "p", AccountID: b.ID, Matching: false}})
	e.ok(err, "RecordFiring with a match change")
	m, err := e.st.PlaybookMatches(e.ctx, "p")
	e.ok(err, "PlaybookMatches")
	if len(m) != 1 {
		t.Fatalf("matches of p = %v, want Initech alone", m)
	}
	e.sameInstant("since", m[a.ID], start.Truncate(time.Millisecond))
	e.ok(e.st.DeleteAccount(e.ctx, a.ID), "DeleteAccount")
	if m, _ := e.st.PlaybookMatches(e.ctx, "q"); len(m) != 0 {
		t.Errorf("a deleted account still matches: %v", m)
	}
}

func testActionsClaimedOnce(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	var acts []store.FiringAction
	for i := range 6 {
		acts = append(acts, store.FiringAction{Index: i, Kind: "task", Key: "k:" + string(rune('0'+i)), DueAt: start.Add(time.Duration(i) * time.Hour)})
	}
	_, err := e.st.RecordFiring(e.ctx, firing("k", a.ID, start, acts...), nil)
	e.ok(err, "RecordFiring")
	due, err := e.st.ClaimDueActions(e.ctx, start.Add(90*time.Minute), time.Minute, 10)
	e.ok(err, "ClaimDueActions")
	if len(due) != 2 || due[0].Index != 0 || due[1].Index != 1 || due[0].FiringKey != "k" || due[0].Status != store.ActionRunning || due[0].Attempts != 1 {
		t.Fatalf("due at 1h30 = %+v, want the first two, claimed", due)
	}
	if again, _ := e.st.ClaimDueActions(e.ctx, start.Add(90*time.Minute), time.Minute, 10); len(again) != 0 {
		t.Errorf("claimed actions were claimed again: %+v", again)
	}
	// A claim that expired (its runner died) is claimed anew.
	expired, err := e.st.ClaimDueActions(e.ctx, start.Add(92*time.Minute), time.Minute, 10)
	e.ok(err, "ClaimDueActions after expiry")
	if len(expired) != 2 || expired[0].Attempts != 2 {
		t.Errorf("after the claims expired: %+v", expired)
	}
	e.ok(e.st.FinishActions(e.ctx, []store.ActionOutcome{
		{ID: due[0].ID, Status: store.ActionDone, Result: "task 12 created", At: start.Add(93 * time.Minute)},
		{ID: due[1].ID, Status: store.ActionPending, Result: "smtp down, retrying", At: start.Add(93 * time.Minute), RetryAt: start.Add(3 * time.Hour)},
	}), "FinishActions done and retry")
	// Concurrent claimers at 5h30 share the due actions without overlap.
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.st.ClaimDueActions(e.ctx, start.Add(330*time.Minute), time.Hour, 10)
			if err != nil {
				t.Errorf("concurrent claim: %v", err)
			}
			mu.Lock()
			for _, x := range got {
				seen[x.ID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 5 { // indexes 1 (retry at 3h) to 5
		t.Errorf("claimed %d actions at 5h30, want 5", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("action %d claimed %d times", id, n)
		}
	}
	n, err := e.st.CancelPendingActions(e.ctx, "renewal", a.ID, start)
	e.ok(err, "CancelPendingActions")
	if n != 0 {
		t.Errorf("cancelled %d, want 0: every action is done or running", n)
	}
	_, err = e.st.RecordFiring(e.ctx, firing("k2", a.ID, start, store.FiringAction{Index: 0, Kind: "task", Key: "k2:0", DueAt: start.Add(48 * time.Hour)}), nil)
	e.ok(err, "RecordFiring")
	if n, _ := e.st.CancelPendingActions(e.ctx, "renewal", 0, start); n != 1 {
		t.Errorf("cancelled %d pending actions, want 1", n)
	}
}

func testListFirings(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	for i, x := range []struct {
		pb  string
		acc int64
	}{{"renewal", a.ID}, {"renewal", b.ID}, {"qbr", a.ID}} {
		f := firing("k"+string(rune('0'+i)), x.acc, start.Add(time.Duration(i)*time.Hour), store.FiringAction{Index: 0, Kind: "task", Key: "k" + string(rune('0'+i)) + ":0", DueAt: start})
		f.Playbook = x.pb
		_, err := e.st.RecordFiring(e.ctx, f, nil)
		e.ok(err, "RecordFiring")
	}
	page, err := e.st.ListFirings(e.ctx, store.FiringFilter{Playbook: "renewal"})
	e.ok(err, "ListFirings")
	if len(page.Firings) != 2 || page.Firings[0].AccountName != "Globex" || len(page.Firings[0].Actions) != 1 ||
		string(page.Firings[0].Detail) != `{"holds":true}` {
		t.Errorf("renewal firings = %+v", page.Firings)
	}
	page, err = e.st.ListFirings(e.ctx, store.FiringFilter{AccountID: a.ID, Limit: 1})
	e.ok(err, "ListFirings")
	if len(page.Firings) != 1 || page.Firings[0].Playbook != "qbr" || page.Next == "" {
		t.Errorf("Initech's first page = %+v", page)
	}
	due, err := e.st.ClaimDueActions(e.ctx, start, time.Minute, 10)
	e.ok(err, "ClaimDueActions")
	for _, d := range due {
		if d.Playbook == "qbr" {
			e.ok(e.st.FinishActions(e.ctx, []store.ActionOutcome{{ID: d.ID, Status: store.ActionFailed, Result: "no doc template qbr", At: start}}), "FinishActions")
		}
	}
	stats, err := e.st.FiringStats(e.ctx, start.Add(-time.Hour))
	e.ok(err, "FiringStats")
	if stats["renewal"].Total != 2 || stats["qbr"].LastError != "no doc template qbr" || stats["renewal"].PerDay[start.UTC().Format("2006-01-02")] != 2 {
		t.Errorf("stats = %+v", stats)
	}
}

func testSignals(e *env) {
	t := e.t
	e.ok(e.st.AddSignals(e.ctx, []store.Signal{
		{AccountID: 1, Kind: "feature_first_used", Data: json.RawMessage(`{"feature":"batch changes"}`), At: start},
		{AccountID: 2, Kind: "task_done", At: start},
		{AccountID: 1, Kind: "survey_answered", At: start},
	}), "AddSignals")
	got, err := e.st.TakeSignals(e.ctx, 2)
	e.ok(err, "TakeSignals")
	if len(got) != 2 || got[0].Kind != "feature_first_used" || string(got[0].Data) != `{"feature":"batch changes"}` || string(got[1].Data) != "{}" {
		t.Fatalf("first two signals = %+v", got)
	}
	e.sameInstant("signal at", got[0].At, start.Truncate(time.Millisecond))
	rest, err := e.st.TakeSignals(e.ctx, 10)
	e.ok(err, "TakeSignals")
	if len(rest) != 1 || rest[0].Kind != "survey_answered" {
		t.Errorf("the rest = %+v", rest)
	}
	if none, _ := e.st.TakeSignals(e.ctx, 10); len(none) != 0 {
		t.Errorf("signals taken twice: %+v", none)
	}
	// A signal's id is in the key of the firing it causes: one taken
	// (deleted) is never handed out again.
	e.ok(e.st.AddSignals(e.ctx, []store.Signal{{AccountID: 1, Kind: "survey_answered", At: start}}), "AddSignals")
	again, err := e.st.TakeSignals(e.ctx, 10)
	e.ok(err, "TakeSignals")
	if len(again) != 1 || again[0].ID <= rest[0].ID {
		t.Errorf("a signal after the others were taken = %+v, want an id after %d", again, rest[0].ID)
	}
}

func testCounter(e *env) {
	var got []int64
	for range 3 {
		n, err := e.st.NextCounter(e.ctx, "assign:owner")
		e.ok(err, "NextCounter")
		got = append(got, n)
	}
	if other, _ := e.st.NextCounter(e.ctx, "assign:ae"); other != 1 {
		e.t.Errorf("another counter starts at %d", other)
	}
	if !slices.Equal(got, []int64{1, 2, 3}) {
		e.t.Errorf("counter = %v", got)
	}
}

// entry is a campaign entry's firing, its one action enrolling the account
// when the firing is recorded.
func entry(key string, accountID int64, enrollmentKey string) *store.Firing {
	f := firing(key, accountID, start, store.FiringAction{Index: 0, Kind: "enroll", Key: key + ":0", DueAt: start,
		Enroll: &store.Enrollment{Campaign: "recap", AccountID: accountID, Key: enrollmentKey, Entry: "trigger of recap: scheduled",
			EnteredAt: start, StepStartedAt: start, WakeAt: start, Decision: "entered: trigger of recap"}})
	f.Playbook = "campaign.recap"
	return f
}

// A campaign's entry enrolls the account in the transaction that records
// its firing, and an action decided when it fired is recorded finished:
// neither is claimed or run again, the firing log shows what they did, and
// a firing that is not recorded (its key exists, its account is gone, a
// second runner won) enrolls nobody.
func testActionsDoneWithFiring(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	c := e.account(account.Account{Name: "Hooli"})
	if !e.enroll(&store.Enrollment{Campaign: "recap", AccountID: b.ID, Key: "cp:recap:b:0"})[0] {
		t.Fatal("Globex did not enroll")
	}
	fa := entry("pb:campaign.recap:a:cron:1", a.ID, "cp:recap:a:1")
	fb := entry("pb:campaign.recap:b:cron:1", b.ID, "cp:recap:b:1") // in it already
	fc := firing("pb:campaign.recap:c:cron:1", c.ID, start, store.FiringAction{Index: 0, Kind: "enroll", Key: "pb:campaign.recap:c:cron:1:0",
		DueAt: start, Status: store.ActionDone, Result: "not enrolled in recap: churned"})
	fc.Playbook = "campaign.recap"
	gone := entry("pb:campaign.recap:gone:cron:1", 999_999, "cp:recap:gone:1")
	ins, err := e.st.RecordFirings(e.ctx, []*store.Firing{fa, fb, fc, gone}, nil)
	e.ok(err, "RecordFirings")
	if want := []bool{true, true, true, false}; !sameBools(ins, want) {
		t.Fatalf("inserted %v, want %v", ins, want)
	}
	en := fa.Actions[0].Enroll
	if en.ID == 0 || en.Status != store.EnrollmentActive {
		t.Fatalf("Initech's enrollment = %+v", en)
	}
	got, err := e.st.GetEnrollment(e.ctx, en.ID)
	e.ok(err, "GetEnrollment")
	if got.Campaign != "recap" || got.AccountID != a.ID || got.Key != "cp:recap:a:1" || got.Entry != "trigger of recap: scheduled" {
		t.Errorf("stored %+v", got)
	}
	e.sameInstant("wake_at", got.WakeAt, start.Truncate(time.Millisecond))
	for _, x := range []struct {
		f      *store.Firing
		result string
	}{
		{fa, store.EnrollResult(en, true)},
		{fb, "not enrolled in recap: in it already, or entered before under this re-entry rule"},
		{fc, "not enrolled in recap: churned"},
	} {
		act := x.f.Actions[0]
		if act.ID == 0 || act.Status != store.ActionDone || act.Result != x.result || act.Attempts != 1 || act.DoneAt == nil {
			t.Errorf("%s: action %+v, want done: %q", x.f.Key, act, x.result)
		}
		page, err := e.st.ListFirings(e.ctx, store.FiringFilter{AccountID: x.f.AccountID})
		e.ok(err, "ListFirings")
		if len(page.Firings) != 1 || len(page.Firings[0].Actions) != 1 {
			t.Fatalf("%s: firings %+v", x.f.Key, page.Firings)
		}
		if l := page.Firings[0].Actions[0]; l.Status != store.ActionDone || l.Result != x.result || l.DoneAt == nil {
			t.Errorf("%s: the log shows %+v, want done: %q", x.f.Key, l, x.result)
		}
	}
	if fa.Actions[0].Result != fmt.Sprintf("enrolled in recap (enrollment %d)", en.ID) {
		t.Errorf("result %q", fa.Actions[0].Result)
	}
	if due, err := e.st.ClaimDueActions(e.ctx, start.Add(time.Hour), time.Minute, 10); err != nil || len(due) != 0 {
		t.Errorf("actions done with their firing were claimed: %+v, %v", due, err)
	}
	count := func(acc int64) int {
		t.Helper()
		page, err := e.st.ListEnrollments(e.ctx, store.EnrollmentFilter{Campaign: "recap", AccountID: acc})
		e.ok(err, "ListEnrollments")
		return len(page.Enrollments)
	}
	if n := count(b.ID); n != 1 {
		t.Errorf("Globex has %d recap enrollments, want 1", n)
	}
	// The same firing again, its enrollment ended: the firing exists, so
	// nothing is enrolled.
	got.Status, got.ExitReason = store.EnrollmentDone, ""
	e.save(&got)
	again := entry(fa.Key, a.ID, "cp:recap:a:2")
	ins, err = e.st.RecordFirings(e.ctx, []*store.Firing{again}, nil)
	e.ok(err, "RecordFirings again")
	if ins[0] || again.Actions[0].Enroll.ID != 0 || count(a.ID) != 1 {
		t.Errorf("a firing recorded already enrolled again: inserted %v, %d enrollments", ins, count(a.ID))
	}
	// Racing runners: one records the firing, and one enrollment enters.
	d := e.account(account.Account{Name: "Pied Piper"})
	n := race(t, 4, func(i int) (bool, error) {
		ins, err := e.st.RecordFirings(e.ctx, []*store.Firing{entry("pb:campaign.recap:d:cron:1", d.ID, fmt.Sprintf("cp:recap:d:%d", i))}, nil)
		if err != nil {
			return false, fmt.Errorf("RecordFirings %d: %w", i, err)
		}
		return ins[0], nil
	})
	if n != 1 || count(d.ID) != 1 {
		t.Errorf("racing entries: %d firings recorded, %d enrollments; want 1 and 1", n, count(d.ID))
	}
	// What cannot be recorded.
	bad := entry("pb:bad:1", a.ID, "cp:recap:bad:1")
	bad.Actions[0].Enroll.AccountID = b.ID
	_, err = e.st.RecordFirings(e.ctx, []*store.Firing{bad}, nil)
	wantErr(t, err, derrors.Invalid, "")
	bad = entry("pb:bad:2", a.ID, "cp:recap:bad:2")
	bad.Actions[0].Status = store.ActionDone
	_, err = e.st.RecordFirings(e.ctx, []*store.Firing{bad}, nil)
	wantErr(t, err, derrors.Invalid, "")
	bad = firing("pb:bad:3", a.ID, start, store.FiringAction{Index: 0, Kind: "task", Key: "pb:bad:3:0", DueAt: start, Status: store.ActionRunning})
	_, err = e.st.RecordFirings(e.ctx, []*store.Firing{bad}, nil)
	wantErr(t, err, derrors.Invalid, "")
	if n := count(a.ID); n != 1 {
		t.Errorf("refused firings enrolled: %d enrollments", n)
	}
}
