// Package analysis turns the generator's results into numbers people can
// trust: HdrHistograms of response time, service time and send lag per phase
// and per second, the summaries computed from them, and (in later files)
// verdicts, knees and comparisons.
//
// Memory is constant in the number of requests: nothing per request is kept.
package analysis

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every histogram tailgate writes, so that any
// two can be merged exactly: nanoseconds from 1 ns to 1 hour, 3 significant
// digits. Values above the top are clamped to it (and counted as clamped).
const (
	HistLowest  int64 = 1
	HistHighest int64 = int64(time.Hour)
	HistSigFigs       = 3
)

// NewHistogram returns an empty histogram with tailgate's geometry.
func NewHistogram() *hdr.Histogram { return hdr.New(HistLowest, HistHighest, HistSigFigs) }

// CheckGeometry reports whether h can be merged exactly with tailgate's own
// histograms.
func CheckGeometry(h *hdr.Histogram) error {
	if h.LowestTrackableValue() != HistLowest || h.HighestTrackableValue() < HistHighest || h.SignificantFigures() != HistSigFigs {
		return fmt.Errorf("histogram geometry [%d, %d] at %d digits does not match tailgate's [%d, %d] at %d",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), HistLowest, HistHighest, HistSigFigs)
	}
	return nil
}

// Quantiles are the percentiles every summary reports, as q in [0, 1].
var Quantiles = []float64{0.5, 0.9, 0.95, 0.99, 0.999, 0.9999}

// QuantileLabel prints q as a percentile label: 0.99 → "p99", 0.999 → "p99.9".
func QuantileLabel(q float64) string {
	return "p" + trimFloat(q*100)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.4f", f)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// Percentiles are nearest rank, as the reference HdrHistogram computes
// them (Java 2.x, hdr-histogram-js): the value at quantile q of n values is
// the highest value equivalent (at the histogram's resolution) to the k-th
// smallest, k = ⌈q·n⌉ and at least 1. hdrhistogram-go rounds the rank
// instead (⌊q·n + ½⌋), which reads some tail percentiles one sample low
// (p99.9 of 900 values: the 899th, not the 900th); tailgate reports its
// percentiles only through Rank, never through hdrhistogram-go's
// ValueAtQuantile or ValueAtPercentilesSlice.

// Rank returns the 1-based nearest rank of quantile q (in [0, 1]; clamped)
// among n values: ⌈q·n⌉, at least 1 and at most n; 0 when n < 1.
//
// It is computed as HdrHistogram's AbstractHistogram.getValueAtPercentile
// does (github.com/HdrHistogram/HdrHistogram,
// src/main/java/org/HdrHistogram/AbstractHistogram.java):
//
//	requestedPercentile = min(max(nextAfter(percentile, -∞), 0), 100)
//	countAtPercentile = max((long) ceil(requestedPercentile·totalCount/100), 1)
//
// here on q = percentile/100. The step down by one ulp keeps a product that
// floating point puts just above a whole count from being rounded up to the
// next one: 0.07·100 is 7.000000000000001, whose ceiling is 8.
// hdr-histogram-js guards the same way, with ⌈fp − ulp(fp)⌉.
func Rank(q float64, n int64) int64 {
	if n < 1 {
		return 0
	}
	r := math.Nextafter(q, math.Inf(-1))
	if !(r > 0) { // also NaN
		return 1
	}
	k := math.Ceil(min(r, 1) * float64(n))
	if k >= float64(n) {
		return n
	}
	return max(int64(k), 1)
}

// ValueAt returns the value at quantile q (0..1) of h, nearest rank (see
// Rank): the highest value equivalent to the ⌈q·n⌉-th smallest recorded
// value; for q = 0 the lowest value equivalent to the smallest, and for
// q = 1 the max. 0 when h is empty.
func ValueAt(h *hdr.Histogram, q float64) time.Duration {
	return time.Duration(sparseOf(h).value(q))
}

// ValuesAt returns ValueAt(h, q) for each of qs, reading h's buckets once.
func ValuesAt(h *hdr.Histogram, qs []float64) []time.Duration {
	sp := sparseOf(h)
	out := make([]time.Duration, len(qs))
	for i, q := range qs {
		out[i] = time.Duration(sp.value(q))
	}
	return out
}

// ValueAtRank returns the highest value equivalent to the k-th smallest
// value recorded in h (1-based; k is clamped to [1, TotalCount]); 0 when h
// is empty.
func ValueAtRank(h *hdr.Histogram, k int64) time.Duration {
	return time.Duration(sparseOf(h).atRank(k))
}

// Dist is a latency distribution summarised from a histogram. Durations are
// nanoseconds in JSON.
type Dist struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P95   time.Duration `json:"p95_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p99_9_ns"`
	P9999 time.Duration `json:"p99_99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Describe summarises h. An empty histogram gives a zero Dist.
func Describe(h *hdr.Histogram) Dist {
	if h == nil || h.TotalCount() == 0 {
		return Dist{}
	}
	v := ValuesAt(h, []float64{0.5, 0.9, 0.95, 0.99, 0.999, 0.9999})
	return Dist{
		Count: h.TotalCount(),
		Min:   time.Duration(h.Min()),
		Mean:  time.Duration(h.Mean()),
		P50:   v[0],
		P90:   v[1],
		P95:   v[2],
		P99:   v[3],
		P999:  v[4],
		P9999: v[5],
		Max:   time.Duration(h.Max()),
	}
}

// At returns the field for quantile q if it is one of Quantiles, else -1.
func (d Dist) At(q float64) time.Duration {
	switch q {
	case 0.5:
		return d.P50
	case 0.9:
		return d.P90
	case 0.95:
		return d.P95
	case 0.99:
		return d.P99
	case 0.999:
		return d.P999
	case 0.9999:
		return d.P9999
	case 1:
		return d.Max
	}
	return -1
}

// --- reading a histogram's buckets ---

// sparse is a histogram's non-empty buckets in ascending order: each
// bucket's lowest and highest equivalent values and its count.
type sparse struct {
	lo, v, n []int64
	total    int64
}

// value is the value at quantile q, nearest rank (see ValueAt): 1 gives
// the max, 0 the lowest value equivalent to the min; 0 when empty.
func (sp sparse) value(q float64) int64 {
	if sp.total == 0 {
		return 0
	}
	if q <= 0 {
		return sp.lo[0] // as Java's getValueAtPercentile(0)
	}
	return sp.atRank(Rank(q, sp.total))
}

// atRank is the highest value equivalent to the k-th smallest value
// (1-based; k clamped to [1, total]); 0 when empty.
func (sp sparse) atRank(k int64) int64 {
	if sp.total == 0 {
		return 0
	}
	k = min(max(k, 1), sp.total)
	var cum int64
	for i, n := range sp.n {
		if cum += n; cum >= k {
			return sp.v[i]
		}
	}
	return sp.v[len(sp.v)-1]
}

// quantileCI is QuantileCI on the histogram sp was read from.
func (sp sparse) quantileCI(q, conf float64) (lo, hi int64, ok bool) {
	if sp.total == 0 {
		return 0, 0, false
	}
	j, k, ok := CIRanks(sp.total, q, conf)
	var cum int64
	found := false
	for i, n := range sp.n {
		cum += n
		if !found && cum >= j {
			lo, found = sp.lo[i], true
		}
		if cum >= k {
			return lo, sp.v[i], ok
		}
	}
	return lo, sp.v[len(sp.v)-1], ok
}

// geometry identifies a histogram layout.
type geometry struct{ lo, hi, sig int64 }

// bucketBounds maps a histogram layout's flat bucket index to the
// bucket's lowest and highest equivalent values.
type bucketBounds struct{ from, to []int64 }

var (
	boundsMu    sync.Mutex
	boundsCache = map[geometry]*bucketBounds{}
)

// boundsFor returns the bucket bounds of g, read from the Distribution of
// a histogram of that geometry holding its highest trackable value: it
// lists every bucket in ascending order.
func boundsFor(g geometry) *bucketBounds {
	boundsMu.Lock()
	defer boundsMu.Unlock()
	if b, ok := boundsCache[g]; ok {
		return b
	}
	b := &bucketBounds{}
	probe := hdr.New(g.lo, g.hi, int(g.sig))
	if probe.RecordValue(g.hi) == nil {
		for _, x := range probe.Distribution() {
			b.from, b.to = append(b.from, x.From), append(b.to, x.To)
		}
	}
	boundsCache[g] = b
	return b
}

// sparseOf reads h's non-empty buckets through a PackedHistogram, whose
// work is proportional to h's populated buckets (Export would copy every
// counter). Bucket bounds come from boundsFor.
func sparseOf(h *hdr.Histogram) sparse {
	var sp sparse
	if h == nil || h.TotalCount() == 0 {
		return sp
	}
	g := geometry{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()}
	b := boundsFor(g)
	p := hdr.NewPacked(g.lo, g.hi, int(g.sig))
	if p.MergeFrom(h) != 0 {
		return sparseSlow(h)
	}
	ok := true
	p.ForEachBucket(func(v, n int64) bool {
		i, found := slices.BinarySearch(b.from, v)
		if !found {
			ok = false
			return false
		}
		sp.lo, sp.v, sp.n = append(sp.lo, v), append(sp.v, b.to[i]), append(sp.n, n)
		sp.total += n
		return true
	})
	if !ok {
		return sparseSlow(h)
	}
	return sp
}

// sparseSlow reads h's buckets through Distribution.
func sparseSlow(h *hdr.Histogram) sparse {
	var sp sparse
	for _, x := range h.Distribution() {
		if x.Count > 0 {
			sp.lo, sp.v, sp.n = append(sp.lo, x.From), append(sp.v, x.To), append(sp.n, x.Count)
			sp.total += x.Count
		}
	}
	return sp
}
