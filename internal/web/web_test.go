package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/web"
)

// book is a small book of business: two TAs, a viewer, an AE and an admin,
// and four accounts, one of them (Acme) with contacts, traits and notes.
type book struct {
	*testEnv
	admin, tina, theo, viewer, ae   team.User
	acme, globex, initech, umbrella account.Account
}

func newBook(t *testing.T) *book {
	t.Helper()
	e := newEnv(t)
	b := &book{testEnv: e}
	b.admin = e.addUser("ada@tend.test", "Ada Admin", team.Admin)
	b.tina = e.addUser("tina@tend.test", "Tina Advisor", team.TA)
	b.theo = e.addUser("theo@tend.test", "Theo Park", team.TA)
	b.viewer = e.addUser("vic@tend.test", "Vic Viewer", team.Viewer)
	b.ae = e.addUser("alma@tend.test", "Alma Exec", team.AE)
	b.acme = e.addAccount(account.Account{Name: "Acme Corp", Domain: "acme.example", ExternalID: "crm-acme",
		EstimatedDevelopers: 2400, ARR: 48500, Seats: 250, OwnerID: &b.tina.ID, AEID: &b.ae.ID, SupportLevel: "managed",
		Segment: "Enterprise", Program: "Managed", Stage: "2. Adopting", CloseDate: day("2025-04-23"),
		RenewalDate: day("2026-04-23"), HealthScore: ptr(7.5), HealthColor: "green", Deployment: "self_hosted",
		Entitlements: []string{"code_search", "ai_assistant"}})
	b.globex = e.addAccount(account.Account{Name: "Globex", ExternalID: "crm-globex", ARR: 250000, Seats: 1200,
		OwnerID: &b.theo.ID, Segment: "Strategic", Program: "Managed", Stage: "4. Renewing", RenewalDate: day("2026-06-01"),
		HealthColor: "red", HealthScore: ptr(2.5)})
	b.initech = e.addAccount(account.Account{Name: "Initech", ExternalID: "crm-initech", ARR: 20000, Seats: 40,
		OwnerID: &b.tina.ID, Segment: "Commercial", Program: "Scaled Success", Stage: "1. Onboarding"})
	b.umbrella = e.addAccount(account.Account{Name: "Umbrella", ExternalID: "crm-umbrella", ARR: 90000, Seats: 300,
		Segment: "Commercial", Program: "Managed", Stage: "3. Nurturing"})

	ctx := context.Background()
	for _, c := range []account.Contact{
		{AccountID: b.acme.ID, Name: "Jane Champion", Email: "jane@acme.example", Title: "VP Engineering",
			Roles: []string{account.RoleChampion, account.RoleBuyer}},
		{AccountID: b.acme.ID, Name: "Bob Admin", Email: "bob@acme.example", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: b.acme.ID, Name: "Nora Noroles", Email: "nora@acme.example"},
	} {
		if err := e.st.CreateContact(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	set := func(by account.Actor, key string, v any) {
		t.Helper()
		w, err := e.ws.Traits.Write(b.acme.ID, key, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SetTraits(ctx, []account.TraitWrite{w}, by); err != nil {
			t.Fatal(err)
		}
	}
	set(account.Actor{UserID: &b.tina.ID, Name: b.tina.Email, Source: account.SourceManual}, "ta_pulse", "Concerning")
	set(account.System("salesforce sync", account.SourceCRM), "region", "EMEA")
	set(account.System("warehouse sync", account.SourceWarehouse), "defect_tickets_90d", "3")
	err := e.st.AddActivity(ctx, &account.Activity{AccountID: b.acme.ID, Kind: account.ActivityNote, ActorID: &b.tina.ID,
		Actor: b.tina.Email, Body: "Kickoff went well.\nChampion is keen on the AI assistant."})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func acmePath(b *book) string { return fmt.Sprintf("/accounts/%d", b.acme.ID) }

func TestLoginAndLogout(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.anonymous()

	res, body := c.get("/")
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Fatalf("Location %q, want /login", loc)
	}
	res, body = c.get("/login")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `name="email"`, `name="password"`, `action="/login"`)

	res, body = c.post("/login", url.Values{"email": {"TINA@tend.test "}, "password": {password}})
	wantStatus(t, res, body, http.StatusSeeOther)
	// A Technical Advisor lands on their dashboard, everyone else on the book.
	if loc := res.Header.Get("Location"); loc != "/dashboard" {
		t.Fatalf("after a TA's login Location %q, want /dashboard", loc)
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"tend_session=", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie %q is Secure although SecureCookies is off", cookie)
	}

	res, body = c.get("/")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Tina Advisor", "Book of business", `action="/logout"`)
	res, body = c.get("/login") // signed in: sent on to the landing page
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/dashboard" {
		t.Errorf("/login when signed in: Location %q, want /dashboard", loc)
	}
	res, body = b.anonymous().post("/login", url.Values{"email": {b.admin.Email}, "password": {password}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("after an admin's login Location %q, want /", loc)
	}

	res, body = c.post("/logout", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = c.get("/")
	wantStatus(t, res, body, http.StatusSeeOther)
}

func TestLoginRefusesWrongPasswordUnknownEmailAndDisabledUser(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	u := b.viewer
	u.Disabled = true
	if err := b.st.UpdateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", b.tina.Email, "not the password"},
		{"unknown email", "nobody@tend.test", password},
		{"disabled user", b.viewer.Email, password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := b.anonymous()
			res, body := c.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}})
			wantStatus(t, res, body, http.StatusUnauthorized)
			wantIn(t, body, "The email or password is not right.")
			if res.Header.Get("Set-Cookie") != "" {
				t.Errorf("a failed login set a cookie: %s", res.Header.Get("Set-Cookie"))
			}
			res, body = c.get("/")
			wantStatus(t, res, body, http.StatusSeeOther)
		})
	}
}

func TestLoginRenewsTheSessionToken(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	u, _ := url.Parse(b.srv.URL)
	before := c.jar.Cookies(u)
	res, body := c.post("/login", url.Values{"email": {b.theo.Email}, "password": {password}})
	wantStatus(t, res, body, http.StatusSeeOther)
	after := c.jar.Cookies(u)
	if len(before) != 1 || len(after) != 1 || before[0].Value == after[0].Value {
		t.Fatalf("session token not renewed at login: before %v, after %v", before, after)
	}
	// The old token no longer signs anyone in.
	old := b.anonymous()
	old.jar.SetCookies(u, before)
	res, body = old.get("/")
	wantStatus(t, res, body, http.StatusSeeOther)
}

func TestSessionRequired(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.anonymous()
	for _, path := range []string{acmePath(b), acmePath(b) + "/assessment", "/dashboard", "/health-changes",
		"/health-changes.csv", "/team", "/settings", "/settings/tokens", "/no/such/page"} {
		res, body := c.get(path)
		wantStatus(t, res, body, http.StatusSeeOther)
		if want := "/login?next=" + url.QueryEscape(path); res.Header.Get("Location") != want {
			t.Errorf("GET %s: Location %q, want %q", path, res.Header.Get("Location"), want)
		}
	}
	res, body := c.post(acmePath(b)+"/notes", url.Values{"body": {"sneaky"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	acts, err := b.st.ListActivities(context.Background(), b.acme.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Body == "sneaky" {
			t.Fatal("a note was added without a session")
		}
	}
	// htmx asks for a fragment; it is told to navigate to the login page.
	res, body = c.get("/?q=acme", "HX-Request", "true")
	wantStatus(t, res, body, http.StatusUnauthorized)
	if got := res.Header.Get("HX-Redirect"); got != "/login" {
		t.Errorf("HX-Redirect %q, want /login", got)
	}
}

func TestLoginReturnsToThePageAskedFor(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	for _, tc := range []struct{ next, want string }{
		{acmePath(b), acmePath(b)},
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
	} {
		c := b.anonymous()
		res, body := c.post("/login", url.Values{"email": {b.tina.Email}, "password": {password}, "next": {tc.next}})
		wantStatus(t, res, body, http.StatusSeeOther)
		if got := res.Header.Get("Location"); got != tc.want {
			t.Errorf("next=%q: Location %q, want %q", tc.next, got, tc.want)
		}
	}
}

func TestCrossOriginPostIsRejected(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	for _, header := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		res, body := c.post(acmePath(b)+"/notes", url.Values{"body": {"forged"}}, header...)
		wantStatus(t, res, body, http.StatusForbidden)
		wantIn(t, body, "came from another site")
	}
	// A cross-site login form cannot sign a victim in either.
	res, body := b.anonymous().post("/login", url.Values{"email": {b.tina.Email}, "password": {password}},
		"Sec-Fetch-Site", "cross-site")
	wantStatus(t, res, body, http.StatusForbidden)

	res, body = c.post(acmePath(b)+"/notes", url.Values{"body": {"genuine"}}, "Sec-Fetch-Site", "same-origin")
	wantStatus(t, res, body, http.StatusSeeOther)
	acts, err := b.st.ListActivities(context.Background(), b.acme.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, a := range acts {
		bodies = append(bodies, a.Body)
	}
	if slices.Contains(bodies, "forged") || !slices.Contains(bodies, "genuine") {
		t.Fatalf("timeline %q: want the same-origin note only", bodies)
	}
}

func TestViewerReadsButCannotWrite(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.viewer.Email)
	res, body := c.get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Acme Corp", "Kickoff went well.")
	wantNotIn(t, body, `name="body"`, `/traits"`, "Settings")

	res, body = c.post(acmePath(b)+"/notes", url.Values{"body": {"viewer note"}})
	wantStatus(t, res, body, http.StatusForbidden)
	wantIn(t, body, "can read but not change data")
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"ta_pulse"}, "value": {"Poor"}})
	wantStatus(t, res, body, http.StatusForbidden)

	h, err := b.st.TraitHistory(context.Background(), b.acme.ID, "ta_pulse", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 {
		t.Fatalf("ta_pulse history has %d changes, want only the seeded one", len(h))
	}
}

func TestSettingsAreForAdminsOnly(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	for _, email := range []string{b.tina.Email, b.viewer.Email, b.ae.Email} {
		c := b.login(email)
		res, body := c.get("/settings")
		wantStatus(t, res, body, http.StatusForbidden)
		wantIn(t, body, "Only admins")
		res, body = c.post("/settings/users", url.Values{"email": {"x@tend.test"}, "name": {"X"}, "role": {"admin"},
			"password": {"long enough password"}})
		wantStatus(t, res, body, http.StatusForbidden)
		res, body = c.post(fmt.Sprintf("/settings/users/%d", b.tina.ID), url.Values{"role": {"admin"}})
		wantStatus(t, res, body, http.StatusForbidden)
	}
	if _, err := b.st.GetUserByEmail(context.Background(), "x@tend.test"); err == nil {
		t.Fatal("a non-admin added a user")
	}
	if u, _ := b.st.GetUser(context.Background(), b.tina.ID); u.Role != team.TA {
		t.Fatalf("a non-admin changed a role to %s", u.Role)
	}
	c := b.login(b.admin.Email)
	res, body := c.get("/settings")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Tina Advisor", "tina@tend.test", "Add a user")
}

// rowNames returns the account names of the book table, in order.
func rowNames(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<td class="name"><a href="/accounts/\d+"[^>]*>([^<]+)</a>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestBookOfBusiness(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	tina := b.login(b.tina.Email)
	admin := b.login(b.admin.Email)

	for _, tc := range []struct {
		name  string
		c     *client
		query string
		want  []string
	}{
		{"a TA sees their own accounts by default", tina, "", []string{"Acme Corp", "Initech"}},
		{"an admin sees every account by default", admin, "", []string{"Acme Corp", "Globex", "Initech", "Umbrella"}},
		{"all accounts", tina, "?owner=all", []string{"Acme Corp", "Globex", "Initech", "Umbrella"}},
		{"another TA's book", tina, fmt.Sprintf("?owner=%d", b.theo.ID), []string{"Globex"}},
		{"unassigned", admin, "?owner=unassigned", []string{"Umbrella"}},
		{"segment", admin, "?segment=Commercial", []string{"Initech", "Umbrella"}},
		{"program", admin, "?program=Scaled+Success", []string{"Initech"}},
		{"stage", admin, "?stage=4.+Renewing", []string{"Globex"}},
		{"health", admin, "?health=red", []string{"Globex"}},
		{"search by name", admin, "?q=glob", []string{"Globex"}},
		{"search by domain", admin, "?q=acme.example", []string{"Acme Corp"}},
		{"search by CRM id", admin, "?q=crm-umbr", []string{"Umbrella"}},
		{"filters combine", admin, "?segment=Commercial&program=Managed", []string{"Umbrella"}},
		{"ARR, largest first", admin, "?sort=-arr", []string{"Globex", "Umbrella", "Acme Corp", "Initech"}},
		{"seats, smallest first", admin, "?sort=seats", []string{"Initech", "Acme Corp", "Umbrella", "Globex"}},
		{"renewal, soonest first, unset last", admin, "?sort=renewal", []string{"Acme Corp", "Globex", "Initech", "Umbrella"}},
		{"nothing matches", admin, "?q=zzz", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := tc.c.get("/" + tc.query)
			wantStatus(t, res, body, http.StatusOK)
			if got := rowNames(body); !slices.Equal(got, tc.want) {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
			want := fmt.Sprintf("<strong>%d</strong> account", len(tc.want))
			wantIn(t, body, want)
		})
	}

	res, body := admin.get("/")
	wantIn(t, body,
		"$48,500", "$250,000", // money
		"2026-04-23", "in 52 days", // renewal, 52 days from the test clock
		`class="dot dot-green"`, `class="dot dot-red"`, // health when set
		"Tina Advisor", "Theo Park", "Unassigned", // owner names
		`<option value="me">My accounts</option>`)
	wantNotIn(t, body, "Vic Viewer</option>") // viewers own no accounts
	// Initech has no health colour: a dash, not a dot.
	initech := body[strings.Index(body, ">Initech<"):]
	initech = initech[:strings.Index(initech, "</tr>")]
	wantIn(t, initech, `<span class="muted">—</span>`)
	wantNotIn(t, initech, `class="dot`)
	_ = res

	for _, bad := range []struct{ query, field string }{
		{"?sort=colour", "sort"},
		{"?owner=someone", "owner"},
		{"?cursor=nonsense", "cursor"},
	} {
		res, body := admin.get("/" + bad.query)
		wantStatus(t, res, body, http.StatusBadRequest)
		wantIn(t, body, bad.field+": ")
	}
}

func TestBookPagingAndFragments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ta := e.addUser("tina@tend.test", "Tina Advisor", team.TA)
	var as []account.Account
	for i := range 120 {
		as = append(as, account.Account{Name: fmt.Sprintf("Account %03d", i), ExternalID: fmt.Sprintf("ext-%d", i),
			ARR: int64(1000 * i), OwnerID: &ta.ID, Segment: "Enterprise"})
	}
	if _, err := e.st.UpsertAccounts(context.Background(), as, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	c := e.login(ta.Email)

	res, body := c.get("/?sort=-arr")
	wantStatus(t, res, body, http.StatusOK)
	rows := rowNames(body)
	if len(rows) != 50 || rows[0] != "Account 119" || rows[49] != "Account 070" {
		t.Fatalf("first page: %d rows %q…", len(rows), rows[:min(3, len(rows))])
	}
	wantIn(t, body, "<strong>120</strong> accounts", "<html")
	next := nextLink.FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next-page link")
	}
	nextURL := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(nextURL, "sort=-arr") || !strings.Contains(nextURL, "owner=me") {
		t.Fatalf("next link %q loses the view", nextURL)
	}

	// htmx gets the results alone, with the sort for the filter form out of band.
	res, body = c.get(nextURL, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantNotIn(t, body, "<html", `<form class="filters"`)
	wantIn(t, body, `id="book-results"`, `id="book-sort" name="sort" value="-arr" hx-swap-oob="true"`, "First page")
	if vary := res.Header.Values("Vary"); !slices.Contains(vary, "HX-Request") {
		t.Errorf("Vary %q lacks HX-Request", vary)
	}
	rows = rowNames(body)
	if len(rows) != 50 || rows[0] != "Account 069" {
		t.Fatalf("second page: %d rows starting %q", len(rows), rows[:1])
	}
	third := nextLink.FindStringSubmatch(body)
	res, body = c.get(strings.ReplaceAll(third[1], "&amp;", "&"))
	if rows = rowNames(body); len(rows) != 20 || rows[19] != "Account 000" {
		t.Fatalf("last page: %d rows", len(rows))
	}
	wantNotIn(t, body, `rel="next"`)

	// A history restore after a cache miss wants the whole page.
	res, body = c.get("/?sort=-arr", "HX-Request", "true", "HX-History-Restore-Request", "true")
	wantIn(t, body, "<html", `<form class="filters"`)

	// Sort links flip the direction of the current sort and keep the filters.
	res, body = c.get("/?segment=Enterprise&sort=-arr")
	wantIn(t, body, `href="/?owner=me&amp;segment=Enterprise&amp;sort=arr"`, `aria-sort="descending"`)
}

func TestAccountPage(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	res, body := c.get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body,
		"<h1>Acme Corp</h1>", "Enterprise", "Managed", "2. Adopting",
		"$48,500", "250", "2026-04-23", "in 52 days", "7.5 / 10", `class="dot dot-green"`,
		// fields under the workspace's labels, people by name
		"<dt>Technical Advisor</dt><dd>Tina Advisor</dd>", "<dt>Account Executive</dt><dd>Alma Exec</dd>",
		"<dt>Customer Engineer</dt><dd>—</dd>", "<dt>Est. developers</dt><dd>2,400</dd>",
		"<dt>Deployment</dt><dd>Self-hosted</dd>", "<dt>Entitlements</dt><dd>AI assistant, Code search</dd>",
		"<dt>CRM ID</dt><dd>crm-acme</dd>",
		// traits grouped by category, with source and last change
		"<caption>TA Pulse</caption>", "<caption>Technical Health</caption>",
		"<caption>Relationships &amp; Engagement</caption>", "<caption>Utilization</caption>", "<caption>Account</caption>",
		`<option selected>Concerning</option>`, "tina@tend.test · 2026-03-02",
		"3 tickets", ">warehouse<", "warehouse sync · ", "EMEA", ">crm<", "salesforce sync · ",
		// history
		"TA Pulse</span> <span class=\"h-change\">— → <strong>Concerning</strong>",
		// contacts by role
		"<h3>Instance admin</h3>", "<h3>Champion</h3>", "<h3>Buyer</h3>", "<h3>No role</h3>",
		"Jane Champion", "VP Engineering", "mailto:bob@acme.example", "Nora Noroles",
		// timeline and the note form
		"Kickoff went well.\nChampion is keen on the AI assistant.", "Account created", `name="body"`)

	// Only manual traits get a form: TA pulse yes, region (CRM) no.
	traits := body[strings.Index(body, `id="traits"`):strings.Index(body, `id="timeline"`)]
	if n := strings.Count(traits, `<form method="post"`); n != 4 {
		t.Errorf("%d trait forms, want 4 (the manual traits)", n)
	}
	region := traits[strings.Index(traits, `id="trait-region"`):]
	region = region[:strings.Index(region, "</tr>")]
	wantNotIn(t, region, "<form")

	// Contacts appear under each of their roles.
	if n := strings.Count(body, "Jane Champion"); n != 2 {
		t.Errorf("Jane Champion listed %d times, want 2 (champion, buyer)", n)
	}
}

func TestUnknownPagesAndAccountsAre404(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	for _, path := range []string{"/no/such/page", "/accounts/999999", "/accounts/abc", "/accounts/-1"} {
		res, body := c.get(path)
		wantStatus(t, res, body, http.StatusNotFound)
		wantIn(t, body, "Not Found", "<html")
	}
	res, body := c.post("/accounts/999999/notes", url.Values{"body": {"hello"}})
	wantStatus(t, res, body, http.StatusNotFound)
}

func TestAddNote(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)

	res, body := c.post(acmePath(b)+"/notes", url.Values{"body": {"  Renewal call booked for April.  "}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != acmePath(b)+"#timeline" {
		t.Fatalf("Location %q", loc)
	}
	res, body = c.get(acmePath(b))
	wantIn(t, body, "Note added.", "Renewal call booked for April.", "Tina Advisor · <time>2026-03-02")
	acts, err := b.st.ListActivities(context.Background(), b.acme.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[0]; a.Kind != account.ActivityNote || a.Body != "Renewal call booked for April." ||
		a.ActorID == nil || *a.ActorID != b.tina.ID || a.Actor != b.tina.Email {
		t.Fatalf("stored note %+v", a)
	}
	// The flash is shown once.
	_, body = c.get(acmePath(b))
	wantNotIn(t, body, "Note added.")

	// Over htmx: the changed sections come back, out of band.
	res, body = c.post(acmePath(b)+"/notes", url.Values{"body": {"Sent the QBR deck."}}, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantNotIn(t, body, "<html")
	wantIn(t, body, `<section id="timeline" class="panel" hx-swap-oob="true">`, "Sent the QBR deck.",
		`hx-swap-oob="true">`+`<p class="flash">Note added.</p>`)

	// An empty note is refused, naming what is wrong.
	res, body = c.post(acmePath(b)+"/notes", url.Values{"body": {"   "}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Write the note first: it is empty.", "<html")
	res, body = c.post(acmePath(b)+"/notes", url.Values{"body": {strings.Repeat("x", 10001)}}, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "A note is at most 10,000 characters", `aria-invalid="true"`)
}

func TestEditManualTrait(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.theo.Email) // any writer may edit, not only the owner
	ctx := context.Background()

	res, body := c.post(acmePath(b)+"/traits", url.Values{"key": {"ta_pulse"}, "value": {"healthy"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != acmePath(b)+"#traits" {
		t.Fatalf("Location %q", loc)
	}
	_, body = c.get(acmePath(b))
	wantIn(t, body, "TA Pulse set to Healthy.")
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"active_champion"}, "value": {"true"}},
		"HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<section id="traits" class="panel" hx-swap-oob="true">`,
		`<section id="trait-history" class="panel" hx-swap-oob="true">`, "Active champion? set to Yes.")

	h, err := b.st.TraitHistory(ctx, b.acme.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 2 {
		t.Fatalf("history %+v", h)
	}
	champ, pulse := h[0], h[1]
	if champ.Key != "active_champion" || champ.New != true || champ.Old != nil {
		t.Errorf("champion change %+v", champ)
	}
	if pulse.Key != "ta_pulse" || pulse.Old != "Concerning" || pulse.New != "Healthy" || pulse.Source != account.SourceManual ||
		pulse.ActorID == nil || *pulse.ActorID != b.theo.ID || pulse.Actor != b.theo.Email {
		t.Errorf("pulse change %+v", pulse)
	}
	_, body = c.get(acmePath(b))
	wantIn(t, body, "Concerning → <strong>Healthy</strong>", "Theo Park · manual",
		`<option selected>Healthy</option>`, `<option value="true" selected>Yes</option>`)

	// Saving the same value changes nothing and says so.
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"ta_pulse"}, "value": {"Healthy"}}, "HX-Request", "true")
	wantIn(t, body, "TA Pulse is unchanged.")
	// An empty value clears the trait.
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"success_plan_url"}, "value": {"https://docs.example/plan"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"success_plan_url"}, "value": {""}}, "HX-Request", "true")
	wantIn(t, body, "Success plan cleared.")
	if h, _ := b.st.TraitHistory(ctx, b.acme.ID, "", 100); len(h) != 7 {
		t.Errorf("history has %d changes, want 7", len(h))
	}
}

func TestEditTraitRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	for _, tc := range []struct {
		name, key, value string
		htmx             bool
		want             []string
	}{
		{"enum value not allowed", "ta_pulse", "Great", false,
			[]string{`&#34;Great&#34; is not one of Healthy, Concerning, Poor`, `class="has-error"`, "<html"}},
		{"bool that is not yes or no", "access_to_buyer", "maybe", true,
			[]string{`&#34;maybe&#34; is not true or false`, `hx-swap-oob="true"`}},
		{"text too long", "success_plan_url", strings.Repeat("u", 4001), false,
			[]string{"text is longer than 4000 characters"}},
		{"synced trait", "region", "APAC", false, []string{"traits.region: comes from crm, so it cannot be edited here"}},
		{"computed trait", "usage_score", "0.5", false, []string{"traits.usage_score: comes from computed"}},
		{"unknown trait", "shoe_size", "42", false, []string{"traits.shoe_size: is not a trait this workspace defines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.htmx {
				header = []string{"HX-Request", "true"}
			}
			res, body := c.post(acmePath(b)+"/traits", url.Values{"key": {tc.key}, "value": {tc.value}}, header...)
			wantStatus(t, res, body, http.StatusUnprocessableEntity)
			wantIn(t, body, tc.want...)
		})
	}
	h, err := b.st.TraitHistory(context.Background(), b.acme.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("refused writes changed history: %d changes, want the 3 seeded", len(h))
	}
}

func TestTeamPage(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.viewer.Email)
	res, body := c.get("/team")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "4 accounts", "$318,500 ARR with an owner", `href="/?owner=unassigned">1 unassigned`,
		"Tina Advisor", "Technical Advisor", "$68,500", "21.5%", fmt.Sprintf(`href="/?owner=%d"`, b.tina.ID),
		"Theo Park", "$250,000", "78.5%", "Vic Viewer", "Viewer")
}

func TestUsersAdministration(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	admin := b.login(b.admin.Email)
	ctx := context.Background()

	res, body := admin.post("/settings/users", url.Values{"email": {"Nina@Tend.test"}, "name": {"Nina New"},
		"role": {"ta"}, "password": {"a long enough password"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	nina, err := b.st.GetUserByEmail(ctx, "nina@tend.test")
	if err != nil || nina.Role != team.TA || !team.CheckPassword(nina.PasswordHash, "a long enough password") {
		t.Fatalf("new user %+v, %v", nina, err)
	}
	_, body = admin.get("/settings")
	wantIn(t, body, "Nina New (nina@tend.test) was added as Technical Advisor.")

	for _, tc := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"email": {"nina@tend.test"}, "name": {"Nina Again"}, "role": {"ta"}, "password": {"a long enough password"}},
			http.StatusConflict, "Email is already taken."},
		{url.Values{"email": {"short@tend.test"}, "name": {"Short"}, "role": {"ta"}, "password": {"short"}},
			http.StatusUnprocessableEntity, "Password must be at least 10 characters."},
		{url.Values{"email": {"not-an-email"}, "name": {"X"}, "role": {"ta"}, "password": {"a long enough password"}},
			http.StatusUnprocessableEntity, "Email: &#34;not-an-email&#34; is not an email address."},
		{url.Values{"email": {"r@tend.test"}, "name": {"R"}, "role": {"wizard"}, "password": {"a long enough password"}},
			http.StatusUnprocessableEntity, "Role: &#34;wizard&#34; is not one of"},
	} {
		res, body := admin.post("/settings/users", tc.form)
		wantStatus(t, res, body, tc.status)
		wantIn(t, body, tc.want, `value="`+tc.form.Get("name")+`"`)
	}

	// Nina signs in; disabling her ends her session at once.
	nc := b.loginWith("nina@tend.test", "a long enough password")
	res, body = admin.post(fmt.Sprintf("/settings/users/%d", nina.ID), url.Values{"role": {"viewer"}, "disabled": {"on"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if u, _ := b.st.GetUser(ctx, nina.ID); !u.Disabled || u.Role != team.Viewer {
		t.Fatalf("after update %+v", u)
	}
	res, body = nc.get("/")
	wantStatus(t, res, body, http.StatusSeeOther)

	// A new password; the old one stops working.
	res, body = admin.post(fmt.Sprintf("/settings/users/%d", b.theo.ID), url.Values{"role": {"manager"}, "password": {"brand new password"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	theo, _ := b.st.GetUser(ctx, b.theo.ID)
	if theo.Role != team.Manager || !team.CheckPassword(theo.PasswordHash, "brand new password") {
		t.Fatalf("theo %+v", theo)
	}

	// Admins cannot lock themselves out.
	res, body = admin.post(fmt.Sprintf("/settings/users/%d", b.admin.ID), url.Values{"role": {"ta"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Role is yours; another admin must change it.")
	res, body = admin.post(fmt.Sprintf("/settings/users/%d", b.admin.ID), url.Values{"role": {"admin"}, "disabled": {"on"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "You cannot disable yourself.")
	if u, _ := b.st.GetUser(ctx, b.admin.ID); u.Role != team.Admin || u.Disabled {
		t.Fatalf("admin changed themselves: %+v", u)
	}
	res, body = admin.post("/settings/users/424242", url.Values{"role": {"ta"}})
	wantStatus(t, res, body, http.StatusNotFound)
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ctx := context.Background()
	secretRe := regexp.MustCompile(`<code class="secret-value">(tend_[a-z0-9]+)</code>`)

	// Only admins manage API tokens (issue 2): a TA gets no page and no token.
	tina := b.login(b.tina.Email)
	for _, p := range []string{"/settings/tokens"} {
		res, body := tina.get(p)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	res, body := tina.post("/settings/tokens", url.Values{"name": {"my laptop"}})
	wantStatus(t, res, body, http.StatusForbidden)
	_, body = tina.get("/")
	wantNotIn(t, body, `href="/settings/tokens"`)

	// The admin makes a token for Tina and sees it once.
	admin := b.login(b.admin.Email)
	res, body = admin.post("/settings/tokens", url.Values{"name": {"my laptop"}, "user_id": {fmt.Sprint(b.tina.ID)}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get("/settings/tokens")
	m := secretRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret shown:\n%s", body)
	}
	tok, owner, err := b.st.TokenByHash(ctx, team.HashToken(m[1]), today)
	if err != nil || owner.ID != b.tina.ID || tok.Name != "my laptop" {
		t.Fatalf("token %+v of %+v: %v", tok, owner, err)
	}
	_, body = admin.get("/settings/tokens") // a reload: listed, never shown again
	wantIn(t, body, "my laptop")
	wantNotIn(t, body, m[1])
	if ts, _ := b.st.ListTokens(ctx, b.tina.ID); len(ts) != 1 {
		t.Errorf("Tina has %d tokens after a reload, want 1", len(ts))
	}
	res, body = admin.post("/settings/tokens", url.Values{"name": {"  "}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Name is required.")

	// The admin sees everyone's tokens, makes one for Theo and deletes Tina's.
	res, body = admin.post("/settings/tokens", url.Values{"name": {"nightly export"}, "user_id": {fmt.Sprint(b.theo.ID)}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get("/settings/tokens")
	wantIn(t, body, "All API tokens", "my laptop", "Tina Advisor", "nightly export", "Theo Park")
	theoTokens, _ := b.st.ListTokens(ctx, b.theo.ID)
	if len(theoTokens) != 1 {
		t.Fatalf("theo has %d tokens", len(theoTokens))
	}

	// Tina cannot delete Theo's token.
	res, body = tina.post(fmt.Sprintf("/settings/tokens/%d/delete", theoTokens[0].ID), nil)
	wantStatus(t, res, body, http.StatusForbidden)

	res, body = admin.post(fmt.Sprintf("/settings/tokens/%d/delete", tok.ID), nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	if _, _, err := b.st.TokenByHash(ctx, team.HashToken(m[1]), today); err == nil {
		t.Fatal("deleted token still works")
	}
	_, body = admin.get("/settings/tokens")
	wantIn(t, body, `The token &#34;my laptop&#34; was deleted`)
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	b.st.Close() // every query now fails
	res, body := c.get("/")
	wantStatus(t, res, body, http.StatusInternalServerError)
	wantIn(t, body, "Something went wrong on our side.")
	wantNotIn(t, body, "sql", "database")
	wantIn(t, b.log.String(), "level=ERROR", "database is closed")
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.anonymous()
	_, page := c.get("/login")
	for _, name := range []string{"tend.css", "htmx.min.js"} {
		m := regexp.MustCompile(`"(/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("login page does not link %s", name)
		}
		res, body := c.get(m[1])
		wantStatus(t, res, body, http.StatusOK)
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
	}
	res, body := c.get("/static/htmx.min.js")
	wantIn(t, body, "htmx")
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("unversioned asset Cache-Control %q", cc)
	}
	res, _ = c.get("/static/htmx.LICENSE")
	wantStatus(t, res, "", http.StatusOK)
	for _, path := range []string{"/static/", "/static/nope.js"} {
		res, body := c.get(path)
		wantStatus(t, res, body, http.StatusNotFound)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ui, err := web.New(web.Config{Store: b.st, Workspace: b.ws, SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/login",
		strings.NewReader(url.Values{"email": {b.tina.Email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	ui.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", rec.Code)
	}
	if cookie := rec.Header().Get("Set-Cookie"); !strings.Contains(cookie, "; Secure") || !strings.Contains(cookie, "HttpOnly") {
		t.Fatalf("cookie %q is not Secure and HttpOnly", cookie)
	}
}
