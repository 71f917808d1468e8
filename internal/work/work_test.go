package work_test

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/work"
)

// assessment is the handbook's Renewal Health Assessment (004) in small.
func assessment(t *testing.T) *work.Template {
	t.Helper()
	tpl := &work.Template{Key: "health_assessment", Title: "Renewal Health Assessment: {{.account.name}}",
		Fields: []work.FieldDef{
			{Key: "rating", Label: "Rating", Type: account.TypeEnum, Values: []string{"green", "yellow", "red"}, Required: true},
			{Key: "renewal_date", Label: "Renewal", Type: account.TypeDate, Required: true, Default: "{{.account.renewal_date}}"},
			{Key: "seats", Label: "Seats", Type: account.TypeNumber, Default: "{{.account.seats}}"},
			{Key: "reviewed", Label: "Reviewed with the AE manager", Type: account.TypeBool},
		},
		Body: "# {{.account.name}}\n\nTA: {{or .owner.name \"not assigned\"}}, AE: {{.ae.name}}.\nARR {{money .account.arr}}, pulse {{.traits.ta_pulse}}, as of {{.today}}.\n"}
	if err := tpl.Compile([]string{"ta_pulse", "active_champion"}); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func hooli() work.DataInput {
	return work.DataInput{
		Account: account.Account{ID: 7, Name: "Hooli", ARR: 1_250_000, Seats: 800, RenewalDate: date.MustParse("2026-07-01")},
		AE:      work.Person{Name: "Alma Exec", Email: "alma@tend.test"},
		Traits:  map[string]any{"ta_pulse": "Concerning", "not_in_the_workspace": 1.0},
		// active_champion is defined but unset: it renders empty.
		TraitKeys: []string{"ta_pulse", "active_champion"},
		Today:     date.MustParse("2026-03-14"),
	}
}

func TestRender(t *testing.T) {
	tpl := assessment(t)
	title, body, err := tpl.Render(work.Data(hooli()))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Renewal Health Assessment: Hooli" {
		t.Errorf("title = %q", title)
	}
	want := "# Hooli\n\nTA: not assigned, AE: Alma Exec.\nARR $1,250,000, pulse Concerning, as of 2026-03-14.\n"
	if body != want {
		t.Errorf("body =\n%s\nwant\n%s", body, want)
	}
	// The defaults come from the account; an unset one is left out.
	if got := tpl.Defaults(work.Data(hooli())); !reflect.DeepEqual(got, map[string]any{"renewal_date": "2026-07-01", "seats": 800.0}) {
		t.Errorf("defaults = %v", got)
	}
	in := hooli()
	in.Account.RenewalDate = date.Date{}
	if got := tpl.Defaults(work.Data(in)); !reflect.DeepEqual(got, map[string]any{"seats": 800.0}) {
		t.Errorf("defaults without a renewal date = %v", got)
	}
	if m := tpl.Missing(map[string]any{"rating": "red"}); len(m) != 1 || m[0].Key != "renewal_date" {
		t.Errorf("missing = %v", m)
	}
	var raw work.Template
	if _, _, err := raw.Render(work.Data(hooli())); err == nil {
		t.Error("an uncompiled template rendered")
	}
}

// The data shape has every account field by its API name but the people's
// ids and the timestamps, so that the merge fields are the names the API
// shows.
func TestDataHasTheAccountFields(t *testing.T) {
	b, _ := json.Marshal(account.Account{})
	var fields map[string]any
	json.Unmarshal(b, &fields)
	var want []string
	for k := range fields {
		if !slices.Contains([]string{"owner_id", "ae_id", "ce_id", "ie_id", "created_at", "updated_at"}, k) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	data := work.Data(work.DataInput{})
	got := slices.Sorted(maps.Keys(data["account"].(map[string]any)))
	if !slices.Equal(got, want) {
		t.Errorf("account merge fields %v, want %v", got, want)
	}
	if keys := slices.Sorted(maps.Keys(data)); !slices.Equal(keys, []string{"account", "ae", "ce", "ie", "owner", "today", "traits"}) {
		t.Errorf("data keys = %v", keys)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		tpl  work.Template
		want string
	}{
		{"syntax", work.Template{Key: "x", Title: "t", Body: "line one\n{{if .account.name}}open\n"},
			"body:3: unexpected EOF"},
		{"unknown function", work.Template{Key: "x", Title: "t", Body: "\n\n{{dollars .account.arr}}"},
			`body:3: function "dollars" not defined`},
		{"misspelt account field", work.Template{Key: "x", Title: "t", Body: "Hi\n  {{.account.nmae}}"},
			`body:2:5: {{.account.nmae}}: account has no field "nmae" (it has analytics_id, arr, close_date, deployment, domain, entitlements, estimated_developers, expected_close_date, external_id, health_color, health_score, id, name, program, renewal_date, seats, segment, stage, support_level)`},
		{"unknown top-level name", work.Template{Key: "x", Title: "{{.acount.name}}", Body: ""},
			`title:1:3: {{.acount.name}}: "acount" is not a merge field (they are .account, .ae, .ce, .ie, .owner, .today, .traits)`},
		{"unknown trait", work.Template{Key: "x", Title: "t", Body: "{{.traits.ta_puls}}"},
			`body:1:3: {{.traits.ta_puls}}: traits has no field "ta_puls" (it has ta_pulse)`},
		{"money of text", work.Template{Key: "x", Title: "t", Body: "{{money .account.name}}"},
			`body:1:3: {{money .account.name}}: error calling money: money: "Sample Corp" is not a number`},
		{"bad default", work.Template{Key: "x", Title: "t", Fields: []work.FieldDef{{Key: "seats", Type: account.TypeNumber, Default: "{{.account.name}}"}}},
			`fields[0].default:1: seats: the default renders "Sample Corp" for the sample account, which is not a number: "Sample Corp" is not a number`},
	} {
		err := tc.tpl.Compile([]string{"ta_pulse"})
		var te *work.TextError
		if !errors.As(err, &te) {
			t.Errorf("%s: error %v is not a *TextError", tc.name, err)
			continue
		}
		if te.Error() != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, te.Error(), tc.want)
		}
	}
}

func TestCheckFields(t *testing.T) {
	tpl := assessment(t)
	got, err := tpl.CheckFields(map[string]any{"rating": "Red", "renewal_date": "2026-07-01", "seats": "1,200", "reviewed": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"rating": "red", "renewal_date": "2026-07-01", "seats": 1200.0, "reviewed": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckFields = %v, want %v", got, want)
	}
	// Empty and null clear.
	if got, _ := tpl.CheckFields(map[string]any{"rating": "", "seats": nil}); !reflect.DeepEqual(got, map[string]any{"rating": nil, "seats": nil}) {
		t.Errorf("clearing = %v", got)
	}
	for _, tc := range []struct {
		raw       map[string]any
		field, in string
	}{
		{map[string]any{"rating": "purple"}, "fields.rating", `"purple" is not one of green, yellow, red: enum expected`},
		{map[string]any{"renewal_date": "next July"}, "fields.renewal_date", "is not a date"},
		{map[string]any{"seats": true}, "fields.seats", "true is not a number"},
		{map[string]any{"colour": "red"}, "fields.colour", "is not a field of the health_assessment template (its fields are rating, renewal_date, seats, reviewed)"},
	} {
		_, err := tpl.CheckFields(tc.raw)
		var de *derrors.Error
		if !errors.As(err, &de) || de.Code != derrors.Unprocessable || de.Field != tc.field || !strings.Contains(de.Message, tc.in) {
			t.Errorf("CheckFields(%v) = %v; want 422 on %s saying %q", tc.raw, err, tc.field, tc.in)
		}
	}
	merged := work.MergeFields(map[string]any{"rating": "green", "seats": 10.0}, map[string]any{"rating": "red", "seats": nil})
	if !reflect.DeepEqual(merged, map[string]any{"rating": "red"}) {
		t.Errorf("MergeFields = %v", merged)
	}
}

func TestDiffFields(t *testing.T) {
	got := work.DiffFields(map[string]any{"rating": "green", "seats": 10.0, "same": true},
		map[string]any{"rating": "red", "same": true, "date": "2026-07-01"})
	want := []work.FieldChange{{"date", nil, "2026-07-01"}, {"rating", "green", "red"}, {"seats", 10.0, nil}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffFields = %v, want %v", got, want)
	}
}

func TestTaskAndFilterValidation(t *testing.T) {
	today := date.MustParse("2026-03-14")
	task := work.Task{AccountID: 1, Title: "x", DueDate: date.MustParse("2026-03-13")}
	if err := task.Validate(); err != nil || task.Status != work.StatusOpen {
		t.Fatalf("Validate = %v, status %q", err, task.Status)
	}
	if !task.Overdue(today) || task.Overdue(date.MustParse("2026-03-13")) {
		t.Error("a task due on the 13th is overdue on the 14th, not on the 13th")
	}
	task.Status = work.StatusDone
	if task.Overdue(today) {
		t.Error("a done task is not overdue")
	}
	f := work.TaskFilter{}
	if err := f.Normalize(); err != nil || f.Limit != 50 {
		t.Errorf("Normalize = %v, limit %d", err, f.Limit)
	}
	bad := work.TaskFilter{AssigneeID: -2}
	if err := bad.Normalize(); !derrors.Is(err, derrors.Invalid) {
		t.Errorf("assignee -2: %v", err)
	}
	for link, ok := range map[string]bool{"": true, "/tasks/7": true, "https://tend.example/x": true, "http://x.example": true,
		"//evil.example": false, "/\\evil": false, "javascript:alert(1)": false, "mailto:a@b.c": false, "tasks/7": false} {
		n := work.Notification{UserID: 1, Title: "t", Link: link}
		if err := n.Validate(); (err == nil) != ok {
			t.Errorf("link %q: Validate = %v, want ok %v", link, err, ok)
		}
	}
}
