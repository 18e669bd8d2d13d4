package analysis

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// zFor returns the two-sided standard normal quantile for confidence
// level conf: 1.96 for 95 % (the rounded value the order-statistic formula
// is published with), √2·erf⁻¹(conf) otherwise.
func zFor(conf float64) float64 {
	if conf == 0.95 {
		return 1.96
	}
	return math.Sqrt2 * math.Erfinv(conf)
}

// CIRanks returns the 1-based ranks of the order statistics that bound a
// distribution-free confidence interval for the q-quantile of n samples
// (Le Boudec; Lancet, USENIX ATC '19):
//
//	j = ⌊nq − z·√(nq(1−q))⌋
//	k = ⌈nq + z·√(nq(1−q))⌉ + 1
//
// with z the normal quantile for conf (1.96 for 0.95). j and k are clamped
// to [1, n]; ok is false when they had to be, i.e. when n is too small
// for the interval to exist at this confidence (see MinSamples), or when
// q is not in (0, 1), conf not in (0, 1) or n < 1.
func CIRanks(n int64, q, conf float64) (j, k int64, ok bool) {
	if n < 1 || !(q > 0 && q < 1) || !(conf > 0 && conf < 1) {
		return 1, max(n, 1), false
	}
	nq := float64(n) * q
	d := zFor(conf) * math.Sqrt(nq*(1-q))
	lo := math.Floor(nq - d)
	hi := math.Ceil(nq+d) + 1
	ok = lo >= 1 && hi <= float64(n)
	j = int64(max(lo, 1))
	k = n
	if hi < float64(n) {
		k = int64(hi)
	}
	return j, k, ok
}

// QuantileCI returns a confidence interval at level conf (e.g. 0.95) for
// the q-quantile (0 < q < 1) of the values recorded in h, by order
// statistics (see CIRanks). lo is the lowest value equivalent, at the
// histogram's resolution, to the j-th smallest recorded value and hi the
// highest value equivalent to the k-th, so the interval contains the exact
// order-statistic interval of the raw samples.
//
// ok is false when h has too few values for the ranks to exist (fewer
// than MinSamples(q) at 95 %); lo and hi are then the values at the
// clamped ranks (for an empty histogram, zero), an interval that is at
// least that wide.
//
// The interval contains the point estimate ValueAt(h, q): its nearest rank
// ⌈n·q⌉ lies in [j, k], since j ≤ n·q − z·√(n·q(1−q)) < n·q and
// k ≥ n·q + 1 > ⌈n·q⌉ (and clamping both to [1, n] keeps it there).
func QuantileCI(h *hdr.Histogram, q, conf float64) (lo, hi time.Duration, ok bool) {
	if h == nil {
		return 0, 0, false
	}
	n := h.TotalCount()
	if n == 0 {
		return 0, 0, false
	}
	l, u, ok := sparseOf(h).quantileCI(q, conf)
	return time.Duration(l), time.Duration(u), ok
}

// MinSamples is the smallest number of samples for which the 95 %
// order-statistic confidence interval of the q-quantile exists (CIRanks
// is ok): 8 for p50, 110 for p95, 563 for p99, 5,662 for p99.9, 56,647 for
// p99.99. It is 0 for q outside (0, 1): max and mean have no such
// interval.
func MinSamples(q float64) int { return minSamplesAt(q, 0.95) }

// minSamplesAt is MinSamples at confidence level conf.
func minSamplesAt(q, conf float64) int {
	if !(q > 0 && q < 1) || !(conf > 0 && conf < 1) {
		return 0
	}
	z := zFor(conf)
	b := z * math.Sqrt(q*(1-q))
	// Necessary conditions, from dropping the rounding: with x = √n,
	// (1−q)x² − b·x − 1 ≥ 0 (k ≤ n) and q·x² − b·x − 1 ≥ 0 (j ≥ 1).
	root := func(a float64) float64 { return (b + math.Sqrt(b*b+4*a)) / (2 * a) }
	x := max(root(1-q), root(q))
	n := max(int64(x*x)-1, 1)
	for ; n < math.MaxInt32*int64(1024); n++ {
		if _, _, ok := CIRanks(n, q, conf); ok {
			return int(n)
		}
	}
	return math.MaxInt
}
