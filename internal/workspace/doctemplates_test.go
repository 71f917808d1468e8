package workspace_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/work"
	"github.com/tendhq/tend/internal/workspace"
)

// The default workspace ships the handbook's docs: the Handoff Doc (004),
// the Renewal Health Assessment with its rating (004), the Lighthouse save
// plan, the success plan, the QBR agenda (004) and the OOO coverage plan
// (001).
func TestDefaultDocTemplates(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tpl := range ws.DocTemplates {
		keys = append(keys, tpl.Key)
	}
	if want := []string{"handoff", "health_assessment", "ooo_coverage", "qbr", "save_plan", "success_plan"}; !slices.Equal(keys, want) {
		t.Fatalf("doc templates = %v, want %v", keys, want)
	}
	ha, _ := ws.DocTemplate("health_assessment")
	rating, ok := ha.Field("rating")
	if !ok || rating.Type != account.TypeEnum || !slices.Equal(rating.Values, []string{"green", "yellow", "red"}) || !rating.Required {
		t.Errorf("health assessment rating = %+v, want a required enum green, yellow, red", rating)
	}
	if f, ok := ha.Field("renewal_date"); !ok || f.Type != account.TypeDate {
		t.Errorf("health assessment renewal_date = %+v", f)
	}
	if _, ok := ws.DocTemplate("nope"); ok {
		t.Error("DocTemplate(nope) found one")
	}

	// Every template renders for a real account, with the account's
	// values where it names them.
	traitKeys := make([]string, 0)
	for _, d := range ws.Traits.All() {
		traitKeys = append(traitKeys, d.Key)
	}
	data := work.Data(work.DataInput{
		Account: account.Account{ID: 3, Name: "Hooli", ARR: 250_000, Seats: 800, RenewalDate: date.MustParse("2026-07-01"),
			Deployment: "self_hosted", Stage: "4. Renewing"},
		Owner: work.Person{Name: "Tara Advisor"}, TraitKeys: traitKeys, Today: date.MustParse("2026-03-14"),
	})
	for _, tpl := range ws.DocTemplates {
		title, body, err := tpl.Render(data)
		if err != nil {
			t.Errorf("%s: %v", tpl.Key, err)
			continue
		}
		if !strings.Contains(title, "Hooli") || !strings.HasPrefix(body, "# ") || strings.Contains(body, "<no value>") {
			t.Errorf("%s: title %q, body starts %q", tpl.Key, title, body[:min(len(body), 40)])
		}
		if tpl.Description == "" {
			t.Errorf("%s has no description", tpl.Key)
		}
	}
	handoff, _ := ws.DocTemplate("handoff")
	if _, body, _ := handoff.Render(data); !strings.Contains(body, "**Technical Advisor:** Tara Advisor") ||
		!strings.Contains(body, "**ARR:** $250,000") || !strings.Contains(body, "**Account Executive:** not assigned yet") {
		t.Errorf("handoff body:\n%s", body)
	}
	if got := handoff.Defaults(data); got["seats"] != 800.0 || got["deployment"] != "self_hosted" {
		t.Errorf("handoff defaults = %v", got)
	}
	if got := ha.Defaults(data); got["renewal_date"] != "2026-07-01" {
		t.Errorf("health assessment defaults = %v", got)
	}
}

// writeFiles writes files, in subdirectories as their names say, into a
// fresh directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	// These workspaces replace the default doc templates, which the
	// default playbooks name (lighthouse_checkin reads
	// docs.health_assessment): they get no playbooks of their own.
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A workspace's doc-templates/ replaces the default's whole; without one,
// the default's apply.
func TestDocTemplatesDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{"doc-templates/kickoff.md": "---\ntitle: Kick-off {{.account.name}}\n---\nAgenda\n"})
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.DocTemplates) != 1 || ws.DocTemplates[0].Key != "kickoff" || len(ws.DocTemplates[0].Fields) != 0 {
		t.Errorf("templates = %+v, want kickoff alone", ws.DocTemplates)
	}
	title, body, err := ws.DocTemplates[0].Render(work.Data(work.DataInput{Account: account.Account{Name: "Hooli"}}))
	if err != nil || title != "Kick-off Hooli" || body != "Agenda\n" {
		t.Errorf("Render = %q, %q, %v", title, body, err)
	}
	ws, err = workspace.Load(writeFiles(t, map[string]string{"settings.yaml": "timezone: UTC\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.DocTemplates) != 6 {
		t.Errorf("a workspace without doc-templates/ has %d templates, want the default's 6", len(ws.DocTemplates))
	}
}

func TestDocTemplateProblems(t *testing.T) {
	const ok = "---\ntitle: T\n---\nbody\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no front matter", map[string]string{"doc-templates/a.md": "# Just Markdown\n"},
			[]string{`DIR/doc-templates/a.md:1: must start with front matter: a line "---", the title, description and fields in YAML, and "---"`}},
		{"unclosed front matter", map[string]string{"doc-templates/a.md": "---\ntitle: T\n# body\n"},
			[]string{`DIR/doc-templates/a.md:1: the front matter has no closing "---" line`}},
		{"empty front matter", map[string]string{"doc-templates/a.md": "---\n---\nbody\n"},
			[]string{`DIR/doc-templates/a.md:1: the front matter is empty; a doc template needs at least a title`}},
		{"YAML syntax", map[string]string{"doc-templates/a.md": "---\ntitle: T\nfields:\n  - key: a\n    type: text: x\n---\n"},
			[]string{`DIR/doc-templates/a.md:5: YAML syntax: mapping values are not allowed in this context`}},
		{"unknown front-matter key, no title", map[string]string{"doc-templates/a.md": "---\ndescription: D\ncolour: red\n---\nbody\n"}, []string{
			`DIR/doc-templates/a.md:2: a doc template needs a title`,
			`DIR/doc-templates/a.md:3: unknown key "colour" (want one of title, description, fields)`,
		}},
		{"no title", map[string]string{"doc-templates/a.md": "---\ndescription: D\n---\nbody\n"},
			[]string{`DIR/doc-templates/a.md:2: a doc template needs a title`}},
		{"field faults", map[string]string{"doc-templates/a.md": `---
title: T
fields:
  - key: rating
    label: Rating
    type: colour
  - key: rating
    label: Again
    type: text
  - key: Seats
    type: number
    values: [1, 2]
  - label: Nothing
  - key: size
    label: Size
    type: enum
    values: [S, S]
  - key: tier
    label: Tier
    type: enum
  - key: owner
    label: Owner
    type: text
    colour: red
---
body
`}, []string{
			`DIR/doc-templates/a.md:6: rating: type "colour" is not one of number, bool, text, enum, date`,
			`DIR/doc-templates/a.md:7: field "rating" is defined twice (first at line 4)`,
			`DIR/doc-templates/a.md:10: field key "Seats" must be lowercase letters, digits and _, starting with a letter, at most 64 long`,
			`DIR/doc-templates/a.md:10: Seats: a label is required`,
			`DIR/doc-templates/a.md:12: Seats: values are for enum fields, not number`,
			`DIR/doc-templates/a.md:13: a field needs a key`,
			`DIR/doc-templates/a.md:13: field: type is required (one of number, bool, text, enum, date)`,
			`DIR/doc-templates/a.md:17: size: value "S" is listed twice`,
			`DIR/doc-templates/a.md:18: tier: an enum needs values`,
			`DIR/doc-templates/a.md:24: unknown key "colour" in fields[6] (want one of key, label, type, values, required, description, default)`,
		}},
		{"body syntax error", map[string]string{"doc-templates/a.md": "---\ntitle: T\n---\n# Heading\n\n{{if .account.name}}\nno end\n"},
			[]string{`DIR/doc-templates/a.md:7: the template ends inside an action: an {{if}}, {{range}} or {{with}} without its {{end}}`}},
		{"misspelt merge field", map[string]string{"doc-templates/a.md": "---\ntitle: T\n---\nline\n  Hi {{.owner.nmae}}\n"},
			[]string{`DIR/doc-templates/a.md:5:8: {{.owner.nmae}}: owner has no field "nmae" (it has email, name)`}},
		{"unknown trait", map[string]string{"doc-templates/a.md": "---\ntitle: T\n---\n{{.traits.ta_puls}}\n"},
			[]string{`DIR/doc-templates/a.md:4:3: {{.traits.ta_puls}}: traits has no field "ta_puls" (it has access_to_buyer, active_champion, active_users_30d, defect_tickets_90d, first_usage_ping, help_tickets_90d, instance_version, last_activity_date, last_month_mau, last_month_mau_over_seats, last_month_versions_behind, precise_intel_status, region, renewal_outcome, seat_utilization, success_plan_url, ta_pulse, usage_score)`}},
		{"title error", map[string]string{"doc-templates/a.md": "---\ndescription: D\ntitle: \"{{.account}\"\n---\n"},
			[]string{`DIR/doc-templates/a.md:3: title: bad character U+007D '}'`}},
		{"bad default", map[string]string{"doc-templates/a.md": "---\ntitle: T\nfields:\n  - key: seats\n    label: Seats\n    type: number\n    default: \"{{.account.name}}\"\n---\n"},
			[]string{`DIR/doc-templates/a.md:7: seats: the default renders "Sample Corp" for the sample account, which is not a number: "Sample Corp" is not a number`}},
		{"file names", map[string]string{"doc-templates/Kick Off.md": ok, "doc-templates/notes.txt": "x", "doc-templates/sub/a.md": ok,
			"doc-templates/.a.md.swp": "x"}, []string{
			`DIR/doc-templates/Kick Off.md: template key "Kick Off" (the file name) must be lowercase letters, digits and _, starting with a letter, at most 64 long`,
			`DIR/doc-templates/notes.txt: is not a doc template: they are doc-templates/<key>.md`,
			`DIR/doc-templates/sub: is a directory; doc templates are files, doc-templates/<key>.md`,
		}},
		{"misnamed directory", map[string]string{"doc-template/a.md": ok},
			[]string{`DIR/doc-template: is not a workspace directory; did you mean doc-templates?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := workspace.Load(dir)
			var le *workspace.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load = %v, want a LoadError", err)
			}
			var got []string
			for _, p := range le.Problems {
				got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
