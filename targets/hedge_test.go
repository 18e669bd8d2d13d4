package targets

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tailgate/generator"
)

// callFake answers after lat(call): slowness is decided per call, not per
// seq, so a duplicate of a slow request is usually fast. It counts the
// calls that ended because their context was cancelled, and the calls
// still running.
type callFake struct {
	calls, cancelled atomic.Uint64
	running          atomic.Int64
	lat              func(call uint64) time.Duration
}

func (f *callFake) Do(ctx context.Context, seq uint64) generator.Outcome {
	f.running.Add(1)
	defer f.running.Add(-1)
	call := f.calls.Add(1) - 1
	if !fanoutSleep(ctx, f.lat(call)) {
		f.cancelled.Add(1)
		return generator.Outcome{Err: generator.ErrCanceled}
	}
	return generator.Outcome{Status: 200, BytesIn: int64(seq)}
}

// fivePctSlow: 5 % of calls take 100 ms, the rest 1 ms.
func fivePctSlow(call uint64) time.Duration {
	if fivePct(fanoutMix(call ^ 0xabcdef)) {
		return 100 * time.Millisecond
	}
	return time.Millisecond
}

// openLoop sends n requests to t, one every millisecond, each on its own
// goroutine as the generator's workers would, and returns their latencies
// sorted. Every outcome must be OK and carry its own seq.
func openLoop(t *testing.T, tg generator.Target, n int) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			out := tg.Do(context.Background(), uint64(i))
			lat[i] = time.Since(start)
			if !out.OK() || out.BytesIn != int64(i) {
				bad.Add(1)
			}
		})
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of %d outcomes not OK or not their own", bad.Load(), n)
	}
	slices.Sort(lat)
	return lat
}

func p99(sorted []time.Duration) time.Duration { return sorted[(len(sorted)*99+99)/100-1] }

func TestHedgeCutsTailForFivePercentExtraLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4000
		plain := openLoop(t, &callFake{lat: fivePctSlow}, n)

		fake := &callFake{lat: fivePctSlow}
		h, err := NewHedge(fake, generator.HedgeAfter{Fixed: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		hedged := openLoop(t, h, n)
		h.Wait()
		st := h.Stats()
		t.Logf("p99 %v unhedged, %v hedged after 10ms; %+v", p99(plain), p99(hedged), st)

		if p99(plain) != 100*time.Millisecond {
			t.Errorf("unhedged p99 %v, want 100ms", p99(plain))
		}
		// A slow primary is answered by its hedge at 10 + 1 ms; only
		// both slow (0.25 %) takes 100 ms.
		if p99(hedged) > 20*time.Millisecond {
			t.Errorf("hedged p99 %v, want ≤ 20ms", p99(hedged))
		}
		if st.Requests != n || st.ExtraLoad < 0.03 || st.ExtraLoad > 0.08 {
			t.Errorf("extra load %.4f over %d requests, want 3–8 %%", st.ExtraLoad, st.Requests)
		}
		if float64(st.HedgeWins) < 0.85*float64(st.Hedges) {
			t.Errorf("%d of %d hedges won, want most", st.HedgeWins, st.Hedges)
		}
		// Each hedge leaves exactly one loser, and every loser saw its
		// context cancelled (no two attempts finish at the same instant
		// here). openLoop checked no ErrCanceled reached the caller.
		if fake.cancelled.Load() != st.Hedges {
			t.Errorf("%d attempts cancelled, want one per hedge (%d)", fake.cancelled.Load(), st.Hedges)
		}
		if fake.calls.Load() != n+st.Hedges || fake.running.Load() != 0 {
			t.Errorf("%d calls (%d running), want %d", fake.calls.Load(), fake.running.Load(), n+st.Hedges)
		}
		if st.Delay != 10*time.Millisecond || st.Samples != 0 {
			t.Errorf("fixed delay: %+v", st)
		}
	})
}

// Do returns as soon as the winner answers, without waiting for the
// loser, which sees its context Done.
func TestHedgeReturnsWithoutWaitingForLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loserDone atomic.Bool
		var calls atomic.Int32
		tg := generator.TargetFunc(func(ctx context.Context, _ uint64) generator.Outcome {
			if calls.Add(1) == 1 {
				<-ctx.Done() // ignores its deadline: only cancellation ends it
				loserDone.Store(true)
				return generator.Outcome{Err: generator.ErrCanceled}
			}
			time.Sleep(3 * time.Millisecond)
			return generator.Outcome{Status: 204}
		})
		h, _ := NewHedge(tg, generator.HedgeAfter{Fixed: 5 * time.Millisecond})
		start := time.Now()
		out := h.Do(context.Background(), 7)
		if out.Status != 204 || time.Since(start) != 8*time.Millisecond {
			t.Errorf("got %+v after %v, want the hedge's 204 at 8ms", out, time.Since(start))
		}
		h.Wait()
		if !loserDone.Load() {
			t.Error("the primary was not cancelled")
		}
		if st := h.Stats(); st.Hedges != 1 || st.HedgeWins != 1 || st.ExtraLoad != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// No hedge is sent once the run is ending.
func TestHedgeNoHedgeAfterRunEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &callFake{lat: func(uint64) time.Duration { return time.Second }}
		h, _ := NewHedge(fake, generator.HedgeAfter{Fixed: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if out := h.Do(ctx, 0); out.Err != generator.ErrCanceled {
			t.Errorf("got %+v", out)
		}
		if st := h.Stats(); st.Hedges != 0 || fake.calls.Load() != 1 {
			t.Errorf("stats %+v, %d calls", st, fake.calls.Load())
		}
	})
}

// The quantile delay starts at the Fixed fallback, switches to the window's
// quantile once enough primaries are seen, and follows the latency up and
// down; about 1 − q of requests are then hedged.
func TestHedgeQuantileAdapts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var scale atomic.Int64
		scale.Store(1)
		// Uniform 1–100 ms per call (times scale): p90 ≈ 90 ms.
		fake := &callFake{lat: func(call uint64) time.Duration {
			return time.Duration(scale.Load()) * time.Duration(1+fanoutMix(call)%100) * time.Millisecond
		}}
		after := generator.HedgeAfter{Fixed: 10 * time.Millisecond, Quantile: 0.9}
		if minSamples(after.Quantile) != 100 {
			t.Fatalf("p90 waits for %d samples, want 100", minSamples(after.Quantile))
		}
		h, _ := NewHedge(fake, after)
		run := func(n int) {
			for i := range n {
				h.Do(context.Background(), uint64(i))
			}
		}
		run(99)
		if st := h.Stats(); st.Delay != 10*time.Millisecond || st.Samples != 99 {
			t.Fatalf("warming up: %+v, want the 10ms fallback", st)
		}
		run(1)
		if d := h.Delay(); d == 10*time.Millisecond {
			t.Fatalf("after 100 samples the delay is still the fallback")
		}
		check := func(phase string, lo, hi time.Duration, n int) {
			t.Helper()
			run(n)
			h.Reset()
			run(2000)
			st := h.Stats()
			t.Logf("%s: %+v", phase, st)
			if st.Delay < lo || st.Delay > hi {
				t.Errorf("%s: delay %v, want %v–%v", phase, st.Delay, lo, hi)
			}
			if st.ExtraLoad < 0.06 || st.ExtraLoad > 0.15 {
				t.Errorf("%s: extra load %.3f, want about 0.10", phase, st.ExtraLoad)
			}
		}
		check("1–100ms", 80*time.Millisecond, 100*time.Millisecond, 3000)
		scale.Store(3) // 3–300 ms: p90 ≈ 270 ms
		check("3–300ms", 240*time.Millisecond, 300*time.Millisecond, 5000)
		scale.Store(1)
		check("back to 1–100ms", 80*time.Millisecond, 100*time.Millisecond, 2000)
		h.Wait()
	})
}

// A quantile without a fallback does not hedge until it is known.
func TestHedgeQuantileWithoutFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &callFake{lat: func(call uint64) time.Duration { return time.Duration(1+call%10) * time.Millisecond }}
		h, _ := NewHedge(fake, generator.HedgeAfter{Quantile: 0.99})
		for i := range 999 {
			h.Do(context.Background(), uint64(i))
		}
		if st := h.Stats(); st.Hedges != 0 || st.Delay != 0 {
			t.Fatalf("p99 with 999 samples: %+v, want no hedging yet", st)
		}
		h.Do(context.Background(), 999)
		if d := h.Delay(); d != 10*time.Millisecond {
			t.Errorf("p99 delay %v, want 10ms", d)
		}
	})
}

// Under the real send loop, losers never show up as errors.
func TestHedgeUnderRunCountsNoLoser(t *testing.T) {
	var seen sync.Map
	tg := generator.TargetFunc(func(ctx context.Context, seq uint64) generator.Outcome {
		// The primaries of odd seqs stall until cancelled: half the
		// primaries lose to their hedge.
		if _, again := seen.LoadOrStore(seq, true); !again && seq%2 == 1 {
			<-ctx.Done()
			return generator.Outcome{Err: generator.ErrCanceled}
		}
		return generator.Outcome{Status: 200}
	})
	h, err := NewHedge(tg, generator.HedgeAfter{Fixed: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var results, bad atomic.Int64
	rec := generator.RecorderFunc(func(_ int, r *generator.Result) {
		results.Add(1)
		if !r.OK() {
			bad.Add(1)
		}
	})
	st, err := generator.Run(context.Background(), generator.Constant{Rate: 200, Duration: 500 * time.Millisecond}, h, rec, generator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	hs := h.Stats()
	t.Logf("%+v; %+v", st.Sent, hs)
	if results.Load() != int64(st.Sent) || bad.Load() != 0 {
		t.Errorf("%d results, %d not OK, for %d sent", results.Load(), bad.Load(), st.Sent)
	}
	if hs.Requests != st.Sent || hs.Hedges == 0 {
		t.Errorf("stats %+v for %d sent", hs, st.Sent)
	}
}

func TestNewHedgeRejects(t *testing.T) {
	if _, err := NewHedge(nil, generator.HedgeAfter{Fixed: time.Millisecond}); err == nil {
		t.Error("NewHedge(nil) succeeded")
	}
	if _, err := NewHedge(generator.TargetFunc(nil), generator.HedgeAfter{}); err == nil {
		t.Error("NewHedge without a delay succeeded")
	}
}

func TestHedgeAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation report")
	}
	instant := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	runCtx, cancel := context.WithCancel(context.Background()) // like the send loop's
	defer cancel()
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		after generator.HedgeAfter
	}{
		{"fixed, Background", context.Background(), generator.HedgeAfter{Fixed: 10 * time.Millisecond}},
		{"fixed, run context", runCtx, generator.HedgeAfter{Fixed: 10 * time.Millisecond}},
		{"p95, run context", runCtx, generator.HedgeAfter{Fixed: 10 * time.Millisecond, Quantile: 0.95}},
	} {
		h, _ := NewHedge(instant, tt.after)
		var seq uint64
		allocs := testing.AllocsPerRun(2000, func() { h.Do(tt.ctx, seq); seq++ })
		h.Wait()
		t.Logf("Hedge %s: %.2f allocs per request (not hedged)", tt.name, allocs)
		// context.WithCancel's context and cancel func; the rest is pooled
		// (more under -race, where sync.Pool drops a quarter of its items).
		if allocs > 5 {
			t.Errorf("Hedge %s: %.2f allocs per Do, want ≤ 5", tt.name, allocs)
		}
	}
}

func BenchmarkHedgeDo(b *testing.B) {
	instant := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	h, _ := NewHedge(instant, generator.HedgeAfter{Fixed: 10 * time.Millisecond, Quantile: 0.95})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var seq uint64
		for pb.Next() {
			h.Do(ctx, seq)
			seq++
		}
	})
	h.Wait()
}

// The tail-at-scale recipe: hedge each sub-request of a fan-out. Ten
// sub-requests of which 5 % are slow make 40 % of logical requests slow;
// hedged after 10 ms, only a sub-request whose hedge is slow too (0.25 %)
// does, so about 2.5 % are.
func TestHedgeUnderFanOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &callFake{lat: fivePctSlow}
		h, _ := NewHedge(fake, generator.HedgeAfter{Fixed: 10 * time.Millisecond})
		f, _ := NewFanOut(10, []generator.Target{h})
		lat := openLoop(t, generator.TargetFunc(func(ctx context.Context, seq uint64) generator.Outcome {
			out := f.Do(ctx, seq)
			out.BytesIn /= 10 // each sub-request returned seq bytes
			return out
		}), 2000)
		h.Wait()
		a := f.Amplification(50 * time.Millisecond)
		st := h.Stats()
		p95 := lat[len(lat)*95/100-1]
		t.Logf("logical p95 %v; %v; hedges %+v", p95, a, st)
		if a.Measured < 0.01 || a.Measured > 0.05 || p95 > 20*time.Millisecond {
			t.Errorf("logical slow %.3f, p95 %v: want ≈ 2.5 %% and ≤ 20ms (40 %% and 100ms unhedged)", a.Measured, p95)
		}
		if st.ExtraLoad < 0.03 || st.ExtraLoad > 0.08 {
			t.Errorf("extra load %.3f", st.ExtraLoad)
		}
	})
}
