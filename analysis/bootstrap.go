package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// This file resamples the sides for Compare's confidence intervals: the
// resampling plans (runs, or blocks of intervals or seconds), the bootstrap
// itself and its percentile intervals, widened for small samples.

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
