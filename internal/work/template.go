package work

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

// keyPattern is the form of template and field keys, as of trait keys.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidKey reports whether k can be a template's or a field's key:
// lowercase letters, digits and _, starting with a letter, at most 64 long.
func ValidKey(k string) bool { return keyPattern.MatchString(k) }

// MaxFieldText caps a text field's value, as a text trait's.
const MaxFieldText = account.MaxTextTrait

// FieldDef is one typed field of a doc template: the health assessment's
// rating (enum green / yellow / red), the handoff doc's seats (number).
type FieldDef struct {
	Key   string `json:"key" yaml:"key"`
	Label string `json:"label" yaml:"label"`
	// Type is one of the trait types (account.TraitTypes): number, bool,
	// text, enum, date.
	Type string `json:"type" yaml:"type"`
	// Values are an enum's values, in order.
	Values []string `json:"values,omitempty" yaml:"values"`
	// Required marks a field the doc is not complete without. Docs are
	// filled in over time, so it is not enforced on save: the doc page
	// lists the required fields still empty (Template.Missing).
	Required    bool   `json:"required" yaml:"required"`
	Description string `json:"description" yaml:"description"`
	// Default, when set, is a text/template rendered with the account's
	// data when a doc is made and coerced to the field's type, so that
	// the health assessment starts with the renewal date:
	// "{{.account.renewal_date}}". A default that renders empty, or to a
	// value the type refuses, leaves the field unset.
	Default string `json:"default,omitempty" yaml:"default"`

	def *template.Template
}

// Coerce converts a raw value (from JSON or a form) to the field's
// canonical value, as a trait of the same type does; nil or "" is nil
// (the field is cleared).
func (f FieldDef) Coerce(v any) (any, error) {
	return account.TraitDef{Key: f.Key, Type: f.Type, Values: f.Values}.Coerce(v)
}

// Template is a doc template of the workspace (doc-templates/<key>.md):
// front matter with the title, a description and the typed fields, then a
// Markdown body. Title and body are text/template texts rendered with the
// account's data (Data): {{.account.name}}, {{.owner.name}}, {{.today}}.
type Template struct {
	Key         string     `json:"key"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Fields      []FieldDef `json:"fields"`
	Body        string     `json:"body"`

	title, body *template.Template
}

// TextError is a problem in a template's title or body text, at a line and
// column of that text (1-based; Col 0 when unknown).
type TextError struct {
	// Part is "title" or "body".
	Part    string
	Line    int
	Col     int
	Message string
}

func (e *TextError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.Part, e.Line, e.Col, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.Part, e.Line, e.Message)
}

// funcs are the functions templates may call besides text/template's own.
var funcs = template.FuncMap{"money": money}

// money formats whole dollars as people write them: {{money .account.arr}}
// is $48,500.
func money(v any) (string, error) {
	var n float64
	switch x := v.(type) {
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case float64:
		n = x
	case string:
		if x == "" {
			return "", nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return "", fmt.Errorf("money: %q is not a number", x)
		}
		n = f
	default:
		return "", fmt.Errorf("money: %v is not a number", v)
	}
	neg := n < 0
	digits := strconv.FormatInt(int64(math.Round(math.Abs(n))), 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-$" + b.String(), nil
	}
	return "$" + b.String(), nil
}

// Compile parses the title and the body, then renders both once on sample
// data in which every merge field is set, so that a syntax error or a
// misspelt merge field ({{.account.nmae}}) fails at workspace load rather
// than when a playbook makes a doc. traitKeys are the workspace's traits.
// Its error is a *TextError.
func (t *Template) Compile(traitKeys []string) error {
	name := t.Key + ".md"
	sample := SampleData(traitKeys)
	var err error
	if t.title, err = parseText(name, "title", t.Title, sample); err != nil {
		return err
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		if f.Default == "" {
			continue
		}
		part := fmt.Sprintf("fields[%d].default", i)
		if f.def, err = parseText(name, part, f.Default, sample); err != nil {
			return err
		}
		var b strings.Builder
		_ = f.def.Execute(&b, sample)
		if _, err := f.Coerce(b.String()); err != nil {
			return &TextError{Part: part, Line: 1, Message: fmt.Sprintf("%s: the default renders %q for the sample account, which is not a %s: %v", f.Key, b.String(), f.Type, err)}
		}
	}
	t.body, err = parseText(name, "body", t.Body, sample)
	return err
}

// Defaults renders the fields' defaults for one account's data: the values
// a new doc starts with. A default that renders empty or to a value its
// type refuses is left out.
func (t *Template) Defaults(data map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range t.Fields {
		if f.def == nil {
			continue
		}
		var b strings.Builder
		if f.def.Execute(&b, data) != nil {
			continue
		}
		if v, err := f.Coerce(b.String()); err == nil && v != nil {
			out[f.Key] = v
		}
	}
	return out
}

func parseText(name, part, text string, sample map[string]any) (*template.Template, error) {
	tt, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, textError(part, text, err, sample)
	}
	if err := tt.Execute(discard{}, sample); err != nil {
		return nil, textError(part, text, err, sample)
	}
	return tt, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var (
	templateErrorPos = regexp.MustCompile(`(?s)^template: [^:]*:(\d+)(?::(\d+))?: (.*)$`)
	executingAt      = regexp.MustCompile(`(?s)^executing "[^"]*" at <([^>]*)>: (.*)$`)
	noEntry          = regexp.MustCompile(`^map has no entry for key "([^"]*)"$`)
)

// textError turns a text/template error into a *TextError with its line,
// in words a workspace author reads: "{{.account.nmae}}: account has no
// field nmae (it has arr, close_date, …)".
func textError(part, text string, err error, sample map[string]any) *TextError {
	m := templateErrorPos.FindStringSubmatch(err.Error())
	if m == nil {
		return &TextError{Part: part, Line: 1, Message: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	col := 0
	msg := m[3]
	if ex := executingAt.FindStringSubmatch(msg); ex != nil {
		at, rest := ex[1], ex[2]
		// text/template counts the column from 0 and at a node inside the
		// action; the action's text on its line says where it starts.
		if lines := strings.Split(text, "\n"); line >= 1 && line <= len(lines) {
			if i := strings.Index(lines[line-1], at); i >= 0 {
				col = utf8.RuneCountInString(lines[line-1][:i]) + 1
			}
		}
		msg = "{{" + at + "}}: " + rest
		if ne := noEntry.FindStringSubmatch(rest); ne != nil {
			msg = "{{" + at + "}}: " + unknownMergeField(at, ne[1], sample)
		}
	}
	return &TextError{Part: part, Line: line, Col: col, Message: msg}
}

// unknownMergeField explains a missing key: what the map it was looked up
// in holds instead.
func unknownMergeField(at, key string, sample map[string]any) string {
	path := strings.Split(strings.TrimPrefix(at, "."), ".")
	var holder any = sample
	var where []string
	for _, p := range path {
		if p == key {
			break
		}
		m, ok := holder.(map[string]any)
		if !ok {
			break
		}
		holder, where = m[p], append(where, p)
	}
	m, ok := holder.(map[string]any)
	if !ok {
		return fmt.Sprintf("%q is not a merge field", key)
	}
	keys := slices.Sorted(maps.Keys(m))
	if len(where) == 0 {
		return fmt.Sprintf("%q is not a merge field (they are %s)", key, dotted(keys))
	}
	return fmt.Sprintf("%s has no field %q (it has %s)", strings.Join(where, "."), key, strings.Join(keys, ", "))
}

func dotted(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "." + k
	}
	return strings.Join(out, ", ")
}

// Field returns the field definition of key.
func (t *Template) Field(key string) (FieldDef, bool) {
	for _, f := range t.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return FieldDef{}, false
}

// FieldKeys lists the template's field keys in order.
func (t *Template) FieldKeys() []string {
	out := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		out[i] = f.Key
	}
	return out
}

// Render renders the title and the body for one account's data (Data).
// The title is one line: line breaks become spaces.
func (t *Template) Render(data map[string]any) (title, body string, err error) {
	if t.title == nil || t.body == nil {
		return "", "", fmt.Errorf("doc template %s is not compiled", t.Key)
	}
	var tb, bb strings.Builder
	if err := t.title.Execute(&tb, data); err != nil {
		return "", "", fmt.Errorf("doc template %s: title: %w", t.Key, err)
	}
	if err := t.body.Execute(&bb, data); err != nil {
		return "", "", fmt.Errorf("doc template %s: body: %w", t.Key, err)
	}
	title = strings.Join(strings.Fields(tb.String()), " ")
	return title, strings.TrimLeft(bb.String(), "\n"), nil
}

// CheckFields checks raw field values against the template: every key must
// be one of its fields and every value fit the field's type. It returns the
// canonical values; a nil value (from null or "") clears the field. The
// error is a 422 naming the field ("fields.rating").
func (t *Template) CheckFields(raw map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		f, ok := t.Field(k)
		if !ok {
			if len(t.Fields) == 0 {
				return nil, derrors.Field(derrors.Unprocessable, "fields."+k, "is not a field of the %s template (it has none)", t.Key)
			}
			return nil, derrors.Field(derrors.Unprocessable, "fields."+k, "is not a field of the %s template (its fields are %s)",
				t.Key, strings.Join(t.FieldKeys(), ", "))
		}
		v, err := f.Coerce(raw[k])
		if err != nil {
			return nil, derrors.Field(derrors.Unprocessable, "fields."+k, "%s: %s expected", err, f.Type)
		}
		out[k] = v
	}
	return out, nil
}

// MergeFields applies checked updates (CheckFields) to a doc's values: a
// nil update removes the field. Neither map is changed.
func MergeFields(values, updates map[string]any) map[string]any {
	out := maps.Clone(values)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range updates {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Missing lists the required fields that values leave unset.
func (t *Template) Missing(values map[string]any) []FieldDef {
	var out []FieldDef
	for _, f := range t.Fields {
		if _, ok := values[f.Key]; f.Required && !ok {
			out = append(out, f)
		}
	}
	return out
}

// Person is a team member as templates see them.
type Person struct {
	Name  string
	Email string
}

// DataInput is what a template is rendered from.
type DataInput struct {
	Account account.Account
	// Owner, AE, CE and IE are the account's people (zero when none).
	Owner, AE, CE, IE Person
	// Traits are the account's current trait values by key.
	Traits map[string]any
	// TraitKeys are every trait the workspace defines: an unset one
	// renders as "".
	TraitKeys []string
	// Today is the day of rendering, in the workspace's time zone.
	Today date.Date
}

// accountData are the account's merge fields: every field of
// account.Account by its API name, except the people's ids (the people
// are .owner, .ae, .ce and .ie) and the timestamps. Dates are YYYY-MM-DD
// and the health score has one decimal, "" when unset; entitlements are
// listed with commas.
func accountData(a account.Account) map[string]any {
	score := ""
	if a.HealthScore != nil {
		score = strconv.FormatFloat(*a.HealthScore, 'f', 1, 64)
	}
	return map[string]any{
		"id":                   a.ID,
		"name":                 a.Name,
		"domain":               a.Domain,
		"external_id":          a.ExternalID,
		"analytics_id":         a.AnalyticsID,
		"estimated_developers": a.EstimatedDevelopers,
		"arr":                  a.ARR,
		"seats":                a.Seats,
		"support_level":        a.SupportLevel,
		"expected_close_date":  a.ExpectedCloseDate.String(),
		"close_date":           a.CloseDate.String(),
		"renewal_date":         a.RenewalDate.String(),
		"entitlements":         strings.Join(a.Entitlements, ", "),
		"deployment":           a.Deployment,
		"segment":              a.Segment,
		"program":              a.Program,
		"stage":                a.Stage,
		"health_score":         score,
		"health_color":         a.HealthColor,
	}
}

// Data is the one shape every template is rendered with:
//
//	.account.<field>  the account's fields by API name (accountData)
//	.owner .ae .ce .ie  the account's people: .name and .email, "" when none
//	.traits.<key>     every trait the workspace defines, as people read it
//	                  ("Yes", "12", "Healthy"); "" when unset
//	.today            the day, YYYY-MM-DD
//
// Every key is always present, so that a template that renders at load
// renders for every account.
func Data(in DataInput) map[string]any {
	person := func(p Person) map[string]any { return map[string]any{"name": p.Name, "email": p.Email} }
	traits := make(map[string]any, len(in.TraitKeys))
	for _, k := range in.TraitKeys {
		traits[k] = ""
		if v, ok := in.Traits[k]; ok && v != nil {
			traits[k] = account.FormatValue(v)
		}
	}
	return map[string]any{
		"account": accountData(in.Account),
		"owner":   person(in.Owner),
		"ae":      person(in.AE),
		"ce":      person(in.CE),
		"ie":      person(in.IE),
		"traits":  traits,
		"today":   in.Today.String(),
	}
}

// SampleData is Data for a made-up account in which every merge field has a
// value, for checking templates at load.
func SampleData(traitKeys []string) map[string]any {
	score := 7.5
	traits := make(map[string]any, len(traitKeys))
	for _, k := range traitKeys {
		traits[k] = "sample"
	}
	return Data(DataInput{
		Account: account.Account{ID: 1, Name: "Sample Corp", Domain: "sample.example", ExternalID: "crm-1",
			AnalyticsID: "grp-1", EstimatedDevelopers: 2000, ARR: 120_000, Seats: 500, SupportLevel: "managed",
			ExpectedCloseDate: date.New(2026, 1, 15), CloseDate: date.New(2026, 1, 31), RenewalDate: date.New(2027, 1, 31),
			Entitlements: []string{"code_search"}, Deployment: "cloud", Segment: "Enterprise", Program: "Managed",
			Stage: "2. Adopting", HealthScore: &score, HealthColor: "green"},
		Owner: Person{"Sam Advisor", "sam@sample.example"}, AE: Person{"Ava Exec", "ava@sample.example"},
		CE: Person{"Cy Engineer", "cy@sample.example"}, IE: Person{"Ida Implementer", "ida@sample.example"},
		Traits: traits, TraitKeys: traitKeys, Today: date.New(2026, 3, 14),
	})
}
