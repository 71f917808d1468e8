package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/work"
)

func scanNotification(row interface{ Scan(...any) error }) (work.Notification, error) {
	var n work.Notification
	err := row.Scan(&n.ID, &n.UserID, idVal{&n.AccountID}, &n.Title, &n.Body, &n.Link, strVal{&n.Key},
		timeVal{&n.CreatedAt}, nullTimeVal{&n.ReadAt}, &n.AccountName)
	return n, err
}

// CreateNotification implements store.Work.
func (db *DB) CreateNotification(ctx context.Context, n *work.Notification) (created bool, err error) {
	defer derrors.Wrap(&err, "store.CreateNotification(%q)", n.Title)
	if err := n.Validate(); err != nil {
		return false, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if n.AccountID != nil {
			if err := db.requireAccount(ctx, tx, *n.AccountID, "account_id"); err != nil {
				return err
			}
		}
		n.CreatedAt = db.stamp(n.CreatedAt)
		var id int64
		err := tx.QueryRowContext(ctx, db.query("InsertNotification"), n.UserID, nullID(n.AccountID), n.Title, n.Body, n.Link,
			nullIfEmpty(n.Key), db.d.Time(n.CreatedAt)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			existing, err := scanNotification(tx.QueryRowContext(ctx, db.query("GetNotificationByKey"), n.Key))
			if err != nil {
				return err
			}
			*n = existing
			return nil
		}
		if err != nil {
			return db.mapRefErr(ctx, tx, err, userRef{"user_id", &n.UserID})
		}
		n.ID, n.ReadAt = id, nil
		if n.AccountID != nil {
			if n.AccountName, err = db.accountName(ctx, tx, *n.AccountID); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	return created, err
}

// ListNotifications implements store.Work.
func (db *DB) ListNotifications(ctx context.Context, f work.NotificationFilter) (page work.NotificationPage, err error) {
	defer derrors.Wrap(&err, "store.ListNotifications(%d)", f.UserID)
	if err := f.Normalize(); err != nil {
		return page, err
	}
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	if page.Unread, err = db.UnreadNotifications(ctx, f.UserID); err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListNotifications"), f.UserID, f.UnreadOnly, f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Notifications = []work.Notification{}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return page, err
		}
		page.Notifications = append(page.Notifications, n)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Notifications) > f.Limit {
		page.Notifications = page.Notifications[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

// UnreadNotifications implements store.Work.
func (db *DB) UnreadNotifications(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, db.query("UnreadNotifications"), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store.UnreadNotifications(%d): %w", userID, err)
	}
	return n, nil
}

// MarkNotificationRead implements store.Work.
func (db *DB) MarkNotificationRead(ctx context.Context, userID, id int64) (n work.Notification, err error) {
	defer derrors.Wrap(&err, "store.MarkNotificationRead(%d)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.query("MarkNotificationRead"), id, userID, db.d.Time(db.now()))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return notFound("notification", id)
		}
		n, err = scanNotification(tx.QueryRowContext(ctx, db.query("GetNotification"), id))
		return err
	})
	return n, err
}

// MarkAllNotificationsRead implements store.Work.
func (db *DB) MarkAllNotificationsRead(ctx context.Context, userID int64) (int, error) {
	res, err := db.w.ExecContext(ctx, db.query("MarkAllNotificationsRead"), userID, db.d.Time(db.now()))
	if err != nil {
		return 0, fmt.Errorf("store.MarkAllNotificationsRead(%d): %w", userID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
