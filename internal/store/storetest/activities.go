package storetest

import (
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var activityTests = []test{
	{"AddAndList", testAddActivity},
	{"OrderAndLimit", testListActivitiesOrder},
	{"Errors", testAddActivityErrors},
}

func testAddActivity(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech"})
	e.advance(time.Minute)
	now := e.now()

	note := account.Activity{AccountID: a.ID, Kind: account.ActivityNote, ActorID: &dana.ID, Actor: dana.Email,
		Body: "Kickoff call: they want SSO before rollout.\nFollow up Tuesday."}
	e.ok(e.st.AddActivity(e.ctx, &note), "AddActivity")
	if note.ID <= 0 {
		t.Fatalf("ID = %d after AddActivity", note.ID)
	}
	// A zero At is the store's now.
	e.sameInstant("At", note.At, now)

	// An explicit At is kept, to the millisecond, on either engine.
	at := time.Date(2025, time.December, 1, 9, 30, 15, 123_456_789, time.FixedZone("PST", -8*3600))
	past := account.Activity{AccountID: a.ID, Kind: account.ActivityTraitChanged, Actor: "warehouse sync", Body: "usage_score: 0.2 → 0.35", At: at}
	e.ok(e.st.AddActivity(e.ctx, &past), "AddActivity with At")
	want := at.Truncate(time.Millisecond)
	if !past.At.Equal(want) {
		t.Errorf("At after AddActivity = %v, want %v", past.At, want)
	}

	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 3 {
		t.Fatalf("timeline = %+v, want note, created, trait change", acts)
	}
	sameJSON(t, "note", acts[0], note)
	if acts[1].Kind != account.ActivityCreated {
		t.Errorf("second entry is %q, want created", acts[1].Kind)
	}
	if acts[2].ID != past.ID || !acts[2].At.Equal(want) || acts[2].At.Location() != time.UTC || acts[2].ActorID != nil {
		t.Errorf("back-dated entry = %+v, want At %v UTC, no actor id", acts[2], want)
	}
}

func testListActivitiesOrder(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	add := func(acc int64, body string, at time.Time) int64 {
		x := account.Activity{AccountID: acc, Kind: account.ActivityNote, Body: body, At: at}
		e.ok(e.st.AddActivity(e.ctx, &x), "AddActivity")
		return x.ID
	}
	base := e.now()
	// Added out of time order; two share an instant (the later id is newer).
	n3 := add(a.ID, "third", base.Add(3*time.Hour))
	n1 := add(a.ID, "first", base.Add(time.Hour))
	n2a := add(a.ID, "second a", base.Add(2*time.Hour))
	n2b := add(a.ID, "second b", base.Add(2*time.Hour))
	add(b.ID, "other account", base.Add(4*time.Hour))
	created := e.mustActivities(a.ID, 100)[4].ID

	for _, tc := range []struct {
		limit int
		want  []int64
	}{
		{100, []int64{n3, n2b, n2a, n1, created}},
		{0, []int64{n3, n2b, n2a, n1, created}}, // no limit given: a default page
		{3, []int64{n3, n2b, n2a}},
		{1, []int64{n3}},
	} {
		acts := e.mustActivities(a.ID, tc.limit)
		var got []int64
		for _, x := range acts {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListActivities(limit %d) = %v, want %v", tc.limit, got, tc.want)
		}
	}
	if acts := e.mustActivities(b.ID+100, 10); acts == nil || len(acts) != 0 {
		t.Errorf("timeline of an unknown account = %#v, want an empty list", acts)
	}
}

func (e *env) mustActivities(accountID int64, limit int) []account.Activity {
	e.t.Helper()
	acts, err := e.st.ListActivities(e.ctx, accountID, limit)
	e.ok(err, "ListActivities")
	return acts
}

func testAddActivityErrors(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	missingUser := int64(4242)
	for _, tc := range []struct {
		code  derrors.Code
		field string
		x     account.Activity
	}{
		{derrors.Unprocessable, "kind", account.Activity{AccountID: a.ID, Body: "no kind"}},
		{derrors.Unprocessable, "body", account.Activity{AccountID: a.ID, Kind: account.ActivityNote}},
		{derrors.NotFound, "account_id", account.Activity{AccountID: a.ID + 100, Kind: account.ActivityNote, Body: "lost"}},
		{derrors.Unprocessable, "actor_id", account.Activity{AccountID: a.ID, Kind: account.ActivityNote, Body: "ghost", ActorID: &missingUser}},
	} {
		x := tc.x
		wantErr(e.t, e.st.AddActivity(e.ctx, &x), tc.code, tc.field)
	}
	if acts := e.mustActivities(a.ID, 10); len(acts) != 1 {
		e.t.Errorf("failed adds left %d entries, want 1 (created)", len(acts))
	}
}
