package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
)

// withAssessor starts an assessor on the env's store, polling every 20 ms
// on the tests' clock, and serves a UI that reads it. Call it before
// signing in (the server moves to a new address).
func (e *testEnv) withAssessor() *engine.Assessor {
	e.t.Helper()
	a := engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: func() time.Time { return today },
		Poll: 20 * time.Millisecond})
	a.Start()
	e.t.Cleanup(func() { a.Close() })
	e.assessor = a
	e.serve()
	return a
}

// waitFor polls the account until cond holds, for at most five seconds.
func (e *testEnv) waitFor(id int64, what string, cond func(account.Account) bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, err := e.st.GetAccount(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(a) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("waiting for %s: account is %s / %s / %s / %s", what, a.Segment, a.Program, a.Stage, a.HealthColor)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Acme, as newBook seeds it and the handbook's rules assess it on
// 2026-03-02: 2,400 developers (Enterprise), $48,500 ARR (Managed, as it is
// not Commercial), renewal 2026-04-23 in 52 days (Renewing, ≤ 120), TA
// pulse Concerning and 3 defect tickets (5 points each): 5.00, yellow.
func TestAccountHealthAndLifecycleCards(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.withAssessor()
	b.waitFor(b.acme.ID, "Acme assessed", func(a account.Account) bool { return a.HealthColor == "yellow" })
	c := b.login(b.viewer.Email) // viewers read the cards
	res, body := c.get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body,
		// the header, from the record the assessor saved
		`<span class="tag tag-stage">4. Renewing</span>`, `class="dot dot-yellow"`, "5.0 / 10",
		// score, colour, the model and why
		`<span class="score-big score-yellow">5.00</span>`, `<span class="chip chip-color-yellow">Yellow</span>`,
		"Model <strong>default</strong> — default: no earlier model&#39;s condition holds",
		// categories with weight, effective weight and mean; one without data is left out
		"TA Pulse <span class=\"cat-weight\">weight 5 · 50% of the score</span>",
		"Technical Health <span class=\"cat-weight\">weight 5 · 50% of the score</span>",
		"Utilization <span class=\"cat-weight\">weight 75 · no data, left out</span>",
		// metrics: label, value, status, points, and the advice
		`<td title="healthy Healthy, poor Poor, concerning between"><a class="metric-link" href="#trait-ta_pulse">TA pulse</a></td>`,
		`<td class="num">Concerning</td>`, `<span class="chip chip-concerning">concerning</span>`,
		"↳</span> TA pulse Concerning: setting it to Healthy reaches healthy",
		"↳</span> defect tickets 3: 2 fewer reaches healthy (&lt; 2)",
		`<span class="chip chip-missing">no data</span>`,
		// the smallest colour-raising move first
		"What would turn it green",
		`<li class="first"><strong>Defect tickets</strong>: 2 fewer reaches healthy (&lt; 2) turns it green (score 7.50)</li>`,
		"<strong>TA pulse</strong>: setting it to Healthy reaches healthy turns it green (score 7.50)",
		// today's snapshot on the trend
		`<circle class="last pt-yellow"`, "<title>Mon 2 Mar 2026: 5.00, yellow (model default)</title>",
		// lifecycle: each decision with its reason, what would move it
		"Enterprise: 2,400 estimated developers (1,500 to 9,999)",
		"Managed: Enterprise (Scaled Success is for Commercial accounts with ARR under $50,000)",
		"Renewing: renewal 2026-04-23 is 52 days away (≤ 120)",
		// the history the assessor recorded, and its timeline entries
		`<span class="h-label">Stage</span>`, "2. Adopting → <strong>4. Renewing</strong>",
		`<span class="h-label">Health</span>`, "Green → <strong>Yellow</strong> <span class=\"muted\">(7.50 → 5.00)</span>",
		`<span class="trend trend-down" title="worse">▼</span>`,
		`<span class="kind">Health</span>`, `<span class="kind">Lifecycle</span>`,
		// the cards poll while the assessor runs
		`hx-trigger="every 2s, inputs-changed from:body delay:500ms"`)
	wantNotIn(t, body, "not being assessed")
}

// assessmentVersion is the version the page's cards poll with.
var assessmentVersion = regexp.MustCompile(`hx-get="/accounts/\d+/assessment\?v=([0-9a-f]+)"`)

// The cards refresh themselves: their endpoint answers 204 while the
// version holds, and the new cards (with the header, out of band) once a
// trait edit moved the colour.
func TestAssessmentRefresh(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	b.withAssessor()
	b.waitFor(b.acme.ID, "Acme assessed", func(a account.Account) bool { return a.HealthColor == "yellow" })
	c := b.login(b.tina.Email)
	_, body := c.get(acmePath(b))
	m := assessmentVersion.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no polling version on the page:\n%s", body)
	}
	poll := acmePath(b) + "/assessment?v=" + m[1]
	res, body := c.get(poll, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusNoContent)
	if body != "" {
		t.Errorf("204 with a body: %q", body)
	}

	// TA pulse Poor: TA Pulse 0, Technical Health 5 → 2.50, red.
	res, body = c.post(acmePath(b)+"/traits", url.Values{"key": {"ta_pulse"}, "value": {"Poor"}}, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	if got := res.Header.Get("HX-Trigger"); got != "inputs-changed" {
		t.Errorf("HX-Trigger %q after a trait change, want inputs-changed", got)
	}
	b.waitFor(b.acme.ID, "red", func(a account.Account) bool { return a.HealthColor == "red" })
	res, body = c.get(poll, "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<div id="assessment" class="assessment" hx-get=`, `<span class="score-big score-red">2.50</span>`,
		"Yellow → <strong>Red</strong>", `<div class="account-head" id="account-head" hx-swap-oob="true">`,
		`class="dot dot-red"`, "↳</span> TA pulse Poor: setting it to Healthy reaches healthy")
	wantNotIn(t, body, "<html", `id="traits"`)
	if n := assessmentVersion.FindStringSubmatch(body); n == nil || n[1] == m[1] {
		t.Errorf("the new cards poll with the old version %q", m[1])
	}

	// Saving the same value changes nothing: no refresh is asked for.
	res, _ = c.post(acmePath(b)+"/traits", url.Values{"key": {"ta_pulse"}, "value": {"Poor"}}, "HX-Request", "true")
	if got := res.Header.Get("HX-Trigger"); got != "" {
		t.Errorf("HX-Trigger %q after an unchanged save", got)
	}
	res, body = c.get("/accounts/424242/assessment", "HX-Request", "true")
	wantStatus(t, res, body, http.StatusNotFound)
}

func TestCardsWithoutAssessor(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	// What an earlier run recorded is still shown.
	ctx := context.Background()
	err := b.st.SaveHealthSnapshots(ctx, []store.HealthSnapshot{{AccountID: b.acme.ID, Day: date.MustParse("2026-03-01"),
		Score: ptr(7.5), Color: "green", Model: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	res, body := b.login(b.tina.Email).get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Health is not being assessed: this server runs without the assessment engine.",
		"Not being assessed on this server: these are the values last saved.", `<span class="tag tag-stage">2. Adopting</span>`,
		"<title>Sun 1 Mar 2026: 7.50, green (model default)</title>", "No changes recorded yet.")
	wantNotIn(t, body, "hx-trigger=\"every 2s", "score-big")
}

func TestAccountChangesAreListedNewestFirst(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ctx := context.Background()
	var changes []store.StateChange
	for i := range 30 {
		changes = append(changes, store.StateChange{Kind: store.ChangeStage, Old: "2. Adopting", New: "3. Nurturing",
			Reason: fmt.Sprintf("change %02d", i)})
	}
	err := b.st.SaveAssessments(ctx, []store.Assessment{{AccountID: b.acme.ID, Segment: "Enterprise", Program: "Managed",
		Stage: "3. Nurturing", Score: ptr(7.5), Color: "green", State: []byte(`{}`), Changes: changes, At: today}})
	if err != nil {
		t.Fatal(err)
	}
	_, body := b.login(b.tina.Email).get(acmePath(b))
	card := body[strings.Index(body, `id="lifecycle"`):]
	if n := strings.Count(card, `<li class="change change-stage">`); n != 25 {
		t.Errorf("%d changes listed, want the latest 25", n)
	}
	wantIn(t, card, "The latest 25 changes; <code>/api/v1/accounts/", "/changes</code> lists them all.")
}

// The book shows each account's score by its colour, and above the table
// the health distribution of what the filters other than health select.
func TestBookHealthDistribution(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.admin.Email)
	_, body := c.get("/")
	wantIn(t, body, `<span class="dot dot-green" title="green · 7.5" aria-label="health green"></span> <span class="num score">7.5</span>`,
		`aria-label="Health of 4 accounts, Green 1, Yellow 0, Red 1, No score 2"`,
		`<rect class="seg seg-green" x="0" y="0" width="25" height="10"><title>Green: 1 (25%)</title></rect>`,
		`<rect class="seg seg-red" x="25" y="0" width="25" height="10">`,
		`<rect class="seg seg-none" x="50" y="0" width="50" height="10">`,
		`<a href="/?health=red&amp;owner=all">Red <strong>1</strong></a>`, `No score <strong>2</strong>`)
	wantNotIn(t, body, `seg-yellow`) // no yellow account: no rect

	// Filtered by red: the bar still counts every colour, the others dim,
	// and red's link clears the filter.
	_, body = c.get("/?health=red")
	wantIn(t, body, `<div class="dist dist-filtered">`, `<rect class="seg seg-green dim"`, `<rect class="seg seg-red" `,
		`<a href="/?owner=all">Red <strong>1</strong></a>`)
	if got := rowNames(body); len(got) != 1 || got[0] != "Globex" {
		t.Fatalf("rows %q", got)
	}
	// Other filters narrow it; so does htmx's fragment.
	_, body = c.get("/?segment=Commercial", "HX-Request", "true")
	wantIn(t, body, `aria-label="Health of 2 accounts, Green 0, Yellow 0, Red 0, No score 2"`)
	_, body = b.login(b.tina.Email).get("/")
	wantIn(t, body, `aria-label="Health of 2 accounts, Green 1, Yellow 0, Red 0, No score 1"`,
		`<a href="/?health=green&amp;owner=me">Green <strong>1</strong></a>`)
}
