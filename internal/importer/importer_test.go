package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/importer"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// testWorkspace holds trait definitions of each source and type, shaped
// like the handbook's (004's health model traits).
func testWorkspace() *workspace.Workspace {
	return &workspace.Workspace{Traits: account.NewTraitDefs([]account.TraitDef{
		{Key: "ta_pulse", Type: account.TypeEnum, Label: "TA Pulse", Source: account.SourceManual, Values: []string{"Healthy", "Concerning", "Poor"}},
		{Key: "active_champion", Type: account.TypeBool, Label: "Active champion", Source: account.SourceManual},
		{Key: "versions_behind", Type: account.TypeNumber, Label: "Versions behind", Source: account.SourceWarehouse},
		{Key: "crm_region", Type: account.TypeText, Label: "Region", Source: account.SourceCRM},
		{Key: "last_qbr", Type: account.TypeDate, Label: "Last QBR", Source: account.SourceManual},
		{Key: "usage_score", Type: account.TypeNumber, Label: "Usage score", Source: account.SourceComputed},
	})}
}

// env is one test's store, with the team members imports can name.
type env struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	ws  *workspace.Workspace
	ids map[string]int64 // user email → id
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: ctx, st: st, ws: testWorkspace(), ids: map[string]int64{}}
	for _, u := range []team.User{
		{Email: "dana@tend.test", Name: "Dana TA", Role: team.TA},
		{Email: "ari@tend.test", Name: "Ari AE", Role: team.AE},
		{Email: "cy@tend.test", Name: "Cy CE", Role: team.CE},
	} {
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		e.ids[u.Email] = u.ID
	}
	return e
}

func (e *env) run(kind importer.Kind, file, content string, opt importer.Options) (importer.Report, error) {
	e.t.Helper()
	opt.FileName = file
	return importer.Run(e.ctx, e.st, e.ws, kind, strings.NewReader(content), opt)
}

func (e *env) mustRun(kind importer.Kind, file, content string) importer.Report {
	e.t.Helper()
	rep, err := e.run(kind, file, content, importer.Options{})
	if err != nil {
		e.t.Fatalf("import %s: %v\n%v", file, err, rep.Invalid)
	}
	return rep
}

func (e *env) account(ext string) account.Account {
	e.t.Helper()
	a, err := e.st.GetAccountByExternalID(e.ctx, ext)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) traits(ext string) map[string]account.TraitValue {
	e.t.Helper()
	ts, err := e.st.ListTraits(e.ctx, e.account(ext).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]account.TraitValue{}
	for _, t := range ts {
		m[t.Key] = t
	}
	return m
}

func (e *env) contacts(ext string) []account.Contact {
	e.t.Helper()
	cs, err := e.st.ListContacts(e.ctx, e.account(ext).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *env) accountCount() int {
	e.t.Helper()
	p, err := e.st.ListAccounts(e.ctx, account.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Total
}

// history counts every trait change and timeline entry of every account.
func (e *env) history() (traitChanges, activities int) {
	e.t.Helper()
	p, err := e.st.ListAccounts(e.ctx, account.Filter{Limit: account.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range p.Accounts {
		tc, err := e.st.TraitHistory(e.ctx, a.ID, "", 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		as, err := e.st.ListActivities(e.ctx, a.ID, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		traitChanges += len(tc)
		activities += len(as)
	}
	return traitChanges, activities
}

// Two accounts, every standard column, traits of three sources; written
// the way a spreadsheet saves it: BOM, CRLF, padded cells, "$48,500".
const accountsCSV = "\uFEFFexternal_id,name,domain,analytics_id,estimated_developers,arr,seats,support_level,owner_email,ae_email,ce_email,ie_email,expected_close_date,close_date,renewal_date,entitlements,deployment,segment,program,stage,ta_pulse,versions_behind,crm_region\r\n" +
	"0015e00001AcmeA,Acme Corp ,acme.com,grp_acme,\"12,000\",\"$48,500\",250,managed,dana@tend.test,ari@tend.test,cy@tend.test,,2025-12-01,2026-01-15,2027-01-15,code_search;ai_assistant,cloud,Strategic,Managed,1. Onboarding,healthy,3,EMEA\r\n" +
	"0015e00001Globx, Globex ,globex.io,grp_globex,900,31000,40,Scaled,DANA@tend.test,,,,,2025-06-01,2026-06-01,Code Search,Self-hosted,Commercial,Scaled Success,2. Adopting,,, \r\n"

const accountsJSONL = `{"external_id": "0015e00001AcmeA", "name": "Acme Corp", "domain": "acme.com", "analytics_id": "grp_acme", "estimated_developers": 12000, "arr": 48500, "seats": 250, "support_level": "managed", "owner_email": "dana@tend.test", "ae_email": "ari@tend.test", "ce_email": "cy@tend.test", "expected_close_date": "2025-12-01", "close_date": "2026-01-15", "renewal_date": "2027-01-15", "entitlements": ["code_search", "ai_assistant"], "deployment": "cloud", "segment": "Strategic", "program": "Managed", "stage": "1. Onboarding", "traits": {"ta_pulse": "Healthy", "versions_behind": 3}, "crm_region": "EMEA"}

{"external_id": "0015e00001Globx", "name": "Globex", "domain": "globex.io", "analytics_id": "grp_globex", "estimated_developers": 900, "arr": "$31,000", "seats": 40, "support_level": "scaled", "owner_email": "dana@tend.test", "ae_email": null, "close_date": "2025-06-01", "renewal_date": "2026-06-01", "entitlements": "code_search", "deployment": "self_hosted", "segment": "Commercial", "program": "Scaled Success", "stage": "2. Adopting"}
`

func TestImportAccounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, content string }{
		{"accounts.csv", accountsCSV},
		{"accounts.jsonl", accountsJSONL},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rep := e.mustRun(importer.Accounts, tc.file, tc.content)
			want := importer.Report{Rows: 2, Created: 2, TraitsChanged: 3}
			if !equalReports(rep, want) {
				t.Errorf("report = %+v, want %+v", rep, want)
			}
			acme := e.account("0015e00001AcmeA")
			owner, ae, ce := e.ids["dana@tend.test"], e.ids["ari@tend.test"], e.ids["cy@tend.test"]
			wantAcme := account.Account{
				ID: acme.ID, Name: "Acme Corp", Domain: "acme.com", ExternalID: "0015e00001AcmeA", AnalyticsID: "grp_acme",
				EstimatedDevelopers: 12000, ARR: 48500, Seats: 250, SupportLevel: "managed",
				OwnerID: &owner, AEID: &ae, CEID: &ce,
				ExpectedCloseDate: date.MustParse("2025-12-01"), CloseDate: date.MustParse("2026-01-15"), RenewalDate: date.MustParse("2027-01-15"),
				Entitlements: []string{"ai_assistant", "code_search"}, Deployment: "cloud",
				Segment: "Strategic", Program: "Managed", Stage: "1. Onboarding",
			}
			if d := account.Diff(wantAcme, acme); len(d) > 0 {
				t.Errorf("Acme differs from the file: %+v", d)
			}
			globex := e.account("0015e00001Globx")
			if globex.Name != "Globex" || globex.ARR != 31000 || globex.SupportLevel != "scaled" || globex.Deployment != "self_hosted" ||
				!slices.Equal(globex.Entitlements, []string{"code_search"}) || globex.AEID != nil || *globex.OwnerID != owner {
				t.Errorf("Globex = %+v", globex)
			}
			traits := e.traits("0015e00001AcmeA")
			for key, want := range map[string]struct {
				value  any
				source string
			}{
				"ta_pulse":        {"Healthy", account.SourceManual},
				"versions_behind": {3.0, account.SourceWarehouse},
				"crm_region":      {"EMEA", account.SourceCRM},
			} {
				got := traits[key]
				if got.Value != want.value || got.Source != want.source || got.UpdatedBy != "import "+tc.file {
					t.Errorf("trait %s = %v from %s by %q, want %v from %s by %q", key, got.Value, got.Source, got.UpdatedBy,
						want.value, want.source, "import "+tc.file)
				}
			}
			if n := len(e.traits("0015e00001Globx")); n != 0 {
				t.Errorf("Globex has %d traits; its trait cells are empty", n)
			}
		})
	}
}

// seedAccounts imports the accounts contacts and traits files refer to.
func (e *env) seedAccounts() {
	e.t.Helper()
	e.mustRun(importer.Accounts, "accounts.csv", accountsCSV)
}

const contactsCSV = `account_external_id,external_id,name,email,title,roles
0015e00001AcmeA,003A1,Jo Admin,Jo@Acme.com,Platform lead,instance_admin;champion
0015e00001AcmeA,,Pat Buyer,pat@acme.com,VP Engineering,Buyer
0015e00001Globx,003G1,Sam,sam@globex.io,,Program Contact|End User
`

const contactsJSONL = `{"account_external_id": "0015e00001AcmeA", "external_id": "003A1", "name": "Jo Admin", "email": "jo@acme.com", "title": "Platform lead", "roles": ["instance_admin", "champion"]}
{"account_external_id": "0015e00001AcmeA", "name": "Pat Buyer", "email": "pat@acme.com", "title": "VP Engineering", "roles": "buyer"}
{"account_external_id": "0015e00001Globx", "external_id": "003G1", "name": "Sam", "email": "sam@globex.io", "roles": ["program_contact", "end_user"]}
`

func TestImportContacts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, content string }{
		{"contacts.csv", contactsCSV},
		{"contacts.jsonl", contactsJSONL},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seedAccounts()
			rep := e.mustRun(importer.Contacts, tc.file, tc.content)
			if want := (importer.Report{Rows: 3, Created: 3}); !equalReports(rep, want) {
				t.Errorf("report = %+v, want %+v", rep, want)
			}
			type c struct{ ext, name, email, title, roles string }
			var got []c
			for _, ext := range []string{"0015e00001AcmeA", "0015e00001Globx"} {
				for _, x := range e.contacts(ext) {
					got = append(got, c{x.ExternalID, x.Name, x.Email, x.Title, strings.Join(x.Roles, ",")})
				}
			}
			want := []c{
				{"003A1", "Jo Admin", "jo@acme.com", "Platform lead", "champion,instance_admin"},
				{"", "Pat Buyer", "pat@acme.com", "VP Engineering", "buyer"},
				{"003G1", "Sam", "sam@globex.io", "", "end_user,program_contact"},
			}
			if !slices.Equal(got, want) {
				t.Errorf("contacts =\n%v\nwant\n%v", got, want)
			}
		})
	}
}

const traitsCSV = `external_id,ta_pulse,active_champion,versions_behind,last_qbr
0015e00001AcmeA,Concerning,yes,"1,204",2026-02-03
0015e00001Globx,poor,no,0,
`

const traitsJSONL = `{"external_id": "0015e00001AcmeA", "traits": {"ta_pulse": "Concerning", "active_champion": true, "versions_behind": 1204, "last_qbr": "2026-02-03"}}
{"external_id": "0015e00001Globx", "traits": {"ta_pulse": "Poor", "active_champion": false, "versions_behind": 0, "last_qbr": null}}
`

func TestImportTraits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, content string }{
		{"traits.csv", traitsCSV},
		{"traits.jsonl", traitsJSONL},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seedAccounts() // Acme: ta_pulse Healthy, versions_behind 3
			rep := e.mustRun(importer.Traits, tc.file, tc.content)
			// Acme: ta_pulse, active_champion, versions_behind, last_qbr change;
			// Globex: ta_pulse, active_champion, versions_behind are new.
			if want := (importer.Report{Rows: 2, Updated: 2, TraitsChanged: 7}); !equalReports(rep, want) {
				t.Errorf("report = %+v, want %+v", rep, want)
			}
			acme := e.traits("0015e00001AcmeA")
			for key, want := range map[string]any{"ta_pulse": "Concerning", "active_champion": true, "versions_behind": 1204.0, "last_qbr": "2026-02-03"} {
				if acme[key].Value != want {
					t.Errorf("Acme %s = %v, want %v", key, acme[key].Value, want)
				}
			}
			globex := e.traits("0015e00001Globx")
			for key, want := range map[string]any{"ta_pulse": "Poor", "active_champion": false, "versions_behind": 0.0} {
				if globex[key].Value != want {
					t.Errorf("Globex %s = %v, want %v", key, globex[key].Value, want)
				}
			}
			h, err := e.st.TraitHistory(e.ctx, e.account("0015e00001AcmeA").ID, "ta_pulse", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2 || h[0].Old != "Healthy" || h[0].New != "Concerning" || h[0].Source != account.SourceManual || h[0].Actor != "import "+tc.file {
				t.Errorf("ta_pulse history = %+v", h)
			}
		})
	}
}

// TestBadRows: every kind of bad row is reported with its line and field,
// and by default nothing at all is written.
func TestBadRows(t *testing.T) {
	t.Parallel()
	const header = "external_id,name,arr,seats,renewal_date,owner_email,ta_pulse\n"
	for _, tc := range []struct {
		name    string
		kind    importer.Kind
		file    string
		content string
		want    []importer.RowError
	}{
		{"missing external_id", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,,,\n" +
			",Nameless,100,1,,,\n",
			[]importer.RowError{{3, "external_id", "is required: accounts are matched on it"}}},
		{"bad number", importer.Accounts, "a.csv", header +
			"A1,Acme,100,twelve,,,\n",
			[]importer.RowError{{2, "seats", `"twelve" is not a whole number`}}},
		{"bad amount", importer.Accounts, "a.csv", header +
			"A1,Acme,48.5k,1,,,\n",
			[]importer.RowError{{2, "arr", `"48.5k" is not an amount in whole US dollars (like 48500, 48,500 or $48,500)`}}},
		{"bad date", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,01/15/2027,,\n",
			[]importer.RowError{{2, "renewal_date", `"01/15/2027" is not a date of the form YYYY-MM-DD`}}},
		{"unknown owner email", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,,nobody@tend.test,\n",
			[]importer.RowError{{2, "owner_email", `no team member has the email "nobody@tend.test" (add them first with tend user add)`}}},
		{"bad enum trait", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,,,Great\n",
			[]importer.RowError{{2, "ta_pulse", `"Great" is not one of Healthy, Concerning, Poor: enum expected`}}},
		{"every fault of a row", importer.Accounts, "a.csv", header +
			"A1,Acme,lots,many,someday,x@y.z,Great\n",
			[]importer.RowError{
				{2, "arr", `"lots" is not an amount in whole US dollars (like 48500, 48,500 or $48,500)`},
				{2, "owner_email", `no team member has the email "x@y.z" (add them first with tend user add)`},
				{2, "renewal_date", `"someday" is not a date of the form YYYY-MM-DD`},
				{2, "seats", `"many" is not a whole number`},
				{2, "ta_pulse", `"Great" is not one of Healthy, Concerning, Poor: enum expected`},
			}},
		{"account rule", importer.Accounts, "a.csv", "external_id,name,close_date,renewal_date,support_level\n" +
			"A1,Acme,2026-01-15,2025-01-15,managed\n" +
			"A2,Bcme,,,premium\n" +
			"A3,,,,\n",
			[]importer.RowError{
				{2, "renewal_date", "2025-01-15 is not after the close date 2026-01-15"},
				{3, "support_level", `"premium" is not one of managed, scaled`},
				{4, "name", "is required"},
			}},
		{"repeated external_id", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,,,\n" +
			"A1,Acme again,100,1,,,\n",
			[]importer.RowError{{3, "external_id", `"A1" is also on line 2; each appears once in a file`}}},
		{"wrong column count", importer.Accounts, "a.csv", header +
			"A1,Acme,100,1,,,\n" +
			"A2,Bcme,100\n" +
			"A3,\"Ccme\" Inc,100,1,,,\n" +
			"A4,Dcme,100,1,,,,\n",
			[]importer.RowError{
				{3, "", "has 3 columns; the header has 7"},
				{4, "", `malformed CSV: extraneous or missing " in quoted-field`},
				{5, "", "has 8 columns; the header has 7"},
			}},
		{"malformed JSON line", importer.Accounts, "a.jsonl",
			`{"external_id": "A1", "name": "Acme"}` + "\n\n" +
				`{"external_id": "A2", "name": "Bcme"` + "\n" +
				`{"external_id": "A3", name: "Ccme"}` + "\n" +
				`["A4"]` + "\n",
			[]importer.RowError{
				{3, "", "malformed JSON: the object is not closed"},
				{4, "", "malformed JSON: invalid character 'n' looking for beginning of object key string"},
				{5, "", "malformed JSON: a line must be a JSON object, not array"},
			}},
		{"wrong JSON type", importer.Accounts, "a.jsonl",
			`{"external_id": "A1", "name": "Acme", "seats": "10", "arr": true, "entitlements": 3}` + "\n",
			[]importer.RowError{
				{1, "arr", "true is not a number"},
				{1, "entitlements", "3 is not a list (separate the values with ; or |)"},
			}},
		{"bad email", importer.Contacts, "c.csv", "account_external_id,name,email,roles\n" +
			"0015e00001AcmeA,Jo,jo@acme.com,champion\n" +
			"0015e00001AcmeA,Pat,pat at acme.com,buyer\n" +
			"0015e00001AcmeA,Nobody,,buyer\n",
			[]importer.RowError{
				{3, "email", `"pat at acme.com" is not an email address`},
				{4, "email", "is required"},
			}},
		{"unknown role", importer.Contacts, "c.csv", "account_external_id,name,email,roles\n" +
			"0015e00001AcmeA,Jo,jo@acme.com,champion;cheerleader\n",
			[]importer.RowError{{2, "roles", `"cheerleader" is not one of instance_admin, program_contact, champion, stakeholder, buyer, end_user`}}},
		{"unknown account of a contact", importer.Contacts, "c.csv", "account_external_id,name,email\n" +
			"0015e00001Nope,Jo,jo@acme.com\n" +
			",Pat,pat@acme.com\n",
			[]importer.RowError{
				{2, "account_external_id", `no account has the external id "0015e00001Nope"; import the accounts first`},
				{3, "account_external_id", "is required: it names the account the contact belongs to"},
			}},
		{"repeated contact", importer.Contacts, "c.jsonl",
			`{"account_external_id": "0015e00001AcmeA", "email": "jo@acme.com"}` + "\n" +
				`{"account_external_id": "0015e00001AcmeA", "email": "JO@acme.com", "name": "Jo"}` + "\n",
			[]importer.RowError{{2, "email", "the same contact is also on line 1; each appears once in a file"}}},
		{"bad trait values", importer.Traits, "t.csv", "external_id,ta_pulse,active_champion,versions_behind,last_qbr\n" +
			"0015e00001AcmeA,Great,maybe,three,2026-13-01\n" +
			"0015e00001Nope,Poor,,,\n",
			[]importer.RowError{
				{2, "active_champion", `"maybe" is not true or false: bool expected`},
				{2, "last_qbr", `"2026-13-01" is not a date of the form YYYY-MM-DD: date expected`},
				{2, "ta_pulse", `"Great" is not one of Healthy, Concerning, Poor: enum expected`},
				{2, "versions_behind", `"three" is not a number: number expected`},
				{3, "external_id", `no account has the external id "0015e00001Nope"; import the accounts first`},
			}},
		{"bad trait JSON line", importer.Traits, "t.jsonl",
			`{"external_id": "0015e00001AcmeA", "traits": {"ta_pulse": 3}}` + "\n" +
				`{"external_id": "0015e00001Globx", "traits": ["ta_pulse"]}` + "\n" +
				`{"external_id": "0015e00001Globx", "traits": {"versions_behind": 2}` + "\n",
			[]importer.RowError{
				{1, "ta_pulse", `"3" is not one of Healthy, Concerning, Poor: enum expected`},
				{2, "", `"traits" must be an object of trait keys and values`},
				{3, "", "malformed JSON: the object is not closed"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.kind != importer.Accounts {
				e.seedAccounts()
			}
			accounts := e.accountCount()
			changes, activities := e.history()
			var cs []account.Contact
			if tc.kind == importer.Contacts {
				cs = e.contacts("0015e00001AcmeA")
			}

			rep, err := e.run(tc.kind, tc.file, tc.content, importer.Options{})
			if !derrors.Is(err, derrors.Unprocessable) {
				t.Fatalf("err = %v, want an unprocessable error", err)
			}
			if !strings.Contains(err.Error(), "nothing was imported") {
				t.Errorf("err = %q does not say that nothing was imported", err)
			}
			if !slices.Equal(rep.Invalid, tc.want) {
				t.Errorf("invalid rows:\n%s\nwant:\n%s", rowErrors(rep.Invalid), rowErrors(tc.want))
			}
			if rep.Created+rep.Updated+rep.Unchanged+rep.TraitsChanged != 0 {
				t.Errorf("report = %+v; nothing should be written", rep)
			}
			if n := e.accountCount(); n != accounts {
				t.Errorf("%d accounts after a refused import, want %d", n, accounts)
			}
			if c, a := e.history(); c != changes || a != activities {
				t.Errorf("history grew from %d trait changes and %d activities to %d and %d", changes, activities, c, a)
			}
			if tc.kind == importer.Contacts && len(e.contacts("0015e00001AcmeA")) != len(cs) {
				t.Errorf("contacts were written")
			}
		})
	}
}

func rowErrors(es []importer.RowError) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %s\n", e.Error())
	}
	return b.String()
}

func TestSkipInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := "external_id,name,seats,ta_pulse\n" +
		"A1,Acme,10,Healthy\n" +
		"A2,Bcme,ten,Poor\n" +
		"A3,Ccme,30,Great\n" +
		"A4,Dcme,40,Poor\n"
	rep, err := e.run(importer.Accounts, "a.csv", file, importer.Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	want := importer.Report{Rows: 4, Created: 2, TraitsChanged: 2, BadRows: 2, Invalid: []importer.RowError{
		{3, "seats", `"ten" is not a whole number`},
		{4, "ta_pulse", `"Great" is not one of Healthy, Concerning, Poor: enum expected`},
	}}
	if !equalReports(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	if got := rep.Summary(); got != "4 rows: 2 created, 0 updated, 0 unchanged, 2 trait changes; 2 bad rows skipped" {
		t.Errorf("summary = %q", got)
	}
	var out bytes.Buffer
	rep.WriteErrors(&out, "a.csv")
	if got, want := out.String(), "a.csv:3: seats: \"ten\" is not a whole number\n"+
		"a.csv:4: ta_pulse: \"Great\" is not one of Healthy, Concerning, Poor: enum expected\n"; got != want {
		t.Errorf("errors printed as\n%s\nwant\n%s", got, want)
	}
	if n := e.accountCount(); n != 2 {
		t.Errorf("%d accounts, want the 2 good ones", n)
	}
	if e.account("A4").Seats != 40 || e.traits("A4")["ta_pulse"].Value != "Poor" {
		t.Errorf("A4 not written with its trait")
	}
	for _, ext := range []string{"A2", "A3"} {
		if _, err := e.st.GetAccountByExternalID(e.ctx, ext); !derrors.Is(err, derrors.NotFound) {
			t.Errorf("bad row %s was written (err %v)", ext, err)
		}
	}
}

// TestReimport: the same file again changes nothing and records nothing.
func TestReimport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind          importer.Kind
		file, content string
	}{
		{importer.Accounts, "accounts.csv", accountsCSV},
		{importer.Accounts, "accounts.jsonl", accountsJSONL},
		{importer.Contacts, "contacts.csv", contactsCSV},
		{importer.Contacts, "contacts.jsonl", contactsJSONL},
		{importer.Traits, "traits.csv", traitsCSV},
		{importer.Traits, "traits.jsonl", traitsJSONL},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.kind != importer.Accounts {
				e.seedAccounts()
			}
			first := e.mustRun(tc.kind, tc.file, tc.content)
			changes, activities := e.history()
			again := e.mustRun(tc.kind, tc.file, tc.content)
			if want := (importer.Report{Rows: first.Rows, Unchanged: first.Rows}); !equalReports(again, want) {
				t.Errorf("second import = %+v, want %+v", again, want)
			}
			if c, a := e.history(); c != changes || a != activities {
				t.Errorf("history grew from %d trait changes and %d activities to %d and %d", changes, activities, c, a)
			}
		})
	}
}

// TestPartialFile: a column the file leaves out keeps its value; an empty
// cell in a column it has clears the field.
func TestPartialFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedAccounts()
	rep := e.mustRun(importer.Accounts, "arr.csv", "external_id,arr,ae_email,ta_pulse\n0015e00001AcmeA,\"$52,000\",,\n")
	if want := (importer.Report{Rows: 1, Updated: 1, TraitsChanged: 1}); !equalReports(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	a := e.account("0015e00001AcmeA")
	if a.ARR != 52000 || a.AEID != nil || a.OwnerID == nil || a.Name != "Acme Corp" || a.Seats != 250 || len(a.Entitlements) != 2 {
		t.Errorf("account after a partial import = %+v", a)
	}
	traits := e.traits("0015e00001AcmeA")
	if _, ok := traits["ta_pulse"]; ok {
		t.Errorf("ta_pulse kept; its empty cell should clear it")
	}
	if traits["versions_behind"].Value != 3.0 {
		t.Errorf("versions_behind = %v; a column not in the file must keep its value", traits["versions_behind"].Value)
	}
	acts, err := e.st.ListActivities(e.ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 || acts[0].Kind != account.ActivityFieldChanged || acts[0].Actor != "import arr.csv" {
		t.Errorf("latest activity = %+v, want a field change by the import", acts)
	}
}

// TestContactKeepsUnsubscribe: an opt-out survives a re-import from the CRM.
func TestContactKeepsUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedAccounts()
	e.mustRun(importer.Contacts, "contacts.csv", contactsCSV)
	cs := e.contacts("0015e00001AcmeA")
	jo := cs[slices.IndexFunc(cs, func(c account.Contact) bool { return c.Email == "jo@acme.com" })]
	jo.Unsubscribed = true
	if err := e.st.UpdateContact(e.ctx, &jo); err != nil {
		t.Fatal(err)
	}
	rep := e.mustRun(importer.Contacts, "contacts.csv", strings.Replace(contactsCSV, "Platform lead", "Head of Platform", 1))
	if want := (importer.Report{Rows: 3, Updated: 1, Unchanged: 2}); !equalReports(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	got, err := e.st.GetContact(e.ctx, jo.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Unsubscribed || got.Title != "Head of Platform" {
		t.Errorf("contact = %+v; want the new title and still unsubscribed", got)
	}
}

// TestFileErrors: faults of the file as a whole stop the import before any
// row, with a message that names the column.
func TestFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		kind    importer.Kind
		file    string
		format  string
		content string
		want    string
	}{
		{"unknown column", importer.Accounts, "a.csv", "", "external_id,name,onwer_email,Seats,colour\nA1,Acme,dana@tend.test,3,red\n",
			`line 1 (the header): column "onwer_email" is not an account field or a trait this workspace defines (did you mean "owner_email"?); column "colour" is not an account field or a trait this workspace defines; nothing was imported`},
		{"trait label as column", importer.Traits, "t.csv", "", "external_id,Region\nA1,EMEA\n",
			`column "Region" is not external_id or a trait this workspace defines (did you mean "crm_region"?)`},
		{"computed trait", importer.Accounts, "a.csv", "", "external_id,usage_score\nA1,0.4\n",
			`column "usage_score" is the computed trait usage_score, which Tend works out itself and cannot be imported`},
		{"not importable", importer.Accounts, "a.csv", "", "external_id,owner_id\nA1,3\n",
			`column "owner_id" is not imported; give the owner TA's email in owner_email`},
		{"missing key column", importer.Contacts, "c.csv", "", "name,email\nJo,jo@acme.com\n",
			"the required column account_external_id is missing"},
		{"repeated column", importer.Accounts, "a.csv", "", "external_id,name,Name\nA1,Acme,Acme\n",
			"columns 2 and 3 are both name"},
		{"traits file without traits", importer.Traits, "t.csv", "", "external_id\nA1\n",
			"there are no trait columns next to external_id"},
		{"unknown JSON key", importer.Accounts, "a.jsonl", "", `{"external_id": "A1", "name": "Acme"}` + "\n" + `{"external_id": "A2", "nmae": "Bcme", "traits": {"ta_puls": "Poor"}}` + "\n",
			`unknown keys: line 2: key "nmae" is not an account field or a trait this workspace defines (did you mean "name"?); line 2: key "traits.ta_puls" is not an account field or a trait this workspace defines (did you mean "ta_pulse"?)`},
		{"empty file", importer.Accounts, "a.csv", "", "",
			"the file is empty; a CSV import starts with a header row naming the columns"},
		{"header only", importer.Accounts, "a.csv", "", "external_id,name\n",
			"the file has no rows to import"},
		{"unknown format", importer.Accounts, "a.csv", "xlsx", "external_id,name\nA1,Acme\n",
			`format: "xlsx" is not a format; use csv or jsonl`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rep, err := e.run(tc.kind, tc.file, tc.content, importer.Options{Format: tc.format})
			if !derrors.Is(err, derrors.Invalid) {
				t.Fatalf("err = %v, want an invalid-input error", err)
			}
			if msg := derrors.Public(err).Error(); !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q\nwant it to contain %q", msg, tc.want)
			}
			if rep.Rows != 0 || e.accountCount() != 0 {
				t.Errorf("rows were read or written: %+v", rep)
			}
		})
	}
}

// TestFormat: the format comes from the option, the file name, or the
// first byte.
func TestFormat(t *testing.T) {
	t.Parallel()
	csv := "external_id,name\nA1,Acme\n"
	jsonl := "\n  {\"external_id\": \"A1\", \"name\": \"Acme\"}\n"
	for _, tc := range []struct{ file, format, content string }{
		{"a.csv", "", csv},
		{"a.jsonl", "", jsonl},
		{"a.ndjson", "", jsonl},
		{"a.txt", "", csv},
		{"a.txt", "", jsonl},
		{"-", "", jsonl},
		{"", "", csv},
		{"a.data", "jsonl", jsonl},
		{"a.jsonl", "csv", csv},
	} {
		t.Run(tc.file+"/"+tc.format, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rep, err := e.run(importer.Accounts, tc.file, tc.content, importer.Options{Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 1 || e.account("A1").Name != "Acme" {
				t.Errorf("report = %+v", rep)
			}
		})
	}
}

// TestProgress: the callback sees every chunk.
func TestProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("external_id,name,seats\n")
	for i := range 25 {
		fmt.Fprintf(&b, "ACC%05d,Account %d,%d\n", i, i, i%300)
	}
	var calls [][2]int
	opt := importer.Options{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	importer.SetChunk(&opt, 10)
	rep, err := e.run(importer.Accounts, "big.csv", b.String(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 25 {
		t.Errorf("created %d, want 25", rep.Created)
	}
	if want := [][2]int{{0, 25}, {10, 25}, {20, 25}, {25, 25}}; !slices.Equal(calls, want) {
		t.Errorf("progress calls = %v, want %v", calls, want)
	}

	var out bytes.Buffer
	bar := importer.TerminalProgress(&out, "big.csv")
	for _, c := range calls {
		bar(c[0], c[1])
	}
	if s := out.String(); !strings.Contains(s, "big.csv") || !strings.Contains(s, "25/25") {
		t.Errorf("progress bar output %q lacks the file or the final count", s)
	}
}

// TestActor: a person running the import is recorded as the author, with
// each trait's own source.
func TestActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.ids["dana@tend.test"]
	_, err := e.run(importer.Accounts, "a.csv", "external_id,name,crm_region\nA1,Acme,EMEA\n", importer.Options{
		Actor: account.Actor{UserID: &id, Name: "dana@tend.test", Source: account.SourceManual},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.st.TraitHistory(e.ctx, e.account("A1").ID, "crm_region", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].ActorID == nil || *h[0].ActorID != id || h[0].Actor != "dana@tend.test" || h[0].Source != account.SourceCRM {
		t.Errorf("history = %+v", h)
	}
}

// TestStoreConflict: a row that only the store can find at fault (here an
// analytics id another account already has) is named by its line.
func TestStoreConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedAccounts()
	rep, err := e.run(importer.Accounts, "a.csv", "external_id,name,analytics_id\nB1,Bcme,grp_b\nB2,Ccme,grp_acme\n", importer.Options{})
	if !derrors.Is(err, derrors.Conflict) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if len(rep.Invalid) != 1 || rep.Invalid[0].Line != 3 || rep.Invalid[0].Field != "analytics_id" {
		t.Errorf("invalid = %+v, want line 3, analytics_id", rep.Invalid)
	}
	if !strings.Contains(derrors.Public(err).Message, "line 3: analytics_id") {
		t.Errorf("message %q does not name the line", derrors.Public(err).Message)
	}
}

func equalReports(a, b importer.Report) bool {
	return a.Rows == b.Rows && a.Created == b.Created && a.Updated == b.Updated && a.Unchanged == b.Unchanged &&
		a.TraitsChanged == b.TraitsChanged && a.BadRows == b.BadRows && slices.Equal(a.Invalid, b.Invalid)
}
