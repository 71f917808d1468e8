package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/work"
	"github.com/tendhq/tend/internal/workspace"
)

// The renewal playbook's action (004): 120 days before the renewal, a
// Renewal Health Assessment for the TA, rendered for the account, with its
// renewal date filled in and its rating left for the TA and the AE.
func TestCreateDoc(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	tara := team.User{Name: "Tara Advisor", Email: "tara@tend.test", Role: team.TA}
	alma := team.User{Name: "Alma Exec", Email: "alma@tend.test", Role: team.AE}
	for _, u := range []*team.User{&tara, &alma} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	a := account.Account{Name: "Hooli", ARR: 250_000, Seats: 800, OwnerID: &tara.ID, AEID: &alma.ID,
		CloseDate: date.MustParse("2025-07-01"), RenewalDate: date.MustParse("2026-07-01")}
	if err := st.CreateAccount(ctx, &a, account.System("test", "")); err != nil {
		t.Fatal(err)
	}
	w, err := ws.Traits.Write(a.ID, "ta_pulse", "Concerning")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetTraits(ctx, []account.TraitWrite{w}, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	// 23:30 on the 13th in UTC is already the 14th in Berlin.
	now := time.Date(2026, 3, 13, 23, 30, 0, 0, time.UTC)
	ws.Settings.Location, _ = time.LoadLocation("Europe/Berlin")

	by := account.System("playbook renewal", "")
	req := work.DocRequest{AccountID: a.ID, Template: "health_assessment", Key: "pb:renewal:1:2026-03-03:doc:0",
		Source: "playbook renewal", Fields: map[string]any{"reviewed_with_managers": "no"}}
	doc, created, err := engine.CreateDoc(ctx, st, ws, req, by, now)
	if err != nil {
		t.Fatal(err)
	}
	if !created || doc.Title != "Renewal Health Assessment: Hooli" || doc.Source != "playbook renewal" {
		t.Errorf("doc = %+v, created %v", doc, created)
	}
	for _, want := range []string{"Renewal on **2026-07-01**", "Completed by\nTara Advisor with Alma Exec, started 2026-03-14.", "**ARR:** $250,000"} {
		if !strings.Contains(doc.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, doc.Body)
		}
	}
	if len(doc.Fields) != 2 || doc.Fields["renewal_date"] != "2026-07-01" || doc.Fields["reviewed_with_managers"] != false {
		t.Errorf("fields = %v, want the renewal date (a default) and reviewed = false", doc.Fields)
	}
	// A replay makes nothing new.
	again, created, err := engine.CreateDoc(ctx, st, ws, req, by, now)
	if err != nil || created || again.ID != doc.ID {
		t.Errorf("replay: %v, created %v, id %d (want %d)", err, created, again.ID, doc.ID)
	}
	// A title given replaces the template's.
	qbr, _, err := engine.CreateDoc(ctx, st, ws, work.DocRequest{AccountID: a.ID, Template: "qbr", Title: " QBR Q1 ",
		Fields: map[string]any{"quarter": "Q1 2026"}}, by, now)
	if err != nil || qbr.Title != "QBR Q1" || qbr.Fields["quarter"] != "Q1 2026" {
		t.Errorf("qbr = %+v, %v", qbr, err)
	}

	for _, tc := range []struct {
		req   work.DocRequest
		code  derrors.Code
		field string
	}{
		{work.DocRequest{AccountID: a.ID, Template: "nda"}, derrors.Unprocessable, "template"},
		{work.DocRequest{AccountID: a.ID, Template: "health_assessment", Fields: map[string]any{"rating": "purple"}}, derrors.Unprocessable, "fields.rating"},
		{work.DocRequest{AccountID: a.ID, Template: "health_assessment", Fields: map[string]any{"colour": "red"}}, derrors.Unprocessable, "fields.colour"},
		{work.DocRequest{AccountID: 99_999, Template: "qbr"}, derrors.NotFound, ""},
	} {
		_, _, err := engine.CreateDoc(ctx, st, ws, tc.req, by, now)
		if !derrors.Is(err, tc.code) || (tc.field != "" && derrors.Public(err).Field != tc.field) {
			t.Errorf("CreateDoc(%+v) = %v, want %s on %q", tc.req, err, tc.code, tc.field)
		}
	}
}
