package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/campaign"
	"github.com/tendhq/tend/internal/date"
)

var traitKeys = []string{"usage_score", "last_month_versions_behind"}

func compile(t *testing.T, subject, body string) *campaign.Template {
	t.Helper()
	tpl := &campaign.Template{Key: "t", Subject: subject, Body: body}
	if err := tpl.Compile(traitKeys); err != nil {
		t.Fatal(err)
	}
	return tpl
}

const recapBody = `Hi {{.contact.first_name}},

# Your {{.usage.month}} recap

Here is how **{{.account.name}}** used code search last month:

- Monthly active users: {{.usage.mau}}{{if .usage.mau_change}} ({{.usage.mau_change}}){{end}}
- Usage score: {{.usage.usage_score}}

{{if .usage.top_features}}
Your most used features:
{{end}}

{{range .usage.top_features}}
- {{.name}}: {{.users}} users
{{end}}

Questions? [Reply or take the survey]({{.links.survey_url}}), or read [the docs](https://docs.example.com/?a=1&b=2).

Thanks,
{{.sender.name}}
`

func TestRender(t *testing.T) {
	tpl := compile(t, "{{.account.name}}: your {{.usage.month}}\nrecap", recapBody)
	in := campaign.SampleInput(traitKeys)
	in.Account.Name = `Bobby <script>alert(1)</script> & Co`
	in.Contact.Name = "Ada Lovelace"
	got, err := tpl.Render(campaign.NewData(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := `Bobby <script>alert(1)</script> & Co: your February 2026 recap`; got.Subject != want {
		t.Errorf("subject %q, want %q", got.Subject, want)
	}
	wantText := `Hi Ada,

Your February 2026 recap

Here is how Bobby <script>alert(1)</script> & Co used code search last month:

- Monthly active users: 212 (+24)
- Usage score: 34%

Your most used features:

- Search Performed: 190 users
- AI Chat Message: 140 users
- Code Navigation Used: 97 users

Questions? Reply or take the survey (https://tend.example/s/sample), or read the docs (https://docs.example.com/?a=1&b=2).

Thanks,
Sam Advisor

--
You receive this email as instance admin and program contact for Bobby <script>alert(1)</script> & Co.
Unsubscribe: https://tend.example/u/sample
`
	if got.Text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", got.Text, wantText)
	}
	for _, want := range []string{
		"<p>Hi Ada,</p>",
		"<h2>Your February 2026 recap</h2>",
		// HTML is escaped by default: a merge field cannot inject markup.
		"<p>Here is how <strong>Bobby &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</strong> used code search last month:</p>",
		"<ul><li>Monthly active users: 212 (&#43;24)</li>",
		"<li>Search Performed: 190 users</li>",
		`<a href="https://tend.example/s/sample">Reply or take the survey</a>`,
		`<a href="https://docs.example.com/?a=1&amp;b=2">the docs</a>`,
		"<p>Thanks,<br>\nSam Advisor</p>",
		`<a href="https://tend.example/u/sample" style="color:#6b7280">Unsubscribe</a>`,
	} {
		if !strings.Contains(got.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, got.HTML)
		}
	}
	if strings.Contains(got.HTML, "<script>") || strings.Contains(got.HTML, "<p></p>") {
		t.Errorf("HTML:\n%s", got.HTML)
	}

	// Nothing known yet: the ifs leave no empty lines or paragraphs.
	empty, err := tpl.Render(campaign.NewData(campaign.DataInput{Account: account.Account{Name: "New Co"}, TraitKeys: traitKeys}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(empty.Text, "\n\n\n") || strings.Contains(empty.Text, "most used") || strings.Contains(empty.HTML, "<ul></ul>") {
		t.Errorf("empty data:\n%s\n%s", empty.Text, empty.HTML)
	}
	if strings.Contains(empty.Text, "Unsubscribe") {
		t.Error("an unsubscribe line without a link")
	}
}

// A link's target is escaped as a URL: a merge field cannot make it run
// script.
func TestRenderFiltersUnsafeURLs(t *testing.T) {
	tpl := compile(t, "Hi", "[Open]({{.links.survey_url}})\n")
	in := campaign.SampleInput(nil)
	in.Links.Survey = "javascript:alert(1)"
	got, err := tpl.Render(campaign.NewData(in))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.HTML, "javascript:") {
		t.Errorf("HTML: %s", got.HTML)
	}
}

// A misspelt merge field or a syntax error fails at compile, at its line
// and column — in an {{else}} too, which the sample data with values does
// not reach.
func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, subject, body string
		want                campaign.TextError
	}{
		{"unknown field", "Hi", "Hello,\n\nYour admin is {{.contact.frist_name}}.\n",
			campaign.TextError{Part: "body", Line: 3, Col: 15, Message: `{{.contact.frist_name}}: contact has no field "frist_name" (it has email, first_name, name, roles); did you mean contact.first_name?`}},
		{"unknown group", "Hi", "{{.acount.name}}\n",
			campaign.TextError{Part: "body", Line: 1, Col: 1, Message: `{{.acount.name}}: "acount" is not a merge field (they are .account, .campaign, .contact, .entitled, .health, .links, .owner, .sender, .today, .traits, .usage); did you mean account?`}},
		{"unknown trait", "Hi", "{{.traits.usage_scor}}\n",
			campaign.TextError{Part: "body", Line: 1, Col: 1, Message: `{{.traits.usage_scor}}: traits has no field "usage_scor" (it has last_month_versions_behind, usage_score); did you mean traits.usage_score?`}},
		{"in an else", "Hi", "{{if .usage.mau}}\nMAU {{.usage.mau}}\n{{else}}\nNo {{.usage.maus}} yet\n{{end}}\n",
			campaign.TextError{Part: "body", Line: 4, Col: 4, Message: `{{.usage.maus}}: usage has no field "maus" (it has mau, mau_change, mau_over_seats, mau_over_seats_change, month, seats, top_features, usage_score, usage_score_change); did you mean usage.mau?`}},
		{"in the subject", "Hi {{.contact.nam}}", "Body\n",
			campaign.TextError{Part: "subject", Line: 1, Col: 4, Message: `{{.contact.nam}}: contact has no field "nam" (it has email, first_name, name, roles); did you mean contact.name?`}},
		{"syntax", "Hi", "Line one\n{{if .usage.mau}}\nunclosed\n",
			campaign.TextError{Part: "body", Line: 3, Message: "the template ends inside an action: an {{if}}, {{range}} or {{with}} without its {{end}}"}},
		{"bad action", "Hi", "a\nb {{.usage.mau | nosuch}}\n",
			campaign.TextError{Part: "body", Line: 2, Message: `function "nosuch" not defined`}},
		{"no subject", " ", "Body\n", campaign.TextError{Part: "subject", Line: 1, Message: "an email needs a subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := &campaign.Template{Key: "t", Subject: tc.subject, Body: tc.body}
			err := tpl.Compile(traitKeys)
			var te *campaign.TextError
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *TextError", err)
			}
			if *te != tc.want {
				t.Errorf("got  %#v\nwant %#v", *te, tc.want)
			}
		})
	}
}

func TestNewData(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	score := 4.2
	d := campaign.NewData(campaign.DataInput{
		Account: account.Account{Name: "Cobalt", Seats: 120, ARR: 48_500, Entitlements: []string{"ai_assistant", "code_search"},
			HealthColor: "yellow", HealthScore: &score, RenewalDate: date.MustParse("2027-01-31")},
		Contact: account.Contact{Name: "Pat  Lee", Roles: []string{"champion"}},
		Usage: campaign.Usage{MAU: campaign.Metric{f(88), f(100)}, UsageScore: campaign.Metric{f(0.29), f(0.28)},
			MAUOverSeats: campaign.Metric{f(0.73), f(0.73)}},
	})
	get := func(group, key string) any { return d[group].(map[string]any)[key] }
	for _, tc := range []struct {
		group, key string
		want       any
	}{
		{"contact", "first_name", "Pat"},
		{"contact", "roles", "champion"},
		{"account", "entitlements", "the AI assistant and code search"},
		{"account", "arr", "$48,500"},
		{"account", "renewal_date", "2027-01-31"},
		{"entitled", "code_search", true},
		{"usage", "mau", "88"},
		{"usage", "mau_change", "-12"},
		{"usage", "usage_score", "29%"},
		{"usage", "usage_score_change", "+1 point"},
		{"usage", "mau_over_seats_change", "no change"},
		{"health", "score", "4.2"},
		{"owner", "name", ""},
	} {
		if got := get(tc.group, tc.key); got != tc.want {
			t.Errorf(".%s.%s = %#v, want %#v", tc.group, tc.key, got, tc.want)
		}
	}
	u := campaign.UsageFromTraits(map[string]any{"last_month_mau": 40.0, "usage_score": 0.3})
	if *u.MAU.Value != 40 || *u.UsageScore.Value != 0.3 || u.MAUOverSeats.Value != nil {
		t.Errorf("UsageFromTraits = %+v", u)
	}
}

// A block's Markdown shape holds in every branch of the template: a
// heading, list or paragraph in an {{if}}, its {{else}} or a {{range}} is
// what it is outside one, in the text and in the HTML, whose tags open and
// close in the same branch.
func TestRenderBlocks(t *testing.T) {
	type want struct {
		text string   // before the footer
		html []string // in the HTML
	}
	for _, tc := range []struct {
		name, body         string
		hosted, selfHosted want // by the account's deployment
	}{
		{"heading in an else after a paragraph", // admin_upkeep.md
			"{{if eq .account.deployment \"self_hosted\"}}\n# Upgrades\n\nMonthly.\n{{else}}\n# Upgrades\n\nWe upgrade it.\n{{end}}\n\n# Support\n\nAsk.\n",
			want{"Upgrades\n\nWe upgrade it.\n\nSupport\n\nAsk.\n", []string{"<h2>Upgrades</h2>", "<p>We upgrade it.</p>", "<h2>Support</h2>"}},
			want{"Upgrades\n\nMonthly.\n\nSupport\n\nAsk.\n", []string{"<h2>Upgrades</h2>", "<p>Monthly.</p>", "<h2>Support</h2>"}}},
		{"list in an else after a paragraph",
			"{{if eq .account.deployment \"self_hosted\"}}\nUpgrade monthly.\n{{else}}\n- We upgrade it\n- You read the notes\n{{end}}\n",
			want{"- We upgrade it\n- You read the notes\n", []string{"<ul><li>We upgrade it</li>\n<li>You read the notes</li></ul>"}},
			want{"Upgrade monthly.\n", []string{"<p>Upgrade monthly.</p>"}}},
		{"a paragraph opened in an if that a later block closes",
			"Hi,\n{{if eq .account.deployment \"self_hosted\"}}\nUpgrade monthly.\n\n{{end}}\nThanks\n",
			want{"Hi,\nThanks\n", []string{"<p>Hi,</p>", "<p>Thanks</p>"}},
			want{"Hi,\nUpgrade monthly.\n\nThanks\n", []string{"<p>Hi,</p>", "<p>Upgrade monthly.</p>", "<p>Thanks</p>"}}},
		{"heading on the if's line",
			"{{if eq .account.deployment \"self_hosted\"}}# Upgrades{{end}}\n{{with .usage.month}}## {{.}}{{end}}\nText.\n",
			want{"February 2026\nText.\n", []string{"<h3>February 2026</h3>\n<p>Text.</p>"}},
			want{"Upgrades\nFebruary 2026\nText.\n", []string{"<h2>Upgrades</h2>\n<h3>February 2026</h3>\n<p>Text.</p>"}}},
		{"heading above a paragraph, no blank line",
			"# Title\nBody {{.account.name}}.\n",
			want{"Title\nBody Acme.\n", []string{"<h2>Title</h2>\n<p>Body Acme.</p>"}},
			want{"Title\nBody Acme.\n", []string{"<h2>Title</h2>\n<p>Body Acme.</p>"}}},
		{"a list built by a range on one line",
			"{{range .usage.top_features}}- {{.name}}{{end}}\n",
			want{"- A- B\n", []string{"<ul><li>A</li><li>B</li></ul>"}},
			want{"- A- B\n", []string{"<ul><li>A</li><li>B</li></ul>"}}},
		{"a list built by a range",
			"Top:\n\n{{range .usage.top_features}}\n- {{.name}}\n{{end}}\n",
			want{"Top:\n\n- A\n- B\n", []string{"<ul>\n<li>A</li>\n\n<li>B</li>\n</ul>"}},
			want{"Top:\n\n- A\n- B\n", []string{"<ul>\n<li>A</li>\n\n<li>B</li>\n</ul>"}}},
		{"an if and its else inside a paragraph",
			"Thanks,\n{{if eq .account.deployment \"self_hosted\"}}\nSam\n{{else}}\nThe team\n{{end}}\n",
			want{"Thanks,\nThe team\n", []string{"<p>Thanks,<br>\n\nThe team\n</p>"}},
			want{"Thanks,\nSam\n", []string{"<p>Thanks,<br>\n\nSam<br>\n</p>"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := compile(t, "Hi", tc.body)
			for dep, want := range map[string]want{"cloud": tc.hosted, "self_hosted": tc.selfHosted} {
				in := campaign.SampleInput(traitKeys)
				in.Account.Name, in.Account.Deployment = "Acme", dep
				in.Usage.TopFeatures = []campaign.FeatureUse{{Name: "A", Users: 2}, {Name: "B", Users: 1}}
				got, err := tpl.Render(campaign.NewData(in))
				if err != nil {
					t.Fatal(err)
				}
				if text, _, _ := strings.Cut(got.Text, "\n\n--\n"); text+"\n" != want.text {
					t.Errorf("%s: text:\n%s\nwant:\n%s", dep, text, want.text)
				}
				for _, w := range want.html {
					if !strings.Contains(got.HTML, w) {
						t.Errorf("%s: HTML lacks %q:\n%s", dep, w, got.HTML)
					}
				}
				body, _, _ := strings.Cut(got.HTML, "<p style=")
				for _, tag := range []string{"p", "ul", "ol", "h2", "h3", "h4"} {
					if o, c := strings.Count(body, "<"+tag+">"), strings.Count(body, "</"+tag+">"); o != c {
						t.Errorf("%s: %d <%s> and %d </%s>:\n%s", dep, o, tag, c, tag, got.HTML)
					}
				}
			}
		})
	}
}

// No body makes Compile or Render panic, and a merge field never reaches
// the HTML unescaped.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{recapBody, "", "# {{.account.name}}\n", "- a\n1. b\n", "{{if .usage.mau}}\n- x\n{{else}}\ny\n{{end}}\n",
		"[a]({{.links.survey_url}}) **b** *c* `d`\n", "{{range .usage.top_features}}{{.name}}{{end}}", "<b>{{.account.name}}</b>\n", "{{"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tpl := &campaign.Template{Key: "f", Subject: "s", Body: body}
		if err := tpl.Compile(nil); err != nil {
			var te *campaign.TextError
			if !errors.As(err, &te) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		in := campaign.SampleInput(nil)
		in.Account.Name = "<script>x</script>"
		got, err := tpl.Render(campaign.NewData(in))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got.HTML, "<script>") {
			t.Errorf("unescaped: %s", got.HTML)
		}
	})
}
