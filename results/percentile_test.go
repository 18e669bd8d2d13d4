package results

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"tailgate/analysis"
)

// A histogram written to a result file and read back gives the nearest-rank
// percentiles of the samples recorded: the k-th smallest, k = ⌈q·n⌉, at the
// histogram's resolution (as the Java and JavaScript HdrHistogram read the
// same encoding), through ValueAt, Describe and secondsFromIntervals.
func TestDecodedHistogramPercentilesAreNearestRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	quantiles := []struct {
		q        float64
		num, den int64 // q exactly
	}{{0.5, 5, 10}, {0.9, 9, 10}, {0.95, 95, 100}, {0.99, 99, 100}, {0.999, 999, 1000}, {0.9999, 9999, 10000}}
	for _, n := range []int{1, 2, 10, 900, 1000, 4321} {
		samples := make([]int64, n)
		for i := range samples {
			// Log-normal around 3 ms with a heavy tail: several magnitudes.
			samples[i] = int64(3e6 * (rng.ExpFloat64() + 0.05) * float64(1+rng.IntN(3)*rng.IntN(3)*rng.IntN(10)))
		}
		h := analysis.NewHistogram()
		for _, v := range samples {
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
		enc, err := EncodeHistogram(h)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeHistogram(enc)
		if err != nil {
			t.Fatal(err)
		}
		sum := &analysis.Summary{IntervalSpan: time.Second, Intervals: []string{enc}, Seconds: make([]analysis.Second, 1)}
		if err := secondsFromIntervals(sum); err != nil {
			t.Fatal(err)
		}
		slices.Sort(samples)
		dist := analysis.Describe(dec)
		wants := map[float64]time.Duration{}
		for _, c := range quantiles {
			k := max((c.num*int64(n)+c.den-1)/c.den, 1)
			one := analysis.NewHistogram()
			_ = one.RecordValue(samples[k-1])
			want := time.Duration(one.Max()) // the highest value of its bucket
			if got := analysis.ValueAt(dec, c.q); got != want {
				t.Errorf("n %d: decoded p%v = %d, want the %d-th sample's %d", n, 100*c.q, got, k, want)
			}
			if got := dist.At(c.q); got != want {
				t.Errorf("n %d: Describe p%v = %d, want %d", n, 100*c.q, got, want)
			}
			wants[c.q] = want
		}
		if sec := sum.Seconds[0]; sec.P50 != wants[0.5] || sec.P90 != wants[0.9] || sec.P99 != wants[0.99] {
			t.Errorf("n %d: per-second p50, p90, p99 = %d, %d, %d; want %d, %d, %d", n, sec.P50, sec.P90, sec.P99, wants[0.5], wants[0.9], wants[0.99])
		}
	}
}
