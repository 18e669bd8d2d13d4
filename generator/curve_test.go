package generator

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func perSecond(s Schedule, secs int) []int {
	c := make([]int, secs)
	for n := uint64(0); ; n++ {
		at, ok := s.Next(n)
		if !ok {
			return c
		}
		c[int(at/time.Second)]++
	}
}

func TestRampSchedule(t *testing.T) {
	// 100 → 1,000 req/s over 10 s: Λ(10 s) = 5,500.
	s := NewCurveSchedule(Ramp{From: 100, To: 1000, Over: 10 * time.Second}, 10*time.Second, Uniform, 0)
	if n := count(s); n < 5499 || n > 5501 {
		t.Fatalf("ramp sent %d, want 5500 ± 1", n)
	}
	// Second k holds ∫ₖᵏ⁺¹ = 100 + 90·(k + ½) requests.
	for k, got := range perSecond(s, 10) {
		want := 100 + 90*(float64(k)+0.5)
		if math.Abs(float64(got)-want) > 1 {
			t.Errorf("second %d: %d requests, want %.0f", k, got, want)
		}
	}
}

func TestRampPoissonInExpectation(t *testing.T) {
	total := 0
	var perSec [10]int
	for seed := uint64(0); seed < 20; seed++ {
		s := NewCurveSchedule(Ramp{From: 100, To: 1000, Over: 10 * time.Second}, 10*time.Second, PoissonArrivals, seed)
		for k, n := range perSecond(s, 10) {
			perSec[k] += n
			total += n
		}
	}
	// 20 runs × 5,500: sd √110000 ≈ 332; allow 4σ.
	if math.Abs(float64(total)-110000) > 1330 {
		t.Fatalf("total %d over 20 seeds, want ≈ 110000", total)
	}
	for k, got := range perSec {
		want := 20 * (100 + 90*(float64(k)+0.5))
		if math.Abs(float64(got)-want) > 4*math.Sqrt(want) {
			t.Errorf("second %d: %d over 20 seeds, want %.0f", k, got, want)
		}
	}
}

func TestBurstSchedule(t *testing.T) {
	// 100 req/s with a 1 s burst at 1,000 req/s every 5 s, starting at 2 s.
	b := Burst{Baseline: 100, Peak: 1000, Length: time.Second, Period: 5 * time.Second, Offset: 2 * time.Second}
	got := perSecond(NewCurveSchedule(b, 10*time.Second, Uniform, 0), 10)
	for k, n := range got {
		want := 100
		if k == 2 || k == 7 {
			want = 1000
		}
		if n < want-1 || n > want+1 {
			t.Errorf("second %d: %d, want %d (all %v)", k, n, want, got)
		}
	}
}

func TestStepsAndSine(t *testing.T) {
	st := Steps{{Rate: 10, Duration: 2 * time.Second}, {Rate: 50, Duration: 2 * time.Second}}
	got := perSecond(NewCurveSchedule(st, 5*time.Second, Uniform, 0), 5)
	if got[0] != 10 || got[1] != 10 || got[2] != 50 || got[3] != 50 || got[4] != 50 {
		t.Errorf("steps per second %v", got)
	}
	// A full sine period sends exactly Mean × Period.
	sn := NewCurveSchedule(Sine{Mean: 200, Amplitude: 150, Period: 4 * time.Second}, 4*time.Second, Uniform, 0)
	ps := perSecond(sn, 4)
	if n := ps[0] + ps[1] + ps[2] + ps[3]; n < 799 || n > 801 {
		t.Errorf("sine sent %d in one period, want 800", n)
	}
	if !(ps[0] > ps[2] && ps[1] > ps[3]) {
		t.Errorf("sine per second %v: first half should be above the mean", ps)
	}
}

func TestConstantCurveMatchesConstant(t *testing.T) {
	a := NewCurveSchedule(ConstantRate(1000), time.Second, Uniform, 0)
	b := Constant{Rate: 1000, Duration: time.Second}
	for n := uint64(0); ; n++ {
		x, okx := a.Next(n)
		y, oky := b.Next(n)
		if okx != oky {
			t.Fatalf("at %d: ok %v vs %v", n, okx, oky)
		}
		if !okx {
			break
		}
		if d := x - y; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("arrival %d: %v vs %v", n, x, y)
		}
	}
}

func TestZeroRateGap(t *testing.T) {
	// Nothing is sent while the rate is zero; sending resumes after it.
	st := Steps{{Rate: 10, Duration: time.Second}, {Rate: 0, Duration: time.Second}, {Rate: 10, Duration: time.Second}}
	got := perSecond(NewCurveSchedule(st, 3*time.Second, Uniform, 0), 3)
	if got[0] != 10 || got[1] != 0 || got[2] != 10 {
		t.Errorf("per second %v, want [10 0 10]", got)
	}
}

func TestSequence(t *testing.T) {
	q := &Sequence{Phases: []PhaseSchedule{
		{Schedule: Constant{Rate: 10, Duration: time.Second}, Duration: time.Second},
		{Schedule: NewCurveSchedule(ConstantRate(0), 2*time.Second, Uniform, 0), Duration: 2 * time.Second}, // silent phase
		{Schedule: Constant{Rate: 100, Duration: time.Second}, Duration: time.Second},
	}}
	got := perSecond(q, 4)
	if got[0] != 10 || got[1] != 0 || got[2] != 0 || got[3] != 100 {
		t.Fatalf("per second %v, want [10 0 0 100]", got)
	}
	// Restarting from 0 replays the same sequence.
	first, _ := q.Next(0)
	tenth, _ := q.Next(10)
	if first != 0 || tenth != 3*time.Second {
		t.Fatalf("replay: %v %v", first, tenth)
	}
}

func TestSegmentsPartitionTheSchedule(t *testing.T) {
	whole := map[time.Duration]int{}
	full := NewPoisson(500, 2*time.Second, 3)
	n := 0
	for ; ; n++ {
		at, ok := full.Next(uint64(n))
		if !ok {
			break
		}
		whole[at]++
	}
	got := 0
	for i := uint64(0); i < 4; i++ {
		seg := Segment{Schedule: NewPoisson(500, 2*time.Second, 3), Index: i, Count: 4}
		for k := uint64(0); ; k++ {
			at, ok := seg.Next(k)
			if !ok {
				break
			}
			whole[at]--
			got++
		}
	}
	if got != n {
		t.Fatalf("segments sent %d, whole schedule %d", got, n)
	}
	for at, c := range whole {
		if c != 0 {
			t.Fatalf("arrival %v counted %d times too many", at, c)
		}
	}
}

func TestParseArrivals(t *testing.T) {
	for s, want := range map[string]Arrivals{"constant": Uniform, "uniform": Uniform, "poisson": PoissonArrivals} {
		if a, err := ParseArrivals(s); err != nil || a != want {
			t.Errorf("ParseArrivals(%q) = %v, %v", s, a, err)
		}
	}
	if _, err := ParseArrivals("pareto"); err == nil {
		t.Error("pareto accepted")
	}
}

func FuzzCurveScheduleMonotonic(f *testing.F) {
	f.Add(10.0, 500.0, int64(3e9), uint8(0), uint64(1))
	f.Add(0.0, 100.0, int64(1e9), uint8(1), uint64(2))
	f.Fuzz(func(t *testing.T, from, to float64, over int64, kind uint8, seed uint64) {
		if !(from >= 0 && to >= 0 && from < 1e5 && to < 1e5) || over <= 0 || over > int64(10*time.Second) {
			return
		}
		var c Curve
		switch kind % 3 {
		case 0:
			c = Ramp{From: from, To: to, Over: time.Duration(over)}
		case 1:
			c = Burst{Baseline: from, Peak: to, Length: time.Duration(over) / 3, Period: time.Duration(over)}
		default:
			c = Sine{Mean: max(from, to), Amplitude: min(from, to), Period: time.Duration(over)}
		}
		s := NewCurveSchedule(c, time.Duration(over), Arrivals(kind%2), seed)
		var prev time.Duration
		for n := uint64(0); n < 2000; n++ {
			at, ok := s.Next(n)
			if !ok {
				break
			}
			if at < prev || at >= time.Duration(over) {
				t.Fatalf("%v: arrival %d at %v after %v", c, n, at, prev)
			}
			prev = at
		}
	})
}

func TestSegmentSeqIsGlobal(t *testing.T) {
	seg := Segment{Schedule: Constant{Rate: 100, Duration: time.Second}, Index: 2, Count: 4}
	if seg.Seq(0) != 2 || seg.Seq(3) != 14 {
		t.Fatalf("Seq: %d %d", seg.Seq(0), seg.Seq(3))
	}
	synctest.Test(t, func(t *testing.T) {
		var c collect
		if _, err := Run(context.Background(), seg, TargetFunc(instant), &c, Options{CoarseTimers: true}); err != nil {
			t.Fatal(err)
		}
		if len(c.all) != 25 {
			t.Fatalf("%d results, want 25", len(c.all))
		}
		for _, r := range c.all {
			if r.Seq%4 != 2 || r.Intended != time.Duration(r.Seq)*10*time.Millisecond {
				t.Fatalf("result seq %d at %v", r.Seq, r.Intended)
			}
		}
	})
}

// Segments of a multi-phase sequence partition it exactly, even when a
// segment's stride jumps over a phase boundary.
func TestSegmentsOfSequence(t *testing.T) {
	mk := func() Schedule {
		return &Sequence{Phases: []PhaseSchedule{
			{Schedule: NewCurveSchedule(ConstantRate(301), time.Second, PoissonArrivals, 1), Duration: time.Second},
			{Schedule: NewCurveSchedule(Ramp{From: 300, To: 600, Over: time.Second}, time.Second, PoissonArrivals, 2), Duration: time.Second},
			{Schedule: NewCurveSchedule(ConstantRate(7), time.Second, Uniform, 3), Duration: time.Second},
		}}
	}
	whole := map[time.Duration]int{}
	n := count(mk())
	for k := uint64(0); k < uint64(n); k++ {
		at, _ := mk().Next(k)
		whole[at]++
	}
	got := 0
	for i := uint64(0); i < 4; i++ {
		seg := Segment{Schedule: mk(), Index: i, Count: 4}
		for k := uint64(0); ; k++ {
			at, ok := seg.Next(k)
			if !ok {
				break
			}
			whole[at]--
			got++
		}
	}
	if got != n {
		t.Fatalf("segments sent %d, whole %d", got, n)
	}
	for at, c := range whole {
		if c != 0 {
			t.Fatalf("arrival %v off by %d", at, c)
		}
	}
}
