package web

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// newWriteKey returns a new write key for a source, ready to store, and its
// secret, which is shown once and never stored. The secret is as random as
// an API token (160 bits) and, like one, stored as a SHA-256 hash.
func newWriteKey(name string, by int64) (string, store.WriteKey, error) {
	secret, hash, prefix, err := team.NewWriteKeySecret()
	if err != nil {
		return "", store.WriteKey{}, err
	}
	return secret, store.WriteKey{Name: name, Prefix: prefix, Hash: hash, CreatedBy: &by}, nil
}

// writeKeysPage is the data of the write keys page (admins only).
type writeKeysPage struct {
	base
	Keys []writeKeyRow
	// Secret is the key just created: shown this once, never stored.
	Secret     string
	SecretName string
	// Endpoint is this server's address, for the snippets.
	Endpoint string
	// GroupID is an account's analytics id for the snippets' example.
	GroupID string
	// Name and Error re-show the create form after an error.
	Name  string
	Error string
}

// writeKeyRow is one write key with its creator's name.
type writeKeyRow struct {
	store.WriteKey
	Creator string
}

// writeKeys lists the write keys, revoked ones included.
func (ui *UI) writeKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := ui.loadWriteKeys(r)
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "writekeys", p)
}

func (ui *UI) loadWriteKeys(r *http.Request) (writeKeysPage, error) {
	p := writeKeysPage{base: ui.base(r, "Write keys", "settings"), Endpoint: ui.origin(r), GroupID: "<analytics id>"}
	keys, err := ui.st.ListWriteKeys(r.Context())
	if err != nil {
		return p, err
	}
	names, err := ui.userNames(r.Context())
	if err != nil {
		return p, err
	}
	for _, k := range keys {
		row := writeKeyRow{WriteKey: k}
		if k.CreatedBy != nil {
			row.Creator = names[*k.CreatedBy]
		}
		p.Keys = append(p.Keys, row)
	}
	return p, nil
}

// origin is the scheme and host this request reached Tend at, for the
// snippets that send events to it.
func (ui *UI) origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || ui.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// createWriteKey makes a write key for a source and shows its secret once,
// with snippets that send a first event with it.
func (ui *UI) createWriteKey(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var err error
	switch {
	case name == "":
		err = derrors.Field(derrors.Unprocessable, "name", "is required: name the source, e.g. web app")
	case utf8.RuneCountInString(name) > team.MaxWriteKeyName:
		err = derrors.Field(derrors.Unprocessable, "name", "must be at most %d characters", team.MaxWriteKeyName)
	}
	var secret string
	var k store.WriteKey
	if err == nil {
		secret, k, err = newWriteKey(name, currentUser(r).ID)
	}
	if err == nil {
		err = ui.st.CreateWriteKey(r.Context(), &k)
	}
	if err != nil {
		status, ok := formStatus(err)
		if !ok {
			return err
		}
		p, lerr := ui.loadWriteKeys(r)
		if lerr != nil {
			return lerr
		}
		p.Name, p.Error = name, formMessage(err)
		return ui.renderPage(w, r, status, "writekeys", p)
	}
	p, err := ui.loadWriteKeys(r)
	if err != nil {
		return err
	}
	p.Secret, p.SecretName = secret, k.Name
	// The page answers the POST itself, so that the secret is never put
	// in a session or a URL; a reload offers to post again, which makes
	// another key rather than showing this one twice.
	return ui.renderPage(w, r, http.StatusOK, "writekeys", p)
}

// revokeWriteKey stops a key from working. Its events stay.
func (ui *UI) revokeWriteKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "write key")
	if err != nil {
		return err
	}
	keys, err := ui.st.ListWriteKeys(r.Context())
	if err != nil {
		return err
	}
	var name string
	for _, k := range keys {
		if k.ID == id {
			name = k.Name
		}
	}
	if name == "" {
		return derrors.New(derrors.NotFound, "There is no write key %d.", id)
	}
	if err := ui.st.RevokeWriteKey(r.Context(), id); err != nil {
		return err
	}
	ui.flash(r, fmt.Sprintf("The write key of %q was revoked; events sent with it are now refused.", name))
	http.Redirect(w, r, "/settings/write-keys", http.StatusSeeOther)
	return nil
}
