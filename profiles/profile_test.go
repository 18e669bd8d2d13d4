package profiles

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tailgate/generator"
)

func arrivals(s generator.Schedule) []time.Duration {
	var out []time.Duration
	for n := uint64(0); ; n++ {
		at, ok := s.Next(n)
		if !ok {
			return out
		}
		out = append(out, at)
	}
}

const twoPhases = `phases:
  - {name: a, duration: 2s, rate: 100, arrivals: poisson}
  - {name: b, duration: 3s, rate: {ramp: {from: 0, to: 200, over: 2s}}, arrivals: poisson}
  - {name: c, duration: 1s, rate: 0}
  - {name: d, duration: 1s, rate: 10}
`

func TestSchedule(t *testing.T) {
	p := mustParse(t, twoPhases)
	if _, ok := p.Schedule(1).(*generator.Sequence); !ok {
		t.Fatalf("Schedule is a %T, want *generator.Sequence", p.Schedule(1))
	}
	if got, want := p.PhaseStarts(), []time.Duration{0, 2 * time.Second, 5 * time.Second, 6 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("PhaseStarts = %v, want %v", got, want)
	}
	if got, want := p.Duration(), 7*time.Second; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
	// Λ = 200 + (200 + 200) + 0 + 10 = 610 over 7s.
	if got := p.MeanRate(); math.Abs(got-610.0/7) > 1e-9 {
		t.Errorf("MeanRate = %v, want %v", got, 610.0/7)
	}
	// The ramp's over is kept; without it, it is the phase's duration.
	if r := p.Curve(1).(generator.Ramp); r.Over != 2*time.Second {
		t.Errorf("Curve(1) = %v", r)
	}
	q := mustParse(t, "phases: [{duration: 4s, rate: {ramp: {from: 1, to: 2}}}]")
	if r := q.Curve(0).(generator.Ramp); r.Over != 4*time.Second {
		t.Errorf("default over: %v", r)
	}

	a1, a2 := arrivals(p.Schedule(7)), arrivals(p.Schedule(7))
	if !slices.Equal(a1, a2) {
		t.Error("same seed, different schedules")
	}
	if b := arrivals(p.Schedule(8)); slices.Equal(a1, b) {
		t.Error("different seeds, same schedule")
	}
	// Nothing in the zero-rate phase c [5s, 6s); d is uniform: 10 at 6.0, 6.1, …
	var inC, inD []time.Duration
	for _, at := range a1 {
		switch {
		case at >= 5*time.Second && at < 6*time.Second:
			inC = append(inC, at)
		case at >= 6*time.Second:
			inD = append(inD, at)
		}
	}
	if len(inC) != 0 || len(inD) != 10 || inD[0] != 6*time.Second || inD[9] != 6900*time.Millisecond {
		t.Errorf("phase c %v, phase d %v", inC, inD)
	}
}

func TestSchedulePhasesIndependent(t *testing.T) {
	// Changing phase a's rate leaves phase b's arrivals (relative to its
	// start) unchanged: each phase has its own seed.
	p := mustParse(t, twoPhases)
	q := mustParse(t, twoPhases)
	q.Phases[0].Rate.Constant = 300
	rel := func(p *Profile) []time.Duration {
		var out []time.Duration
		for _, at := range arrivals(p.Schedule(3)) {
			if at >= 2*time.Second && at < 5*time.Second {
				out = append(out, at-2*time.Second)
			}
		}
		return out
	}
	if a, b := rel(p), rel(q); len(a) == 0 || !slices.Equal(a, b) {
		t.Errorf("phase b changed with phase a's rate: %d vs %d arrivals", len(a), len(b))
	}
	if PhaseSeed(3, 0) == PhaseSeed(3, 1) || PhaseSeed(3, 0) == PhaseSeed(4, 0) {
		t.Error("PhaseSeed collides")
	}
}

func TestScale(t *testing.T) {
	p := mustParse(t, specExample)
	q := p.Scale(2)
	for i := range p.Phases {
		d := p.Phases[i].Duration
		if got, want := q.Curve(i).Integral(d), 2*p.Curve(i).Integral(d); math.Abs(got-want) > 1e-9*want {
			t.Errorf("phase %d: Λ %v, want %v", i, got, want)
		}
		if q.Phases[i].Rate.Kind() != p.Phases[i].Rate.Kind() {
			t.Errorf("phase %d: shape changed", i)
		}
	}
	if math.Abs(q.MeanRate()-2*p.MeanRate()) > 1e-9 {
		t.Errorf("MeanRate %v, want %v", q.MeanRate(), 2*p.MeanRate())
	}
	// The original is untouched, deep down.
	if !reflect.DeepEqual(p, mustParse(t, specExample)) {
		t.Error("Scale changed the original")
	}
	q.Phases[5].Faults[0].Attributes["latency"] = 1
	q.Target.Headers["X-Client"] = "other"
	if p.Phases[5].Faults[0].Attributes["latency"] != 300 || p.Target.Headers["X-Client"] != "tailgate" {
		t.Error("the copy shares maps with the original")
	}
	if err := q.Validate(); err != nil {
		t.Errorf("scaled profile invalid: %v", err)
	}
}

func TestFaultEventOrder(t *testing.T) {
	p := mustParse(t, `fault_targets:
  dep: {kind: demo, api: 'http://dep:9000'}
  db: {kind: toxiproxy, api: 'http://127.0.0.1:8474', proxy: pg}
phases:
  - name: one
    duration: 5s
    rate: 1
    faults: [{target: dep, type: error}]
    actions: [{at: 2s, do: flush_cache, target: dep}]
  - name: two
    duration: 5s
    rate: 1
    faults: [{target: db, type: disable}, {target: dep, type: timeout, attributes: {timeout: 0}}]
    actions: [{at: 0s, do: flush_cache, target: dep}]
`)
	var got []string
	for _, e := range p.FaultEvents() {
		got = append(got, e.String())
	}
	want := []string{
		"0s one: apply one-dep-error (error on dep)",
		"2s one: flush_cache on dep",
		"5s one: remove one-dep-error (error on dep)",
		"5s two: apply two-db-disable (disable on db)",
		"5s two: apply two-dep-timeout (timeout on dep)",
		"5s two: flush_cache on dep",
		"10s two: remove two-db-disable (disable on db)",
		"10s two: remove two-dep-timeout (timeout on dep)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%q\nwant\n%q", got, want)
	}
	ev := p.FaultEvents()
	if ev[0].Target.API != "http://dep:9000" || ev[3].Target.Proxy != "pg" || ev[3].Target.Name != "db" {
		t.Errorf("targets not resolved: %+v %+v", ev[0].Target, ev[3].Target)
	}
}

func TestRateShapeString(t *testing.T) {
	p := mustParse(t, specExample)
	var got []string
	for _, ph := range p.Phases {
		got = append(got, ph.Rate.String())
	}
	want := []string{
		"500 req/s",
		"burst 500 req/s, 2000 for 2s every 5s from 1s",
		"ramp 100→1000 req/s",
		"steps 100×3s, 300×3s, 600×3s req/s",
		"sine 500±200 req/s every 10s",
		"500 req/s",
		"500 req/s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestEmptyProfile(t *testing.T) {
	var p Profile
	if p.Duration() != 0 || p.MeanRate() != 0 || len(p.FaultEvents()) != 0 || len(arrivals(p.Schedule(1))) != 0 {
		t.Error("zero Profile is not empty")
	}
}

// Evenly spaced arrivals run on across phases: a phase shorter than the
// spacing of its requests sends none instead of one at its start.
func TestScheduleCarriesAcrossShortPhases(t *testing.T) {
	count := func(p *Profile) int {
		s := p.Schedule(1)
		n := 0
		for {
			if _, ok := s.Next(uint64(n)); !ok {
				return n
			}
			n++
		}
	}
	short := func(n int, d time.Duration, rate float64) *Profile {
		p := &Profile{Name: "short"}
		for i := range n {
			p.Phases = append(p.Phases, Phase{Name: fmt.Sprintf("p%d", i), Duration: d, Rate: RateShape{Constant: rate}})
		}
		return p
	}
	for _, tt := range []struct {
		p    *Profile
		want int
	}{
		{short(10, 100*time.Millisecond, 1), 1},   // one second at 1 req/s
		{short(1000, time.Millisecond, 100), 100}, // 1 s at 100 req/s in 1 ms phases (was 1000: one per phase)
		{short(2, 1500*time.Millisecond, 1), 3},   // 0 s, 1 s; then 2 s (0.5 s into the second)
		{short(3, 10*time.Second, 50), 1500},      // whole numbers: as before
	} {
		if got := count(tt.p); got != tt.want {
			t.Errorf("%d phases of %v at %g req/s: %d arrivals, want %d", len(tt.p.Phases), tt.p.Phases[0].Duration, tt.p.Phases[0].Rate.Constant, got, tt.want)
		}
	}
}

// More than MaxPhases phases is refused, naming the count.
func TestTooManyPhases(t *testing.T) {
	p := &Profile{Name: "many"}
	for i := range MaxPhases + 1 {
		p.Phases = append(p.Phases, Phase{Name: fmt.Sprintf("p%d", i), Duration: time.Millisecond, Rate: RateShape{Constant: 1}})
	}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "more than 10000 phases") {
		t.Fatalf("validate: %v", err)
	}
	p.Phases = p.Phases[:MaxPhases]
	if err := p.Validate(); err != nil {
		t.Fatalf("%d phases: %v", MaxPhases, err)
	}
}
