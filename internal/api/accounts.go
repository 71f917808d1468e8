package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// accountJSON is an account as the API shows it: its fields and, on a
// single account (or a list with include=traits), its current traits as
// {"key": value}.
type accountJSON struct {
	account.Account
	Traits map[string]any `json:"traits,omitzero"`
}

// accountPage is a page of GET /accounts.
type accountPage struct {
	Data []accountJSON `json:"data"`
	// Next is the cursor of the following page, "" on the last one.
	Next  string `json:"next"`
	Total int    `json:"total"`
}

// accountReadOnly are the account fields a client cannot set, and why.
var accountReadOnly = map[string]string{
	"id":           "is assigned by Tend and cannot be set",
	"created_at":   "is set by Tend and cannot be set",
	"updated_at":   "is set by Tend and cannot be set",
	"health_score": "is computed by the health model and cannot be set",
	"health_color": "is computed by the health model and cannot be set",
	// The lifecycle rules (lifecycle.yaml) assign these from the account's
	// inputs the moment they change; a value set here would be replaced.
	"segment": "is assigned by the segment rules (lifecycle.yaml) from estimated_developers and cannot be set",
	"program": "is assigned by the program rule (lifecycle.yaml) from the segment and ARR and cannot be set",
	"stage":   "is assigned by the lifecycle rules (lifecycle.yaml) from the dates and utilization and cannot be set",
}

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "owner", "segment", "program", "stage", "health", "q", "sort", "limit", "cursor", "include")
	if err != nil {
		return err
	}
	f := account.Filter{Segment: q.str("segment"), Program: q.str("program"), Stage: q.str("stage"),
		HealthColor: q.str("health"), Query: q.str("q"), Sort: q.str("sort"), Cursor: q.str("cursor")}
	if f.OwnerID, err = ownerParam(q.str("owner"), callerOf(r).user.ID); err != nil {
		return err
	}
	if f.Limit, err = q.limit(50, account.MaxLimit); err != nil {
		return err
	}
	var withTraits bool
	switch inc := q.str("include"); inc {
	case "":
	case "traits":
		withTraits = true
	default:
		return derrors.Field(derrors.Invalid, "include", "%q is not traits", inc)
	}
	if err := f.Normalize(); err != nil {
		return err
	}
	page, err := a.st.ListAccounts(r.Context(), f)
	if err != nil {
		return err
	}
	out := accountPage{Data: make([]accountJSON, len(page.Accounts)), Next: page.Next, Total: page.Total}
	for i, acc := range page.Accounts {
		out.Data[i].Account = acc
		// One query per account; a page is at most MaxLimit accounts, so
		// traits are left out unless asked for.
		if withTraits {
			if out.Data[i].Traits, err = a.traitsOf(r.Context(), acc.ID); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	acc, err := a.st.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	traits, err := a.traitsOf(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountJSON{acc, traits})
	return nil
}

// createAccount creates an account from its fields and optional traits.
// Everything is validated before anything is written; should the trait
// write still fail (only the database can make it), the new account is
// removed again so that a failed create leaves nothing behind.
func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	traitsRaw, _ := take(body, "traits")
	var acc account.Account
	if err := applyFields(&acc, body, "an account", accountReadOnly); err != nil {
		return err
	}
	writes, err := a.traitWrites(0, traitsRaw)
	if err != nil {
		return err
	}
	if err := a.checkAccount(r.Context(), &acc); err != nil {
		return err
	}
	by := callerOf(r).actor()
	if err := a.st.CreateAccount(r.Context(), &acc, by); err != nil {
		return err
	}
	for i := range writes {
		writes[i].AccountID = acc.ID
	}
	if _, err := a.st.SetTraits(r.Context(), writes, by); err != nil {
		if derr := a.st.DeleteAccount(context.WithoutCancel(r.Context()), acc.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return err
	}
	traits, err := a.traitsOf(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/accounts/%d", Prefix, acc.ID))
	writeJSON(w, http.StatusCreated, accountJSON{acc, traits})
	return nil
}

// patchAccount changes the fields and traits the body names and leaves the
// rest alone. All of it is validated before anything is written; the field
// update goes first because it is the write that can still be refused (a
// duplicate external_id is a 409), and the trait write after it can fail
// only if the database does.
func (a *API) patchAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cur, err := a.st.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	traitsRaw, _ := take(body, "traits")
	next := cur
	next.Entitlements = slices.Clone(cur.Entitlements)
	if err := applyFields(&next, body, "an account", accountReadOnly); err != nil {
		return err
	}
	writes, err := a.traitWrites(id, traitsRaw)
	if err != nil {
		return err
	}
	if err := a.checkAccount(r.Context(), &next); err != nil {
		return err
	}
	by := callerOf(r).actor()
	if len(body) > 0 {
		// The checks above ran on a copy read a moment ago; the write
		// applies the same fields to the account as it is inside the
		// store's transaction, so a concurrent PATCH of another field is
		// kept, not overwritten.
		next, err = a.st.ModifyAccount(r.Context(), id, func(acc *account.Account) error {
			return applyFields(acc, body, "an account", accountReadOnly)
		}, by)
		if err != nil {
			return err
		}
	}
	if _, err := a.st.SetTraits(r.Context(), writes, by); err != nil {
		return err
	}
	traits, err := a.traitsOf(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountJSON{next, traits})
	return nil
}

func (a *API) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteAccount(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkAccount validates the account and that the team members it names
// exist, so that a bad owner is a 422 on its field rather than a foreign
// key failure the database cannot attribute.
func (a *API) checkAccount(ctx context.Context, acc *account.Account) error {
	if err := acc.Validate(); err != nil {
		return err
	}
	for _, ref := range []struct {
		field string
		id    *int64
	}{{"owner_id", acc.OwnerID}, {"ae_id", acc.AEID}, {"ce_id", acc.CEID}, {"ie_id", acc.IEID}} {
		if ref.id == nil {
			continue
		}
		if _, err := a.st.GetUser(ctx, *ref.id); err != nil {
			if derrors.Is(err, derrors.NotFound) {
				return derrors.Field(derrors.Unprocessable, ref.field, "no team member has id %d", *ref.id)
			}
			return err
		}
	}
	return nil
}

// traitsOf returns an account's current traits as {"key": value}.
func (a *API) traitsOf(ctx context.Context, id int64) (map[string]any, error) {
	vals, err := a.st.ListTraits(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(vals))
	for _, v := range vals {
		out[v.Key] = v.Value
	}
	return out, nil
}

// traitWrites validates a "traits" member — {"key": value, ...}, null
// clearing a trait — into writes for the account. Computed traits are
// refused: Tend works them out and would overwrite the value.
func (a *API) traitWrites(accountID int64, raw json.RawMessage) ([]account.TraitWrite, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, derrors.Field(derrors.Invalid, "traits", "must be an object of trait keys to values")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	writes := make([]account.TraitWrite, 0, len(keys))
	for _, k := range keys {
		var v any
		if err := json.Unmarshal(m[k], &v); err != nil {
			return nil, derrors.Field(derrors.Invalid, "traits."+k, "malformed JSON value")
		}
		if d, ok := a.ws.Traits.Get(k); ok && d.Source == account.SourceComputed {
			return nil, derrors.Field(derrors.Unprocessable, "traits."+k, "is computed by Tend and cannot be set")
		}
		tw, err := a.ws.Traits.Write(accountID, k, v)
		if err != nil {
			return nil, err
		}
		writes = append(writes, tw)
	}
	return writes, nil
}
