package api

import (
	"net/http"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/usage"
)

// The default and largest usage series: the account page's chart shows 90
// days and 12 months; the day bitmaps are kept for good, so a client may
// ask for up to usage.MaxSeries days (about ten years) or ten years of
// months.
const (
	defaultUsageDays   = 90
	defaultUsageMonths = 12
	maxUsageMonths     = 120
)

// usageJSON is GET /accounts/{id}/usage: the account's live metrics, its
// DAU and MAU series and the features it has adopted.
type usageJSON struct {
	AccountID int64 `json:"account_id"`
	// MetricsSource is the workspace's usage.metrics_source: "events" when
	// the utilization traits are these metrics, "warehouse" when a sync
	// sets them instead (the metrics here are still counted from events).
	MetricsSource string          `json:"metrics_source"`
	Metrics       usage.Metrics   `json:"metrics"`
	Series        usageSeries     `json:"series"`
	Features      []usage.Feature `json:"features"`
}

// usageSeries is what a usage chart draws: DAU per day and MAU per month,
// oldest first, the last point being today or this month (partial), and
// the licensed seats to draw MAU against.
type usageSeries struct {
	DAU   []usage.DayCount   `json:"dau"`
	MAU   []usage.MonthCount `json:"mau"`
	Seats int                `json:"seats"`
}

// accountUsage answers with an account's usage as the engine holds it
// now: an event shows here as soon as its ingestion request is answered.
func (a *API) accountUsage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "days", "months")
	if err != nil {
		return err
	}
	days, err := q.intIn("days", defaultUsageDays, 1, usage.MaxSeries)
	if err != nil {
		return err
	}
	months, err := q.intIn("months", defaultUsageMonths, 1, maxUsageMonths)
	if err != nil {
		return err
	}
	if a.usage == nil {
		return derrors.New(derrors.NotFound, "usage is not enabled on this server")
	}
	// The engine counts whatever account id it is asked about; only the
	// store knows whether the account exists.
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	ch, err := a.usage.Chart(r.Context(), id, days, months)
	if err != nil {
		return err
	}
	out := usageJSON{AccountID: id, MetricsSource: a.ws.Settings.Usage.MetricsSource, Metrics: ch.Metrics,
		Series: usageSeries{DAU: ch.DAU, MAU: ch.MAU, Seats: ch.Seats}, Features: ch.Features}
	if out.Features == nil {
		out.Features = []usage.Feature{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
