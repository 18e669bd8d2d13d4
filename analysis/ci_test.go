package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestCIRanks(t *testing.T) {
	tests := []struct {
		n    int64
		q    float64
		j, k int64
		ok   bool
	}{
		// nq = 990, 1.96·√9.9 = 6.17: ⌊983.8⌋ = 983, ⌈996.2⌉+1 = 998
		{1000, 0.99, 983, 998, true},
		// nq = 50, 1.96·√25 = 9.8: ⌊40.2⌋ = 40, ⌈59.8⌉+1 = 61
		{100, 0.5, 40, 61, true},
		// nq = 99, 1.96·√0.99 = 1.95: k = ⌈100.95⌉+1 = 102 > 100, clamped
		{100, 0.99, 97, 100, false},
		// p99.99 of 5,000 samples: no interval
		{5000, 0.9999, 4998, 5000, false},
		// q outside (0, 1)
		{1000, 1, 1, 1000, false},
		{0, 0.5, 1, 1, false},
	}
	for _, tt := range tests {
		j, k, ok := CIRanks(tt.n, tt.q, 0.95)
		if j != tt.j || k != tt.k || ok != tt.ok {
			t.Errorf("CIRanks(%d, %v) = %d, %d, %v; want %d, %d, %v", tt.n, tt.q, j, k, ok, tt.j, tt.k, tt.ok)
		}
	}
}

func TestMinSamples(t *testing.T) {
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 0.99999} {
		n := MinSamples(q)
		if _, _, ok := CIRanks(int64(n), q, 0.95); !ok {
			t.Errorf("MinSamples(%v) = %d, but the interval does not exist there", q, n)
		}
		if _, _, ok := CIRanks(int64(n-1), q, 0.95); ok {
			t.Errorf("MinSamples(%v) = %d, but %d is enough", q, n, n-1)
		}
		// and it stays enough beyond
		for m := int64(n); m < int64(n)+2000; m += 7 {
			if _, _, ok := CIRanks(m, q, 0.95); !ok {
				t.Errorf("q %v: %d samples not enough though MinSamples is %d", q, m, n)
				break
			}
		}
	}
	if n := MinSamples(0.9999); n < 10000 || n > 100000 {
		t.Errorf("MinSamples(p99.99) = %d, want tens of thousands", n)
	}
	if MinSamples(1) != 0 || MinSamples(0) != 0 {
		t.Error("MinSamples outside (0, 1) should be 0")
	}
}

// The histogram's interval agrees with the exact order statistics of the
// raw samples: the j-th and k-th smallest fall in the buckets of lo and hi.
func TestQuantileCIMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{50, 600, 5000, 60000} {
		h := NewHistogram()
		raw := make([]int64, n)
		for i := range raw {
			// log-normal around 2 ms with a heavy tail, plus a few ties
			v := int64(2e6 * math.Exp(0.8*rng.NormFloat64()))
			if i%10 == 0 {
				v = 1_500_000
			}
			raw[i] = v
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(raw)
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 0.9999} {
			j, k, wantOK := CIRanks(int64(n), q, 0.95)
			lo, hi, ok := QuantileCI(h, q, 0.95)
			if ok != wantOK {
				t.Errorf("n %d q %v: ok %v, want %v", n, q, ok, wantOK)
			}
			exLo, exHi := raw[j-1], raw[k-1]
			if int64(lo) > exLo || !h.ValuesAreEquivalent(int64(lo), exLo) {
				t.Errorf("n %d q %v: lo %d, exact order statistic %d (rank %d)", n, q, lo, exLo, j)
			}
			if int64(hi) < exHi || !h.ValuesAreEquivalent(int64(hi), exHi) {
				t.Errorf("n %d q %v: hi %d, exact order statistic %d (rank %d)", n, q, hi, exHi, k)
			}
			if p := ValueAt(h, q); ok && (p < lo || p > hi) {
				t.Errorf("n %d q %v: point estimate %v outside [%v, %v]", n, q, p, lo, hi)
			}
		}
	}
}

// The 95 % interval covers the true quantile in about 95 % of samples.
func TestQuantileCICoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials, n, q = 200, 2000, 0.99
	mean := float64(time.Millisecond)
	truth := time.Duration(-mean * math.Log(1-q)) // exponential quantile
	covered := 0
	for range trials {
		h := NewHistogram()
		for range n {
			_ = h.RecordValue(int64(rng.ExpFloat64() * mean))
		}
		lo, hi, ok := QuantileCI(h, q, 0.95)
		if !ok {
			t.Fatal("no interval")
		}
		if lo <= truth && truth <= hi {
			covered++
		}
	}
	if covered < trials*90/100 {
		t.Errorf("covered the true p99 in %d of %d trials, want about 95%%", covered, trials)
	}
}

func TestQuantileCIEmpty(t *testing.T) {
	if _, _, ok := QuantileCI(NewHistogram(), 0.99, 0.95); ok {
		t.Error("empty histogram has an interval")
	}
	if _, _, ok := QuantileCI(nil, 0.99, 0.95); ok {
		t.Error("nil histogram has an interval")
	}
}
