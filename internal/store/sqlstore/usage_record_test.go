package sqlstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/store"
)

// The keys column round-trips every string a store accepts, and reads the
// JSON that SQLite's and PostgreSQL's JSON functions write (the migration
// builds rows with them): spaces after commas, escapes of any kind.
func TestKeysRoundTrip(t *testing.T) {
	account := int64(42)
	evs := []store.Event{
		{MessageID: "m-1", Type: "track", UserKey: "u \"q\" \\ \t\n\x01 é 😀", AccountID: &account, Name: "Searched code",
			Timestamp: time.UnixMilli(1773482400123), Body: []byte("{}")},
		{MessageID: "", Type: "page", UserKey: "anon:7f", Timestamp: time.UnixMilli(-5)},
	}
	b := append(appendKey(append([]byte{'['}, ""...), &evs[0], account), ',')
	b = append(appendKey(b, &evs[1], 0), ']')
	if !json.Valid(b) {
		t.Fatalf("keys are not JSON: %s", b)
	}
	var got []eventKey
	if err := parseKeys(b, func(k eventKey) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []eventKey{
		{messageID: "m-1", typ: "track", userKey: evs[0].UserKey, name: "Searched code", accountID: 42, ts: 1773482400123, bodyLen: 2},
		{typ: "page", userKey: "anon:7f", ts: -5},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parsed %+v\nwant %+v", got, want)
	}

	// As PostgreSQL's json_build_array writes it.
	pg := []byte(` [ ["m-1", "track", "a\u00e9\ud83d\ude00\/\"", null, "", 7, 0] ] `)
	got = nil
	if err := parseKeys(pg, func(k eventKey) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].userKey != "aé😀/\"" || got[0].accountID != 0 || got[0].ts != 7 {
		t.Errorf("parsed %+v", got)
	}
	for _, bad := range []string{``, `[`, `[[]]`, `[["m","t","u",null,"n",1]]`, `[["m","t","u",null,"n",1,-1]]`,
		`[["m","t","u",null,"n",1,2]] x`, `[["m","t","u\x01",null,"n",1,2]]`, `[["m","t","u",nul,"n",1,2]]`, `[["\ud800x","t","u",null,"n",1,2]`} {
		if err := parseKeys([]byte(bad), func(eventKey) error { return nil }); err == nil {
			t.Errorf("parseKeys(%q) accepted", bad)
		}
	}
}
