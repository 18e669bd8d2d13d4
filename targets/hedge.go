package targets

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

// Hedging window: the quantile delay is recomputed every HedgeRecompute
// primary latencies over the last HedgeWindow of them.
const (
	HedgeWindow    = 1000
	HedgeRecompute = 100
)

// minSamples is how many primaries a quantile delay waits for: enough that
// at least ten lie above the quantile, at least 100, at most the window
// (p99 needs the whole window).
func minSamples(quantile float64) uint64 {
	n := max(100, math.Ceil(10/(1-quantile)-1e-9))
	return uint64(min(n, HedgeWindow))
}

// Hedge sends each request to its target and, if no answer has come after
// a delay (generator.HedgeAfter), sends a duplicate (the same seq, so the
// same templated request) and returns whichever answer comes first, cancelling
// the other through its context. This is the hedged request of Dean and
// Barroso, "The Tail at Scale" (2013): a little extra load buys a shorter
// tail when slowness strikes calls, not requests. Over a Balanced target
// the duplicate goes wherever the strategy sends it: usually another
// endpoint with round-robin, random, least-conn or p2c, the same one with
// ring-hash and other key-hashing strategies (same seq, same key).
//
// The logical Outcome is the winner's, whatever it is: hedging is not
// retrying, and a fast failure is an answer. The loser's Outcome is
// dropped, so a cancelled loser is never counted as an error. Do returns
// as soon as the winner answers; the loser finishes in the background once
// it sees its context cancelled: the target may have up to twice as many
// requests in flight as the generator's MaxInFlight, and Wait waits for
// the stragglers.
//
// Cost per request: one goroutine and one context.WithCancel (two of each
// when hedged) and, in quantile mode, one atomic store into the window plus
// a sort of HedgeWindow latencies every HedgeRecompute requests; the
// per-request state and its timer are pooled.
//
// In quantile mode (after.Quantile in (0, 1)) the delay is that quantile
// of the last HedgeWindow primaries (a ring buffer), recomputed every
// HedgeRecompute of them, and first once max(100, 10/(1 − Quantile))
// primaries have been seen, so that at least ten lie above it (p99 needs
// the whole window); until then the delay is after.Fixed. The window
// holds, per request, the time to its first answer: the primary's latency
// when it won, and a lower bound on it (delay + the hedge's latency) when
// it lost. A censored primary still lies above the delay, so the quantile
// is not dragged down by the hedges it causes; after a rise in latency it
// climbs back within a few recomputes.
type Hedge struct {
	t     generator.Target
	after generator.HedgeAfter
	min   uint64

	delay atomic.Int64 // the delay now in force, ns; 0: no hedging
	ring  [HedgeWindow]atomic.Int64
	seen  atomic.Uint64 // primaries observed
	mu    sync.Mutex    // one recompute at a time; guards buf
	buf   []int64

	requests, hedges, wins atomic.Uint64
	running                sync.WaitGroup // attempts not yet returned
	calls                  sync.Pool      // *hedgeCall
}

var _ generator.Target = (*Hedge)(nil)

// NewHedge returns a Hedge over t.
func NewHedge(t generator.Target, after generator.HedgeAfter) (*Hedge, error) {
	if t == nil {
		return nil, errors.New("hedge: nil target")
	}
	if err := after.Validate(); err != nil {
		return nil, err
	}
	h := &Hedge{t: t, after: after}
	h.delay.Store(int64(after.Fixed))
	if after.Quantile > 0 {
		h.min = minSamples(after.Quantile)
		h.buf = make([]int64, HedgeWindow)
	}
	h.calls.New = func() any {
		tm := time.NewTimer(time.Hour)
		tm.Stop()
		c := &hedgeCall{h: h, answers: make(chan hedgeAnswer, 2), timer: tm}
		// Bound once: go on a func value with no arguments allocates
		// nothing, where go c.attempt(i) allocates its closure.
		c.primary = func() { c.attempt(0) }
		c.backup = func() { c.attempt(1) }
		return c
	}
	return h, nil
}

// After returns the configured delay.
func (h *Hedge) After() generator.HedgeAfter { return h.after }

// hedgeCall is one logical request; pooled. It is shared by the caller and
// the attempts, and goes back to the pool when the last of them is done.
type hedgeCall struct {
	h       *Hedge
	seq     uint64
	ctx     [2]context.Context // primary, hedge
	answers chan hedgeAnswer   // cap 2: an attempt never blocks
	timer   *time.Timer        // only the caller touches it
	refs    atomic.Int32

	primary, backup func()
}

type hedgeAnswer struct {
	out   generator.Outcome
	hedge bool
}

func (c *hedgeCall) attempt(i int) {
	out := c.h.t.Do(c.ctx[i], c.seq)
	c.answers <- hedgeAnswer{out: out, hedge: i == 1}
	c.h.running.Done()
	c.release()
}

func (c *hedgeCall) release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	for len(c.answers) > 0 {
		<-c.answers
	}
	c.ctx = [2]context.Context{}
	c.h.calls.Put(c)
}

// Do sends the request, and a duplicate if it is slow to answer.
func (h *Hedge) Do(ctx context.Context, seq uint64) generator.Outcome {
	h.requests.Add(1)
	c := h.calls.Get().(*hedgeCall)
	c.seq = seq
	c.refs.Store(2) // the caller and the primary
	pctx, pcancel := context.WithCancel(ctx)
	c.ctx[0] = pctx
	h.running.Add(1)
	start := time.Now()
	go c.primary()

	var hcancel context.CancelFunc
	var ans hedgeAnswer
	if d := time.Duration(h.delay.Load()); d <= 0 {
		ans = <-c.answers
	} else {
		c.timer.Reset(d)
		select {
		case ans = <-c.answers:
			c.timer.Stop()
		case <-c.timer.C:
			if ctx.Err() != nil { // the run is ending: no new load
				ans = <-c.answers
				break
			}
			var hctx context.Context
			hctx, hcancel = context.WithCancel(ctx)
			c.ctx[1] = hctx
			c.refs.Add(1)
			h.running.Add(1)
			h.hedges.Add(1)
			go c.backup()
			ans = <-c.answers
		}
	}
	took := time.Since(start)
	pcancel()
	if hcancel != nil {
		hcancel()
	}
	if ans.hedge {
		h.wins.Add(1)
	}
	if h.after.Quantile > 0 && ctx.Err() == nil {
		h.observe(took)
	}
	c.release()
	return ans.out
}

// observe adds a primary's latency (or its lower bound) to the window.
func (h *Hedge) observe(d time.Duration) {
	n := h.seen.Add(1)
	h.ring[(n-1)%HedgeWindow].Store(int64(d))
	if n < h.min || (n != h.min && n%HedgeRecompute != 0) {
		return
	}
	if !h.mu.TryLock() {
		return // another goroutine is recomputing
	}
	k := min(n, HedgeWindow)
	buf := h.buf[:k]
	for i := range buf {
		buf[i] = h.ring[i].Load()
	}
	slices.Sort(buf)
	rank := analysis.Rank(h.after.Quantile, int64(k)) // nearest rank, as every percentile tailgate reports
	h.delay.Store(buf[rank-1])
	h.mu.Unlock()
}

// Delay returns the hedge delay now in force; 0 means requests are not
// being hedged (a quantile delay still warming up without a Fixed one).
func (h *Hedge) Delay() time.Duration { return time.Duration(h.delay.Load()) }

// HedgeStats are a Hedge's counters since it was made or Reset.
// Durations are nanoseconds in JSON.
type HedgeStats struct {
	Requests  uint64 `json:"requests"`   // logical requests (calls to Do)
	Hedges    uint64 `json:"hedges"`     // duplicates sent
	HedgeWins uint64 `json:"hedge_wins"` // duplicates that answered first
	// ExtraLoad is Hedges / Requests: the fraction of extra requests
	// hedging sent to the target (0 with no requests).
	ExtraLoad float64       `json:"extra_load"`
	Delay     time.Duration `json:"delay_ns"` // the delay now in force (0: not hedging)
	Samples   uint64        `json:"samples"`  // latencies seen by the quantile window
}

// Stats returns the counters. Read while requests run, they are each
// current but not a consistent snapshot of one instant.
func (h *Hedge) Stats() HedgeStats {
	s := HedgeStats{
		Requests:  h.requests.Load(),
		Hedges:    h.hedges.Load(),
		HedgeWins: h.wins.Load(),
		Delay:     h.Delay(),
		Samples:   h.seen.Load(),
	}
	if s.Requests > 0 {
		s.ExtraLoad = float64(s.Hedges) / float64(s.Requests)
	}
	return s
}

// Reset zeroes the counters, between runs or sweep steps. The quantile
// window, and so the delay, carry over.
func (h *Hedge) Reset() {
	h.requests.Store(0)
	h.hedges.Store(0)
	h.wins.Store(0)
}

// Wait waits for the attempts still running, the losers Do has not waited
// for. Call it after the last Do has returned (after generator.Run).
func (h *Hedge) Wait() { h.running.Wait() }

// Close waits for the attempts still running and closes the target if it
// can be closed.
func (h *Hedge) Close() {
	h.Wait()
	switch c := h.t.(type) {
	case interface{ Close() }:
		c.Close()
	case interface{ Close() error }:
		c.Close()
	}
}
