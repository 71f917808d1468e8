package demo

import (
	"context"

	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// member is one seat on the demo team. The team is fixed, not drawn from
// the seed, so that people can learn the demo logins once.
type member struct {
	name, email string
	role        team.Role
	// pool groups members for assignment: "managed" and "scaled" TAs,
	// AEs by region, "ie" for the implementation engineer.
	pool string
}

// Team pools.
const (
	poolManaged = "managed"
	poolScaled  = "scaled"
	poolIE      = "ie"
)

// roster is the demo team: an admin, two managers, eight TAs (six with a
// named book, two sharing the Scaled Success pool), five AEs by region,
// four CEs, an implementation engineer and a read-only viewer.
//
// Tend has no IE role: the implementation engineer is a CE-role member,
// which is what they can do in Tend (write, no admin).
var roster = []member{
	{"Alex Admin", AdminEmail, team.Admin, ""},
	{"Morgan Blake", "morgan.blake@tend.demo", team.Manager, ""},
	{"Priya Raman", "priya.raman@tend.demo", team.Manager, ""},
	{"Jordan Ellis", "jordan.ellis@tend.demo", team.TA, poolManaged},
	{"Samuel Okafor", "samuel.okafor@tend.demo", team.TA, poolManaged},
	{"Riley Chen", "riley.chen@tend.demo", team.TA, poolManaged},
	{"Taylor Brooks", "taylor.brooks@tend.demo", team.TA, poolManaged},
	{"Casey Nakamura", "casey.nakamura@tend.demo", team.TA, poolManaged},
	{"Avery Lindqvist", "avery.lindqvist@tend.demo", team.TA, poolManaged},
	{"Drew Patel", "drew.patel@tend.demo", team.TA, poolScaled},
	{"Jamie Moreno", "jamie.moreno@tend.demo", team.TA, poolScaled},
	{"Chris Hartmann", "chris.hartmann@tend.demo", team.AE, "AMER"},
	{"Dana Whitfield", "dana.whitfield@tend.demo", team.AE, "AMER"},
	{"Noah Feldman", "noah.feldman@tend.demo", team.AE, "AMER"},
	{"Elena Rossi", "elena.rossi@tend.demo", team.AE, "EMEA"},
	{"Kenji Watanabe", "kenji.watanabe@tend.demo", team.AE, "APAC"},
	{"Maya Goldberg", "maya.goldberg@tend.demo", team.CE, ""},
	{"Luis Ortega", "luis.ortega@tend.demo", team.CE, ""},
	{"Hannah Schmidt", "hannah.schmidt@tend.demo", team.CE, ""},
	{"Omar Haddad", "omar.haddad@tend.demo", team.CE, ""},
	{"Ingrid Svensson", "ingrid.svensson@tend.demo", team.CE, poolIE},
	{"Vic Viewer", ViewerEmail, team.Viewer, ""},
}

// staff is the created team, with the pools the book draws owners from.
type staff struct {
	users                      []team.User
	managedTAs, scaledTAs, ces []*team.User
	ie                         *team.User
	aesAMER, aesEMEA, aesAPAC  []*team.User
}

// createTeam stores the roster. The password is hashed once: argon2id is
// deliberately slow, and every demo member shares the one password.
func createTeam(ctx context.Context, st store.Users) (*staff, error) {
	hash, err := team.HashPassword(Password)
	if err != nil {
		return nil, err
	}
	s := &staff{users: make([]team.User, len(roster))}
	for i, m := range roster {
		u := &s.users[i]
		*u = team.User{Email: m.email, Name: m.name, Role: m.role, PasswordHash: hash}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		switch {
		case m.pool == poolManaged:
			s.managedTAs = append(s.managedTAs, u)
		case m.pool == poolScaled:
			s.scaledTAs = append(s.scaledTAs, u)
		case m.pool == poolIE:
			s.ie = u
		case m.role == team.CE:
			s.ces = append(s.ces, u)
		case m.role == team.AE && m.pool == "AMER":
			s.aesAMER = append(s.aesAMER, u)
		case m.role == team.AE && m.pool == "EMEA":
			s.aesEMEA = append(s.aesEMEA, u)
		case m.role == team.AE && m.pool == "APAC":
			s.aesAPAC = append(s.aesAPAC, u)
		}
	}
	return s, nil
}

// aes returns the AEs who sell in region.
func (s *staff) aes(region string) []*team.User {
	switch region {
	case "EMEA":
		return s.aesEMEA
	case "APAC":
		return s.aesAPAC
	}
	return s.aesAMER
}
