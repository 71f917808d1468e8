package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/benchprof"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/outbox"
	"github.com/tendhq/tend/internal/outbox/smtptest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/store/sqlstore"
	"github.com/tendhq/tend/internal/team"
	"github.com/tendhq/tend/internal/workspace"
)

// campaignBench is a SQLite file with a book of accounts and the default
// workspace — the handbook's playbooks and campaigns — run by an assessor
// whose campaign emails go to the store's outbox.
type campaignBench struct {
	st    *sqlstore.DB
	ws    *workspace.Workspace
	clock *ManualClock
	a     *Assessor
	ta    team.User
	seq   int
}

var campaignBenchStart = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func newCampaignBench(b *testing.B) *campaignBench {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tend.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ws, err := workspace.Default()
	if err != nil {
		b.Fatal(err)
	}
	cb := &campaignBench{st: st, ws: ws, clock: NewManualClock(campaignBenchStart)}
	st.Now = cb.clock.Now
	cb.ta = team.User{Email: "tara@bench.test", Name: "Tara Advisor", Role: team.TA}
	if err := st.CreateUser(ctx, &cb.ta); err != nil {
		b.Fatal(err)
	}
	from := store.Address{Name: "Tend", Email: "success@bench.test"}
	q := outbox.NewQueue(st, from)
	cb.a = NewAssessor(AssessorConfig{Store: st, Workspace: ws, Now: cb.clock.Now,
		Playbooks: &PlaybookConfig{
			Effects:   &StoreEffects{Store: st, Workspace: ws, Now: cb.clock.Now, Enqueue: q.Enqueue},
			Campaigns: &CampaignConfig{Enqueue: q.Enqueue, From: from, LinkBase: "https://tend.bench.test"},
		}})
	return cb
}

// addAccounts adds n accounts: with closing today, small ones that the
// lifecycle rules put in Scaled Success (so admin onboarding starts at
// once); otherwise a varied book whose close dates spread over two years.
func (cb *campaignBench) addAccounts(b *testing.B, n int, closingToday bool) []int64 {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(cb.seq), 7))
	today := date.Of(cb.clock.Now())
	var ids []int64
	const chunk = 5_000
	for from := 0; from < n; from += chunk {
		var as []account.Account
		var traits []map[string]any
		for i := from; i < min(n, from+chunk); i++ {
			cb.seq++
			a := account.Account{Name: fmt.Sprintf("Account %d", cb.seq), ExternalID: fmt.Sprintf("bench-%d", cb.seq), OwnerID: &cb.ta.ID}
			if closingToday {
				a.EstimatedDevelopers, a.ARR, a.Seats = 80, 12_000, 50
				a.ExpectedCloseDate, a.CloseDate, a.RenewalDate = today, today, today.AddDays(365)
			} else {
				a.EstimatedDevelopers, a.ARR, a.Seats = r.IntN(2_000), int64(r.IntN(150_000)), 10+r.IntN(500)
				a.CloseDate = today.AddDays(-r.IntN(700) + 20)
				a.RenewalDate = a.CloseDate.AddDays(365 * (1 + r.IntN(2)))
				a.Deployment = []string{"cloud", "self_hosted"}[r.IntN(2)]
			}
			as = append(as, a)
			traits = append(traits, map[string]any{
				"ta_pulse": []string{"Healthy", "Concerning", "Poor"}[r.IntN(3)], "last_month_versions_behind": float64(r.IntN(5)),
				"usage_score": r.Float64() * 0.5, "last_month_mau_over_seats": r.Float64() * 1.1, "seat_utilization": r.Float64(),
				"last_activity_date": today.AddDays(-r.IntN(45)).String(),
			})
		}
		if _, err := cb.st.UpsertAccounts(ctx, as, account.System("bench", "")); err != nil {
			b.Fatal(err)
		}
		ext := make([]string, len(as))
		for i, a := range as {
			ext[i] = a.ExternalID
		}
		byExt, err := cb.st.ResolveExternalIDs(ctx, ext)
		if err != nil {
			b.Fatal(err)
		}
		var ws []account.TraitWrite
		for i, a := range as {
			id := byExt[a.ExternalID]
			ids = append(ids, id)
			for k, v := range traits[i] {
				ws = append(ws, account.TraitWrite{AccountID: id, Key: k, Value: v})
			}
		}
		if _, err := cb.st.SetTraits(ctx, ws, account.System("bench", account.SourceWarehouse)); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// enrollments counts the enrollments with the status, "" every one.
func (cb *campaignBench) enrollments(b *testing.B, status string) int {
	b.Helper()
	stats, err := cb.st.CampaignStats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, s := range stats {
		for st, k := range s.ByStatus {
			if status == "" || st == status {
				n += k
			}
		}
	}
	return n
}

func campaignBenchAccounts() int {
	if s := os.Getenv("TEND_BENCH_ACCOUNTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 10_000
}

// BenchmarkCampaignTick is the campaigns' part of a clock tick over a book
// of TEND_BENCH_ACCOUNTS accounts (default 10,000) held in memory: every
// campaign's entry (its trigger, a playbook) evaluated for every account,
// every enrollment waiting on a condition planned again, and the due ones
// planned — the runner's step, without the assessment before it. "day" is
// an ordinary day; "recap" the 2nd of the month, when the monthly usage
// recap (and the upgrade recap) enroll their whole audience and plan each
// (no contacts: no email is rendered — BenchmarkCampaignSend measures
// that). TEND_BENCH_PROFILE=file profiles the recap day alone.
//
//	TEND_BENCH_ACCOUNTS=100000 go test -run '^$' -bench CampaignTick -benchtime 3x -timeout 30m ./internal/engine/
func BenchmarkCampaignTick(b *testing.B) {
	n := campaignBenchAccounts()
	ctx := context.Background()
	b.Run("day", func(b *testing.B) {
		cb := newCampaignBench(b)
		cb.addAccounts(b, n, false)
		if err := cb.a.Step(ctx); err != nil {
			b.Fatal(err)
		}
		ids := cb.a.ids()
		b.ResetTimer()
		for range b.N {
			cb.clock.Advance(24 * time.Hour)
			if err := cb.a.runner.step(ctx, runInput{now: cb.clock.Now(), full: true, assessed: ids}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
		b.ReportMetric(float64(cb.enrollments(b, store.EnrollmentActive)), "active")
	})
	b.Run("recap", func(b *testing.B) {
		cb := newCampaignBench(b)
		cb.addAccounts(b, n, false)
		if err := cb.a.Step(ctx); err != nil {
			b.Fatal(err)
		}
		ids := cb.a.ids()
		b.ResetTimer()
		var entered int
		for range b.N {
			b.StopTimer()
			// The 1st of the next month at 9:00, untimed; then the 2nd.
			now := cb.clock.Now()
			first := time.Date(now.Year(), now.Month()+1, 1, 9, 0, 0, 0, time.UTC)
			cb.clock.Advance(first.Sub(now))
			if err := cb.a.runner.step(ctx, runInput{now: cb.clock.Now(), full: true, assessed: ids}); err != nil {
				b.Fatal(err)
			}
			before := cb.enrollments(b, "")
			stop := benchprof.Start(b)
			b.StartTimer()
			cb.clock.Advance(24 * time.Hour)
			if err := cb.a.runner.step(ctx, runInput{now: cb.clock.Now(), full: true, assessed: ids}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			stop()
			entered += cb.enrollments(b, "") - before
		}
		if entered == 0 {
			b.Fatal("the recap day enrolled no account")
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
		b.ReportMetric(float64(entered)/float64(b.N), "enrolled/tick")
	})
}

// BenchmarkCampaignSend renders and delivers campaign emails end to end:
// each iteration adds 250 accounts closing today, each with two instance
// admins, then times the assessor's step — which assesses them, enrolls
// them in admin onboarding and renders its welcome email for each admin,
// with signed links, into the outbox — and an SMTP worker (8 connections)
// delivering all 500 to an in-process go-smtp server.
//
//	go test -run '^$' -bench CampaignSend -benchtime 10x ./internal/engine/
func BenchmarkCampaignSend(b *testing.B) {
	const accounts, admins = 250, 2
	ctx := context.Background()
	cb := newCampaignBench(b)
	if err := cb.a.Step(ctx); err != nil {
		b.Fatal(err)
	}
	sink := smtptest.New(b)
	snd, err := outbox.NewSMTP(outbox.SMTPConfig{Host: "127.0.0.1", Port: sink.Port, TLS: outbox.TLSNone, MaxConns: 8,
		From: store.Address{Name: "Tend", Email: "success@bench.test"}})
	if err != nil {
		b.Fatal(err)
	}
	defer snd.Close()
	w := &outbox.Worker{Store: cb.st, Clock: cb.clock.Now, Senders: map[string]outbox.Sender{store.ChannelEmail: snd},
		Concurrency: 8, Batch: 100, Poll: 2 * time.Millisecond}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	defer func() { cancel(); <-done }()
	b.ResetTimer()
	sent := 0
	for range b.N {
		b.StopTimer()
		ids := cb.addAccounts(b, accounts, true)
		for _, id := range ids {
			for j := range admins {
				c := account.Contact{AccountID: id, Name: fmt.Sprintf("Admin %d", j), Email: fmt.Sprintf("admin%d@a%d.bench.test", j, id),
					Roles: []string{account.RoleInstanceAdmin}}
				if err := cb.st.CreateContact(ctx, &c); err != nil {
					b.Fatal(err)
				}
			}
		}
		cb.clock.Advance(time.Minute)
		want := sink.Count() + accounts*admins
		b.StartTimer()
		if err := cb.a.Step(ctx); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for sink.Count() < want {
			if time.Now().After(deadline) {
				counts, _ := cb.st.CountMessages(ctx, store.OutboxFilter{})
				b.Fatalf("%d of %d emails delivered after a minute: %v", sink.Count(), want, counts)
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		sent += accounts * admins
	}
	if extra := sink.Count() - sent; extra != 0 {
		b.Fatalf("%d emails beyond the welcome ones", extra)
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msg/s")
}
