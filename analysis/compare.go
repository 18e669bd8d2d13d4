package analysis

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// This file compares two builds: A (the base) and B (the candidate), each
// one or more runs made with the same schedule. See docs/compare.md.

// Side is one side of a comparison: A, the base, or B, the candidate. Runs
// holds one or more runs made the same way; interleave them (A B A B …) so
// that drift in the system under test hits both sides alike.
type Side struct {
	Name string
	Runs []RunData
}

// RunData is what Compare needs from one run: its phases in schedule
// order, warm-up phases left out (see RunDataFromSummary).
type RunData struct {
	Phases []PhaseHistograms
}

// PhaseHistograms is one phase of one run.
type PhaseHistograms struct {
	Name string
	// Hist holds the response times of the whole phase, in nanoseconds,
	// with tailgate's geometry (see CheckGeometry). nil means the merge of
	// Intervals.
	Hist *hdr.Histogram
	// Intervals are the phase's response times interval by interval (1 s
	// each, say), in time order and with Hist's geometry. They may be nil:
	// Compare then falls back to coarser methods (see Compare).
	Intervals []*hdr.Histogram
	// Seconds are the phase's per-second rows.
	Seconds []Second
	// Intended, OK and Errors are request counts: due in the phase,
	// answered successfully, completed with an error.
	Intended, OK, Errors int64
	// Duration is the phase's length as run.
	Duration time.Duration
	// Offered and Achieved are rates in requests per second: intended ÷
	// duration and completed (with or without error) ÷ duration.
	Offered, Achieved float64

	// intervals, when set, stands for Intervals already read: from a
	// summary's compressed intervals (RunDataFromSummary), so that no
	// full-size histogram is held per interval, and in tests.
	intervals []sparse
}

// nIntervals is the number of interval histograms.
func (p *PhaseHistograms) nIntervals() int {
	if p.intervals != nil {
		return len(p.intervals)
	}
	return len(p.Intervals)
}

// RunDataFromSummary extracts what Compare needs from a run's summary: the
// non-warm-up phases in order, each with its response-time histogram, its
// per-second rows, its counts and its interval histograms.
//
// intervals maps a phase name to that phase's per-interval response-time
// histograms, in time order (e.g. from Collector.SetIntervalSink); it may
// be nil or miss phases. A phase it does not cover takes the summary's own
// interval histograms (Summary.Intervals) whose span starts in the phase,
// as the per-second rows do; they are decoded straight into the compact
// form the bootstrap uses. If any of those fails to decode or has another
// geometry, the summary's intervals are not used and Compare falls back
// to the per-second rows.
func RunDataFromSummary(s *Summary, intervals map[string][]*hdr.Histogram) RunData {
	var rd RunData
	if s == nil {
		return rd
	}
	var own map[int][]sparse
	for i := range s.Phases {
		p := &s.Phases[i]
		if p.Warmup {
			continue
		}
		pd := PhaseHistograms{
			Name: p.Name, Hist: p.ResponseHist, Intervals: intervals[p.Name],
			Intended: p.Intended, OK: p.OK, Errors: p.Errors, Duration: p.Duration,
			Offered: p.OfferedRate, Achieved: p.AchievedRate,
		}
		if pd.Intervals == nil {
			if own == nil {
				own = summaryIntervals(s)
			}
			pd.intervals = own[i]
		}
		for _, sec := range s.Seconds {
			if sec.Phase == i {
				pd.Seconds = append(pd.Seconds, sec)
			}
		}
		rd.Phases = append(rd.Phases, pd)
	}
	return rd
}

// summaryIntervals decodes s.Intervals and files each under the phase its
// span starts in (by index into s.Phases). An empty string is an interval
// without responses. It returns an empty map if any interval is bad.
func summaryIntervals(s *Summary) map[int][]sparse {
	out := map[int][]sparse{}
	if s.IntervalSpan <= 0 || len(s.Phases) == 0 {
		return out
	}
	for k, enc := range s.Intervals {
		start := time.Duration(k) * s.IntervalSpan
		p := 0
		for i := len(s.Phases) - 1; i > 0; i-- {
			if start >= s.Phases[i].Start {
				p = i
				break
			}
		}
		var sp sparse
		if enc != "" {
			h, err := DecodeHist(enc)
			if err != nil || CheckGeometry(h) != nil {
				return map[int][]sparse{}
			}
			sp = sparseOf(h)
		}
		out[p] = append(out[p], sp)
	}
	return out
}

// CompareMetric names a quantity Compare reports. (Metric names what an
// SLO objective measures.)
type CompareMetric string

// The metrics Compare reports, in report order. Latencies are response
// times (from the intended send) in nanoseconds; error_rate is errors ÷
// completed requests as a fraction (0.01 = 1 %); throughput is completed
// requests per second.
const (
	CompareP50        CompareMetric = "p50"
	CompareP90        CompareMetric = "p90"
	CompareP99        CompareMetric = "p99"
	CompareP999       CompareMetric = "p99.9"
	CompareMax        CompareMetric = "max"
	CompareErrorRate  CompareMetric = "error_rate"
	CompareThroughput CompareMetric = "throughput"
)

// CompareMetrics lists every CompareMetric in report order.
var CompareMetrics = []CompareMetric{CompareP50, CompareP90, CompareP99, CompareP999, CompareMax, CompareErrorRate, CompareThroughput}

var (
	latencyMetrics = []CompareMetric{CompareP50, CompareP90, CompareP99, CompareP999, CompareMax}
	latencyQ       = []float64{0.5, 0.9, 0.99, 0.999, 1}
)

// Latency reports whether m is a response-time metric (in nanoseconds).
func (m CompareMetric) Latency() bool { return m.quantile() > 0 }

// HigherIsBetter reports whether an increase of m is an improvement: true
// for throughput only.
func (m CompareMetric) HigherIsBetter() bool { return m == CompareThroughput }

// quantile is m's quantile in (0, 1]: 1 for max, 0 for non-latency metrics.
func (m CompareMetric) quantile() float64 {
	for i, l := range latencyMetrics {
		if l == m {
			return latencyQ[i]
		}
	}
	return 0
}

// Verdicts of a Delta.
const (
	DeltaBetter = "better"
	DeltaWorse  = "worse"
	DeltaSame   = "~" // no significant difference: the CI contains 0
)

// Delta is how B differs from A in one metric of one phase (or "total",
// the non-warm-up phases together).
type Delta struct {
	Phase  string
	Metric CompareMetric
	// A and B are the metric on each side, every run merged: nanoseconds
	// for latencies, a fraction for error_rate, requests per second for
	// throughput.
	A, B float64
	// Rel is the effect θ: the relative change B/A − 1 (0.12 = 12 %
	// higher), or, when Abs is set, the difference B − A in the metric's
	// unit. Compare sets Abs for error_rate only (0.005 = +0.5 percentage
	// points), since a rate of zero on A has no ratio. NaN when A is zero
	// and B is not.
	Rel float64
	Abs bool
	// CILo and CIHi bound the confidence interval of Rel at
	// Comparison.Conf (95 %); NaN when there is none.
	CILo, CIHi float64
	// Verdict is DeltaSame ("~") when the interval contains 0 (or, with
	// PValue, when p ≥ 1 − Conf); otherwise DeltaWorse or DeltaBetter by
	// the direction of the change and of the metric.
	Verdict string
	// Method says how the interval was obtained, e.g. "block bootstrap
	// over 45 A + 45 B intervals, blocks of 7".
	Method string
	// PValue is the two-sided p-value of a Mann–Whitney U test on the
	// per-run values, when both sides have MinRunsMannWhitney runs or
	// more; NaN otherwise. U is its statistic (see MannWhitney).
	PValue float64
	U      float64
	// ACILo…BCIHi are each side's own order-statistic confidence interval
	// of the quantile (see QuantileCI), which assumes independent samples;
	// NaN for max and non-latency metrics or with too few samples.
	ACILo, ACIHi, BCILo, BCIHi float64
}

// Significant reports whether the verdict is not "~".
func (d Delta) Significant() bool { return d.Verdict == DeltaBetter || d.Verdict == DeltaWorse }

// Comparison is Compare's result.
type Comparison struct {
	// Deltas holds, phase by phase in schedule order and then for "total"
	// (when there are several phases), one Delta per metric in
	// CompareMetrics order. Metrics that could not be measured are left
	// out, with a warning.
	Deltas   []Delta
	Warnings []string
	// RunsA and RunsB count each side's runs; Conf, Resamples and Seed are
	// the options used (defaults filled in).
	RunsA, RunsB int
	Conf         float64
	Resamples    int
	Seed         uint64
}

// CompareOptions tunes Compare. The zero value is usable.
type CompareOptions struct {
	// Resamples is the number of bootstrap resamples; 0 means
	// DefaultResamples.
	Resamples int
	// Seed seeds the resampling: the same inputs and Seed give the same
	// Comparison.
	Seed uint64
	// Conf is the confidence level of the intervals, in (0, 1); 0 means
	// DefaultConfidence (0.95).
	Conf float64
	// BlockLen is the number of consecutive intervals in a bootstrap
	// block; 0 means ⌈√n⌉ for a phase of n intervals.
	BlockLen int
	// Force compares runs that Comparable refuses, turning its reasons into
	// warnings. Phases missing from a run are then left out.
	Force bool
	// Paired resamples the same blocks of intervals (and seconds) on both
	// sides, for runs whose intervals are the same moments: tailgate ab,
	// which splits one schedule between A and B. Noise that hit both sides
	// alike then cancels and the intervals are narrower. It applies where
	// each side has one run and the same number of intervals per phase;
	// elsewhere the sides are resampled independently, with a warning.
	Paired bool
}

// Defaults and limits of Compare.
const (
	DefaultResamples = 2000
	// MaxOfferedDiff is the largest relative difference in offered rate,
	// phase by phase, between runs Comparable accepts.
	MaxOfferedDiff = 0.05
	// MinRunsMannWhitney is the number of runs a side needs for the
	// Mann–Whitney U test on per-run values.
	MinRunsMannWhitney = 5
	// minBlockIntervals is the number of intervals below which block
	// bootstrap intervals are flagged as rough.
	minBlockIntervals = 10
)

// maxTableCells bounds the memory of the bootstrap's prefix tables
// (8-byte cells per side); consecutive intervals are merged into larger
// units when a side would need more. A variable so tests can lower it.
var maxTableCells = 1 << 23

func (o CompareOptions) withDefaults() (CompareOptions, error) {
	if o.Resamples == 0 {
		o.Resamples = DefaultResamples
	}
	if o.Conf == 0 {
		o.Conf = DefaultConfidence
	}
	switch {
	case o.Resamples < 0:
		return o, fmt.Errorf("compare: %d resamples: want a positive number", o.Resamples)
	case !(o.Conf > 0 && o.Conf < 1):
		return o, fmt.Errorf("compare: confidence %v: want a level in (0, 1), e.g. 0.95", o.Conf)
	case o.BlockLen < 0:
		return o, fmt.Errorf("compare: block length %d: want a positive number of intervals", o.BlockLen)
	}
	return o, nil
}

// Compare measures how B differs from A, phase by phase and in total, for
// every CompareMetric, with a confidence interval for each difference and
// a verdict: "~" when the interval contains 0, else "worse" or "better".
// docs/compare.md explains the method at length.
//
// The effect is θ = m(B)/m(A) − 1 for latencies and throughput, and the
// difference m(B) − m(A) for the error rate (see Delta), m measured on the
// merge of a side's runs. Its interval is a percentile bootstrap: each
// side is resampled (independently, unless opt.Paired), θ* computed for
// each of opt.Resamples resamples, and the interval read between the
// (1−Conf)/2 and (1+Conf)/2 quantiles of θ*. Latency under load is
// autocorrelated, so single requests are never resampled. What is:
//
//   - A side with several runs: its runs, drawn with replacement and
//     merged (a bootstrap over runs, which captures run-to-run variation).
//   - A side with one run and interval histograms (≥ 2 per phase): blocks
//     of BlockLen (default ⌈√n⌉) consecutive intervals, drawn from uniform
//     starts with wrap-around until the resample has n intervals (a
//     circular block bootstrap); the drawn histograms are merged and m read
//     from the merge.
//   - Both sides with one run and no interval histograms: blocks of
//     per-second rows. For p50, p90, p99 and max the side's value is scaled
//     by the resample's completion-weighted mean of that per-second column
//     over its full-sample mean, an approximation. p99.9 has no column and
//     falls back to each side's order-statistic interval at level √Conf,
//     combined into [loB/hiA − 1, hiB/loA − 1] (independent samples
//     assumed), as does any latency metric with nothing to resample.
//
// Error rate and throughput are resampled the same way, over runs or over
// blocks of per-second rows (their counts are exact per second), or else
// get Agresti–Caffo (error rate) and Poisson (throughput) intervals, which
// assume independent requests. The total is stratified: each phase is
// resampled on its own.
//
// Each side's replicate is centred on its point estimate and its deviation
// scaled by √(n/(n−L)) (n units in blocks of L) or √(R/(R−1)) (R runs),
// the bootstrap's variance bias; the percentile interval is then
// stretched by t_ν/z for few effective blocks (see widen).
//
// With MinRunsMannWhitney (5) runs or more on each side, a Mann–Whitney U
// test on the per-run values is added, and a difference is significant
// only if the interval excludes 0 and p < 1 − Conf.
//
// A resample never exceeds the observed max, so max gets an interval only
// from several runs a side; with one run its verdict is always "~".
//
// Compare refuses runs that are not Comparable unless opt.Force is set.
// The result depends only on the inputs and opt.Seed.
func Compare(a, b Side, opt CompareOptions) (Comparison, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{RunsA: len(a.Runs), RunsB: len(b.Runs), Conf: opt.Conf, Resamples: opt.Resamples, Seed: opt.Seed}
	if len(a.Runs) == 0 || len(b.Runs) == 0 {
		return c, &IncomparableError{Problems: comparability(a, b)}
	}
	if probs := comparability(a, b); len(probs) > 0 {
		if !opt.Force {
			return c, &IncomparableError{Problems: probs}
		}
		for _, p := range probs {
			c.Warnings = append(c.Warnings, p+" (compared anyway: forced)")
		}
	}
	cmp := &comparer{opt: opt, names: commonPhases(a, b)}
	if len(cmp.names) == 0 {
		return c, errors.New("compare: no phase is in every run of both sides")
	}
	for _, n := range phaseNames(a.Runs[0]) {
		if !slices.Contains(cmp.names, n) {
			cmp.warn("phase %q is not in every run: left out", n)
		}
	}
	for i, s := range [2]Side{a, b} {
		sd := &sideData{label: sideLabel(s, [2]string{"A", "B"}[i])}
		for r := range s.Runs {
			row := make([]*PhaseHistograms, len(cmp.names))
			for p, n := range cmp.names {
				row[p] = s.Runs[r].phase(n)
			}
			sd.ph = append(sd.ph, row)
		}
		cmp.sides[i] = sd
	}
	if min(len(a.Runs), len(b.Runs)) > 1 && min(len(a.Runs), len(b.Runs)) < MinRunsMannWhitney {
		cmp.warn("%d and %d runs: the Mann–Whitney test needs %d runs a side", len(a.Runs), len(b.Runs), MinRunsMannWhitney)
	}
	sets := make([][]int, 0, len(cmp.names)+1)
	labels := make([]string, 0, len(cmp.names)+1)
	for p, n := range cmp.names {
		sets = append(sets, []int{p})
		labels = append(labels, n)
	}
	if len(cmp.names) > 1 {
		all := make([]int, len(cmp.names))
		for p := range all {
			all[p] = p
		}
		sets = append(sets, all)
		labels = append(labels, "total")
	}
	for k, set := range sets {
		// One stream per phase and family, so that adding a metric or a
		// phase does not shift the others' resamples.
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(2*k)))
		c.Deltas = append(c.Deltas, cmp.latency(labels[k], set, rng)...)
		rng = rand.New(rand.NewPCG(opt.Seed, uint64(2*k+1)))
		c.Deltas = append(c.Deltas, cmp.counts(labels[k], set, rng)...)
	}
	if cmp.unpaired {
		cmp.warn("paired resampling needs one run a side and the same number of intervals in each phase: elsewhere the sides were resampled independently")
	}
	c.Warnings = append(c.Warnings, cmp.warnings...)
	return c, nil
}

// commonPhases are the phase names of A's first run that every run of
// both sides has, in order.
func commonPhases(a, b Side) []string {
	var names []string
	for _, p := range a.Runs[0].Phases {
		if slices.Contains(names, p.Name) {
			continue
		}
		ok := true
		for _, s := range [2]Side{a, b} {
			for r := range s.Runs {
				ok = ok && s.Runs[r].phase(p.Name) != nil
			}
		}
		if ok {
			names = append(names, p.Name)
		}
	}
	return names
}

type comparer struct {
	opt      CompareOptions
	names    []string
	sides    [2]*sideData
	warnings []string
	unpaired bool // Paired was asked for but not possible somewhere
}

func (c *comparer) warn(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !slices.Contains(c.warnings, s) {
		c.warnings = append(c.warnings, s)
	}
}
