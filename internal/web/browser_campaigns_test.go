package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCampaigns is the campaigns issue's browser test: an admin
// opens the campaigns list, admin onboarding and who is at its wait,
// previews an email for Hooli's instance admin (the account found by the
// search, the HTML in its sandboxed frame), switches the template, then
// opens Hooli's messages card and the welcome email it lists. The pages
// must raise no exception and break no content security rule.
func TestBrowserCampaigns(t *testing.T) {
	path := chromium(t)
	b := newCampaignBook(t)

	ctx := browser(t, path)
	problems := watchConsole(ctx)
	must := func(what string, err error) { t.Helper(); mustDo(t, ctx, what, err) }
	wait := func(what, js string) { t.Helper(); waitJS(t, ctx, what, js) }

	must("log in", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/campaigns"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), b.admin.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaign-admin_onboarding`)),
	))
	wait("the list", `document.querySelector('#campaign-admin_onboarding td[data-col="active"]').textContent.trim() === '1' &&
		document.querySelectorAll('table.campaign-list tbody tr').length === 11 &&
		document.querySelector('nav.nav a[aria-current="page"]').textContent === 'Campaigns'`)
	screenshot(t, ctx, "campaigns")

	must("open admin onboarding", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#campaign-admin_onboarding a[href="/campaigns/admin_onboarding"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#steps`)),
	))
	must("who is at week one", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#step-week_one a[data-active]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.enrollment-list`)),
	))
	wait("Hooli at week one", `location.search.includes('step=week_one') &&
		[...document.querySelectorAll('table.enrollment-list td.name a')].map(a => a.textContent).join() === 'Hooli' &&
		document.querySelector('select[name="step"]').value === 'week_one'`)
	screenshot(t, ctx, "campaign")

	must("preview", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#preview-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#account-search`)),
		chromedp.SendKeys(chromedp.CSS(`#account-search`), "hoo"),
		chromedp.Click(chromedp.CSS(`#account-search-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#account-matches a`)),
		chromedp.Click(chromedp.CSS(`#account-matches a`)),
		chromedp.WaitVisible(chromedp.CSS(`#email-html`)),
	))
	wait("the welcome for Ian", `document.querySelector('#email-text').textContent.startsWith('Hi Ian,') &&
		document.querySelector('#preview-subject').textContent.includes('Hooli') &&
		document.querySelector('#preview-account').textContent === 'Hooli'`)
	// The frame's document is the email's HTML under its own policy.
	wait("the frame's HTML", `(window.frameCheck ??= fetch(document.querySelector('#email-html').src).then(async r =>
		r.ok && r.headers.get('content-security-policy').includes('sandbox') && (await r.text()).includes('Ian'))) &&
		window.frameCheck.then(ok => window.frameOK = ok) && window.frameOK === true`)
	screenshot(t, ctx, "campaign-preview")
	// The old page's subject is renamed, so that waiting for one waits for
	// the new page.
	must("another template", chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#preview-subject').id = 'old-subject'`),
		chromedp.SetValue(chromedp.CSS(`#preview-template`), "admin_upkeep"),
		chromedp.Click(chromedp.CSS(`#preview-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-subject`)),
	))
	wait("the upkeep email", `location.search.includes('template=admin_upkeep') &&
		document.querySelector('#email-text')?.textContent.startsWith('Hi Ian,') &&
		document.querySelector('#email-html').src.includes('admin_upkeep')`)

	must("Hooli's messages", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#preview-account`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages`)),
	))
	wait("the welcome in the card", fmt.Sprintf(`document.querySelector('#message-%d a')?.getAttribute('href') === '/outbox/%d' &&
		document.querySelector('#campaigns a[href="/campaigns/admin_onboarding"]') !== null`, b.welcome.ID, b.welcome.ID))
	must("scroll to the cards", chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(`#campaigns`))))
	screenshot(t, ctx, "account-messages")
	must("open the welcome", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#message-%d a`, b.welcome.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#email-html`)),
	))
	wait("its body", `document.querySelector('#email-text').textContent.startsWith('Hi Ian,')`)

	if p := problems(); len(p) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}
