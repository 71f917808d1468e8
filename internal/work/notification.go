package work

import (
	"strings"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

// Notification is one message in a team member's in-app inbox: "Acme Corp
// reached 90% of its seats", "Your handoff doc for Hooli is due Friday".
type Notification struct {
	ID     int64 `json:"id"`
	UserID int64 `json:"user_id"`
	// AccountID is the account it is about, when there is one.
	AccountID *int64 `json:"account_id"`
	Title     string `json:"title"`
	// Body is plain text.
	Body string `json:"body"`
	// Link is where it leads: a path on this site ("/tasks/7") or an
	// http(s) URL; "" for none.
	Link string `json:"link"`
	// Key, when set, is unique across notifications: an idempotency key, so
	// that "seats at 90%" is sent once per threshold and term.
	Key       string     `json:"key"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
	// AccountName is the account's name, filled by the store's reads.
	AccountName string `json:"account_name"`
}

// Validate checks the notification.
func (n *Notification) Validate() error {
	n.Title = strings.TrimSpace(n.Title)
	n.Body = normalizeText(n.Body)
	n.Link = strings.TrimSpace(n.Link)
	n.Key = strings.TrimSpace(n.Key)
	if n.UserID <= 0 {
		return derrors.Field(derrors.Unprocessable, "user_id", "is required")
	}
	if n.AccountID != nil && *n.AccountID <= 0 {
		return derrors.Field(derrors.Unprocessable, "account_id", "%d is not an account id", *n.AccountID)
	}
	if err := checkText("title", n.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("body", n.Body, MaxNoteBody, false); err != nil {
		return err
	}
	if err := checkLink(n.Link); err != nil {
		return err
	}
	return checkKey(n.Key)
}

// NotificationFilter selects one member's notifications.
type NotificationFilter struct {
	UserID int64
	// UnreadOnly leaves out the read ones.
	UnreadOnly bool
	Limit      int
	Cursor     string
}

// MaxNotificationLimit caps a page of notifications.
const MaxNotificationLimit = 200

// Normalize checks the filter and fills defaults.
func (f *NotificationFilter) Normalize() error {
	if f.UserID <= 0 {
		return derrors.Field(derrors.Invalid, "user_id", "is required")
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > MaxNotificationLimit {
		return derrors.Field(derrors.Invalid, "limit", "must be between 1 and %d", MaxNotificationLimit)
	}
	return nil
}

// NotificationPage is one page of a member's notifications: unread first,
// each part newest first.
type NotificationPage struct {
	Notifications []Notification `json:"data"`
	Next          string         `json:"next"`
	// Unread counts all the member's unread notifications.
	Unread int `json:"unread"`
}
