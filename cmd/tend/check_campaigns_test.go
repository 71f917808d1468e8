package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 6: "a template with an unknown field fails `tend check`" — at its
// file, line and column.
func TestCheckCampaignTemplate(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"campaigns/hello.yaml":         "name: Hello\nentry: broadcast\nsteps:\n  - id: hi\n    email: {template: hello, to: [program_contact]}\n",
		"campaigns/templates/hello.md": "---\nsubject: Hello {{.account.name}}\n---\nHi {{.contact.first_name}},\n\nYour MAU: {{.usage.maus}}\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := tend(t, "check", "--workspace", dir)
	want := filepath.Join(dir, "campaigns/templates/hello.md") + `:6:11: {{.usage.maus}}: usage has no field "maus"`
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant it to contain %s", code, stderr, want)
	}
	os.WriteFile(filepath.Join(dir, "campaigns/templates/hello.md"), []byte("---\nsubject: Hello {{.account.name}}\n---\nYour MAU: {{.usage.mau}}\n"), 0o644)
	code, out, stderr := tend(t, "check", "--workspace", dir)
	if code != 0 || !strings.Contains(out, "1 campaigns (1 enabled) with 1 emails") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := tend(t, "check"); code != 0 || !strings.Contains(out, "11 campaigns (11 enabled) with 19 emails") {
		t.Errorf("default: exit %d\n%s", code, out)
	}
}
