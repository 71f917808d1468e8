package workspace_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/playbook"
	"github.com/tendhq/tend/internal/workspace"
)

// The default workspace ships the handbook's campaigns (DESIGN.md §3; 001,
// 002), each for Scaled Success accounts.
func TestDefaultCampaigns(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range ws.Campaigns {
		keys = append(keys, c.Key)
	}
	want := []string{"admin_onboarding", "advanced_batch_changes", "advanced_insights", "end_user_onboarding",
		"health_enablement", "monthly_usage_recap", "onboarding_checkin", "quarterly_call_offer", "release_notes",
		"upgrade_recap", "usage_recap_90_day"}
	if !slices.Equal(keys, want) {
		t.Fatalf("campaigns = %v\nwant %v", keys, want)
	}
	entry := func(key string) campaign.Entry { return ws.Campaign(key).Entry }
	for _, tc := range []struct {
		rule string
		ok   bool
	}{
		// 002: "Run for 60 days from contract close."
		{"admin onboarding starts at close", entry("admin_onboarding").Trigger.Date == playbook.DateRule{Field: "close_date", GraceDays: 30}},
		// 002: "Once we collect the first ping from an instance, an
		// end-user onboarding email is sent"
		{"end-user onboarding starts at the first usage ping", entry("end_user_onboarding").Trigger.Signal == playbook.SignalFirstUsage},
		// 002: "A 30-day check-in and survey email"
		{"the check-in is 30 days after close", entry("onboarding_checkin").Trigger.Date.OffsetDays == 30},
		// 002: "90 days into the relationship … their first Usage Recap Email"
		{"the usage recap is 90 days after close", entry("usage_recap_90_day").Trigger.Date.OffsetDays == 90},
		{"the monthly recap is scheduled", entry("monthly_usage_recap").Trigger.Kind == playbook.TriggerSchedule},
		{"advanced enablement starts at a feature's first use", entry("advanced_insights").Trigger.Signal == playbook.SignalFeatureFirst},
		{"release notes are a broadcast", entry("release_notes").Kind == campaign.EntryBroadcast},
	} {
		if !tc.ok {
			t.Errorf("%s: it does not", tc.rule)
		}
	}
	used := map[string]bool{}
	for _, c := range ws.Campaigns {
		// Enrolling from a playbook is a later playbook action; no default
		// campaign waits for one.
		if c.Entry.Kind == campaign.EntryPlaybook {
			t.Errorf("%s is entered by a playbook action, which no default playbook has", c.Key)
		}
		if c.Audience == nil || !strings.Contains(c.Audience.Source(), `account.program == "Scaled Success"`) {
			t.Errorf("%s: audience %v, want Scaled Success accounts", c.Key, c.Audience)
		}
		if c.Description == "" || !c.Enabled {
			t.Errorf("%s: description %q, enabled %v", c.Key, c.Description, c.Enabled)
		}
		for _, k := range c.Templates() {
			used[k] = true
		}
	}
	for _, tpl := range ws.CampaignTemplates {
		if !used[tpl.Key] {
			t.Errorf("template %s is sent by no campaign", tpl.Key)
		}
		if tpl.Description == "" {
			t.Errorf("template %s has no description", tpl.Key)
		}
	}
}

// The recipients by role, as 002 names them.
func TestDefaultCampaignRecipients(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	roles := func(key string) []string {
		var out []string
		for _, s := range ws.Campaign(key).Steps {
			if s.Email != nil {
				out = append(out, s.Email.To...)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for _, tc := range []struct {
		rule, key string
		want      []string
	}{
		{`"sent to anyone tagged as an Instance Admin on the account"`, "admin_onboarding", []string{"instance_admin"}},
		{`"sent to anyone tagged as a Program Contact on the account"`, "end_user_onboarding", []string{"program_contact"}},
		{`"sent to the Program Contact, Instance Admin, and Champion"`, "onboarding_checkin", []string{"champion", "instance_admin", "program_contact"}},
		{`"the customer Program Contact, Champion, and Instance Admin receive their first Usage Recap Email"`, "usage_recap_90_day", []string{"champion", "instance_admin", "program_contact"}},
		{"monthly usage recap (instance admin), DESIGN.md §3", "monthly_usage_recap", []string{"instance_admin"}},
	} {
		if got := roles(tc.key); !slices.Equal(got, tc.want) {
			t.Errorf("002 %s: %s goes to %v, want %v", tc.rule, tc.key, got, tc.want)
		}
	}
}

// Every default campaign plans and every email renders for sample data and
// for real-looking accounts: the three entitlement variants of end-user
// onboarding (002: "different sequences for Code Search only, Cody only,
// or Code Search and Cody"), cloud and self-hosted, with and without usage.
func TestDefaultCampaignsRender(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	var traitKeys []string
	for _, d := range ws.Traits.All() {
		traitKeys = append(traitKeys, d.Key)
	}
	f := func(x float64) *float64 { return &x }
	score := 4.1
	base := account.Account{ID: 9, Name: "Cobalt Logistics", Seats: 180, Program: "Scaled Success", Stage: "1. Onboarding",
		Deployment: "cloud", CloseDate: date.MustParse("2026-01-05"), RenewalDate: date.MustParse("2027-01-05"),
		HealthColor: "yellow", HealthScore: &score}
	contact := account.Contact{ID: 4, Name: "Priya Natarajan", Email: "priya@cobalt.example", Roles: []string{"program_contact"}}
	inputs := map[string]campaign.DataInput{"sample": campaign.SampleInput(traitKeys)}
	for _, ents := range [][]string{{"code_search"}, {"ai_assistant"}, {"ai_assistant", "code_search"}} {
		a := base
		a.Entitlements = ents
		inputs["cloud "+strings.Join(ents, "+")] = campaign.DataInput{Account: a, Contact: contact, TraitKeys: traitKeys,
			Owner: campaign.Person{Name: "Sam Rivera", Email: "sam@tend.example"}, Sender: campaign.Person{Name: "Sam Rivera", Email: "sam@tend.example"},
			Links: campaign.Links{Unsubscribe: "https://tend.example/u/x", Survey: "https://tend.example/s/x"}, Today: date.MustParse("2026-03-02")}
	}
	selfHosted := base
	selfHosted.Deployment, selfHosted.Entitlements = "self_hosted", []string{"code_search"}
	inputs["self-hosted, behind, no sender"] = campaign.DataInput{Account: selfHosted, Contact: contact, TraitKeys: traitKeys,
		Traits: map[string]any{"last_month_versions_behind": 5.0, "instance_version": "5.11"},
		Usage: campaign.Usage{Month: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), MAU: campaign.Metric{Value: f(96), Previous: f(120)},
			UsageScore: campaign.Metric{Value: f(0.18), Previous: f(0.22)}, MAUOverSeats: campaign.Metric{Value: f(0.53), Previous: f(0.67)},
			TopFeatures: []campaign.FeatureUse{{Name: "Search Performed", Users: 90}}}}
	for _, tpl := range ws.CampaignTemplates {
		for name, in := range inputs {
			got, err := tpl.Render(campaign.NewData(in))
			if err != nil {
				t.Errorf("%s for %s: %v", tpl.Key, name, err)
				continue
			}
			for _, part := range []string{got.Subject, got.Text, got.HTML} {
				if strings.Contains(part, "<no value>") || strings.Contains(part, "{{") || strings.Contains(part, "ZgotmplZ") {
					t.Errorf("%s for %s:\n%s", tpl.Key, name, part)
				}
			}
			if !strings.Contains(got.Subject+got.Text, in.Account.Name) || got.Subject == "" {
				t.Errorf("%s for %s: subject %q does not name the account", tpl.Key, name, got.Subject)
			}
			if strings.Contains(got.Text, "\n\n\n") || strings.Contains(got.HTML, "<p></p>") || strings.Contains(got.HTML, "<li></li>") {
				t.Errorf("%s for %s leaves gaps:\n%s\n%s", tpl.Key, name, got.Text, got.HTML)
			}
			// Markdown in an {{if}} is Markdown still: no "# " or "- "
			// left in a paragraph, no heading marks in the text.
			for _, leak := range []string{"<p># ", "<p>- ", "<br>\n- ", "<br>\n# ", "<p>1. "} {
				if strings.Contains(got.HTML, leak) {
					t.Errorf("%s for %s: Markdown left in the HTML (%q):\n%s", tpl.Key, name, leak, got.HTML)
				}
			}
			for _, line := range strings.Split(got.Text, "\n") {
				if strings.HasPrefix(line, "#") {
					t.Errorf("%s for %s: heading mark left in the text: %q", tpl.Key, name, line)
				}
			}
			if name == "self-hosted, behind, no sender" && !strings.Contains(got.Text, "The Technical Advisory team") {
				t.Errorf("%s without a sender is signed by nobody:\n%s", tpl.Key, got.Text)
			}
		}
	}
	// The variants by entitlement.
	onboarding := ws.Campaign("end_user_onboarding")
	for _, tc := range []struct {
		ents []string
		want string
	}{
		{[]string{"code_search"}, "end_user_kit_code_search"},
		{[]string{"ai_assistant"}, "end_user_kit_ai_assistant"},
		{[]string{"ai_assistant", "code_search"}, "end_user_kit_both"},
	} {
		a := base
		a.Entitlements = tc.ents
		d, err := campaign.Plan(onboarding, campaign.State{}, condition.Facts{Account: a, Now: time.Now()})
		if err != nil || d.Kind != campaign.KindSend || d.Email.Template != tc.want || d.Email.ReplyTo != campaign.Owner {
			t.Errorf("%v: %+v %+v, %v; want %s, replies to the owner", tc.ents, d, d.Email, err, tc.want)
		}
	}
	// Admin onboarding runs 60 days from close (002), a tick a day.
	admin := ws.Campaign("admin_onboarding")
	st := campaign.State{}
	var days []int
	start := base.CloseDate.Time(time.UTC).Add(9 * time.Hour)
	for day := 0; day <= 120; day++ {
		sends, last, err := campaign.Advance(admin, st, condition.Facts{Account: base, Now: start.AddDate(0, 0, day)})
		if err != nil {
			t.Fatal(err)
		}
		for range sends {
			days = append(days, day)
		}
		st = last.State
		if last.Kind == campaign.KindDone {
			break
		}
	}
	if !slices.Equal(days, []int{0, 7, 21, 42, 60}) {
		t.Errorf("admin onboarding sends on days %v, want 0, 7, 21, 42, 60", days)
	}
	// Poor or concerning health ends when health is green again.
	health := ws.Campaign("health_enablement")
	green := base
	green.HealthColor = "green"
	if d, _ := campaign.Plan(health, campaign.State{Step: "ten_days", StepStartedAt: start}, condition.Facts{Account: green, Now: start.AddDate(0, 0, 3)}); d.Kind != campaign.KindExit {
		t.Errorf("green again: %+v", d)
	}
	// The upgrade recap replaces the monthly recap for instances behind.
	behind := condition.Facts{Account: selfHosted, Traits: map[string]any{"last_month_versions_behind": 3.0}, Now: start.AddDate(0, 4, 0)}
	current := condition.Facts{Account: selfHosted, Traits: map[string]any{"last_month_versions_behind": 2.0}, Now: start.AddDate(0, 4, 0)}
	for _, tc := range []struct {
		key   string
		facts condition.Facts
		want  bool
	}{
		{"upgrade_recap", behind, true}, {"monthly_usage_recap", behind, false},
		{"upgrade_recap", current, false}, {"monthly_usage_recap", current, true},
	} {
		if ok, why, err := campaign.CanEnter(ws.Campaign(tc.key), tc.facts); ok != tc.want || err != nil {
			t.Errorf("%s, %v versions behind: %v (%s, %v)", tc.key, tc.facts.Traits["last_month_versions_behind"], ok, why, err)
		}
	}
}

// A workspace without campaigns/ gets the default's; one with it has
// exactly its own.
func TestCampaignsDirectory(t *testing.T) {
	ws, err := workspace.Load(writeFiles(t, map[string]string{"settings.yaml": "timezone: UTC\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Campaigns) != 11 || len(ws.CampaignTemplates) != 19 {
		t.Errorf("%d campaigns, %d templates, want the default's", len(ws.Campaigns), len(ws.CampaignTemplates))
	}
	ws, err = workspace.Load(writeFiles(t, map[string]string{
		"campaigns/hello.yaml":           "name: Hello\nentry: broadcast\nsteps:\n  - id: hi\n    email: {template: hi, to: [champion]}\n",
		"campaigns/templates/hi.md":      "---\nsubject: Hi {{.contact.first_name}}\n---\nHello from {{.sender.name}}.\n",
		"campaigns/templates/.hi.md.swp": "editor junk",
		"campaigns/monthly.yaml":         "name: Monthly\nentry:\n  trigger: {cron: \"0 9 2 * *\"}\nsteps:\n  - id: hi\n    email: {template: hi, to: [champion]}\n",
		"campaigns/welcome.yaml":         "name: Welcome\nentry:\n  trigger: {signal: first_usage_ping}\nreply_to: help@example.com\nsteps:\n  - id: hi\n    email: {template: hi, to: [champion], from: \"Team <team@example.com>\"}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Campaigns) != 3 || len(ws.CampaignTemplates) != 1 {
		t.Fatalf("%d campaigns, %d templates, want 3 and 1", len(ws.Campaigns), len(ws.CampaignTemplates))
	}
	// A schedule's every time is a new occasion; a signal's, once.
	if m, w := ws.Campaign("monthly"), ws.Campaign("welcome"); m.Reentry.Mode != playbook.EveryTime || w.Reentry.Mode != playbook.Once ||
		w.Steps[0].Email.From != "Team <team@example.com>" || w.Steps[0].Email.ReplyTo != "help@example.com" {
		t.Errorf("monthly %+v, welcome %+v %+v", m.Reentry, w.Reentry, w.Steps[0].Email)
	}
	c := ws.Campaign("hello")
	if c.Reentry.Mode != playbook.EveryTime || c.Steps[0].Email.From != campaign.Owner || c.Steps[0].Email.ReplyTo != campaign.Owner || !c.Enabled {
		t.Errorf("defaults: %+v %+v", c, c.Steps[0].Email)
	}
	if _, ok := ws.CampaignTemplate("hi"); !ok {
		t.Error("CampaignTemplate(hi) not found")
	}
}

const goodTemplate = "---\nsubject: Hi\n---\nHello.\n"

// Every fault of a campaign or its email is reported at its file, line and
// column, all in one run.
func TestCampaignErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"a template with an unknown merge field", map[string]string{
			"campaigns/c.yaml":         "name: C\nentry: broadcast\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n",
			"campaigns/templates/t.md": "---\nsubject: Hi\n---\nHello,\n\nYour account: {{.account.nmae}}.\n",
		}, []string{`DIR/campaigns/templates/t.md:6:15: {{.account.nmae}}: account has no field "nmae" (it has arr, close_date, deployment, domain, entitlements, name, program, renewal_date, seats, segment, stage, support_level); did you mean account.name?`}},
		{"a subject with an unknown merge field", map[string]string{
			"campaigns/c.yaml":         "name: C\nentry: broadcast\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n",
			"campaigns/templates/t.md": "---\ndescription: x\nsubject: Hi {{.contact.frist_name}}\n---\nHello.\n",
		}, []string{`DIR/campaigns/templates/t.md:3:13: subject: {{.contact.frist_name}}: contact has no field "frist_name" (it has email, first_name, name, roles); did you mean contact.first_name?`}},
		{"a template syntax error", map[string]string{
			"campaigns/templates/t.md": "---\nsubject: Hi\n---\nHello {{if .usage.mau}}\n",
		}, []string{"DIR/campaigns/templates/t.md:4: the template ends inside an action: an {{if}}, {{range}} or {{with}} without its {{end}}"}},
		{"no front matter", map[string]string{"campaigns/templates/t.md": "Hello.\n"},
			[]string{`DIR/campaigns/templates/t.md:1:1: must start with front matter: a line "---", the subject (and a description) in YAML, and "---"`}},
		{"unknown steps, roles, templates and durations", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml": `name: C
entry: broadcast
steps:
  - id: a
    email:
      template: t
      to: [champion, admin]
  - id: pause
    wait: {for: 7 days, then: b}
  - id: w
    wait: {until: contacts.champion > 0, timeout: 14d, on_timeout: aa}
  - id: c
    email: {template: nope, to: [champion]}
`,
		}, []string{
			`DIR/campaigns/c.yaml:7:22: "admin" is not a contact role (they are instance_admin, program_contact, champion, stakeholder, buyer, end_user)`,
			`DIR/campaigns/c.yaml:9:17: wait for: "7 days" is not a duration: write weeks, days and hours as 2w, 7d, 36h or 1d12h`,
			`DIR/campaigns/c.yaml:9:31: "b" is not a step of this campaign (its steps are a, pause, w, c, or end to finish); did you mean "a"?`,
			`DIR/campaigns/c.yaml:11:68: "aa" is not a step of this campaign (its steps are a, pause, w, c, or end to finish); did you mean "a"?`,
			`DIR/campaigns/c.yaml:13:23: template "nope" is not in campaigns/templates/ (no nope.md)`,
		}},
		{"conditions that do not compile", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml": `name: C
audience: account.progam == "Scaled Success"
entry:
  trigger:
    when: traits.usage_score >= "high"
exit:
  - name: done
    when: account.stage == 3
steps:
  - id: a
    email:
      to: [champion]
      variants:
        - when: contacts.champoin > 0
          template: t
`,
		}, []string{
			`DIR/campaigns/c.yaml:2:19: account.progam is not an account field; did you mean account.program?`,
			`DIR/campaigns/c.yaml:5:30: invalid operation: >= (mismatched types float64 and string)`,
			`DIR/campaigns/c.yaml:8:25: invalid operation: == (mismatched types string and int)`,
			`DIR/campaigns/c.yaml:14:26: contacts.champoin is not a contact role; did you mean contacts.champion?`,
		}},
		{"a bad entry and sender", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml":         "name: C\nentry: sometimes\nfrom: the team\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n",
		}, []string{
			`DIR/campaigns/c.yaml:2:8: entry is playbook (a playbook's action enrolls), broadcast (the team sends it) or trigger: {signal, date, when or cron}`,
			`DIR/campaigns/c.yaml:3:7: from "the team" is not owner (the account's owner TA) or an email address such as "Scaled Success <success@example.com>"`,
		}},
		{"a bad trigger", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml":         "name: C\nentry:\n  trigger: {signal: first_ping}\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n",
		}, []string{`DIR/campaigns/c.yaml:3: signal "first_ping" is not one of ` + strings.Join(playbook.Signals, ", ")}},
		{"unknown keys", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml":         "name: C\nentry: broadcast\nsteps:\n  - id: a\n    mail: {template: t, to: [champion]}\n",
		}, []string{`DIR/campaigns/c.yaml:5: unknown key "mail" in steps[0] (want one of id, email, wait, branch)`}},
		{"a loop without a wait", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml":         "name: C\nentry: broadcast\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n  - id: again\n    branch:\n      - goto: a\n",
		}, []string{`DIR/campaigns/c.yaml:4:5: the steps a → again → a loop without a wait for a duration, so an account would go round at once for ever`}},
		{"an exit without a condition, a cron campaign's re-entry", map[string]string{
			"campaigns/templates/t.md": goodTemplate,
			"campaigns/c.yaml":         "name: C\nentry:\n  trigger: {cron: \"0 9 2 * *\"}\nexit:\n  - name: done\nsteps:\n  - id: a\n    email: {template: t, to: [champion]}\n",
		}, []string{`DIR/campaigns/c.yaml:5:5: an exit needs a condition: when`}},
		{"stray files", map[string]string{
			"campaigns/notes.txt":       "x",
			"campaigns/templates/t.txt": "x",
		}, []string{
			`DIR/campaigns/notes.txt: is not a campaign: campaigns are campaigns/<key>.yaml files`,
			`DIR/campaigns/templates/t.txt: is not a campaign email: they are campaigns/templates/<key>.md`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := workspace.Load(dir)
			var le *workspace.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *LoadError", err)
			}
			var got []string
			for _, p := range le.Problems {
				got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// A workspace with its own traits and no campaigns/ keeps the default
// campaigns that fit it; the ones that read a trait it lacks are left out
// with a note, not an error in files the team did not write.
func TestDefaultCampaignsThatDoNotFit(t *testing.T) {
	ws, err := workspace.Load(writeWorkspace(t, map[string]string{
		"traits.yaml": "traits:\n  - key: nps\n    type: number\n    label: NPS\n",
		"health.yaml": "name: ours\nbands: {green: 7, yellow: 4}\ncategories:\n  - name: Sentiment\n    weight: 1\n    metrics:\n      - {trait: nps, label: NPS, kind: number, healthy: {op: \">=\", value: 30}, poor: {op: \"<\", value: 0}}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Campaign("upgrade_recap") != nil || ws.Campaign("monthly_usage_recap") != nil || ws.Campaign("admin_onboarding") == nil {
		t.Errorf("campaigns: %d", len(ws.Campaigns))
	}
	if _, ok := ws.CampaignTemplate("upgrade_recap"); ok {
		t.Error("the upgrade recap's template is kept")
	}
	if len(ws.Notes) != 2 || !strings.Contains(ws.Notes[0], "the default campaign monthly_usage_recap is left out: it does not fit this workspace (campaigns/monthly_usage_recap.yaml:10:3: traits.last_month_versions_behind is not a trait in traits.yaml)") ||
		!strings.Contains(ws.Notes[1], "upgrade_recap is left out") {
		t.Errorf("notes:\n%s", strings.Join(ws.Notes, "\n"))
	}
}
