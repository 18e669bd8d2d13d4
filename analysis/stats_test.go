package analysis

import (
	"math"
	"testing"
)

func TestMannWhitney(t *testing.T) {
	tests := []struct {
		a, b []float64
		u, p float64
	}{
		// Ranks of B: 4.5 (tie with A's 1.4), 7, 8, 9, 10: R = 38.5,
		// U = 38.5 − 15 = 23.5. μ = 12.5; one pair tied: Σ(t³−t) = 6,
		// σ² = 25/12 · (11 − 6/90) = 22.78; z = (11 − 0.5)/4.7726 = 2.2001.
		{[]float64{1.1, 1.2, 1.3, 1.4, 1.5}, []float64{1.4, 1.6, 1.7, 1.8, 1.9}, 23.5, 0.027803},
		// No ties: U = 9, μ = 4.5, σ² = 9/12 · 7 = 5.25, z = 4/2.2913.
		{[]float64{3, 1, 2}, []float64{6, 5, 4}, 9, 0.080856},
		// The other way round: U = 0, the same p.
		{[]float64{6, 5, 4}, []float64{3, 1, 2}, 0, 0.080856},
		// Interleaved: U = 3 (2 > 1, 4 > 1, 4 > 3), μ = 2, σ² = 4/12 · 5,
		// z = 0.5/1.2910.
		{[]float64{1, 3}, []float64{2, 4}, 3, 0.698535},
		// U = μ: z is 0 after the continuity correction, p = 1.
		{[]float64{1, 4}, []float64{2, 3}, 2, 1},
		// All tied.
		{[]float64{2, 2}, []float64{2, 2, 2}, 3, 1},
	}
	for _, tt := range tests {
		u, p := MannWhitney(tt.a, tt.b)
		if u != tt.u || math.Abs(p-tt.p) > 1e-6 {
			t.Errorf("MannWhitney(%v, %v) = %v, %.6f; want %v, %.6f", tt.a, tt.b, u, p, tt.u, tt.p)
		}
	}
	if u, p := MannWhitney(nil, []float64{1}); !math.IsNaN(u) || !math.IsNaN(p) {
		t.Errorf("empty side: %v, %v", u, p)
	}
}

func TestStudentQuantile(t *testing.T) {
	tests := []struct{ p, nu, want float64 }{
		{0.975, 1, 12.7062},
		{0.975, 2, 4.3027},
		{0.975, 4, 2.7764},
		{0.975, 30, 2.0423},
		{0.95, 10, 1.8125},
		{0.975, 1e9, 1.9600},
	}
	for _, tt := range tests {
		if got := studentQuantile(tt.p, tt.nu); math.Abs(got-tt.want) > 1e-4 {
			t.Errorf("studentQuantile(%v, %v) = %.5f, want %.4f", tt.p, tt.nu, got, tt.want)
		}
	}
}
