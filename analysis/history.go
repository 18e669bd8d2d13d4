package analysis

import (
	"errors"
	"fmt"
	"math"
)

// History: the runs of one scenario over time (nightly, say), each
// reduced to a few numbers with the run's own confidence interval, the
// change points of each number (DetectChanges) and a gate for slow drift
// (DriftGate). results.History reads the files and renders it.

// HistoryMetrics are the metrics a history follows, in report order:
// response-time p50, p99 and p99.9, and the error rate.
var HistoryMetrics = []CompareMetric{CompareP50, CompareP99, CompareP999, CompareErrorRate}

// Estimate is a value with its confidence interval [Lo, Hi]; Lo and Hi
// are NaN when there is none (too few samples).
type Estimate struct {
	V, Lo, Hi float64
}

// RunPoint is one run of a history: one Estimate per HistoryMetrics
// entry, latencies in nanoseconds, the error rate as a fraction of the
// completed requests.
type RunPoint struct {
	Values []Estimate
	// Completed is the requests that completed, with or without error.
	Completed int64
}

// Value returns the run's estimate of m, and false when the history does
// not follow m.
func (p RunPoint) Value(m CompareMetric) (Estimate, bool) {
	for i, hm := range HistoryMetrics {
		if hm == m && i < len(p.Values) {
			return p.Values[i], true
		}
	}
	return Estimate{}, false
}

// PointOf measures one phase (or the total) of a run for a history: each
// latency with its 95 % order-statistic interval (QuantileCI; it assumes
// independent samples, so it is narrower than the scatter from night to
// night), the error rate with its 95 % Wilson score interval.
func PointOf(p *PhaseSummary) RunPoint {
	pt := RunPoint{Completed: p.OK + p.Errors}
	for _, m := range HistoryMetrics {
		if m == CompareErrorRate {
			e := Estimate{V: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
			if pt.Completed > 0 {
				e.V = float64(p.Errors) / float64(pt.Completed)
				e.Lo, e.Hi = WilsonInterval(p.Errors, pt.Completed, DefaultConfidence)
			}
			pt.Values = append(pt.Values, e)
			continue
		}
		q := m.quantile()
		e := Estimate{V: float64(ValueAt(p.ResponseHist, q)), Lo: math.NaN(), Hi: math.NaN()}
		if lo, hi, ok := QuantileCI(p.ResponseHist, q, DefaultConfidence); ok {
			e.Lo, e.Hi = float64(lo), float64(hi)
		}
		pt.Values = append(pt.Values, e)
	}
	return pt
}

// WilsonInterval is the Wilson score interval at level conf for a
// proportion of k successes in n trials:
//
//	(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)
//
// It stays inside [0, 1] and is not empty at k = 0 (where the normal
// interval is [0, 0]). NaN, NaN for n < 1.
func WilsonInterval(k, n int64, conf float64) (lo, hi float64) {
	if n < 1 || k < 0 || k > n {
		return math.NaN(), math.NaN()
	}
	z := zFor(conf)
	nf, p := float64(n), float64(k)/float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return max(mid-half, 0), min(mid+half, 1)
}

// HistoryChange is a change point of one metric of a history.
type HistoryChange struct {
	Metric CompareMetric
	Change
}

// HistoryChanges runs DetectChanges on each metric of HistoryMetrics over
// the points (in time order): latencies as ratios, the error rate as a
// difference. opt.Relative is set per metric. Each metric is tested at
// opt.Alpha, so a history with no change reports one in some metric with
// probability up to 4·Alpha. Fewer runs than MinRunsForChange get a
// warning (no change can be found in them). A latency metric with a run that has no
// value (no successful response) is skipped, with a warning.
func HistoryChanges(points []RunPoint, opt ChangeOptions) (changes []HistoryChange, warnings []string, err error) {
	if n := MinRunsForChange(opt.Alpha, opt.MinSegment); len(points) < n {
		alpha := opt.Alpha
		if alpha == 0 {
			alpha = DefaultChangeAlpha
		}
		warnings = append(warnings, fmt.Sprintf("%d runs: too few for a change point at a false-alarm rate of %s (it takes %d; a higher --alpha takes fewer)",
			len(points), formatPct(100*alpha)+" %", n))
	}
	for i, m := range HistoryMetrics {
		x := make([]float64, len(points))
		for r, p := range points {
			if i < len(p.Values) {
				x[r] = p.Values[i].V
			}
		}
		o := opt
		o.Relative = m.Latency()
		o.Seed = opt.Seed + uint64(i)
		cs, err := DetectChanges(x, o)
		switch {
		case errors.Is(err, ErrNonPositive) || (err != nil && m == CompareErrorRate && hasNaN(x)):
			warnings = append(warnings, fmt.Sprintf("%s: not tested for changes: a run has no %s (no request completed)", m, m))
			continue
		case err != nil:
			return nil, warnings, fmt.Errorf("%s: %w", m, err)
		}
		for _, c := range cs {
			changes = append(changes, HistoryChange{Metric: m, Change: c})
		}
	}
	return changes, warnings, nil
}

func hasNaN(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) {
			return true
		}
	}
	return false
}

// DriftGate is the outcome of a history's --fail-on rules: Compare of the
// first half of the last runs (A) against the second half (B).
type DriftGate struct {
	// A and B are the indices (into the history, 0-based) of the runs on
	// each side: the first ⌊N/2⌋ and the last ⌊N/2⌋ of the last N (the
	// middle run of an odd N is on neither).
	A, B       []int
	Comparison Comparison
	// Breaches holds one line per breached rule (CheckFailRules).
	Breaches []string
}

// CheckDrift judges slow drift over the last n runs (all of them when n
// is 0 or more than there are): it compares, as Compare does two builds,
// the first half of those runs with the second half, and checks rules
// against the comparison. A p99 that creeps up 3 % a night passes every
// night's own gate; over 14 nights, the last 7 against the first 7 show
// it. An error is returned for fewer than 2 runs, runs Compare cannot
// compare, or a rule that watches a phase the runs do not have.
func CheckDrift(runs []RunData, n int, rules []FailRule, opt CompareOptions) (DriftGate, error) {
	var g DriftGate
	if n <= 0 || n > len(runs) {
		n = len(runs)
	}
	if n < 2 {
		return g, fmt.Errorf("the drift gate needs at least 2 runs, have %d", n)
	}
	from, half := len(runs)-n, n/2
	a := Side{Name: "first half"}
	b := Side{Name: "second half"}
	for i := range half {
		g.A = append(g.A, from+i)
		a.Runs = append(a.Runs, runs[from+i])
		g.B = append(g.B, len(runs)-half+i)
		b.Runs = append(b.Runs, runs[len(runs)-half+i])
	}
	c, err := Compare(a, b, opt)
	if err != nil {
		return g, err
	}
	g.Comparison = c
	g.Breaches, err = CheckFailRules(c, rules)
	return g, err
}
