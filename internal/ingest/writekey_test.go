package ingest

import (
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

func TestWriteKey(t *testing.T) {
	t.Parallel()
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, auth, body, want string
		ok                     bool
	}{
		{"Basic user, empty password (every server library)", basic("wk_live_1:"), "", "wk_live_1", true},
		{"header wins over body", basic("wk_header:"), "wk_body", "wk_header", true},
		{"password ignored", basic("wk_live_1:ignored"), "", "wk_live_1", true},
		{"body only (analytics.js)", "", "wk_body", "wk_body", true},
		{"empty Basic user falls back to body", basic(":"), "wk_body", "wk_body", true},
		{"Bearer is not a write key", "Bearer wk_live_1", "wk_body", "wk_body", true},
		{"Basic without colon is malformed", basic("wk_live_1"), "", "", false},
		{"none", "", "", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/v1/batch", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		got, ok := WriteKey(r, tt.body)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: WriteKey = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
