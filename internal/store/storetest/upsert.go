package storetest

import (
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

var upsertAccountTests = []test{
	{"CreateUpdateUnchanged", testUpsertAccounts},
	{"KeepsHealth", testUpsertKeepsHealth},
	{"AllOrNothing", testUpsertAccountsAllOrNothing},
	{"Empty", testUpsertAccountsEmpty},
}

func testUpsertAccounts(e *env) {
	t := e.t
	by := account.System("import accounts.csv", account.SourceCRM)
	first := []account.Account{
		{ExternalID: "SF-1", Name: "Acme", ARR: 100_000, Segment: "Commercial"},
		{ExternalID: "SF-2", Name: "Globex", ARR: 40_000, Segment: "Commercial"},
		{ExternalID: "SF-3", Name: "Initech", ARR: 480_000, Segment: "Enterprise"},
	}
	now := e.now()
	res, err := e.st.UpsertAccounts(e.ctx, first, by)
	e.ok(err, "UpsertAccounts")
	sameJSON(t, "first upsert", res, account.UpsertResult{Created: 3})
	for _, a := range first {
		if a.ID <= 0 {
			t.Fatalf("upserted %s has ID %d", a.ExternalID, a.ID)
		}
		got, err := e.st.GetAccountByExternalID(e.ctx, a.ExternalID)
		e.ok(err, "GetAccountByExternalID")
		if got.ID != a.ID || got.Name != a.Name || got.ARR != a.ARR {
			t.Errorf("stored %+v, upserted %+v", got, a)
		}
		e.sameInstant("upserted CreatedAt", got.CreatedAt, now)
		acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
		e.ok(err, "ListActivities")
		if len(acts) != 1 || acts[0].Kind != account.ActivityCreated || acts[0].Actor != by.Name {
			t.Errorf("timeline of upserted %s: %+v", a.ExternalID, acts)
		}
	}

	e.advance(time.Hour)
	later := e.now()
	second := []account.Account{
		{ExternalID: "SF-2", Name: "Globex", ARR: 40_000, Segment: "Commercial"},                    // unchanged
		{ExternalID: " SF-3 ", Name: "Initech", ARR: 520_000, Segment: "Enterprise"},                // ARR changed
		{ExternalID: "SF-4", Name: "Hooli", ARR: 75_000, Segment: "Commercial"},                     // new
		{ExternalID: "SF-1", Name: "Acme", ARR: 100_000, Segment: "Commercial", Program: "Managed"}, // program changed
	}
	res, err = e.st.UpsertAccounts(e.ctx, second, by)
	e.ok(err, "UpsertAccounts")
	sameJSON(t, "second upsert", res, account.UpsertResult{Created: 1, Updated: 2, Unchanged: 1})
	if second[1].ID != first[2].ID || second[0].ID != first[1].ID {
		t.Errorf("upsert gave existing accounts new ids: %d/%d, %d/%d", second[1].ID, first[2].ID, second[0].ID, first[1].ID)
	}

	got, err := e.st.GetAccountByExternalID(e.ctx, "SF-3")
	e.ok(err, "GetAccountByExternalID")
	if got.ARR != 520_000 {
		t.Errorf("SF-3 ARR = %d after upsert, want 520000", got.ARR)
	}
	e.sameInstant("updated CreatedAt", got.CreatedAt, now)
	e.sameInstant("updated UpdatedAt", got.UpdatedAt, later)
	acts, err := e.st.ListActivities(e.ctx, got.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 2 || acts[0].Kind != account.ActivityFieldChanged || !strings.Contains(acts[0].Body, "arr: 480000 → 520000") {
		t.Errorf("timeline of updated SF-3: %+v", acts)
	}

	got, err = e.st.GetAccountByExternalID(e.ctx, "SF-2")
	e.ok(err, "GetAccountByExternalID")
	e.sameInstant("unchanged UpdatedAt", got.UpdatedAt, now)
	acts, err = e.st.ListActivities(e.ctx, got.ID, 10)
	e.ok(err, "ListActivities")
	if len(acts) != 1 {
		t.Errorf("an unchanged upsert added to the timeline: %+v", acts)
	}

	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if page.Total != 4 {
		t.Errorf("Total = %d after upserts, want 4", page.Total)
	}
}

func testUpsertKeepsHealth(e *env) {
	by := account.System("import accounts.csv", account.SourceCRM)
	a := e.account(account.Account{ExternalID: "SF-1", Name: "Acme", ARR: 100_000, HealthScore: ptr(4.5), HealthColor: "yellow"})
	// A CRM row carries no health: re-importing it changes nothing.
	res, err := e.st.UpsertAccounts(e.ctx, []account.Account{{ExternalID: "SF-1", Name: "Acme", ARR: 100_000}}, by)
	e.ok(err, "UpsertAccounts")
	sameJSON(e.t, "upsert without health", res, account.UpsertResult{Unchanged: 1})
	got, err := e.st.GetAccount(e.ctx, a.ID)
	e.ok(err, "GetAccount")
	if got.HealthScore == nil || *got.HealthScore != 4.5 || got.HealthColor != "yellow" {
		e.t.Errorf("health after upsert = %v %q, want 4.5 yellow", got.HealthScore, got.HealthColor)
	}
}

func testUpsertAccountsAllOrNothing(e *env) {
	t := e.t
	by := account.System("import accounts.csv", account.SourceCRM)
	e.account(account.Account{ExternalID: "SF-1", Name: "Acme", ARR: 100_000})
	e.account(account.Account{ExternalID: "SF-2", Name: "Globex", AnalyticsID: "grp_globex"})

	for _, tc := range []struct {
		name  string
		code  derrors.Code
		field string
		rows  []account.Account
	}{
		{"invalid row", derrors.Unprocessable, "[2].name", []account.Account{
			{ExternalID: "SF-1", Name: "Acme", ARR: 999},
			{ExternalID: "SF-9", Name: "New"},
			{ExternalID: "SF-10", Name: " "},
		}},
		{"row without external id", derrors.Unprocessable, "[1].external_id", []account.Account{
			{ExternalID: "SF-9", Name: "New"},
			{Name: "Anonymous"},
		}},
		{"external id twice", derrors.Unprocessable, "[2].external_id", []account.Account{
			{ExternalID: "SF-9", Name: "New"},
			{ExternalID: "SF-1", Name: "Acme", ARR: 999},
			{ExternalID: "SF-9", Name: "New again"},
		}},
		// Found only by the database, after earlier rows were written.
		{"conflict in the database", derrors.Conflict, "[2].analytics_id", []account.Account{
			{ExternalID: "SF-1", Name: "Acme", ARR: 999},
			{ExternalID: "SF-9", Name: "New"},
			{ExternalID: "SF-10", Name: "Copycat", AnalyticsID: "grp_globex"},
		}},
		{"unknown owner", derrors.Unprocessable, "[1].owner_id", []account.Account{
			{ExternalID: "SF-9", Name: "New"},
			{ExternalID: "SF-1", Name: "Acme", ARR: 999, OwnerID: ptr(int64(4242))},
		}},
	} {
		res, err := e.st.UpsertAccounts(e.ctx, tc.rows, by)
		wantErr(t, err, tc.code, tc.field)
		if res != (account.UpsertResult{}) {
			t.Errorf("%s: result %+v returned with the error", tc.name, res)
		}
		got, err := e.st.GetAccountByExternalID(e.ctx, "SF-1")
		e.ok(err, "GetAccountByExternalID")
		if got.ARR != 100_000 || got.OwnerID != nil {
			t.Errorf("%s: SF-1 changed by a failed upsert: %+v", tc.name, got)
		}
		_, err = e.st.GetAccountByExternalID(e.ctx, "SF-9")
		wantErr(t, err, derrors.NotFound, "")
		page, err := e.st.ListAccounts(e.ctx, account.Filter{})
		e.ok(err, "ListAccounts")
		if page.Total != 2 {
			t.Errorf("%s: Total = %d after a failed upsert, want 2", tc.name, page.Total)
		}
	}
}

func testUpsertAccountsEmpty(e *env) {
	res, err := e.st.UpsertAccounts(e.ctx, nil, account.System("storetest", ""))
	e.ok(err, "UpsertAccounts(nil)")
	if res != (account.UpsertResult{}) {
		e.t.Errorf("empty upsert = %+v", res)
	}
}
