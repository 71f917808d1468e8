package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeAcceptsWhatLibrariesSend(t *testing.T) {
	t.Parallel()
	tests := []struct{ sender, in, want string }{
		{"analytics.js, analytics-node", "2026-11-24T10:00:00.123Z", "2026-11-24T10:00:00.123Z"},
		{"analytics-go (local zone, nanoseconds)", "2026-11-24T11:00:00.123456789+01:00", "2026-11-24T10:00:00.123456789Z"},
		{"analytics-go (UTC, whole second)", "2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"},
		{"analytics-ruby iso8601(3)", "2026-11-24T05:00:00.123-05:00", "2026-11-24T10:00:00.123Z"},
		{"analytics-python isoformat()", "2026-11-24T10:00:00.123456+00:00", "2026-11-24T10:00:00.123456Z"},
		{"analytics-python naive datetime: UTC", "2026-11-24T10:00:00.123456", "2026-11-24T10:00:00.123456Z"},
		{"Java SimpleDateFormat Z", "2026-11-24T11:00:00.123+0100", "2026-11-24T10:00:00.123Z"},
		{"hour-only offset", "2026-11-24T15:30:00+05", "2026-11-24T10:30:00Z"},
		{"no seconds", "2026-11-24T11:00+01:00", "2026-11-24T10:00:00Z"},
		{"no seconds, no zone", "2026-11-24T10:00", "2026-11-24T10:00:00Z"},
		{"date only", "2026-11-24", "2026-11-24T00:00:00Z"},
		{"space separator (SQL export)", "2026-11-24 10:00:00.5Z", "2026-11-24T10:00:00.5Z"},
		{"lower-case t and z", "2026-11-24t10:00:00z", "2026-11-24T10:00:00Z"},
		{"comma fraction (ISO 8601)", "2026-11-24T10:00:00,25Z", "2026-11-24T10:00:00.25Z"},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil {
			t.Errorf("%s: parseTime(%q): %v", tt.sender, tt.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339Nano); s != tt.want {
			t.Errorf("%s: parseTime(%q) = %s, want %s", tt.sender, tt.in, s, tt.want)
		}
	}
}

func TestParseTimeRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "yesterday", "1764000000000", "2026-11-24T10:00:00 +01:00", "24/11/2026",
		"2026-11-31T10:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T10:60:00Z",
		"2026-11-24T10:00:00+25:00", "2026-11-24T10:00:00.Z", "26-11-24T10:00:00Z",
		"Tue, 24 Nov 2026 10:00:00 GMT", "2026-11-24T10:00:00Zjunk",
	} {
		if got, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) = %s; want an error", in, got)
		}
	}
}

// TestClockSkewCorrection checks timestamp = receivedAt − (sentAt − timestamp)
// on the cases a sender's clock produces.
func TestClockSkewCorrection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		batchSent  string // the request's sentAt, "" for none
		call       string // the call's time fields
		receivedAt string
		want       string // Timestamp
		wantOrig   string // OriginalTimestamp, "" for zero
	}{
		{
			name:       "client clock an hour fast",
			call:       `"timestamp":"2026-11-24T11:00:00Z","sentAt":"2026-11-24T11:00:05Z"`,
			receivedAt: "2026-11-24T10:00:05.2Z",
			want:       "2026-11-24T10:00:00.2Z", wantOrig: "2026-11-24T11:00:00Z",
		},
		{
			name:       "client clock 90 seconds slow",
			call:       `"timestamp":"2026-11-24T09:58:20Z","sentAt":"2026-11-24T09:58:30Z"`,
			receivedAt: "2026-11-24T10:00:00Z",
			want:       "2026-11-24T09:59:50Z", wantOrig: "2026-11-24T09:58:20Z",
		},
		{
			name:       "clocks agree: only network time added",
			call:       `"timestamp":"2026-11-24T10:00:00Z","sentAt":"2026-11-24T10:00:00.5Z"`,
			receivedAt: "2026-11-24T10:00:00.6Z",
			want:       "2026-11-24T10:00:00.1Z", wantOrig: "2026-11-24T10:00:00Z",
		},
		{
			name:       "mobile queue: stamped offline two days before sending",
			call:       `"timestamp":"2026-11-22T08:00:00Z","sentAt":"2026-11-24T10:00:00Z"`,
			receivedAt: "2026-11-24T10:00:01Z",
			want:       "2026-11-22T08:00:01Z", wantOrig: "2026-11-22T08:00:00Z",
		},
		{
			name:       "historical import: a year old, sent now",
			call:       `"timestamp":"2025-11-24T10:00:00Z","sentAt":"2026-11-24T10:00:00Z"`,
			receivedAt: "2026-11-24T10:00:00.05Z",
			want:       "2025-11-24T10:00:00.05Z", wantOrig: "2025-11-24T10:00:00Z",
		},
		{
			name:       "the request's sentAt serves a call without one",
			batchSent:  "2026-11-24T11:00:05Z",
			call:       `"timestamp":"2026-11-24T11:00:00Z"`,
			receivedAt: "2026-11-24T10:00:05Z",
			want:       "2026-11-24T10:00:00Z", wantOrig: "2026-11-24T11:00:00Z",
		},
		{
			name:       "the call's own sentAt wins over the request's",
			batchSent:  "2026-11-24T11:00:05Z",
			call:       `"timestamp":"2026-11-24T10:00:00Z","sentAt":"2026-11-24T10:00:05Z"`,
			receivedAt: "2026-11-24T10:00:05Z",
			want:       "2026-11-24T10:00:00Z", wantOrig: "2026-11-24T10:00:00Z",
		},
		{
			name:       "no sentAt: the timestamp as sent",
			call:       `"timestamp":"2026-11-24T09:00:00Z"`,
			receivedAt: "2026-11-24T10:00:00Z",
			want:       "2026-11-24T09:00:00Z", wantOrig: "2026-11-24T09:00:00Z",
		},
		{
			name:       "no timestamp: when it arrived",
			call:       `"sentAt":"2026-11-24T11:00:05Z"`,
			receivedAt: "2026-11-24T10:00:05Z",
			want:       "2026-11-24T10:00:05Z",
		},
		{
			name:       "originalTimestamp only (as some senders name it)",
			call:       `"originalTimestamp":"2026-11-24T11:00:00Z","sentAt":"2026-11-24T11:00:05Z"`,
			receivedAt: "2026-11-24T10:00:05Z",
			want:       "2026-11-24T10:00:00Z", wantOrig: "2026-11-24T11:00:00Z",
		},
		{
			name: "replay of a processed event gives Segment's timestamp back",
			// Segment computed timestamp 10:00:00 from these; the replay
			// passes the stored receivedAt as the arrival.
			call:       `"originalTimestamp":"2026-11-24T11:00:00Z","timestamp":"2026-11-24T10:00:00Z","sentAt":"2026-11-24T11:00:05Z"`,
			receivedAt: "2026-11-24T10:00:05Z",
			want:       "2026-11-24T10:00:00Z", wantOrig: "2026-11-24T11:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			top := ""
			if tt.batchSent != "" {
				top = `"sentAt":"` + tt.batchSent + `",`
			}
			body := `{` + top + `"batch":[{"type":"track","userId":"u1","event":"Login",` + tt.call + `}]}`
			b := mustDecodeBatch(t, body, mustTime(t, tt.receivedAt))
			if len(b.Events) != 1 {
				t.Fatalf("rejected %+v", b.Rejected)
			}
			e := b.Events[0]
			if got := e.Timestamp.UTC().Format(time.RFC3339Nano); got != tt.want {
				t.Errorf("timestamp = %s, want %s", got, tt.want)
			}
			gotOrig := ""
			if !e.OriginalTimestamp.IsZero() {
				gotOrig = e.OriginalTimestamp.UTC().Format(time.RFC3339Nano)
			}
			if gotOrig != tt.wantOrig {
				t.Errorf("originalTimestamp = %q, want %q", gotOrig, tt.wantOrig)
			}
			if !e.ReceivedAt.Equal(mustTime(t, tt.receivedAt)) {
				t.Errorf("receivedAt = %s", e.ReceivedAt)
			}
		})
	}
}

func TestTimeReasonNamesFieldAndForm(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 200)
	b := mustDecodeBatch(t, `{"batch":[{"type":"track","userId":"u","event":"E","timestamp":"`+long+`"}]}`, recv)
	r := b.Rejected[0].Reason
	if !strings.HasPrefix(r, "timestamp: cannot read") || len(r) > 200 || !strings.Contains(r, "2026-11-24T10:00:00.123Z") {
		t.Errorf("reason = %q; want the field, a clipped value and an example", r)
	}
}
