package api

import (
	"net/http"

	"github.com/tendhq/tend/internal/work"
)

// listNotifications is GET /notifications: the caller's own inbox, unread
// first, with the unread count.
func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "unread", "limit", "cursor")
	if err != nil {
		return err
	}
	f := work.NotificationFilter{UserID: callerOf(r).user.ID, Cursor: q.str("cursor")}
	if f.UnreadOnly, err = q.bool("unread"); err != nil {
		return err
	}
	if f.Limit, err = q.limit(50, work.MaxNotificationLimit); err != nil {
		return err
	}
	page, err := a.st.ListNotifications(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// readNotification marks one of the caller's notifications read. Every
// role may: it changes only the caller's own inbox.
func (a *API) readNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	n, err := a.st.MarkNotificationRead(r.Context(), callerOf(r).user.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// markedJSON answers POST /notifications/read-all.
type markedJSON struct {
	Marked int `json:"marked"`
}

func (a *API) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	n, err := a.st.MarkAllNotificationsRead(r.Context(), callerOf(r).user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, markedJSON{n})
	return nil
}
