package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Change points: where in a series of runs (one value per run, in time
// order: the p99 of each night, say) the level moved, and by how much.
//
// The unit of observation is a run (as in Compare): within-run sampling
// noise and night-to-night noise are both in the run-to-run scatter the
// test is calibrated against. One test on a segment x₀ … x_{n−1}:
//
//	for every split k (MinSegment ≤ k ≤ n − MinSegment):
//	    B_k = k(n−k)/n · (mean(x₀…x_{k−1}) − mean(x_k…x_{n−1}))²
//	M = max_k B_k,  k̂ = argmax_k B_k
//
// B_k is the between-segments sum of squares of a split at k, so the
// split maximising it is the least-squares single step (the likelihood-
// ratio scan for one shift of the mean in Gaussian noise, equivalently the
// largest two-sample t statistic over all splits). M is judged against its
// permutation distribution: the same statistic over Permutations random
// reorderings of the runs. If the runs are exchangeable (no change: every
// night is a draw from one distribution, whatever its shape), the p-value
//
//	p = (1 + #{permutations with M* ≥ M}) / (1 + Permutations)
//
// is at most α with probability at most α, so a series with no change
// reports one with probability ≤ Alpha: the stated false-alarm rate,
// whatever the noise's distribution. Several changes are found by binary
// segmentation: after a change at k̂, each side is tested the same way.
//
// Latencies are tested on a log scale (a step is a ratio), error rates on
// their own scale. The size of a change is the difference of the means of
// the runs between the neighbouring changes (or the ends), on that scale,
// with a Welch t interval; for latencies it is reported as a ratio, e.g.
// +18 % [+12 %, +25 %]. The interval is conditional on where the change
// was found, so it leans a little away from 0 (the winner's curse).

// Defaults of ChangeOptions.
const (
	DefaultChangeAlpha  = 0.01
	DefaultMinSegment   = 3
	DefaultPermutations = 4999
)

// ChangeOptions tunes DetectChanges. The zero value is usable.
type ChangeOptions struct {
	// Alpha is the false-alarm rate of each test: the probability that a
	// segment of exchangeable runs (no change) reports a change. 0 means
	// DefaultChangeAlpha (1 %).
	Alpha float64
	// MinSegment is the fewest runs on each side of a change; 0 means
	// DefaultMinSegment (3). A series shorter than twice this is not
	// tested.
	MinSegment int
	// Permutations is the number of random reorderings the p-value is
	// estimated from; 0 means DefaultPermutations (4,999).
	Permutations int
	// Conf is the confidence level of a change's interval; 0 means
	// DefaultConfidence (95 %).
	Conf float64
	// Seed seeds the permutations: the same series and Seed give the same
	// changes.
	Seed uint64
	// Relative says the values are positive and a change is a ratio
	// (latencies): the test runs on log values. Otherwise a change is a
	// difference (error rates).
	Relative bool
}

func (o ChangeOptions) withDefaults() (ChangeOptions, error) {
	if o.Alpha == 0 {
		o.Alpha = DefaultChangeAlpha
	}
	if o.MinSegment == 0 {
		o.MinSegment = DefaultMinSegment
	}
	if o.Permutations == 0 {
		o.Permutations = DefaultPermutations
	}
	if o.Conf == 0 {
		o.Conf = DefaultConfidence
	}
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, fmt.Errorf("alpha %v: want a probability in (0, 1)", o.Alpha)
	case o.MinSegment < 1:
		return o, fmt.Errorf("minimum segment %d: want at least 1 run", o.MinSegment)
	case o.Permutations < 99:
		return o, fmt.Errorf("%d permutations: want at least 99", o.Permutations)
	case !(o.Conf > 0 && o.Conf < 1):
		return o, fmt.Errorf("confidence %v: want a level in (0, 1)", o.Conf)
	}
	return o, nil
}

// MinRunsForChange is the fewest runs in which DetectChanges can find a
// change at false-alarm rate alpha (0: DefaultChangeAlpha) with segments
// of at least minSegment runs (0: DefaultMinSegment): a permutation test
// cannot be more certain than its most extreme ordering is rare. Even
// runs split cleanly in two halves, the smallest p-value, are 2 of the
// C(n, ⌊n/2⌋) ways to choose a half, and each scan is held to alpha/2:
// 11 runs at 1 %, 9 at 5 %.
func MinRunsForChange(alpha float64, minSegment int) int {
	if alpha <= 0 {
		alpha = DefaultChangeAlpha
	}
	if minSegment <= 0 {
		minSegment = DefaultMinSegment
	}
	n := 2 * minSegment
	for ; n < 1000; n++ {
		if 2/binomial(n, n/2) <= alpha/2 {
			break
		}
	}
	return n
}

// binomial is C(n, k) as a float64.
func binomial(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

// Change is a change point of a series.
type Change struct {
	// Index is the first run (0-based) at the new level: the change lies
	// between run Index−1 and run Index.
	Index int
	// From and To bound the runs the change is measured over: [From,
	// Index) before it and [Index, To) after it, from the previous change
	// (or the first run) to the next (or the end).
	From, To int
	// Before and After are the levels on each side: the geometric means of
	// the runs when Relative, else the means.
	Before, After float64
	// Shift is the change: After/Before − 1 when Relative (0.18 = 18 %
	// higher), else After − Before. Lo and Hi bound its confidence
	// interval (Welch t on the runs, on the log scale when Relative); NaN
	// when a side has a single run or no scatter at all.
	Shift, Lo, Hi float64
	Relative      bool
	// PValue is the permutation p-value of the test that found the change
	// (≤ Alpha).
	PValue float64
}

// Rose reports whether the level went up.
func (c Change) Rose() bool { return c.Shift > 0 }

// ErrNonPositive is returned for a Relative series with a value ≤ 0 or NaN.
var ErrNonPositive = errors.New("change points: a relative series needs positive values")

// DetectChanges finds the change points of x (one value per run, in time
// order), earliest first, each found at false-alarm rate opt.Alpha; see
// the comment at the top of this file. A series with fewer than
// 2·MinSegment values has none.
func DetectChanges(x []float64, opt ChangeOptions) ([]Change, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	y := make([]float64, len(x))
	for i, v := range x {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return nil, fmt.Errorf("change points: value %d is %v", i, v)
		case opt.Relative && !(v > 0):
			return nil, ErrNonPositive
		case opt.Relative:
			y[i] = math.Log(v)
		default:
			y[i] = v
		}
	}
	d := detector{y: y, opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0xc4a9e))}
	d.split(0, len(y))
	slices.SortFunc(d.found, func(a, b Change) int { return a.Index - b.Index })
	for i := range d.found {
		from, to := 0, len(y)
		if i > 0 {
			from = d.found[i-1].Index
		}
		if i+1 < len(d.found) {
			to = d.found[i+1].Index
		}
		d.measure(&d.found[i], from, to)
	}
	return d.found, nil
}

// detector is one DetectChanges: the (log) values and what it found.
type detector struct {
	y     []float64
	opt   ChangeOptions
	rng   *rand.Rand
	found []Change
}

// split tests y[from:to] for a change and recurses on the pieces
// between the changes it finds.
func (d *detector) split(from, to int) {
	m := d.opt.MinSegment
	if to-from < 2*m {
		return
	}
	seg := d.y[from:to]
	obs := scan(seg, nil, m)
	if obs.step.j < 0 {
		return // every value equal: nothing can have changed
	}
	p, best, ok := d.permutationP(seg, obs)
	if !ok {
		return
	}
	cuts := []int{from}
	for _, k := range []int{best.i, best.j} {
		if k > 0 && k < len(seg) {
			d.found = append(d.found, Change{Index: from + k, PValue: p, Relative: d.opt.Relative})
			cuts = append(cuts, from+k)
		}
	}
	cuts = append(cuts, to)
	for c := 1; c < len(cuts); c++ {
		d.split(cuts[c-1], cuts[c])
	}
}

// stretch is a candidate [i, j) and its between-groups sum of squares.
type stretch struct {
	i, j int
	b    float64
}

// scanned holds the two scans of a segment: the best step (one change:
// a stretch that reaches an end) and the best stretch of any kind (two
// changes when it lies inside: a bump or a dip; circular binary
// segmentation).
type scanned struct{ step, any stretch }

// scan scores every stretch [i, j) of seg that leaves each piece at least
// m values by the between-groups sum of squares
//
//	B = L(n−L)/n · (mean inside − mean outside)²,  L = j − i,
//
// and returns the best step and the best stretch; their j is −1 when no
// stretch has any (all values equal). prefix is scratch space of
// len(seg)+1, or nil.
func scan(seg, prefix []float64, m int) scanned {
	n := len(seg)
	if prefix == nil {
		prefix = make([]float64, n+1)
	}
	for k, v := range seg {
		prefix[k+1] = prefix[k] + v
	}
	r := scanned{step: stretch{-1, -1, 0}, any: stretch{-1, -1, 0}}
	for i := 0; i <= n-m; i++ {
		if i > 0 && i < m {
			continue
		}
		for j := i + m; j <= n; j++ {
			if (j < n && n-j < m) || (i == 0 && j == n) || n-(j-i) < m {
				continue
			}
			in, l := prefix[j]-prefix[i], j-i
			dm := in/float64(l) - (prefix[n]-in)/float64(n-l)
			b := float64(l) * float64(n-l) / float64(n) * dm * dm
			if b > r.any.b*(1+1e-12) {
				r.any = stretch{i, j, b}
			}
			if (i == 0 || j == n) && b > r.step.b*(1+1e-12) {
				r.step = stretch{i, j, b}
			}
		}
	}
	return r
}

// permutationP judges the observed scans against random reorderings of
// seg, each scan at level Alpha/2 (so both together at Alpha, by
// Bonferroni): a step first, then any stretch. It returns the adjusted
// p-value (twice the smaller one) and the stretch it belongs to; ok is
// false when neither is significant, decided as soon as the counts of
// reorderings at least as extreme rule both out.
func (d *detector) permutationP(seg []float64, obs scanned) (p float64, best stretch, ok bool) {
	b := d.opt.Permutations
	limit := int(math.Floor(d.opt.Alpha/2*float64(b+1))) - 1 // p ≤ α/2 ⇔ count ≤ limit
	if limit < 0 {
		return 1, best, false
	}
	perm := slices.Clone(seg)
	prefix := make([]float64, len(seg)+1)
	// Equal up to rounding counts as extreme.
	tolStep, tolAny := obs.step.b*(1-1e-9), obs.any.b*(1-1e-9)
	var cStep, cAny int
	for range b {
		d.rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		r := scan(perm, prefix, d.opt.MinSegment)
		if r.step.b >= tolStep {
			cStep++
		}
		if r.any.b >= tolAny {
			cAny++
		}
		if cStep > limit && cAny > limit {
			return 1, best, false
		}
	}
	pStep, pAny := float64(1+cStep)/float64(1+b), float64(1+cAny)/float64(1+b)
	if cStep <= limit && pStep <= pAny {
		return min(1, 2*pStep), obs.step, true
	}
	if cAny <= limit {
		return min(1, 2*pAny), obs.any, true
	}
	return min(1, 2*pStep), obs.step, true
}

// measure sets c's levels and shift from y[from:c.Index] and y[c.Index:to].
func (d *detector) measure(c *Change, from, to int) {
	c.From, c.To = from, to
	a, b := d.y[from:c.Index], d.y[c.Index:to]
	ma, va := meanVar(a)
	mb, vb := meanVar(b)
	diff := mb - ma
	lo, hi := math.NaN(), math.NaN()
	if se2 := va/float64(len(a)) + vb/float64(len(b)); len(a) > 1 && len(b) > 1 && se2 > 0 {
		t := studentQuantile((1+d.opt.Conf)/2, welchDF(va, vb, len(a), len(b)))
		lo, hi = diff-t*math.Sqrt(se2), diff+t*math.Sqrt(se2)
	}
	if d.opt.Relative {
		c.Before, c.After = math.Exp(ma), math.Exp(mb)
		c.Shift, c.Lo, c.Hi = math.Expm1(diff), math.Expm1(lo), math.Expm1(hi)
		return
	}
	c.Before, c.After = ma, mb
	c.Shift, c.Lo, c.Hi = diff, lo, hi
}

// meanVar is the mean and the unbiased variance (0 for one value).
func meanVar(x []float64) (mean, v float64) {
	for _, e := range x {
		mean += e
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, e := range x {
		v += (e - mean) * (e - mean)
	}
	return mean, v / float64(len(x)-1)
}

// welchDF is the Welch–Satterthwaite degrees of freedom of a difference
// of two means with variances va, vb over na, nb values.
func welchDF(va, vb float64, na, nb int) float64 {
	a, b := va/float64(na), vb/float64(nb)
	den := a*a/float64(na-1) + b*b/float64(nb-1)
	if !(den > 0) {
		return float64(na + nb - 2)
	}
	return (a + b) * (a + b) / den
}
