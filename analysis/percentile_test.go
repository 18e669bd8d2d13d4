package analysis

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// decimalQ is a quantile written as a decimal fraction num/den, so that its
// nearest rank can be computed exactly, in integers.
type decimalQ struct {
	s        string // as written, e.g. "0.999"
	num, den int64
}

func parseDecimalQ(t testing.TB, s string) decimalQ {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	num, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	den := int64(1)
	for range frac {
		den *= 10
	}
	return decimalQ{s: s, num: num, den: den}
}

// rank is ⌈num·n/den⌉, at least 1: the nearest rank, exactly.
func (d decimalQ) rank(n int64) int64 {
	return max((d.num*n+d.den-1)/d.den, 1)
}

func (d decimalQ) float(t testing.TB) float64 {
	q, err := strconv.ParseFloat(d.s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// reportedQ are the quantiles tailgate reports.
var reportedQ = []string{"0.5", "0.9", "0.95", "0.99", "0.999", "0.9999"}

// Rank is ⌈q·n⌉ exactly, for quantiles written as decimals, whether q is
// parsed directly or from a percentile divided by 100: floating-point
// error never moves it by a count (0.07·100 is 7.000000000000001 in
// floating point; its rank is 7, not 8).
func TestRankIsExactCeiling(t *testing.T) {
	qs := append([]string{"0.07", "0.1", "0.2", "0.29", "0.3", "0.57", "0.7", "0.75", "0.8", "0.999999"}, reportedQ...)
	for _, s := range qs {
		d := parseDecimalQ(t, s)
		direct := d.float(t)
		// The percentile as written ("99.9"), parsed.
		pct, err := strconv.ParseFloat(big.NewRat(100*d.num, d.den).FloatString(8), 64)
		if err != nil {
			t.Fatal(err)
		}
		fromPct := pct / 100 // as an SLO's "p99.9" becomes a quantile
		for n := int64(1); n <= 20000; n++ {
			want := d.rank(n)
			if got := Rank(direct, n); got != want {
				t.Fatalf("Rank(%s, %d) = %d, want ⌈q·n⌉ = %d", s, n, got, want)
			}
			if got := Rank(fromPct, n); got != want {
				t.Fatalf("Rank(%v/100, %d) = %d, want %d", pct, n, got, want)
			}
		}
		for _, n := range []int64{1e6, 1e7 + 3, 123456789, 1e10 + 7} {
			if got, want := Rank(direct, n), d.rank(n); got != want {
				t.Fatalf("Rank(%s, %d) = %d, want %d", s, n, got, want)
			}
		}
	}
	for _, c := range []struct {
		q    float64
		n    int64
		want int64
	}{
		{0, 10, 1}, {-1, 10, 1}, {math.NaN(), 10, 1}, {1, 10, 10}, {2, 10, 10},
		{1, 1, 1}, {0.5, 0, 0}, {1e-12, 10, 1}, {1, 1 << 40, 1 << 40},
	} {
		if got := Rank(c.q, c.n); got != c.want {
			t.Errorf("Rank(%v, %d) = %d, want %d", c.q, c.n, got, c.want)
		}
	}
}

// sampleSets are recorded-value sets whose percentiles are checked against
// the raw samples. "issue" is the reported case: 900 samples, where
// hdrhistogram-go's rounded rank reads p99.9 from the 899th (29.4 ms)
// and the reference implementations from the 900th (49 ms).
func sampleSets() map[string][]int64 {
	rng := rand.New(rand.NewPCG(11, 12))
	sets := map[string][]int64{
		"one":  {7_654_321},
		"two":  {1_000, 250_000_000},
		"ten":  {5, 900, 3_000, 3_001, 70_000, 1_234_567, 9_000_000, 9_000_001, 45_000_000, 2_000_000_000},
		"zero": {0, 0, 0, 1, 2},
	}
	issue := make([]int64, 0, 900)
	for range 898 {
		issue = append(issue, int64(1_000_000+rng.IntN(20_000_000)))
	}
	issue = append(issue, 29_400_000, 49_000_000)
	sets["issue"] = issue
	thousand := make([]int64, 1000)
	for i := range thousand {
		thousand[i] = int64(2_000_000 + rng.ExpFloat64()*1_500_000)
	}
	sets["thousand"] = thousand
	// Spread across magnitudes, 1 ns to an hour, with repeats.
	spread := values(rng, 5000)
	spread = append(spread, spread[:700]...)
	sets["spread"] = spread
	return sets
}

// highestEquivalent is the highest value in v's bucket, read from
// hdrhistogram-go itself: the Max of a histogram holding only v.
func highestEquivalent(v int64) int64 {
	h := NewHistogram()
	_ = h.RecordValue(v)
	return h.Max()
}

// Every way tailgate reads a percentile from a histogram gives the
// nearest-rank value computed from the raw samples: the k-th smallest,
// k = ⌈q·n⌉, at the histogram's resolution.
func TestPercentilesAreNearestRankOfSamples(t *testing.T) {
	for name, samples := range sampleSets() {
		sorted := slices.Clone(samples)
		slices.Sort(sorted)
		n := int64(len(sorted))
		h := NewHistogram()
		f := newFlat(geoMain)
		for _, v := range samples {
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
			f.record(v)
		}
		var enc flatEncoder
		s, err := enc.encode(f)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := DecodeHist(s)
		if err != nil {
			t.Fatal(err)
		}
		dist := Describe(h)
		qs := make([]float64, len(reportedQ))
		for i, qs0 := range reportedQ {
			qs[i] = parseDecimalQ(t, qs0).float(t)
		}
		flatVals := make([]int64, len(qs))
		f.quantiles(qs, flatVals)
		many := ValuesAt(h, qs)
		for i, qs0 := range reportedQ {
			d := parseDecimalQ(t, qs0)
			q := qs[i]
			k := d.rank(n)
			want := time.Duration(highestEquivalent(sorted[k-1]))
			for _, got := range []struct {
				how string
				v   time.Duration
			}{
				{"ValueAt", ValueAt(h, q)},
				{"ValuesAt", many[i]},
				{"Describe", dist.At(q)},
				{"flat", time.Duration(flatVals[i])},
				{"ValueAt(decoded)", ValueAt(decoded, q)},
				{"ValueAtRank", ValueAtRank(h, k)},
				{"sparseSlow", time.Duration(sparseSlow(h).value(q))},
			} {
				if got.v != want {
					t.Errorf("%s: %s p%v = %d, want the %d-th of %d samples at resolution, %d", name, got.how, 100*q, got.v, k, n, want)
				}
			}
			// The confidence interval holds the point estimate.
			if lo, hi, _ := QuantileCI(h, q, 0.95); lo > want || want > hi {
				t.Errorf("%s: p%v = %d outside its interval [%d, %d]", name, 100*q, want, lo, hi)
			}
		}
		if got, want := ValueAt(h, 1), time.Duration(h.Max()); got != want {
			t.Errorf("%s: ValueAt(1) = %d, max %d", name, got, want)
		}
		if got, want := ValueAt(h, 0), time.Duration(h.Min()); got != want {
			t.Errorf("%s: ValueAt(0) = %d, min %d", name, got, want)
		}
		for k := int64(1); k <= n; k += max(n/97, 1) {
			if got, want := ValueAtRank(h, k), time.Duration(highestEquivalent(sorted[k-1])); got != want {
				t.Errorf("%s: ValueAtRank(%d) = %d, want %d", name, k, got, want)
			}
		}
	}
}

// The reported case: at 900 samples the rounded rank of p99.9 is 899
// (⌊899.1 + ½⌋) and the nearest rank 900. tailgate reads the 900th.
func TestP999Of900IsTheLargest(t *testing.T) {
	samples := sampleSets()["issue"]
	h := NewHistogram()
	for _, v := range samples {
		_ = h.RecordValue(v)
	}
	got, rounded := ValueAt(h, 0.999), time.Duration(h.ValueAtQuantile(99.9))
	if want := time.Duration(highestEquivalent(49_000_000)); got != want {
		t.Errorf("p99.9 of 900 = %v, want the largest sample's bucket, %v", got, want)
	}
	if rounded != time.Duration(highestEquivalent(29_400_000)) || rounded >= got {
		t.Errorf("hdrhistogram-go's rounded p99.9 = %v; the case no longer shows the difference (nearest rank %v)", rounded, got)
	}
}

// The empty histogram reads 0 everywhere; ValueAtRank clamps k.
func TestPercentileEdges(t *testing.T) {
	h := NewHistogram()
	if ValueAt(h, 0.99) != 0 || ValueAtRank(h, 1) != 0 || ValueAt(nil, 0.5) != 0 || Describe(h) != (Dist{}) {
		t.Fatal("an empty histogram has a percentile")
	}
	for _, v := range []int64{10, 20, 30} {
		_ = h.RecordValue(v)
	}
	if ValueAtRank(h, 0) != 10 || ValueAtRank(h, 99) != 30 {
		t.Errorf("ValueAtRank out of range: %d, %d", ValueAtRank(h, 0), ValueAtRank(h, 99))
	}
	// Geometries other than the main one read the same way.
	e := hdr.New(HistLowest, HistHighest, EndpointSigFigs)
	var sorted []int64
	for v := int64(1000); v < 200_000; v = v*11/10 + 7 {
		_ = e.RecordValue(v)
		sorted = append(sorted, v)
	}
	one := hdr.New(HistLowest, HistHighest, EndpointSigFigs)
	k := parseDecimalQ(t, "0.9").rank(int64(len(sorted)))
	_ = one.RecordValue(sorted[k-1])
	if got := ValueAt(e, 0.9); got != time.Duration(one.Max()) {
		t.Errorf("2-digit p90 = %d, want %d", got, one.Max())
	}
}

// The point estimate lies inside its order-statistic interval for every
// n and quantile: the interval's ranks bracket the nearest rank.
func TestCIRanksHoldTheNearestRank(t *testing.T) {
	for _, s := range reportedQ {
		q := parseDecimalQ(t, s).float(t)
		for n := int64(1); n <= 30000; n++ {
			j, k, _ := CIRanks(n, q, 0.95)
			if r := Rank(q, n); r < j || r > k {
				t.Fatalf("q %s, n %d: rank %d outside [%d, %d]", s, n, r, j, k)
			}
		}
	}
}
