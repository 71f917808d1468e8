package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// withUsage starts a usage engine on the env's store and serves a UI that
// reads it. Call it after the accounts exist (the engine resolves group
// ids against the accounts it loads) and before signing in (the server
// moves to a new address).
func (e *testEnv) withUsage() *engine.Usage {
	e.t.Helper()
	ctx := context.Background()
	u, err := engine.NewUsage(ctx, engine.UsageConfig{Store: e.st, Workspace: e.ws, Now: func() time.Time { return today },
		FlushEvery: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { u.Close() })
	e.usage = u
	e.serve()
	return u
}

// writeKey stores a write key for a source.
func (e *testEnv) writeKey(name string) store.WriteKey {
	e.t.Helper()
	k := store.WriteKey{Name: name, Prefix: "wk_" + name[:3], Hash: team.HashToken("wk_secret_" + name)}
	if err := e.st.CreateWriteKey(context.Background(), &k); err != nil {
		e.t.Fatal(err)
	}
	return k
}

// ingestCalls decodes Segment calls as the batch endpoint would, receiving
// them now, and hands them to the engine, in batches of at most 1,000.
func ingestCalls(t testing.TB, u *engine.Usage, key store.WriteKey, calls []string) {
	t.Helper()
	for len(calls) > 0 {
		n := min(len(calls), 1000)
		b, err := ingest.DecodeBatch([]byte(`{"batch": [`+strings.Join(calls[:n], ",")+`]}`), today)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.Ingest(context.Background(), key, b); err != nil {
			t.Fatal(err)
		}
		calls = calls[n:]
	}
}

// usageYear is a year of product usage for one account, ending today: users
// u1…uN each day, N growing from 5 to 30 over the year, a third of that at
// weekends. Everyone searches; u1–u5 navigate code from day 300; u1 made a
// batch change today. active[d] is the number of users on day d (0 is a
// year ago, 364 today).
type usageYear struct {
	groupID string
	active  [365]int
}

func newUsageYear(groupID string) *usageYear {
	y := &usageYear{groupID: groupID}
	for i := range y.active {
		n := 5 + i*25/364
		if wd := y.day(i).Weekday(); wd == time.Saturday || wd == time.Sunday {
			n /= 3
		}
		y.active[i] = n
	}
	return y
}

// day is the noon of day i.
func (y *usageYear) day(i int) time.Time {
	d := today.AddDate(0, 0, i-364)
	return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, time.UTC)
}

// calls are the year as Segment calls: a group call per user, then the
// tracks.
func (y *usageYear) calls() []string {
	var out []string
	for u := 1; u <= 30; u++ {
		out = append(out, fmt.Sprintf(`{"type":"group","userId":"u%d","groupId":%q,"messageId":"g-%s-%d","timestamp":%q}`,
			u, y.groupID, y.groupID, u, y.day(0).Add(-time.Hour).Format(time.RFC3339)))
	}
	track := func(u, i int, event string) {
		at := y.day(i)
		if i == 364 {
			at = today.Add(-time.Hour) // today's events happened before now
		}
		out = append(out, fmt.Sprintf(`{"type":"track","userId":"u%d","event":%q,"messageId":"t-%s-%d-%d-%s","timestamp":%q}`,
			u, event, y.groupID, u, i, strings.ReplaceAll(event, " ", ""), at.Format(time.RFC3339)))
	}
	for i, n := range y.active {
		for u := 1; u <= n; u++ {
			track(u, i, "Search Performed")
			if i >= 300 && u <= 5 {
				track(u, i, "Code Navigation Used")
			}
		}
	}
	track(1, 364, "Batch Change Created")
	return out
}

// mau is the distinct users of a calendar month: users are u1…uN, so the
// union of a month's days is its busiest day.
func (y *usageYear) mau(year int, m time.Month) int {
	peak := 0
	for i := range y.active {
		if d := y.day(i); d.Year() == year && d.Month() == m {
			peak = max(peak, y.active[i])
		}
	}
	return peak
}

// svg returns the svg element of the chart with the class.
func svg(t *testing.T, body, class string) string {
	t.Helper()
	i := strings.Index(body, `<svg class="chart `+class+`"`)
	if i < 0 {
		t.Fatalf("no %s chart in\n%s", class, body)
	}
	j := strings.Index(body[i:], "</svg>")
	return body[i : i+j]
}

// stat returns the value shown beside the charts under a label.
func stat(t *testing.T, body, label string) string {
	t.Helper()
	m := regexp.MustCompile(`<dt>` + regexp.QuoteMeta(label) + `</dt>\s*<dd><span class="stat-value">([^<]*)</span>(?: <span class="chip chip-(\w+)">)?`).
		FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no stat %q in\n%s", label, body)
	}
	if m[2] != "" {
		return m[1] + " " + m[2]
	}
	return m[1]
}

func TestAccountUsageCard(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	u := b.withUsage()
	key := b.writeKey("backend")
	year := newUsageYear("crm-acme")
	ingestCalls(t, u, key, year.calls())
	c := b.login(b.tina.Email)

	res, body := c.get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="usage"`, "Daily active users", "Monthly active users", "Features adopted")

	// DAU: one bar per day of the last 90, today's still counting.
	dau := svg(t, body, "chart-dau")
	if n := strings.Count(dau, `<rect class="bar`); n != 90 {
		t.Errorf("DAU chart has %d bars, want 90", n)
	}
	if n := strings.Count(dau, `<rect class="bar partial"`); n != 1 {
		t.Errorf("DAU chart has %d partial bars, want 1 (today)", n)
	}
	// Today: u1…u30 on a Monday (2 March 2026).
	wantIn(t, dau, "<title>Mon 2 Mar 2026: 30 active users so far today</title>", ">Mar</text>", ">Feb</text>")
	// MAU: twelve months, with the seats as a dashed line and label.
	mau := svg(t, body, "chart-mau")
	if n := strings.Count(mau, `<rect class="bar`); n != 12 {
		t.Errorf("MAU chart has %d bars, want 12", n)
	}
	feb := year.mau(2026, time.February)
	wantIn(t, mau, `<line class="seats"`, ">250 seats</text>", ">Apr 2025</text>", ">Jan 2026</text>",
		fmt.Sprintf("<title>February 2026: %d monthly active users · %.2f of 250 seats</title>", feb, float64(feb)/250))

	// The numbers beside the charts.
	if got, want := stat(t, body, "MAU, Feb"), strconv.Itoa(feb); got != want {
		t.Errorf("MAU, Feb = %q, want %q", got, want)
	}
	if got := stat(t, body, "Active today"); got != "30" {
		t.Errorf("active today = %q, want 30", got)
	}
	// 004: MAU over seats 29/250 = 0.12, poor (< 0.50).
	if got, want := stat(t, body, "MAU / seats"), fmt.Sprintf("%.2f poor", float64(feb)/250); got != want {
		t.Errorf("MAU / seats = %q, want %q", got, want)
	}
	// The usage score's own maths is the usage package's; here it must be
	// the engine's figure, with the handbook's reading of it.
	m := u.Metrics(b.acme.ID)
	status := "concerning"
	if *m.UsageScore >= 0.30 {
		status = "healthy"
	} else if *m.UsageScore <= 0.20 {
		status = "poor"
	}
	if got, want := stat(t, body, "Usage score"), fmt.Sprintf("%.2f %s", *m.UsageScore, status); got != want {
		t.Errorf("usage score = %q, want %q", got, want)
	}
	// Growing usage: both ratios are up on a month before.
	jan := year.mau(2026, time.January)
	wantIn(t, body, fmt.Sprintf("▲ %d vs Jan", feb-jan), fmt.Sprintf("▲ %.2f vs Jan", float64(feb-jan)/250), "vs 2 Feb")
	if got := stat(t, body, "First usage ping"); got != year.day(0).Format("2006-01-02") {
		t.Errorf("first usage ping = %q", got)
	}

	// Features adopted, earliest first, with their users.
	feats := regexp.MustCompile(`<tr><td class="name" title="[^"]*">([^<]*)</td><td class="num">([^<]*)</td><td class="r num">(\d+)</td></tr>`).
		FindAllStringSubmatch(body, -1)
	var got []string
	for _, f := range feats {
		got = append(got, f[1]+" "+f[2]+" "+f[3])
	}
	want := []string{
		"Search Performed " + year.day(0).Format("2006-01-02") + " 30",
		"Code Navigation Used " + year.day(300).Format("2006-01-02") + " 5",
		"Batch Change Created 2026-03-02 1",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("features adopted:\n got %q\nwant %q", got, want)
	}

	// An account that has sent nothing says so, with the ids to send.
	res, body = c.get(fmt.Sprintf("/accounts/%d", b.globex.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "No usage data yet", "<code>crm-globex</code>")
	wantNotIn(t, body, `<svg class="chart chart-dau`, `<svg class="chart chart-mau`)
}

func TestUsageCardWithoutEngine(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	res, body := b.login(b.tina.Email).get(acmePath(b))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="usage"`, "No usage data: this server runs without the usage engine.")
}

func TestBookShowsUtilization(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	u := b.withUsage()
	ingestCalls(t, u, b.writeKey("backend"), newUsageYear("crm-acme").calls())
	// The computed traits are written at a flush (every second in a
	// server).
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := u.Metrics(b.acme.ID)
	c := b.login(b.admin.Email)
	res, body := c.get("/?q=acme")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<th class="r" title="Last month's MAU ÷ seats`, ">MAU/seats</th>", ">Usage score</th>")
	row := regexp.MustCompile(`(?s)<td class="name"><a href="/accounts/\d+"[^>]*>Acme Corp</a></td>.*?</tr>`).FindString(body)
	wantIn(t, row,
		fmt.Sprintf(`<span class="metric metric-poor" title="poor">%.2f</span>`, *m.LastMonthMAUOverSeats),
		fmt.Sprintf(`>%.2f</span>`, *m.UsageScore))
	// Accounts without usage show a dash in both columns.
	row = regexp.MustCompile(`(?s)<td class="name"><a href="/accounts/\d+"[^>]*>Globex</a></td>.*?</tr>`).FindString(
		func() string { _, body := c.get("/?q=globex"); return body }())
	if n := strings.Count(row, `<span class="muted">—</span>`); n < 2 {
		t.Errorf("Globex row has %d dashes, want the two usage columns:\n%s", n, row)
	}
}

func TestWriteKeys(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	admin := b.login(b.admin.Email)

	res, body := admin.get("/settings/write-keys")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "No write keys yet", `action="/settings/write-keys"`, `href="/settings/write-keys" aria-current="page"`)

	// A missing name is refused, naming the field.
	res, body = admin.post("/settings/write-keys", url.Values{"name": {"  "}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "Name is required")

	// Created: the secret is shown once, with snippets to send an event.
	res, body = admin.post("/settings/write-keys", url.Values{"name": {"web app"}})
	wantStatus(t, res, body, http.StatusOK)
	secret := regexp.MustCompile(`<code class="secret-value" id="secret-key">(wk_[a-z2-7]{32})</code>`).FindStringSubmatch(body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", body)
	}
	wantIn(t, body, "curl -u "+secret[1]+": ", `{"userId":"u1","event":"Search Performed","context":{"groupId":"&lt;analytics id&gt;"}}`,
		b.srv.URL+"/v1/track", `analytics.NewWithConfig("`+secret[1]+`", analytics.Config{Endpoint: "`+b.srv.URL+`"})`)
	// Stored hashed, with a prefix to tell keys apart; the key works.
	k, err := b.st.WriteKeyByHash(context.Background(), team.HashToken(secret[1]), today)
	if err != nil {
		t.Fatalf("the shown secret does not authenticate: %v", err)
	}
	if k.Name != "web app" || k.Prefix != secret[1][:10] || k.CreatedBy == nil || *k.CreatedBy != b.admin.ID {
		t.Errorf("stored key %+v", k)
	}
	res, body = admin.get("/settings/write-keys")
	wantIn(t, body, "web app", "<code>"+k.Prefix+"…</code>", "Ada Admin", ">active</span>")
	wantNotIn(t, body, secret[1])

	// Revoked: it no longer authenticates, and the list says so.
	res, body = admin.post(fmt.Sprintf("/settings/write-keys/%d/revoke", k.ID), nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	if _, err := b.st.WriteKeyByHash(context.Background(), team.HashToken(secret[1]), today); err == nil {
		t.Error("a revoked key still authenticates")
	}
	res, body = admin.get("/settings/write-keys")
	wantIn(t, body, "was revoked", "revoked 2026-03-02")
	wantNotIn(t, body, fmt.Sprintf(`action="/settings/write-keys/%d/revoke"`, k.ID))
	res, body = admin.post("/settings/write-keys/424242/revoke", nil)
	wantStatus(t, res, body, http.StatusNotFound)

	// Only admins manage write keys.
	for _, u := range []team.User{b.tina, b.viewer} {
		c := b.login(u.Email)
		res, body := c.get("/settings/write-keys")
		wantStatus(t, res, body, http.StatusForbidden)
		res, body = c.post("/settings/write-keys", url.Values{"name": {"sneaky"}})
		wantStatus(t, res, body, http.StatusForbidden)
		res, body = c.post(fmt.Sprintf("/settings/write-keys/%d/revoke", k.ID), nil)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	keys, err := b.st.ListWriteKeys(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
}

func TestIngestionDebugger(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	u := b.withUsage()
	backend, webApp := b.writeKey("backend"), b.writeKey("web app")
	ingestCalls(t, u, backend, []string{
		`{"type":"group","userId":"u1","groupId":"crm-acme","messageId":"g1","timestamp":"2026-03-02T09:00:00Z"}`,
		`{"type":"track","userId":"u1","event":"Search Performed","messageId":"t1","timestamp":"2026-03-02T09:01:00Z","properties":{"query":"repo:acme <script>"}}`,
	})
	// A batch with a bad call: the good one is kept, the bad one recorded.
	bad, err := ingest.DecodeBatch([]byte(`{"batch":[{"type":"track","userId":"u9","messageId":"w1","event":"Page Viewed"},
		{"type":"track","messageId":"w2","event":"No User"}]}`), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad.Rejected) != 1 {
		t.Fatalf("want one rejection, got %+v", bad.Rejected)
	}
	if _, err := u.Ingest(context.Background(), webApp, bad); err != nil {
		t.Fatal(err)
	}

	manager := b.addUser("mona@tend.test", "Mona Manager", team.Manager)
	c := b.login(manager.Email)
	res, body := c.get("/usage/debugger")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `href="/usage/debugger" aria-current="page"`, `hx-trigger="every 5s"`,
		// Per source, the last hour per minute.
		`<svg class="chart chart-minutes"`, "<h2>backend</h2>", "<h2>web app</h2>", "<strong>2</strong> accepted in the last hour",
		`<strong class="bad">1</strong> rejected`, "09:30 UTC: 1 accepted, 1 rejected",
		// The events, attributed and not, with their raw JSON escaped.
		"Search Performed", fmt.Sprintf(`<a href="/accounts/%d">Acme Corp</a>`, b.acme.ID), "Page Viewed", "The event names no account",
		`&#34;query&#34;: &#34;repo:acme &lt;script&gt;&#34;`, `hx-preserve="true"`,
		// The rejection with its reason.
		"w2", "userId")
	wantNotIn(t, body, "<script>\"")
	if n := strings.Count(body, `<svg class="chart chart-minutes"`); n != 2 {
		t.Errorf("%d source charts, want 2", n)
	}

	// Filtered by source, over htmx: the live part only.
	res, body = c.get(fmt.Sprintf("/usage/debugger?source=%d", webApp.ID), "HX-Request", "true")
	wantStatus(t, res, body, http.StatusOK)
	if !strings.HasPrefix(body, `<div id="live"`) {
		t.Errorf("htmx answer is not the live part:\n%s", body)
	}
	wantIn(t, body, "Page Viewed", "w2", fmt.Sprintf(`hx-get="/usage/debugger?source=%d"`, webApp.ID))
	wantNotIn(t, body, "Search Performed", "<h2>backend</h2>", "<html")

	// A bad filter is a 400 naming it.
	res, body = c.get("/usage/debugger?source=x")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "source: ")
	res, body = c.get("/usage/debugger?source=999")
	wantStatus(t, res, body, http.StatusBadRequest)

	// Admins and managers only; others do not see the link.
	res, body = b.login(b.tina.Email).get("/usage/debugger")
	wantStatus(t, res, body, http.StatusForbidden)
	_, body = b.login(b.viewer.Email).get("/")
	wantNotIn(t, body, `href="/usage/debugger"`)
	_, body = b.login(b.admin.Email).get("/")
	wantIn(t, body, `href="/usage/debugger"`)
}

// TestDebuggerRawJSONIsIndented checks the raw JSON is shown readable.
func TestDebuggerRawJSONIsIndented(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	u := b.withUsage()
	ingestCalls(t, u, b.writeKey("backend"), []string{
		`{"type":"identify","userId":"u1","messageId":"i1","traits":{"email":"jane@acme.example"},"writeKey":"wk_abcdefgSECRETSECRET"}`,
	})
	_, body := b.login(b.admin.Email).get("/usage/debugger")
	// analytics.js puts the write key on every call; managers read this
	// page and may not hold keys.
	wantNotIn(t, body, "SECRETSECRET")
	wantIn(t, body, "wk_abcdefg…")
	var ev map[string]any
	m := regexp.MustCompile(`(?s)<summary>JSON</summary><pre>(.*?)</pre>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no raw JSON in\n%s", body)
	}
	raw := strings.NewReplacer("&#34;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(m[1])
	if err := json.Unmarshal([]byte(raw), &ev); err != nil || ev["messageId"] != "i1" || !strings.Contains(raw, "\n  \"traits\"") {
		t.Errorf("raw JSON %q: %v", raw, err)
	}
}
