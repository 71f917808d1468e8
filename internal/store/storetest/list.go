package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var listTests = []test{
	{"Empty", testListEmpty},
	{"Filters", testListFilters},
	{"Sorts", testListSorts},
	{"Paging", testListPaging},
	{"QueryNonASCII", testListQueryNonASCII},
	{"Invalid", testListInvalid},
}

// book is a small book of business with ties on every sort key, unset
// values where the key can be unset, and names, domains and external ids
// that the search has to tell apart.
type book struct {
	dana, omar team.User
	all        []account.Account // in creation (id) order
}

func newBook(e *env) book {
	b := book{
		dana: e.user("Dana Advisor", "dana@tend.test", team.TA),
		omar: e.user("Omar Advisor", "omar@tend.test", team.TA),
	}
	d, o := &b.dana.ID, &b.omar.ID
	renew := func(y int, m time.Month, day int) date.Date { return date.New(y, m, day) }
	for i, a := range []account.Account{
		{Name: "Acme Corp", Domain: "acme.example", ExternalID: "SF-0001", ARR: 120_000, Seats: 300, EstimatedDevelopers: 400,
			OwnerID: d, Segment: "Commercial", Program: "Managed", Stage: "2. Adopting", HealthScore: ptr(8.0), HealthColor: "green",
			RenewalDate: renew(2026, 9, 1)},
		{Name: "globex", Domain: "globex.example", ExternalID: "SF-0002", ARR: 40_000, Seats: 50, EstimatedDevelopers: 60,
			OwnerID: d, Segment: "Commercial", Program: "Scaled Success", Stage: "3. Nurturing", HealthScore: ptr(5.0), HealthColor: "yellow",
			RenewalDate: renew(2026, 5, 1)},
		{Name: "Initech", Domain: "initech.example", ExternalID: "SF-0003", ARR: 480_000, Seats: 1800, EstimatedDevelopers: 2400,
			OwnerID: o, Segment: "Enterprise", Program: "Managed", Stage: "4. Renewing", HealthScore: ptr(2.5), HealthColor: "red",
			RenewalDate: renew(2026, 5, 1)},
		{Name: "Umbrella", Domain: "umbrella.example", ExternalID: "HS-77", ARR: 1_200_000, Seats: 9000, EstimatedDevelopers: 12_000,
			OwnerID: o, Segment: "Strategic", Program: "Managed", Stage: "2. Adopting", HealthScore: ptr(5.0), HealthColor: "yellow"},
		{Name: "Hooli", Domain: "hooli.example", ARR: 40_000, Seats: 50, EstimatedDevelopers: 60,
			Segment: "Commercial", Program: "Scaled Success", Stage: "1. Onboarding"},
		{Name: "Stark Industries", Domain: "stark.example", ExternalID: "SF-0006", ARR: 900_000, Seats: 4000, EstimatedDevelopers: 5000,
			OwnerID: d, Segment: "Enterprise", Program: "Managed", Stage: "0. Prospect", RenewalDate: renew(2027, 1, 15)},
		{Name: "acme labs", Domain: "acmelabs.example", ExternalID: "SF-0007", ARR: 120_000, Seats: 300, EstimatedDevelopers: 400,
			Segment: "Commercial", Program: "Scaled Success", Stage: "2. Adopting", HealthScore: ptr(8.0), HealthColor: "green",
			RenewalDate: renew(2026, 9, 1)},
		{Name: "Wayne 100% Enterprises", Domain: "wayne.example", ExternalID: "SF_0008", ARR: 75_000, Seats: 120, EstimatedDevelopers: 90,
			OwnerID: o, Segment: "Commercial", Program: "Scaled Success", Stage: "3. Nurturing", HealthScore: ptr(9.5), HealthColor: "green",
			RenewalDate: renew(2026, 12, 31)},
		{Name: "Tyrell", Domain: "tyrell.example", ExternalID: "TY-9", ARR: 300_000, Seats: 700, EstimatedDevelopers: 1500,
			OwnerID: d, Segment: "Enterprise", Program: "Managed", Stage: "4. Renewing", HealthScore: ptr(0.0), HealthColor: "red",
			RenewalDate: renew(2026, 4, 1)},
		{Name: "Soylent", Domain: "soylent.example", ExternalID: "SF-0010", ARR: 0, Seats: 0, EstimatedDevelopers: 0,
			Segment: "Commercial", Program: "Scaled Success", Stage: "0. Prospect"},
		{Name: "Cyberdyne", Domain: "cyberdyne.example", ExternalID: "SF-0011", ARR: 480_000, Seats: 1800, EstimatedDevelopers: 2400,
			OwnerID: d, Segment: "Enterprise", Program: "Managed", Stage: "2. Adopting", HealthScore: ptr(7.25), HealthColor: "green",
			RenewalDate: renew(2026, 5, 1)},
		{Name: "Massive Dynamic", Domain: "massive.example", ExternalID: "SF-0012", ARR: 2_000_000, Seats: 20_000, EstimatedDevelopers: 25_000,
			OwnerID: o, Segment: "Strategic", Program: "Managed", Stage: "3. Nurturing", HealthScore: ptr(6.67), HealthColor: "green",
			RenewalDate: renew(2026, 11, 30)},
		{Name: "Oscorp", Domain: "oscorp.example", ExternalID: "SF-0013", ARR: 75_000, Seats: 120, EstimatedDevelopers: 90,
			Segment: "Commercial", Program: "Scaled Success", Stage: "1. Onboarding", HealthScore: ptr(3.33), HealthColor: "yellow"},
	} {
		// Every third account shares its creation instant with the one
		// before it, so the created sort has ties to break.
		if i%3 != 2 {
			e.advance(time.Second)
		}
		b.all = append(b.all, e.account(a))
	}
	return b
}

// sortKey reads an account's value for a sort; null marks an unset value,
// which sorts last in either direction.
func sortKey(sort string, a account.Account) (v any, null bool) {
	switch strings.TrimPrefix(sort, "-") {
	case "name":
		return strings.ToLower(a.Name), false
	case "arr":
		return a.ARR, false
	case "seats":
		return a.Seats, false
	case "developers":
		return a.EstimatedDevelopers, false
	case "renewal":
		return a.RenewalDate.String(), a.RenewalDate.IsZero()
	case "health":
		if a.HealthScore == nil {
			return 0.0, true
		}
		return *a.HealthScore, false
	case "created":
		return a.CreatedAt.UnixMilli(), false
	}
	panic("storetest: no sort key " + sort)
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		return cmp.Compare(x, b.(string))
	case int:
		return cmp.Compare(x, b.(int))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	}
	panic(fmt.Sprintf("storetest: cannot compare %T", a))
}

// sorted is the order the contract promises: by the key, "-" descending,
// unset values last, ties by id ascending (creation order), so that every
// sort is total and pages never overlap.
func sorted(as []account.Account, sort string) []account.Account {
	out := slices.Clone(as)
	desc := strings.HasPrefix(sort, "-")
	slices.SortFunc(out, func(a, b account.Account) int {
		ka, na := sortKey(sort, a)
		kb, nb := sortKey(sort, b)
		switch {
		case na && nb:
		case na:
			return 1
		case nb:
			return -1
		default:
			c := compareAny(ka, kb)
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func testListEmpty(e *env) {
	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if page.Accounts == nil || len(page.Accounts) != 0 || page.Total != 0 || page.Next != "" {
		e.t.Errorf("empty store: %#v, want an empty (non-nil) page", page)
	}
}

func testListFilters(e *env) {
	b := newBook(e)
	matches := func(keep func(a account.Account) bool) []account.Account {
		var out []account.Account
		for _, a := range b.all {
			if keep(a) {
				out = append(out, a)
			}
		}
		return sorted(out, "name")
	}
	named := func(names ...string) []account.Account {
		return matches(func(a account.Account) bool { return slices.Contains(names, a.Name) })
	}
	owner := func(id int64) func(account.Account) bool {
		return func(a account.Account) bool { return a.OwnerID != nil && *a.OwnerID == id }
	}
	for _, tc := range []struct {
		name string
		f    account.Filter
		want []account.Account
	}{
		{"everyone", account.Filter{}, matches(func(account.Account) bool { return true })},
		{"Dana's book", account.Filter{OwnerID: b.dana.ID}, matches(owner(b.dana.ID))},
		{"Omar's book", account.Filter{OwnerID: b.omar.ID}, matches(owner(b.omar.ID))},
		{"unassigned", account.Filter{OwnerID: account.Unassigned},
			matches(func(a account.Account) bool { return a.OwnerID == nil })},
		{"owner with no accounts", account.Filter{OwnerID: b.omar.ID + 100}, nil},
		{"segment", account.Filter{Segment: "Enterprise"}, named("Initech", "Stark Industries", "Tyrell", "Cyberdyne")},
		{"program", account.Filter{Program: "Scaled Success"}, matches(func(a account.Account) bool { return a.Program == "Scaled Success" })},
		{"stage", account.Filter{Stage: "2. Adopting"}, named("Acme Corp", "Umbrella", "acme labs", "Cyberdyne")},
		{"health colour", account.Filter{HealthColor: "red"}, named("Initech", "Tyrell")},
		{"segment is exact", account.Filter{Segment: "enterprise"}, nil},
		{"all filters at once", account.Filter{OwnerID: b.dana.ID, Segment: "Commercial", Program: "Managed", Stage: "2. Adopting", HealthColor: "green"},
			named("Acme Corp")},
		{"owner and segment", account.Filter{OwnerID: b.omar.ID, Segment: "Strategic"}, named("Umbrella", "Massive Dynamic")},
		{"unassigned Commercial", account.Filter{OwnerID: account.Unassigned, Segment: "Commercial"},
			named("Hooli", "acme labs", "Soylent", "Oscorp")},
		{"query on name, any case", account.Filter{Query: "ACME"}, named("Acme Corp", "acme labs")},
		{"query trimmed", account.Filter{Query: "  initech "}, named("Initech")},
		{"query on domain", account.Filter{Query: "Cyberdyne.Example"}, named("Cyberdyne")},
		{"query on external id, any case", account.Filter{Query: "hs-7"}, named("Umbrella")},
		{"query on external id prefix", account.Filter{Query: "sf-001"}, named("Soylent", "Cyberdyne", "Massive Dynamic", "Oscorp")},
		{"query in the middle", account.Filter{Query: "dyn"}, named("Cyberdyne", "Massive Dynamic")},
		// LIKE wildcards in a query are literal characters.
		{"query with %", account.Filter{Query: "100%"}, named("Wayne 100% Enterprises")},
		{"query with % alone", account.Filter{Query: "%"}, named("Wayne 100% Enterprises")},
		{"query with _", account.Filter{Query: "sf_"}, named("Wayne 100% Enterprises")},
		{"query with backslash", account.Filter{Query: `\`}, nil},
		{"query and filter", account.Filter{Query: "acme", OwnerID: account.Unassigned}, named("acme labs")},
		{"no match", account.Filter{Query: "zzz"}, nil},
	} {
		page, err := e.st.ListAccounts(e.ctx, tc.f)
		if err != nil {
			e.t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if page.Total != len(tc.want) {
			e.t.Errorf("%s: Total = %d, want %d", tc.name, page.Total, len(tc.want))
		}
		if !slices.Equal(ids(page.Accounts), ids(tc.want)) {
			e.t.Errorf("%s: got %v, want %v", tc.name, names(page.Accounts), names(tc.want))
		}
		if page.Next != "" {
			e.t.Errorf("%s: Next = %q on a single page", tc.name, page.Next)
		}
	}
	// Listed accounts are whole accounts, as GetAccount returns them.
	page, err := e.st.ListAccounts(e.ctx, account.Filter{Query: "initech"})
	e.ok(err, "ListAccounts")
	want, err := e.st.GetAccount(e.ctx, page.Accounts[0].ID)
	e.ok(err, "GetAccount")
	sameJSON(e.t, "listed account", page.Accounts[0], want)
}

func names(as []account.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = fmt.Sprintf("%d %s", a.ID, a.Name)
	}
	return out
}

func testListSorts(e *env) {
	b := newBook(e)
	for _, key := range account.Sorts {
		for _, s := range []string{key, "-" + key} {
			page, err := e.st.ListAccounts(e.ctx, account.Filter{Sort: s, Limit: account.MaxLimit})
			if err != nil {
				e.t.Errorf("sort %s: %v", s, err)
				continue
			}
			if want := sorted(b.all, s); !slices.Equal(ids(page.Accounts), ids(want)) {
				e.t.Errorf("sort %s:\n got %v\nwant %v", s, names(page.Accounts), names(want))
			}
		}
	}
	// The default order is by name.
	page, err := e.st.ListAccounts(e.ctx, account.Filter{})
	e.ok(err, "ListAccounts")
	if want := sorted(b.all, "name"); !slices.Equal(ids(page.Accounts), ids(want)) {
		e.t.Errorf("default sort: got %v, want %v", names(page.Accounts), names(want))
	}
}

func testListPaging(e *env) {
	b := newBook(e)
	for _, tc := range []struct {
		f    account.Filter
		want []account.Account
	}{
		{account.Filter{Sort: "name", Limit: 4}, sorted(b.all, "name")},
		{account.Filter{Sort: "-arr", Limit: 3}, sorted(b.all, "-arr")},
		{account.Filter{Sort: "renewal", Limit: 5}, sorted(b.all, "renewal")},
		{account.Filter{Sort: "-health", Limit: 2}, sorted(b.all, "-health")},
		{account.Filter{Sort: "created", Limit: 1}, sorted(b.all, "created")},
		{account.Filter{Sort: "-created", Limit: 13}, sorted(b.all, "-created")},
		{account.Filter{Sort: "seats", Limit: 7, Segment: "Commercial"},
			sorted(slices.DeleteFunc(slices.Clone(b.all), func(a account.Account) bool { return a.Segment != "Commercial" }), "seats")},
	} {
		f := tc.f
		var got []account.Account
		pages := 0
		for {
			page, err := e.st.ListAccounts(e.ctx, f)
			e.ok(err, fmt.Sprintf("ListAccounts %+v", f))
			pages++
			if page.Total != len(tc.want) {
				e.t.Errorf("sort %s page %d: Total = %d, want %d", f.Sort, pages, page.Total, len(tc.want))
			}
			if len(page.Accounts) > f.Limit {
				e.t.Fatalf("sort %s page %d: %d accounts over the limit %d", f.Sort, pages, len(page.Accounts), f.Limit)
			}
			if page.Next != "" && len(page.Accounts) != f.Limit {
				e.t.Errorf("sort %s page %d: short page (%d) with a next cursor", f.Sort, pages, len(page.Accounts))
			}
			got = append(got, page.Accounts...)
			if page.Next == "" || pages > len(b.all) {
				break
			}
			f.Cursor = page.Next
		}
		// All pages together are the whole list, in order: no account
		// twice, none missing, and no empty page at the end.
		if !slices.Equal(ids(got), ids(tc.want)) {
			e.t.Errorf("sort %s by %d:\n got %v\nwant %v", tc.f.Sort, tc.f.Limit, names(got), names(tc.want))
		}
		if wantPages := max(1, (len(tc.want)+tc.f.Limit-1)/tc.f.Limit); pages != wantPages {
			e.t.Errorf("sort %s by %d: %d pages, want %d", tc.f.Sort, tc.f.Limit, pages, wantPages)
		}
	}
}

// testListQueryNonASCII searches names outside ASCII. Only what every
// engine can promise is checked: a name finds itself as spelled, and the
// ASCII part of it in any case. (Folding "É" to "é" depends on the engine
// and, on PostgreSQL, the database's locale.)
func testListQueryNonASCII(e *env) {
	evian := e.account(account.Account{Name: "Évian Eaux", Domain: "evian.example"})
	olwerk := e.account(account.Account{Name: "Ölwerk München", Domain: "ölwerk.example", ExternalID: "DE-Ö1"})
	e.account(account.Account{Name: "Acme"})
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"Évian", []int64{evian.ID}},
		{"EAUX", []int64{evian.ID}},
		{"München", []int64{olwerk.ID}},
		{"ölwerk.example", []int64{olwerk.ID}},
		{"de-Ö1", []int64{olwerk.ID}},
	} {
		page, err := e.st.ListAccounts(e.ctx, account.Filter{Query: tc.q})
		e.ok(err, "ListAccounts")
		if got := ids(page.Accounts); !slices.Equal(got, tc.want) {
			e.t.Errorf("query %q = %v, want %v", tc.q, names(page.Accounts), tc.want)
		}
	}
}

func testListInvalid(e *env) {
	newBook(e)
	for _, tc := range []struct {
		field string
		f     account.Filter
	}{
		{"sort", account.Filter{Sort: "colour"}},
		{"sort", account.Filter{Sort: "--name"}},
		{"limit", account.Filter{Limit: account.MaxLimit + 1}},
		{"limit", account.Filter{Limit: -1}},
		{"health", account.Filter{HealthColor: "purple"}},
		{"cursor", account.Filter{Cursor: "not-a-cursor"}},
		{"cursor", account.Filter{Cursor: "bzotMQ"}}, // "o:-1"
	} {
		page, err := e.st.ListAccounts(e.ctx, tc.f)
		wantErr(e.t, err, derrors.Invalid, tc.field)
		if len(page.Accounts) != 0 {
			e.t.Errorf("%+v: accounts returned with the error", tc.f)
		}
	}
}
