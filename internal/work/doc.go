package work

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// Doc is a document about an account made from a doc template: the
// Handoff Doc, a Renewal Health Assessment, a save plan. Its body is
// rendered from the template when it is created and edited freely after;
// its fields are typed values the template defines (a health assessment's
// rating), which conditions can read.
type Doc struct {
	ID        int64 `json:"id"`
	AccountID int64 `json:"account_id"`
	// Template is the key of the doc template it was made from
	// (doc-templates/<key>.md).
	Template string `json:"template"`
	Title    string `json:"title"`
	// Body is Markdown.
	Body string `json:"body"`
	// Fields holds the field values set so far, by field key, as the
	// template's types make them: float64 for number, bool, string for
	// text and enum, "YYYY-MM-DD" for date. An unset field is absent.
	Fields map[string]any `json:"fields"`
	// Key, when set, is unique across docs: an idempotency key like a
	// task's.
	Key string `json:"key"`
	// Source names what made the doc ("playbook renewal"); "" for a person.
	Source      string    `json:"source"`
	CreatedByID *int64    `json:"created_by_id"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// AccountName is the account's name, filled by the store's reads.
	AccountName string `json:"account_name"`
}

// Validate checks the doc's own fields. Its field values are checked
// against its template before (Template.CheckFields): the store does not
// know the workspace.
func (d *Doc) Validate() error {
	d.Title = strings.TrimSpace(d.Title)
	d.Body = strings.ReplaceAll(d.Body, "\r\n", "\n")
	d.Key = strings.TrimSpace(d.Key)
	d.Source = strings.TrimSpace(d.Source)
	if d.Fields == nil {
		d.Fields = map[string]any{}
	}
	if d.AccountID <= 0 {
		return derrors.Field(derrors.Unprocessable, "account_id", "is required")
	}
	if !keyPattern.MatchString(d.Template) {
		return derrors.Field(derrors.Unprocessable, "template", "%q is not a template key", d.Template)
	}
	if err := checkText("title", d.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("body", d.Body, MaxDocBody, false); err != nil {
		return err
	}
	if len(d.Fields) > maxFieldCount {
		return derrors.Field(derrors.Unprocessable, "fields", "has more than %d fields", maxFieldCount)
	}
	for k, v := range d.Fields {
		if !keyPattern.MatchString(k) {
			return derrors.Field(derrors.Unprocessable, "fields."+k, "is not a field key")
		}
		if s, ok := v.(string); ok {
			if err := checkText("fields."+k, s, MaxFieldText, false); err != nil {
				return err
			}
		}
	}
	if err := checkKey(d.Key); err != nil {
		return err
	}
	if err := checkText("source", d.Source, MaxSource, false); err != nil {
		return err
	}
	return checkText("created_by", d.CreatedBy, MaxTitle, false)
}

// FieldChange is one field of a doc that an edit changed; Old or New is
// nil when the field was unset.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// DiffFields lists the fields whose values differ between old and new, in
// key order.
func DiffFields(old, new map[string]any) []FieldChange {
	keys := slices.Sorted(maps.Keys(old))
	for k := range new {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []FieldChange
	for _, k := range keys {
		o, n := old[k], new[k]
		if !reflect.DeepEqual(o, n) {
			out = append(out, FieldChange{Field: k, Old: o, New: n})
		}
	}
	return out
}

// DocRequest asks for a doc made from a template (engine.CreateDoc): the
// template renders the title and body for the account, and the field
// values are checked against the template's fields.
type DocRequest struct {
	AccountID int64
	Template  string
	// Title replaces the template's title when set.
	Title string
	// Fields are the first field values, raw (as a form or JSON sends
	// them): each is coerced by its field's type.
	Fields map[string]any
	Key    string
	Source string
}
