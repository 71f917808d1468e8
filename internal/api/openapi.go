package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the API's OpenAPI 3.1 description. It is written by hand,
// next to the code it describes; TestOpenAPIMatchesRoutes fails when a route
// and the description disagree.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the description without a token, so that tools can read
// it before they have one.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPIDoc)
	return err
}
