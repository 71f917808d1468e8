package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// contactReadOnly are the contact fields a client cannot set.
var contactReadOnly = map[string]string{
	"id":         "is assigned by Tend and cannot be set",
	"created_at": "is set by Tend and cannot be set",
	"updated_at": "is set by Tend and cannot be set",
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	// An unknown account is a 404, not an empty list.
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	cs, err := a.st.ListContacts(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[account.Contact]{cs})
	return nil
}

func (a *API) createContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	readOnly := maps.Clone(contactReadOnly)
	readOnly["account_id"] = "comes from the URL (/accounts/{id}/contacts)"
	var c account.Contact
	if err := applyFields(&c, body, "a contact", readOnly); err != nil {
		return err
	}
	c.AccountID = id
	if err := c.Validate(); err != nil {
		return err
	}
	if err := a.st.CreateContact(r.Context(), &c); err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/contacts/%d", Prefix, c.ID))
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	c, err := a.st.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// patchContact changes the fields the body names. Setting account_id moves
// the contact to another account (after a merge, say).
func (a *API) patchContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := a.st.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	oldAccount := c.AccountID
	c.Roles = slices.Clone(c.Roles)
	if err := applyFields(&c, body, "a contact", contactReadOnly); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.AccountID != oldAccount {
		if _, err := a.st.GetAccount(r.Context(), c.AccountID); err != nil {
			if derrors.Is(err, derrors.NotFound) {
				return derrors.Field(derrors.Unprocessable, "account_id", "account %d not found", c.AccountID)
			}
			return err
		}
	}
	if err := a.st.UpdateContact(r.Context(), &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteContact(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
