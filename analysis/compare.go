package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// IncomparableError is Compare's (and Comparable's) refusal: the runs
// differ in ways that would make any difference meaningless. Problems
// says how, one reason each.
type IncomparableError struct {
	Problems []string
}

func (e *IncomparableError) Error() string {
	return "runs are not comparable: " + strings.Join(e.Problems, "; ")
}

// Comparable reports why runs a and b cannot be compared, or nil:
//
//   - a side has no runs, or a run has no phases;
//   - phase names or their order differ between any two runs;
//   - a phase's offered rate in any run differs by more than
//     MaxOfferedDiff (5 %) from A's first run, and by more than Poisson
//     counting noise explains (see countingNoise);
//   - a histogram does not have tailgate's geometry (CheckGeometry).
//
// The error is an *IncomparableError.
func Comparable(a, b Side) error {
	if p := comparability(a, b); len(p) > 0 {
		return &IncomparableError{Problems: p}
	}
	return nil
}

func phaseNames(r RunData) []string {
	names := make([]string, len(r.Phases))
	for i := range r.Phases {
		names[i] = r.Phases[i].Name
	}
	return names
}

func (r *RunData) phase(name string) *PhaseHistograms {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

func sideLabel(s Side, def string) string {
	if s.Name != "" {
		return s.Name
	}
	return def
}

func comparability(a, b Side) []string {
	var probs []string
	sides := [2]Side{a, b}
	labels := [2]string{sideLabel(a, "A"), sideLabel(b, "B")}
	for i, s := range sides {
		if len(s.Runs) == 0 {
			probs = append(probs, fmt.Sprintf("%s has no runs", labels[i]))
		}
		for r := range s.Runs {
			if len(s.Runs[r].Phases) == 0 {
				probs = append(probs, fmt.Sprintf("%s run %d has no phases", labels[i], r+1))
			}
		}
	}
	if len(probs) > 0 {
		return probs
	}
	ref := phaseNames(a.Runs[0])
	seen := map[string]bool{}
	for _, n := range ref {
		if seen[n] {
			probs = append(probs, fmt.Sprintf("phase name %q appears twice", n))
		}
		seen[n] = true
	}
	for i, s := range sides {
		for r, run := range s.Runs {
			if names := phaseNames(run); !slices.Equal(names, ref) {
				probs = append(probs, fmt.Sprintf("%s run %d has phases [%s] but %s run 1 has [%s]",
					labels[i], r+1, strings.Join(names, ", "), labels[0], strings.Join(ref, ", ")))
			}
		}
	}
	// Offered rates, phase by phase, against A's first run.
	for _, p := range a.Runs[0].Phases {
		for i, s := range sides {
			for r, run := range s.Runs {
				q := run.phase(p.Name)
				if q == nil || (i == 0 && r == 0) {
					continue
				}
				if d := relDiff(p.Offered, q.Offered); d > MaxOfferedDiff && !countingNoise(&p, q) {
					probs = append(probs, fmt.Sprintf("phase %q: %s run %d offered %s/s, %s%% off %s run 1's %s/s (at most %s%%)",
						p.Name, labels[i], r+1, formatNum(q.Offered), formatPct(100*d), labels[0], formatNum(p.Offered), formatPct(100*MaxOfferedDiff)))
				}
			}
		}
	}
	for i, s := range sides {
		for r, run := range s.Runs {
			for _, p := range run.Phases {
				if err := phaseGeometry(&p); err != nil {
					probs = append(probs, fmt.Sprintf("%s run %d phase %q: %v", labels[i], r+1, p.Name, err))
				}
			}
		}
	}
	return probs
}

// countingNoise reports whether the offered rates of a and b differ by no
// more than four standard deviations of Poisson counting noise,
// √(rₐ/Tₐ + r_b/T_b) for rates r over durations T: Poisson arrivals, or
// tailgate ab's coin splitting one schedule, make short phases' counts
// differ by more than 5 % with nothing changed.
func countingNoise(a, b *PhaseHistograms) bool {
	ta, tb := a.Duration.Seconds(), b.Duration.Seconds()
	if ta <= 0 || tb <= 0 {
		return false
	}
	return math.Abs(a.Offered-b.Offered) <= 4*math.Sqrt(a.Offered/ta+b.Offered/tb)
}

func phaseGeometry(p *PhaseHistograms) error {
	if p.Hist != nil {
		if err := CheckGeometry(p.Hist); err != nil {
			return err
		}
	}
	for j, h := range p.Intervals {
		if h == nil {
			return fmt.Errorf("interval %d has no histogram", j+1)
		}
		if err := CheckGeometry(h); err != nil {
			return fmt.Errorf("interval %d: %w", j+1, err)
		}
	}
	return nil
}

// relDiff is |y − x| ÷ x: 0 when both are 0, +Inf when only x is.
func relDiff(x, y float64) float64 {
	if x == y {
		return 0
	}
	if x == 0 {
		return math.Inf(1)
	}
	return math.Abs(y-x) / math.Abs(x)
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

// sideData is one side's phases aligned to comparer.names.
type sideData struct {
	label string
	ph    [][]*PhaseHistograms // run → phase
	tabs  [2]*histTables       // by unitKind (kindIntervals, kindWhole), built on first use
}

func (s *sideData) runs() int { return len(s.ph) }

// all reports whether f holds for the phases of set in every run of s.
func (s *sideData) all(set []int, f func(*PhaseHistograms) bool) bool {
	for _, row := range s.ph {
		for _, p := range set {
			if !f(row[p]) {
				return false
			}
		}
	}
	return true
}

// all reports whether f holds for the phases of set in every run of both
// sides.
func (c *comparer) all(set []int, f func(*PhaseHistograms) bool) bool {
	return c.sides[0].all(set, f) && c.sides[1].all(set, f)
}

func (c *comparer) mannWhitney() bool {
	return c.sides[0].runs() >= MinRunsMannWhitney && c.sides[1].runs() >= MinRunsMannWhitney
}

// mergeHist merges the phases of set of runs (nil: every run) into one
// histogram with tailgate's geometry, and returns how many values were
// dropped (beyond its range). A single histogram is returned as it is.
func (s *sideData) mergeHist(set []int, runs []int) (*hdr.Histogram, int64) {
	if runs == nil {
		for r := range s.ph {
			runs = append(runs, r)
		}
	}
	var hs []*hdr.Histogram
	for _, r := range runs {
		for _, p := range set {
			if ph := s.ph[r][p]; ph.Hist != nil {
				hs = append(hs, ph.Hist)
			} else {
				hs = append(hs, ph.Intervals...)
			}
		}
	}
	if len(hs) == 1 && hs[0] != nil {
		return hs[0], 0
	}
	h := NewHistogram()
	var dropped int64
	for _, x := range hs {
		if x != nil {
			dropped += h.Merge(x)
		}
	}
	return h, dropped
}

// mergeSparse is mergeHist read as a sparse histogram. Phases whose
// intervals were given already read (PhaseHistograms.intervals) and have no
// histogram are merged in that form.
func (s *sideData) mergeSparse(set []int, runs []int) (sparse, int64) {
	if runs == nil {
		for r := range s.ph {
			runs = append(runs, r)
		}
	}
	light := false
	for _, r := range runs {
		for _, p := range set {
			ph := s.ph[r][p]
			light = light || (ph.Hist == nil && ph.intervals != nil)
		}
	}
	if !light {
		h, dropped := s.mergeHist(set, runs)
		return sparseOf(h), dropped
	}
	var parts []sparse
	for _, r := range runs {
		for _, p := range set {
			switch ph := s.ph[r][p]; {
			case ph.Hist != nil:
				parts = append(parts, sparseOf(ph.Hist))
			case ph.intervals != nil:
				parts = append(parts, ph.intervals...)
			default:
				for _, h := range ph.Intervals {
					parts = append(parts, sparseOf(h))
				}
			}
		}
	}
	return mergeSparse(parts), 0
}

// mergeSparse adds sparse histograms of one geometry.
func mergeSparse(parts []sparse) sparse {
	type bucket struct{ lo, n int64 }
	m := map[int64]bucket{}
	for _, p := range parts {
		for i, v := range p.v {
			b := m[v]
			b.lo, b.n = p.lo[i], b.n+p.n[i]
			m[v] = b
		}
	}
	var sp sparse
	for v := range m {
		sp.v = append(sp.v, v)
	}
	slices.Sort(sp.v)
	for _, v := range sp.v {
		b := m[v]
		sp.lo, sp.n = append(sp.lo, b.lo), append(sp.n, b.n)
		sp.total += b.n
	}
	return sp
}

// ratio is b/a − 1; 0 when both are 0 and NaN when only a is.
func ratio(a, b float64) float64 {
	if a == 0 {
		if b == 0 {
			return 0
		}
		return math.NaN()
	}
	return b/a - 1
}

type unitKind int

const (
	kindIntervals unitKind = iota // interval histograms, in blocks
	kindWhole                     // whole-phase histograms or counts: bootstrap over runs
)

func (c *comparer) latency(label string, set []int, rng *rand.Rand) []Delta {
	var merged [2]sparse
	for i, s := range c.sides {
		h, dropped := s.mergeSparse(set, nil)
		if dropped > 0 {
			c.warn("%s: %d values of %s beyond tailgate's histogram range were dropped", label, dropped, s.label)
		}
		if h.total == 0 {
			c.warn("%s: %s has no responses: latency not compared", label, s.label)
			return nil
		}
		merged[i] = h
	}
	conf := c.opt.Conf
	ds := make([]Delta, len(latencyMetrics))
	for i, m := range latencyMetrics {
		q := latencyQ[i]
		d := newDelta(label, m)
		d.A, d.B = float64(merged[0].value(q)), float64(merged[1].value(q))
		d.Rel = ratio(d.A, d.B)
		if q < 1 {
			if lo, hi, ok := merged[0].quantileCI(q, conf); ok {
				d.ACILo, d.ACIHi = float64(lo), float64(hi)
			}
			if lo, hi, ok := merged[1].quantileCI(q, conf); ok {
				d.BCILo, d.BCIHi = float64(lo), float64(hi)
			}
			for j, s := range c.sides {
				if n := merged[j].total; n < int64(MinSamples(q)) {
					c.warn("%s: %s has %d responses, fewer than the %d that %s needs: read it with care",
						label, s.label, n, MinSamples(q), QuantileLabel(q))
				}
			}
		}
		ds[i] = d
	}
	if c.mannWhitney() {
		var per [2][]sparse
		for j, s := range c.sides {
			for r := range s.ph {
				if h, _ := s.mergeSparse(set, []int{r}); h.total > 0 {
					per[j] = append(per[j], h)
				}
			}
		}
		for i, q := range latencyQ {
			var v [2][]float64
			for j := range per {
				for _, h := range per[j] {
					v[j] = append(v[j], float64(h.value(q)))
				}
			}
			ds[i].U, ds[i].PValue = MannWhitney(v[0], v[1])
		}
	}

	// Each side is resampled over its runs when it has several, else over
	// blocks of its intervals; without intervals, over blocks of its
	// per-second rows (an approximation) or not at all.
	multi := c.sides[0].runs() > 1 && c.sides[1].runs() > 1
	histOK := true
	for _, s := range c.sides {
		histOK = histOK && (s.runs() > 1 || s.all(set, func(p *PhaseHistograms) bool { return p.nIntervals() >= 2 }))
	}
	var boots *boot
	var method string
	switch {
	case histOK:
		var t [2]*histTables
		for j, s := range c.sides {
			kind := kindIntervals
			if s.runs() > 1 {
				kind = kindWhole
			}
			t[j] = c.tables(s, kind)
		}
		boots = c.bootHist(t, set, rng, ds)
		method = c.describe([2]*layout{t[0].lay, t[1].lay}, [2]int{t[0].group, t[1].group}, set, "intervals", label) + pairedNote(boots)
	case c.all(set, func(p *PhaseHistograms) bool { return len(latencyRows(p)) >= 2 }):
		c.warn("%s: no interval histograms: latency intervals approximated from per-second rows", label)
		var lay [2]*layout
		boots, lay = c.bootLatencyRows(set, rng, ds)
		method = c.describe(lay, [2]int{1, 1}, set, "per-second %s values", label) + pairedNote(boots) + " (approximation)"
	}
	for i, q := range latencyQ {
		d := &ds[i]
		switch {
		case q == 1 && !multi:
			d.Method = "none: a single run's max has no reliable interval (compare several runs)"
		case boots != nil && boots.theta[i] != nil:
			d.Method = method
			if strings.Contains(method, "%s") {
				d.Method = fmt.Sprintf(method, d.Metric)
			}
			d.CILo, d.CIHi = c.interval(boots, i, d, label)
		case q < 1:
			d.CILo, d.CIHi, d.Method = c.orderStatCI(merged, q, label)
		default:
			d.Method = "none"
		}
		c.finish(d)
	}
	return ds
}

func newDelta(phase string, m CompareMetric) Delta {
	nan := math.NaN()
	return Delta{Phase: phase, Metric: m, PValue: nan, U: nan, CILo: nan, CIHi: nan, ACILo: nan, ACIHi: nan, BCILo: nan, BCIHi: nan}
}

// finish appends the Mann–Whitney result to the method and sets the
// verdict.
func (c *comparer) finish(d *Delta) {
	if !math.IsNaN(d.PValue) {
		d.Method += fmt.Sprintf("; Mann–Whitney U=%s, p=%s", formatNum(d.U), formatP(d.PValue))
	}
	d.Verdict = c.verdict(d)
}

func latencyRows(p *PhaseHistograms) []Second {
	var rows []Second
	for _, s := range p.Seconds {
		if s.Completed > 0 {
			rows = append(rows, s)
		}
	}
	return rows
}

// orderStatCI combines each side's order-statistic interval at level
// √conf into an interval for θ that holds with probability ≥ conf if the
// samples are independent.
func (c *comparer) orderStatCI(merged [2]sparse, q float64, label string) (lo, hi float64, method string) {
	method = "order-statistic intervals of each side (assumes independent samples)"
	c2 := math.Sqrt(c.opt.Conf)
	loA, hiA, okA := merged[0].quantileCI(q, c2)
	loB, hiB, okB := merged[1].quantileCI(q, c2)
	if !okA || !okB || loA <= 0 {
		c.warn("%s: too few responses for an interval of %s", label, QuantileLabel(q))
		return math.NaN(), math.NaN(), method
	}
	return float64(loB)/float64(hiA) - 1, float64(hiB)/float64(loA) - 1, method
}

func formatP(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// percentileCI returns the (1−conf)/2 and (1+conf)/2 quantiles of the
// bootstrap replicates x (sorted in place); NaN when fewer than half the
// resamples gave a value.
func (c *comparer) percentileCI(x []float64, label string, m CompareMetric) (lo, hi float64) {
	if len(x) < 2 || len(x) < c.opt.Resamples/2 {
		c.warn("%s: %s: too few usable resamples for an interval", label, m)
		return math.NaN(), math.NaN()
	}
	slices.Sort(x)
	return quantileSorted(x, (1-c.opt.Conf)/2), quantileSorted(x, (1+c.opt.Conf)/2)
}

// quantileSorted interpolates linearly between order statistics (R's
// type 7).
func quantileSorted(x []float64, p float64) float64 {
	h := p * float64(len(x)-1)
	i := int(h)
	if i >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[i] + (h-float64(i))*(x[i+1]-x[i])
}

// verdict is "~" unless the interval excludes 0 (and, with a p-value,
// p < 1 − Conf); then worse or better by the direction.
func (c *comparer) verdict(d *Delta) string {
	if math.IsNaN(d.CILo) || math.IsNaN(d.CIHi) || (d.CILo <= 0 && d.CIHi >= 0) {
		return DeltaSame
	}
	if !math.IsNaN(d.PValue) && d.PValue >= 1-c.opt.Conf {
		return DeltaSame
	}
	if (d.CILo > 0) != d.Metric.HigherIsBetter() {
		return DeltaWorse
	}
	return DeltaBetter
}

func pairedNote(b *boot) string {
	if b != nil && b.paired {
		return ", paired"
	}
	return ""
}

// --- resampling plans ---

// segment is units [from, to) of one stratum.
type segment struct{ st, from, to int32 }

// layout says how to resample one side: stratum r·phases+p (run r, phase
// p) has n units and blocks of block units.
type layout struct {
	runs, phases int
	n, block     []int
}

func newLayout(runs, phases int) *layout {
	return &layout{runs: runs, phases: phases, n: make([]int, runs*phases), block: make([]int, runs*phases)}
}

// setBlock sets stratum s's unit count n and its block length: blockLen
// intervals (0: ⌈√orig⌉ for orig intervals), in units of g intervals, at
// most half the units.
func (l *layout) setBlock(s, n, orig, g, blockLen int) {
	l.n[s] = n
	if blockLen == 0 {
		blockLen = int(math.Ceil(math.Sqrt(float64(orig))))
	}
	l.block[s] = max(min((blockLen+g-1)/g, n/2), 1)
}

// draw returns one resample's segments for the phases of set. With
// several runs, the runs are drawn with replacement, each whole. With
// one, each stratum is drawn in blocks of consecutive units from uniform
// random starts, wrapping around at the end, until the stratum's unit
// count is reached.
func (l *layout) draw(rng *rand.Rand, set []int, segs []segment) []segment {
	segs = segs[:0]
	for k := 0; k < l.runs; k++ {
		r := k
		if l.runs > 1 {
			r = rng.IntN(l.runs)
		}
		for _, p := range set {
			s := r*l.phases + p
			n, b := l.n[s], l.block[s]
			if n <= 1 || l.runs > 1 {
				segs = append(segs, segment{int32(s), 0, int32(n)})
				continue
			}
			for got := 0; got < n; {
				m := min(b, n-got)
				i := rng.IntN(n)
				if i+m <= n {
					segs = append(segs, segment{int32(s), int32(i), int32(i + m)})
				} else {
					segs = append(segs, segment{int32(s), int32(i), int32(n)}, segment{int32(s), 0, int32(i + m - n)})
				}
				got += m
			}
		}
	}
	return segs
}

// full returns the segments of the whole sample: every unit of every run
// once.
func (l *layout) full(set []int) []segment {
	var segs []segment
	for r := 0; r < l.runs; r++ {
		for _, p := range set {
			s := r*l.phases + p
			segs = append(segs, segment{int32(s), 0, int32(l.n[s])})
		}
	}
	return segs
}

// inflation is the factor f by which a side's bootstrap deviations are
// scaled to remove the bootstrap's downward bias in variance. For a mean
// of n independent units resampled in circular blocks of L, the bootstrap
// variance is (σ²/n)(1 − L/n), so f = √(n/(n−L)); over R runs (L = 1) it
// is √(R/(R−1)). With several strata the largest factor is used.
func (l *layout) inflation(set []int) float64 {
	if l.runs > 1 {
		return math.Sqrt(float64(l.runs) / float64(l.runs-1))
	}
	f2 := 1.0
	for _, p := range set {
		if n, b := l.n[p], l.block[p]; n > 1 && b < n {
			f2 = max(f2, float64(n)/float64(n-b))
		}
	}
	return math.Sqrt(f2)
}

// boot holds one family's bootstrap: per delta the replicates θ*, and per
// side the variance of its (transformed) replicates and its degrees of
// freedom, for the small-sample widening (see widen).
type boot struct {
	theta  [][]float64
	vars   [2][]float64
	df     [2]float64
	paired bool // both sides drew the same blocks
}

// sameShape reports whether l and o resample alike: one run each, and for
// every phase of set the same units in the same blocks.
func (l *layout) sameShape(o *layout, set []int) bool {
	if l.runs != 1 || o.runs != 1 || l.phases != o.phases {
		return false
	}
	for _, p := range set {
		if l.n[p] != o.n[p] || l.block[p] != o.block[p] {
			return false
		}
	}
	return true
}

// df is the side's degrees of freedom for the widening: R − 1 over R
// runs; else Bartlett's 1.5·n/L for n units in blocks of L, summed over
// the strata of set.
func (l *layout) df(set []int) float64 {
	if l.runs > 1 {
		return float64(l.runs - 1)
	}
	var nu float64
	for _, p := range set {
		if n, b := l.n[p], l.block[p]; n > 1 {
			nu += 1.5 * float64(n) / float64(b)
		}
	}
	return nu
}

// bootstrap draws opt.Resamples resamples of each side and returns, per
// delta, the replicates θ*. stat(j, segs, out) sets side j's statistics
// of a resample (NaN when undefined); the full sample's are computed the
// same way. Each side's replicate is centred on its point estimate and its
// deviation scaled by the side's inflation f: ŝ·(s*/s̄)^f for ratios,
// ŝ + f·(s* − s̄) for differences (Delta.Abs).
func (c *comparer) bootstrap(lay [2]*layout, set []int, rng *rand.Rand, ds []Delta, stat func(j int, segs []segment, out []float64)) *boot {
	var ref, v [2][]float64
	var f [2]float64
	bt := &boot{theta: make([][]float64, len(ds))}
	var sum, sum2 [2][]float64
	var cnt [2][]int
	for j := range lay {
		ref[j], v[j] = make([]float64, len(ds)), make([]float64, len(ds))
		sum[j], sum2[j], cnt[j] = make([]float64, len(ds)), make([]float64, len(ds)), make([]int, len(ds))
		stat(j, lay[j].full(set), ref[j])
		f[j] = lay[j].inflation(set)
		bt.df[j] = lay[j].df(set)
	}
	point := func(d *Delta, j int) float64 {
		if j == 0 {
			return d.A
		}
		return d.B
	}
	paired := c.opt.Paired && lay[0].sameShape(lay[1], set)
	bt.paired = paired
	if c.opt.Paired && !paired {
		c.unpaired = true
	}
	var segs [2][]segment
	for range c.opt.Resamples {
		for j := range lay {
			if paired && j == 1 {
				segs[1] = append(segs[1][:0], segs[0]...)
			} else {
				segs[j] = lay[j].draw(rng, set, segs[j])
			}
			stat(j, segs[j], v[j])
		}
		for i := range ds {
			d := &ds[i]
			var s, g [2]float64
			for j := range s {
				if d.Abs {
					s[j] = point(d, j) + f[j]*(v[j][i]-ref[j][i])
					g[j] = s[j]
				} else {
					s[j] = point(d, j) * math.Pow(v[j][i]/ref[j][i], f[j])
					g[j] = math.Log(s[j])
				}
			}
			var th float64
			if d.Abs {
				th = s[1] - s[0]
			} else {
				th = s[1]/s[0] - 1
			}
			if math.IsNaN(th) || math.IsInf(th, 0) {
				continue
			}
			bt.theta[i] = append(bt.theta[i], th)
			for j := range g {
				sum[j][i] += g[j]
				sum2[j][i] += g[j] * g[j]
				cnt[j][i]++
			}
		}
	}
	for j := range bt.vars {
		bt.vars[j] = make([]float64, len(ds))
		for i := range ds {
			if n := float64(cnt[j][i]); n > 1 {
				m := sum[j][i] / n
				bt.vars[j][i] = max(sum2[j][i]/n-m*m, 0)
			}
		}
	}
	return bt
}

// interval is delta i's percentile interval from b, widened for small
// samples.
func (c *comparer) interval(b *boot, i int, d *Delta, label string) (lo, hi float64) {
	lo, hi = c.percentileCI(b.theta[i], label, d.Metric)
	if math.IsNaN(lo) {
		return lo, hi
	}
	va, vb := b.vars[0][i], b.vars[1][i]
	if va+vb == 0 {
		return lo, hi
	}
	if b.paired {
		return widen(lo, hi, b.df[0], c.opt.Conf, d.Abs)
	}
	// Welch–Satterthwaite degrees of freedom of the two sides together.
	den := 0.0
	if b.df[0] > 0 {
		den += va * va / b.df[0]
	}
	if b.df[1] > 0 {
		den += vb * vb / b.df[1]
	}
	if den == 0 {
		return lo, hi
	}
	return widen(lo, hi, (va+vb)*(va+vb)/den, c.opt.Conf, d.Abs)
}

// widen stretches a bootstrap percentile interval [lo, hi] about its
// centre by t_ν/z, the ratio of the Student t quantile with ν degrees of
// freedom to the normal quantile at the same level: a bootstrap from few
// effectively independent blocks understates the spread as a z interval
// with an estimated variance does. Ratios (abs false) are stretched on
// the log scale of 1 + θ.
func widen(lo, hi, nu, conf float64, abs bool) (float64, float64) {
	p := (1 + conf) / 2
	k := studentQuantile(p, nu) / (math.Sqrt2 * math.Erfinv(conf))
	if !(k > 1) {
		return lo, hi
	}
	g, gi := func(x float64) float64 { return x }, func(x float64) float64 { return x }
	if !abs {
		g, gi = math.Log1p, math.Expm1
	}
	gl, gh := g(lo), g(hi)
	mid := (gl + gh) / 2
	return gi(mid - k*(mid-gl)), gi(mid + k*(gh-mid))
}

// studentQuantile is the p-quantile (p > ½) of Student's t distribution
// with nu > 0 degrees of freedom, by bisection on its distribution
// function.
func studentQuantile(p, nu float64) float64 {
	if !(nu > 0) || !(p > 0.5 && p < 1) {
		return math.NaN()
	}
	if nu > 1e7 {
		return math.Sqrt2 * math.Erfinv(2*p-1)
	}
	lo, hi := 0.0, 1.0
	for studentCDF(hi, nu) < p {
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for range 64 {
		mid := (lo + hi) / 2
		if studentCDF(mid, nu) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// studentCDF is P(T ≤ t) for t ≥ 0: 1 − ½·I_x(ν/2, ½) with x = ν/(ν+t²).
func studentCDF(t, nu float64) float64 {
	return 1 - 0.5*regIncBeta(nu/(nu+t*t), nu/2, 0.5)
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by
// its continued fraction (Lentz's method).
func regIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x > (a+1)/(a+b+2) {
		return 1 - regIncBeta(1-x, b, a)
	}
	const tiny = 1e-300
	f, cc, dd := 1.0, 1.0, 0.0
	for i := 0; i <= 400; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		}
		dd = 1 + num*dd
		if math.Abs(dd) < tiny {
			dd = tiny
		}
		dd = 1 / dd
		cc = 1 + num/cc
		if math.Abs(cc) < tiny {
			cc = tiny
		}
		f *= cc * dd
		if math.Abs(1-cc*dd) < 1e-12 {
			break
		}
	}
	return front * (f - 1) / a
}

// --- histogram resampling ---

// histTables let a resample's quantiles be read without merging
// histograms. grid holds every distinct value (highest equivalent, as
// hdr reports values) recorded on the side; for stratum s with n units,
// tab[s][j·U + u] counts the values ≤ grid[u] in units 0…j−1 (U =
// len(grid)). A resample's count of values ≤ grid[u] is then a sum over its
// segments of two table cells, and its quantiles are found by binary
// search over u. The results equal hdr's Merge followed by ValueAt (or
// Max).
type histTables struct {
	grid  []int64
	tab   [][]int64
	top   [][]int32 // stratum → unit → grid index of its largest value (−1: empty)
	lay   *layout
	group int // intervals per unit
}

func (c *comparer) tables(s *sideData, kind unitKind) *histTables {
	if t := s.tabs[kind]; t != nil {
		return t
	}
	P := len(c.names)
	units := make([][]sparse, s.runs()*P) // stratum → interval (or whole phase)
	for r, row := range s.ph {
		for p, ph := range row {
			st := r*P + p
			switch {
			case kind == kindIntervals:
				units[st] = ph.intervals
				if units[st] == nil {
					for _, h := range ph.Intervals {
						units[st] = append(units[st], sparseOf(h))
					}
				}
			default:
				sp, _ := s.mergeSparse([]int{p}, []int{r})
				units[st] = []sparse{sp}
			}
		}
	}
	t := &histTables{lay: newLayout(s.runs(), P), group: 1}
	for _, us := range units {
		for _, u := range us {
			t.grid = append(t.grid, u.v...)
		}
	}
	slices.Sort(t.grid)
	t.grid = slices.Compact(t.grid)
	U := max(len(t.grid), 1)
	// Merge consecutive intervals into units of g when the tables would
	// be too large.
	cells := func(g int) int {
		n := 0
		for _, us := range units {
			n += ((len(us)+g-1)/g + 1) * U
		}
		return n
	}
	maxN := 0
	for _, us := range units {
		maxN = max(maxN, len(us))
	}
	for t.group < maxN && cells(t.group) > maxTableCells {
		t.group++
	}
	if t.group > 1 {
		c.warn("%s: %d intervals merged per bootstrap unit to bound memory", s.label, t.group)
	}
	dense := make([]int64, U)
	t.tab = make([][]int64, len(units))
	t.top = make([][]int32, len(units))
	for st, us := range units {
		n := (len(us) + t.group - 1) / t.group
		t.lay.setBlock(st, n, len(us), t.group, c.opt.BlockLen)
		tab := make([]int64, (n+1)*U)
		t.top[st] = make([]int32, n)
		for j := 0; j < n; j++ {
			t.top[st][j] = -1
			for _, u := range us[j*t.group : min((j+1)*t.group, len(us))] {
				// u.v ascends: walk the grid alongside it.
				g := 0
				for k, v := range u.v {
					g += sort.Search(len(t.grid)-g, func(i int) bool { return t.grid[g+i] >= v })
					dense[g] += u.n[k]
				}
			}
			prev, row := tab[j*U:(j+1)*U], tab[(j+1)*U:(j+2)*U]
			var run int64
			for k := range dense {
				if dense[k] > 0 {
					t.top[st][j] = int32(k)
				}
				run += dense[k]
				dense[k] = 0
				row[k] = prev[k] + run
			}
		}
		t.tab[st] = tab
	}
	s.tabs[kind] = t
	return t
}

// count is the number of values ≤ grid[u] in the segments.
func (t *histTables) count(segs []segment, u int) int64 {
	U := len(t.grid)
	var n int64
	for _, sg := range segs {
		tab := t.tab[sg.st]
		n += tab[int(sg.to)*U+u] - tab[int(sg.from)*U+u]
	}
	return n
}

// values sets out[i] to the merged segments' value at quantile qs[i]
// (ascending; 1 means the max), as ValueAt would read it from their merged
// histogram; NaN when the segments hold no values.
func (t *histTables) values(segs []segment, qs []float64, out []float64) {
	U := len(t.grid)
	var total int64
	if U > 0 {
		total = t.count(segs, U-1)
	}
	if total == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	lo := 0
	for i, q := range qs {
		if q >= 1 {
			top := int32(-1)
			for _, sg := range segs {
				for _, k := range t.top[sg.st][sg.from:sg.to] {
					top = max(top, k)
				}
			}
			out[i] = float64(t.grid[top])
			continue
		}
		rank := Rank(q, total)
		l, h := lo, U-1 // count(U−1) = total ≥ rank
		for l < h {
			m := int(uint(l+h) >> 1)
			if t.count(segs, m) >= rank {
				h = m
			} else {
				l = m + 1
			}
		}
		out[i] = float64(t.grid[l])
		lo = l
	}
}

func (c *comparer) bootHist(t [2]*histTables, set []int, rng *rand.Rand, ds []Delta) *boot {
	return c.bootstrap([2]*layout{t[0].lay, t[1].lay}, set, rng, ds, func(j int, segs []segment, out []float64) {
		t[j].values(segs, latencyQ, out)
	})
}

// describe names the resampling of both sides: "block bootstrap over
// 30 A + 30 B intervals, blocks of 6", "bootstrap over runs (5 A, 5 B)",
// or, when the sides differ, "bootstrap over A's 30 intervals (blocks of
// 6) and B's 5 runs". units names the blocked units (a format with %s
// for the metric is allowed); g is each side's intervals per unit.
func (c *comparer) describe(lay [2]*layout, g [2]int, set []int, units, label string) string {
	type desc struct {
		runs, n, block int
	}
	var d [2]desc
	for j, l := range lay {
		d[j].runs = l.runs
		if l.runs > 1 {
			continue
		}
		blocks := map[int]bool{}
		for _, p := range set {
			d[j].n += l.n[p] * g[j]
			blocks[l.block[p]*g[j]] = true
		}
		if len(blocks) == 1 {
			for b := range blocks {
				d[j].block = b
			}
		}
		if per := d[j].n / len(set); per < minBlockIntervals && units == "intervals" {
			c.warn("%s: %s has %d intervals per phase: block bootstrap intervals are rough below %d",
				label, c.sides[j].label, per, minBlockIntervals)
		}
	}
	a, b := c.sides[0].label, c.sides[1].label
	strat := ""
	if len(set) > 1 {
		strat = ", stratified by phase"
	}
	switch {
	case d[0].runs > 1 && d[1].runs > 1:
		return fmt.Sprintf("bootstrap over runs (%d %s, %d %s)", d[0].runs, a, d[1].runs, b)
	case d[0].runs == 1 && d[1].runs == 1:
		m := fmt.Sprintf("block bootstrap over %d %s + %d %s %s", d[0].n, a, d[1].n, b, units)
		if d[0].block == d[1].block && d[0].block > 0 {
			m += fmt.Sprintf(", blocks of %d", d[0].block)
		}
		return m + strat
	}
	part := func(j int) string {
		if d[j].runs > 1 {
			return fmt.Sprintf("%s's %d runs", c.sides[j].label, d[j].runs)
		}
		s := fmt.Sprintf("%s's %d %s", c.sides[j].label, d[j].n, units)
		if d[j].block > 0 {
			s += fmt.Sprintf(" (blocks of %d)", d[j].block)
		}
		return s
	}
	return "bootstrap over " + part(0) + " and " + part(1) + strat
}

// --- per-second rows ---

// rowLayout builds a layout over the rows rowsOf picks, one unit per row.
func (c *comparer) rowLayout(s *sideData, rowsOf func(*PhaseHistograms) []Second) (*layout, [][]Second) {
	P := len(c.names)
	l := newLayout(s.runs(), P)
	rows := make([][]Second, s.runs()*P)
	for r, row := range s.ph {
		for p, ph := range row {
			st := r*P + p
			rows[st] = rowsOf(ph)
			l.setBlock(st, len(rows[st]), len(rows[st]), 1, c.opt.BlockLen)
		}
	}
	return l, rows
}

// bootLatencyRows resamples the per-second rows: the statistic for p50,
// p90 and p99 is the completion-weighted mean of that column, for max the
// largest Max; p99.9 has no column.
func (c *comparer) bootLatencyRows(set []int, rng *rand.Rand, ds []Delta) (*boot, [2]*layout) {
	var lay [2]*layout
	var rows [2][][]Second
	for j, s := range c.sides {
		lay[j], rows[j] = c.rowLayout(s, latencyRows)
	}
	return c.bootstrap(lay, set, rng, ds, func(j int, segs []segment, out []float64) {
		var w, p50, p90, p99, mx float64
		for _, sg := range segs {
			for _, s := range rows[j][sg.st][sg.from:sg.to] {
				c := float64(s.Completed)
				w += c
				p50 += c * float64(s.P50)
				p90 += c * float64(s.P90)
				p99 += c * float64(s.P99)
				mx = max(mx, float64(s.Max))
			}
		}
		out[0], out[1], out[2], out[3], out[4] = p50/w, p90/w, p99/w, math.NaN(), mx
	}), lay
}

// --- error rate and throughput ---

// countUnit is a share of a phase: a second (a per-second row) or the
// whole phase.
type countUnit struct{ errs, done, secs float64 }

func (c *comparer) counts(label string, set []int, rng *rand.Rand) []Delta {
	sum := func(s *sideData, runs []int) (t countUnit, achieved float64) {
		var rateDur float64
		n := 0
		for _, r := range runs {
			for _, p := range set {
				ph := s.ph[r][p]
				t.errs += float64(ph.Errors)
				t.done += float64(ph.OK + ph.Errors)
				t.secs += ph.Duration.Seconds()
				rateDur += ph.Achieved * ph.Duration.Seconds()
				achieved += ph.Achieved
				n++
			}
		}
		if t.secs > 0 {
			achieved = rateDur / t.secs
		} else if n > 0 {
			achieved /= float64(n)
		}
		return t, achieved
	}
	allRuns := func(s *sideData) []int {
		runs := make([]int, s.runs())
		for r := range runs {
			runs[r] = r
		}
		return runs
	}
	var tot [2]countUnit
	var ach [2]float64
	for j, s := range c.sides {
		tot[j], ach[j] = sum(s, allRuns(s))
	}
	var ds []Delta
	if tot[0].done > 0 && tot[1].done > 0 {
		d := newDelta(label, CompareErrorRate)
		d.Abs = true
		d.A, d.B = tot[0].errs/tot[0].done, tot[1].errs/tot[1].done
		d.Rel = d.B - d.A
		ds = append(ds, d)
	} else {
		c.warn("%s: no completed requests on a side: error rate not compared", label)
	}
	d := newDelta(label, CompareThroughput)
	d.A, d.B = ach[0], ach[1]
	d.Rel = ratio(d.A, d.B)
	ds = append(ds, d)
	if c.mannWhitney() {
		for i := range ds {
			var v [2][]float64
			for j, s := range c.sides {
				for r := range s.ph {
					t, a := sum(s, []int{r})
					if ds[i].Metric == CompareThroughput {
						v[j] = append(v[j], a)
					} else if t.done > 0 {
						v[j] = append(v[j], t.errs/t.done)
					}
				}
			}
			ds[i].U, ds[i].PValue = MannWhitney(v[0], v[1])
		}
	}

	// Each side is resampled over its runs when it has several, else over
	// blocks of its per-second rows; without rows, intervals are analytic.
	var lay [2]*layout
	var units [2][][]countUnit
	ok := true
	P := len(c.names)
	for j, s := range c.sides {
		lay[j] = newLayout(s.runs(), P)
		units[j] = make([][]countUnit, s.runs()*P)
		switch {
		case s.runs() > 1:
			for r, row := range s.ph {
				for p, ph := range row {
					lay[j].setBlock(r*P+p, 1, 1, 1, 1)
					units[j][r*P+p] = []countUnit{{float64(ph.Errors), float64(ph.OK + ph.Errors), ph.Duration.Seconds()}}
				}
			}
		case s.all(set, func(p *PhaseHistograms) bool { return len(p.Seconds) >= 2 }):
			for p, ph := range s.ph[0] {
				for _, r := range ph.Seconds {
					units[j][p] = append(units[j][p], countUnit{float64(r.Errors), float64(r.Completed), 1})
				}
				lay[j].setBlock(p, len(units[j][p]), len(units[j][p]), 1, c.opt.BlockLen)
			}
		default:
			ok = false
		}
	}
	var method string
	if ok {
		method = c.describe(lay, [2]int{1, 1}, set, "seconds", label)
	}
	if method != "" {
		boots := c.bootstrap(lay, set, rng, ds, func(j int, segs []segment, out []float64) {
			var t countUnit
			for _, sg := range segs {
				for _, u := range units[j][sg.st][sg.from:sg.to] {
					t.errs += u.errs
					t.done += u.done
					t.secs += u.secs
				}
			}
			for i := range ds {
				if ds[i].Metric == CompareErrorRate {
					out[i] = t.errs / t.done
				} else {
					out[i] = t.done / t.secs
				}
			}
		})
		for i := range ds {
			ds[i].Method = method + pairedNote(boots)
			ds[i].CILo, ds[i].CIHi = c.interval(boots, i, &ds[i], label)
		}
	} else {
		c.analyticCounts(ds, tot)
	}
	for i := range ds {
		c.finish(&ds[i])
	}
	return ds
}

// analyticCounts sets intervals that assume independent requests:
// Agresti–Caffo for the difference of error rates, and a Poisson interval
// for the ratio of throughputs (log ratio ± z·√(1/cₐ + 1/c_b), c the
// completed counts).
func (c *comparer) analyticCounts(ds []Delta, tot [2]countUnit) {
	z := zFor(c.opt.Conf)
	for i := range ds {
		d := &ds[i]
		switch {
		case d.Metric == CompareErrorRate:
			// Agresti–Caffo: one success and one failure added to each side.
			pa := (tot[0].errs + 1) / (tot[0].done + 2)
			pb := (tot[1].errs + 1) / (tot[1].done + 2)
			se := math.Sqrt(pa*(1-pa)/(tot[0].done+2) + pb*(1-pb)/(tot[1].done+2))
			d.CILo, d.CIHi = pb-pa-z*se, pb-pa+z*se
			d.Method = "Agresti–Caffo interval (assumes independent requests)"
		case tot[0].done > 0 && tot[1].done > 0 && d.A > 0 && d.B > 0:
			se := math.Sqrt(1/tot[0].done + 1/tot[1].done)
			l := math.Log(d.B / d.A)
			d.CILo, d.CIHi = math.Expm1(l-z*se), math.Expm1(l+z*se)
			d.Method = "Poisson interval (assumes independent completions)"
		default:
			d.Method = "none: nothing completed"
		}
	}
}

// MannWhitney returns the Mann–Whitney U statistic of b against a — the
// number of pairs (a_i, b_j) with b_j > a_i, ties counting ½ — and the
// two-sided p-value of the hypothesis that neither side tends to be larger,
// from the normal approximation with tie and continuity corrections:
//
//	μ = nₐn_b/2
//	σ² = nₐn_b/12 · ((n+1) − Σ(t³−t)/(n(n−1)))   (t: sizes of groups of ties)
//	z = max(|U − μ| − ½, 0)/σ,   p = erfc(z/√2)
//
// p is 1 when every value is tied, and both are NaN when a side is empty.
func MannWhitney(a, b []float64) (u, p float64) {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		return math.NaN(), math.NaN()
	}
	type obs struct {
		v float64
		b bool
	}
	all := make([]obs, 0, na+nb)
	for _, v := range a {
		all = append(all, obs{v, false})
	}
	for _, v := range b {
		all = append(all, obs{v, true})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(na + nb)
	var rankB, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].b {
				rankB += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	u = rankB - float64(nb)*float64(nb+1)/2
	mu := float64(na) * float64(nb) / 2
	v := float64(na) * float64(nb) / 12 * ((n + 1) - ties/(n*(n-1)))
	if !(v > 0) {
		return u, 1
	}
	z := max(math.Abs(u-mu)-0.5, 0) / math.Sqrt(v)
	return u, math.Erfc(z / math.Sqrt2)
}

// --- fail rules ---

// FailRule is a --fail-on rule: fail when a metric changed by more than a
// threshold, significantly. See ParseFailRule.
type FailRule struct {
	Metric CompareMetric
	// Phase is the phase the rule watches: "" for the total (or the only
	// phase), "*" for every phase and the total.
	Phase string
	// Op is '>' (fail when the change is above Threshold) or '<' (below).
	Op byte
	// Threshold is a relative change (0.10 for +10 %) or, when Abs is set,
	// a difference in the metric's unit: a fraction for error_rate (0.005
	// for +0.5 percentage points), nanoseconds for latencies.
	Threshold float64
	Abs       bool
}

// ParseFailRule parses a --fail-on rule:
//
//	p99>+10%          p99 of the total rose by more than 10 %
//	p99.9>+5%         p50, p90, p99, p99.9 and max are the latency metrics
//	p99>+2ms          by more than 2 ms (a duration: an absolute change)
//	errors>+0.5pp     error rate rose by more than 0.5 percentage points
//	errors>+50%       error rate rose by more than half (relative)
//	throughput<-2%    throughput fell by more than 2 %
//	burst:p99>+10%    only in phase burst ("*:" watches every phase)
//
// The sign is optional ("p99>10%" is "p99>+10%"). error_rate is accepted
// for errors.
func ParseFailRule(s string) (FailRule, error) {
	r, err := parseFailRule(s)
	if err != nil {
		return FailRule{}, fmt.Errorf("fail rule %q: %w", s, err)
	}
	return r, nil
}

const failRuleHelp = "want e.g. p99>+10%, errors>+0.5pp or throughput<-2%"

func parseFailRule(s string) (FailRule, error) {
	var r FailRule
	if !utf8.ValidString(s) {
		return r, errors.New("not valid UTF-8")
	}
	expr := strings.TrimSpace(s)
	if expr == "" {
		return r, errors.New("empty rule (" + failRuleHelp + ")")
	}
	if i := strings.LastIndexByte(expr, ':'); i >= 0 {
		phase := strings.TrimSpace(expr[:i])
		if err := checkPhaseName(phase); err != nil {
			return r, err
		}
		r.Phase = phase
		expr = expr[i+1:]
	}
	i := strings.IndexAny(expr, "<>=!≤≥")
	if i < 0 {
		return r, fmt.Errorf("no comparison in %q (%s)", strings.TrimSpace(expr), failRuleHelp)
	}
	name, rest := strings.ToLower(strings.TrimSpace(expr[:i])), expr[i:]
	switch {
	case strings.HasPrefix(rest, ">=") || strings.HasPrefix(rest, "<="):
		return r, fmt.Errorf("use %c, not %s: changes are continuous", rest[0], rest[:2])
	case rest[0] == '>' || rest[0] == '<':
		r.Op = rest[0]
	default:
		return r, fmt.Errorf("bad comparison in %q: want > or <", strings.TrimSpace(expr))
	}
	switch name {
	case "errors", "error_rate":
		r.Metric = CompareErrorRate
	case "":
		return r, errors.New("missing metric before the comparison (" + failRuleHelp + ")")
	default:
		r.Metric = CompareMetric(name)
		if !slices.Contains(CompareMetrics, r.Metric) {
			return r, fmt.Errorf("unknown metric %q (want p50, p90, p99, p99.9, max, errors or throughput)", name)
		}
	}
	return r, parseChange(&r, strings.TrimSpace(rest[1:]))
}

// parseChange sets r.Threshold and r.Abs from a signed change: "+10%",
// "-2%", "0.5pp", "+2ms".
func parseChange(r *FailRule, s string) error {
	if s == "" {
		return errors.New("missing change after the comparison (" + failRuleHelp + ")")
	}
	sign := 1.0
	num := s
	switch s[0] {
	case '+':
		num = s[1:]
	case '-':
		sign, num = -1, s[1:]
	}
	num = strings.TrimSpace(num)
	unit := ""
	switch {
	case strings.HasSuffix(num, "%"):
		unit, num = "%", strings.TrimSpace(strings.TrimSuffix(num, "%"))
	case strings.HasSuffix(num, "pp"):
		unit, num = "pp", strings.TrimSpace(strings.TrimSuffix(num, "pp"))
	}
	if unit == "" {
		if !r.Metric.Latency() {
			if isDecimal(num) {
				return fmt.Errorf("change %q has no unit: want %% (relative) or pp (percentage points, errors only)", s)
			}
			return fmt.Errorf("change %q: want a percentage such as +10%%", s)
		}
		d, err := time.ParseDuration(num)
		if err != nil || strings.HasPrefix(num, "-") || strings.HasPrefix(num, "+") {
			if isDecimal(num) {
				return fmt.Errorf("change %q has no unit: want %% (relative) or a duration such as 2ms", s)
			}
			return fmt.Errorf("change %q: want a percentage (+10%%) or a duration (+2ms)", s)
		}
		if d > maxLatencyThreshold {
			return fmt.Errorf("change %q is more than %v", s, maxLatencyThreshold)
		}
		r.Threshold, r.Abs = sign*float64(d), true
		return nil
	}
	if !isDecimal(num) {
		return fmt.Errorf("change %q: %q is not a number", s, num)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || v > 1e9 {
		return fmt.Errorf("change %q is out of range", s)
	}
	switch unit {
	case "pp":
		if r.Metric != CompareErrorRate {
			return fmt.Errorf("change %q: percentage points apply to errors only; use %% for a relative change", s)
		}
		if v > 100 {
			return fmt.Errorf("change %q: more than 100 percentage points", s)
		}
		r.Abs = true
	case "%":
		if sign < 0 && v > 100 {
			return fmt.Errorf("change %q: nothing falls by more than 100%%", s)
		}
	}
	r.Threshold = sign * v / 100
	return nil
}

// String is the rule as ParseFailRule reads it: "burst:p99>+10%".
func (r FailRule) String() string {
	var b strings.Builder
	if r.Phase != "" {
		b.WriteString(r.Phase + ":")
	}
	name := string(r.Metric)
	if r.Metric == CompareErrorRate {
		name = "errors"
	}
	b.WriteString(name)
	b.WriteByte(r.Op)
	b.WriteString(r.thresholdString())
	return b.String()
}

func (r FailRule) thresholdString() string {
	v := r.Threshold
	sign := "+"
	if v < 0 || (v == 0 && math.Signbit(v)) {
		sign, v = "-", -v
	}
	switch {
	case r.Abs && r.Metric.Latency():
		return sign + time.Duration(v).String()
	case r.Abs:
		return sign + strconv.FormatFloat(v*100, 'f', -1, 64) + "pp"
	}
	return sign + strconv.FormatFloat(v*100, 'f', -1, 64) + "%"
}

// change is the delta's change in the rule's scale: B − A when the rule
// is absolute, else B/A − 1.
func (r FailRule) change(d Delta) float64 {
	if r.Abs {
		return d.B - d.A
	}
	if d.Abs {
		return ratio(d.A, d.B)
	}
	return d.Rel
}

// matches returns the deltas the rule watches.
func (r FailRule) matches(ds []Delta) []Delta {
	var out []Delta
	phases := map[string]bool{}
	for _, d := range ds {
		phases[d.Phase] = true
	}
	want := r.Phase
	if want == "" {
		want = "total"
		if !phases["total"] && len(phases) == 1 {
			for p := range phases {
				want = p
			}
		}
	}
	for _, d := range ds {
		if d.Metric == r.Metric && (r.Phase == "*" || d.Phase == want) {
			out = append(out, d)
		}
	}
	return out
}

// Breached reports whether the rule fires on the deltas, and says why in
// one line per delta it watches. A rule fires only when the point
// estimate is beyond the threshold and the difference is significant
// (the verdict is not "~": the confidence interval excludes 0), so noise
// never fails a build, however large the point estimate. A rule that
// watches no delta (a phase the comparison does not have) is not
// breached; CheckFailRules reports it as an error.
func (r FailRule) Breached(ds []Delta) (bool, string) {
	matched := r.matches(ds)
	if len(matched) == 0 {
		return false, fmt.Sprintf("%s: no %s %s in the comparison", r, r.Metric, phaseWords(r.Phase))
	}
	var lines, hits []string
	for _, d := range matched {
		v := r.change(d)
		what := fmt.Sprintf("%s %s: %s", d.Metric, phaseWords(d.Phase), describeChange(d))
		beyond := (r.Op == '>' && v > r.Threshold) || (r.Op == '<' && v < r.Threshold)
		switch {
		case math.IsNaN(v):
			lines = append(lines, fmt.Sprintf("%s: no estimate: not breached", what))
		case beyond && d.Significant():
			hits = append(hits, fmt.Sprintf("%s: breaches %s", what, r))
		case beyond:
			lines = append(lines, fmt.Sprintf("%s: beyond %s but not significant (the interval contains 0): not breached", what, r))
		default:
			lines = append(lines, fmt.Sprintf("%s: does not breach %s", what, r))
		}
	}
	if len(hits) > 0 {
		return true, strings.Join(hits, "\n")
	}
	return false, strings.Join(lines, "\n")
}

func phaseWords(p string) string {
	switch p {
	case "", "total":
		return "in total"
	case "*":
		return "in any phase"
	}
	return "in phase " + p
}

// describeChange prints a delta's change with its interval and verdict:
// "+12.3% [+6.1%, +18.3%], worse".
func describeChange(d Delta) string {
	f := func(v float64) string {
		if d.Abs {
			return signed(100*v, 3) + "pp"
		}
		return signed(100*v, 3) + "%"
	}
	s := f(d.Rel)
	if !math.IsNaN(d.CILo) && !math.IsNaN(d.CIHi) {
		s += fmt.Sprintf(" [%s, %s]", f(d.CILo), f(d.CIHi))
	}
	return s + ", " + d.Verdict
}

// signed prints v with its sign and about digits significant digits.
func signed(v float64, digits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(v, 'g', digits, 64)
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if v >= 0 {
		s = "+" + s
	}
	return s
}

// CheckFailRules evaluates rules against c. breaches holds one line per
// breached rule; err reports rules that watch nothing in c (a phase it
// does not have), a usage error rather than a regression.
func CheckFailRules(c Comparison, rules []FailRule) (breaches []string, err error) {
	var bad []string
	for _, r := range rules {
		if len(r.matches(c.Deltas)) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no %s %s in the comparison", r, r.Metric, phaseWords(r.Phase)))
			continue
		}
		if ok, why := r.Breached(c.Deltas); ok {
			breaches = append(breaches, why)
		}
	}
	if len(bad) > 0 {
		err = errors.New(strings.Join(bad, "; "))
	}
	return breaches, err
}
