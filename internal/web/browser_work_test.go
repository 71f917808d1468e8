package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tendhq/tend/internal/work"
)

// TestBrowserPlaybookAndTask is the playbooks issue's browser test: a TA
// opens the renewal playbook, previews the accounts it matches (htmx, in
// place), asks why it fired for Acme, then completes the task it made
// from her task list without the page reloading, and reads the inbox
// badge. The page must raise no exception and break no content security
// rule.
func TestBrowserPlaybookAndTask(t *testing.T) {
	path := chromium(t)
	b := newBook(t)
	b.withPlaybooks()
	task := b.waitTasks(b.acme.ID, "renewal")[0]
	// A notification, for the inbox badge.
	n := work.Notification{UserID: b.tina.ID, Title: "Globex turned red", AccountID: &b.globex.ID, Link: fmt.Sprintf("/accounts/%d", b.globex.ID)}
	if _, err := b.st.CreateNotification(context.Background(), &n); err != nil {
		t.Fatal(err)
	}

	ctx := browser(t, path)
	problems := watchConsole(ctx)
	must := func(what string, err error) { t.Helper(); mustDo(t, ctx, what, err) }
	wait := func(what, js string) { t.Helper(); waitJS(t, ctx, what, js) }

	must("log in", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/playbooks/renewal"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), b.tina.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-button`)),
	))
	wait("the badge", `document.querySelector('#unread-badge')?.textContent.trim() !== ''`)
	must("mark the page", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 1`)))
	must("preview", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#preview-button`))))
	wait("the preview", `document.querySelector('#preview-total')?.textContent === '2' &&
		[...document.querySelectorAll('#preview td.name a')].map(a => a.textContent).sort().join() === 'Acme Corp,Globex' &&
		!document.querySelector('#preview-button') && window.tendMarker === 1 && location.pathname === '/playbooks/renewal'`)
	screenshot(t, ctx, "playbook-preview")

	must("why for Acme", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#why-account`), fmt.Sprint(b.acme.ID)),
		chromedp.Click(chromedp.CSS(`#why-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#why-answer`)),
	))
	verdict, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#why-answer .verdict`)))
	must("verdict", err)
	if !strings.Contains(verdict, "It fired 1 times for this account") {
		t.Errorf("why verdict %q", verdict)
	}

	must("task list", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav.nav a[href="/tasks"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#done-%d`, task.ID))),
	))
	must("mark the list", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.tendMarker = 2`)))
	screenshot(t, ctx, "tasks")
	must("complete the task", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#done-%d`, task.ID)))))
	wait("the task done in place", fmt.Sprintf(`document.querySelector('#task-%[1]d')?.classList.contains('task-done') &&
		document.querySelector('#reopen-%[1]d') !== null && document.querySelector('#flash').textContent.includes('marked done') &&
		window.tendMarker === 2`, task.ID))
	got, err := b.st.GetTask(context.Background(), task.ID)
	if err != nil || got.Status != work.StatusDone {
		t.Fatalf("stored task %+v, %v", got, err)
	}
	screenshot(t, ctx, "task-done")

	if p := problems(); len(p) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}
