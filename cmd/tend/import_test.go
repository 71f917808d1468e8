package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestImportEvents backfills product events from the command line: the
// accounts first, then a file of Segment calls, again (all duplicates),
// then a file with a bad line, which writes nothing and names the line.
func TestImportEvents(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	accounts := write("accounts.csv", "external_id,name,analytics_id,seats\ncrm-acme,Acme,grp_acme,10\n")
	if code, out, errs := tend(t, "import", "accounts", accounts, "--data", data); code != 0 {
		t.Fatalf("import accounts: exit %d\n%s%s", code, out, errs)
	}
	events := write("events.jsonl", strings.Join([]string{
		`{"type": "group", "messageId": "g1", "userId": "u1", "groupId": "grp_acme", "timestamp": "2026-02-03T09:00:00Z"}`,
		`{"type": "track", "messageId": "t1", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-03T10:00:00Z", "receivedAt": "2026-02-03T10:00:01Z"}`,
		`{"type": "track", "messageId": "t2", "userId": "u1", "event": "AI Chat Message", "timestamp": "2026-02-04T10:00:00Z"}`,
	}, "\n")+"\n")
	code, out, errs := tend(t, "import", "events", events, "--data", data)
	if code != 0 || out != "3 events: 3 accepted, 0 duplicates\n" {
		t.Fatalf("import events: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs := tend(t, "import", "events", events, "--data", data); code != 0 || out != "3 events: 0 accepted, 3 duplicates\n" {
		t.Errorf("import again: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	bad := write("bad.jsonl", `{"type": "track", "userId": "u1", "event": "Search Performed", "timestamp": "2026-02-05T10:00:00Z"}`+"\n"+
		`{"type": "track", "event": "Search Performed", "timestamp": "2026-02-05T10:00:00Z"}`+"\n")
	code, out, errs = tend(t, "import", "events", bad, "--data", data)
	if code != 1 || out != "" || !strings.Contains(errs, "bad.jsonl:2: userId: userId or anonymousId is required\n") ||
		!regexp.MustCompile(`1 of 2 lines is bad, so nothing was imported`).MatchString(errs) {
		t.Errorf("bad file: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	code, out, errs = tend(t, "import", "events", bad, "--data", data, "--skip-invalid")
	if code != 1 || out != "2 events: 1 accepted, 0 duplicates; 1 bad line skipped\n" {
		t.Errorf("--skip-invalid: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
}
