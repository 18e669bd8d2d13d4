package results

import (
	"io"
	"math"
	"strconv"
	"time"

	"tailgate/internal/redact"
	"tailgate/results/internal/chart"
)

// SweepPoint is one step of a rate sweep: the rate offered and achieved
// (req/s), its response-time p50 and p99, and whether the step counts
// toward the latency curve (the generator kept up and the target was not
// saturated).
type SweepPoint struct {
	Offered, Achieved float64
	P50, P99          time.Duration
	Valid             bool
	// State names the step's state for the table ("ok", "saturated",
	// "invalid"); "" shows Valid as yes or no.
	State string
}

// KneeMark marks the knee of a sweep at an offered rate (req/s), with a
// label such as "knee 7,800 req/s".
type KneeMark struct {
	Rate  float64
	Label string
}

// WriteHTMLSweep writes a self-contained HTML page for a rate sweep:
// latency (p50, p99) against the offered rate with the knee (when knee is
// not nil) and the SLO (when slo > 0) marked, achieved against offered
// rate, and a table of the steps. Steps that do not count (saturated or
// invalid) are drawn as rings and left out of the lines. notes are shown
// above the charts (e.g. the capacity bracket).
func WriteHTMLSweep(w io.Writer, steps []SweepPoint, knee *KneeMark, slo time.Duration, title string, notes ...string) error {
	title, notes = redact.Text(title), redactAll(notes)
	if title == "" {
		title = "tailgate sweep"
	}
	p := &htmlPage{Title: title}
	var ox, p50, p99, ach, bad99, badX, badAch []float64
	for _, s := range steps {
		if !s.Valid {
			badX = append(badX, s.Offered)
			bad99 = append(bad99, float64(s.P99))
			badAch = append(badAch, s.Achieved)
			continue
		}
		ox = append(ox, s.Offered)
		p50 = append(p50, float64(s.P50))
		p99 = append(p99, float64(s.P99))
		ach = append(ach, s.Achieved)
	}
	var markers []chart.Marker
	if knee != nil {
		label := knee.Label
		if label == "" {
			label = "knee " + chart.RateTick(knee.Rate) + " req/s"
		}
		markers = append(markers, chart.Marker{At: knee.Rate, Vertical: true, Label: label})
	}
	latMarkers := markers
	if slo > 0 {
		latMarkers = append(append([]chart.Marker(nil), markers...), chart.Marker{At: float64(slo), Label: "SLO p99 < " + FormatDuration(slo), Color: "#b45309"})
	}
	rateAxis := chart.Axis{Label: "offered rate (req/s)", FromZero: true, Pad: 0.03, Format: chart.RateTick}
	yl := chart.LatencyAxis(p50, p99, bad99)
	lat := &chart.Chart{
		Title: "Latency against offered rate",
		X:     rateAxis,
		Y:     yl,
		Series: []chart.Series{
			{Name: "p50", X: ox, Y: p50, Points: true},
			{Name: "p99", X: ox, Y: p99, Points: true},
			{Name: "saturated or invalid step (p99)", X: badX, Y: bad99, NoLine: true, Hollow: true, Color: "#6b7280"},
		},
		Markers: latMarkers,
		Empty:   "no steps",
	}
	if len(badX) == 0 {
		lat.Series = lat.Series[:2]
	}
	var hi float64
	for _, s := range steps {
		hi = math.Max(hi, math.Max(s.Offered, s.Achieved))
	}
	tput := &chart.Chart{
		Title: "Achieved against offered rate",
		X:     rateAxis,
		Y:     chart.Axis{Label: "achieved (req/s)", FromZero: true, Format: chart.RateTick},
		Series: []chart.Series{
			{Name: "achieved", X: ox, Y: ach, Points: true},
			{Name: "ideal (achieved = offered)", X: []float64{0, hi}, Y: []float64{0, hi}, Dash: true, Color: "#9ca3af"},
			{Name: "saturated or invalid step", X: badX, Y: badAch, NoLine: true, Hollow: true, Color: "#6b7280"},
		},
		Markers: markers,
		Empty:   "no steps",
	}
	if len(badX) == 0 {
		tput.Series = tput.Series[:2]
	}
	sec := htmlSection{Title: "Sweep"}
	sec.Notes = append(sec.Notes, notes...)
	if knee != nil {
		sec.Notes = append(sec.Notes, knee.Label)
	}
	sec.Charts = []htmlChart{
		{lat.SVG(), "Response time from the intended send. Rings are steps that do not count: saturated (the target held completions below the offered rate, or its latency kept rising) or invalid (the generator fell behind)."},
		{tput.SVG(), ""},
	}
	t := htmlTable{Caption: "Steps", Head: []string{"offered/s", "achieved/s", "achieved/offered", "p50", "p99", "state"}}
	if slo > 0 {
		t.Head = append(t.Head, "p99 < "+FormatDuration(slo))
	}
	for _, s := range steps {
		ratio := "—"
		if s.Offered > 0 {
			ratio = strconv.FormatFloat(100*s.Achieved/s.Offered, 'f', 1, 64) + "%"
		}
		valid := htmlCell{"yes", "ok"}
		if !s.Valid {
			valid = htmlCell{"no", "warn"}
		}
		if s.State != "" {
			valid.Text = s.State
		}
		row := []htmlCell{numCell(formatRate(s.Offered)), numCell(formatRate(s.Achieved)), numCell(ratio), numCell(FormatDuration(s.P50)), numCell(FormatDuration(s.P99)), valid}
		if slo > 0 {
			if s.P99 < slo {
				row = append(row, htmlCell{"✓", "ok"})
			} else {
				row = append(row, htmlCell{"✗", "bad"})
			}
		}
		t.Rows = append(t.Rows, row)
	}
	sec.Tables = []htmlTable{t}
	p.Sections = append(p.Sections, sec)
	return p.write(w)
}
