package main

import (
	"math"
	"testing"
)

func TestFit(t *testing.T) {
	x := []float64{10, 50, 100, 400}
	var y []float64
	for _, v := range x {
		y = append(y, 24000+17*v)
	}
	a, b, ok := fit(x, y)
	if !ok || math.Abs(a-24000) > 1e-6 || math.Abs(b-17) > 1e-9 {
		t.Fatalf("fit = %v + %v x (%v)", a, b, ok)
	}
	if _, _, ok := fit([]float64{100, 101, 100}, []float64{1, 2, 3}); ok {
		t.Fatal("a fit over x that hardly varies")
	}
}

func TestFlat(t *testing.T) {
	c := config{warm: 120e9, limit: 0.02}
	pts := []point{{at: 10e9, rssKB: 20000}, {at: 120e9, rssKB: 30000}, {at: 180e9, rssKB: 30500}}
	if err := flat(pts, c); err != nil {
		t.Fatalf("1.7 %% spread: %v", err)
	}
	pts = append(pts, point{at: 240e9, rssKB: 31000})
	if err := flat(pts, c); err == nil {
		t.Fatal("3.3 % spread passes")
	}
}
