package results

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results/internal/chart"
)

// WriteHTMLCompare writes a self-contained HTML page comparing run a
// (baseline) with run b: their headline numbers side by side with the
// relative change, both runs' percentile curves overlaid, latency and
// throughput over time (time since each run's start), and the phases
// matched by name. title heads the page ("" gives a default).
func WriteHTMLCompare(w io.Writer, a, b *File, title string) error {
	if a == nil || b == nil || a.Summary == nil || b.Summary == nil {
		return fmt.Errorf("write html: result has no summary")
	}
	a, b, title = a.Redacted(), b.Redacted(), redact.Text(title)
	if title == "" {
		title = "tailgate compare: A → B"
	}
	p := &htmlPage{Title: title}
	for _, x := range []struct {
		l string
		f *File
	}{{"A", a}, {"B", b}} {
		meta := runMeta(x.f)
		p.Meta = append(p.Meta, x.l+": "+runTitle(x.f)+" · "+strings.Join(meta[:min(1, len(meta))], ""))
		if x.f.Interrupted {
			p.Warnings = append(p.Warnings, x.l+" was interrupted: partial results.")
		}
		if x.f.Verdict != nil {
			vv := htmlVerdictOf("Verdict of "+x.l, x.f.Verdict)
			vv.Tables = nil
			p.Verdicts = append(p.Verdicts, vv)
		}
	}
	p.Sections = append(p.Sections, htmlCompareSummary(&a.Summary.Total, &b.Summary.Total), htmlCompareCharts(a, b), htmlComparePhases(a.Summary, b.Summary))
	return p.write(w)
}

// htmlCompareSummary sets the totals of A and B side by side, with B's
// change relative to A.
func htmlCompareSummary(ta, tb *analysis.PhaseSummary) htmlSection {
	sum := htmlSection{Title: "Summary (total)"}
	t := htmlTable{Head: []string{"", "A", "B", "B vs A"}}
	durRow := func(n string, x, y time.Duration) {
		t.Rows = append(t.Rows, []htmlCell{nameCell(n), numCell(FormatDuration(x)), numCell(FormatDuration(y)), relChange(float64(x), float64(y))})
	}
	durRow("p50", ta.Response.P50, tb.Response.P50)
	durRow("p90", ta.Response.P90, tb.Response.P90)
	durRow("p99", ta.Response.P99, tb.Response.P99)
	durRow("p99.9", ta.Response.P999, tb.Response.P999)
	durRow("max", ta.Response.Max, tb.Response.Max)
	durRow("service p99", ta.Service.P99, tb.Service.P99)
	t.Rows = append(t.Rows,
		[]htmlCell{nameCell("offered/s"), numCell(formatRate(ta.OfferedRate)), numCell(formatRate(tb.OfferedRate)), relChange(ta.OfferedRate, tb.OfferedRate)},
		[]htmlCell{nameCell("achieved/s"), numCell(formatRate(ta.AchievedRate)), numCell(formatRate(tb.AchievedRate)), relChange(ta.AchievedRate, tb.AchievedRate)},
		[]htmlCell{nameCell("errors"), numCell(pctOf(ta.Errors, ta.Completed())), numCell(pctOf(tb.Errors, tb.Completed())), numCell("")},
		[]htmlCell{nameCell("dropped"), numCell(strconv.FormatInt(ta.Dropped, 10)), numCell(strconv.FormatInt(tb.Dropped, 10)), numCell("")},
	)
	sum.Tables = append(sum.Tables, t)
	sum.Notes = append(sum.Notes, "One run against one run: a difference smaller than the run-to-run noise means nothing. Repeat and interleave runs (A B A B …) before trusting a change.")
	return sum
}

// htmlCompareCharts overlays A (first colour) and B (second): their
// percentile distributions, and their latency and throughput by time
// since each run's start, with A's phases and faults shaded.
func htmlCompareCharts(a, b *File) htmlSection {
	ta, tb := &a.Summary.Total, &b.Summary.Total
	charts := htmlSection{Title: "Latency"}
	arx, ary := percentileCurve(ta.ResponseHist)
	brx, bry := percentileCurve(tb.ResponseHist)
	asx, asy := percentileCurve(ta.ServiceHist)
	bsx, bsy := percentileCurve(tb.ServiceHist)
	ca, cb := chart.Palette(0), chart.Palette(1)
	dist := &chart.Chart{
		Title: "Percentile distribution (total)",
		X:     chart.NinesAxis(),
		Y:     chart.LatencyAxis(ary, bry, asy, bsy),
		Series: []chart.Series{
			{Name: "A response", X: arx, Y: ary, Color: ca}, {Name: "B response", X: brx, Y: bry, Color: cb},
			{Name: "A service", X: asx, Y: asy, Color: ca, Dash: true}, {Name: "B service", X: bsx, Y: bsy, Color: cb, Dash: true},
		},
		Empty: "no responses",
	}
	charts.Charts = append(charts.Charts, htmlChart{dist.SVG(), "Solid: response time (from intended send); dashed: service time (from actual send)."})
	la, lb := timelineOf(a.Summary), timelineOf(b.Summary)
	spans, markers := runSpans(a, "")
	note := "Bands show A's phases and faults."
	if !htmlSamePhases(a.Summary, b.Summary) {
		note = "Grey bands show A's phases; B's phases differ: " + htmlPhaseList(b.Summary) + "."
	}
	end := math.Max(math.Max(runEnd(a), runEnd(b)), 1)
	timeAxis := chart.Axis{Label: "time since start", Min: 0, Max: end, Format: chart.SecondsTick}
	overTime := &chart.Chart{
		Title: "Latency over time",
		X:     timeAxis,
		Y:     chart.LatencyAxis(la.p50, la.p99, lb.p50, lb.p99),
		Series: []chart.Series{
			{Name: "A p99", X: la.t, Y: la.p99, Color: ca}, {Name: "B p99", X: lb.t, Y: lb.p99, Color: cb},
			{Name: "A p50", X: la.t, Y: la.p50, Color: ca, Dash: true}, {Name: "B p50", X: lb.t, Y: lb.p50, Color: cb, Dash: true},
		},
		Spans: spans, Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{overTime.SVG(), "Per-second response-time percentiles, by time since each run's start. " + note})
	tput := &chart.Chart{
		Title: "Throughput (requests per second)",
		X:     timeAxis,
		Y:     chart.Axis{Label: "req/s", FromZero: true, Format: chart.RateTick},
		Series: []chart.Series{
			{Name: "A completed", X: la.t, Y: la.completed, Color: ca}, {Name: "B completed", X: lb.t, Y: lb.completed, Color: cb},
			{Name: "A offered", X: la.t, Y: la.offered, Color: ca, Dash: true}, {Name: "B offered", X: lb.t, Y: lb.offered, Color: cb, Dash: true},
		},
		Spans: spans, Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{tput.SVG(), ""})
	return charts
}

// htmlComparePhases matches the phases of A and B by name (A's first,
// then those only B has) and sets their rates and percentiles side by
// side, then the totals.
func htmlComparePhases(a, b *analysis.Summary) htmlSection {
	pt := htmlTable{Head: []string{"phase", "A achieved/s", "B achieved/s", "A p50", "B p50", "A p99", "B p99", "p99 B vs A", "A p99.9", "B p99.9"}}
	seen := map[string]bool{}
	var names []string
	for _, s := range []*analysis.Summary{a, b} {
		for _, x := range s.Phases {
			if !seen[x.Name] {
				seen[x.Name] = true
				names = append(names, x.Name)
			}
		}
	}
	for _, n := range names {
		pt.Rows = append(pt.Rows, htmlComparePhaseRow(n, findPhase(a, n), findPhase(b, n)))
	}
	pt.Rows = append(pt.Rows, htmlComparePhaseRow("total", &a.Total, &b.Total))
	return htmlSection{Title: "Phases", Tables: []htmlTable{pt}}
}

// findPhase returns s's phase named n, or nil (never the total, unlike
// phaseNamed: a phase that one run lacks shows as missing).
func findPhase(s *analysis.Summary, n string) *analysis.PhaseSummary {
	for i := range s.Phases {
		if s.Phases[i].Name == n {
			return &s.Phases[i]
		}
	}
	return nil
}

// htmlComparePhaseRow is one phase of A against the same of B; a phase
// one run lacks (nil) shows dashes.
func htmlComparePhaseRow(label string, x, y *analysis.PhaseSummary) []htmlCell {
	rate := func(p *analysis.PhaseSummary) htmlCell {
		if p == nil {
			return numCell("—")
		}
		return numCell(formatRate(p.AchievedRate))
	}
	dur := func(p *analysis.PhaseSummary, d func(*analysis.PhaseSummary) time.Duration) htmlCell {
		if p == nil {
			return numCell("—")
		}
		return numCell(FormatDuration(d(p)))
	}
	p50 := func(p *analysis.PhaseSummary) time.Duration { return p.Response.P50 }
	p99 := func(p *analysis.PhaseSummary) time.Duration { return p.Response.P99 }
	p999 := func(p *analysis.PhaseSummary) time.Duration { return p.Response.P999 }
	d := numCell("—")
	if x != nil && y != nil {
		d = relChange(float64(x.Response.P99), float64(y.Response.P99))
	}
	return []htmlCell{nameCell(label), rate(x), rate(y), dur(x, p50), dur(y, p50), dur(x, p99), dur(y, p99), d, dur(x, p999), dur(y, p999)}
}

// change prints y relative to x: "+12.3%", "−4.0%"; worse is not
// judged here, only shown.
func relChange(x, y float64) htmlCell {
	if x == 0 {
		return numCell("—")
	}
	d := 100 * (y/x - 1)
	s := strconv.FormatFloat(math.Abs(d), 'f', 1, 64) + "%"
	switch {
	case d > 0.05:
		s = "+" + s
	case d < -0.05:
		s = "−" + s
	default:
		s = "0.0%"
	}
	return numCell(s)
}

func htmlSamePhases(a, b *analysis.Summary) bool {
	if len(a.Phases) != len(b.Phases) {
		return false
	}
	for i := range a.Phases {
		x, y := a.Phases[i], b.Phases[i]
		if x.Name != y.Name || (x.Start-y.Start).Abs() > time.Second {
			return false
		}
	}
	return true
}

func htmlPhaseList(s *analysis.Summary) string {
	var parts []string
	for _, p := range s.Phases {
		parts = append(parts, fmt.Sprintf("%s at %s", p.Name, FormatDuration(p.Start)))
	}
	return strings.Join(parts, ", ")
}
