package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func uslPoints(sigma, kappa, lambda float64, ns []float64, noise func() float64) []USLPoint {
	truth := USLFit{Sigma: sigma, Kappa: kappa, Lambda: lambda}
	var pts []USLPoint
	for _, n := range ns {
		x := truth.Throughput(n)
		if noise != nil {
			x *= noise()
		}
		pts = append(pts, USLPoint{N: n, X: x})
	}
	return pts
}

func uslNear(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

func TestFitUSLExact(t *testing.T) {
	tests := []struct {
		name                 string
		sigma, kappa, lambda float64
		ns                   []float64
	}{
		// N = 1 … 64 including N = 1: Gunther's setting
		{"with-1", 0.05, 0.001, 1000, []float64{1, 2, 4, 8, 16, 24, 32, 48, 64}},
		// no N = 1: λ comes from the intercept
		{"without-1", 0.02, 0.0005, 250, []float64{2, 3, 5, 8, 13, 21, 34}},
		// fractional N, as LittleN gives in a rate sweep
		{"fractional", 0.1, 0.002, 5000, []float64{0.4, 1.7, 3.3, 6.1, 9.8, 15.2}},
	}
	for _, tt := range tests {
		f, err := FitUSL(uslPoints(tt.sigma, tt.kappa, tt.lambda, tt.ns, nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !uslNear(f.Sigma, tt.sigma, 1e-6) || !uslNear(f.Kappa, tt.kappa, 1e-6) || !uslNear(f.Lambda, tt.lambda, 1e-6) {
			t.Errorf("%s: σ=%v κ=%v λ=%v; want %v %v %v", tt.name, f.Sigma, f.Kappa, f.Lambda, tt.sigma, tt.kappa, tt.lambda)
		}
		wantN := math.Sqrt((1 - tt.sigma) / tt.kappa)
		if !uslNear(f.PeakN, wantN, 1e-6) || !uslNear(f.PeakX, f.Throughput(wantN), 1e-9) {
			t.Errorf("%s: peak %v at N=%v, want N=%v", tt.name, f.PeakX, f.PeakN, wantN)
		}
		if f.R2 < 0.999999 || f.Points != len(tt.ns) {
			t.Errorf("%s: R² = %v, Points = %d", tt.name, f.R2, f.Points)
		}
	}
}

func TestFitUSLPeak(t *testing.T) {
	// σ = 0.05, κ = 0.001: N* = √(0.95/0.001) ≈ 30.8,
	// X(N*) = 1000·30.8/(1 + 0.05·29.8 + 0.001·30.8·29.8) ≈ 9,040.
	f, err := FitUSL(uslPoints(0.05, 0.001, 1000, []float64{1, 2, 4, 8, 16, 32, 64}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !uslNear(f.PeakN, 30.82, 1e-3) || !uslNear(f.PeakX, 9038, 1e-3) {
		t.Errorf("peak %v at %v", f.PeakX, f.PeakN)
	}
	if s := f.String(); !strings.Contains(s, "peak 9,040 req/s at N≈31") {
		t.Errorf("String() = %q", s)
	}
}

func TestFitUSLNoisy(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 3))
		noise := func() float64 { return 1 + 0.02*(2*rng.Float64()-1) } // ±2 %
		ns := []float64{1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128}
		f, err := FitUSL(uslPoints(0.03, 0.0002, 800, ns, noise))
		if err != nil {
			t.Fatal(err)
		}
		// N* = √(0.97/0.0002) ≈ 69.6
		if !uslNear(f.PeakN, 69.6, 0.15) || !uslNear(f.Lambda, 800, 0.05) || f.R2 < 0.98 {
			t.Errorf("seed %d: %v", seed, f)
		}
	}
}

func TestFitUSLClamped(t *testing.T) {
	// Linear scaling with a little noise: the unconstrained fit may give
	// a slightly negative σ or κ; both stay ≥ 0.
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 4))
		noise := func() float64 { return 1 + 0.01*(2*rng.Float64()-1) }
		f, err := FitUSL(uslPoints(0, 0, 100, []float64{1, 2, 4, 8, 16}, noise))
		if err != nil {
			t.Fatal(err)
		}
		if f.Sigma < 0 || f.Kappa < 0 || !uslNear(f.Lambda, 100, 0.05) {
			t.Errorf("seed %d: %v", seed, f)
		}
	}

	// Pure contention (κ = 0): no peak, throughput levels off at λ/σ.
	f, err := FitUSL(uslPoints(0.1, 0, 100, []float64{1, 2, 4, 8, 16, 32}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(f.PeakN, 1) || !uslNear(f.PeakX, 1000, 1e-6) || !strings.Contains(f.String(), "levels off at 1,000 req/s") {
		t.Errorf("κ = 0: %v (PeakN %v, PeakX %v)", f, f.PeakN, f.PeakX)
	}

	// Superlinear data (σ < 0 in truth) is fitted with σ = 0.
	f, err = FitUSL(uslPoints(-0.05, 0.001, 100, []float64{1, 2, 4, 8, 16}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Sigma != 0 || f.Kappa < 0 {
		t.Errorf("superlinear: %v", f)
	}
}

func TestFitUSLErrors(t *testing.T) {
	for name, pts := range map[string][]USLPoint{
		"empty":     nil,
		"two-N":     {{1, 10}, {2, 19}, {2, 18}},
		"zero-X":    {{1, 10}, {2, 0}, {4, 30}},
		"negative":  {{-1, 10}, {2, 19}, {4, 30}},
		"nan":       {{math.NaN(), 10}, {2, 19}, {4, 30}},
		"inf-x":     {{1, math.Inf(1)}, {2, 19}, {4, 30}},
		"one-point": {{1, 10}},
	} {
		if _, err := FitUSL(pts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLittleN(t *testing.T) {
	// 1,000 req/s × 20 ms = 20 in flight
	if got := LittleN(1000, 20*time.Millisecond); got != 20 {
		t.Errorf("LittleN = %v, want 20", got)
	}
	if got := LittleN(0, time.Second); got != 0 {
		t.Errorf("LittleN(0) = %v", got)
	}
}

func ExampleFitUSL() {
	// Closed-loop throughput at 1 … 64 in flight (σ = 0.05, κ = 0.001, λ = 1,000 req/s).
	var pts []USLPoint
	for _, n := range []float64{1, 2, 4, 8, 16, 32, 64} {
		pts = append(pts, USLPoint{N: n, X: 1000 * n / (1 + 0.05*(n-1) + 0.001*n*(n-1))})
	}
	f, err := FitUSL(pts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f)
	// Output:
	// σ=0.05 κ=0.001 λ=1,000 req/s; peak 9,040 req/s at N≈31 (R²=1.000)
}
