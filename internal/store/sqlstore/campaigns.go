package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// maxEnrollmentLimit caps a page of enrollments and a due batch.
const maxEnrollmentLimit = 1000

func scanEnrollment(row interface{ Scan(...any) error }) (store.Enrollment, error) {
	var e store.Enrollment
	err := row.Scan(&e.ID, &e.Campaign, &e.AccountID, &e.Key, &e.Status, &e.Entry, &e.Step, &e.Seq, timeVal{&e.EnteredAt},
		timeVal{&e.StepStartedAt}, timeVal{&e.WakeAt}, &e.Watch, &e.Sent, &e.ExitReason, &e.Decision, timeVal{&e.UpdatedAt},
		&e.AccountName)
	return e, err
}

// Enroll implements store.Campaigns.
func (db *DB) Enroll(ctx context.Context, es []*store.Enrollment) (inserted []bool, err error) {
	defer derrors.Wrap(&err, "store.Enroll(%d)", len(es))
	for i, e := range es {
		if err := validEnrollment(e); err != nil {
			err.Message = fmt.Sprintf("enrollment %d: %s", i, err.Message)
			return nil, err
		}
	}
	inserted = make([]bool, len(es))
	now := db.now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		ids := make([]int64, len(es))
		for i, e := range es {
			ids[i] = e.AccountID
		}
		exists, err := db.accountsExist(ctx, tx, ids)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, db.query("InsertEnrollment"))
		if err != nil {
			return err
		}
		defer st.Close()
		for i, e := range es {
			if !exists[e.AccountID] {
				continue
			}
			if inserted[i], err = db.insertEnrollment(ctx, st, e, now); err != nil {
				return err
			}
		}
		return nil
	})
	return inserted, err
}

// accountsExist says which of the accounts exist, inside a write
// transaction: what it inserts for them next cannot fail their foreign key
// (on SQLite nobody else writes meanwhile; PostgreSQL's inserts check again).
func (db *DB) accountsExist(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]bool, error) {
	rows, err := db.queryIDs(ctx, tx, "AccountsExist", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// validEnrollment checks an enrollment to insert.
func validEnrollment(e *store.Enrollment) *derrors.Error {
	if e.Campaign == "" || e.Key == "" || e.AccountID <= 0 {
		return derrors.New(derrors.Invalid, "an enrollment needs a campaign, a key and an account")
	}
	if len(e.Key) > store.MaxMessageKey {
		return derrors.Field(derrors.Invalid, "key", "is longer than %d bytes", store.MaxMessageKey)
	}
	return nil
}

// insertEnrollment inserts one enrollment of an account that exists
// (accountsExist) with the InsertEnrollment statement of a transaction
// (Enroll, and RecordFirings for a campaign's entry): false when its key
// exists or its account is in the campaign already.
func (db *DB) insertEnrollment(ctx context.Context, st *sql.Stmt, e *store.Enrollment, now time.Time) (bool, error) {
	if e.EnteredAt.IsZero() {
		e.EnteredAt = now
	}
	e.EnteredAt = msTime(e.EnteredAt)
	if e.StepStartedAt.IsZero() {
		e.StepStartedAt = e.EnteredAt
	}
	e.StepStartedAt = msTime(e.StepStartedAt)
	if e.WakeAt.IsZero() {
		e.WakeAt = e.EnteredAt
	}
	e.WakeAt = msTime(e.WakeAt)
	id, ok, err := db.insertID(ctx, st, e.Campaign, e.AccountID, e.Key, e.Entry, e.Step, e.Seq, db.d.Time(e.EnteredAt),
		db.d.Time(e.StepStartedAt), db.d.Time(e.WakeAt), e.Watch, e.Decision, db.d.Time(now))
	if err != nil || !ok {
		return false, err
	}
	e.ID, e.Status, e.UpdatedAt = id, store.EnrollmentActive, now
	return true, nil
}

// DueEnrollments implements store.Campaigns.
func (db *DB) DueEnrollments(ctx context.Context, now time.Time, limit int) (out []store.Enrollment, err error) {
	defer derrors.Wrap(&err, "store.DueEnrollments")
	limit = min(max(limit, 1), maxEnrollmentLimit)
	rows, err := db.r.QueryContext(ctx, db.query("DueEnrollments"), db.d.Time(msTime(now)), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// WatchingEnrollments implements store.Campaigns.
func (db *DB) WatchingEnrollments(ctx context.Context, accountIDs []int64) (out []store.Enrollment, err error) {
	defer derrors.Wrap(&err, "store.WatchingEnrollments(%d)", len(accountIDs))
	if accountIDs == nil {
		rows, err := db.r.QueryContext(ctx, db.query("AllWatchingEnrollments"))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEnrollment(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, rows.Err()
	}
	if len(accountIDs) == 0 {
		return nil, nil
	}
	st, err := db.r.PrepareContext(ctx, db.query("WatchingEnrollments"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for _, id := range accountIDs {
		rows, err := st.QueryContext(ctx, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			e, err := scanEnrollment(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, e)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveEnrollment implements store.Campaigns.
func (db *DB) SaveEnrollments(ctx context.Context, es []*store.Enrollment) (saved []bool, err error) {
	defer derrors.Wrap(&err, "store.SaveEnrollments(%d)", len(es))
	for _, e := range es {
		switch e.Status {
		case store.EnrollmentActive, store.EnrollmentDone, store.EnrollmentExited:
		default:
			return nil, derrors.Field(derrors.Invalid, "status", "enrollment %d: %q is not an enrollment status", e.ID, e.Status)
		}
	}
	if len(es) == 0 {
		return nil, nil
	}
	saved = make([]bool, len(es))
	now := db.now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.query("SaveEnrollment"))
		if err != nil {
			return err
		}
		defer st.Close()
		for i, e := range es {
			watch := e.Watch && e.Status == store.EnrollmentActive
			res, err := st.ExecContext(ctx, e.ID, e.Status, e.Step, e.Seq, db.d.Time(msTime(e.StepStartedAt)),
				db.d.Time(msTime(e.WakeAt)), watch, e.Sent, e.ExitReason, truncate(e.Decision, 4000), db.d.Time(now))
			if err != nil {
				return fmt.Errorf("enrollment %d: %w", e.ID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			saved[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		if saved[i] {
			e.StepStartedAt, e.WakeAt = msTime(e.StepStartedAt), msTime(e.WakeAt)
			e.Watch, e.UpdatedAt = e.Watch && e.Status == store.EnrollmentActive, now
		}
	}
	return saved, nil
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// EndEnrollments implements store.Campaigns.
func (db *DB) EndEnrollments(ctx context.Context, accountID int64, campaign, reason string, at time.Time) (n int, err error) {
	defer derrors.Wrap(&err, "store.EndEnrollments(%d, %q)", accountID, campaign)
	if at.IsZero() {
		at = db.now()
	}
	res, err := db.w.ExecContext(ctx, db.query("EndEnrollments"), accountID, campaign, reason, db.d.Time(msTime(at)))
	if err != nil {
		return 0, err
	}
	k, err := res.RowsAffected()
	return int(k), err
}

// GetEnrollment implements store.Campaigns.
func (db *DB) GetEnrollment(ctx context.Context, id int64) (store.Enrollment, error) {
	e, err := scanEnrollment(db.r.QueryRowContext(ctx, db.query("GetEnrollment"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, derrors.New(derrors.NotFound, "enrollment %d not found", id)
	}
	if err != nil {
		return e, fmt.Errorf("store.GetEnrollment(%d): %w", id, err)
	}
	return e, nil
}

// ListEnrollments implements store.Campaigns.
func (db *DB) ListEnrollments(ctx context.Context, f store.EnrollmentFilter) (page store.EnrollmentPage, err error) {
	defer derrors.Wrap(&err, "store.ListEnrollments")
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, maxEnrollmentLimit)
	offset, err := decodeOffset(f.Cursor)
	if err != nil {
		return page, err
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListEnrollments"), f.Campaign, f.AccountID, f.Status, f.Step, f.Limit+1, offset)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Enrollments = []store.Enrollment{}
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return page, err
		}
		page.Enrollments = append(page.Enrollments, e)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Enrollments) > f.Limit {
		page.Enrollments = page.Enrollments[:f.Limit]
		page.Next = encodeOffset(offset + f.Limit)
	}
	return page, nil
}

// CampaignStats implements store.Campaigns.
func (db *DB) CampaignStats(ctx context.Context) (out map[string]store.CampaignStats, err error) {
	defer derrors.Wrap(&err, "store.CampaignStats")
	out = map[string]store.CampaignStats{}
	get := func(c string) store.CampaignStats {
		s, ok := out[c]
		if !ok {
			s = store.CampaignStats{ByStatus: map[string]int{}, ActiveBySteps: map[string]int{}}
			out[c] = s
		}
		return s
	}
	for _, q := range []string{"CampaignStatusCounts", "CampaignStepCounts", "CampaignSurveyCounts"} {
		rows, err := db.r.QueryContext(ctx, db.query(q))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c, k string
			var n int
			if err := rows.Scan(&c, &k, &n); err != nil {
				rows.Close()
				return nil, err
			}
			switch q {
			case "CampaignStatusCounts":
				get(c).ByStatus[k] = n
			case "CampaignStepCounts":
				get(c).ActiveBySteps[k] = n
			default:
				s := get(c)
				s.SurveyAnswers = n
				out[c] = s
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// surveySignal is the data of a survey_answered signal, as the playbook
// runner reads signals: To is "help" when the contact asked for help,
// else the rating ("1" … "5"); Source the campaign.
type surveySignal struct {
	To     string `json:"to"`
	Source string `json:"source"`
}

// RecordSurveyAnswer implements store.Campaigns.
func (db *DB) RecordSurveyAnswer(ctx context.Context, a *store.SurveyAnswer) (created bool, err error) {
	defer derrors.Wrap(&err, "store.RecordSurveyAnswer(%q)", a.Key)
	a.Comment = strings.TrimSpace(strings.ReplaceAll(a.Comment, "\r\n", "\n"))
	switch {
	case a.Key == "" || len(a.Key) > store.MaxMessageKey:
		return false, derrors.Field(derrors.Invalid, "key", "is required, at most %d bytes", store.MaxMessageKey)
	case a.Rating < 1 || a.Rating > 5:
		return false, derrors.Field(derrors.Unprocessable, "rating", "must be a whole number from 1 to 5")
	case utf8.RuneCountInString(a.Comment) > store.MaxSurveyComment:
		return false, derrors.Field(derrors.Unprocessable, "comment", "is longer than %d characters", store.MaxSurveyComment)
	}
	if a.At.IsZero() {
		a.At = db.now()
	}
	a.At = msTime(a.At)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.query("SurveyAnswerExists"), a.Key).Scan(&n); err != nil {
			return err
		}
		c, err := scanContact(tx.QueryRowContext(ctx, db.query("GetContact"), a.ContactID))
		if errors.Is(err, sql.ErrNoRows) || err == nil && c.AccountID != a.AccountID {
			return derrors.Field(derrors.NotFound, "contact_id", "contact %d of account %d not found", a.ContactID, a.AccountID)
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, db.query("UpsertSurveyAnswer"), a.Key, a.AccountID, a.ContactID, a.Campaign, a.Rating,
			a.Comment, a.WantsHelp, db.d.Time(a.At)).Scan(&a.ID); err != nil {
			return err
		}
		created = n == 0
		who := c.Name
		if who == "" {
			who = c.Email
		}
		body := fmt.Sprintf("%s rated %d of 5", who, a.Rating)
		if a.WantsHelp {
			body += " and would like help from the team"
		}
		if a.Comment != "" {
			body += ": " + a.Comment
		}
		if err := db.addActivity(ctx, tx, &account.Activity{AccountID: a.AccountID, Kind: account.ActivitySurvey,
			Actor: "survey " + a.Campaign, Body: body, At: a.At}); err != nil {
			return err
		}
		sig := surveySignal{To: strconv.Itoa(a.Rating), Source: a.Campaign}
		if a.WantsHelp {
			sig.To = "help"
		}
		data, err := json.Marshal(sig)
		if err != nil {
			return err
		}
		return db.addSignals(ctx, tx, []store.Signal{{AccountID: a.AccountID, Kind: "survey_answered", Data: data, At: a.At}})
	})
	return created, err
}

// ListSurveyAnswers implements store.Campaigns.
func (db *DB) ListSurveyAnswers(ctx context.Context, f store.SurveyFilter) (out []store.SurveyAnswer, err error) {
	defer derrors.Wrap(&err, "store.ListSurveyAnswers")
	if f.Limit <= 0 || f.Limit > maxEnrollmentLimit {
		f.Limit = 100
	}
	rows, err := db.r.QueryContext(ctx, db.query("ListSurveyAnswers"), f.AccountID, f.Campaign, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = []store.SurveyAnswer{}
	for rows.Next() {
		var a store.SurveyAnswer
		if err := rows.Scan(&a.ID, &a.Key, &a.AccountID, &a.ContactID, &a.Campaign, &a.Rating, &a.Comment, &a.WantsHelp,
			timeVal{&a.At}, &a.AccountName, &a.ContactEmail); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Secret implements store.Campaigns.
func (db *DB) Secret(ctx context.Context, name string) (b []byte, err error) {
	defer derrors.Wrap(&err, "store.Secret(%q)", name)
	if err := db.r.QueryRowContext(ctx, db.query("Secret"), name).Scan(&b); err == nil {
		return b, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	// Two processes may race to make it: the first insert wins and both
	// read it back.
	if _, err := db.w.ExecContext(ctx, db.query("InsertSecret"), name, fresh); err != nil {
		return nil, err
	}
	err = db.w.QueryRowContext(ctx, db.query("Secret"), name).Scan(&b)
	return b, err
}
