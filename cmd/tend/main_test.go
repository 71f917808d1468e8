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
		done <- run(ctx, []string{"demo", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--accounts", "40"}, pw, &errb)
		pw.Close()
	}()
	var printed strings.Builder
	buf := make([]byte, 4096)
	urlRe := regexp.MustCompile(`running: (http://\S+)`)
	tokRe := regexp.MustCompile(`API token: (tend_\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for !tokRe.MatchString(printed.String()) {
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
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || page.Total != 40 || len(page.Data) != 5 {
		t.Errorf("/api/v1/accounts: %d total=%d len=%d err=%v\n%s", resp.StatusCode, page.Total, len(page.Data), err, body)
	}
	if resp, _ := get("/api/v1/accounts", "tend_wrong"); resp.StatusCode != 401 {
		t.Errorf("bad token: %d, want 401", resp.StatusCode)
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
