package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/assess"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/workspace"
)

// benchPlaybooks writes 50 playbooks of every trigger kind: 20 `when`, 15
// date rules, 10 signals and 5 schedules, with conditions like the
// handbook's.
func benchPlaybooks(b *testing.B) *workspace.Workspace {
	b.Helper()
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		b.Fatal(err)
	}
	conds := []string{
		`account.segment == "Commercial" && account.arr < 50000 && traits.usage_score >= 0.3`,
		`traits.last_month_mau_over_seats < 0.5 && account.stage == "2. Adopting"`,
		`days_until(account.renewal_date) <= 90 && traits.ta_pulse in ["Concerning", "Poor"]`,
		`account.health_color == "red" && account.program == "Managed"`,
		`traits.help_tickets_90d >= 15 || traits.defect_tickets_90d >= 5`,
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, "playbooks", name+".yaml"), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	action := "actions:\n  - note: {body: \"{{.account.name}}\"}\n"
	for i := range 20 {
		write(fmt.Sprintf("when_%02d", i), fmt.Sprintf("name: W%d\ntrigger: {when: '%s && account.seats > %d'}\n%s", i, conds[i%len(conds)], i, action))
	}
	fields := []string{"renewal_date", "close_date", "expected_close_date"}
	for i := range 15 {
		write(fmt.Sprintf("date_%02d", i), fmt.Sprintf("name: D%d\ntrigger: {date: %s, offset_days: %d}\ncondition: '%s'\n%s",
			i, fields[i%3], -10*i, conds[i%len(conds)], action))
	}
	signals := []string{"trait_changed\n  trait: ta_pulse", "health_changed", "stage_changed", "seats_crossed\n  fraction: 0.9", "field_changed\n  field: owner_id"}
	for i := range 10 {
		write(fmt.Sprintf("signal_%02d", i), fmt.Sprintf("name: S%d\ntrigger:\n  signal: %s\n%s", i, signals[i%len(signals)], action))
	}
	for i := range 5 {
		write(fmt.Sprintf("cron_%02d", i), fmt.Sprintf("name: C%d\ntrigger: {cron: \"0 9 1 %d *\"}\ncondition: '%s'\n%s", i, i+1, conds[i], action))
	}
	ws, err := workspace.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	if len(ws.Playbooks) != 50 {
		b.Fatalf("%d playbooks", len(ws.Playbooks))
	}
	return ws
}

// BenchmarkPlaybookTick is a clock tick (a new day) of 50 playbooks over
// 100,000 accounts held in memory: every `when` condition and date rule
// evaluated for every account, the handful of transitions recorded.
//
//	go test -run '^$' -bench PlaybookTick -benchtime 3x ./internal/engine/
func BenchmarkPlaybookTick(b *testing.B) {
	const n = 100_000
	ws := benchPlaybooks(b)
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := NewManualClock(now)
	a := NewAssessor(AssessorConfig{Store: st, Workspace: ws, Now: clock.Now, Playbooks: &PlaybookConfig{}})
	r := rand.New(rand.NewPCG(1, 2))
	today := date.Of(now)
	ids := make([]int64, n)
	pulses := []string{"Healthy", "Concerning", "Poor"}
	segments := []string{"Strategic", "Enterprise", "Commercial"}
	stages := []string{"1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing"}
	colors := []string{"green", "yellow", "red"}
	for i := range ids {
		id := int64(i + 1)
		ids[i] = id
		a.inputs[id] = &assess.Input{Account: account.Account{ID: id, Name: fmt.Sprint("A", i), Seats: 10 + r.IntN(2000),
			ARR: int64(r.IntN(200_000)), Segment: segments[r.IntN(3)], Program: []string{"Managed", "Scaled Success"}[r.IntN(2)],
			Stage: stages[r.IntN(4)], HealthColor: colors[r.IntN(3)],
			CloseDate: today.AddDays(-r.IntN(700)), RenewalDate: today.AddDays(r.IntN(365)), ExpectedCloseDate: today.AddDays(r.IntN(60))},
			Traits: map[string]any{"usage_score": r.Float64() * 0.5, "last_month_mau_over_seats": r.Float64(), "ta_pulse": pulses[r.IntN(3)],
				"help_tickets_90d": float64(r.IntN(20)), "defect_tickets_90d": float64(r.IntN(7))},
			Contacts: map[string]int{}}
	}
	a.loaded = true
	// The first pass: every account enters what it matches.
	if err := a.runner.step(ctx, runInput{now: now, full: true, assessed: ids}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		clock.Advance(24 * time.Hour)
		if err := a.runner.step(ctx, runInput{now: now.AddDate(0, 0, i+1), full: true, assessed: ids}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
}
