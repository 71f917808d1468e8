package ingest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// timeLayouts are the ISO 8601 forms Segment libraries send, most common
// first: analytics.js and analytics-node send 2026-11-24T10:00:00.123Z,
// analytics-go RFC 3339 with up to nine fraction digits and a zone,
// analytics-python isoformat() (+00:00, or no zone for a naive datetime),
// analytics-java and PHP sometimes +0000. A fraction after the seconds is
// accepted by every layout (time.Parse allows one, with "." or ","), so it
// need not be spelled out.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05", // no zone: UTC, as Segment reads it
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime parses an ISO 8601 timestamp in any of timeLayouts, with "T",
// "t" or a space between date and time and "Z" or "z" for UTC.
func parseTime(s string) (time.Time, error) {
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errBadTime
}

var errBadTime = errors.New("not an ISO 8601 time")

// timeReason is the rejection reason for a field that is not a timestamp.
func timeReason(field string, v scalar) string {
	const want = "want ISO 8601 such as 2026-11-24T10:00:00.123Z or 2026-11-24T11:00:00+01:00"
	if v.kind != kindString {
		return fmt.Sprintf("%s: expected a string, got %s; %s", field, v.kindName(), want)
	}
	return fmt.Sprintf("%s: cannot read %q as a time; %s", field, clip(v.s, 64), want)
}

// correctSkew returns when a call happened on the server's clock. The sender
// stamped it at client (its clock) and sent it at sentAt (the same clock);
// the request arrived at receivedAt (ours). The time between stamping and
// sending is real and survives any clock offset, so
//
//	timestamp = receivedAt − (sentAt − client) = client + (receivedAt − sentAt)
//
// which is Segment's correction. The second form is what is computed: its
// difference is the skew plus network time, small for any sane sender, where
// sentAt − client can be years for a historical import and would overflow a
// Duration first. ok is false when even the skew overflows (a sentAt some
// 292 years away from now), which no real clock produces.
func correctSkew(client, sentAt, receivedAt time.Time) (t time.Time, ok bool) {
	skew := receivedAt.Sub(sentAt)
	if skew == math.MaxInt64 || skew == math.MinInt64 {
		return time.Time{}, false
	}
	return client.Add(skew), true
}
