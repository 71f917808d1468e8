package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tendhq/tend/internal/work"
)

// notificationsPageSize is how many notifications a page shows.
const notificationsPageSize = 50

// notificationRow is one notification of the inbox.
type notificationRow struct {
	work.Notification
	Ago string
	// Local says the link is a page of this site, opened through "mark
	// read"; other links open as they are.
	Local bool
}

// Unread reports whether the member has not read it yet.
func (n notificationRow) Unread() bool { return n.ReadAt == nil }

// notificationsPage is the data of the inbox.
type notificationsPage struct {
	base
	Rows   []notificationRow
	Unread int
	Next   string
	Cursor string
}

// notifications is the signed-in member's in-app inbox, unread first:
// what playbooks tell them (a TA assigned to an account, seats at 90%,
// health turned red).
func (ui *UI) notifications(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	cursor := r.URL.Query().Get("cursor")
	page, err := ui.st.ListNotifications(r.Context(), work.NotificationFilter{UserID: u.ID, Limit: notificationsPageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	p := notificationsPage{base: ui.base(r, "Notifications", "notifications"), Unread: page.Unread, Next: page.Next, Cursor: cursor}
	now := ui.now()
	for _, n := range page.Notifications {
		p.Rows = append(p.Rows, notificationRow{Notification: n, Ago: since(now, n.CreatedAt), Local: work.LocalLink(n.Link)})
	}
	p.UnreadCount = page.Unread
	return ui.renderPage(w, r, http.StatusOK, "notifications", p)
}

// readNotification marks one notification read, then follows its link
// (on this site) or comes back to the inbox.
func (ui *UI) readNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "notification")
	if err != nil {
		return err
	}
	n, err := ui.st.MarkNotificationRead(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	target := "/notifications"
	if r.PostFormValue("open") == "true" && work.LocalLink(n.Link) {
		target = n.Link
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// readAllNotifications marks every unread notification of the member read.
func (ui *UI) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := ui.st.MarkAllNotificationsRead(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	ui.flash(r, fmt.Sprintf("%s %s marked read.", number(n), plural(n, "notification", "notifications")))
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
	return nil
}

// badge is the nav's unread count: "" for none, "99+" past 99.
func badge(n int) string {
	switch {
	case n <= 0:
		return ""
	case n > 99:
		return "99+"
	}
	return strconv.Itoa(n)
}
