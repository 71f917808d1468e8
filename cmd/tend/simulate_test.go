package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
)

// simFixture writes the small book TestSimulate runs over into data.
func simFixture(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := date.MustParse
	ta := team.User{Email: "tara@tend.test", Name: "Tara", Role: team.TA}
	if err := st.CreateUser(ctx, &ta); err != nil {
		t.Fatal(err)
	}
	accounts := []account.Account{
		// Closes on Jan 10; meets both utilization targets.
		{Name: "Acme", ExternalID: "acme", EstimatedDevelopers: 800, ARR: 40_000, Seats: 100, OwnerID: &ta.ID,
			ExpectedCloseDate: d("2026-01-10"), CloseDate: d("2026-01-10"), RenewalDate: d("2027-01-10")},
		// Renews on May 15, so Renewing from Jan 15; its last activity was
		// on Dec 20, so it ages through 14 and 30 days in January.
		{Name: "Borealis", ExternalID: "borealis", EstimatedDevelopers: 12_000, ARR: 500_000, Seats: 1_000, OwnerID: &ta.ID,
			CloseDate: d("2025-01-15"), RenewalDate: d("2026-05-15")},
		// A prospect all quarter.
		{Name: "Cinder", ExternalID: "cinder", EstimatedDevelopers: 200, ARR: 20_000, ExpectedCloseDate: d("2026-06-15")},
	}
	if _, err := st.UpsertAccounts(ctx, accounts, account.System("fixture", "")); err != nil {
		t.Fatal(err)
	}
	ids, err := st.ResolveExternalIDs(ctx, []string{"acme", "borealis"})
	if err != nil {
		t.Fatal(err)
	}
	w := func(ext, key string, v any) account.TraitWrite {
		return account.TraitWrite{AccountID: ids[ext], Key: key, Value: v}
	}
	_, err = st.SetTraits(ctx, []account.TraitWrite{
		w("acme", "usage_score", 0.35), w("acme", "last_month_mau_over_seats", 0.85), w("acme", "ta_pulse", "Healthy"),
		w("acme", "active_champion", true), w("acme", "access_to_buyer", true),
		w("borealis", "usage_score", 0.25), w("borealis", "last_month_mau_over_seats", 0.45), w("borealis", "ta_pulse", "Concerning"),
		w("borealis", "active_champion", true), w("borealis", "access_to_buyer", true),
		w("borealis", "last_activity_date", "2025-12-20"),
	}, account.System("fixture", account.SourceWarehouse))
	if err != nil {
		t.Fatal(err)
	}
	// Acme's people, whom its campaigns write to by role.
	for _, c := range []account.Contact{
		{AccountID: ids["acme"], Name: "Ian Admin", Email: "ian@acme.example", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: ids["acme"], Name: "Pat Program", Email: "pat@acme.example", Roles: []string{account.RoleProgramContact, account.RoleChampion}},
	} {
		if err := st.CreateContact(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSimulate runs `tend simulate` over 90 days of a small book and
// compares its report with changes worked out by hand from the handbook's
// rules (DESIGN.md §3):
//
//   - Acme closes on 2026-01-10: "1. Onboarding — when the deal closes"
//     (004); it stays "for the first 60 days", so on 2026-03-11 (day 60)
//     it leaves, and with MAU/seats 0.85 ≥ 0.8 and usage 0.35 ≥ 0.3 it is
//     Nurturing ("once the customer hits their utilization targets").
//   - Borealis renews on 2026-05-15: "120 days out from contract renewal,
//     the account transitions into the renewing phase" — 2026-01-15.
//   - Borealis's health: TA pulse Concerning 5 (weight 5), relationships
//     champion 10, buyer 10, last activity (weight 15), utilization usage
//     0.25 concerning 5, MAU/seats 0.45 poor 0 → 2.5 (weight 75). Its last
//     activity on 2025-12-20 is 12 days old on Jan 1 (healthy, "14 or less
//     days"): (25 + 150 + 187.5) / 95 = 3.82 yellow; 15 days on Jan 4
//     (concerning): 3.55, still yellow; 30 days on Jan 19 ("30 or more days
//     of inactivity is considered poor"): (25 + 100 + 187.5) / 95 = 3.29,
//     below 3.33: red.
//   - Acme is scored from its close (a prospect is not): all its metrics
//     with data are healthy, 10, green.
//   - Cinder has no close date and no traits: a Prospect without a score.
func TestSimulate(t *testing.T) {
	data := t.TempDir()
	simFixture(t, data)
	before, err := os.ReadFile(filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr := tend(t, "simulate", "--data", data, "--from", "2026-01-01", "--to", "2026-03-31", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep SimReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Changes {
		got = append(got, fmt.Sprintf("%s %s %s %s→%s", c.Day, c.Account, c.Kind, c.Old, c.New))
	}
	want := []string{
		"2026-01-10 Acme stage 0. Prospect→1. Onboarding",
		"2026-01-10 Acme health →green",
		"2026-01-15 Borealis stage 2. Adopting→4. Renewing",
		"2026-01-19 Borealis health yellow→red",
		"2026-03-11 Acme stage 1. Onboarding→3. Nurturing",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	for _, c := range rep.Changes {
		if c.Kind == "health" && c.Account == "Borealis" {
			if c.OldScore == nil || *c.OldScore != 3.55 || c.NewScore == nil || *c.NewScore != 3.29 || c.Direction != -1 {
				t.Errorf("Borealis's health change: scores %v → %v, direction %d; want 3.55 → 3.29, -1", c.OldScore, c.NewScore, c.Direction)
			}
			if !strings.Contains(c.Reason, "last activity 30 days ago concerning → poor") {
				t.Errorf("health reason %q does not say the last activity moved to poor", c.Reason)
			}
		}
	}
	if rep.Accounts != 3 || rep.Totals["stage"] != 3 || rep.Totals["health"] != 2 {
		t.Errorf("accounts %d, totals %v; want 3 accounts, 3 stage and 2 health changes", rep.Accounts, rep.Totals)
	}
	var baseline []string
	for _, c := range rep.Baseline {
		if c.Account == "Borealis" || c.Kind == "stage" {
			baseline = append(baseline, fmt.Sprintf("%s %s %s→%s", c.Account, c.Kind, c.Old, c.New))
		}
	}
	wantBase := []string{"Acme stage →0. Prospect", "Borealis segment →Strategic", "Borealis program →Managed",
		"Borealis stage →2. Adopting", "Borealis health →yellow", "Cinder stage →0. Prospect"}
	if !slices.Equal(baseline, wantBase) {
		t.Errorf("baseline:\n got %v\nwant %v", baseline, wantBase)
	}
	// The playbooks' actions, worked out by hand from the default
	// workspace: Acme's handoff is 35 days before its expected close, which
	// had passed on the first day and is caught up then ("35 days before
	// closure"; no CE, so the TA); the QBR and success plan of Borealis, a
	// managed customer, on the first working step after 1 January 09:00;
	// Acme's production license at close; Borealis's Health Assessment
	// "120 days before renewal"; the red alert the day it turns red. A
	// campaign's entry enrolls as its firing is recorded, before the step
	// runs the playbooks' actions.
	var acts []string
	for _, a := range rep.Actions {
		acts = append(acts, fmt.Sprintf("%s %s %s %s %s", a.Day, a.Account, a.Playbook, a.Kind, a.Error))
	}
	wantActs := []string{
		"2026-01-01 Acme handoff doc ", "2026-01-01 Acme handoff task ",
		"2026-01-02 Borealis qbr doc ", "2026-01-02 Borealis qbr task ",
		"2026-01-02 Borealis success_plan doc ", "2026-01-02 Borealis success_plan task ",
		"2026-01-10 Acme campaign.admin_onboarding enroll ", "2026-01-10 Acme production_license task ",
		"2026-01-15 Borealis renewal doc ", "2026-01-15 Borealis renewal task ",
		"2026-01-19 Borealis health_red notify ",
		"2026-02-09 Acme campaign.onboarding_checkin enroll ",
	}
	if !slices.Equal(acts, wantActs) {
		t.Errorf("actions:\n got %s\nwant %s", strings.Join(acts, "\n     "), strings.Join(wantActs, "\n     "))
	}
	if !strings.Contains(stdout, "Playbook actions: 12 (1 campaign.admin_onboarding, 1 campaign.onboarding_checkin, 2 handoff, 1 health_red, 1 production_license, 2 qbr, 2 renewal, 2 success_plan)") {
		t.Errorf("summary lacks the actions:\n%s", stdout)
	}
	// The campaigns' emails, per day: Acme is Scaled Success (ARR under
	// the managed threshold) and closes on 2026-01-10. Admin onboarding,
	// 002: "Run for 60 days from contract close", to "anyone tagged as an
	// Instance Admin" — days 0, 7, 21, 42 and 60; the 30-day check-in to
	// the program contact, instance admin and champion (Pat is both of
	// the last: one email). Borealis is Managed and gets none.
	var emails []string
	for _, e := range rep.Emails {
		emails = append(emails, fmt.Sprintf("%s %s %s %s %s", e.Day, e.Account, e.Campaign, e.Step, e.To))
	}
	wantEmails := []string{
		"2026-01-10 Acme admin_onboarding welcome ian@acme.example",
		"2026-01-17 Acme admin_onboarding repositories ian@acme.example",
		"2026-01-31 Acme admin_onboarding users_and_access ian@acme.example",
		"2026-02-09 Acme onboarding_checkin checkin ian@acme.example",
		"2026-02-09 Acme onboarding_checkin checkin pat@acme.example",
		"2026-02-21 Acme admin_onboarding upkeep ian@acme.example",
		"2026-03-11 Acme admin_onboarding checklist ian@acme.example",
	}
	if !slices.Equal(emails, wantEmails) {
		t.Errorf("emails:\n got %s\nwant %s", strings.Join(emails, "\n     "), strings.Join(wantEmails, "\n     "))
	}
	if !strings.Contains(stdout, "Campaign emails: 7 (5 admin_onboarding, 2 onboarding_checkin).") {
		t.Errorf("summary lacks the emails:\n%s", stdout)
	}
	if !strings.Contains(stdout, "2026-01-19  Borealis") || !strings.Contains(stdout, "3 stage, 2 health") {
		t.Errorf("summary lacks the changes:\n%s", stdout)
	}
	// No side effects outside the copy.
	after, err := os.ReadFile(filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, after) {
		t.Error("simulate changed the data it ran over")
	}
	for _, args := range [][]string{
		{"simulate", "--data", data, "--from", "2026-01-01"},
		{"simulate", "--data", data, "--from", "2026-02-01", "--to", "2026-01-01"},
		{"simulate", "--data", data, "--from", "2026-01-01", "--to", "2026-01-31", "--step", "1w"},
		{"simulate", "--data", t.TempDir(), "--from", "2026-01-01", "--to", "2026-01-31"},
	} {
		if code, _, stderr := tend(t, args...); code == 0 || stderr == "" {
			t.Errorf("tend %v: exit %d, stderr %q; want a failure that says why", args, code, stderr)
		}
	}
}

// TestServeClock: `tend serve --clock` runs the engine as of that day —
// on 2026-01-20 Borealis is Renewing (renewal 2026-05-15 is 115 days
// away) and red (its last activity was 31 days before).
func TestServeClock(t *testing.T) {
	data := t.TempDir()
	simFixture(t, data)
	t.Setenv("TEND_PASSWORD", "correct horse battery")
	if code, out, errs := tend(t, "user", "add", "--data", data, "--email", "ana@example.com", "--name", "Ana", "--admin"); code != 0 {
		t.Fatalf("user add: %d %s%s", code, out, errs)
	}
	code, token, errs := tend(t, "token", "create", "--data", data, "--user", "ana@example.com")
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errs)
	}
	token = strings.TrimSpace(token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--clock", "2026-01-20"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`http://\S+`).FindString(line)
	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	var acct map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		acct = get("/api/v1/accounts/2")
		if acct["stage"] == "4. Renewing" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if acct["stage"] != "4. Renewing" || acct["health_color"] != "red" {
		t.Errorf("Borealis on 2026-01-20: %v, %v; want Renewing, red", acct["stage"], acct["health_color"])
	}
	h := get("/api/v1/accounts/2/health")
	if at, _ := h["assessed_at"].(string); !strings.HasPrefix(at, "2026-01-20T00:00") {
		t.Errorf("assessed at %v, want the clock's 2026-01-20", h["assessed_at"])
	}
	cancel()
	<-done
}
