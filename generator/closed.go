package generator

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// RunClosed drives t closed loop, the way wrk and most benchmarks do:
// each of n workers sends its next request when its last one completes,
// for duration d or until ctx is done. There is no schedule, so a request
// is "intended" when it is sent and response time equals service time:
// closed-loop numbers measure capacity (requests/s at a concurrency), not
// the latency users on a schedule see. Results are labelled as such by
// callers.
func RunClosed(ctx context.Context, n int, d time.Duration, t Target, rec Recorder, opt Options) (Stats, error) {
	if t == nil || rec == nil || n < 1 {
		return Stats{}, ErrNoSchedule
	}
	g := opt.Gauges
	if g == nil {
		g = new(Gauges)
	}
	start := opt.Start
	if start.IsZero() {
		start = time.Now()
	}
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var seq atomic.Uint64 // requests sent so far; the next one's number
	var wg sync.WaitGroup
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	l := &loop{start: start, target: t, rec: rec, ctx: reqCtx, g: g}
	g.Workers.Add(int64(n))
	l.wt, _ = t.(WorkerTarget)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			res := new(Result)
			for runCtx.Err() == nil {
				s := seq.Add(1) - 1
				now := time.Since(start)
				l.do(id, token{seq: s, at: now}, res)
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var deadlineHit bool
	var deadlineC <-chan time.Time
	if opt.Deadline > 0 {
		dt := time.NewTimer(time.Until(start.Add(opt.Deadline)))
		defer dt.Stop()
		deadlineC = dt.C
	}
	drain := opt.Drain
	if drain <= 0 {
		drain = DefaultDrain
	}
	var drainC <-chan time.Time
	interrupted := ctx.Done()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-deadlineC:
			// Requests still in flight at the deadline are censored.
			deadlineHit = true
			l.cutOff(opt.Deadline)
			cancelReqs()
			<-done
			waiting = false
		case <-interrupted:
			// Interrupted: the requests in flight get the drain.
			interrupted = nil
			tm := time.NewTimer(drain)
			defer tm.Stop()
			drainC = tm.C
		case <-drainC:
			cancelReqs()
			<-done
			waiting = false
		case <-opt.Abort:
			cancelReqs()
			<-done
			waiting = false
		}
	}
	st := Stats{Start: start, Elapsed: min(time.Since(start), d), Ended: time.Since(start), Workers: n, PeakInFlight: int(l.peak.Load())}
	st.DeadlineHit, st.CutOff = deadlineHit, l.cut.Load()
	st.Intended = seq.Load()
	st.Sent = st.Intended
	st.Interrupted = ctx.Err() != nil
	return st, nil
}
