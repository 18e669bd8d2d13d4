package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// This file computes Compare's deltas: latency quantiles, error rate and
// throughput, with their intervals and verdicts.

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

// latency returns the deltas of latencyMetrics for the phases of set: the
// metric on each side's merged runs, a Mann–Whitney test on per-run values
// when both sides have enough runs, and an interval for each change (see
// Compare). It returns nil, with a warning, when a side has no responses.
func (c *comparer) latency(label string, set []int, rng *rand.Rand) []Delta {
	merged, ok := c.mergedLatency(label, set)
	if !ok {
		return nil
	}
	ds := c.latencyPoints(label, merged)
	if c.mannWhitney() {
		c.latencyMannWhitney(set, ds)
	}
	boots, method := c.bootLatency(label, set, rng, ds)
	c.latencyIntervals(label, merged, boots, method, ds)
	return ds
}

// mergedLatency merges each side's phases of set, every run, into one
// sparse histogram. ok is false, with a warning, when a side has no
// responses.
func (c *comparer) mergedLatency(label string, set []int) (merged [2]sparse, ok bool) {
	for i, s := range c.sides {
		h, dropped := s.mergeSparse(set, nil)
		if dropped > 0 {
			c.warn("%s: %d values of %s beyond tailgate's histogram range were dropped", label, dropped, s.label)
		}
		if h.total == 0 {
			c.warn("%s: %s has no responses: latency not compared", label, s.label)
			return merged, false
		}
		merged[i] = h
	}
	return merged, true
}

// latencyPoints returns one delta per latency metric with each side's
// value, the change and, below the max, each side's order-statistic
// interval; it warns of a side with fewer responses than a quantile needs.
func (c *comparer) latencyPoints(label string, merged [2]sparse) []Delta {
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
	return ds
}

// latencyMannWhitney sets each latency delta's Mann–Whitney test on the
// runs' values of its quantile (runs without responses left out).
func (c *comparer) latencyMannWhitney(set []int, ds []Delta) {
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

// bootLatency resamples each side over its runs when it has several, else
// over blocks of its intervals; without intervals, over blocks of its
// per-second rows (an approximation) or not at all (nil). method describes
// the resampling, with %s for the metric where it depends on it.
func (c *comparer) bootLatency(label string, set []int, rng *rand.Rand, ds []Delta) (boots *boot, method string) {
	histOK := true
	for _, s := range c.sides {
		histOK = histOK && (s.runs() > 1 || s.all(set, func(p *PhaseHistograms) bool { return p.nIntervals() >= 2 }))
	}
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
	return boots, method
}

// latencyIntervals sets each latency delta's interval, method and
// verdict: from the bootstrap replicates when there are any, else from
// each side's order-statistic interval; a single run's max gets none.
func (c *comparer) latencyIntervals(label string, merged [2]sparse, boots *boot, method string, ds []Delta) {
	multi := c.sides[0].runs() > 1 && c.sides[1].runs() > 1
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

// --- error rate and throughput ---

// countUnit is a share of a phase: a second (a per-second row) or the
// whole phase.
type countUnit struct{ errs, done, secs float64 }

// counts returns the error-rate and throughput deltas for the phases of
// set: the metric on each side's runs together, a Mann–Whitney test on
// per-run values when both sides have enough runs, and an interval for
// each change (see Compare). The error rate is left out, with a warning,
// when a side completed nothing.
func (c *comparer) counts(label string, set []int, rng *rand.Rand) []Delta {
	var tot [2]countUnit
	var ach [2]float64
	for j, s := range c.sides {
		tot[j], ach[j] = s.countTotals(set, s.allRuns())
	}
	ds := c.countPoints(label, tot, ach)
	if c.mannWhitney() {
		c.countMannWhitney(set, ds)
	}
	if lay, units, ok := c.countUnits(set); ok {
		c.bootCounts(label, set, rng, lay, units, ds)
	} else {
		c.analyticCounts(ds, tot)
	}
	for i := range ds {
		c.finish(&ds[i])
	}
	return ds
}

// allRuns is the index of every run of s.
func (s *sideData) allRuns() []int {
	runs := make([]int, s.runs())
	for r := range runs {
		runs[r] = r
	}
	return runs
}

// countTotals adds up the phases of set in the given runs: errors,
// completed requests and seconds, and the achieved rate weighted by
// duration (the plain mean of the phases' rates when no phase has one).
func (s *sideData) countTotals(set []int, runs []int) (t countUnit, achieved float64) {
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

// countPoints returns the error-rate delta (an absolute difference; left
// out, with a warning, when a side completed nothing) and the throughput
// delta, from each side's totals and achieved rate.
func (c *comparer) countPoints(label string, tot [2]countUnit, ach [2]float64) []Delta {
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
	return append(ds, d)
}

// countMannWhitney sets each count delta's Mann–Whitney test on the
// runs' values: achieved rates, or error rates of runs that completed
// something.
func (c *comparer) countMannWhitney(set []int, ds []Delta) {
	for i := range ds {
		var v [2][]float64
		for j, s := range c.sides {
			for r := range s.ph {
				t, a := s.countTotals(set, []int{r})
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

// countUnits plans the resampling of the counts: each side over its runs
// when it has several, else over blocks of its per-second rows. ok is
// false when a side has neither, and the intervals must be analytic.
func (c *comparer) countUnits(set []int) (lay [2]*layout, units [2][][]countUnit, ok bool) {
	ok = true
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
	return lay, units, ok
}

// bootCounts sets the count deltas' bootstrap intervals and methods, the
// statistics of a resample being its errors ÷ completed and completed ÷
// seconds.
func (c *comparer) bootCounts(label string, set []int, rng *rand.Rand, lay [2]*layout, units [2][][]countUnit, ds []Delta) {
	method := c.describe(lay, [2]int{1, 1}, set, "seconds", label)
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
