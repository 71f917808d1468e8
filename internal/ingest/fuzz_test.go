package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// FuzzDecodeBatch feeds arbitrary bodies to the decoders. Beyond never
// panicking: a refused request is refused with a 4xx code; an accepted one
// accounts for every call it carries (counted by encoding/json, not by the
// decoder's own walker), exactly once, in order; every accepted event is
// complete; and decoding is deterministic (a retry dedups).
func FuzzDecodeBatch(f *testing.F) {
	for _, name := range []string{"analytics-go-batch.json", "analytics-js-batch.json"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		`{"batch":[]}`,
		`{"batch":[{"type":"track","userId":"u","event":"E"},{"type":"group"},null,5,"x",[],{}]}`,
		`{"batch":[{"type":"identify","userId":42,"traits":{"company":{"id":7}}}],"context":{"groupId":"g"},"sentAt":"2026-11-24T10:00:00Z"}`,
		`{"batch":[{"type":"alias","userId":"u","previousId":"p","timestamp":"2026-11-24t10:00:00,5+0100","sentAt":"0001-01-01"}]}`,
		`{"batch":[{"type":"page","anonymousId":"a","properties":[1]}],"writeKey":"k"}`,
		`{"batch":[{"type":"track","userId":"u","event":"E"}],"batch":{"x":1}}`,
		`{"b\u0061tch":[{"type":"screen","userId":"\ud83d\ude00","name":"\""}]}`,
		`{"batch":[{"type":"track","userId":"u","event":"E","timestamp":"9999-12-31T23:59:59Z","sentAt":"0000-01-01T00:00:00Z"}]}`,
		`{"context":{"a":1,"b":{"x":[2]},"a":5},"batch":[{"type":"track","userId":"u","event":"E","context":{ "b" : 3 ,"\u0061":4 }},{"type":"page","userId":"u","context":{}}]}`,
		`{"batch":[{"type":"track","userId":"u","event":"E","timestamp":"9999-12-31T23:59:59Z","sentAt":"1800-01-01T00:00:00Z"}]}`,
		`{"batch":[{"type":"track","userId":"u","event":"E","originalTimestamp":"0001-01-01T00:00:01Z","sentAt":"2026-11-24T10:00:06Z"}]}`,
		`{"batch": [`, `[]`, `null`, ``, `{"batch":"x"}`, `{"context":[]}`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeBatch(body, at)
		if err != nil {
			if c := derrors.CodeOf(err); c != derrors.Invalid && c != derrors.TooLarge {
				t.Fatalf("refused with %s: %v", c, err)
			}
			if b.Events != nil || b.Rejected != nil {
				t.Fatalf("refused request returned calls: %+v", b)
			}
		} else {
			var top map[string]json.RawMessage
			var calls []json.RawMessage
			if e := json.Unmarshal(body, &top); e != nil {
				t.Fatalf("accepted a body encoding/json refuses: %v", e)
			}
			if e := json.Unmarshal(top["batch"], &calls); e != nil || calls == nil {
				t.Fatalf("accepted a batch that is not an array (%v): %s", e, top["batch"])
			}
			checkBatch(t, b, len(calls))
			checkAgainstCalls(t, b, top["context"], calls)
			for _, c := range calls {
				checkWire(t, c)
			}
			again, _ := DecodeBatch(body, at)
			if !slices.EqualFunc(b.Events, again.Events, func(x, y Event) bool { return x.MessageID == y.MessageID }) {
				t.Fatal("decoding twice gave different messageIds")
			}
		}

		s, err := DecodeSingle("track", body, at)
		if err != nil {
			if c := derrors.CodeOf(err); c != derrors.Invalid && c != derrors.TooLarge {
				t.Fatalf("single refused with %s: %v", c, err)
			}
		} else {
			checkBatch(t, s, 1)
		}
	})
}

func checkBatch(t *testing.T, b Batch, calls int) {
	t.Helper()
	if got := len(b.Events) + len(b.Rejected); got != calls {
		t.Fatalf("%d events + %d rejected, want %d calls", len(b.Events), len(b.Rejected), calls)
	}
	prev := -1
	for _, r := range b.Rejected {
		if r.Index <= prev || r.Index >= calls || r.Reason == "" {
			t.Fatalf("bad rejection %+v after index %d of %d", r, prev, calls)
		}
		prev = r.Index
	}
	for _, e := range b.Events {
		if _, ok := ParseType(string(e.Type)); !ok || e.MessageID == "" || (e.UserID == "" && e.AnonymousID == "") || e.Timestamp.IsZero() || e.ReceivedAt.IsZero() {
			t.Fatalf("incomplete event %+v", e)
		}
		if len(e.Raw) > MaxEventBytes || !json.Valid(e.Raw) {
			t.Fatalf("event raw is %d bytes or invalid", len(e.Raw))
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
	}
}

// checkAgainstCalls checks each accepted event against the call it came from,
// decoded by encoding/json: Raw is the call's bytes, and Context is the
// request's context overlaid with the call's, key by key.
func checkAgainstCalls(t *testing.T, b Batch, batchCtx json.RawMessage, calls []json.RawMessage) {
	t.Helper()
	rejected := map[int]bool{}
	for _, r := range b.Rejected {
		rejected[r.Index] = true
	}
	var base map[string]any
	if err := json.Unmarshal(batchCtx, &base); len(batchCtx) > 0 && err != nil {
		t.Fatalf("request context %s: %v", batchCtx, err)
	}
	j := 0
	for i, call := range calls {
		if rejected[i] {
			continue
		}
		e := b.Events[j]
		j++
		if !bytes.Equal(e.Raw, call) {
			t.Fatalf("event %d raw = %s, want %s", i, e.Raw, call)
		}
		// The call's context as encoding/json keeps a json.RawMessage: the
		// last of repeated members, whole (decoded into a map, repeats
		// would merge).
		var raw struct {
			Context json.RawMessage `json:"context"`
		}
		if err := json.Unmarshal(call, &raw); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		var own map[string]any
		if err := json.Unmarshal(nonNull(raw.Context), &own); len(nonNull(raw.Context)) > 0 && err != nil {
			t.Fatalf("call %d context: %v", i, err)
		}
		want := maps.Clone(base)
		if want == nil && own != nil {
			want = map[string]any{}
		}
		maps.Copy(want, own)
		var got map[string]any
		if e.Context != nil {
			if err := json.Unmarshal(e.Context, &got); err != nil || e.Context[0] != '{' {
				t.Fatalf("event %d context is not a JSON object (%v): %s", i, err, e.Context)
			}
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("event %d context = %s, want %v", i, e.Context, want)
		}
	}
}

// refWire is how calls were decoded before the decoder read them itself:
// by encoding/json, into this struct. The decoder must read every call as
// it did.
type refWire struct {
	Type              scalar          `json:"type"`
	MessageID         scalar          `json:"messageId"`
	UserID            scalar          `json:"userId"`
	AnonymousID       scalar          `json:"anonymousId"`
	Event             scalar          `json:"event"`
	Name              scalar          `json:"name"`
	GroupID           scalar          `json:"groupId"`
	PreviousID        scalar          `json:"previousId"`
	Timestamp         scalar          `json:"timestamp"`
	OriginalTimestamp scalar          `json:"originalTimestamp"`
	SentAt            scalar          `json:"sentAt"`
	WriteKey          scalar          `json:"writeKey"`
	Properties        map[string]any  `json:"properties"`
	Traits            map[string]any  `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Integrations      json.RawMessage `json:"integrations"`
}

// checkWire compares the decoder's reading of one call (valid JSON) with
// encoding/json's: the same scalars, the same properties and traits, the
// same context and integrations, and a fault exactly where encoding/json
// had a type error.
func checkWire(t *testing.T, call []byte) {
	t.Helper()
	if len(call) == 0 || call[0] != '{' {
		return
	}
	var ref refWire
	dec := json.NewDecoder(bytes.NewReader(call))
	dec.UseNumber()
	refErr := dec.Decode(&ref)
	var w wireEvent
	f := w.read(call)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(refErr, &te):
		if f == nil || f.field != te.Field {
			t.Fatalf("call %s: fault %v, encoding/json %v", call, f, refErr)
		}
		return
	case refErr != nil:
		t.Fatalf("call %s: encoding/json: %v", call, refErr)
	case f != nil:
		t.Fatalf("call %s: fault %v, encoding/json none", call, f)
	}
	scalars := [][2]scalar{{ref.Type, w.Type}, {ref.MessageID, w.MessageID}, {ref.UserID, w.UserID}, {ref.AnonymousID, w.AnonymousID},
		{ref.Event, w.Event}, {ref.Name, w.Name}, {ref.GroupID, w.GroupID}, {ref.PreviousID, w.PreviousID},
		{ref.Timestamp, w.Timestamp}, {ref.OriginalTimestamp, w.OriginalTimestamp}, {ref.SentAt, w.SentAt}, {ref.WriteKey, w.WriteKey}}
	for i, s := range scalars {
		if s[0] != s[1] {
			t.Fatalf("call %s: %s = %+v, encoding/json %+v", call, wireFields[i], s[1], s[0])
		}
	}
	for _, m := range []struct {
		name string
		ref  map[string]any
		raw  json.RawMessage
	}{{"properties", ref.Properties, w.Properties}, {"traits", ref.Traits, w.Traits}} {
		var got map[string]any
		if m.raw != nil {
			dec := json.NewDecoder(bytes.NewReader(m.raw))
			dec.UseNumber()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("call %s: %s %s: %v", call, m.name, m.raw, err)
			}
		}
		if (got == nil) != (m.ref == nil) || !reflect.DeepEqual(got, m.ref) && len(got)+len(m.ref) > 0 {
			t.Fatalf("call %s: %s = %s, encoding/json %v", call, m.name, m.raw, m.ref)
		}
	}
	for _, r := range []struct {
		name     string
		ref, got json.RawMessage
	}{{"context", nonNull(ref.Context), w.Context}, {"integrations", nonNull(ref.Integrations), w.Integrations}} {
		if !bytes.Equal(r.ref, r.got) {
			t.Fatalf("call %s: %s = %s, encoding/json %s", call, r.name, r.got, r.ref)
		}
	}
}

// The cases the decoder's own reading of a call must get as encoding/json
// did: keys in any case, Unicode folding, repeats, escapes.
func TestReadMatchesEncodingJSON(t *testing.T) {
	for _, call := range []string{
		`{"type":"track","userId":"u","event":"E"}`,
		`{"TYPE":"track","UserID":"u","EVENT":"E","Properties":{"a":1}}`,
		`{"type":"track","type":"page","userId":"u","userId":7}`,
		`{"properties":{"a":1,"b":{"x":1}},"properties":{"b":2,"c":3}}`,
		`{"properties":{"a":1},"properties":null,"traits":{"email":"x"},"Traits":{"name":"y"}}`,
		`{"properties":[1],"properties":{"a":1}}`,
		`{"properties":{"a":1},"properties":[1]}`,
		`{"traits":"vip","properties":5}`,
		`{"ſentAt":"2026-11-24T10:00:00Z","writeᏦey":"x","\u0074ype":"identify","us\u0065rId":"u"}`,
		`{"writeKey":"k","WRITEKEY":"K","context":{"a":1},"Context":null,"integrations":{"All":true}}`,
		`{"userId":null,"anonymousId":"a","messageId":{"x":1},"name":["n"],"groupId":true}`,
	} {
		checkWire(t, []byte(call))
	}
}

// FuzzValid checks the decoder's own JSON validation against json.Valid.
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"batch":[{"a":1},2,[3]],"x":{}}`, `{"batch":[1,]}`, `{"batch":[]} x`, `{"a":1 "b":2}`, `{"a":[1,2.5e-3,-0,true,false,null,"x\u00e9\n"]}`, `{"a":}`, `[1,]`, `01`, `1.`,
		`"\u12"`, "\"\x01\"", `{"a" "b"}`, ` [ ] `, `[[[[]]]]`, `-`, `1e+`, `"\q"`, "\xff", `"` + "\xff" + `"`, `nul`, `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
		if o := b[skipSpace(b, 0):]; len(o) > 0 && o[0] == '{' {
			split := validMembersSplit(o, func(k []byte) bool { return keyIs(k, "batch") }, 3, func(_, _ []byte, _ [][]byte) {})
			if want := json.Valid(b); split != want {
				t.Fatalf("validMembersSplit(%q) = %v, json.Valid %v", b, split, want)
			}
		}
	})
}

func TestValidDepth(t *testing.T) {
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Errorf("depth %d: validJSON %v, json.Valid %v", n, got, want)
		}
	}
}
