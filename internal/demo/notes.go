package demo

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
)

// noteTemplate is a note a TA might write. {placeholders} are filled from
// the account; a template whose placeholders the account cannot fill (no
// champion, no usage yet) is not used for it.
type noteTemplate struct {
	// when selects the accounts: a stage, "concern" (a concerning or poor
	// story) or "behind" (a self-hosted instance 3+ versions behind).
	when string
	text string
}

var noteTemplates = []noteTemplate{
	{stageProspect, "Intro call with {buyer} and {program}, together with {ce}. They are evaluating {product} for about {devs} developers; close expected {expected}."},
	{stageProspect, "Joined {ce}'s technical validation call. {program} asked about SSO, repository permissions and the rollout plan; sent them our onboarding guide."},
	{stageProspect, "Handoff prep: read {ce}'s discovery notes. Success criteria are faster onboarding of new hires and less time hunting for code owners."},
	{stageProspect, "{ae} shared the proposal ({arr}, {seats} seats). {buyer} wants a pilot team named before signing."},

	{stageOnboarding, "Kick-off with {program} and {admin}. Agreed a 60-day rollout: admin training first, then 101 sessions for the pilot teams."},
	{stageOnboarding, "Admin training with {admin}: SSO and repository permissions are configured. Rolling out to the first {pilot} developers next week."},
	{stageOnboarding, "Handoff call with {ce} and {ae}; success criteria are in the handoff doc. Production license issued for {seats} seats."},
	{stageOnboarding, "Sent the end-user onboarding kit to {program}; they will announce {product} at their engineering all-hands on Thursday."},
	{stageOnboarding, "{admin} finished the first full repository sync overnight. Next: code host webhooks and the usage dashboard."},

	{stageAdopting, "Monthly sync with {program}. Monthly active users are at {mau_low} of seats; agreed on two more enablement webinars to get to 80%."},
	{stageAdopting, "Usage score is {usage_low}: most developers search only occasionally. Proposed saved searches and alerts for the on-call teams."},
	{stageAdopting, "Ran a 101 webinar for about 40 developers; shared the recording with {program} for their LMS."},
	{stageAdopting, "{champion} wants to use {product} in onboarding for new hires; setting up a pilot with the platform team."},
	{stageAdopting, "Reviewed adoption by team with {program}: the mobile and data teams are barely active. Planning targeted office hours."},

	{stageNurturing, "QBR with {buyer} and {champion}: {mau} of seats active last month. Next quarter: help with their monorepo migration."},
	{stageNurturing, "{champion} agreed to join our customer webinar next month; looped in {ae} about a case study."},
	{stageNurturing, "Advanced search training for the platform team. They want to automate dependency upgrades across all repositories."},
	{stageNurturing, "Check-in with {program}: steady usage and no open issues. Shared the release notes for the latest version."},
	{stageNurturing, "{program} asked about adding {other} for their platform org; passed the lead to {ae}."},

	{stageRenewing, "Renewal health assessment started with {ae}; renewal date {renewal}."},
	{stageRenewing, "{buyer} confirmed budget for the renewal and asked about {more} more seats for the new platform org."},
	{stageRenewing, "Renewal prep with {ae}: {mau} of seats active last month. Sent the usage summary to {buyer} and {program}."},
	{stageRenewing, "Walked {buyer} through the value review: time to first commit for new hires, incidents resolved faster, usage trend."},

	{"concern", "No reply from {program} to my last two check-ins; asked {ae} to reach out to {buyer}."},
	{"concern", "Escalated their open defects ({defects} in the last 90 days) with support leadership; {admin} is frustrated with the time to fix."},
	{"concern", "Usage dropped after their reorg. {program} says the team that sponsored us moved; we need a new champion."},
	{"concern", "{buyer} mentioned budget cuts and a review of all developer tools before the renewal."},
	{"concern", "Help tickets are up ({help} in 90 days), mostly search syntax questions. Offered {program} a refresher webinar."},

	{"behind", "The instance is {behind} versions behind ({version}). Sent the upgrade guide to {admin}; they plan to upgrade in the next maintenance window."},
}

// notes draws one to four notes by the account's TA (its AE when it has
// none), dated in the past, and one for each recorded trait change.
func (g *generator) notes(p *plan) {
	a := &p.acct
	vals := g.noteValues(p)
	behind := numTrait(p.traits, "last_month_versions_behind")
	var fits []string
	for _, t := range noteTemplates {
		ok := t.when == a.Stage ||
			(t.when == "concern" && p.story != healthy && a.Stage != stageProspect) ||
			(t.when == "behind" && behind != nil && *behind >= 3)
		if ok && fillable(t.text, vals) {
			fits = append(fits, t.text)
		}
	}
	// Notes span the time we have known the account, up to five months.
	span := 30
	if !a.CloseDate.IsZero() {
		span = max(1, min(a.CloseDate.DaysUntil(g.today), 150))
	}
	n := g.between(1, 4)
	if a.Stage == stageProspect {
		n = g.between(1, 2)
	}
	for range min(n, len(fits)) {
		i := g.rng.IntN(len(fits))
		g.note(p, fill(fits[i], vals), g.between(1, span))
		fits = slices.Delete(fits, i, i+1)
	}
	for _, b := range p.before {
		ago := min(g.between(7, 21), span)
		switch b.key {
		case "ta_pulse":
			now, _ := traitValue(p.traits, "ta_pulse")
			reason := pick(g.rng, []string{
				"usage has been flat for two months and {program} stopped replying",
				"{admin} escalated a search outage to their leadership",
				"the team that sponsored us was reorganised",
				"{buyer} asked for a tools budget review before the renewal",
			}, nil)
			g.note(p, fill(fmt.Sprintf("Moved the TA pulse from %s to %s: %s.", b.value, now, reason), vals), ago)
		case "active_champion":
			g.note(p, fill("Our champion has left {company}, so we have no active champion now. Asking {program} who could take over the rollout.", vals), ago)
		}
	}
}

// note adds a note written daysAgo, during the working day.
func (g *generator) note(p *plan, body string, daysAgo int) {
	at := g.today.AddDays(-daysAgo).Time(time.UTC).Add(time.Duration(g.between(9*60, 17*60+50)) * time.Minute)
	p.notes = append(p.notes, account.Activity{Kind: account.ActivityNote, ActorID: &p.author.ID,
		Actor: p.author.Email, Body: body, At: at})
}

// noteValues are what the templates' placeholders stand for on this
// account; a placeholder the account has no value for is absent.
func (g *generator) noteValues(p *plan) map[string]string {
	a := &p.acct
	v := map[string]string{
		"{company}":  a.Name,
		"{admin}":    p.people.admin,
		"{program}":  p.people.program,
		"{champion}": p.people.champion,
		"{buyer}":    p.people.buyer,
		"{devs}":     fmt.Sprint(a.EstimatedDevelopers),
		"{seats}":    fmt.Sprint(a.Seats),
		"{pilot}":    fmt.Sprint(max(10, a.Seats/5)),
		"{more}":     fmt.Sprint(max(10, roundTo(float64(a.Seats)*0.15, 5))),
		"{arr}":      money(a.ARR),
		"{expected}": a.ExpectedCloseDate.String(),
		"{renewal}":  a.RenewalDate.String(),
		"{product}":  "code search",
		"{other}":    "the AI assistant",
	}
	if slices.Contains(a.Entitlements, "ai_assistant") {
		v["{product}"], v["{other}"] = "the AI assistant", "code search"
		if len(a.Entitlements) == 2 {
			v["{product}"], v["{other}"] = "code search and the AI assistant", ""
		}
	}
	for _, u := range g.staff.users {
		switch {
		case a.AEID != nil && u.ID == *a.AEID:
			v["{ae}"] = firstName(&u)
		case a.CEID != nil && u.ID == *a.CEID:
			v["{ce}"] = firstName(&u)
		}
	}
	// {mau_low} and {usage_low} exist only below the utilization targets,
	// for notes about getting there.
	// The utilization the notes quote is what the usage engine computes
	// from the demo's events.
	if f := numTrait(p.computed, "last_month_mau_over_seats"); f != nil {
		v["{mau}"] = fmt.Sprintf("%.0f%%", *f*100)
		if *f < targetMAUOverSeat {
			v["{mau_low}"] = v["{mau}"]
		}
	}
	if f := numTrait(p.computed, "usage_score"); f != nil && *f < targetUsageScore {
		v["{usage_low}"] = fmt.Sprintf("%.2f", *f)
	}
	if f := numTrait(p.traits, "defect_tickets_90d"); f != nil && *f >= 2 {
		v["{defects}"] = fmt.Sprint(*f)
	}
	if f := numTrait(p.traits, "help_tickets_90d"); f != nil && *f >= 10 {
		v["{help}"] = fmt.Sprint(*f)
	}
	if f := numTrait(p.traits, "last_month_versions_behind"); f != nil && a.Deployment == "self_hosted" {
		v["{behind}"] = fmt.Sprint(*f)
	}
	if s, ok := traitValue(p.traits, "instance_version"); ok {
		v["{version}"] = s.(string)
	}
	for k, s := range v {
		if s == "" {
			delete(v, k)
		}
	}
	return v
}

// fillable reports whether vals has a value for every placeholder of text.
func fillable(text string, vals map[string]string) bool {
	for rest := text; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return true
		}
		j := strings.IndexByte(rest[i:], '}')
		if _, ok := vals[rest[i:i+j+1]]; !ok {
			return false
		}
		rest = rest[i+j+1:]
	}
}

// fill replaces the placeholders of text.
func fill(text string, vals map[string]string) string {
	var b strings.Builder
	for rest := text; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.IndexByte(rest[i:], '}')
		b.WriteString(rest[:i])
		b.WriteString(vals[rest[i:i+j+1]])
		rest = rest[i+j+1:]
	}
}
