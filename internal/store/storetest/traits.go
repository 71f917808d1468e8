package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var traitTests = []test{
	{"SetAndList", testSetTraits},
	{"ValuesRoundTrip", testTraitValuesRoundTrip},
	{"SameValueNoChange", testSetTraitSameValue},
	{"ChangeAndClear", testChangeAndClearTrait},
	{"UnknownAccountOrActor", testSetTraitsUnknownAccount},
	{"History", testTraitHistory},
}

// write is a shorthand for one trait write.
func write(accountID int64, key string, v any) account.TraitWrite {
	return account.TraitWrite{AccountID: accountID, Key: key, Value: v}
}

// traitMap reads an account's current traits by key.
func (e *env) traitMap(accountID int64) map[string]account.TraitValue {
	e.t.Helper()
	ts, err := e.st.ListTraits(e.ctx, accountID)
	e.ok(err, "ListTraits")
	out := map[string]account.TraitValue{}
	for _, tv := range ts {
		out[tv.Key] = tv
	}
	return out
}

func testSetTraits(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	now := e.now()
	by := account.Actor{UserID: &dana.ID, Name: dana.Email, Source: account.SourceManual}
	changes, err := e.st.SetTraits(e.ctx, []account.TraitWrite{
		write(a.ID, "ta_pulse", "Concerning"),
		write(a.ID, "active_champion", true),
		write(b.ID, "ta_pulse", "Healthy"),
	}, by)
	e.ok(err, "SetTraits")
	if len(changes) != 3 {
		t.Fatalf("SetTraits returned %d changes, want 3", len(changes))
	}
	for i, want := range []struct {
		acc int64
		key string
		new any
	}{{a.ID, "ta_pulse", "Concerning"}, {a.ID, "active_champion", true}, {b.ID, "ta_pulse", "Healthy"}} {
		c := changes[i]
		if c.ID <= 0 || c.AccountID != want.acc || c.Key != want.key || c.Old != nil || c.New != want.new ||
			c.Source != account.SourceManual || c.Actor != dana.Email || c.ActorID == nil || *c.ActorID != dana.ID {
			t.Errorf("change %d = %+v, want %s on %d: nil → %v by %s", i, c, want.key, want.acc, want.new, dana.Email)
		}
		e.sameInstant("change At", c.At, now)
	}

	ts, err := e.st.ListTraits(e.ctx, a.ID)
	e.ok(err, "ListTraits")
	if len(ts) != 2 || ts[0].Key != "active_champion" || ts[1].Key != "ta_pulse" {
		t.Fatalf("ListTraits = %+v, want active_champion, ta_pulse (by key)", ts)
	}
	for _, tv := range ts {
		if tv.AccountID != a.ID || tv.Source != account.SourceManual || tv.UpdatedBy != dana.Email {
			t.Errorf("trait value %+v: want account %d, source manual, by %s", tv, a.ID, dana.Email)
		}
		e.sameInstant("trait UpdatedAt", tv.UpdatedAt, now)
	}

	// A system writer's source is recorded as given; without one, manual.
	e.advance(time.Second)
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "defect_tickets_90d", 3.0)},
		account.System("warehouse sync", account.SourceWarehouse))
	e.ok(err, "SetTraits warehouse")
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "success_plan_url", "https://docs.example/plan")},
		account.Actor{Name: "script"})
	e.ok(err, "SetTraits without source")
	m := e.traitMap(a.ID)
	if tv := m["defect_tickets_90d"]; tv.Source != account.SourceWarehouse || tv.UpdatedBy != "warehouse sync" {
		t.Errorf("warehouse write stored as %+v", tv)
	}
	if tv := m["success_plan_url"]; tv.Source != account.SourceManual || tv.UpdatedBy != "script" {
		t.Errorf("write without a source stored as %+v", tv)
	}
	h, err := e.st.TraitHistory(e.ctx, a.ID, "defect_tickets_90d", 10)
	e.ok(err, "TraitHistory")
	if len(h) != 1 || h[0].Source != account.SourceWarehouse || h[0].ActorID != nil || h[0].Actor != "warehouse sync" {
		t.Errorf("history of a system write: %+v", h)
	}

	for _, id := range []int64{e.account(account.Account{Name: "Empty"}).ID, b.ID + 100} {
		ts, err := e.st.ListTraits(e.ctx, id)
		e.ok(err, "ListTraits")
		if ts == nil || len(ts) != 0 {
			t.Errorf("ListTraits(%d) = %#v, want an empty list", id, ts)
		}
	}
	changes, err = e.st.SetTraits(e.ctx, nil, by)
	e.ok(err, "SetTraits(nil)")
	if len(changes) != 0 {
		t.Errorf("SetTraits(nil) = %+v", changes)
	}
}

// testTraitValuesRoundTrip writes each canonical value type (what
// TraitDef.Coerce produces) and reads back the same Go value and type.
func testTraitValuesRoundTrip(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	values := map[string]any{
		"n_int":      3.0,
		"n_zero":     0.0,
		"n_negative": -12.5,
		"n_fraction": 0.1 + 0.2,
		"n_ratio":    0.7931034482758621,
		"n_big":      1e21,
		"n_tiny":     5e-324,
		"b_true":     true,
		"b_false":    false,
		"t_text":     `Healthy, "quoted" — ünïcödé ✓`,
		"t_empty":    "",
		"t_json":     `{"not": "an object"}`,
		"t_number":   "42",
		"t_true":     "true",
		"d_date":     "2026-01-15",
	}
	var ws []account.TraitWrite
	for k, v := range values {
		ws = append(ws, write(a.ID, k, v))
	}
	changes, err := e.st.SetTraits(e.ctx, ws, account.System("storetest", ""))
	e.ok(err, "SetTraits")
	for _, c := range changes {
		if !sameValue(c.New, values[c.Key]) {
			e.t.Errorf("change %s New = %#v (%T), want %#v (%T)", c.Key, c.New, c.New, values[c.Key], values[c.Key])
		}
	}
	check := func(when string) {
		m := e.traitMap(a.ID)
		if len(m) != len(values) {
			e.t.Errorf("%s: %d traits stored, want %d", when, len(m), len(values))
		}
		for k, want := range values {
			if got := m[k].Value; !sameValue(got, want) {
				e.t.Errorf("%s: trait %s = %#v (%T), want %#v (%T)", when, k, got, got, want, want)
			}
		}
		h, err := e.st.TraitHistory(e.ctx, a.ID, "", 100)
		e.ok(err, "TraitHistory")
		for _, c := range h {
			if !sameValue(c.New, values[c.Key]) || c.Old != nil {
				e.t.Errorf("%s: history of %s = %#v → %#v, want nil → %#v", when, c.Key, c.Old, c.New, values[c.Key])
			}
		}
	}
	check("after set")
	// Writing the same values again is recognised as no change for every
	// type: a number that reads back differently would count as a change.
	changes, err = e.st.SetTraits(e.ctx, ws, account.System("storetest", ""))
	e.ok(err, "SetTraits again")
	if len(changes) != 0 {
		e.t.Errorf("rewriting the same values made %d changes: %+v", len(changes), changes)
	}
	check("after rewrite")
}

func sameValue(got, want any) bool {
	return reflect.TypeOf(got) == reflect.TypeOf(want) && reflect.DeepEqual(got, want)
}

func testSetTraitSameValue(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	by := account.System("storetest", "")
	_, err := e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", "Healthy"), write(a.ID, "usage_score", 0.31)}, by)
	e.ok(err, "SetTraits")
	before := e.traitMap(a.ID)

	e.advance(time.Hour)
	changes, err := e.st.SetTraits(e.ctx, []account.TraitWrite{
		write(a.ID, "ta_pulse", "Healthy"),
		write(a.ID, "usage_score", 0.31),
		write(a.ID, "never_set", nil), // clearing what is not there
	}, account.System("someone else", account.SourceCRM))
	e.ok(err, "SetTraits same values")
	if len(changes) != 0 {
		e.t.Errorf("same values made changes: %+v", changes)
	}
	// Nothing moved: not the value, its source, who set it, or when.
	sameJSON(e.t, "traits after a no-op write", e.traitMap(a.ID), before)
	h, err := e.st.TraitHistory(e.ctx, a.ID, "", 10)
	e.ok(err, "TraitHistory")
	if len(h) != 2 {
		e.t.Errorf("history has %d entries, want 2", len(h))
	}
}

func testChangeAndClearTrait(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech"})
	by := account.Actor{UserID: &dana.ID, Name: dana.Email, Source: account.SourceManual}
	_, err := e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", "Healthy"), write(a.ID, "active_champion", true)}, by)
	e.ok(err, "SetTraits")

	e.advance(time.Minute)
	now := e.now()
	changes, err := e.st.SetTraits(e.ctx, []account.TraitWrite{
		write(a.ID, "ta_pulse", "Poor"),
		write(a.ID, "active_champion", false), // false is a value, not a clear
	}, by)
	e.ok(err, "SetTraits change")
	if len(changes) != 2 || changes[0].Old != "Healthy" || changes[0].New != "Poor" ||
		changes[1].Old != true || changes[1].New != false {
		t.Fatalf("changes = %+v, want Healthy → Poor and true → false", changes)
	}
	m := e.traitMap(a.ID)
	if m["ta_pulse"].Value != "Poor" || m["active_champion"].Value != false {
		t.Errorf("traits after change: %+v", m)
	}
	e.sameInstant("UpdatedAt after change", m["ta_pulse"].UpdatedAt, now)

	e.advance(time.Minute)
	now = e.now()
	changes, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", nil)}, by)
	e.ok(err, "SetTraits clear")
	if len(changes) != 1 || changes[0].Old != "Poor" || changes[0].New != nil {
		t.Fatalf("clear = %+v, want Poor → nil", changes)
	}
	e.sameInstant("clear At", changes[0].At, now)
	m = e.traitMap(a.ID)
	if _, ok := m["ta_pulse"]; ok || len(m) != 1 {
		t.Errorf("traits after clear: %+v, want only active_champion", m)
	}

	// Clearing again is no change; setting again starts from nil.
	changes, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", nil)}, by)
	e.ok(err, "SetTraits clear again")
	if len(changes) != 0 {
		t.Errorf("clearing a cleared trait made changes: %+v", changes)
	}
	changes, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", "Concerning")}, by)
	e.ok(err, "SetTraits set again")
	if len(changes) != 1 || changes[0].Old != nil || changes[0].New != "Concerning" {
		t.Errorf("set after clear = %+v, want nil → Concerning", changes)
	}

	// Two writes of one key in one call apply in order.
	changes, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", "Healthy"), write(a.ID, "ta_pulse", "Poor")}, by)
	e.ok(err, "SetTraits twice")
	if len(changes) != 2 || changes[1].Old != "Healthy" || changes[1].New != "Poor" || e.traitMap(a.ID)["ta_pulse"].Value != "Poor" {
		t.Errorf("two writes of one key: %+v", changes)
	}

	h, err := e.st.TraitHistory(e.ctx, a.ID, "ta_pulse", 100)
	e.ok(err, "TraitHistory")
	var trail []string
	for _, c := range h {
		trail = append(trail, fmt.Sprintf("%v→%v", c.Old, c.New))
	}
	want := []string{"Healthy→Poor", "Concerning→Healthy", "<nil>→Concerning", "Poor→<nil>", "Healthy→Poor", "<nil>→Healthy"}
	if !slices.Equal(trail, want) {
		t.Errorf("ta_pulse history (newest first) = %v, want %v", trail, want)
	}
}

func testSetTraitsUnknownAccount(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	changes, err := e.st.SetTraits(e.ctx, []account.TraitWrite{
		write(a.ID, "ta_pulse", "Healthy"),
		write(a.ID+100, "ta_pulse", "Poor"),
	}, account.System("storetest", ""))
	wantErr(e.t, err, derrors.NotFound, "")
	if len(changes) != 0 {
		e.t.Errorf("changes returned with the error: %+v", changes)
	}
	// One transaction: the good write before the bad one is not kept.
	if m := e.traitMap(a.ID); len(m) != 0 {
		e.t.Errorf("traits after a failed SetTraits: %+v", m)
	}
	if h, _ := e.st.TraitHistory(e.ctx, a.ID, "", 10); len(h) != 0 {
		e.t.Errorf("history after a failed SetTraits: %+v", h)
	}
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(0, "ta_pulse", "Poor")}, account.System("storetest", ""))
	wantErr(e.t, err, derrors.NotFound, "")

	// A write by a team member who does not exist names the actor.
	ghost := int64(4242)
	_, err = e.st.SetTraits(e.ctx, []account.TraitWrite{write(a.ID, "ta_pulse", "Poor")}, account.Actor{UserID: &ghost, Name: "ghost"})
	wantErr(e.t, err, derrors.Unprocessable, "actor_id")
	if m := e.traitMap(a.ID); len(m) != 0 {
		e.t.Errorf("traits after a write by an unknown user: %+v", m)
	}
}

func testTraitHistory(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	by := account.System("storetest", "")
	set := func(acc int64, key string, v any) {
		_, err := e.st.SetTraits(e.ctx, []account.TraitWrite{write(acc, key, v)}, by)
		e.ok(err, "SetTraits")
	}
	set(a.ID, "ta_pulse", "Healthy")
	e.advance(time.Second)
	set(a.ID, "usage_score", 0.2)
	set(b.ID, "usage_score", 0.9)
	e.advance(time.Second)
	set(a.ID, "ta_pulse", "Poor")
	// Same instant as the write before: the later write is still newer.
	set(a.ID, "usage_score", 0.35)
	e.advance(time.Second)
	set(a.ID, "ta_pulse", "Concerning")

	key := func(h []account.TraitChange) []string {
		var out []string
		for _, c := range h {
			out = append(out, fmt.Sprintf("%s=%v", c.Key, c.New))
			if c.AccountID != a.ID {
				t.Errorf("history of %d has a change of account %d", a.ID, c.AccountID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		key   string
		limit int
		want  []string
	}{
		{"", 100, []string{"ta_pulse=Concerning", "usage_score=0.35", "ta_pulse=Poor", "usage_score=0.2", "ta_pulse=Healthy"}},
		{"", 2, []string{"ta_pulse=Concerning", "usage_score=0.35"}},
		{"ta_pulse", 100, []string{"ta_pulse=Concerning", "ta_pulse=Poor", "ta_pulse=Healthy"}},
		{"usage_score", 1, []string{"usage_score=0.35"}},
		{"region", 100, nil},
	} {
		h, err := e.st.TraitHistory(e.ctx, a.ID, tc.key, tc.limit)
		e.ok(err, "TraitHistory")
		if got := key(h); !slices.Equal(got, tc.want) {
			t.Errorf("TraitHistory(%q, %d) = %v, want %v", tc.key, tc.limit, got, tc.want)
		}
		if h == nil {
			t.Errorf("TraitHistory(%q, %d) = nil, want an empty list", tc.key, tc.limit)
		}
	}
	h, err := e.st.TraitHistory(e.ctx, a.ID, "", 100)
	e.ok(err, "TraitHistory")
	e.sameInstant("newest change At", h[0].At, e.now())
	if !h[0].At.After(h[len(h)-1].At) {
		t.Errorf("history times run %v … %v, want newest first", h[0].At, h[len(h)-1].At)
	}
}
