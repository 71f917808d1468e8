package web

import (
	"net/http"
	"strings"
	"sync"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// loginPage is the data of the login page.
type loginPage struct {
	base
	Email string
	Next  string
	Error string
}

// loginPage shows the sign-in form, or sends a signed-in user on.
func (ui *UI) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := r.URL.Query().Get("next")
	if next != "" {
		next = localPath(next)
	}
	if u := currentUser(r); u != nil {
		if next == "" {
			next = landing(*u)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return ui.renderPage(w, r, http.StatusOK, "login", loginPage{base: base{Title: "Sign in"}, Next: next})
}

// badLogin is the one message for every failed sign-in: it does not say
// whether the email exists or the account is disabled.
const badLogin = "The email or password is not right."

// login checks the credentials and starts a session.
func (ui *UI) login(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	next := r.PostFormValue("next")
	if next != "" {
		next = localPath(next)
	}
	u, err := ui.st.GetUserByEmail(r.Context(), email)
	if err != nil && !derrors.Is(err, derrors.NotFound) {
		return err
	}
	// Every attempt spends the time a real check takes, so that response
	// times do not reveal which emails have accounts, which are disabled
	// and which have no password.
	hash := u.PasswordHash
	if err != nil || u.Disabled || hash == "" {
		hash = dummyHash()
	}
	ok := team.CheckPassword(hash, password)
	if err != nil || u.Disabled || u.PasswordHash == "" || !ok {
		return ui.renderPage(w, r, http.StatusUnauthorized, "login",
			loginPage{base: base{Title: "Sign in"}, Email: email, Next: next, Error: badLogin})
	}
	// A new token at sign-in defeats session fixation.
	if err := ui.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	ui.sessions.Put(r.Context(), sessionUserKey, u.ID)
	if next == "" {
		// No page was asked for: the user's landing page.
		next = landing(u)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the session.
func (ui *UI) logout(w http.ResponseWriter, r *http.Request) error {
	if err := ui.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

var dummyHash = sync.OnceValue(func() string {
	h, err := team.HashPassword("not a real password, only for timing")
	if err != nil {
		panic(err)
	}
	return h
})
