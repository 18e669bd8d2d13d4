// Package generator is tailgate's open-loop engine: schedules that say when
// each request is due, and a send loop that fires requests at those times
// without ever waiting for responses.
//
// Everything is timed against the schedule's intended send time, so a stalled
// target shows up in response times instead of silently slowing the load
// (coordinated omission). The package knows nothing of flags, files or
// protocols: targets implement Target, recorders implement Recorder.
package generator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A Schedule says when the n-th request (0-based) is due, as an offset from
// the start of the run. ok is false once the schedule is exhausted.
// Next is called in order (n = 0, 1, 2, …) from a single goroutine.
type Schedule interface {
	Next(n uint64) (at time.Duration, ok bool)
}

// ScheduleFunc adapts a function to Schedule.
type ScheduleFunc func(n uint64) (time.Duration, bool)

// Next calls f(n).
func (f ScheduleFunc) Next(n uint64) (time.Duration, bool) { return f(n) }

var _ Schedule = ScheduleFunc(nil)

// Constant is a constant-rate schedule: request n is due at n/Rate seconds,
// for as long as that is before Duration. A zero Duration never ends.
type Constant struct {
	Rate     float64 // requests per second, > 0
	Duration time.Duration
}

var _ Schedule = Constant{}

// Validate reports a non-positive or non-finite rate or a negative duration.
// MaxRate is the highest rate one generator process schedules, in
// requests per second: far above what it can send (a few hundred
// thousand a second on one core), low enough that the schedule's own
// bookkeeping (catching up after a stall, counting what was due at an
// interrupt) stays a matter of milliseconds. Above it, split the load
// over several generators (execution segments).
const MaxRate = 1e6

func (c Constant) Validate() error {
	if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
		return fmt.Errorf("rate must be a positive number of requests per second, got %v", c.Rate)
	}
	if c.Duration < 0 {
		return fmt.Errorf("duration must not be negative, got %v", c.Duration)
	}
	return nil
}

// Next returns n/Rate.
func (c Constant) Next(n uint64) (time.Duration, bool) {
	at := time.Duration(float64(n) / c.Rate * float64(time.Second))
	if c.Duration > 0 && at >= c.Duration {
		return 0, false
	}
	return at, true
}

func (c Constant) String() string {
	return fmt.Sprintf("Constant{%g req/s for %v}", c.Rate, c.Duration)
}

// Poisson is a homogeneous Poisson arrival process: inter-arrival gaps are
// exponential with mean 1/Rate. The same Seed gives the same schedule.
// It keeps state between calls, so use a fresh value (NewPoisson) per run.
type Poisson struct {
	Rate     float64
	Duration time.Duration
	Seed     uint64

	rng  *rand.Rand
	next uint64  // the n the state below belongs to
	sec  float64 // exact arrival time of request next-1, seconds
}

// NewPoisson returns a Poisson schedule with the given rate (req/s),
// duration (0 = endless) and seed.
func NewPoisson(rate float64, d time.Duration, seed uint64) *Poisson {
	return &Poisson{Rate: rate, Duration: d, Seed: seed}
}

var _ Schedule = (*Poisson)(nil)

// Validate reports a bad rate or duration.
func (p *Poisson) Validate() error {
	return Constant{Rate: p.Rate, Duration: p.Duration}.Validate()
}

// Next returns the arrival time of request n. Calls must come in order
// n = 0, 1, 2, …; asking again for the last n repeats its answer, and
// asking for an earlier one restarts the sequence from the seed.
func (p *Poisson) Next(n uint64) (time.Duration, bool) {
	if p.rng == nil || n+1 < p.next {
		p.rng = rand.New(rand.NewPCG(p.Seed, 0x7461696c67617465)) // "tailgate"
		p.next, p.sec = 0, 0
	}
	for p.next <= n {
		p.sec += p.rng.ExpFloat64() / p.Rate
		p.next++
	}
	at := time.Duration(p.sec * float64(time.Second))
	if p.Duration > 0 && at >= p.Duration {
		return 0, false
	}
	return at, true
}

func (p *Poisson) String() string {
	return fmt.Sprintf("Poisson{%g req/s for %v, seed %d}", p.Rate, p.Duration, p.Seed)
}
