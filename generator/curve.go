package generator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A Curve is an offered-rate shape over time, t measured from the curve's
// own start. Rate is in requests per second; Integral is the expected
// number of arrivals in [0, t): ∫₀ᵗ Rate. Integral must be non-decreasing
// and continuous; Rate must be ≥ 0.
type Curve interface {
	Rate(t time.Duration) float64
	Integral(t time.Duration) float64
}

// ConstantRate is a flat curve.
type ConstantRate float64

var _ Curve = ConstantRate(0)

// Rate returns r.
func (r ConstantRate) Rate(time.Duration) float64 { return float64(r) }

// Integral returns r·t.
func (r ConstantRate) Integral(t time.Duration) float64 { return float64(r) * t.Seconds() }

func (r ConstantRate) String() string { return fmt.Sprintf("Constant{%g req/s}", float64(r)) }

// Ramp goes linearly from From to To req/s over Over, then stays at To.
type Ramp struct {
	From, To float64
	Over     time.Duration
}

var _ Curve = Ramp{}

// Rate at t: From + (To−From)·t/Over, clamped to [0, Over].
func (r Ramp) Rate(t time.Duration) float64 {
	if t >= r.Over || r.Over <= 0 {
		return r.To
	}
	if t < 0 {
		t = 0
	}
	return r.From + (r.To-r.From)*t.Seconds()/r.Over.Seconds()
}

// Integral is From·t + (To−From)·t²/(2·Over) up to Over, linear after.
func (r Ramp) Integral(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	o := r.Over.Seconds()
	if r.Over <= 0 {
		return r.To * t.Seconds()
	}
	if t >= r.Over {
		return (r.From+r.To)/2*o + r.To*(t-r.Over).Seconds()
	}
	s := t.Seconds()
	return r.From*s + (r.To-r.From)*s*s/(2*o)
}

func (r Ramp) String() string {
	return fmt.Sprintf("Ramp{%g→%g req/s over %v}", r.From, r.To, r.Over)
}

// Step is one level of Steps.
type Step struct {
	Rate     float64
	Duration time.Duration
}

// Steps holds each level for its duration in turn, then stays at the last.
type Steps []Step

var _ Curve = Steps(nil)

// Rate returns the level in force at t.
func (s Steps) Rate(t time.Duration) float64 {
	var at time.Duration
	for _, st := range s {
		if t < at+st.Duration {
			return st.Rate
		}
		at += st.Duration
	}
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].Rate
}

// Integral sums the levels up to t.
func (s Steps) Integral(t time.Duration) float64 {
	var at time.Duration
	var sum float64
	for _, st := range s {
		if t <= at+st.Duration {
			return sum + st.Rate*(t-at).Seconds()
		}
		sum += st.Rate * st.Duration.Seconds()
		at += st.Duration
	}
	if len(s) == 0 {
		return 0
	}
	return sum + s[len(s)-1].Rate*(t-at).Seconds()
}

// Sine oscillates around Mean with the given Amplitude and Period:
//
//	rate(t) = Mean + Amplitude·sin(2πt/P)
//	Λ(t)    = Mean·t + Amplitude·P/(2π)·(1 − cos(2πt/P))
//
// Amplitude must not exceed Mean (rates are never negative).
type Sine struct {
	Mean, Amplitude float64
	Period          time.Duration
}

var _ Curve = Sine{}

// Rate at t.
func (s Sine) Rate(t time.Duration) float64 {
	return s.Mean + s.Amplitude*math.Sin(2*math.Pi*t.Seconds()/s.Period.Seconds())
}

// Integral up to t.
func (s Sine) Integral(t time.Duration) float64 {
	p := s.Period.Seconds()
	x := t.Seconds()
	return s.Mean*x + s.Amplitude*p/(2*math.Pi)*(1-math.Cos(2*math.Pi*x/p))
}

// Burst is Baseline req/s with bursts of Peak req/s lasting Length, once
// every Period, the first starting at Offset (0 ≤ Offset < Period):
//
//	rate ─────┐ Peak ┌─────────────┐      ┌──
//	          │      │  Baseline   │      │
//	      Offset   +Length      +Period
type Burst struct {
	Baseline, Peak float64
	Length, Period time.Duration
	Offset         time.Duration
}

var _ Curve = Burst{}

func (b Burst) inBurst(t time.Duration) bool {
	if t < b.Offset {
		return false
	}
	return (t-b.Offset)%b.Period < b.Length
}

// Rate at t.
func (b Burst) Rate(t time.Duration) float64 {
	if b.inBurst(t) {
		return b.Peak
	}
	return b.Baseline
}

// Integral up to t.
func (b Burst) Integral(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	base := b.Baseline * t.Seconds()
	if t <= b.Offset {
		return base
	}
	u := t - b.Offset
	full := u / b.Period
	rem := u % b.Period
	burstTime := time.Duration(full)*b.Length + min(rem, b.Length)
	return base + (b.Peak-b.Baseline)*burstTime.Seconds()
}

// Arrivals is the arrival process a CurveSchedule draws from its curve.
type Arrivals uint8

const (
	// Uniform spaces arrivals deterministically: the n-th arrival is at the
	// t where Λ(t) = n. A constant curve gives constant spacing.
	Uniform Arrivals = iota
	// PoissonArrivals is a non-homogeneous Poisson process with intensity
	// Rate(t), by inversion: arrival n is at Λ⁻¹(E₁+…+Eₙ), Eᵢ ~ Exp(1).
	PoissonArrivals
)

func (a Arrivals) String() string {
	if a == PoissonArrivals {
		return "poisson"
	}
	return "constant"
}

// ParseArrivals parses "constant" (or "uniform") and "poisson".
func ParseArrivals(s string) (Arrivals, error) {
	switch s {
	case "constant", "uniform":
		return Uniform, nil
	case "poisson":
		return PoissonArrivals, nil
	}
	return 0, fmt.Errorf("unknown arrivals %q (want constant or poisson)", s)
}

// CurveSchedule turns a Curve into arrival times over [0, Duration).
// Calls to Next must come in order; like Poisson it keeps state.
type CurveSchedule struct {
	Curve    Curve
	Duration time.Duration
	Arrivals Arrivals
	Seed     uint64
	// Phase, for evenly spaced (uniform) arrivals, is where the first
	// arrival falls on the curve's integral, in [0, 1): 0 puts it at the
	// start. A sequence of phases carries the fraction of an arrival one
	// phase leaves over into the next (Sequence.Carry), so that a phase
	// shorter than the spacing of its requests sends none instead of one.
	Phase float64

	rng    *rand.Rand
	next   uint64  // n of the next arrival to compute
	target float64 // Λ value of arrival next-1
	t      float64 // its time, seconds (search starts here)
	total  float64 // Λ(Duration)
}

// NewCurveSchedule returns a schedule following c for d.
func NewCurveSchedule(c Curve, d time.Duration, a Arrivals, seed uint64) *CurveSchedule {
	return &CurveSchedule{Curve: c, Duration: d, Arrivals: a, Seed: seed}
}

var _ Schedule = (*CurveSchedule)(nil)

// Total is the number of arrivals the curve asks for over the schedule's
// duration: the integral of its rate.
func (s *CurveSchedule) Total() float64 { return s.Curve.Integral(s.Duration) }

// Next returns the time of arrival n.
func (s *CurveSchedule) Next(n uint64) (time.Duration, bool) {
	if s.rng == nil || n+1 < s.next {
		s.rng = rand.New(rand.NewPCG(s.Seed, 0x7461696c67617465))
		s.next, s.target, s.t = 0, 0, 0
		s.total = s.Curve.Integral(s.Duration)
	}
	for s.next <= n {
		if s.Arrivals == PoissonArrivals {
			s.target += s.rng.ExpFloat64()
		} else if s.next > 0 {
			s.target++
		} else {
			s.target = s.Phase
		}
		s.next++
		if s.target >= s.total {
			return 0, false
		}
		s.t = invert(s.Curve, s.target, s.t, s.Duration.Seconds())
	}
	if s.target >= s.total {
		return 0, false
	}
	at := time.Duration(s.t * float64(time.Second))
	if at >= s.Duration {
		return 0, false
	}
	return at, true
}

// invert finds the t in [lo, hi] with Λ(t) = target, to about a
// nanosecond: Newton steps, kept inside a shrinking bisection bracket,
// falling back to bisection where the rate is zero. Where Λ is flat at
// target (a zero-rate gap) the arrival goes at the gap's end: nothing is
// due while the rate is zero.
func invert(c Curve, target, lo, hi float64) float64 {
	x := solve(c, target, lo, hi)
	if c.Rate(time.Duration(x*float64(time.Second))) > 0 {
		return x
	}
	// Flat here: find where Λ starts rising above target.
	L := func(x float64) float64 { return c.Integral(time.Duration(x * float64(time.Second))) }
	tol := 1e-9 * math.Max(1, target)
	if L(hi) <= target+tol {
		return hi
	}
	a, b := x, hi
	for b-a > 1e-10 {
		m := (a + b) / 2
		if L(m) > target+tol {
			b = m
		} else {
			a = m
		}
	}
	return a
}

func solve(c Curve, target, lo, hi float64) float64 {
	L := func(x float64) float64 { return c.Integral(time.Duration(x * float64(time.Second))) }
	if L(lo) >= target {
		return lo
	}
	if L(hi) < target {
		return hi
	}
	tol := 1e-9 * math.Max(1, target)
	x := lo
	for i := 0; i < 200; i++ {
		var nx float64
		if r := c.Rate(time.Duration(x * float64(time.Second))); r > 0 {
			nx = x + (target-L(x))/r
		}
		if !(nx > lo && nx < hi) {
			nx = (lo + hi) / 2
		}
		v := L(nx)
		if math.Abs(v-target) <= tol {
			return nx
		}
		if v > target {
			hi = nx
		} else {
			lo = nx
		}
		if hi-lo < 1e-10 {
			break
		}
		x = nx
	}
	return hi
}

// PhaseSchedule is one part of a Sequence.
type PhaseSchedule struct {
	Schedule Schedule      // offsets from the phase's start
	Duration time.Duration // the phase's length: the next one starts after it
}

// Sequence runs schedules one after another; each starts when the
// previous one's Duration is over. Calls to Next must come in increasing
// order, but may skip numbers (as a Segment does).
type Sequence struct {
	Phases []PhaseSchedule

	cur    int           // phase being read
	base   uint64        // global n of the current phase's first arrival
	start  time.Duration // current phase's start offset
	lastOK uint64        // largest local n of the current phase known to exist
	haveOK bool
}

var _ Schedule = (*Sequence)(nil)

func (p PhaseSchedule) next(n uint64) (time.Duration, bool) {
	at, ok := p.Schedule.Next(n)
	return at, ok && (p.Duration <= 0 || at < p.Duration)
}

// Next returns the global arrival n.
func (q *Sequence) Next(n uint64) (time.Duration, bool) {
	if n < q.base || (q.haveOK && n-q.base < q.lastOK) {
		q.cur, q.base, q.start, q.haveOK = 0, 0, 0, false
	}
	for q.cur < len(q.Phases) {
		p := q.Phases[q.cur]
		local := n - q.base
		if at, ok := p.next(local); ok {
			q.lastOK, q.haveOK = local, true
			return q.start + at, true
		}
		// The phase has fewer than local+1 arrivals: count them exactly
		// (a caller that skips numbers may have jumped past the end).
		var count uint64
		if q.haveOK {
			count = q.lastOK + 1
		}
		for count < local {
			if _, ok := p.next(count); !ok {
				break
			}
			count++
		}
		q.base += count
		q.start += p.Duration
		q.cur++
		q.haveOK = false
	}
	return 0, false
}

// Segment is one stripe of a schedule split across Count generators:
// instance Index (0-based) fires the global arrivals n with n mod Count =
// Index. The Count stripes together are exactly the whole schedule.
type Segment struct {
	Schedule     Schedule
	Index, Count uint64
}

var _ Schedule = Segment{}

// Next returns this segment's n-th arrival (global arrival n·Count+Index).
func (s Segment) Next(n uint64) (time.Duration, bool) {
	return s.Schedule.Next(n*s.Count + s.Index)
}

// Seq returns the global sequence number of this segment's n-th arrival,
// so that templates ({{seq}}, {{key}}) see the same request numbers as a
// single generator would.
func (s Segment) Seq(n uint64) uint64 { return n*s.Count + s.Index }

// A SeqMapper is a Schedule whose arrivals have sequence numbers other
// than their position (Segment). Run passes Seq(n) to the target and in
// results.
type SeqMapper interface {
	Seq(n uint64) uint64
}

var _ SeqMapper = Segment{}
