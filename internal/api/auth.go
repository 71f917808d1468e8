package api

import (
	"net/http"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

// caller is who is calling: the token's user and the token itself.
type caller struct {
	user  team.User
	token team.Token
}

// actor is the caller as a person making a change by hand.
func (c *caller) actor() account.Actor {
	id := c.user.ID
	return account.Actor{UserID: &id, Name: c.user.Email, Source: account.SourceManual}
}

// authenticate finds the caller from the Bearer token. The API has no
// cookies, so there is no CSRF to guard against: a browser never sends the
// token on its own.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, err := bearer(r)
		if err == nil {
			var c caller
			c.token, c.user, err = a.st.TokenByHash(r.Context(), team.HashToken(secret), a.now())
			if err == nil {
				next.ServeHTTP(w, r.WithContext(withCaller(r.Context(), &c)))
				return
			}
		}
		// RFC 6750 §3: a 401 names the scheme; a presented but unusable
		// token also says invalid_token so that clients stop retrying it.
		if derrors.Is(err, derrors.Unauthorized) {
			challenge := `Bearer realm="tend"`
			if r.Header.Get("Authorization") != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
		}
		a.writeError(w, r, err)
	})
}

// bearer reads the token secret from the Authorization header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", derrors.New(derrors.Unauthorized, "an API token is required: send Authorization: Bearer <token>")
	}
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", derrors.New(derrors.Unauthorized, "the Authorization header must be Bearer <token>")
	}
	return secret, nil
}

// authorize enforces the route's access level on the authenticated caller.
func (a *API) authorize(rt route, next http.Handler) http.Handler {
	why := refusal(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := callerOf(r).user.Role
		switch {
		case rt.access == writer && !role.CanWrite():
			a.writeError(w, r, derrors.New(derrors.Forbidden, "the %s role can read but not change data", role.Label()))
		case rt.access == lead && !role.IsLead(), rt.access == admin && !role.IsAdmin():
			a.writeError(w, r, derrors.New(derrors.Forbidden, "%s", why))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// refusal says who may call a lead or admin route, in the terms of what
// the route is for.
func refusal(rt route) string {
	switch {
	case rt.access == lead && strings.HasPrefix(rt.path, Prefix+"/ingestion/"):
		return "only admins and managers read the ingestion debugger"
	case rt.access == lead:
		return "only admins and managers delete accounts"
	case strings.HasPrefix(rt.path, Prefix+"/write-keys"):
		return "only admins manage write keys"
	}
	return "only admins manage team members and API tokens"
}
