package account

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// Contact is a person at the customer. Campaigns address contacts by role.
type Contact struct {
	ID        int64 `json:"id"`
	AccountID int64 `json:"account_id"`
	// ExternalID is the CRM's id for the contact; imports upsert by it.
	ExternalID string   `json:"external_id"`
	Name       string   `json:"name"`
	Email      string   `json:"email"`
	Title      string   `json:"title"`
	Roles      []string `json:"roles"`
	// Unsubscribed is set when the contact opted out of campaign mail.
	Unsubscribed bool      `json:"unsubscribed"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Contact roles (DESIGN.md §2; 002 names instance admins, program contacts
// and champions as campaign audiences).
const (
	RoleInstanceAdmin  = "instance_admin"
	RoleProgramContact = "program_contact"
	RoleChampion       = "champion"
	RoleStakeholder    = "stakeholder"
	RoleBuyer          = "buyer"
	RoleEndUser        = "end_user"
)

// ContactRoles lists every contact role in display order.
var ContactRoles = []string{RoleInstanceAdmin, RoleProgramContact, RoleChampion, RoleStakeholder, RoleBuyer, RoleEndUser}

// ContactRoleLabel returns the label people use for a role.
func ContactRoleLabel(role string) string {
	switch role {
	case RoleInstanceAdmin:
		return "Instance admin"
	case RoleProgramContact:
		return "Program contact"
	case RoleChampion:
		return "Champion"
	case RoleStakeholder:
		return "Stakeholder"
	case RoleBuyer:
		return "Buyer"
	case RoleEndUser:
		return "End user"
	}
	return role
}

// HasRole reports whether the contact has the role.
func (c *Contact) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// Validate checks the contact and normalises its email and roles.
func (c *Contact) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	c.ExternalID = strings.TrimSpace(c.ExternalID)
	if c.AccountID <= 0 {
		return derrors.Field(derrors.Unprocessable, "account_id", "is required")
	}
	if c.Email == "" {
		return derrors.Field(derrors.Unprocessable, "email", "is required")
	}
	if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
		return derrors.Field(derrors.Unprocessable, "email", "%q is not an email address", c.Email)
	}
	for i, r := range c.Roles {
		r = strings.TrimSpace(strings.ToLower(strings.ReplaceAll(r, " ", "_")))
		if !slices.Contains(ContactRoles, r) {
			return derrors.Field(derrors.Unprocessable, "roles", "%q is not one of %s", c.Roles[i], strings.Join(ContactRoles, ", "))
		}
		c.Roles[i] = r
	}
	slices.Sort(c.Roles)
	c.Roles = slices.Compact(c.Roles)
	if c.Roles == nil {
		c.Roles = []string{}
	}
	return nil
}
