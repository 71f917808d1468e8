package api

import (
	"net/http"
	"strconv"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// newTokenJSON is the answer to POST /tokens: the only time the secret is
// ever shown. Tend keeps its SHA-256 hash alone.
type newTokenJSON struct {
	Token  team.Token `json:"token"`
	Secret string     `json:"secret"`
}

// listTokens lists every token, or one member's with ?user_id=.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "user_id")
	if err != nil {
		return err
	}
	var userID int64
	if s := q.str("user_id"); s != "" {
		userID, err = strconv.ParseInt(s, 10, 64)
		if err != nil || userID <= 0 {
			return derrors.Field(derrors.Invalid, "user_id", "%q is not a user id", s)
		}
	}
	ts, err := a.st.ListTokens(r.Context(), userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[team.Token]{ts})
	return nil
}

// createToken makes a token for a team member (the caller by default). The
// token acts with that member's role.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   string `json:"name"`
		UserID int64  `json:"user_id"`
	}
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	if in.UserID == 0 {
		in.UserID = callerOf(r).user.ID
	}
	u, err := a.st.GetUser(r.Context(), in.UserID)
	if derrors.Is(err, derrors.NotFound) {
		return derrors.Field(derrors.Unprocessable, "user_id", "no team member has id %d", in.UserID)
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return derrors.Field(derrors.Unprocessable, "user_id", "%s is disabled; a token for them would not work", u.Email)
	}
	if len(in.Name) > 100 {
		return derrors.Field(derrors.Unprocessable, "name", "is longer than 100 characters")
	}
	secret, t, err := team.NewToken(u.ID, in.Name)
	if err != nil {
		return err
	}
	if err := a.st.CreateToken(r.Context(), &t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newTokenJSON{t, secret})
	return nil
}

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
