package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/store"
)

// withCampaigns starts an assessor that runs the default workspace's
// playbooks and campaigns — the handbook's — into the env's store, and
// serves a UI that reads it. Call it before signing in.
func (e *testEnv) withCampaigns() *engine.Assessor {
	e.t.Helper()
	q := outbox.NewQueue(e.st, store.Address{Name: "Tend", Email: "tend@tend.test"})
	now := func() time.Time { return today }
	a := engine.NewAssessor(engine.AssessorConfig{Store: e.st, Workspace: e.ws, Now: now, Poll: 20 * time.Millisecond,
		Playbooks: &engine.PlaybookConfig{
			Effects:   &engine.StoreEffects{Store: e.st, Workspace: e.ws, Now: now, Enqueue: q.Enqueue},
			Campaigns: &engine.CampaignConfig{Enqueue: q.Enqueue, From: store.Address{Name: "Scaled Success", Email: "success@tend.test"}},
			BaseURL:   "http://tend.test"}})
	a.Start()
	e.t.Cleanup(func() { a.Close() })
	e.assessor = a
	e.serve()
	return a
}

// campaignBook is the book with Hooli, a Scaled Success account that
// closed today: admin onboarding (002, "Run for 60 days from contract
// close") welcomes its instance admin at once.
type campaignBook struct {
	*book
	hooli    account.Account
	ian, pat account.Contact
	welcome  store.OutboxMessage
}

func newCampaignBook(t *testing.T) *campaignBook {
	t.Helper()
	b := &campaignBook{book: newBook(t)}
	ctx := context.Background()
	b.hooli = b.addAccount(account.Account{Name: "Hooli", Domain: "hooli.example", ExternalID: "crm-hooli", EstimatedDevelopers: 90,
		ARR: 18000, Seats: 60, OwnerID: &b.tina.ID, CloseDate: day("2026-03-02"), RenewalDate: day("2027-03-02"),
		Entitlements: []string{"code_search"}})
	for _, c := range []*account.Contact{
		{AccountID: b.hooli.ID, Name: "Ian Admin", Email: "ian@hooli.example", Roles: []string{account.RoleInstanceAdmin}},
		{AccountID: b.hooli.ID, Name: "Pat Program", Email: "pat@hooli.example", Roles: []string{account.RoleProgramContact}},
	} {
		if err := b.st.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := b.st.ListContacts(ctx, b.hooli.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		switch c.Email {
		case "ian@hooli.example":
			b.ian = c
		case "pat@hooli.example":
			b.pat = c
		}
	}
	b.withCampaigns()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := b.st.ListMessages(ctx, store.OutboxFilter{Campaign: "admin_onboarding", AccountID: b.hooli.ID})
		if err != nil {
			t.Fatal(err)
		}
		es, err := b.st.ListEnrollments(ctx, store.EnrollmentFilter{Campaign: "admin_onboarding", AccountID: b.hooli.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) > 0 && len(es.Enrollments) > 0 && es.Enrollments[0].Step == "week_one" {
			b.welcome = page.Messages[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin onboarding welcome for Hooli after 10 s: %+v, %+v\n%s", page.Messages, es.Enrollments, b.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return b
}

func TestCampaignsList(t *testing.T) {
	t.Parallel()
	b := newCampaignBook(t)
	ctx := context.Background()
	// Pat unsubscribes with the link in a check-in email, and answers its
	// survey.
	res, body := b.anonymous().post(signer(t, b.st).UnsubscribeURL(b.hooli.ID, b.pat.ID, "onboarding_checkin"),
		url.Values{"List-Unsubscribe": {"One-Click"}})
	wantStatus(t, res, body, http.StatusOK)
	if _, err := b.st.RecordSurveyAnswer(ctx, &store.SurveyAnswer{Key: "checkin-pat", AccountID: b.hooli.ID, ContactID: b.pat.ID,
		Campaign: "onboarding_checkin", Rating: 2, Comment: "Indexing is slow", WantsHelp: true, At: today}); err != nil {
		t.Fatal(err)
	}

	c := b.login(b.viewer.Email)
	res, body = c.get("/campaigns")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<a href="/campaigns" aria-current="page">Campaigns</a>`, `<a href="/campaigns/admin_onboarding">Admin onboarding</a>`,
		`account.program == &#34;Scaled Success&#34;`, "On the close date", "Broadcast by the team")
	row := campaignListRow(t, body, "admin_onboarding")
	wantIn(t, row, `data-col="active"><strong>1</strong>`, `data-col="captured">0<`, `data-col="failed">0<`)
	if !strings.Contains(row, `<td class="r num">1</td>`) {
		t.Errorf("admin onboarding: one queued message expected\n%s", row)
	}
	row = campaignListRow(t, body, "onboarding_checkin")
	wantIn(t, row, `data-col="unsubscribed">1`, `data-col="answers">1<`)
	// A campaign without the survey link has no answers column value.
	row = campaignListRow(t, body, "release_notes")
	wantIn(t, row, `data-col="answers"><span class="muted">—</span>`, `data-col="unsubscribed">0`)
	// Viewers see no outbox link.
	wantNotIn(t, body, `href="/outbox?channel=email"`)

	// Without the engine the list reads the store and says so.
	b.assessor = nil
	b.serve()
	c = b.login(b.viewer.Email)
	res, body = c.get("/campaigns")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="not-running"`, `<a href="/campaigns/admin_onboarding">`)
}

// campaignListRow returns the campaigns list's row of a campaign.
func campaignListRow(t *testing.T, body, key string) string {
	t.Helper()
	i := strings.Index(body, `<tr id="campaign-`+key+`"`)
	if i < 0 {
		t.Fatalf("no row for %s\n%s", key, body)
	}
	j := strings.Index(body[i:], "</tr>")
	return body[i : i+j]
}

func TestCampaignPage(t *testing.T) {
	t.Parallel()
	b := newCampaignBook(t)
	ctx := context.Background()
	hooli := fmt.Sprintf(`<a href="/accounts/%d">Hooli</a>`, b.hooli.ID)

	c := b.login(b.tina.Email)
	res, body := c.get("/campaigns/admin_onboarding")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "<h1>Admin onboarding</h1>", `id="campaign-state">on</span>`, "Once per contract term",
		`churned: <code class="expr">account.stage == &#34;Churned&#34;</code>`,
		// the steps in order, with their kinds, templates, recipients and waits
		`id="step-welcome"`, "<code>admin_welcome</code>", "To Instance admin", "Wait for 7d", "Wait for 18d",
		// who is at which step
		`<a class="small" href="/campaigns/admin_onboarding?status=active&amp;step=week_one#enrollments" data-active="1">1 account here</a>`,
		hooli, "<code>week_one</code>", `<span class="tag tag-ok">active</span>`,
		// message stats and the latest, without a link for a TA
		`<li id="count-queued"><span class="tag status-queued">queued</span> 1</li>`, html.EscapeString(b.welcome.Subject))
	if strings.Index(body, `id="step-welcome"`) > strings.Index(body, `id="step-week_one"`) ||
		strings.Index(body, `id="step-week_one"`) > strings.Index(body, `id="step-checklist"`) {
		t.Error("steps out of order")
	}
	wantNotIn(t, body, fmt.Sprintf(`href="/outbox/%d"`, b.welcome.ID), `id="preview-link"`, `id="answers"`, `id="broadcast"`)

	// Filters: a step nobody is at, every status, and bad values.
	res, body = c.get("/campaigns/admin_onboarding?step=welcome")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "No active enrollments at welcome.")
	wantNotIn(t, body, hooli)
	res, body = c.get("/campaigns/admin_onboarding?status=all&step=week_one")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, hooli)
	res, body = c.get("/campaigns/admin_onboarding?status=exited")
	wantStatus(t, res, body, http.StatusOK)
	wantNotIn(t, body, hooli)
	res, body = c.get("/campaigns/admin_onboarding?status=sleeping")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "status: &#34;sleeping&#34; is not one of active, done, exited or all")
	res, body = c.get("/campaigns/admin_onboarding?step=nap")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "step: &#34;nap&#34; is not a step of this campaign")
	res, body = c.get("/campaigns/nope")
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, "There is no campaign &#34;nope&#34;.")

	// The check-in campaign lists its survey answers.
	if _, err := b.st.RecordSurveyAnswer(ctx, &store.SurveyAnswer{Key: "checkin-ian", AccountID: b.hooli.ID, ContactID: b.ian.ID,
		Campaign: "onboarding_checkin", Rating: 4, Comment: "Smooth so far", At: today}); err != nil {
		t.Fatal(err)
	}
	res, body = c.get("/campaigns/onboarding_checkin")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="answers"`, `<span class="rating rating-4" title="4 of 5">4/5</span>`, hooli, "ian@hooli.example",
		"Smooth so far")

	// An admin opens the messages and the preview.
	admin := b.login(b.admin.Email)
	res, body = admin.get("/campaigns/admin_onboarding")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, fmt.Sprintf(`<a href="/outbox/%d">`, b.welcome.ID), `href="/outbox?campaign=admin_onboarding"`,
		`<a class="button push-right" id="preview-link" href="/campaigns/admin_onboarding/preview">`,
		`<a href="/campaigns/admin_onboarding/preview?template=admin_repositories"><code>admin_repositories</code></a>`)
}

func TestCampaignPreview(t *testing.T) {
	t.Parallel()
	b := newCampaignBook(t)
	base := "/campaigns/admin_onboarding/preview"

	// The preview renders a real contact's working unsubscribe link:
	// admins and managers only, as the outbox.
	for _, who := range []string{b.tina.Email, b.viewer.Email} {
		res, body := b.login(who).get(base)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	c := b.login(b.admin.Email)
	// No account yet: the form, the first step's template, and the
	// campaign's enrollments to pick from.
	res, body := c.get(base)
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<option value="admin_welcome" selected>admin_welcome (step welcome)</option>`,
		"Step <code>welcome</code> sends it to: Instance admin.", `id="account-suggestions"`,
		fmt.Sprintf(`<a href="/campaigns/admin_onboarding/preview?account=%d&amp;template=admin_welcome">Hooli</a>`, b.hooli.ID))
	wantNotIn(t, body, `id="email-html"`)
	// The search finds accounts by name.
	res, body = c.get(base + "?template=admin_upkeep&q=hoo")
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="account-matches"`, fmt.Sprintf(`account=%d&amp;template=admin_upkeep">Hooli</a>`, b.hooli.ID))
	wantNotIn(t, body, ">Acme Corp</a>")

	// Hooli: the instance admin is the contact the step writes to.
	res, body = c.get(fmt.Sprintf("%s?template=admin_repositories&account=%d", base, b.hooli.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, fmt.Sprintf(`<option value="%d" selected>Ian Admin · ian@hooli.example</option>`, b.ian.ID),
		"Pat Program · pat@hooli.example (not a recipient)", `id="preview-subject"`, "Hooli",
		"<th>From</th><td><code class=\"small\">Tina Advisor &lt;tina@tend.test&gt;</code>",
		"<th>To</th><td><code class=\"small\">Ian Admin &lt;ian@hooli.example&gt;</code>",
		"<th>List-Unsubscribe</th>", `<pre class="email-text" id="email-text">Hi Ian,`,
		fmt.Sprintf(`<iframe class="email-html" id="email-html" sandbox src="/campaigns/admin_onboarding/preview/html?account=%d&amp;contact=%d&amp;template=admin_repositories"`,
			b.hooli.ID, b.ian.ID))
	// The HTML, as the frame asks for it: the policy of an email's HTML.
	res, body = c.get(fmt.Sprintf("%s/html?template=admin_repositories&account=%d&contact=%d", base, b.hooli.ID, b.ian.ID))
	wantStatus(t, res, body, http.StatusOK)
	if got := res.Header.Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox" {
		t.Errorf("preview HTML policy %q", got)
	}
	wantIn(t, body, "<html", "Ian")
	wantNotIn(t, body, `class="nav"`)
	// Another contact, chosen.
	res, body = c.get(fmt.Sprintf("%s?template=admin_repositories&account=%d&contact=%d", base, b.hooli.ID, b.pat.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Hi Pat,")
	// Nothing was sent or recorded.
	n, err := b.st.CountMessages(context.Background(), store.OutboxFilter{AccountID: b.hooli.ID})
	if err != nil || n[store.StatusQueued] != 1 || len(n) != 1 && n[store.StatusQueued]+n[store.StatusSending] != 1 {
		t.Errorf("Hooli's messages after previews: %v, %v", n, err)
	}

	// Mistakes are shown on the page.
	res, body = c.get(base + "?template=health_enablement")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "template: &#34;health_enablement&#34; is not one of this campaign&#39;s templates")
	res, body = c.get(base + "?account=hooli")
	wantStatus(t, res, body, http.StatusBadRequest)
	wantIn(t, body, "account: &#34;hooli&#34; is not an id")
	res, body = c.get(base + "?account=9999")
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, `id="preview-error"`, "There is no account 9999.")
	res, body = c.get(fmt.Sprintf("%s?account=%d", base, b.umbrella.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `id="preview-error"`, "Umbrella has no contacts to preview the email for.")
	res, body = c.get(fmt.Sprintf("%s?account=%d&contact=%d", base, b.acme.ID, b.ian.ID))
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, `id="preview-error"`, "is not one of account")
	res, body = c.get("/campaigns/nope/preview")
	wantStatus(t, res, body, http.StatusNotFound)
	res, body = c.get(base + "/html?template=admin_welcome")
	wantStatus(t, res, body, http.StatusBadRequest)

	// Without the engine there is nothing to render with.
	b.assessor = nil
	b.serve()
	c = b.login(b.admin.Email)
	res, body = c.get(fmt.Sprintf("%s?account=%d", base, b.hooli.ID))
	wantStatus(t, res, body, http.StatusNotFound)
	wantIn(t, body, `id="preview-error"`, "This server does not run campaigns.")
}

func TestAccountCampaignCards(t *testing.T) {
	t.Parallel()
	b := newCampaignBook(t)
	ctx := context.Background()
	if _, err := b.st.RecordSurveyAnswer(ctx, &store.SurveyAnswer{Key: "checkin-pat", AccountID: b.hooli.ID, ContactID: b.pat.ID,
		Campaign: "onboarding_checkin", Rating: 2, Comment: "Indexing is slow", WantsHelp: true, At: today}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/accounts/%d", b.hooli.ID)

	c := b.login(b.tina.Email)
	res, body := c.get(path)
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, `<section class="panel" id="campaigns">`, `<a href="/campaigns/admin_onboarding">Admin onboarding</a>`,
		"<code>week_one</code>", "2026-03-09 09:30",
		// the survey answer, in the card and on the timeline
		`<span class="rating rating-2" title="2 of 5">2/5</span>`, "wants help", "Indexing is slow", `<span class="kind">Survey answer</span>`,
		// the messages: the welcome, queued, to Ian; a TA gets no link
		`<section class="panel" id="messages">`, fmt.Sprintf(`<tr id="message-%d">`, b.welcome.ID), "ian@hooli.example",
		`<span class="tag status-queued">queued</span>`, html.EscapeString(b.welcome.Subject), "Admins and managers open a message")
	wantNotIn(t, body, fmt.Sprintf(`href="/outbox/%d"`, b.welcome.ID))

	// An admin opens each message in the outbox.
	admin := b.login(b.admin.Email)
	_, body = admin.get(path)
	wantIn(t, body, fmt.Sprintf(`<a href="/outbox/%d">%s</a>`, b.welcome.ID, html.EscapeString(b.welcome.Subject)))
	wantNotIn(t, body, "Admins and managers open a message")

	// Every message, paged: the newest 50 first.
	var ms []*store.OutboxMessage
	for i := range 55 {
		m := outbox.NewEmail(fmt.Sprintf("test:%d", i), store.Email{From: store.Address{Email: "tina@tend.test"},
			To: store.Address{Email: "ian@hooli.example"}, Subject: fmt.Sprintf("Note %02d", i), Text: "Hello"})
		m.AccountID = &b.hooli.ID
		ms = append(ms, m)
	}
	if err := outbox.NewQueue(b.st, store.Address{Email: "tend@tend.test"}).Enqueue(ctx, ms...); err != nil {
		t.Fatal(err)
	}
	_, body = admin.get(path)
	wantIn(t, body, "Note 54", "Note 05", `rel="next">Older ›</a>`)
	wantNotIn(t, body, ">Note 04<", html.EscapeString(b.welcome.Subject))
	next := regexpFind(t, body, `href="(/accounts/\d+\?messages=[^"#]+)#messages" rel="next"`)
	_, body = admin.get(strings.ReplaceAll(next, "&amp;", "&"))
	wantIn(t, body, "Note 04", "Note 00", html.EscapeString(b.welcome.Subject), "‹ Newest")
	wantNotIn(t, body, ">Note 05<")

	// An account in no campaign says so.
	_, body = c.get(acmePath(b.book))
	wantIn(t, body, "The account is in no campaign.", "No messages for this account yet.")
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	b := newCampaignBook(t)
	path := "/campaigns/release_notes/broadcast"
	res, body := b.login(b.tina.Email).post(path, url.Values{"confirm": {"yes"}})
	wantStatus(t, res, body, http.StatusForbidden)

	c := b.login(b.admin.Email)
	_, body = c.get("/campaigns/release_notes")
	wantIn(t, body, `id="broadcast-confirm"`, `id="broadcast-button"`)
	// Another site's form is refused before anything runs.
	res, body = c.post(path, url.Values{"confirm": {"yes"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	wantStatus(t, res, body, http.StatusForbidden)
	// Without the confirmation nothing is sent.
	res, body = c.post(path, nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get("/campaigns/release_notes")
	wantIn(t, body, "Not sent: tick the confirmation")
	es, err := b.st.ListEnrollments(context.Background(), store.EnrollmentFilter{Campaign: "release_notes"})
	if err != nil || len(es.Enrollments) != 0 {
		t.Fatalf("enrollments before the broadcast: %+v, %v", es.Enrollments, err)
	}
	// Confirmed: every Scaled Success account enters (Hooli and Initech).
	res, body = c.post(path, url.Values{"confirm": {"yes"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get("/campaigns/release_notes?status=all")
	wantIn(t, body, "Broadcast started: 2 accounts entered Release notes", fmt.Sprintf(`<a href="/accounts/%d">Hooli</a>`, b.hooli.ID),
		fmt.Sprintf(`<a href="/accounts/%d">Initech</a>`, b.initech.ID))
	// Admin onboarding is not a broadcast.
	res, body = c.post("/campaigns/admin_onboarding/broadcast", url.Values{"confirm": {"yes"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = c.get("/campaigns/admin_onboarding")
	wantIn(t, body, "Not sent: Campaign admin_onboarding is entered by trigger, not by a broadcast.")
	res, body = c.post("/campaigns/nope/broadcast", url.Values{"confirm": {"yes"}})
	wantStatus(t, res, body, http.StatusNotFound)
}

// regexpFind returns the first group of pattern's first match in body.
func regexpFind(t *testing.T, body, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s\n%s", pattern, body)
	}
	return m[1]
}
