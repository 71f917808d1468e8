package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// userReadOnly are the user fields a client cannot set. The password is
// write-only: it is taken as "password" and only its hash is kept, which no
// response shows.
var userReadOnly = map[string]string{
	"id":         "is assigned by Tend and cannot be set",
	"created_at": "is set by Tend and cannot be set",
}

// meJSON is GET /me: who the token belongs to, and the token.
type meJSON struct {
	User  team.User  `json:"user"`
	Token team.Token `json:"token"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	c := callerOf(r)
	writeJSON(w, http.StatusOK, meJSON{c.user, c.token})
	return nil
}

// listUsers is open to every role: the team roster is what turns the
// owner_id, ae_id … of an account into people, and the UI shows it to
// everyone. Changing it is for admins.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	us, err := a.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[team.User]{us})
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	u, err := a.st.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// createUser adds a team member. Without a password the member cannot sign
// in to the web UI (an API token made for them still works): that is how
// an account for a sync job is made.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	pw, hasPW := take(body, "password")
	var u team.User
	if err := applyFields(&u, body, "a team member", userReadOnly); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if hasPW {
		if err := setPassword(&u, pw); err != nil {
			return err
		}
	}
	if err := a.st.CreateUser(r.Context(), &u); err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/users/%d", Prefix, u.ID))
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// patchUser changes the fields the body names; "password": null removes
// the member's password, so that they can no longer sign in to the UI.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cur, err := a.st.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	pw, hasPW := take(body, "password")
	u := cur
	if err := applyFields(&u, body, "a team member", userReadOnly); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if err := a.keepAnAdmin(r, cur, u); err != nil {
		return err
	}
	if hasPW {
		if err := setPassword(&u, pw); err != nil {
			return err
		}
	}
	if err := a.st.UpdateUser(r.Context(), &u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// keepAnAdmin refuses a change that would leave the team without an
// enabled admin: nobody could then manage users or tokens again short of
// the command line.
func (a *API) keepAnAdmin(r *http.Request, cur, next team.User) error {
	wasAdmin := cur.Role.IsAdmin() && !cur.Disabled
	if !wasAdmin || (next.Role.IsAdmin() && !next.Disabled) {
		return nil
	}
	us, err := a.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	for _, other := range us {
		if other.ID != cur.ID && other.Role.IsAdmin() && !other.Disabled {
			return nil
		}
	}
	field := "role"
	if next.Disabled {
		field = "disabled"
	}
	return derrors.Field(derrors.Conflict, field, "%s is the last enabled admin; make another member admin first", cur.Email)
}

// setPassword hashes a "password" member onto u; null removes it.
func setPassword(u *team.User, raw json.RawMessage) error {
	if string(raw) == "null" {
		u.PasswordHash = ""
		return nil
	}
	var pw string
	if err := json.Unmarshal(raw, &pw); err != nil {
		return derrors.Field(derrors.Invalid, "password", "must be a string or null")
	}
	h, err := team.HashPassword(pw)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	return nil
}
