package web

import (
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/store"
)

func TestTrendChart(t *testing.T) {
	t.Parallel()
	today := date.MustParse("2026-03-02")
	sc := func(v float64) *float64 { return &v }
	snaps := []store.HealthSnapshot{
		{Day: date.MustParse("2025-03-02"), Score: sc(9), Color: "green"}, // 366 days ago: outside
		{Day: date.MustParse("2025-06-01"), Score: sc(8), Color: "green", Model: "default"},
		{Day: date.MustParse("2025-06-02"), Score: sc(5), Color: "yellow", Model: "default"},
		{Day: date.MustParse("2025-06-03"), Color: ""}, // no score: a gap
		{Day: date.MustParse("2025-06-04"), Score: sc(4), Color: "yellow"},
		{Day: date.MustParse("2026-03-02"), Score: sc(2.5), Color: "red"}, // after days without snapshots
	}
	c := trendChart(snaps, today, 365, health.DefaultBands)
	if len(c.Points) != 5 {
		t.Fatalf("%d hover points, want the 5 days inside the year", len(c.Points))
	}
	if got := strings.Count(c.Path, "M"); got != 3 {
		t.Errorf("path %q has %d subpaths, want 3 (a gap after no score and after missing days)", c.Path, got)
	}
	if strings.Count(c.Path, "L") != 1 {
		t.Errorf("path %q: want one joined pair (1 and 2 June)", c.Path)
	}
	if c.Last == nil || c.Last.Class != "pt-red" || c.Last.Title != "Mon 2 Mar 2026: 2.50, red" {
		t.Errorf("last point %+v", c.Last)
	}
	if got := c.Points[1].Title; got != "Mon 2 Jun 2025: 5.00, yellow (model default)" {
		t.Errorf("tooltip %q", got)
	}
	if got := c.Points[2].Title; got != "Tue 3 Jun 2025: no score" {
		t.Errorf("tooltip %q", got)
	}
	// 0–10 on the y axis: 10 at the top of the plot, 0 at its bottom; the
	// bands meet at the model's thresholds.
	if c.Grid[0].Label != "0" || c.Grid[0].Y != c.Bottom() || c.Grid[3].Label != "10" || c.Grid[3].Y != c.Y {
		t.Errorf("grid %+v", c.Grid)
	}
	if c.Grid[1].Label != "3.33" || c.Grid[2].Label != "6.67" || c.Bands[1].Y != c.Grid[2].Y || c.Bands[2].Y != c.Grid[1].Y {
		t.Errorf("bands %+v against grid %+v", c.Bands, c.Grid)
	}
	if c.Points[0].Y >= c.Points[1].Y {
		t.Errorf("8 drawn at y %v, not above 5 at %v", c.Points[0].Y, c.Points[1].Y)
	}
	// A tick at each month's first day, the year on January.
	var labels []string
	for _, tk := range c.Ticks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "Apr May Jun Jul Aug Sep Oct Nov Dec Jan ’26 Feb Mar" {
		t.Errorf("month labels %q", got)
	}
	if empty := trendChart(nil, today, 365, health.DefaultBands); empty.Empty == "" || empty.Path != "" {
		t.Errorf("no snapshots: %+v", empty)
	}
}

func TestHealthDistribution(t *testing.T) {
	t.Parallel()
	url := func(c string) string { return "/?health=" + c }
	d := healthDistribution(map[string]int{"green": 6, "yellow": 3, "red": 2, "": 1}, "", url)
	if d.Total != 12 || len(d.Segs) != 4 {
		t.Fatalf("%+v", d)
	}
	var x float64
	for i, want := range []struct {
		key, pct, url string
		w             float64
	}{{"green", "50%", "/?health=green", 50}, {"yellow", "25%", "/?health=yellow", 25}, {"red", "17%", "/?health=red", 16.67},
		{"none", "8%", "", 8.33}} {
		s := d.Segs[i]
		if s.Key() != want.key || s.Pct != want.pct || s.URL != want.url || s.W != want.w || s.X != x || !s.Active {
			t.Errorf("segment %d = %+v, want %+v at x %v", i, s, want, x)
		}
		x = r2(x + s.W)
	}
	// Filtered by a colour: the others are dimmed.
	d = healthDistribution(map[string]int{"green": 1, "red": 1}, "red", url)
	if !d.Filtered || d.Segs[0].Active || !d.Segs[2].Active || d.Segs[1].W != 0 {
		t.Errorf("filtered by red: %+v", d)
	}
	if d := healthDistribution(nil, "", url); d.Total != 0 || d.Segs[0].Pct != "" {
		t.Errorf("no accounts: %+v", d)
	}
}
