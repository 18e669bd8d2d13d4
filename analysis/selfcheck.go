package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"tailgate/generator"
)

// Self-check names, as Finding.Check.
const (
	CheckComplete = "complete"         // the run was not interrupted
	CheckCPU      = "generator-cpu"    // the generator's own CPU was not saturated (open loop)
	CheckLimits   = "generator-limits" // no request failed on the generator's file-descriptor or port limit
	CheckSendRate = "send-rate"        // requests handled ÷ due, per phase
	CheckSendLag  = "send-lag"         // p99 of the scheduler's lateness, per phase
	CheckArrivals = "arrivals"         // sent gaps follow the arrival process, per phase
	CheckSamples  = "samples"          // enough samples for each percentile asked, per phase
	// CheckCap: per phase, when requests waited for an in-flight slot, were
	// dropped or censored: was the cap smaller than the load needs by
	// Little's law (the generator's configuration)?
	CheckCap = "in-flight-cap"
	// CheckBackpressure: per phase, the target held the generator back
	// (slot waits, drops, censored requests) with a cap large enough for
	// the load: a finding about the target, never INVALID.
	CheckBackpressure = "backpressure"
	// CheckBottleneck: closed loop, which side limited throughput; always
	// OK (in closed loop a busy generator is the point).
	CheckBottleneck = "bottleneck"
)

// Who a finding blames, as Finding.Blame.
const (
	BlameGenerator = "generator" // a failing finding makes the run INVALID
	BlameTarget    = "target"    // a failing finding is evidence against the target
)

// CapMargin is the headroom over Little's law (offered rate × the target's
// uncongested service time) below which a full in-flight cap is the
// generator's configuration rather than the target's backpressure.
const CapMargin = 1.2

// Finding is the outcome of one self-check. A failing finding makes the
// run INVALID: its numbers cannot be trusted, whatever they say.
type Finding struct {
	Check string `json:"check"`
	// Subject narrows a check that runs more than once per phase: the
	// percentile ("p99.9") for CheckSamples; else "".
	Subject string `json:"subject,omitempty"`
	Phase   string `json:"phase,omitempty"` // "" for the run as a whole
	OK      bool   `json:"ok"`
	// Blame is whose fault a failing finding is: BlameGenerator (the
	// measurement cannot be trusted: INVALID) or BlameTarget (evidence
	// about the target: never INVALID by itself).
	Blame    string `json:"blame,omitempty"`
	Measured string `json:"measured"`
	Limit    string `json:"limit"`
	// Advice says what to change; set on failing findings.
	Advice string `json:"advice,omitempty"`
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Check)
	if f.Subject != "" {
		fmt.Fprintf(&b, " (%s)", f.Subject)
	}
	if f.Phase != "" {
		fmt.Fprintf(&b, " in phase %q", f.Phase)
	}
	fmt.Fprintf(&b, ": %s (limit %s)", f.Measured, f.Limit)
	if !f.OK && f.Advice != "" {
		b.WriteString(": ")
		b.WriteString(f.Advice)
	}
	return b.String()
}

// Defaults for SelfCheckConfig's zero fields.
const (
	DefaultMinSentFraction = 0.99
	DefaultMaxDropFraction = 0.001
	DefaultMaxSendLagP99   = 10 * time.Millisecond
	DefaultMaxCPU          = 0.9
	DefaultMaxGapCVExcess  = 0.5
	DefaultMaxGapKS        = 0.2
)

// ADCritical1 is the 1 % critical value of the modified Anderson–Darling
// statistic A²·(1 + 0.6/n) for exponentiality with the mean estimated
// from the sample (Stephens 1974; D'Agostino & Stephens, table 4.14).
const ADCritical1 = 1.957

// minGaps is the fewest sampled gaps a phase needs for its arrivals to be
// tested.
const minGaps = 20

// SelfCheckConfig tunes SelfCheck. The zero value uses the defaults.
type SelfCheckConfig struct {
	// MinSentFraction is the least fraction of the requests due in a phase
	// that must have been sent (default 0.99).
	MinSentFraction float64
	// MaxDropFraction is the largest fraction of a phase's requests that
	// may be dropped (default 0.001). Any drop also fails CheckSlotWaits.
	MaxDropFraction float64
	// MaxSendLagP99 bounds the p99 of send lag in each phase (default 10 ms).
	MaxSendLagP99 time.Duration
	// MaxCPU bounds the generator's CPU use as a fraction of
	// elapsed × cores (default 0.9).
	MaxCPU float64
	// MaxGapKS bounds, in a phase with Poisson arrivals, the
	// Kolmogorov–Smirnov distance between the actual and the intended
	// gaps between sends: the largest fraction of gaps displaced
	// (default 0.2: a send jitter of a millisecond at 100 req/s already
	// displaces 10 % of exponential gaps, while pacing a Poisson schedule
	// evenly gives about 0.6 and bunching sends in pairs about 0.5).
	MaxGapKS float64
	// MaxGapCVExcess is how much the coefficient of variation of the actual
	// gaps between sends may exceed the intended gaps' in a phase with
	// constant arrivals (default 0.5).
	MaxGapCVExcess float64
	// Arrivals gives each phase's arrival process by phase name: "poisson",
	// or "constant" (also "uniform"). The key "*" applies to phases not
	// named. Phases with no entry are not checked for arrivals.
	Arrivals map[string]string
	// TimerSlack is the generator's wake-up grid (generator.Options): sends
	// leave at the first grid point at or after their intended times, so
	// the gaps are compared with the intended gaps moved onto that grid.
	TimerSlack time.Duration
	// Rate, when set, is the offered rate (req/s) at an offset from the
	// run's start. Poisson gaps are then rescaled by it (time rescaling),
	// so that phases whose rate varies (ramps, bursts) are tested
	// correctly; without it a phase's gaps are tested as they are, which is
	// right only for a constant rate.
	Rate func(t time.Duration) float64
	// PhaseQuantiles, when set, lists the quantiles asked of particular
	// phases, by name ("" for the total); see ObjectiveQuantiles. They are
	// checked for enough samples in addition to asked.
	PhaseQuantiles map[string][]float64
	// MaxInFlight is the run's in-flight cap, for CheckCap (0: unknown:
	// a full cap is then blamed on the target).
	MaxInFlight int
	// CapLimit, when set, says what held the default cap down ("open-file
	// limit 256 (ulimit -n)"), for the advice.
	CapLimit string
	// ClosedLoop: the run was closed loop; CPU is then a bottleneck
	// finding, not a self-check.
	ClosedLoop bool
}

func (c SelfCheckConfig) withDefaults() SelfCheckConfig {
	if c.MinSentFraction <= 0 {
		c.MinSentFraction = DefaultMinSentFraction
	}
	if c.MaxDropFraction <= 0 {
		c.MaxDropFraction = DefaultMaxDropFraction
	}
	if c.MaxSendLagP99 <= 0 {
		c.MaxSendLagP99 = DefaultMaxSendLagP99
	}
	if c.MaxCPU <= 0 {
		c.MaxCPU = DefaultMaxCPU
	}
	if c.MaxGapKS <= 0 {
		c.MaxGapKS = DefaultMaxGapKS
	}
	if c.MaxGapCVExcess <= 0 {
		c.MaxGapCVExcess = DefaultMaxGapCVExcess
	}
	return c
}

// AskedQuantiles returns the distinct quantiles (0 < q < 1) the objectives
// ask for, in increasing order: SelfCheck's asked.
func AskedQuantiles(objs []Objective) []float64 {
	var qs []float64
	for _, o := range objs {
		if q := o.Quantile(); q > 0 && q < 1 && !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	slices.Sort(qs)
	return qs
}

// ObjectiveQuantiles returns the quantiles the objectives ask for, by the
// phase they ask them of ("" for the total): SelfCheckConfig.PhaseQuantiles.
func ObjectiveQuantiles(objs []Objective) map[string][]float64 {
	m := map[string][]float64{}
	for _, o := range objs {
		q := o.Quantile()
		if !(q > 0 && q < 1) {
			continue
		}
		p := o.Phase
		if p == "total" {
			p = ""
		}
		if !slices.Contains(m[p], q) {
			m[p] = append(m[p], q)
			slices.Sort(m[p])
		}
	}
	return m
}

// SelfCheck checks that a run measured what it meant to, in the manner of
// Lancet (USENIX ATC '19), and returns one Finding per check and phase,
// failing or not. Warm-up phases are not checked. The checks:
//
//   - complete: the run was not interrupted.
//   - slot-waits: no request waited for an in-flight slot or was dropped
//     (GeneratorStats.SlotWaits and Dropped are 0).
//   - generator-cpu: CPU ÷ (elapsed × cores) < MaxCPU (skipped when the
//     CPU time is unknown, i.e. 0).
//   - send-rate, drops: per phase, sent ≥ MinSentFraction of the requests
//     due and dropped ≤ MaxDropFraction.
//   - send-lag: per phase, the p99 of send lag ≤ MaxSendLagP99.
//   - arrivals: per phase, from GeneratorStats.Gaps. Poisson phases: the
//     Kolmogorov–Smirnov distance between the actual and the intended
//     gaps ≤ MaxGapKS (the Anderson–Darling A² against an exponential is
//     reported beside it).
//     Constant phases: CV(actual gaps) ≤ CV(intended gaps) + MaxGapCVExcess,
//     each gap spanning at least generator.GapSpan (several requests at
//     high rates) when the sample has spans.
//   - samples: per phase, at least MinSamples(q) responses for every q in
//     asked (and in cfg.PhaseQuantiles for that phase).
func SelfCheck(s *Summary, asked []float64, cfg SelfCheckConfig) []Finding {
	cfg = cfg.withDefaults()
	var out []Finding
	g := &s.Generator

	if g.Interrupted {
		out = append(out, Finding{Check: CheckComplete, Blame: BlameGenerator, Measured: "interrupted after " + formatDur(g.Elapsed.Round(time.Millisecond)),
			Limit:  "run to the end",
			Advice: "the run was interrupted, so its results cover only part of the schedule: let it run to the end"})
	} else {
		out = append(out, Finding{Check: CheckComplete, OK: true, Measured: "ran to the end", Limit: "run to the end"})
	}

	out = append(out, checkLimits(&s.Total))

	wall := g.Wall // the CPU was measured over the whole run, drain included
	if wall <= 0 {
		wall = g.Elapsed
	}
	if g.CPU > 0 && g.Cores > 0 && wall > 0 {
		use := g.CPU.Seconds() / (wall.Seconds() * float64(g.Cores))
		measured := fmt.Sprintf("%.0f%% of %d cores", 100*use, g.Cores)
		if cfg.ClosedLoop {
			// Closed loop: each worker sends when its last answer came, so
			// a busy generator is the point; say which side was the limit.
			f := Finding{Check: CheckBottleneck, OK: true, Limit: "either side"}
			if use >= cfg.MaxCPU {
				f.Measured = "the generator (CPU " + measured + "): the target may serve more than this run achieved; " +
					"add a generator (--segment) or more cores to find its limit"
			} else {
				f.Measured = "the target (generator CPU " + measured + "): throughput was what the target served at this concurrency"
			}
			out = append(out, f)
		} else {
			f := Finding{Check: CheckCPU, Blame: BlameGenerator, OK: use < cfg.MaxCPU,
				Measured: measured, Limit: fmt.Sprintf("< %.0f%%", 100*cfg.MaxCPU)}
			if !f.OK {
				f.Advice = "the generator was short of CPU, so its own timing is suspect: run it on a bigger host, " +
					"or split the load over a second generator (--segment 1/2 and 2/2 on two hosts)"
			}
			out = append(out, f)
		}
	}

	for i := range s.Phases {
		p := &s.Phases[i]
		if p.Warmup {
			continue
		}
		out = append(out, checkPhase(s, p, asked, cfg)...)
	}
	if qs := cfg.PhaseQuantiles[""]; len(qs) > 0 {
		out = append(out, checkSamples(&s.Total, "total", qs)...)
	}
	return out
}

func checkPhase(s *Summary, p *PhaseSummary, asked []float64, cfg SelfCheckConfig) []Finding {
	var out []Finding
	if p.Intended > 0 {
		// Handled: answered, failed, dropped or censored. What is left was
		// due but never dispatched (an interrupt).
		handled := p.Completed() + p.Censored + p.Dropped
		frac := float64(handled) / float64(p.Intended)
		f := Finding{Check: CheckSendRate, Blame: BlameGenerator, Phase: p.Name, OK: frac >= cfg.MinSentFraction,
			Measured: fmt.Sprintf("%s%% handled (%d of %d due)", formatPct(100*frac), handled, p.Intended),
			Limit:    fmt.Sprintf("≥ %s%%", formatPct(100*cfg.MinSentFraction))}
		if !f.OK {
			f.Advice = "the generator fell behind the schedule: lower the rate, raise --max-in-flight or --connections, " +
				"or split the load over a second generator (--segment 1/2 and 2/2)"
		}
		out = append(out, f)
		out = append(out, checkHeld(s, p, cfg))
	}

	if p.SendLag.Count > 0 {
		// The scheduler's own lateness: the send lag less any wait for an
		// in-flight slot (that wait is the cap's, judged by CheckCap).
		lag, what := p.Lateness.P99, "lateness p99 "
		if p.Lateness.Count == 0 { // files before the split
			lag, what = p.SendLag.P99, "p99 "
		}
		// Lateness up to the wake-up grid is by design (each request
		// leaves at the first grid point after its intended time).
		limit, limitS := cfg.MaxSendLagP99, "≤ "+formatDur(cfg.MaxSendLagP99)
		if g := gridMax(s, p, cfg); g > 0 {
			limit += g
			limitS += " + the " + formatDur(g) + " wake-up grid"
		}
		f := Finding{Check: CheckSendLag, Blame: BlameGenerator, Phase: p.Name, OK: lag <= limit,
			Measured: what + formatDur(lag), Limit: limitS}
		if p.SlotWait.Count > 0 {
			f.Measured += fmt.Sprintf(" (send lag p99 %s, of which waits for a slot: see %s)", formatDur(p.SendLag.P99), CheckBackpressure)
		}
		if !f.OK {
			f.Advice = "requests left late, so the generator did not keep to the schedule: lower the rate, " +
				"give the generator more CPU, or add a second generator (--segment)"
		}
		out = append(out, f)
	}

	if f, ok := checkArrivals(s, p, cfg); ok {
		out = append(out, f)
	}

	qs := slices.Clone(asked)
	for _, q := range cfg.PhaseQuantiles[p.Name] {
		if !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	slices.Sort(qs)
	return append(out, checkSamples(p, p.Name, qs)...)
}

// checkLimits fails when requests failed on the generator's own limits:
// open files or local ports.
func checkLimits(p *PhaseSummary) Finding {
	f := Finding{Check: CheckLimits, Blame: BlameGenerator, OK: true, Measured: "no request failed on them",
		Limit: "no fd-limit or ports errors"}
	fd, ports := p.ErrKinds[generator.ErrFDLimit], p.ErrKinds[generator.ErrPorts]
	if fd == 0 && ports == 0 {
		return f
	}
	f.OK = false
	var parts, advice []string
	if fd > 0 {
		parts = append(parts, fmt.Sprintf("%d requests failed with the generator out of file descriptors%s", fd, sampleOf(p, generator.ErrFDLimit)))
		advice = append(advice, ErrorAdvice(generator.ErrFDLimit.String(), p.ErrorSamples[generator.ErrFDLimit.String()]...))
	}
	if ports > 0 {
		parts = append(parts, fmt.Sprintf("%d requests failed with the generator out of local ports%s", ports, sampleOf(p, generator.ErrPorts)))
		advice = append(advice, ErrorAdvice(generator.ErrPorts.String(), p.ErrorSamples[generator.ErrPorts.String()]...))
	}
	f.Measured = strings.Join(parts, "; ")
	f.Advice = "the generator hit its own limits, so the target was not measured: " + strings.Join(advice, "; ")
	return f
}

// sampleOf is ` ("message")` for a kind's first error sample, or "".
func sampleOf(p *PhaseSummary, k generator.ErrKind) string {
	if l := p.ErrorSamples[k.String()]; len(l) > 0 {
		return fmt.Sprintf(" (%q)", l[0])
	}
	return ""
}

// checkHeld judges a phase in which the in-flight cap held requests back
// (slot waits, drops) or the run's deadline censored some: the generator's
// configuration when the cap is below what the load needs by Little's
// law with the target answering at its uncongested speed (and it did not
// slow down), the target's backpressure otherwise.
func checkHeld(s *Summary, p *PhaseSummary, cfg SelfCheckConfig) Finding {
	if p.Held == 0 && p.Dropped == 0 && p.Censored == 0 {
		return Finding{Check: CheckBackpressure, Blame: BlameTarget, Phase: p.Name, OK: true,
			Measured: "no request waited for an in-flight slot, was dropped or cut off", Limit: "none"}
	}
	var ev []string
	if p.Held > 0 {
		ev = append(ev, fmt.Sprintf("%d of %d requests (%s%%) waited for an in-flight slot (p50 %s, max %s)",
			p.Held, p.Intended, formatPct(100*float64(p.Held)/float64(p.Intended)), formatDur(p.SlotWait.P50), formatDur(p.SlotWait.Max)))
	}
	if p.Dropped > 0 {
		ev = append(ev, fmt.Sprintf("%d dropped with every slot busy", p.Dropped))
	}
	if p.Censored > 0 {
		ev = append(ev, fmt.Sprintf("%d censored (unanswered when the run's deadline came; timed at their lower bound)", p.Censored))
	}
	if when := heldSeconds(s, p); when != "" {
		ev = append(ev, when)
	}
	if p.OfferedRate > 0 {
		ev = append(ev, fmt.Sprintf("completed %s/s of %s/s offered", formatRate(p.AchievedRate), formatRate(p.OfferedRate)))
	}
	w0, w := p.MinService, p.Service.Mean
	if w0 > 0 {
		ev = append(ev, fmt.Sprintf("mean service time %s against %s uncongested", formatDur(w), formatDur(w0)))
	}
	need := p.OfferedRate * w0.Seconds() // Little's law: L = λ·W₀
	if cfg.MaxInFlight > 0 && w0 > 0 && float64(cfg.MaxInFlight) < CapMargin*need && w < 2*w0 {
		want := int(math.Ceil(2 * need))
		return Finding{Check: CheckCap, Blame: BlameGenerator, Phase: p.Name,
			Measured: fmt.Sprintf("cap %d < %s in flight that %s/s × %s (the target's uncongested service time) needs; the target did not slow down: %s",
				cfg.MaxInFlight, formatNum(math.Ceil(need)), formatRate(p.OfferedRate), formatDur(w0), strings.Join(ev, "; ")),
			Limit:  fmt.Sprintf("≥ %s × offered rate × service time", formatNum(CapMargin)),
			Advice: capAdvice(want, cfg.CapLimit)}
	}
	return Finding{Check: CheckBackpressure, Blame: BlameTarget, Phase: p.Name,
		Measured: "the target held the generator back: " + strings.Join(ev, "; "),
		Limit:    "none",
		Advice: "every held request is timed from its intended send, so the latency measured includes the wait; " +
			"the target was slower than the offered rate needs (saturated, stalled or pushing back)"}
}

func capAdvice(want int, limit string) string {
	s := fmt.Sprintf("the in-flight cap, not the target, held requests back: raise --max-in-flight to at least %d", want)
	if limit != "" {
		s += fmt.Sprintf("; the default cap was held down by the %s: raise that first", limit)
	}
	return s
}

// heldSeconds says in which seconds of the phase requests waited for a
// slot: "in seconds 3–5".
func heldSeconds(s *Summary, p *PhaseSummary) string {
	first, last := int64(-1), int64(-1)
	for _, sec := range s.Seconds {
		at := time.Duration(sec.T) * time.Second
		if sec.Held == 0 && sec.Censored == 0 || at+time.Second <= p.Start || at >= p.Start+p.Span+time.Second {
			continue
		}
		if first < 0 {
			first = sec.T
		}
		last = sec.T
	}
	switch {
	case first < 0:
		return ""
	case first == last:
		return fmt.Sprintf("in second %d of the run", first)
	}
	return fmt.Sprintf("in seconds %d–%d of the run", first, last)
}

// formatRate prints a rate with up to 4 significant digits.
func formatRate(r float64) string {
	if r >= 100 {
		return formatNum(math.Round(r))
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.1f", r), "0"), ".")
}

func checkSamples(p *PhaseSummary, name string, qs []float64) []Finding {
	var out []Finding
	n := p.Response.Count
	if p.ResponseHist != nil {
		n = p.ResponseHist.TotalCount()
	}
	for _, q := range qs {
		need := MinSamples(q)
		if need == 0 {
			continue
		}
		f := Finding{Check: CheckSamples, Blame: BlameGenerator, Subject: QuantileLabel(q), Phase: name, OK: n >= int64(need),
			Measured: fmt.Sprintf("%d responses", n),
			Limit:    fmt.Sprintf("≥ %d", need)}
		if !f.OK {
			f.Advice = fmt.Sprintf("%s needs at least %d samples for a 95%% confidence interval", QuantileLabel(q), need)
			what := "the phase"
			if name == "total" {
				what = "the run (without warm-up)"
			}
			if p.AchievedRate > 0 {
				f.Advice += fmt.Sprintf(": make %s at least %v long at %s req/s, or raise the rate", what,
					(time.Duration(float64(need)/p.AchievedRate*float64(time.Second)) + time.Second).Truncate(time.Second), formatNum(math.Round(p.AchievedRate)))
			} else {
				f.Advice += ": make " + what + " longer or raise the rate"
			}
		}
		out = append(out, f)
	}
	return out
}

// arrivalsOf returns the arrival process configured for a phase.
func arrivalsOf(cfg SelfCheckConfig, phase string) string {
	a, ok := cfg.Arrivals[phase]
	if !ok {
		a = cfg.Arrivals["*"]
	}
	switch strings.ToLower(a) {
	case "poisson":
		return "poisson"
	case "constant", "uniform":
		return "constant"
	}
	return ""
}

func checkArrivals(s *Summary, p *PhaseSummary, cfg SelfCheckConfig) (Finding, bool) {
	kind := arrivalsOf(cfg, p.Name)
	if kind == "" {
		return Finding{}, false
	}
	end := p.Start + p.Duration
	// Constant phases are judged on spans (see generator.GapSpan) when the
	// sample has them; Poisson phases on single gaps, whose distribution
	// is the point.
	spans := kind != "poisson" && len(s.Generator.Gaps) > 0 && s.Generator.Gaps[0][3] > 0
	// Sends leave on the wake-up grid in force: the run's steps when it
	// recorded them, else the configured slack.
	steps := s.Generator.GridSteps()
	gridAt := func(t time.Duration) time.Duration {
		if steps == nil {
			return cfg.TimerSlack
		}
		return generator.GridAt(steps, t)
	}
	var actual, intended []float64
	for _, g := range s.Generator.Gaps {
		at := time.Duration(g[0])
		if at < p.Start || at >= end {
			continue
		}
		gi, ga := g[1], g[2]
		if spans {
			gi, ga = g[3], g[4]
		}
		a := float64(ga)
		if kind == "poisson" && cfg.Rate != nil {
			r := cfg.Rate(at)
			if !(r > 0) {
				continue
			}
			a *= r / 1e9 // in units of the expected gap
		}
		actual = append(actual, a)
		from := at - time.Duration(gi)
		intended = append(intended, float64(generator.SlackWake(at, gridAt(at))-generator.SlackWake(from, gridAt(from))))
	}
	f := Finding{Check: CheckArrivals, Blame: BlameGenerator, Phase: p.Name}
	if len(actual) < minGaps {
		f.OK = true
		f.Measured = fmt.Sprintf("%d gaps sampled: too few to test %s arrivals", len(actual), kind)
		f.Limit = fmt.Sprintf("≥ %d gaps", minGaps)
		return f, true
	}
	if kind == "poisson" {
		// The intended gaps are exponential by construction (the schedule
		// is tested for that); what can go wrong is the generator not
		// following them. A goodness-of-fit test of the actual gaps
		// against the exponential rejects at these sample sizes for any
		// timer granularity at all (measured: A² ≈ 14 for a healthy
		// 1,500 req/s burst whose sends are ~85 µs late), so the check is
		// an effect size: the Kolmogorov–Smirnov distance between the
		// actual and the intended gaps, i.e. the largest share of gaps
		// displaced. Anderson–Darling is reported beside it.
		raw := actual[:0:0]
		for _, g := range s.Generator.Gaps {
			if at := time.Duration(g[0]); at >= p.Start && at < end {
				raw = append(raw, float64(g[2]))
			}
		}
		d := KSDistance(raw, intended)
		a2 := ADExponential(actual)
		f.OK = d <= cfg.MaxGapKS
		f.Measured = fmt.Sprintf("KS distance %.3f between actual and intended gaps over %d gaps (Anderson–Darling A² vs exponential %s)",
			d, len(actual), formatNum(a2))
		f.Limit = fmt.Sprintf("≤ %.2f", cfg.MaxGapKS)
		if !f.OK {
			f.Advice = "the gaps between sends are not exponential, so the load was not the Poisson process asked for: " +
				"the generator bunched or paced requests. Lower the rate, give the generator more CPU, " +
				"or add a second generator (--segment)"
		}
		return f, true
	}
	cvA, cvI := cv(actual), cv(intended)
	f.OK = cvA <= cvI+cfg.MaxGapCVExcess
	f.Measured = fmt.Sprintf("gap CV %.2f (intended %.2f) over %d gaps", cvA, cvI, len(actual))
	if spans {
		f.Measured = fmt.Sprintf("gap CV %.2f (intended %.2f) over %d sampled spans of ≥ %v", cvA, cvI, len(actual), generator.GapSpan)
	}
	if g := gridMax(s, p, cfg); g > 0 {
		f.Measured += ", intended sends moved onto the " + gridDesc(s, p, cfg) + " timer-slack grid"
	}
	f.Limit = fmt.Sprintf("≤ intended + %.2f", cfg.MaxGapCVExcess)
	if !f.OK {
		f.Advice = "sends were unevenly spaced: the generator fell behind and caught up in bursts. Lower the rate, " +
			"give the generator more CPU, or add a second generator (--segment)"
	}
	return f, true
}

// gridMax is the largest wake-up grid in force during phase p: from the
// run's recorded steps, else the configured slack.
func gridMax(s *Summary, p *PhaseSummary, cfg SelfCheckConfig) time.Duration {
	if g := gridOf(s, p); g != nil {
		return g.Max
	}
	return cfg.TimerSlack
}

// gridDesc describes the grid in force during p: "1ms", "0–800µs".
func gridDesc(s *Summary, p *PhaseSummary, cfg SelfCheckConfig) string {
	g := gridOf(s, p)
	if g == nil {
		return formatDur(cfg.TimerSlack)
	}
	if g.Min == g.Max {
		return formatDur(g.Max)
	}
	return formatDur(g.Min) + "–" + formatDur(g.Max)
}

// gridOf is p's grid range: its TimerGrid, or computed from the run's
// steps (a summary read from a file written before TimerGrid); nil when
// the run recorded none.
func gridOf(s *Summary, p *PhaseSummary) *GridRange {
	if p.TimerGrid != nil {
		return p.TimerGrid
	}
	return GridOver(s.Generator.GridSteps(), p.Start, p.Start+p.Duration)
}

// ADExponential returns the modified Anderson–Darling statistic
// A²·(1 + 0.6/n) of x against an exponential distribution whose mean is
// estimated from x (Stephens 1974):
//
//	wᵢ = 1 − exp(−x₍ᵢ₎/x̄)        (x sorted ascending, i = 1…n)
//	A² = −n − (1/n)·Σ (2i−1)·[ln wᵢ + ln(1 − wₙ₊₁₋ᵢ)]
//
// Exponentiality is rejected at the 1 % level when it exceeds
// ADCritical1. Zero gaps count as very small ones; x is not modified.
// It returns +Inf for fewer than two values or a zero mean.
func ADExponential(x []float64) float64 {
	n := len(x)
	if n < 2 {
		return math.Inf(1)
	}
	z := slices.Clone(x)
	slices.Sort(z)
	var mean float64
	for _, v := range z {
		mean += v
	}
	mean /= float64(n)
	if !(mean > 0) {
		return math.Inf(1)
	}
	var sum float64
	for i := 0; i < n; i++ {
		w := -math.Expm1(-z[i] / mean)
		lnW := math.Log(max(w, 1e-300))
		ln1W := -z[n-1-i] / mean // ln(1 − wₙ₊₁₋ᵢ)
		sum += float64(2*i+1) * (lnW + ln1W)
	}
	a2 := -float64(n) - sum/float64(n)
	return a2 * (1 + 0.6/float64(n))
}

// cv is the coefficient of variation (standard deviation ÷ mean).
func cv(x []float64) float64 {
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss/float64(len(x))) / mean
}

// formatPct prints a percentage with up to three significant digits,
// without trailing zeros: 99.2, 0.1, 100.
func formatPct(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	if strings.ContainsAny(s, "e") {
		return fmt.Sprintf("%.2g", v)
	}
	return s
}

// KSDistance is the two-sample Kolmogorov–Smirnov statistic: the largest
// difference between the empirical distribution functions of a and b, in
// [0, 1]. Inputs are not modified.
func KSDistance(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	var i, j int
	var d float64
	for i < len(x) && j < len(y) {
		v := min(x[i], y[j])
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	return d
}
