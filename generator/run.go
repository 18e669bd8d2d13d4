package generator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// SaturationPolicy says what the send loop does with a request that is due while all
// in-flight slots are taken.
type SaturationPolicy uint8

const (
	// Wait holds the request until a slot frees. Its response time keeps
	// counting from its intended time, and the wait shows as send lag.
	Wait SaturationPolicy = iota
	// Drop records the request as dropped (ErrDropped) and moves on.
	Drop
)

func (p SaturationPolicy) String() string {
	switch p {
	case Wait:
		return "wait"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("SaturationPolicy(%d)", uint8(p))
}

// ParsePolicy parses a SaturationPolicy: "wait" or "drop".
func ParsePolicy(s string) (SaturationPolicy, error) {
	switch s {
	case "wait":
		return Wait, nil
	case "drop":
		return Drop, nil
	}
	return 0, fmt.Errorf("unknown saturation policy %q (want wait or drop)", s)
}

// DefaultMaxInFlight is the in-flight cap when Options.MaxInFlight is 0.
const DefaultMaxInFlight = 1024

// DefaultDrain is how long an interrupted run waits for requests in flight
// when Options.Drain is 0.
const DefaultDrain = 2 * time.Second

// Options tune Run. The zero value is usable.
type Options struct {
	// MaxInFlight caps concurrent requests (0 = DefaultMaxInFlight). Workers
	// are started as needed up to this number.
	MaxInFlight int
	// OnSaturation is the policy when the cap is reached.
	OnSaturation SaturationPolicy
	// Drain is how long to wait for requests in flight once ctx is done
	// (0 = DefaultDrain); after it they are cancelled and recorded as
	// ErrCanceled.
	Drain time.Duration
	// Deadline, when positive, is the offset from the run's start at which
	// the run ends whatever the target does (the schedule's length plus a
	// drain, typically): no request is sent after it; requests due but not
	// yet sent, and requests still in flight, are recorded as ErrCensored
	// with Done = Deadline, so that their response time enters the
	// histograms at its lower bound. 0: the run lasts until every request
	// due has been sent and has completed.
	Deadline time.Duration
	// Abort, when it closes, ends the run at once: sending stops (as when
	// ctx is done) and requests in flight are cancelled without waiting
	// for the drain, recorded as ErrCanceled. A second Ctrl-C closes it.
	Abort <-chan struct{}
	// Gauges, when set, is updated live for progress displays.
	Gauges *Gauges
	// Start, when non-zero, is the run's time origin (offset 0). It may be
	// in the future; Run waits for it. Zero means now.
	Start time.Time
	// Batch, when set, batches arrivals client-side (see BatchOptions);
	// the target must be a BatchTarget. Counts in Stats are of items.
	Batch *BatchOptions

	// CoarseTimers uses Go timers alone, never the fine timer (a timerfd
	// on Linux): wakes are up to a millisecond late, but the fake clock of
	// testing/synctest advances (a timerfd runs on real time while fake
	// time stands still).
	CoarseTimers bool

	// TimerSlack coalesces the dispatcher's wake-ups onto a grid of this
	// step: a request due at t leaves at the first grid point ≥ t, with
	// every other request due by then, so there is at most one wake per
	// step. Sends are up to TimerSlack late, timed from their intended
	// times and shown as send lag; CPU per request falls with the wakes.
	// wrk2 works this way with a 1 ms step (its event loop's resolution),
	// without reporting the lateness. 0: wake for each request, or as
	// AdaptiveGrid says.
	TimerSlack time.Duration

	// RetireIdle, when positive, ends a worker that has waited this long
	// for a request (the least recently used first), so that the
	// goroutines, stacks and connections a transient peak of requests in
	// flight needed are given back: memory then follows the recent peak,
	// not the run's highest. The target is told (WorkerRetirer). 0: workers
	// live until the run ends.
	RetireIdle time.Duration
	// OnRetire, when set, is called by the send loop after it retired n
	// workers (n > 0), e.g. to give the memory back to the operating
	// system; it must not block.
	OnRetire func(n int)

	// AdaptiveGrid, when set and TimerSlack is 0, sizes the grid from the
	// target's measured service times as the run goes (see AdaptiveGrid):
	// a wake per request while the target answers in microseconds, a grid
	// of a few percent of its median when it takes milliseconds. The
	// grid in force is in Stats.Grid.
	AdaptiveGrid *AdaptiveGrid
}

// SlackWake is when a request intended at t leaves with timer slack sl
// (Options.TimerSlack): the first point of the grid of step sl at or after
// t; t itself when sl is 0.
func SlackWake(t, sl time.Duration) time.Duration {
	if sl <= 0 || t <= 0 {
		return t
	}
	return (t + sl - 1) / sl * sl
}

// fineWindow is how close to a due time the dispatcher switches from Go
// timers (coarse, cancellable) to the fine timer (precise, not cancellable).
const fineWindow = 2 * time.Millisecond

// sleepUntil waits until offset at, or until ctx is done (false).
// period is the likely gap to the next wait, for the fine timer.
func (l *loop) sleepUntil(ctx context.Context, timer *time.Timer, fine *fineTimer, at, period time.Duration, coarseOnly bool) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		wait := at - time.Since(l.start)
		switch {
		case wait <= 0:
			return true
		case wait <= fineWindow && !coarseOnly:
			if fine != nil {
				fine.sleepUntil(at, period)
			} else {
				preciseSleep(wait)
			}
			continue
		case !coarseOnly:
			wait -= fineWindow / 2 // wake a little early, then sleep precisely
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
}

// Gauges are live counters a progress display may read while Run runs.
type Gauges struct {
	Due      atomic.Uint64 // requests whose intended time has come
	Sent     atomic.Uint64
	Dropped  atomic.Uint64
	Done     atomic.Uint64 // completed, with or without error
	InFlight atomic.Int64
	Peak     atomic.Int64 // the most in flight at once so far
	Workers  atomic.Int64 // workers now (open loop: started less retired)
}

// Stats describes the send loop itself, for checking the generator kept up.
// Every request due is accounted for exactly once:
// Intended = Sent + Dropped + Unsent.
type Stats struct {
	Intended     uint64        // requests due before the run ended
	Sent         uint64        // requests handed to the target
	Dropped      uint64        // due but dropped (policy Drop, cap full)
	Unsent       uint64        // due but not sent when the run was interrupted
	Expired      uint64        // due but not sent by Options.Deadline (recorded as censored)
	CutOff       uint64        // in flight at Options.Deadline (recorded as censored)
	SlotWaits    uint64        // requests that had to wait for an in-flight slot
	PeakInFlight int           // high-water mark of concurrent requests
	Workers      int           // goroutines started
	Retired      int           // of them, ended after Options.RetireIdle idle
	Start        time.Time     // the run's time origin
	Elapsed      time.Duration // from Start to the end of sending
	Ended        time.Duration // from Start to the last result
	Interrupted  bool          // ctx ended the run before the schedule did (or its last requests)
	DeadlineHit  bool          // Options.Deadline came before the run was over
	StartLate    time.Duration // with Options.Start: how late the loop began, by this clock
	// Gaps is a uniform random sample (reservoir, at most GapSampleSize)
	// of consecutive dispatches: the intended and the actual time between
	// a request and the one before it, for checking that arrivals followed
	// the intended process.
	Gaps []Gap
	// With Options.Batch: batches sent, and why each left.
	Batches, FlushBySize, FlushByLinger uint64
	// Grid is the wake-up grid in force, by intended time (see GridAt):
	// one step for a fixed Options.TimerSlack, one per change with
	// Options.AdaptiveGrid (at most MaxGridSteps); nil for a wake per
	// request throughout.
	Grid []GridStep
}

// Gap is one sampled inter-dispatch gap.
type Gap struct {
	At       time.Duration // intended time of the later request
	Intended time.Duration // intended gap
	Actual   time.Duration // actual gap between the two dispatches
	// The same from the latest dispatch intended at least GapSpan before
	// (or the oldest of the 64 before it, if none is): the spacing of
	// sends at a resolution coarser than timer jitter.
	SpanIntended, SpanActual time.Duration
}

// GapSpan is the resolution of Gap's span. Finer than this, when sends
// leave is a matter of the operating system's timers (on the project's VM
// even a bare epoll loop has send-lag p99 ≈ 90 µs: bench/floor), and
// their lateness is measured as send lag; at 20,000 req/s the gaps
// between single sends are 50 µs, so that jitter alone would read as
// uneven arrivals.
const GapSpan = 250 * time.Microsecond

// GapSampleSize bounds Stats.Gaps.
const GapSampleSize = 4096

// ErrNoSchedule is returned when Run is given nil arguments.
var ErrNoSchedule = errors.New("generator: nil schedule, target or recorder")

type token struct {
	seq  uint64
	at   time.Duration
	held time.Duration // send lag spent waiting for an in-flight slot before ready
	// waited: the dispatcher, ready at ready, had to wait for a slot to
	// hand the token over; the wait until the send is held too.
	waited bool
	ready  time.Duration
	b      *batch // nil: a single request
}

// dueBy counts the token's requests whose intended time is ≤ now.
func (t token) dueBy(now time.Duration) uint64 {
	if t.b == nil {
		if t.at <= now {
			return 1
		}
		return 0
	}
	var c uint64
	for _, it := range t.b.items {
		if it.at <= now {
			c++
		}
	}
	return c
}

// items is how many logical requests the token carries.
func (t token) items() uint64 {
	if t.b != nil {
		return uint64(len(t.b.items))
	}
	return 1
}

// Run drives t on schedule s until the schedule ends or ctx is done, and
// passes every result to rec. It never waits for a response before sending
// the next request: requests go to a pool of at most opt.MaxInFlight
// workers; when all are busy, opt.OnSaturation decides.
//
// Run returns when every request sent has completed or been cancelled.
// Cancelling ctx is not an error: Stats.Interrupted says so.
func Run(ctx context.Context, s Schedule, t Target, rec Recorder, opt Options) (Stats, error) {
	if s == nil || t == nil || rec == nil {
		return Stats{}, ErrNoSchedule
	}
	start, startLate, ok := waitStart(ctx, opt.Start)
	if !ok {
		return Stats{Start: start, Interrupted: true}, nil
	}

	// Requests run under reqCtx, which outlives ctx by the drain period.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()

	d := &dispatcher{ctx: ctx, opt: opt, start: start, g: opt.Gauges}
	d.maxIn = opt.MaxInFlight
	if d.maxIn <= 0 {
		d.maxIn = DefaultMaxInFlight
	}
	if d.g == nil {
		d.g = new(Gauges)
	}
	d.l = &loop{
		start:  start,
		target: t,
		rec:    rec,
		ctx:    reqCtx,
		idle:   newIdleWorkers(),
		g:      d.g,
	}
	d.l.wt, _ = t.(WorkerTarget)
	d.l.retirer, _ = t.(WorkerRetirer)
	d.st.Start = start
	d.st.StartLate = startLate

	d.timer = time.NewTimer(time.Hour)
	d.timer.Stop()
	if !opt.CoarseTimers {
		d.fine = newFineTimer(start)
		defer d.fine.close()
	}
	d.gaps = gapSampler{rng: rand.New(rand.NewPCG(uint64(start.UnixNano()), 1))}
	if err := d.setSource(s, t); err != nil {
		return Stats{}, err
	}
	if opt.TimerSlack > 0 {
		d.st.Grid = []GridStep{{At: 0, Step: opt.TimerSlack}}
	} else if opt.AdaptiveGrid != nil {
		d.grid = newGridSizer(*opt.AdaptiveGrid)
		d.l.svc = d.grid.svc
	}

	// dctx ends the dispatch: at an interrupt (ctx) or at the deadline.
	d.dctx = ctx
	if opt.Deadline > 0 {
		var cancel context.CancelFunc
		d.dctx, cancel = context.WithDeadline(ctx, start.Add(opt.Deadline))
		defer cancel()
	}
	d.dispatch()
	d.st.Elapsed = time.Since(start)
	d.accountUndispatched()
	d.l.idle.close()
	d.awaitWorkers(cancelReqs)
	return d.stats(), nil
}

// waitStart waits for the run's time origin at (none when zero: the
// origin is now) and returns it with how late the wait ended. ok is false
// when ctx was done first.
func waitStart(ctx context.Context, at time.Time) (start time.Time, late time.Duration, ok bool) {
	if at.IsZero() {
		return time.Now(), 0, true
	}
	if d := time.Until(at); d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return at, 0, false
		}
	}
	return at, time.Since(at), true
}

// dispatcher is Run's state: the send loop that hands each unit (a
// request or a batch) to a worker when it is due, and the accounting of
// every unit due. Only Run's goroutine touches it.
type dispatcher struct {
	ctx   context.Context // the run's: done at an interrupt
	dctx  context.Context // ends dispatch: done at an interrupt or at Options.Deadline
	opt   Options
	maxIn int // Options.MaxInFlight, defaulted
	start time.Time
	l     *loop
	g     *Gauges
	timer *time.Timer
	fine  *fineTimer // nil with Options.CoarseTimers
	grid  *gridSizer // nil unless Options.AdaptiveGrid applies
	gaps  gapSampler
	st    Stats
	// next yields the next unit to send: one request, or a batch of them.
	// pending counts the requests due by now but never read, at an
	// interrupt.
	next    func() (token, bool)
	pending func(now time.Duration) uint64
	// heldUntil is when the dispatcher last got a slot after waiting for
	// one: lateness before it is the cap's, not the scheduler's.
	heldUntil time.Duration
	// lastRetire is when idle workers were last looked at (RetireIdle).
	lastRetire time.Duration
}

// retireEvery is how often the dispatcher looks for workers idle past
// Options.RetireIdle.
const retireEvery = time.Second

// setSource sets d.next and d.pending: the schedule's requests one by
// one, or batched by Options.Batch (t must then be a BatchTarget).
func (d *dispatcher) setSource(s Schedule, t Target) error {
	mapper, _ := s.(SeqMapper)
	if d.opt.Batch == nil {
		d.next, d.pending = singles(s, mapper)
		return nil
	}
	if _, ok := t.(BatchTarget); !ok {
		return fmt.Errorf("generator: batching needs a BatchTarget, %T is not one", t)
	}
	if err := d.opt.Batch.Validate(); err != nil {
		return err
	}
	b := &batcher{s: s, mapper: mapper, opt: *d.opt.Batch}
	d.next = func() (token, bool) {
		bt, due, ok := b.next()
		if !ok {
			return token{}, false
		}
		d.st.Batches++
		if bt.bySize {
			d.st.FlushBySize++
		} else {
			d.st.FlushByLinger++
		}
		return token{seq: bt.seqs[0], at: due, b: bt}, true
	}
	d.pending = b.pending
	return nil
}

// singles yields the requests of s one by one, numbered by mapper when it
// is not nil; pending counts those due by now that next has not read.
func singles(s Schedule, mapper SeqMapper) (next func() (token, bool), pending func(now time.Duration) uint64) {
	var n uint64
	next = func() (token, bool) {
		at, ok := s.Next(n)
		if !ok {
			return token{}, false
		}
		tok := token{seq: n, at: at}
		if mapper != nil {
			tok.seq = mapper.Seq(n)
		}
		n++
		return tok, true
	}
	pending = func(now time.Duration) uint64 {
		var c uint64
		for ; ; n++ {
			at, ok := s.Next(n)
			if !ok || at > now {
				return c
			}
			c++
		}
	}
	return next, pending
}

// dispatch sends the units in schedule order, each when it is due (on
// the Options.TimerSlack grid), to an idle worker or a new one up to the
// in-flight cap; at the cap, Options.OnSaturation drops the unit or waits
// for a slot. It returns when the schedule ends, when the next unit is
// due after Options.Deadline, or when dctx is done (see stopped).
func (d *dispatcher) dispatch() {
	slack, deadline, coarse := d.opt.TimerSlack, d.opt.Deadline, d.opt.CoarseTimers
	var prevAt, wake time.Duration
	for {
		tok, ok := d.next()
		if !ok {
			return
		}
		if g := d.grid; g != nil && g.next != g.cur && tok.at > wake {
			// A new grid applies from the first unit past the last wake,
			// so wakes stay in order across the change.
			slack = d.setGrid(tok.at)
		}
		wake = SlackWake(tok.at, slack)
		period := wake - prevAt
		if period > 0 {
			prevAt = wake
		}
		if deadline > 0 && wake > deadline {
			return // not due before the run ends
		}
		if !d.l.sleepUntil(d.dctx, d.timer, d.fine, wake, period, coarse) {
			d.stopped(tok, false)
			return
		}
		ready := time.Since(d.start)
		if d.grid != nil {
			d.grid.tick(ready)
		}
		if d.opt.RetireIdle > 0 && ready-d.lastRetire >= retireEvery {
			d.lastRetire = ready
			if n := d.l.retire(ready - d.opt.RetireIdle); n > 0 && d.opt.OnRetire != nil {
				d.opt.OnRetire(n)
			}
		}
		if d.heldUntil > wake { // ready ≥ heldUntil: the dispatcher was still handing out the backlog
			tok.held = d.heldUntil - wake
		}
		k := tok.items()
		d.g.Due.Add(k)
		d.st.Intended += k
		if w := d.l.idle.pop(); w != nil {
			w.work <- tok
			d.gaps.add(tok.at, ready, tok.held > 0)
			continue
		}
		if d.l.workers < d.maxIn {
			d.gaps.add(tok.at, ready, tok.held > 0)
			d.l.spawn(tok)
			continue
		}
		if d.opt.OnSaturation == Drop {
			d.st.Dropped += k
			d.g.Dropped.Add(k)
			d.l.recordDropped(tok)
			continue
		}
		if !d.waitSlot(tok, k, ready) {
			return
		}
	}
}

// setGrid puts the adaptive grid's decision in force from intended time
// at on, records the step and returns the grid.
func (d *dispatcher) setGrid(at time.Duration) time.Duration {
	g := d.grid
	g.cur = g.next
	d.st.Grid = append(d.st.Grid, GridStep{At: at, Step: g.cur})
	if len(d.st.Grid) >= MaxGridSteps {
		g.frozen = true
	}
	return g.cur
}

// waitSlot hands tok (k requests, ready at ready) to the first worker to
// free, counting the wait. The worker that takes the token adds the wait
// (from ready to its send) to held. It returns false when dctx was done
// first: the unit was due but never left.
func (d *dispatcher) waitSlot(tok token, k uint64, ready time.Duration) bool {
	d.st.SlotWaits += k
	d.gaps.add(tok.at, ready, true)
	tok.waited, tok.ready = true, ready
	for {
		if w := d.l.idle.pop(); w != nil {
			w.work <- tok
			d.heldUntil = time.Since(d.start)
			return true
		}
		select {
		case <-d.l.idle.freed:
		case <-d.dctx.Done():
			// The unit was due but never left: stopped counts it again.
			d.st.Intended -= k
			d.stopped(tok, true)
			return false
		}
	}
}

// stopped says why dispatch stopped early: an interrupt, or the deadline
// (the unit in hand is then censored with the rest). gauged: the unit is
// already in the Due gauge.
func (d *dispatcher) stopped(tok token, gauged bool) {
	if d.ctx.Err() != nil {
		d.st.Interrupted = true
		c := tok.dueBy(time.Since(d.start)) // read ahead, and perhaps due
		d.st.Intended += c
		d.st.Unsent += c
		return
	}
	d.st.DeadlineHit = true
	n := d.l.censorUnsent(tok, d.opt.Deadline, &d.st.Expired)
	d.st.Intended += n
	if !gauged {
		d.g.Due.Add(n)
	}
}

// accountUndispatched accounts, once dispatch has stopped, for the
// requests due that it never read: after an interrupt, those that came
// due while it was blocked are unsent; at the deadline, every other
// request due by then is censored.
func (d *dispatcher) accountUndispatched() {
	st := &d.st
	if st.Interrupted {
		// Account for arrivals that came due while we were blocked.
		c := d.pending(st.Elapsed)
		st.Intended += c
		st.Unsent += c
		return
	}
	if !st.DeadlineHit {
		return
	}
	// Everything else due by the deadline is censored too.
	for {
		tok, ok := d.next()
		if !ok {
			break
		}
		n := d.l.censorUnsent(tok, d.opt.Deadline, &st.Expired)
		st.Intended += n
		d.g.Due.Add(n)
		if n < tok.items() {
			break // the rest are not due
		}
	}
}

// awaitWorkers waits for the requests in flight once dispatch is over:
// until they complete, the deadline (which censors the rest), an abort,
// or an interrupt (then for the drain at most). cancelReqs cancels them.
func (d *dispatcher) awaitWorkers(cancelReqs context.CancelFunc) {
	done := make(chan struct{})
	go func() { d.l.wg.Wait(); close(done) }()
	var deadlineC <-chan time.Time
	if d.opt.Deadline > 0 {
		dt := time.NewTimer(time.Until(d.start.Add(d.opt.Deadline)))
		defer dt.Stop()
		deadlineC = dt.C
	}
	if d.st.Interrupted {
		d.drain(done, deadlineC, cancelReqs)
		return
	}
	select {
	case <-done:
	case <-deadlineC:
		// Requests still in flight at the deadline are censored.
		d.st.DeadlineHit = true
		d.l.cutOff(d.opt.Deadline)
		cancelReqs()
		<-done
	case <-d.ctx.Done():
		// Interrupted while the last requests were in flight.
		d.st.Interrupted = true
		d.drain(done, deadlineC, cancelReqs)
	case <-d.opt.Abort:
		d.st.Interrupted = true
		cancelReqs()
		<-done
	}
}

// drain waits, after an interrupt, for the requests in flight to finish
// (done): for Options.Drain at most, until an abort, or until the
// deadline, which censors them; then cancelReqs cancels the rest.
func (d *dispatcher) drain(done <-chan struct{}, deadlineC <-chan time.Time, cancelReqs context.CancelFunc) {
	drain := d.opt.Drain
	if drain <= 0 {
		drain = DefaultDrain
	}
	tm := time.NewTimer(drain)
	defer tm.Stop()
	select {
	case <-done:
	case <-tm.C:
		cancelReqs()
		<-done
	case <-d.opt.Abort:
		cancelReqs()
		<-done
	case <-deadlineC:
		d.l.cutOff(d.opt.Deadline)
		cancelReqs()
		<-done
	}
}

// stats completes the accounting once every request has finished.
func (d *dispatcher) stats() Stats {
	st := d.st
	st.Ended = time.Since(d.start)
	st.CutOff = d.l.cut.Load()
	st.Sent = st.Intended - st.Dropped - st.Unsent - st.Expired
	st.Gaps = d.gaps.sample
	st.PeakInFlight = int(d.l.peak.Load())
	st.Workers = d.l.started
	st.Retired = d.l.retired
	return st
}

// gapRing is how many past dispatches the gap sampler keeps for spans.
const gapRing = 64

// gapSampler keeps a reservoir sample (Vitter's algorithm R) of gaps.
// Gaps are taken only between dispatches that were not held back by the
// in-flight cap: a backlog leaving as fast as slots free is the target's
// backpressure (measured as slot wait), not the generator's pacing.
type gapSampler struct {
	rng    *rand.Rand
	seen   uint64                    // dispatches in past
	run    uint64                    // of them, the latest ones since a held dispatch
	past   [gapRing][2]time.Duration // (intended, actual) of the last dispatches; seen-1 is the latest
	sample []Gap
}

func (g *gapSampler) add(at, now time.Duration, held bool) {
	if held {
		g.run = 0
		return
	}
	g.seen++
	g.run++
	if g.run > 1 {
		slot := -1
		if k := g.seen - 2; k < GapSampleSize {
			g.sample = append(g.sample, Gap{})
			slot = len(g.sample) - 1
		} else if j := g.rng.Uint64N(k + 1); j < GapSampleSize {
			slot = int(j)
		}
		if slot >= 0 {
			prev := g.past[(g.seen-2)%gapRing]
			gap := Gap{At: at, Intended: at - prev[0], Actual: now - prev[1]}
			// The span: back to the latest dispatch at least GapSpan before.
			back := prev
			for i := uint64(2); i <= min(g.run-1, gapRing) && at-back[0] < GapSpan; i++ {
				back = g.past[(g.seen-1-i)%gapRing]
			}
			gap.SpanIntended, gap.SpanActual = at-back[0], now-back[1]
			g.sample[slot] = gap
		}
	}
	g.past[(g.seen-1)%gapRing] = [2]time.Duration{at, now}
}

type loop struct {
	start   time.Time
	target  Target
	wt      WorkerTarget // target, when it is one
	svc     *svcHist     // service times for the adaptive grid; nil: not kept
	rec     Recorder
	ctx     context.Context
	idle    *idleWorkers
	retirer WorkerRetirer // target, when it is one
	started int           // workers started (only the dispatcher)
	retired int           // of them, retired (only the dispatcher)
	freeIDs []int         // numbers of retired workers, for new ones
	g       *Gauges
	workers int // only touched by the dispatcher
	wg      sync.WaitGroup
	dropRes Result // only touched by the dispatcher
	// At the deadline: censor is set before requests are cancelled, and
	// cutAt is the deadline; cut counts the requests cut off.
	censor atomic.Bool
	cutAt  time.Duration
	cut    atomic.Uint64
	peak   atomic.Int64 // this run's most in flight (Gauges.Peak may outlive it)
}

// cutOff marks the requests in flight from now on as censored at deadline.
func (l *loop) cutOff(deadline time.Duration) {
	l.cutAt = deadline
	l.censor.Store(true)
}

// censorUnsent records the token's items due by deadline as censored
// (never sent) and returns how many there were.
func (l *loop) censorUnsent(tok token, deadline time.Duration, expired *uint64) uint64 {
	var n uint64
	rec := func(seq uint64, at, batched time.Duration) {
		l.dropRes = Result{Seq: seq, Intended: at, Sent: deadline, Done: deadline, Batched: batched, Outcome: Outcome{Err: ErrCensored}}
		l.rec.Record(-1, &l.dropRes)
		n++
	}
	if tok.b == nil {
		if tok.at <= deadline {
			rec(tok.seq, tok.at, 0)
		}
	} else {
		for _, it := range tok.b.items {
			if it.at <= deadline {
				rec(it.seq, it.at, tok.at-it.at)
			}
		}
		batchPool.Put(tok.b)
	}
	*expired += n
	return n
}

func (l *loop) spawn(first token) {
	id := l.workers
	if n := len(l.freeIDs); n > 0 {
		id, l.freeIDs = l.freeIDs[n-1], l.freeIDs[:n-1]
	}
	w := &idleWorker{id: id, work: make(chan token, 1)}
	l.workers++
	l.started++
	l.g.Workers.Add(1)
	l.wg.Add(1)
	go l.worker(w, first)
}

// retire ends the workers idle since before cutoff (an offset from the
// run's start), tells the target, and returns how many it ended.
func (l *loop) retire(cutoff time.Duration) int {
	ws := l.idle.retire(cutoff)
	for _, w := range ws {
		close(w.work)
		l.workers--
		l.g.Workers.Add(-1)
		l.retired++
		if l.retirer != nil {
			l.retirer.RetireWorker(w.id)
		}
		l.freeIDs = append(l.freeIDs, w.id)
	}
	return len(ws)
}

func (l *loop) worker(w *idleWorker, tok token) {
	defer l.wg.Done()
	res := new(Result) // reused: Recorders must not retain it
	for {
		l.do(w.id, tok, res)
		w.since = time.Since(l.start)
		if !l.idle.push(w) {
			return
		}
		var ok bool
		if tok, ok = <-w.work; !ok {
			return
		}
	}
}

func (l *loop) do(id int, tok token, res *Result) {
	in := l.g.InFlight.Add(1)
	for p := l.peak.Load(); in > p; p = l.peak.Load() {
		if l.peak.CompareAndSwap(p, in) { // a new high (rare): published too
			for q := l.g.Peak.Load(); in > q && !l.g.Peak.CompareAndSwap(q, in); q = l.g.Peak.Load() {
			}
			break
		}
	}
	sent := time.Since(l.start)
	if tok.waited {
		tok.held += max(sent-tok.ready, 0)
	}
	k := tok.items()
	l.g.Sent.Add(k)
	var out Outcome
	if tok.b != nil {
		out = l.target.(BatchTarget).DoBatch(l.ctx, tok.b.seqs)
	} else if l.wt != nil {
		out = l.wt.DoWorker(l.ctx, id, tok.seq)
	} else {
		out = l.target.Do(l.ctx, tok.seq)
	}
	done := time.Since(l.start)
	if !out.Arrived.IsZero() {
		// Read after it arrived: timed by its arrival.
		if at := out.Arrived.Sub(l.start); at < done {
			done = max(at, sent)
		}
	}
	l.g.InFlight.Add(-1)
	if l.svc != nil && out.Err != ErrCanceled {
		l.svc.add(done - sent)
	}
	if out.Err != ErrNone && l.ctx.Err() != nil {
		out.Err = ErrCanceled // whatever the target saw, the run cut it short
		if l.censor.Load() {
			// Cut off at the deadline: its response time is at least
			// deadline − intended.
			out = Outcome{Err: ErrCensored, Endpoint: out.Endpoint, BytesOut: out.BytesOut}
			done = max(l.cutAt, sent)
			l.cut.Add(tok.items())
		}
	}
	if tok.b == nil {
		*res = Result{Seq: tok.seq, Intended: tok.at, Sent: sent, Done: done, Held: tok.held, Outcome: out}
		l.rec.Record(id, res)
	} else {
		// One result per item, each from its own intended time; the
		// batch's bytes are counted once, on its first item.
		for i, it := range tok.b.items {
			*res = Result{Seq: it.seq, Intended: it.at, Sent: sent, Done: done, Batched: tok.at - it.at, Held: tok.held, Outcome: out}
			if i > 0 {
				res.BytesIn, res.BytesOut = 0, 0
			}
			l.rec.Record(id, res)
		}
		batchPool.Put(tok.b)
	}
	l.g.Done.Add(k)
}

func (l *loop) recordDropped(tok token) {
	now := time.Since(l.start)
	// The dispatcher records drops as worker -1's results; it never runs
	// concurrently with itself.
	if tok.b == nil {
		l.dropRes = Result{Seq: tok.seq, Intended: tok.at, Sent: now, Done: now, Outcome: Outcome{Err: ErrDropped}}
		l.rec.Record(-1, &l.dropRes)
		return
	}
	for _, it := range tok.b.items {
		l.dropRes = Result{Seq: it.seq, Intended: it.at, Sent: now, Done: now, Batched: tok.at - it.at, Outcome: Outcome{Err: ErrDropped}}
		l.rec.Record(-1, &l.dropRes)
	}
	batchPool.Put(tok.b)
}
