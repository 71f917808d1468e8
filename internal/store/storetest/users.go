package storetest

import (
	"slices"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/team"
)

var userTests = []test{
	{"CreateAndGet", testCreateAndGetUser},
	{"CreateErrors", testCreateUserErrors},
	{"List", testListUsers},
	{"Update", testUpdateUser},
}

func testCreateAndGetUser(e *env) {
	t := e.t
	now := e.now()
	u := team.User{Email: "  Dana.Advisor@Tend.TEST ", Name: " Dana Advisor ", Role: team.TA,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5"}
	e.ok(e.st.CreateUser(e.ctx, &u), "CreateUser")
	if u.ID <= 0 || u.Email != "dana.advisor@tend.test" || u.Name != "Dana Advisor" {
		t.Fatalf("created user %+v, want an id and normalised email and name", u)
	}
	e.sameInstant("CreatedAt", u.CreatedAt, now)

	got, err := e.st.GetUser(e.ctx, u.ID)
	e.ok(err, "GetUser")
	sameJSON(t, "GetUser", got, u)
	if got.PasswordHash != u.PasswordHash {
		t.Errorf("password hash = %q, want %q", got.PasswordHash, u.PasswordHash)
	}

	// Email addresses are matched as people type them: any case, stray
	// spaces.
	for _, email := range []string{"dana.advisor@tend.test", "DANA.ADVISOR@TEND.TEST", " Dana.Advisor@tend.test\t"} {
		got, err := e.st.GetUserByEmail(e.ctx, email)
		if err != nil {
			t.Errorf("GetUserByEmail(%q): %v", email, err)
			continue
		}
		if got.ID != u.ID {
			t.Errorf("GetUserByEmail(%q) = user %d, want %d", email, got.ID, u.ID)
		}
	}

	for _, id := range []int64{0, u.ID + 100} {
		got, err := e.st.GetUser(e.ctx, id)
		wantErr(t, err, derrors.NotFound, "")
		if got.ID != 0 {
			t.Errorf("GetUser(%d) returned user %d with its error", id, got.ID)
		}
	}
	for _, email := range []string{"nobody@tend.test", "", "dana.advisor@tend"} {
		_, err := e.st.GetUserByEmail(e.ctx, email)
		wantErr(t, err, derrors.NotFound, "")
	}

	// Case-insensitive beyond ASCII, as Validate lower-cases what it stores.
	zoe := e.user("Zoë Ölund", "ZOË.Ölund@tend.test", team.Viewer)
	if got, err := e.st.GetUserByEmail(e.ctx, "ZOË.ÖLUND@tend.test"); err != nil || got.ID != zoe.ID {
		t.Errorf("GetUserByEmail with non-ASCII capitals = %d, %v; want %d", got.ID, err, zoe.ID)
	}
}

func testCreateUserErrors(e *env) {
	e.user("Dana Advisor", "dana@tend.test", team.TA)
	for _, tc := range []struct {
		code  derrors.Code
		field string
		u     team.User
	}{
		{derrors.Conflict, "email", team.User{Email: "DANA@tend.test", Name: "Other Dana", Role: team.Viewer}},
		{derrors.Unprocessable, "email", team.User{Email: "dana", Name: "Dana", Role: team.TA}},
		{derrors.Unprocessable, "name", team.User{Email: "x@tend.test", Name: " ", Role: team.TA}},
		{derrors.Unprocessable, "role", team.User{Email: "x@tend.test", Name: "X", Role: "owner"}},
	} {
		u := tc.u
		wantErr(e.t, e.st.CreateUser(e.ctx, &u), tc.code, tc.field)
		if u.ID != 0 {
			e.t.Errorf("failed create of %q set ID %d", tc.u.Email, u.ID)
		}
	}
	us, err := e.st.ListUsers(e.ctx)
	e.ok(err, "ListUsers")
	if len(us) != 1 {
		e.t.Errorf("%d users after failed creates, want 1", len(us))
	}
}

func testListUsers(e *env) {
	us, err := e.st.ListUsers(e.ctx)
	e.ok(err, "ListUsers")
	if us == nil || len(us) != 0 {
		e.t.Errorf("ListUsers on an empty store = %#v, want an empty list", us)
	}
	omar := e.user("Omar Advisor", "omar@tend.test", team.TA)
	ari := e.user("ari Exec", "ari@tend.test", team.AE)
	dana := e.user("Dana Advisor", "dana@tend.test", team.Manager)
	dana2 := e.user("Dana Advisor", "dana2@tend.test", team.Viewer)
	us, err = e.st.ListUsers(e.ctx)
	e.ok(err, "ListUsers")
	var got []int64
	for _, u := range us {
		got = append(got, u.ID)
	}
	if want := []int64{ari.ID, dana.ID, dana2.ID, omar.ID}; !slices.Equal(got, want) {
		e.t.Errorf("ListUsers order = %v, want %v (by name, any case, then id)", got, want)
	}
	sameJSON(e.t, "listed user", us[1], dana)
}

func testUpdateUser(e *env) {
	t := e.t
	dana := e.user("Dana Advisor", "dana@tend.test", team.TA)
	omar := e.user("Omar Advisor", "omar@tend.test", team.TA)
	created := dana.CreatedAt
	e.advance(time.Hour)

	dana.Name, dana.Role, dana.Email, dana.Disabled = "Dana Manager", team.Manager, "Dana.M@tend.test", true
	dana.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3"
	e.ok(e.st.UpdateUser(e.ctx, &dana), "UpdateUser")
	got, err := e.st.GetUser(e.ctx, dana.ID)
	e.ok(err, "GetUser")
	if got.Name != "Dana Manager" || got.Role != team.Manager || got.Email != "dana.m@tend.test" || !got.Disabled ||
		got.PasswordHash != dana.PasswordHash {
		t.Errorf("after update: %+v", got)
	}
	e.sameInstant("CreatedAt after update", got.CreatedAt, created)
	if _, err := e.st.GetUserByEmail(e.ctx, "dana@tend.test"); !derrors.Is(err, derrors.NotFound) {
		t.Errorf("old email still finds the user: %v", err)
	}
	if u, err := e.st.GetUserByEmail(e.ctx, "DANA.M@tend.test"); err != nil || u.ID != dana.ID {
		t.Errorf("new email: %v, %v", u.ID, err)
	}

	// Re-enabling works too.
	dana.Disabled = false
	e.ok(e.st.UpdateUser(e.ctx, &dana), "UpdateUser enable")
	if got, _ := e.st.GetUser(e.ctx, dana.ID); got.Disabled {
		t.Errorf("user still disabled")
	}

	taken := omar
	taken.Email = "DANA.M@tend.test"
	wantErr(t, e.st.UpdateUser(e.ctx, &taken), derrors.Conflict, "email")
	bad := omar
	bad.Role = "root"
	wantErr(t, e.st.UpdateUser(e.ctx, &bad), derrors.Unprocessable, "role")
	missing := team.User{ID: omar.ID + 100, Email: "ghost@tend.test", Name: "Ghost", Role: team.Viewer}
	wantErr(t, e.st.UpdateUser(e.ctx, &missing), derrors.NotFound, "")
	got, err = e.st.GetUser(e.ctx, omar.ID)
	e.ok(err, "GetUser")
	sameJSON(t, "user after failed updates", got, omar)
}
