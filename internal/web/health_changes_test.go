package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// recordChange stores a state change of an account at a time, as the
// assessor would, leaving its derived fields as they are.
func (e *testEnv) recordChange(id int64, at time.Time, c store.StateChange) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.st.GetAccount(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.st.SaveAssessments(ctx, []store.Assessment{{AccountID: id, Segment: a.Segment, Program: a.Program, Stage: a.Stage,
		Score: a.HealthScore, Color: a.HealthColor, State: []byte(`{}`), Changes: []store.StateChange{c}, At: at}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// health is a health change for recordChange.
func health(old, new string, oldScore, newScore float64, dir int, reason string) store.StateChange {
	c := store.StateChange{Kind: store.ChangeHealth, Old: old, New: new, Direction: dir, Reason: reason}
	if old != "" {
		c.OldScore = ptr(oldScore)
	}
	c.NewScore = ptr(newScore)
	return c
}

// withHealthChanges records five health changes over February and March
// 2026 and one stage change, which the health list leaves out.
func withHealthChanges(b *book) {
	at := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			b.t.Fatal(err)
		}
		return t
	}
	b.recordChange(b.acme.ID, at("2026-02-10 10:00"), health("green", "yellow", 7.5, 5, -1,
		"Health green → yellow (score 7.50 → 5.00): TA pulse Concerning healthy → concerning"))
	b.recordChange(b.globex.ID, at("2026-02-20 12:00"), health("yellow", "red", 4, 2.5, -1,
		"Health yellow → red (score 4.00 → 2.50): usage score 0.12 concerning → poor"))
	b.recordChange(b.umbrella.ID, at("2026-02-25 09:00"), health("red", "yellow", 2, 4, 1,
		"Health red → yellow (score 2.00 → 4.00): MAU over seats 0.55 poor → concerning"))
	b.recordChange(b.acme.ID, at("2026-03-01 23:30"), health("yellow", "green", 5, 7.5, 1,
		"Health yellow → green (score 5.00 → 7.50): TA pulse Healthy concerning → healthy"))
	b.recordChange(b.initech.ID, at("2026-03-02 08:00"), health("", "yellow", 0, 5, 0,
		"Health yellow (score 5.00, model onboarding)"))
	b.recordChange(b.acme.ID, at("2026-03-02 08:30"), store.StateChange{Kind: store.ChangeStage, Old: "2. Adopting",
		New: "4. Renewing", Reason: "Renewing: renewal 2026-04-23 is 52 days away (≤ 120)"})
}

// changeRows returns the account names of the health changes table, in
// order.
func changeRows(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<td class="name"><a href="/accounts/\d+">([^<]+)</a>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestHealthChangesList(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	withHealthChanges(b)
	admin := b.login(b.admin.Email)
	tina := b.login(b.tina.Email)

	for _, tc := range []struct {
		name  string
		c     *client
		query string
		want  []string
	}{
		{"everyone's, newest first, for an admin", admin, "", []string{"Initech", "Acme Corp", "Umbrella", "Globex", "Acme Corp"}},
		{"a TA's own by default", tina, "", []string{"Initech", "Acme Corp", "Acme Corp"}},
		{"all owners", tina, "?owner=all", []string{"Initech", "Acme Corp", "Umbrella", "Globex", "Acme Corp"}},
		{"another TA's", tina, fmt.Sprintf("?owner=%d", b.theo.ID), []string{"Globex"}},
		{"unassigned", admin, "?owner=unassigned", []string{"Umbrella"}},
		{"from and to, both days included", admin, "?from=2026-02-20&to=2026-02-25", []string{"Umbrella", "Globex"}},
		{"from only", admin, "?from=2026-03-01", []string{"Initech", "Acme Corp"}},
		{"to only", admin, "?to=2026-02-10", []string{"Acme Corp"}},
		{"better", admin, "?direction=better", []string{"Acme Corp", "Umbrella"}},
		{"worse", admin, "?direction=worse", []string{"Globex", "Acme Corp"}},
		{"filters combine", admin, "?owner=me&direction=worse", nil},
		{"nothing in range", admin, "?from=2025-01-01&to=2025-12-31", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := tc.c.get("/health-changes" + tc.query)
			wantStatus(t, res, body, http.StatusOK)
			if got := changeRows(body); !slices.Equal(got, tc.want) {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
			if tc.want == nil {
				wantIn(t, body, "No health changes match these filters.")
			}
		})
	}

	res, body := admin.get("/health-changes")
	wantIn(t, body, `aria-current="page">Health changes</a>`,
		// account, date, old colour, new colour, scores, owner, reason
		fmt.Sprintf(`<td class="name"><a href="/accounts/%d">Globex</a></td>`, b.globex.ID), "2026-02-20 12:00",
		`<td><span class="chip chip-color-yellow">Yellow</span></td>`,
		`<span class="chip chip-color-red">Red</span> <span class="trend trend-down" title="worse">▼</span>`,
		"4.00 → 2.50", `<td class="owner">Theo Park</td>`, "usage score 0.12 concerning → poor",
		`<span class="chip chip-color-none">No score</span>`, "— → 5.00", // Initech's first score
		`<td class="owner"><span class="muted">Unassigned</span></td>`,
		`href="/health-changes.csv?owner=all"`, "days and times in UTC")
	wantNotIn(t, body, "52 days away") // the stage change
	_ = res

	// The filters are kept in the form and in the export link; htmx gets
	// the results alone.
	_, body = admin.get("/health-changes?owner=unassigned&from=2026-02-01&to=2026-02-28&direction=better")
	wantIn(t, body, `<option value="unassigned" selected>`, `name="from" value="2026-02-01"`, `name="to" value="2026-02-28"`,
		`<option value="better" selected>Better</option>`,
		`href="/health-changes.csv?direction=better&amp;from=2026-02-01&amp;owner=unassigned&amp;to=2026-02-28"`)
	res, body = admin.get("/health-changes?direction=worse", "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	wantNotIn(t, body, "<html", `<form class="filters"`)
	wantIn(t, body, `id="changes-results"`, "Globex")

	// Viewers read it too.
	res, body = b.login(b.viewer.Email).get("/health-changes?owner=all")
	wantStatus(t, res, body, http.StatusOK)
	if got := changeRows(body); len(got) != 5 {
		t.Errorf("a viewer sees %q", got)
	}
}

func TestHealthChangesRefuseBadFilters(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.login(b.tina.Email)
	for _, tc := range []struct{ query, want string }{
		{"?from=yesterday", `from: &#34;yesterday&#34; is not a date (YYYY-MM-DD)`},
		{"?to=2026-13-01", `to: &#34;2026-13-01&#34; is not a date (YYYY-MM-DD)`},
		{"?from=2026-03-02&to=2026-03-01", "to: is before from"},
		{"?direction=sideways", `direction: &#34;sideways&#34; is not better or worse`},
		{"?owner=bob", `owner: &#34;bob&#34; is not a team member&#39;s id, me, unassigned or all`},
		{"?owner=-3", "owner: "},
		{"?cursor=junk", "cursor: is not a cursor this server issued"},
	} {
		for _, path := range []string{"/health-changes", "/health-changes.csv"} {
			if strings.HasSuffix(path, ".csv") && strings.Contains(tc.query, "cursor") {
				continue // the export ignores the cursor
			}
			res, body := c.get(path + tc.query)
			wantStatus(t, res, body, http.StatusBadRequest)
			wantIn(t, body, tc.want, "<html")
		}
	}
	if strings.Contains(b.log.String(), "level=ERROR") {
		t.Errorf("a bad filter was logged as an internal error:\n%s", b.log.String())
	}
}

func TestHealthChangesPaging(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range 55 {
		old, new, dir := "green", "yellow", -1
		if i%2 == 1 {
			old, new, dir = "yellow", "green", 1
		}
		b.recordChange(b.umbrella.ID, start.Add(time.Duration(i)*time.Hour), health(old, new, 7, 5, dir, fmt.Sprintf("change %02d", i)))
	}
	c := b.login(b.admin.Email)
	_, body := c.get("/health-changes")
	wantIn(t, body, "<strong>50</strong> changes on this page", "change 54", "change 05")
	wantNotIn(t, body, "change 04")
	next := regexp.MustCompile(`href="(/health-changes\?[^"]*cursor=[^"]+)" hx-get="[^"]+" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatalf("no next page link")
	}
	_, body = c.get(strings.ReplaceAll(next[1], "&amp;", "&"), "HX-Request", "true")
	wantIn(t, body, "<strong>5</strong> changes on this page", "change 04", "change 00", "‹ First page")
	wantNotIn(t, body, "change 05", `rel="next"`)
	// The export has every change, whatever page the link was taken from.
	res, body := c.get(strings.Replace(strings.ReplaceAll(next[1], "&amp;", "&"), "/health-changes?", "/health-changes.csv?", 1))
	wantStatus(t, res, body, http.StatusOK)
	if n := strings.Count(body, "\n"); n != 56 {
		t.Errorf("the export has %d lines, want a header and 55 changes", n)
	}
}

func TestHealthChangesCSV(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	withHealthChanges(b)
	c := b.login(b.viewer.Email) // exporting is reading
	res, body := c.get("/health-changes.csv?owner=all&direction=worse")
	wantStatus(t, res, body, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="health-changes.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"account_id", "account", "date", "time", "old_color", "new_color", "old_score", "new_score", "owner", "reason"},
		{fmt.Sprint(b.globex.ID), "Globex", "2026-02-20", "12:00", "yellow", "red", "4.00", "2.50", "theo@tend.test",
			"Health yellow → red (score 4.00 → 2.50): usage score 0.12 concerning → poor"},
		{fmt.Sprint(b.acme.ID), "Acme Corp", "2026-02-10", "10:00", "green", "yellow", "7.50", "5.00", "tina@tend.test",
			"Health green → yellow (score 7.50 → 5.00): TA pulse Concerning healthy → concerning"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("CSV rows\n got %q\nwant %q", rows, want)
	}
	// A TA's export defaults to their own accounts, like the page.
	_, body = b.login(b.tina.Email).get("/health-changes.csv")
	rows, _ = csv.NewReader(strings.NewReader(body)).ReadAll()
	if len(rows) != 4 {
		t.Errorf("Tina's export has %d rows, want a header and her 3 changes", len(rows))
	}
	// Without a session: the login page, not the data.
	res, body = b.anonymous().get("/health-changes.csv")
	wantStatus(t, res, body, http.StatusSeeOther)
}
