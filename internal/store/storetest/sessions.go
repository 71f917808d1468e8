package storetest

import (
	"bytes"
	"time"
)

var sessionTests = []test{
	{"CommitFindDelete", testSessions},
	{"Expiry", testSessionExpiry},
	{"CommitSweepsExpired", testSessionSweep},
}

func (e *env) find(token string) ([]byte, bool) {
	e.t.Helper()
	b, found, err := e.st.Find(token)
	e.ok(err, "Find "+token)
	return b, found
}

func testSessions(e *env) {
	t := e.t
	if b, found := e.find("nope"); found || b != nil {
		t.Errorf("Find(unknown) = %q, %v; want nothing", b, found)
	}
	// scs stores gob-encoded data: any bytes, including NUL and 0xff.
	data := []byte{0x0d, 0xff, 0x81, 0x03, 0x01, 0x00, 0x00, 'u', 's', 'e', 'r', 0x00, 0x7f}
	exp := e.now().Add(12 * time.Hour)
	e.ok(e.st.Commit("tok-a", data, exp), "Commit")
	e.ok(e.st.Commit("tok-b", []byte("other"), exp), "Commit")
	if b, found := e.find("tok-a"); !found || !bytes.Equal(b, data) {
		t.Errorf("Find = %x, %v; want %x", b, found, data)
	}

	// Commit replaces a session's data.
	e.ok(e.st.Commit("tok-a", []byte("renewed"), exp.Add(time.Hour)), "Commit again")
	if b, found := e.find("tok-a"); !found || string(b) != "renewed" {
		t.Errorf("after recommit Find = %q, %v", b, found)
	}

	e.ok(e.st.Delete("tok-a"), "Delete")
	if _, found := e.find("tok-a"); found {
		t.Errorf("deleted session still found")
	}
	if b, found := e.find("tok-b"); !found || string(b) != "other" {
		t.Errorf("other session after delete = %q, %v", b, found)
	}
	// Deleting what is not there is not an error (scs.Store contract).
	e.ok(e.st.Delete("tok-a"), "Delete again")
	e.ok(e.st.Delete("never"), "Delete unknown")

	// An empty payload is still a session.
	e.ok(e.st.Commit("tok-empty", []byte{}, exp), "Commit empty")
	if _, found := e.find("tok-empty"); !found {
		t.Errorf("session with empty data not found")
	}
}

func testSessionExpiry(e *env) {
	t := e.t
	e.ok(e.st.Commit("past", []byte("x"), e.now().Add(-time.Second)), "Commit past")
	if _, found := e.find("past"); found {
		t.Errorf("a session that expired a second ago was found")
	}

	e.needClock()
	// A session lives until its expiry instant, to the millisecond, on
	// either engine (scs hands over nanoseconds).
	exp := e.now().Add(2*time.Millisecond + 600*time.Microsecond)
	e.ok(e.st.Commit("tok", []byte("x"), exp), "Commit")
	if _, found := e.find("tok"); !found {
		t.Fatalf("live session not found")
	}
	e.advance(time.Millisecond)
	if _, found := e.find("tok"); !found {
		t.Errorf("session not found 1ms before it expires")
	}
	e.advance(time.Millisecond)
	if _, found := e.find("tok"); found {
		t.Errorf("session found at its expiry millisecond")
	}

	// Renewing an expired token brings it back.
	e.ok(e.st.Commit("tok", []byte("y"), e.now().Add(time.Hour)), "Commit renew")
	if b, found := e.find("tok"); !found || string(b) != "y" {
		t.Errorf("renewed session = %q, %v", b, found)
	}
}

func testSessionSweep(e *env) {
	e.needClock()
	e.ok(e.st.Commit("short", []byte("x"), e.now().Add(time.Minute)), "Commit short")
	e.ok(e.st.Commit("long", []byte("y"), e.now().Add(24*time.Hour)), "Commit long")
	e.advance(2 * time.Minute)
	// The next commit removes what has expired, so the table does not grow
	// without bound.
	e.ok(e.st.Commit("new", []byte("z"), e.now().Add(time.Hour)), "Commit new")
	// Turn the clock back: a swept session stays gone, a kept one returns.
	e.advance(-2 * time.Minute)
	if _, found := e.find("short"); found {
		e.t.Errorf("expired session was not swept by Commit")
	}
	if _, found := e.find("long"); !found {
		e.t.Errorf("live session was swept")
	}
}
