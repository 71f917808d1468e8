package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
)

// Request body limits. A normal request is one record; traits:batch carries
// up to MaxBatchRows rows, which stay well under 32 MiB even with long text
// values.
const (
	maxBody      = 1 << 20
	maxBatchBody = 32 << 20
)

// writeJSON writes v as the response body with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client has gone; nothing to tell it
}

// list is the envelope of every list response.
type list[T any] struct {
	Data []T `json:"data"`
}

// decodeJSON reads the request body into v, refusing unknown fields, bodies
// over limit bytes and anything after the JSON value. Its errors name the
// field or byte offset at fault.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, dec.InputOffset(), limit)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return jsonError(err, dec.InputOffset(), limit)
		}
		return derrors.New(derrors.Invalid, "malformed JSON: unexpected data after the value, at byte %d", dec.InputOffset()-int64(len(extra)))
	}
	return nil
}

// jsonError turns an encoding/json error into a coded error a client can
// act on.
func jsonError(err error, offset, limit int64) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return derrors.New(derrors.TooLarge, "the request body is larger than %d MiB", limit>>20)
	case errors.Is(err, io.EOF):
		return derrors.New(derrors.Invalid, "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return derrors.New(derrors.Invalid, "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &syntaxErr):
		return derrors.New(derrors.Invalid, "malformed JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return derrors.New(derrors.Invalid, "the body must be %s, not a JSON %s", describeType(typeErr.Type), typeErr.Value)
		}
		return derrors.Field(derrors.Invalid, typeErr.Field, "must be %s, not a JSON %s (byte %d)", describeType(typeErr.Type), typeErr.Value, typeErr.Offset)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return derrors.Field(derrors.Invalid, strings.Trim(name, `"`), "is not a field of this request (byte %d)", offset)
	}
	return derrors.New(derrors.Invalid, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// describeType names what a Go type takes in JSON.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Slice || t.Elem().Kind() == reflect.Uint8 {
			return "an array" // of raw JSON values: any element will do
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		if t.PkgPath() == "github.com/tendhq/tend/internal/date" {
			return "a date string (YYYY-MM-DD)"
		}
		return "an object"
	case reflect.Map:
		return "an object"
	}
	return "a JSON value"
}

// jsonFields maps the JSON names of a struct's fields to their indices.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Index
	}
	return out
}

// applyFields sets the fields of the struct dst points to from a JSON
// object's members, by their JSON names: the members present change, the
// rest stay as they were, and null sets a field to its zero value. That is
// what makes PATCH partial and lets create share the same rules. what names
// the record in errors; readOnly maps the fields a client may not set to the
// reason. Members are applied in name order so that the first error is the
// same on every call.
func applyFields(dst any, body map[string]json.RawMessage, what string, readOnly map[string]string) error {
	v := reflect.ValueOf(dst).Elem()
	fields := jsonFields(v.Type())
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if why, ok := readOnly[k]; ok {
			return derrors.Field(derrors.Unprocessable, k, "%s", why)
		}
		idx, ok := fields[k]
		if !ok {
			return derrors.Field(derrors.Invalid, k, "is not a field of %s", what)
		}
		f := v.FieldByIndex(idx)
		raw := bytes.TrimSpace(body[k])
		if string(raw) == "null" {
			f.SetZero()
			continue
		}
		p := reflect.New(f.Type())
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return derrors.Field(derrors.Invalid, k, "must be %s, not a JSON %s", describeType(f.Type()), typeErr.Value)
			}
			return derrors.Field(derrors.Invalid, k, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		f.Set(p.Elem())
	}
	return nil
}

// decodeObject reads the body as a JSON object of raw members, for handlers
// that need to know which members were sent.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := decodeJSON(w, r, maxBody, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, derrors.New(derrors.Invalid, "the body must be a JSON object, not null")
	}
	return m, nil
}

// take removes a member from a decoded object and reports whether it was
// there.
func take(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := m[key]
	delete(m, key)
	return raw, ok
}
