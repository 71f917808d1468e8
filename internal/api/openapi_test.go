package api

import (
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/work"
)

// openAPIFile is the part of the OpenAPI document the tests read.
type openAPIFile struct {
	OpenAPI string `json:"openapi"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
		Schemas    map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openAPIOperation struct {
	Parameters []openAPIParam             `json:"parameters"`
	Security   *[]map[string][]string     `json:"security"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) openAPIFile {
	t.Helper()
	var doc openAPIFile
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes checks the description against the route table
// both ways: every route is documented with its method, and every
// documented operation is a route. It also checks that each operation
// declares its path parameters and the auth answers its access level
// allows.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != Prefix {
		t.Fatalf("servers = %+v, want one at %s", doc.Servers, Prefix)
	}

	documented := map[string]openAPIOperation{}
	pathParams := map[string][]openAPIParam{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			switch {
			case key == "parameters":
				var ps []openAPIParam
				if err := json.Unmarshal(raw, &ps); err != nil {
					t.Fatalf("%s parameters: %v", path, err)
				}
				pathParams[path] = ps
			case slices.Contains(httpMethods, key):
				var op openAPIOperation
				if err := json.Unmarshal(raw, &op); err != nil {
					t.Fatalf("%s %s: %v", key, path, err)
				}
				documented[strings.ToUpper(key)+" "+Prefix+path] = op
			case key == "summary" || key == "description":
			default:
				t.Errorf("%s: unexpected path item member %q", path, key)
			}
		}
	}

	routes := (&API{}).routes()
	registered := map[string]route{}
	for _, rt := range routes {
		registered[rt.method+" "+rt.path] = rt
	}
	for _, k := range slices.Sorted(maps.Keys(registered)) {
		if _, ok := documented[k]; !ok {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := registered[k]; !ok {
			t.Errorf("openapi.json documents %s, which is not a route", k)
		}
	}

	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for k, op := range documented {
		rt, ok := registered[k]
		if !ok {
			continue
		}
		path := strings.TrimPrefix(rt.path, Prefix)
		declared := map[string]bool{}
		for _, p := range append(slices.Clone(pathParams[path]), op.Parameters...) {
			if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
				p, ok = doc.Components.Parameters[name]
				if !ok {
					t.Errorf("%s: parameter %s is not defined", k, name)
				}
			}
			if p.In == "path" {
				declared[p.Name] = true
			}
		}
		for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", k, m[1])
			}
		}
		isPublic := op.Security != nil && len(*op.Security) == 0
		if isPublic != (rt.access == public) {
			t.Errorf("%s: documented as public=%v, but the route's access is %d", k, isPublic, rt.access)
		}
		want := map[access][]string{reader: {"401"}, writer: {"401", "403"}, lead: {"401", "403"}, admin: {"401", "403"}}[rt.access]
		for _, status := range want {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s: no %s response documented", k, status)
			}
		}
	}
}

// TestOpenAPISchemas checks that the schemas exist, that their properties
// are exactly the JSON fields the Go types write, and that every $ref
// resolves.
func TestOpenAPISchemas(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	types := map[string]reflect.Type{
		"Account":     reflect.TypeFor[accountJSON](),
		"Contact":     reflect.TypeFor[account.Contact](),
		"User":        reflect.TypeFor[team.User](),
		"Token":       reflect.TypeFor[team.Token](),
		"NewToken":    reflect.TypeFor[newTokenJSON](),
		"Me":          reflect.TypeFor[meJSON](),
		"TraitDef":    reflect.TypeFor[account.TraitDef](),
		"TraitValue":  reflect.TypeFor[account.TraitValue](),
		"TraitChange": reflect.TypeFor[account.TraitChange](),
		"Activity":    reflect.TypeFor[account.Activity](),
		"AccountPage": reflect.TypeFor[accountPage](),
		"BatchResult": reflect.TypeFor[batchResult](),
		"BatchRow":    reflect.TypeFor[batchRow](),
		"RowProblem":  reflect.TypeFor[rowProblem](),
		"Error":       reflect.TypeFor[errorBody](),

		"WriteKey":       reflect.TypeFor[store.WriteKey](),
		"NewWriteKey":    reflect.TypeFor[newWriteKeyJSON](),
		"AccountUsage":   reflect.TypeFor[usageJSON](),
		"UsageMetrics":   reflect.TypeFor[usage.Metrics](),
		"UsageSeries":    reflect.TypeFor[usageSeries](),
		"DayCount":       reflect.TypeFor[usage.DayCount](),
		"MonthCount":     reflect.TypeFor[usage.MonthCount](),
		"AdoptedFeature": reflect.TypeFor[usage.Feature](),
		"Event":          reflect.TypeFor[eventJSON](),
		"Rejection":      reflect.TypeFor[rejectionJSON](),
		"MinuteCount":    reflect.TypeFor[minuteJSON](),
		"MinuteCounts":   reflect.TypeFor[countsJSON](),

		"Task":             reflect.TypeFor[work.Task](),
		"TaskPage":         reflect.TypeFor[work.TaskPage](),
		"Comment":          reflect.TypeFor[work.Comment](),
		"Doc":              reflect.TypeFor[work.Doc](),
		"DocInput":         reflect.TypeFor[docInput](),
		"FieldDef":         reflect.TypeFor[work.FieldDef](),
		"DocTemplate":      reflect.TypeFor[work.Template](),
		"Notification":     reflect.TypeFor[work.Notification](),
		"NotificationPage": reflect.TypeFor[work.NotificationPage](),

		"CampaignList":     reflect.TypeFor[list[campaignJSON]](),
		"Campaign":         reflect.TypeFor[campaignJSON](),
		"CampaignStep":     reflect.TypeFor[campaignStepJSON](),
		"CampaignStats":    reflect.TypeFor[campaignStatsJSON](),
		"Enrollment":       reflect.TypeFor[store.Enrollment](),
		"EnrollmentPage":   reflect.TypeFor[store.EnrollmentPage](),
		"CampaignPreview":  reflect.TypeFor[previewJSON](),
		"Email":            reflect.TypeFor[store.Email](),
		"Address":          reflect.TypeFor[store.Address](),
		"OutboxMessage":    reflect.TypeFor[store.OutboxMessage](),
		"OutboxPage":       reflect.TypeFor[outboxPage](),
		"Suppression":      reflect.TypeFor[store.Suppression](),
		"SuppressionInput": reflect.TypeFor[suppressionInput](),
		"SuppressionPage":  reflect.TypeFor[store.SuppressionPage](),
		"SurveyAnswer":     reflect.TypeFor[store.SurveyAnswer](),
		"SurveyAnswerList": reflect.TypeFor[list[store.SurveyAnswer]](),
	}
	for name, typ := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		want := slices.Sorted(maps.Keys(jsonFields(typ)))
		if name == "Error" {
			want = []string{"error"} // rows belongs to BatchError only
		}
		got := slices.Sorted(maps.Keys(s.Properties))
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; the Go type writes %v", name, got, want)
		}
	}

	// Input schemas list what a client may send: the output fields less the
	// read-only ones (plus traits and the write-only password).
	inputs := []struct {
		schema   string
		typ      reflect.Type
		readOnly map[string]string
		extra    []string
	}{
		{"AccountInput", reflect.TypeFor[account.Account](), accountReadOnly, []string{"traits"}},
		{"ContactPatch", reflect.TypeFor[account.Contact](), contactReadOnly, nil},
		{"UserInput", reflect.TypeFor[team.User](), userReadOnly, []string{"password"}},
		{"TaskInput", reflect.TypeFor[work.Task](), taskReadOnly, nil},
		{"TaskPatch", reflect.TypeFor[work.Task](), taskPatchReadOnly, nil},
		{"DocPatch", reflect.TypeFor[work.Doc](), docReadOnly, nil},
	}
	for _, in := range inputs {
		var want []string
		for f := range jsonFields(in.typ) {
			if _, ro := in.readOnly[f]; !ro {
				want = append(want, f)
			}
		}
		want = append(want, in.extra...)
		slices.Sort(want)
		got := slices.Sorted(maps.Keys(doc.Components.Schemas[in.schema].Properties))
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, want %v", in.schema, got, want)
		}
	}

	var all any
	if err := json.Unmarshal(openAPIDoc, &all); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
				comps := all.(map[string]any)["components"].(map[string]any)
				section, _ := comps[kind].(map[string]any)
				if _, ok := section[name]; !ok {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(all)
}

// TestOpenAPIServed checks the description is served without a token.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	res := fx.do(t, "", "GET", Prefix+"/openapi.json", "")
	if res.status != 200 || string(res.body) != string(openAPIDoc) {
		t.Fatalf("GET openapi.json: %d, %d bytes", res.status, len(res.body))
	}
}
