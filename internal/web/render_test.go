package web

import (
	"html/template"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
)

func TestTemplatesParseAtStart(t *testing.T) {
	t.Parallel()
	funcs := template.FuncMap{"asset": func(string) string { return "" }}
	layout := `{{define "layout"}}<html>{{template "content" .}}</html>{{end}}`
	for _, tc := range []struct {
		name  string
		page  string
		wants string
	}{
		{"syntax error", `{{define "content"}}{{if}}{{end}}`, "missing value for if"},
		{"unknown function", `{{define "content"}}{{nosuchfunc .}}{{end}}`, `function "nosuchfunc" not defined`},
		{"no content block", `{{define "other"}}x{{end}}`, `defines no "content" block`},
		// Only html/template's escaper sees this one; it runs at start too.
		{"ambiguous URL context", `{{define "content"}}<a href="{{if .}}/x{{else}}"{{end}}">x</a>{{end}}`, "html/template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"templates/layout.html": {Data: []byte(layout)},
				"templates/page.html":   {Data: []byte(tc.page)},
			}
			_, err := parseTemplates(fsys, funcs)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.wants)
			}
			if !strings.Contains(err.Error(), "templates/page.html") {
				t.Errorf("err %v does not name the file", err)
			}
		})
	}
	ok := fstest.MapFS{
		"templates/layout.html": {Data: []byte(layout)},
		"templates/page.html":   {Data: []byte(`{{define "content"}}<p>{{.}}</p>{{end}}`)},
	}
	if _, err := parseTemplates(ok, funcs); err != nil {
		t.Fatal(err)
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{money(48500), "$48,500"},
		{money(0), "$0"},
		{money(999), "$999"},
		{money(1000), "$1,000"},
		{money(1234567), "$1,234,567"},
		{money(-2500), "-$2,500"},
		{number(10000), "10,000"},
		{number(100000), "100,000"},
		{day(date.MustParse("2027-01-15")), "2027-01-15"},
		{day(date.Date{}), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestRenewalDistance(t *testing.T) {
	t.Parallel()
	today := date.MustParse("2026-11-24")
	for _, tc := range []struct {
		renewal string
		rel     string
		soon    bool
	}{
		{"2027-01-15", "in 52 days", true},
		{"2026-11-24", "today", true},
		{"2026-11-25", "tomorrow", true},
		{"2026-11-23", "yesterday", false},
		{"2026-10-25", "30 days ago", false},
		// 004: the renewal process starts 120 days out.
		{"2027-03-24", "in 120 days", true},
		{"2027-03-25", "in 121 days", false},
		{"", "", false},
	} {
		var d date.Date
		if tc.renewal != "" {
			d = date.MustParse(tc.renewal)
		}
		if got := relDays(today, d); got != tc.rel {
			t.Errorf("relDays(%s) = %q, want %q", tc.renewal, got, tc.rel)
		}
		if got := renewingSoon(today, d); got != tc.soon {
			t.Errorf("renewingSoon(%s) = %v, want %v", tc.renewal, got, tc.soon)
		}
	}
}

func TestTraitText(t *testing.T) {
	t.Parallel()
	tickets := account.TraitDef{Type: account.TypeNumber, Unit: "tickets"}
	for _, tc := range []struct {
		def  account.TraitDef
		v    any
		want string
	}{
		{tickets, 3.0, "3 tickets"},
		{tickets, 1.0, "1 ticket"},
		{tickets, nil, "—"},
		{account.TraitDef{Type: account.TypeNumber}, 0.31, "0.31"},
		{account.TraitDef{Type: account.TypeBool}, true, "Yes"},
		{account.TraitDef{Type: account.TypeEnum}, "Healthy", "Healthy"},
	} {
		if got := traitText(tc.def, tc.v); got != tc.want {
			t.Errorf("traitText(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/accounts/3?x=1":    "/accounts/3?x=1",
		"":                   "/",
		"//evil.example":     "/",
		"/\\evil.example":    "/",
		"https://evil.ex/":   "/",
		"javascript:alert()": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
