package demo

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/usage"
)

// The demo's product usage. Every closed account gets the people who use
// the product there and, for about a year (the twelve months the usage
// chart shows) or since shortly after its close, the days each of them
// was active, drawn so that the account's story holds: the utilization the
// usage engine computes from the events is the one the account's stage and
// health say. The events themselves are made and sent by events.go.
//
// One event per active user and day is all DAU and MAU need, and the
// demo's volume is bounded by the store's write rate, so it spends events
// where they are seen: every day of the last 90 (the DAU chart) is drawn
// in full, weekdays busier than weekends; before that, each month's active
// users are each active on one day of it, which keeps every month's MAU
// (the MAU chart) exact at a tenth of the events.

// usageTarget is where an account's utilization ends up: the levels of its
// usage score and its last month's MAU over seats, and inside them the
// values to aim at. set is false for a customer closed under a month ago,
// which has no complete month to measure yet, only a ramp its levels pace.
type usageTarget struct {
	set          bool
	usage, mau   level
	score, ratio float64
}

// shape is the story an account's usage tells over the year.
type shape int

const (
	flat shape = iota
	growing
	declining
	// seasonal dips in the summer holidays and at the end of the year.
	seasonal
	// dormant stopped using the product: no events in the last 45 days.
	dormant
)

var (
	shapes = []shape{flat, growing, declining, seasonal}
	// shapeOdds[story] weighs shapes: healthy accounts grow or hold,
	// troubled ones decline.
	shapeOdds = [...][]float64{healthy: {40, 35, 0, 25}, concerning: {30, 15, 35, 20}, poor: {30, 5, 50, 15}}
)

// dormantDays is how long a dormant account has been silent at least.
const dormantDays = 45

// fullDays is how many days, today included, get every active user's
// activity: the DAU chart's 90.
const fullDays = 90

// feature is a product feature: the track event that uses it, its share
// of use, and when an account takes it up: between after[0] and after[1]
// days after its first usage, unless it never does.
type feature struct {
	event  string
	weight float64
	after  [2]int
	never  float64
	// power features are used by the account's heavier users only.
	power bool
}

// The demo product's features, by entitlement.
var (
	searchFeatures = []feature{
		{"Search Performed", 55, [2]int{0, 0}, 0, false},
		{"Code Navigation Used", 25, [2]int{0, 6}, 0, false},
		{"Insight Viewed", 5, [2]int{20, 200}, 0.3, false},
		{"Batch Change Created", 3, [2]int{45, 300}, 0.5, true},
	}
	aiFeatures = []feature{
		{"AI Chat Message", 40, [2]int{0, 0}, 0, false},
		{"AI Completion Accepted", 30, [2]int{0, 10}, 0, false},
	}
)

// usagePlan is one account's product usage.
type usagePlan struct {
	shape shape
	// slug names the account in user ids.
	slug string
	// first is the day of the first usage; days counts the days from first
	// through today (0: no usage yet).
	first usage.Day
	days  int
	users []productUser
	// join[k] is the day (counted from first) user k starts using the
	// product.
	join []int
	// active holds each user's active days as a bitset over the days from
	// first, words uint64s per user.
	words  int
	active []uint64
	// features are the account's features and from[j] the day (counted
	// from first) it takes up features[j].
	features []feature
	from     []int
	metrics  usage.Metrics
}

// productUser is a person who uses the product at the customer.
type productUser struct {
	id, email, name string
	// w is how much more (or less) than the account's typical user they use
	// the product.
	w float64
}

func (u *usagePlan) isActive(k, d int) bool {
	return u.active[k*u.words+d>>6]&(1<<(d&63)) != 0
}

func (u *usagePlan) setActive(k, d int, on bool) {
	if on {
		u.active[k*u.words+d>>6] |= 1 << (d & 63)
	} else {
		u.active[k*u.words+d>>6] &^= 1 << (d & 63)
	}
}

// activeDays counts user k's active days in [lo, hi] (indexes from first).
func (u *usagePlan) activeDays(k, lo, hi int) int {
	n := 0
	for d := lo; d <= hi; d++ {
		if u.isActive(k, d) {
			n++
		}
	}
	return n
}

// userDays counts the active user-days: the track events of the plan.
func (u *usagePlan) userDays() int {
	n := 0
	for _, w := range u.active {
		n += bits.OnesCount64(w)
	}
	return n
}

// idle counts the users who were never active (spares the churn did not
// call on).
func (u *usagePlan) idle() int {
	n := 0
	for k := range u.users {
		if u.activeDays(k, 0, u.days-1) == 0 {
			n++
		}
	}
	return n
}

// month is one calendar month of an account's usage: the users active in
// it are the first size ranks of its users, except out, who sit the month
// out, and as many ranks past size, who take their place.
type month struct {
	m      usage.Month
	lo, hi int // its days, as indexes from first, clipped to first and today
	size   int
	out    map[int]bool
	// base is the month's engagement: the mean DAU over MAU its days are
	// drawn to give.
	base float64
}

func (mo *month) member(k int) bool {
	if k < mo.size {
		return !mo.out[k]
	}
	return k < mo.size+len(mo.out)
}

// span bounds the ranks of the month's members: [0, span).
func (mo *month) span() int { return mo.size + len(mo.out) }

// usage draws the product usage of the i-th account, a closed one, from a
// random stream of its own: the book's other draws are the same with or
// without it.
func (g *generator) usage(p *plan, i int) {
	a := &p.acct
	rng := rand.New(rand.NewPCG(g.seed, uint64(i+1)<<1))
	today := usage.DayOf(g.now, g.loc)
	up := &usagePlan{slug: strings.SplitN(a.Domain, ".", 2)[0]}
	p.usage = up
	defer func() { up.metrics = g.measure(i, up, a.Seats) }()

	// Usage starts within days of the close (the first ping the end-user
	// onboarding campaign waits for), or is already running when the year
	// the charts show begins.
	yearStart := monthStart(today.Month() - 11)
	up.first = max(yearStart, usage.DayFromDate(a.CloseDate)+usage.Day(rng.IntN(5)))
	if up.first > today {
		return // closed in the last few days: no usage yet
	}
	up.days = int(today-up.first) + 1
	t := p.target
	switch {
	case !t.set || today-up.first < 100:
		up.shape = growing // still ramping up after the close
	case t.mau == poor && t.usage != healthy && today-up.first > 150 && rng.Float64() < 0.45:
		up.shape = dormant
	default:
		up.shape = pick(rng, shapes, shapeOdds[p.story])
	}
	ratio, score := t.ratio, t.score
	if !t.set {
		// Where a new customer's ramp has got to this month.
		ratio = []float64{rngUniform(rng, 0.55, 0.85), rngUniform(rng, 0.35, 0.55), rngUniform(rng, 0.12, 0.3)}[t.mau]
		score = []float64{rngUniform(rng, 0.31, 0.42), rngUniform(rng, 0.22, 0.28), rngUniform(rng, 0.1, 0.19)}[t.usage]
	}

	months := g.months(rng, up, today, a.Seats, ratio, score, t)
	g.people(rng, p, months)
	g.featuresOf(rng, up, a.Entitlements)
	g.activity(rng, up, months, i, today)
	if t.set && up.shape != dormant {
		g.hitScore(rng, up, months, today, score, t.usage)
	}
}

// months sets the active users of each month of the account's usage: a
// curve of the account's shape through the last complete month's MAU over
// seats (ratio), a ramp after a recent close, and a few users each month
// sitting it out while others come back.
func (g *generator) months(rng *rand.Rand, up *usagePlan, today usage.Day, seats int, ratio, score float64, t usageTarget) []*month {
	firstM, lastM := up.first.Month(), today.Month()-1
	ref := lastM // the month whose MAU the target fixes
	if !t.set {
		ref = today.Month()
	}
	// The curve, relative to ratio at ref.
	var curve func(f float64, m usage.Month) float64
	switch up.shape {
	case growing:
		g0 := rngUniform(rng, 0.3, 0.6)
		curve = func(f float64, _ usage.Month) float64 { return g0 + (1-g0)*f }
	case declining:
		d0 := rngUniform(rng, 1.4, 1.9)
		curve = func(f float64, _ usage.Month) float64 { return d0 - (d0-1)*f }
	case seasonal:
		at := seasonOf(ref)
		curve = func(_ float64, m usage.Month) float64 { return seasonOf(m) / at }
	case dormant:
		// It was used, thinly, until it stopped.
		was := rngUniform(rng, 0.2, 0.45) / max(ratio, 0.05)
		curve = func(float64, usage.Month) float64 { return was }
	default:
		curve = func(float64, usage.Month) float64 { return 1 }
	}
	stop := today // the last day with usage
	if up.shape == dormant {
		stop = today - dormantDays - 1 - usage.Day(rng.IntN(60))
	}
	// A customer closed during the year ramps up over its first one to
	// three months.
	rampDays := []float64{45, 70, 100}[t.usage]
	ramped := up.first > monthStart(today.Month()-11)

	var months []*month
	for m := firstM; m <= today.Month(); m++ {
		lo := max(int(monthStart(m)-up.first), 0)
		hi := min(int(monthStart(m+1)-up.first)-1, int(stop-up.first))
		mo := &month{m: m, lo: lo, hi: hi}
		months = append(months, mo)
		if hi < lo {
			continue // dormant: nobody since
		}
		f := 1.0
		if ref > firstM {
			f = float64(min(m, ref)-firstM) / float64(ref-firstM)
		}
		lvl := ratio * curve(f, m) * (1 + 0.03*rng.NormFloat64())
		if m > ref { // the month so far goes on as the curve went
			switch up.shape {
			case growing:
				lvl *= 1.04
			case declining:
				lvl *= 0.97
			}
		}
		if ramped {
			lvl *= min(1, 0.15+float64(hi+1)/rampDays)
		}
		mo.size = max(1, int(math.Round(min(lvl, 1.0)*float64(seats))))
		if m == lastM && t.set && up.shape != dormant {
			mo.size = inBand(mo.size, seats, t.mau)
		}
		// Engagement follows the curve a little: growing accounts deepen,
		// declining ones thin out.
		u := score
		switch up.shape {
		case growing:
			u *= 0.85 + 0.15*f
		case declining:
			u *= 1.15 - 0.15*f
		case dormant:
			u = 0.12
		}
		mo.base = u
	}
	// Churn: a few of each month's users sit it out and as many others
	// come back, so that month-to-month the people vary while the count
	// holds.
	most := 0
	for _, mo := range months {
		most = max(most, mo.size)
	}
	pool := most + most/20 + 2
	for _, mo := range months {
		if mo.size < 10 {
			continue
		}
		c := min(max(1, mo.size/25), pool-mo.size)
		mo.out = map[int]bool{}
		for len(mo.out) < c {
			mo.out[mo.size/2+rng.IntN(mo.size-mo.size/2)] = true
		}
	}
	up.users = make([]productUser, pool)
	up.words = (up.days + 63) / 64
	up.active = make([]uint64, pool*up.words)
	// Users present when the year shown begins were there all along; the
	// others start in the month they join, one after another through it,
	// so that a new customer's usage climbs day by day.
	up.join = make([]int, pool)
	for k := range up.join {
		up.join[k] = -1
	}
	for n, mo := range months {
		var fresh []int
		for k := 0; k < mo.span(); k++ {
			if mo.member(k) && up.join[k] < 0 {
				fresh = append(fresh, k)
			}
		}
		for j, k := range fresh {
			up.join[k] = mo.lo
			if n > 0 || ramped {
				up.join[k] += (mo.hi - mo.lo + 1) * j / len(fresh)
			}
		}
	}
	return months
}

// inBand moves a count of last month's active users into the MAU-over-seats
// band of the level (004: 0.8 healthy, below 0.5 poor), in whole users.
func inBand(n, seats int, lv level) int {
	healthyMin := (4*seats + 4) / 5 // ⌈0.8 × seats⌉
	poorMax := (seats+1)/2 - 1      // the most users below 0.5 × seats
	switch lv {
	case healthy:
		return max(n, healthyMin)
	case concerning:
		return min(max(n, poorMax+1), healthyMin-1)
	}
	return max(min(n, poorMax), 1)
}

// seasonOf is how busy a month is for a seasonal account: the summer
// holidays and December are quieter.
func seasonOf(m usage.Month) float64 {
	_, mm := m.Date()
	switch mm {
	case time.July:
		return 0.8
	case time.August:
		return 0.68
	case time.December:
		return 0.82
	}
	return 1
}

// people names the account's product users, most engaged first: its
// contacts who use the product (admins, the program contact, the champion,
// end users) with their emails, then others, some identified by an email
// at the account's domain and some by their id only.
func (g *generator) people(rng *rand.Rand, p *plan, months []*month) {
	up := p.usage
	used := map[string]bool{}
	for _, c := range p.contacts {
		local, _, _ := strings.Cut(c.Email, "@")
		used[local] = true
	}
	k := 0
	for _, c := range p.contacts {
		if k == len(up.users) {
			break
		}
		if !usesProduct(c.Roles) {
			continue
		}
		up.users[k] = productUser{email: c.Email, name: c.Name, w: rngUniform(rng, 1.1, 1.7)}
		k++
	}
	for ; k < len(up.users); k++ {
		u := &up.users[k]
		u.w = min(max(math.Exp(0.55*rng.NormFloat64()), 0.2), 2.5)
		if rng.Float64() < 0.55 {
			for try := 0; ; try++ {
				first, last := pick(rng, firstNames, nil), pick(rng, lastNames, nil)
				local := strings.ToLower(first + "." + last)
				if try > 20 {
					local += strconv.Itoa(try)
				}
				if !used[local] {
					used[local] = true
					u.email, u.name = local+"@"+p.acct.Domain, first+" "+last
					break
				}
			}
		}
	}
	for k := range up.users {
		up.users[k].id = "u_" + up.slug + "_" + strconv.Itoa(k+1)
	}
}

// usesProduct reports whether a contact with the roles uses the product
// (buyers and stakeholders mostly do not).
func usesProduct(roles []string) bool {
	for _, r := range roles {
		switch r {
		case account.RoleInstanceAdmin, account.RoleProgramContact, account.RoleChampion, account.RoleEndUser:
			return true
		}
	}
	return false
}

// featuresOf picks the account's features from its entitlements and when
// it takes each up.
func (g *generator) featuresOf(rng *rand.Rand, up *usagePlan, entitlements []string) {
	for _, e := range entitlements {
		fs := searchFeatures
		if e == "ai_assistant" {
			fs = aiFeatures
		}
		for _, f := range fs {
			if rng.Float64() < f.never {
				continue
			}
			up.features = append(up.features, f)
			up.from = append(up.from, f.after[0]+rng.IntN(f.after[1]-f.after[0]+1))
		}
	}
}

// activity draws who was active on which day: each member of a month, on
// each of the last 90 days, with a chance that follows their engagement,
// the day of the week and the holidays; every member of a complete month
// at least once in it, which is what makes its MAU exact.
func (g *generator) activity(rng *rand.Rand, up *usagePlan, months []*month, i int, today usage.Day) {
	full := max(int(today-up.first)-(fullDays-1), 0)
	if up.first > monthStart(today.Month()-11) && (up.days > 1 || g.eventTime(i, 0, up.first, 0).Before(g.now)) {
		// A new customer's first ping: its instance admin, the day usage
		// starts.
		up.setActive(0, 0, true)
	}
	for _, mo := range months {
		if mo.size == 0 {
			continue
		}
		// Calibrate the weekday chance so that the month's mean DAU over
		// MAU is its engagement.
		var wsum, fsum float64
		for k := 0; k < mo.span(); k++ {
			if mo.member(k) {
				wsum += up.users[k].w
			}
		}
		for d := mo.lo; d <= mo.hi; d++ {
			fsum += g.dayFactor(up.first + usage.Day(d))
		}
		days := float64(mo.hi - mo.lo + 1)
		if wsum == 0 || fsum == 0 {
			continue
		}
		chance := mo.base * float64(mo.size) / wsum * days / fsum
		for d := max(mo.lo, full); d <= mo.hi; d++ {
			day := up.first + usage.Day(d)
			f := g.dayFactor(day)
			if up.shape == seasonal && inSummer(day) {
				f *= 0.8
			}
			for k := 0; k < mo.span(); k++ {
				if !mo.member(k) || rng.Float64() >= min(chance*up.users[k].w*f, 0.95) || d < up.join[k] {
					continue
				}
				if day == today && !g.eventTime(i, k, day, 0).Before(g.now) {
					continue // later today
				}
				up.setActive(k, d, true)
			}
		}
		if mo.m >= today.Month() {
			continue // the month is not over: its MAU is still growing
		}
		for k := 0; k < mo.span(); k++ {
			if lo := max(mo.lo, up.join[k]); mo.member(k) && up.activeDays(k, lo, mo.hi) == 0 {
				up.setActive(k, g.someWorkday(rng, up.first, lo, mo.hi), true)
			}
		}
	}
}

// someWorkday picks a day in [lo, hi], a working day when it can.
func (g *generator) someWorkday(rng *rand.Rand, first usage.Day, lo, hi int) int {
	d := lo + rng.IntN(hi-lo+1)
	for range 12 {
		if g.dayFactor(first+usage.Day(d)) >= 0.5 {
			break
		}
		d = lo + rng.IntN(hi-lo+1)
	}
	return d
}

// hitScore adds or removes active days in the 28 days the usage score
// averages until the score is the target's, exactly enough to land in the
// band of its level (004: 0.3 or higher healthy, 0.2 or less poor). No
// change takes a user's last active day of a month, so every MAU holds.
func (g *generator) hitScore(rng *rand.Rand, up *usagePlan, months []*month, today usage.Day, score float64, lv level) {
	monthOf := func(d int) *month {
		m := (up.first + usage.Day(d)).Month()
		for _, mo := range months {
			if mo.m == m {
				return mo
			}
		}
		return nil
	}
	last := monthOf(int(today - 1 - up.first))
	if last == nil || last.m != today.Month()-1 || last.size == 0 {
		return
	}
	lo, hi := max(int(today-up.first)-usage.UsageScoreDays, 0), int(today-up.first)-1
	if hi < lo {
		return
	}
	// The score is sum ÷ (28 × MAU), and the engine keeps four decimals.
	den := float64(usage.UsageScoreDays * last.size)
	want := int(math.Round(score * den))
	switch lv {
	case healthy:
		want = max(want, int(math.Ceil(0.3*den)))
	case concerning:
		want = min(max(want, int(math.Ceil(0.2001*den))), int(math.Ceil(0.2999*den))-1)
	default:
		want = min(want, int(math.Floor(0.2*den)))
	}
	have := 0
	for d := lo; d <= hi; d++ {
		for k := range up.users {
			if up.isActive(k, d) {
				have++
			}
		}
	}
	for tries := 0; have != want && tries < 200*(want+have+1); tries++ {
		d := lo + rng.IntN(hi-lo+1)
		mo := monthOf(d)
		if mo == nil || mo.size == 0 {
			continue
		}
		k := rng.IntN(mo.span())
		if !mo.member(k) || d < up.join[k] {
			continue
		}
		on := up.isActive(k, d)
		switch {
		case have < want && !on:
			// Mostly on working days, as people do.
			if g.dayFactor(up.first+usage.Day(d)) < 0.5 && rng.IntN(6) != 0 {
				continue
			}
			up.setActive(k, d, true)
			have++
		case have > want && on && (mo.m == today.Month() || up.activeDays(k, mo.lo, mo.hi) > 1):
			up.setActive(k, d, false)
			have--
		}
	}
}

// measure computes the utilization the usage engine will derive from the
// plan's events, with the engine's own maths.
func (g *generator) measure(i int, up *usagePlan, seats int) usage.Metrics {
	ua := usage.NewAccount(g.loc)
	for k := range up.users {
		for d := range up.days {
			if up.isActive(k, d) {
				ua.Add(uint32(k+1), g.eventTime(i, k, up.first+usage.Day(d), 0))
			}
		}
	}
	return usage.Compute(ua, seats, g.now)
}

// computedTraits are the utilization traits the usage engine writes for
// metrics (engine.Usage.Flush): ratios to four decimals, counts, the first
// ping's date. An account without usage gets none.
func computedTraits(m usage.Metrics, loc *time.Location) []traitVal {
	if m.FirstPing == nil {
		return nil
	}
	var out []traitVal
	add := func(key string, v any) { out = append(out, traitVal{key, v, account.SourceComputed}) }
	for _, r := range []struct {
		key string
		v   *float64
	}{{"usage_score", m.UsageScore}, {"last_month_mau_over_seats", m.LastMonthMAUOverSeats}, {"seat_utilization", m.SeatUtilization}} {
		if r.v != nil {
			add(r.key, math.Round(*r.v*10000)/10000)
		}
	}
	add("last_month_mau", float64(m.LastMonthMAU))
	add("active_users_30d", float64(m.Active30))
	add("first_usage_ping", date.Of(m.FirstPing.In(loc)).String())
	return out
}

// utilization returns the utilization metrics health scores from computed
// traits: the usage score and last month's MAU over seats, once the
// account has had a complete month of usage. Before that (a customer that
// first pinged after last month began) they say how far a ramp has got,
// not how the account is doing, and are left out, as a missing metric is.
func utilization(computed []traitVal, now time.Time, loc *time.Location) []traitVal {
	v, ok := traitValue(computed, "first_usage_ping")
	s, isStr := v.(string)
	if !ok || !isStr {
		return nil
	}
	first, err := date.Parse(s)
	if err != nil {
		return nil
	}
	lastMonth := monthStart(usage.DayOf(now, loc).Month() - 1)
	if usage.DayFromDate(first) > lastMonth {
		return nil
	}
	var out []traitVal
	for _, c := range computed {
		if c.key == "usage_score" || c.key == "last_month_mau_over_seats" {
			out = append(out, c)
		}
	}
	return out
}

// dayFactor is how busy a day is: weekdays full, Fridays a little less,
// weekends and the days around the new year nearly empty, the summer
// holidays thinner.
func (g *generator) dayFactor(d usage.Day) float64 {
	if i := int(d - g.factorsFrom); i >= 0 && i < len(g.factors) {
		return g.factors[i]
	}
	t := d.Start(g.loc)
	f := 1.0
	switch t.Weekday() {
	case time.Saturday:
		f = 0.1
	case time.Sunday:
		f = 0.07
	case time.Friday:
		f = 0.88
	}
	_, m, day := t.Date()
	if (m == time.December && day >= 24) || (m == time.January && day == 1) {
		f *= 0.25
	}
	if inSummer(d) {
		f *= 0.92
	}
	return f
}

// inSummer reports whether d falls in the northern summer holidays.
func inSummer(d usage.Day) bool {
	_, m, day := d.Date().Time(time.UTC).Date()
	return (m == time.July && day >= 10) || m == time.August
}

// monthStart is the first day of m.
func monthStart(m usage.Month) usage.Day {
	y, mm := m.Date()
	return usage.DayFromDate(date.New(y, mm, 1))
}

// eventTime is when the j-th event of user k of the i-th account on day d
// happened: a moment of the working day, the same for the same seed.
func (g *generator) eventTime(i, k int, d usage.Day, j int) time.Time {
	h := mix(g.seed, uint64(i), uint64(k), uint64(d), uint64(j))
	// 07:30 to 19:30, most of it in the core hours.
	ms := 7*3600_000 + 1800_000 + int64(h%(6*3600_000)) + int64((h>>32)%(6*3600_000))
	return d.Start(g.loc).Add(time.Duration(ms) * time.Millisecond)
}

// mix hashes its inputs into 64 well-spread bits (splitmix64 steps), the
// demo's stateless randomness for what must not depend on drawing order.
func mix(xs ...uint64) uint64 {
	h := uint64(0x9E3779B97F4A7C15)
	for _, x := range xs {
		h ^= x + 0x9E3779B97F4A7C15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xBF58476D1CE4E5B9
		h ^= h >> 27
		h *= 0x94D049BB133111EB
		h ^= h >> 31
	}
	return h
}

func rngUniform(rng *rand.Rand, lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
