package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// DecodeBatch decodes the body of POST /v1/batch:
//
//	{"batch": [{"type": "track", ...}, ...], "context": {...}, "sentAt": "...", "writeKey": "..."}
//
// Each call must name its "type". The request's context is merged into each
// call's context, key by key, the call's own keys winning; the request's
// sentAt serves the calls that carry none (analytics.js strips sentAt from
// the calls of a batch). receivedAt is when the request arrived.
//
// The error is a *derrors.Error for a request refused as a whole: a body
// over MaxBatchBytes (TooLarge), not JSON (Invalid, with line, column and
// byte offset), not an object, no "batch" array, more than MaxBatchEvents
// calls, or a request-level context, sentAt or writeKey of the wrong kind
// (Invalid, naming the field). Anything wrong with one call rejects that
// call alone.
func DecodeBatch(body []byte, receivedAt time.Time) (Batch, error) {
	if len(body) > MaxBatchBytes {
		return Batch{}, derrors.New(derrors.TooLarge,
			"the request body is %d bytes; a batch may be at most %d bytes (500 KB): send fewer calls per batch",
			len(body), MaxBatchBytes)
	}
	body = body[skipSpace(body, 0):]
	var batchRaw, ctxRaw, sentRaw, keyRaw []byte
	var items [][]byte
	isBatch := func(key []byte) bool { return keyIs(key, "batch") }
	member := func(key, val []byte, elems [][]byte) {
		switch {
		case isBatch(key):
			batchRaw, items = val, elems
		case keyIs(key, "context"):
			ctxRaw = val
		case keyIs(key, "sentAt"):
			sentRaw = val
		case keyIs(key, "writeKey"):
			keyRaw = val
		}
	}
	// Validated as it is split into calls: one pass over the body.
	if len(body) == 0 || body[0] != '{' || !validMembersSplit(body, isBatch, MaxBatchEvents, member) {
		if err := checkJSON(body); err != nil {
			return Batch{}, err
		}
		if body[0] != '{' {
			return Batch{}, derrors.New(derrors.Invalid,
				`the request body must be a JSON object with a "batch" array, got %s`, kindOf(body))
		}
		batchRaw, ctxRaw, sentRaw, keyRaw, items = nil, nil, nil, nil, nil
		eachMemberSplit(body, isBatch, MaxBatchEvents, member)
	}
	if batchRaw == nil || batchRaw[0] == 'n' {
		return Batch{}, derrors.Field(derrors.Invalid, "batch", "is required: a JSON array of calls")
	}
	if batchRaw[0] != '[' {
		return Batch{}, derrors.Field(derrors.Invalid, "batch", "must be a JSON array of calls, got %s", kindOf(batchRaw))
	}
	if len(items) > MaxBatchEvents {
		return Batch{}, derrors.Field(derrors.Invalid, "batch",
			"has more than %d calls; a batch may carry at most %d: send fewer calls per batch",
			MaxBatchEvents, MaxBatchEvents)
	}

	if ctxRaw = nonNull(ctxRaw); len(ctxRaw) > 0 && ctxRaw[0] != '{' {
		return Batch{}, derrors.Field(derrors.Invalid, "context", "must be a JSON object, got %s", kindOf(ctxRaw))
	}
	// A copy: events keep the request's context after the body is reused.
	rq := request{receivedAt: receivedAt, context: bytes.Clone(ctxRaw)}
	var sent, key scalar
	if sentRaw != nil {
		_ = sent.UnmarshalJSON(sentRaw)
	}
	if keyRaw != nil {
		_ = key.UnmarshalJSON(keyRaw)
	}
	var f *fault
	if rq.sentAt, f = timeField("sentAt", sent); f != nil {
		return Batch{}, derrors.Field(derrors.Invalid, "sentAt", "%s", strings.TrimPrefix(f.reason, "sentAt: "))
	}
	if rq.writeKey, f = text("writeKey", key, "a string"); f != nil {
		return Batch{}, derrors.Field(derrors.Invalid, "writeKey", "must be a string, got %s", key.kindName())
	}

	out := Batch{WriteKey: rq.writeKey, Events: make([]Event, 0, len(items))}
	for i, raw := range items {
		e, rej, key := rq.decode(raw, i, "")
		if out.WriteKey == "" {
			out.WriteKey = key
		}
		if rej != nil {
			out.Rejected = append(out.Rejected, *rej)
			continue
		}
		out.Events = append(out.Events, e)
	}
	return out, nil
}

// DecodeSingle decodes the body of a single-call endpoint, POST /v1/{call},
// where call is the path's last segment: "track", "identify", "group",
// "page", "screen" or "alias", or analytics.js's one-letter form (see
// PathType). The body's "type" may be left out; when present it must match.
//
// The error is a *derrors.Error for a request refused as a whole: an unknown
// call (NotFound), a body over MaxEventBytes (TooLarge), not JSON or not an
// object (Invalid). Otherwise the Batch holds the one event or the one
// rejection; since nothing of a rejected single call is kept, answering it
// with a 400 that gives the rejection's reason is right (the batch rule
// against failing a request for one call exists because a batch has others).
func DecodeSingle(call string, body []byte, receivedAt time.Time) (Batch, error) {
	typ, ok := PathType(call)
	if !ok {
		return Batch{}, derrors.New(derrors.NotFound,
			"/v1/%s is not a Segment call; want track, identify, group, page, screen, alias or batch", clip(call, 32))
	}
	if len(body) > MaxEventBytes {
		return Batch{}, derrors.New(derrors.TooLarge,
			"the request body is %d bytes; a single call may be at most %d bytes (32 KB)", len(body), MaxEventBytes)
	}
	if !validJSON(body) {
		if err := checkJSON(body); err != nil {
			return Batch{}, err
		}
	}
	body = bytes.TrimRight(body[skipSpace(body, 0):], " \t\r\n")
	if body[0] != '{' {
		return Batch{}, derrors.New(derrors.Invalid, "the request body must be a JSON object (one %s call), got %s", typ, kindOf(body))
	}
	rq := request{receivedAt: receivedAt}
	e, rej, key := rq.decode(body, 0, typ)
	out := Batch{WriteKey: key}
	if rej != nil {
		out.Rejected = []Rejection{*rej}
	} else {
		out.Events = []Event{e}
	}
	return out, nil
}

// request is what the calls of one request share.
type request struct {
	receivedAt time.Time
	context    []byte    // the batch's context object, merged into each call's
	sentAt     time.Time // the batch's sentAt, for calls with none
	writeKey   string    // the batch's writeKey
}

// wireEvent is a call as sent: each field's raw value, read by one walk
// over the call's members (read). The fields whose kind is judged after
// decoding are scalars; properties, traits, context and integrations stay
// raw JSON (nil when absent or null).
type wireEvent struct {
	Type, MessageID, UserID, AnonymousID, Event, Name, GroupID, PreviousID scalar
	Timestamp, OriginalTimestamp, SentAt, WriteKey                         scalar
	Properties, Traits, Context, Integrations                              json.RawMessage
	// notObject names the first context or integrations member that is
	// not an object (nor null), and notObjectKind its kind.
	notObject, notObjectKind string
}

// wireFields are the members a call's fields are read from, in the order
// of fieldOf's results.
var wireFields = [...]string{"type", "messageId", "userId", "anonymousId", "event", "name", "groupId", "previousId",
	"timestamp", "originalTimestamp", "sentAt", "writeKey", "properties", "traits", "context", "integrations"}

// fieldOf returns the index in wireFields of the field a member's key (a
// JSON string literal) names, -1 for none. Keys match as encoding/json
// matches them to a struct's fields: regardless of case (strings.EqualFold,
// Unicode's simple folding included), so that a call decodes as it always
// has.
func fieldOf(key []byte) int {
	k := key[1 : len(key)-1]
	plain := true
	for _, c := range k {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if !plain {
		s := unquote(key)
		for i, name := range wireFields {
			if strings.EqualFold(s, name) {
				return i
			}
		}
		return -1
	}
	if len(k) < len(fieldsByLen) {
		for _, i := range fieldsByLen[len(k)] {
			if asciiFold(k, wireFields[i]) {
				return i
			}
		}
	}
	return -1
}

// fieldsByLen lists the wireFields of each length.
var fieldsByLen = func() (t [18][]int) {
	for i, name := range wireFields {
		t[len(name)] = append(t[len(name)], i)
	}
	return t
}()

// asciiFold reports whether ASCII b equals s, a name of letters, regardless
// of case.
func asciiFold(b []byte, s string) bool {
	for i := range b {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if l := x | 0x20; l < 'a' || l > 'z' || l != y|0x20 {
			return false
		}
	}
	return true
}

// read fills w from the members of the call object raw (valid JSON), the
// last repeat of a field winning, as encoding/json's would. It returns the
// fault encoding/json reported for properties or traits that are not
// objects: the first, even when a later repeat is one.
func (w *wireEvent) read(raw []byte) *fault {
	scalars := [...]*scalar{&w.Type, &w.MessageID, &w.UserID, &w.AnonymousID, &w.Event, &w.Name, &w.GroupID, &w.PreviousID,
		&w.Timestamp, &w.OriginalTimestamp, &w.SentAt, &w.WriteKey}
	var f *fault
	eachMember(raw, func(key, val []byte) {
		i := fieldOf(key)
		switch {
		case i < 0:
		case i < len(scalars):
			_ = scalars[i].UnmarshalJSON(val)
		default:
			name := wireFields[i]
			if val[0] != '{' && val[0] != 'n' {
				if name == "properties" || name == "traits" {
					if f == nil {
						f = faultf(name, "%s: expected a JSON object, got %s", name, kindOf(val))
					}
				} else if w.notObject == "" {
					w.notObject, w.notObjectKind = name, kindOf(val)
				}
			}
			raw := nonNull(val)
			switch name {
			// encoding/json decodes a repeated object into the map it has,
			// keeping the members the repeat lacks.
			case "properties":
				w.Properties = repeatObject(w.Properties, raw)
			case "traits":
				w.Traits = repeatObject(w.Traits, raw)
			case "context":
				w.Context = raw
			default:
				w.Integrations = raw
			}
		}
	})
	return f
}

// repeatObject is a map field's value after a repeat of its member: the
// repeat's members over the earlier ones (null clears it; a repeat that is
// not an object, already a fault, leaves it).
func repeatObject(cur, next json.RawMessage) json.RawMessage {
	switch {
	case next == nil || cur == nil:
		return next
	case next[0] != '{':
		return cur
	case cur[0] != '{':
		return next
	}
	return mergeContext(cur, next)
}

// fault is why a call is rejected: the field at fault and a sentence.
type fault struct{ field, reason string }

func faultf(field, format string, args ...any) *fault {
	return &fault{field, fmt.Sprintf(format, args...)}
}

// decode validates one call (raw, valid JSON, at index of its request) and
// returns it as an Event, or the reason it is rejected. pathType is the
// type a single-call endpoint implies, "" in a batch. key is the write key
// the call names, returned even when it is rejected so that the rejection
// can be shown to the right source.
func (rq *request) decode(raw []byte, index int, pathType Type) (Event, *Rejection, string) {
	var w wireEvent
	var e Event
	f := rq.decodeInto(&e, &w, raw, pathType)
	key, _ := w.WriteKey.text()
	if f == nil {
		f = storable(&e)
	}
	if f != nil {
		msgID, _ := w.MessageID.id()
		if strings.IndexByte(msgID, 0) >= 0 {
			msgID = "" // a rejection's id is recorded too
		}
		typ, _ := w.Type.text()
		return Event{}, &Rejection{
			Index: index, MessageID: msgID, Type: typ, Field: f.field,
			Reason: f.reason, Raw: bytes.Clone(raw),
		}, key
	}
	return e, nil, key
}

// storable refuses a call whose ids, names or identify email hold a NUL
// character (JSON "\u0000"): valid JSON, but no SQL text column takes it,
// and events are committed in groups, so one such call would fail every
// request of its group — and an email, stored when the user is linked,
// would fail the replay after a crash.
func storable(e *Event) *fault {
	var email string
	if e.Type == Identify {
		email, _ = Value(Member(e.Traits, "email")).(string)
	}
	for _, f := range []struct{ name, v string }{{"messageId", e.MessageID}, {"userId", e.UserID},
		{"anonymousId", e.AnonymousID}, {"event", e.Event}, {"name", e.Name}, {"traits.email", email}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return &fault{f.name, f.name + ": contains a NUL character (\\u0000), which Tend cannot store"}
		}
	}
	return nil
}

// decodeInto does the work of decode, filling e, and w as far as it got.
func (rq *request) decodeInto(e *Event, w *wireEvent, raw []byte, pathType Type) *fault {
	if len(raw) > MaxEventBytes {
		// Read what identifies the call, for the rejection.
		if raw[0] == '{' {
			_ = w.read(raw)
		}
		return faultf("", "the call is %d bytes; a call may be at most %d bytes (32 KB)", len(raw), MaxEventBytes)
	}
	if raw[0] != '{' {
		return faultf("", "each call must be a JSON object, got %s", kindOf(raw))
	}
	if f := w.read(raw); f != nil {
		return f
	}

	typ, ok := pathType, true
	switch {
	case w.Type.kind == kindAbsent && pathType != "":
	case w.Type.kind == kindAbsent:
		return faultf("type", "type is required: one of identify, track, page, screen, group or alias")
	case w.Type.kind != kindString:
		return faultf("type", "type: expected a string, got %s", w.Type.kindName())
	default:
		if typ, ok = ParseType(w.Type.s); !ok {
			return faultf("type", "type: unknown call %q; want identify, track, page, screen, group or alias", clip(w.Type.s, 64))
		}
		if pathType != "" && typ != pathType {
			return faultf("type", "type: %q does not match the endpoint, which takes %s calls", typ, pathType)
		}
	}
	e.Type, e.ReceivedAt = typ, rq.receivedAt

	var f *fault
	if e.WriteKey, f = text("writeKey", w.WriteKey, "a string"); f != nil {
		return f
	}
	if e.WriteKey == "" {
		e.WriteKey = rq.writeKey
	}
	if e.MessageID, f = id("messageId", w.MessageID); f != nil {
		return f
	}
	if e.UserID, f = id("userId", w.UserID); f != nil {
		return f
	}
	if e.AnonymousID, f = id("anonymousId", w.AnonymousID); f != nil {
		return f
	}
	if e.GroupID, f = id("groupId", w.GroupID); f != nil {
		return f
	}
	if e.PreviousID, f = id("previousId", w.PreviousID); f != nil {
		return f
	}
	if e.Event, f = text("event", w.Event, "the event's name as a string"); f != nil {
		return f
	}
	if e.Name, ok = w.Name.text(); !ok {
		return faultf("name", "name: expected the %s's name as a string, got %s", typ, w.Name.kindName())
	}
	// Every context and integrations member must be an object, not only
	// the one kept: keys match regardless of case and the last repeat
	// wins, so a call may carry "context" more than once.
	if w.notObject != "" {
		return faultf(w.notObject, "%s: expected a JSON object, got %s", w.notObject, w.notObjectKind)
	}

	// The Segment spec: every call names its user, by userId (known) or
	// anonymousId (not yet); track names its event, group its group, alias
	// the id it merges.
	switch {
	case e.UserID == "" && e.AnonymousID == "":
		return faultf("userId", "userId or anonymousId is required")
	case typ == Track && e.Event == "":
		return faultf("event", "event is required for a track call: the name of the action, such as \"Search Performed\"")
	case typ == Group && e.GroupID == "":
		return faultf("groupId", "groupId is required for a group call")
	case typ == Alias && e.PreviousID == "":
		return faultf("previousId", "previousId is required for an alias call: the id being merged into userId")
	}

	ts, f := timeField("timestamp", w.Timestamp)
	if f != nil {
		return f
	}
	orig, f := timeField("originalTimestamp", w.OriginalTimestamp)
	if f != nil {
		return f
	}
	sent, f := timeField("sentAt", w.SentAt)
	if f != nil {
		return f
	}
	if sent.IsZero() {
		sent = rq.sentAt
	}
	// The sender's own time is originalTimestamp when it sends one (a replay
	// of processed events carries it next to the corrected timestamp, and
	// correcting it again with the original sentAt and receivedAt gives
	// Segment's timestamp back), else timestamp.
	client := orig
	if client.IsZero() {
		client = ts
	}
	switch {
	case !client.IsZero() && !sent.IsZero():
		if e.Timestamp, ok = correctSkew(client, sent, rq.receivedAt); !ok {
			return faultf("sentAt", "sentAt: %s is centuries away from when the call arrived", sent.Format(time.RFC3339))
		}
	case !client.IsZero():
		// No sentAt: nothing to measure the sender's clock against.
		e.Timestamp = client
	default:
		e.Timestamp = rq.receivedAt
	}
	// Usage is counted by day from 1970 on, and JSON times end at 9999; a
	// time outside is a broken clock or a typo, not product usage.
	if e.Timestamp.Before(minTime) || e.Timestamp.After(maxTime) {
		return faultf("timestamp", "timestamp: %s (corrected for the sender's clock) is not between 1970 and 9999",
			e.Timestamp.UTC().Format(time.RFC3339))
	}
	e.OriginalTimestamp, e.SentAt = client, sent

	if e.MessageID == "" {
		e.MessageID = deriveMessageID(raw, client.IsZero(), rq.receivedAt)
	}
	e.Properties, e.Traits, e.Integrations = w.Properties, w.Traits, w.Integrations
	e.Context = mergeContext(rq.context, w.Context)
	e.Raw = raw
	return nil
}

var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// id reads an id field: a string, or a number's literal (userId: 42).
func id(name string, v scalar) (string, *fault) {
	s, ok := v.id()
	if !ok {
		return "", faultf(name, "%s: expected a string, got %s", name, v.kindName())
	}
	return s, nil
}

// text reads a field that must be a string when present.
func text(name string, v scalar, want string) (string, *fault) {
	s, ok := v.text()
	if !ok {
		return "", faultf(name, "%s: expected %s, got %s", name, want, v.kindName())
	}
	return s, nil
}

// timeField reads an ISO 8601 time; zero when absent.
func timeField(name string, v scalar) (time.Time, *fault) {
	if v.kind == kindAbsent {
		return time.Time{}, nil
	}
	if v.kind == kindString {
		if t, err := parseTime(v.s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &fault{name, timeReason(name, v)}
}

// deriveMessageID names a call sent without a messageId, so that a retry of
// it is recognised as the same call and stored once. Every Segment library
// sets messageId; hand-written senders may not, and their retries resend
// the same bytes, so the id is a hash of the call's raw JSON.
//
// A call that also carries no time of its own (no timestamp or
// originalTimestamp) is dated by its arrival, so the UTC day it arrived is
// hashed too: the same body sent on two days is two events, as it is on two
// days' usage, while a retry on the same day is one. (Identical untimed
// bodies on one day are one event; that costs nothing to daily or monthly
// active users, which count people, not calls.)
func deriveMessageID(raw []byte, untimed bool, receivedAt time.Time) string {
	h := sha256.New()
	h.Write(raw)
	if untimed {
		h.Write([]byte{0})
		h.Write(receivedAt.UTC().AppendFormat(nil, time.DateOnly))
	}
	return "tend-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// nonNull returns raw, or nil for JSON null.
func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	return raw
}

// mergeContext returns the call's context object with the members of the
// request's that it lacks: the call's own keys win, whole (the merge is
// shallow, as Segment's is). Both are valid JSON objects or nil.
func mergeContext(batch, call json.RawMessage) json.RawMessage {
	if len(batch) == 0 {
		return call
	}
	if len(call) == 0 {
		return batch // shared by the batch's events: json.RawMessage is not written to
	}
	var own [][]byte
	eachMember(call, func(key, _ []byte) { own = append(own, key) })
	out := make([]byte, 0, len(call)+len(batch))
	head := bytes.TrimRight(call, " \t\r\n")
	out = append(out, head[:len(head)-1]...) // all but the closing brace
	empty := len(own) == 0
	eachMember(batch, func(key, val []byte) {
		if slices.ContainsFunc(own, func(k []byte) bool { return sameKey(k, key) }) {
			return
		}
		if !empty {
			out = append(out, ',')
		}
		empty = false
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, val...)
	})
	return append(out, '}')
}

// articled turns encoding/json's kind names ("array", "string") into the
// phrasing of the other messages ("an array", "a string").
func articled(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	}
	if strings.HasPrefix(kind, "number") {
		return "a number"
	}
	return "a " + kind
}
