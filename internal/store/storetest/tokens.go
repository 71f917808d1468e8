package storetest

import (
	"bytes"
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var tokenTests = []test{
	{"CreateAndList", testCreateAndListTokens},
	{"CreateErrors", testCreateTokenErrors},
	{"ByHash", testTokenByHash},
	{"ByHashMarksUse", testTokenByHashMarksUse},
	{"ByHashRefuses", testTokenByHashRefuses},
	{"Delete", testDeleteToken},
}

// token creates an API token for the user and returns it with its secret.
func (e *env) token(userID int64, name string) (team.Token, string) {
	e.t.Helper()
	secret, tok, err := team.NewToken(userID, name)
	e.ok(err, "NewToken")
	e.ok(e.st.CreateToken(e.ctx, &tok), "CreateToken "+name)
	return tok, secret
}

func tokenIDs(ts []team.Token) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func testCreateAndListTokens(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	omar := e.user("Omar Advisor", "omar@tend.test", team.TA)
	now := e.now()
	d1, _ := e.token(dana.ID, " warehouse sync ")
	if d1.ID <= 0 || d1.Name != "warehouse sync" {
		t.Fatalf("created token %+v, want an id and a trimmed name", d1)
	}
	e.sameInstant("CreatedAt", d1.CreatedAt, now)
	if d1.LastUsedAt != nil {
		t.Errorf("new token LastUsedAt = %v, want unset", d1.LastUsedAt)
	}
	e.advance(time.Second)
	o1, _ := e.token(omar.ID, "laptop")
	e.advance(time.Second)
	d2, _ := e.token(dana.ID, "segment")

	ts, err := e.st.ListTokens(e.ctx, dana.ID)
	e.ok(err, "ListTokens(dana)")
	if got, want := tokenIDs(ts), []int64{d1.ID, d2.ID}; !slices.Equal(got, want) {
		t.Errorf("ListTokens(dana) = %v, want %v (oldest first)", got, want)
	}
	got := ts[0]
	if got.UserID != dana.ID || got.Name != d1.Name || got.Prefix != d1.Prefix || !bytes.Equal(got.Hash, d1.Hash) {
		t.Errorf("listed token %+v, want %+v", got, d1)
	}
	e.sameInstant("listed CreatedAt", got.CreatedAt, d1.CreatedAt)

	ts, err = e.st.ListTokens(e.ctx, 0)
	e.ok(err, "ListTokens(0)")
	if got, want := tokenIDs(ts), []int64{d1.ID, o1.ID, d2.ID}; !slices.Equal(got, want) {
		t.Errorf("ListTokens(0) = %v, want everyone's %v", got, want)
	}
	ts, err = e.st.ListTokens(e.ctx, omar.ID+100)
	e.ok(err, "ListTokens(unknown)")
	if ts == nil || len(ts) != 0 {
		t.Errorf("ListTokens(unknown user) = %#v, want an empty list", ts)
	}
}

func testCreateTokenErrors(e *env) {
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	used, _ := e.token(dana.ID, "first")
	for _, tc := range []struct {
		code  derrors.Code
		field string
		tok   team.Token
	}{
		{derrors.Unprocessable, "name", team.Token{UserID: dana.ID, Name: "  ", Prefix: "tend_abc", Hash: []byte("h1")}},
		{derrors.Unprocessable, "hash", team.Token{UserID: dana.ID, Name: "no hash", Prefix: "tend_abc"}},
		{derrors.Unprocessable, "user_id", team.Token{UserID: dana.ID + 100, Name: "ghost", Prefix: "tend_abc", Hash: []byte("h2")}},
		{derrors.Conflict, "hash", team.Token{UserID: dana.ID, Name: "copy", Prefix: used.Prefix, Hash: used.Hash}},
	} {
		tok := tc.tok
		wantErr(e.t, e.st.CreateToken(e.ctx, &tok), tc.code, tc.field)
	}
	ts, err := e.st.ListTokens(e.ctx, 0)
	e.ok(err, "ListTokens")
	if len(ts) != 1 {
		e.t.Errorf("%d tokens after failed creates, want 1", len(ts))
	}
}

func testTokenByHash(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	omar := e.user("Omar Advisor", "omar@tend.test", team.TA)
	tok, secret := e.token(dana.ID, "sync")
	e.token(omar.ID, "other")

	now := e.now().Add(time.Minute)
	got, u, err := e.st.TokenByHash(e.ctx, team.HashToken(secret), now)
	e.ok(err, "TokenByHash")
	if got.ID != tok.ID || got.UserID != dana.ID || got.Name != "sync" || !bytes.Equal(got.Hash, tok.Hash) {
		t.Errorf("TokenByHash = %+v, want token %d", got, tok.ID)
	}
	sameJSON(t, "token's user", u, dana)
	if u.Role != team.TA || u.Email != dana.Email {
		t.Errorf("token's user = %+v", u)
	}
}

func testTokenByHashMarksUse(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	tok, secret := e.token(dana.ID, "sync")
	other, _ := e.token(dana.ID, "unused")
	hash := team.HashToken(secret)
	lastUsed := func() *time.Time {
		t.Helper()
		ts, err := e.st.ListTokens(e.ctx, dana.ID)
		e.ok(err, "ListTokens")
		for _, x := range ts {
			if x.ID == other.ID && x.LastUsedAt != nil {
				t.Errorf("the unused token was marked used")
			}
			if x.ID == tok.ID {
				return x.LastUsedAt
			}
		}
		t.Fatalf("token %d not listed", tok.ID)
		return nil
	}

	// The caller's now is used (not the store clock), to the millisecond.
	first := start.Add(10*time.Minute + 123_456_789)
	got, _, err := e.st.TokenByHash(e.ctx, hash, first)
	e.ok(err, "TokenByHash")
	want := first.Truncate(time.Millisecond)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("returned LastUsedAt = %v, want %v", got.LastUsedAt, want)
	}
	if lu := lastUsed(); lu == nil || !lu.Equal(want) {
		t.Errorf("stored LastUsedAt = %v, want %v", lu, want)
	}

	// Within the minute the mark stays; after it, it moves.
	got, _, err = e.st.TokenByHash(e.ctx, hash, first.Add(30*time.Second))
	e.ok(err, "TokenByHash")
	if lu := lastUsed(); lu == nil || !lu.Equal(want) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("LastUsedAt 30s later = %v (returned %v), want %v kept", lu, got.LastUsedAt, want)
	}
	later := first.Add(61 * time.Second).Truncate(time.Millisecond)
	got, _, err = e.st.TokenByHash(e.ctx, hash, later)
	e.ok(err, "TokenByHash")
	if lu := lastUsed(); lu == nil || !lu.Equal(later) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Errorf("LastUsedAt 61s later = %v (returned %v), want %v", lu, got.LastUsedAt, later)
	}
}

func testTokenByHashRefuses(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	tok, secret := e.token(dana.ID, "sync")
	now := start.Add(time.Hour)

	for _, hash := range [][]byte{team.HashToken(secret + "x"), team.HashToken(""), nil, tok.Hash[:16]} {
		got, u, err := e.st.TokenByHash(e.ctx, hash, now)
		wantErr(t, err, derrors.Unauthorized, "")
		if got.ID != 0 || u.ID != 0 {
			t.Errorf("an unknown hash returned token %d, user %d", got.ID, u.ID)
		}
	}

	// A disabled member's tokens stop working, and work again when the
	// member is re-enabled.
	dana.Disabled = true
	e.ok(e.st.UpdateUser(e.ctx, &dana), "UpdateUser disable")
	got, u, err := e.st.TokenByHash(e.ctx, team.HashToken(secret), now)
	wantErr(t, err, derrors.Unauthorized, "")
	if got.ID != 0 || u.ID != 0 {
		t.Errorf("a disabled user's token returned token %d, user %d", got.ID, u.ID)
	}
	ts, err := e.st.ListTokens(e.ctx, dana.ID)
	e.ok(err, "ListTokens")
	if len(ts) != 1 || ts[0].LastUsedAt != nil {
		t.Errorf("a refused token was marked used: %+v", ts)
	}
	dana.Disabled = false
	e.ok(e.st.UpdateUser(e.ctx, &dana), "UpdateUser enable")
	if _, _, err := e.st.TokenByHash(e.ctx, team.HashToken(secret), now); err != nil {
		t.Errorf("re-enabled user's token: %v", err)
	}
}

func testDeleteToken(e *env) {
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	tok, secret := e.token(dana.ID, "sync")
	keep, keepSecret := e.token(dana.ID, "keep")
	e.ok(e.st.DeleteToken(e.ctx, tok.ID), "DeleteToken")
	_, _, err := e.st.TokenByHash(e.ctx, team.HashToken(secret), start)
	wantErr(e.t, err, derrors.Unauthorized, "")
	wantErr(e.t, e.st.DeleteToken(e.ctx, tok.ID), derrors.NotFound, "")
	wantErr(e.t, e.st.DeleteToken(e.ctx, 0), derrors.NotFound, "")
	ts, err := e.st.ListTokens(e.ctx, 0)
	e.ok(err, "ListTokens")
	if got := tokenIDs(ts); !slices.Equal(got, []int64{keep.ID}) {
		e.t.Errorf("tokens after delete = %v, want [%d]", got, keep.ID)
	}
	if _, _, err := e.st.TokenByHash(e.ctx, team.HashToken(keepSecret), start); err != nil {
		e.t.Errorf("the other token: %v", err)
	}
}
