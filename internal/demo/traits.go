package demo

import (
	"fmt"

	"github.com/tendhq/tend/internal/account"
)

// metricLevel draws how one metric is doing on an account with the given
// story: mostly in line with it, sometimes better or worse, as real
// accounts are never uniformly good or bad.
func (g *generator) metricLevel(story level) level {
	return pick(g.rng, levels, metricOdds[story])
}

var (
	levels = []level{healthy, concerning, poor}
	// metricOdds[story] are the chances of a metric being healthy,
	// concerning or poor.
	metricOdds = [...][]float64{healthy: {82, 13, 5}, concerning: {35, 45, 20}, poor: {15, 30, 55}}
	// pulseOdds[story] are the chances of the TA calling the account
	// Healthy, Concerning or Poor.
	pulseOdds = [...][]float64{healthy: {90, 10, 0}, concerning: {20, 70, 10}, poor: {0, 40, 60}}
	pulses    = []string{"Healthy", "Concerning", "Poor"}
)

// missing reports whether a value is left out: real books have gaps.
func (g *generator) missing() bool { return g.rng.Float64() < 0.06 }

// traits draws the account's trait values within the health bands of 004
// (DESIGN.md §3), so that the health score tells the account's story.
func (g *generator) traits(p *plan, target, region string) {
	a := &p.acct
	add := func(key string, value any, source string) {
		p.traits = append(p.traits, traitVal{key, value, source})
	}
	if g.rng.Float64() < 0.99 {
		add("region", region, account.SourceCRM)
	}
	if target == stageProspect {
		// A live deal: recent activity, no product usage or tickets yet.
		add("last_activity_date", g.today.AddDays(-g.between(0, 12)).String(), account.SourceCRM)
		if p.owner != nil && g.rng.Float64() < 0.5 {
			add("access_to_buyer", true, account.SourceManual)
		}
		return
	}

	// Manual traits: set by the account's TA; an account without one has
	// nobody to judge them.
	if p.owner != nil {
		pulse := g.pulse(p.story)
		if !g.missing() {
			add("ta_pulse", pulse, account.SourceManual)
			// Some TAs lowered the pulse recently: record where it was.
			if pulse != "Healthy" && g.rng.Float64() < 0.4 {
				before := "Healthy"
				if pulse == "Poor" && g.rng.IntN(2) == 0 {
					before = "Concerning"
				}
				p.before = append(p.before, traitVal{"ta_pulse", before, account.SourceManual})
			}
		}
		champion := g.metricLevel(p.story)
		if !g.missing() {
			has := champion == healthy || (champion == concerning && g.rng.IntN(2) == 0)
			add("active_champion", has, account.SourceManual)
			if !has && g.rng.Float64() < 0.3 {
				p.before = append(p.before, traitVal{"active_champion", true, account.SourceManual})
			}
		}
		buyer := g.metricLevel(p.story)
		if !g.missing() {
			add("access_to_buyer", buyer == healthy || (buyer == concerning && g.rng.Float64() < 0.6), account.SourceManual)
		}
		if a.Program == programManaged && target != stageOnboarding && g.rng.Float64() < 0.6 {
			add("success_plan_url", "https://wiki.tend.demo/success-plans/"+a.AnalyticsID[len("grp_"):], account.SourceManual)
		}
	}

	// CRM: some renewals due within a month were processed early (004,
	// "Process Renewal": "AE: Renewal opportunity processed accordingly"),
	// with an outcome that follows the account's story; the rules then move
	// the account out of Renewing, or end it on a full churn.
	if target == stageRenewing && g.today.DaysUntil(a.RenewalDate) <= 30 && g.rng.Float64() < 0.4 {
		outcomes := map[level][]string{
			healthy:    {"Flat", "Incremental"},
			concerning: {"Flat", "Partial churn"},
			poor:       {"Partial churn", "Full churn"},
		}[p.story]
		add("renewal_outcome", outcomes[g.rng.IntN(2)], account.SourceCRM)
	}

	// CRM: days since the last logged activity (≤ 14 healthy, ≥ 30 poor).
	if !g.missing() {
		var ago int
		switch g.metricLevel(p.story) {
		case healthy:
			ago = g.between(0, 14)
		case concerning:
			ago = g.between(15, 29)
		default:
			ago = g.between(30, 75)
		}
		add("last_activity_date", g.today.AddDays(-ago).String(), account.SourceCRM)
	}

	// Warehouse: technical health (versions behind ≤ 2 / > 4; defects
	// < 2 / ≥ 5; help tickets < 10 / ≥ 15). Cloud instances are always
	// current.
	behind := 0
	if a.Deployment == "self_hosted" {
		switch g.metricLevel(p.story) {
		case healthy:
			behind = g.between(0, 2)
		case concerning:
			behind = g.between(3, 4)
		default:
			behind = g.between(5, 10)
		}
		if !g.missing() {
			add("instance_version", fmt.Sprintf("%s.%d", releases[len(releases)-1-behind], g.between(0, 9)), account.SourceWarehouse)
		}
	}
	if !g.missing() {
		add("last_month_versions_behind", float64(behind), account.SourceWarehouse)
	}
	if lv := g.metricLevel(p.story); !g.missing() {
		status := "active"
		if lv == poor || (lv == concerning && g.rng.IntN(2) == 0) {
			status = "inactive"
		}
		add("precise_intel_status", status, account.SourceWarehouse)
	}
	if lv := g.metricLevel(p.story); !g.missing() {
		add("defect_tickets_90d", float64([]int{g.between(0, 1), g.between(2, 4), g.between(5, 9)}[lv]), account.SourceWarehouse)
	}
	if lv := g.metricLevel(p.story); !g.missing() {
		add("help_tickets_90d", float64([]int{g.between(0, 9), g.between(10, 14), g.between(15, 24)}[lv]), account.SourceWarehouse)
	}

	// Utilization (usage score ≥ 0.30 / ≤ 0.20; MAU over seats ≥ 0.80 /
	// < 0.50) is computed by the usage engine from the product events; the
	// demo draws where it should end up, and usage.go draws the events
	// that get it there. A customer closed under a month ago has no
	// complete month of usage yet, only a ramp.
	if target == stageOnboarding && a.CloseDate.DaysUntil(g.today) < 30 {
		p.target = usageTarget{usage: p.story, mau: p.story}
		return
	}
	usage, mau := g.metricLevel(p.story), g.metricLevel(p.story)
	switch target {
	case stageNurturing:
		usage, mau = healthy, healthy
	case stageAdopting:
		// Adopting means at least one target is not met yet.
		if usage == healthy && mau == healthy {
			if g.rng.IntN(2) == 0 {
				usage = concerning
			} else {
				mau = concerning
			}
		}
	}
	// Inside each band, away from its edges, so that rounding a count of
	// users never moves an account across a threshold.
	p.target = usageTarget{
		set:   true,
		usage: usage, mau: mau,
		score: []float64{g.uniform(0.31, 0.45), g.uniform(0.22, 0.28), g.uniform(0.07, 0.19)}[usage],
		ratio: []float64{g.uniform(0.82, 1.0), g.uniform(0.53, 0.77), g.uniform(0.12, 0.47)}[mau],
	}
}

// pulse is the TA's read of the account, which mostly matches its story.
func (g *generator) pulse(story level) string {
	return pick(g.rng, pulses, pulseOdds[story])
}

// traitSamples are every enum value and one value of every other type the
// demo writes, to check a workspace before anything is stored.
var traitSamples = []traitVal{
	{"ta_pulse", "Healthy", account.SourceManual},
	{"ta_pulse", "Concerning", account.SourceManual},
	{"ta_pulse", "Poor", account.SourceManual},
	{"active_champion", true, account.SourceManual},
	{"access_to_buyer", true, account.SourceManual},
	{"success_plan_url", "https://wiki.tend.demo/success-plans/x", account.SourceManual},
	{"renewal_outcome", "Full churn", account.SourceCRM},
	{"renewal_outcome", "Partial churn", account.SourceCRM},
	{"renewal_outcome", "Flat", account.SourceCRM},
	{"renewal_outcome", "Incremental", account.SourceCRM},
	{"region", "AMER", account.SourceCRM},
	{"region", "EMEA", account.SourceCRM},
	{"region", "APAC", account.SourceCRM},
	{"last_activity_date", "2026-01-15", account.SourceCRM},
	{"last_month_versions_behind", 1.0, account.SourceWarehouse},
	{"precise_intel_status", "active", account.SourceWarehouse},
	{"precise_intel_status", "inactive", account.SourceWarehouse},
	{"defect_tickets_90d", 1.0, account.SourceWarehouse},
	{"help_tickets_90d", 1.0, account.SourceWarehouse},
	{"instance_version", "6.4.0", account.SourceWarehouse},
	{"usage_score", 0.3, account.SourceComputed},
	{"last_month_mau_over_seats", 0.8, account.SourceComputed},
}
