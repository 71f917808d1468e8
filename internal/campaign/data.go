package campaign

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
)

// Data is what an email template is rendered with, for one contact of one
// account (NewData). Every key is always present, so a template that
// renders at load renders for every account:
//
//	.contact   name, first_name, email, roles ("instance admin and champion")
//	.account   name, domain, seats, arr, segment, program, stage, deployment,
//	           support_level, close_date, renewal_date, entitlements
//	           ("code search and the AI assistant")
//	.entitled  code_search, ai_assistant: true or false
//	.traits    every trait of the workspace, as people read it; "" unset
//	.owner     the owner TA: name, first_name, email ("" when none)
//	.sender    who the email is from: name, first_name, email
//	.usage     month, mau, mau_change, usage_score, usage_score_change,
//	           mau_over_seats, mau_over_seats_change, seats, top_features
//	           (a list of name, users)
//	.health    color, score
//	.links     unsubscribe_url, survey_url, account_url
//	.campaign  name
//	.today     YYYY-MM-DD
type Data map[string]any

// Person is a team member or a sender as templates see them.
type Person struct {
	Name  string
	Email string
}

// Metric is a usage metric this month and the one before (nil: unknown).
type Metric struct {
	Value, Previous *float64
}

// FeatureUse is one feature's users over the recap's month.
type FeatureUse struct {
	Name  string
	Users int
}

// Usage are a recap's figures: the last complete month's.
type Usage struct {
	// Month is the month the figures are of.
	Month time.Time
	// MAU is last_month_mau; UsageScore usage_score (4-week DAU over
	// last-month MAU); MAUOverSeats last_month_mau_over_seats (003).
	MAU, UsageScore, MAUOverSeats Metric
	// TopFeatures are the month's most used features, most users first.
	TopFeatures []FeatureUse
}

// UsageFromTraits reads the current usage figures from an account's trait
// values (the computed usage traits); Previous values come from the
// traits' history, which is the runner's to read.
func UsageFromTraits(traits map[string]any) Usage {
	num := func(k string) *float64 {
		if f, ok := traits[k].(float64); ok {
			return &f
		}
		return nil
	}
	return Usage{MAU: Metric{Value: num("last_month_mau")}, UsageScore: Metric{Value: num("usage_score")},
		MAUOverSeats: Metric{Value: num("last_month_mau_over_seats")}}
}

// Links are the links an email may carry; the runner signs them.
type Links struct {
	Unsubscribe string
	Survey      string
	// Account is the account's page in Tend, for the team's copies.
	Account string
}

// DataInput is what NewData builds the merge fields from.
type DataInput struct {
	Account account.Account
	Contact account.Contact
	Owner   Person
	// Sender is who the email is from: the owner, or a team address.
	Sender Person
	// Traits are the account's trait values by key (coerced), TraitKeys
	// every trait the workspace defines.
	Traits    map[string]any
	TraitKeys []string
	Usage     Usage
	Links     Links
	Campaign  string
	Today     date.Date
}

// NewData builds the merge fields of one email.
func NewData(in DataInput) Data {
	a := in.Account
	person := func(p Person) map[string]any {
		return map[string]any{"name": p.Name, "first_name": firstName(p.Name), "email": p.Email}
	}
	roles := make([]string, len(in.Contact.Roles))
	for i, r := range in.Contact.Roles {
		roles[i] = strings.ToLower(account.ContactRoleLabel(r))
	}
	traits := make(map[string]any, len(in.TraitKeys))
	for _, k := range in.TraitKeys {
		traits[k] = ""
		if v, ok := in.Traits[k]; ok && v != nil {
			traits[k] = account.FormatValue(v)
		}
	}
	entitled := map[string]any{}
	for _, e := range account.Entitlements {
		entitled[e] = false
	}
	var ents []string
	for _, e := range a.Entitlements {
		entitled[e] = true
		ents = append(ents, entitlementLabel(e))
	}
	score := ""
	if a.HealthScore != nil {
		score = strconv.FormatFloat(*a.HealthScore, 'f', 1, 64)
	}
	u := in.Usage
	month := ""
	if !u.Month.IsZero() {
		month = u.Month.Format("January 2006")
	}
	features := make([]any, len(u.TopFeatures))
	for i, f := range u.TopFeatures {
		features[i] = map[string]any{"name": f.Name, "users": strconv.Itoa(f.Users)}
	}
	seats := ""
	if a.Seats > 0 {
		seats = strconv.Itoa(a.Seats)
	}
	return Data{
		"contact": map[string]any{"name": in.Contact.Name, "first_name": firstName(in.Contact.Name),
			"email": in.Contact.Email, "roles": andList(roles)},
		"account": map[string]any{"name": a.Name, "domain": a.Domain, "seats": seats, "arr": money(a.ARR),
			"segment": a.Segment, "program": a.Program, "stage": a.Stage, "deployment": a.Deployment,
			"support_level": a.SupportLevel, "close_date": a.CloseDate.String(), "renewal_date": a.RenewalDate.String(),
			"entitlements": andList(ents)},
		"entitled": entitled,
		"traits":   traits,
		"owner":    person(in.Owner),
		"sender":   person(in.Sender),
		"usage": map[string]any{"month": month, "seats": seats,
			"mau": count(u.MAU.Value), "mau_change": countChange(u.MAU),
			"usage_score": percent(u.UsageScore.Value), "usage_score_change": pointsChange(u.UsageScore),
			"mau_over_seats": percent(u.MAUOverSeats.Value), "mau_over_seats_change": pointsChange(u.MAUOverSeats),
			"top_features": features},
		"health":   map[string]any{"color": a.HealthColor, "score": score},
		"links":    map[string]any{"unsubscribe_url": in.Links.Unsubscribe, "survey_url": in.Links.Survey, "account_url": in.Links.Account},
		"campaign": map[string]any{"name": in.Campaign},
		"today":    in.Today.String(),
	}
}

// entitlementLabel names an entitlement as customers read it in a
// sentence.
func entitlementLabel(e string) string {
	switch e {
	case "code_search":
		return "code search"
	case "ai_assistant":
		return "the AI assistant"
	}
	return strings.ReplaceAll(e, "_", " ")
}

// firstName is the first word of a name: how an email greets.
func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// andList joins words as a sentence does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func count(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(int64(math.Round(*v)), 10)
}

// countChange is a count's change since the month before: "+37", "-12",
// "no change"; "" when either month is unknown.
func countChange(m Metric) string {
	if m.Value == nil || m.Previous == nil {
		return ""
	}
	d := int64(math.Round(*m.Value)) - int64(math.Round(*m.Previous))
	switch {
	case d > 0:
		return fmt.Sprintf("+%d", d)
	case d < 0:
		return strconv.FormatInt(d, 10)
	}
	return "no change"
}

// percent writes a ratio as a whole percentage: 0.34 is "34%".
func percent(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(int64(math.Round(*v*100)), 10) + "%"
}

// pointsChange is a ratio's change in percentage points: "+4 points",
// "-1 point", "no change"; "" when either month is unknown.
func pointsChange(m Metric) string {
	if m.Value == nil || m.Previous == nil {
		return ""
	}
	d := int64(math.Round(*m.Value*100)) - int64(math.Round(*m.Previous*100))
	unit := "points"
	if d == 1 || d == -1 {
		unit = "point"
	}
	switch {
	case d > 0:
		return fmt.Sprintf("+%d %s", d, unit)
	case d < 0:
		return fmt.Sprintf("%d %s", d, unit)
	}
	return "no change"
}

// money writes whole dollars as people do: $48,500.
func money(n int64) string {
	if n == 0 {
		return ""
	}
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String()
}

// SampleInput is a made-up account and contact in which every merge field
// has a value: what a template preview shows before a real account is
// picked, and what Compile checks templates against.
func SampleInput(traitKeys []string) DataInput {
	f := func(x float64) *float64 { return &x }
	score := 7.4
	traits := make(map[string]any, len(traitKeys))
	for _, k := range traitKeys {
		traits[k] = "sample"
	}
	return DataInput{
		Account: account.Account{ID: 1, Name: "Sample Corp", Domain: "sample.example", Seats: 250, ARR: 45_000,
			Segment: "Commercial", Program: "Scaled Success", Stage: "2. Adopting", Deployment: "cloud",
			SupportLevel: "scaled", CloseDate: date.New(2026, 1, 31), RenewalDate: date.New(2027, 1, 31),
			Entitlements: []string{"ai_assistant", "code_search"}, HealthScore: &score, HealthColor: "green"},
		Contact: account.Contact{ID: 1, Name: "Riley Admin", Email: "riley@sample.example",
			Roles: []string{account.RoleInstanceAdmin, account.RoleProgramContact}},
		Owner:     Person{"Sam Advisor", "sam@tend.example"},
		Sender:    Person{"Sam Advisor", "sam@tend.example"},
		Traits:    traits,
		TraitKeys: traitKeys,
		Usage: Usage{Month: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
			MAU: Metric{f(212), f(188)}, UsageScore: Metric{f(0.34), f(0.31)}, MAUOverSeats: Metric{f(0.85), f(0.75)},
			TopFeatures: []FeatureUse{{"Search Performed", 190}, {"AI Chat Message", 140}, {"Code Navigation Used", 97}}},
		Links: Links{Unsubscribe: "https://tend.example/u/sample", Survey: "https://tend.example/s/sample",
			Account: "https://tend.example/accounts/1"},
		Campaign: "Sample campaign",
		Today:    date.New(2026, 3, 2),
	}
}

// SampleData is NewData of SampleInput.
func SampleData(traitKeys []string) Data { return NewData(SampleInput(traitKeys)) }

// emptyData has every merge field and no values: Compile renders it too,
// so that an {{else}} is checked as well as its {{if}}.
func emptyData(traitKeys []string) Data {
	return NewData(DataInput{TraitKeys: traitKeys})
}
