package ingest

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
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
		var own struct {
			Context map[string]any `json:"context"`
		}
		if err := json.Unmarshal(call, &own); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		want := maps.Clone(base)
		if want == nil && own.Context != nil {
			want = map[string]any{}
		}
		maps.Copy(want, own.Context)
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
