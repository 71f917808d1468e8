package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/links"
	"github.com/tendhq/tend/internal/store"
)

// signer signs links with the store's secret, as the campaign runner does.
func signer(t testing.TB, st store.Store) *links.Signer {
	t.Helper()
	secret, err := st.Secret(context.Background(), links.SecretName)
	if err != nil {
		t.Fatal(err)
	}
	return links.New(secret, "")
}

// contact returns the book's contact with the email.
func (b *book) contact(email string) account.Contact {
	b.t.Helper()
	cs, err := b.st.ListContacts(context.Background(), b.acme.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Email == email {
			return c
		}
	}
	b.t.Fatalf("no contact %s", email)
	return account.Contact{}
}

// badLinks are links the public pages refuse with a 404.
func badLinks(b *book, kind string) map[string]string {
	s := signer(b.t, b.st)
	jane := b.contact("jane@acme.example")
	good := s.Token(links.Claim{Kind: kind, AccountID: b.acme.ID, ContactID: jane.ID, Campaign: "checkin", Key: "m1"})
	payload, sig, _ := strings.Cut(good, ".")
	other := links.KindSurvey
	if kind == links.KindSurvey {
		other = links.KindUnsubscribe
	}
	return map[string]string{
		"altered":         strings.ToUpper(payload[:1]) + payload[1:] + "." + sig,
		"foreign":         links.New([]byte("another secret of thirty-two b.."), "").Token(links.Claim{Kind: kind, AccountID: b.acme.ID, ContactID: jane.ID, Key: "m1"}),
		"garbage":         "nonsense",
		"other kind":      s.Token(links.Claim{Kind: other, AccountID: b.acme.ID, ContactID: jane.ID, Key: "m1"}),
		"another account": s.Token(links.Claim{Kind: kind, AccountID: b.globex.ID, ContactID: jane.ID, Key: "m1"}),
		"unknown contact": s.Token(links.Claim{Kind: kind, AccountID: b.acme.ID, ContactID: 9999, Key: "m1"}),
		"unknown account": s.Token(links.Claim{Kind: kind, AccountID: 9999, ContactID: jane.ID, Key: "m1"}),
	}
}

func TestPublicBadLinks(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	c := b.anonymous()
	for _, kind := range []string{links.KindUnsubscribe, links.KindSurvey} {
		for name, tok := range badLinks(b, kind) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var res *http.Response
				var body string
				if method == http.MethodGet {
					res, body = c.get("/" + kind + "/" + tok)
				} else {
					res, body = c.post("/"+kind+"/"+tok, url.Values{"rating": {"3"}, "List-Unsubscribe": {"One-Click"}})
				}
				if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "This link is not valid") {
					t.Errorf("%s %s link, %s: %d\n%s", kind, name, method, res.StatusCode, body)
				}
			}
		}
	}
	// A survey link without the message it came in cannot hold an answer.
	jane := b.contact("jane@acme.example")
	tok := signer(t, b.st).Token(links.Claim{Kind: links.KindSurvey, AccountID: b.acme.ID, ContactID: jane.ID})
	res, body := c.get("/s/" + tok)
	wantStatus(t, res, body, http.StatusNotFound)
	// Nothing was changed.
	if got := b.contact("jane@acme.example"); got.Unsubscribed {
		t.Error("a bad link unsubscribed Jane")
	}
	if answers, _ := b.st.ListSurveyAnswers(context.Background(), store.SurveyFilter{}); len(answers) != 0 {
		t.Errorf("a bad link stored %+v", answers)
	}
}

func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ctx := context.Background()
	jane := b.contact("jane@acme.example")
	path := signer(t, b.st).UnsubscribeURL(b.acme.ID, jane.ID, "checkin")
	c := b.anonymous()

	// GET asks, and changes nothing: mail scanners follow links.
	res, body := c.get(path)
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Unsubscribe <strong>jane@acme.example</strong> from Acme Corp's Tend emails?", `id="unsubscribe"`,
		`<main class="bare">`)
	wantNotIn(t, body, `class="nav"`, "Sign in")
	if b.contact("jane@acme.example").Unsubscribed {
		t.Fatal("GET unsubscribed")
	}
	if len(res.Cookies()) != 0 {
		t.Errorf("the page set cookies %v", res.Cookies())
	}

	// A mail provider's one-click POST: no cookie, no Origin, no
	// Sec-Fetch-Site (RFC 8058).
	for i := range 2 {
		res, body = c.post(path, url.Values{"List-Unsubscribe": {"One-Click"}})
		wantStatus(t, res, body, http.StatusOK)
		wantIn(t, body, "You are unsubscribed", "jane@acme.example")
		got := b.contact("jane@acme.example")
		if !got.Unsubscribed || got.Name != jane.Name || got.Title != jane.Title || len(got.Roles) != len(jane.Roles) {
			t.Fatalf("after POST %d: contact %+v", i+1, got)
		}
		s, err := b.st.GetSuppression(ctx, "jane@acme.example")
		if err != nil || s.Reason != store.SuppressUnsubscribed || !strings.Contains(s.Detail, "campaign checkin") {
			t.Fatalf("after POST %d: suppression %+v, %v", i+1, s, err)
		}
	}
	page, err := b.st.ListSuppressions(ctx, store.SuppressionFilter{})
	if err != nil || len(page.Suppressions) != 1 {
		t.Fatalf("suppressions %+v, %v", page.Suppressions, err)
	}
	// Opening the link again says so.
	_, body = c.get(path)
	wantIn(t, body, "You are unsubscribed")

	// The button in a browser: a same-origin POST passes the cross-origin
	// check; another site's is refused.
	bob := b.contact("bob@acme.example")
	bobPath := signer(t, b.st).UnsubscribeURL(b.acme.ID, bob.ID, "")
	res, body = c.post(bobPath, nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = c.post(bobPath, nil, "Sec-Fetch-Site", "same-origin", "Origin", b.srv.URL)
	wantStatus(t, res, body, http.StatusOK)
	if !b.contact("bob@acme.example").Unsubscribed {
		t.Error("Bob is not unsubscribed")
	}
	// A signed-in member opening a link sees the bare page too.
	_, body = b.login(b.tina.Email).get(bobPath)
	wantIn(t, body, "You are unsubscribed")
	wantNotIn(t, body, `class="nav"`)
}

func TestSurvey(t *testing.T) {
	t.Parallel()
	b := newBook(t)
	ctx := context.Background()
	jane := b.contact("jane@acme.example")
	const key = "cp:checkin:1:1:survey:1"
	path := signer(t, b.st).SurveyURL(b.acme.ID, jane.ID, "checkin", key)
	c := b.anonymous()

	res, body := c.get(path)
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "How is it going?", "jane@acme.example at Acme Corp", `type="radio" name="rating" value="1"`,
		`name="rating" value="5"`, `<textarea name="comment"`, `name="help" value="true"`, "I'd like help from the team")
	wantNotIn(t, body, "checked", "You answered already", `class="nav"`)

	// No rating, or one out of range: 422 with the form as it was sent.
	for _, rating := range []string{"", "0", "6", "three"} {
		res, body = c.post(path, url.Values{"rating": {rating}, "comment": {"Search is slow."}, "help": {"true"}})
		wantStatus(t, res, body, http.StatusUnprocessableEntity)
		wantIn(t, body, "Please choose a rating from 1 to 5.", "Search is slow.</textarea>", `id="wants-help" checked`)
	}
	res, body = c.post(path, url.Values{"rating": {"4"}, "comment": {strings.Repeat("x", store.MaxSurveyComment+1)}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantIn(t, body, "The comment is longer than 4000 characters.", `id="rating-4" checked`)
	if answers, _ := b.st.ListSurveyAnswers(ctx, store.SurveyFilter{}); len(answers) != 0 {
		t.Fatalf("refused answers stored: %+v", answers)
	}

	res, body = c.post(path, url.Values{"rating": {"2"}, "comment": {"Search is slow."}, "help": {"true"}})
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Thank you", "who will be in touch to help")
	answers, err := b.st.ListSurveyAnswers(ctx, store.SurveyFilter{AccountID: b.acme.ID, Campaign: "checkin"})
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %+v, %v", answers, err)
	}
	if a := answers[0]; a.Key != key || a.ContactID != jane.ID || a.Rating != 2 || a.Comment != "Search is slow." || !a.WantsHelp {
		t.Fatalf("answer %+v", a)
	}
	sigs, err := b.st.TakeSignals(ctx, 10)
	if err != nil || len(sigs) != 1 || sigs[0].Kind != "survey_answered" || sigs[0].AccountID != b.acme.ID {
		t.Fatalf("signals %+v, %v", sigs, err)
	}
	var data map[string]string
	_ = json.Unmarshal(sigs[0].Data, &data)
	if data["to"] != "help" {
		t.Errorf("signal %s", sigs[0].Data)
	}

	// The stored answer is shown; answering again replaces it.
	_, body = c.get(path)
	wantIn(t, body, "You answered already", `id="rating-2" checked`, "Search is slow.</textarea>", `id="wants-help" checked`)
	res, body = c.post(path, url.Values{"rating": {"5"}})
	wantStatus(t, res, body, http.StatusOK)
	wantIn(t, body, "Thank you")
	wantNotIn(t, body, "in touch to help")
	answers, _ = b.st.ListSurveyAnswers(ctx, store.SurveyFilter{AccountID: b.acme.ID, Campaign: "checkin"})
	if len(answers) != 1 || answers[0].Rating != 5 || answers[0].WantsHelp || answers[0].Comment != "" {
		t.Fatalf("replaced answers %+v", answers)
	}
	_, body = c.get(path)
	wantIn(t, body, `id="rating-5" checked`)
	wantNotIn(t, body, `id="wants-help" checked`)

	// Another email of the campaign has its own answer.
	other := signer(t, b.st).SurveyURL(b.acme.ID, jane.ID, "checkin", "cp:checkin:1:2:survey:1")
	_, body = c.get(other)
	wantNotIn(t, body, "checked", "You answered already")
}
