package web

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/workspace"
)

// The account page's usage card reads one chart's worth of history.
const (
	chartDays   = 90
	chartMonths = 12
)

// The handbook's status of a utilization metric (004's health model).
const (
	statusHealthy    = "healthy"
	statusConcerning = "concerning"
	statusPoor       = "poor"
)

// usageScoreStatus is 004's reading of a usage score: 0.30 or higher is
// healthy, 0.20 or less is poor, between is concerning.
func usageScoreStatus(v float64) string {
	switch {
	case v >= 0.30:
		return statusHealthy
	case v <= 0.20:
		return statusPoor
	}
	return statusConcerning
}

// mauSeatsStatus is 004's reading of last month's MAU over seats: 0.80 is
// healthy, under 0.50 is poor, between is concerning.
func mauSeatsStatus(v float64) string {
	switch {
	case v >= 0.80:
		return statusHealthy
	case v < 0.50:
		return statusPoor
	}
	return statusConcerning
}

// usageCard is the account page's usage card: the charts, the numbers
// beside them and the features adopted.
type usageCard struct {
	// Connected is false when the server runs without a usage engine.
	Connected bool
	// Active is true once the account has sent any event.
	Active bool
	// FromWarehouse says the utilization ratios are the warehouse's traits
	// (settings.yaml usage.metrics_source), not computed from events.
	FromWarehouse bool
	AsOf          time.Time
	DAU, MAU      barChart
	Stats         []usageStat
	Features      []featureRow
	// GroupIDs are the ids events may name the account by, for the hint
	// shown before the first event.
	GroupIDs []string
}

// usageStat is one number beside the charts.
type usageStat struct {
	Label string
	Value string
	// Note is a muted remark after the value ("212 of 250 seats").
	Note string
	// Status is healthy, concerning or poor for the handbook's metrics.
	Status string
	// Trend compares with a month before: "▲ 0.04 vs Jan"; Dir is up,
	// down or flat.
	Trend, Dir string
	// Help explains the metric (a tooltip).
	Help string
}

// featureRow is one feature the account has adopted.
type featureRow struct {
	Name      string
	FirstUsed date.Date
	Users     int
}

// loadUsage builds the usage card of an account from the usage engine;
// traits are the account's trait values, which hold the ratios when the
// warehouse is their source.
func (ui *UI) loadUsage(ctx context.Context, a account.Account, traits []account.TraitValue) (usageCard, error) {
	card := usageCard{FromWarehouse: ui.ws.Settings.Usage.MetricsSource == workspace.MetricsFromWarehouse}
	for _, id := range []string{a.AnalyticsID, a.ExternalID} {
		if id != "" {
			card.GroupIDs = append(card.GroupIDs, id)
		}
	}
	if ui.usage == nil {
		return card, nil
	}
	card.Connected = true
	ch, err := ui.usage.Chart(ctx, a.ID, chartDays, chartMonths)
	if err != nil {
		return card, err
	}
	m := ch.Metrics
	card.AsOf = m.AsOf
	card.Active = m.FirstPing != nil
	card.DAU = dauChart(ch.DAU)
	card.MAU = mauChart(ch.MAU, ch.Seats)
	loc := ui.location()
	for _, f := range ch.Features {
		card.Features = append(card.Features, featureRow{Name: f.Name, FirstUsed: date.Of(f.FirstUsed.In(loc)), Users: f.Users})
	}

	lastName, beforeName := monthName(m.LastMonth), monthName(m.LastMonth-1)
	mauBefore, hasBefore := monthUsers(ch.MAU, m.LastMonth-1)
	card.Stats = append(card.Stats,
		usageStat{Label: "Active today", Value: number(m.DAU), Note: "so far", Help: "Distinct users active today, in the workspace's time zone."},
		usageStat{Label: "Active, last 7 days", Value: number(m.Active7), Help: "Distinct users active on any of the last 7 days, today included."},
		usageStat{Label: "Active, last 30 days", Value: number(m.Active30), Help: "Distinct users active on any of the last 30 days, today included."},
	)
	mau := usageStat{Label: "MAU, " + lastName, Value: number(m.LastMonthMAU),
		Help: "Monthly active users of the last complete month: distinct users active on any of its days."}
	if hasBefore {
		mau.Trend, mau.Dir = trend(float64(m.LastMonthMAU-mauBefore), 0, beforeName)
	}
	card.Stats = append(card.Stats, mau)

	score := usageStat{Label: "Usage score", Value: "—",
		Help: "004: mean daily active users over the last 4 weeks ÷ last month's MAU. 0.30 or higher is healthy, 0.20 or less is poor."}
	seats := usageStat{Label: "MAU / seats", Value: "—",
		Help: "004: last month's MAU ÷ licensed seats. 0.80 is healthy, under 0.50 is poor."}
	if card.FromWarehouse {
		score.Note, seats.Note = "from the warehouse", "from the warehouse"
		for _, v := range traits {
			f, ok := v.Value.(float64)
			if !ok {
				continue
			}
			switch v.Key {
			case "usage_score":
				score.Value, score.Status = ratio(f), usageScoreStatus(f)
			case "last_month_mau_over_seats":
				seats.Value, seats.Status = ratio(f), mauSeatsStatus(f)
			}
		}
	} else {
		if s := m.UsageScore; s != nil {
			score.Value, score.Status = ratio(*s), usageScoreStatus(*s)
			if prev, asOf, ok := previousUsageScore(ch.DAU, ch.MAU, m.Today); ok {
				score.Trend, score.Dir = trend(*s-prev, 2, asOf)
			}
		} else {
			score.Note = "no MAU last month"
		}
		if r := m.LastMonthMAUOverSeats; r != nil {
			seats.Value, seats.Status = ratio(*r), mauSeatsStatus(*r)
			if hasBefore && ch.Seats > 0 {
				seats.Trend, seats.Dir = trend(*r-float64(mauBefore)/float64(ch.Seats), 2, beforeName)
			}
		} else {
			seats.Note = "no seats"
		}
	}
	// The handbook's two ratios lead: they are 75% of the health score.
	card.Stats = append([]usageStat{score, seats}, card.Stats...)

	util := usageStat{Label: "Seat utilization", Value: "—", Note: "no seats",
		Help: "Active users over the last 30 days ÷ seats: the account executive hears at 90% and 100%."}
	if u := m.SeatUtilization; u != nil {
		util.Value = fmt.Sprintf("%.0f%%", *u*100)
		util.Note = fmt.Sprintf("%s of %s seats", number(m.Active30), number(m.Seats))
	}
	first := usageStat{Label: "First usage ping", Value: "—", Note: "none yet", Help: "When the account's first product event happened."}
	if m.FirstPing != nil {
		d := date.Of(m.FirstPing.In(loc))
		first.Value, first.Note = d.String(), relDays(date.Of(m.AsOf.In(loc)), d)
	}
	card.Stats = append(card.Stats, util, first)
	return card, nil
}

// location is the workspace's time zone, in which usage days are counted.
func (ui *UI) location() *time.Location {
	if l := ui.ws.Settings.Location; l != nil {
		return l
	}
	return time.UTC
}

// monthName is a month for people: "Feb".
func monthName(m usage.Month) string {
	y, mm := m.Date()
	return time.Date(y, mm, 1, 0, 0, 0, 0, time.UTC).Format("Jan")
}

// monthUsers finds a month's MAU in a series.
func monthUsers(series []usage.MonthCount, m usage.Month) (int, bool) {
	for _, p := range series {
		if p.Month == m {
			return p.Users, true
		}
	}
	return 0, false
}

// previousUsageScore is the usage score as it stood on the same day a
// month ago (the last day of last month when it has no such day), from the
// chart's series: the mean DAU over the 28 days before that day ÷ the MAU
// of the month before it. It reports false when the series are too short
// or that month had no users.
func previousUsageScore(dau []usage.DayCount, mau []usage.MonthCount, today usage.Day) (float64, string, bool) {
	t := today.Date().Time(time.UTC)
	y, m, d := t.Date()
	prev := time.Date(y, m-1, 1, 0, 0, 0, 0, time.UTC)
	if last := prev.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	prev = time.Date(prev.Year(), prev.Month(), d, 0, 0, 0, 0, time.UTC)
	asOf := usage.DayFromDate(date.Of(prev))
	byDay := make(map[usage.Day]int, len(dau))
	for _, p := range dau {
		byDay[p.Day] = p.Users
	}
	if len(dau) == 0 || dau[0].Day > asOf-usage.UsageScoreDays {
		return 0, "", false
	}
	sum := 0
	for day := asOf - usage.UsageScoreDays; day < asOf; day++ {
		sum += byDay[day]
	}
	before, ok := monthUsers(mau, asOf.Month()-1)
	if !ok || before == 0 {
		return 0, "", false
	}
	return float64(sum) / float64(usage.UsageScoreDays*before), prev.Format("2 Jan"), true
}

// trend words a change against an earlier value: "▲ 0.04 vs Jan"; places
// is the number's decimals. Changes that round to zero are flat.
func trend(delta float64, places int, vs string) (string, string) {
	scale := math.Pow(10, float64(places))
	delta = math.Round(delta*scale) / scale
	abs := fmt.Sprintf("%.*f", places, math.Abs(delta))
	if places == 0 {
		abs = number(int(math.Abs(delta)))
	}
	switch {
	case delta > 0:
		return "▲ " + abs + " vs " + vs, "up"
	case delta < 0:
		return "▼ " + abs + " vs " + vs, "down"
	}
	return "no change vs " + vs, "flat"
}
