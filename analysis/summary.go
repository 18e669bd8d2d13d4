package analysis

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/generator"
)

// closeGrace is how long after a second ends Tick waits before closing it,
// for workers that stamped Done just before the boundary.
const closeGrace = 250 * time.Millisecond

// Second is one second of a run by completion time: what finished in it.
// Offered counts requests whose intended time fell in it: in Seconds, those
// recorded (completed or dropped) by the time the second closed; in
// Summarize, all of them.
type Second struct {
	T          int64         `json:"t"` // seconds from the start
	Phase      int           `json:"phase"`
	Offered    int64         `json:"offered"`
	Completed  int64         `json:"completed"` // with or without error
	Errors     int64         `json:"errors"`
	Dropped    int64         `json:"dropped"`
	Censored   int64         `json:"censored,omitempty"` // cut off or never sent: the run's deadline came first
	Held       int64         `json:"held,omitempty"`     // waited for an in-flight slot
	CacheHits  int64         `json:"cache_hits,omitempty"`
	BytesIn    int64         `json:"bytes_in"`
	BytesOut   int64         `json:"bytes_out"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	ServiceP50 time.Duration `json:"service_p50_ns"`
	ServiceP99 time.Duration `json:"service_p99_ns"`
}

// Tick hands every shard's finished seconds to the collector and closes the
// seconds that ended before now − 250 ms, passing them to the interval
// sink. now is the offset from the run's start. Call it from one goroutine.
func (c *Collector) Tick(now time.Duration) error {
	sec := int64(now / time.Second)
	from := c.closedSoFar()
	var offered []int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if sh.sec < sec {
			c.rotate(sh, sec)
		}
		offered = sh.addOffered(offered, from)
		sh.mu.Unlock()
	}
	upTo := int64((now - closeGrace) / time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(upTo, offered)
	return c.sinkErr
}

// closedSoFar returns c.closed. Only Tick and Close (one goroutine) move
// it, so it holds until they close seconds; it is read before they take
// the shards' locks, which come before c.mu.
func (c *Collector) closedSoFar() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// addOffered adds the shard's offered counts of intended seconds from on
// to sum (sum[i] is second from+i) and returns it. sh.mu is held.
func (sh *shard) addOffered(sum []int64, from int64) []int64 {
	if from >= int64(len(sh.offered)) {
		return sum
	}
	for i, n := range sh.offered[from:] {
		if i == len(sum) {
			sum = append(sum, 0)
		}
		sum[i] += n
	}
	return sum
}

// Close hands over everything still held and closes every second up to end
// (the offset the run ended at). Record must not be called after Close.
func (c *Collector) Close(end time.Duration) error {
	last := int64(end / time.Second)
	from := c.closedSoFar()
	var offered []int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if sh.sec > last {
			last = sh.sec
		}
		c.rotate(sh, math.MaxInt64)
		offered = sh.addOffered(offered, from)
		sh.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.open {
		if s > last {
			last = s
		}
	}
	c.closeLocked(last+1, offered)
	return c.sinkErr
}

// closeLocked closes the seconds before upTo. offered[i] is the number of
// requests intended in second c.closed+i recorded so far (from
// addOffered). c.mu is held.
func (c *Collector) closeLocked(upTo int64, offered []int64) {
	merged := c.getLocked()
	defer c.putLocked(merged)
	from := c.closed
	for ; c.closed < upTo; c.closed++ {
		s := c.closed
		m := c.open[s]
		delete(c.open, s)
		row := Second{T: s, Phase: c.PhaseOf(time.Duration(s) * time.Second)}
		if i := s - from; i < int64(len(offered)) {
			row.Offered = offered[i]
		}
		merged.reset()
		for p := range c.phases {
			a := m[p]
			if a == nil {
				continue
			}
			if c.sink != nil && c.sinkErr == nil {
				c.sinkErr = c.sink(&Interval{
					Phase: p, Start: time.Duration(s) * time.Second, End: time.Duration(s+1) * time.Second,
					Response: a.resp.into(c.scratch(0)), Service: a.svc.into(c.scratch(1)), SendLag: a.lag.into(c.scratch(2)),
					Counts: a.n,
				})
			}
			merged.merge(a)
			c.putLocked(a)
		}
		row.Completed = merged.n.OK + merged.n.Errors
		row.Errors = merged.n.Errors
		row.Dropped = merged.n.Dropped
		row.Censored = merged.n.Censored
		row.Held = merged.n.Held
		row.CacheHits = merged.n.CacheHits
		row.BytesIn, row.BytesOut = merged.n.BytesIn, merged.n.BytesOut
		if merged.resp.total > 0 {
			var v [3]int64
			merged.resp.quantiles([]float64{0.5, 0.9, 0.99}, v[:])
			row.P50, row.P90, row.P99 = time.Duration(v[0]), time.Duration(v[1]), time.Duration(v[2])
			row.Max = time.Duration(merged.resp.max())
			merged.svc.quantiles([]float64{0.5, 0.99}, v[:2])
			row.ServiceP50, row.ServiceP99 = time.Duration(v[0]), time.Duration(v[1])
		}
		c.seconds = append(c.seconds, row)
		c.addInterval(s, &merged.resp)
	}
}

// Seconds returns the closed seconds so far (for live progress). The slice
// must not be modified.
func (c *Collector) Seconds() []Second {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seconds[:len(c.seconds):len(c.seconds)]
}

// PhaseSummary is everything reported about one phase (or the total).
type PhaseSummary struct {
	Name     string        `json:"name"`
	Warmup   bool          `json:"warmup,omitempty"`
	Start    time.Duration `json:"start_ns"`
	Duration time.Duration `json:"duration_ns"` // as run: shorter than planned if interrupted
	// Span is the time the phase really took, over which achieved and
	// goodput rates are computed: Duration, or, when the target held the
	// generator back (slot waits, drops, censored requests), from the
	// phase's start to its last completion or cut-off.
	Span time.Duration `json:"span_ns,omitempty"`

	Intended int64 `json:"intended"` // due in this phase: completed + errors + dropped + unsent
	Unsent   int64 `json:"unsent"`   // due but not sent when the run was interrupted
	Counts
	Status     map[string]int64 `json:"status"`               // by class: "2xx", …, "none"
	ErrorKinds map[string]int64 `json:"error_kinds"`          // timeout, refused, reset, …
	GRPCCodes  map[string]int64 `json:"grpc_codes,omitempty"` // by gRPC status code name
	// ErrorSamples holds, per error kind (and "status" for responses with
	// a failing status), a few distinct messages, as the targets gave them.
	ErrorSamples map[string][]string `json:"error_samples,omitempty"`

	OfferedRate  float64 `json:"offered_rps"`  // intended / duration
	AchievedRate float64 `json:"achieved_rps"` // completed (with or without error) / span
	GoodputRate  float64 `json:"goodput_rps"`  // ok / span

	// Response and service time are of successful responses, and of
	// censored requests at their lower bounds; failures are counted, not
	// timed.
	Response Dist `json:"response_time"` // from intended send to response end
	Service  Dist `json:"service_time"`  // from actual send to response end
	SendLag  Dist `json:"send_lag"`      // actual − intended send
	// The send lag split: SlotWait over the requests that waited for an
	// in-flight slot (the cap was full: responses were outstanding), and
	// Lateness, the rest, over every request sent (the generator woke late
	// or lacked CPU). Two significant digits.
	SlotWait Dist `json:"slot_wait"`
	Lateness Dist `json:"scheduler_lateness"`
	// TimerGrid is the scheduler's wake-up grid over the phase (a fixed
	// --timer-slack, or the adaptive grid's range); nil when every
	// request had a wake of its own.
	TimerGrid *GridRange `json:"timer_grid,omitempty"`

	// Breakdown says where the time went; nil when the target does not
	// report timings (Outcome.TTFB).
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	// Little compares the requests in flight with Little's law.
	Little *LittleCheck `json:"little,omitempty"`

	// Target is the target's own telemetry over the phase
	// (--target-metrics); nil when not scraped.
	Target *TargetStats `json:"target,omitempty"`

	// The histograms behind the Dists (not in JSON here; results encodes them).
	ResponseHist *hdr.Histogram `json:"-"`
	ServiceHist  *hdr.Histogram `json:"-"`
	SendLagHist  *hdr.Histogram `json:"-"`
	SlotWaitHist *hdr.Histogram `json:"-"`
	LatenessHist *hdr.Histogram `json:"-"`
}

// histOrNil is f as an hdr.Histogram of the main geometry, or nil when f
// is empty: a phase that got no request holds no histogram (a dense one
// is about 270 KB; a profile may have thousands of phases).
func histOrNil(f *flat) *hdr.Histogram {
	if f.total == 0 {
		return nil
	}
	if f.geo == geoMain {
		return f.hist()
	}
	h := NewHistogram()
	h.Merge(f.hist())
	return h
}

// SetRates sets Span and the offered, achieved and goodput rates from the
// counts and Duration: achieved and goodput over the time the phase
// really took (Span).
func (p *PhaseSummary) SetRates() {
	p.Span = p.Duration
	if p.Held > 0 || p.Dropped > 0 || p.Censored > 0 {
		p.Span = max(p.Duration, p.LastDone-p.Start)
	}
	p.OfferedRate, p.AchievedRate, p.GoodputRate = 0, 0, 0
	if secs := p.Duration.Seconds(); secs > 0 {
		p.OfferedRate = float64(p.Intended) / secs
	}
	if secs := p.Span.Seconds(); secs > 0 {
		p.AchievedRate = float64(p.Completed()) / secs
		p.GoodputRate = float64(p.OK) / secs
	}
}

// Part is one part of the response-time breakdown.
type Part struct {
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	N    int64         `json:"count"`
}

func partOf(h *hdr.Histogram) Part {
	if h == nil || h.TotalCount() == 0 {
		return Part{}
	}
	return Part{Mean: time.Duration(h.Mean()), P50: ValueAt(h, 0.5), P99: ValueAt(h, 0.99), N: h.TotalCount()}
}

// Breakdown splits response time into where it went: queueing in the
// generator (send lag: the scheduler and waiting for an in-flight slot),
// connection setup (DNS, TCP, TLS; only requests that opened a connection),
// the server's time to first byte, and the body transfer.
type Breakdown struct {
	Queue   Part `json:"queue"`
	Connect Part `json:"connect"`
	TTFB    Part `json:"ttfb"`
	Body    Part `json:"body"`
}

// LittleCheck holds Little's law for a phase: the requests in flight,
// sampled each second, against throughput × mean service time.
type LittleCheck struct {
	MeasuredInFlight  float64 `json:"measured_in_flight"`
	PredictedInFlight float64 `json:"predicted_in_flight"` // achieved rate × mean service time
	CapHit            bool    `json:"cap_hit"`             // the in-flight cap limited throughput
}

// TargetStats is what the target reported about itself during a phase,
// from its Prometheus endpoint: so utilisation is measured, not only
// inferred from latency.
type TargetStats struct {
	CPUCores   float64       `json:"cpu_cores"`       // process CPU seconds per second
	RSSMax     float64       `json:"rss_max_bytes"`   // resident memory high-water mark
	GCPauseMax time.Duration `json:"gc_pause_max_ns"` // longest GC pause seen
	Scrapes    int           `json:"scrapes"`         // samples behind these numbers
	Error      string        `json:"error,omitempty"` // why scraping failed, if it did
}

// Completed is the number of requests that got an answer or an error.
func (p *PhaseSummary) Completed() int64 { return p.OK + p.Errors }

// GeneratorStats is the send loop's own account, for the self-check.
type GeneratorStats struct {
	Intended     uint64        `json:"intended"`
	Sent         uint64        `json:"sent"`
	Dropped      uint64        `json:"dropped"`
	Unsent       uint64        `json:"unsent"`
	Expired      uint64        `json:"expired,omitempty"` // due but not sent by the deadline (censored)
	CutOff       uint64        `json:"cut_off,omitempty"` // in flight at the deadline (censored)
	DeadlineHit  bool          `json:"deadline_hit,omitempty"`
	SlotWaits    uint64        `json:"slot_waits"`
	PeakInFlight int           `json:"peak_in_flight"`
	Workers      int           `json:"workers"`
	Retired      int           `json:"retired_workers,omitempty"` // of Workers, ended after sitting idle
	Elapsed      time.Duration `json:"elapsed_ns"`
	Interrupted  bool          `json:"interrupted"`
	// CPU is the generator process's user+system CPU time during the run,
	// and Cores the cores it could use (GOMAXPROCS); set by the caller.
	CPU   time.Duration `json:"cpu_ns,omitempty"`
	Cores int           `json:"cores,omitempty"`
	// Wall is the run's wall time over which CPU was measured: Elapsed
	// plus the drain of the last requests.
	Wall time.Duration `json:"wall_ns,omitempty"`
	// The generator process's memory high-water mark (rusage maxrss) and
	// its garbage collector's pauses during the run; set by the caller.
	MaxRSS     int64         `json:"max_rss_bytes,omitempty"`
	GCCount    int64         `json:"gc_count,omitempty"`
	GCPauseMax time.Duration `json:"gc_pause_max_ns,omitempty"`
	GCPauseP99 time.Duration `json:"gc_pause_p99_ns,omitempty"`
	// Gaps is the send loop's sample of inter-dispatch gaps, each
	// [intended time, intended gap, actual gap, intended span, actual
	// span] in ns; the span reaches back to the dispatch at least
	// generator.GapSpan before (files before 2026-11-26 have no spans: 0).
	Gaps [][5]int64 `json:"gap_sample,omitempty"`
	// Grid is the wake-up grid in force, [from intended time, step] in
	// ns, one entry per change (generator.Stats.Grid); empty when every
	// request had a wake of its own.
	Grid [][2]int64 `json:"timer_grid,omitempty"`
	// With client-side batching: batches sent and why each left.
	Batches       uint64 `json:"batches,omitempty"`
	FlushBySize   uint64 `json:"flush_by_size,omitempty"`
	FlushByLinger uint64 `json:"flush_by_linger,omitempty"`
}

// EndpointSummary is one balanced endpoint's share of a run.
type EndpointSummary struct {
	Endpoint  int           `json:"endpoint"` // 1-based, in the order given
	Addr      string        `json:"addr,omitempty"`
	Requests  int64         `json:"requests"`
	Share     float64       `json:"share"` // of all balanced requests
	OK        int64         `json:"ok"`
	Errors    int64         `json:"errors"`
	CacheHits int64         `json:"cache_hits"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
}

// Summary is a whole run's numbers.
type Summary struct {
	// Endpoints is filled when requests were balanced over endpoints;
	// Imbalance is max/mean requests per endpoint (1 = perfectly even).
	Endpoints []EndpointSummary `json:"endpoints,omitempty"`
	Imbalance float64           `json:"imbalance,omitempty"`
	Phases    []PhaseSummary    `json:"phases"`
	Total     PhaseSummary      `json:"total"` // non-warm-up phases together
	Seconds   []Second          `json:"seconds"`
	Late      int64             `json:"late,omitempty"` // results that missed their second's report (in totals)
	// Intervals are response-time histograms of consecutive spans of
	// IntervalSpan (1 s, or a power-of-two multiple of it once a run is
	// longer than MaxIntervals seconds: memory stays bounded), compressed
	// (HdrHistogram V2, base64). They merge exactly across machines and
	// feed the block bootstrap of compare. Not in the summary JSON: the
	// result file keeps them beside the other histograms.
	Intervals    []string       `json:"-"`
	IntervalSpan time.Duration  `json:"-"`
	Generator    GeneratorStats `json:"generator"`
}

// Summarize builds the run's Summary. Call after Close.
func (c *Collector) Summarize(st generator.Stats) *Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Summary{
		Late: c.late,
		Generator: GeneratorStats{
			Intended: st.Intended, Sent: st.Sent, Dropped: st.Dropped, Unsent: st.Unsent,
			SlotWaits: st.SlotWaits, PeakInFlight: st.PeakInFlight, Workers: st.Workers, Retired: st.Retired,
			Elapsed: st.Elapsed, Interrupted: st.Interrupted,
			Expired: st.Expired, CutOff: st.CutOff, DeadlineHit: st.DeadlineHit,
		},
	}
	for _, g := range st.Grid {
		s.Generator.Grid = append(s.Generator.Grid, [2]int64{int64(g.At), int64(g.Step)})
	}
	for _, g := range st.Gaps {
		s.Generator.Gaps = append(s.Generator.Gaps, [5]int64{int64(g.At), int64(g.Intended), int64(g.Actual), int64(g.SpanIntended), int64(g.SpanActual)})
	}
	// Offered per intended second, summed over shards.
	var offered []int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for j, n := range sh.offered {
			for len(offered) <= j {
				offered = append(offered, 0)
			}
			offered[j] += n
		}
		sh.mu.Unlock()
	}
	c.summarizeEndpoints(s)
	s.Seconds = append([]Second(nil), c.seconds...)
	s.Intervals = c.intervals.all()
	if c.pending != nil && c.pending.total > 0 {
		s.Intervals = append(s.Intervals, c.encodeFlat(c.pending))
	}
	s.IntervalSpan = time.Duration(max(c.span, 1)) * time.Second
	for i := range s.Seconds {
		if t := int(s.Seconds[i].T); t < len(offered) {
			s.Seconds[i].Offered = offered[t]
		}
	}
	unsentPhase := c.PhaseOf(st.Elapsed)
	total := newAcc()
	var totalDur time.Duration
	var totalUnsent int64
	for p, ph := range c.phases {
		end := ph.End
		if end == 0 || (st.Interrupted && end > st.Elapsed) {
			end = st.Elapsed
		}
		dur := max(end-ph.Start, 0)
		a := c.totals[p]
		var unsent int64
		if p == unsentPhase {
			unsent = int64(st.Unsent)
		}
		s.Phases = append(s.Phases, summarize(ph.Name, ph.Warmup, ph.Start, dur, a, unsent))
		if !ph.Warmup {
			total.merge(a)
			totalDur += dur
			totalUnsent += unsent
		}
	}
	var start time.Duration
	for _, ph := range c.phases {
		if !ph.Warmup {
			start = ph.Start
			break
		}
	}
	s.Total = summarize("total", false, start, totalDur, total, totalUnsent)
	setGridRanges(s)
	return s
}

func summarize(name string, warmup bool, start, dur time.Duration, a *acc, unsent int64) PhaseSummary {
	p := PhaseSummary{
		Name: name, Warmup: warmup, Start: start, Duration: dur,
		Counts:       a.n,
		Unsent:       unsent,
		Intended:     a.n.Results + unsent,
		ResponseHist: histOrNil(&a.resp),
		ServiceHist:  histOrNil(&a.svc),
		SendLagHist:  histOrNil(&a.lag),
		// In the file's one geometry (3 digits), like the other histograms.
		SlotWaitHist: histOrNil(&a.held),
		LatenessHist: histOrNil(&a.late),
	}
	p.Response, p.Service, p.SendLag = Describe(p.ResponseHist), Describe(p.ServiceHist), Describe(p.SendLagHist)
	p.SlotWait, p.Lateness = Describe(p.SlotWaitHist), Describe(p.LatenessHist)
	p.Breakdown = breakdownOf(a, p.SendLagHist)
	p.FillMaps()
	for k, l := range a.msgs {
		if len(l) > 0 {
			if p.ErrorSamples == nil {
				p.ErrorSamples = map[string][]string{}
			}
			name := generator.ErrKind(k).String()
			if k == int(generator.ErrNone) {
				name = "status"
			}
			p.ErrorSamples[name] = append([]string(nil), l...)
		}
	}
	p.SetRates()
	return p
}

// GRPCCodeNames names Counts.GRPC's slots, as grpc's status codes print.
var GRPCCodeNames = [17]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// StatusClassNames names Counts.Status's slots.
var StatusClassNames = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// FillMaps sets Status and ErrorKinds from the counters.
func (p *PhaseSummary) FillMaps() {
	p.Status = map[string]int64{}
	for i, n := range p.Counts.Status {
		if n > 0 {
			p.Status[StatusClassNames[i]] = n
		}
	}
	grpc := map[string]int64{}
	for i, n := range p.Counts.GRPC {
		if n > 0 {
			grpc[GRPCCodeNames[i]] = n
		}
	}
	if len(grpc) > 0 {
		p.GRPCCodes = grpc
	}
	p.ErrorKinds = map[string]int64{}
	for k, n := range p.Counts.ErrKinds {
		if n > 0 && k != int(generator.ErrNone) && k != int(generator.ErrCensored) {
			p.ErrorKinds[generator.ErrKind(k).String()] = n
		}
	}
}

func (c *Collector) summarizeEndpoints(s *Summary) {
	var merged []*epAcc
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for j, e := range sh.eps {
			if e == nil {
				continue
			}
			for len(merged) <= j {
				merged = append(merged, &epAcc{resp: hdr.New(HistLowest, HistHighest, EndpointSigFigs)})
			}
			m := merged[j]
			m.resp.Merge(e.resp)
			m.results += e.results
			m.ok += e.ok
			m.errs += e.errs
			m.hits += e.hits
		}
		sh.mu.Unlock()
	}
	var total, most int64
	for _, m := range merged {
		total += m.results
		most = max(most, m.results)
	}
	if total == 0 {
		return
	}
	for j, m := range merged {
		s.Endpoints = append(s.Endpoints, EndpointSummary{
			Endpoint: j + 1, Requests: m.results, Share: float64(m.results) / float64(total),
			OK: m.ok, Errors: m.errs, CacheHits: m.hits,
			P50: ValueAt(m.resp, 0.5), P99: ValueAt(m.resp, 0.99), Max: time.Duration(m.resp.Max()),
		})
	}
	s.Imbalance = float64(most) / (float64(total) / float64(len(merged)))
}

// MaxIntervals bounds the interval histograms a run keeps (about 1 KB
// each): past it, neighbouring intervals are merged pairwise and the span
// doubles, so a 15-minute run keeps 1 s resolution and a day-long soak
// 2 min, in the same memory.
const MaxIntervals = 900

var maxIntervals = MaxIntervals // tests lower it

// addInterval adds second sec's response histogram to the current span,
// closing the span when it is full. c.mu is held.
func (c *Collector) addInterval(sec int64, h *flat) {
	if c.span == 0 {
		c.span = 1
	}
	if c.pending == nil {
		c.pending = newFlat(geoMain)
	}
	c.pending.merge(h)
	if (sec+1)%c.span != 0 {
		return
	}
	c.intervals.add(c.encodeFlat(c.pending))
	c.pending.reset()
	if c.intervals.len() >= maxIntervals {
		c.coarsen()
	}
}

// coarsen merges neighbouring intervals pairwise and doubles the span.
func (c *Collector) coarsen() {
	ivs := c.intervals.all()
	out := ivs[:0]
	for i := 0; i+1 < len(ivs); i += 2 {
		a, errA := DecodeHist(ivs[i])
		b, errB := DecodeHist(ivs[i+1])
		if errA != nil || errB != nil {
			continue // cannot happen: we encoded them
		}
		a.Merge(b)
		out = append(out, encodeHist(a))
	}
	c.intervals.replace(out)
	c.span *= 2
}

// encodeFlat encodes f as encodeHist would. c.mu is held.
func (c *Collector) encodeFlat(f *flat) string {
	s, err := c.enc.encode(f)
	if err != nil {
		return ""
	}
	return s
}

func encodeHist(h *hdr.Histogram) string {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeHist decodes a compressed (V2, base64) histogram.
func DecodeHist(s string) (*hdr.Histogram, error) {
	return hdr.Decode([]byte(s))
}

// breakdownOf is a's service-time breakdown; lag is a's send lag, already
// an hdr.Histogram.
func breakdownOf(a *acc, lag *hdr.Histogram) *Breakdown {
	if a.ttfb.total == 0 {
		return nil
	}
	return &Breakdown{Queue: partOf(lag), Connect: partOf(a.conn.hist()), TTFB: partOf(a.ttfb.hist()), Body: partOf(a.body.hist())}
}
