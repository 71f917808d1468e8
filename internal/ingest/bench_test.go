package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBatch builds a realistic batch of n calls as analytics-go sends them:
// mostly tracks with properties and a per-call context, some pages,
// identifies and groups, about 450 bytes a call.
func benchBatch(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"messageId":"9f1c2e7a-3b4d-4e5f-8a9b-0c1d2e3f4a5b","sentAt":"2026-11-24T11:00:05.123456789+01:00","context":{"library":{"name":"analytics-go","version":"3.3.0"}},"batch":[`)
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		user, group := fmt.Sprintf("user-%06d", i*7919%100000), fmt.Sprintf("acct-%04d", i%1000)
		stamp := ts.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		id := fmt.Sprintf("5c0d%04x-1a2b-4c3d-9e8f-%012x", i, i*31)
		switch i % 20 {
		case 0:
			fmt.Fprintf(&sb, `{"type":"identify","messageId":%q,"userId":%q,"anonymousId":%q,"timestamp":%q,"traits":{"email":"%s@acme.example","name":"User %d","company":{"id":%q,"name":"Acme"},"createdAt":"2025-02-01T00:00:00Z"}}`,
				id, user, user, stamp, user, i, group)
		case 1:
			fmt.Fprintf(&sb, `{"type":"group","messageId":%q,"userId":%q,"anonymousId":%q,"groupId":%q,"timestamp":%q,"traits":{"name":"Acme","plan":"enterprise","employees":2400}}`,
				id, user, user, group, stamp)
		case 2, 3, 4:
			fmt.Fprintf(&sb, `{"type":"page","messageId":%q,"userId":%q,"anonymousId":%q,"name":"Search","timestamp":%q,"context":{"groupId":%q,"page":{"path":"/search","url":"https://code.acme.example/search?q=repo%%3Aacme","title":"Search"}},"properties":{"path":"/search","referrer":"https://code.acme.example/"}}`,
				id, user, user, stamp, group)
		default:
			fmt.Fprintf(&sb, `{"type":"track","messageId":%q,"userId":%q,"anonymousId":%q,"event":"Search Performed","timestamp":%q,"context":{"groupId":%q,"ip":"203.0.113.%d"},"properties":{"query":"repo:acme/api lang:go count:%d","results":%d,"durationMs":%d.5,"feature":"code_search"},"integrations":{}}`,
				id, user, user, stamp, group, i%250, i, i*3, i%97)
		}
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkDecodeBatch500 decodes a 500-call batch, the size of a full
// analytics-go batch at its default of 250 raised to analytics.js-style
// 500; events/s is the figure to compare with ingestion's target.
func BenchmarkDecodeBatch500(b *testing.B) {
	body := benchBatch(500)
	at := time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC)
	if out, err := DecodeBatch(body, at); err != nil || len(out.Events) != 500 {
		b.Fatalf("err %v, %d events, rejected %+v", err, len(out.Events), out.Rejected)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(body, at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "events/s")
}
