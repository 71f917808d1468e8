package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/usage"
)

// generator draws the book. Every account has its own random stream,
// seeded from the seed and its position, so the seed fixes the book, and a
// larger book with the same seed starts with the smaller one.
type generator struct {
	seed uint64
	// rng is the current account's stream.
	rng   *rand.Rand
	today date.Date
	// now is the demo's instant and loc the workspace's time zone, in
	// which product usage is counted by day.
	now time.Time
	loc *time.Location
	// factors caches dayFactor for the days from factorsFrom.
	factors     []float64
	factorsFrom usage.Day
	staff       *staff
	// nameRNG orders the company names; names is the current block's order
	// of brand×industry pairs.
	nameRNG *rand.Rand
	names   []int
	// seen holds the external ids already issued (accounts and contacts).
	seen map[string]bool
}

// plan is one account and everything that hangs off it, drawn before any
// of it is stored (the store assigns the ids).
type plan struct {
	acct account.Account
	// story is how the account is doing; the traits, notes and pulse agree
	// with it.
	story level
	owner *team.User
	// author writes the account's notes: its TA, else its AE.
	author *team.User
	// traits are the current values; before are earlier values of some of
	// them, written first so that the trait history shows a change.
	traits, before []traitVal
	// target says how the account's product usage should end up (none for
	// prospects); usage is that usage, day by day, and computed the
	// utilization traits the usage engine will derive from it.
	target   usageTarget
	usage    *usagePlan
	computed []traitVal
	contacts []account.Contact
	people   people
	notes    []account.Activity
}

// traitVal is one planned trait value, in its canonical Go type.
type traitVal struct {
	key    string
	value  any
	source string
}

// level is a health band: how a story or a single metric is doing.
type level int

const (
	healthy level = iota
	concerning
	poor
)

// account draws the i-th account.
func (g *generator) account(i int) *plan {
	p := &plan{}
	a := &p.acct
	g.rng = rand.New(rand.NewPCG(g.seed, uint64(i)<<1|1))
	region := pick(g.rng, []string{"AMER", "EMEA", "APAC"}, []float64{55, 30, 15})
	g.name(i, region, a)

	// Most of a book is Commercial; Strategic accounts are few and large.
	switch pick(g.rng, []string{segmentCommercial, segmentEnterprise, segmentStrategic}, []float64{64, 26, 10}) {
	case segmentCommercial:
		a.EstimatedDevelopers = roundTo(g.logUniform(40, 1494), 10)
		a.ARR = int64(roundTo(g.logUniform(10_000, 120_000), 500))
	case segmentEnterprise:
		a.EstimatedDevelopers = roundTo(g.logUniform(1500, 9950), 50)
		a.ARR = int64(roundTo(g.logUniform(80_000, 600_000), 1000))
	default:
		a.EstimatedDevelopers = roundTo(g.logUniform(10_000, 60_000), 500)
		a.ARR = int64(roundTo(g.logUniform(400_000, 3_000_000), 5000))
	}
	a.Segment = segmentOf(a.EstimatedDevelopers)
	a.Program = programOf(a.Segment, a.ARR)
	a.SupportLevel = supportLevelOf(a.Program)

	a.Entitlements = pick(g.rng, [][]string{{"code_search"}, {"ai_assistant"}, {"ai_assistant", "code_search"}}, []float64{40, 20, 40})
	// Large customers run their own instances more often.
	selfHosted := 0.2
	switch a.Segment {
	case segmentStrategic:
		selfHosted = 0.6
	case segmentEnterprise:
		selfHosted = 0.45
	}
	a.Deployment = "cloud"
	if g.rng.Float64() < selfHosted {
		a.Deployment = "self_hosted"
	}
	// Seats follow from the price per seat of what was bought, and never
	// exceed the developers who could use them.
	perSeat := seatPrices[0] // code search only
	switch {
	case len(a.Entitlements) == 2:
		perSeat = seatPrices[2]
	case a.Entitlements[0] == "ai_assistant":
		perSeat = seatPrices[1]
	}
	perSeat *= 0.8 + 0.4*g.rng.Float64()
	seats := int(float64(a.ARR) / perSeat)
	seats = min(max(seats, 25), a.EstimatedDevelopers)
	if seats >= 100 {
		seats = roundTo(float64(seats), 5)
	}
	a.Seats = min(seats, a.EstimatedDevelopers)

	target := pick(g.rng, []string{stageProspect, stageOnboarding, stageAdopting, stageNurturing, stageRenewing},
		[]float64{8, 12, 30, 28, 22})
	g.dates(a, target)

	// Accounts that reached their targets mostly tell a good story; the
	// rest of the book is mostly healthy, with some concerning and poor.
	if target == stageNurturing {
		p.story = pick(g.rng, []level{healthy, concerning, poor}, []float64{82, 15, 3})
	} else {
		p.story = pick(g.rng, []level{healthy, concerning, poor}, []float64{55, 28, 17})
	}

	g.owners(p, region)
	g.traits(p, target, region)
	g.contacts(p)
	a.Stage = stageProspect
	if !a.CloseDate.IsZero() {
		g.usage(p, i)
		p.computed = computedTraits(p.usage.metrics, g.loc)
		g.place(p)
	}
	g.notes(p)
	return p
}

// name gives the i-th account a unique company name, domain and ids. Names
// are drawn without repetition from brands×industries; a book larger than
// that goes on with " Group", " Holdings", … variants.
func (g *generator) name(i int, region string, a *account.Account) {
	space := len(brands) * len(industries)
	if i%space == 0 {
		g.names = g.nameRNG.Perm(space)
	}
	k := g.names[i%space]
	brand, ind := brands[k/len(industries)], industries[k%len(industries)]
	a.Name = brand + " " + ind.word + nameVariants[i/space]
	slug := strings.ToLower(strings.ReplaceAll(a.Name, " ", ""))
	tld := pick(g.rng, map[string][]string{"AMER": tldsAMER, "EMEA": tldsEMEA, "APAC": tldsAPAC}[region], nil)
	if ind.software && g.rng.IntN(5) < 2 {
		tld = ".io"
	}
	a.Domain = slug + tld
	a.ExternalID = g.crmID("0015e00001")
	a.AnalyticsID = "grp_" + strings.ToLower(strings.ReplaceAll(a.Name, " ", "-"))
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// crmID returns a new Salesforce-style 18-character id with the object's
// prefix: ten fixed characters and eight drawn ones.
func (g *generator) crmID(prefix string) string {
	for {
		b := []byte(prefix)
		for range 8 {
			b = append(b, idChars[g.rng.IntN(len(idChars))])
		}
		if id := string(b); !g.seen[id] {
			g.seen[id] = true
			return id
		}
	}
}

// dates places the deal and the contract so that the lifecycle rules put
// the account in the target stage.
func (g *generator) dates(a *account.Account, target string) {
	today := g.today
	if target == stageProspect {
		// 004: a prospect is a late-stage deal up to 45 days from closing.
		a.ExpectedCloseDate = today.AddDays(5 + g.rng.IntN(41))
		return
	}
	years := pick(g.rng, []int{1, 2, 3}, []float64{75, 12, 13})
	term := func(d date.Date, n int) date.Date { return date.Of(d.Time(time.UTC).AddDate(n, 0, 0)) }
	switch target {
	case stageOnboarding:
		a.CloseDate = today.AddDays(-g.rng.IntN(onboardingDays))
		a.RenewalDate = term(a.CloseDate, years)
	case stageRenewing:
		a.RenewalDate = today.AddDays(3 + g.rng.IntN(renewingDays-2))
		a.CloseDate = term(a.RenewalDate, -years)
	default: // Adopting or Nurturing: past onboarding, not yet renewing
		longest := today.DaysUntil(term(today, years)) - onboardingDays - 2
		a.RenewalDate = today.AddDays(renewingDays + 1 + g.rng.IntN(longest-renewingDays))
		a.CloseDate = term(a.RenewalDate, -years)
	}
	// The deal closed near the date the CRM expected it to.
	a.ExpectedCloseDate = a.CloseDate.AddDays(g.rng.IntN(21) - 10)
}

// owners assigns the account team: a named TA for Managed accounts, the
// shared scaled-success pool (or nobody yet) for Scaled Success, an AE of
// the account's region, a CE for deals being handed off and many others,
// and the implementation engineer on some Strategic deployments.
func (g *generator) owners(p *plan, region string) {
	a := &p.acct
	s := g.staff
	if a.Program == programManaged {
		p.owner = pick(g.rng, s.managedTAs, nil)
	} else if g.rng.Float64() < 0.7 {
		p.owner = pick(g.rng, s.scaledTAs, nil)
	}
	ae := pick(g.rng, s.aes(region), nil)
	a.AEID = &ae.ID
	p.author = ae
	if p.owner != nil {
		a.OwnerID = &p.owner.ID
		p.author = p.owner
	}
	recent := a.CloseDate.IsZero() || a.CloseDate.DaysUntil(g.today) < onboardingDays
	if recent || g.rng.Float64() < 0.55 {
		ce := pick(g.rng, s.ces, nil)
		a.CEID = &ce.ID
	}
	if a.Segment == segmentStrategic && s.ie != nil && g.rng.Float64() < 0.5 {
		a.IEID = &s.ie.ID
	}
}

// seatPrices are the list prices per seat and year: code search, the AI
// assistant, both — enterprise prices with premium support ($120, $75 and
// $170 a user a month). They fix how many seats the book's ARR buys, and
// every seat in use costs the demo about twenty product events a year
// (usage.go), so they are also what keeps the demo quick to generate.
var seatPrices = [3]float64{1440, 900, 2040}

// pick draws one of items, with the weights if given, else uniformly.
func pick[T any](rng *rand.Rand, items []T, weights []float64) T {
	if weights == nil {
		return items[rng.IntN(len(items))]
	}
	var total float64
	for _, w := range weights {
		total += w
	}
	r := rng.Float64() * total
	for i, w := range weights {
		if r < w {
			return items[i]
		}
		r -= w
	}
	return items[len(items)-1]
}

// logUniform draws from [lo, hi] with small values as common as large ones
// per order of magnitude, the way company sizes and deal sizes spread.
func (g *generator) logUniform(lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + g.rng.Float64()*(math.Log(hi)-math.Log(lo)))
}

// uniform draws from [lo, hi].
func (g *generator) uniform(lo, hi float64) float64 { return lo + g.rng.Float64()*(hi-lo) }

// between draws an integer from [lo, hi].
func (g *generator) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

func roundTo(x float64, step int) int { return int(math.Round(x/float64(step))) * step }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// place puts the account in its lifecycle stage and scores its health from
// its traits and the utilization the usage engine derives (DESIGN.md §3).
func (g *generator) place(p *plan) {
	a := &p.acct
	usage, mau := numTrait(p.computed, "usage_score"), numTrait(p.computed, "last_month_mau_over_seats")
	outcome, _ := traitValue(p.traits, assess.TraitRenewalOutcome)
	out, _ := outcome.(string)
	a.Stage = stageOf(g.today, a.CloseDate, a.RenewalDate, usage, mau, out)
	a.HealthScore, a.HealthColor = nil, ""
	if a.Stage == stageProspect { // health is scored from the close on
		return
	}
	if score, color, ok := healthOf(g.today, slices.Concat(p.traits, utilization(p.computed, g.now, g.loc))); ok {
		a.HealthScore, a.HealthColor = &score, color
	}
}

func numTrait(vals []traitVal, key string) *float64 {
	for _, v := range vals {
		if f, ok := v.value.(float64); ok && v.key == key {
			return &f
		}
	}
	return nil
}

func firstName(u *team.User) string {
	first, _, _ := strings.Cut(u.Name, " ")
	return first
}

// money formats whole dollars as $12,500.
func money(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String()
}
