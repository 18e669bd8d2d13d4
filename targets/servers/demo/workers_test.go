package demo

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestWorkersCapacity: 2 workers × 10ms service time serve 200 req/s, so 100
// simultaneous requests take 0.5s of virtual time.
func TestWorkersCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.Workers, c.ServiceTime = 2, 10*time.Millisecond
		s := newServer(t, c)
		h := s.Handler()
		const n = 100
		start := time.Now()
		done := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if rec := do(h, "GET", "/item?key=k", ""); rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
				done[i] = time.Since(start)
			})
		}
		synctest.Wait()
		if st := s.Stats(); st.InFlight != 2 || st.Queued != n-2 {
			t.Errorf("at t=0: inflight %d queued %d, want 2 and %d", st.InFlight, st.Queued, n-2)
		}
		wg.Wait()
		total := time.Since(start)
		want := time.Duration(n/c.Workers) * c.ServiceTime
		if total != want {
			t.Errorf("total %v, want %v (capacity %v req/s)", total, want, c.Capacity(0))
		}
		if rate := float64(n) / total.Seconds(); rate < 0.99*c.Capacity(0) || rate > 1.01*c.Capacity(0) {
			t.Errorf("throughput %.1f req/s, want %.1f", rate, c.Capacity(0))
		}
		// Queueing: completions come in pairs every 10ms.
		s2 := sortDurations(done)
		for i, d := range s2 {
			if want := time.Duration(i/2+1) * c.ServiceTime; d != want {
				t.Fatalf("completion %d at %v, want %v", i, d, want)
			}
		}
		if st := s.Stats(); st.InFlight != 0 || st.Queued != 0 || st.Requests != n {
			t.Errorf("after: %+v", st)
		}
	})
}

// TestQueuedRequestCancelled: a queued request leaves the queue when its
// context is cancelled.
func TestQueuedRequestCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.Workers, c.ServiceTime = 1, time.Second
		s := newServer(t, c)
		h := s.Handler()
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { do(h, "GET", "/item", "") }) // holds the only worker for 1s
		synctest.Wait()
		ctx, cancel := contextWithTimeout(100 * time.Millisecond)
		defer cancel()
		start := time.Now()
		rec := doCtx(ctx, h, "GET", "/item", "")
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("cancelled after %v, want 100ms", d)
		}
		if rec.Code != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", rec.Code)
		}
		if st := s.Stats(); st.Queued != 0 || st.Cancelled != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}
