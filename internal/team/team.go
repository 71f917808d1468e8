// Package team holds Tend's users — the members of the post-sales team —
// their roles, passwords and API tokens.
package team

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// Role is what a team member may do in Tend.
type Role string

// The roles (DESIGN.md §2).
const (
	Admin   Role = "admin"
	Manager Role = "manager"
	TA      Role = "ta"
	AE      Role = "ae"
	CE      Role = "ce"
	Viewer  Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{Admin, Manager, TA, AE, CE, Viewer}

// Label returns the role's name for people.
func (r Role) Label() string {
	switch r {
	case Admin:
		return "Admin"
	case Manager:
		return "Manager"
	case TA:
		return "Technical Advisor"
	case AE:
		return "Account Executive"
	case CE:
		return "Customer Engineer"
	case Viewer:
		return "Viewer"
	}
	return string(r)
}

// CanWrite reports whether the role may change data. Viewers only read.
func (r Role) CanWrite() bool { return slices.Contains(Roles, r) && r != Viewer }

// IsLead reports whether the role leads the team (admins and managers):
// only leads delete accounts.
func (r Role) IsLead() bool { return r == Admin || r == Manager }

// IsAdmin reports whether the role manages users and tokens.
func (r Role) IsAdmin() bool { return r == Admin }

// User is a team member.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// Validate checks the user's fields.
func (u *User) Validate() error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
		return derrors.Field(derrors.Unprocessable, "email", "%q is not an email address", u.Email)
	}
	if u.Name == "" {
		return derrors.Field(derrors.Unprocessable, "name", "is required")
	}
	if !slices.Contains(Roles, u.Role) {
		return derrors.Field(derrors.Unprocessable, "role", "%q is not one of admin, manager, ta, ae, ce, viewer", u.Role)
	}
	return nil
}

// Token is an API token. Only its hash is stored; the secret is shown once.
type Token struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	// Prefix is the first characters of the secret, to tell tokens apart.
	Prefix     string     `json:"prefix"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}
