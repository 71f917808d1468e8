package store

import (
	"context"
	"time"
)

// Usage stores product usage as the ingestion API and the usage engine see
// it. The raw events are the durable record: a 2xx from the ingestion API
// means AppendEvents committed them. Everything else here is derived from
// the events (per-day bitmaps, feature first use, first pings) and is
// flushed with a watermark, the last event sequence number it covers, so
// that a restart replays only the events after it.
//
// The store keeps the bitmaps as opaque bytes and days as plain numbers; it
// knows nothing of how usage counts users.
type Usage interface {
	// CreateWriteKey stores a new write key (Name and Hash required; names
	// may repeat, hashes may not) and sets its ID and CreatedAt.
	CreateWriteKey(ctx context.Context, k *WriteKey) error
	// ListWriteKeys returns every write key, revoked ones included, newest
	// first.
	ListWriteKeys(ctx context.Context) ([]WriteKey, error)
	// RevokeWriteKey stops a key from working; revoking a revoked key keeps
	// the first revocation time. An unknown id is NotFound.
	RevokeWriteKey(ctx context.Context, id int64) error
	// WriteKeyByHash returns the unrevoked key with the hash, marking it used
	// at now (at most once a minute, so that ingestion does not turn every
	// request into a write). Unknown and revoked keys are Unauthorized.
	WriteKeyByHash(ctx context.Context, hash []byte, now time.Time) (WriteKey, error)

	// AppendEvents stores a batch of events in one transaction. An event
	// whose (SourceID, MessageID) repeats an earlier one in the batch or
	// one among the newest million or more stored (the deduplication
	// window; Segment's own covers about a day) is a duplicate: skipped,
	// not an error. New events get their Seq (increasing in batch order,
	// never reused) and count as accepted in the per-minute counters. Every
	// UserKey in the batch gets a dense ordinal (from 1, in first-seen
	// order). An AccountID that no longer exists is stored as no
	// attribution. preps, when given, are what PrepareEvents made of the
	// batch's requests, in order (their lengths add up to len(evs)); they
	// make the append faster, never different.
	AppendEvents(ctx context.Context, evs []Event, preps ...Prepared) (AppendResult, error)
	// PrepareEvents does ahead, for one request's events, the part of
	// AppendEvents that concerns no other request (checking the events,
	// hashing their message ids, encoding them), so that requests are
	// prepared in parallel and the appends, one at a time, have less to
	// do. Safe for concurrent use; evs must not change until appended.
	PrepareEvents(ctx context.Context, evs []Event) Prepared
	// EventsSince returns up to limit events with Seq > afterSeq in Seq
	// order: the replay after a restart.
	EventsSince(ctx context.Context, afterSeq int64, limit int) ([]Event, error)
	// RecentEvents returns a source's newest events first (sourceID 0: all
	// sources), for the ingestion debugger.
	RecentEvents(ctx context.Context, sourceID int64, limit int) ([]Event, error)
	// PurgeEvents deletes the events received before the instant, in short
	// transactions, with the rejections received before it and the
	// per-minute counters of the minutes wholly before it; it returns how
	// many events it deleted. A purged message id is new again.
	PurgeEvents(ctx context.Context, receivedBefore time.Time) (int64, error)
	// EventCountsPerMinute returns the accepted and rejected counts per
	// minute and source from since (inclusive, to the minute), oldest first.
	EventCountsPerMinute(ctx context.Context, since time.Time) ([]MinuteCount, error)
	// AddRejections records events the ingestion API refused, with their
	// bodies cut to MaxRejectionBody bytes, and counts them per minute. Only
	// the newest MaxRejections are kept.
	AddRejections(ctx context.Context, rs []Rejection) error
	// RecentRejections returns a source's newest rejections first (sourceID
	// 0: all sources).
	RecentRejections(ctx context.Context, sourceID int64, limit int) ([]Rejection, error)

	// LinkUsers attributes users to accounts, emails and contacts (Segment
	// group and identify calls), creating users that are new with the next
	// ordinals. A link changes only what it sets: a nil id or an empty email
	// keeps the stored value, and when one call links a key several times
	// the last value given for each field wins. An AccountID or ContactID
	// that no longer exists is ignored. It returns the ordinal of every
	// linked key.
	LinkUsers(ctx context.Context, links []UserLink) (map[string]uint32, error)
	// ListUsageUsers calls fn for every user in ordinal order, streaming the
	// rows (there may be millions). fn must not call the store: on an
	// in-memory SQLite database the read holds the only connection. An error
	// from fn stops the walk and is returned.
	ListUsageUsers(ctx context.Context, fn func(UsageUser) error) error
	// ListUserAccounts calls fn with the ordinal and account of every user
	// linked to an account, in ordinal order, streaming the rows: the usage
	// engine's startup load, which needs no more of millions of users. fn
	// must not call the store (see ListUsageUsers).
	ListUserAccounts(ctx context.Context, fn func(ordinal uint32, accountID int64) error) error
	// UsageUsersOfAccount returns up to limit of an account's users in
	// ordinal order.
	UsageUsersOfAccount(ctx context.Context, accountID int64, limit int) ([]UsageUser, error)

	// SaveDays upserts the day bitmaps and sets the watermark in one
	// transaction: after a crash either both are saved or neither is. Blobs
	// of accounts that no longer exist are skipped.
	SaveDays(ctx context.Context, blobs []DayBlob, watermark int64) error
	// LoadDays calls fn for every day bitmap ordered by account and day,
	// streaming the rows; fn must not call the store (see ListUsageUsers).
	LoadDays(ctx context.Context, fn func(DayBlob) error) error
	// LoadAccountDays returns an account's day bitmaps ordered by day.
	LoadAccountDays(ctx context.Context, accountID int64) ([]DayBlob, error)
	// Watermark returns the Seq of the last event SaveDays covered, 0 before
	// the first save.
	Watermark(ctx context.Context) (int64, error)

	// SaveFeatureUses records feature uses, keeping the earliest At per
	// account, user ordinal and feature. Uses of accounts that no longer
	// exist are skipped.
	SaveFeatureUses(ctx context.Context, uses []FeatureUse) error
	// ListFeatureUses returns an account's account-level feature uses
	// (Ordinal 0) ordered by first use.
	ListFeatureUses(ctx context.Context, accountID int64) ([]FeatureUse, error)
	// LoadFeatureUses calls fn for every feature use, account-level and per
	// user, ordered by account, ordinal and feature; fn must not call the
	// store (see ListUsageUsers). It is the usage engine's startup load.
	LoadFeatureUses(ctx context.Context, fn func(FeatureUse) error) error
	// ListFeatureAdoption returns, per feature an account has used, when it
	// was first used and by how many users, ordered by first use.
	ListFeatureAdoption(ctx context.Context, accountID int64) ([]FeatureAdoption, error)

	// SaveFirstPings records the first usage ping of accounts, keeping the
	// earliest time per account. Accounts that no longer exist are skipped.
	SaveFirstPings(ctx context.Context, pings map[int64]time.Time) error
	// FirstPing returns when the account first pinged; NotFound when it has
	// not.
	FirstPing(ctx context.Context, accountID int64) (time.Time, error)
	// ListFirstPings returns every account's first ping, keyed by account.
	ListFirstPings(ctx context.Context) (map[int64]time.Time, error)
}

// MaxRejections is how many rejected events the store keeps for the
// debugger; older ones are trimmed as new ones arrive.
const MaxRejections = 10_000

// MaxRejectionBody is how much of a rejected event's body is kept, in
// bytes: enough to see what was wrong without keeping 32 KB of garbage.
const MaxRejectionBody = 2048

// WriteKey authenticates a source of events (Segment calls it a write key;
// it names the source, e.g. "web app"). Only its hash is stored.
type WriteKey struct {
	ID int64 `json:"id"`
	// Name is the source's name.
	Name string `json:"name"`
	// Prefix is the first characters of the secret, to tell keys apart.
	Prefix string `json:"prefix"`
	Hash   []byte `json:"-"`
	// CreatedBy is the team member who created the key, if one did.
	CreatedBy  *int64     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Event is one raw event as the ingestion API received it.
type Event struct {
	// Seq is assigned by AppendEvents: it orders events for replay.
	Seq int64 `json:"seq"`
	// SourceID is the write key the event came with.
	SourceID int64 `json:"source_id"`
	// MessageID is Segment's messageId: unique per source.
	MessageID string `json:"message_id"`
	// Type is the Segment call: track, identify, group, page, screen, alias.
	Type string `json:"type"`
	// UserKey is the userId, else "anon:" + anonymousId.
	UserKey string `json:"user_key"`
	// AccountID is the account the event was attributed to when it arrived,
	// if any.
	AccountID *int64 `json:"account_id"`
	// Name is a track call's event name or a page or screen name.
	Name string `json:"name"`
	// Timestamp is when the event happened (after clock-skew correction);
	// ReceivedAt is when the API took it. Both are kept to the millisecond.
	Timestamp  time.Time `json:"timestamp"`
	ReceivedAt time.Time `json:"received_at"`
	// Body is the event's JSON, kept as received.
	Body []byte `json:"-"`
}

// Prepared is what Usage.PrepareEvents made of a request's events, for
// AppendEvents.
type Prepared interface {
	// Len is the number of events.
	Len() int
}

// AppendResult says what AppendEvents did with a batch.
type AppendResult struct {
	// Accepted holds the indexes, in the batch, of the events that were
	// new; their Seq is set.
	Accepted []int
	// Duplicates counts the events skipped as already stored.
	Duplicates int
	// Ordinals maps every UserKey of the batch to its ordinal.
	Ordinals map[string]uint32
}

// MinuteCount is the number of events accepted and rejected from one source
// in one minute.
type MinuteCount struct {
	Minute   time.Time `json:"minute"`
	SourceID int64     `json:"source_id"`
	Accepted int       `json:"accepted"`
	Rejected int       `json:"rejected"`
}

// Rejection is an event the ingestion API refused, kept for the debugger.
type Rejection struct {
	ID         int64     `json:"id"`
	SourceID   int64     `json:"source_id"`
	ReceivedAt time.Time `json:"received_at"`
	// Index is the event's position in its batch.
	Index     int    `json:"index"`
	MessageID string `json:"message_id"`
	Reason    string `json:"reason"`
	// Body is the start of the event's JSON (MaxRejectionBody bytes).
	Body []byte `json:"-"`
}

// UsageUser is a person who uses the customer's product: not a team member
// and not necessarily a contact.
type UsageUser struct {
	// Ordinal is the user's dense number (from 1), the form day bitmaps
	// hold.
	Ordinal uint32 `json:"ordinal"`
	// Key is the userId, else "anon:" + anonymousId.
	Key       string    `json:"key"`
	AccountID *int64    `json:"account_id"`
	Email     string    `json:"email"`
	ContactID *int64    `json:"contact_id"`
	FirstSeen time.Time `json:"first_seen"`
}

// UserLink is what a group or identify call says about a user.
type UserLink struct {
	Key       string
	AccountID *int64
	Email     string
	ContactID *int64
	// Seen is when the call happened: the FirstSeen of a user the link
	// creates (zero: the store's clock).
	Seen time.Time
}

// DayBlob is one account's active users on one day, as an opaque bitmap.
type DayBlob struct {
	AccountID int64
	// Day counts days since 1970-01-01 in the workspace's time zone.
	Day  int32
	Blob []byte
}

// FeatureUse is the first use of a feature by an account (Ordinal 0) or by
// one of its users.
type FeatureUse struct {
	AccountID int64     `json:"account_id"`
	Ordinal   uint32    `json:"ordinal"`
	Feature   string    `json:"feature"`
	At        time.Time `json:"at"`
}

// FeatureAdoption is how far a feature has spread in an account.
type FeatureAdoption struct {
	Feature string    `json:"feature"`
	FirstAt time.Time `json:"first_at"`
	// Users counts the account's users who have used the feature.
	Users int `json:"users"`
}
