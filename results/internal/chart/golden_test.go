package chart

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGolden renders charts that use every element and option (a log
// axis, fixed and fitted ranges, wrapped legend, dashed, dotted, hollow
// and unnamed series, a gap, alternating phase spans, fault spans on two
// label rows, a span too narrow to draw, rules on both sides and off the
// axis, an empty chart) and compares the SVG byte for byte with
// testdata/golden.svg; go test -update rewrites it after an intended
// change. The structural tests say what must hold; this one says that
// nothing else moved.
func TestGolden(t *testing.T) {
	ms := func(v ...float64) []float64 {
		for i := range v {
			v[i] *= 1e6
		}
		return v
	}
	xs := []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5}
	full := &Chart{
		Title: "Latency over time (per second of completion), a title long enough to wrap the legend",
		X:     Axis{Label: "time since start", Min: 0, Max: 10, Format: SecondsTick},
		Y:     LatencyAxis(ms(1.1, 1.3, 1.2, 1.4, 9, 48, 52, 3, 1.3, 1.2)),
		Series: []Series{
			{Name: "p50", X: xs, Y: ms(0.9, 1.0, 0.95, 1.1, 2, 4, 4.2, 1.4, 1.0, 0.97)},
			{Name: "p99", X: xs, Y: ms(1.1, 1.3, 1.2, 1.4, 9, 48, 52, 3, 1.3, 1.2), Points: true},
			{Name: "service p99", X: xs, Y: ms(1, 1.2, math.NaN(), 1.3, 5, 20, 21, 2, 1.2, 1.1), Dash: true},
			{Name: "saturated step", X: []float64{6, 7}, Y: ms(30, 40), NoLine: true, Hollow: true, Color: "#6b7280"},
			{X: []float64{0, 10}, Y: ms(10, 10), Color: "#9ca3af"},
		},
		Spans: []Span{
			{From: 0, To: 2, Label: "warm (warm-up)"},
			{From: 2, To: 5, Label: "steady"},
			{From: 5, To: 10, Label: "degraded"},
			{From: 5.5, To: 7.25, Label: "slow-db on db", Kind: SpanFault, Row: 1},
			{From: 6, To: 9, Label: "lossy 30% on cache", Kind: SpanFault, Row: 2},
			{From: 3, To: 3.001, Label: "too narrow"},
		},
		Markers: []Marker{
			{At: 1.2, Vertical: true, Label: "left rule"},
			{At: 8.2, Vertical: true, Label: "right rule", Color: "#b45309"},
			{At: 20e6, Label: "SLO p99 < 20ms"},
			{At: 42, Vertical: true, Label: "off the axis"},
		},
	}
	rates := &Chart{
		Title:  "Achieved against offered rate",
		Width:  640,
		Height: 240,
		X:      Axis{Label: "offered rate (req/s)", FromZero: true, Pad: 0.03, Format: RateTick},
		Y:      Axis{Label: "achieved (req/s)", FromZero: true, Format: RateTick},
		Series: []Series{
			{Name: "achieved", X: []float64{1000, 4000, 7000, 10000, 13000}, Y: []float64{1000, 3990, 6950, 9100, 9200}, Points: true},
			{Name: "ideal", X: []float64{0, 13000}, Y: []float64{0, 13000}, Dash: true},
		},
		Markers: []Marker{{At: 9800, Vertical: true, Label: "knee 9,800 req/s"}},
	}
	empty := &Chart{Title: "Percentile distribution", X: NinesAxis(), Y: LatencyAxis(), Series: []Series{{Name: "response time"}}, Empty: "no responses"}
	var got bytes.Buffer
	for _, c := range []*Chart{full, rates, empty} {
		got.WriteString(string(c.SVG()))
		got.WriteString("\n")
	}
	path := filepath.Join("testdata", "golden.svg")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the charts differ from %s (go test -update rewrites it after an intended change):\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
	}
}
