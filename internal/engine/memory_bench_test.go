package engine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

// BenchmarkMemory builds the usage engine's state for a large book — by
// default issue 3's 100,000 accounts and 10,000,000 product users over a
// year of days — through the engine's own structures and code paths (each
// event applied as a commit applies it, a flush at the end of every day
// with the day change's compaction and forgetting), then reports the heap
// (runtime.ReadMemStats, after a collection) and the resident size (VmRSS
// and its peak, VmHWM, from /proc/self/status). The store behind it keeps
// nothing: what is measured is the engine.
//
// The activity follows a B2B product: account sizes skewed (a few
// accounts with tens of thousands of users, most with a few dozen), half
// the users there from the start and the rest arriving over the year,
// each user active on a weekday with probability 0.9, 0.4, 0.1 or 0.02
// (a fifth, three tenths, three tenths, a fifth of them) and a fifth of
// that on weekends — about a quarter of the users active on a weekday —
// and four features adopted by all, a half, a fifth and a twentieth of
// the users. Ordinals are handed out in first-seen order, as the store
// does, so an account's users are scattered over the ordinal space.
//
//	GOMEMLIMIT=900MiB go test -run '^$' -bench Memory -benchtime 1x -timeout 6h ./internal/engine/
//
// Full size is some 700M events through the engine's apply (three quarters
// of the time: the feature and day maps, the Roaring add) and 365 day
// changes over 100,000 accounts: 1 h 42 min on two cores; at a tenth
// (TEND_BENCH_ACCOUNTS=10000 TEND_BENCH_USERS=1000000) a few minutes. Go
// lets the heap grow to twice what is live between collections, so the
// resident size depends on GOMEMLIMIT, which a deployment sets as here.
//
// TEND_BENCH_ACCOUNTS, TEND_BENCH_USERS and TEND_BENCH_DAYS change the
// size; TEND_BENCH_HEAPPROFILE names a file to write the heap profile to at
// each measurement (go tool pprof -sample_index=inuse_space). The progress
// at each month end goes to stderr as well.
func BenchmarkMemory(b *testing.B) {
	nAccounts := envSize(b, "TEND_BENCH_ACCOUNTS", 100_000)
	nUsers := envSize(b, "TEND_BENCH_USERS", 10_000_000)
	nDays := envSize(b, "TEND_BENCH_DAYS", 365)
	for range b.N {
		runMemory(b, nAccounts, nUsers, nDays)
	}
}

func envSize(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// memStore is a store that keeps nothing: the engine's writes succeed and
// vanish, and its startup finds the accounts and nothing else.
type memStore struct {
	store.Store // nil: a method the engine is not expected to call panics
	accounts    []account.Account
}

func (s *memStore) ListAccounts(_ context.Context, f account.Filter) (account.Page, error) {
	off := 0
	if f.Cursor != "" {
		off, _ = strconv.Atoi(f.Cursor)
	}
	end := min(off+f.Limit, len(s.accounts))
	p := account.Page{Accounts: s.accounts[off:end]}
	if end < len(s.accounts) {
		p.Next = strconv.Itoa(end)
	}
	return p, nil
}
func (s *memStore) ListUserAccounts(context.Context, func(uint32, int64) error) error   { return nil }
func (s *memStore) LoadDays(context.Context, func(store.DayBlob) error) error           { return nil }
func (s *memStore) LoadFeatureUses(context.Context, func(store.FeatureUse) error) error { return nil }
func (s *memStore) ListFirstPings(context.Context) (map[int64]time.Time, error)         { return nil, nil }
func (s *memStore) Watermark(context.Context) (int64, error)                            { return 0, nil }
func (s *memStore) EventsSince(context.Context, int64, int) ([]store.Event, error)      { return nil, nil }
func (s *memStore) LoadAccountDays(context.Context, int64) ([]store.DayBlob, error)     { return nil, nil }
func (s *memStore) SaveDays(context.Context, []store.DayBlob, int64) error              { return nil }
func (s *memStore) SaveFeatureUses(context.Context, []store.FeatureUse) error           { return nil }
func (s *memStore) SaveFirstPings(context.Context, map[int64]time.Time) error           { return nil }
func (s *memStore) AddActivity(context.Context, *account.Activity) error                { return nil }
func (s *memStore) PurgeEvents(context.Context, time.Time) (int64, error)               { return 0, nil }
func (s *memStore) SetTraits(context.Context, []account.TraitWrite, account.Actor) ([]account.TraitChange, error) {
	return nil, nil
}

// mix is a 64-bit hash (splitmix64's finaliser) of a and b.
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 + b + 0x632be59bd9b4e019
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

var memFeatures = [...]string{"Search Performed", "Code Navigation Used", "Batch Change Applied", "Assistant Asked"}

func runMemory(b *testing.B, nAccounts, nUsers, nDays int) {
	ctx := context.Background()
	ws, err := workspace.Default()
	if err != nil {
		b.Fatal(err)
	}
	st := &memStore{accounts: make([]account.Account, nAccounts)}
	for i := range st.accounts {
		st.accounts[i] = account.Account{ID: int64(i + 1), Name: fmt.Sprintf("Account %d", i),
			AnalyticsID: fmt.Sprintf("acct-%06d", i), Seats: 50}
	}
	start := time.Date(2025, time.March, 2, 0, 0, 0, 0, time.UTC)
	now := start
	u, err := NewUsage(ctx, UsageConfig{Store: st, Workspace: ws, Now: func() time.Time { return now }, FlushEvery: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	st.accounts = nil // the engine has what it needs; the book is not its memory

	// The harness stands in for the store's user table: ordinals in
	// first-seen order.
	ordinal := make([]uint32, nUsers)
	next := uint32(0)
	userAccount := func(i int) int64 {
		r := unit(mix(uint64(i), 1))
		if i < nAccounts {
			return int64(i + 1) // every account has a user
		}
		return int64(float64(nAccounts)*r*r) + 1
	}
	born := func(i int) int {
		if mix(uint64(i), 2)&1 == 0 {
			return 0
		}
		return int(unit(mix(uint64(i), 3)) * float64(nDays))
	}
	activity := func(i int) float64 {
		switch r := unit(mix(uint64(i), 4)); {
		case r < 0.2:
			return 0.9
		case r < 0.5:
			return 0.4
		case r < 0.8:
			return 0.1
		default:
			return 0.02
		}
	}
	adopted := func(i int) uint8 {
		r := mix(uint64(i), 5)
		m := uint8(1)
		if unit(r) < 0.5 {
			m |= 2
		}
		if unit(mix(r, 1)) < 0.2 {
			m |= 4
		}
		if unit(mix(r, 2)) < 0.05 {
			m |= 8
		}
		return m
	}

	began := time.Now()
	events := 0
	var inFlush time.Duration
	var monthEnd float64 // the largest month-end heap, MiB
	// The peak resident size is read after each day's events and after
	// each flush; a rise of more than 4 MiB since the last one noted is
	// logged with the phase it came in, so a peak above the month ends'
	// says what made it.
	var hwmNoted int64 // KiB
	notePeak := func(phase string, day time.Time) {
		hwm := procStatus("VmHWM")
		if hwm-hwmNoted <= 4<<10 {
			return
		}
		hwmNoted = hwm
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "%s peak RSS %.0f MiB in %s of %s (heap %.0f MiB, goal %.0f MiB, %d GCs)\n",
			time.Now().Format(time.TimeOnly), float64(hwm)/(1<<10), phase, day.Format(time.DateOnly),
			float64(ms.HeapAlloc)/(1<<20), float64(ms.NextGC)/(1<<20), ms.NumGC)
	}
	for d := range nDays {
		day := start.AddDate(0, 0, d)
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		u.mu.Lock()
		for i := range nUsers {
			if born(i) > d {
				continue
			}
			p := activity(i)
			if weekend {
				p /= 5
			}
			h := mix(uint64(i), uint64(d)<<8|6)
			if unit(h) >= p {
				continue
			}
			if ordinal[i] == 0 {
				next++
				ordinal[i] = next
			}
			m := adopted(i)
			var fs [4]string
			n := 0
			for f := range memFeatures {
				if m&(1<<f) != 0 {
					fs[n] = memFeatures[f]
					n++
				}
			}
			feature := fs[int(h>>40)%n]
			at := day.Add(8*time.Hour + time.Duration(h>>20%(10*3600))*time.Second)
			memApply(ctx, u, ordinal[i], userAccount(i), at, feature)
			events++
		}
		u.mu.Unlock()
		notePeak("the events", day)
		now = day.AddDate(0, 0, 1).Add(5 * time.Minute)
		flushed := time.Now()
		if err := u.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		inFlush += time.Since(flushed)
		notePeak("the flush", day)
		if now.AddDate(0, 0, 1).Day() == 1 || d == nDays-1 {
			// On the last day of a month the engine holds the most days
			// (since the first of the month before: up to 61), on the
			// first the fewest (about 29, where a year from 2 March
			// ends), so the heap is measured each month end, after a
			// collection, without the harness's own ordinal table. The
			// line goes to stderr as it happens too: a benchmark's log is
			// printed only when it ends, and a full-size run takes hours.
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap := float64(ms.HeapAlloc-uint64(4*len(ordinal))) / (1 << 20)
			if d != nDays-1 {
				monthEnd = max(monthEnd, heap)
			}
			line := fmt.Sprintf("at %s, after day %d: %d events, %d users, %v (flushes %v), heap %.0f MiB, RSS %.0f MiB (peak %.0f MiB)",
				now.Format(time.DateOnly), d+1, events, next, time.Since(began).Round(time.Second), inFlush.Round(time.Second),
				heap, float64(procStatus("VmRSS"))/(1<<10), float64(procStatus("VmHWM"))/(1<<10))
			b.Log(line)
			fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format(time.TimeOnly), line)
			writeHeapProfile(b)
		}
	}
	b.ReportMetric(monthEnd, "monthend-heap-MiB")
	built := time.Since(began)
	b.ReportMetric(built.Seconds(), "build-s")
	ordinal = nil
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := procStatus("VmRSS"), procStatus("VmHWM")
	writeHeapProfile(b)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapinuse-MiB")
	b.ReportMetric(float64(rss)/(1<<10), "rss-MiB")
	b.ReportMetric(float64(hwm)/(1<<10), "peak-rss-MiB")
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(next), "users")
	b.Logf("%d accounts, %d users (%d seen), %d days, %d events: heap %.0f MiB (largest at a month end %.0f MiB), RSS %.0f MiB (peak %.0f MiB), built in %v",
		nAccounts, nUsers, next, nDays, events, float64(ms.HeapAlloc)/(1<<20), monthEnd, float64(rss)/(1<<10), float64(hwm)/(1<<10), built.Round(time.Second))
	runtime.KeepAlive(u)
}

// writeHeapProfile writes the heap profile to the file TEND_BENCH_HEAPPROFILE
// names, if any, replacing the last one: each month end's while the
// benchmark runs, the end's at the end. Not -memprofile: that one is written
// after the benchmark returns, when the engine is garbage.
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("TEND_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// procStatus reads a size in KiB from /proc/self/status; 0 where there is
// none.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// memApply applies one track event of a user as a commit does, with the
// caller holding mu: the user is linked to its account (by its group call)
// before its first event.
func memApply(ctx context.Context, u *Usage, ord uint32, accountID int64, at time.Time, feature string) {
	if u.users.get(ord) == 0 {
		u.noteLink(ctx, ord, accountID, true)
	}
	ev := store.Event{Type: "track", AccountID: &accountID, Name: feature, Timestamp: at}
	if err := u.applyLocked(ctx, ev, ord, feature, true); err != nil {
		panic(err)
	}
}
