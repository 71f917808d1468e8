package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/team"
)

// sectionOf returns the part of the page inside the section with id.
func sectionOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no section %s in:\n%s", id, body)
	}
	s := body[i:]
	return s[:strings.Index(s, "</section>")]
}

// linkedNames returns the account names linked in a part of a page.
func linkedNames(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<a href="/accounts/\d+">([^<]+)</a>`).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// The dashboard on 2026-03-02, when Renewing starts 120 days before the
// renewal: a renewal from 2026-07-01 (121 days) to 2026-07-30 (150 days)
// enters Renewing in the next 30 days.
func TestDashboard(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	withHealthChanges(b)
	tina := &b.tina.ID
	add := func(name, stage, renewal, color string) {
		a := account.Account{Name: name, ExternalID: "crm-" + strings.ToLower(name), OwnerID: tina, Stage: stage,
			HealthColor: color, ARR: 30000}
		if color != "" {
			a.HealthScore = ptr(5.0)
		}
		if renewal != "" {
			a.RenewalDate = day(renewal)
		}
		b.addAccount(a)
	}
	add("Hooli", "3. Nurturing", "2026-07-10", "yellow")   // 130 days: Renewing from 2026-03-12
	add("Pied Piper", "2. Adopting", "2026-07-01", "red")  // 121 days: from tomorrow
	add("Hooli XYZ", "2. Adopting", "2026-07-30", "green") // 150 days: the last day of the window
	add("Vandelay", "2. Adopting", "2026-07-31", "")       // 151 days: not yet
	add("Wonka", "3. Nurturing", "2026-06-30", "green")    // 120 days: already due, but not Renewing (processed)
	add("Wayne", "Churned", "2026-07-10", "")              // churned: never
	add("Prospectus", "0. Prospect", "2026-07-10", "")     // not closed: not by the clock
	add("Stark", "4. Renewing", "2026-05-01", "red")       // Renewing now
	add("Tyrell", "4. Renewing", "2026-04-01", "yellow")   // Renewing now, sooner

	c := b.login(b.tina.Email)
	res, body := c.get("/dashboard")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `aria-current="page">Dashboard</a>`, "<h1>Dashboard</h1>", "My accounts")

	// My accounts by colour, each a link to the book.
	colours := sectionOf(t, body, "by-colour")
	wantIn(t, colours, `<a class="tile tile-green" href="/?health=green&amp;owner=me"><span class="tile-n">3</span>`,
		`<a class="tile tile-yellow" href="/?health=yellow&amp;owner=me"><span class="tile-n">2</span>`,
		`<a class="tile tile-red" href="/?health=red&amp;owner=me"><span class="tile-n">2</span>`,
		`<div class="tile tile-none"><span class="tile-n">4</span><span class="tile-label">No score</span>`,
		`aria-label="Health of 11 accounts, Green 3, Yellow 2, Red 2, No score 4"`,
		`<a class="small" href="/?owner=me">11 accounts in the book ›</a>`)

	// My health changes of the last 14 days (from 2026-02-17): not
	// Acme's of 10 February, nor anyone else's.
	changes := sectionOf(t, body, "recent-changes")
	if got := linkedNames(changes); !slices.Equal(got, []string{"Initech", "Acme Corp"}) {
		t.Errorf("recent changes %q", got)
	}
	wantIn(t, changes, `href="/health-changes?from=2026-02-17&amp;owner=me"`, "5.00 → 7.50",
		`<span class="chip chip-color-yellow">Yellow</span> → <span class="chip chip-color-green">Green</span>`)

	entering := sectionOf(t, body, "entering-renewing")
	if got := linkedNames(entering); !slices.Equal(got, []string{"Pied Piper", "Hooli", "Hooli XYZ"}) {
		t.Errorf("entering Renewing %q, want the renewals 121 to 150 days away, soonest first", got)
	}
	wantIn(t, entering, "Renewing starts 120 days before the renewal date.",
		"2026-07-01 <span class=\"rel\">in 121 days</span>", "2026-03-03 <span class=\"rel\">tomorrow</span>",
		"2026-03-12 <span class=\"rel\">in 10 days</span>", "$30,000")

	renewing := sectionOf(t, body, "renewing")
	if got := linkedNames(renewing); !slices.Equal(got, []string{"Tyrell", "Stark"}) {
		t.Errorf("Renewing now %q", got)
	}
	wantIn(t, renewing, `href="/?owner=me&amp;sort=renewal&amp;stage=4.&#43;Renewing">2 in the book ›</a>`, "2026-04-01")

	// Another owner's dashboard, and everyone's, which is the default of
	// roles other than TA; viewers read it.
	_, body = c.get(fmt.Sprintf("/dashboard?owner=%d", b.theo.ID))
	wantIn(t, body, "Theo Park’s accounts", fmt.Sprintf(`<option value="%d" selected>Theo Park</option>`, b.theo.ID))
	if got := linkedNames(sectionOf(t, body, "renewing")); !slices.Equal(got, []string{"Globex"}) {
		t.Errorf("Theo's Renewing now %q", got)
	}
	res, body = b.login(b.viewer.Email).get("/dashboard")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "All accounts", `aria-label="Health of 13 accounts`)
	if got := linkedNames(sectionOf(t, body, "recent-changes")); len(got) != 4 {
		t.Errorf("everyone's changes since 2026-02-17: %q, want Initech, Acme, Umbrella and Globex", got)
	}

	res, body = c.get("/dashboard?owner=someone")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "owner: &#34;someone&#34; is not a team member&#39;s id, me, unassigned or all")
}

func TestDashboardOfAnEmptyBook(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.addUser("nina@tend.test", "Nina New", team.TA)
	res, body := b.login("nina@tend.test").get("/dashboard")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `aria-label="Health of 0 accounts`, "No health colour changed in the last 14 days.",
		"No account enters Renewing in the next 30 days.", "No account is Renewing.")
}
