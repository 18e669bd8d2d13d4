package results

import (
	"fmt"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
	"tailgate/results/internal/chart"
)

// A run as chart data: its percentile curve, its per-second series, its
// phases and faults as spans.

// percentileCurve samples h's quantile function on a fine grid of the
// nines axis, from p50 up to p99.999 or to where the histogram runs out
// of samples (1 − q < 1/n), whichever comes first. Values are ns.
func percentileCurve(h *hdr.Histogram) (xs, ys []float64) {
	if h == nil || h.TotalCount() == 0 {
		return nil, nil
	}
	const steps = 240
	lo, hi := chart.Nines(0.5), 5.0
	if top := math.Log10(float64(h.TotalCount())); top < hi {
		hi = math.Max(top, lo)
	}
	qs := make([]float64, 0, steps+1)
	for i := 0; i <= steps; i++ {
		x := lo + (hi-lo)*float64(i)/steps
		xs = append(xs, x)
		qs = append(qs, 1-math.Pow(10, -x))
	}
	for _, v := range analysis.ValuesAt(h, qs) {
		ys = append(ys, float64(v))
	}
	return xs, ys
}

// timeline is a run's per-second series.
type runTimeline struct {
	t                          []float64 // second midpoints
	p50, p99, max, svc99       []float64
	offered, completed, errors []float64
}

func timelineOf(s *analysis.Summary) runTimeline {
	var tl runTimeline
	for _, sec := range s.Seconds {
		tl.t = append(tl.t, float64(sec.T)+0.5)
		lat := func(d time.Duration) float64 {
			if sec.Completed == 0 {
				return math.NaN()
			}
			return float64(d)
		}
		tl.p50 = append(tl.p50, lat(sec.P50))
		tl.p99 = append(tl.p99, lat(sec.P99))
		tl.max = append(tl.max, lat(sec.Max))
		tl.svc99 = append(tl.svc99, lat(sec.ServiceP99))
		tl.offered = append(tl.offered, float64(sec.Offered))
		tl.completed = append(tl.completed, float64(sec.Completed))
		tl.errors = append(tl.errors, float64(sec.Errors))
	}
	return tl
}

// runSpans returns a run's phases and fault windows as shaded spans, in
// seconds, and its one-off actions (and faults applied at the very end)
// as vertical markers.
func runSpans(f *File, prefix string) (spans []chart.Span, markers []chart.Marker) {
	for _, p := range f.Summary.Phases {
		label := prefix + p.Name
		if p.Warmup {
			label += " (warm-up)"
		}
		spans = append(spans, chart.Span{From: p.Start.Seconds(), To: (p.Start + p.Duration).Seconds(), Label: label, Kind: chart.SpanPhase})
	}
	end := runEnd(f)
	row := 0
	for _, fw := range f.Faults {
		label := faultLabel(fw)
		if fw.Action != "" || (fw.Removed == 0 && fw.Applied.Seconds() >= end) {
			markers = append(markers, chart.Marker{At: fw.Applied.Seconds(), Vertical: true, Label: label})
			continue
		}
		to := fw.Removed.Seconds()
		if fw.Removed <= fw.Applied {
			to = end // never removed
		}
		row++
		spans = append(spans, chart.Span{From: fw.Applied.Seconds(), To: to, Label: label, Kind: chart.SpanFault, Row: row % 4})
	}
	return spans, markers
}

// runEnd is where a run's time axis ends, in seconds.
func runEnd(f *File) float64 {
	end := 0.0
	for _, p := range f.Summary.Phases {
		end = math.Max(end, (p.Start + p.Duration).Seconds())
	}
	if n := len(f.Summary.Seconds); n > 0 {
		end = math.Max(end, float64(f.Summary.Seconds[n-1].T+1))
	}
	return end
}

// faultLabel names a fault on a chart: "slow-db 10% on db", or the
// action, with "[failed]" when applying it failed.
func faultLabel(fw FaultWindow) string {
	what := fw.Type
	if fw.Name != "" {
		what = fw.Name
	}
	if fw.Action != "" {
		what = fw.Action
	} else if fw.Toxicity > 0 && fw.Toxicity < 1 {
		what = fmt.Sprintf("%s %.0f%%", what, 100*fw.Toxicity)
	}
	if fw.Target != "" {
		what += " on " + fw.Target
	}
	if fw.Error != "" {
		what += " [failed]"
	}
	return what
}
