package main

import (
	"context"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
)

// demoTeam plays the demo's team during the replayed history, so that the
// book a newcomer opens looks worked: each day the TAs complete most tasks
// a few days after they came (some run late, the last fortnight's are
// still open), and fill in each Renewal Health Assessment a week after it
// was made, rating it by the account's health — which elevates yellow and
// red renewals to the Lighthouse Program through the playbooks, as it would
// for a real team. Deterministic: the same demo seed plays the same way.
type demoTeam struct {
	st store.Store
	// end is the history's last day: the fortnight before it is left
	// undone.
	end time.Time
}

// surveyComments are what the demo's customers write in the check-in
// survey, by rating.
var surveyComments = map[int][]string{
	1: {"We have not managed to roll it out beyond the admins yet.", "Indexing our monorepo keeps failing."},
	2: {"Search is slow on our largest repositories.", "Our developers do not know where to start."},
	3: {"Works, but we need help with code navigation.", ""},
	4: {"Search is great; we would like to try batch changes.", ""},
	5: {"The team loves it.", "Onboarding was smooth, thank you!", ""},
}

// customers plays the demo's customers on the emails the campaigns sent
// the day before: about a third of the check-in's recipients answer its
// survey — rating it by their account's health, asking for help when it
// is red (which tasks the owner TA through the survey_help playbook) —
// and now and then someone unsubscribes with an email's link.
func (t *demoTeam) customers(ctx context.Context, now time.Time) error {
	for cursor := ""; ; {
		page, err := t.st.ListMessages(ctx, store.OutboxFilter{Channel: store.ChannelEmail, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, m := range page.Messages {
			if m.CreatedAt.Before(now.Add(-48 * time.Hour)) {
				return nil // newest first: the rest are older
			}
			if m.Campaign == "" || m.ContactID == nil || m.AccountID == nil || !m.CreatedAt.Before(now.Add(-24*time.Hour)) {
				continue
			}
			switch {
			case spread(m.ID, "unsubscribe", 120) == 0:
				c, err := t.st.GetContact(ctx, *m.ContactID)
				if err != nil {
					return err
				}
				if err := store.Unsubscribe(ctx, t.st, c, m.Campaign); err != nil {
					return err
				}
			case m.Campaign == "onboarding_checkin" && spread(m.ID, "survey", 3) == 0:
				acc, err := t.st.GetAccount(ctx, *m.AccountID)
				if err != nil {
					return err
				}
				rating := map[string]int{"green": 4 + spread(m.ID, "rating", 2), "yellow": 3 + spread(m.ID, "rating", 2), "red": 1 + spread(m.ID, "rating", 2)}[acc.HealthColor]
				if rating == 0 {
					rating = 3
				}
				comments := surveyComments[rating]
				a := store.SurveyAnswer{Key: m.Key, AccountID: *m.AccountID, ContactID: *m.ContactID, Campaign: m.Campaign,
					Rating: rating, Comment: comments[spread(m.ID, "comment", len(comments))],
					WantsHelp: acc.HealthColor == "red" || spread(m.ID, "help", 6) == 0, At: now}
				if _, err := t.st.RecordSurveyAnswer(ctx, &a); err != nil {
					return err
				}
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}

// spread is a stable pseudo-random number in [0, n) for an id.
func spread(id int64, salt string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(salt + strconv.FormatInt(id, 10)))
	return int(h.Sum32() % uint32(n))
}

// day does one day's work at now.
func (t *demoTeam) day(ctx context.Context, now time.Time) error {
	if err := t.customers(ctx, now); err != nil {
		return err
	}
	if now.After(t.end.AddDate(0, 0, -14)) {
		// The last fortnight is left for the newcomer: open tasks, some
		// overdue, health assessments to rate.
		return nil
	}
	for cursor := ""; ; {
		page, err := t.st.ListTasks(ctx, work.TaskFilter{Status: work.StatusOpen, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, task := range page.Tasks {
			// Done 1–12 days after it came; one in eight never by hand.
			wait := 1 + spread(task.ID, "task", 12)
			if spread(task.ID, "skip", 8) == 0 || now.Sub(task.CreatedAt) < time.Duration(wait)*24*time.Hour {
				continue
			}
			by := account.Actor{UserID: task.AssigneeID, Name: "demo team"}
			if _, err := t.st.ModifyTask(ctx, task.ID, func(x *work.Task) error {
				x.Status = work.StatusDone
				return nil
			}, by); err != nil {
				return err
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return t.rateAssessments(ctx, now)
}

// rateAssessments rates the health assessments made a week or more ago and
// not rated yet, by the account's health colour.
func (t *demoTeam) rateAssessments(ctx context.Context, now time.Time) error {
	for cursor := ""; ; {
		page, err := t.st.ListAccounts(ctx, account.Filter{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, a := range page.Accounts {
			if a.RenewalDate.IsZero() || a.HealthColor == "" {
				continue
			}
			docs, err := t.st.ListDocs(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, d := range docs {
				if d.Template != "health_assessment" || d.Fields["rating"] != nil || now.Sub(d.CreatedAt) < 7*24*time.Hour {
					continue
				}
				rating := a.HealthColor
				if _, err := t.st.ModifyDoc(ctx, d.ID, func(x *work.Doc) error {
					x.Fields["rating"] = rating
					x.Fields["reviewed_with_managers"] = true
					return nil
				}, account.Actor{UserID: a.OwnerID, Name: "demo team"}); err != nil {
					return err
				}
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}
