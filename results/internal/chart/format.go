package chart

import (
	"math"
	"strconv"
)

// palette is a colour-blind-friendly set (Okabe–Ito, reordered).
var palette = [...]string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"}

// Palette returns the i-th colour of the palette (cycling), the colour a
// series at index i takes when it sets none. Pages that draw two runs
// give each run one colour with it.
func Palette(i int) string { return palette[i%len(palette)] }

// FaultColor is the red of fault spans, for series about failures.
const FaultColor = "#d62728"

// DurationTick labels a latency tick (nanoseconds): 250µs, 2.5ms, 1s.
func DurationTick(v float64) string {
	a := math.Abs(v)
	unit, div := "ns", 1.0
	switch {
	case a == 0:
		return "0"
	case a >= 1e9:
		unit, div = "s", 1e9
	case a >= 1e6:
		unit, div = "ms", 1e6
	case a >= 1e3:
		unit, div = "µs", 1e3
	}
	return strconv.FormatFloat(v/div, 'g', 4, 64) + unit
}

// SecondsTick labels a time tick (seconds): 0s, 2.5s, 120s.
func SecondsTick(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) + "s" }

// RateTick labels a rate or count tick: 500, 2500, 12k, 1.5M.
func RateTick(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// LatencyAxis is a y axis for latencies in nanoseconds, from zero,
// labelled with DurationTick: log10 when the positive values of vals span
// more than ~30×, so that a tail does not flatten the body; linear
// otherwise.
func LatencyAxis(vals ...[]float64) Axis {
	return Axis{Label: "latency", Scale: latencyScale(vals...), FromZero: true, Format: DurationTick}
}

// latencyScale picks a log axis when the values span more than ~30×.
func latencyScale(vals ...[]float64) Scale {
	lo, hi := math.Inf(1), 0.0
	for _, vs := range vals {
		for _, v := range vs {
			if v > 0 && !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi > 0 && hi/lo > 30 {
		return Log10
	}
	return Linear
}

// Nines is the position of quantile q on a NinesAxis: −log10(1−q), so
// 0.9 → 1, 0.99 → 2.
func Nines(q float64) float64 { return -math.Log10(1 - q) }

// NinesAxis is the x axis of a percentile distribution, with x =
// Nines(q): 90 %, 99 %, 99.9 % … are evenly spaced, from p50 to p99.999.
func NinesAxis() Axis {
	return Axis{
		Label: "percentile",
		Min:   Nines(0.5), Max: 5,
		Ticks: []Tick{{Nines(0.5), "50"}, {1, "90"}, {2, "99"}, {3, "99.9"}, {4, "99.99"}, {5, "99.999"}},
	}
}
