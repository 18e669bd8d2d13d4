package generator

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// collect is a test Recorder that keeps everything (tests only).
type collect struct {
	mu  sync.Mutex
	all []Result
}

func (c *collect) Record(_ int, r *Result) {
	c.mu.Lock()
	c.all = append(c.all, *r)
	c.mu.Unlock()
}

func instant(context.Context, uint64) Outcome { return Outcome{Status: 200} }

func TestRunExactCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		start := time.Now()
		st, err := Run(context.Background(), Constant{Rate: 100, Duration: 10 * time.Second}, TargetFunc(instant), &c, Options{CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Intended != 1000 || st.Sent != 1000 || len(c.all) != 1000 {
			t.Fatalf("intended %d sent %d recorded %d, want 1000 each", st.Intended, st.Sent, len(c.all))
		}
		if el := time.Since(start); el < 9990*time.Millisecond || el > 10*time.Second {
			t.Fatalf("run took %v of fake time, want just under 10s", el)
		}
		for _, r := range c.all {
			if r.Sent != r.Intended {
				t.Fatalf("request %d sent at %v, intended %v: a fake clock has no lag", r.Seq, r.Sent, r.Intended)
			}
		}
	})
}

// stallTarget holds every call made in [from, to) until to.
type stallTarget struct {
	start    time.Time
	from, to time.Duration
	each     time.Duration // if set, every call in the window takes this long instead
}

func (s *stallTarget) Do(ctx context.Context, _ uint64) Outcome {
	now := time.Since(s.start)
	if now >= s.from && now < s.to {
		d := s.to - now
		if s.each > 0 {
			d = s.each
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return Outcome{Err: ErrCanceled}
		}
	}
	return Outcome{Status: 200}
}

// A single blocked call on a single slot (wrk2's one connection) holds back
// everything behind it: the backlog's response times count from their
// intended times, while their service times stay small.
func TestRunStallCoordinatedOmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := &stallTarget{start: time.Now(), from: 9 * time.Second, to: 9*time.Second + time.Millisecond, each: 2 * time.Second}
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: 20 * time.Second}, tg, &c, Options{MaxInFlight: 1, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Sent != 20000 || len(c.all) != 20000 {
			t.Fatalf("sent %d, recorded %d; want 20000", st.Sent, len(c.all))
		}
		var rtOver1s, rtOver10ms, stOver1ms int
		for _, r := range c.all {
			if r.ResponseTime() >= time.Second {
				rtOver1s++
			}
			if r.ResponseTime() > 10*time.Millisecond {
				rtOver10ms++
			}
			if r.ServiceTime() > time.Millisecond {
				stOver1ms++
			}
		}
		// The call at 9s blocks until 11s: the 2,000 requests due meanwhile
		// (10 % of the run) wait; those due in [9s, 10s] wait ≥ 1s (5 %).
		if rtOver10ms < 1980 || rtOver10ms > 2000 {
			t.Errorf("%d response times > 10ms, want ≈ 2000 (10%%)", rtOver10ms)
		}
		if rtOver1s < 995 || rtOver1s > 1005 {
			t.Errorf("%d response times ≥ 1s, want ≈ 1000 (5%%)", rtOver1s)
		}
		if stOver1ms != 1 {
			t.Errorf("%d service times > 1ms, want only the blocked call", stOver1ms)
		}
		// The first request due in the stall waits for the one slot; how
		// many of the backlog sent after it find the worker still busy
		// depends on goroutine interleaving (998 to 2,000 seen).
		if st.SlotWaits == 0 {
			t.Errorf("no slot waits: the stalled slot was not waited for")
		}
	})
}

// With slots to spare, a server-wide stall shows in both clocks, and the
// pool grows to hold the requests in flight.
func TestRunStallOpenPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := &stallTarget{start: time.Now(), from: 9 * time.Second, to: 11 * time.Second}
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: 20 * time.Second}, tg, &c, Options{MaxInFlight: 5000, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		var rtOver1s, svcOver1s int
		for _, r := range c.all {
			if r.ResponseTime() >= time.Second {
				rtOver1s++
			}
			if r.ServiceTime() >= time.Second {
				svcOver1s++
			}
			if r.SendLag() != 0 {
				t.Fatalf("request %d lagged %v with free slots", r.Seq, r.SendLag())
			}
		}
		// Due in [9s, 10s] (1,001 requests) and held until 11s.
		if rtOver1s != 1001 || svcOver1s != 1001 {
			t.Errorf("≥1s: response %d service %d, want 1001 each", rtOver1s, svcOver1s)
		}
		if st.PeakInFlight < 1990 || st.PeakInFlight > 2001 {
			t.Errorf("peak in flight %d, want ≈ 2000", st.PeakInFlight)
		}
	})
}

func TestRunDropPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := &stallTarget{start: time.Now(), from: 0, to: time.Hour, each: 100 * time.Millisecond}
		// 1000 req/s, each call 100ms, 10 slots: 100 req/s get through.
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: 10 * time.Second}, tg, &c, Options{MaxInFlight: 10, OnSaturation: Drop, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		var dropped, ok int
		for _, r := range c.all {
			switch {
			case r.Err == ErrDropped:
				dropped++
				if r.ResponseTime() != 0 || r.Sent != r.Intended {
					t.Fatalf("dropped request %d timed: %+v", r.Seq, r)
				}
			case r.OK():
				ok++
			}
		}
		if st.Intended != 10000 || uint64(dropped) != st.Dropped || uint64(ok) != st.Sent || st.Sent+st.Dropped != st.Intended {
			t.Fatalf("stats %+v; recorded ok %d dropped %d", st, ok, dropped)
		}
		if ok < 990 || ok > 1010 {
			t.Errorf("%d sent, want ≈ 1000 (10 slots × 10/s × 10s)", ok)
		}
		if st.SlotWaits != 0 || st.PeakInFlight != 10 {
			t.Errorf("slot waits %d, peak %d; want 0 and 10", st.SlotWaits, st.PeakInFlight)
		}
	})
}

// Interrupting a run stops sending at once, drains, and accounts for every
// request that came due.
func TestRunInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := &stallTarget{start: time.Now(), from: 4 * time.Second, to: time.Hour, each: time.Hour}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(5 * time.Second); cancel() }()
		// 2 slots: the two calls made after 4s hang; the rest queue up.
		st, err := Run(ctx, Constant{Rate: 100, Duration: time.Minute}, tg, &c, Options{MaxInFlight: 2, Drain: time.Second, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if !st.Interrupted {
			t.Fatal("not marked interrupted")
		}
		var canceled int
		for _, r := range c.all {
			if r.Err == ErrCanceled {
				canceled++
			}
		}
		if canceled != 2 {
			t.Errorf("%d cancelled, want the 2 hung calls", canceled)
		}
		// Due by 5s: 501 (0, 10ms, …, 5s). Sent: 400 before the hang + 2.
		if st.Intended != 501 || st.Sent != 402 || st.Unsent != 99 || len(c.all) != 402 {
			t.Errorf("stats %+v, recorded %d; want intended 501 sent 402 unsent 99", st, len(c.all))
		}
	})
}

func TestRunStartAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		begin := time.Now().Add(3 * time.Second)
		st, err := Run(context.Background(), Constant{Rate: 10, Duration: time.Second}, TargetFunc(instant), &c, Options{Start: begin, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Sent != 10 || time.Since(begin) < 900*time.Millisecond {
			t.Fatalf("sent %d, ended %v after start", st.Sent, time.Since(begin))
		}
	})
}

func TestRunNil(t *testing.T) {
	if _, err := Run(context.Background(), nil, TargetFunc(instant), &collect{}, Options{}); err == nil {
		t.Fatal("nil schedule accepted")
	}
}

func TestParsePolicy(t *testing.T) {
	for s, want := range map[string]SaturationPolicy{"wait": Wait, "drop": Drop} {
		if p, err := ParsePolicy(s); err != nil || p != want || p.String() != s {
			t.Errorf("ParsePolicy(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePolicy("block"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestRunSamplesGaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: 10 * time.Second}, TargetFunc(instant), &collect{}, Options{CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Gaps) != GapSampleSize {
			t.Fatalf("%d gaps sampled, want %d", len(st.Gaps), GapSampleSize)
		}
		late := 0
		for _, g := range st.Gaps {
			if d := g.Intended - time.Millisecond; d < -time.Microsecond || d > time.Microsecond || g.At < time.Millisecond {
				t.Fatalf("gap %+v", g)
			}
			if g.At > 5*time.Second {
				late++
			}
		}
		// A uniform sample over the run: about half from its second half.
		if late < GapSampleSize*4/10 || late > GapSampleSize*6/10 {
			t.Errorf("%d of %d sampled gaps from the second half", late, GapSampleSize)
		}
	})
}

// Each sampled gap carries its span: back to the latest dispatch intended
// at least GapSpan before, or 64 dispatches back at most; at 1,000 req/s
// a gap is its own span.
func TestGapSamplerSpans(t *testing.T) {
	for _, tc := range []struct {
		gap      time.Duration
		wantSpan time.Duration
	}{
		{50 * time.Microsecond, 250 * time.Microsecond}, // 5 gaps
		{60 * time.Microsecond, 300 * time.Microsecond}, // 5 gaps: the first ≥ 250 µs
		{time.Millisecond, time.Millisecond},            // one gap
		{time.Microsecond, 64 * time.Microsecond},       // capped at 64 dispatches
	} {
		g := gapSampler{rng: rand.New(rand.NewPCG(1, 1))}
		for i := 0; i < 10000; i++ {
			at := time.Duration(i) * tc.gap
			g.add(at, at+time.Duration(i%7)*time.Microsecond, false) // sent 0-6 µs late
		}
		for _, s := range g.sample {
			n := int64(s.SpanIntended / tc.gap) // dispatches spanned
			wantN := int64(tc.wantSpan / tc.gap)
			if s.At >= 64*tc.gap && (s.SpanIntended != tc.wantSpan || n != wantN) {
				t.Fatalf("gap %v: span %+v, want %v", tc.gap, s, tc.wantSpan)
			}
			if s.At < 64*tc.gap && (s.SpanIntended > tc.wantSpan || s.SpanIntended < s.Intended) {
				t.Fatalf("gap %v, early in the run: span %+v", tc.gap, s)
			}
			// The actual span is the intended one, give or take the lateness
			// of its two ends.
			if d := s.SpanActual - s.SpanIntended; d < -6*time.Microsecond || d > 6*time.Microsecond {
				t.Fatalf("gap %v: actual span %v for intended %v", tc.gap, s.SpanActual, s.SpanIntended)
			}
			if s.Intended != tc.gap {
				t.Fatalf("gap %v: single gap %v", tc.gap, s.Intended)
			}
		}
	}
}

// Closed loop: each of n workers waits for its response, so throughput is
// n / service time.
func TestRunClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := TargetFunc(func(ctx context.Context, _ uint64) Outcome {
			time.Sleep(10 * time.Millisecond)
			return Outcome{Status: 200}
		})
		st, err := RunClosed(context.Background(), 4, time.Second, tg, &c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// 4 workers × 1 s / 10 ms = 400 requests (the last round may start
		// just before the end).
		if st.Sent < 400 || st.Sent > 404 || len(c.all) != int(st.Sent) || st.PeakInFlight != 4 {
			t.Fatalf("stats %+v, %d results", st, len(c.all))
		}
		for _, r := range c.all {
			if r.SendLag() != 0 || r.ResponseTime() != 10*time.Millisecond {
				t.Fatalf("result %+v", r)
			}
		}
	})
}

// With TimerSlack the dispatcher wakes on a grid of that step: every
// request leaves at the first grid point at or after its intended time,
// so at most slack late, and all due by then leave together.
func TestRunTimerSlack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slack = time.Millisecond
		var c collect
		// 7,000 req/s: gaps of 142.857 µs, so 7 requests a step, off the grid.
		st, err := Run(context.Background(), Constant{Rate: 7000, Duration: time.Second}, TargetFunc(instant), &c,
			Options{CoarseTimers: true, TimerSlack: slack})
		if err != nil {
			t.Fatal(err)
		}
		if st.Sent != 7000 || len(c.all) != 7000 {
			t.Fatalf("sent %d recorded %d", st.Sent, len(c.all))
		}
		wakes := map[time.Duration]int{}
		var late int
		for _, r := range c.all {
			lag := r.Sent - r.Intended
			if lag < 0 || lag >= slack {
				t.Fatalf("request %d intended %v sent %v: lag %v outside [0, %v)", r.Seq, r.Intended, r.Sent, lag, slack)
			}
			if r.Sent%slack != 0 {
				t.Fatalf("request %d sent at %v, off the %v grid", r.Seq, r.Sent, slack)
			}
			if lag > 0 {
				late++
			}
			wakes[r.Sent]++
		}
		if len(wakes) > 1001 || late < 5000 {
			t.Fatalf("%d distinct send times for 7000 requests (want ≤ 1001), %d late", len(wakes), late)
		}
	})
}

// workerTarget records which worker called it and checks that no worker
// makes two calls at once.
type workerTarget struct {
	mu     sync.Mutex
	busy   map[int]bool
	calls  map[int]int
	do     int // calls through Do: there should be none
	broken bool
}

func (w *workerTarget) Do(context.Context, uint64) Outcome {
	w.mu.Lock()
	w.do++
	w.mu.Unlock()
	return Outcome{Status: 200}
}

func (w *workerTarget) DoWorker(_ context.Context, worker int, _ uint64) Outcome {
	w.mu.Lock()
	if w.busy[worker] || worker < 0 {
		w.broken = true
	}
	w.busy[worker] = true
	w.calls[worker]++
	w.mu.Unlock()
	time.Sleep(3 * time.Millisecond)
	w.mu.Lock()
	w.busy[worker] = false
	w.mu.Unlock()
	return Outcome{Status: 200}
}

// A WorkerTarget is called through DoWorker, open and closed loop alike,
// with worker indexes that are never busy twice at once.
func TestWorkerTargetGetsItsWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, closed := range []bool{false, true} {
			wt := &workerTarget{busy: map[int]bool{}, calls: map[int]int{}}
			var err error
			if closed {
				_, err = RunClosed(context.Background(), 4, time.Second, wt, &collect{}, Options{})
			} else {
				_, err = Run(context.Background(), Constant{Rate: 2000, Duration: time.Second}, wt, &collect{}, Options{CoarseTimers: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range wt.calls {
				n += c
			}
			if wt.do != 0 || wt.broken || n == 0 || len(wt.calls) < 2 {
				t.Fatalf("closed %v: %d calls through Do, broken %v, calls by worker %v", closed, wt.do, wt.broken, wt.calls)
			}
		}
	})
}

// A response read after it arrived (fast-h1's lazy reads) ends at its
// Arrived, not when Do returned; an Arrived before the send (a clock step)
// or after the return is not believed.
func TestRunArrived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		tg := TargetFunc(func(ctx context.Context, seq uint64) Outcome {
			sent := time.Now()
			time.Sleep(10 * time.Millisecond)
			switch seq % 3 {
			case 0:
				return Outcome{Status: 200, Arrived: sent.Add(3 * time.Millisecond)}
			case 1:
				return Outcome{Status: 200, Arrived: sent.Add(-time.Second)}
			}
			return Outcome{Status: 200, Arrived: sent.Add(time.Hour)}
		})
		if _, err := Run(context.Background(), Constant{Rate: 100, Duration: time.Second}, tg, &c, Options{CoarseTimers: true}); err != nil {
			t.Fatal(err)
		}
		if len(c.all) != 100 {
			t.Fatalf("%d results", len(c.all))
		}
		want := []time.Duration{3 * time.Millisecond, 0, 10 * time.Millisecond}
		for _, r := range c.all {
			if got := r.ServiceTime(); got != want[r.Seq%3] {
				t.Fatalf("request %d: service time %v, want %v", r.Seq, got, want[r.Seq%3])
			}
		}
	})
}
