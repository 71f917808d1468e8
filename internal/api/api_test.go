package api

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/team"
)

// scenario is one request against a fresh fixture and what must come back.
type scenario struct {
	name   string
	as     string // see fixture.do
	method string
	path   string
	body   string
	status int
	// field is the error's field, checked when set.
	field string
	// want are substrings of the body.
	want []string
	// check looks further: at the JSON or at the store afterwards.
	check func(t *testing.T, fx *fixture, res response)
	// setup prepares the fixture before the request (a manager, events).
	setup func(t *testing.T, fx *fixture)
}

// errorCodes is the code each error status must carry.
var errorCodes = map[int]string{400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
	405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "unprocessable", 500: "internal"}

func TestScenarios(t *testing.T) {
	t.Parallel()
	const p = Prefix
	scenarios := []scenario{
		// Authentication.
		{name: "no token", method: "GET", path: p + "/accounts", status: 401, want: []string{"Authorization: Bearer"},
			check: header("WWW-Authenticate", `Bearer realm="tend"`)},
		{name: "unknown token", as: "header:Bearer tend_notatoken", method: "GET", path: p + "/accounts", status: 401,
			want: []string{"not valid"}, check: header("WWW-Authenticate", `Bearer realm="tend", error="invalid_token"`)},
		{name: "basic auth is not a token", as: "header:Basic YWRtaW46cGFzcw==", method: "GET", path: p + "/accounts", status: 401,
			want: []string{"must be Bearer"}},
		{name: "a disabled member's token stops working", as: "disabled", method: "GET", path: p + "/accounts", status: 401},
		{name: "empty bearer", as: "header:Bearer ", method: "GET", path: p + "/me", status: 401, want: []string{"must be Bearer <token>"}},
		{name: "the scheme is case-insensitive", as: "lower:ta", method: "GET", path: p + "/me", status: 200, want: []string{"tara@tend.test"}},
		{name: "openapi needs no token", method: "GET", path: p + "/openapi.json", status: 200, want: []string{`"openapi": "3.1.0"`}},
		{name: "me", as: "viewer", method: "GET", path: p + "/me", status: 200,
			want:  []string{`"email":"vic@tend.test"`, `"role":"viewer"`, `"name":"viewer token"`},
			check: lacks("password", "hash")},

		// Roles: viewers read, only admins manage the team and tokens.
		{name: "viewer reads accounts", as: "viewer", method: "GET", path: p + "/accounts", status: 200},
		{name: "viewer cannot create an account", as: "viewer", method: "POST", path: p + "/accounts", body: `{"name":"X"}`,
			status: 403, want: []string{"Viewer role can read but not change data"}, check: total(3)},
		{name: "viewer cannot patch", as: "viewer", method: "PATCH", path: p + "/accounts/1", body: `{"seats":1}`, status: 403,
			check: func(t *testing.T, fx *fixture, _ response) {
				if s := fx.account(t, 1).Seats; s != 500 {
					t.Errorf("seats = %d after a refused patch", s)
				}
			}},
		{name: "viewer cannot delete", as: "viewer", method: "DELETE", path: p + "/accounts/1", status: 403, check: total(3)},
		{name: "viewer is refused before the account is looked up", as: "viewer", method: "DELETE", path: p + "/accounts/999", status: 403},
		{name: "viewer cannot batch traits", as: "viewer", method: "POST", path: p + "/traits:batch",
			body: `{"rows":[{"account_id":1,"key":"ta_pulse","value":"Poor"}]}`, status: 403, check: traitIs(1, "ta_pulse", "Healthy")},
		{name: "viewer cannot add a note", as: "viewer", method: "POST", path: p + "/accounts/1/notes", body: `{"body":"hi"}`, status: 403},
		{name: "viewer cannot add a contact", as: "viewer", method: "POST", path: p + "/accounts/1/contacts", body: `{"email":"a@b.co"}`, status: 403},
		{name: "TA reads the team roster", as: "ta", method: "GET", path: p + "/users", status: 200,
			want: []string{"admin@tend.test", "vic@tend.test"}, check: lacks("password", "argon2")},
		{name: "TA cannot add a user", as: "ta", method: "POST", path: p + "/users",
			body: `{"email":"new@tend.test","name":"New","role":"admin"}`, status: 403, want: []string{"only admins"}},
		{name: "TA cannot promote themselves", as: "ta", method: "PATCH", path: p + "/users/2", body: `{"role":"admin"}`, status: 403},
		{name: "TA cannot list tokens", as: "ta", method: "GET", path: p + "/tokens", status: 403},
		{name: "TA cannot make a token", as: "ta", method: "POST", path: p + "/tokens", body: `{"name":"mine"}`, status: 403},
		{name: "TA cannot revoke a token", as: "ta", method: "DELETE", path: p + "/tokens/1", status: 403},
		{name: "viewer cannot list tokens", as: "viewer", method: "GET", path: p + "/tokens", status: 403},

		// Team members and tokens, as admin.
		{name: "admin adds a user with a password", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"New@Tend.test","name":"Nia New","role":"manager","password":"correct horse battery"}`, status: 201,
			want: []string{`"email":"new@tend.test"`, `"role":"manager"`}, check: func(t *testing.T, fx *fixture, res response) {
				lacks("password", "argon2")(t, fx, res)
				header("Location", "/api/v1/users/5")(t, fx, res)
				u, err := fx.st.GetUser(context.Background(), 5)
				must(t, err)
				if !team.CheckPassword(u.PasswordHash, "correct horse battery") {
					t.Error("the stored hash does not match the password")
				}
			}},
		{name: "admin adds a sync user without a password", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"sync@tend.test","name":"Warehouse sync","role":"ta"}`, status: 201,
			check: func(t *testing.T, fx *fixture, _ response) {
				u, err := fx.st.GetUser(context.Background(), 5)
				must(t, err)
				if u.PasswordHash != "" {
					t.Error("a user made without a password has a password hash")
				}
			}},
		{name: "duplicate user email", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"tara@tend.test","name":"Tara Two","role":"ta"}`, status: 409, field: "email"},
		{name: "short password", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"x@tend.test","name":"X","role":"ta","password":"short"}`, status: 422, field: "password"},
		{name: "bad role", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"x@tend.test","name":"X","role":"owner"}`, status: 422, field: "role"},
		{name: "password hash is not a field", as: "admin", method: "POST", path: p + "/users",
			body: `{"email":"x@tend.test","name":"X","role":"ta","password_hash":"x"}`, status: 400, field: "password_hash"},
		{name: "the last admin cannot demote themselves", as: "admin", method: "PATCH", path: p + "/users/1",
			body: `{"role":"viewer"}`, status: 409, field: "role", want: []string{"last enabled admin"}},
		{name: "the last admin cannot be disabled", as: "admin", method: "PATCH", path: p + "/users/1",
			body: `{"disabled":true}`, status: 409, field: "disabled"},
		{name: "admin promotes a viewer", as: "admin", method: "PATCH", path: p + "/users/3", body: `{"role":"ta"}`, status: 200,
			want: []string{`"role":"ta"`, `"email":"vic@tend.test"`}},
		{name: "unknown user", as: "admin", method: "GET", path: p + "/users/99", status: 404},
		{name: "admin lists tokens", as: "admin", method: "GET", path: p + "/tokens", status: 200,
			want: []string{`"name":"viewer token"`, `"prefix":"tend_`}, check: lacks("hash", "secret")},
		{name: "admin lists one member's tokens", as: "admin", method: "GET", path: p + "/tokens?user_id=3", status: 200,
			check: func(t *testing.T, fx *fixture, res response) {
				if n := len(res.json(t)["data"].([]any)); n != 1 {
					t.Errorf("%d tokens, want 1", n)
				}
			}},
		{name: "admin makes a token for a viewer; it works once", as: "admin", method: "POST", path: p + "/tokens",
			body: `{"name":"dashboard","user_id":3}`, status: 201, want: []string{`"secret":"tend_`},
			check: func(t *testing.T, fx *fixture, res response) {
				secret := res.json(t)["secret"].(string)
				me := fx.do(t, "header:Bearer "+secret, "GET", Prefix+"/me", "")
				if me.status != 200 || !strings.Contains(string(me.body), `"email":"vic@tend.test"`) {
					t.Errorf("the new token: %d %s", me.status, me.body)
				}
				if w := fx.do(t, "header:Bearer "+secret, "POST", Prefix+"/accounts", `{"name":"X"}`); w.status != 403 {
					t.Errorf("a viewer's new token wrote: %d", w.status)
				}
			}},
		{name: "token for an unknown user", as: "admin", method: "POST", path: p + "/tokens", body: `{"name":"x","user_id":99}`,
			status: 422, field: "user_id"},
		{name: "token for a disabled user", as: "admin", method: "POST", path: p + "/tokens", body: `{"name":"x","user_id":4}`,
			status: 422, field: "user_id"},
		{name: "token without a name", as: "admin", method: "POST", path: p + "/tokens", body: `{}`, status: 422, field: "name"},
		{name: "revoked token is refused", as: "admin", method: "DELETE", path: p + "/tokens/2", status: 204,
			check: func(t *testing.T, fx *fixture, _ response) {
				if r := fx.do(t, "ta", "GET", Prefix+"/me", ""); r.status != 401 {
					t.Errorf("revoked TA token: %d", r.status)
				}
			}},
		{name: "revoke an unknown token", as: "admin", method: "DELETE", path: p + "/tokens/99", status: 404},

		// Malformed requests: 400 naming the field or the offset.
		{name: "truncated JSON", as: "ta", method: "POST", path: p + "/accounts", body: `{"name": `, status: 400,
			want: []string{"malformed JSON"}},
		{name: "JSON syntax error", as: "ta", method: "POST", path: p + "/accounts", body: `{"name" "X"}`, status: 400,
			want: []string{"malformed JSON at byte 9"}},
		{name: "unknown field", as: "ta", method: "POST", path: p + "/accounts", body: `{"name":"X","colour":"red"}`,
			status: 400, field: "colour", check: total(3)},
		{name: "wrong type", as: "ta", method: "POST", path: p + "/accounts", body: `{"name":"X","seats":"many"}`,
			status: 400, field: "seats", want: []string{"must be a whole number, not a JSON string"}},
		{name: "bad date", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"renewal_date":"next year"}`,
			status: 400, field: "renewal_date", want: []string{"YYYY-MM-DD"}},
		{name: "body is not an object", as: "ta", method: "POST", path: p + "/accounts", body: `[1]`, status: 400,
			want: []string{"must be an object"}},
		{name: "empty body", as: "ta", method: "POST", path: p + "/accounts", status: 400, want: []string{"empty"}},
		{name: "data after the JSON", as: "ta", method: "POST", path: p + "/accounts", body: `{"name":"X"} {}`, status: 400,
			want: []string{"after the value"}, check: total(3)},
		{name: "typed body with an unknown field", as: "ta", method: "POST", path: p + "/accounts/1/notes",
			body: `{"body":"x","pinned":true}`, status: 400, field: "pinned"},
		{name: "body over 1 MiB", as: "ta", method: "POST", path: p + "/accounts/1/notes",
			body: `{"body":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413},
		{name: "limit=abc", as: "ta", method: "GET", path: p + "/accounts?limit=abc", status: 400, field: "limit"},
		{name: "limit=0", as: "ta", method: "GET", path: p + "/accounts?limit=0", status: 400, field: "limit"},
		{name: "limit over 500", as: "ta", method: "GET", path: p + "/accounts?limit=501", status: 400, field: "limit"},
		{name: "sort=bogus", as: "ta", method: "GET", path: p + "/accounts?sort=bogus", status: 400, field: "sort",
			want: []string{"name, arr, seats"}},
		{name: "owner=x", as: "ta", method: "GET", path: p + "/accounts?owner=x", status: 400, field: "owner"},
		{name: "health=purple", as: "ta", method: "GET", path: p + "/accounts?health=purple", status: 400, field: "health"},
		{name: "include=contacts", as: "ta", method: "GET", path: p + "/accounts?include=contacts", status: 400, field: "include"},
		{name: "misspelt filter", as: "ta", method: "GET", path: p + "/accounts?segmnet=Enterprise", status: 400, field: "segmnet"},
		{name: "repeated parameter", as: "ta", method: "GET", path: p + "/accounts?sort=arr&sort=name", status: 400, field: "sort"},
		{name: "forged cursor", as: "ta", method: "GET", path: p + "/accounts?cursor=bm9wZQ", status: 400, field: "cursor"},
		{name: "id is not a number", as: "ta", method: "GET", path: p + "/accounts/abc", status: 400, field: "id"},
		{name: "unknown endpoint", as: "ta", method: "GET", path: p + "/nope", status: 404, want: []string{"no endpoint GET /api/v1/nope"}},
		{name: "wrong method", as: "ta", method: "PUT", path: p + "/accounts/1", body: `{}`, status: 405,
			check: header("Allow", "DELETE, GET, HEAD, PATCH")},

		// Not found.
		{name: "unknown account", as: "ta", method: "GET", path: p + "/accounts/999", status: 404, want: []string{"account 999 not found"}},
		// 004: segments, programs and stages are assigned by playbooks
		// ("Customer Segmentation Assignment", "Assign Scaled Success
		// Accounts", "Customer Lifecycle Stages"): Tend's rules assign them.
		{name: "segment is the rules'", as: "ta", method: "POST", path: p + "/accounts", body: `{"name":"X","segment":"Commercial"}`,
			status: 422, field: "segment", want: []string{`is assigned by the segment rules (lifecycle.yaml)`}},
		{name: "program is the rules'", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"program":"Managed"}`,
			status: 422, field: "program", want: []string{`is assigned by the program rule`}},
		{name: "stage is the rules'", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"stage":"9. Nope"}`,
			status: 422, field: "stage", want: []string{`is assigned by the lifecycle rules`}},
		{name: "patch unknown account", as: "ta", method: "PATCH", path: p + "/accounts/999", body: `{"seats":1}`, status: 404},
		{name: "delete unknown account", as: "admin", method: "DELETE", path: p + "/accounts/999", status: 404},
		{name: "contacts of unknown account", as: "ta", method: "GET", path: p + "/accounts/999/contacts", status: 404},
		{name: "unknown contact", as: "ta", method: "GET", path: p + "/contacts/999", status: 404},
		{name: "history of unknown account", as: "ta", method: "GET", path: p + "/accounts/999/traits/history", status: 404},
		{name: "notes of unknown account", as: "ta", method: "POST", path: p + "/accounts/999/notes", body: `{"body":"x"}`, status: 404},

		// Conflicts.
		{name: "duplicate external id on create", as: "ta", method: "POST", path: p + "/accounts",
			body: `{"name":"Acme again","external_id":"A-1"}`, status: 409, field: "external_id", check: total(3)},
		{name: "duplicate external id on patch writes neither fields nor traits", as: "ta", method: "PATCH", path: p + "/accounts/2",
			body: `{"external_id":"A-1","seats":77,"traits":{"ta_pulse":"Poor"}}`, status: 409, field: "external_id",
			check: func(t *testing.T, fx *fixture, _ response) {
				if a := fx.account(t, 2); a.ExternalID != "A-2" || a.Seats != 50 {
					t.Errorf("account 2 changed: %+v", a)
				}
				if _, ok := fx.traits(t, 2)["ta_pulse"]; ok {
					t.Error("the trait was written although the patch was refused")
				}
			}},
		{name: "duplicate contact email on one account", as: "ta", method: "POST", path: p + "/accounts/1/contacts",
			body: `{"email":"jane@acme.com"}`, status: 409, field: "email"},

		// Validation: 422 naming the field.
		{name: "negative seats", as: "ta", method: "POST", path: p + "/accounts", body: `{"name":"X","seats":-1}`,
			status: 422, field: "seats", want: []string{"must not be negative"}},
		{name: "name required", as: "ta", method: "POST", path: p + "/accounts", body: `{"domain":"x.com"}`, status: 422, field: "name"},
		{name: "unknown trait on create writes nothing", as: "ta", method: "POST", path: p + "/accounts",
			body: `{"name":"X","traits":{"nope":1}}`, status: 422, field: "traits.nope", check: total(3)},
		{name: "bad enum trait value", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"traits":{"ta_pulse":"Great"}}`,
			status: 422, field: "traits.ta_pulse", want: []string{"Healthy, Concerning, Poor"}, check: traitIs(1, "ta_pulse", "Healthy")},
		{name: "bad field enum", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"deployment":"moon"}`,
			status: 422, field: "deployment", want: []string{"cloud, self_hosted"}},
		{name: "bad entitlement", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"entitlements":["teleport"]}`,
			status: 422, field: "entitlements"},
		{name: "a bad field stops the trait write too", as: "ta", method: "PATCH", path: p + "/accounts/1",
			body: `{"seats":-1,"traits":{"ta_pulse":"Poor"}}`, status: 422, field: "seats", check: traitIs(1, "ta_pulse", "Healthy")},
		{name: "a bad trait stops the field write too", as: "ta", method: "PATCH", path: p + "/accounts/1",
			body: `{"seats":9,"traits":{"active_champion":"maybe"}}`, status: 422, field: "traits.active_champion",
			check: func(t *testing.T, fx *fixture, _ response) {
				if s := fx.account(t, 1).Seats; s != 500 {
					t.Errorf("seats = %d", s)
				}
			}},
		{name: "unknown owner", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"owner_id":99}`, status: 422, field: "owner_id"},
		{name: "health is computed", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"health_color":"green"}`,
			status: 422, field: "health_color"},
		{name: "id is read-only", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"id":2}`, status: 422, field: "id"},
		{name: "computed trait", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"traits":{"usage_score":0.5}}`,
			status: 422, field: "traits.usage_score"},
		{name: "traits must be an object", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{"traits":["ta_pulse"]}`,
			status: 400, field: "traits"},
		{name: "renewal before close", as: "ta", method: "PATCH", path: p + "/accounts/1",
			body: `{"close_date":"2026-10-01"}`, status: 422, field: "renewal_date"},
		{name: "contact with a bad email", as: "ta", method: "POST", path: p + "/accounts/1/contacts", body: `{"email":"not-an-email"}`,
			status: 422, field: "email"},
		{name: "contact with a bad role", as: "ta", method: "POST", path: p + "/accounts/1/contacts",
			body: `{"email":"bo@acme.com","roles":["ceo"]}`, status: 422, field: "roles"},
		{name: "contact account comes from the URL", as: "ta", method: "POST", path: p + "/accounts/1/contacts",
			body: `{"email":"bo@acme.com","account_id":2}`, status: 422, field: "account_id"},
		{name: "move a contact to an unknown account", as: "ta", method: "PATCH", path: p + "/contacts/1", body: `{"account_id":999}`,
			status: 422, field: "account_id"},
		{name: "empty note", as: "ta", method: "POST", path: p + "/accounts/1/notes", body: `{"body":"  "}`, status: 422, field: "body"},

		// Accounts: the happy paths.
		{name: "get an account with its traits", as: "viewer", method: "GET", path: p + "/accounts/1", status: 200,
			want: []string{`"name":"Acme Corp"`, `"traits":{"help_tickets_90d":4,"ta_pulse":"Healthy"}`, `"renewal_date":"2026-09-30"`}},
		{name: "an account without traits shows an empty object", as: "viewer", method: "GET", path: p + "/accounts/2", status: 200,
			want: []string{`"traits":{}`}},
		{name: "create an account with traits", as: "ta", method: "POST", path: p + "/accounts",
			body: `{"name":" Hooli ","domain":"Hooli.com","external_id":"A-4","owner_id":2,"arr":250000,"seats":800,` +
				`"entitlements":["code_search"],"renewal_date":"2027-01-31","traits":{"ta_pulse":"concerning","active_champion":true}}`,
			status: 201, want: []string{`"id":4`, `"name":"Hooli"`, `"domain":"hooli.com"`, `"ta_pulse":"Concerning"`, `"active_champion":true`},
			check: func(t *testing.T, fx *fixture, res response) {
				header("Location", "/api/v1/accounts/4")(t, fx, res)
				hist, err := fx.st.TraitHistory(context.Background(), 4, "ta_pulse", 10)
				must(t, err)
				if len(hist) != 1 || hist[0].Actor != "tara@tend.test" || hist[0].Source != account.SourceManual ||
					hist[0].ActorID == nil || *hist[0].ActorID != 2 {
					t.Errorf("history = %+v, want one manual change by tara", hist)
				}
				acts, err := fx.st.ListActivities(context.Background(), 4, 10)
				must(t, err)
				if len(acts) != 1 || acts[0].Kind != account.ActivityCreated || acts[0].Actor != "tara@tend.test" {
					t.Errorf("timeline = %+v", acts)
				}
			}},
		{name: "patch changes only what it names", as: "ta", method: "PATCH", path: p + "/accounts/1",
			body: `{"seats":600,"owner_id":null,"traits":{"ta_pulse":"Poor","help_tickets_90d":null,"region":"emea"}}`, status: 200,
			want: []string{`"seats":600`, `"owner_id":null`, `"traits":{"region":"EMEA","ta_pulse":"Poor"}`},
			check: func(t *testing.T, fx *fixture, _ response) {
				a := fx.account(t, 1)
				if a.Name != "Acme Corp" || a.ARR != 120_000 || a.Seats != 600 || a.OwnerID != nil || a.HealthColor != "green" {
					t.Errorf("account after patch: %+v", a)
				}
				acts, err := fx.st.ListActivities(context.Background(), 1, 1)
				must(t, err)
				if len(acts) != 1 || acts[0].Kind != account.ActivityFieldChanged || !strings.Contains(acts[0].Body, "seats: 500 → 600") {
					t.Errorf("timeline head = %+v", acts)
				}
			}},
		{name: "empty patch changes nothing", as: "ta", method: "PATCH", path: p + "/accounts/1", body: `{}`, status: 200,
			want: []string{`"seats":500`}},
		{name: "a TA cannot delete an account", as: "ta", method: "DELETE", path: p + "/accounts/3", status: 403,
			want: []string{"only admins and managers delete accounts"}},
		{name: "delete an account", as: "admin", method: "DELETE", path: p + "/accounts/3", status: 204,
			check: func(t *testing.T, fx *fixture, res response) {
				if len(res.body) != 0 {
					t.Errorf("204 with a body: %s", res.body)
				}
				if r := fx.do(t, "ta", "GET", Prefix+"/accounts/3", ""); r.status != 404 {
					t.Errorf("deleted account: %d", r.status)
				}
			}},

		// Account lists: filters, sort, paging.
		{name: "list sorted by name", as: "viewer", method: "GET", path: p + "/accounts", status: 200,
			check: listIs("Acme Corp", "Globex", "Initech")},
		{name: "list total and last page", as: "viewer", method: "GET", path: p + "/accounts", status: 200,
			want: []string{`"next":""`, `"total":3`}, check: lacks(`"traits"`)},
		{name: "owner=me", as: "ta", method: "GET", path: p + "/accounts?owner=me", status: 200, check: listIs("Acme Corp")},
		{name: "owner=unassigned", as: "ta", method: "GET", path: p + "/accounts?owner=unassigned", status: 200, check: listIs("Initech")},
		{name: "owner by id", as: "ta", method: "GET", path: p + "/accounts?owner=1", status: 200, check: listIs("Globex")},
		{name: "segment", as: "ta", method: "GET", path: p + "/accounts?segment=Enterprise", status: 200, check: listIs("Acme Corp")},
		{name: "program", as: "ta", method: "GET", path: p + "/accounts?program=" + url.QueryEscape("Scaled Success"), status: 200,
			check: listIs("Globex")},
		{name: "stage", as: "ta", method: "GET", path: p + "/accounts?stage=" + url.QueryEscape("4. Renewing"), status: 200,
			check: listIs("Initech")},
		{name: "health colour", as: "ta", method: "GET", path: p + "/accounts?health=red", status: 200, check: listIs("Globex")},
		{name: "text search on name", as: "ta", method: "GET", path: p + "/accounts?q=GLOB", status: 200, check: listIs("Globex")},
		{name: "text search on external id", as: "ta", method: "GET", path: p + "/accounts?q=a-3", status: 200, check: listIs("Initech")},
		{name: "filters combine", as: "ta", method: "GET", path: p + "/accounts?program=Managed&health=yellow", status: 200,
			check: listIs("Initech")},
		{name: "sort by ARR descending", as: "ta", method: "GET", path: p + "/accounts?sort=-arr", status: 200,
			check: listIs("Initech", "Acme Corp", "Globex")},
		{name: "sort by health", as: "ta", method: "GET", path: p + "/accounts?sort=health", status: 200,
			check: listIs("Globex", "Initech", "Acme Corp")},
		{name: "first page has a next cursor", as: "ta", method: "GET", path: p + "/accounts?limit=2", status: 200,
			want: []string{`"total":3`}, check: func(t *testing.T, fx *fixture, res response) {
				listIs("Acme Corp", "Globex")(t, fx, res)
				next := res.json(t)["next"].(string)
				if next == "" {
					t.Fatal("no next cursor on a first page of 2 of 3")
				}
				second := fx.do(t, "ta", "GET", Prefix+"/accounts?limit=2&cursor="+url.QueryEscape(next), "")
				listIs("Initech")(t, fx, second)
			}},
		{name: "include=traits", as: "ta", method: "GET", path: p + "/accounts?include=traits&segment=Enterprise", status: 200,
			want: []string{`"traits":{"help_tickets_90d":4,"ta_pulse":"Healthy"}`}},

		// Contacts.
		{name: "list contacts", as: "viewer", method: "GET", path: p + "/accounts/1/contacts", status: 200,
			want: []string{`"email":"jane@acme.com"`, `"roles":["champion"]`}},
		{name: "add a contact", as: "ta", method: "POST", path: p + "/accounts/1/contacts",
			body: `{"name":"Bo","email":"Bo@Acme.com","roles":["Instance Admin","buyer"]}`, status: 201,
			want:  []string{`"account_id":1`, `"email":"bo@acme.com"`, `"roles":["buyer","instance_admin"]`},
			check: header("Location", "/api/v1/contacts/2")},
		{name: "patch a contact", as: "ta", method: "PATCH", path: p + "/contacts/1", body: `{"title":"VP Eng","unsubscribed":true}`,
			status: 200, want: []string{`"title":"VP Eng"`, `"unsubscribed":true`, `"name":"Jane Doe"`}},
		{name: "move a contact", as: "ta", method: "PATCH", path: p + "/contacts/1", body: `{"account_id":2}`, status: 200,
			want: []string{`"account_id":2`}},
		{name: "delete a contact", as: "ta", method: "DELETE", path: p + "/contacts/1", status: 204,
			check: func(t *testing.T, fx *fixture, _ response) {
				if r := fx.do(t, "ta", "GET", Prefix+"/contacts/1", ""); r.status != 404 {
					t.Errorf("deleted contact: %d", r.status)
				}
			}},

		// Traits, history, notes, timeline.
		{name: "trait definitions", as: "viewer", method: "GET", path: p + "/traits", status: 200,
			want: []string{`"key":"ta_pulse"`, `"values":["Healthy","Concerning","Poor"]`, `"source":"warehouse"`}},
		{name: "an account's trait values", as: "viewer", method: "GET", path: p + "/accounts/1/traits", status: 200,
			want: []string{`"key":"ta_pulse"`, `"value":"Healthy"`, `"updated_by":"test fixture"`}},
		{name: "trait history by key", as: "viewer", method: "GET", path: p + "/accounts/1/traits/history?key=ta_pulse", status: 200,
			want: []string{`"new":"Healthy"`, `"old":null`}, check: lacks("help_tickets_90d")},
		{name: "trait history of an unknown key", as: "viewer", method: "GET", path: p + "/accounts/1/traits/history?key=nope",
			status: 400, field: "key"},
		{name: "add a note", as: "ta", method: "POST", path: p + "/accounts/1/notes", body: `{"body":"Renewal call booked"}`,
			status: 201, want: []string{`"kind":"note"`, `"actor":"tara@tend.test"`, `"actor_id":2`, `"at":"2026-03-02T09:00:00Z"`}},
		{name: "notes are only notes", as: "viewer", method: "GET", path: p + "/accounts/1/notes", status: 200,
			want: []string{"Kickoff went well"}, check: lacks(`"kind":"created"`)},
		{name: "the timeline has every kind", as: "viewer", method: "GET", path: p + "/accounts/1/activities", status: 200,
			want: []string{`"kind":"note"`, `"kind":"created"`}},
		{name: "timeline limit", as: "viewer", method: "GET", path: p + "/accounts/1/activities?limit=1", status: 200,
			want: []string{`"kind":"note"`}, check: lacks(`"kind":"created"`)},

		// Bulk traits.
		{name: "batch by external id", as: "ta", method: "POST", path: p + "/traits:batch",
			body: `{"rows":[{"external_id":"A-1","key":"ta_pulse","value":"Poor"},{"external_id":"A-2","key":"help_tickets_90d","value":"12"},` +
				`{"external_id":"A-1","key":"help_tickets_90d","value":4}]}`,
			status: 200, want: []string{`"rows":3`, `"written":3`, `"changed":2`, `"rejected":[]`},
			check: func(t *testing.T, fx *fixture, _ response) {
				traitIs(2, "help_tickets_90d", 12.0)(t, fx, response{})
				hist, err := fx.st.TraitHistory(context.Background(), 1, "ta_pulse", 1)
				must(t, err)
				if h := hist[0]; h.Source != account.SourceWarehouse || h.Actor != "api token ta token" || *h.ActorID != 2 {
					t.Errorf("history = %+v, want source warehouse by the TA's token", h)
				}
			}},
		{name: "batch by account id, with a clear", as: "ta", method: "POST", path: p + "/traits:batch",
			body:   `{"rows":[{"account_id":1,"key":"ta_pulse","value":null},{"account_id":3,"key":"last_activity_date","value":"2026-02-27"}]}`,
			status: 200, want: []string{`"changed":2`}, check: func(t *testing.T, fx *fixture, _ response) {
				if _, ok := fx.traits(t, 1)["ta_pulse"]; ok {
					t.Error("ta_pulse not cleared")
				}
				traitIs(3, "last_activity_date", "2026-02-27")(t, fx, response{})
			}},
		{name: "batch with ?source=crm", as: "ta", method: "POST", path: p + "/traits:batch?source=crm",
			body: `{"rows":[{"external_id":"A-3","key":"region","value":"APAC"}]}`, status: 200,
			check: func(t *testing.T, fx *fixture, _ response) {
				hist, err := fx.st.TraitHistory(context.Background(), 3, "region", 1)
				must(t, err)
				if len(hist) != 1 || hist[0].Source != account.SourceCRM {
					t.Errorf("history = %+v", hist)
				}
			}},
		{name: "batch source cannot be computed", as: "ta", method: "POST", path: p + "/traits:batch?source=computed",
			body: `{"rows":[]}`, status: 400, field: "source"},
		{name: "batch is all or nothing", as: "ta", method: "POST", path: p + "/traits:batch", body: mixedBatch, status: 422,
			field: "rows", want: append([]string{"8 of 9 rows are invalid; nothing was written"}, mixedBatchProblems...),
			check: traitIs(2, "ta_pulse", nil)},
		{name: "batch partial writes the good rows", as: "ta", method: "POST", path: p + "/traits:batch?partial=true", body: mixedBatch,
			status: 200, want: append([]string{`"rows":9`, `"written":1`, `"changed":1`}, mixedBatchProblems...),
			check: traitIs(2, "ta_pulse", "Concerning")},
		{name: "batch needs rows", as: "ta", method: "POST", path: p + "/traits:batch", body: `{"data":[]}`, status: 400, field: "data"},
		{name: "batch rows missing", as: "ta", method: "POST", path: p + "/traits:batch", body: `{}`, status: 400, field: "rows"},
		{name: "batch as a bare array", as: "ta", method: "POST", path: p + "/traits:batch", body: `[]`, status: 400},
		{name: "batch with no rows", as: "ta", method: "POST", path: p + "/traits:batch", body: `{"rows":[]}`, status: 200,
			want: []string{`"rows":0`, `"changed":0`}},
		{name: "batch over 10,000 rows", as: "ta", method: "POST", path: p + "/traits:batch", body: batchBody(10_001, 0, 0, false),
			status: 413, field: "rows"},
		{name: "batch bad partial flag", as: "ta", method: "POST", path: p + "/traits:batch?partial=sometimes", body: `{"rows":[]}`,
			status: 400, field: "partial"},
		{name: "escaped colon reaches the batch", as: "ta", method: "POST", path: p + "/traits%3Abatch",
			body: `{"rows":[{"account_id":2,"key":"ta_pulse","value":"Poor"}]}`, status: 200, check: traitIs(2, "ta_pulse", "Poor")},
		{name: "GET on the batch", as: "ta", method: "GET", path: p + "/traits:batch", status: 405, check: header("Allow", "POST")},

		// Usage: live metrics and series from the events the engine took.
		{name: "an account's usage", as: "viewer", method: "GET", path: p + "/accounts/1/usage", status: 200, setup: feedUsage,
			check: func(t *testing.T, fx *fixture, res response) {
				usageIs(t, fx, res)
				series := res.json(t)["series"].(map[string]any)
				if d, m := len(series["dau"].([]any)), len(series["mau"].([]any)); d != 90 || m != 12 {
					t.Errorf("%d days and %d months by default, want 90 and 12", d, m)
				}
			}},
		{name: "usage series of 3 days and 2 months", as: "viewer", method: "GET", path: p + "/accounts/1/usage?days=3&months=2",
			status: 200, setup: feedUsage, want: []string{
				`"dau":[{"day":"2026-02-28","users":0},{"day":"2026-03-01","users":1},{"day":"2026-03-02","users":1,"partial":true}]`,
				`"mau":[{"month":"2026-02","users":3},{"month":"2026-03","users":2,"partial":true}]`}},
		{name: "usage of an account that never pinged", as: "viewer", method: "GET", path: p + "/accounts/2/usage", status: 200,
			setup: feedUsage, want: []string{`"dau":0`, `"last_month_mau":0`, `"usage_score":null`, `"first_ping":null`, `"features":[]`,
				`"seats":50`, `"last_month_mau_over_seats":0,`, `"seat_utilization":0,`}},
		{name: "usage of an unknown account", as: "viewer", method: "GET", path: p + "/accounts/999/usage", status: 404,
			want: []string{"account 999 not found"}},
		{name: "usage needs a token", method: "GET", path: p + "/accounts/1/usage", status: 401},
		{name: "usage days=0", as: "ta", method: "GET", path: p + "/accounts/1/usage?days=0", status: 400, field: "days",
			want: []string{"between 1 and 3660"}},
		{name: "usage days=abc", as: "ta", method: "GET", path: p + "/accounts/1/usage?days=abc", status: 400, field: "days"},
		{name: "usage days over ten years", as: "ta", method: "GET", path: p + "/accounts/1/usage?days=3661", status: 400, field: "days"},
		{name: "usage months=121", as: "ta", method: "GET", path: p + "/accounts/1/usage?months=121", status: 400, field: "months"},
		{name: "usage months=-1", as: "ta", method: "GET", path: p + "/accounts/1/usage?months=-1", status: 400, field: "months"},
		{name: "usage misspelt parameter", as: "ta", method: "GET", path: p + "/accounts/1/usage?day=3", status: 400, field: "day"},

		// Write keys: admins only.
		{name: "TA cannot list write keys", as: "ta", method: "GET", path: p + "/write-keys", status: 403,
			want: []string{"only admins manage write keys"}},
		{name: "a manager cannot make a write key", as: "manager", method: "POST", path: p + "/write-keys", body: `{"name":"web app"}`,
			status: 403, setup: func(t *testing.T, fx *fixture) { fx.addManager(t) }, check: writeKeys(0)},
		{name: "viewer cannot revoke a write key", as: "viewer", method: "DELETE", path: p + "/write-keys/1", status: 403,
			setup: func(t *testing.T, fx *fixture) { fx.writeKey(t, "web app") }, check: keyWorks("web app", true)},
		{name: "admin lists write keys", as: "admin", method: "GET", path: p + "/write-keys", status: 200,
			setup: func(t *testing.T, fx *fixture) { fx.writeKey(t, "web app"); fx.writeKey(t, "backend") },
			want:  []string{`"name":"web app"`, `"prefix":"wk_`, `"created_by":1`, `"revoked_at":null`, `"last_used_at":null`},
			check: func(t *testing.T, fx *fixture, res response) {
				lacks("hash", "secret")(t, fx, res)
				data := res.json(t)["data"].([]any)
				if len(data) != 2 || data[0].(map[string]any)["name"] != "backend" {
					t.Errorf("write keys %v, want 2, newest first", data)
				}
			}},
		{name: "admin makes a write key; the secret works", as: "admin", method: "POST", path: p + "/write-keys",
			body: `{"name":"  web app  "}`, status: 201, want: []string{`"name":"web app"`, `"created_by":1`, `"revoked_at":null`},
			check: func(t *testing.T, fx *fixture, res response) {
				m := res.json(t)
				secret := m["secret"].(string)
				if !regexp.MustCompile(`^wk_[a-z2-7]{32}$`).MatchString(secret) {
					t.Errorf("secret %q", secret)
				}
				wk := m["write_key"].(map[string]any)
				if wk["prefix"] != secret[:10] {
					t.Errorf("prefix %v, want %s", wk["prefix"], secret[:10])
				}
				k, err := fx.st.WriteKeyByHash(context.Background(), team.HashToken(secret), fixtureNow)
				if err != nil || float64(k.ID) != wk["id"].(float64) {
					t.Errorf("the new secret: key %+v, %v", k, err)
				}
			}},
		{name: "write key without a name", as: "admin", method: "POST", path: p + "/write-keys", body: `{}`, status: 422, field: "name",
			check: writeKeys(0)},
		{name: "write key with a blank name", as: "admin", method: "POST", path: p + "/write-keys", body: `{"name":"   "}`,
			status: 422, field: "name"},
		{name: "write key name over 100 characters", as: "admin", method: "POST", path: p + "/write-keys",
			body: `{"name":"` + strings.Repeat("é", 101) + `"}`, status: 422, field: "name", want: []string{"100 characters"}},
		{name: "write key name of 100 characters", as: "admin", method: "POST", path: p + "/write-keys",
			body: `{"name":"` + strings.Repeat("é", 100) + `"}`, status: 201},
		{name: "write key name is a string", as: "admin", method: "POST", path: p + "/write-keys", body: `{"name":7}`,
			status: 400, field: "name"},
		{name: "write key unknown field", as: "admin", method: "POST", path: p + "/write-keys", body: `{"name":"x","user_id":2}`,
			status: 400, field: "user_id", check: writeKeys(0)},
		{name: "revoke a write key", as: "admin", method: "DELETE", path: p + "/write-keys/1", status: 204,
			setup: func(t *testing.T, fx *fixture) { fx.writeKey(t, "web app") },
			check: func(t *testing.T, fx *fixture, res response) {
				keyWorks("web app", false)(t, fx, res)
				if again := fx.do(t, "admin", "DELETE", Prefix+"/write-keys/1", ""); again.status != 204 {
					t.Errorf("revoking again: %d %s", again.status, again.body)
				}
				list := fx.do(t, "admin", "GET", Prefix+"/write-keys", "")
				if k := list.json(t)["data"].([]any)[0].(map[string]any); k["revoked_at"] == nil {
					t.Errorf("the revoked key lists as %v", k)
				}
			}},
		{name: "revoke an unknown write key", as: "admin", method: "DELETE", path: p + "/write-keys/99", status: 404,
			want: []string{"write key 99 not found"}},
		{name: "revoke write key abc", as: "admin", method: "DELETE", path: p + "/write-keys/abc", status: 400, field: "id"},
		{name: "GET one write key", as: "admin", method: "GET", path: p + "/write-keys/1", status: 405, check: header("Allow", "DELETE")},

		// The ingestion debugger: admins and managers.
		{name: "TA cannot read the debugger", as: "ta", method: "GET", path: p + "/ingestion/events", status: 403,
			want: []string{"only admins and managers read the ingestion debugger"}},
		{name: "viewer cannot read rejections", as: "viewer", method: "GET", path: p + "/ingestion/rejections", status: 403},
		{name: "viewer cannot read counts", as: "viewer", method: "GET", path: p + "/ingestion/counts", status: 403},
		{name: "a manager reads the newest events", as: "manager", method: "GET", path: p + "/ingestion/events", status: 200,
			setup: func(t *testing.T, fx *fixture) { fx.addManager(t); feedUsage(t, fx) },
			want: []string{`"message_id":"m8"`, `"source":"web app"`, `"type":"group"`, `"account_id":1`, `"user_key":"u3"`,
				`"received_at":"2026-03-02T09:00:00Z"`, `"writeKey":"wk_abcdefg…"`},
			check: func(t *testing.T, fx *fixture, res response) {
				lacks("secretsecret")(t, fx, res)
				data := res.json(t)["data"].([]any)
				if len(data) != 8 {
					t.Fatalf("%d events, want 8", len(data))
				}
				newest, oldest := data[0].(map[string]any), data[7].(map[string]any)
				if newest["message_id"] != "m8" || newest["account_id"] != nil || oldest["message_id"] != "m1" {
					t.Errorf("newest %v, oldest %v", newest, oldest)
				}
				if body, ok := oldest["body"].(map[string]any); !ok || body["groupId"] != "A-1" {
					t.Errorf("body %v, want the call as a JSON object", oldest["body"])
				}
			}},
		{name: "debugger events limit", as: "admin", method: "GET", path: p + "/ingestion/events?limit=2", status: 200,
			setup: feedUsage, want: []string{`"message_id":"m8"`, `"message_id":"m7"`}, check: lacks(`"message_id":"m6"`)},
		{name: "debugger events of one source", as: "admin", method: "GET", path: p + "/ingestion/events?source=2", status: 200,
			setup: func(t *testing.T, fx *fixture) { feedUsage(t, fx); feedBad(t, fx) },
			want:  []string{`"message_id":"b1"`, `"source":"backend"`, `"source_id":2`}, check: lacks(`"message_id":"m`)},
		{name: "debugger source that is no key", as: "admin", method: "GET", path: p + "/ingestion/events?source=9", status: 400,
			field: "source", want: []string{"no write key has the id 9"}},
		{name: "debugger source=web", as: "admin", method: "GET", path: p + "/ingestion/rejections?source=web", status: 400, field: "source"},
		{name: "debugger limit over 500", as: "admin", method: "GET", path: p + "/ingestion/events?limit=501", status: 400, field: "limit"},
		{name: "debugger misspelt parameter", as: "admin", method: "GET", path: p + "/ingestion/events?sources=1", status: 400,
			field: "sources"},
		{name: "rejections with the reasons", as: "admin", method: "GET", path: p + "/ingestion/rejections", status: 200,
			setup: func(t *testing.T, fx *fixture) { feedUsage(t, fx); feedBad(t, fx) },
			want:  []string{`"source":"backend"`, `"index":1`, `"message_id":"b2"`, `"index":2`, `"message_id":"b3"`, `"received_at":"2026-03-02T09:00:00Z"`},
			check: func(t *testing.T, fx *fixture, res response) {
				lacks("secretsecret")(t, fx, res)
				data := res.json(t)["data"].([]any)
				if len(data) != 2 {
					t.Fatalf("%d rejections, want 2", len(data))
				}
				for _, d := range data {
					r := d.(map[string]any)
					body, _ := r["body"].(string)
					sent := regexp.MustCompile(`"messageId":\s*"` + r["message_id"].(string) + `"`)
					if r["reason"] == "" || !sent.MatchString(body) {
						t.Errorf("rejection %v: want a reason and the call as text", r)
					}
				}
			}},
		{name: "rejections of a source without any", as: "admin", method: "GET", path: p + "/ingestion/rejections?source=1", status: 200,
			setup: func(t *testing.T, fx *fixture) { feedUsage(t, fx); feedBad(t, fx) }, want: []string{`{"data":[]}`}},
		{name: "counts per minute and source", as: "manager", method: "GET", path: p + "/ingestion/counts", status: 200,
			setup: func(t *testing.T, fx *fixture) { fx.addManager(t); feedUsage(t, fx); feedBad(t, fx) },
			want: []string{`"since":"2026-03-02T08:01:00Z"`,
				`{"minute":"2026-03-02T09:00:00Z","source_id":1,"accepted":8,"rejected":0,"source":"web app"}`,
				`{"minute":"2026-03-02T09:00:00Z","source_id":2,"accepted":1,"rejected":2,"source":"backend"}`}},
		{name: "counts of one source over one minute", as: "admin", method: "GET", path: p + "/ingestion/counts?minutes=1&source=2",
			status: 200, setup: func(t *testing.T, fx *fixture) { feedUsage(t, fx); feedBad(t, fx) },
			want: []string{`"since":"2026-03-02T09:00:00Z"`, `"source":"backend"`}, check: lacks(`"web app"`)},
		{name: "counts before any event", as: "admin", method: "GET", path: p + "/ingestion/counts", status: 200,
			want: []string{`"data":[]`}},
		{name: "counts minutes=0", as: "admin", method: "GET", path: p + "/ingestion/counts?minutes=0", status: 400, field: "minutes"},
		{name: "counts over a day", as: "admin", method: "GET", path: p + "/ingestion/counts?minutes=1441", status: 400, field: "minutes"},
		{name: "counts take no limit", as: "admin", method: "GET", path: p + "/ingestion/counts?limit=5", status: 400, field: "limit"},
	}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			if sc.setup != nil {
				sc.setup(t, fx)
			}
			res := fx.do(t, sc.as, sc.method, sc.path, sc.body)
			if res.status != sc.status {
				t.Fatalf("%s %s: status %d, want %d\n%s", sc.method, sc.path, res.status, sc.status, res.body)
			}
			if res.status != 204 {
				if ct := res.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			if code, ok := errorCodes[res.status]; ok {
				e, _ := res.json(t)["error"].(map[string]any)
				if e == nil || e["code"] != code || e["message"] == "" {
					t.Errorf("error body %s, want code %q and a message", res.body, code)
				}
				if sc.field != "" && e["field"] != sc.field {
					t.Errorf("error field %v, want %q (%s)", e["field"], sc.field, res.body)
				}
			}
			for _, w := range sc.want {
				if !strings.Contains(string(res.body), w) {
					t.Errorf("body lacks %s\n%s", w, res.body)
				}
			}
			if sc.check != nil {
				sc.check(t, fx, res)
			}
		})
	}
}

// mixedBatch has one good row (index 5) among rows that are each wrong in
// a different way.
var mixedBatch = `{"rows":[
	{"external_id":"A-404","key":"ta_pulse","value":"Poor"},
	{"account_id":999,"key":"ta_pulse","value":"Poor"},
	{"external_id":"A-2","key":"nope","value":1},
	{"external_id":"A-2","key":"active_champion","value":"sometimes"},
	{"external_id":"A-2","account_id":2,"key":"ta_pulse","value":"Poor"},
	{"external_id":"A-2","key":"ta_pulse","value":"concerning"},
	{"account_id":2,"key":"ta_pulse","value":"Poor"},
	{"external_id":"A-2","key":"usage_score","value":0.4},
	{"external_id":"A-2","key":"region","valu":"EMEA"}
]}`

// mixedBatchProblems are the row problems mixedBatch must report.
var mixedBatchProblems = []string{
	`{"index":0,"field":"external_id","message":"no account has the external id \"A-404\""}`,
	`{"index":1,"field":"account_id","message":"account 999 not found"}`,
	`{"index":2,"field":"key","message":"\"nope\" is not a trait this workspace defines"}`,
	`{"index":3,"field":"value","message":"\"sometimes\" is not true or false: bool expected for active_champion"}`,
	`{"index":4,"field":"account_id","message":"give account_id or external_id, not both"}`,
	`{"index":6,"field":"key","message":"repeats row 5: the same trait of the same account"}`,
	`{"index":7,"field":"key","message":"usage_score is computed by Tend and cannot be set"}`,
	`{"index":8,"field":"valu","message":"is not a field of a row`,
}

// batchBody returns a traits:batch body of n rows over accounts A-1..A-k
// (k = accounts, or the fixture's three when 0), four traits per account,
// naming them by external id or, with byID, by account id (A-i has id i).
// shift changes every value, so that a second call writes anew.
func batchBody(n, accounts, shift int, byID bool) string {
	if accounts == 0 {
		accounts = 3
	}
	keys := []string{"help_tickets_90d", "defect_tickets_90d", "last_month_versions_behind", "instance_version"}
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		acct, key := i/len(keys)%accounts+1, keys[i%len(keys)]
		var value any = (i + shift) % 17
		if key == "instance_version" {
			value = fmt.Sprintf(`"5.%d.%d"`, (i+shift)%9, i%31)
		}
		if byID {
			fmt.Fprintf(&b, `{"account_id":%d,"key":%q,"value":%v}`, acct, key, value)
		} else {
			fmt.Fprintf(&b, `{"external_id":"A-%d","key":%q,"value":%v}`, acct, key, value)
		}
	}
	b.WriteString(`]}`)
	return b.String()
}

func header(name, want string) func(*testing.T, *fixture, response) {
	return func(t *testing.T, _ *fixture, res response) {
		t.Helper()
		if got := res.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func lacks(subs ...string) func(*testing.T, *fixture, response) {
	return func(t *testing.T, _ *fixture, res response) {
		t.Helper()
		for _, s := range subs {
			if strings.Contains(strings.ToLower(string(res.body)), strings.ToLower(s)) {
				t.Errorf("body contains %q\n%s", s, res.body)
			}
		}
	}
}

// total checks how many accounts the store holds.
func total(n int) func(*testing.T, *fixture, response) {
	return func(t *testing.T, fx *fixture, _ response) {
		t.Helper()
		page, err := fx.st.ListAccounts(context.Background(), account.Filter{})
		must(t, err)
		if page.Total != n {
			t.Errorf("%d accounts in the store, want %d", page.Total, n)
		}
	}
}

// traitIs checks a trait's stored value; nil means unset.
func traitIs(id int64, key string, want any) func(*testing.T, *fixture, response) {
	return func(t *testing.T, fx *fixture, _ response) {
		t.Helper()
		if got := fx.traits(t, id)[key]; got != want {
			t.Errorf("account %d %s = %v, want %v", id, key, got, want)
		}
	}
}

// writeKeys checks how many write keys the store holds.
func writeKeys(n int) func(*testing.T, *fixture, response) {
	return func(t *testing.T, fx *fixture, _ response) {
		t.Helper()
		keys, err := fx.st.ListWriteKeys(context.Background())
		must(t, err)
		if len(keys) != n {
			t.Errorf("%d write keys in the store, want %d", len(keys), n)
		}
	}
}

// keyWorks checks whether the named source's write key still
// authenticates.
func keyWorks(name string, want bool) func(*testing.T, *fixture, response) {
	return func(t *testing.T, fx *fixture, _ response) {
		t.Helper()
		_, err := fx.st.WriteKeyByHash(context.Background(), fx.keys[name].Hash, fixtureNow)
		if got := err == nil; got != want {
			t.Errorf("write key %q works: %v (%v), want %v", name, got, err, want)
		}
	}
}

// listIs checks the names of an account page, in order.
func listIs(names ...string) func(*testing.T, *fixture, response) {
	return func(t *testing.T, _ *fixture, res response) {
		t.Helper()
		var got []string
		for _, a := range res.json(t)["data"].([]any) {
			got = append(got, a.(map[string]any)["name"].(string))
		}
		if !slices.Equal(got, names) {
			t.Errorf("accounts %q, want %q", got, names)
		}
	}
}
