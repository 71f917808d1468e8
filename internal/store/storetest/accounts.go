package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var accountTests = []test{
	{"CreateAndGet", testCreateAndGetAccount},
	{"CreateMinimal", testCreateMinimalAccount},
	{"GetMissing", testGetMissingAccount},
	{"CreateInvalid", testCreateInvalidAccount},
	{"CreateDuplicateKeys", testCreateDuplicateAccountKeys},
	{"CreateUnknownUser", testCreateAccountUnknownUser},
	{"Update", testUpdateAccount},
	{"UpdateUnchanged", testUpdateAccountUnchanged},
	{"UpdateErrors", testUpdateAccountErrors},
	{"DeleteCascades", testDeleteAccountCascades},
	{"DeleteMissing", testDeleteMissingAccount},
	{"ResolveExternalIDs", testResolveExternalIDs},
	{"OwnerStats", testOwnerStats},
}

// fullAccount is an account with every field set, the way a CRM sync
// fills one (004: a Managed Enterprise account in Adopting).
func fullAccount(owner, ae, ce, ie int64) account.Account {
	return account.Account{
		Name:                "  Initech  ",
		Domain:              "Initech.EXAMPLE",
		ExternalID:          "0015g00000Initech",
		AnalyticsID:         "grp_initech",
		EstimatedDevelopers: 2400,
		ARR:                 480_000,
		Seats:               1800,
		SupportLevel:        "managed",
		OwnerID:             &owner,
		AEID:                &ae,
		CEID:                &ce,
		IEID:                &ie,
		ExpectedCloseDate:   date.New(2025, time.January, 20),
		CloseDate:           date.New(2025, time.January, 31),
		RenewalDate:         date.New(2026, time.January, 31),
		Entitlements:        []string{"code_search", "ai_assistant", "code_search"},
		Deployment:          "self_hosted",
		Segment:             "Enterprise",
		Program:             "Managed",
		Stage:               "2. Adopting",
		HealthScore:         ptr(7.25),
		HealthColor:         "green",
	}
}

func testCreateAndGetAccount(e *env) {
	t := e.t
	ta := e.user("Dana Advisor", "dana@tend.test", team.TA)
	ae := e.user("Ari Exec", "ari@tend.test", team.AE)
	ce := e.user("Cy Engineer", "cy@tend.test", team.CE)
	ie := e.user("Ida Implementer", "ida@tend.test", team.CE)
	a := fullAccount(ta.ID, ae.ID, ce.ID, ie.ID)
	now := e.now()
	e.ok(e.st.CreateAccount(e.ctx, &a, account.Actor{UserID: &ta.ID, Name: ta.Email}), "CreateAccount")

	if a.ID <= 0 {
		t.Fatalf("ID = %d after CreateAccount, want > 0", a.ID)
	}
	e.sameInstant("CreatedAt", a.CreatedAt, now)
	e.sameInstant("UpdatedAt", a.UpdatedAt, now)
	// Create normalises what it stores and hands the stored form back.
	if a.Name != "Initech" || a.Domain != "initech.example" {
		t.Errorf("name, domain = %q, %q; want trimmed and lower-case domain", a.Name, a.Domain)
	}
	sameJSON(t, "entitlements", a.Entitlements, []string{"ai_assistant", "code_search"})

	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	sameJSON(t, "GetAccount", got, a)
	e.sameInstant("GetAccount CreatedAt", got.CreatedAt, now)

	got, err = e.st.GetAccountByExternalID(e.ctx, "0015g00000Initech")
	e.ok(err, "GetAccountByExternalID")
	sameJSON(t, "GetAccountByExternalID", got, a)

	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 1 || acts[0].Kind != account.ActivityCreated || acts[0].Actor != ta.Email ||
		acts[0].ActorID == nil || *acts[0].ActorID != ta.ID {
		t.Fatalf("timeline after create = %+v, want one %q activity by %s", acts, account.ActivityCreated, ta.Email)
	}
	e.sameInstant("created activity At", acts[0].At, now)
}

func testCreateMinimalAccount(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Globex"})
	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	// Unset references, dates and health read back as unset, not as zero
	// ids, 0001-01-01 or a 0 score; entitlements as an empty list.
	if got.OwnerID != nil || got.AEID != nil || got.CEID != nil || got.IEID != nil {
		t.Errorf("unset user references read back as %v %v %v %v", got.OwnerID, got.AEID, got.CEID, got.IEID)
	}
	if !got.ExpectedCloseDate.IsZero() || !got.CloseDate.IsZero() || !got.RenewalDate.IsZero() {
		t.Errorf("unset dates read back as %q %q %q", got.ExpectedCloseDate, got.CloseDate, got.RenewalDate)
	}
	if got.HealthScore != nil {
		t.Errorf("unset health score read back as %v", *got.HealthScore)
	}
	if got.Entitlements == nil || len(got.Entitlements) != 0 {
		t.Errorf("entitlements = %#v, want an empty list", got.Entitlements)
	}
	if got.ExternalID != "" || got.AnalyticsID != "" {
		t.Errorf("external ids = %q, %q; want empty", got.ExternalID, got.AnalyticsID)
	}
	// Two accounts without external ids do not collide on them.
	e.account(account.Account{Name: "Hooli"})
}

func testGetMissingAccount(e *env) {
	a := e.account(account.Account{Name: "Globex", ExternalID: "G-1"})
	for _, id := range []int64{0, -1, a.ID + 1000} {
		got, err := e.st.GetAccount(e.ctx, id)
		wantErr(e.t, err, derrors.NotFound, "")
		if got.ID != 0 {
			e.t.Errorf("GetAccount(%d) returned account %d with its error", id, got.ID)
		}
	}
	for _, ext := range []string{"G-2", "", "g-1"} {
		_, err := e.st.GetAccountByExternalID(e.ctx, ext)
		wantErr(e.t, err, derrors.NotFound, "")
	}
}

func testCreateInvalidAccount(e *env) {
	for _, tc := range []struct {
		field string
		a     account.Account
	}{
		{"name", account.Account{Name: "   "}},
		{"name", account.Account{Name: strings.Repeat("x", 201)}},
		{"domain", account.Account{Name: "Acme", Domain: "acme com"}},
		{"domain", account.Account{Name: "Acme", Domain: "https://acme.example/"}},
		{"estimated_developers", account.Account{Name: "Acme", EstimatedDevelopers: -1}},
		{"arr", account.Account{Name: "Acme", ARR: -1}},
		{"seats", account.Account{Name: "Acme", Seats: -5}},
		{"support_level", account.Account{Name: "Acme", SupportLevel: "gold"}},
		{"deployment", account.Account{Name: "Acme", Deployment: "on_prem"}},
		{"health_color", account.Account{Name: "Acme", HealthColor: "blue"}},
		{"entitlements", account.Account{Name: "Acme", Entitlements: []string{"code_search", "telepathy"}}},
		{"segment", account.Account{Name: "Acme", Segment: strings.Repeat("s", 65)}},
		{"renewal_date", account.Account{Name: "Acme", CloseDate: date.New(2026, 2, 1), RenewalDate: date.New(2026, 1, 1)}},
	} {
		a := tc.a
		err := e.st.CreateAccount(e.ctx, &a, account.System("storetest", ""))
		wantErr(e.t, err, derrors.Unprocessable, tc.field)
		if a.ID != 0 {
			e.t.Errorf("invalid %s: ID set to %d", tc.field, a.ID)
		}
	}
	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if page.Total != 0 {
		e.t.Errorf("%d accounts stored after only invalid creates", page.Total)
	}
}

func testCreateDuplicateAccountKeys(e *env) {
	e.account(account.Account{Name: "Acme", ExternalID: "A-1", AnalyticsID: "grp_acme"})
	a := account.Account{Name: "Acme again", ExternalID: "A-1"}
	wantErr(e.t, e.st.CreateAccount(e.ctx, &a, account.System("storetest", "")), derrors.Conflict, "external_id")
	a = account.Account{Name: "Acme analytics", ExternalID: "A-2", AnalyticsID: "grp_acme"}
	wantErr(e.t, e.st.CreateAccount(e.ctx, &a, account.System("storetest", "")), derrors.Conflict, "analytics_id")
	// The store is still usable after a failed transaction.
	e.account(account.Account{Name: "Acme", ExternalID: "A-3"})
	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if page.Total != 2 {
		e.t.Errorf("Total = %d after two good and two conflicting creates, want 2", page.Total)
	}
}

func testCreateAccountUnknownUser(e *env) {
	u := e.user("Dana Advisor", "dana@tend.test", team.TA)
	missing := u.ID + 100
	// The error names the reference at fault on either engine.
	for _, tc := range []struct {
		field string
		a     account.Account
	}{
		{"owner_id", account.Account{Name: "Acme", OwnerID: &missing}},
		{"ae_id", account.Account{Name: "Acme", OwnerID: &u.ID, AEID: &missing}},
		{"ce_id", account.Account{Name: "Acme", CEID: &missing}},
		{"ie_id", account.Account{Name: "Acme", AEID: &u.ID, IEID: &missing}},
	} {
		err := e.st.CreateAccount(e.ctx, &tc.a, account.System("storetest", ""))
		wantErr(e.t, err, derrors.Unprocessable, tc.field)
	}
	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if page.Total != 0 {
		e.t.Errorf("%d accounts stored with unknown users", page.Total)
	}
}

func testUpdateAccount(e *env) {
	t := e.t
	ta := e.user("Dana Advisor", "dana@tend.test", team.TA)
	other := e.user("Omar Advisor", "omar@tend.test", team.TA)
	a := e.account(account.Account{Name: "Initech", ARR: 100, OwnerID: &ta.ID, Stage: "1. Onboarding"})
	created := a.CreatedAt

	e.advance(90 * time.Second)
	now := e.now()
	a.ARR = 250
	a.OwnerID = &other.ID
	a.RenewalDate = date.New(2027, time.March, 1)
	a.Entitlements = []string{"code_search"}
	by := account.Actor{UserID: &ta.ID, Name: ta.Email}
	e.ok(e.st.UpdateAccount(e.ctx, &a, by), "UpdateAccount")
	e.sameInstant("CreatedAt after update", a.CreatedAt, created)
	e.sameInstant("UpdatedAt after update", a.UpdatedAt, now)

	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	sameJSON(t, "GetAccount after update", got, a)

	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 2 || acts[0].Kind != account.ActivityFieldChanged {
		t.Fatalf("timeline = %+v, want field_changed then created", acts)
	}
	// Each changed field is recorded, old → new, by whoever changed it.
	for _, want := range []string{
		"arr: 100 → 250",
		fmt.Sprintf("owner_id: %d → %d", ta.ID, other.ID),
		"renewal_date: — → 2027-03-01",
		"entitlements: — → code_search",
	} {
		if !strings.Contains(acts[0].Body, want) {
			t.Errorf("change record %q lacks %q", acts[0].Body, want)
		}
	}
	if strings.Contains(acts[0].Body, "name") || strings.Contains(acts[0].Body, "stage") {
		t.Errorf("change record %q names fields that did not change", acts[0].Body)
	}
	if acts[0].Actor != ta.Email || acts[0].ActorID == nil || *acts[0].ActorID != ta.ID {
		t.Errorf("change recorded by %q (%v), want %s", acts[0].Actor, acts[0].ActorID, ta.Email)
	}
	e.sameInstant("change At", acts[0].At, now)

	// Clearing a reference and a date stores them as unset.
	a.OwnerID = nil
	a.RenewalDate = date.Date{}
	e.ok(e.st.UpdateAccount(e.ctx, &a, by), "UpdateAccount clearing")
	got, err = e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.OwnerID != nil || !got.RenewalDate.IsZero() {
		t.Errorf("after clearing: owner %v, renewal %q", got.OwnerID, got.RenewalDate)
	}
}

func testUpdateAccountUnchanged(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech", ARR: 100, Entitlements: []string{"code_search"}})
	created := a.CreatedAt
	e.advance(time.Minute)

	// The same values, even spelled differently before normalising, are no
	// change: no write, no timeline entry, UpdatedAt kept.
	same := a
	same.Name = " Initech "
	same.Entitlements = []string{"code_search", "code_search"}
	e.ok(e.st.UpdateAccount(e.ctx, &same, account.System("storetest", "")), "UpdateAccount")
	e.sameInstant("UpdatedAt after a no-op update", same.UpdatedAt, created)
	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	e.sameInstant("stored UpdatedAt after a no-op update", got.UpdatedAt, created)
	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 1 {
		t.Errorf("timeline has %d entries after a no-op update, want 1 (created)", len(acts))
	}

	// Health is computed and has its own history: a change to it is saved
	// but is not a field change on the timeline.
	now := e.now()
	same.HealthScore, same.HealthColor = ptr(3.1), "red"
	e.ok(e.st.UpdateAccount(e.ctx, &same, account.System("health", account.SourceComputed)), "UpdateAccount health")
	got, err = e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.HealthScore == nil || *got.HealthScore != 3.1 || got.HealthColor != "red" {
		t.Errorf("health = %v %q, want 3.1 red", got.HealthScore, got.HealthColor)
	}
	e.sameInstant("UpdatedAt after a health change", got.UpdatedAt, now)
	acts, err = e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 1 {
		t.Errorf("timeline has %d entries after a health-only update, want 1", len(acts))
	}
}

func testUpdateAccountErrors(e *env) {
	a := e.account(account.Account{Name: "Initech", ExternalID: "I-1", ARR: 100})
	b := e.account(account.Account{Name: "Globex", ExternalID: "G-1"})
	by := account.System("storetest", "")

	missing := account.Account{ID: b.ID + 100, Name: "Nobody"}
	wantErr(e.t, e.st.UpdateAccount(e.ctx, &missing, by), derrors.NotFound, "")

	bad := a
	bad.Name, bad.ARR = "", 999
	wantErr(e.t, e.st.UpdateAccount(e.ctx, &bad, by), derrors.Unprocessable, "name")

	dup := a
	dup.ExternalID, dup.ARR = "G-1", 999
	wantErr(e.t, e.st.UpdateAccount(e.ctx, &dup, by), derrors.Conflict, "external_id")

	noUser := a
	noUser.OwnerID, noUser.ARR = ptr(int64(4242)), 999
	wantErr(e.t, e.st.UpdateAccount(e.ctx, &noUser, by), derrors.Unprocessable, "owner_id")

	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.ARR != 100 || got.ExternalID != "I-1" || got.Name != "Initech" || got.OwnerID != nil {
		e.t.Errorf("failed updates changed the account: %+v", got)
	}
	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 1 {
		e.t.Errorf("failed updates left %d timeline entries, want 1", len(acts))
	}
}

func testDeleteAccountCascades(e *env) {
	t := e.t
	keep := e.account(account.Account{Name: "Globex", ExternalID: "G-1"})
	gone := e.account(account.Account{Name: "Initech", ExternalID: "I-1"})
	var contacts []account.Contact
	for _, a := range []account.Account{keep, gone} {
		contacts = append(contacts, e.contact(account.Contact{AccountID: a.ID, Name: "Pat", Email: "pat@" + strings.ToLower(a.Name) + ".example"}))
		_, err := e.st.SetTraits(e.ctx, []account.TraitWrite{{AccountID: a.ID, Key: "ta_pulse", Value: "Healthy"}}, account.System("storetest", ""))
		e.ok(err, "SetTraits")
		e.ok(e.st.AddActivity(e.ctx, &account.Activity{AccountID: a.ID, Kind: account.ActivityNote, Body: "QBR booked"}), "AddActivity")
	}

	e.ok(e.st.DeleteAccount(e.ctx, gone.ID), "DeleteAccount")

	_, err := e.st.GetAccount(e.ctx, gone.ID)
	wantErr(t, err, derrors.NotFound, "")
	_, err = e.st.GetAccountByExternalID(e.ctx, "I-1")
	wantErr(t, err, derrors.NotFound, "")
	_, err = e.st.GetContact(e.ctx, contacts[1].ID)
	wantErr(t, err, derrors.NotFound, "")
	if cs, err := e.st.ListContacts(e.ctx, gone.ID); err != nil || len(cs) != 0 {
		t.Errorf("contacts of a deleted account: %v, %v", cs, err)
	}
	if ts, err := e.st.ListTraits(e.ctx, gone.ID); err != nil || len(ts) != 0 {
		t.Errorf("traits of a deleted account: %v, %v", ts, err)
	}
	if h, err := e.st.TraitHistory(e.ctx, gone.ID, "", 10); err != nil || len(h) != 0 {
		t.Errorf("trait history of a deleted account: %v, %v", h, err)
	}
	if acts, err := e.st.ListActivities(e.ctx, gone.ID, 10); err != nil || len(acts) != 0 {
		t.Errorf("timeline of a deleted account: %v, %v", acts, err)
	}

	// The other account keeps everything.
	if _, err := e.st.GetContact(e.ctx, contacts[0].ID); err != nil {
		t.Errorf("other account's contact: %v", err)
	}
	if ts, err := e.st.ListTraits(e.ctx, keep.ID); err != nil || len(ts) != 1 {
		t.Errorf("other account's traits: %v, %v", ts, err)
	}
	if h, err := e.st.TraitHistory(e.ctx, keep.ID, "", 10); err != nil || len(h) != 1 {
		t.Errorf("other account's trait history: %v, %v", h, err)
	}
	if acts, err := e.st.ListActivities(e.ctx, keep.ID, 10); err != nil || len(acts) != 2 {
		t.Errorf("other account's timeline: %v, %v", acts, err)
	}

	// The external id and the contact's email are free again.
	again := e.account(account.Account{Name: "Initech", ExternalID: "I-1"})
	e.contact(account.Contact{AccountID: again.ID, Email: contacts[1].Email})
}

func testDeleteMissingAccount(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	e.ok(e.st.DeleteAccount(e.ctx, a.ID), "DeleteAccount")
	wantErr(e.t, e.st.DeleteAccount(e.ctx, a.ID), derrors.NotFound, "")
	wantErr(e.t, e.st.DeleteAccount(e.ctx, 0), derrors.NotFound, "")
}

func testResolveExternalIDs(e *env) {
	a := e.account(account.Account{Name: "Acme", ExternalID: "SF-1"})
	b := e.account(account.Account{Name: "Globex", ExternalID: "SF-2"})
	e.account(account.Account{Name: "Hooli", ExternalID: "SF-3"})
	e.account(account.Account{Name: "No CRM"})

	got, err := e.st.ResolveExternalIDs(e.ctx, []string{"SF-2", "SF-1", "SF-404", "sf-1", "SF-1", ""})
	e.ok(err, "ResolveExternalIDs")
	sameJSON(e.t, "ResolveExternalIDs", got, map[string]int64{"SF-1": a.ID, "SF-2": b.ID})

	for _, in := range [][]string{nil, {}, {"nope"}} {
		got, err := e.st.ResolveExternalIDs(e.ctx, in)
		e.ok(err, "ResolveExternalIDs")
		if got == nil || len(got) != 0 {
			e.t.Errorf("ResolveExternalIDs(%q) = %#v, want an empty map", in, got)
		}
	}
}

func testOwnerStats(e *env) {
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	omar := e.user("Omar Advisor", "omar@tend.test", team.TA)
	e.user("Idle Advisor", "idle@tend.test", team.TA)
	// Sums past 2^31 dollars must survive both engines' integer types.
	e.account(account.Account{Name: "Big", ARR: 2_500_000_000, OwnerID: &dana.ID})
	e.account(account.Account{Name: "Bigger", ARR: 1_500_000_000, OwnerID: &dana.ID})
	e.account(account.Account{Name: "Small", ARR: 40_000, OwnerID: &omar.ID})
	e.account(account.Account{Name: "Free", OwnerID: &omar.ID})
	e.account(account.Account{Name: "Nobody's", ARR: 99})

	got, err := e.st.OwnerStats(e.ctx)
	e.ok(err, "OwnerStats")
	sameJSON(e.t, "OwnerStats", got, map[int64]account.OwnerStats{
		dana.ID: {Accounts: 2, ARR: 4_000_000_000},
		omar.ID: {Accounts: 2, ARR: 40_000},
	})
}
