package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
)

// addAccounts gives the fixture accounts A-4 … A-n (ids 4 … n).
func addAccounts(t testing.TB, fx *fixture, n int) {
	t.Helper()
	var as []account.Account
	for i := 4; i <= n; i++ {
		as = append(as, account.Account{Name: fmt.Sprintf("Customer %04d", i), ExternalID: fmt.Sprintf("A-%d", i),
			ARR: int64(i * 1000), Seats: i})
	}
	if len(as) == 0 {
		return
	}
	_, err := fx.st.UpsertAccounts(context.Background(), as, account.System("test", account.SourceCRM))
	must(t, err)
}

// TestBatchFiveThousandRows sends a warehouse sync's worth of rows: 5,000
// values over 1,250 accounts in one call, then the same call again, which
// must change nothing.
func TestBatchFiveThousandRows(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	addAccounts(t, fx, 1250)
	body := batchBody(5000, 1250, 0, false)
	res := fx.do(t, "ta", "POST", Prefix+"/traits:batch", body)
	if res.status != 200 {
		t.Fatalf("status %d: %.500s", res.status, res.body)
	}
	got := res.json(t)
	if got["rows"] != 5000.0 || got["written"] != 5000.0 || got["changed"] != 5000.0 {
		t.Errorf("result %v, want 5000 rows written and changed", got)
	}
	for _, id := range []int64{1, 600, 1250} {
		if n := len(fx.traits(t, id)); n < 4 {
			t.Errorf("account %d has %d traits after the batch, want 4 or more", id, n)
		}
	}
	if v := fx.traits(t, 1250)["instance_version"]; v != "5.4.8" {
		t.Errorf("A-1250 instance_version = %v", v) // row 4999: 5.(4999%9).(4999%31)
	}

	again := fx.do(t, "ta", "POST", Prefix+"/traits:batch", body)
	if again.status != 200 || again.json(t)["changed"] != 0.0 {
		t.Errorf("repeating the batch: %d %.300s, want nothing changed", again.status, again.body)
	}
	hist, err := fx.st.TraitHistory(context.Background(), 600, "", 100)
	must(t, err)
	if len(hist) != 4 {
		t.Errorf("account 600 has %d history entries after two identical batches, want 4", len(hist))
	}
}

// TestBatchTooLarge checks the body limit of traits:batch is its own 32 MiB,
// not the 1 MiB of other calls, and that past it the answer is 413.
func TestBatchTooLarge(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	long := strings.Repeat("x", 3000)
	row := `{"external_id":"A-1","key":"instance_version","value":"` + long + `"}`
	// 1,000 rows of 3 KB: 3 MB, over the normal limit but a fine batch
	// (their repeats of one trait make them 999 invalid rows, not a 413).
	body := `{"rows":[` + strings.Repeat(row+",", 999) + row + `]}`
	if res := fx.do(t, "ta", "POST", Prefix+"/traits:batch", body); res.status != 422 {
		t.Errorf("3 MB batch: %d %.300s, want 422 for the repeated rows", res.status, res.body)
	}
	huge := `{"rows":[` + strings.Repeat(row+",", 12_000) + row + `]}` // 36 MB
	res := fx.do(t, "ta", "POST", Prefix+"/traits:batch", huge)
	if res.status != 413 || !strings.Contains(string(res.body), "larger than 32 MiB") {
		t.Errorf("36 MB batch: %d %.300s", res.status, res.body)
	}
}

// TestPagingWalk follows next cursors through fifty accounts sorted by ARR.
func TestPagingWalk(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	addAccounts(t, fx, 50)
	seen := map[float64]bool{}
	lastARR := -1.0
	next, pages := "", 0
	for {
		path := Prefix + "/accounts?sort=-arr&limit=10"
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		res := fx.do(t, "viewer", "GET", path, "")
		if res.status != 200 {
			t.Fatalf("page %d: %d %s", pages, res.status, res.body)
		}
		page := res.json(t)
		pages++
		if page["total"] != 50.0 {
			t.Errorf("page %d: total %v", pages, page["total"])
		}
		for _, a := range page["data"].([]any) {
			acc := a.(map[string]any)
			id, arr := acc["id"].(float64), acc["arr"].(float64)
			if seen[id] {
				t.Errorf("account %v on two pages", id)
			}
			seen[id] = true
			if lastARR >= 0 && arr > lastARR {
				t.Errorf("ARR %v after %v in a descending sort", arr, lastARR)
			}
			lastARR = arr
		}
		if next = page["next"].(string); next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 50 || pages != 5 {
		t.Errorf("walked %d accounts in %d pages, want 50 in 5", len(seen), pages)
	}
}

// TestRoleMatrix checks the access level of every route: without a token
// every route but the description is 401; viewers get 403 on every write;
// non-admins get 403 on every admin route.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, rt := range (&API{}).routes() {
		path := strings.ReplaceAll(rt.path, "{id}", "1")
		body := ""
		if rt.method == "POST" || rt.method == "PATCH" {
			body = `{}`
		}
		status := func(as string) int { return fx.do(t, as, rt.method, path, body).status }
		if rt.access == public {
			if s := status(""); s != 200 {
				t.Errorf("%s %s without a token: %d", rt.method, rt.path, s)
			}
			continue
		}
		if s := status(""); s != 401 {
			t.Errorf("%s %s without a token: %d, want 401", rt.method, rt.path, s)
		}
		if s := status("viewer"); (rt.access >= writer) != (s == 403) {
			t.Errorf("%s %s as viewer: %d (access %d)", rt.method, rt.path, s, rt.access)
		}
		if s := status("ta"); (rt.access >= lead) != (s == 403) {
			t.Errorf("%s %s as TA: %d (access %d)", rt.method, rt.path, s, rt.access)
		}
	}
}

// TestInternalErrorIsLoggedNotShown breaks the database under the API: the
// client gets a plain 500, the log gets the cause and the request.
func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	secret := fx.secret["ta"]
	// With the database closed, the token lookup itself fails: an error
	// with no code, which is what the adapter must hide.
	fx.st.Close()
	req := httptest.NewRequest("GET", Prefix+"/accounts/1", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if body := rec.Body.String(); !strings.Contains(body, `{"error":{"code":"internal","message":"internal error"}}`) ||
		strings.Contains(body, "closed") {
		t.Errorf("body %s", body)
	}
	logs := fx.logs.String()
	for _, want := range []string{"api: internal error", "path=/api/v1/accounts/1", "closed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestPanicIsA500 checks a handler's panic becomes a logged 500 in the API's
// error format rather than a dropped connection. A missing workspace makes
// the trait definitions handler dereference nil.
func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	logs := &syncBuffer{}
	h := New(Config{Store: fx.st, Logger: slogTo(logs)}).Handler()
	req := httptest.NewRequest("GET", Prefix+"/traits", nil)
	req.Header.Set("Authorization", "Bearer "+fx.secret["viewer"])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"internal error"`) {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), "route=\"GET /api/v1/traits\"") {
		t.Errorf("log: %s", logs)
	}
}

// BenchmarkBatch10000 posts 10,000 trait rows (2,500 accounts × 4 traits)
// per call through the whole handler onto in-memory SQLite, every call
// changing every value.
func BenchmarkBatch10000(b *testing.B) {
	for _, byID := range []bool{false, true} {
		name := "external_id"
		if byID {
			name = "account_id"
		}
		b.Run(name, func(b *testing.B) {
			fx := newFixture(b)
			addAccounts(b, fx, 2500)
			bodies := []string{batchBody(10_000, 2500, 1, byID), batchBody(10_000, 2500, 2, byID)}
			calls := 0
			for b.Loop() {
				res := fx.do(b, "ta", "POST", Prefix+"/traits:batch", bodies[calls%2])
				if res.status != 200 || !strings.Contains(string(res.body), `"changed":10000`) {
					b.Fatalf("status %d: %.300s", res.status, res.body)
				}
				calls++
			}
			b.ReportMetric(float64(calls*10_000)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func slogTo(w *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
