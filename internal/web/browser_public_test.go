package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tendhq/tend/internal/store"
)

// TestBrowserUnsubscribeAndSurvey is issue 6's browser test of the pages
// campaign emails link to: a contact, who has no session, opens her
// unsubscribe link, clicks the button and reads the confirmation; then
// opens her check-in survey, rates 2, asks for help, writes a comment and
// sends it. The store has her unsubscribed and suppressed, and her answer
// with its survey_answered signal. The pages must raise no exception and
// break no content security rule.
func TestBrowserUnsubscribeAndSurvey(t *testing.T) {
	path := chromium(t)
	b := newBook(t)
	jane := b.contact("jane@acme.example")
	s := signer(t, b.st)
	const key = "cp:checkin:1:1:survey:1"

	ctx := browser(t, path)
	problems := watchConsole(ctx)
	must := func(what string, err error) { t.Helper(); mustDo(t, ctx, what, err) }
	wait := func(what, js string) { t.Helper(); waitJS(t, ctx, what, js) }

	must("open the unsubscribe link", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+s.UnsubscribeURL(b.acme.ID, jane.ID, "checkin")),
		chromedp.WaitVisible(chromedp.CSS(`#unsubscribe`)),
	))
	wait("the question", `document.body.textContent.includes("Unsubscribe jane@acme.example from Acme Corp's Tend emails?") &&
		!document.querySelector('nav.nav')`)
	screenshot(t, ctx, "unsubscribe")
	must("unsubscribe", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#unsubscribe`)),
		chromedp.WaitVisible(chromedp.CSS(`#unsubscribed`)),
	))
	wait("the confirmation", `document.querySelector('#unsubscribed').textContent === 'You are unsubscribed'`)
	screenshot(t, ctx, "unsubscribed")
	if c := b.contact("jane@acme.example"); !c.Unsubscribed {
		t.Error("Jane is not unsubscribed")
	}
	if sup, err := b.st.GetSuppression(context.Background(), "jane@acme.example"); err != nil || sup.Reason != store.SuppressUnsubscribed {
		t.Errorf("suppression %+v, %v", sup, err)
	}

	must("open the survey link", chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+s.SurveyURL(b.acme.ID, jane.ID, "checkin", key)),
		chromedp.WaitVisible(chromedp.CSS(`#survey-form`)),
		chromedp.Click(chromedp.CSS(`#rating-2`)),
		chromedp.Click(chromedp.CSS(`#wants-help`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="comment"]`), "Search is slow on our monorepo."),
	))
	screenshot(t, ctx, "survey")
	must("send the answer", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#survey-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks`)),
	))
	wait("the thanks", `document.querySelector('#thanks').textContent === 'Thank you' &&
		document.body.textContent.includes('in touch to help')`)
	screenshot(t, ctx, "survey-thanks")

	bg := context.Background()
	answers, err := b.st.ListSurveyAnswers(bg, store.SurveyFilter{AccountID: b.acme.ID, Campaign: "checkin"})
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %+v, %v", answers, err)
	}
	if a := answers[0]; a.Key != key || a.ContactID != jane.ID || a.Rating != 2 || !a.WantsHelp || a.Comment != "Search is slow on our monorepo." {
		t.Errorf("answer %+v", a)
	}
	sigs, err := b.st.TakeSignals(bg, 10)
	if err != nil || len(sigs) != 1 || sigs[0].Kind != "survey_answered" || sigs[0].AccountID != b.acme.ID {
		t.Errorf("signals %+v, %v", sigs, err)
	}

	if p := problems(); len(p) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}
