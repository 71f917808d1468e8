// Package derrors defines Tend's error codes and the wrapping helper used at
// package boundaries. An *Error carries a code and a message that is safe to
// show to the person who caused it; anything else is internal and is logged,
// not shown.
package derrors

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error for the surfaces that render it.
type Code string

// The codes every surface understands. Each maps to one HTTP status.
const (
	Invalid       Code = "invalid"       // 400: malformed input
	Unprocessable Code = "unprocessable" // 422: well-formed input that breaks a rule
	Unauthorized  Code = "unauthorized"  // 401
	Forbidden     Code = "forbidden"     // 403
	NotFound      Code = "not_found"     // 404
	Conflict      Code = "conflict"      // 409
	TooLarge      Code = "too_large"     // 413
	Internal      Code = "internal"      // 500
)

// Error is an error whose message may be shown to the user.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, when there is one (e.g. "seats",
	// "traits.ta_pulse", "line 12: arr").
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// New returns an *Error with the code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an *Error about one input field.
func Field(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Public returns the *Error in err's chain, or a generic internal error
// whose message reveals nothing.
func Public(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error"}
}

// Wrap adds the operation to a non-nil *errp, keeping its chain so that the
// code survives: defer derrors.Wrap(&err, "store.GetAccount(%d)", id).
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// HTTPStatus is the status every HTTP surface answers an error of code c
// with; the codes map one to one.
func (c Code) HTTPStatus() int {
	switch c {
	case Invalid:
		return http.StatusBadRequest
	case Unprocessable:
		return http.StatusUnprocessableEntity
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}
