package analysis

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// synth describes a synthetic phase: per requests in each of n one-second
// intervals, with log-latency log(median·scale) + x + ε, where x is an
// AR(1) process over requests (coefficient phi, stationary standard
// deviation level) and ε independent noise (standard deviation noise).
// Errors are independent with probability errRate.
type synth struct {
	name        string
	n, per      int
	median      time.Duration
	scale       float64
	phi         float64
	level       float64
	noise       float64
	errRate     float64
	rows        bool // fill the latency columns of the per-second rows
	noIntervals bool
	// light keeps the intervals as sparse data (PhaseData.intervals)
	// rather than histograms of 270 KiB each, which the race detector
	// makes slow to build and read by the thousand.
	light bool
}

// tailgateBounds are the bucket bounds of tailgate's histograms.
var tailgateBounds = func() *bucketBounds {
	h := NewHistogram()
	return boundsFor(geometry{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()})
}()

// sparseBuilder collects values into tailgate's buckets, as sparseOf
// would read them from a histogram.
type sparseBuilder map[int]int64

func (b sparseBuilder) add(v int64) {
	b[sort.Search(len(tailgateBounds.to), func(i int) bool { return tailgateBounds.to[i] >= v })]++
}

func (b sparseBuilder) sparse() sparse {
	idx := make([]int, 0, len(b))
	for i := range b {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var sp sparse
	for _, i := range idx {
		sp.lo, sp.v, sp.n = append(sp.lo, tailgateBounds.from[i]), append(sp.v, tailgateBounds.to[i]), append(sp.n, b[i])
		sp.total += b[i]
	}
	return sp
}

func (s synth) phase(rng *rand.Rand) PhaseData {
	if s.name == "" {
		s.name = "main"
	}
	if s.scale == 0 {
		s.scale = 1
	}
	if s.median == 0 {
		s.median = 5 * time.Millisecond
	}
	p := PhaseData{Name: s.name, Hist: NewHistogram(), Duration: time.Duration(s.n) * time.Second}
	x := s.level * rng.NormFloat64()
	innov := s.level * math.Sqrt(1-s.phi*s.phi)
	base := float64(s.median) * s.scale
	if s.light {
		p.intervals = []sparse{}
	}
	for i := 0; i < s.n; i++ {
		var h *hdr.Histogram
		var sb sparseBuilder
		if s.light {
			sb = sparseBuilder{}
		} else {
			h = NewHistogram()
		}
		var errs int64
		var mx int64
		for k := 0; k < s.per; k++ {
			x = s.phi*x + innov*rng.NormFloat64()
			v := int64(base * math.Exp(x+s.noise*rng.NormFloat64()))
			if s.light {
				sb.add(v)
			} else {
				_ = h.RecordValue(v)
			}
			_ = p.Hist.RecordValue(v)
			mx = max(mx, v)
			if rng.Float64() < s.errRate {
				errs++
			}
		}
		sec := Second{T: int64(i), Completed: int64(s.per), Errors: errs, Offered: int64(s.per)}
		if s.rows && h != nil {
			v := h.ValueAtPercentilesSlice([]float64{50, 90, 99})
			sec.P50, sec.P90, sec.P99, sec.Max = time.Duration(v[0]), time.Duration(v[1]), time.Duration(v[2]), time.Duration(mx)
		}
		p.Seconds = append(p.Seconds, sec)
		switch {
		case s.noIntervals:
		case s.light:
			p.intervals = append(p.intervals, sb.sparse())
		default:
			p.Intervals = append(p.Intervals, h)
		}
		p.Errors += errs
		p.OK += int64(s.per) - errs
	}
	p.Intended = p.OK + p.Errors
	p.Offered, p.Achieved = float64(s.per), float64(s.per)
	return p
}

func side(name string, runs ...PhaseData) Side {
	s := Side{Name: name}
	for _, p := range runs {
		s.Runs = append(s.Runs, RunData{Phases: []PhaseData{p}})
	}
	return s
}

// parallel calls f(i) for i in [0, n) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func deltaOf(t testing.TB, c Comparison, phase string, m CompareMetric) Delta {
	t.Helper()
	for _, d := range c.Deltas {
		if d.Phase == phase && d.Metric == m {
			return d
		}
	}
	t.Fatalf("no %s delta for phase %q in %+v", m, phase, c.Deltas)
	return Delta{}
}
