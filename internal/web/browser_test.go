package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tendhq/tend/internal/account"
)

// chromium finds the browser: $TEND_CHROMIUM, else chromium or
// chromium-browser on PATH. Without one the test is skipped on a
// developer's machine and fails in CI, where a skipped browser test would
// pass silently.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TEND_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: install Debian's chromium package or set TEND_CHROMIUM")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium, or set TEND_CHROMIUM); skipping the browser test")
	return ""
}

// browser starts the headless Chromium at path with a 1280×800 window and
// returns a tab's context.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// TestBrowserScenario is the scenario in a real browser: log in,
// open the book of business, filter by a TA, open an account, add a note
// and see it on the timeline. It also edits a trait and checks that a
// refused note shows its error, both over htmx, and that the page raised
// no exception and broke no content security rule.
//
// Set TEND_SHOTS to a directory to keep screenshots of the book and the
// account page.
func TestBrowserScenario(t *testing.T) {
	path := chromium(t)
	b := newBook(t)
	// Enough accounts for the book to look like one.
	var more []account.Account
	segments := []string{"Strategic", "Enterprise", "Commercial"}
	stages := []string{"0. Prospect", "1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing"}
	colors := []string{"green", "yellow", "red", ""}
	words := []string{"Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Oscorp",
		"Aperture", "Nakatomi", "Monarch", "Pied Piper", "Dunder", "Prestige", "Sirius", "Gekko", "Bluth"}
	for i, w := range words {
		owner := &b.theo.ID
		if i%3 == 0 {
			owner = &b.tina.ID
		}
		a := account.Account{Name: w + " Systems", Domain: strings.ToLower(strings.ReplaceAll(w, " ", "")) + ".example",
			ExternalID: fmt.Sprintf("crm-%d", i), ARR: int64(12000 + 7919*i%180*1000), Seats: 50 + 37*i, OwnerID: owner,
			Segment: segments[i%3], Program: "Managed", Stage: stages[i%5], HealthColor: colors[i%4],
			RenewalDate: day("2026-03-20").AddDays(23 * i)}
		if a.HealthColor != "" {
			a.HealthScore = ptr(float64(10-i%10) * 0.9)
		}
		more = append(more, a)
	}
	if _, err := b.st.UpsertAccounts(context.Background(), more, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	// A year of product usage for Acme, through the engine as ingestion
	// hands it over, and a rejected call for the debugger.
	usage := b.withUsage()
	backend := b.writeKey("backend")
	ingestCalls(t, usage, backend, newUsageYear("crm-acme").calls())
	ingestCalls(t, usage, b.writeKey("web app"), []string{`{"type":"track","userId":"u7","event":"Page Viewed","messageId":"p1"}`,
		`{"type":"page","messageId":"p2","name":"Home"}`})
	if err := usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The other accounts' utilization, as a warehouse would have set it,
	// so that the book's columns show every status.
	all, err := b.st.ListAccounts(context.Background(), account.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, a := range all.Accounts {
		ids[a.ExternalID] = a.ID
	}
	var writes []account.TraitWrite
	for i, a := range more {
		if i%4 == 3 {
			continue
		}
		id := ids[a.ExternalID]
		writes = append(writes, account.TraitWrite{AccountID: id, Key: "usage_score", Value: float64(5+i*7%40) / 100},
			account.TraitWrite{AccountID: id, Key: "last_month_mau_over_seats", Value: float64(30+i*13%70) / 100})
	}
	if _, err := b.st.SetTraits(context.Background(), writes, account.System("warehouse sync", account.SourceWarehouse)); err != nil {
		t.Fatal(err)
	}

	ctx := browser(t, path)
	problems := watchConsole(ctx)
	shots := os.Getenv("TEND_SHOTS")
	shot := func(name string) { t.Helper(); screenshot(t, ctx, name) }
	must := func(what string, err error) { t.Helper(); mustDo(t, ctx, what, err) }
	wait := func(what, js string) { t.Helper(); waitJS(t, ctx, what, js) }

	// Log in as the admin, whose book opens on every account.
	must("open the login page", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
	))
	shot("login")
	must("log in", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), b.admin.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.book`)),
	))
	wait("the whole book", `document.querySelector('.table-meta strong').textContent === '22'`)
	shot("book")

	// Filter by a TA: htmx swaps the results and pushes the URL.
	must("filter by Tina", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(s => { s.value = '%d'; s.dispatchEvent(new Event('change', {bubbles: true})); })(document.querySelector('select[name="owner"]'))`,
		b.tina.ID))))
	wait("Tina's book", fmt.Sprintf(`location.search.includes('owner=%d') &&
		document.querySelector('.table-meta strong').textContent === '8' &&
		[...document.querySelectorAll('#book-results td.name a')].some(a => a.textContent === 'Acme Corp') &&
		![...document.querySelectorAll('#book-results td.name a')].some(a => a.textContent === 'Globex')`, b.tina.ID))
	// Search within it, as a person types.
	must("search", chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "acme")))
	wait("search results", `location.search.includes('q=acme') && document.querySelectorAll('#book-results td.name a').length === 1`)
	// Sort by ARR by its column header.
	must("clear search", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](
		`(q => { q.value = ''; q.dispatchEvent(new Event('search', {bubbles: true})); })(document.querySelector('input[name="q"]'))`)))
	wait("search cleared", `document.querySelector('.table-meta strong').textContent === '8'`)
	must("sort by ARR", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[aria-sort] a[href*="sort=-arr"]`))))
	wait("sorted by ARR", `location.search.includes('sort=-arr') && document.querySelector('th[aria-sort="descending"]') !== null &&
		document.getElementById('book-sort').value === '-arr'`)

	// Open the account.
	must("open Acme", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/accounts/%d"]`, b.acme.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#timeline textarea[name="body"]`)),
	))
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	must("title", err)
	if title != "Acme Corp" {
		t.Fatalf("account page title %q", title)
	}
	// The usage card: the two charts, drawn, and the numbers beside them.
	wait("the usage card", `document.querySelectorAll('#usage svg.chart-dau rect.bar').length === 90 &&
		document.querySelectorAll('#usage svg.chart-mau rect.bar').length === 12 &&
		document.querySelector('#usage svg.chart-mau line.seats') !== null &&
		document.querySelector('#usage svg.chart-dau').getBoundingClientRect().width > 400 &&
		document.querySelector('#usage .chip') !== null`)
	shot("account")

	// Add a note; it appears on the timeline without a page load.
	must("mark the page", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 1`)))
	must("add a note", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#timeline textarea[name="body"]`), "Exec sponsor confirmed for the QBR."),
		chromedp.Click(chromedp.CSS(`#timeline button[type="submit"]`)),
	))
	wait("the note on the timeline", `document.querySelector('#timeline .act-note .act-body')?.textContent === 'Exec sponsor confirmed for the QBR.' &&
		document.querySelector('#flash').textContent.includes('Note added.') &&
		document.querySelector('#timeline textarea').value === '' && window.tendMarker === 1`)
	acts, err := b.st.ListActivities(context.Background(), b.acme.ID, 1)
	if err != nil || acts[0].Body != "Exec sponsor confirmed for the QBR." || acts[0].Actor != b.admin.Email {
		t.Fatalf("stored timeline %+v, %v", acts, err)
	}

	// An empty note is refused in place (422), with its message.
	must("empty note", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#timeline button[type="submit"]`))))
	wait("the note error", `document.querySelector('#timeline .field-error')?.textContent.includes('Write the note first')`)

	// Edit a manual trait in place; the history records it.
	must("set TA pulse", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#trait-ta_pulse select`), "Healthy"),
		chromedp.Click(chromedp.CSS(`#trait-ta_pulse button`)),
	))
	wait("the trait history", `document.querySelector('#trait-history li .h-change')?.textContent.includes('Concerning → Healthy') &&
		document.querySelector('#trait-ta_pulse select').value === 'Healthy' && window.tendMarker === 1`)
	must("scroll to the timeline", chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("#timeline"))))
	shot("account-timeline")

	// An admin creates a write key: the secret and the snippets are shown
	// once, with copy buttons that tend.js reveals.
	must("write keys", chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/settings/write-keys"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "data warehouse backfill"),
		chromedp.Click(chromedp.CSS(`form[action="/settings/write-keys"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret-key`)),
	))
	wait("the copy buttons", `document.querySelector('#snippet-curl').textContent.includes('/v1/track') &&
		!document.querySelector('button[data-copy="snippet-curl"]').hidden`)
	shot("write-key-created")

	// The ingestion debugger refreshes itself: an event sent while it is
	// open appears without a reload.
	must("debugger", chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/usage/debugger"),
		chromedp.WaitVisible(chromedp.CSS(`table.events`))))
	must("mark the debugger", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 2`)))
	shot("debugger")
	ingestCalls(t, usage, backend, []string{`{"type":"track","userId":"u3","event":"Insight Created","messageId":"live-1",
		"context":{"groupId":"crm-acme"}}`})
	wait("the live event", `[...document.querySelectorAll('table.events td')].some(td => td.textContent === 'Insight Created') &&
		window.tendMarker === 2`)

	if shots != "" {
		for _, page := range []string{"team", "settings", "settings/tokens"} {
			must(page, chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/"+page), chromedp.WaitVisible(chromedp.CSS("h1"))))
			shot(strings.ReplaceAll(page, "/", "-"))
		}
		must("a missing page", chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/accounts/424242"), chromedp.WaitVisible(chromedp.CSS("h1"))))
		shot("not-found")
	}

	// Without a session, the book sends the browser to the login page.
	must("log out", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`details.menu summary`)),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)),
	))

	if p := problems(); len(p) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}

// watchConsole collects the page's exceptions and content security policy
// violations; the returned function reads them.
func watchConsole(ctx context.Context) func() []string {
	var mu sync.Mutex
	var problems []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(problems)
	}
}

// screenshot saves the tab as name.png in $TEND_SHOTS, when it is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shots := os.Getenv("TEND_SHOTS")
	if shots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustDo fails the test with the page's HTML when err is set.
func mustDo(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	if err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// waitJS polls until js holds and htmx has settled: new content gets its
// htmx behaviour in the settle step, so a click before it would be a plain
// form post.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	settled := `!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("("+js+") && "+settled, chromedp.WithPollingTimeout(10*time.Second)))
	mustDo(t, ctx, what, err)
}

// TestBrowserHealthCard is issue 4's browser test: open an account, read
// the explanation of its health, edit a trait and see the colour change on
// the health card and in the header without reloading the page, with a
// running assessor behind the server.
func TestBrowserHealthCard(t *testing.T) {
	path := chromium(t)
	b := newBook(t)
	b.withAssessor()
	b.waitFor(b.acme.ID, "Acme assessed", func(a account.Account) bool { return a.HealthColor == "yellow" })
	ctx := browser(t, path)
	problems := watchConsole(ctx)
	must := func(what string, err error) { t.Helper(); mustDo(t, ctx, what, err) }
	wait := func(what, js string) { t.Helper(); waitJS(t, ctx, what, js) }

	must("log in", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+acmePath(b)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), b.tina.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#health`)),
	))
	// The explanation: the score, each unhealthy metric's advice and the
	// smallest change that turns it green.
	wait("the health card", `document.querySelector('#health .score-big').textContent === '5.00' &&
		document.querySelector('#health .chip-color-yellow') !== null &&
		document.querySelector('#metric-ta_pulse + tr.advice').textContent.includes('TA pulse Concerning: setting it to Healthy reaches healthy') &&
		document.querySelector('#health ol.moves li.first').textContent.includes('turns it green') &&
		document.querySelector('#lifecycle').textContent.includes('Renewing: renewal 2026-04-23 is 52 days away')`)
	explanation, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#metric-defect_tickets_90d + tr.advice`)))
	must("read the advice", err)
	if !strings.Contains(explanation, "defect tickets 3: 2 fewer reaches healthy (< 2)") {
		t.Fatalf("defect tickets advice %q", explanation)
	}
	screenshot(t, ctx, "health-card")

	// TA pulse Poor: the card turns red, and the header with it, in place.
	must("mark the page", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 4`)))
	must("set TA pulse to Poor", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#trait-ta_pulse select`), "Poor"),
		chromedp.Click(chromedp.CSS(`#trait-ta_pulse button`)),
	))
	wait("the card turned red", `document.querySelector('#health .chip-color-red') !== null &&
		document.querySelector('#health .score-big').textContent === '2.50' &&
		document.querySelector('#account-head .dot-red') !== null &&
		document.querySelector('#health svg.chart-trend circle.last.pt-red') !== null &&
		document.querySelector('#lifecycle ol.changes li').textContent.includes('Red') &&
		window.tendMarker === 4`)
	// And back: Healthy makes it 7.50, green.
	must("set TA pulse to Healthy", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#trait-ta_pulse select`), "Healthy"),
		chromedp.Click(chromedp.CSS(`#trait-ta_pulse button`)),
	))
	wait("the card turned green", `document.querySelector('#health .chip-color-green') !== null &&
		document.querySelector('#health .score-big').textContent === '7.50' &&
		document.querySelector('#account-head .dot-green') !== null && window.tendMarker === 4`)
	must("scroll to the card", chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("#health"))))
	screenshot(t, ctx, "health-card-green")

	// The three colour changes are on the health changes list; filtering
	// by direction updates it in place.
	must("health changes", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav.nav a[href="/health-changes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#changes-results`))))
	wait("three changes", `document.querySelectorAll('#changes-results td.name a').length === 3`)
	must("mark the list", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 5`)))
	must("only worse", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](
		`(s => { s.value = 'worse'; s.dispatchEvent(new Event('change', {bubbles: true})); })(document.querySelector('select[name="direction"]'))`)))
	wait("two worse changes", `location.search.includes('direction=worse') &&
		document.querySelectorAll('#changes-results td.name a').length === 2 &&
		document.querySelector('#changes-results a.export').getAttribute('href').includes('direction=worse') &&
		window.tendMarker === 5`)
	screenshot(t, ctx, "health-changes")
	must("dashboard", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav.nav a[href="/dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#by-colour`))))
	wait("the dashboard", `document.querySelectorAll('#recent-changes td.name a').length === 3 &&
		document.querySelector('#by-colour .tile-green .tile-n').textContent === '1'`)
	screenshot(t, ctx, "dashboard")
	// Another owner's dashboard, in place.
	must("mark the dashboard", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 6`)))
	must("Theo's dashboard", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(s => { s.value = '%d'; s.dispatchEvent(new Event('change', {bubbles: true})); })(document.querySelector('.owner-form select'))`,
		b.theo.ID))))
	wait("Theo's dashboard", fmt.Sprintf(`location.search.includes('owner=%d') &&
		document.querySelector('.page-head p').textContent === 'Theo Park’s accounts' &&
		document.querySelector('#by-colour .tile-none .tile-n').textContent === '1' && window.tendMarker === 6`, b.theo.ID))
	if p := problems(); len(p) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}
