// Package store defines the persistence interface Tend runs on. Two
// implementations pass one conformance suite (store/storetest): SQLite, the
// embedded default (store/sqlite), and PostgreSQL for several replicas
// (store/postgres). Both are built on store/sqlstore, which runs the SQL each
// dialect keeps in its embedded .sql files.
//
// Every method returns a *derrors.Error with code NotFound for a missing
// record (never a zero value and nil), Conflict for a duplicate unique key,
// and Unprocessable for a record that fails validation.
package store

import (
	"context"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/team"
)

// Store is everything Tend persists.
type Store interface {
	Accounts
	Contacts
	Traits
	Activities
	Users
	Tokens
	Sessions
	Usage
	Assessments
	Leases
	Playbooks
	Work
	Outbox
	Campaigns
	// Dialect names the engine: "sqlite" or "postgres".
	Dialect() string
	// Close releases the database.
	Close() error
}

// Accounts stores customer accounts.
type Accounts interface {
	// CreateAccount validates and inserts a, setting its ID and timestamps,
	// and records a "created" activity.
	CreateAccount(ctx context.Context, a *account.Account, by account.Actor) error
	GetAccount(ctx context.Context, id int64) (account.Account, error)
	GetAccountByExternalID(ctx context.Context, externalID string) (account.Account, error)
	// UpdateAccount validates and saves a; each changed field is recorded on
	// the timeline.
	UpdateAccount(ctx context.Context, a *account.Account, by account.Actor) error
	// ModifyAccount reads the account and applies modify to it, validates
	// and saves it, all in one write transaction: concurrent modifications
	// of different fields never lose one another (a PATCH reads and writes
	// here, not around the store). modify must not call the store. An error
	// from modify is returned as it is and nothing is written.
	ModifyAccount(ctx context.Context, id int64, modify func(*account.Account) error, by account.Actor) (account.Account, error)
	// DeleteAccount removes the account with its contacts, traits and timeline.
	DeleteAccount(ctx context.Context, id int64) error
	ListAccounts(ctx context.Context, f account.Filter) (account.Page, error)
	// UpsertAccounts inserts or updates accounts by ExternalID (required) in
	// one transaction: all or nothing.
	UpsertAccounts(ctx context.Context, as []account.Account, by account.Actor) (account.UpsertResult, error)
	// ResolveExternalIDs maps the external ids that exist to account ids.
	ResolveExternalIDs(ctx context.Context, externalIDs []string) (map[string]int64, error)
	// OwnerStats summarises each owner's book of business, keyed by user id.
	OwnerStats(ctx context.Context) (map[int64]account.OwnerStats, error)
}

// Contacts stores the people at customers.
type Contacts interface {
	CreateContact(ctx context.Context, c *account.Contact) error
	GetContact(ctx context.Context, id int64) (account.Contact, error)
	UpdateContact(ctx context.Context, c *account.Contact) error
	DeleteContact(ctx context.Context, id int64) error
	// ListContacts returns an account's contacts ordered by name.
	ListContacts(ctx context.Context, accountID int64) ([]account.Contact, error)
	// ListContactsOf returns the contacts of each of the accounts, ordered
	// by name (an account without any has no entry).
	ListContactsOf(ctx context.Context, accountIDs []int64) (map[int64][]account.Contact, error)
	// UpsertContacts inserts or updates contacts by ExternalID when set, else
	// by (account, email), in one transaction. An upsert never clears
	// Unsubscribed: only UpdateContact can resubscribe a contact.
	UpsertContacts(ctx context.Context, cs []account.Contact) (account.UpsertResult, error)
}

// Traits stores trait values and their history.
type Traits interface {
	// ListTraits returns an account's current trait values ordered by key.
	ListTraits(ctx context.Context, accountID int64) ([]account.TraitValue, error)
	// SetTraits applies the writes in one transaction. A write whose value
	// equals the current one changes nothing; every other write records a
	// TraitChange (old, new, source, actor, time), which is returned. A nil
	// value clears the trait. An unknown account id is NotFound.
	SetTraits(ctx context.Context, ws []account.TraitWrite, by account.Actor) ([]account.TraitChange, error)
	// TraitHistory returns the changes of an account's traits, newest first;
	// key "" means all traits.
	TraitHistory(ctx context.Context, accountID int64, key string, limit int) ([]account.TraitChange, error)
}

// Activities stores the account timeline.
type Activities interface {
	AddActivity(ctx context.Context, a *account.Activity) error
	// ListActivities returns an account's timeline, newest first.
	ListActivities(ctx context.Context, accountID int64, limit int) ([]account.Activity, error)
}

// Users stores team members.
type Users interface {
	CreateUser(ctx context.Context, u *team.User) error
	GetUser(ctx context.Context, id int64) (team.User, error)
	GetUserByEmail(ctx context.Context, email string) (team.User, error)
	// ListUsers returns all team members ordered by name.
	ListUsers(ctx context.Context) ([]team.User, error)
	UpdateUser(ctx context.Context, u *team.User) error
}

// Tokens stores API tokens by hash.
type Tokens interface {
	CreateToken(ctx context.Context, t *team.Token) error
	// ListTokens returns a user's tokens, or everyone's for userID 0.
	ListTokens(ctx context.Context, userID int64) ([]team.Token, error)
	DeleteToken(ctx context.Context, id int64) error
	// TokenByHash finds the token and its (enabled) user, and marks it used.
	TokenByHash(ctx context.Context, hash []byte, now time.Time) (team.Token, team.User, error)
}

// Sessions stores web sessions; it is the scs.Store contract.
type Sessions interface {
	Find(token string) (b []byte, found bool, err error)
	Commit(token string, b []byte, expiry time.Time) error
	Delete(token string) error
}
