// Package ingest decodes and validates the calls of the Segment HTTP tracking
// API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/)
// so that every Segment library can send product usage to Tend unchanged.
//
// It is the pure layer of ingestion: bytes and the time the request arrived
// go in, events and the reasons for rejecting the bad ones come out. It opens
// no connection and keeps no state; the HTTP handlers authorise the write key,
// store the events and answer.
//
// A request is either wholly refused (not JSON, too big, not the shape of a
// call: a *derrors.Error, 400 or 413) or accepted event by event: inside a
// well-formed batch each bad event is rejected with its index and reason and
// the good ones are kept. The official Go library retries every non-2xx
// answer, so a batch with one bad event must not fail as a whole, or the good
// events would be sent again and again and the bad one never dropped.
package ingest

import (
	"encoding/json"
	"time"
)

// Type is the kind of a Segment call.
type Type string

// The six Segment calls.
const (
	Track    Type = "track"
	Identify Type = "identify"
	Group    Type = "group"
	Page     Type = "page"
	Screen   Type = "screen"
	Alias    Type = "alias"
)

// ParseType returns the Type a call's "type" field names. Only the full,
// lower-case names are types; the one-letter forms are paths (see PathType).
func ParseType(s string) (Type, bool) {
	switch t := Type(s); t {
	case Track, Identify, Group, Page, Screen, Alias:
		return t, true
	}
	return "", false
}

// PathType returns the Type of a single-call endpoint from the last segment
// of its path: "track" for /v1/track, and also the one-letter forms that
// analytics.js posts to (/v1/t, /v1/i, /v1/p, /v1/s, /v1/g, /v1/a; its batch
// endpoint is /v1/b), so a browser pointed at Tend works without a proxy.
func PathType(segment string) (Type, bool) {
	switch segment {
	case "t":
		return Track, true
	case "i":
		return Identify, true
	case "g":
		return Group, true
	case "p":
		return Page, true
	case "s":
		return Screen, true
	case "a":
		return Alias, true
	}
	return ParseType(segment)
}

// The limits of the Segment HTTP API. Segment writes them as "32KB" and
// "500KB"; Tend reads KB as 1,024 bytes, the larger reading, so that no
// library that sizes its batches by either reading is ever refused
// (analytics.js counts in units of 1,024 bytes).
const (
	// MaxEventBytes bounds one call: the body of a single-call endpoint, or
	// one element of a batch as sent (its raw JSON).
	MaxEventBytes = 32 << 10
	// MaxBatchBytes bounds the body of a batch request.
	MaxBatchBytes = 500 << 10
	// MaxBatchEvents bounds the number of calls in one batch request.
	MaxBatchEvents = 2500
)

// Event is one accepted Segment call, normalised: ids are strings, the
// request's context is merged in, and Timestamp is corrected for the
// sender's clock skew. Its JSON form uses the Segment field names, so that a
// stored event can be shown or replayed as Segment would show it.
//
// Properties, Traits, Context and Integrations stay JSON, as sent: Tend
// reads a few members of them (a feature property, traits.email,
// traits.company.id, context.groupId; see Property, Trait and
// AccountGroupID), and decoding every call's objects into maps was most of
// the cost of decoding it. They, and Raw, are slices of the request body,
// and events of one batch may share the bytes of the request's context:
// treat them as read-only, and do not reuse the body while the events are
// in use.
type Event struct {
	Type Type `json:"type"`
	// MessageID is the sender's messageId, the key events are deduplicated
	// by. A call sent without one gets "tend-" and a hash of its raw JSON
	// (and, when it carries no time of its own, of the UTC day it arrived),
	// so that a retry of the same bytes is the same event.
	MessageID   string `json:"messageId"`
	UserID      string `json:"userId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	// Event is the name of a track call ("Search Performed").
	Event string `json:"event,omitempty"`
	// Name is the name of a page or screen call.
	Name string `json:"name,omitempty"`
	// Properties and Traits are JSON objects, or nil when the call sent
	// none.
	Properties json.RawMessage `json:"properties,omitempty"`
	Traits     json.RawMessage `json:"traits,omitempty"`
	GroupID    string          `json:"groupId,omitempty"`
	PreviousID string          `json:"previousId,omitempty"`
	// Context is the call's context object with the request's merged in.
	Context      json.RawMessage `json:"context,omitempty"`
	Integrations json.RawMessage `json:"integrations,omitempty"`

	// Timestamp is when the call happened, on the server's clock: the
	// sender's time corrected for skew, or ReceivedAt when it sent none.
	Timestamp time.Time `json:"timestamp"`
	// OriginalTimestamp is the sender's time as sent (its originalTimestamp,
	// else its timestamp), uncorrected; zero when it sent none.
	OriginalTimestamp time.Time `json:"originalTimestamp,omitzero"`
	// SentAt is when the sender says it sent the call (the call's own sentAt,
	// else the batch's); zero when it sent none.
	SentAt time.Time `json:"sentAt,omitzero"`
	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time `json:"receivedAt"`

	// WriteKey is the write key the call names in its body, else the one its
	// batch names. It is a credential, so it is never written out as JSON.
	WriteKey string `json:"-"`
	// Raw is the call exactly as it was sent, for replay and the ingestion
	// debugger.
	Raw json.RawMessage `json:"-"`
}

// Rejection says why one call of a request was not accepted.
type Rejection struct {
	// Index is the call's position in the batch (0 for a single call).
	Index int `json:"index"`
	// MessageID is the call's messageId when it had a usable one, so that a
	// sender can find it in its own logs.
	MessageID string `json:"messageId,omitempty"`
	// Type is the call's "type" as sent, when it was a string.
	Type string `json:"type,omitempty"`
	// Field names the field at fault ("userId", "timestamp"), or is empty
	// when the fault is the call as a whole (too big, not an object).
	Field string `json:"field,omitempty"`
	// Reason is a sentence for the person who sent the call, naming the
	// field and what was expected.
	Reason string `json:"reason"`
	// Raw is the call as it was sent (a copy), for the ingestion debugger.
	Raw json.RawMessage `json:"-"`
}

// Batch is the outcome of decoding a request: the accepted events in the
// order sent and the rejected calls. For every decoded request
// len(Events)+len(Rejected) is the number of calls it carried.
type Batch struct {
	Events   []Event
	Rejected []Rejection
	// WriteKey is the write key the body names: a batch's top-level
	// writeKey, else its first call's (analytics.js puts it on every call),
	// or a single call's writeKey. Empty when the body names none; the
	// Basic-auth header is the other place a key comes from (see WriteKey).
	WriteKey string
}
