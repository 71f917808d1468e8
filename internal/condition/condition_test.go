package condition_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
)

var traits = []account.TraitDef{
	{Key: "ta_pulse", Type: account.TypeEnum, Values: []string{"Healthy", "Concerning", "Poor"}},
	{Key: "usage_score", Type: account.TypeNumber},
	{Key: "help_tickets_90d", Type: account.TypeNumber},
	{Key: "active_champion", Type: account.TypeBool},
	{Key: "access_to_buyer", Type: account.TypeBool},
	{Key: "last_activity_date", Type: account.TypeDate},
	{Key: "region", Type: account.TypeEnum, Values: []string{"AMER", "EMEA", "APAC"}},
	{Key: "instance_version", Type: account.TypeText},
}

var schema = condition.NewSchema(traits)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func facts() condition.Facts {
	return condition.Facts{
		Account: account.Account{ID: 7, Name: "Initech", Segment: "Commercial", Stage: "2. Adopting", ARR: 40_000, Seats: 100,
			Entitlements: []string{"code_search"}, RenewalDate: date.MustParse("2026-06-01")},
		Traits:   map[string]any{"ta_pulse": "Concerning", "usage_score": 0.35, "active_champion": true, "last_activity_date": "2026-03-01"},
		Contacts: map[string]int{account.RoleChampion: 1, account.RoleInstanceAdmin: 2},
		Now:      now,
	}
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		// 004: "check if Account is in the commercial segment and is less than $50k ARR"
		{`account.segment == "Commercial" && account.arr < 50000`, true},
		{`account.segment == "Commercial" and account.arr < 50000 and traits.usage_score >= 0.3`, true},
		{`account.stage == "1. Onboarding"`, false},
		{`traits.ta_pulse == "Concerning"`, true},
		{`traits.ta_pulse in ["Concerning", "Poor"]`, true},
		{`"code_search" in account.entitlements && !("ai_assistant" in account.entitlements)`, true},
		{`contacts.champion > 0 && contacts.instance_admin == 2 && contacts.buyer == 0`, true},
		{`traits.active_champion`, true},
		{`traits.active_champion && account.seats >= 100`, true},
		{`traits.last_activity_date < now`, true},
		{`account.renewal_date > date("2026-05-01")`, true},
		{`days_until(account.renewal_date) <= 120`, true}, // 79 days
		{`days_until(account.renewal_date) == 79`, true},
		{`days_since(traits.last_activity_date) == 13`, true},
		{`days_since(traits.last_activity_date) >= 14`, false},
		// Missing values: comparisons with them do not hold.
		{`traits.help_tickets_90d > 3`, false},
		{`traits.help_tickets_90d <= 3`, false},
		{`traits.help_tickets_90d + 1 > 0`, false},
		{`traits.help_tickets_90d == nil`, true},
		{`traits.help_tickets_90d != nil`, false},
		{`(traits.help_tickets_90d ?? 0) < 3`, true},
		{`traits.access_to_buyer`, false},
		{`!traits.access_to_buyer`, false},
		{`traits.access_to_buyer || traits.active_champion`, true},
		{`traits.region in ["AMER"]`, false},
		{`traits.region == "AMER"`, false},
		{`traits.region != "AMER"`, true}, // == and != compare with nil
		{`traits.instance_version startsWith "5."`, false},
		{`account.health_score >= 5`, false},
		{`account.health_score == nil`, true},
		{`days_until(account.close_date) < 30`, false},
		{`account.owner_id == nil`, true},
	} {
		p, err := schema.Compile(tc.src)
		if err != nil {
			t.Errorf("Compile(%s): %v", tc.src, err)
			continue
		}
		got, err := p.Eval(facts())
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{`traits.usage_scor >= 0.3`, 1, 8, "traits.usage_scor is not a trait in traits.yaml; did you mean traits.usage_score?"},
		{"account.segment == \"Commercial\" &&\n  traits.usage_scor >= 0.3", 2, 10, "did you mean traits.usage_score?"},
		{`account.nmae == "x"`, 1, 9, "account.nmae is not an account field; did you mean account.name?"},
		{`contacts.champions > 0`, 1, 10, "did you mean contacts.champion?"},
		{`traits.zzz > 0`, 1, 8, "traits.zzz is not a trait in traits.yaml"},
		{`usage_score > 0.3`, 1, 1, "did you mean traits.usage_score?"},
		{`traits.ta_pulse == "Healty"`, 1, 20, `"Healty" is not a value of traits.ta_pulse (Healthy, Concerning, Poor)`},
		{`traits.ta_pulse in ["Poor", "poor"]`, 1, 29, `did you mean "Poor"?`},
		{`traits.usage_score`, 1, 1, "a condition must be true or false, but this is a number"},
		{`account.name`, 1, 1, "must be true or false, but this is text"},
		{`traits.usage_score > "high"`, 1, 20, "invalid operation"},
		{`days_until()`, 1, 1, "days_until takes one date"},
		{`1 +`, 1, 3, "unexpected token"},
		{``, 1, 1, "the condition is empty"},
		{`nosuch.thing`, 1, 1, "unknown name nosuch"},
	} {
		_, err := schema.Compile(tc.src)
		var ce *condition.Error
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) = %v, want a *condition.Error", tc.src, err)
			continue
		}
		if ce.Line != tc.line || ce.Col != tc.col || !strings.Contains(ce.Message, tc.msg) {
			t.Errorf("Compile(%q) = %d:%d %q; want %d:%d containing %q", tc.src, ce.Line, ce.Col, ce.Message, tc.line, tc.col, tc.msg)
		}
	}
	long := strings.Repeat("account.seats > 1 && ", 600) + "true"
	if _, err := schema.Compile(long); err == nil {
		t.Error("a condition over the size limit compiled")
	}
}

// TestDaysAcrossZonesAndDST: days count calendar days in the workspace's
// time zone, whatever the hour, across a daylight-saving change.
func TestDaysAcrossZonesAndDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	p, err := schema.Compile(`days_until(account.renewal_date) == 10 && days_since(traits.last_activity_date) == 10`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		loc  *time.Location
		want bool
	}{
		// 2026-03-08 is the US change to daylight saving time.
		{time.Date(2026, 3, 5, 23, 30, 0, 0, ny), ny, true},
		{time.Date(2026, 3, 5, 0, 10, 0, 0, ny), ny, true},
		// 23:30 in New York is the next day in UTC.
		{time.Date(2026, 3, 5, 23, 30, 0, 0, ny), time.UTC, false},
	} {
		f := facts()
		f.Now, f.Location = tc.now, tc.loc
		f.Account.RenewalDate = date.MustParse("2026-03-15")
		f.Traits["last_activity_date"] = "2026-02-23"
		got, err := p.Eval(f)
		if err != nil || got != tc.want {
			t.Errorf("at %v in %v: %v, %v; want %v", tc.now, tc.loc, got, err, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	p, err := schema.Compile(`account.segment == "Commercial" && (traits.usage_score >= 0.4 || traits.help_tickets_90d < 10) && !traits.active_champion`)
	if err != nil {
		t.Fatal(err)
	}
	ex := p.Explain(facts())
	if ex.Holds || len(ex.Parts) != 4 {
		t.Fatalf("explanation = %+v", ex)
	}
	want := []struct {
		text    string
		holds   bool
		depth   int
		negated bool
		value   string
	}{
		{`account.segment == "Commercial"`, true, 0, false, `account.segment = "Commercial"`},
		{`traits.usage_score >= 0.4`, false, 1, false, "traits.usage_score = 0.35"},
		{`traits.help_tickets_90d < 10`, false, 1, false, "traits.help_tickets_90d has no value"},
		{`traits.active_champion`, true, 0, true, "traits.active_champion = true"},
	}
	text := ex.String()
	for i, w := range want {
		pt := ex.Parts[i]
		if pt.Text != w.text || pt.Holds != w.holds || pt.Depth != w.depth || pt.Negated != w.negated {
			t.Errorf("part %d = %+v, want %+v", i, pt, w)
		}
		if !strings.Contains(text, w.value) {
			t.Errorf("explanation lacks %q:\n%s", w.value, text)
		}
	}
	if !strings.HasPrefix(text, p.Source()+": does not hold") {
		t.Errorf("explanation starts %q", text)
	}
}

// One environment serves every condition of the schema and their
// explanations, as the playbook runner uses it: the same answers and the
// same explanation, values and time zone included, as from the facts.
func TestEnvMatchesFacts(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []*time.Location{nil, tokyo} {
		f := facts()
		f.Location = loc
		env := schema.Env(f)
		for _, src := range []string{
			`account.segment == "Commercial" && (traits.usage_score >= 0.4 || traits.help_tickets_90d < 10) && !traits.active_champion`,
			`days_until(account.renewal_date) <= 120 && traits.last_activity_date < now`,
			`traits.ta_pulse in ["Concerning", "Poor"] && contacts.instance_admin == 2`,
			`traits.region == "EMEA" || traits.instance_version == nil`,
		} {
			p, err := schema.Compile(src)
			if err != nil {
				t.Fatal(err)
			}
			if !env.Fits(p) {
				t.Fatalf("%s: the schema's environment does not fit its program", src)
			}
			want, werr := p.Eval(f)
			got, gerr := p.EvalEnv(env)
			if got != want || (gerr == nil) != (werr == nil) {
				t.Errorf("%s in %v: EvalEnv %v, %v; Eval %v, %v", src, loc, got, gerr, want, werr)
			}
			ex := p.ExplainEnv(env)
			if s := p.Explain(f).String(); ex.String() != s {
				t.Errorf("%s in %v: ExplainEnv\n%s\nExplain\n%s", src, loc, ex.String(), s)
			}
			if ex.Holds != want {
				t.Errorf("%s in %v: explained as holding %v, Eval says %v", src, loc, ex.Holds, want)
			}
			// Each term as its own condition on the facts.
			for _, pt := range ex.Parts {
				term, err := schema.Compile(pt.Text)
				if err != nil {
					t.Fatal(err)
				}
				if h, _ := term.Eval(f); h != pt.Holds {
					t.Errorf("%s in %v: term %s explained as %v, Eval says %v", src, loc, pt.Text, pt.Holds, h)
				}
			}
		}
		// Dates are days of the workspace's zone.
		p, _ := schema.Compile(`days_until(account.renewal_date) <= 120`)
		if s := p.ExplainEnv(env).String(); !strings.Contains(s, "account.renewal_date = 2026-06-01") {
			t.Errorf("in %v: %s", loc, s)
		}
	}
	// An environment of what some conditions read serves them, and
	// refuses one that reads more.
	f := facts()
	var progs []*condition.Program
	for _, src := range []string{`traits.usage_score >= 0.3 && account.arr < 50000`, `traits.ta_pulse == "Concerning" || traits.region == nil`} {
		p, err := schema.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	reads := schema.Reads(progs...).Env(f)
	for _, p := range progs {
		want, _ := p.Eval(f)
		if got, err := p.EvalEnv(reads); !reads.Fits(p) || err != nil || got != want {
			t.Errorf("%s on the environment of what it reads: %v, %v; want %v", p.Source(), got, err, want)
		}
		if a, b := p.ExplainEnv(reads).String(), p.Explain(f).String(); a != b {
			t.Errorf("%s explained on what it reads:\n%s\nwant\n%s", p.Source(), a, b)
		}
	}
	more, err := schema.Compile(`traits.active_champion && traits.usage_score >= 0.3`)
	if err != nil {
		t.Fatal(err)
	}
	if reads.Fits(more) {
		t.Error("an environment without traits.active_champion fits a condition reading it")
	}
	if _, err := more.EvalEnv(reads); err == nil {
		t.Error("EvalEnv on an environment without a name the condition reads: no error")
	}
	if ex := more.ExplainEnv(reads); ex.Holds || ex.Error == "" {
		t.Errorf("ExplainEnv without a name it reads = %+v", ex)
	}
	// An environment of another schema is refused, not misread.
	other, err := condition.NewSchema(traits).Compile(`account.arr < 50000`)
	if err != nil {
		t.Fatal(err)
	}
	env := schema.Env(facts())
	if env.Fits(other) {
		t.Error("an environment fits a program of another schema")
	}
	if _, err := other.EvalEnv(env); err == nil {
		t.Error("EvalEnv of another schema's environment: no error")
	}
	if ex := other.ExplainEnv(env); ex.Holds || ex.Error == "" {
		t.Errorf("ExplainEnv of another schema's environment = %+v", ex)
	}
}

func TestEvalNeverPanics(t *testing.T) {
	for _, src := range []string{`1 / (account.seats - 100) > 0`, `account.name matches "("`, `len(account.entitlements[5:]) > 0`,
		`traits.usage_score / 0 > 1`} {
		p, err := schema.Compile(src)
		if err != nil {
			continue
		}
		_, _ = p.Eval(facts())
		_ = p.Explain(facts())
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`account.arr < 50000`, `traits.usage_score >= 0.3 && !traits.active_champion`,
		`days_until(account.renewal_date) <= 120`, `traits.ta_pulse in ["Poor"]`, `(traits.help_tickets_90d ?? 0) + 1 > 2`,
		`all(account.entitlements, # != "x")`, `now > date("2026-01-01")`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := schema.Compile(src)
		if err != nil {
			return
		}
		_, _ = p.Eval(facts())
		_ = p.Explain(condition.Facts{})
	})
}

func BenchmarkEval(b *testing.B) {
	p, err := schema.Compile(`account.segment == "Commercial" && account.arr < 50000 && traits.usage_score >= 0.3`)
	if err != nil {
		b.Fatal(err)
	}
	f := facts()
	b.ReportAllocs()
	for range b.N {
		if ok, err := p.Eval(f); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkEvalStage(b *testing.B) {
	p, err := schema.Compile(`account.stage == "1. Onboarding"`)
	if err != nil {
		b.Fatal(err)
	}
	f := facts()
	b.ReportAllocs()
	for range b.N {
		_, _ = p.Eval(f)
	}
}

// TestDocFields: a doc's fields read as docs.<template>.<field> — 004's
// Renewal Health Assessment rating decides the Lighthouse Program.
func TestDocFields(t *testing.T) {
	s := condition.NewSchema(traits, condition.DocTemplate{Key: "health_assessment", Fields: []account.TraitDef{
		{Key: "rating", Type: account.TypeEnum, Values: []string{"green", "yellow", "red"}},
		{Key: "reviewed_on", Type: account.TypeDate},
	}})
	p, err := s.Compile(`docs.health_assessment.rating in ["yellow", "red"]`)
	if err != nil {
		t.Fatal(err)
	}
	f := facts()
	if ok, err := p.Eval(f); ok || err != nil {
		t.Errorf("without a doc: %v, %v; want false", ok, err)
	}
	f.Docs = map[string]map[string]any{"health_assessment": {"rating": "red"}}
	if ok, err := p.Eval(f); !ok || err != nil {
		t.Errorf("rated red: %v, %v; want true", ok, err)
	}
	if ex := p.Explain(f).String(); !strings.Contains(ex, `docs.health_assessment.rating = "red"`) {
		t.Errorf("explanation lacks the rating:\n%s", ex)
	}
	for src, want := range map[string]string{
		`docs.health_asessment.rating == "red"`:  "did you mean docs.health_assessment?",
		`docs.health_assessment.ratin == "red"`:  "did you mean docs.health_assessment.rating?",
		`docs.health_assessment.rating == "Red"`: `"Red" is not a value`,
	} {
		if _, err := s.Compile(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%s) = %v, want %q", src, err, want)
		}
	}
}
