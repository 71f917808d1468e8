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

// spread is a stable pseudo-random number in [0, n) for an id.
func spread(id int64, salt string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(salt + strconv.FormatInt(id, 10)))
	return int(h.Sum32() % uint32(n))
}

// day does one day's work at now.
func (t *demoTeam) day(ctx context.Context, now time.Time) error {
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
