package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// newWriteKeyJSON is the answer to POST /write-keys: the only time the
// secret is ever shown. Tend keeps its SHA-256 hash alone.
type newWriteKeyJSON struct {
	WriteKey store.WriteKey `json:"write_key"`
	Secret   string         `json:"secret"`
}

// listWriteKeys lists every write key, revoked ones included (their events
// are still in the debugger), newest first.
func (a *API) listWriteKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	keys, err := a.st.ListWriteKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.WriteKey]{keys})
	return nil
}

// createWriteKey makes a write key for a source of events, recorded as
// made by the caller.
func (a *API) createWriteKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return derrors.Field(derrors.Unprocessable, "name", "is required: name the source, e.g. web app")
	case utf8.RuneCountInString(name) > team.MaxWriteKeyName:
		return derrors.Field(derrors.Unprocessable, "name", "is longer than %d characters", team.MaxWriteKeyName)
	}
	secret, hash, prefix, err := team.NewWriteKeySecret()
	if err != nil {
		return err
	}
	by := callerOf(r).user.ID
	k := store.WriteKey{Name: name, Prefix: prefix, Hash: hash, CreatedBy: &by}
	if err := a.st.CreateWriteKey(r.Context(), &k); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newWriteKeyJSON{k, secret})
	return nil
}

// revokeWriteKey stops a key from working at once. The key and the events
// sent with it stay, so that the debugger can still name their source;
// revoking a revoked key is a no-op that keeps the first revocation time.
func (a *API) revokeWriteKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if err := a.st.RevokeWriteKey(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
