package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/health"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/usage"
)

// Charts are drawn on the server as inline SVG: no chart library, no
// script, nothing the content security policy has to allow. The geometry is
// computed here and chart.html only prints it; colours and hover states
// come from tend.css through classes, since inline styles are refused.

// barChart is one bar chart's geometry, in the units of its viewBox.
type barChart struct {
	// Title names the chart for screen readers (the svg's <title>).
	Title string
	// Class is added to the svg's class, for per-chart styles.
	Class string
	// W and H are the viewBox; the plot area is X..X+PW, Y..Y+PH.
	W, H   float64
	X, Y   float64
	PW, PH float64
	Bars   []chartBar
	Grid   []gridLine
	Ticks  []xTick
	Line   *refLine
	Empty  string // a message drawn over an empty plot
}

// Bottom is the y of the x axis.
func (c barChart) Bottom() float64 { return c.Y + c.PH }

// TickEnd is where a month tick stops, below the x axis. Ticks start at
// the plot's top: a faint line at each month boundary.
func (c barChart) TickEnd() float64 { return c.Y + c.PH + 5 }

// Right is the x of the plot's right edge.
func (c barChart) Right() float64 { return c.X + c.PW }

// MidX and MidY are the centre of the plot, where Empty is written.
func (c barChart) MidX() float64 { return c.X + c.PW/2 }

// MidY is the vertical centre of the plot.
func (c barChart) MidY() float64 { return c.Y + c.PH/2 }

// chartBar is one bar with its hover area (the whole slot, so that a zero
// day still has a tooltip) and tooltip.
type chartBar struct {
	X, Y, W, H   float64
	SlotX, SlotW float64
	Title        string
	// Class is "bar", plus "partial" for today or this month (still
	// counting) or "rejected" for rejected events.
	Class string
	// Value is written above the bar when set.
	Value  string
	ValueX float64
	ValueY float64
}

// gridLine is a horizontal grid line with its y-axis label.
type gridLine struct {
	Y     float64
	Label string
}

// xTick is an x-axis label at LabelX; Mark draws a tick at X (a month
// boundary).
type xTick struct {
	X      float64
	LabelX float64
	Label  string
	Anchor string // start, middle or end
	Mark   bool
}

// refLine is a dashed horizontal reference line (the licensed seats).
type refLine struct {
	Y      float64
	Label  string
	LabelY float64
}

// Chart box sizes. The viewBoxes are about the size the charts are drawn
// at on a 1280-pixel screen, so their text renders near its CSS size.
const (
	chartW      = 820
	chartH      = 176
	chartLeft   = 40
	chartRight  = 10
	chartTop    = 20
	chartBottom = 24
)

// niceScale returns the top of a count axis and its step: 1, 2 or 5 times
// a power of ten, with at most four steps, so grid labels are round.
func niceScale(max int) (top, step int) {
	if max <= 0 {
		return 4, 1
	}
	for mag := 1; ; mag *= 10 {
		for _, m := range []int{1, 2, 5} {
			s := m * mag
			if (max+s-1)/s <= 4 {
				return (max + s - 1) / s * s, s
			}
		}
	}
}

// r1 rounds a coordinate to a tenth: smaller markup, no visible change.
func r1(v float64) float64 { return math.Round(v*10) / 10 }

// grid returns the horizontal lines and labels of a count axis.
func grid(top, step int, y, ph float64) []gridLine {
	var out []gridLine
	for v := 0; v <= top; v += step {
		out = append(out, gridLine{Y: r1(y + ph - float64(v)/float64(top)*ph), Label: number(v)})
	}
	return out
}

// dauChart draws DAU per day, oldest first, with a tick at each month's
// first day.
func dauChart(series []usage.DayCount) barChart {
	c := barChart{Title: fmt.Sprintf("Daily active users, last %d days", len(series)), Class: "chart-dau",
		W: chartW, H: chartH, X: chartLeft, Y: chartTop, PW: chartW - chartLeft - chartRight, PH: chartH - chartTop - chartBottom}
	peak := 0
	for _, p := range series {
		peak = max(peak, p.Users)
	}
	top, step := niceScale(peak)
	c.Grid = grid(top, step, c.Y, c.PH)
	if len(series) == 0 {
		c.Empty = "No days to show."
		return c
	}
	slot := c.PW / float64(len(series))
	bw := max(slot*0.72, 1)
	for i, p := range series {
		sx := c.X + float64(i)*slot
		h := float64(p.Users) / float64(top) * c.PH
		d := p.Day.Date().Time(time.UTC)
		title := fmt.Sprintf("%s: %s active %s", d.Format("Mon 2 Jan 2006"), number(p.Users), plural(p.Users, "user", "users"))
		if p.Partial {
			title += " so far today"
		}
		c.Bars = append(c.Bars, chartBar{X: r1(sx + (slot-bw)/2), Y: r1(c.Y + c.PH - h), W: r1(bw), H: r1(h),
			SlotX: r1(sx), SlotW: r1(slot), Title: title, Class: barClass(p.Partial)})
		switch {
		case d.Day() == 1 && len(series)-i < 5:
			// Too near the right edge for the label to follow the tick.
			c.Ticks = append(c.Ticks, xTick{X: r1(sx), LabelX: r1(c.Right()), Label: monthLabel(d, false), Anchor: "end", Mark: true})
		case d.Day() == 1:
			c.Ticks = append(c.Ticks, xTick{X: r1(sx), LabelX: r1(sx + 3), Label: monthLabel(d, i == 0), Anchor: "start", Mark: true})
		case i == 0 && d.AddDate(0, 1, 1-d.Day()).Sub(d) >= 8*24*time.Hour:
			// The first, partial month, when there is room for its name.
			c.Ticks = append(c.Ticks, xTick{X: r1(sx), LabelX: r1(sx), Label: monthLabel(d, true), Anchor: "start"})
		}
	}
	if peak == 0 {
		c.Empty = "No activity in these days."
	}
	return c
}

// mauChart draws MAU per calendar month with the licensed seats as a
// dashed line (004 compares last month's MAU with the seats), the value
// above each bar.
func mauChart(series []usage.MonthCount, seats int) barChart {
	c := barChart{Title: fmt.Sprintf("Monthly active users, last %d months, against %s seats", len(series), number(seats)),
		Class: "chart-mau", W: chartW, H: chartH, X: chartLeft, Y: chartTop, PW: chartW - chartLeft - chartRight,
		PH: chartH - chartTop - chartBottom}
	peak := max(seats, 0)
	for _, p := range series {
		peak = max(peak, p.Users)
	}
	top, step := niceScale(peak)
	c.Grid = grid(top, step, c.Y, c.PH)
	if len(series) == 0 {
		c.Empty = "No months to show."
		return c
	}
	slot := c.PW / float64(len(series))
	bw := slot * 0.6
	active := false
	for i, p := range series {
		y, m := p.Month.Date()
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		sx := c.X + float64(i)*slot
		h := float64(p.Users) / float64(top) * c.PH
		title := fmt.Sprintf("%s: %s monthly active %s", first.Format("January 2006"), number(p.Users), plural(p.Users, "user", "users"))
		if p.Partial {
			title += " so far this month"
		}
		if seats > 0 {
			title += fmt.Sprintf(" · %s of %s seats", ratio(float64(p.Users)/float64(seats)), number(seats))
		}
		b := chartBar{X: r1(sx + (slot-bw)/2), Y: r1(c.Y + c.PH - h), W: r1(bw), H: r1(h), SlotX: r1(sx), SlotW: r1(slot),
			Title: title, Class: barClass(p.Partial), ValueX: r1(sx + slot/2), ValueY: r1(c.Y + c.PH - h - 4)}
		if p.Users > 0 {
			b.Value = number(p.Users)
			active = true
		}
		c.Bars = append(c.Bars, b)
		c.Ticks = append(c.Ticks, xTick{X: r1(sx + slot/2), LabelX: r1(sx + slot/2), Label: monthLabel(first, i == 0), Anchor: "middle"})
	}
	if seats > 0 {
		y := r1(c.Y + c.PH - float64(seats)/float64(top)*c.PH)
		c.Line = &refLine{Y: y, Label: number(seats) + " seats", LabelY: r1(y - 4)}
	}
	if !active {
		c.Empty = "No activity in these months."
	}
	return c
}

// barClass is a bar's class: partial bars are still counting.
func barClass(partial bool) string {
	if partial {
		return "bar partial"
	}
	return "bar"
}

// monthLabel is an x-axis month: "Mar", with the year on January and on
// the first label, so the axis says which year it is.
func monthLabel(t time.Time, first bool) string {
	if t.Month() == time.January || first {
		return t.Format("Jan 2006")
	}
	return t.Format("Jan")
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ratio formats a utilization ratio to two places: 0.83.
func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// minuteChart draws a source's events per minute over the last hour,
// accepted and rejected stacked. It is small: a sparkline with an axis.
func minuteChart(title string, accepted, rejected []int, start time.Time) barChart {
	const w, h, left, right, topPad, bottom = 580, 100, 40, 6, 8, 20
	c := barChart{Title: title, Class: "chart-minutes", W: w, H: h, X: left, Y: topPad, PW: w - left - right, PH: h - topPad - bottom}
	peak := 0
	for i := range accepted {
		peak = max(peak, accepted[i]+rejected[i])
	}
	top, _ := niceScale(peak)
	c.Grid = []gridLine{{Y: r1(c.Y + c.PH), Label: "0"}, {Y: r1(c.Y), Label: number(top)}}
	slot := c.PW / float64(len(accepted))
	bw := max(slot*0.7, 1)
	for i := range accepted {
		at := start.Add(time.Duration(i) * time.Minute)
		sx := c.X + float64(i)*slot
		ha := float64(accepted[i]) / float64(top) * c.PH
		hr := float64(rejected[i]) / float64(top) * c.PH
		t := fmt.Sprintf("%s UTC: %s accepted", at.Format("15:04"), number(accepted[i]))
		if rejected[i] > 0 {
			t += fmt.Sprintf(", %s rejected", number(rejected[i]))
		}
		b := chartBar{X: r1(sx + (slot-bw)/2), Y: r1(c.Y + c.PH - ha), W: r1(bw), H: r1(ha), SlotX: r1(sx), SlotW: r1(slot),
			Title: t, Class: barClass(i == len(accepted)-1)}
		c.Bars = append(c.Bars, b)
		if rejected[i] > 0 {
			// The rejected part sits on top of the accepted part, as a
			// second bar with the same tooltip.
			c.Bars = append(c.Bars, chartBar{X: b.X, Y: r1(c.Y + c.PH - ha - hr), W: b.W, H: r1(hr), SlotX: b.SlotX,
				Title: t, Class: "bar rejected"})
		}
		if i%15 == 0 || i == len(accepted)-1 {
			anchor := "middle"
			if i == 0 {
				anchor = "start"
			} else if i == len(accepted)-1 {
				anchor = "end"
			}
			x := sx + slot/2
			if anchor == "start" {
				x = sx
			} else if anchor == "end" {
				x = sx + slot
			}
			c.Ticks = append(c.Ticks, xTick{X: r1(x), LabelX: r1(x), Label: at.Format("15:04"), Anchor: anchor})
		}
	}
	if peak == 0 {
		c.Empty = "No events in the last hour."
	}
	return c
}

// lineChart is the health trend's geometry: a score line on 0–10 over the
// colour bands, one hover area per day with a snapshot.
type lineChart struct {
	Title  string
	W, H   float64
	X, Y   float64
	PW, PH float64
	Bands  []bandRect
	Grid   []gridLine
	Ticks  []xTick
	// Path is the line's d attribute: a gap (a day without a snapshot or
	// without a score) starts a new subpath.
	Path   string
	Points []trendPoint
	// Last marks the newest score.
	Last  *trendPoint
	Empty string
	// GreenFrom and YellowFrom are the bands' lower bounds, for the legend.
	GreenFrom, YellowFrom string
}

// Bottom is the y of the x axis.
func (c lineChart) Bottom() float64 { return c.Y + c.PH }

// TickEnd is where a month tick stops, below the x axis.
func (c lineChart) TickEnd() float64 { return c.Y + c.PH + 5 }

// Right is the x of the plot's right edge.
func (c lineChart) Right() float64 { return c.X + c.PW }

// MidX is the horizontal centre of the plot.
func (c lineChart) MidX() float64 { return c.X + c.PW/2 }

// MidY is the vertical centre of the plot.
func (c lineChart) MidY() float64 { return c.Y + c.PH/2 }

// bandRect is one colour band behind the line.
type bandRect struct {
	Y, H  float64
	Class string
}

// trendPoint is one day of the trend: its hover slot and tooltip, and the
// score's position.
type trendPoint struct {
	SlotX, SlotW float64
	X, Y         float64
	Title        string
	Class        string
}

// Trend chart box: about the width it is drawn at in the health card.
const (
	trendW      = 780
	trendH      = 150
	trendLeft   = 34
	trendRight  = 8
	trendTop    = 8
	trendBottom = 22
)

// trendChart draws the daily health snapshots of the days days up to
// today, oldest first, on 0–10 with the model's bands: green from
// bands.Green, yellow from bands.Yellow, red below.
func trendChart(snaps []store.HealthSnapshot, today date.Date, days int, bands health.Bands) lineChart {
	c := lineChart{Title: fmt.Sprintf("Health score, daily, last %d days", days), W: trendW, H: trendH,
		X: trendLeft, Y: trendTop, PW: trendW - trendLeft - trendRight, PH: trendH - trendTop - trendBottom,
		GreenFrom: strconv.FormatFloat(bands.Green, 'f', -1, 64), YellowFrom: strconv.FormatFloat(bands.Yellow, 'f', -1, 64)}
	y := func(score float64) float64 {
		return r1(c.Y + c.PH - min(max(score, 0), health.MaxScore)/health.MaxScore*c.PH)
	}
	c.Bands = []bandRect{
		{Y: c.Y, H: r1(y(bands.Green) - c.Y), Class: "band-green"},
		{Y: y(bands.Green), H: r1(y(bands.Yellow) - y(bands.Green)), Class: "band-yellow"},
		{Y: y(bands.Yellow), H: r1(c.Y + c.PH - y(bands.Yellow)), Class: "band-red"},
	}
	for _, v := range []float64{0, bands.Yellow, bands.Green, health.MaxScore} {
		c.Grid = append(c.Grid, gridLine{Y: y(v), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	first := today.AddDays(1 - days)
	slot := c.PW / float64(days)
	for i := range days {
		d := first.AddDays(i).Time(time.UTC)
		if d.Day() != 1 {
			continue
		}
		sx := r1(c.X + float64(i)*slot)
		label := d.Format("Jan")
		if d.Month() == time.January {
			label = d.Format("Jan ’06") // the year, where it turns
		}
		tk := xTick{X: sx, LabelX: r1(sx + 3), Label: label, Anchor: "start", Mark: true}
		if days-i < 12 {
			tk.LabelX, tk.Anchor = r1(c.Right()), "end"
		}
		c.Ticks = append(c.Ticks, tk)
	}
	var path strings.Builder
	prev := -2
	for _, s := range snaps {
		i := first.DaysUntil(s.Day)
		if i < 0 || i >= days {
			continue
		}
		sx := c.X + float64(i)*slot
		p := trendPoint{SlotX: r1(sx), SlotW: r1(slot), X: r1(sx + slot/2)}
		label := s.Day.Time(time.UTC).Format("Mon 2 Jan 2006")
		if s.Score == nil {
			p.Title = label + ": no score"
			c.Points = append(c.Points, p)
			prev = -2
			continue
		}
		p.Y, p.Class = y(*s.Score), "pt-"+s.Color
		p.Title = fmt.Sprintf("%s: %s, %s", label, strconv.FormatFloat(*s.Score, 'f', 2, 64), s.Color)
		if s.Model != "" {
			p.Title += " (model " + s.Model + ")"
		}
		if i == prev+1 {
			fmt.Fprintf(&path, " L%s %s", px(p.X), px(p.Y))
		} else {
			fmt.Fprintf(&path, " M%s %s", px(p.X), px(p.Y))
		}
		prev = i
		c.Points = append(c.Points, p)
		last := p
		c.Last = &last
	}
	c.Path = strings.TrimSpace(path.String())
	if c.Last == nil {
		c.Empty = "No daily health snapshots in these months yet."
	}
	return c
}

// distBar is the share of a set of accounts in each health colour, as the
// widths of one bar's segments on a 0–100 scale.
type distBar struct {
	Total int
	Segs  []distSeg
	// Filtered is set when one colour is selected: the others are dimmed.
	Filtered bool
}

// distSeg is one colour of a distBar.
type distSeg struct {
	// Color is green, yellow, red or "" (no score).
	Color string
	Label string
	Count int
	X, W  float64
	// Pct is the share for people: "42%".
	Pct string
	// URL lists these accounts; empty for "no score", which no filter
	// selects.
	URL    string
	Active bool
}

// Key is the segment's class suffix: the colour, or "none".
func (s distSeg) Key() string {
	if s.Color == "" {
		return "none"
	}
	return s.Color
}

// healthDistribution lays out counts (store.HealthCounts) as a bar; url
// gives each colour's link, selected is the colour the view is filtered
// by ("" none).
func healthDistribution(counts map[string]int, selected string, url func(color string) string) distBar {
	b := distBar{Filtered: selected != ""}
	for _, c := range []string{"green", "yellow", "red", ""} {
		b.Total += counts[c]
	}
	x := 0.0
	for _, c := range []string{"green", "yellow", "red", ""} {
		n := counts[c]
		s := distSeg{Color: c, Label: colorName(c), Count: n, X: r2(x), Active: selected == "" || selected == c}
		if c != "" {
			s.URL = url(c)
		}
		if b.Total > 0 {
			w := 100 * float64(n) / float64(b.Total)
			s.W, s.Pct = r2(w), fmt.Sprintf("%.0f%%", w)
			x += w
		}
		b.Segs = append(b.Segs, s)
	}
	return b
}

// r2 rounds a percentage to hundredths.
func r2(v float64) float64 { return math.Round(v*100) / 100 }

// colorName is a health colour for people: "Green", or "No score".
func colorName(c string) string {
	switch c {
	case "":
		return "No score"
	case "green":
		return "Green"
	case "yellow":
		return "Yellow"
	case "red":
		return "Red"
	}
	return c
}
