package storetest

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

var writeKeyTests = []test{
	{"CreateAndList", testCreateAndListWriteKeys},
	{"CreateErrors", testCreateWriteKeyErrors},
	{"ByHashMarksUse", testWriteKeyByHashMarksUse},
	{"Revoke", testRevokeWriteKey},
}

// writeKey creates a write key for a source whose secret is secret.
func (e *env) writeKey(name, secret string, by *int64) store.WriteKey {
	e.t.Helper()
	h := sha256.Sum256([]byte(secret))
	k := store.WriteKey{Name: name, Prefix: secret[:min(len(secret), 8)], Hash: h[:], CreatedBy: by}
	e.ok(e.st.CreateWriteKey(e.ctx, &k), "CreateWriteKey "+name)
	return k
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func writeKeyIDs(ks []store.WriteKey) []int64 {
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func testCreateAndListWriteKeys(e *env) {
	t := e.t
	ks, err := e.st.ListWriteKeys(e.ctx)
	e.ok(err, "ListWriteKeys on an empty store")
	if ks == nil || len(ks) != 0 {
		t.Errorf("ListWriteKeys on an empty store = %#v, want an empty list", ks)
	}
	admin := e.user("Ada Admin", "ada@tend.test", team.Admin)
	now := e.now()
	web := e.writeKey(" web app ", "wk_live_web_0123456789", &admin.ID)
	if web.ID <= 0 || web.Name != "web app" {
		t.Fatalf("created %+v, want an id and a trimmed name", web)
	}
	e.sameInstant("CreatedAt", web.CreatedAt, now)
	if web.RevokedAt != nil || web.LastUsedAt != nil {
		t.Errorf("a new key has RevokedAt %v, LastUsedAt %v; want both unset", web.RevokedAt, web.LastUsedAt)
	}
	e.advance(time.Second)
	// Names may repeat: two environments of one app are two sources.
	web2 := e.writeKey("web app", "wk_live_web_staging", nil)
	e.advance(time.Second)
	backend := e.writeKey("backend", "wk_live_backend", nil)
	e.ok(e.st.RevokeWriteKey(e.ctx, web2.ID), "RevokeWriteKey")

	ks, err = e.st.ListWriteKeys(e.ctx)
	e.ok(err, "ListWriteKeys")
	if got, want := writeKeyIDs(ks), []int64{backend.ID, web2.ID, web.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListWriteKeys = %v, want %v (newest first, revoked included)", got, want)
	}
	got := ks[2]
	if got.Name != "web app" || got.Prefix != "wk_live_" || !bytes.Equal(got.Hash, web.Hash) ||
		got.CreatedBy == nil || *got.CreatedBy != admin.ID || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("listed key %+v, want %+v", got, web)
	}
	e.sameInstant("listed CreatedAt", got.CreatedAt, web.CreatedAt)
	if ks[0].CreatedBy != nil {
		t.Errorf("CreatedBy = %v, want unset", *ks[0].CreatedBy)
	}
	if ks[1].RevokedAt == nil {
		t.Errorf("revoked key listed without RevokedAt")
	}
}

func testCreateWriteKeyErrors(e *env) {
	used := e.writeKey("web app", "wk_secret", nil)
	ghost := int64(404)
	for _, tc := range []struct {
		code  derrors.Code
		field string
		k     store.WriteKey
	}{
		{derrors.Unprocessable, "name", store.WriteKey{Name: " ", Hash: hashOf("a")}},
		{derrors.Unprocessable, "hash", store.WriteKey{Name: "no hash"}},
		{derrors.Unprocessable, "created_by", store.WriteKey{Name: "ghost", Hash: hashOf("b"), CreatedBy: &ghost}},
		{derrors.Conflict, "hash", store.WriteKey{Name: "copy", Hash: used.Hash}},
	} {
		k := tc.k
		wantErr(e.t, e.st.CreateWriteKey(e.ctx, &k), tc.code, tc.field)
	}
	ks, err := e.st.ListWriteKeys(e.ctx)
	e.ok(err, "ListWriteKeys")
	if len(ks) != 1 {
		e.t.Errorf("%d keys after failed creates, want 1", len(ks))
	}
}

func testWriteKeyByHashMarksUse(e *env) {
	t := e.t
	k := e.writeKey("web app", "wk_web", nil)
	other := e.writeKey("backend", "wk_backend", nil)
	stored := func() store.WriteKey {
		t.Helper()
		ks, err := e.st.ListWriteKeys(e.ctx)
		e.ok(err, "ListWriteKeys")
		for _, x := range ks {
			if x.ID == other.ID && x.LastUsedAt != nil {
				t.Errorf("the unused key was marked used")
			}
		}
		for _, x := range ks {
			if x.ID == k.ID {
				return x
			}
		}
		t.Fatalf("key %d not listed", k.ID)
		return store.WriteKey{}
	}

	first := start.Add(10*time.Minute + 123_456_789)
	got, err := e.st.WriteKeyByHash(e.ctx, hashOf("wk_web"), first)
	e.ok(err, "WriteKeyByHash")
	want := first.Truncate(time.Millisecond)
	if got.ID != k.ID || got.Name != "web app" || got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("WriteKeyByHash = %+v, want key %d used at %v", got, k.ID, want)
	}
	if lu := stored().LastUsedAt; lu == nil || !lu.Equal(want) {
		t.Errorf("stored LastUsedAt = %v, want %v", lu, want)
	}
	// Within the minute the mark stays, so a busy source costs no writes.
	got, err = e.st.WriteKeyByHash(e.ctx, hashOf("wk_web"), first.Add(59*time.Second))
	e.ok(err, "WriteKeyByHash")
	if lu := stored().LastUsedAt; lu == nil || !lu.Equal(want) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("LastUsedAt 59s later = %v (returned %v), want %v kept", lu, got.LastUsedAt, want)
	}
	later := first.Add(61 * time.Second).Truncate(time.Millisecond)
	got, err = e.st.WriteKeyByHash(e.ctx, hashOf("wk_web"), later)
	e.ok(err, "WriteKeyByHash")
	if lu := stored().LastUsedAt; lu == nil || !lu.Equal(later) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Errorf("LastUsedAt 61s later = %v (returned %v), want %v", lu, got.LastUsedAt, later)
	}

	for _, h := range [][]byte{hashOf("wk_web "), nil, k.Hash[:16]} {
		got, err := e.st.WriteKeyByHash(e.ctx, h, later)
		wantErr(t, err, derrors.Unauthorized, "")
		if got.ID != 0 {
			t.Errorf("an unknown hash returned key %d", got.ID)
		}
	}
}

func testRevokeWriteKey(e *env) {
	t := e.t
	k := e.writeKey("web app", "wk_web", nil)
	keep := e.writeKey("backend", "wk_backend", nil)
	e.advance(time.Hour)
	revokedAt := e.now()
	e.ok(e.st.RevokeWriteKey(e.ctx, k.ID), "RevokeWriteKey")
	got, err := e.st.WriteKeyByHash(e.ctx, hashOf("wk_web"), revokedAt)
	wantErr(t, err, derrors.Unauthorized, "")
	if got.ID != 0 {
		t.Errorf("a revoked key returned key %d", got.ID)
	}
	// Revoking again is not an error and keeps the first revocation.
	e.advance(time.Hour)
	e.ok(e.st.RevokeWriteKey(e.ctx, k.ID), "RevokeWriteKey again")
	wantErr(t, e.st.RevokeWriteKey(e.ctx, keep.ID+100), derrors.NotFound, "")

	ks, err := e.st.ListWriteKeys(e.ctx)
	e.ok(err, "ListWriteKeys")
	for _, x := range ks {
		switch x.ID {
		case k.ID:
			if x.RevokedAt == nil {
				t.Fatalf("revoked key has no RevokedAt")
			}
			e.sameInstant("RevokedAt", *x.RevokedAt, revokedAt)
			if x.LastUsedAt != nil {
				t.Errorf("a refused key was marked used at %v", x.LastUsedAt)
			}
		case keep.ID:
			if x.RevokedAt != nil {
				t.Errorf("the other key was revoked")
			}
		}
	}
	if _, err := e.st.WriteKeyByHash(e.ctx, hashOf("wk_backend"), revokedAt); err != nil {
		t.Errorf("the other key: %v", err)
	}
}
