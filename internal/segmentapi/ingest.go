package segmentapi

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
)

// endpoint is what a path under /v1/ takes: a batch, or one call whose path
// segment DecodeSingle reads.
type endpoint struct {
	batch bool
	call  string
}

// endpointOf returns the endpoint of a path segment. "b" is analytics.js's
// batch path; "import" is the Segment HTTP API's older name for batch,
// still sent by some backfill scripts.
func endpointOf(segment string) (endpoint, bool) {
	switch segment {
	case "batch", "b", "import":
		return endpoint{batch: true}, true
	}
	if _, ok := ingest.PathType(segment); ok {
		return endpoint{call: segment}, true
	}
	return endpoint{}, false
}

// limit is the most bytes the endpoint's body may hold, and how the limit
// is told to a sender.
func (e endpoint) limit() (int, string) {
	if e.batch {
		return ingest.MaxBatchBytes, "a batch may be at most %d bytes (500 KB): send fewer calls per batch"
	}
	return ingest.MaxEventBytes, "a single call may be at most %d bytes (32 KB)"
}

// accepted is the answer to a request whose events were handled: Segment's
// {"success": true}, plus what became of each event, so that a sender can
// see which calls were rejected and why without opening the debugger.
type accepted struct {
	Success    bool               `json:"success"`
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Rejected   []ingest.Rejection `json:"rejected"`
}

func (a *API) post(w http.ResponseWriter, r *http.Request) {
	ep, ok := endpointOf(r.PathValue("call"))
	if !ok {
		a.notFound(w, r)
		return
	}
	if a.usage == nil {
		writeJSON(w, http.StatusServiceUnavailable, failure{Error: errorJSON{Code: "unavailable",
			Message: "ingestion is not running on this server; send the events again later"}})
		return
	}
	if err := a.ingest(w, r, ep); err != nil {
		a.writeError(w, r, err)
	}
}

// ingest authenticates, reads, decodes and stores one request and answers
// it; an error is rendered by the caller.
//
// A key in the Basic-auth header is checked before the body is read, so a
// request with a bad key costs no decoding; a key in the body (analytics.js)
// can only be checked after. The request's key is the source of every event
// it carries: a writeKey inside a call that names another key is ignored,
// since the sender proved it holds the request's key and nothing else, and
// dropping its events would lose data for a proxy's mistake.
func (a *API) ingest(w http.ResponseWriter, r *http.Request, ep endpoint) error {
	ctx := r.Context()
	receivedAt := a.now()
	var source store.WriteKey
	if secret, ok := ingest.WriteKey(r, ""); ok {
		var err error
		if source, err = a.authenticate(ctx, secret, receivedAt); err != nil {
			return err
		}
	}

	body, err := readBody(w, r, ep)
	if err != nil {
		a.recordRefusal(ctx, source, err, nil)
		return err
	}
	var b ingest.Batch
	if ep.batch {
		b, err = ingest.DecodeBatch(body, receivedAt)
	} else {
		b, err = ingest.DecodeSingle(ep.call, body, receivedAt)
	}
	if err != nil {
		a.recordRefusal(ctx, source, err, body)
		return err
	}
	if source.ID == 0 {
		secret, ok := ingest.WriteKey(r, b.WriteKey)
		if !ok {
			return derrors.New(derrors.Unauthorized,
				"a write key is required: send it as the Basic-auth user (the key followed by a colon, no password) or as \"writeKey\" in the body")
		}
		if source, err = a.authenticate(ctx, secret, receivedAt); err != nil {
			return err
		}
	}

	res, err := a.usage.Ingest(ctx, source, b)
	if err != nil {
		// A 500, whatever the cause: the engine commits requests in groups,
		// so a failure may come from another request's events, and this
		// sender's retry is then the right move (its events are either
		// stored or not; the message ids make a retry of stored ones a
		// duplicate).
		return ingestError{err}
	}
	if !ep.batch && len(b.Rejected) == 1 {
		// Nothing of a rejected single call is kept, so the request failed;
		// a retry cannot succeed, so the answer is a 4xx, not a 500.
		rj := b.Rejected[0]
		return derrors.Field(derrors.Invalid, rj.Field, "%s", rj.Reason)
	}
	out := accepted{Success: true, Accepted: res.Accepted, Duplicates: res.Duplicates, Rejected: b.Rejected}
	if out.Rejected == nil {
		out.Rejected = []ingest.Rejection{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ingestError is the engine failing to store a request: logged in full,
// answered 500 so the sender retries. It does not unwrap, so that a coded
// error from the store (about some event of the group) is not shown as this
// request's fault.
type ingestError struct{ err error }

func (e ingestError) Error() string { return "usage engine: " + e.err.Error() }

// readBody reads the request body, refusing it as soon as it passes the
// endpoint's limit (a body announced bigger is refused unread). Segment
// libraries that compress (analytics-python's gzip option, analytics-java)
// send Content-Encoding: gzip; the limit applies to the JSON, as it is the
// JSON that Segment's limits describe.
func readBody(w http.ResponseWriter, r *http.Request, ep endpoint) ([]byte, error) {
	limit, rule := ep.limit()
	tooLarge := func(size string) error {
		return derrors.New(derrors.TooLarge, "the request body is "+size+"; "+rule, limit)
	}
	encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if r.ContentLength > int64(limit) && encoding != "gzip" {
		return nil, tooLarge(itoa(r.ContentLength) + " bytes")
	}
	// One byte over the limit is enough to know the body is too big.
	var src io.Reader = http.MaxBytesReader(w, r.Body, int64(limit)+1)
	switch encoding {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, derrors.New(derrors.Invalid, "the body is not gzip data, but Content-Encoding says gzip: %v", err)
		}
		defer gz.Close()
		src = io.LimitReader(gz, int64(limit)+1)
	default:
		return nil, derrors.New(derrors.Invalid, "Content-Encoding %q is not supported; send the body uncompressed or as gzip", encoding)
	}
	size := r.ContentLength
	if size <= 0 || size > int64(limit) || encoding == "gzip" {
		size = 16 << 10
	}
	buf := make([]byte, 0, size+1)
	for {
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, tooLarge("over " + itoa(int64(limit)) + " bytes")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge("over " + itoa(int64(limit)) + " bytes")
			}
			if encoding == "gzip" {
				return nil, derrors.New(derrors.Invalid, "the gzip body cannot be read: %v", err)
			}
			return nil, derrors.New(derrors.Invalid, "the request body could not be read: %v", err)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
	}
}

// recordRefusal puts a request refused as a whole in the ingestion debugger
// when its source is known (a Basic-auth key checked before the body was
// read), so that a sender whose calls never arrive can see why. A failure
// to record is logged, never answered.
func (a *API) recordRefusal(ctx context.Context, source store.WriteKey, err error, body []byte) {
	if source.ID == 0 {
		return
	}
	pub := derrors.Public(err)
	if pub.Code == derrors.Internal {
		return
	}
	reason := "request refused: " + pub.Error()
	if len(body) > store.MaxRejectionBody {
		body = body[:store.MaxRejectionBody]
	}
	rj := store.Rejection{SourceID: source.ID, ReceivedAt: a.now(), Reason: reason, Body: body}
	if err := a.st.AddRejections(context.WithoutCancel(ctx), []store.Rejection{rj}); err != nil {
		a.log.Warn("ingest: record refused request", "source", source.ID, "err", err)
	}
}
