package session

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/internal/expose"
	"tailgate/results"
	"tailgate/targets"
)

// Measurement is what Plan.Measure returns: the result file (side A's,
// for an A/B plan), side B's for an A/B plan, and the send loop's
// figures. The files are not judged yet (Judge).
type Measurement struct {
	File  *results.File
	SideB *results.File
	Stats generator.Stats
}

// measuring is the state of one Measure call.
type measuring struct {
	p        *Plan
	col      *analysis.Collector
	colB     *analysis.Collector // A/B: side B
	gauges   *generator.Gauges
	started  time.Time
	tel      *telemetry
	prog     *results.Progress
	inflight [][2]float64 // (offset s, requests in flight), each second; read after the ticker stops
	stop     chan struct{}
	done     chan struct{}
	gc0      debug.GCStats
}

// Measure runs the plan's load and returns its result, not yet judged or
// written. The context's cancellation stops sending: the requests in
// flight get the drain, and the result covers what was sent.
func (p *Plan) Measure(ctx context.Context) (*Measurement, error) {
	m := &measuring{p: p, col: analysis.NewCollector(p.phases), gauges: new(generator.Gauges)}
	gen := p.gen
	gen.Gauges = m.gauges
	if err := m.prepare(ctx, &gen); err != nil {
		return nil, err
	}
	stopServing, err := m.serve(ctx)
	if err != nil {
		return nil, err
	}
	defer stopServing()
	m.startTicks(ctx)
	stopFaults := func() {}
	if p.faults != nil {
		fctx, cancel := context.WithCancel(ctx)
		stopFaults = cancel
		go p.faults.run(fctx, m.started)
	}
	debug.ReadGCStats(&m.gc0)
	cpu0, wall0 := processCPU(), time.Now()
	var st generator.Stats
	if p.closed > 0 {
		st, err = generator.RunClosed(ctx, p.closed, p.total, p.target, m.recorder(), gen)
	} else {
		st, err = generator.Run(ctx, p.schedule, p.target, m.recorder(), gen)
	}
	cpu, wall := processCPU()-cpu0, time.Since(wall0)
	stopFaults()
	var windows []results.FaultWindow
	if p.faults != nil {
		windows = p.faults.finish()
	}
	m.stopTicks()
	if err != nil {
		return nil, err
	}
	return m.finish(st, windows, cpu, wall)
}

// prepare removes faults left by earlier runs, opens the first
// connections, and fixes the start and the deadline.
func (m *measuring) prepare(ctx context.Context, gen *generator.Options) error {
	p := m.p
	if p.faults != nil {
		if err := p.faults.sweep(ctx, p.opts.log()); err != nil {
			return err
		}
	}
	if w, ok := p.target.(generator.Warmer); ok && p.warm > 0 {
		p.settings.Preconnected = w.Warm(ctx, p.warm)
	}
	m.started = gen.Start
	if m.started.IsZero() {
		m.started = time.Now()
		gen.Start = m.started
	} else if p.opts.Progress {
		fmt.Fprintf(p.opts.log(), "waiting until %s to start (%v)\n", m.started.Format(time.RFC3339), time.Until(m.started).Round(time.Millisecond))
	}
	if gen.Deadline == 0 && p.total > 0 {
		// The run ends on time whatever the target does: the schedule,
		// then the drain for what is in flight.
		drain := gen.Drain
		if drain <= 0 {
			drain = generator.DefaultDrain
		}
		gen.Deadline = p.total + drain + max(gen.Start.Sub(m.started), 0)
	}
	if p.split != nil {
		m.colB = analysis.NewCollector(p.phases)
	}
	return nil
}

// serve connects the interval log, the metrics server and the target's
// telemetry; stop undoes what needs undoing.
func (m *measuring) serve(ctx context.Context) (stop func(), err error) {
	p := m.p
	if p.hdr != nil {
		m.col.SetIntervalSink(p.hdr.sink(m.started, p.phases, p.labels("A")...))
		if m.colB != nil {
			m.colB.SetIntervalSink(p.hdr.sink(m.started, p.phases, p.labels("B")...))
		}
	}
	stop = func() {}
	if a := p.opts.MetricsAddr; a != "" {
		last := func() (analysis.Second, bool) {
			secs := m.col.Seconds()
			if len(secs) == 0 {
				return analysis.Second{}, false
			}
			return secs[len(secs)-1], true
		}
		if stop, err = serveMetrics(a, results.NewMetricsHandler(m.gauges, last, map[string]string{"target": p.settings.Target})); err != nil {
			return nil, inputErrorf("--metrics-addr: %v", err)
		}
		expose.Warn(p.opts.log(), "--metrics-addr (the run's live metrics)", a)
	}
	if u := p.opts.TargetMetrics; u != "" {
		m.tel = &telemetry{scraper: targets.NewScraper(u), start: m.started}
		m.tel.scrape(ctx)
	}
	if p.opts.Progress && p.opts.Log != nil {
		m.prog = results.NewProgress(p.opts.Log, p.opts.TTY, p.total, func(t time.Duration) string {
			return m.col.Phases()[m.col.PhaseOf(t)].Name
		})
	}
	return stop, nil
}

// labels are the interval log's extra tags for this measurement: its step
// and, for an A/B plan, the side.
func (p *Plan) labels(side string) []string {
	var tags []string
	if p.label.Key != "" {
		tags = append(tags, p.label.Key+"="+p.label.Value)
	}
	if p.split != nil {
		tags = append(tags, "side="+side)
	}
	return tags
}

// startTicks closes a second of the collector each second, samples the
// requests in flight, scrapes the target and updates the progress line.
func (m *measuring) startTicks(ctx context.Context) {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.tick(ctx)
			}
		}
	}()
}

func (m *measuring) tick(ctx context.Context) {
	_ = m.col.Tick(time.Since(m.started))
	if m.colB != nil {
		_ = m.colB.Tick(time.Since(m.started))
	}
	m.inflight = append(m.inflight, [2]float64{time.Since(m.started).Seconds(), float64(m.gauges.InFlight.Load())})
	if m.tel != nil {
		m.tel.scrape(ctx)
	}
	if m.prog != nil {
		secs := m.col.Seconds()
		var sec analysis.Second
		if len(secs) > 0 {
			sec = secs[len(secs)-1]
		}
		m.prog.Update(time.Since(m.started), m.gauges, sec, len(secs) > 0)
	}
}

func (m *measuring) stopTicks() {
	close(m.stop)
	<-m.done
	if m.prog != nil {
		m.prog.Done()
	}
}

// recorder is the collector, or for an A/B plan the split between the
// sides' collectors: one schedule, each request's side chosen by split.
func (m *measuring) recorder() generator.Recorder {
	if m.colB == nil {
		return m.col
	}
	split := m.p.split
	return generator.RecorderFunc(func(w int, r *generator.Result) {
		if split(r.Seq) == 0 {
			m.col.Record(w, r)
		} else {
			m.colB.Record(w, r)
		}
	})
}

// finish closes the collectors and builds the result files.
func (m *measuring) finish(st generator.Stats, windows []results.FaultWindow, cpu, wall time.Duration) (*Measurement, error) {
	p := m.p
	for _, c := range []*analysis.Collector{m.col, m.colB} {
		if c != nil {
			if err := c.Close(st.Elapsed); err != nil {
				return nil, err
			}
		}
	}
	if p.hdr != nil {
		if err := p.hdr.flush(); err != nil {
			return nil, err
		}
	}
	out := &Measurement{Stats: st}
	fig := figures{started: m.started, windows: windows, cpu: cpu, wall: wall, numGC0: m.gc0.NumGC}
	if m.colB != nil {
		sumB := m.colB.Summarize(st)
		littleCheck(sumB, nil, false)
		var err error
		if out.SideB, err = p.fileOf(sumB, st, fig); err != nil {
			return nil, err
		}
	}
	sum := m.col.Summarize(st)
	littleCheck(sum, m.inflight, st.PeakInFlight >= p.maxInFlight() && st.SlotWaits+st.Dropped > 0)
	if m.tel != nil {
		m.tel.scrape(context.Background())
		m.tel.summarize(sum)
	}
	if p.balanced != nil {
		fig.balance = p.balanceInfo(sum, windows)
	}
	var err error
	out.File, err = p.fileOf(sum, st, fig)
	return out, err
}

// serveMetrics serves h at http://addr/metrics until stop is called.
func serveMetrics(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
