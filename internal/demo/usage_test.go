package demo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/demo"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/workspace"
)

// checkUsage checks the book's product usage as the usage engine stored it
// (day bitmaps, users, feature adoption, computed traits) against what
// issue 3 asks of the demo: about a year of usage for every closed account,
// starting shortly after its close, weekdays busier than weekends, a dip
// over the holidays, features by entitlement, product users at the
// customer's domain (some of them its contacts), and — with variety —
// growing, flat, declining, seasonal and dormant accounts. now is
// 10 March 2026, so the year shown runs from April 2025.
func checkUsage(t *testing.T, st store.Store, ws *workspace.Workspace, res demo.Result, accts []account.Account, variety bool) {
	t.Helper()
	ctx := context.Background()
	loc := ws.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	today := usage.DayOf(now, loc)
	yearStart := usage.DayFromDate(date.New(2025, time.April, 1))

	keys, err := st.ListWriteKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Name != demo.WriteKeyName || !strings.HasPrefix(res.WriteKey, keys[0].Prefix) {
		t.Errorf("write keys %+v for secret %q", keys, res.WriteKey)
	}
	if _, err := st.WriteKeyByHash(ctx, team.HashToken(res.WriteKey), now); err != nil {
		t.Errorf("the demo's write key does not authenticate: %v", err)
	}
	counts, err := st.EventCountsPerMinute(ctx, yearStart.Start(loc).Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, c := range counts {
		accepted += c.Accepted
	}
	if res.Events == 0 || accepted != res.Events {
		t.Errorf("Result.Events %d, the store accepted %d", res.Events, accepted)
	}

	userKey := regexp.MustCompile(`^u_([a-z0-9]+)_[1-9][0-9]*$`)
	var wdSum, weSum, wdDays, weDays float64
	dau := map[usage.Day]int{}
	shapes, features := map[string]int{}, map[string]int{}
	users, contacts := 0, 0
	for _, a := range accts {
		where := fmt.Sprintf("%s (%s)", a.Name, a.Stage)
		vals, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		tv := map[string]any{}
		for _, v := range vals {
			if slices.Contains(workspace.UsageTraits, v.Key) {
				tv[v.Key] = v.Value
				if v.UpdatedBy != "usage metrics" {
					t.Errorf("%s: %s set by %q, not the usage engine", where, v.Key, v.UpdatedBy)
				}
			}
		}
		idx := usage.NewAccount(loc)
		blobs, err := st.LoadAccountDays(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blobs {
			if err := idx.UnmarshalDay(usage.Day(b.Day), b.Blob); err != nil {
				t.Fatal(err)
			}
		}
		days := idx.Days()
		us, err := st.UsageUsersOfAccount(ctx, a.ID, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if a.CloseDate.IsZero() {
			if len(days) > 0 || len(tv) > 0 || len(us) > 0 {
				t.Errorf("%s: a prospect has %d days of usage, %d users, traits %v", where, len(days), len(us), tv)
			}
			continue
		}

		// The people: u_<slug>_<n>, identified at the customer's domain,
		// some of them with a contact's email.
		cs, err := st.ListContacts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		emails := map[string]bool{}
		for _, c := range cs {
			emails[c.Email] = true
		}
		slug, _, _ := strings.Cut(a.Domain, ".")
		users += len(us)
		for _, u := range us {
			if emails[u.Email] {
				contacts++
			}
			if m := userKey.FindStringSubmatch(u.Key); m == nil || m[1] != slug {
				t.Errorf("%s: product user %q is not u_%s_<n>", where, u.Key, slug)
			}
			if u.Email != "" && !strings.HasSuffix(u.Email, "@"+a.Domain) {
				t.Errorf("%s: product user %s has email %s", where, u.Key, u.Email)
			}
		}

		// Usage starts shortly after the close, or with the year shown.
		closed := usage.DayFromDate(a.CloseDate)
		fp, _ := tv["first_usage_ping"].(string)
		if len(days) == 0 {
			if fp != "" || today-closed > 5 {
				t.Errorf("%s: closed %s, first ping %q, no usage", where, a.CloseDate, fp)
			}
			continue
		}
		first := usage.DayFromDate(date.MustParse(fp))
		if first != days[0] {
			t.Errorf("%s: first ping %s, first active day %s", where, fp, days[0])
		}
		if closed >= yearStart && (first < closed || first > closed+4) {
			t.Errorf("%s: closed %s, first ping %s", where, a.CloseDate, fp)
		}
		if closed < yearStart && (first < yearStart || first > yearStart+14) {
			t.Errorf("%s: closed %s, before the year shown, first ping %s", where, a.CloseDate, fp)
		}
		if mau, _ := tv["last_month_mau"].(float64); int(mau) != idx.MAU(today.Month()-1) {
			t.Errorf("%s: last month MAU trait %v, the days say %d", where, mau, idx.MAU(today.Month()-1))
		}

		// Features by entitlement: AI ones with the AI assistant, the
		// others with code search.
		adoption, err := st.ListFeatureAdoption(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range adoption {
			features[f.Feature]++
			need := "code_search"
			if strings.HasPrefix(f.Feature, "AI ") {
				need = "ai_assistant"
			}
			if !slices.Contains(a.Entitlements, need) {
				t.Errorf("%s: uses %s without %s (entitlements %v)", where, f.Feature, need, a.Entitlements)
			}
			if f.FirstAt.Before(days[0].Start(loc)) || f.Users < 1 {
				t.Errorf("%s: feature %+v", where, f)
			}
		}
		if len(adoption) == 0 {
			t.Errorf("%s: no features used", where)
		}

		for d := today - 89; d < today; d++ {
			n := idx.DAU(d)
			dau[d] += n
			if wd := d.Start(loc).Weekday(); wd == time.Saturday || wd == time.Sunday {
				weSum, weDays = weSum+float64(n), weDays+1
			} else {
				wdSum, wdDays = wdSum+float64(n), wdDays+1
			}
		}

		// The account's story, from its monthly active users.
		last := days[len(days)-1]
		mau := func(y int, m time.Month) float64 { return float64(idx.MAU(usage.MonthOf(y, m))) }
		apr, jun, aug, oct, feb := mau(2025, time.April), mau(2025, time.June), mau(2025, time.August), mau(2025, time.October), mau(2026, time.February)
		switch {
		case today-last > 45:
			shapes["dormant"]++
			if tv["active_users_30d"] != 0.0 {
				t.Errorf("%s: dormant since %s, yet %v active users in 30 days", where, last, tv["active_users_30d"])
			}
		case closed >= yearStart:
			if a.Stage == "1. Onboarding" && today-first >= 21 {
				// A new customer ramps up: its first week is quieter than
				// its last.
				if early, late := idx.Actives(first, first+6), idx.Actives(today-7, today-1); early >= late {
					t.Errorf("%s: %d users in its first week, %d in the last", where, early, late)
				}
				shapes["ramp"]++
			}
		case aug <= 0.8*jun && oct >= 0.9*jun:
			shapes["seasonal"]++
		case feb >= 1.4*apr:
			shapes["growing"]++
		case feb <= 0.75*apr:
			shapes["declining"]++
		case feb >= 0.85*apr && feb <= 1.15*apr:
			shapes["flat"]++
		}
	}
	if users != res.ProductUsers || users == 0 {
		t.Errorf("%d product users stored, Result.ProductUsers %d", users, res.ProductUsers)
	}
	if contacts == 0 || contacts == users {
		t.Errorf("%d of %d product users are contacts: want some", contacts, users)
	}
	if wd, we := wdSum/wdDays, weSum/weDays; wd < 4*we {
		t.Errorf("mean DAU %.1f on weekdays, %.1f at weekends: want weekdays far busier", wd, we)
	}
	// Mondays 15 and 29 December 2025: the holidays empty the product.
	if a, b := dau[usage.DayFromDate(date.New(2025, 12, 15))], dau[usage.DayFromDate(date.New(2025, 12, 29))]; b*2 > a {
		t.Errorf("DAU %d on 15 December, %d on 29 December: want a holiday dip", a, b)
	}
	if !variety {
		return
	}
	for _, s := range []string{"growing", "flat", "declining", "seasonal", "dormant", "ramp"} {
		if shapes[s] == 0 {
			t.Errorf("no %s account (%v)", s, shapes)
		}
	}
	for _, f := range []string{"Search Performed", "Code Navigation Used", "Insight Viewed", "Batch Change Created", "AI Chat Message", "AI Completion Accepted"} {
		if features[f] == 0 {
			t.Errorf("no account uses %s", f)
		}
	}
	t.Logf("%d events, %d product users; shapes %v", res.Events, res.ProductUsers, shapes)
}

// TestGenerateWithTheCallersEngine gives Generate the usage engine to send
// through, as tend demo does: it is started once the accounts exist, it
// stays open for the caller, and it has the book's usage live.
func TestGenerateWithTheCallersEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	var eng *engine.Usage
	started := 0
	res, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: 4, Seed: 28, Now: now,
		Usage: func(ctx context.Context) (*engine.Usage, error) {
			started++
			page, err := st.ListAccounts(ctx, account.Filter{Limit: 10})
			if err != nil || page.Total != 4 {
				t.Errorf("the engine is started before the accounts exist (%d, %v)", page.Total, err)
			}
			eng, err = engine.NewUsage(ctx, engine.UsageConfig{Store: st, Workspace: ws, FlushEvery: time.Hour,
				Now: func() time.Time { return now }})
			return eng, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if started != 1 || eng == nil {
		t.Fatalf("Options.Usage called %d times", started)
	}
	defer eng.Close()
	live := 0
	for _, a := range allAccounts(t, st) {
		m := eng.Metrics(a.ID)
		live += m.Active30
		vals, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if v.Key == "active_users_30d" && v.Value != float64(m.Active30) {
				t.Errorf("%s: active_users_30d %v, the engine says %d", a.Name, v.Value, m.Active30)
			}
		}
	}
	if live == 0 || res.Events == 0 {
		t.Errorf("the caller's engine has no usage (%d active users, %d events)", live, res.Events)
	}
	// Still running: it takes events after Generate returns.
	if err := eng.Flush(ctx); err != nil {
		t.Errorf("the engine was closed: %v", err)
	}
}

// TestGenerateWarehouseMetrics shows a workspace that takes utilization
// from the warehouse (usage.metrics_source: warehouse): the engine leaves
// those traits alone, so the demo's warehouse sync sets them to what the
// events give, and the book is placed by them as before.
func TestGenerateWarehouseMetrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "settings.yaml"), []byte("usage:\n  metrics_source: warehouse\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := demo.Generate(ctx, st, ws, demo.Options{Accounts: 5, Seed: 3, Now: now}); err != nil {
		t.Fatal(err)
	}
	set := 0
	for _, a := range allAccounts(t, st) {
		vals, err := st.ListTraits(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if slices.Contains(workspace.UsageTraits, v.Key) {
				set++
				if v.Source != account.SourceWarehouse || v.UpdatedBy != "demo warehouse sync" {
					t.Errorf("%s: %s from %s by %s", a.Name, v.Key, v.Source, v.UpdatedBy)
				}
			}
		}
	}
	if set == 0 {
		t.Error("no utilization traits")
	}
}
