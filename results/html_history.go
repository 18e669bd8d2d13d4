package results

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results/internal/chart"
)

// WriteHistoryHTML writes a self-contained HTML page of a history: the
// drift gate's verdict (with --fail-on), the change points as sentences,
// p50, p99 and p99.9 per run with each run's interval as error bars and
// the p99 level between change points, the error rate per run likewise,
// each change point marked between its two runs, and the table of runs.
func WriteHistoryHTML(w io.Writer, h *History) error {
	if h == nil || len(h.Runs) == 0 {
		return fmt.Errorf("write html: empty history")
	}
	first, last := h.Runs[0].Started.UTC(), h.Runs[len(h.Runs)-1].Started.UTC()
	p := &htmlPage{
		Title: fmt.Sprintf("tailgate history: %d runs, %s", len(h.Runs), h.scope()),
		Meta: []string{fmt.Sprintf("%s to %s · change points at %s false alarms per metric (docs/history.md)",
			first.Format("2006-01-02 15:04"), last.Format("2006-01-02 15:04 UTC"), pct(100*h.Alpha)+"%")},
		Warnings: redactAll(h.Warnings),
	}
	if h.Drift != nil {
		p.Verdicts = append(p.Verdicts, h.driftVerdict())
	}
	sec := htmlSection{Title: "Change points"}
	for _, c := range h.Changes {
		sec.Notes = append(sec.Notes, redact.Text(h.ChangeSentence(c)))
	}
	if len(h.Changes) == 0 {
		sec.Notes = append(sec.Notes, "No change point in p50, p99, p99.9 or the error rate.")
	}
	sec.Charts = []htmlChart{
		{h.latencyChart().SVG(), "Response time from the intended send, per run, with each run's 95% interval (order statistics: narrower than the scatter from night to night). Dashed: the p99 level between change points; rules: where a level moved."},
		{h.errorChart().SVG(), "Failed ÷ completed requests per run, with each run's 95% Wilson interval."},
	}
	p.Sections = append(p.Sections, sec, htmlSection{Title: "Runs", Tables: []htmlTable{h.htmlRuns()}})
	return p.write(w)
}

// driftVerdict is the drift gate as a verdict box: PASS or FAIL, the
// rules and the runs compared in the heading, each breach a reason.
func (h *History) driftVerdict() htmlVerdict {
	g := h.Drift
	rules := make([]string, len(h.Rules))
	for i, r := range h.Rules {
		rules[i] = r.String()
	}
	v := htmlVerdict{
		Heading: fmt.Sprintf("Drift gate (%s): runs %s against runs %s", strings.Join(rules, ", "),
			runRange(g.A[0], g.A[len(g.A)-1]+1), runRange(g.B[0], g.B[len(g.B)-1]+1)),
		Status: "PASS", Class: "pass", Passed: "No rule breached: the second half is not significantly worse by that much.",
	}
	if len(g.Breaches) > 0 {
		v.Status, v.Class, v.Passed = "FAIL", "fail", ""
	}
	for _, b := range g.Breaches {
		v.Reasons = append(v.Reasons, strings.Split(redact.Text(b), "\n")...)
	}
	return v
}

// series returns run numbers (1-based) and metric i of every run, with
// its interval.
func (h *History) series(i int) (x, y, lo, hi []float64) {
	for r, run := range h.Runs {
		e := run.Point.Values[i]
		x = append(x, float64(r+1))
		y, lo, hi = append(y, e.V), append(lo, e.Lo), append(hi, e.Hi)
	}
	return x, y, lo, hi
}

// runAxis is the x axis of runs 1 … n, every run ticked when they fit.
func (h *History) runAxis() chart.Axis {
	a := chart.Axis{Label: "run (in start order)", Min: 0.5, Max: float64(len(h.Runs)) + 0.5}
	if len(h.Runs) <= 40 {
		for r := range h.Runs {
			a.Ticks = append(a.Ticks, chart.Tick{Value: float64(r + 1), Label: strconv.Itoa(r + 1)})
		}
	}
	return a
}

// changeMarkers are rules between the runs where metric m's level moved.
func (h *History) changeMarkers(m analysis.CompareMetric) []chart.Marker {
	var out []chart.Marker
	for _, c := range h.Changes {
		if c.Metric != m {
			continue
		}
		size, _ := changeSize(c)
		sign := "+"
		if !c.Rose() {
			sign = "−"
		}
		out = append(out, chart.Marker{At: float64(c.Index) + 0.5, Vertical: true, Label: metricLabel(m) + " " + sign + size})
	}
	return out
}

// level is metric m's level between its change points, as a stepped
// series over runs (NaN between the steps); nil without a change.
func (h *History) level(m analysis.CompareMetric) (x, y []float64) {
	var cs []analysis.HistoryChange
	for _, c := range h.Changes {
		if c.Metric == m {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return nil, nil
	}
	slices.SortFunc(cs, func(a, b analysis.HistoryChange) int { return a.Index - b.Index })
	step := func(from, to int, v float64) {
		x = append(x, float64(from)+0.5, float64(to)+0.5, math.NaN())
		y = append(y, v, v, math.NaN())
	}
	step(0, cs[0].Index, cs[0].Before)
	for i, c := range cs {
		to := len(h.Runs)
		if i+1 < len(cs) {
			to = cs[i+1].Index
		}
		step(c.Index, to, c.After)
	}
	return x, y
}

func (h *History) latencyChart() *chart.Chart {
	c := &chart.Chart{Title: "Latency per run", X: h.runAxis(), Markers: h.changeMarkers(analysis.CompareP99), Empty: "no runs"}
	var all [][]float64
	for i, m := range analysis.HistoryMetrics {
		if !m.Latency() {
			continue
		}
		x, y, lo, hi := h.series(i)
		c.Series = append(c.Series, chart.Series{Name: metricLabel(m), X: x, Y: y, Lo: lo, Hi: hi, Points: true})
		all = append(all, y, lo, hi)
	}
	if x, y := h.level(analysis.CompareP99); x != nil {
		c.Series = append(c.Series, chart.Series{Name: "p99 level", X: x, Y: y, Dash: true, Color: "#6b7280"})
	}
	c.Y = chart.LatencyAxis(all...)
	return c
}

func (h *History) errorChart() *chart.Chart {
	i := slices.Index(analysis.HistoryMetrics, analysis.CompareErrorRate)
	x, y, lo, hi := h.series(i)
	for j := range y {
		y[j], lo[j], hi[j] = 100*y[j], 100*lo[j], 100*hi[j]
	}
	return &chart.Chart{
		Title:   "Error rate per run",
		X:       h.runAxis(),
		Y:       chart.Axis{Label: "errors (% of completed)", FromZero: true, Format: func(v float64) string { return pct(v) + "%" }},
		Series:  []chart.Series{{Name: "errors", X: x, Y: y, Lo: lo, Hi: hi, Points: true, Color: chart.FaultColor}},
		Markers: h.changeMarkers(analysis.CompareErrorRate),
		Empty:   "no runs",
	}
}

// htmlRuns is the table of runs, as in the text table.
func (h *History) htmlRuns() htmlTable {
	tool := h.toolVersions()
	t := htmlTable{Caption: "Runs", Head: h.header(tool)}
	marks := h.changeMarks()
	for i := range h.Runs {
		var row []htmlCell
		for j, c := range h.historyRow(i, marks, tool) {
			c = redact.Text(c)
			if j == 2 || j == len(t.Head)-1 { // the build and the changes
				row = append(row, nameCell(c))
			} else {
				row = append(row, numCell(c))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
