package generator

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// AdaptiveGrid sizes the dispatcher's wake-up grid (see Options.TimerSlack)
// from the target's own latency: the grid is a small fraction of the
// service-time median measured so far, so that the send lag it adds stays
// below that fraction of what the target takes to answer, and it is 0 (a
// wake per request) when the target answers in microseconds. The zero
// value of each field takes its default.
type AdaptiveGrid struct {
	// Fraction of the service-time median the grid may be (default 0.05).
	Fraction float64
	// Max caps the grid (default 1 ms, wrk2's event-loop resolution).
	Max time.Duration
	// Min: a grid below it is 0, a wake per request (default 50 µs: a
	// target answering in under a millisecond is timed precisely).
	Min time.Duration
	// Every is how often the grid may change (default 250 ms).
	Every time.Duration
}

// Defaults of AdaptiveGrid's fields.
const (
	DefaultGridFraction = 0.05
	DefaultGridMax      = time.Millisecond
	DefaultGridMin      = 50 * time.Microsecond
	DefaultGridEvery    = 250 * time.Millisecond
)

// gridMinSamples is the fewest service times a window needs before the
// grid may change; fewer are kept for the next window.
const gridMinSamples = 32

// MaxGridSteps bounds Stats.Grid: after that many changes the grid stays
// as it is for the rest of the run.
const MaxGridSteps = 4096

// GridStep says that from intended time At on, requests were sent on a
// wake-up grid of step Step (0: a wake per request).
type GridStep struct {
	At   time.Duration
	Step time.Duration
}

// GridAt returns the grid in force, by steps, for a request intended at
// t: the step of the latest entry with At ≤ t; 0 before the first.
func GridAt(steps []GridStep, t time.Duration) time.Duration {
	var g time.Duration
	for _, s := range steps { // few entries; in order of At
		if s.At > t {
			break
		}
		g = s.Step
	}
	return g
}

func (a AdaptiveGrid) withDefaults() AdaptiveGrid {
	if a.Fraction <= 0 {
		a.Fraction = DefaultGridFraction
	}
	if a.Max <= 0 {
		a.Max = DefaultGridMax
	}
	if a.Min <= 0 {
		a.Min = DefaultGridMin
	}
	if a.Every <= 0 {
		a.Every = DefaultGridEvery
	}
	return a
}

// Service-time histogram geometry: log-linear buckets from 1 µs (1024 ns),
// svcSub per power of two, so a bucket is at most 1/svcSub of its value
// wide (12.5 %).
const (
	svcSubBits = 3
	svcSub     = 1 << svcSubBits
	svcOctaves = 32 // up to 2^42 ns, over an hour
	svcBuckets = svcOctaves * svcSub
)

// svcBucket is the bucket of service time d.
func svcBucket(d time.Duration) int {
	us := uint64(max(d, 0)) >> 10
	if us < svcSub {
		return int(us)
	}
	oct := bits.Len64(us) - 1 - svcSubBits // ≥ 0
	i := (oct+1)*svcSub + int(us>>uint(oct)) - svcSub
	return min(i, svcBuckets-1)
}

// svcLow is the lower bound of bucket i.
func svcLow(i int) time.Duration {
	if i < svcSub {
		return time.Duration(i) << 10
	}
	oct := i/svcSub - 1
	return time.Duration(uint64(svcSub+i%svcSub)<<uint(oct)) << 10
}

// svcHist counts recent service times; workers add to it, the dispatcher
// reads and clears it.
type svcHist struct {
	counts [svcBuckets]atomic.Uint32
}

func (h *svcHist) add(d time.Duration) { h.counts[svcBucket(d)].Add(1) }

// gridSizer is the dispatcher's side of an adaptive grid.
type gridSizer struct {
	cfg    AdaptiveGrid
	svc    *svcHist
	window [svcBuckets]uint32 // samples since the last decision
	n      uint32
	last   time.Duration // when the grid was last considered
	cur    time.Duration // the grid in force
	next   time.Duration // the grid decided, applied from the next unit past the current wake
	up     int           // consecutive decisions for a larger grid
	frozen bool          // MaxGridSteps reached
}

func newGridSizer(cfg AdaptiveGrid) *gridSizer {
	return &gridSizer{cfg: cfg.withDefaults(), svc: new(svcHist)}
}

// tick is called by the dispatcher at now; at most every cfg.Every it
// reads the service times since and decides the next grid (g.next).
func (g *gridSizer) tick(now time.Duration) {
	if now-g.last < g.cfg.Every || g.frozen {
		return
	}
	g.last = now
	for i := range g.svc.counts {
		if c := g.svc.counts[i].Swap(0); c > 0 {
			g.window[i] += c
			g.n += c
		}
	}
	if g.n < gridMinSamples {
		return
	}
	// The median's bucket, by its lower bound: the grid errs small.
	half, seen, med := (g.n+1)/2, uint32(0), 0
	for i, c := range g.window {
		seen += c
		if seen >= half {
			med = i
			break
		}
	}
	g.window, g.n = [svcBuckets]uint32{}, 0
	want := g.size(svcLow(med))
	switch {
	case want < g.cur: // the target got faster: follow at once
		g.next, g.up = want, 0
	case want > g.cur: // slower: follow when two windows agree
		if g.up++; g.up >= 2 {
			g.next, g.up = want, 0
		}
	default:
		g.next, g.up = g.cur, 0
	}
}

// size is the grid for a service-time median p50: the fraction of it,
// capped, rounded down to the series 1, 1.25, 1.6, 2, 2.5, 3.2, 4, 5, 6.4,
// 8 × 10ⁿ µs (changes of about a quarter), and 0 below Min.
func (g *gridSizer) size(p50 time.Duration) time.Duration {
	want := min(time.Duration(g.cfg.Fraction*float64(p50)), g.cfg.Max)
	if want < g.cfg.Min {
		return 0
	}
	return roundGrid(want)
}

var gridSeries = [...]time.Duration{1000, 1250, 1600, 2000, 2500, 3200, 4000, 5000, 6400, 8000}

// roundGrid rounds d (≥ 1 µs) down to the series 1, 1.25, 1.6, 2, 2.5, 3.2,
// 4, 5, 6.4, 8 × 10ⁿ µs.
func roundGrid(d time.Duration) time.Duration {
	if d < time.Microsecond {
		return 0
	}
	scale := time.Duration(1)
	for d >= 10*time.Microsecond*scale {
		scale *= 10
	}
	r := gridSeries[0] * scale
	for _, s := range gridSeries {
		if s*scale <= d {
			r = s * scale
		}
	}
	return r
}
