package demo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/demo"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// bookSize is the book TestGenerateBook checks: the default one, or under
// the race detector, which makes SQLite some thirty times slower and the
// default book's million product events a matter of minutes, a small one
// (of a seed whose first accounts are small) that still has every stage.
func bookSize() (accounts int, seed int64) {
	if raceEnabled {
		return 12, 28
	}
	return demo.DefaultAccounts, 42
}

// now is a fixed clock: 15:04 in the afternoon, so that truncating to the
// day matters.
var now = time.Date(2026, time.March, 10, 15, 4, 5, 0, time.UTC)

func generate(t testing.TB, opts demo.Options) (store.Store, *workspace.Workspace, demo.Result) {
	t.Helper()
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
	res, err := demo.Generate(ctx, st, ws, opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return st, ws, res
}

func allAccounts(t testing.TB, st store.Store) []account.Account {
	t.Helper()
	var out []account.Account
	f := account.Filter{Sort: "created", Limit: account.MaxLimit}
	for {
		page, err := st.ListAccounts(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Accounts...)
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
}

// TestGenerateBook checks the default book against the handbook's rules
// (DESIGN.md §3), restated here independently of the generator.
func TestGenerateBook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, seed := bookSize()
	st, ws, res := generate(t, demo.Options{Accounts: n, Seed: seed, Now: now})
	today := date.Of(now)

	users, err := st.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != len(users) {
		t.Errorf("Result.Users = %d, store has %d", res.Users, len(users))
	}
	byID := map[int64]team.User{}
	roles := map[team.Role]int{}
	for _, u := range users {
		byID[u.ID] = u
		roles[u.Role]++
		if !strings.HasSuffix(u.Email, "@tend.demo") {
			t.Errorf("user %s is not @tend.demo", u.Email)
		}
	}
	for role, want := range map[team.Role]int{team.Admin: 1, team.Manager: 2, team.TA: 8, team.AE: 5, team.Viewer: 1} {
		if roles[role] != want {
			t.Errorf("%d %s users, want %d", roles[role], role, want)
		}
	}
	if roles[team.CE] < 4 {
		t.Errorf("%d CEs, want at least 4", roles[team.CE])
	}

	accts := allAccounts(t, st)
	if len(accts) != n || res.Accounts != n {
		t.Fatalf("%d accounts stored, Result.Accounts %d, want %d", len(accts), res.Accounts, n)
	}
	seen := map[string]int{}
	count := func(what, v string) { seen[what+"="+v]++ }
	names, domains := map[string]bool{}, map[string]bool{}
	contactsTotal, traitsTotal, histories := 0, 0, 0
	for _, a := range accts {
		where := fmt.Sprintf("%s (%s)", a.Name, a.Stage)
		count("segment", a.Segment)
		count("program", a.Program)
		count("stage", a.Stage)
		count("color", a.HealthColor)
		count("deployment", a.Deployment)
		count("entitlements", strings.Join(a.Entitlements, "+"))
		if names[a.Name] || domains[a.Domain] {
			t.Errorf("%s: name or domain %s repeats", where, a.Domain)
		}
		names[a.Name], domains[a.Domain] = true, true
		if len(a.ExternalID) != 18 || !strings.HasPrefix(a.ExternalID, "0015e00001") {
			t.Errorf("%s: external id %q is not a CRM account id", where, a.ExternalID)
		}
		if !strings.HasPrefix(a.AnalyticsID, "grp_") {
			t.Errorf("%s: analytics id %q", where, a.AnalyticsID)
		}

		// 004 segments: Strategic 10,000+, Enterprise 1,500–9,999, Commercial under 1,500.
		var segment string
		var arrLo, arrHi int64
		switch d := a.EstimatedDevelopers; {
		case d >= 10000:
			segment, arrLo, arrHi = "Strategic", 400_000, 3_000_000
		case d >= 1500:
			segment, arrLo, arrHi = "Enterprise", 80_000, 600_000
		default:
			segment, arrLo, arrHi = "Commercial", 10_000, 120_000
		}
		if a.Segment != segment {
			t.Errorf("%s: %d developers in segment %s, want %s", where, a.EstimatedDevelopers, a.Segment, segment)
		}
		if a.ARR < arrLo || a.ARR > arrHi {
			t.Errorf("%s: %s ARR %d outside %d–%d", where, a.Segment, a.ARR, arrLo, arrHi)
		}
		if a.Seats <= 0 || a.Seats > a.EstimatedDevelopers {
			t.Errorf("%s: %d seats for %d developers", where, a.Seats, a.EstimatedDevelopers)
		}
		// 004 "Assign Scaled Success Accounts": Commercial and ARR under $50k.
		scaled := segment == "Commercial" && a.ARR < 50_000
		if scaled != (a.Program == "Scaled Success") || (!scaled && a.Program != "Managed") {
			t.Errorf("%s: %s at ARR %d is in program %q", where, a.Segment, a.ARR, a.Program)
		}
		if want := map[bool]string{true: "scaled", false: "managed"}[scaled]; a.SupportLevel != want {
			t.Errorf("%s: support level %q, want %q", where, a.SupportLevel, want)
		}

		// The account team.
		if a.AEID == nil || byID[*a.AEID].Role != team.AE {
			t.Errorf("%s: AE %v is not an AE", where, a.AEID)
		}
		if a.OwnerID != nil && byID[*a.OwnerID].Role != team.TA {
			t.Errorf("%s: owner %d is not a TA", where, *a.OwnerID)
		}
		if a.Program == "Managed" && a.OwnerID == nil {
			t.Errorf("%s: a Managed account without a TA", where)
		}
		if a.OwnerID == nil {
			count("owner", "none")
		}
		if a.CEID != nil {
			count("ce", "yes")
			if byID[*a.CEID].Role != team.CE {
				t.Errorf("%s: CE %d is a %s", where, *a.CEID, byID[*a.CEID].Role)
			}
		}
		if a.IEID != nil {
			count("ie", a.Segment)
		}

		// Lifecycle (004): Prospect until close; Renewing from 120 days
		// before renewal; Onboarding for 60 days after close; Adopting until
		// both utilization targets hold, then Nurturing.
		traits, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		traitsTotal += len(traits)
		tv := map[string]any{}
		for _, v := range traits {
			tv[v.Key] = v.Value
		}
		prospect := a.CloseDate.IsZero()
		if prospect != (a.Stage == "0. Prospect") {
			t.Errorf("%s: close date %q", where, a.CloseDate)
		}
		if prospect {
			if days := today.DaysUntil(a.ExpectedCloseDate); days < 5 || days > 45 || !a.RenewalDate.IsZero() {
				t.Errorf("%s: expected close in %d days, renewal %q", where, days, a.RenewalDate)
			}
			if a.HealthColor != "" {
				t.Errorf("%s: a prospect has health %q", where, a.HealthColor)
			}
		} else {
			if a.RenewalDate.IsZero() || !a.CloseDate.Before(a.RenewalDate) || a.CloseDate.After(today) {
				t.Errorf("%s: closed %s, renews %s", where, a.CloseDate, a.RenewalDate)
			}
			// 004: Renewing "120 days out from contract renewal" — until the
			// renewal is processed (an outcome is set): then back by the
			// metrics, or Churned on a full churn.
			outcome, _ := tv["renewal_outcome"].(string)
			renewing := today.DaysUntil(a.RenewalDate) <= 120 && outcome == ""
			onboarding := a.CloseDate.DaysUntil(today) < 60
			if renewing != (a.Stage == "4. Renewing") {
				t.Errorf("%s: renewal %s is %d days away", where, a.RenewalDate, today.DaysUntil(a.RenewalDate))
			}
			if (outcome == "Full churn") != (a.Stage == "Churned") {
				t.Errorf("%s: renewal outcome %q", where, outcome)
			}
			churned := a.Stage == "Churned"
			if !renewing && !churned && onboarding != (a.Stage == "1. Onboarding") {
				t.Errorf("%s: closed %d days ago", where, a.CloseDate.DaysUntil(today))
			}
			// The utilization traits are the usage engine's, computed
			// from the demo's events.
			usage, _ := tv["usage_score"].(float64)
			mau, _ := tv["last_month_mau_over_seats"].(float64)
			if !renewing && !churned && !onboarding && (usage >= 0.3 && mau >= 0.8) != (a.Stage == "3. Nurturing") {
				t.Errorf("%s: usage score %v, MAU over seats %v", where, usage, mau)
			}
			if a.HealthColor == "" || a.HealthScore == nil || *a.HealthScore < 0 || *a.HealthScore > 10 {
				t.Errorf("%s: health %v %q", where, a.HealthScore, a.HealthColor)
			}
		}

		// Traits: valid for the workspace, each from its own source, the
		// manual ones by the account's TA.
		for _, v := range traits {
			def, ok := ws.Traits.Get(v.Key)
			if !ok {
				t.Errorf("%s: trait %s is not defined", where, v.Key)
				continue
			}
			w, err := ws.Traits.Write(a.ID, v.Key, v.Value)
			if err != nil || w.Value != v.Value {
				t.Errorf("%s: trait %s = %v is not valid: %v", where, v.Key, v.Value, err)
			}
			if v.Source != def.Source {
				t.Errorf("%s: trait %s has source %s, defined %s", where, v.Key, v.Source, def.Source)
			}
			if def.Source == account.SourceManual && (a.OwnerID == nil || v.UpdatedBy != byID[*a.OwnerID].Email) {
				t.Errorf("%s: manual trait %s set by %q, not the owner", where, v.Key, v.UpdatedBy)
			}
			count("trait", v.Key)
		}
		if _, ok := tv["instance_version"]; ok && a.Deployment != "self_hosted" {
			t.Errorf("%s: a cloud account has an instance version", where)
		}
		if pulse, ok := tv["ta_pulse"]; ok {
			count("pulse", pulse.(string))
		}
		hist, err := st.TraitHistory(ctx, a.ID, "ta_pulse", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) > 1 {
			histories++
			if hist[0].Old == nil || hist[0].Old == hist[0].New {
				t.Errorf("%s: pulse history %+v", where, hist)
			}
		}

		// Contacts by role, at the customer's domain.
		cs, err := st.ListContacts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		contactsTotal += len(cs)
		has := map[string]bool{}
		for _, c := range cs {
			for _, r := range c.Roles {
				has[r] = true
				count("role", r)
			}
			if !strings.HasSuffix(c.Email, "@"+a.Domain) {
				t.Errorf("%s: contact %s is not at %s", where, c.Email, a.Domain)
			}
			if c.Unsubscribed {
				count("unsubscribed", "yes")
			}
		}
		for _, r := range []string{account.RoleInstanceAdmin, account.RoleProgramContact, account.RoleBuyer} {
			if !has[r] {
				t.Errorf("%s: no %s among %d contacts", where, r, len(cs))
			}
		}
		if champ, ok := tv["active_champion"]; ok && champ != has[account.RoleChampion] {
			t.Errorf("%s: active champion %v but champion contact %v", where, champ, has[account.RoleChampion])
		}

		// Notes by the account's TA (its AE without one), in the past.
		acts, err := st.ListActivities(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		author := *a.AEID
		if a.OwnerID != nil {
			author = *a.OwnerID
		}
		notes := 0
		for _, act := range acts {
			if act.Kind == account.ActivityFieldChanged {
				// The demo placed every account by the utilization its
				// events give; a field change means the engine disagreed.
				t.Errorf("%s: placed again after the usage engine ran: %s", where, act.Body)
			}
			if act.Kind != account.ActivityNote {
				continue
			}
			notes++
			if act.ActorID == nil || *act.ActorID != author || act.Actor != byID[author].Email || !act.At.Before(now) || act.Body == "" || strings.Contains(act.Body, "{") {
				t.Errorf("%s: note %+v", where, act)
			}
		}
		if notes < 1 || notes > 6 {
			t.Errorf("%s: %d notes", where, notes)
		}
	}
	if res.Contacts != contactsTotal || res.Traits != traitsTotal {
		t.Errorf("Result counts %d contacts, %d traits; store has %d, %d", res.Contacts, res.Traits, contactsTotal, traitsTotal)
	}

	// The demo logins work.
	for _, email := range []string{res.AdminEmail, demo.ViewerEmail} {
		u, err := st.GetUserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if !team.CheckPassword(u.PasswordHash, res.AdminPassword) {
			t.Errorf("%s cannot log in with the demo password", email)
		}
	}
	if admin, _ := st.GetUserByEmail(ctx, res.AdminEmail); admin.Role != team.Admin {
		t.Errorf("%s has role %s", res.AdminEmail, admin.Role)
	}
	if viewer, _ := st.GetUserByEmail(ctx, demo.ViewerEmail); viewer.Role.CanWrite() {
		t.Errorf("%s can write", demo.ViewerEmail)
	}

	checkUsage(t, st, ws, res, accts, n == demo.DefaultAccounts)
	if n != demo.DefaultAccounts {
		return
	}

	// Every segment, program, stage and colour, and the variety the later
	// capabilities need, shows up.
	for _, want := range []string{
		"segment=Strategic", "segment=Enterprise", "segment=Commercial",
		"program=Managed", "program=Scaled Success",
		"stage=0. Prospect", "stage=1. Onboarding", "stage=2. Adopting", "stage=3. Nurturing", "stage=4. Renewing",
		"color=green", "color=yellow", "color=red",
		"deployment=cloud", "deployment=self_hosted",
		"entitlements=code_search", "entitlements=ai_assistant", "entitlements=ai_assistant+code_search",
		"owner=none", "ce=yes", "ie=Strategic", "unsubscribed=yes",
		"pulse=Healthy", "pulse=Concerning", "pulse=Poor",
		"role=instance_admin", "role=program_contact", "role=champion", "role=stakeholder", "role=buyer", "role=end_user",
	} {
		if seen[want] == 0 {
			t.Errorf("no account with %s", want)
		}
	}
	for _, d := range ws.Traits.All() {
		if seen["trait="+d.Key] == 0 {
			t.Errorf("no account has trait %s", d.Key)
		}
	}
	if seen["segment=Commercial"] <= len(accts)/2 {
		t.Errorf("%d Commercial accounts of %d, want a majority", seen["segment=Commercial"], len(accts))
	}
	if seen["color=green"] <= seen["color=yellow"] || seen["color=green"] <= seen["color=red"] {
		t.Errorf("health colours %d green, %d yellow, %d red: want mostly green", seen["color=green"], seen["color=yellow"], seen["color=red"])
	}
	if histories == 0 {
		t.Error("no account has a TA pulse history")
	}
}

// snapshot renders everything Generate stored, without ids and store
// timestamps, so that two books can be compared: the book, and with
// withUsage its product usage too (users, feature adoption, the computed
// traits and every event). Usage runs up to the instant Now, the rest of
// the book depends on its day only.
func snapshot(t *testing.T, st store.Store, withUsage bool) string {
	t.Helper()
	ctx := context.Background()
	users, err := st.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	email := map[int64]string{}
	var b strings.Builder
	for _, u := range users {
		email[u.ID] = u.Email
		fmt.Fprintf(&b, "user %s %s %s\n", u.Email, u.Name, u.Role)
	}
	who := func(id *int64) string {
		if id == nil {
			return "-"
		}
		return email[*id]
	}
	accts := allAccounts(t, st)
	slices.SortFunc(accts, func(a, b account.Account) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	for _, a := range accts {
		score := math.NaN()
		if a.HealthScore != nil {
			score = *a.HealthScore
		}
		fmt.Fprintf(&b, "account %s %q %s %s %d %d %d %s %s %s %s %s %s %s %s %v %s %s %s %s %v %s\n", a.ExternalID, a.Name,
			a.Domain, a.AnalyticsID, a.EstimatedDevelopers, a.ARR, a.Seats, a.SupportLevel, who(a.OwnerID), who(a.AEID),
			who(a.CEID), who(a.IEID), a.ExpectedCloseDate, a.CloseDate, a.RenewalDate, a.Entitlements, a.Deployment,
			a.Segment, a.Program, a.Stage, score, a.HealthColor)
		cs, err := st.ListContacts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			fmt.Fprintf(&b, "  contact %s %q %s %q %v %v\n", c.ExternalID, c.Name, c.Email, c.Title, c.Roles, c.Unsubscribed)
		}
		traits, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range traits {
			if withUsage || !slices.Contains(workspace.UsageTraits, v.Key) {
				fmt.Fprintf(&b, "  trait %s=%v %s %s\n", v.Key, v.Value, v.Source, v.UpdatedBy)
			}
		}
		hist, err := st.TraitHistory(ctx, a.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hist {
			if withUsage || !slices.Contains(workspace.UsageTraits, h.Key) {
				fmt.Fprintf(&b, "  change %s %v→%v %s %s\n", h.Key, h.Old, h.New, h.Source, h.Actor)
			}
		}
		acts, err := st.ListActivities(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, act := range acts {
			if act.Kind == account.ActivityNote || (withUsage && act.Kind == account.ActivityUsage) {
				fmt.Fprintf(&b, "  %s %s %s %q\n", act.Kind, act.At.Format(time.RFC3339), act.Actor, act.Body)
			}
		}
		if !withUsage {
			continue
		}
		us, err := st.UsageUsersOfAccount(ctx, a.ID, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			contact := ""
			if u.ContactID != nil {
				contact = "contact"
			}
			fmt.Fprintf(&b, "  product user %s %s %s %s\n", u.Key, u.Email, contact, u.FirstSeen.Format(time.RFC3339Nano))
		}
		fa, err := st.ListFeatureAdoption(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fa {
			fmt.Fprintf(&b, "  feature %s %s %d\n", f.Feature, f.FirstAt.Format(time.RFC3339Nano), f.Users)
		}
	}
	if withUsage {
		for after := int64(0); ; {
			evs, err := st.EventsSince(ctx, after, 5000)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				fmt.Fprintf(&b, "event %s %s %s %s %s %s %s\n", e.MessageID, e.Type, e.UserKey, e.Name,
					e.Timestamp.Format(time.RFC3339Nano), e.ReceivedAt.Format(time.RFC3339Nano), e.Body)
				after = e.Seq
			}
		}
	}
	return b.String()
}

// same fails the test at the first line where two snapshots differ.
func same(t *testing.T, what, a, b string) {
	t.Helper()
	if a == b {
		return
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			t.Fatalf("%s; first difference at line %d:\n%s\n%s", what, i, al[i], bl[i])
		}
	}
	t.Fatalf("%s: %d and %d lines", what, len(al), len(bl))
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	// Seeds whose first accounts are small: every product event costs
	// its time, the more so under the race detector.
	n := 12
	if raceEnabled {
		n = 6
	}
	opts := demo.Options{Accounts: n, Seed: 3, Now: now}
	st1, _, _ := generate(t, opts)
	st2, _, _ := generate(t, opts)
	a := snapshot(t, st1, true)
	// The same seed at the same instant sends the same events.
	same(t, "same seed and instant, different book or events", a, snapshot(t, st2, true))

	// Another time on the same day gives the same book; its usage runs up
	// to the other time.
	opts.Now = now.Add(-10 * time.Hour)
	st3, _, _ := generate(t, opts)
	book := snapshot(t, st1, false)
	same(t, "same seed and day, different book", book, snapshot(t, st3, false))

	opts.Seed = 41
	st4, _, _ := generate(t, opts)
	if snapshot(t, st4, true) == a {
		t.Error("seeds 3 and 41 gave the same book")
	}

	// A smaller book with the same seed is the start of the larger one,
	// its product usage included.
	opts.Seed, opts.Accounts, opts.Now = 3, n/3, now
	st5, _, _ := generate(t, opts)
	lines := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		lines[l] = true
	}
	for _, l := range strings.Split(snapshot(t, st5, true), "\n") {
		if !lines[l] {
			t.Fatalf("the %d-account book has %q, which the %d-account book has not", n/3, l, n)
		}
	}
}

func TestGenerateSizes(t *testing.T) {
	t.Parallel()
	_, _, res := generate(t, demo.Options{Accounts: 1, Seed: 3, Now: now})
	if res.Accounts != 1 || res.Contacts < 3 {
		t.Errorf("one-account book: %+v", res)
	}
	ctx := context.Background()
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, demo.MaxAccounts + 1} {
		st, err := sqlite.OpenMemory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = demo.Generate(ctx, st, ws, demo.Options{Accounts: n})
		var e *derrors.Error
		if !errors.As(err, &e) || e.Code != derrors.Invalid || e.Field != "accounts" {
			t.Errorf("Accounts %d: err = %v, want an invalid accounts field error", n, err)
		}
	}
}

// TestGenerateWorkspaceWithoutTraits shows that a team's workspace that
// drops some of the handbook's traits still gets a demo, without them.
func TestGenerateWorkspaceWithoutTraits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	def, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	var kept []account.TraitDef
	for _, d := range def.Traits.All() {
		if d.Key != "ta_pulse" && d.Key != "usage_score" {
			kept = append(kept, d)
		}
	}
	ws := &workspace.Workspace{Traits: account.NewTraitDefs(kept), Fields: def.Fields}
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: 8, Seed: 17, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, a := range allAccounts(t, st) {
		traits, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		total += len(traits)
		for _, v := range traits {
			if v.Key == "ta_pulse" || v.Key == "usage_score" {
				t.Errorf("%s has trait %s, which the workspace does not define", a.Name, v.Key)
			}
		}
	}
	if total == 0 || total != res.Traits {
		t.Errorf("%d traits stored, Result.Traits %d", total, res.Traits)
	}
}

// TestGenerateWorkspaceThatRedefinesATrait shows that a workspace whose
// trait cannot hold the demo's values is refused before anything is stored.
func TestGenerateWorkspaceThatRedefinesATrait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	def, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	defs := slices.Clone(def.Traits.All())
	for i, d := range defs {
		if d.Key == "ta_pulse" {
			defs[i].Values = []string{"Green", "Yellow", "Red"}
		}
	}
	ws := &workspace.Workspace{Traits: account.NewTraitDefs(defs), Fields: def.Fields}
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = demo.Generate(ctx, st, ws, demo.Options{Accounts: 10, Seed: 5, Now: now})
	var e *derrors.Error
	if !errors.As(err, &e) || e.Code != derrors.Unprocessable || e.Field != "traits.ta_pulse" {
		t.Fatalf("err = %v, want an error about traits.ta_pulse", err)
	}
	if users, err := st.ListUsers(ctx); err != nil || len(users) != 0 {
		t.Errorf("the refused demo stored %d users (%v)", len(users), err)
	}
}

func TestGenerateIntoANonEmptyStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, ws, _ := generate(t, demo.Options{Accounts: 2, Seed: 14, Now: now})
	if _, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: 2, Seed: 14, Now: now}); derrors.CodeOf(err) != derrors.Conflict {
		t.Errorf("second Generate into the same store: %v, want a conflict", err)
	}
}

// BenchmarkGenerate measures the default book, a year of product usage
// through the usage engine included, into SQLite in memory.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{demo.DefaultAccounts} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			ws, err := workspace.Default()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				b.StopTimer()
				st, err := sqlite.OpenMemory(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: n, Seed: 1, Now: now}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
		})
	}
}
