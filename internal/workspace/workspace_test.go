package workspace_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/workspace"
)

// The default workspace carries the handbook's health model inputs (004,
// "Customer Health Score"), each with the source the handbook names.
func TestDefaultHasTheHandbookTraits(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		key, typ, source, category string
	}{
		// "Relationship - CE Pulse … Healthy, Concerning, or Poor | Manually set by TA"
		{"ta_pulse", account.TypeEnum, account.SourceManual, "TA Pulse"},
		// "Last Month Versions Behind … Sourcegraph generated (BigQuery)"
		{"last_month_versions_behind", account.TypeNumber, account.SourceWarehouse, "Technical Health"},
		// "Precise Intel Status … This is either active or inactive."
		{"precise_intel_status", account.TypeEnum, account.SourceWarehouse, "Technical Health"},
		{"defect_tickets_90d", account.TypeNumber, account.SourceWarehouse, "Technical Health"},
		{"help_tickets_90d", account.TypeNumber, account.SourceWarehouse, "Technical Health"},
		// "Relationship - Active Champion? … Manually set by TA"
		{"active_champion", account.TypeBool, account.SourceManual, "Relationships & Engagement"},
		{"access_to_buyer", account.TypeBool, account.SourceManual, "Relationships & Engagement"},
		// "Last Activity | Looks at last contact as logged in by Salesforce."
		{"last_activity_date", account.TypeDate, account.SourceCRM, "Relationships & Engagement"},
		// 003: Tend computes usage itself.
		{"usage_score", account.TypeNumber, account.SourceComputed, "Utilization"},
		{"last_month_mau_over_seats", account.TypeNumber, account.SourceComputed, "Utilization"},
	} {
		d, ok := ws.Traits.Get(want.key)
		if !ok {
			t.Errorf("default workspace lacks trait %s", want.key)
			continue
		}
		if d.Type != want.typ || d.Source != want.source || d.Category != want.category {
			t.Errorf("%s = %s/%s/%s, want %s/%s/%s", want.key, d.Type, d.Source, d.Category, want.typ, want.source, want.category)
		}
	}
	if d, _ := ws.Traits.Get("ta_pulse"); !slices.Equal(d.Values, []string{"Healthy", "Concerning", "Poor"}) {
		t.Errorf("ta_pulse values = %v", d.Values)
	}
	if got := ws.FieldLabel("arr"); got != "ARR" {
		t.Errorf("FieldLabel(arr) = %q", got)
	}
	if got := ws.FieldLabel("no_such_field"); got != "no_such_field" {
		t.Errorf("FieldLabel falls back to the name, got %q", got)
	}
	if got := ws.Traits.Categories()[:4]; !slices.Equal(got, []string{"TA Pulse", "Technical Health", "Relationships & Engagement", "Utilization"}) {
		t.Errorf("categories = %v, want the health model's order first", got)
	}
}

// writeWorkspace writes files into a fresh directory.
func writeWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadValid(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{
		"traits.yaml": `traits:
  - key: nps
    type: number
    label: NPS
    source: warehouse
  - key: tier
    type: enum
    values: [gold, silver]
    label: Tier
    category: Commercial
`,
	})
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Dir != dir {
		t.Errorf("Dir = %q", ws.Dir)
	}
	if n := len(ws.Traits.All()); n != 2 {
		t.Errorf("%d traits, want 2", n)
	}
	if d, _ := ws.Traits.Get("tier"); d.Source != account.SourceManual {
		t.Errorf("a trait without a source is manual, got %q", d.Source)
	}
	if d, _ := ws.Traits.Get("nps"); d.Category != "Other" {
		t.Errorf("a trait without a category is in Other, got %q", d.Category)
	}
	if ws.Settings.TimeZone != "UTC" || ws.Settings.Usage.MetricsSource != workspace.MetricsFromEvents || ws.Settings.Usage.RetentionDays != 90 {
		t.Errorf("settings = %+v, want the defaults", ws.Settings)
	}
	// fields.yaml is missing: the default labels apply.
	if got := ws.FieldLabel("renewal_date"); got != "Renewal" {
		t.Errorf("FieldLabel(renewal_date) = %q, want the default's", got)
	}
}

// Every kind of invalid file gives file:line errors, all of them at once.
func TestLoadInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // each a whole line of the error, with DIR for the directory
	}{
		{"yaml syntax", map[string]string{"traits.yaml": "traits:\n  - key: a\n    type: number: text\n"},
			[]string{"DIR/traits.yaml:3: YAML syntax: mapping values are not allowed in this context"}},
		{"tab indentation", map[string]string{"traits.yaml": "traits:\n\t- key: a\n"},
			[]string{"DIR/traits.yaml:2: YAML syntax: found character that cannot start any token"}},
		{"empty file", map[string]string{"traits.yaml": ""},
			[]string{`DIR/traits.yaml: is empty`}},
		{"not a mapping", map[string]string{"traits.yaml": "- key: a\n"},
			[]string{`DIR/traits.yaml:1: must be a mapping of keys to values`}},
		{"wrong top-level key", map[string]string{"traits.yaml": "trait:\n  - key: a\n"},
			[]string{`DIR/traits.yaml:1: unknown top-level key "trait" (want "traits")`, `DIR/traits.yaml:1: has no top-level "traits" key`}},
		{"traits not a list", map[string]string{"traits.yaml": "traits:\n  key: a\n"},
			[]string{"DIR/traits.yaml:2: traits must be a list of trait definitions"}},
		{"definition not a mapping", map[string]string{"traits.yaml": "traits:\n  - nps\n"},
			[]string{"DIR/traits.yaml:2: a trait definition must be a mapping (key, type, label, …)"}},
		{"every fault of a definition", map[string]string{"traits.yaml": `traits:
  - key: NPS Score
    type: percent
    label: ""
    source: spreadsheet
    colour: red
`}, []string{
			`DIR/traits.yaml:2: trait key "NPS Score" must be lowercase letters, digits and _, starting with a letter, at most 64 long`,
			`DIR/traits.yaml:3: NPS Score: type "percent" is not one of number, bool, text, enum, date`,
			`DIR/traits.yaml:4: NPS Score: a label is required`,
			`DIR/traits.yaml:5: NPS Score: source "spreadsheet" is not one of manual, crm, warehouse, computed`,
			`DIR/traits.yaml:6: unknown trait setting "colour" (want one of key, type, label, category, source, description, values, unit)`,
		}},
		{"missing key and type", map[string]string{"traits.yaml": "traits:\n  - label: Something\n"}, []string{
			"DIR/traits.yaml:2: a trait needs a key",
			"DIR/traits.yaml:2: trait: type is required (one of number, bool, text, enum, date)",
		}},
		{"duplicate key", map[string]string{"traits.yaml": `traits:
  - key: nps
    type: number
    label: NPS
  - key: nps
    type: number
    label: NPS again
`}, []string{`DIR/traits.yaml:5: trait "nps" is defined twice (first at line 2)`}},
		{"key is an account field", map[string]string{"traits.yaml": "traits:\n  - key: arr\n    type: number\n    label: ARR\n"},
			[]string{`DIR/traits.yaml:2: trait key "arr" is an account field; choose another key`}},
		{"enum faults", map[string]string{"traits.yaml": `traits:
  - key: tier
    type: enum
    label: Tier
  - key: size
    type: enum
    label: Size
    values: [S, M, S, ""]
  - key: nps
    type: number
    label: NPS
    values: [1, 2]
  - key: owner_note
    type: text
    label: Note
    unit: words
`}, []string{
			"DIR/traits.yaml:2: tier: an enum needs values",
			`DIR/traits.yaml:8: size: value "S" is listed twice`,
			"DIR/traits.yaml:8: size: an enum value is empty",
			"DIR/traits.yaml:12: nps: values are for enum traits, not number",
			"DIR/traits.yaml:16: owner_note: a unit is for number traits, not text",
		}},
		{"wrong value type", map[string]string{"traits.yaml": "traits:\n  - key: tier\n    type: enum\n    label: Tier\n    values: gold\n"},
			[]string{"DIR/traits.yaml:2: line 5: cannot unmarshal !!str `gold` into []string"}},
		{"unknown field label", map[string]string{"fields.yaml": "fields:\n  arr: ARR\n  revenue: Revenue\n  seats: \"\"\n"}, []string{
			`DIR/fields.yaml:3: "revenue" is not an account field (fields are ` + strings.Join(accountFieldNames(t), ", ") + ")",
			"DIR/fields.yaml:4: seats: the label must be a non-empty text",
		}},
		{"fields not a mapping", map[string]string{"fields.yaml": "fields: [arr]\n"},
			[]string{"DIR/fields.yaml:1: fields must map field names to labels (arr: ARR)"}},
		{"settings", map[string]string{"settings.yaml": `timezone: Mars/Olympus
usage:
  metrics_source: spreadsheet
  retention_days: 0
  feature_property: "the feature"
  sample_rate: 1
colour: red
`}, []string{
			`DIR/settings.yaml:1: timezone "Mars/Olympus" is not an IANA time zone name (like Europe/Berlin or UTC)`,
			`DIR/settings.yaml:3: usage.metrics_source "spreadsheet" is not one of events, warehouse`,
			`DIR/settings.yaml:4: usage.retention_days "0" must be a whole number of days from 1 to 3650`,
			`DIR/settings.yaml:5: usage.feature_property must be a property name without spaces`,
			`DIR/settings.yaml:6: unknown setting "sample_rate" (want one of feature_property, metrics_source, retention_days)`,
			`DIR/settings.yaml:7: unknown setting "colour" (want one of timezone, usage)`,
		}},
		{"usage not a mapping", map[string]string{"settings.yaml": "usage: events\n"},
			[]string{"DIR/settings.yaml:1: must be a mapping of settings"}},
		{"misnamed files", map[string]string{"trait.yaml": "traits: []\n", "fields.yml": "fields: {}\n", "notes.yaml": "x: 1\n"}, []string{
			"DIR/fields.yml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml); did you mean fields.yaml?",
			"DIR/notes.yaml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml)",
			"DIR/trait.yaml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml); did you mean traits.yaml?",
		}},
		{"problems in two files", map[string]string{
			"traits.yaml": "traits:\n  - key: a\n    type: number\n",
			"fields.yaml": "fields:\n  arr: ARR\n  arr: Revenue\n",
		}, []string{"DIR/fields.yaml:3: arr is labelled twice", "DIR/traits.yaml:2: a: a label is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeWorkspace(t, tc.files)
			ws, err := workspace.Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded with %d traits, want errors", len(ws.Traits.All()))
			}
			var le *workspace.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LoadError", err, err)
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), dir, "DIR"), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLoadSettings(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"settings.yaml": "timezone: Europe/Berlin\nusage:\n  metrics_source: warehouse\n  feature_property: feature\n  retention_days: 30\n"})
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := ws.Settings
	if d, _ := ws.Traits.Get("usage_score"); d.Source != account.SourceWarehouse {
		t.Errorf("with metrics from the warehouse, usage_score's source is %s", d.Source)
	}
	if s.Location.String() != "Europe/Berlin" || s.Usage.MetricsSource != "warehouse" || s.Usage.FeatureProperty != "feature" || s.Usage.RetentionDays != 30 {
		t.Errorf("settings = %+v", s)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := workspace.Load(dir)
	if err == nil || err.Error() != dir+": cannot read the workspace: no such file or directory" {
		t.Errorf("err = %v", err)
	}
	file := filepath.Join(t.TempDir(), "traits.yaml")
	os.WriteFile(file, []byte("traits: []\n"), 0o644)
	if _, err := workspace.Load(file); err == nil || !strings.HasSuffix(err.Error(), "is not a directory") {
		t.Errorf("err = %v", err)
	}
}

// The embedded default is a valid workspace when written out and loaded
// from disk: teams start from it.
func TestDefaultRoundTrips(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, workspace.DefaultFiles()); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, _ := workspace.Default()
	if !slices.EqualFunc(ws.Traits.All(), def.Traits.All(), func(a, b account.TraitDef) bool { return a.Key == b.Key }) {
		t.Error("the default written to disk loads differently")
	}
}

func accountFieldNames(t *testing.T) []string {
	t.Helper()
	return []string{"id", "name", "domain", "external_id", "analytics_id", "estimated_developers", "arr", "seats", "support_level",
		"owner_id", "ae_id", "ce_id", "ie_id", "expected_close_date", "close_date", "renewal_date", "entitlements", "deployment",
		"segment", "program", "stage", "health_score", "health_color", "created_at", "updated_at"}
}
