package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/tendhq/tend/internal/derrors"
)

// errorJSON is the one error shape of the API:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type errorBody struct {
	Error errorJSON `json:"error"`
	// Rows lists the rejected rows of a bulk call.
	Rows []rowProblem `json:"rows,omitempty"`
}

// rowProblem is what is wrong with one row of a bulk call.
type rowProblem struct {
	Index   int    `json:"index"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// rowsError is a bulk call refused for its rows: the error plus every row
// at fault, rendered together.
type rowsError struct {
	err  *derrors.Error
	rows []rowProblem
}

// Error implements error.
func (e *rowsError) Error() string { return e.err.Error() }

// Unwrap exposes the coded error, so that derrors.Public finds it.
func (e *rowsError) Unwrap() error { return e.err }

// adapt turns a handler that returns an error into an http.Handler. It is
// the only place errors become responses, and it turns a panic into a 500
// so that one bad request cannot take the connection down silently.
func (a *API) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// writeError renders err. A coded error shows its message and field; any
// other error is logged with the request and shown as "internal error".
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	pub := derrors.Public(err)
	status := pub.Code.HTTPStatus()
	if status == http.StatusInternalServerError {
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("route", r.Pattern), slog.String("err", err.Error())}
		if c, ok := r.Context().Value(ctxKey{}).(*caller); ok {
			attrs = append(attrs, slog.Int64("user_id", c.user.ID), slog.Int64("token_id", c.token.ID))
		}
		a.log.LogAttrs(r.Context(), slog.LevelError, "api: internal error", attrs...)
		pub = &derrors.Error{Code: derrors.Internal, Message: "internal error"}
	}
	body := errorBody{Error: errorJSON{Code: string(pub.Code), Message: pub.Message, Field: pub.Field}}
	var re *rowsError
	if errors.As(err, &re) {
		body.Rows = re.rows
	}
	writeJSON(w, status, body)
}
