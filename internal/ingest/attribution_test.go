package ingest

import "testing"

func TestAccountGroupID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, call, want string }{
		{"group call", `{"type":"group","userId":"u1","groupId":"acme","traits":{"name":"Acme"}}`, "acme"},
		{"group call's groupId wins over context", `{"type":"group","userId":"u1","groupId":"acme","context":{"groupId":"other"}}`, "acme"},
		{"track with context.groupId", `{"type":"track","userId":"u1","event":"Search Performed","context":{"groupId":"acme"}}`, "acme"},
		{"page with numeric context.groupId keeps every digit", `{"type":"page","userId":"u1","context":{"groupId":12345678901234567890}}`, "12345678901234567890"},
		{"identify with traits.company.id", `{"type":"identify","userId":"u1","traits":{"email":"dana@acme.example","company":{"id":"acme","name":"Acme Corp"}}}`, "acme"},
		{"identify with numeric company id", `{"type":"identify","userId":"u1","traits":{"company":{"id":981}}}`, "981"},
		{"identify context.groupId wins over company", `{"type":"identify","userId":"u1","context":{"groupId":"ctx"},"traits":{"company":{"id":"acme"}}}`, "ctx"},
		{"identify with a company name only", `{"type":"identify","userId":"u1","traits":{"company":"Acme Corp"}}`, ""},
		{"track traits.company is not attribution", `{"type":"track","userId":"u1","event":"E","traits":{"company":{"id":"acme"}}}`, ""},
		{"groupId in properties is not attribution", `{"type":"track","userId":"u1","event":"E","properties":{"groupId":"acme"}}`, ""},
		{"context.groupId of the wrong kind", `{"type":"track","userId":"u1","event":"E","context":{"groupId":{"id":"acme"}}}`, ""},
		{"nothing", `{"type":"track","userId":"u1","event":"E"}`, ""},
	}
	for _, tt := range tests {
		b := mustDecodeBatch(t, `{"batch":[`+tt.call+`]}`, recv)
		if len(b.Events) != 1 {
			t.Fatalf("%s: rejected %+v", tt.name, b.Rejected)
		}
		if got := b.Events[0].AccountGroupID(); got != tt.want {
			t.Errorf("%s: AccountGroupID = %q, want %q", tt.name, got, tt.want)
		}
	}
	// The request's context counts as the call's.
	b := mustDecodeBatch(t, `{"context":{"groupId":"acme"},"batch":[{"type":"track","userId":"u1","event":"E"}]}`, recv)
	if got := b.Events[0].AccountGroupID(); got != "acme" {
		t.Errorf("batch context.groupId: AccountGroupID = %q, want acme", got)
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, call, want string }{
		{"identify", `{"type":"identify","userId":"u1","traits":{"email":"dana.ito@acme.example"}}`, "dana.ito@acme.example"},
		{"identify, padded", `{"type":"identify","userId":"u1","traits":{"email":"  dana.ito@acme.example\n"}}`, "dana.ito@acme.example"},
		{"identify, not an address", `{"type":"identify","userId":"u1","traits":{"email":"n/a"}}`, ""},
		{"identify, not a string", `{"type":"identify","userId":"u1","traits":{"email":["a@b.example"]}}`, ""},
		{"identify without email", `{"type":"identify","userId":"u1","traits":{"name":"Dana"}}`, ""},
		{"group traits describe the account", `{"type":"group","userId":"u1","groupId":"acme","traits":{"email":"billing@acme.example"}}`, ""},
		{"track", `{"type":"track","userId":"u1","event":"E","traits":{"email":"dana.ito@acme.example"}}`, ""},
	}
	for _, tt := range tests {
		b := mustDecodeBatch(t, `{"batch":[`+tt.call+`]}`, recv)
		if len(b.Events) != 1 {
			t.Fatalf("%s: rejected %+v", tt.name, b.Rejected)
		}
		if got := b.Events[0].Email(); got != tt.want {
			t.Errorf("%s: Email = %q, want %q", tt.name, got, tt.want)
		}
	}
}
