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
	sec := htmlSection{Title: "Sweep"}
	sec.Notes = append(sec.Notes, notes...)
	if knee != nil {
		sec.Notes = append(sec.Notes, knee.Label)
	}
	sec.Charts = htmlSweepCharts(steps, knee, slo)
	sec.Tables = []htmlTable{htmlSweepTable(steps, slo)}
	p := &htmlPage{Title: title, Sections: []htmlSection{sec}}
	return p.write(w)
}

// sweepSeries are a sweep's steps as chart data: the offered rate, p50,
// p99 and achieved rate of the steps that count, and the offered rate,
// p99 and achieved rate of those that do not ("bad").
type sweepSeries struct {
	ox, p50, p99, ach   []float64
	badX, bad99, badAch []float64
}

func sweepSeriesOf(steps []SweepPoint) sweepSeries {
	var ss sweepSeries
	for _, s := range steps {
		if !s.Valid {
			ss.badX = append(ss.badX, s.Offered)
			ss.bad99 = append(ss.bad99, float64(s.P99))
			ss.badAch = append(ss.badAch, s.Achieved)
			continue
		}
		ss.ox = append(ss.ox, s.Offered)
		ss.p50 = append(ss.p50, float64(s.P50))
		ss.p99 = append(ss.p99, float64(s.P99))
		ss.ach = append(ss.ach, s.Achieved)
	}
	return ss
}

// sweepMarkers returns the knee as a rule for both charts, and the rules
// of the latency chart: the knee and the SLO.
func sweepMarkers(knee *KneeMark, slo time.Duration) (markers, latMarkers []chart.Marker) {
	if knee != nil {
		label := knee.Label
		if label == "" {
			label = "knee " + chart.RateTick(knee.Rate) + " req/s"
		}
		markers = append(markers, chart.Marker{At: knee.Rate, Vertical: true, Label: label})
	}
	latMarkers = markers
	if slo > 0 {
		latMarkers = append(append([]chart.Marker(nil), markers...), chart.Marker{At: float64(slo), Label: "SLO p99 < " + FormatDuration(slo), Color: "#b45309"})
	}
	return markers, latMarkers
}

// htmlSweepCharts draws latency against offered rate and achieved
// against offered rate, the steps that do not count as rings.
func htmlSweepCharts(steps []SweepPoint, knee *KneeMark, slo time.Duration) []htmlChart {
	ss := sweepSeriesOf(steps)
	markers, latMarkers := sweepMarkers(knee, slo)
	rateAxis := chart.Axis{Label: "offered rate (req/s)", FromZero: true, Pad: 0.03, Format: chart.RateTick}
	lat := &chart.Chart{
		Title: "Latency against offered rate",
		X:     rateAxis,
		Y:     chart.LatencyAxis(ss.p50, ss.p99, ss.bad99),
		Series: []chart.Series{
			{Name: "p50", X: ss.ox, Y: ss.p50, Points: true},
			{Name: "p99", X: ss.ox, Y: ss.p99, Points: true},
			{Name: "saturated or invalid step (p99)", X: ss.badX, Y: ss.bad99, NoLine: true, Hollow: true, Color: "#6b7280"},
		},
		Markers: latMarkers,
		Empty:   "no steps",
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
			{Name: "achieved", X: ss.ox, Y: ss.ach, Points: true},
			{Name: "ideal (achieved = offered)", X: []float64{0, hi}, Y: []float64{0, hi}, Dash: true, Color: "#9ca3af"},
			{Name: "saturated or invalid step", X: ss.badX, Y: ss.badAch, NoLine: true, Hollow: true, Color: "#6b7280"},
		},
		Markers: markers,
		Empty:   "no steps",
	}
	if len(ss.badX) == 0 {
		lat.Series, tput.Series = lat.Series[:2], tput.Series[:2]
	}
	return []htmlChart{
		{lat.SVG(), "Response time from the intended send. Rings are steps that do not count: saturated (the target held completions below the offered rate, or its latency kept rising) or invalid (the generator fell behind)."},
		{tput.SVG(), ""},
	}
}

// htmlSweepTable lists the steps: rates, percentiles, state and, with
// an SLO, whether p99 met it.
func htmlSweepTable(steps []SweepPoint, slo time.Duration) htmlTable {
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
	return t
}
