package ingest

import "net/http"

// WriteKey returns the write key a request authenticates with and whether it
// names one. Segment's server libraries send the key as the Basic-auth user
// with an empty password ("key:"); analytics.js, which posts text/plain to
// avoid a CORS preflight, cannot set the header and puts it in the body as
// writeKey (bodyKey: Batch.WriteKey). The header wins when both are there.
// The password is ignored: Segment defines none.
func WriteKey(r *http.Request, bodyKey string) (string, bool) {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return user, true
	}
	return bodyKey, bodyKey != ""
}
