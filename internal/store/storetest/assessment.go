package storetest

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

var assessmentTests = []test{
	{"LoadInputs", testLoadAssessmentInputs},
	{"DirtyQueue", testDirtyAccounts},
	{"SaveAndListChanges", testSaveAssessments},
	{"ChangeFilters", testStateChangeFilters},
	{"Snapshots", testHealthSnapshots},
	{"HealthCounts", testHealthCounts},
	{"Leases", testLeases},
}

func (e *env) inputs(ids []int64) []store.AssessmentInput {
	e.t.Helper()
	var out []store.AssessmentInput
	e.ok(e.st.LoadAssessmentInputs(e.ctx, ids, func(in store.AssessmentInput) error {
		out = append(out, in)
		return nil
	}), "LoadAssessmentInputs")
	return out
}

func (e *env) takeDirty() []int64 {
	e.t.Helper()
	ids, err := e.st.TakeDirtyAccounts(e.ctx)
	e.ok(err, "TakeDirtyAccounts")
	slices.Sort(ids)
	return ids
}

func testLoadAssessmentInputs(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech", Seats: 200, ARR: 40_000})
	b := e.account(account.Account{Name: "Globex"})
	e.account(account.Account{Name: "Umbrella"})
	_, err := e.st.SetTraits(e.ctx, []account.TraitWrite{
		write(a.ID, "usage_score", 0.31), write(a.ID, "active_champion", true), write(a.ID, "ta_pulse", "Poor"),
		write(a.ID, "note", `he said "hi" \o/`), write(a.ID, "last_activity_date", "2026-03-01"),
		write(b.ID, "help_tickets_90d", 12.0),
	}, account.System("test", account.SourceManual))
	e.ok(err, "SetTraits")
	for _, c := range []account.Contact{
		{AccountID: a.ID, Email: "ann@initech.test", Roles: []string{account.RoleInstanceAdmin, account.RoleChampion}},
		{AccountID: a.ID, Email: "bob@initech.test", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: a.ID, Email: "cy@initech.test"},
	} {
		e.ok(e.st.CreateContact(e.ctx, &c), "CreateContact")
	}
	all := e.inputs(nil)
	if len(all) != 3 || all[0].Account.ID != a.ID || all[1].Account.ID != b.ID {
		t.Fatalf("LoadAssessmentInputs(nil) = %d inputs, want the 3 accounts in id order", len(all))
	}
	sameJSON(t, "traits of Initech", all[0].Traits, map[string]any{"usage_score": 0.31, "active_champion": true,
		"ta_pulse": "Poor", "note": `he said "hi" \o/`, "last_activity_date": "2026-03-01"})
	sameJSON(t, "contacts of Initech", all[0].Contacts, map[string]int{account.RoleInstanceAdmin: 2, account.RoleChampion: 1})
	sameJSON(t, "traits of Globex", all[1].Traits, map[string]any{"help_tickets_90d": 12.0})
	if all[0].Account.Seats != 200 || all[0].Account.ARR != 40_000 {
		t.Errorf("account = %+v, want its fields", all[0].Account)
	}
	some := e.inputs([]int64{b.ID, 99_999})
	if len(some) != 1 || some[0].Account.ID != b.ID {
		t.Errorf("LoadAssessmentInputs([Globex, missing]) = %v, want Globex alone", some)
	}
	if got := e.inputs([]int64{}); len(got) != 0 {
		t.Errorf("LoadAssessmentInputs([]) = %d inputs, want none", len(got))
	}
}

func testDirtyAccounts(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	if got := e.takeDirty(); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Errorf("after creating two accounts, dirty = %v, want both", got)
	}
	if got := e.takeDirty(); len(got) != 0 {
		t.Errorf("taken twice: dirty = %v, want none", got)
	}
	// The engine's own writes of derived fields do not queue the account.
	score := 7.5
	e.ok(e.st.SaveAssessments(e.ctx, []store.Assessment{{AccountID: a.ID, Segment: "Commercial", Program: "Scaled Success",
		Stage: "2. Adopting", Score: &score, Color: "green", At: e.now()}}), "SaveAssessments")
	if got := e.takeDirty(); len(got) != 0 {
		t.Errorf("after saving an assessment, dirty = %v, want none", got)
	}
	// Every input queues it: a field, a trait, a contact.
	_, err := e.st.ModifyAccount(e.ctx, a.ID, func(x *account.Account) error { x.Seats = 50; return nil }, account.System("t", ""))
	e.ok(err, "ModifyAccount")
	if got := e.takeDirty(); !slices.Equal(got, []int64{a.ID}) {
		t.Errorf("after a field edit, dirty = %v, want [%d]", got, a.ID)
	}
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(b.ID, "usage_score", 0.2)}, account.System("t", account.SourceComputed))
	e.ok(err, "SetTraits")
	if got := e.takeDirty(); !slices.Equal(got, []int64{b.ID}) {
		t.Errorf("after a trait write, dirty = %v, want [%d]", got, b.ID)
	}
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(b.ID, "usage_score", nil)}, account.System("t", account.SourceComputed))
	e.ok(err, "SetTraits")
	if got := e.takeDirty(); !slices.Equal(got, []int64{b.ID}) {
		t.Errorf("after clearing a trait, dirty = %v, want [%d]", got, b.ID)
	}
	c := account.Contact{AccountID: a.ID, Email: "ann@initech.test", Roles: []string{account.RoleChampion}}
	e.ok(e.st.CreateContact(e.ctx, &c), "CreateContact")
	if got := e.takeDirty(); !slices.Equal(got, []int64{a.ID}) {
		t.Errorf("after a new contact, dirty = %v, want [%d]", got, a.ID)
	}
	e.ok(e.st.DeleteAccount(e.ctx, b.ID), "DeleteAccount")
	if got := e.takeDirty(); !slices.Contains(got, b.ID) {
		t.Errorf("after deleting an account, dirty = %v, want it there so the engine forgets it", got)
	}
}

func testSaveAssessments(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	gone := e.account(account.Account{Name: "Gone"})
	e.ok(e.st.DeleteAccount(e.ctx, gone.ID), "DeleteAccount")
	_, err := e.st.AccountState(e.ctx, a.ID)
	wantErr(t, err, derrors.NotFound, "")
	old, score := 7.0, 5.5
	at := e.now().Add(-time.Hour)
	detail := json.RawMessage(`{"metrics":[{"trait":"usage_score","old":"healthy","new":"concerning"}]}`)
	e.ok(e.st.SaveAssessments(e.ctx, []store.Assessment{
		{AccountID: a.ID, Segment: "Commercial", Program: "Scaled Success", Stage: "2. Adopting", Score: &score, Color: "yellow",
			State: json.RawMessage(`{"v":1}`), At: at, Changes: []store.StateChange{
				{Kind: store.ChangeStage, Old: "1. Onboarding", New: "2. Adopting", Reason: "Adopting: MAU/seats 0.72 of 0.80 needed"},
				{Kind: store.ChangeHealth, Old: "green", New: "yellow", OldScore: &old, NewScore: &score, Direction: -1,
					Reason: "usage score 0.29 is concerning", Detail: detail},
			}},
		{AccountID: gone.ID, Segment: "Commercial", At: at, Changes: []store.StateChange{{Kind: store.ChangeSegment, New: "Commercial", Reason: "x"}}},
	}), "SaveAssessments")
	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.Segment != "Commercial" || got.Program != "Scaled Success" || got.Stage != "2. Adopting" ||
		got.HealthColor != "yellow" || got.HealthScore == nil || *got.HealthScore != 5.5 {
		t.Errorf("account after SaveAssessments = %+v", got)
	}
	state, err := e.st.AccountState(e.ctx, a.ID)
	e.ok(err, "AccountState")
	if string(state) != `{"v":1}` {
		t.Errorf("AccountState = %s, want {\"v\":1}", state)
	}
	page, err := e.st.ListStateChanges(e.ctx, store.StateChangeFilter{AccountID: a.ID})
	e.ok(err, "ListStateChanges")
	if len(page.Changes) != 2 {
		t.Fatalf("ListStateChanges = %d changes, want 2", len(page.Changes))
	}
	h := page.Changes[0] // same instant: the later id first
	if h.Kind != store.ChangeHealth || h.Old != "green" || h.New != "yellow" || *h.OldScore != 7 || *h.NewScore != 5.5 ||
		h.Direction != -1 || h.AccountName != "Initech" || string(h.Detail) != string(detail) {
		t.Errorf("health change = %+v", h)
	}
	e.sameInstant("change at", h.At, at)
	if s := page.Changes[1]; s.Kind != store.ChangeStage || s.OldScore != nil || string(s.Detail) != "{}" {
		t.Errorf("stage change = %+v", s)
	}
	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	var kinds []string
	for _, x := range acts {
		kinds = append(kinds, x.Kind)
	}
	if !slices.Contains(kinds, account.ActivityHealth) || !slices.Contains(kinds, account.ActivityLifecycle) {
		t.Errorf("timeline kinds = %v, want a health and a lifecycle entry", kinds)
	}
}

func testStateChangeFilters(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech", OwnerID: &dana.ID})
	b := e.account(account.Account{Name: "Globex"})
	day := func(n int) time.Time { return start.Add(time.Duration(n) * 24 * time.Hour) }
	save := func(id int64, at time.Time, kind, old, new string, dir int) {
		e.ok(e.st.SaveAssessments(e.ctx, []store.Assessment{{AccountID: id, At: at, Changes: []store.StateChange{
			{Kind: kind, Old: old, New: new, Direction: dir, Reason: old + " → " + new}}}}), "SaveAssessments")
	}
	save(a.ID, day(1), store.ChangeHealth, "green", "yellow", -1)
	save(b.ID, day(2), store.ChangeHealth, "red", "yellow", 1)
	save(a.ID, day(3), store.ChangeHealth, "yellow", "red", -1)
	save(a.ID, day(3), store.ChangeStage, "1. Onboarding", "2. Adopting", 0)
	list := func(f store.StateChangeFilter) []string {
		t.Helper()
		p, err := e.st.ListStateChanges(e.ctx, f)
		e.ok(err, "ListStateChanges")
		var out []string
		for _, c := range p.Changes {
			out = append(out, c.AccountName+":"+c.Old+">"+c.New)
		}
		return out
	}
	health := store.StateChangeFilter{Kind: store.ChangeHealth}
	if got, want := list(health), []string{"Initech:yellow>red", "Globex:red>yellow", "Initech:green>yellow"}; !slices.Equal(got, want) {
		t.Errorf("health changes = %v, want %v (newest first)", got, want)
	}
	f := health
	f.OwnerID = dana.ID
	if got := list(f); len(got) != 2 {
		t.Errorf("Dana's health changes = %v, want Initech's two", got)
	}
	f.OwnerID = account.Unassigned
	if got := list(f); !slices.Equal(got, []string{"Globex:red>yellow"}) {
		t.Errorf("unowned health changes = %v", got)
	}
	f = health
	f.Direction = 1
	if got := list(f); !slices.Equal(got, []string{"Globex:red>yellow"}) {
		t.Errorf("better health changes = %v", got)
	}
	f = health
	f.From, f.To = day(2), day(3)
	if got := list(f); !slices.Equal(got, []string{"Globex:red>yellow"}) {
		t.Errorf("health changes from day 2 until day 3 = %v", got)
	}
	f = health
	f.Limit = 2
	p, err := e.st.ListStateChanges(e.ctx, f)
	e.ok(err, "ListStateChanges")
	if len(p.Changes) != 2 || p.Next == "" {
		t.Fatalf("first page = %d changes, next %q; want 2 and a cursor", len(p.Changes), p.Next)
	}
	f.Cursor = p.Next
	if got := list(f); !slices.Equal(got, []string{"Initech:green>yellow"}) {
		t.Errorf("second page = %v", got)
	}
	_, err = e.st.ListStateChanges(e.ctx, store.StateChangeFilter{Cursor: "nope"})
	wantErr(t, err, derrors.Invalid, "cursor")
	_, err = e.st.ListStateChanges(e.ctx, store.StateChangeFilter{Direction: 2})
	wantErr(t, err, derrors.Invalid, "direction")
}

func testHealthSnapshots(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	d := date.MustParse("2026-03-01")
	s1, s2 := 8.25, 4.0
	e.ok(e.st.SaveHealthSnapshots(e.ctx, []store.HealthSnapshot{
		{AccountID: a.ID, Day: d, Score: &s1, Color: "green", Model: "default", Categories: map[string]float64{"Utilization": 10}},
		{AccountID: a.ID, Day: d.AddDays(1), Color: ""},
		{AccountID: 99_999, Day: d}, // no such account: skipped
	}), "SaveHealthSnapshots")
	// The day's last snapshot wins.
	e.ok(e.st.SaveHealthSnapshots(e.ctx, []store.HealthSnapshot{
		{AccountID: a.ID, Day: d.AddDays(1), Score: &s2, Color: "yellow", Model: "default"},
	}), "SaveHealthSnapshots")
	got, err := e.st.HealthSnapshots(e.ctx, a.ID, date.Date{}, date.Date{})
	e.ok(err, "HealthSnapshots")
	sameJSON(t, "snapshots", got, []store.HealthSnapshot{
		{AccountID: a.ID, Day: d, Score: &s1, Color: "green", Model: "default", Categories: map[string]float64{"Utilization": 10}},
		{AccountID: a.ID, Day: d.AddDays(1), Score: &s2, Color: "yellow", Model: "default", Categories: map[string]float64{}},
	})
	got, err = e.st.HealthSnapshots(e.ctx, a.ID, d.AddDays(1), d.AddDays(5))
	e.ok(err, "HealthSnapshots")
	if len(got) != 1 || got[0].Day != d.AddDays(1) {
		t.Errorf("snapshots from the 2nd = %+v, want the one of the 2nd", got)
	}
	err = e.st.SaveHealthSnapshots(e.ctx, []store.HealthSnapshot{{AccountID: a.ID}})
	wantErr(t, err, derrors.Invalid, "day")
}

func testHealthCounts(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	ids := []int64{
		e.account(account.Account{Name: "A", OwnerID: &dana.ID}).ID,
		e.account(account.Account{Name: "B", OwnerID: &dana.ID}).ID,
		e.account(account.Account{Name: "C"}).ID,
		e.account(account.Account{Name: "D"}).ID,
	}
	var as []store.Assessment
	for i, c := range []string{"green", "red", "green", ""} {
		as = append(as, store.Assessment{AccountID: ids[i], Segment: "Commercial", Color: c, At: e.now()})
	}
	e.ok(e.st.SaveAssessments(e.ctx, as), "SaveAssessments")
	got, err := e.st.HealthCounts(e.ctx, account.Filter{HealthColor: "red", Sort: "-arr", Limit: 1})
	e.ok(err, "HealthCounts")
	sameJSON(t, "all counts", got, map[string]int{"": 1, "green": 2, "red": 1})
	got, err = e.st.HealthCounts(e.ctx, account.Filter{OwnerID: dana.ID})
	e.ok(err, "HealthCounts")
	sameJSON(t, "Dana's counts", got, map[string]int{"green": 1, "red": 1})
}

func testLeases(e *env) {
	t := e.t
	now := start
	take := func(holder string, at time.Time) bool {
		t.Helper()
		ok, err := e.st.AcquireLease(e.ctx, "assess", holder, at, 10*time.Second)
		e.ok(err, "AcquireLease")
		return ok
	}
	if !take("one", now) {
		t.Fatal("a free lease was refused")
	}
	if take("two", now.Add(5*time.Second)) {
		t.Error("a held lease went to another holder")
	}
	if !take("one", now.Add(8*time.Second)) {
		t.Error("the holder could not renew")
	}
	if take("two", now.Add(17*time.Second)) {
		t.Error("a renewed lease expired early")
	}
	if !take("two", now.Add(18*time.Second)) {
		t.Error("an expired lease was not taken over")
	}
	e.ok(e.st.ReleaseLease(e.ctx, "assess", "one"), "ReleaseLease by a former holder")
	if take("one", now.Add(19*time.Second)) {
		t.Error("a release by a former holder freed the lease")
	}
	e.ok(e.st.ReleaseLease(e.ctx, "assess", "two"), "ReleaseLease")
	if !take("one", now.Add(19*time.Second)) {
		t.Error("a released lease was refused")
	}
	_, err := e.st.AcquireLease(e.ctx, "", "one", now, time.Second)
	wantErr(t, err, derrors.Invalid, "")
}
