package analysis

import (
	"runtime"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/generator"
)

// PhaseWindow is a named span of a run's schedule. Results belong to the phase
// their intended send time falls in. Warm-up phases are reported but stay
// out of the totals.
type PhaseWindow struct {
	Name   string
	Start  time.Duration // offset from the run's start, inclusive
	End    time.Duration // exclusive; 0 for the last phase means open-ended
	Warmup bool
}

// Counts are the plain counters kept beside the histograms.
type Counts struct {
	Results   int64                        `json:"results"` // every result, dropped ones included
	OK        int64                        `json:"ok"`
	Errors    int64                        `json:"errors"`  // completed but failed (transport error or failing status)
	Dropped   int64                        `json:"dropped"` // never sent (in-flight cap, policy drop)
	Status    [6]int64                     `json:"-"`       // by class: 0 = none, 1 = 1xx … 5 = 5xx
	ErrKinds  [generator.NumErrKinds]int64 `json:"-"`
	GRPC      [17]int64                    `json:"-"` // by gRPC status code
	BytesIn   int64                        `json:"bytes_in"`
	BytesOut  int64                        `json:"bytes_out"`
	CacheHits int64                        `json:"cache_hits"`
	Clamped   int64                        `json:"clamped,omitempty"`         // values above the histogram's top
	NewConns  int64                        `json:"new_connections,omitempty"` // requests that opened a connection
	// Censored counts requests the run's deadline came before: never
	// sent, or cut off in flight. They are in the response-time histogram
	// at their lower bound (deadline − intended) and are neither OK nor
	// errors.
	Censored int64 `json:"censored,omitempty"`
	// Held counts requests whose send lag was partly or wholly a wait for
	// an in-flight slot (generator.Result.Held > 0).
	Held int64 `json:"held,omitempty"`
	// LastDone is the latest completion (or cut-off) among these results,
	// from the run's start.
	LastDone time.Duration `json:"last_done_ns,omitempty"`
	// MinService is the shortest service time of a successful response
	// (0: none): the target's uncongested speed, for Little's law.
	MinService time.Duration `json:"min_service_ns,omitempty"`
}

func (c *Counts) add(o *Counts) {
	c.Results += o.Results
	c.OK += o.OK
	c.Errors += o.Errors
	c.Dropped += o.Dropped
	for i := range c.Status {
		c.Status[i] += o.Status[i]
	}
	for i := range c.ErrKinds {
		c.ErrKinds[i] += o.ErrKinds[i]
	}
	for i := range c.GRPC {
		c.GRPC[i] += o.GRPC[i]
	}
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.CacheHits += o.CacheHits
	c.Clamped += o.Clamped
	c.NewConns += o.NewConns
	c.Censored += o.Censored
	c.Held += o.Held
	c.LastDone = max(c.LastDone, o.LastDone)
	if o.MinService > 0 && (c.MinService == 0 || o.MinService < c.MinService) {
		c.MinService = o.MinService
	}
}

// acc accumulates results: the histograms and the counters. It is held
// between padding so that two workers' accumulators never share a cache
// line: every record writes each histogram's total, and false sharing made
// parallel recording 15× slower. The histograms are flat (see flat): the
// collector merges and clears accumulators every second.
type acc struct {
	_              [64]byte
	resp, svc, lag flat
	// held is the slot wait of requests that waited (Result.Held > 0);
	// late the scheduler's own lateness (send lag less slot wait) of every
	// request sent; at the breakdown's precision.
	held, late flat
	// The breakdown of service time (2 significant digits: see
	// BreakdownSigFigs): new-connection setup, time to first byte, body.
	conn, ttfb, body flat
	n                Counts
	// msgs keeps, per error kind, the first few distinct messages
	// (Outcome.Msg): the evidence a reader needs ("x509: …", "too many
	// open files"). Only the error path touches it.
	msgs [generator.NumErrKinds][]string
	_    [64]byte
}

// MaxErrorSamples is how many distinct messages are kept per error kind.
const MaxErrorSamples = 3

// addMsg keeps m among a kind's samples if it is new and there is room.
func addMsg(list []string, m string) []string {
	if m == "" || len(list) >= MaxErrorSamples {
		return list
	}
	for _, x := range list {
		if x == m {
			return list
		}
	}
	return append(list, m)
}

// BreakdownSigFigs is the precision of the service-time breakdown
// histograms: enough to say which part grew, at a tenth of the memory.
const BreakdownSigFigs = 2

func newAcc() *acc {
	a := &acc{}
	for _, f := range []*flat{&a.resp, &a.svc, &a.lag} {
		*f = *newFlat(geoMain)
	}
	for _, f := range []*flat{&a.conn, &a.ttfb, &a.body, &a.held, &a.late} {
		*f = *newFlat(geoBreakdown)
	}
	return a
}

func (a *acc) reset() {
	a.resp.reset()
	a.svc.reset()
	a.lag.reset()
	a.conn.reset()
	a.ttfb.reset()
	a.body.reset()
	a.held.reset()
	a.late.reset()
	a.n = Counts{}
	for i := range a.msgs {
		a.msgs[i] = a.msgs[i][:0]
	}
}

func record(h *flat, d time.Duration, n *Counts) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if v > HistHighest {
		v = HistHighest
		n.Clamped++
	}
	h.record(v)
}

func (a *acc) add(r *generator.Result) {
	a.n.Results++
	if r.Err == generator.ErrDropped {
		a.n.Dropped++
		a.n.ErrKinds[r.Err]++
		return
	}
	a.n.LastDone = max(a.n.LastDone, r.Done)
	if r.Err == generator.ErrCensored {
		// A lower bound: in the response-time histogram (a run cannot
		// improve its percentiles by not answering), counted apart.
		a.n.Censored++
		a.n.ErrKinds[r.Err]++
		record(&a.resp, r.ResponseTime(), &a.n)
		if r.Sent < r.Done { // sent, then cut off
			record(&a.svc, r.ServiceTime(), &a.n)
			a.sentLag(r)
		}
		return
	}
	a.sentLag(r)
	ok := r.OK()
	if ok {
		// Latency is of successful responses: a failure is counted
		// against the error budget, not averaged into the percentiles.
		record(&a.resp, r.ResponseTime(), &a.n)
		record(&a.svc, r.ServiceTime(), &a.n)
		if st := max(r.ServiceTime(), 1); a.n.MinService == 0 || st < a.n.MinService {
			a.n.MinService = st
		}
	}
	if ok {
		a.n.OK++
	} else {
		a.n.Errors++
		if r.Msg != "" {
			a.msgs[r.Err] = addMsg(a.msgs[r.Err], r.Msg)
		}
	}
	a.n.ErrKinds[r.Err]++
	switch {
	case r.Status > 0 && r.Status < 600:
		a.n.Status[r.Status/100]++
	case r.Status >= 1000 && r.Status < 1000+len(a.n.GRPC):
		a.n.GRPC[r.Status-1000]++ // gRPC: a code, not an HTTP class
	default:
		a.n.Status[0]++ // no response
	}
	a.n.BytesIn += r.BytesIn
	a.n.BytesOut += r.BytesOut
	if r.TTFB > 0 {
		record(&a.ttfb, r.TTFB, &a.n)
		record(&a.body, r.ServiceTime()-r.TTFB, &a.n)
	}
	if r.NewConn {
		a.n.NewConns++
		record(&a.conn, r.Connect, &a.n)
	}
	if r.CacheHit {
		a.n.CacheHits++
	}
}

// sentLag records the send lag of a request that was sent, split into
// the wait for a slot and the scheduler's lateness.
func (a *acc) sentLag(r *generator.Result) {
	record(&a.lag, r.SendLag(), &a.n)
	record(&a.late, r.Lateness(), &a.n)
	if r.Held > 0 {
		a.n.Held++
		record(&a.held, r.Held, &a.n)
	}
}

func (a *acc) merge(o *acc) {
	a.held.merge(&o.held)
	a.late.merge(&o.late)
	a.resp.merge(&o.resp)
	a.svc.merge(&o.svc)
	a.lag.merge(&o.lag)
	a.conn.merge(&o.conn)
	a.ttfb.merge(&o.ttfb)
	a.body.merge(&o.body)
	a.n.add(&o.n)
	for k, l := range o.msgs {
		for _, m := range l {
			a.msgs[k] = addMsg(a.msgs[k], m)
		}
	}
}

// A shard holds what some workers recorded in the current second, split by
// phase. Workers map onto shards by index, so a shard's lock is rarely
// contended.
type shard struct {
	_       [64]byte
	mu      sync.Mutex
	sec     int64
	phases  map[int]*acc
	offered []int64  // results by intended second
	eps     []*epAcc // by Outcome.Endpoint-1, when balancing
	_       [64]byte // keep shards on separate cache lines
}

// Interval is one second (or other interval) of a run, per phase, handed to
// an IntervalSink when it closes. The histograms are only valid during the
// call.
type Interval struct {
	Phase    int
	Start    time.Duration
	End      time.Duration
	Response *hdr.Histogram
	Service  *hdr.Histogram
	SendLag  *hdr.Histogram
	Counts   Counts
}

// An IntervalSink receives each interval once it is complete, in time order,
// e.g. to write an HdrHistogram interval log. It must not retain the
// histograms.
type IntervalSink func(iv *Interval) error

// Collector is a generator.Recorder that keeps HdrHistograms per phase and
// per second of completion, in memory that does not grow with the number of
// requests. Call Tick about once a second while the run goes on (it closes
// finished seconds) and Close at the end.
type Collector struct {
	phases []PhaseWindow
	shards []shard

	mu      sync.Mutex
	totals  []*acc                 // per phase
	open    map[int64]map[int]*acc // second → phase → acc, not yet closed
	closed  int64                  // seconds < closed are closed
	pool    []*acc
	late    int64
	seconds []Second
	// intervals are the response-time histograms of consecutive spans of
	// span seconds, compressed (HdrHistogram V2, base64); see Summary.
	intervals intervalStore
	span      int64
	pending   *flat // the current span, until it is full
	scratchH  [3]*hdr.Histogram
	enc       flatEncoder
	sink      IntervalSink
	sinkErr   error
}

// NewCollector returns a Collector for a run with the given phases (at
// least one; nil means one open-ended phase called "main").
func NewCollector(phases []PhaseWindow) *Collector {
	if len(phases) == 0 {
		phases = []PhaseWindow{{Name: "main"}}
	}
	n := 2 * runtime.GOMAXPROCS(0)
	c := &Collector{
		phases: phases,
		shards: make([]shard, n),
		totals: make([]*acc, len(phases)),
		open:   map[int64]map[int]*acc{},
	}
	for i := range c.shards {
		c.shards[i].sec = -1
		c.shards[i].phases = map[int]*acc{}
	}
	for i := range c.totals {
		c.totals[i] = newAcc()
	}
	return c
}

// scratch is a reusable histogram of tailgate's geometry, for handing a
// flat one to code that takes an hdr.Histogram. c.mu is held.
func (c *Collector) scratch(i int) *hdr.Histogram {
	if c.scratchH[i] == nil {
		c.scratchH[i] = NewHistogram()
	}
	return c.scratchH[i]
}

// SetIntervalSink sets a sink for closed intervals. Call before the run.
func (c *Collector) SetIntervalSink(s IntervalSink) { c.sink = s }

// Phases returns the phases the collector was made with.
func (c *Collector) Phases() []PhaseWindow { return c.phases }

// PhaseOf returns the index of the phase the offset t falls in.
func (c *Collector) PhaseOf(t time.Duration) int {
	for i := len(c.phases) - 1; i > 0; i-- {
		if t >= c.phases[i].Start {
			return i
		}
	}
	return 0
}

var _ generator.Recorder = (*Collector)(nil)

// Record implements generator.Recorder.
func (c *Collector) Record(worker int, r *generator.Result) {
	sh := &c.shards[uint(worker+1)%uint(len(c.shards))]
	p := c.PhaseOf(r.Intended)
	sec := int64(r.Done / time.Second)
	sh.mu.Lock()
	if is := int(r.Intended / time.Second); is < len(sh.offered) {
		sh.offered[is]++
	} else {
		for len(sh.offered) < is {
			sh.offered = append(sh.offered, 0)
		}
		sh.offered = append(sh.offered, 1)
	}
	if sec > sh.sec {
		c.rotate(sh, sec)
	} else if sec < sh.sec {
		// A result for a second this shard already handed over (its
		// worker was descheduled between Done and Record): rare.
		if r.Endpoint > 0 {
			sh.endpoint(int(r.Endpoint) - 1).add(r)
		}
		sh.mu.Unlock()
		c.recordLate(sec, p, r)
		return
	}
	a := sh.phases[p]
	if a == nil {
		a = c.get()
		sh.phases[p] = a
	}
	a.add(r)
	if r.Endpoint > 0 {
		sh.endpoint(int(r.Endpoint) - 1).add(r)
	}
	sh.mu.Unlock()
}

// rotate hands the shard's current second to the collector. sh.mu is held.
func (c *Collector) rotate(sh *shard, sec int64) {
	if len(sh.phases) > 0 {
		c.mu.Lock()
		for p, a := range sh.phases {
			c.mergeLocked(sh.sec, p, a)
			c.putLocked(a)
			delete(sh.phases, p)
		}
		c.mu.Unlock()
	}
	sh.sec = sec
}

func (c *Collector) recordLate(sec int64, p int, r *generator.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sec < c.closed {
		// Its second is already reported: count it in the phase total only.
		c.late++
		c.totals[p].add(r)
		return
	}
	c.openAcc(sec, p).add(r)
	c.totals[p].add(r)
}

func (c *Collector) openAcc(sec int64, p int) *acc {
	m := c.open[sec]
	if m == nil {
		m = map[int]*acc{}
		c.open[sec] = m
	}
	a := m[p]
	if a == nil {
		a = c.getLocked()
		m[p] = a
	}
	return a
}

// mergeLocked adds a shard's accumulator for (sec, p) to the totals and to
// the open second. c.mu is held.
func (c *Collector) mergeLocked(sec int64, p int, a *acc) {
	c.totals[p].merge(a)
	if sec < c.closed {
		c.late += a.n.Results
		return
	}
	c.openAcc(sec, p).merge(a)
}

func (c *Collector) get() *acc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked()
}

func (c *Collector) getLocked() *acc {
	if n := len(c.pool); n > 0 {
		a := c.pool[n-1]
		c.pool = c.pool[:n-1]
		return a
	}
	return newAcc()
}

func (c *Collector) putLocked(a *acc) {
	a.reset()
	c.pool = append(c.pool, a)
}

// EndpointSigFigs is the precision of per-endpoint histograms: two
// significant digits keep them small (about 34 KiB each) when there are
// many endpoints; the phase histograms keep three.
const EndpointSigFigs = 2

// epAcc accumulates one endpoint's results in one shard.
type epAcc struct {
	resp                    *hdr.Histogram
	results, ok, errs, hits int64
}

func (e *epAcc) add(r *generator.Result) {
	e.results++
	if r.Err == generator.ErrDropped {
		return
	}
	v := int64(r.ResponseTime())
	_ = e.resp.RecordValue(min(max(v, 0), HistHighest))
	if r.OK() {
		e.ok++
	} else {
		e.errs++
	}
	if r.CacheHit {
		e.hits++
	}
}

func (sh *shard) endpoint(i int) *epAcc {
	for len(sh.eps) <= i {
		sh.eps = append(sh.eps, nil)
	}
	if sh.eps[i] == nil {
		sh.eps[i] = &epAcc{resp: hdr.New(HistLowest, HistHighest, EndpointSigFigs)}
	}
	return sh.eps[i]
}
