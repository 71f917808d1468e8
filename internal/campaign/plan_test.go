package campaign_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/playbook"
)

var schema = condition.NewSchema([]account.TraitDef{
	{Key: "usage_score", Type: account.TypeNumber},
	{Key: "last_month_mau_over_seats", Type: account.TypeNumber},
	{Key: "first_usage_ping", Type: account.TypeDate},
})

func cond(t testing.TB, src string) *condition.Program {
	t.Helper()
	p, err := schema.Compile(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return p
}

func email(tmpl string, roles ...string) campaign.Step {
	return campaign.Step{Kind: campaign.StepEmail, Email: &campaign.Email{Template: tmpl, To: roles, From: campaign.Owner, ReplyTo: campaign.Owner}}
}

func withID(id string, s campaign.Step) campaign.Step { s.ID = id; return s }

// onboarding is an end-user onboarding sequence in the handbook's spirit
// (002): a welcome, then tips once the first usage ping arrives, nudges
// every two weeks until it does, and a recap a month after the tips. It
// ends when the account reaches the utilization targets: "Customers enter
// the nurture phase once they have surpassed 80% utilization (MAU/Seats)
// AND 30% usage (DAU/MAU)."
func onboarding(t testing.TB) *campaign.Campaign {
	tips := email("tips_both", account.RoleProgramContact)
	tips.Email.Template = ""
	tips.Email.Variants = []campaign.Variant{
		{Name: "code search only", When: cond(t, `account.entitlements == ["code_search"]`), Template: "tips_search"},
		{Name: "AI assistant only", When: cond(t, `account.entitlements == ["ai_assistant"]`), Template: "tips_ai"},
		{Name: "both", When: cond(t, `"code_search" in account.entitlements && "ai_assistant" in account.entitlements`), Template: "tips_both"},
	}
	c := &campaign.Campaign{Key: "onboarding", Name: "Onboarding", Enabled: true,
		Audience: cond(t, `account.program == "Scaled Success"`),
		Entry:    campaign.Entry{Kind: campaign.EntryPlaybook},
		Reentry:  playbook.Reentry{Mode: playbook.Once},
		Exits: []campaign.Exit{{Name: "reached the utilization targets",
			When: cond(t, `traits.last_month_mau_over_seats >= 0.8 && traits.usage_score >= 0.3`)}},
		Steps: []campaign.Step{
			withID("welcome", email("welcome", account.RoleInstanceAdmin)),
			{ID: "pause", Kind: campaign.StepWait, Wait: &campaign.Wait{For: 7 * 24 * time.Hour}},
			{ID: "await_usage", Kind: campaign.StepWait, Wait: &campaign.Wait{Until: cond(t, `traits.first_usage_ping != nil`),
				Timeout: 14 * 24 * time.Hour, Then: "tips", OnTimeout: "nudge"}},
			withID("nudge", email("nudge", account.RoleProgramContact)),
			{ID: "nudge_pause", Kind: campaign.StepWait, Wait: &campaign.Wait{For: 14 * 24 * time.Hour}},
			{ID: "recheck", Kind: campaign.StepBranch, Branch: []campaign.Case{
				{When: cond(t, `traits.first_usage_ping != nil`), Goto: "tips"}, {Goto: "nudge"}}},
			withID("tips", tips),
			{ID: "settle", Kind: campaign.StepWait, Wait: &campaign.Wait{For: 30 * 24 * time.Hour}},
			withID("recap", email("recap", account.RoleProgramContact, account.RoleChampion, account.RoleInstanceAdmin)),
		},
	}
	if p := c.Validate(nil); len(p) > 0 {
		t.Fatalf("onboarding does not validate: %v", p)
	}
	return c
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func factsAt(now time.Time, a account.Account, traits map[string]any) condition.Facts {
	return condition.Facts{Account: a, Traits: traits, Now: now}
}

var scaled = account.Account{ID: 7, Name: "Cobalt Logistics", Program: "Scaled Success", Entitlements: []string{"code_search"}}

func TestPlan(t *testing.T) {
	c := onboarding(t)
	at := func(step string, started time.Time, seq int) campaign.State {
		return campaign.State{Step: step, EnteredAt: t0, StepStartedAt: started, Seq: seq}
	}
	msg := func(step string, seq int, tmpl, variant string, roles ...string) *campaign.Message {
		return &campaign.Message{Step: step, Seq: seq, Template: tmpl, Variant: variant, To: roles, From: "owner", ReplyTo: "owner"}
	}
	both := scaled
	both.Entitlements = []string{"ai_assistant", "code_search"}
	ai := scaled
	ai.Entitlements = []string{"ai_assistant"}
	none := scaled
	none.Entitlements = nil
	managed := scaled
	managed.Program = "Managed"
	pinged := map[string]any{"first_usage_ping": "2026-03-05"}
	targets := map[string]any{"last_month_mau_over_seats": 0.81, "usage_score": 0.31}
	for _, tc := range []struct {
		name   string
		state  campaign.State
		now    time.Time
		acct   account.Account
		traits map[string]any
		want   campaign.Decision
	}{
		{"a new enrollment sends the first email at once", campaign.State{EnteredAt: t0}, t0, scaled, nil,
			campaign.Decision{Kind: campaign.KindSend, State: at("pause", t0, 1), Email: msg("welcome", 0, "welcome", "", "instance_admin")}},
		{"a wait for 7d is not over a minute early", at("pause", t0, 1), day(7).Add(-time.Minute), scaled, nil,
			campaign.Decision{Kind: campaign.KindWait, State: at("pause", t0, 1), WakeAt: day(7)}},
		{"a wait that is over leads to the wait until the first ping, which counts its timeout from now", at("pause", t0, 1), day(7), scaled, nil,
			campaign.Decision{Kind: campaign.KindWait, State: at("await_usage", day(7), 2), WakeAt: day(21), Watch: true}},
		{"the first ping arrived during the pause: straight on to the tips", at("pause", t0, 1), day(7), scaled, pinged,
			campaign.Decision{Kind: campaign.KindSend, State: at("settle", day(7), 4), Email: msg("tips", 3, "tips_search", "code search only", "program_contact")}},
		{"the wait's timeout leads to the nudge", at("await_usage", day(7), 2), day(21), scaled, nil,
			campaign.Decision{Kind: campaign.KindSend, State: at("nudge_pause", day(21), 4), Email: msg("nudge", 3, "nudge", "", "program_contact")}},
		// 002: "Depending on the contract entitlements, we have different
		// sequences for Code Search only, Cody only, or Code Search and Cody."
		{"AI assistant only gets its variant", at("tips", day(10), 3), day(10), ai, pinged,
			campaign.Decision{Kind: campaign.KindSend, State: at("settle", day(10), 4), Email: msg("tips", 3, "tips_ai", "AI assistant only", "program_contact")}},
		{"both entitlements get theirs", at("tips", day(10), 3), day(10), both, pinged,
			campaign.Decision{Kind: campaign.KindSend, State: at("settle", day(10), 4), Email: msg("tips", 3, "tips_both", "both", "program_contact")}},
		{"no entitlement: no variant applies and the email is passed", at("tips", day(10), 3), day(10), none, pinged,
			campaign.Decision{Kind: campaign.KindWait, State: at("settle", day(10), 4), WakeAt: day(40)}},
		{"the branch loops back to the nudge while there is no ping", at("nudge_pause", day(21), 4), day(35), scaled, nil,
			campaign.Decision{Kind: campaign.KindSend, State: at("nudge_pause", day(35), 7), Email: msg("nudge", 6, "nudge", "", "program_contact")}},
		{"the last email finishes the campaign", at("recap", day(40), 5), day(40), scaled, pinged,
			campaign.Decision{Kind: campaign.KindSend, State: at(campaign.End, day(40), 6), Email: msg("recap", 5, "recap", "", "program_contact", "champion", "instance_admin")}},
		{"a finished enrollment is done", at(campaign.End, day(40), 6), day(41), scaled, nil,
			campaign.Decision{Kind: campaign.KindDone, State: at(campaign.End, day(40), 6)}},
		{"an exit condition ends it at any step", at("settle", day(10), 4), day(12), scaled, targets,
			campaign.Decision{Kind: campaign.KindExit, State: at("settle", day(10), 4), Exit: "reached the utilization targets"}},
		{"an account that left the audience exits", at("pause", t0, 1), day(3), managed, nil,
			campaign.Decision{Kind: campaign.KindExit, State: at("pause", t0, 1), Exit: campaign.LeftAudience}},
		{"a step removed from the campaign exits", at("old_step", t0, 1), day(3), scaled, nil,
			campaign.Decision{Kind: campaign.KindExit, State: at("old_step", t0, 1), Exit: `step "old_step" is no longer in the campaign`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := factsAt(tc.now, tc.acct, tc.traits)
			got, err := campaign.Plan(c, tc.state, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Trail) == 0 {
				t.Error("no trail")
			}
			got.Trail = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.Email, tc.want, tc.want.Email)
			}
			again, _ := campaign.Plan(c, tc.state, f)
			again.Trail = nil
			if !reflect.DeepEqual(again, got) {
				t.Errorf("planning again gave %+v", again)
			}
		})
	}
}

// simulate runs an enrollment a tick a day at 09:00 for 120 days, as the
// runner and `tend simulate` would, and lists "day N: template" per email
// and how it ended.
func simulate(t *testing.T, c *campaign.Campaign, facts func(day int) (account.Account, map[string]any)) []string {
	t.Helper()
	st := campaign.State{EnteredAt: t0}
	var out []string
	for d := 0; d <= 120; d++ {
		a, traits := facts(d)
		sends, last, err := campaign.Advance(c, st, factsAt(day(d), a, traits))
		if err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		for _, m := range sends {
			out = append(out, fmt.Sprintf("day %d: %s", d, m.Template))
		}
		st = last.State
		if last.Kind == campaign.KindWait && !last.WakeAt.After(day(d)) {
			t.Fatalf("day %d: a wait that is over: %+v", d, last)
		}
		switch last.Kind {
		case campaign.KindExit:
			return append(out, fmt.Sprintf("day %d: exit (%s)", d, last.Exit))
		case campaign.KindDone:
			return append(out, fmt.Sprintf("day %d: done", d))
		}
	}
	return append(out, "day 120: still enrolled at "+st.Step)
}

// Waits with timeouts and branches across 120 simulated days.
func TestSimulate120Days(t *testing.T) {
	c := onboarding(t)
	pingOn := func(from int) func(int) (account.Account, map[string]any) {
		return func(d int) (account.Account, map[string]any) {
			if from >= 0 && d >= from {
				return scaled, map[string]any{"first_usage_ping": day(from).Format(time.DateOnly)}
			}
			return scaled, nil
		}
	}
	for _, tc := range []struct {
		name  string
		facts func(int) (account.Account, map[string]any)
		want  []string
	}{
		{"the first ping during the pause: tips when it ends, the recap 30 days later", pingOn(3),
			[]string{"day 0: welcome", "day 7: tips_search", "day 37: recap", "day 37: done"}},
		{"the first ping while waiting for it: tips the same day", pingOn(10),
			[]string{"day 0: welcome", "day 10: tips_search", "day 40: recap", "day 40: done"}},
		{"the first ping after the timeout: a nudge, then tips at the next check", pingOn(25),
			[]string{"day 0: welcome", "day 21: nudge", "day 35: tips_search", "day 65: recap", "day 65: done"}},
		{"no ping ever: a nudge every 14 days", pingOn(-1),
			[]string{"day 0: welcome", "day 21: nudge", "day 35: nudge", "day 49: nudge", "day 63: nudge", "day 77: nudge",
				"day 91: nudge", "day 105: nudge", "day 119: nudge", "day 120: still enrolled at nudge_pause"}},
		{"the utilization targets reached on day 30 end it", func(d int) (account.Account, map[string]any) {
			if d >= 30 {
				return scaled, map[string]any{"last_month_mau_over_seats": 0.8, "usage_score": 0.3}
			}
			return scaled, nil
		}, []string{"day 0: welcome", "day 21: nudge", "day 30: exit (reached the utilization targets)"}},
		// 002 "MAU/Seats 0.79 and usage 0.31": not yet nurturing, so the
		// campaign goes on.
		{"just under the targets is not an exit", func(d int) (account.Account, map[string]any) {
			return scaled, map[string]any{"last_month_mau_over_seats": 0.79, "usage_score": 0.31, "first_usage_ping": "2026-03-02"}
		}, []string{"day 0: welcome", "day 7: tips_search", "day 37: recap", "day 37: done"}},
		{"moved to the Managed program on day 50: out of the audience", func(d int) (account.Account, map[string]any) {
			if d >= 50 {
				m := scaled
				m.Program = "Managed"
				return m, nil
			}
			return scaled, nil
		}, []string{"day 0: welcome", "day 21: nudge", "day 35: nudge", "day 49: nudge", "day 50: exit (left the audience)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := simulate(t, c, tc.facts); !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// A crash between queueing an email and storing the state replans from
// the old state: the same message, so the same idempotency key.
func TestMessageKeysAreStable(t *testing.T) {
	c := onboarding(t)
	st := campaign.State{Step: "nudge_pause", EnteredAt: t0, StepStartedAt: day(21), Seq: 4}
	a, _ := campaign.Plan(c, st, factsAt(day(35), scaled, nil))
	b, _ := campaign.Plan(c, st, factsAt(day(35).Add(3*time.Hour), scaled, nil))
	key := campaign.EnrollmentKey(c, scaled.ID, "", "")
	if ka, kb := campaign.MessageKey(key, *a.Email, 3), campaign.MessageKey(key, *b.Email, 3); ka != kb || ka != "cp:onboarding:7:6:nudge:3" {
		t.Errorf("keys %q, %q", ka, kb)
	}
	// The loop's next nudge is another message.
	next, _ := campaign.Plan(c, b.State, factsAt(day(49).Add(3*time.Hour), scaled, nil))
	if k := campaign.MessageKey(key, *next.Email, 3); k == campaign.MessageKey(key, *a.Email, 3) {
		t.Errorf("the second visit of nudge has the first's key %q", k)
	}
}

func TestEnrollmentKey(t *testing.T) {
	for _, tc := range []struct {
		mode playbook.ReentryMode
		want string
	}{
		{playbook.Once, "cp:c:3"},
		{playbook.OncePerTerm, "cp:c:3:term:2027-01-31"},
		{playbook.EveryTime, "cp:c:3:2026-03-01"},
	} {
		c := &campaign.Campaign{Key: "c", Reentry: playbook.Reentry{Mode: tc.mode}}
		if got := campaign.EnrollmentKey(c, 3, "2026-03-01", "2027-01-31"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.mode, got, tc.want)
		}
	}
}

func TestCanEnter(t *testing.T) {
	c := onboarding(t)
	managed := scaled
	managed.Program = "Managed"
	for _, tc := range []struct {
		name   string
		acct   account.Account
		traits map[string]any
		want   bool
	}{
		{"a Scaled Success account", scaled, nil, true},
		{"a Managed account is not in the audience", managed, nil, false},
		{"an account past the targets has nothing to gain", scaled, map[string]any{"last_month_mau_over_seats": 0.9, "usage_score": 0.4}, false},
	} {
		ok, why, err := campaign.CanEnter(c, factsAt(t0, tc.acct, tc.traits))
		if err != nil || ok != tc.want || (!ok && why == "") {
			t.Errorf("%s: %v %q %v", tc.name, ok, why, err)
		}
	}
}

func TestRecipients(t *testing.T) {
	contacts := []account.Contact{
		{ID: 1, Email: "pat@cobalt.example", Roles: []string{"program_contact"}},
		{ID: 2, Email: "ada@cobalt.example", Roles: []string{"instance_admin", "champion"}},
		{ID: 3, Email: "gone@cobalt.example", Roles: []string{"instance_admin"}, Unsubscribed: true},
		{ID: 4, Email: "dev@cobalt.example", Roles: []string{"end_user"}},
		{ID: 5, Email: "ADA@cobalt.example", Roles: []string{"champion"}},
	}
	var got []int64
	for _, c := range campaign.Recipients([]string{"instance_admin", "program_contact", "champion"}, contacts) {
		got = append(got, c.ID)
	}
	// One message per address, none to the unsubscribed or to other roles.
	if !slices.Equal(got, []int64{2, 1}) {
		t.Errorf("recipients %v, want [2 1]", got)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"60d", 60 * 24 * time.Hour, ""},
		{"7 days", 0, "is not a duration"},
		{"7", 0, "is not a duration"},
		{"30m", 0, "is not a duration"},
		{"", 0, "is not a duration"},
		{"0d", 0, "no time at all"},
		{"700d", 0, "longer than 400d"},
	} {
		got, err := campaign.ParseDuration(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %v, %v", tc.in, got, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
	if s := campaign.FormatDuration(36 * time.Hour); s != "1d12h" {
		t.Errorf("FormatDuration = %q", s)
	}
}

func TestValidate(t *testing.T) {
	wait := func(id string, w campaign.Wait) campaign.Step {
		return campaign.Step{ID: id, Kind: campaign.StepWait, Wait: &w}
	}
	for _, tc := range []struct {
		name  string
		steps []campaign.Step
		want  string
	}{
		{"no steps", nil, "steps: a campaign needs at least one step"},
		{"an unknown target with a suggestion", []campaign.Step{withID("a", email("t", "champion")),
			wait("w", campaign.Wait{For: time.Hour, Then: "aa"})},
			`steps[1].wait.then: "aa" is not a step of this campaign (its steps are a, w, or end to finish); did you mean "a"?`},
		{"an unknown role", []campaign.Step{withID("a", email("t", "admin"))},
			`steps[0].email.to[0]: "admin" is not a contact role (they are instance_admin, program_contact, champion, stakeholder, buyer, end_user)`},
		{"a misspelt role", []campaign.Step{withID("a", email("t", "champoin"))}, `did you mean "champion"?`},
		{"an unknown template", []campaign.Step{withID("a", email("nope", "champion"))},
			`steps[0].email.template: template "nope" is not in campaigns/templates/ (no nope.md)`},
		{"a duplicate id", []campaign.Step{withID("a", email("t", "champion")), withID("a", email("t", "champion"))},
			`steps[1].id: step id "a" is used twice (first by steps[0])`},
		{"end is no id", []campaign.Step{withID("end", email("t", "champion"))}, `steps[0].id: "end" finishes the campaign`},
		{"a wait until without timeout", []campaign.Step{wait("w", campaign.Wait{Until: cond(t, "contacts.champion > 0")})},
			"steps[0].wait: a wait until a condition needs a timeout"},
		{"a wait of nothing", []campaign.Step{wait("w", campaign.Wait{})}, "steps[0].wait: a wait needs for: a duration"},
		{"else not last", []campaign.Step{{ID: "b", Kind: campaign.StepBranch, Branch: []campaign.Case{{Goto: "end"}, {When: cond(t, "true"), Goto: "end"}}}},
			"steps[0].branch[0]: a case without when always holds, so it must be the last"},
		{"a bad sender", []campaign.Step{withID("a", func() campaign.Step { s := email("t", "champion"); s.Email.From = "the team"; return s }())},
			`steps[0].email.from: from "the team" is not owner or an email address`},
		{"a loop without a duration wait", []campaign.Step{withID("a", email("t", "champion")),
			wait("w", campaign.Wait{Until: cond(t, "contacts.champion > 0"), Timeout: time.Hour, Then: "a", OnTimeout: "a"})},
			"steps[0]: the steps a → w → a loop without a wait for a duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &campaign.Campaign{Key: "c", Name: "C", Entry: campaign.Entry{Kind: campaign.EntryBroadcast}, Steps: tc.steps}
			var got []string
			for _, p := range c.Validate(func(k string) bool { return k == "t" }) {
				got = append(got, p.Path+": "+p.Message)
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("problems %q\nwant one containing %q", got, tc.want)
			}
		})
	}
	if p := onboarding(t).Validate(nil); len(p) != 0 {
		t.Errorf("a loop through a duration wait is fine, got %v", p)
	}
}

// BenchmarkPlan is one enrollment's plan mid-wait, which a runner's tick
// asks of every enrolled account (issue 6: 100,000 accounts a tick in 2 s).
func BenchmarkPlan(b *testing.B) {
	c := onboarding(b)
	st := campaign.State{Step: "await_usage", EnteredAt: t0, StepStartedAt: day(7), Seq: 2}
	f := factsAt(day(10), scaled, map[string]any{"usage_score": 0.2})
	for b.Loop() {
		if _, err := campaign.Plan(c, st, f); err != nil {
			b.Fatal(err)
		}
	}
}
