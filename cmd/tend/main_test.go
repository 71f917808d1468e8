package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
)

// tend runs the CLI in-process and returns its exit code and output.
func tend(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "traits.yaml"), []byte("traits:\n  - key: ta_pulse\n    type: enumm\n    label: Pulse\n"), 0o644)
	code, _, stderr := tend(t, "check", "--workspace", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`traits\.yaml:3: `).MatchString(stderr) {
		t.Errorf("stderr lacks traits.yaml:3: …\n%s", stderr)
	}
	if code, out, stderr := tend(t, "check"); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("default workspace: exit %d\n%s%s", code, out, stderr)
	}
}

func TestUserAddAndTokenCreate(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TEND_PASSWORD", "correct horse battery")
	if code, out, errs := tend(t, "user", "add", "--data", data, "--email", "Ana@Example.com", "--name", "Ana", "--admin"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := tend(t, "user", "add", "--data", data, "--email", "ana@example.com", "--name", "Ana"); code != 1 || !strings.Contains(errs, "email: is already taken") {
		t.Errorf("duplicate user: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := tend(t, "user", "add", "--data", data, "--email", "bo@example.com", "--name", "Bo", "--role", "boss"); code != 1 || !strings.Contains(errs, "role") {
		t.Errorf("bad role: exit %d, stderr %q", code, errs)
	}
	code, out, errs := tend(t, "token", "create", "--data", data, "--user", "ana@example.com")
	if code != 0 || !regexp.MustCompile(`^tend_[a-z2-7]{32}\n$`).MatchString(out) {
		t.Fatalf("token create: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := tend(t, "token", "create", "--data", data, "--user", "nobody@example.com"); code != 1 || !strings.Contains(errs, "no team member") {
		t.Errorf("unknown user: exit %d, stderr %q", code, errs)
	}
	if code, out, _ := tend(t, "migrate", "--data", data); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate: exit %d %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errs := tend(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestDemo runs the README's first command end to end: generate, serve,
// answer /healthz, the UI's login page and the API with the printed token.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		// A small book of a seed whose first accounts are small: every one
		// of the demo's product events is a write, and the race detector
		// makes SQLite slow.
		done <- run(ctx, []string{"demo", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--accounts", "12", "--seed", "28"}, pw, &errb)
		pw.Close()
	}()
	var printed strings.Builder
	buf := make([]byte, 4096)
	urlRe := regexp.MustCompile(`running: (http://\S+)`)
	tokRe := regexp.MustCompile(`API token: (tend_\S+)`)
	keyRe := regexp.MustCompile(`Write key: (wk_\S+)`)
	// Generation under the race detector took 85 s at a load of 10 (a
	// 60 s deadline failed there).
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(printed.String(), "Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no URL and token printed; stdout:\n%s\nstderr:\n%s", printed.String(), errb.String())
		}
		n, err := pr.Read(buf)
		printed.Write(buf[:n])
		if err != nil {
			t.Fatalf("demo stopped: %v\n%s\n%s", err, printed.String(), errb.String())
		}
	}
	go io.Copy(io.Discard, pr)
	base := urlRe.FindStringSubmatch(printed.String())[1]
	token := tokRe.FindStringSubmatch(printed.String())[1]

	get := func(path, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, _ := get("/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	if resp, body := get("/login", ""); resp.StatusCode != 200 || !bytes.Contains(body, []byte("<form")) {
		t.Errorf("/login: %d", resp.StatusCode)
	}
	resp, body := get("/api/v1/accounts?limit=5", token)
	var page struct {
		Data  []map[string]any `json:"data"`
		Total int              `json:"total"`
	}
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || page.Total != 12 || len(page.Data) != 5 {
		t.Errorf("/api/v1/accounts: %d total=%d len=%d err=%v\n%s", resp.StatusCode, page.Total, len(page.Data), err, body)
	}
	if resp, _ := get("/api/v1/accounts", "tend_wrong"); resp.StatusCode != 401 {
		t.Errorf("bad token: %d, want 401", resp.StatusCode)
	}
	// The server hands the API its usage engine: the demo's events show.
	if resp, body := get("/api/v1/accounts/1/usage?days=7", token); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"series":{"dau":[`)) {
		t.Errorf("/api/v1/accounts/1/usage: %d\n%s", resp.StatusCode, body)
	}
	// The demo replays half a year of the engine: accounts are assessed
	// and their health changes are on record.
	if resp, body := get("/api/v1/accounts/1/lifecycle", token); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"reason"`)) {
		t.Errorf("/api/v1/accounts/1/lifecycle: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := get("/api/v1/health-changes?limit=1", token); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"kind":"health"`)) {
		t.Errorf("/api/v1/health-changes: %d, want a recorded change\n%s", resp.StatusCode, body)
	}
	// The printed write key sends product events, as the printed curl
	// example does.
	m := keyRe.FindStringSubmatch(printed.String())
	if m == nil {
		t.Fatalf("no write key printed:\n%s", printed.String())
	}
	req, _ := http.NewRequest("POST", base+"/v1/track", strings.NewReader(`{"userId": "u_demo_test", "event": "Search Performed"}`))
	req.SetBasicAuth(m[1], "")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("POST /v1/track with the write key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d\n%s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("demo did not shut down")
	}
}

// A stray word must not silently drop the flags after it.
func TestStrayArgumentsAreRefused(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TEND_PASSWORD", "correct horse battery")
	for _, args := range [][]string{
		{"user", "add", "--data", data, "--email", "r@example.com", "--name", "R", "oops", "--role", "viewer"},
		{"token", "create", "--data", data, "--user", "r@example.com", "extra"},
		{"check", "a", "b"},
		{"migrate", "--data", data, "now"},
		{"serve", "--data", data, "please"},
		{"writekey", "create", "--data", data, "--name", "web app", "extra"},
		{"writekey", "list", "--data", data, "all"},
		{"writekey", "revoke", "--data", data, "1", "2"},
		{"writekey", "revoke", "1", "--data", data},
	} {
		code, _, errs := tend(t, args...)
		if code != 2 || !strings.Contains(errs, "unexpected argument") {
			t.Errorf("tend %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
		}
	}
}

// TestWriteKey makes, lists and revokes write keys as an operator would,
// and checks against the store that the printed secret is the key.
func TestWriteKey(t *testing.T) {
	data := t.TempDir()
	code, secret, errs := tend(t, "writekey", "create", "--data", data, "--name", "  web app ")
	if code != 0 || !regexp.MustCompile(`^wk_[a-z2-7]{32}\n$`).MatchString(secret) || !strings.Contains(errs, "shown only once") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, secret, errs)
	}
	secret = strings.TrimSpace(secret)
	if code, _, errs := tend(t, "writekey", "create", "--data", data, "--name", "backend"); code != 0 {
		t.Fatalf("second create: exit %d %s", code, errs)
	}

	code, out, errs := tend(t, "writekey", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("list: exit %d\n%s%s", code, out, errs)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ID NAME PREFIX CREATED LAST USED REVOKED" {
		t.Errorf("header %q", lines[0])
	}
	// Newest first; "web app" keeps its inner space and loses the outer.
	row := regexp.MustCompile(`^1 +web app +` + regexp.QuoteMeta(secret[:10]) + ` +\d{4}-\d\d-\d\d \d\d:\d\d +never +-$`)
	if !strings.HasPrefix(lines[1], "2 ") || !row.MatchString(lines[2]) {
		t.Errorf("rows:\n%s\n%s", lines[1], lines[2])
	}
	if strings.Contains(out, secret) {
		t.Error("list shows a secret")
	}

	works := func() error {
		t.Helper()
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(data, "tend.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.WriteKeyByHash(ctx, team.HashToken(secret), time.Now())
		return err
	}
	if err := works(); err != nil {
		t.Fatalf("the printed secret is not the stored key: %v", err)
	}

	if code, _, errs := tend(t, "writekey", "revoke", "--data", data, "1"); code != 0 || !strings.Contains(errs, `revoked write key 1 ("web app")`) {
		t.Errorf("revoke: exit %d, stderr %q", code, errs)
	}
	if err := works(); !derrors.Is(err, derrors.Unauthorized) {
		t.Errorf("a revoked key: %v, want unauthorized", err)
	}
	_, out, _ = tend(t, "writekey", "list", "--data", data)
	// The store marked the key used when works looked it up.
	stamp := `\d{4}-\d\d-\d\d \d\d:\d\d`
	if !regexp.MustCompile(`(?m)^1 +web app +wk_\w{7} +` + stamp + ` +` + stamp + ` +` + stamp + `$`).MatchString(out) {
		t.Errorf("the revoked key lists as\n%s", out)
	}
	if code, _, errs := tend(t, "writekey", "revoke", "--data", data, "1"); code != 0 {
		t.Errorf("revoking again: exit %d %s", code, errs)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"revoke", "--data", data, "99"}, 1, "write key 99 not found"},
		{[]string{"revoke", "--data", data, "abc"}, 2, `"abc" is not a write key ID`},
		{[]string{"revoke", "--data", data}, 2, "Give its ID"},
		{[]string{"create", "--data", data}, 2, "--name is required"},
		{[]string{"create", "--data", data, "--name", "   "}, 2, "--name is required"},
		{[]string{"create", "--data", data, "--name", strings.Repeat("x", 101)}, 1, "longer than 100 characters"},
		{[]string{"rotate"}, 2, `unknown subcommand "rotate"`},
		{nil, 2, "usage: tend writekey create"},
	} {
		code, out, errs := tend(t, append([]string{"writekey"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("writekey %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, out, errs, c.code, c.want)
		}
	}
	if code, _, errs := tend(t, "writekey", "-h"); code != 0 || !strings.Contains(errs, "writekey revoke ID") {
		t.Errorf("-h: exit %d %q", code, errs)
	}

	empty := t.TempDir()
	if code, out, errs := tend(t, "writekey", "list", "--data", empty); code != 0 || out != "" || !strings.Contains(errs, "no write keys yet") {
		t.Errorf("empty list: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
