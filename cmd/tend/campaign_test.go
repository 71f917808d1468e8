package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store/sqlite"
)

// campaignData is a data directory with one Scaled Success account,
// Globex, and its instance admin and program contact, and Acme, Managed,
// with a champion.
func campaignData(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seed := account.System("test", account.SourceManual)
	globex := account.Account{Name: "Globex", ExternalID: "A-2", Segment: "Commercial", Program: "Scaled Success", Stage: "2. Adopting", ARR: 30_000, Seats: 50}
	acme := account.Account{Name: "Acme Corp", Segment: "Enterprise", Program: "Managed", Stage: "2. Adopting", ARR: 120_000, Seats: 500}
	for _, a := range []*account.Account{&globex, &acme} {
		if err := st.CreateAccount(ctx, a, seed); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []account.Contact{
		{AccountID: globex.ID, Name: "Nora Admin", Email: "nora@globex.com", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: globex.ID, Name: "Pat Program", Email: "pat@globex.com", Roles: []string{account.RoleProgramContact}},
		{AccountID: acme.ID, Name: "Jane Doe", Email: "jane@acme.com", Roles: []string{account.RoleChampion}},
	} {
		if err := st.CreateContact(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestCampaignCommand(t *testing.T) {
	data := campaignData(t)
	code, out, errs := tend(t, "campaign", "list", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "KEY") || !regexp.MustCompile(`(?m)^release_notes +Release notes +broadcast +1 +0 +0 +0 `).MatchString(out) ||
		strings.Count(out, "\n") != 12 {
		t.Fatalf("list: exit %d\n%s%s", code, out, errs)
	}

	// The release notes for Globex's admin, found by the account's name and
	// the contact's email, headers first, then the text.
	code, out, errs = tend(t, "campaign", "preview", "--data", data, "-template", "release_notes", "-account", "globex", "-contact", "NORA@globex.com")
	if code != 0 || !strings.Contains(out, "To: Nora Admin <nora@globex.com>\n") || !regexp.MustCompile(`(?m)^Subject: \S`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^List-Unsubscribe: <http://127\.0\.0\.1:8080/u/`).MatchString(out) || !strings.Contains(out, "\n\n") ||
		strings.Contains(out, "<html") || strings.Contains(out, "-- HTML --") {
		t.Errorf("preview: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = tend(t, "campaign", "preview", "--data", data, "-campaign", "release_notes", "-template", "release_notes", "-account", "A-2", "-contact", "2", "-html")
	if code != 0 || !strings.Contains(out, "To: Pat Program <pat@globex.com>") || !strings.Contains(out, "\n-- HTML --\n<") {
		t.Errorf("preview -html: exit %d\n%s", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"preview", "-account", "1", "-contact", "1"}, 2, "-template is required"},
		{[]string{"preview", "-template", "nope", "-account", "1", "-contact", "1"}, 1, `-template: no template "nope" in campaigns/templates/`},
		{[]string{"preview", "-campaign", "nope", "-template", "release_notes", "-account", "1", "-contact", "1"}, 1, `-campaign: no campaign "nope"`},
		{[]string{"preview", "-campaign", "admin_onboarding", "-template", "release_notes", "-account", "1", "-contact", "1"}, 1, `campaign admin_onboarding does not send "release_notes"`},
		{[]string{"preview", "-template", "release_notes", "-account", "Initech", "-contact", "1"}, 1, `-account: no account with the id, external id or name "Initech"`},
		{[]string{"preview", "-template", "release_notes", "-account", "Globex", "-contact", "jane@acme.com"}, 1, `-contact: "jane@acme.com" is not one of Globex's contacts (1 nora@globex.com, 2 pat@globex.com)`},
		{[]string{"broadcast"}, 2, "which campaign?"},
		{[]string{"broadcast", "nope"}, 1, `no campaign "nope" in the workspace`},
		{[]string{"broadcast", "admin_onboarding"}, 1, "is entered by trigger, not by a broadcast"},
		{[]string{"frob"}, 2, `unknown subcommand "frob"`},
	} {
		args := append([]string{"campaign", tc.args[0], "--data", data}, tc.args[1:]...)
		if code, _, errs := tend(t, args...); code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("tend %s: exit %d, stderr %q; want %d and %q", strings.Join(args, " "), code, errs, tc.code, tc.want)
		}
	}

	// Globex is the audience's one account; a second broadcast enters it
	// again, after the first has been planned (here: never, no server
	// runs, so it is still in the first one).
	code, out, errs = tend(t, "campaign", "broadcast", "--data", data, "release_notes")
	if code != 0 || out != "1 accounts entered Release notes (release_notes); a running tend serve sends the emails at its next step\n" {
		t.Errorf("broadcast: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ = tend(t, "campaign", "broadcast", "--data", data, "release_notes"); code != 0 || !strings.HasPrefix(out, "0 accounts entered") {
		t.Errorf("second broadcast while the first is active: exit %d %q", code, out)
	}
	code, out, _ = tend(t, "campaign", "list", "--data", data)
	if code != 0 || !regexp.MustCompile(`(?m)^release_notes +Release notes +broadcast +1 +1 +0 +0 `).MatchString(out) {
		t.Errorf("list after the broadcast: exit %d\n%s", code, out)
	}
}
