// Package analysis turns the generator's results into numbers people can
// trust: HdrHistograms of response time, service time and send lag per phase
// and per second, the summaries computed from them, and (in later files)
// verdicts, knees and comparisons.
//
// Memory is constant in the number of requests: nothing per request is kept.
package analysis

import (
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every histogram tailgate writes, so that any
// two can be merged exactly: nanoseconds from 1 ns to 1 hour, 3 significant
// digits. Values above the top are clamped to it (and counted as clamped).
const (
	HistLowest  int64 = 1
	HistHighest int64 = int64(time.Hour)
	HistSigFigs       = 3
)

// NewHistogram returns an empty histogram with tailgate's geometry.
func NewHistogram() *hdr.Histogram { return hdr.New(HistLowest, HistHighest, HistSigFigs) }

// CheckGeometry reports whether h can be merged exactly with tailgate's own
// histograms.
func CheckGeometry(h *hdr.Histogram) error {
	if h.LowestTrackableValue() != HistLowest || h.HighestTrackableValue() < HistHighest || h.SignificantFigures() != HistSigFigs {
		return fmt.Errorf("histogram geometry [%d, %d] at %d digits does not match tailgate's [%d, %d] at %d",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), HistLowest, HistHighest, HistSigFigs)
	}
	return nil
}

// Quantiles are the percentiles every summary reports, as q in [0, 1].
var Quantiles = []float64{0.5, 0.9, 0.95, 0.99, 0.999, 0.9999}

// QuantileLabel prints q as a percentile label: 0.99 → "p99", 0.999 → "p99.9".
func QuantileLabel(q float64) string {
	return "p" + trimFloat(q*100)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.4f", f)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// ValueAt returns the value at quantile q (0..1) of h.
func ValueAt(h *hdr.Histogram, q float64) time.Duration {
	return time.Duration(h.ValueAtQuantile(q * 100))
}

// Dist is a latency distribution summarised from a histogram. Durations are
// nanoseconds in JSON.
type Dist struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P95   time.Duration `json:"p95_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p99_9_ns"`
	P9999 time.Duration `json:"p99_99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Describe summarises h. An empty histogram gives a zero Dist.
func Describe(h *hdr.Histogram) Dist {
	if h == nil || h.TotalCount() == 0 {
		return Dist{}
	}
	v := h.ValueAtPercentilesSlice([]float64{50, 90, 95, 99, 99.9, 99.99})
	return Dist{
		Count: h.TotalCount(),
		Min:   time.Duration(h.Min()),
		Mean:  time.Duration(h.Mean()),
		P50:   time.Duration(v[0]),
		P90:   time.Duration(v[1]),
		P95:   time.Duration(v[2]),
		P99:   time.Duration(v[3]),
		P999:  time.Duration(v[4]),
		P9999: time.Duration(v[5]),
		Max:   time.Duration(h.Max()),
	}
}

// At returns the field for quantile q if it is one of Quantiles, else -1.
func (d Dist) At(q float64) time.Duration {
	switch q {
	case 0.5:
		return d.P50
	case 0.9:
		return d.P90
	case 0.95:
		return d.P95
	case 0.99:
		return d.P99
	case 0.999:
		return d.P999
	case 0.9999:
		return d.P9999
	case 1:
		return d.Max
	}
	return -1
}
