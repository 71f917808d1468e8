package api

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
)

// assess steps the fixture's assessor once: every account is assessed and
// its changes recorded.
func (fx *fixture) assess(t testing.TB) {
	t.Helper()
	must(t, fx.assessor.Step(context.Background()))
}

// closeAcme makes Acme a customer since June 2025: health is scored from
// the close.
func (fx *fixture) closeAcme(t testing.TB) {
	t.Helper()
	_, err := fx.st.ModifyAccount(context.Background(), 1, func(a *account.Account) error {
		a.CloseDate = date.MustParse("2025-06-01")
		return nil
	}, account.System("test", ""))
	must(t, err)
}

func TestAccountHealth(t *testing.T) {
	fx := newFixture(t)
	fx.closeAcme(t)
	// Acme: TA pulse Healthy, 4 help tickets (healthy, < 10), usage 0.25
	// (concerning) and MAU/seats 0.45 (poor).
	_, err := fx.st.SetTraits(context.Background(), []account.TraitWrite{{AccountID: 1, Key: "usage_score", Value: 0.25},
		{AccountID: 1, Key: "last_month_mau_over_seats", Value: 0.45}}, account.System("test", account.SourceWarehouse))
	must(t, err)
	r := fx.do(t, "viewer", "GET", "/api/v1/accounts/1/health", "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	h := r.json(t)
	// (TA pulse 10×5 + technical 10×5 + utilization 2.5×75) / 85 = 3.38: yellow.
	if h["model"] != "default" || h["color"] != "yellow" || h["score"] != 3.38 {
		t.Errorf("health = model %v, colour %v, score %v; want default, yellow, 3.38", h["model"], h["color"], h["score"])
	}
	if why, _ := h["model_reason"].(string); !strings.HasPrefix(why, "default: ") {
		t.Errorf("model_reason = %q", why)
	}
	cats := h["categories"].([]any)
	if len(cats) != 4 {
		t.Fatalf("%d categories, want 4", len(cats))
	}
	util := cats[3].(map[string]any)
	if util["name"] != "Utilization" || util["mean"] != 2.5 {
		t.Errorf("utilization = %v", util)
	}
	ex := h["explanation"].(map[string]any)
	var advice []string
	for _, a := range ex["advice"].([]any) {
		advice = append(advice, a.(map[string]any)["text"].(string))
	}
	joined := strings.Join(advice, "\n")
	for _, want := range []string{"usage score 0.25", "MAU over seats 0.45", "monthly active users"} {
		if !strings.Contains(joined, want) {
			t.Errorf("advice lacks %q:\n%s", want, joined)
		}
	}
	if moves := ex["moves"].([]any); len(moves) == 0 {
		t.Error("no move would turn a yellow account green?")
	}
	// Globex has not closed: a prospect is not scored.
	if h := fx.do(t, "viewer", "GET", "/api/v1/accounts/2/health", "").json(t); h["model"] != "" || h["score"] != nil ||
		!strings.Contains(h["model_reason"].(string), "prospect") {
		t.Errorf("Globex health = %v", h)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v1/accounts/99/health", http.StatusNotFound},
		{"/api/v1/accounts/x/health", http.StatusBadRequest},
		{"/api/v1/accounts/1/health?verbose=1", http.StatusBadRequest},
		{"/api/v1/accounts/99/lifecycle", http.StatusNotFound},
	} {
		if r := fx.do(t, "viewer", "GET", tc.path, ""); r.status != tc.status {
			t.Errorf("GET %s = %d, want %d: %s", tc.path, r.status, tc.status, r.body)
		}
	}
	if r := fx.do(t, "", "GET", "/api/v1/accounts/1/health", ""); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
}

func TestAccountLifecycle(t *testing.T) {
	fx := newFixture(t)
	l := fx.do(t, "viewer", "GET", "/api/v1/accounts/1/lifecycle", "").json(t)
	seg := l["segment"].(map[string]any)
	// 001: "Enterprise 1.5k - 10k devs" — Acme has 3,000.
	if seg["value"] != "Enterprise" || !strings.Contains(seg["reason"].(map[string]any)["text"].(string), "3,000 estimated developers") {
		t.Errorf("segment = %v", seg)
	}
	stage := l["stage"].(map[string]any)
	// No close date: a prospect (004: "0. Prospect - a late-stage new
	// business prospect").
	if stage["stage"] != "0. Prospect" || stage["move"] == nil {
		t.Errorf("stage = %v", stage)
	}
}

func TestChangesAndHealthChanges(t *testing.T) {
	fx := newFixture(t)
	fx.closeAcme(t)
	fx.assess(t)
	// Acme was green in the fixture; with only TA pulse Healthy and 4 help
	// tickets it is green 10 — no colour change. Make it poor.
	_, err := fx.st.SetTraits(context.Background(), []account.TraitWrite{{AccountID: 1, Key: "ta_pulse", Value: "Poor"},
		{AccountID: 1, Key: "help_tickets_90d", Value: 20.0}}, account.System("test", account.SourceManual))
	must(t, err)
	fx.assess(t)
	page := fx.do(t, "viewer", "GET", "/api/v1/accounts/1/changes?kind=health", "").json(t)
	data := page["data"].([]any)
	if len(data) == 0 {
		t.Fatalf("no health changes: %v", page)
	}
	last := data[0].(map[string]any)
	if last["old"] != "green" || last["new"] != "red" || last["direction"] != -1.0 ||
		!strings.Contains(last["reason"].(string), "TA pulse Poor healthy → poor") {
		t.Errorf("newest health change = %v", last)
	}
	// The list across accounts, Tara's (owner 2: Acme), worse only.
	hc := fx.do(t, "ta", "GET", "/api/v1/health-changes?owner=me&direction=worse&from=2026-03-01&to=2026-03-02", "").json(t)
	rows := hc["data"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["account_name"] != "Acme Corp" {
		t.Errorf("Tara's worse changes = %v", rows)
	}
	r := fx.do(t, "ta", "GET", "/api/v1/health-changes?format=csv&owner=me", "")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", r.status, r.header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	must(t, err)
	if len(recs) < 2 || recs[0][0] != "account_id" || recs[len(recs)-1][1] != "Acme Corp" || recs[1][8] != "tara@tend.test" {
		t.Errorf("CSV = %v", recs)
	}
	for _, bad := range []string{"direction=sideways", "from=yesterday", "from=2026-03-05&to=2026-03-01", "owner=tara", "format=xml",
		"format=csv&limit=5", "kind=health"} {
		if r := fx.do(t, "viewer", "GET", "/api/v1/health-changes?"+bad, ""); r.status != http.StatusBadRequest {
			t.Errorf("?%s = %d, want 400: %s", bad, r.status, r.body)
		}
	}
	if r := fx.do(t, "viewer", "GET", "/api/v1/accounts/1/changes?kind=mood", ""); r.status != http.StatusBadRequest {
		t.Errorf("kind=mood = %d", r.status)
	}
	hist := fx.do(t, "viewer", "GET", "/api/v1/accounts/1/health/history", "").json(t)
	if snaps := hist["data"].([]any); len(snaps) != 1 || snaps[0].(map[string]any)["color"] != "red" {
		t.Errorf("history = %v", hist)
	}
	dist := fx.do(t, "viewer", "GET", "/api/v1/health/distribution", "").json(t)
	if dist["red"].(float64)+dist["green"].(float64)+dist["yellow"].(float64)+dist["none"].(float64) != 3 {
		t.Errorf("distribution = %v, want the 3 accounts", dist)
	}
}
