package results

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results/internal/chart"
)

// This file renders self-contained HTML reports: one file, its charts
// drawn as inline SVG by package chart, no scripts, no fetches. The page
// goes through html/template; chart writes the SVG by hand and escapes
// every string in it.

// ---------------------------------------------------------------------
// A run as chart data

// percentileCurve samples h's quantile function on a fine grid of the
// nines axis, from p50 up to p99.999 or to where the histogram runs out
// of samples (1 − q < 1/n), whichever comes first. Values are ns.
func percentileCurve(h *hdr.Histogram) (xs, ys []float64) {
	if h == nil || h.TotalCount() == 0 {
		return nil, nil
	}
	const steps = 240
	lo, hi := chart.Nines(0.5), 5.0
	if top := math.Log10(float64(h.TotalCount())); top < hi {
		hi = math.Max(top, lo)
	}
	qs := make([]float64, 0, steps+1)
	for i := 0; i <= steps; i++ {
		x := lo + (hi-lo)*float64(i)/steps
		xs = append(xs, x)
		qs = append(qs, 1-math.Pow(10, -x))
	}
	for _, v := range analysis.ValuesAt(h, qs) {
		ys = append(ys, float64(v))
	}
	return xs, ys
}

// timeline is a run's per-second series.
type runTimeline struct {
	t                          []float64 // second midpoints
	p50, p99, max, svc99       []float64
	offered, completed, errors []float64
}

func timelineOf(s *analysis.Summary) runTimeline {
	var tl runTimeline
	for _, sec := range s.Seconds {
		tl.t = append(tl.t, float64(sec.T)+0.5)
		lat := func(d time.Duration) float64 {
			if sec.Completed == 0 {
				return math.NaN()
			}
			return float64(d)
		}
		tl.p50 = append(tl.p50, lat(sec.P50))
		tl.p99 = append(tl.p99, lat(sec.P99))
		tl.max = append(tl.max, lat(sec.Max))
		tl.svc99 = append(tl.svc99, lat(sec.ServiceP99))
		tl.offered = append(tl.offered, float64(sec.Offered))
		tl.completed = append(tl.completed, float64(sec.Completed))
		tl.errors = append(tl.errors, float64(sec.Errors))
	}
	return tl
}

// runSpans returns a run's phases and faults as bands, in seconds.
func runSpans(f *File, prefix string) (bands []chart.Span, markers []chart.Marker) {
	for _, p := range f.Summary.Phases {
		label := prefix + p.Name
		if p.Warmup {
			label += " (warm-up)"
		}
		bands = append(bands, chart.Span{From: p.Start.Seconds(), To: (p.Start + p.Duration).Seconds(), Label: label, Kind: chart.SpanPhase})
	}
	end := runEnd(f)
	row := 0
	for _, fw := range f.Faults {
		label := faultLabel(fw)
		if fw.Action != "" || (fw.Removed == 0 && fw.Applied.Seconds() >= end) {
			markers = append(markers, chart.Marker{At: fw.Applied.Seconds(), Vertical: true, Label: label})
			continue
		}
		to := fw.Removed.Seconds()
		if fw.Removed <= fw.Applied {
			to = end // never removed
		}
		row++
		bands = append(bands, chart.Span{From: fw.Applied.Seconds(), To: to, Label: label, Kind: chart.SpanFault, Row: row % 4})
	}
	return bands, markers
}

// runEnd is where a run's time axis ends, in seconds.
func runEnd(f *File) float64 {
	end := 0.0
	for _, p := range f.Summary.Phases {
		end = math.Max(end, (p.Start + p.Duration).Seconds())
	}
	if n := len(f.Summary.Seconds); n > 0 {
		end = math.Max(end, float64(f.Summary.Seconds[n-1].T+1))
	}
	return end
}

func faultLabel(fw FaultWindow) string {
	what := fw.Type
	if fw.Name != "" {
		what = fw.Name
	}
	if fw.Action != "" {
		what = fw.Action
	} else if fw.Toxicity > 0 && fw.Toxicity < 1 {
		what = fmt.Sprintf("%s %.0f%%", what, 100*fw.Toxicity)
	}
	if fw.Target != "" {
		what += " on " + fw.Target
	}
	if fw.Error != "" {
		what += " [failed]"
	}
	return what
}

// ---------------------------------------------------------------------
// Page

// page is what the HTML template renders.
type htmlPage struct {
	Title    string
	Meta     []string
	Warnings []string
	Verdicts []htmlVerdict
	Sections []htmlSection
	Footer   string
}

type htmlVerdict struct {
	Heading  string
	Status   string
	Class    string // pass, fail, invalid
	Reasons  []string
	Warnings []string
	Tables   []htmlTable
	Passed   string
}

type htmlSection struct {
	Title  string
	Notes  []string
	Cards  []htmlCard
	Charts []htmlChart
	Tables []htmlTable
}

type htmlCard struct{ Label, Value, Sub string }

type htmlChart struct {
	SVG     template.HTML
	Caption string
}

type htmlTable struct {
	Caption string
	Head    []string
	Rows    [][]htmlCell
	Fold    bool // inside <details>, closed
}

type htmlCell struct {
	Text  string
	Class string // num, ok, bad, warn, name
}

func numCell(s string) htmlCell  { return htmlCell{s, "num"} }
func textCell(s string) htmlCell { return htmlCell{s, ""} }
func nameCell(s string) htmlCell { return htmlCell{s, "name"} }

var htmlPageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tailgate">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; background: #f9fafb; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 8px 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #4b5563; margin: 2px 0; overflow-wrap: anywhere; }
.warning { background: #fef3c7; border-left: 4px solid #d97706; padding: 6px 10px; margin: 8px 0; }
.verdict { border-radius: 6px; padding: 10px 14px; margin: 14px 0; border: 1px solid; }
.verdict h2 { border: 0; margin: 0 0 6px; }
.verdict.pass { background: #ecfdf5; border-color: #10b981; }
.verdict.fail { background: #fef2f2; border-color: #ef4444; }
.verdict.invalid { background: #fffbeb; border-color: #f59e0b; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 4px; color: #fff; font-weight: 700; letter-spacing: .04em; }
.pass .badge { background: #047857; } .fail .badge { background: #b91c1c; } .invalid .badge { background: #b45309; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.card .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .l, .card .s { color: #6b7280; font-size: 12px; }
figure { margin: 12px 0; background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #4b5563; font-size: 12px; padding: 4px 6px 2px; }
table { border-collapse: collapse; margin: 8px 0; background: #fff; font-size: 13px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #e5e7eb; padding: 3px 6px; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
td.name { overflow-wrap: break-word; }
td.ok { color: #047857; font-weight: 600; } td.bad { color: #b91c1c; font-weight: 600; } td.warn { color: #b45309; font-weight: 600; }
.scroll { overflow-x: auto; }
footer { color: #6b7280; font-size: 12px; margin-top: 32px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{range .Meta}}<p class="meta">{{.}}</p>
{{end}}{{range .Warnings}}<p class="warning">{{.}}</p>
{{end}}{{range .Verdicts}}<section class="verdict {{.Class}}">
<h2>{{.Heading}} <span class="badge">{{.Status}}</span></h2>
{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Warnings}}<p class="warning">{{.}}</p>{{end}}
{{with .Passed}}<p>{{.}}</p>{{end}}
{{range .Tables}}{{template "table" .}}{{end}}
</section>
{{end}}{{range .Sections}}<section>
<h2>{{.Title}}</h2>
{{range .Notes}}<p>{{.}}</p>
{{end}}{{if .Cards}}<div class="cards">{{range .Cards}}<div class="card"><div class="l">{{.Label}}</div><div class="v">{{.Value}}</div>{{with .Sub}}<div class="s">{{.}}</div>{{end}}</div>{{end}}</div>
{{end}}{{range .Charts}}<figure>{{.SVG}}{{with .Caption}}<figcaption>{{.}}</figcaption>{{end}}</figure>
{{end}}{{range .Tables}}{{template "table" .}}{{end}}
</section>
{{end}}<footer>{{.Footer}}</footer>
</main>
</body>
</html>
{{define "table"}}{{if .Fold}}<details><summary>{{.Caption}}</summary>{{end}}<div class="scroll"><table>{{if and .Caption (not .Fold)}}<caption>{{.Caption}}</caption>{{end}}
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{if .Fold}}</details>{{end}}
{{end}}`))

func (p *htmlPage) write(w io.Writer) error {
	if p.Footer == "" {
		p.Footer = "Generated by tailgate. Response time counts from the intended send time (what a caller on the schedule waits); service time from the actual send."
	}
	return htmlPageTmpl.Execute(w, p)
}

// ---------------------------------------------------------------------
// One run

// WriteHTML writes a self-contained HTML report of the run f: the verdict
// with its objectives and self-checks (when f.Verdict is set), the
// headline numbers, the percentile distribution of response and service
// time on a "nines" axis, latency and throughput over time with the
// phases and fault windows shaded, and the phase, endpoint and fault
// tables. The page has no scripts and fetches nothing.
func WriteHTML(w io.Writer, f *File) error {
	if f == nil || f.Summary == nil {
		return fmt.Errorf("write html: result has no summary")
	}
	f = f.Redacted()
	s := f.Summary
	tot := &s.Total
	p := &htmlPage{Title: runTitle(f), Meta: runMeta(f)}
	if f.Interrupted {
		p.Warnings = append(p.Warnings, "Interrupted: these are partial results.")
	}
	if tot.Completed() == 0 && tot.Intended > 0 {
		p.Warnings = append(p.Warnings, "No request completed.")
	} else if tot.OK == 0 && tot.Intended > 0 {
		p.Warnings = append(p.Warnings, "Every request failed; see the errors by kind.")
	}
	if f.Verdict != nil {
		p.Verdicts = append(p.Verdicts, htmlVerdictOf("Verdict", f.Verdict))
	}

	// Headline numbers.
	sum := htmlSection{Title: "Summary"}
	sum.Cards = []htmlCard{
		{"requests due", strconv.FormatInt(tot.Intended, 10), fmt.Sprintf("%s req/s offered", formatRate(tot.OfferedRate))},
		{"completed", strconv.FormatInt(tot.Completed(), 10), fmt.Sprintf("%s req/s achieved", formatRate(tot.AchievedRate))},
		{"errors", strconv.FormatInt(tot.Errors, 10), pctOf(tot.Errors, tot.Completed()) + " of completed"},
		{"dropped", strconv.FormatInt(tot.Dropped, 10), pctOf(tot.Dropped, tot.Intended) + " of due"},
		{"p50", FormatDuration(tot.Response.P50), "service " + FormatDuration(tot.Service.P50)},
		{"p99", FormatDuration(tot.Response.P99), "service " + FormatDuration(tot.Service.P99)},
		{"p99.9", FormatDuration(tot.Response.P999), "service " + FormatDuration(tot.Service.P999)},
		{"max", FormatDuration(tot.Response.Max), "service " + FormatDuration(tot.Service.Max)},
	}
	lat := htmlTable{Caption: "Latency of the total (non-warm-up phases)", Head: []string{"", "response time (from intended send)", "service time (from actual send)"}}
	for _, r := range []struct {
		n    string
		a, b time.Duration
	}{
		{"p50", tot.Response.P50, tot.Service.P50}, {"p90", tot.Response.P90, tot.Service.P90},
		{"p95", tot.Response.P95, tot.Service.P95}, {"p99", tot.Response.P99, tot.Service.P99},
		{"p99.9", tot.Response.P999, tot.Service.P999}, {"p99.99", tot.Response.P9999, tot.Service.P9999},
		{"max", tot.Response.Max, tot.Service.Max}, {"mean", tot.Response.Mean, tot.Service.Mean},
	} {
		lat.Rows = append(lat.Rows, []htmlCell{nameCell(r.n), numCell(FormatDuration(r.a)), numCell(FormatDuration(r.b))})
	}
	sum.Tables = append(sum.Tables, lat)
	sum.Notes = append(sum.Notes, fmt.Sprintf("Send lag (actual − intended send): p50 %s, p99 %s, max %s.",
		FormatDuration(tot.SendLag.P50), FormatDuration(tot.SendLag.P99), FormatDuration(tot.SendLag.Max)))
	if tot.Lateness.Count > 0 {
		note := fmt.Sprintf("Of which the scheduler's lateness (the generator's own): p99 %s, max %s.",
			FormatDuration(tot.Lateness.P99), FormatDuration(tot.Lateness.Max))
		if tot.SlotWait.Count > 0 {
			note += fmt.Sprintf(" Waits for an in-flight slot (the target held the generator back): %d requests, p50 %s, p99 %s, max %s.",
				tot.SlotWait.Count, FormatDuration(tot.SlotWait.P50), FormatDuration(tot.SlotWait.P99), FormatDuration(tot.SlotWait.Max))
		}
		sum.Notes = append(sum.Notes, note)
	}
	if tot.Censored > 0 {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%d requests were censored: unanswered when the run's deadline came, they are in the response times at their lower bound.", tot.Censored))
	}
	p.Sections = append(p.Sections, sum)

	// Charts.
	charts := htmlSection{Title: "Latency"}
	rx, ry := percentileCurve(tot.ResponseHist)
	sx, sy := percentileCurve(tot.ServiceHist)
	dist := &chart.Chart{
		Title: "Percentile distribution (total)",
		X:     chart.NinesAxis(),
		Y:     chart.LatencyAxis(ry, sy),
		Series: []chart.Series{
			{Name: "response time", X: rx, Y: ry},
			{Name: "service time", X: sx, Y: sy, Dash: true},
		},
		Empty: "no responses",
	}
	charts.Charts = append(charts.Charts, htmlChart{dist.SVG(),
		fmt.Sprintf("Latency at each percentile of the total, computed from its histograms (%d responses). The x axis is logarithmic in the nines: 90, 99, 99.9 … are evenly spaced. A curve ends where the samples run out (1 − q < 1/n).", tot.Response.Count)})
	tl := timelineOf(s)
	bands, markers := runSpans(f, "")
	overTime := &chart.Chart{
		Title:   "Latency over time (per second of completion)",
		X:       chart.Axis{Label: "time since start", Min: 0, Max: math.Max(runEnd(f), 1), Format: chart.SecondsTick},
		Y:       chart.LatencyAxis(tl.p50, tl.max),
		Series:  []chart.Series{{Name: "p50", X: tl.t, Y: tl.p50}, {Name: "p99", X: tl.t, Y: tl.p99}, {Name: "max", X: tl.t, Y: tl.max}, {Name: "service p99", X: tl.t, Y: tl.svc99, Dash: true}},
		Spans:   bands,
		Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{overTime.SVG(),
		"Response-time percentiles of the requests that completed in each second; grey bands are phases, red bands the fault windows."})
	tput := &chart.Chart{
		Title:   "Throughput (requests per second)",
		X:       overTime.X,
		Y:       chart.Axis{Label: "req/s", FromZero: true, Format: chart.RateTick},
		Series:  []chart.Series{{Name: "offered", X: tl.t, Y: tl.offered, Dash: true}, {Name: "completed", X: tl.t, Y: tl.completed}, {Name: "errors", X: tl.t, Y: tl.errors, Color: chart.FaultColor}},
		Spans:   bands,
		Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{tput.SVG(),
		"Offered counts requests by their intended send second; completed counts them by the second they finished (with or without error)."})
	p.Sections = append(p.Sections, charts)

	// Tables.
	tabs := htmlSection{Title: "Phases and outcomes"}
	tabs.Tables = append(tabs.Tables, htmlPhaseTable(s))
	if len(s.Endpoints) > 0 {
		tabs.Tables = append(tabs.Tables, htmlEndpointTable(f))
		note := fmt.Sprintf("Imbalance (max/mean requests per endpoint): %.2f.", s.Imbalance)
		if f.Balance != nil {
			note = fmt.Sprintf("Balanced by %s over %d endpoints. ", f.Balance.Strategy, len(s.Endpoints)) + note
			for _, r := range f.Balance.Removed {
				if r.KeysMoved < 0 {
					tabs.Notes = append(tabs.Notes, fmt.Sprintf("Endpoint %d (%s) lost at %s.", r.Endpoint, r.Addr, FormatDuration(r.At)))
				} else {
					tabs.Notes = append(tabs.Notes, fmt.Sprintf("Endpoint %d (%s) lost at %s: %.1f%% of %d keys moved.", r.Endpoint, r.Addr, FormatDuration(r.At), 100*r.KeysMoved, r.Keys))
				}
			}
		}
		tabs.Notes = append([]string{note}, tabs.Notes...)
	}
	if len(f.Faults) > 0 {
		tabs.Tables = append(tabs.Tables, htmlFaultTable(f.Faults))
	}
	tabs.Tables = append(tabs.Tables, htmlCountsTable(tot), htmlGeneratorTable(s), htmlSettingsTable(f))
	p.Sections = append(p.Sections, tabs)
	return p.write(w)
}

func runTitle(f *File) string {
	kind := f.Kind
	if kind == "" {
		kind = "run"
	}
	return fmt.Sprintf("tailgate %s → %s", kind, f.Settings.Target)
}

func runMeta(f *File) []string {
	st := f.Settings
	var m []string
	var line []string
	if !f.Started.IsZero() {
		line = append(line, "started "+f.Started.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if d := f.Summary.Generator.Elapsed; d > 0 {
		line = append(line, "ran "+d.Round(time.Millisecond).String())
	}
	if st.Profile != "" {
		line = append(line, "profile "+st.Profile)
	} else if st.Rate > 0 {
		line = append(line, fmt.Sprintf("%s req/s %s for %v", formatRate(st.Rate), st.Arrivals, st.Duration))
	}
	if f.ToolVersion != "" {
		line = append(line, "tailgate "+f.ToolVersion)
	}
	if len(line) > 0 {
		m = append(m, strings.Join(line, " · "))
	}
	if len(f.Command) > 0 {
		m = append(m, "command: "+strings.Join(f.Command, " "))
	}
	return m
}

func pctOf(a, b int64) string {
	if b == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(a)/float64(b), 'f', 2, 64) + "%"
}

func htmlVerdictOf(heading string, v *analysis.Verdict) htmlVerdict {
	vv := htmlVerdict{Heading: heading, Status: v.String(), Reasons: v.Reasons, Warnings: v.Warnings}
	switch v.Status {
	case analysis.StatusPass:
		vv.Class = "pass"
	case analysis.StatusFail:
		vv.Class = "fail"
	default:
		vv.Class = "invalid"
	}
	if len(v.Results) > 0 {
		t := htmlTable{Caption: "Objectives", Head: []string{"phase", "objective", "measured", "confidence interval", "margin", "result"}}
		for _, r := range v.Results {
			o := r.Objective
			measured, ci, margin := "—", "—", "—"
			if !r.NoData {
				measured = o.Format(r.Measured)
				if r.HasCI {
					ci = fmt.Sprintf("[%s, %s]", o.Format(r.CILo), o.Format(r.CIHi))
				}
				margin = o.Format(r.Margin)
				if o.Threshold != 0 {
					margin += fmt.Sprintf(" (%.1f%%)", r.MarginPct)
				}
			}
			res := htmlCell{"✓ pass", "ok"}
			if !r.Pass {
				res = htmlCell{"✗ fail", "bad"}
			}
			if r.Uncertain {
				res.Text += " (uncertain)"
				if r.Pass {
					res.Class = "warn"
				}
			}
			if r.Note != "" {
				res.Text += ": " + r.Note
			}
			t.Rows = append(t.Rows, []htmlCell{nameCell(r.Phase), textCell(o.Name()), numCell(measured), numCell(ci), numCell(margin), res})
		}
		vv.Tables = append(vv.Tables, t)
	}
	switch {
	case v.Status == analysis.StatusFail:
		vv.Status += " — the target's failure"
	case v.Status == analysis.StatusInvalid:
		vv.Status += " — the generator's fault"
	case v.Blame == analysis.BlameTarget:
		vv.Status += " — with findings about the target"
	}
	failed := htmlTable{Caption: "Self-checks that failed (the generator's)", Head: []string{"check", "phase", "measured", "limit", "advice"}}
	target := htmlTable{Caption: "Findings about the target", Head: []string{"check", "phase", "measured", "meaning"}}
	all := htmlTable{Caption: fmt.Sprintf("All %d self-checks", len(v.Findings)), Head: []string{"check", "phase", "measured", "limit", "result"}, Fold: true}
	for _, fd := range v.Findings {
		check := fd.Check
		if fd.Subject != "" {
			check += " (" + fd.Subject + ")"
		}
		res := htmlCell{"✓", "ok"}
		switch {
		case fd.OK:
		case fd.Blame == analysis.BlameTarget:
			res = htmlCell{"! target", "warn"}
			target.Rows = append(target.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), textCell(fd.Advice)})
		default:
			res = htmlCell{"✗", "bad"}
			failed.Rows = append(failed.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), numCell(fd.Limit), textCell(fd.Advice)})
		}
		all.Rows = append(all.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), numCell(fd.Limit), res})
	}
	if len(target.Rows) > 0 {
		vv.Tables = append(vv.Tables, target)
	}
	if len(failed.Rows) > 0 {
		vv.Tables = append(vv.Tables, failed)
	} else if len(v.Findings) > 0 {
		vv.Passed = fmt.Sprintf("Self-check: all %d checks passed (the generator kept up; enough samples).", len(v.Findings))
	}
	if len(all.Rows) > 0 {
		vv.Tables = append(vv.Tables, all)
	}
	return vv
}

func htmlPhaseTable(s *analysis.Summary) htmlTable {
	t := htmlTable{Caption: "Phases", Head: []string{"phase", "start", "duration", "offered/s", "achieved/s", "ok", "errors", "dropped", "p50", "p99", "p99.9", "max", "service p99"}}
	row := func(p *analysis.PhaseSummary, label string) []htmlCell {
		return []htmlCell{nameCell(label), numCell(FormatDuration(p.Start)), numCell(p.Duration.Round(time.Millisecond).String()),
			numCell(formatRate(p.OfferedRate)), numCell(formatRate(p.AchievedRate)),
			numCell(strconv.FormatInt(p.OK, 10)), numCell(strconv.FormatInt(p.Errors, 10)), numCell(strconv.FormatInt(p.Dropped, 10)),
			numCell(FormatDuration(p.Response.P50)), numCell(FormatDuration(p.Response.P99)), numCell(FormatDuration(p.Response.P999)),
			numCell(FormatDuration(p.Response.Max)), numCell(FormatDuration(p.Service.P99))}
	}
	for i := range s.Phases {
		ph := &s.Phases[i]
		label := ph.Name
		if ph.Warmup {
			label += " (warm-up)"
		}
		t.Rows = append(t.Rows, row(ph, label))
	}
	if len(s.Phases) != 1 {
		t.Rows = append(t.Rows, row(&s.Total, "total"))
	}
	return t
}

func htmlEndpointTable(f *File) htmlTable {
	t := htmlTable{Caption: "Endpoints", Head: []string{"endpoint", "address", "requests", "share", "ok", "errors", "cache hits", "p50", "p99", "max"}}
	for _, e := range f.Summary.Endpoints {
		addr := e.Addr
		if addr == "" && f.Balance != nil && e.Endpoint >= 1 && e.Endpoint <= len(f.Balance.Endpoints) {
			addr = f.Balance.Endpoints[e.Endpoint-1]
		}
		t.Rows = append(t.Rows, []htmlCell{numCell(strconv.Itoa(e.Endpoint)), nameCell(addr), numCell(strconv.FormatInt(e.Requests, 10)),
			numCell(fmt.Sprintf("%.1f%%", 100*e.Share)), numCell(strconv.FormatInt(e.OK, 10)), numCell(strconv.FormatInt(e.Errors, 10)),
			numCell(pctOf(e.CacheHits, e.OK+e.Errors)), numCell(FormatDuration(e.P50)), numCell(FormatDuration(e.P99)), numCell(FormatDuration(e.Max))})
	}
	return t
}

func htmlFaultTable(fs []FaultWindow) htmlTable {
	t := htmlTable{Caption: "Faults", Head: []string{"phase", "target", "kind", "fault", "applied", "removed", "error"}}
	for _, fw := range fs {
		what := fw.Type
		if fw.Name != "" && fw.Name != fw.Type {
			what = fw.Name + " (" + fw.Type + ")"
		}
		if fw.Action != "" {
			what = fw.Action
		}
		if fw.Toxicity > 0 && fw.Toxicity < 1 {
			what += fmt.Sprintf(", toxicity %.0f%%", 100*fw.Toxicity)
		}
		removed := "—"
		if fw.Removed > 0 {
			removed = FormatDuration(fw.Removed)
		}
		errc := textCell(fw.Error)
		if fw.Error != "" {
			errc.Class = "bad"
		}
		t.Rows = append(t.Rows, []htmlCell{nameCell(fw.Phase), nameCell(fw.Target), textCell(fw.Kind), textCell(what), numCell(FormatDuration(fw.Applied)), numCell(removed), errc})
	}
	return t
}

func htmlCountsTable(p *analysis.PhaseSummary) htmlTable {
	t := htmlTable{Caption: "Outcomes (total)", Head: []string{"what", "counts"}}
	t.Rows = append(t.Rows, []htmlCell{textCell("requests"), textCell(fmt.Sprintf("%d due = %d completed (%d ok, %d errors) + %d dropped + %d unsent",
		p.Intended, p.Completed(), p.OK, p.Errors, p.Dropped, p.Unsent))})
	if len(p.Status) > 0 {
		t.Rows = append(t.Rows, []htmlCell{textCell("status"), textCell(formatCounts(p.Status))})
	}
	if len(p.GRPCCodes) > 0 {
		t.Rows = append(t.Rows, []htmlCell{textCell("grpc status"), textCell(formatCounts(p.GRPCCodes))})
	}
	if len(p.ErrorKinds) > 0 {
		t.Rows = append(t.Rows, []htmlCell{textCell("errors by kind"), textCell(formatCounts(p.ErrorKinds))})
	}
	for _, n := range analysis.ErrorNotes(p) {
		what := strings.Join(n.Samples, "; ")
		if n.Advice != "" {
			if what != "" {
				what += " — "
			}
			what += "fix: " + n.Advice
		}
		t.Rows = append(t.Rows, []htmlCell{textCell("errors: " + n.Kind), textCell(what)})
	}
	if p.CacheHits > 0 {
		t.Rows = append(t.Rows, []htmlCell{textCell("cache hits"), textCell(fmt.Sprintf("%d (%s)", p.CacheHits, pctOf(p.CacheHits, p.Completed())))})
	}
	t.Rows = append(t.Rows, []htmlCell{textCell("bytes"), textCell(fmt.Sprintf("%d in, %d out", p.BytesIn, p.BytesOut))})
	return t
}

func htmlGeneratorTable(s *analysis.Summary) htmlTable {
	g := s.Generator
	t := htmlTable{Caption: "Generator", Head: []string{"what", "value"}, Fold: true}
	add := func(k, v string) { t.Rows = append(t.Rows, []htmlCell{textCell(k), numCell(v)}) }
	add("due", strconv.FormatUint(g.Intended, 10))
	add("sent", strconv.FormatUint(g.Sent, 10))
	add("dropped", strconv.FormatUint(g.Dropped, 10))
	add("unsent", strconv.FormatUint(g.Unsent, 10))
	add("waited for a slot", strconv.FormatUint(g.SlotWaits, 10))
	add("peak in flight", strconv.Itoa(g.PeakInFlight))
	add("workers", strconv.Itoa(g.Workers))
	add("elapsed", g.Elapsed.Round(time.Millisecond).String())
	if g.CPU > 0 {
		add("CPU", fmt.Sprintf("%s on %d cores", g.CPU.Round(time.Millisecond), g.Cores))
	}
	if s.Late > 0 {
		add("late results", strconv.FormatInt(s.Late, 10))
	}
	return t
}

func htmlSettingsTable(f *File) htmlTable {
	st := f.Settings
	t := htmlTable{Caption: "Settings", Head: []string{"setting", "value"}, Fold: true}
	add := func(k, v string) {
		if v != "" && v != "0" && v != "0s" {
			t.Rows = append(t.Rows, []htmlCell{textCell(k), nameCell(v)})
		}
	}
	add("target", st.Target)
	add("method", st.Method)
	if st.Rate > 0 {
		add("rate", formatRate(st.Rate)+" req/s")
	}
	add("duration", st.Duration.String())
	add("arrivals", st.Arrivals)
	add("seed", strconv.FormatUint(st.Seed, 10))
	add("max in flight", strconv.Itoa(st.MaxInFlight))
	add("on saturation", st.OnSaturation)
	add("connections", strconv.Itoa(st.Connections))
	add("timeout", st.Timeout.String())
	if st.HTTP2 {
		add("http2", "yes")
	}
	add("profile", st.Profile)
	add("endpoints", st.Endpoints)
	add("balance", st.Balance)
	for _, ph := range st.Phases {
		v := fmt.Sprintf("%v, rate %s, %s", ph.Duration, ph.Rate, ph.Arrivals)
		if ph.Warmup {
			v += ", warm-up"
		}
		add("phase "+ph.Name, v)
	}
	return t
}

// ---------------------------------------------------------------------
// Two runs

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
	ta, tb := &a.Summary.Total, &b.Summary.Total
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
	p.Sections = append(p.Sections, sum)

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
	bands, markers := runSpans(a, "")
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
		Spans: bands, Markers: markers,
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
		Spans: bands, Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{tput.SVG(), ""})
	p.Sections = append(p.Sections, charts)

	ph := htmlSection{Title: "Phases"}
	pt := htmlTable{Head: []string{"phase", "A achieved/s", "B achieved/s", "A p50", "B p50", "A p99", "B p99", "p99 B vs A", "A p99.9", "B p99.9"}}
	seen := map[string]bool{}
	var names []string
	for _, s := range []*analysis.Summary{a.Summary, b.Summary} {
		for _, x := range s.Phases {
			if !seen[x.Name] {
				seen[x.Name] = true
				names = append(names, x.Name)
			}
		}
	}
	find := func(s *analysis.Summary, n string) *analysis.PhaseSummary {
		for i := range s.Phases {
			if s.Phases[i].Name == n {
				return &s.Phases[i]
			}
		}
		return nil
	}
	dur := func(p *analysis.PhaseSummary, d func(*analysis.PhaseSummary) time.Duration) htmlCell {
		if p == nil {
			return numCell("—")
		}
		return numCell(FormatDuration(d(p)))
	}
	rate := func(p *analysis.PhaseSummary) htmlCell {
		if p == nil {
			return numCell("—")
		}
		return numCell(formatRate(p.AchievedRate))
	}
	addRow := func(label string, x, y *analysis.PhaseSummary) {
		d := numCell("—")
		if x != nil && y != nil {
			d = relChange(float64(x.Response.P99), float64(y.Response.P99))
		}
		pt.Rows = append(pt.Rows, []htmlCell{nameCell(label), rate(x), rate(y),
			dur(x, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P50 }), dur(y, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P50 }),
			dur(x, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P99 }), dur(y, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P99 }),
			d,
			dur(x, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P999 }), dur(y, func(p *analysis.PhaseSummary) time.Duration { return p.Response.P999 })})
	}
	for _, n := range names {
		addRow(n, find(a.Summary, n), find(b.Summary, n))
	}
	addRow("total", ta, tb)
	ph.Tables = append(ph.Tables, pt)
	p.Sections = append(p.Sections, ph)
	return p.write(w)
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

// ---------------------------------------------------------------------
// A rate sweep

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

// WriteHTMLBatch renders a batching grid: item p99 against throughput for
// every cell, one series per offered rate, the Pareto frontier drawn
// through its cells, and the grid as a table.
func WriteHTMLBatch(w io.Writer, f *File) error {
	f = f.Redacted()
	p := &htmlPage{Title: "tailgate batch → " + f.Settings.Target}
	info := f.Batch
	byRate := map[float64][]analysis.BatchCell{}
	var rates []float64
	for _, c := range info.Cells {
		if _, ok := byRate[c.Rate]; !ok {
			rates = append(rates, c.Rate)
		}
		byRate[c.Rate] = append(byRate[c.Rate], c)
	}
	sort.Float64s(rates)
	var series []chart.Series
	var allP99 []float64
	for _, r := range rates {
		var x, y, fx, fy []float64
		cells := byRate[r]
		sort.Slice(cells, func(i, j int) bool { return cells[i].Throughput < cells[j].Throughput })
		for _, c := range cells {
			if !c.Valid {
				continue
			}
			x, y = append(x, c.Throughput), append(y, float64(c.P99))
			allP99 = append(allP99, float64(c.P99))
			if c.Pareto {
				fx, fy = append(fx, c.Throughput), append(fy, float64(c.P99))
			}
		}
		series = append(series,
			chart.Series{Name: "cells at " + formatRate(r) + " items/s", X: x, Y: y, NoLine: true, Points: true},
			chart.Series{Name: "frontier at " + formatRate(r) + " items/s", X: fx, Y: fy, Points: true})
	}
	ch := &chart.Chart{
		Title:  "Item p99 against throughput (valid cells)",
		X:      chart.Axis{Label: "throughput (items/s)", FromZero: true, Pad: 0.05, Format: chart.RateTick},
		Y:      chart.LatencyAxis(allP99),
		Series: series,
		Empty:  "no valid cells",
	}
	sec := htmlSection{Title: "Batching grid", Notes: []string{info.Recommendation}}
	sec.Charts = []htmlChart{{ch.SVG(), "Each point is one batch size × linger cell; the line joins the cells no other cell at the same rate beats on both throughput and p99."}}
	t := htmlTable{Caption: "Cells", Head: []string{"batch", "linger", "offered items/s", "items/s", "item p99", "fill", "by size", "by linger", "note"}}
	for _, c := range info.Cells {
		note := htmlCell{"", ""}
		switch {
		case !c.Valid:
			note = htmlCell{"invalid", "warn"}
		case c.Pareto && c.Regressed:
			note = htmlCell{"frontier; p99 worse than unbatched", "warn"}
		case c.Pareto:
			note = htmlCell{"frontier", "ok"}
		case c.Regressed:
			note = htmlCell{"throughput up, p99 worse", "warn"}
		}
		t.Rows = append(t.Rows, []htmlCell{numCell(strconv.Itoa(c.BatchSize)), numCell(FormatDuration(c.Linger)),
			numCell(formatRate(c.Rate)), numCell(formatRate(c.Throughput)), numCell(FormatDuration(c.P99)),
			numCell(strconv.FormatFloat(100*c.MeanFill, 'f', 0, 64) + "%"), numCell(strconv.FormatInt(c.FlushBySize, 10)),
			numCell(strconv.FormatInt(c.FlushByLinger, 10)), note})
	}
	sec.Tables = []htmlTable{t}
	p.Sections = append(p.Sections, sec)
	return p.write(w)
}
