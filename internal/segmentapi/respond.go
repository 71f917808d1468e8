package segmentapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tendhq/tend/internal/derrors"
)

// failure is the answer to a request refused or failed as a whole:
// {"success": false, "error": {"code": "...", "message": "...", "field": "..."}},
// the error object shaped like the REST API's.
type failure struct {
	Success bool      `json:"success"`
	Error   errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError renders err. A coded error shows its message and field; any
// other is logged with the request and answered 500, which every Segment
// library retries.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	pub := derrors.Public(err)
	status := pub.Code.HTTPStatus()
	switch status {
	case http.StatusInternalServerError:
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the sender gave up waiting; it retries
		}
		a.log.LogAttrs(r.Context(), level, "ingest: request failed", slog.String("path", r.URL.Path),
			slog.String("err", err.Error()))
		pub = &derrors.Error{Code: derrors.Internal,
			Message: "the events could not be stored; send them again (events already stored are recognised by messageId)"}
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Tend ingestion"`)
	}
	writeJSON(w, status, failure{Error: errorJSON{Code: string(pub.Code), Message: pub.Message, Field: pub.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the answer types of this package are written; they marshal.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
