package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/work"
)

// listDocTemplates is GET /doc-templates: the workspace's templates with
// their fields.
func (a *API) listDocTemplates(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out := make([]work.Template, len(a.ws.DocTemplates))
	for i, t := range a.ws.DocTemplates {
		out[i] = *t
	}
	writeJSON(w, http.StatusOK, list[work.Template]{out})
	return nil
}

func (a *API) listDocs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	docs, err := a.st.ListDocs(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[work.Doc]{docs})
	return nil
}

// docInput is the body of POST /accounts/{id}/docs.
type docInput struct {
	Template string         `json:"template"`
	Title    string         `json:"title"`
	Fields   map[string]any `json:"fields"`
	Key      string         `json:"key"`
	Source   string         `json:"source"`
}

// createDoc is POST /accounts/{id}/docs: a doc made from a template,
// rendered for the account. As with tasks, a key that a doc already has
// answers 200 with that doc.
func (a *API) createDoc(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	var in docInput
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	if in.Template == "" {
		return derrors.Field(derrors.Unprocessable, "template", "is required")
	}
	doc, created, err := engine.CreateDoc(r.Context(), a.st, a.ws, work.DocRequest{AccountID: id, Template: in.Template,
		Title: in.Title, Fields: in.Fields, Key: in.Key, Source: in.Source}, callerOf(r).actor(), a.now())
	if err != nil {
		return err
	}
	if !created {
		writeJSON(w, http.StatusOK, doc)
		return nil
	}
	w.Header().Set("Location", fmt.Sprintf("%s/docs/%d", Prefix, doc.ID))
	writeJSON(w, http.StatusCreated, doc)
	return nil
}

func (a *API) getDoc(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	d, err := a.st.GetDoc(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// docReadOnly are the doc members a PATCH cannot change.
var docReadOnly = map[string]string{
	"id":            "is assigned by Tend and cannot be set",
	"account_id":    "cannot change: a doc stays on its account",
	"template":      "cannot change: the fields are the template's",
	"key":           "cannot change: it identifies the doc to the playbook that made it",
	"source":        "cannot change: it names what made the doc",
	"created_by":    "is set by Tend and cannot be set",
	"created_by_id": "is set by Tend and cannot be set",
	"created_at":    "is set by Tend and cannot be set",
	"updated_at":    "is set by Tend and cannot be set",
	"account_name":  "comes from the account",
}

// patchDoc edits a doc's title, body or fields; fields names only the
// fields that change, and null clears one. Field values are checked
// against the doc's template; each field that changes is a "doc field
// changed" signal for playbooks.
func (a *API) patchDoc(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cur, err := a.st.GetDoc(r.Context(), id)
	if err != nil {
		return err
	}
	body, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	var title, text *string
	var fields map[string]json.RawMessage
	for _, k := range slices.Sorted(maps.Keys(body)) {
		raw := bytes.TrimSpace(body[k])
		if why, ok := docReadOnly[k]; ok {
			return derrors.Field(derrors.Unprocessable, k, "%s", why)
		}
		switch k {
		case "title", "body":
			var s *string
			if err := json.Unmarshal(raw, &s); err != nil {
				return derrors.Field(derrors.Invalid, k, "must be a string")
			}
			if s == nil {
				return derrors.Field(derrors.Unprocessable, k, "cannot be null")
			}
			if k == "title" {
				title = s
			} else {
				text = s
			}
		case "fields":
			if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
				return derrors.Field(derrors.Invalid, k, "must be an object of field values")
			}
		default:
			return derrors.Field(derrors.Invalid, k, "is not a field of a doc (a PATCH takes title, body and fields)")
		}
	}
	updates, err := a.docFieldUpdates(cur, fields)
	if err != nil {
		return err
	}
	d, err := a.st.ModifyDoc(r.Context(), id, func(d *work.Doc) error {
		if title != nil {
			d.Title = *title
		}
		if text != nil {
			d.Body = *text
		}
		d.Fields = work.MergeFields(d.Fields, updates)
		return nil
	}, callerOf(r).actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// docFieldUpdates checks raw field values against the doc's template.
func (a *API) docFieldUpdates(d work.Doc, raw map[string]json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	tpl, ok := a.ws.DocTemplate(d.Template)
	if !ok {
		return nil, derrors.Field(derrors.Unprocessable, "fields", "the doc's template %q is no longer in the workspace, so its fields cannot be checked; the title and body can still be edited", d.Template)
	}
	vals := make(map[string]any, len(raw))
	for k, v := range raw {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, derrors.Field(derrors.Invalid, "fields."+k, "%v", err)
		}
		if _, isObj := x.(map[string]any); isObj {
			return nil, derrors.Field(derrors.Invalid, "fields."+k, "must be a string, a number, true, false or null")
		}
		if _, isList := x.([]any); isList {
			return nil, derrors.Field(derrors.Invalid, "fields."+k, "must be a string, a number, true, false or null")
		}
		vals[k] = x
	}
	return tpl.CheckFields(vals)
}
