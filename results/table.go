package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"tailgate/analysis"
)

// FormatDuration prints d with three significant digits in a unit that
// suits it: 812ns, 41.2µs, 3.07ms, 1.25s.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return sig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return sig3(float64(d)/1e6) + "ms"
	default:
		return sig3(float64(d)/1e9) + "s"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func formatRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

func newTable(w io.Writer, header ...string) *tablewriter.Table {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignment(tw.AlignRight),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
	)
	h := make([]any, len(header))
	for i, s := range header {
		h[i] = s
	}
	t.Header(h...)
	return t
}

// WriteTable renders a result for people: the run line, the latency table
// with both clocks side by side, the phases, and the counts.
func WriteTable(w io.Writer, f *File) error {
	f = f.Redacted()
	s := f.Summary
	tot := &s.Total
	fmt.Fprintln(w, runHead(f))
	fmt.Fprintln(w)
	if err := writeLatency(w, tot); err != nil {
		return err
	}
	if err := writePhases(w, s); err != nil {
		return err
	}
	if len(s.Endpoints) > 0 {
		if err := writeEndpoints(w, f); err != nil {
			return err
		}
	}
	writeBreakdown(w, s)
	writeTargetMetrics(w, s)
	writeFaults(w, f.Faults)
	writeCounts(w, tot)
	writeGenerator(w, s.Generator)
	writeWrappers(w, f)
	if f.Verdict != nil {
		WriteVerdict(w, f.Verdict)
	}
	if tot.Completed() == 0 && tot.Intended > 0 {
		fmt.Fprintln(w, "warning: no request completed successfully or otherwise")
	} else if tot.OK == 0 && tot.Intended > 0 {
		fmt.Fprintln(w, "warning: every request failed; see errors by kind")
	}
	return nil
}

// runHead is the run line: kind, target, load, engine, and whether the
// loop was closed or the run interrupted.
func runHead(f *File) string {
	st := f.Settings
	var head strings.Builder
	fmt.Fprintf(&head, "tailgate %s → %s", f.Kind, st.Target)
	if st.Profile != "" {
		fmt.Fprintf(&head, "  profile %s", st.Profile)
	} else if st.Rate > 0 {
		fmt.Fprintf(&head, "  %s req/s %s for %v", formatRate(st.Rate), st.Arrivals, st.Duration)
	}
	if st.Engine != "" && st.Reads != "" {
		fmt.Fprintf(&head, "  (engine %s, %s reads)", st.Engine, st.Reads)
	} else if st.Engine != "" {
		fmt.Fprintf(&head, "  (engine %s)", st.Engine)
	}
	if st.ClosedLoop > 0 {
		fmt.Fprintf(&head, "  [CLOSED LOOP: %d connections, each waiting for its answer; response time = service time, no schedule]", st.ClosedLoop)
	}
	if f.Interrupted {
		head.WriteString("  [INTERRUPTED: partial results]")
	}
	return head.String()
}

// FormatGrid says which wake-up grid was in force: "800µs", or for a
// grid that changed, "0–800µs, 800µs at the end".
func FormatGrid(g *analysis.GridRange) string {
	if g.Min == g.Max {
		return FormatDuration(g.Max)
	}
	return fmt.Sprintf("%s–%s, %s at the end", FormatDuration(g.Min), FormatDuration(g.Max), FormatDuration(g.Last))
}

// writeLatency writes the total's percentiles on both clocks, plainly
// labelled, and the send lag under them.
func writeLatency(w io.Writer, tot *analysis.PhaseSummary) error {
	lt := newTable(w, "latency", "response time (from intended send)", "service time (from actual send)")
	rows := []struct {
		name string
		r, s time.Duration
	}{
		{"p50", tot.Response.P50, tot.Service.P50},
		{"p90", tot.Response.P90, tot.Service.P90},
		{"p95", tot.Response.P95, tot.Service.P95},
		{"p99", tot.Response.P99, tot.Service.P99},
		{"p99.9", tot.Response.P999, tot.Service.P999},
		{"p99.99", tot.Response.P9999, tot.Service.P9999},
		{"max", tot.Response.Max, tot.Service.Max},
		{"mean", tot.Response.Mean, tot.Service.Mean},
	}
	for _, r := range rows {
		if err := lt.Append(r.name, FormatDuration(r.r), FormatDuration(r.s)); err != nil {
			return err
		}
	}
	if err := lt.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "send lag (actual − intended send): p50 %s  p99 %s  max %s\n",
		FormatDuration(tot.SendLag.P50), FormatDuration(tot.SendLag.P99), FormatDuration(tot.SendLag.Max))
	if tot.Lateness.Count > 0 {
		fmt.Fprintf(w, "  of which scheduler lateness (the generator's): p99 %s, max %s", FormatDuration(tot.Lateness.P99), FormatDuration(tot.Lateness.Max))
		if tot.SlotWait.Count > 0 {
			fmt.Fprintf(w, "; waits for an in-flight slot (the target's backpressure): %d requests, p50 %s, p99 %s, max %s",
				tot.SlotWait.Count, FormatDuration(tot.SlotWait.P50), FormatDuration(tot.SlotWait.P99), FormatDuration(tot.SlotWait.Max))
		}
		fmt.Fprintln(w)
	}
	if g := tot.TimerGrid; g != nil {
		fmt.Fprintf(w, "  wake-up grid (sends coalesced onto it, up to one step late by design): %s\n", FormatGrid(g))
	}
	fmt.Fprintln(w)
	return nil
}

// writePhases writes a row per phase (and the total, when there are
// several), with a cache-hit column when any phase had hits.
func writePhases(w io.Writer, s *analysis.Summary) error {
	hits := false
	for i := range s.Phases {
		hits = hits || s.Phases[i].CacheHits > 0
	}
	cols := []string{"phase", "duration", "offered/s", "achieved/s", "ok", "errors", "dropped", "p50", "p99", "p99.9", "max"}
	if hits {
		cols = append(cols, "cache hits")
	}
	pt := newTable(w, cols...)
	add := func(p *analysis.PhaseSummary, name string) error {
		row := []any{name, fmt.Sprint(p.Duration.Round(time.Millisecond)), formatRate(p.OfferedRate), formatRate(p.AchievedRate),
			fmt.Sprint(p.OK), fmt.Sprint(p.Errors), fmt.Sprint(p.Dropped),
			FormatDuration(p.Response.P50), FormatDuration(p.Response.P99), FormatDuration(p.Response.P999), FormatDuration(p.Response.Max)}
		if hits {
			row = append(row, hitRate(p))
		}
		return pt.Append(row...)
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		name := p.Name
		if p.Warmup {
			name += " (warm-up)"
		}
		if err := add(p, name); err != nil {
			return err
		}
	}
	if len(s.Phases) > 1 {
		if err := add(&s.Total, "total"); err != nil {
			return err
		}
	}
	return pt.Render()
}

// writeTargetMetrics writes what the target's metrics said in each phase
// that scraped them.
func writeTargetMetrics(w io.Writer, s *analysis.Summary) {
	for i := range s.Phases {
		if t := s.Phases[i].Target; t != nil {
			if t.Error != "" && t.Scrapes == 0 {
				fmt.Fprintf(w, "target %s: no metrics (%s)\n", s.Phases[i].Name, t.Error)
				continue
			}
			fmt.Fprintf(w, "target %s: CPU %.2f cores, RSS max %.1f MB, GC pause max %s (%d scrapes)\n",
				s.Phases[i].Name, t.CPUCores, t.RSSMax/1e6, FormatDuration(t.GCPauseMax), t.Scrapes)
		}
	}
}

// writeFaults writes a line per fault or action: what, on which target,
// in which phase, when, and whether it failed.
func writeFaults(w io.Writer, faults []FaultWindow) {
	for _, fw := range faults {
		what := fw.Type
		if fw.Action != "" {
			what = fw.Action
		} else if fw.Toxicity > 0 && fw.Toxicity < 1 {
			what = fmt.Sprintf("%s (%.0f%%)", fw.Type, fw.Toxicity*100)
		}
		when := "at " + FormatDuration(fw.Applied)
		if fw.Removed > 0 {
			when = fmt.Sprintf("%s → %s", FormatDuration(fw.Applied), FormatDuration(fw.Removed))
		}
		line := fmt.Sprintf("fault: %s on %s during %s, %s", what, fw.Target, fw.Phase, when)
		if fw.Error != "" {
			line += "  [" + fw.Error + "]"
		}
		fmt.Fprintln(w, line)
	}
}

// writeCounts writes where every request went, the status and error
// counts (with what the errors said), cache hits and bytes.
func writeCounts(w io.Writer, tot *analysis.PhaseSummary) {
	fmt.Fprintf(w, "requests: %d intended = %d completed (%d ok, %d errors) + %d dropped + %d unsent",
		tot.Intended, tot.Completed(), tot.OK, tot.Errors, tot.Dropped, tot.Unsent)
	if tot.Censored > 0 {
		fmt.Fprintf(w, " + %d censored (unanswered at the run's deadline, timed at their lower bound)", tot.Censored)
	}
	fmt.Fprintln(w)
	if tot.Span > tot.Duration && tot.Duration > 0 {
		fmt.Fprintf(w, "the run took %s to answer a %s schedule: rates are over the %s\n",
			FormatDuration(tot.Span), FormatDuration(tot.Duration), FormatDuration(tot.Span))
	}
	if len(tot.Status) > 0 {
		fmt.Fprintf(w, "status: %s\n", formatCounts(tot.Status))
	}
	if len(tot.GRPCCodes) > 0 {
		fmt.Fprintf(w, "grpc status: %s\n", formatCounts(tot.GRPCCodes))
	}
	if len(tot.ErrorKinds) > 0 {
		fmt.Fprintf(w, "errors by kind: %s\n", formatCounts(tot.ErrorKinds))
	}
	writeErrorNotes(w, tot)
	if tot.CacheHits > 0 && tot.Completed() > 0 {
		fmt.Fprintf(w, "cache hits: %d (%.1f%%)\n", tot.CacheHits, 100*float64(tot.CacheHits)/float64(tot.Completed()))
	}
	fmt.Fprintf(w, "bytes: %d in, %d out\n", tot.BytesIn, tot.BytesOut)
}

// writeGenerator writes the send loop's own account: sent, in flight,
// slot waits, and its memory and GC when measured.
func writeGenerator(w io.Writer, g analysis.GeneratorStats) {
	fmt.Fprintf(w, "generator: %d sent, peak %d in flight (%d workers), %d waited for a slot", g.Sent, g.PeakInFlight, g.Workers, g.SlotWaits)
	if g.MaxRSS > 0 {
		fmt.Fprintf(w, "; max RSS %.1f MB, %d GCs (pause p99 %s, max %s)", float64(g.MaxRSS)/1e6, g.GCCount, FormatDuration(g.GCPauseP99), FormatDuration(g.GCPauseMax))
	}
	fmt.Fprintln(w)
}

// writeWrappers writes what fan-out and hedging did, when they were on.
func writeWrappers(w io.Writer, f *File) {
	if fo := f.FanOut; fo != nil {
		fmt.Fprintf(w, "fan-out: %d sub-requests per request (%d in all); %s\n", fo.N, fo.SubRequests, fo.Sentence)
	}
	if h := f.Hedge; h != nil {
		won := 0.0
		if h.Hedges > 0 {
			won = float64(h.HedgeWins) / float64(h.Hedges)
		}
		fmt.Fprintf(w, "hedging after %s: %.1f%% extra load (%d duplicates), %.0f%% of them answered first; delay at the end %s\n",
			h.After, 100*h.ExtraLoad, h.Hedges, 100*won, FormatDuration(h.Delay))
	}
	for _, h := range f.HedgePhases {
		if h.After == "off" {
			fmt.Fprintf(w, "hedging in %s: off\n", h.Phase)
			continue
		}
		fmt.Fprintf(w, "hedging in %s after %s: %.1f%% extra load (%d duplicates of %d, %d won); delay at the end %s\n",
			h.Phase, h.After, 100*h.ExtraLoad, h.Hedges, h.Requests, h.HedgeWins, FormatDuration(h.Delay))
	}
}

// writeErrorNotes prints, under the error counts, what each kind of error
// said and how to fix it (analysis.ErrorNotes):
//
//	tls     tls: failed to verify certificate: x509: certificate signed by unknown authority
//	        fix: the target's certificate was rejected: give its CA with --cacert …
//	status  HTTP 503 Service Unavailable
func writeErrorNotes(w io.Writer, p *analysis.PhaseSummary) {
	notes := analysis.ErrorNotes(p)
	width := 0
	for _, n := range notes {
		width = max(width, len(n.Kind))
	}
	for _, n := range notes {
		label := n.Kind
		for _, m := range n.Samples {
			fmt.Fprintf(w, "  %-*s  %s\n", width, label, oneLine(m))
			label = ""
		}
		if n.Advice != "" {
			fmt.Fprintf(w, "  %-*s  fix: %s\n", width, label, n.Advice)
		}
	}
}

func hitRate(p *analysis.PhaseSummary) string {
	if p.Completed() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(p.CacheHits)/float64(p.Completed()))
}

func formatCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// WriteSeconds renders the per-second rows: what completed in each second
// of the run, and what was offered in it.
func WriteSeconds(w io.Writer, f *File) error {
	t := newTable(w, "t", "phase", "offered", "completed", "errors", "dropped", "p50", "p90", "p99", "max", "service p99")
	names := make([]string, len(f.Summary.Phases))
	for i := range f.Summary.Phases {
		names[i] = f.Summary.Phases[i].Name
	}
	for _, s := range f.Summary.Seconds {
		ph := ""
		if s.Phase >= 0 && s.Phase < len(names) {
			ph = names[s.Phase]
		}
		if err := t.Append(fmt.Sprintf("%ds", s.T), ph, fmt.Sprint(s.Offered), fmt.Sprint(s.Completed), fmt.Sprint(s.Errors),
			fmt.Sprint(s.Dropped), FormatDuration(s.P50), FormatDuration(s.P90), FormatDuration(s.P99),
			FormatDuration(s.Max), FormatDuration(s.ServiceP99)); err != nil {
			return err
		}
	}
	return t.Render()
}

func writeEndpoints(w io.Writer, f *File) error {
	s := f.Summary
	strategy := ""
	if f.Balance != nil {
		strategy = f.Balance.Strategy
	}
	et := newTable(w, "endpoint", "address", "requests", "share", "ok", "errors", "cache hits", "p50", "p99", "max")
	for _, e := range s.Endpoints {
		hits := "-"
		if done := e.OK + e.Errors; done > 0 {
			hits = fmt.Sprintf("%.1f%%", 100*float64(e.CacheHits)/float64(done))
		}
		if err := et.Append(fmt.Sprint(e.Endpoint), e.Addr, fmt.Sprint(e.Requests), fmt.Sprintf("%.1f%%", 100*e.Share),
			fmt.Sprint(e.OK), fmt.Sprint(e.Errors), hits, FormatDuration(e.P50), FormatDuration(e.P99), FormatDuration(e.Max)); err != nil {
			return err
		}
	}
	if err := et.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "balance: %s over %d endpoints, imbalance (max/mean requests) %.2f\n", strategy, len(s.Endpoints), s.Imbalance)
	if f.Balance != nil {
		for _, r := range f.Balance.Removed {
			if r.KeysMoved < 0 {
				fmt.Fprintf(w, "endpoint %d (%s) lost at %s (%s does not pin keys to endpoints)\n", r.Endpoint, r.Addr, FormatDuration(r.At), strategy)
				continue
			}
			fmt.Fprintf(w, "endpoint %d (%s) lost at %s: %.1f%% of %d keys moved (ideal for %d endpoints: %.1f%%)\n",
				r.Endpoint, r.Addr, FormatDuration(r.At), 100*r.KeysMoved, r.Keys, len(f.Balance.Endpoints), 100/float64(len(f.Balance.Endpoints)))
		}
	}
	return nil
}

// WriteVerdict prints the verdict: each objective with its margin and
// confidence interval, then the self-check findings that failed.
func WriteVerdict(w io.Writer, v *analysis.Verdict) {
	rv := RedactVerdict(*v)
	v = &rv
	fmt.Fprintf(w, "\nverdict: %s", v)
	switch {
	case v.Status == analysis.StatusFail:
		fmt.Fprint(w, " (the target's failure)")
	case v.Status == analysis.StatusInvalid:
		fmt.Fprint(w, " (the generator's fault: the target was not measured reliably)")
	case v.Blame == analysis.BlameTarget:
		fmt.Fprint(w, " (with findings about the target)")
	}
	fmt.Fprintln(w)
	if len(v.Reasons) > 0 && !strings.HasPrefix(v.Reasons[0], "total:") && strings.HasPrefix(v.Reasons[0], "the target answered none") {
		fmt.Fprintf(w, "  ✗ %s\n", v.Reasons[0])
	}
	for _, r := range v.Results {
		mark := "✓"
		if !r.Pass {
			mark = "✗"
		}
		note := ""
		if r.Uncertain {
			note = " [uncertain]"
		}
		fmt.Fprintf(w, "  %s %s: %s%s\n", mark, r.Phase, r.Describe(), note)
	}
	failed := 0
	for _, f := range v.Findings {
		switch {
		case f.OK && f.Check == analysis.CheckBottleneck:
			fmt.Fprintf(w, "  · bottleneck: %s\n", f.Measured)
		case f.OK:
		case f.Blame == analysis.BlameTarget:
			fmt.Fprintf(w, "  ! target: %s\n", f)
		default:
			failed++
			fmt.Fprintf(w, "  ✗ self-check %s\n", f)
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "  ✓ self-check: %d checks passed (the generator kept up; enough samples)\n", len(v.Findings))
	}
	for _, s := range v.Warnings {
		fmt.Fprintf(w, "  ! %s\n", s)
	}
}

// WriteSweep renders a sweep: a row per step by rate (offered, achieved,
// p50, p99 with its interval, errors, send lag, state: ok, saturated with
// the evidence, or INVALID and why), the capacity bracket, the knee
// sentence and, for a search, its outcome.
func WriteSweep(w io.Writer, f *File) error {
	f = f.Redacted()
	info := f.Sweep
	fmt.Fprintf(w, "tailgate sweep → %s\n\n", f.Settings.Target)
	cpu := false
	for _, st := range info.Steps {
		cpu = cpu || st.TargetCPU > 0
	}
	cols := []string{"step", "offered/s", "achieved/s", "p50", "p99 (95% CI)", "errors", "send lag p99", "ρ≈offered/capacity"}
	if cpu {
		cols = append(cols, "target CPU")
	}
	cols = append(cols, "state")
	t := newTable(w, cols...)
	for i, st := range info.Steps {
		state := "ok"
		switch {
		case !st.Valid:
			state = "INVALID: " + st.Why
		case st.Saturated:
			state = "saturated: " + st.Evidence
		}
		rho := "-"
		if c := info.Knee.Capacity; c > 0 {
			rho = fmt.Sprintf("%.2f", st.Offered/c)
		}
		p99 := FormatDuration(st.P99)
		if st.P99Hi > 0 {
			p99 += fmt.Sprintf(" (%s–%s)", FormatDuration(st.P99Lo), FormatDuration(st.P99Hi))
		}
		row := []any{fmt.Sprint(i + 1), formatRate(st.Offered), formatRate(st.Achieved), FormatDuration(st.P50),
			p99, fmt.Sprintf("%.2f%%", 100*st.ErrorRate), FormatDuration(st.SendLagP99), rho}
		if cpu {
			row = append(row, fmt.Sprintf("%.2f cores", st.TargetCPU))
		}
		row = append(row, state)
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if info.Capacity != nil {
		fmt.Fprintln(w, info.Capacity.Sentence)
	}
	if info.Knee.Sentence != "" {
		fmt.Fprintln(w, info.Knee.Sentence)
	}
	if info.USL != nil {
		fmt.Fprintf(w, "Universal Scalability Law: %s\n", info.USL)
	}
	if m := info.USLCapacity; m != nil {
		if m.Shown {
			fmt.Fprintln(w, m.String())
		} else {
			fmt.Fprintf(w, "USL capacity not shown: %s\n", m.Why)
		}
	}
	if info.Search != nil {
		fmt.Fprintln(w, "search: "+info.Search.Sentence)
	}
	return nil
}

// writeBreakdown prints where the time went per phase, which part grew
// from the first measured phase to each later one, Little's law, and the
// bytes per second.
func writeBreakdown(w io.Writer, s *analysis.Summary) {
	var base *analysis.PhaseSummary
	for i := range s.Phases {
		p := &s.Phases[i]
		if p.Breakdown == nil {
			continue
		}
		b := p.Breakdown
		fmt.Fprintf(w, "where the time went in %s (p50/p99): queueing in the generator %s/%s, connection setup %s/%s (%d new), time to first byte %s/%s, body %s/%s\n",
			p.Name, FormatDuration(b.Queue.P50), FormatDuration(b.Queue.P99), FormatDuration(b.Connect.P50), FormatDuration(b.Connect.P99), p.NewConns,
			FormatDuration(b.TTFB.P50), FormatDuration(b.TTFB.P99), FormatDuration(b.Body.P50), FormatDuration(b.Body.P99))
		if base == nil && !p.Warmup {
			base = p
		} else if base != nil {
			fmt.Fprintf(w, "  %s\n", GrowthSentence(base, p))
		}
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		if l := p.Little; l != nil {
			line := fmt.Sprintf("requests in flight in %s: %.1f on average; expected %.1f (Little's law: %s completed/s × %s mean service time)",
				p.Name, l.MeasuredInFlight, l.PredictedInFlight, formatRate(p.AchievedRate), FormatDuration(p.Service.Mean))
			if l.CapHit {
				line += "  [the in-flight cap was full: the verdict says whether the cap or the target was the limit]"
			}
			fmt.Fprintln(w, line)
		}
		if secs := p.Duration.Seconds(); secs > 0 && p.BytesIn+p.BytesOut > 0 {
			fmt.Fprintf(w, "bandwidth in %s: %s/s in, %s/s out", p.Name, formatBytes(float64(p.BytesIn)/secs), formatBytes(float64(p.BytesOut)/secs))
			if b := p.Breakdown; b != nil && b.Body.Mean > 0 && p.Completed() > 0 {
				per := float64(p.BytesIn) / float64(p.Completed()) / b.Body.Mean.Seconds()
				fmt.Fprintf(w, "; a response body arrived at %s/s", formatBytes(per))
				if b.Connect.N > 0 && b.Connect.P50 > 0 {
					// One TCP handshake ≈ one round trip: the bytes a single
					// connection must keep in flight to fill the path is the
					// bandwidth-delay product.
					bdp := per * b.Connect.P50.Seconds()
					fmt.Fprintf(w, " (round trip ≈ %s, the time to open a connection; at that speed one connection has ≈ %s in flight)", FormatDuration(b.Connect.P50), formatBytes(bdp))
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// GrowthSentence says which part of the response time grew from phase a
// to phase b, e.g. "p99 rose 180 ms from baseline to degraded: time to
// first byte +160 ms, queueing in the generator +15 ms, …".
func GrowthSentence(a, b *analysis.PhaseSummary) string {
	d := b.Response.P99 - a.Response.P99
	verb := "rose"
	if d < 0 {
		verb, d = "fell", -d
	}
	s := fmt.Sprintf("p99 %s %s from %s to %s", verb, FormatDuration(d), a.Name, b.Name)
	if a.Breakdown == nil || b.Breakdown == nil {
		return s
	}
	parts := []struct {
		name string
		x, y analysis.Part
	}{
		{"time to first byte (server)", a.Breakdown.TTFB, b.Breakdown.TTFB},
		{"queueing in the generator", a.Breakdown.Queue, b.Breakdown.Queue},
		{"connection setup", a.Breakdown.Connect, b.Breakdown.Connect},
		{"body transfer", a.Breakdown.Body, b.Breakdown.Body},
	}
	sort.SliceStable(parts, func(i, j int) bool {
		return absDur(parts[i].y.P99-parts[i].x.P99) > absDur(parts[j].y.P99-parts[j].x.P99)
	})
	var out []string
	for _, p := range parts {
		delta := p.y.P99 - p.x.P99
		sign := "+"
		if delta < 0 {
			sign = "−"
		}
		out = append(out, fmt.Sprintf("%s p99 %s%s", p.name, sign, FormatDuration(absDur(delta))))
	}
	return s + ": " + strings.Join(out, ", ")
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func formatBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.2f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.2f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}
