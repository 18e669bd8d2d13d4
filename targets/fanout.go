package targets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

// FanOut turns each logical request into N parallel sub-requests, the way a
// scatter-gather service queries N shards or replicas, and completes the
// logical request when the slowest sub-request completes. Its tail is
// therefore the tail of a maximum:
//
//	P(logical > t) = 1 − Π_i (1 − P(sub_i > t))  =  1 − (1 − p)^N
//
// when the sub-requests are independent and each is slower than t with
// probability p (AmplificationEstimate). Comparing the measured fraction of
// slow logical requests with this estimate (FanOut.Amplification) says
// whether slowness strikes sub-requests independently, together, or apart;
// docs/diagnosis.md explains how to read it.
//
// Sub-request i (0 ≤ i < N) of logical request seq goes to
//
//	subs[(seq·N + i) mod len(subs)]
//
// so one target gets all N, N targets get one each, and any other number
// of targets is used round-robin, reproducibly by seq. Every sub-request is
// sent with the logical request's seq, so it carries the same templated
// request.
//
// The logical Outcome is OK only if every sub-request's is: Err is that of
// the first (lowest i) sub-request with a transport error; Status is the
// highest status when all are OK, else the highest status among the
// failing sub-requests that got a response (0 if none did); BytesIn and
// BytesOut are summed; CacheHit is set only if every sub-request hit;
// Endpoint is that of the slowest sub-request (the straggler the logical
// request waited for), when the sub-targets are balanced.
//
// Cost: N−1 goroutines per logical request (sub-request 0 runs on the
// caller's), two clock reads and one atomic add into a lock-free histogram
// per sub-request; the per-request state is pooled. All sub-requests
// finish before Do returns. FanOut does not cancel the others when one
// fails: a scatter-gather that fails fast would report a shorter tail.
type FanOut struct {
	// SubObserver, when set, is called with each sub-request's duration
	// (from just before the sub-target's Do to just after it), from the
	// sub-request's goroutine, concurrently. It must be fast and safe for
	// concurrent use. Set it before the first Do.
	SubObserver func(d time.Duration)

	n    int
	subs []generator.Target
	hist []LatencyHist // per sub-target
	log  LatencyHist   // logical requests: from Do's entry to its return

	requests, subRequests atomic.Uint64
	failed, subFailed     atomic.Uint64

	calls sync.Pool // *fanCall
}

var _ generator.Target = (*FanOut)(nil)

// NewFanOut returns a FanOut of n sub-requests per logical request over
// subs (see FanOut for which sub-request goes where).
func NewFanOut(n int, subs []generator.Target) (*FanOut, error) {
	if n < 1 {
		return nil, fmt.Errorf("fan-out must be at least 1, got %d", n)
	}
	if len(subs) == 0 {
		return nil, errors.New("fan-out needs at least one target")
	}
	for i, t := range subs {
		if t == nil {
			return nil, fmt.Errorf("fan-out target %d is nil", i+1)
		}
	}
	f := &FanOut{n: n, subs: slices.Clone(subs), hist: make([]LatencyHist, len(subs))}
	f.calls.New = func() any {
		c := &fanCall{f: f, outs: make([]generator.Outcome, n), durs: make([]time.Duration, n)}
		// Bound once: a go statement on a func value with no arguments
		// allocates nothing, where go c.sub(i) allocates its closure.
		c.fns = make([]func(), n)
		for i := 1; i < n; i++ {
			c.fns[i] = func() { c.run(i); c.wg.Done() }
		}
		return c
	}
	return f, nil
}

// N returns the number of sub-requests per logical request.
func (f *FanOut) N() int { return f.n }

// fanCall is one logical request in flight; pooled.
type fanCall struct {
	f     *FanOut
	ctx   context.Context
	seq   uint64
	first int // sub-target of sub-request 0
	outs  []generator.Outcome
	durs  []time.Duration
	fns   []func() // fns[i] runs sub-request i (i ≥ 1) and marks it done
	wg    sync.WaitGroup
}

// Do sends the N sub-requests in parallel and returns when all have.
func (f *FanOut) Do(ctx context.Context, seq uint64) generator.Outcome {
	start := time.Now()
	c := f.calls.Get().(*fanCall)
	L := uint64(len(f.subs))
	c.ctx, c.seq, c.first = ctx, seq, int((seq%L)*(uint64(f.n)%L)%L)
	c.wg.Add(f.n - 1)
	for i := 1; i < f.n; i++ {
		go c.fns[i]()
	}
	c.run(0)
	c.wg.Wait()
	out := c.merge()
	c.ctx = nil
	f.calls.Put(c)
	f.log.Record(time.Since(start))
	f.requests.Add(1)
	f.subRequests.Add(uint64(f.n))
	if !out.OK() {
		f.failed.Add(1)
	}
	return out
}

func (c *fanCall) run(i int) {
	f := c.f
	j := c.first + i
	for j >= len(f.subs) {
		j -= len(f.subs)
	}
	t0 := time.Now()
	out := f.subs[j].Do(c.ctx, c.seq)
	d := time.Since(t0)
	c.outs[i], c.durs[i] = out, d
	f.hist[j].Record(d)
	if !out.OK() {
		f.subFailed.Add(1)
	}
	if obs := f.SubObserver; obs != nil {
		obs(d)
	}
}

// merge combines the sub-requests' outcomes (see FanOut).
func (c *fanCall) merge() generator.Outcome {
	var out generator.Outcome
	allOK, allHit := true, true
	slowest := 0
	okStatus, badStatus := 0, 0
	badMsg := ""
	for i, o := range c.outs {
		out.BytesIn += o.BytesIn
		out.BytesOut += o.BytesOut
		allHit = allHit && o.CacheHit
		if c.durs[i] > c.durs[slowest] {
			slowest = i
		}
		if o.OK() {
			okStatus = max(okStatus, o.Status)
			continue
		}
		allOK = false
		if o.Err != generator.ErrNone {
			if out.Err == generator.ErrNone {
				out.Err, out.Msg = o.Err, o.Msg
			}
		} else if o.Status >= badStatus {
			badStatus, badMsg = o.Status, o.Msg
		}
	}
	if out.Err == generator.ErrNone {
		out.Msg = badMsg
	}
	out.Status = okStatus
	if !allOK {
		// A failing response's status (even 0 or 1xx) keeps the merge
		// failing; with only transport errors, there is none.
		out.Status = badStatus
	}
	out.CacheHit = allHit
	out.Endpoint = c.outs[slowest].Endpoint
	return out
}

// FanOutStats are a FanOut's counters since it was made or Reset.
type FanOutStats struct {
	N           int    `json:"n"`            // sub-requests per logical request
	Targets     int    `json:"targets"`      // sub-targets
	Requests    uint64 `json:"requests"`     // logical requests completed
	SubRequests uint64 `json:"sub_requests"` // sub-requests completed: N × Requests
	Failed      uint64 `json:"failed"`       // logical requests not OK
	SubFailed   uint64 `json:"sub_failed"`   // sub-requests not OK
}

// Stats returns the counters. Read while requests run, they are each
// current but not a consistent snapshot of one instant.
func (f *FanOut) Stats() FanOutStats {
	return FanOutStats{
		N:           f.n,
		Targets:     len(f.subs),
		Requests:    f.requests.Load(),
		SubRequests: f.subRequests.Load(),
		Failed:      f.failed.Load(),
		SubFailed:   f.subFailed.Load(),
	}
}

// SubLatencies returns a copy of the distribution of all sub-requests'
// durations, pooled over the sub-targets.
func (f *FanOut) SubLatencies() *LatencyHist {
	var h LatencyHist
	for i := range f.hist {
		h.Merge(&f.hist[i])
	}
	return &h
}

// TargetLatencies returns a copy of the distribution of the durations of
// the sub-requests sent to sub-target i (0-based, in the order given).
func (f *FanOut) TargetLatencies(i int) *LatencyHist {
	var h LatencyHist
	h.Merge(&f.hist[i])
	return &h
}

// LogicalLatencies returns a copy of the distribution of the logical
// requests' durations as FanOut saw them: from Do's entry to its return,
// the service time without the generator's send lag.
func (f *FanOut) LogicalLatencies() *LatencyHist {
	var h LatencyHist
	h.Merge(&f.log)
	return &h
}

// Reset zeroes the counters and histograms, between runs or sweep steps.
// Requests in flight during a Reset may be counted either side of it.
func (f *FanOut) Reset() {
	f.requests.Store(0)
	f.subRequests.Store(0)
	f.failed.Store(0)
	f.subFailed.Store(0)
	for i := range f.hist {
		f.hist[i].Reset()
	}
	f.log.Reset()
}

// Close closes the sub-targets that can be closed.
func (f *FanOut) Close() {
	for _, t := range f.subs {
		switch c := t.(type) {
		case interface{ Close() }:
			c.Close()
		case interface{ Close() error }:
			c.Close()
		}
	}
}

// Amplification compares the measured fraction of logical requests slower
// than threshold with the fraction the independent model predicts from the
// sub-requests. With several sub-targets, the model uses each sub-target's
// own p_j and averages 1 − Π(1 − p_j) over the sets of sub-targets the
// logical requests use, which consecutive seqs cover evenly; with one
// sub-target it is 1 − (1 − p)^N. A threshold of 0 means the pooled
// sub-requests' p99.
func (f *FanOut) Amplification(threshold time.Duration) Amplification {
	sub := f.SubLatencies()
	if threshold <= 0 {
		threshold = sub.Quantile(0.99)
	}
	a := MeasureAmplification(sub, &f.log, f.n, threshold)
	L := len(f.subs)
	if L == 1 || a.Subs == 0 {
		return a
	}
	p := make([]float64, L)
	for j := range f.hist {
		if c := f.hist[j].Count(); c > 0 {
			p[j] = float64(f.hist[j].CountAbove(threshold)) / float64(c)
		}
	}
	// Sub-request 0 starts at offsets r = seq·N mod L: the multiples of
	// g = gcd(N, L), each as often over consecutive seqs.
	g := gcd(f.n, L)
	var sum float64
	for r := 0; r < L; r += g {
		none := 1.0
		for i := range f.n {
			none *= 1 - p[(r+i)%L]
		}
		sum += 1 - none
	}
	a.Estimated = sum / float64(L/g)
	a.StdErr = amplificationStdErr(a)
	return a
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// AmplificationEstimate is the probability that a logical request of n
// independent parallel sub-requests is slow when each sub-request is slow
// with probability p:
//
//	1 − (1 − p)^n
//
// For small p it is about n·p: with 100 sub-requests, a 1-in-100 slow
// sub-request makes 63 % of logical requests slow.
func AmplificationEstimate(p float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	p = min(max(p, 0), 1)
	// 1 − (1 − p)^n = −expm1(n·log1p(−p)), accurate for tiny p.
	if p == 1 {
		return 1
	}
	return -math.Expm1(float64(n) * math.Log1p(-p))
}

// A TailCounter is a latency distribution that can say how many of its
// values lie above a threshold: a *LatencyHist, or an adapter over an
// HdrHistogram (TotalCount, and the counts above the threshold's bucket).
type TailCounter interface {
	Count() int64
	CountAbove(threshold time.Duration) int64
}

// Amplification compares the measured tail of fanned-out requests with the
// independent-tail model (see FanOut). Durations are nanoseconds in JSON.
type Amplification struct {
	Threshold time.Duration `json:"threshold_ns"` // "slow" means slower than this
	N         int           `json:"n"`            // sub-requests per logical request
	Subs      int64         `json:"subs"`         // sub-requests observed
	Logical   int64         `json:"logical"`      // logical requests observed
	SubSlow   float64       `json:"sub_slow"`     // p: fraction of sub-requests slower than Threshold
	Measured  float64       `json:"measured"`     // fraction of logical requests slower than Threshold
	Estimated float64       `json:"estimated"`    // the model's fraction, 1 − (1 − p)^N
	// StdErr is the sampling error of Measured − Estimated if the model
	// holds: the binomial error of Measured, plus that of p carried
	// through the model (the delta method).
	StdErr float64 `json:"std_err"`
}

// Z is (Measured − Estimated) / StdErr: beyond about ±3 the sub-requests'
// slowness is not independent (docs/diagnosis.md); 0 when StdErr is 0.
func (a Amplification) Z() float64 {
	if a.StdErr == 0 {
		return 0
	}
	return (a.Measured - a.Estimated) / a.StdErr
}

// Ratio is Measured / Estimated (0 when the model predicts no slow request).
func (a Amplification) Ratio() float64 {
	if a.Estimated == 0 {
		return 0
	}
	return a.Measured / a.Estimated
}

func (a Amplification) String() string {
	return fmt.Sprintf("fan-out %d at >%v: sub-requests slow %.3g%%, logical slow %.3g%% measured vs %.3g%% if independent (z=%.1f)",
		a.N, a.Threshold, 100*a.SubSlow, 100*a.Measured, 100*a.Estimated, a.Z())
}

// MeasureAmplification compares the fraction of logical requests slower
// than threshold (from logical) with 1 − (1 − p)^n, p being the fraction of
// sub-requests slower than threshold (from sub). A typical threshold is the
// sub-requests' p99.
func MeasureAmplification(sub, logical TailCounter, n int, threshold time.Duration) Amplification {
	a := Amplification{Threshold: threshold, N: n, Subs: sub.Count(), Logical: logical.Count()}
	if a.Subs > 0 {
		a.SubSlow = float64(sub.CountAbove(threshold)) / float64(a.Subs)
	}
	if a.Logical > 0 {
		a.Measured = float64(logical.CountAbove(threshold)) / float64(a.Logical)
	}
	a.Estimated = AmplificationEstimate(a.SubSlow, n)
	a.StdErr = amplificationStdErr(a)
	return a
}

func amplificationStdErr(a Amplification) float64 {
	var v float64
	if a.Logical > 0 {
		v += a.Estimated * (1 - a.Estimated) / float64(a.Logical)
	}
	if a.Subs > 0 {
		p := a.SubSlow
		slope := float64(a.N) * math.Pow(1-p, float64(a.N-1)) // d/dp of 1 − (1 − p)^N
		v += slope * slope * p * (1 - p) / float64(a.Subs)
	}
	return math.Sqrt(v)
}

// LatencyHist is a fixed-size, lock-free latency histogram: Record is one
// atomic add, safe from any number of goroutines, and the whole thing is
// 18 KB whatever the count. Buckets are log-linear: exact below 128 ns,
// then 64 per power of two, so a value's bucket is within 1/64 (1.6 %) of
// it; values are clamped to [0, 1 h]. It is coarser than the HdrHistograms
// of package analysis (3 digits) and meant for FanOut's own diagnosis.
// The zero value is an empty histogram; do not copy one in use.
type LatencyHist struct {
	counts [latBuckets]atomic.Int64
}

const (
	latSubBits = 6 // 64 buckets per power of two
	latMax     = int64(time.Hour)
	latMaxBits = 42 // bits.Len64(latMax)
	// latBuckets is one past latIndex(latMax).
	latBuckets = (latMaxBits-latSubBits-1)<<latSubBits + int(latMax>>(latMaxBits-latSubBits-1)) + 1
)

func latIndex(v int64) int {
	v = min(max(v, 0), latMax)
	e := bits.Len64(uint64(v)) - (latSubBits + 1)
	if e <= 0 {
		return int(v)
	}
	return e<<latSubBits + int(v>>e)
}

// latHighest is the largest value in bucket i.
func latHighest(i int) int64 {
	if i < 2<<latSubBits {
		return int64(i)
	}
	e := i>>latSubBits - 1
	m := int64(i - e<<latSubBits)
	return (m+1)<<e - 1
}

// Record adds one duration.
func (h *LatencyHist) Record(d time.Duration) { h.counts[latIndex(int64(d))].Add(1) }

// Count returns the number of durations recorded.
func (h *LatencyHist) Count() int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// CountAbove returns how many durations lie in buckets above threshold's:
// those longer than threshold, to the bucket's resolution (1.6 %). Two
// LatencyHists judge the same threshold the same way.
func (h *LatencyHist) CountAbove(threshold time.Duration) int64 {
	var n int64
	for i := latIndex(int64(threshold)) + 1; i < latBuckets; i++ {
		n += h.counts[i].Load()
	}
	return n
}

// FractionAbove is CountAbove / Count (0 when empty).
func (h *LatencyHist) FractionAbove(threshold time.Duration) float64 {
	c := h.Count()
	if c == 0 {
		return 0
	}
	return float64(h.CountAbove(threshold)) / float64(c)
}

// Quantile returns the duration at quantile q in [0, 1]: the largest value
// of the bucket holding the ⌈q·count⌉-th smallest duration (nearest rank,
// analysis.Rank), as the reference HdrHistogram does. An empty histogram
// gives 0.
func (h *LatencyHist) Quantile(q float64) time.Duration {
	c := h.Count()
	if c == 0 {
		return 0
	}
	rank := analysis.Rank(q, c)
	var n int64
	for i := range h.counts {
		if n += h.counts[i].Load(); n >= rank {
			return time.Duration(latHighest(i))
		}
	}
	return time.Duration(latMax)
}

// Merge adds o's counts to h.
func (h *LatencyHist) Merge(o *LatencyHist) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
}

// Reset empties h.
func (h *LatencyHist) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
}
