package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
)

// BenchmarkBookOfBusiness serves the book of business from a SQLite file of
// 10,000 accounts with 20 owners and eight traits each, as a signed-in
// admin over HTTP on loopback: the whole stack of a page view (session,
// user, owners, count, page of 50, the rows' utilization traits, template). It reports the 95th percentile latency; the target
// is under 100 ms.
//
//	go test -run '^$' -bench BookOfBusiness -benchtime 200x ./internal/web/
func BenchmarkBookOfBusiness(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tend.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e := startEnv(b, st)
	admin := e.addUser("admin@tend.test", "Ada Admin", team.Admin)
	var tas []team.User
	for i := range 20 {
		hash, err := team.HashPassword(password)
		if err != nil {
			b.Fatal(err)
		}
		u := team.User{Email: fmt.Sprintf("ta%d@tend.test", i), Name: fmt.Sprintf("TA %d", i), Role: team.TA, PasswordHash: hash}
		if err := st.CreateUser(ctx, &u); err != nil {
			b.Fatal(err)
		}
		tas = append(tas, u)
	}
	if _, err := st.UpsertAccounts(ctx, benchAccounts(10000, tas), account.System("bench", account.SourceManual)); err != nil {
		b.Fatal(err)
	}
	// Every account has its usage traits and a few others, as in a book
	// fed by the usage engine and a CRM sync: the book reads two of them
	// per row.
	if err := benchTraits(ctx, st, 10000); err != nil {
		b.Fatal(err)
	}
	c := e.login(admin.Email)
	// The third page by ARR, reached as a person would: by the next links.
	page3 := "/?sort=-arr"
	for range 2 {
		_, body := c.get(page3)
		m := nextLink.FindStringSubmatch(body)
		if m == nil {
			b.Fatalf("no next link on %s", page3)
		}
		page3 = strings.ReplaceAll(m[1], "&amp;", "&")
	}

	for _, bc := range []struct{ name, path string }{
		{"default", "/"},
		{"filter+search", fmt.Sprintf("/?owner=%d&segment=Enterprise&q=systems&sort=-arr", tas[3].ID)},
		{"search-all", "/?q=acme&sort=renewal"},
		{"htmx-page-3", page3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var header []string
			if bc.name == "htmx-page-3" {
				header = []string{"HX-Request", "true"}
			}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				res, body := c.get(bc.path, header...)
				lat = append(lat, time.Since(start))
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", bc.path, res.StatusCode, body)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
		})
	}
}

var nextLink = regexp.MustCompile(`href="(/\?[^"]*cursor=[^"]*)"[^>]*rel="next"`)

// benchAccounts makes n accounts spread over the owners, segments, programs
// and stages, with renewals and health, as a real book has them.
func benchAccounts(n int, owners []team.User) []account.Account {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
		"Soylent", "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive", "Dynamic", "Pied Piper", "Nakatomi", "Monarch"}
	suffixes := []string{"Corp", "Inc", "Labs", "Systems", "Group", "Holdings", "Technologies", "AG", "GmbH", "Ltd"}
	segments := []string{"Strategic", "Enterprise", "Commercial"}
	stages := []string{"0. Prospect", "1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing"}
	colors := []string{"green", "yellow", "red", ""}
	out := make([]account.Account, n)
	for i := range out {
		name := fmt.Sprintf("%s %s %d", words[rng.IntN(len(words))], suffixes[rng.IntN(len(suffixes))], i)
		a := account.Account{Name: name, ExternalID: fmt.Sprintf("crm-%06d", i), Domain: fmt.Sprintf("a%d.example", i),
			ARR: int64(5000 + rng.IntN(400)*1000), Seats: 10 + rng.IntN(3000), EstimatedDevelopers: rng.IntN(20000),
			Segment: segments[rng.IntN(3)], Program: "Managed", Stage: stages[rng.IntN(5)],
			RenewalDate: date.New(2026, 1, 1).AddDays(rng.IntN(730)), HealthColor: colors[rng.IntN(4)]}
		if a.HealthColor != "" {
			a.HealthScore = ptr(float64(rng.IntN(100)) / 10)
		}
		if rng.IntN(20) != 0 { // 5% unassigned
			a.OwnerID = &owners[rng.IntN(len(owners))].ID
		}
		if a.Segment == "Commercial" && a.ARR < 50000 {
			a.Program = "Scaled Success"
		}
		out[i] = a
	}
	return out
}

// benchTraits gives each of the first n accounts (ids 1…n) the computed
// usage traits and a region, pulse and ticket count.
func benchTraits(ctx context.Context, st interface {
	SetTraits(context.Context, []account.TraitWrite, account.Actor) ([]account.TraitChange, error)
}, n int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	var ws []account.TraitWrite
	flush := func() error {
		if len(ws) == 0 {
			return nil
		}
		_, err := st.SetTraits(ctx, ws, account.System("bench", account.SourceComputed))
		ws = ws[:0]
		return err
	}
	for id := int64(1); id <= int64(n); id++ {
		ws = append(ws,
			account.TraitWrite{AccountID: id, Key: "usage_score", Value: float64(rng.IntN(60)) / 100},
			account.TraitWrite{AccountID: id, Key: "last_month_mau_over_seats", Value: float64(rng.IntN(120)) / 100},
			account.TraitWrite{AccountID: id, Key: "seat_utilization", Value: float64(rng.IntN(120)) / 100},
			account.TraitWrite{AccountID: id, Key: "last_month_mau", Value: float64(rng.IntN(3000))},
			account.TraitWrite{AccountID: id, Key: "active_users_30d", Value: float64(rng.IntN(3000))},
			account.TraitWrite{AccountID: id, Key: "region", Value: []string{"AMER", "EMEA", "APAC"}[rng.IntN(3)]},
			account.TraitWrite{AccountID: id, Key: "ta_pulse", Value: []string{"Healthy", "Concerning", "Poor"}[rng.IntN(3)]},
			account.TraitWrite{AccountID: id, Key: "help_tickets_90d", Value: float64(rng.IntN(20))},
		)
		if len(ws) >= 4000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
