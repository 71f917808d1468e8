package ingest

import (
	"strings"
	"testing"
)

func TestWalkersSplitCallsAsSent(t *testing.T) {
	t.Parallel()
	calls := []string{
		`{"type":"track","event":"Quote \" and \\ backslash","properties":{"p":"\\\\"}}`,
		`{"name":"\\"}`,
		`{"a":[1,{"b":"]}"}],"c":"{"}`,
		`"just a string with \\\" inside"`,
		`-12.5e3`,
		`true`,
		`null`,
		`[]`,
		`{}`,
	}
	arr := "[ " + strings.Join(calls, " ,\n\t") + " ]"
	got := elements([]byte(arr), 100)
	if len(got) != len(calls) {
		t.Fatalf("split into %d, want %d: %q", len(got), len(calls), got)
	}
	for i := range calls {
		if string(got[i]) != calls[i] {
			t.Errorf("element %d = %s, want %s", i, got[i], calls[i])
		}
	}
	if n := len(elements([]byte("[1,2,3,4,5]"), 2)); n != 3 {
		t.Errorf("elements stopped after %d; want limit+1 = 3", n)
	}

	var keys, vals []string
	eachMember([]byte(`{ "b\u0061tch" : [1] , "x\"y":{"z":"}"},"n":null}`), func(k, v []byte) {
		keys = append(keys, string(k))
		vals = append(vals, string(v))
	})
	if strings.Join(keys, " ") != `"b\u0061tch" "x\"y" "n"` || strings.Join(vals, " ") != `[1] {"z":"}"} null` {
		t.Errorf("members = %q = %q", keys, vals)
	}
	if !keyIs([]byte(`"b\u0061tch"`), "batch") || keyIs([]byte(`"Batch"`), "batch") {
		t.Error("keyIs does not compare the unquoted key exactly")
	}
	if !sameKey([]byte(`"\u0061"`), []byte(`"a"`)) || sameKey([]byte(`"a"`), []byte(`"b"`)) {
		t.Error("sameKey")
	}
}
