package results

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/results/internal/chart"
)

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
	p := &htmlPage{Title: runTitle(f), Meta: runMeta(f), Warnings: runWarnings(f)}
	if f.Verdict != nil {
		p.Verdicts = append(p.Verdicts, htmlVerdictOf("Verdict", f.Verdict))
	}
	p.Sections = append(p.Sections, htmlRunSummary(&f.Summary.Total), htmlRunCharts(f), htmlRunTables(f))
	return p.write(w)
}

// runWarnings are the warnings at the top of a run's page: partial
// results, nothing completed, nothing succeeded.
func runWarnings(f *File) []string {
	var ws []string
	tot := &f.Summary.Total
	if f.Interrupted {
		ws = append(ws, "Interrupted: these are partial results.")
	}
	if tot.Completed() == 0 && tot.Intended > 0 {
		ws = append(ws, "No request completed.")
	} else if tot.OK == 0 && tot.Intended > 0 {
		ws = append(ws, "Every request failed; see the errors by kind.")
	}
	return ws
}

// htmlRunSummary is the headline numbers of a run's total: cards, both
// clocks' percentiles side by side, and notes on send lag and censored
// requests.
func htmlRunSummary(tot *analysis.PhaseSummary) htmlSection {
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
	sum.Notes = htmlLagNotes(tot)
	return sum
}

// htmlLagNotes says how late requests were sent, how much of that was
// the generator's and how much the target's backpressure, and how many
// requests were censored.
func htmlLagNotes(tot *analysis.PhaseSummary) []string {
	notes := []string{fmt.Sprintf("Send lag (actual − intended send): p50 %s, p99 %s, max %s.",
		FormatDuration(tot.SendLag.P50), FormatDuration(tot.SendLag.P99), FormatDuration(tot.SendLag.Max))}
	if tot.Lateness.Count > 0 {
		note := fmt.Sprintf("Of which the scheduler's lateness (the generator's own): p99 %s, max %s.",
			FormatDuration(tot.Lateness.P99), FormatDuration(tot.Lateness.Max))
		if tot.SlotWait.Count > 0 {
			note += fmt.Sprintf(" Waits for an in-flight slot (the target held the generator back): %d requests, p50 %s, p99 %s, max %s.",
				tot.SlotWait.Count, FormatDuration(tot.SlotWait.P50), FormatDuration(tot.SlotWait.P99), FormatDuration(tot.SlotWait.Max))
		}
		notes = append(notes, note)
	}
	if tot.Censored > 0 {
		notes = append(notes, fmt.Sprintf("%d requests were censored: unanswered when the run's deadline came, they are in the response times at their lower bound.", tot.Censored))
	}
	return notes
}

// htmlRunCharts draws a run: the percentile distribution of the total,
// latency over time and throughput over time, with the phases and
// faults shaded.
func htmlRunCharts(f *File) htmlSection {
	tot := &f.Summary.Total
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
	tl := timelineOf(f.Summary)
	spans, markers := runSpans(f, "")
	overTime := &chart.Chart{
		Title:   "Latency over time (per second of completion)",
		X:       chart.Axis{Label: "time since start", Min: 0, Max: math.Max(runEnd(f), 1), Format: chart.SecondsTick},
		Y:       chart.LatencyAxis(tl.p50, tl.max),
		Series:  []chart.Series{{Name: "p50", X: tl.t, Y: tl.p50}, {Name: "p99", X: tl.t, Y: tl.p99}, {Name: "max", X: tl.t, Y: tl.max}, {Name: "service p99", X: tl.t, Y: tl.svc99, Dash: true}},
		Spans:   spans,
		Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{overTime.SVG(),
		"Response-time percentiles of the requests that completed in each second; grey bands are phases, red bands the fault windows."})
	tput := &chart.Chart{
		Title:   "Throughput (requests per second)",
		X:       overTime.X,
		Y:       chart.Axis{Label: "req/s", FromZero: true, Format: chart.RateTick},
		Series:  []chart.Series{{Name: "offered", X: tl.t, Y: tl.offered, Dash: true}, {Name: "completed", X: tl.t, Y: tl.completed}, {Name: "errors", X: tl.t, Y: tl.errors, Color: chart.FaultColor}},
		Spans:   spans,
		Markers: markers,
	}
	charts.Charts = append(charts.Charts, htmlChart{tput.SVG(),
		"Offered counts requests by their intended send second; completed counts them by the second they finished (with or without error)."})
	return charts
}

// htmlRunTables is a run's tables: phases, endpoints (with how the load
// was balanced), faults, outcomes, the generator and the settings.
func htmlRunTables(f *File) htmlSection {
	s := f.Summary
	tabs := htmlSection{Title: "Phases and outcomes"}
	tabs.Tables = append(tabs.Tables, htmlPhaseTable(s))
	if len(s.Endpoints) > 0 {
		tabs.Tables = append(tabs.Tables, htmlEndpointTable(f))
		tabs.Notes = htmlBalanceNotes(f)
	}
	if len(f.Faults) > 0 {
		tabs.Tables = append(tabs.Tables, htmlFaultTable(f.Faults))
	}
	tabs.Tables = append(tabs.Tables, htmlCountsTable(&s.Total), htmlGeneratorTable(s), htmlSettingsTable(f))
	return tabs
}

// htmlBalanceNotes says how evenly the endpoints were loaded, by what
// strategy, and which endpoints were lost when.
func htmlBalanceNotes(f *File) []string {
	s := f.Summary
	note := fmt.Sprintf("Imbalance (max/mean requests per endpoint): %.2f.", s.Imbalance)
	if f.Balance == nil {
		return []string{note}
	}
	notes := []string{fmt.Sprintf("Balanced by %s over %d endpoints. ", f.Balance.Strategy, len(s.Endpoints)) + note}
	for _, r := range f.Balance.Removed {
		if r.KeysMoved < 0 {
			notes = append(notes, fmt.Sprintf("Endpoint %d (%s) lost at %s.", r.Endpoint, r.Addr, FormatDuration(r.At)))
		} else {
			notes = append(notes, fmt.Sprintf("Endpoint %d (%s) lost at %s: %.1f%% of %d keys moved.", r.Endpoint, r.Addr, FormatDuration(r.At), 100*r.KeysMoved, r.Keys))
		}
	}
	return notes
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
