package demo

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// TestLatencyDistribution measures, in virtual time, the latency of many
// cache misses through the handler.
func TestLatencyDistribution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := DefaultConfig()
		c.CacheTTL = 0 // every request calls the dependency
		c.Seed = 42
		h := newServer(t, c).Handler()
		const n = 20000
		lat := make([]time.Duration, n)
		for i := range lat {
			rec, d := timed(h, "GET", "/item?key=k", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			lat[i] = d
		}
		s := sortDurations(lat)
		p50, p90, p99, p999 := quantile(s, 0.5), quantile(s, 0.9), quantile(s, 0.99), quantile(s, 0.999)
		t.Logf("p50 %v p90 %v p99 %v p99.9 %v max %v", p50, p90, p99, p999, s[n-1])

		within := func(name string, got, want time.Duration, tol float64) {
			t.Helper()
			if r := float64(got) / float64(want); r < 1-tol || r > 1+tol {
				t.Errorf("%s = %v, want %v ± %.0f%%", name, got, want, tol*100)
			}
		}
		within("p50", p50, c.DepMedian, 0.10)
		// p90 of the mixture: median × exp(σ × Φ⁻¹(0.9/0.99)) ≈ 3.90ms.
		within("p90", p90, 3900*time.Microsecond, 0.10)
		if p99 < 4*p50 {
			t.Errorf("p99 %v not well above the median %v", p99, p50)
		}
		// p99.9 lies in the heavy tail: at least 0.5 × TailLatency.
		if p999 < c.TailLatency/2 {
			t.Errorf("p99.9 %v below the tail's lower bound %v", p999, c.TailLatency/2)
		}
		if s[0] <= 0 {
			t.Errorf("min latency %v", s[0])
		}
	})
}

// TestSampleLatency checks the sampler alone: tail fraction and bounds.
func TestSampleLatency(t *testing.T) {
	p := newRNGPool(1)
	r := p.get()
	defer p.put(r)
	const n = 200000
	const prob = 0.02
	tail := 0
	for range n {
		d := sampleLatency(r, 0, 0, prob, 40*time.Millisecond)
		if d != 0 {
			if d < 20*time.Millisecond || d > 60*time.Millisecond {
				t.Fatalf("tail extra %v outside [20ms, 60ms]", d)
			}
			tail++
		}
	}
	// Binomial: mean 4000, sd ≈ 63; allow 6 sd.
	if tail < 4000-380 || tail > 4000+380 {
		t.Errorf("%d tail calls of %d, want ≈ %d", tail, n, int(prob*n))
	}
	if d := sampleLatency(r, 3*time.Millisecond, 0, 0, 0); d != 3*time.Millisecond {
		t.Errorf("σ = 0: %v, want 3ms", d)
	}
	if d := sampleLatency(r, time.Hour, 5, 0, 0); d > maxLatency {
		t.Errorf("not clamped: %v", d)
	}
}

// TestRNGPoolDistinctSources checks pooled sources are not copies of each
// other.
func TestRNGPoolDistinctSources(t *testing.T) {
	p := newRNGPool(7)
	a, b := p.get(), p.get()
	if a == b {
		t.Fatal("same source handed out twice")
	}
	same := 0
	for range 4 {
		if a.Uint64() == b.Uint64() {
			same++
		}
	}
	if same == 4 {
		t.Error("sources produce the same stream")
	}
}
