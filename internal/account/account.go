// Package account holds Tend's customer records: accounts, their contacts,
// typed traits with history, and the activity timeline. It is pure: types,
// validation and diffing, no I/O.
package account

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

// Account is a customer (DESIGN.md §2).
type Account struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
	// ExternalID is the CRM's id for the account; imports and syncs upsert by it.
	ExternalID string `json:"external_id"`
	// AnalyticsID is the product analytics group id that usage events carry.
	AnalyticsID         string `json:"analytics_id"`
	EstimatedDevelopers int    `json:"estimated_developers"`
	// ARR is annual recurring revenue in whole US dollars.
	ARR   int64 `json:"arr"`
	Seats int   `json:"seats"`
	// SupportLevel is the TA support level TA leadership sets (004: "Technical
	// Advisor Support Level is manually assigned").
	SupportLevel      string    `json:"support_level"`
	OwnerID           *int64    `json:"owner_id"`
	AEID              *int64    `json:"ae_id"`
	CEID              *int64    `json:"ce_id"`
	IEID              *int64    `json:"ie_id"`
	ExpectedCloseDate date.Date `json:"expected_close_date"`
	CloseDate         date.Date `json:"close_date"`
	RenewalDate       date.Date `json:"renewal_date"`
	Entitlements      []string  `json:"entitlements"`
	Deployment        string    `json:"deployment"`
	Segment           string    `json:"segment"`
	Program           string    `json:"program"`
	Stage             string    `json:"stage"`
	HealthScore       *float64  `json:"health_score"`
	HealthColor       string    `json:"health_color"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// The values the closed fields take.
var (
	SupportLevels = []string{"", "managed", "scaled"}
	Deployments   = []string{"", "cloud", "self_hosted"}
	Entitlements  = []string{"code_search", "ai_assistant"}
	HealthColors  = []string{"", "green", "yellow", "red"}
	// The handbook's segments (004, 001), programs and lifecycle stages
	// (004, 002). An empty value means "not assigned yet".
	Segments = []string{"Strategic", "Enterprise", "Commercial"}
	Programs = []string{"Managed", "Scaled Success"}
	Stages   = []string{"0. Prospect", "1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing", "Churned"}
)

// Validate checks the account's fields and returns the first fault as a
// field-named *derrors.Error.
func (a *Account) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	a.Domain = strings.ToLower(strings.TrimSpace(a.Domain))
	a.ExternalID = strings.TrimSpace(a.ExternalID)
	a.AnalyticsID = strings.TrimSpace(a.AnalyticsID)
	switch {
	case a.Name == "":
		return derrors.Field(derrors.Unprocessable, "name", "is required")
	case len(a.Name) > 200:
		return derrors.Field(derrors.Unprocessable, "name", "is longer than 200 characters")
	case strings.ContainsAny(a.Domain, " /@"):
		return derrors.Field(derrors.Unprocessable, "domain", "%q is not a domain name (like example.com)", a.Domain)
	case a.EstimatedDevelopers < 0:
		return derrors.Field(derrors.Unprocessable, "estimated_developers", "must not be negative")
	case a.ARR < 0:
		return derrors.Field(derrors.Unprocessable, "arr", "must not be negative")
	case a.Seats < 0:
		return derrors.Field(derrors.Unprocessable, "seats", "must not be negative")
	case !slices.Contains(SupportLevels, a.SupportLevel):
		return derrors.Field(derrors.Unprocessable, "support_level", "%q is not one of managed, scaled", a.SupportLevel)
	case !slices.Contains(Deployments, a.Deployment):
		return derrors.Field(derrors.Unprocessable, "deployment", "%q is not one of cloud, self_hosted", a.Deployment)
	case !slices.Contains(HealthColors, a.HealthColor):
		return derrors.Field(derrors.Unprocessable, "health_color", "%q is not one of green, yellow, red", a.HealthColor)
	}
	for _, e := range a.Entitlements {
		if !slices.Contains(Entitlements, e) {
			return derrors.Field(derrors.Unprocessable, "entitlements", "%q is not one of %s", e, strings.Join(Entitlements, ", "))
		}
	}
	for _, f := range []struct {
		name, value string
		values      []string
	}{{"segment", a.Segment, Segments}, {"program", a.Program, Programs}, {"stage", a.Stage, Stages}} {
		if f.value != "" && !slices.Contains(f.values, f.value) {
			return derrors.Field(derrors.Unprocessable, f.name, "%q is not one of %s", f.value, strings.Join(f.values, ", "))
		}
	}
	if !a.CloseDate.IsZero() && !a.RenewalDate.IsZero() && !a.CloseDate.Before(a.RenewalDate) {
		return derrors.Field(derrors.Unprocessable, "renewal_date", "%s is not after the close date %s", a.RenewalDate, a.CloseDate)
	}
	slices.Sort(a.Entitlements)
	a.Entitlements = slices.Compact(a.Entitlements)
	return nil
}

// FieldChange is one field of an account that an update changed.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Diff lists the fields that differ between old and new, in a fixed order,
// rendered as text for the timeline. Computed fields (health, timestamps) are
// left out: they have their own history.
func Diff(old, new Account) []FieldChange {
	var out []FieldChange
	add := func(field, o, n string) {
		if o != n {
			out = append(out, FieldChange{field, o, n})
		}
	}
	add("name", old.Name, new.Name)
	add("domain", old.Domain, new.Domain)
	add("external_id", old.ExternalID, new.ExternalID)
	add("analytics_id", old.AnalyticsID, new.AnalyticsID)
	add("estimated_developers", fmt.Sprint(old.EstimatedDevelopers), fmt.Sprint(new.EstimatedDevelopers))
	add("arr", fmt.Sprint(old.ARR), fmt.Sprint(new.ARR))
	add("seats", fmt.Sprint(old.Seats), fmt.Sprint(new.Seats))
	add("support_level", old.SupportLevel, new.SupportLevel)
	add("owner_id", idText(old.OwnerID), idText(new.OwnerID))
	add("ae_id", idText(old.AEID), idText(new.AEID))
	add("ce_id", idText(old.CEID), idText(new.CEID))
	add("ie_id", idText(old.IEID), idText(new.IEID))
	add("expected_close_date", old.ExpectedCloseDate.String(), new.ExpectedCloseDate.String())
	add("close_date", old.CloseDate.String(), new.CloseDate.String())
	add("renewal_date", old.RenewalDate.String(), new.RenewalDate.String())
	add("entitlements", strings.Join(old.Entitlements, ","), strings.Join(new.Entitlements, ","))
	add("deployment", old.Deployment, new.Deployment)
	add("segment", old.Segment, new.Segment)
	add("program", old.Program, new.Program)
	add("stage", old.Stage, new.Stage)
	return out
}

func idText(id *int64) string {
	if id == nil {
		return ""
	}
	return fmt.Sprint(*id)
}

// Filter selects and orders accounts for the book of business and the API.
type Filter struct {
	// OwnerID selects the owner TA's book; 0 is everyone, Unassigned is
	// accounts with no owner.
	OwnerID     int64
	Segment     string
	Program     string
	Stage       string
	HealthColor string
	// Query matches name, domain or external id, case-insensitively.
	Query string
	// Sort is one of Sorts, optionally prefixed by "-" for descending.
	Sort   string
	Limit  int
	Cursor string
}

// Unassigned is the Filter.OwnerID that selects accounts without an owner.
const Unassigned int64 = -1

// Sorts are the keys an account list can be ordered by.
var Sorts = []string{"name", "arr", "seats", "developers", "renewal", "health", "created"}

// MaxLimit caps a page of accounts.
const MaxLimit = 500

// Normalize checks the filter and fills defaults.
func (f *Filter) Normalize() error {
	if f.Sort == "" {
		f.Sort = "name"
	}
	if !slices.Contains(Sorts, strings.TrimPrefix(f.Sort, "-")) {
		return derrors.Field(derrors.Invalid, "sort", "%q is not one of %s (prefix - for descending)", f.Sort, strings.Join(Sorts, ", "))
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", MaxLimit)
	}
	if !slices.Contains(HealthColors, f.HealthColor) {
		return derrors.Field(derrors.Invalid, "health", "%q is not one of green, yellow, red", f.HealthColor)
	}
	f.Query = strings.TrimSpace(f.Query)
	return nil
}

// Page is one page of a list of accounts.
type Page struct {
	Accounts []Account `json:"data"`
	// Next is the cursor of the following page, "" on the last one.
	Next string `json:"next"`
	// Total counts all accounts that match the filter.
	Total int `json:"total"`
}

// OwnerStats summarise one team member's book of business.
type OwnerStats struct {
	Accounts int   `json:"accounts"`
	ARR      int64 `json:"arr"`
}

// UpsertResult counts what a bulk upsert did.
type UpsertResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}
