package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestPlaybooksAPI(t *testing.T) {
	fx := newFixture(t)
	fx.assess(t)
	list := fx.do(t, "viewer", "GET", "/api/v1/playbooks", "").json(t)
	data := list["data"].([]any)
	if len(data) != 13 {
		t.Fatalf("%d playbooks, want the handbook's 13", len(data))
	}
	var renewal map[string]any
	for _, d := range data {
		if p := d.(map[string]any); p["key"] == "renewal" {
			renewal = p
		}
	}
	if renewal == nil || renewal["enabled"] != true || renewal["trigger"].(map[string]any)["kind"] != "date" {
		t.Fatalf("renewal = %v", renewal)
	}
	acts := renewal["actions"].([]any)
	if len(acts) != 2 || acts[0].(map[string]any)["template"] != "health_assessment" {
		t.Errorf("renewal actions = %v", acts)
	}
	// Initech renews in more than 120 days? It has no renewal date: no
	// account is due. Acme renews 2026-09-30: 212 days after the fixture's
	// 2026-03-02.
	why := fx.do(t, "viewer", "GET", "/api/v1/playbooks/renewal/why?account=1", "").json(t)
	if why["holds"] != false || !strings.Contains(why["trigger"].(string), "renewal_date 2026-09-30 − 120 days: fires on 2026-06-02") ||
		!strings.Contains(why["verdict"].(string), "its trigger does not hold") {
		t.Errorf("why = %v", why)
	}
	prev := fx.do(t, "viewer", "GET", "/api/v1/playbooks/ta_assigned/preview", "").json(t)
	// ta_assigned's condition is account.owner_id != nil: Acme and Globex.
	if prev["total"] != 2.0 {
		t.Errorf("preview = %v", prev)
	}
	if r := fx.do(t, "viewer", "POST", "/api/v1/playbooks/renewal/disable", ""); r.status != http.StatusForbidden {
		t.Errorf("a viewer disabling: %d", r.status)
	}
	off := fx.do(t, "admin", "POST", "/api/v1/playbooks/renewal/disable", `{"cancel_open_tasks": false}`).json(t)
	if pb := off["playbook"].(map[string]any); pb["enabled"] != false || pb["changed_by"] != "admin@tend.test" {
		t.Errorf("after disabling: %v", off)
	}
	if why := fx.do(t, "viewer", "GET", "/api/v1/playbooks/renewal/why?account=1", "").json(t); !strings.Contains(why["verdict"].(string), "disabled") {
		t.Errorf("why of a disabled playbook = %v", why["verdict"])
	}
	on := fx.do(t, "admin", "POST", "/api/v1/playbooks/renewal/enable", "").json(t)
	if on["playbook"].(map[string]any)["enabled"] != true {
		t.Errorf("after enabling: %v", on)
	}
	if f := fx.do(t, "viewer", "GET", "/api/v1/playbooks/renewal/firings", "").json(t); len(f["data"].([]any)) != 0 {
		t.Errorf("firings = %v", f)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/v1/playbooks/nope", "", 404},
		{"GET", "/api/v1/playbooks/renewal/why", "", 400},
		{"GET", "/api/v1/playbooks/renewal/why?account=99", "", 404},
		{"GET", "/api/v1/playbooks/renewal/firings?kind=boom", "", 400},
		{"GET", "/api/v1/playbooks/renewal/firings?from=yesterday", "", 400},
		{"POST", "/api/v1/playbooks/renewal/enable", `{"cancel_open_tasks": true}`, 400},
		{"POST", "/api/v1/playbooks/renewal/disable", `{"cancel": true}`, 400},
		{"GET", "/api/v1/accounts/99/firings", "", 404},
	} {
		if r := fx.do(t, "admin", tc.method, tc.path, tc.body); r.status != tc.status {
			t.Errorf("%s %s = %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
		}
	}
}
