package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/links"
	"github.com/tendhq/tend/internal/store"
)

// The public pages are the ones campaign emails link to: unsubscribe
// (/u/{token}) and the check-in survey (/s/{token}). Their visitors are
// customers' contacts, who have no session: the signed token says who
// they are (links.Claim), and a token that was not made here or was
// altered is a 404. They are drawn with the layout's bare shell (no
// user, so no nav) and never read or write the session.

// publicLink is what a valid link names: the claim, its contact and the
// contact's account.
type publicLink struct {
	Claim   links.Claim
	Contact account.Contact
	Account account.Account
}

// errBadLink is why a public page answers 404: the page says so plainly.
var errBadLink = derrors.New(derrors.NotFound, "This link is not valid.")

// readLink checks the request's token, which must be of the kind, and
// loads the contact and account it names. A contact that moved to
// another account or was deleted makes the link invalid too.
func (ui *UI) readLink(ctx context.Context, r *http.Request, kind string) (publicLink, error) {
	secret, err := ui.st.Secret(ctx, links.SecretName)
	if err != nil {
		return publicLink{}, err
	}
	c, err := links.New(secret, "").Parse(r.PathValue("token"))
	if err != nil || c.Kind != kind || kind == links.KindSurvey && c.Key == "" {
		return publicLink{}, errBadLink
	}
	l := publicLink{Claim: c}
	l.Contact, err = ui.st.GetContact(ctx, c.ContactID)
	if derrors.Is(err, derrors.NotFound) || err == nil && l.Contact.AccountID != c.AccountID {
		return publicLink{}, errBadLink
	}
	if err != nil {
		return publicLink{}, err
	}
	l.Account, err = ui.st.GetAccount(ctx, c.AccountID)
	if derrors.Is(err, derrors.NotFound) {
		return publicLink{}, errBadLink
	}
	return l, err
}

// publicPage is the data of the unsubscribe and survey pages.
type publicPage struct {
	base
	// Invalid says the link is not valid: the page says only that.
	Invalid bool
	Email   string
	Account string
	// Done shows the confirmation (unsubscribed; thank you).
	Done bool
	// The survey's form: the answer given or stored, and its errors.
	Rating                    int
	Comment                   string
	WantsHelp                 bool
	RatingError, CommentError string
	// Answered says a stored answer is shown: sending replaces it.
	Answered bool
}

// Ratings are the survey's choices.
func (publicPage) Ratings() []int { return []int{1, 2, 3, 4, 5} }

// MaxComment is the longest comment.
func (publicPage) MaxComment() int { return store.MaxSurveyComment }

// renderPublic renders a public page, or its "not valid" version for a
// bad link.
func (ui *UI) renderPublic(w http.ResponseWriter, r *http.Request, page string, p publicPage, err error) error {
	if derrors.Is(err, derrors.NotFound) {
		p = publicPage{base: base{Title: "Link not valid"}, Invalid: true}
		return ui.renderPage(w, r, http.StatusNotFound, page, p)
	}
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, page, p)
}

// unsubscribePage asks the contact to confirm: a GET must not
// unsubscribe, since mail scanners follow links.
func (ui *UI) unsubscribePage(w http.ResponseWriter, r *http.Request) error {
	l, err := ui.readLink(r.Context(), r, links.KindUnsubscribe)
	p := publicPage{base: base{Title: "Unsubscribe"}, Email: l.Contact.Email, Account: l.Account.Name, Done: l.Contact.Unsubscribed}
	return ui.renderPublic(w, r, "unsubscribe", p, err)
}

// unsubscribe marks the contact unsubscribed and suppresses the address:
// the button on the page, or a mail provider's one-click POST (RFC 8058,
// body List-Unsubscribe=One-Click, no cookie, no Origin, which the
// cross-origin check lets through). Doing it again changes nothing and
// answers the same.
func (ui *UI) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l, err := ui.readLink(ctx, r, links.KindUnsubscribe)
	if err != nil {
		return ui.renderPublic(w, r, "unsubscribe", publicPage{}, err)
	}
	c := l.Contact
	if err := store.Unsubscribe(ctx, ui.st, c, l.Claim.Campaign); err != nil {
		return err
	}
	p := publicPage{base: base{Title: "Unsubscribed"}, Email: c.Email, Account: l.Account.Name, Done: true}
	return ui.renderPublic(w, r, "unsubscribe", p, nil)
}

// surveyPage shows the check-in survey, with the contact's answer to this
// email filled in when there is one.
func (ui *UI) surveyPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l, err := ui.readLink(ctx, r, links.KindSurvey)
	if err != nil {
		return ui.renderPublic(w, r, "survey", publicPage{}, err)
	}
	p := publicPage{base: base{Title: "How is it going?"}, Email: l.Contact.Email, Account: l.Account.Name}
	answers, err := ui.st.ListSurveyAnswers(ctx, store.SurveyFilter{AccountID: l.Claim.AccountID, Campaign: l.Claim.Campaign})
	if err != nil {
		return err
	}
	for _, a := range answers {
		if a.Key == l.Claim.Key {
			p.Answered, p.Rating, p.Comment, p.WantsHelp = true, a.Rating, a.Comment, a.WantsHelp
			break
		}
	}
	return ui.renderPublic(w, r, "survey", p, nil)
}

// answerSurvey stores the contact's answer (again: it replaces the first)
// and thanks them. A missing or out-of-range rating, or a comment too
// long, re-renders the form with the message at the field (422).
func (ui *UI) answerSurvey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l, err := ui.readLink(ctx, r, links.KindSurvey)
	if err != nil {
		return ui.renderPublic(w, r, "survey", publicPage{}, err)
	}
	p := publicPage{base: base{Title: "How is it going?"}, Email: l.Contact.Email, Account: l.Account.Name,
		Comment: r.PostFormValue("comment"), WantsHelp: r.PostFormValue("help") == "true"}
	rating, perr := strconv.Atoi(strings.TrimSpace(r.PostFormValue("rating")))
	if perr != nil || rating < 1 || rating > 5 {
		p.RatingError = "Please choose a rating from 1 to 5."
		return ui.renderPage(w, r, http.StatusUnprocessableEntity, "survey", p)
	}
	p.Rating = rating
	a := store.SurveyAnswer{Key: l.Claim.Key, AccountID: l.Claim.AccountID, ContactID: l.Claim.ContactID, Campaign: l.Claim.Campaign,
		Rating: rating, Comment: p.Comment, WantsHelp: p.WantsHelp}
	if _, err := ui.st.RecordSurveyAnswer(ctx, &a); err != nil {
		e := derrors.Public(err)
		switch {
		case e.Code == derrors.Unprocessable && e.Field == "comment":
			p.CommentError = "The comment " + e.Message + "."
		case e.Code == derrors.Unprocessable && e.Field == "rating":
			p.RatingError = "The rating " + e.Message + "."
		case e.Code == derrors.NotFound:
			return ui.renderPublic(w, r, "survey", p, errBadLink)
		default:
			return err
		}
		return ui.renderPage(w, r, http.StatusUnprocessableEntity, "survey", p)
	}
	p.Done, p.Title = true, "Thank you"
	return ui.renderPage(w, r, http.StatusOK, "survey", p)
}
