package generator

import (
	"math"
	"testing"
	"time"
)

func TestConstantNext(t *testing.T) {
	tests := []struct {
		c    Constant
		n    uint64
		want time.Duration
		ok   bool
	}{
		{Constant{Rate: 1}, 0, 0, true},                                              // first request at once
		{Constant{Rate: 2}, 9, 4500 * time.Millisecond, true},                        // 2/s, 10th request at 4.5s
		{Constant{Rate: 1000}, 1, time.Millisecond, true},                            // 1000/s => 1ms spacing
		{Constant{Rate: 3}, 3, time.Second, true},                                    // 3/s, 4th at exactly 1s
		{Constant{Rate: 10, Duration: time.Second}, 9, 900 * time.Millisecond, true}, // last one in
		{Constant{Rate: 10, Duration: time.Second}, 10, 0, false},                    // 1s is past the end
	}
	for _, tt := range tests {
		got, ok := tt.c.Next(tt.n)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v.Next(%d) = %v, %v; want %v, %v", tt.c, tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

func TestConstantCount(t *testing.T) {
	// 2000 req/s for 30s is exactly 60,000 requests.
	c := Constant{Rate: 2000, Duration: 30 * time.Second}
	if n := count(c); n != 60000 {
		t.Fatalf("count = %d, want 60000", n)
	}
}

func TestConstantValidate(t *testing.T) {
	for _, r := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := (Constant{Rate: r}).Validate(); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
	if err := (Constant{Rate: 1, Duration: -time.Second}).Validate(); err == nil {
		t.Error("negative duration accepted")
	}
	if err := (Constant{Rate: 0.5, Duration: time.Second}).Validate(); err != nil {
		t.Error(err)
	}
}

func count(s Schedule) int {
	n := 0
	for ; ; n++ {
		if _, ok := s.Next(uint64(n)); !ok {
			return n
		}
	}
}

func TestPoissonStatistics(t *testing.T) {
	const rate, N = 5000.0, 100000
	p := NewPoisson(rate, 0, 42)
	var prev time.Duration
	var sum, sumsq float64
	for n := uint64(0); n < N; n++ {
		at, ok := p.Next(n)
		if !ok {
			t.Fatal("endless schedule ended")
		}
		gap := (at - prev).Seconds()
		sum += gap
		sumsq += gap * gap
		prev = at
	}
	mean := sum / N
	sd := math.Sqrt(sumsq/N - mean*mean)
	if got := 1 / mean; math.Abs(got-rate)/rate > 0.01 {
		t.Errorf("mean rate %.1f, want %v within 1%%", got, rate)
	}
	if cv := sd / mean; math.Abs(cv-1) > 0.02 {
		t.Errorf("coefficient of variation %.3f, want ≈ 1", cv)
	}
}

func TestPoissonReproducible(t *testing.T) {
	a, b, c := NewPoisson(100, 0, 7), NewPoisson(100, 0, 7), NewPoisson(100, 0, 8)
	same := true
	for n := uint64(0); n < 1000; n++ {
		x, _ := a.Next(n)
		y, _ := b.Next(n)
		z, _ := c.Next(n)
		if x != y {
			t.Fatalf("same seed differs at %d: %v vs %v", n, x, y)
		}
		same = same && x == z
	}
	if same {
		t.Fatal("different seeds gave the same schedule")
	}
	// Asking again from the start replays the sequence.
	first, _ := a.Next(0)
	again, _ := b.Next(0)
	if first != again {
		t.Fatalf("restart gave %v, want %v", first, again)
	}
}

func TestPoissonDuration(t *testing.T) {
	// 1000 req/s for 10 s: about 10,000 arrivals (sd 100).
	n := count(NewPoisson(1000, 10*time.Second, 1))
	if n < 9600 || n > 10400 {
		t.Fatalf("count = %d, want 10000 ± 4σ", n)
	}
}

func FuzzScheduleMonotonic(f *testing.F) {
	f.Add(1000.0, uint64(1), uint16(500))
	f.Add(0.5, uint64(99), uint16(3))
	f.Fuzz(func(t *testing.T, rate float64, seed uint64, steps uint16) {
		if (Constant{Rate: rate}).Validate() != nil || rate > 1e9 || rate < 1e-6 {
			return
		}
		for _, s := range []Schedule{Constant{Rate: rate}, NewPoisson(rate, 0, seed)} {
			var prev time.Duration
			for n := uint64(0); n < uint64(steps); n++ {
				at, ok := s.Next(n)
				if !ok {
					t.Fatalf("%v ended at %d", s, n)
				}
				if at < prev {
					t.Fatalf("%v: Next(%d) = %v < %v", s, n, at, prev)
				}
				prev = at
			}
		}
	})
}
