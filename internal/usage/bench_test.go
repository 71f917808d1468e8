package usage

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// The memory target: 100,000 accounts with a year of days in ≤ 1 GB.
const targetAccountDays = 100_000 * 365

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// yearOfEvents returns n events over 365 days in time order, each from one
// of users users, as an event stream arrives.
func yearOfEvents(n, users int) (ords []uint32, ats []time.Time) {
	r := rand.New(rand.NewPCG(1, 2))
	ords = make([]uint32, n)
	ats = make([]time.Time, n)
	step := 365 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		ords[i] = uint32(r.IntN(users))
		ats[i] = benchStart.Add(time.Duration(i) * step)
	}
	return ords, ats
}

// BenchmarkAdd measures ingest throughput into one account's index: a year
// of events from 5,000 users, about 2,700 a day, in time order.
func BenchmarkAdd(b *testing.B) {
	loc := mustZone(b, "Europe/Berlin")
	const n = 1 << 20
	ords, ats := yearOfEvents(n, 5000)
	a := NewAccount(loc)
	i := 0
	for b.Loop() {
		if i == n {
			i, a = 0, NewAccount(loc)
		}
		a.Add(ords[i], ats[i])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOrdinal measures the user-id lookup that precedes each Add.
func BenchmarkOrdinal(b *testing.B) {
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%08x@example.com", i*7919)
	}
	var o Ordinals
	i := 0
	for b.Loop() {
		if _, _, err := o.Ordinal(ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// busyAccount returns an account of users users over a year: on weekdays
// 30% of them are active, at weekends 5%, the pattern of a healthy account
// (usage score about 0.3).
func busyAccount(tb testing.TB, users int, loc *time.Location) *Account {
	r := rand.New(rand.NewPCG(3, 4))
	a := NewAccount(loc)
	for day := range 365 {
		at := benchStart.AddDate(0, 0, day).Add(10 * time.Hour)
		share := 0.30
		if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
			share = 0.05
		}
		for _, u := range r.Perm(users)[:int(share*float64(users))] {
			a.Add(uint32(u), at)
		}
	}
	return a
}

// BenchmarkCompute measures Compute for an account of 5,000 users over a
// year, with every day live and with all but the last two sealed.
func BenchmarkCompute(b *testing.B) {
	loc := mustZone(b, "Europe/Berlin")
	now := benchStart.AddDate(0, 0, 364).Add(15 * time.Hour)
	for _, sealed := range []bool{false, true} {
		b.Run(fmt.Sprintf("sealed=%v", sealed), func(b *testing.B) {
			a := busyAccount(b, 5000, loc)
			if sealed {
				if err := a.Compact(a.DayOf(now) - 1); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				m := Compute(a, 5000, now)
				if m.UsageScore == nil {
					b.Fatal("no usage score")
				}
			}
		})
	}
}

// BenchmarkSeries measures the account page's chart data: DAU for 90 days
// and MAU for 12 months, from a sealed year of 5,000 users.
func BenchmarkSeries(b *testing.B) {
	loc := mustZone(b, "Europe/Berlin")
	now := benchStart.AddDate(0, 0, 364).Add(15 * time.Hour)
	a := busyAccount(b, 5000, loc)
	if err := a.Compact(a.DayOf(now) - 1); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		a.DAUSeries(now, 90)
		a.MAUSeries(now, 12)
	}
}

// BenchmarkMemory measures the heap one account-day costs, live and sealed,
// by building b.N accounts with a year of days each, dau users active every
// day (weekends included, the worst case) out of 3×dau users in the
// account, and reports the figure for the 100,000 accounts × 365
// days, and for the at most 62 days an index needs after Forget(Horizon).
// Run with -benchtime=100x or so; the figure does not depend on N.
func BenchmarkMemory(b *testing.B) {
	for _, dau := range []int{1, 5, 30, 100, 1000} {
		for _, sealed := range []bool{false, true} {
			b.Run(fmt.Sprintf("dau=%d/sealed=%v", dau, sealed), func(b *testing.B) {
				r := rand.New(rand.NewPCG(5, uint64(dau)))
				accounts := make([]*Account, 0, b.N)
				before := heapInUse()
				for b.Loop() {
					a := NewAccount(time.UTC)
					for day := range 365 {
						at := benchStart.AddDate(0, 0, day)
						for _, u := range r.Perm(3 * dau)[:dau] {
							a.Add(uint32(u), at)
						}
					}
					if sealed {
						if err := a.Compact(a.DayOf(benchStart) + 365); err != nil {
							b.Fatal(err)
						}
					}
					accounts = append(accounts, a)
				}
				perDay := float64(heapInUse()-before) / float64(len(accounts)*365)
				runtime.KeepAlive(accounts)
				b.ReportMetric(perDay, "B/account-day")
				b.ReportMetric(perDay*targetAccountDays/1e9, "GB/100k-accounts-year")
				// What stays resident when a store keeps history and the
				// index forgets days before Horizon: at most 62 days.
				b.ReportMetric(perDay*100_000*62/1e9, "GB/100k-accounts-62d")
			})
		}
	}
}

// BenchmarkMemoryOrdinals measures the heap an Ordinals entry costs per
// user, with ids the length of a typical email address.
func BenchmarkMemoryOrdinals(b *testing.B) {
	var o Ordinals
	before := heapInUse()
	i := 0
	for b.Loop() {
		if _, _, err := o.Ordinal(fmt.Sprintf("user-%08x@example.com", i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(heapInUse()-before)/float64(o.Len()), "B/user")
	runtime.KeepAlive(&o)
}

// BenchmarkMemoryFeatures measures the heap a user's first use of a feature
// costs.
func BenchmarkMemoryFeatures(b *testing.B) {
	a := NewAccount(time.UTC)
	before := heapInUse()
	i := 0
	for b.Loop() {
		if _, err := a.UseFeature(fmt.Sprint("feature ", i%20), uint32(i/20), benchStart); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(heapInUse()-before)/float64(b.N), "B/use")
	runtime.KeepAlive(a)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestBenchmarksRun keeps the benchmark helpers honest in ordinary test
// runs: the busy account has the shape the benchmarks claim.
func TestBenchmarksRun(t *testing.T) {
	t.Parallel()
	a := busyAccount(t, 1000, time.UTC)
	now := benchStart.AddDate(0, 0, 364).Add(15 * time.Hour)
	m := Compute(a, 1000, now)
	if m.UsageScore == nil || *m.UsageScore < 0.2 || *m.UsageScore > 0.3 || m.LastMonthMAU < 990 {
		t.Fatalf("busy account: %v", utilizationOf(m))
	}
	ords, ats := yearOfEvents(1000, 50)
	if len(ords) != 1000 || !ats[len(ats)-1].Before(benchStart.AddDate(1, 0, 0)) {
		t.Fatal("event stream does not fit a year")
	}
}
