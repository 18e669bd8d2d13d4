package generator

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// sleepTarget answers after a service time that a function of the time
// since start says.
type sleepTarget struct {
	start time.Time
	svc   func(now time.Duration) time.Duration
}

func (s *sleepTarget) Do(ctx context.Context, _ uint64) Outcome {
	if d := s.svc(time.Since(s.start)); d > 0 {
		time.Sleep(d)
	}
	return Outcome{Status: 200}
}

// runAdaptive runs 5,000 req/s for dur against service times svc, with
// the adaptive grid, under synctest's clock.
func runAdaptive(t *testing.T, dur time.Duration, svc func(time.Duration) time.Duration) (Stats, []Result) {
	t.Helper()
	var c collect
	tg := &sleepTarget{start: time.Now(), svc: svc}
	st, err := Run(context.Background(), Constant{Rate: 5000, Duration: dur}, tg, &c,
		Options{CoarseTimers: true, MaxInFlight: 4096, AdaptiveGrid: &AdaptiveGrid{}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != uint64(5000*dur/time.Second) || len(c.all) != int(st.Sent) {
		t.Fatalf("sent %d recorded %d", st.Sent, len(c.all))
	}
	return st, c.all
}

// lagWithinGrid fails when a request left later than the grid in force
// for it allows, and returns how many left late at all.
func lagWithinGrid(t *testing.T, st Stats, all []Result) (late int) {
	t.Helper()
	for _, r := range all {
		lag, g := r.Sent-r.Intended, GridAt(st.Grid, r.Intended)
		if lag < 0 || (lag > 0 && lag >= g) {
			t.Fatalf("request %d intended %v sent %v: lag %v, grid in force %v", r.Seq, r.Intended, r.Sent, lag, g)
		}
		if lag > 0 {
			late++
		}
	}
	return late
}

// Against a target answering in 20 ms the grid grows to a few percent of
// that (at most 5 %), sends leave on it and never later than it allows.
func TestAdaptiveGridFollowsSlowTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const svc = 20 * time.Millisecond
		st, all := runAdaptive(t, 2*time.Second, func(time.Duration) time.Duration { return svc })
		if len(st.Grid) == 0 {
			t.Fatal("the grid never changed from a wake per request")
		}
		last := st.Grid[len(st.Grid)-1]
		if last.Step <= 0 || last.Step > svc/20 || last.Step < svc/40 {
			t.Fatalf("grid %v for a 20ms target: want within (2.5 %%, 5 %%] of it; steps %v", last.Step, st.Grid)
		}
		if last.At > time.Second {
			t.Fatalf("the grid took until %v to follow the target: %v", last.At, st.Grid)
		}
		// Most requests (all after the first second) leave on the grid.
		if late := lagWithinGrid(t, st, all); late < len(all)/2 {
			t.Fatalf("%d of %d requests late: the grid did not coalesce wakes", late, len(all))
		}
		for i := 1; i < len(st.Grid); i++ {
			if st.Grid[i].At <= st.Grid[i-1].At {
				t.Fatalf("grid steps out of order: %v", st.Grid)
			}
		}
	})
}

// A target answering in microseconds is timed precisely: no grid.
func TestAdaptiveGridZeroForFastTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, all := runAdaptive(t, time.Second, func(time.Duration) time.Duration { return 200 * time.Microsecond })
		if len(st.Grid) != 0 {
			t.Fatalf("grid %v for a 200µs target: want none", st.Grid)
		}
		if late := lagWithinGrid(t, st, all); late != 0 {
			t.Fatalf("%d requests late with no grid and a fake clock", late)
		}
	})
}

// When the target gets faster the grid shrinks with it, and when it is
// slow again the grid grows back.
func TestAdaptiveGridFollowsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := func(now time.Duration) time.Duration {
			switch {
			case now < time.Second:
				return 20 * time.Millisecond
			case now < 2*time.Second:
				return 2 * time.Millisecond
			case now < 3*time.Second:
				return 100 * time.Microsecond
			}
			return 20 * time.Millisecond
		}
		st, all := runAdaptive(t, 4*time.Second, svc)
		lagWithinGrid(t, st, all)
		at := func(t0 time.Duration) time.Duration { return GridAt(st.Grid, t0) }
		if g := at(time.Second); g < 500*time.Microsecond {
			t.Fatalf("grid %v at 1s after 20ms answers; steps %v", g, st.Grid)
		}
		if g := at(2 * time.Second); g <= 0 || g > 100*time.Microsecond {
			t.Fatalf("grid %v at 2s after 2ms answers, want ≤ 5 %% of 2ms; steps %v", g, st.Grid)
		}
		if g := at(3 * time.Second); g != 0 {
			t.Fatalf("grid %v at 3s after 100µs answers, want 0; steps %v", g, st.Grid)
		}
		if g := at(4 * time.Second); g < 500*time.Microsecond {
			t.Fatalf("grid %v at the end after 20ms answers again; steps %v", g, st.Grid)
		}
	})
}

// A fixed TimerSlack is one grid step from the start, and the adaptive
// grid does not apply.
func TestFixedSlackIsOneGridStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := &sleepTarget{start: time.Now(), svc: func(time.Duration) time.Duration { return 20 * time.Millisecond }}
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: time.Second}, tg, &c,
			Options{CoarseTimers: true, TimerSlack: 200 * time.Microsecond, AdaptiveGrid: &AdaptiveGrid{}})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Grid) != 1 || st.Grid[0] != (GridStep{0, 200 * time.Microsecond}) {
			t.Fatalf("grid %v, want one step of 200µs from 0", st.Grid)
		}
	})
}

func TestServiceBuckets(t *testing.T) {
	prev := -1
	for d := time.Duration(0); d < 10*time.Second; d = d*9/8 + time.Microsecond {
		i := svcBucket(d)
		if i < prev {
			t.Fatalf("bucket of %v is %d, below the previous %d", d, i, prev)
		}
		if lo := svcLow(i); lo > d || (i+1 < svcBuckets && svcLow(i+1) <= d) {
			t.Fatalf("%v in bucket %d [%v, %v)", d, i, lo, svcLow(i+1))
		}
		if lo := svcLow(i); d > 8*time.Microsecond && float64(d-lo) > 0.13*float64(d) {
			t.Fatalf("%v in bucket %d from %v: wider than 1/8", d, i, lo)
		}
		prev = i
	}
}

func TestRoundGrid(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{time.Millisecond, time.Millisecond}, {921 * time.Microsecond, 800 * time.Microsecond},
		{96 * time.Microsecond, 80 * time.Microsecond}, {50 * time.Microsecond, 50 * time.Microsecond},
		{1599 * time.Microsecond, 1250 * time.Microsecond}, {3 * time.Microsecond, 2500}, {999, 0},
	} {
		if got := roundGrid(c.in); got != c.want {
			t.Errorf("roundGrid(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// retireTarget is a workerTarget that also records retirements, and
// fails when a retired worker's number is used before it is given out
// again (a new worker's first call).
type retireTarget struct {
	workerTarget
	retired map[int]int // by worker: times retired
}

func (r *retireTarget) RetireWorker(w int) {
	r.mu.Lock()
	if r.busy[w] {
		r.broken = true
	}
	r.retired[w]++
	r.mu.Unlock()
}

// After a burst the workers it needed and no longer uses are retired, the
// target is told, and their numbers are reused by later workers.
func TestRetireIdleWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &retireTarget{workerTarget: workerTarget{busy: map[int]bool{}, calls: map[int]int{}}, retired: map[int]int{}}
		// 2,000 req/s of 3 ms calls (6 in flight) for 1 s, 20 req/s for 5 s,
		// then 2,000 req/s again for 1 s.
		sched := &Sequence{Phases: []PhaseSchedule{
			{Constant{Rate: 2000, Duration: time.Second}, time.Second},
			{Constant{Rate: 20, Duration: 5 * time.Second}, 5 * time.Second},
			{Constant{Rate: 2000, Duration: time.Second}, time.Second},
		}}
		st, err := Run(context.Background(), sched, rt, &collect{}, Options{CoarseTimers: true, RetireIdle: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range rt.retired {
			n += c
		}
		if st.Retired == 0 || n != st.Retired || rt.broken {
			t.Fatalf("retired %d, target told %d (%v), broken %v", st.Retired, n, rt.retired, rt.broken)
		}
		if st.Workers <= st.PeakInFlight || st.Workers-st.Retired > st.PeakInFlight+2 {
			t.Fatalf("%d workers started, %d retired, peak %d: retired workers not replaced, or left running", st.Workers, st.Retired, st.PeakInFlight)
		}
		maxID := 0
		for w := range rt.calls {
			maxID = max(maxID, w)
		}
		if maxID >= st.PeakInFlight+2 {
			t.Fatalf("worker numbers up to %d for a peak of %d: retired numbers not reused", maxID, st.PeakInFlight)
		}
	})
}
