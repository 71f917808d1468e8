package workspace_test

import (
	"time"

	"errors"
	"github.com/tendhq/tend/internal/condition"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/lifecycle"
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
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
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
		// A team with its own traits scores health by them.
		"health.yaml": `name: ours
bands: {green: 7, yellow: 4}
categories:
  - name: Sentiment
    weight: 2
    metrics:
      - trait: nps
        label: NPS
        kind: number
        healthy: {op: ">=", value: 30}
        poor: {op: "<", value: 0}
        step: 1
      - trait: tier
        label: tier
        kind: enum
        healthy: {values: [gold]}
`,
		"lifecycle.yaml": strings.Replace(lifecycleYAML, "fall_back_to_adopting: false", "fall_back_to_adopting: true", 1),
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
	wantHealth := health.Model{Name: "ours", Bands: health.Bands{Green: 7, Yellow: 4}, Categories: []health.Category{
		{Name: "Sentiment", Weight: 2, Metrics: []health.Metric{
			{Trait: "nps", Label: "NPS", Kind: health.KindNumber, Step: 1,
				Healthy: health.Threshold{Op: health.OpGE, Value: 30}, Poor: health.Threshold{Op: health.OpLT, Value: 0}},
			{Trait: "tier", Label: "tier", Kind: health.KindEnum, Healthy: health.Threshold{Values: []string{"gold"}}},
		}},
	}}
	if len(ws.Health) != 1 || ws.Health[0].When != nil || !reflect.DeepEqual(ws.Health[0].Model, wantHealth) {
		t.Errorf("Health = %+v\nwant the one model %+v", ws.Health, wantHealth)
	}
	wantRules := lifecycle.DefaultRules()
	wantRules.FallBackToAdopting = true
	if ws.Lifecycle != wantRules {
		t.Errorf("Lifecycle = %+v, want %+v", ws.Lifecycle, wantRules)
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
			"DIR/fields.yml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml, health.yaml, lifecycle.yaml); did you mean fields.yaml?",
			"DIR/notes.yaml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml, health.yaml, lifecycle.yaml)",
			"DIR/trait.yaml: is not a workspace file (the files are traits.yaml, fields.yaml, settings.yaml, health.yaml, lifecycle.yaml); did you mean traits.yaml?",
		}},
		{"health yaml syntax: an unquoted op", map[string]string{"health.yaml": healthWith("healthy: {op: >=, value: 0.3}")},
			[]string{`DIR/health.yaml:10: YAML syntax: found character that cannot start any token (quote the comparison: op: ">=")`}},
		{"health unknown keys at every level", map[string]string{"health.yaml": `name: mine
colour: red
bands: {green: 6, yellow: 3, red: 1}
categories:
  - name: Usage
    weight: 1
    size: 2
    metrics:
      - trait: usage_score
        label: usage
        kind: number
        healthy: {op: ">=", value: 0.3, unit: ratio}
        poor: {op: "<", value: 0.2}
        lable: usage
`}, []string{
			`DIR/health.yaml:2: unknown key "colour" (want one of name, categories, bands)`,
			`DIR/health.yaml:3: unknown key "red" in bands (want one of green, yellow)`,
			`DIR/health.yaml:7: unknown key "size" in categories[0] (want one of name, weight, metrics)`,
			`DIR/health.yaml:12: unknown key "unit" in categories[0].metrics[0].healthy (want one of op, value, values)`,
			`DIR/health.yaml:14: unknown key "lable" in categories[0].metrics[0] (want one of trait, label, kind, healthy, poor, step, per_seat)`,
		}},
		{"health wrong types", map[string]string{"health.yaml": `name: mine
name: again
bands: {green: 6, yellow: 3}
categories:
  - name: Usage
    weight: heavy
    metrics:
      - trait: usage_score
        label: {text: usage}
        kind: number
        healthy: {op: ">=", value: high}
        poor: [0.2]
        step: small
        per_seat: maybe
  - name: Pulse
    weight: 1
    metrics:
      - trait: ta_pulse
        label: pulse
        kind: enum
        healthy: {values: Healthy}
`}, []string{
			"DIR/health.yaml:2: name is given twice (first at line 1)",
			`DIR/health.yaml:6: categories[0].weight must be a number, got "heavy"`,
			"DIR/health.yaml:9: categories[0].metrics[0].label must be a single value, not a mapping",
			`DIR/health.yaml:11: categories[0].metrics[0].healthy.value must be a number, got "high"`,
			"DIR/health.yaml:12: categories[0].metrics[0].poor must be a mapping of op, value, values",
			`DIR/health.yaml:13: categories[0].metrics[0].step must be a number, got "small"`,
			`DIR/health.yaml:14: categories[0].metrics[0].per_seat must be true or false, got "maybe"`,
			"DIR/health.yaml:21: categories[1].metrics[0].healthy.values must be a list",
		}},
		{"health categories not a list", map[string]string{"health.yaml": "name: mine\nbands: 3\ncategories:\n  name: Usage\n"}, []string{
			"DIR/health.yaml:2: bands must be a mapping of green, yellow",
			"DIR/health.yaml:4: categories must be a list",
		}},
		// The health package's own Validate, mapped back to the field's line.
		{"health bands", map[string]string{"health.yaml": strings.Replace(healthWith(""), "green: 6.67", "green: 2", 1)},
			[]string{"DIR/health.yaml:2: bands need 0 < yellow < green ≤ 10, got yellow 3.33, green 2"}},
		{"health no name", map[string]string{"health.yaml": strings.Replace(healthWith(""), "name: mine\n", "", 1)},
			[]string{"DIR/health.yaml:1: a health model needs a name"}},
		{"health weight", map[string]string{"health.yaml": strings.Replace(healthWith(""), "weight: 75", "weight: 0", 1)},
			[]string{`DIR/health.yaml:5: category "Utilization" needs a weight above 0, got 0`}},
		{"health overlapping thresholds", map[string]string{"health.yaml": healthWith(`healthy: {op: ">=", value: 0.3}
        poor: {op: "<", value: 0.4}`)},
			[]string{"DIR/health.yaml:11: usage_score: healthy (≥ 0.3) and poor (< 0.4) overlap"}},
		{"health same direction", map[string]string{"health.yaml": healthWith(`healthy: {op: ">=", value: 0.3}
        poor: {op: ">", value: 0.2}`)},
			[]string{"DIR/health.yaml:11: usage_score: healthy (≥ 0.3) and poor (> 0.2) point the same way"}},
		{"health missing kind", map[string]string{"health.yaml": strings.Replace(healthWith(""), "        kind: number\n", "", 1)},
			[]string{`DIR/health.yaml:7: usage_score: kind must be number, bool, enum or days_since, got ""`}},
		{"health bad op", map[string]string{"health.yaml": healthWith(`healthy: {op: "=>", value: 0.3}`)},
			[]string{`DIR/health.yaml:10: usage_score: healthy needs an op of >=, >, <= or <, got "=>"`}},
		// Cross-checks against traits.yaml (here the default's).
		{"health metric traits", map[string]string{"health.yaml": `name: mine
bands: {green: 6.67, yellow: 3.33}
categories:
  - name: Everything
    weight: 1
    metrics:
      - trait: usage_scor
        label: usage
        kind: number
        healthy: {op: ">=", value: 0.3}
        poor: {op: "<", value: 0.2}
      - trait: ta_pulse
        label: pulse
        kind: number
        healthy: {op: ">=", value: 1}
        poor: {op: "<", value: 1}
      - trait: last_activity_date
        label: last activity
        kind: number
        healthy: {op: "<=", value: 14}
        poor: {op: ">=", value: 30}
      - trait: region
        label: region
        kind: enum
        healthy: {values: [AMER, Europe]}
        poor: {values: [apac]}
      - trait: active_champion
        label: champion
        kind: enum
        healthy: {values: ["true"]}
      - trait: usage_score
        label: ""
        kind: days_since
        healthy: {op: "<=", value: 14}
        poor: {op: ">=", value: 30}
`}, []string{
			`DIR/health.yaml:7: metric trait "usage_scor" is not a trait in traits.yaml`,
			"DIR/health.yaml:14: ta_pulse: a number metric reads a number trait, but ta_pulse is an enum trait",
			"DIR/health.yaml:19: last_activity_date: a number metric reads a number trait, but last_activity_date is a date trait",
			`DIR/health.yaml:25: region: healthy value "Europe" is not one of the trait's values (AMER, EMEA, APAC)`,
			`DIR/health.yaml:26: region: poor value "apac" is not one of the trait's values (AMER, EMEA, APAC)`,
			"DIR/health.yaml:29: active_champion: an enum metric reads an enum trait, but active_champion is a bool trait",
			"DIR/health.yaml:32: usage_score: a metric needs a label",
			"DIR/health.yaml:33: usage_score: a days_since metric reads a date trait, but usage_score is a number trait",
		}},
		{"health trait of a broken traits.yaml is not reported twice", map[string]string{
			"traits.yaml": "traits:\n  - key: nps\n    type: number\n",
			"health.yaml": strings.Replace(healthWith(""), "usage_score", "nps", 1),
		}, []string{"DIR/traits.yaml:2: nps: a label is required"}},
		{"lifecycle wrong types and keys", map[string]string{"lifecycle.yaml": `strategic_min_developers: many
enterprise_min_developers: 1.5
program:
  segment: Commercial
  arr: 50000
onboarding_days:
renewing_lead_days: [120]
nurturing_mau_over_seats: high
nurturing_usage_score: 0.3
fall_back_to_adopting: perhaps
colour: red
onboarding_days: 60
`}, []string{
			`DIR/lifecycle.yaml:1: strategic_min_developers must be a whole number, got "many"`,
			`DIR/lifecycle.yaml:2: enterprise_min_developers must be a whole number, got "1.5"`,
			"DIR/lifecycle.yaml:4: program.arr_threshold is missing",
			"DIR/lifecycle.yaml:4: program.direction is missing",
			`DIR/lifecycle.yaml:5: unknown key "arr" in program (want one of segment, arr_threshold, direction)`,
			"DIR/lifecycle.yaml:6: onboarding_days needs a value",
			"DIR/lifecycle.yaml:7: renewing_lead_days must be a single value, not a list",
			`DIR/lifecycle.yaml:8: nurturing_mau_over_seats must be a number, got "high"`,
			`DIR/lifecycle.yaml:10: fall_back_to_adopting must be true or false, got "perhaps"`,
			`DIR/lifecycle.yaml:11: unknown key "colour" (want one of strategic_min_developers, enterprise_min_developers, program, onboarding_days, renewing_lead_days, nurturing_mau_over_seats, nurturing_usage_score, fall_back_to_adopting)`,
			"DIR/lifecycle.yaml:12: onboarding_days is given twice (first at line 6)",
		}},
		// The lifecycle package's own Validate, mapped back to the field's line.
		{"lifecycle segments", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "strategic_min_developers: 10000", "strategic_min_developers: 1000", 1)},
			[]string{"DIR/lifecycle.yaml:1: strategic_min_developers (1000) must be greater than enterprise_min_developers (1500)"}},
		{"lifecycle program direction", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "direction: below", "direction: under", 1)},
			[]string{`DIR/lifecycle.yaml:6: program.direction must be "below" or "above", got "under"`}},
		{"lifecycle program segment", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "segment: Commercial", "segment: SMB", 1)},
			[]string{`DIR/lifecycle.yaml:4: program.segment must be one of [Strategic Enterprise Commercial], got "SMB"`}},
		{"lifecycle negative days", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "renewing_lead_days: 120", "renewing_lead_days: -1", 1)},
			[]string{"DIR/lifecycle.yaml:8: renewing_lead_days must not be negative, got -1"}},
		{"lifecycle usage target", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "nurturing_usage_score: 0.3", "nurturing_usage_score: 30", 1)},
			[]string{"DIR/lifecycle.yaml:10: nurturing_usage_score must be greater than 0 and at most 1, got 30"}},
		{"lifecycle settings missing", map[string]string{"lifecycle.yaml": strings.Replace(lifecycleYAML, "onboarding_days: 60\n", "", 1)},
			[]string{"DIR/lifecycle.yaml: onboarding_days is missing"}},
		{"the default health model does not fit the workspace's traits", map[string]string{"traits.yaml": "traits:\n  - key: nps\n    type: number\n    label: NPS\n"},
			[]string{`DIR/health.yaml: is missing, and the default health model does not fit traits.yaml: metric trait "ta_pulse" is not a trait in traits.yaml (and 10 more problems); write a health.yaml for the workspace's traits`}},
		{"lifecycle not a mapping", map[string]string{"lifecycle.yaml": "- onboarding_days: 60\n"},
			[]string{"DIR/lifecycle.yaml:1: must be a mapping of keys to values"}},
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
	if !reflect.DeepEqual(ws.Health, def.Health) || ws.Lifecycle != def.Lifecycle {
		t.Error("the default health model or lifecycle rules written to disk load differently")
	}
}

// The embedded health.yaml and lifecycle.yaml are the handbook's model and
// rules exactly as the health and lifecycle packages define them, so a
// team that starts from the files starts from the handbook.
func TestDefaultHealthAndLifecycle(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ws.Health); n != 2 || ws.Health[0].Name != "onboarding" || ws.Health[1].When != nil {
		t.Fatalf("health.yaml has %d models; want onboarding, then default without a condition", n)
	}
	if want := health.DefaultModel(); !reflect.DeepEqual(ws.Health[1].Model, want) {
		t.Errorf("health.yaml's default model loads as\n%+v\nwant health.DefaultModel()\n%+v", ws.Health[1].Model, want)
	}
	// The onboarding model is the default but for utilization, which reads
	// the trailing 30 days over seats (004: "get to 80% consumption of seats
	// by the end of the first 60 days").
	onb := ws.Health[0].Model
	want := health.DefaultModel()
	want.Name = "onboarding"
	util := &want.Categories[3].Metrics[1]
	util.Trait, util.Label = "seat_utilization", "seat utilization (30 days)"
	if !reflect.DeepEqual(onb, want) {
		t.Errorf("onboarding model = %+v\nwant the default with seat_utilization %+v", onb, want)
	}
	if want := lifecycle.DefaultRules(); !reflect.DeepEqual(ws.Lifecycle, want) {
		t.Errorf("lifecycle.yaml loads as %+v, want lifecycle.DefaultRules() %+v", ws.Lifecycle, want)
	}
}

// healthWith is a valid one-category health.yaml whose usage_score
// thresholds (lines 10–11) are replaced by thresholds when it is not "".
func healthWith(thresholds string) string {
	if thresholds == "" {
		thresholds = `healthy: {op: ">=", value: 0.3}
        poor: {op: "<=", value: 0.2}`
	}
	return `name: mine
bands: {green: 6.67, yellow: 3.33}
categories:
  - name: Utilization
    weight: 75
    metrics:
      - trait: usage_score
        label: usage score
        kind: number
        ` + thresholds + `
        step: 0.01
`
}

// lifecycleYAML is a valid lifecycle.yaml with the handbook's rules.
const lifecycleYAML = `strategic_min_developers: 10000
enterprise_min_developers: 1500
program:
  segment: Commercial
  arr_threshold: 50000
  direction: below
onboarding_days: 60
renewing_lead_days: 120
nurturing_mau_over_seats: 0.8
nurturing_usage_score: 0.3
fall_back_to_adopting: false
`

func accountFieldNames(t *testing.T) []string {
	t.Helper()
	return []string{"id", "name", "domain", "external_id", "analytics_id", "estimated_developers", "arr", "seats", "support_level",
		"owner_id", "ae_id", "ce_id", "ie_id", "expected_close_date", "close_date", "renewal_date", "entitlements", "deployment",
		"segment", "program", "stage", "health_score", "health_color", "created_at", "updated_at"}
}

// modelsWith is a health.yaml of two models, the first taking accounts by
// the condition written at WHEN.
func modelsWith(when string) string {
	model := func(name string) string {
		return `    bands: {green: 6.67, yellow: 3.33}
    categories:
      - name: Utilization
        weight: 75
        metrics:
          - trait: usage_score
            label: usage score
            kind: number
            healthy: {op: ">=", value: 0.3}
            poor: {op: "<=", value: 0.2}
`
	}
	return "models:\n  - name: onboarding\n    when: " + when + "\n" + model("onboarding") + "  - name: default\n" + model("default")
}

func TestHealthModelConditions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		// The column is the file's: "    when: " is 10 characters.
		{"a typo in a plain condition", map[string]string{"health.yaml": modelsWith(`traits.usage_scor > 0.1`)},
			[]string{"DIR/health.yaml:3:18: traits.usage_scor is not a trait in traits.yaml; did you mean traits.usage_score?"}},
		{"a typo in a quoted condition", map[string]string{"health.yaml": modelsWith(`'account.stage == "1. Onboarding" && traits.ta_puls == "Poor"'`)},
			[]string{"DIR/health.yaml:3:55: traits.ta_puls is not a trait in traits.yaml; did you mean traits.ta_pulse?"}},
		{"a typo on a block condition's second line", map[string]string{"health.yaml": modelsWith("|\n      account.stage == \"1. Onboarding\" &&\n        traits.usage_scor > 0.1")},
			[]string{"DIR/health.yaml:5:16: traits.usage_scor is not a trait in traits.yaml; did you mean traits.usage_score?"}},
		{"an enum value that does not exist", map[string]string{"health.yaml": modelsWith(`traits.ta_pulse == "Healty"`)},
			[]string{`DIR/health.yaml:3:30: "Healty" is not a value of traits.ta_pulse (Healthy, Concerning, Poor)`}},
		{"a condition that is not true or false", map[string]string{"health.yaml": modelsWith(`account.seats`)},
			[]string{"DIR/health.yaml:3:11: a condition must be true or false, but this is a number"}},
		{"two models without a condition", map[string]string{"health.yaml": strings.Replace(modelsWith("x"), "    when: x\n", "", 1)},
			[]string{`DIR/health.yaml:2: model "onboarding" has no when: only the last model may apply to every account`}},
		{"a condition on the last model", map[string]string{"health.yaml": strings.Replace(modelsWith(`account.seats > 1`), "  - name: default\n", "  - name: default\n    when: account.seats > 2\n", 1)},
			[]string{`DIR/health.yaml:15: the last model ("default") must have no when: it scores every account no other model takes`}},
		{"two models of one name", map[string]string{"health.yaml": strings.Replace(modelsWith(`account.seats > 1`), "name: default", "name: onboarding", 1)},
			[]string{`DIR/health.yaml:14: model "onboarding" appears twice (first at line 2)`}},
		{"a model's own problems at their lines", map[string]string{"health.yaml": strings.Replace(modelsWith(`account.seats > 1`), "trait: usage_score", "trait: usage", 1)},
			[]string{`DIR/health.yaml:9: metric trait "usage" is not a trait in traits.yaml`}},
		{"an empty list", map[string]string{"health.yaml": "models: []\n"}, []string{"DIR/health.yaml:1: models lists no model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeWorkspace(t, tc.files)
			_, err := workspace.Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), dir, "DIR"), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestHealthModelFor: the first model whose condition holds scores the
// account; the last takes every other.
func TestHealthModelFor(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stage, want string
	}{{"1. Onboarding", "onboarding"}, {"2. Adopting", "default"}, {"0. Prospect", "default"}, {"", "default"}} {
		m, why, err := ws.HealthModelFor(condition.Facts{Account: account.Account{Stage: tc.stage}, Now: time.Now()})
		if err != nil || m.Name != tc.want || !strings.HasPrefix(why, tc.want+": ") {
			t.Errorf("stage %q: model %q (%s), %v; want %s", tc.stage, m.Name, why, err, tc.want)
		}
	}
	if m, ok := ws.HealthModel("onboarding"); !ok || m.Name != "onboarding" {
		t.Errorf("HealthModel(onboarding) = %v, %v", m.Name, ok)
	}
	if _, ok := ws.HealthModel("nope"); ok {
		t.Error("HealthModel(nope) found a model")
	}
}

// TestPlaybookProblems: every mistake in a playbook file is reported at its
// line (and column, in a condition).
func TestPlaybookProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []string
	}{
		{"a condition with a typo", `name: X
trigger: {when: "traits.usage_scor > 1"}
actions:
  - note: {body: hi}
`, []string{"DIR/playbooks/x.yaml:2:25: traits.usage_scor is not a trait in traits.yaml; did you mean traits.usage_score?"}},
		{"a condition that is not true or false", `name: X
trigger: {signal: stage_changed}
condition: account.seats
actions:
  - note: {body: hi}
`, []string{"DIR/playbooks/x.yaml:3:12: a condition must be true or false, but this is a number"}},
		{"two trigger kinds, an unknown signal setting", `name: X
trigger:
  when: account.seats > 1
  date: renewal_date
actions:
  - note: {body: hi}
`, []string{"DIR/playbooks/x.yaml:3: a trigger is exactly one of when, signal, date or cron, got when and date"}},
		{"signals and their filters", `name: X
trigger:
  signal: stage_changd
actions:
  - note: {body: hi}
`, []string{`DIR/playbooks/x.yaml:3: signal "stage_changd" is not one of stage_changed, health_changed, segment_changed, program_changed, trait_changed, field_changed, first_usage_ping, feature_first_used, seats_crossed, doc_field_changed, task_done, survey_answered`}},
		{"a filter the signal does not take", `name: X
trigger: {signal: seats_crossed, fraction: 0.9, trait: ta_pulse}
actions:
  - note: {body: hi}
`, []string{"DIR/playbooks/x.yaml:2: trait is not a setting of a signal trigger (it takes signal, fraction)"}},
		{"a bad cron, a bad date field", `name: X
trigger: {cron: "0 9 * *"}
actions:
  - note: {body: hi}
`, []string{`DIR/playbooks/x.yaml:2: cron "0 9 * *": expected exactly 5 fields, found 4: [0 9 * *]`}},
		{"actions", `name: X
trigger: {date: renewal_dat, offset_days: -120}
reentry: twice
actions:
  - note: {body: "{{.account.nmae}}"}
  - task: {title: Call, assignee: cfo}
  - notify: {title: Hi, channels: [pigeon]}
  - set: {field: stage, value: "4. Renewing"}
  - set: {trait: usage_score, value: 1}
  - set: {trait: ta_pulse, value: Great}
  - run: nope
  - {note: {body: a}, task: {title: b}}
  - enroll: nope
  - unenroll: all
`, []string{
			`DIR/playbooks/x.yaml:2: date "renewal_dat" is not one of expected_close_date, close_date, renewal_date or traits.<a date trait>`,
			`DIR/playbooks/x.yaml:3: reentry "twice" is not one of once, once_per_term, every_time, limited`,
			`DIR/playbooks/x.yaml:5: note.body: {{.account.nmae}} at line 1, column 10: "nmae" is not a name texts can use (see docs/playbooks.md)`,
			`DIR/playbooks/x.yaml:6: "cfo" is not a role (owner, ae, ce, ie, manager) or a team member's email`,
			`DIR/playbooks/x.yaml:7: channel "pigeon" is not one of inbox, email, slack, webhook`,
			`DIR/playbooks/x.yaml:8: stage is assigned by the lifecycle rules (lifecycle.yaml), not by playbooks`,
			`DIR/playbooks/x.yaml:9: usage_score is computed by Tend and cannot be set`,
			`DIR/playbooks/x.yaml:10: value for ta_pulse: "Great" is not one of Healthy, Concerning, Poor`,
			"DIR/playbooks/x.yaml:12: an action is exactly one of task, doc, note, notify, set, assign, run, cancel_tasks, enroll or unenroll, got task and note",
			`DIR/playbooks/x.yaml:13:13: campaign "nope" is not in campaigns/ (it has ` + defaultCampaigns + `)`,
			`DIR/playbooks/x.yaml:1: run: "nope" is not a playbook of the workspace`,
		}},
		{"unknown keys", `name: X
trigger: {signal: task_done}
actoins: []
`, []string{`DIR/playbooks/x.yaml:3: unknown key "actoins" (want one of name, description, enabled, trigger, condition, reentry, limit, actions, exit_actions)`}},
		{"exit actions without a when trigger", `name: X
trigger: {signal: task_done}
actions: [{note: {body: a}}]
exit_actions: [{cancel_tasks: true}]
`, []string{"DIR/playbooks/x.yaml:1: exit_actions: only a `when` trigger has an exit (the account stops matching)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeWorkspace(t, map[string]string{"playbooks/x.yaml": tc.file})
			_, err := workspace.Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), dir, "DIR"), "\n")
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestDefaultPlaybooks: the handbook's playbooks load, each with its
// trigger (DESIGN.md §3).
func TestDefaultPlaybooks(t *testing.T) {
	ws, err := workspace.Default()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range ws.Playbooks {
		got[p.Key] = string(p.Trigger.Kind)
	}
	for key, kind := range map[string]string{"ta_assigned": "signal", "handoff": "date", "production_license": "date",
		"renewal": "date", "seats_90": "signal", "seats_100": "signal", "health_red": "signal", "success_plan": "schedule", "qbr": "schedule"} {
		if got[key] != kind {
			t.Errorf("playbook %s: trigger %q, want %q", key, got[key], kind)
		}
	}
	// A workspace without a playbooks directory gets the default's.
	dir := writeWorkspace(t, map[string]string{"settings.yaml": "timezone: UTC\n"})
	own, err := workspace.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Playbooks) != len(ws.Playbooks) {
		t.Errorf("a workspace without playbooks/ has %d playbooks, want the default's %d", len(own.Playbooks), len(ws.Playbooks))
	}
}

// defaultCampaigns are the default workspace's campaign keys, as a load
// error lists them.
const defaultCampaigns = "admin_onboarding, advanced_batch_changes, advanced_insights, end_user_onboarding, health_enablement, monthly_usage_recap, onboarding_checkin, quarterly_call_offer, release_notes, upgrade_recap, usage_recap_90_day"
