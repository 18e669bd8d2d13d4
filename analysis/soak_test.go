package analysis

import (
	"context"
	"runtime"
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
				if m := int(el / time.Minute); el%time.Minute < time.Second && (m == 10 || m == 60) {
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					heapAt[m] = ms.HeapAlloc
				}
			}
		}()
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
