package analysis

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tailgate/generator"
)

// Memory stays flat over a long run: an hour of load at 200 req/s
// (720,000 requests, under a fake clock so it takes seconds) through the
// send loop and the collector, with the collector ticked every second as
// the CLI does. Between minutes 10 and 60 (600,000 requests) the heap may
// grow only by the per-second rows kept by design (≈ 150 bytes a second,
// 0.45 MB here): under 1.5 MB, i.e. under 2.5 bytes a request, so anything
// kept per request fails it. 'make soak' checks RSS on a real clock.
func TestMemoryFlatOverLongRun(t *testing.T) {
	if raceEnabled {
		// The race detector multiplies the cost tenfold and changes the
		// heap; 'make test' runs this test again without it.
		t.Skip("heap is measured without -race")
	}
	synctest.Test(t, func(t *testing.T) {
		c := NewCollector(nil)
		heapAt := map[int]uint64{}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		done := tickAndSampleHeap(ctx, c, start, heapAt, 10, 60)
		tg := generator.TargetFunc(func(context.Context, uint64) generator.Outcome {
			time.Sleep(2 * time.Millisecond)
			return generator.Outcome{Status: 200, TTFB: time.Millisecond}
		})
		st, err := generator.Run(ctx, generator.Constant{Rate: 200, Duration: time.Hour + 2*time.Second}, tg, c,
			generator.Options{Start: start, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		<-done
		if st.Sent < 720000 {
			t.Fatalf("sent %d", st.Sent)
		}
		a, b := heapAt[10], heapAt[60]
		if a == 0 || b == 0 {
			t.Fatalf("heap samples %v", heapAt)
		}
		if growth := int64(b) - int64(a); growth > 1_500_000 {
			t.Errorf("heap grew %d bytes from 10 to 60 minutes (%d → %d)", growth, a, b)
		}
		t.Logf("heap at 10 min %.1f MB, at 60 min %.1f MB", float64(a)/1e6, float64(b)/1e6)
	})
}

// A long run at a rate the target cannot sustain stays bounded: ten minutes
// offered at 5,000 req/s to a target that serves 64 at a time in 100 ms
// (640 req/s). With policy wait the in-flight cap holds (never more than 64
// requests or workers), the unsent backlog is not materialised (the
// schedule is read lazily), and the heap between minutes 2 and 10 grows
// only by the per-second rows, as in the test above. Vegeta, by contrast,
// grows without bound here. Policy drop is checked the same way.
func TestMemoryBoundedWhenTargetCannotKeepUp(t *testing.T) {
	if raceEnabled {
		t.Skip("heap is measured without -race")
	}
	for _, pol := range []generator.SaturationPolicy{generator.Wait, generator.Drop} {
		t.Run(pol.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const maxIn = 64
				c := NewCollector(nil)
				heapAt := map[int]uint64{}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				start := time.Now()
				done := tickAndSampleHeap(ctx, c, start, heapAt, 2, 10)
				var inFlight, peak atomic.Int64
				tg := generator.TargetFunc(func(context.Context, uint64) generator.Outcome {
					n := inFlight.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					time.Sleep(100 * time.Millisecond)
					inFlight.Add(-1)
					return generator.Outcome{Status: 200}
				})
				// The run is cut at 10 minutes, as by Ctrl-C: with policy wait
				// the backlog would otherwise take 80 more minutes to send.
				runCtx, stop := context.WithTimeout(ctx, 10*time.Minute+2*time.Second)
				defer stop()
				st, err := generator.Run(runCtx, generator.Constant{Rate: 5000, Duration: time.Hour}, tg, c,
					generator.Options{Start: start, CoarseTimers: true, MaxInFlight: maxIn, OnSaturation: pol})
				if err != nil {
					t.Fatal(err)
				}
				cancel()
				<-done
				if p := peak.Load(); p > maxIn || st.PeakInFlight > maxIn || st.Workers > maxIn {
					t.Fatalf("in flight at the target %d, peak %d, workers %d: over the cap %d", p, st.PeakInFlight, st.Workers, maxIn)
				}
				// The target could serve about 640/s; far more were due.
				if st.Intended < 3_000_000 {
					t.Fatalf("intended %d: the schedule was not followed", st.Intended)
				}
				if pol == generator.Drop && st.Dropped < st.Intended/2 {
					t.Fatalf("dropped %d of %d", st.Dropped, st.Intended)
				}
				if pol == generator.Wait && (st.Dropped != 0 || st.Unsent < st.Intended/2 || st.SlotWaits+maxIn < st.Sent) {
					t.Fatalf("policy wait: dropped %d, unsent %d, slot waits %d of %d", st.Dropped, st.Unsent, st.SlotWaits, st.Intended)
				}
				if st.Intended != st.Sent+st.Dropped+st.Unsent {
					t.Fatalf("intended %d != sent %d + dropped %d + unsent %d", st.Intended, st.Sent, st.Dropped, st.Unsent)
				}
				a, b := heapAt[2], heapAt[10]
				if a == 0 || b == 0 {
					t.Fatalf("heap samples %v", heapAt)
				}
				if growth := int64(b) - int64(a); growth > 1_000_000 {
					t.Errorf("heap grew %d bytes from 2 to 10 minutes (%d → %d)", growth, a, b)
				}
				t.Logf("%s: intended %d, sent %d, dropped %d, unsent %d, slot waits %d, peak in flight %d; heap %.1f MB at 2 min, %.1f MB at 10 min",
					pol, st.Intended, st.Sent, st.Dropped, st.Unsent, st.SlotWaits, st.PeakInFlight, float64(a)/1e6, float64(b)/1e6)
			})
		})
	}
}

// tickAndSampleHeap ticks c every (fake) second, as the CLI does, and
// records the live heap after a GC at each of the given minutes, until
// ctx ends; the returned channel closes then.
func tickAndSampleHeap(ctx context.Context, c *Collector, start time.Time, heapAt map[int]uint64, minutes ...int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			el := time.Since(start)
			_ = c.Tick(el)
			if m := int(el / time.Minute); el%time.Minute < time.Second && slices.Contains(minutes, m) {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heapAt[m] = ms.HeapAlloc
			}
		}
	}()
	return done
}

// A profile of 10,000 one-millisecond phases, a few of which get a
// request: a phase costs a few kilobytes until it gets one (its
// histograms are allocated on the first value), so the whole run's
// collector and summary stay in a small budget. (A phase with requests
// holds dense histograms, about 1.7 MB; docs/hardening.md.)
func TestMemoryManyPhases(t *testing.T) {
	if raceEnabled {
		t.Skip("memory is measured without the race detector (make test runs it so)")
	}
	const phases, busy = 10000, 20
	var ph []PhaseWindow
	for i := range phases {
		ph = append(ph, PhaseWindow{Name: fmt.Sprintf("p%d", i), Start: time.Duration(i) * time.Millisecond, End: time.Duration(i+1) * time.Millisecond})
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := NewCollector(ph)
	for i := range busy {
		at := time.Duration(i*phases/busy) * time.Millisecond
		c.Record(0, &generator.Result{Seq: uint64(i), Intended: at, Sent: at, Done: at + time.Millisecond, Outcome: generator.Outcome{Status: 200}})
	}
	if err := c.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	s := c.Summarize(generator.Stats{Intended: busy, Sent: busy, Elapsed: 10 * time.Second})
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	const budget = 64 << 20
	if grew > budget {
		t.Errorf("10,000 phases (%d with requests) hold %.1f MB, want under %d MB", busy, float64(grew)/1e6, budget>>20)
	}
	if len(s.Phases) != phases || s.Total.OK != busy {
		t.Fatalf("%d phases, %d ok", len(s.Phases), s.Total.OK)
	}
	t.Logf("10,000 phases, %d with a request: %.1f MB", busy, float64(grew)/1e6)
	runtime.KeepAlive(s)
}
