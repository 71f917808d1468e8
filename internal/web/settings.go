package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// settingsPage is the data of the users settings page (admins only).
type settingsPage struct {
	base
	Users []userRow
	// New re-shows the add-user form after an error.
	New      team.User
	NewError string
}

// userRow is one user with the error of its last edit, if any.
type userRow struct {
	team.User
	Self  bool
	Error string
}

// settings lists the users, with forms to add one and to change a role,
// disable an account or set a password.
func (ui *UI) settings(w http.ResponseWriter, r *http.Request) error {
	p, err := ui.loadSettings(r)
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "settings", p)
}

func (ui *UI) loadSettings(r *http.Request) (settingsPage, error) {
	users, err := ui.st.ListUsers(r.Context())
	if err != nil {
		return settingsPage{}, err
	}
	me := currentUser(r)
	p := settingsPage{base: ui.base(r, "Settings", "settings"), New: team.User{Role: team.TA}}
	for _, u := range users {
		p.Users = append(p.Users, userRow{User: u, Self: u.ID == me.ID})
	}
	return p, nil
}

// fieldLabels name the form fields in messages.
var fieldLabels = map[string]string{"email": "Email", "name": "Name", "role": "Role", "password": "Password"}

// formMessage turns a field error into a sentence that names the field:
// "Email is already taken", "Password: must be at least 10 characters".
func formMessage(err error) string {
	e := derrors.Public(err)
	if e.Field == "" {
		return e.Message
	}
	label, ok := fieldLabels[e.Field]
	if !ok {
		label = e.Field
	}
	if strings.HasPrefix(e.Message, "is ") || strings.HasPrefix(e.Message, "must ") {
		return label + " " + e.Message + "."
	}
	return label + ": " + e.Message + "."
}

// formStatus is the status of a form re-rendered with err: the status of
// its code when it is a user's mistake, else no status (the error is ours).
func formStatus(err error) (int, bool) {
	switch c := derrors.CodeOf(err); c {
	case derrors.Invalid, derrors.Unprocessable, derrors.Conflict:
		return c.HTTPStatus(), true
	}
	return 0, false
}

// createUser adds a team member.
func (ui *UI) createUser(w http.ResponseWriter, r *http.Request) error {
	u := team.User{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: team.Role(r.PostFormValue("role"))}
	err := u.Validate()
	if err == nil {
		u.PasswordHash, err = team.HashPassword(r.PostFormValue("password"))
	}
	if err == nil {
		err = ui.st.CreateUser(r.Context(), &u)
	}
	if err != nil {
		status, ok := formStatus(err)
		if !ok {
			return err
		}
		p, lerr := ui.loadSettings(r)
		if lerr != nil {
			return lerr
		}
		p.New, p.NewError = u, formMessage(err)
		return ui.renderPage(w, r, status, "settings", p)
	}
	ui.flash(r, fmt.Sprintf("%s (%s) was added as %s.", u.Name, u.Email, u.Role.Label()))
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
	return nil
}

// updateUser changes a member's role, disables or enables them, or sets a
// new password. Admins cannot demote or disable themselves, so there is
// always an admin left to undo a mistake.
func (ui *UI) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user")
	if err != nil {
		return err
	}
	u, err := ui.st.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	self := id == currentUser(r).ID
	role := team.Role(r.PostFormValue("role"))
	disabled := r.PostFormValue("disabled") != ""
	password := r.PostFormValue("password")
	switch {
	case self && role != team.Admin:
		err = derrors.Field(derrors.Unprocessable, "role", "is yours; another admin must change it")
	case self && disabled:
		err = derrors.New(derrors.Unprocessable, "You cannot disable yourself.")
	}
	u.Role, u.Disabled = role, disabled
	if err == nil && password != "" {
		u.PasswordHash, err = team.HashPassword(password)
	}
	if err == nil {
		err = ui.st.UpdateUser(r.Context(), &u)
	}
	if err != nil {
		status, ok := formStatus(err)
		if !ok {
			return err
		}
		p, lerr := ui.loadSettings(r)
		if lerr != nil {
			return lerr
		}
		for i := range p.Users {
			if p.Users[i].ID == id {
				p.Users[i].Error = formMessage(err)
			}
		}
		return ui.renderPage(w, r, status, "settings", p)
	}
	msg := fmt.Sprintf("%s saved.", u.Name)
	if password != "" {
		msg = fmt.Sprintf("%s saved, with the new password.", u.Name)
	}
	ui.flash(r, msg)
	http.Redirect(w, r, "/settings#user-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// tokensPage is the data of the API tokens page. Admins see and manage
// everyone's tokens; other members their own.
type tokensPage struct {
	base
	All    bool
	Tokens []tokenRow
	Users  []team.User
	// Secret is the token just created: shown this once, never stored.
	Secret     string
	SecretName string
	// Name, UserID and Error re-show the create form after an error.
	Name   string
	UserID int64
	Error  string
}

// tokenRow is one token with its owner's name.
type tokenRow struct {
	team.Token
	Owner string
}

// tokens lists the API tokens the user may manage.
func (ui *UI) tokens(w http.ResponseWriter, r *http.Request) error {
	p, err := ui.loadTokens(r)
	if err != nil {
		return err
	}
	// A token just made is shown once, on the page the create redirected
	// to, and popped from the session as it is.
	p.Secret = ui.sessions.PopString(r.Context(), "new_token_secret")
	p.SecretName = ui.sessions.PopString(r.Context(), "new_token_name")
	return ui.renderPage(w, r, http.StatusOK, "tokens", p)
}

func (ui *UI) loadTokens(r *http.Request) (tokensPage, error) {
	me := currentUser(r)
	p := tokensPage{base: ui.base(r, "API tokens", "settings"), All: me.Role.IsAdmin(), UserID: me.ID}
	var scope int64 // 0: every user's tokens
	if !p.All {
		scope = me.ID
	}
	toks, err := ui.st.ListTokens(r.Context(), scope)
	if err != nil {
		return p, err
	}
	users, err := ui.st.ListUsers(r.Context())
	if err != nil {
		return p, err
	}
	names := make(map[int64]string, len(users))
	for _, u := range users {
		names[u.ID] = u.Name
		if !u.Disabled {
			p.Users = append(p.Users, u)
		}
	}
	for _, t := range toks {
		p.Tokens = append(p.Tokens, tokenRow{Token: t, Owner: names[t.UserID]})
	}
	return p, nil
}

// createToken makes an API token and shows its secret once.
func (ui *UI) createToken(w http.ResponseWriter, r *http.Request) error {
	me := currentUser(r)
	owner := me.ID
	if s := r.PostFormValue("user_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return derrors.Field(derrors.Invalid, "user_id", "%q is not a user id", s)
		}
		if id != me.ID && !me.Role.IsAdmin() {
			return derrors.New(derrors.Forbidden, "Only admins can make tokens for other people.")
		}
		owner = id
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	secret, tok, err := team.NewToken(owner, name)
	if err != nil {
		return err
	}
	if err := ui.st.CreateToken(r.Context(), &tok); err != nil {
		status, ok := formStatus(err)
		if !ok {
			return err
		}
		p, lerr := ui.loadTokens(r)
		if lerr != nil {
			return lerr
		}
		p.Name, p.UserID, p.Error = name, owner, formMessage(err)
		return ui.renderPage(w, r, status, "tokens", p)
	}
	// Post/redirect/get: reloading the page that shows the secret must not
	// make another token.
	ui.sessions.Put(r.Context(), "new_token_secret", secret)
	ui.sessions.Put(r.Context(), "new_token_name", tok.Name)
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

// deleteToken revokes a token. Someone else's token is, to a non-admin, a
// token that does not exist.
func (ui *UI) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	me := currentUser(r)
	var scope int64
	if !me.Role.IsAdmin() {
		scope = me.ID
	}
	toks, err := ui.st.ListTokens(r.Context(), scope)
	if err != nil {
		return err
	}
	var name string
	for _, t := range toks {
		if t.ID == id {
			name = t.Name
		}
	}
	if name == "" {
		return derrors.New(derrors.NotFound, "There is no token %d.", id)
	}
	if err := ui.st.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	ui.flash(r, fmt.Sprintf("The token %q was deleted; programs using it can no longer sign in.", name))
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}
