package session

import (
	"fmt"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/internal/redact"
	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/balance"
)

// RetireIdle is how long a send-loop worker (a goroutine, and with fast-h1
// its connection) waits for a request before it ends (generator.Options).
const RetireIdle = 10 * time.Second

// releaseMemory gives the memory of retired workers (their stacks and
// connection buffers) back to the operating system once enough of them
// have ended: the runtime otherwise keeps freed pages for a long while
// (measured: RSS stayed at 195 MB minutes after 10,000 workers became
// 54). At most every releaseEvery, once releaseAfter workers have retired
// since the last time; debug.FreeOSMemory (a collection, then returning
// every free page) runs on a goroutine of its own.
func releaseMemory(n int) {
	release.mu.Lock()
	defer release.mu.Unlock()
	release.retired += n
	if release.retired < releaseAfter || time.Since(release.last) < releaseEvery {
		return
	}
	release.retired, release.last = 0, time.Now()
	go debug.FreeOSMemory()
}

const (
	releaseAfter = 64
	releaseEvery = 30 * time.Second
)

var release struct {
	mu      sync.Mutex
	retired int
	last    time.Time
}

// Plan is a load test ready to measure: the target chain, the schedule
// and its phases, the fault plan and the generator's options. A command
// that measures several times (a sweep's steps, a batch grid's cells)
// derives each measurement from one Plan with Step.
type Plan struct {
	opts     *Options
	schedule generator.Schedule
	target   generator.Target
	closer   func()
	faults   *faultRunner
	balanced *targets.Balanced
	keys     *targets.Keys
	rate     func(time.Duration) float64 // offered rate at an offset; nil: constant
	split    func(seq uint64) int        // A/B: which side (0 or 1) request seq is on; nil: one side
	hedge    *targets.Hedge
	fan      *targets.FanOut
	// A profile's set_hedge actions switch between these (by setting;
	// "off" is the plain target).
	hedges      map[string]*targets.Hedge
	hedgeSwitch *targets.Switch
	hedgeBase   generator.Target
	closed      int  // closed loop at this concurrency; 0: open loop
	lazy        bool // fast-h1 reads lazily (setReads)
	phases      []analysis.PhaseWindow
	settings    results.Settings
	gen         generator.Options
	total       time.Duration // planned length, for progress and the deadline
	warm        int           // connections to open before the first request
	grpcEngine  string        // the gRPC client in use: grpc-fast or grpc
	hdr         *hdrLog       // the interval log shared by every measurement; nil: none
	label       Label         // this measurement's step or side, in outputs that hold several
}

// Label names one of several measurements in outputs that hold them all
// (the interval log's tags, the CSV's first column, the JUnit suites):
// Key is "step" or "side", Value e.g. "step-3" or "A".
type Label struct{ Key, Value string }

// NewPlan checks the options and turns them (and the profile, if any)
// into a plan, checking everything before any load is sent. The plan
// holds open clients: Close it.
func NewPlan(o *Options) (*Plan, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.Profile == "" && o.ClosedLoop == 0 {
		if err := (generator.Constant{Rate: o.Rate}).Validate(); err != nil {
			return nil, inputErrorf("--rate %g: must be a positive number of requests per second", o.Rate)
		}
	}
	prof, err := loadProfile(o)
	if err != nil {
		return nil, err
	}
	ho, vars, err := httpOptions(o, prof)
	if err != nil {
		return nil, err
	}
	p := &Plan{opts: o, keys: vars.Keys}
	if err := p.buildTarget(ho, prof); err != nil {
		return nil, err
	}
	if err := p.finishPlan(ho, prof); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// finishPlan sets the settings recorded in the result, the schedule, the
// in-flight cap and the connections to open first.
func (p *Plan) finishPlan(ho targets.HTTPOptions, prof *profiles.Profile) error {
	o := p.opts
	p.settings = results.Settings{
		Engine: p.engineOf(o, ho),
		Target: redact.URL(ho.URL), Method: ho.Method, Seed: o.seed(profileSeed(prof)), MaxInFlight: o.MaxInFlight,
		OnSaturation: o.OnSaturation.String(), Connections: o.Connections, Timeout: o.Timeout, HTTP2: o.HTTP2,
		TimerSlack: o.TimerSlack, CoarseTimers: o.CoarseTimers,
		TLS: tlsSettings(o.TLS),
	}
	if p.lazy {
		p.settings.Reads = "lazy"
	}
	p.gen = generator.Options{MaxInFlight: o.MaxInFlight, OnSaturation: o.OnSaturation, Drain: o.Drain,
		CoarseTimers: o.CoarseTimers, TimerSlack: o.TimerSlack, Abort: o.Abort}
	// Workers a transient peak needed end after this long idle, so that
	// memory follows the recent peak in flight, not the run's highest.
	p.gen.RetireIdle, p.gen.OnRetire = RetireIdle, releaseMemory
	if !o.PreciseTimers && !o.CoarseTimers && o.TimerSlack == 0 {
		// The default: a grid of 5 % of the target's service-time median,
		// at most 1 ms, none while it answers in under a millisecond.
		p.gen.AdaptiveGrid = &generator.AdaptiveGrid{}
		p.settings.AdaptiveGrid = true
	}
	if p.balanced != nil {
		p.settings.Endpoints, p.settings.Balance = o.Endpoints, o.Balance
	}
	if prof != nil {
		if err := p.useProfile(prof, o.seed(prof.Seed)); err != nil {
			return err
		}
	} else {
		p.plainSchedule()
	}
	if o.Segment != "" {
		i, n, _ := results.ParseSegment(o.Segment)
		p.schedule = generator.Segment{Schedule: p.schedule, Index: i, Count: n}
		p.settings.Segment = results.SegmentString(i, n)
	}
	if !o.StartAt.IsZero() {
		p.gen.Start = o.StartAt
		p.settings.StartAt = o.StartAt.UTC()
	}
	if err := p.sizeCap(isGRPC(ho.URL) || o.HTTP2); err != nil {
		return err
	}
	p.warm = p.preconnect()
	if o.Outputs.HdrLog != "" {
		p.hdr = &hdrLog{path: o.Outputs.HdrLog}
	}
	var names []string
	for _, ph := range p.phases {
		names = append(names, ph.Name)
	}
	if err := analysis.CheckPhases(o.SLO.Objectives, names); err != nil {
		return inputErrorf("%v", err)
	}
	return nil
}

// Close closes the plan's clients and its interval log, and returns the
// log's error.
func (p *Plan) Close() error {
	if p.closer != nil {
		p.closer()
		p.closer = nil
	}
	if p.hdr != nil {
		return p.hdr.close()
	}
	return nil
}

// Options are the options the plan was made from.
func (p *Plan) Options() *Options { return p.opts }

// Phases are the plan's phases.
func (p *Plan) Phases() []analysis.PhaseWindow { return p.phases }

// Rate is the plan's offered rate at an offset from its start; nil when
// constant.
func (p *Plan) Rate() func(time.Duration) float64 { return p.rate }

func profileSeed(p *profiles.Profile) uint64 {
	if p == nil {
		return 0
	}
	return p.Seed
}

// loadProfile loads the options' profile, with the options' URL; nil
// without one.
func loadProfile(o *Options) (*profiles.Profile, error) {
	if o.Profile == "" {
		return nil, nil
	}
	p, err := profiles.Load(o.Profile)
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	if o.URL != "" {
		p = p.WithURL(o.URL)
	}
	if p.Target.URL == "" {
		return nil, inputErrorf("profile %s names no target URL: give one as an argument", p.Source)
	}
	return p, nil
}

// httpOptions are the request's options: the options', with a profile's
// target, keys, data and cache settings where the options leave them.
func httpOptions(o *Options, prof *profiles.Profile) (targets.HTTPOptions, *targets.Vars, error) {
	ho := targets.HTTPOptions{
		URL: o.URL, Method: o.Method, Header: o.Header, Body: o.Body,
		Timeout: o.Timeout, Connections: o.Connections, HTTP2: o.HTTP2, Insecure: o.TLS.Insecure,
		CAFile: o.TLS.CAFile, CertFile: o.TLS.CertFile, KeyFile: o.TLS.KeyFile, ServerName: o.TLS.ServerName,
	}
	ho.CacheHeader, ho.CacheHit, _ = strings.Cut(o.CacheHeader, "=")
	vars := &targets.Vars{}
	if prof != nil {
		if err := fromProfile(o, prof, &ho, vars); err != nil {
			return ho, nil, err
		}
	}
	var err error
	if o.Keys != "" {
		if vars.Keys, err = ParseKeys(o.Keys, o.seed(profileSeed(prof))); err != nil {
			return ho, nil, inputErrorf("--keys %q: %v", o.Keys, err)
		}
	}
	if o.DataFile != "" {
		if vars.Data, err = targets.LoadData(o.DataFile); err != nil {
			return ho, nil, inputErrorf("--data-file: %v", err)
		}
	}
	registerRequestSecrets(ho.Header, ho.Body)
	ho.Vars = vars
	ho.BatchItem = o.BatchItem
	return ho, vars, nil
}

// fromProfile takes the profile's target, keys, data and cache settings
// where the options do not set them.
func fromProfile(o *Options, prof *profiles.Profile, ho *targets.HTTPOptions, vars *targets.Vars) error {
	ho.URL = prof.Target.URL
	if !o.Explicit.Method && prof.Target.Method != "" {
		ho.Method = prof.Target.Method
	}
	if !o.Explicit.Body && prof.Target.Body != "" {
		ho.Body = []byte(prof.Target.Body)
	}
	if len(prof.Target.Headers) > 0 {
		h := http.Header{}
		for k, v := range prof.Target.Headers {
			h.Set(k, v)
		}
		for k, v := range o.Header { // options win
			h[k] = v
		}
		ho.Header = h
	}
	var err error
	if prof.Keys != nil && o.Keys == "" {
		d, _ := targets.ParseKeyDist(prof.Keys.Dist) // profiles validated it
		if vars.Keys, err = targets.NewKeys(d, uint64(prof.Keys.N), prof.Keys.S, o.seed(prof.Seed)); err != nil {
			return inputErrorf("profile %s: keys: %v", prof.Source, err)
		}
	}
	if prof.Data != nil && o.DataFile == "" {
		path := prof.Data.File
		if !filepath.IsAbs(path) && !strings.HasPrefix(prof.Source, "builtin:") {
			path = filepath.Join(filepath.Dir(prof.Source), path)
		}
		if vars.Data, err = targets.LoadData(path); err != nil {
			return inputErrorf("profile %s: data: %v", prof.Source, err)
		}
	}
	if prof.Cache != nil && !o.Explicit.CacheHeader {
		ho.CacheHeader, ho.CacheHit = prof.Cache.Header, prof.Cache.Hit
	}
	return nil
}

// registerRequestSecrets remembers the secret values of the request a
// run sends, whatever gave them (options, a profile, a body file), so no
// error message shows them.
func registerRequestSecrets(h http.Header, body []byte) {
	for k, vs := range h {
		for _, v := range vs {
			redact.Header(k, v)
		}
	}
	redact.Body(string(body))
}

// plainSchedule sets a one-phase schedule from the options' rate,
// duration and arrivals (or closed loop).
func (p *Plan) plainSchedule() {
	o := p.opts
	p.closed = o.ClosedLoop
	p.settings.ClosedLoop = o.ClosedLoop
	p.setPhase("main", o.Rate, o.Duration, o.Seed)
}

// setPhase makes the plan one phase named name at rate for d, with the
// options' arrivals (Poisson seeded with seed).
func (p *Plan) setPhase(name string, rate float64, d time.Duration, seed uint64) {
	arrivals := p.opts.Arrivals
	if arrivals == "" {
		arrivals = "constant"
	}
	var sched generator.Schedule = generator.Constant{Rate: rate, Duration: d}
	if arr, _ := generator.ParseArrivals(arrivals); arr == generator.PoissonArrivals {
		sched = generator.NewPoisson(rate, d, seed)
	}
	p.schedule = sched
	p.rate = nil
	p.total = d
	p.faults = nil
	p.phases = []analysis.PhaseWindow{{Name: name, End: d}}
	p.settings.Rate, p.settings.Duration, p.settings.Arrivals = rate, d, arrivals
	p.settings.Phases = []results.PhasePlan{{Name: name, Duration: d, Rate: fmt.Sprintf("constant %g", rate), Arrivals: arrivals}}
}

// Step returns a copy of the plan for one measurement of a command that
// makes several: one phase named name, at rate (requests or items per
// second) for d, with Poisson arrivals seeded Seed + n. The copy shares
// the plan's target and interval log; its outputs are labelled
// step=name.
func (p *Plan) Step(name string, n int, rate float64, d time.Duration) *Plan {
	s := *p
	s.setPhase(name, rate, d, p.opts.Seed+uint64(n))
	s.label = Label{Key: "step", Value: name}
	return &s
}

// ClosedStep returns a copy of the plan for one closed-loop measurement at
// concurrency n for d, named name.
func (p *Plan) ClosedStep(name string, n int, d time.Duration) *Plan {
	s := *p
	s.closed = n
	s.total = d
	s.faults = nil
	s.phases = []analysis.PhaseWindow{{Name: name, End: d}}
	s.settings.ClosedLoop = n
	s.label = Label{Key: "step", Value: name}
	return &s
}

// WithBatch returns a copy of the plan that batches items: a request
// leaves when it holds size items or its first has waited linger.
func (p *Plan) WithBatch(size int, linger time.Duration) *Plan {
	s := *p
	s.gen.Batch = &generator.BatchOptions{Size: size, Linger: linger}
	return &s
}

// useProfile sets the plan's schedule, phases and fault plan from prof.
func (p *Plan) useProfile(prof *profiles.Profile, seed uint64) error {
	p.schedule = prof.Schedule(seed)
	p.total = prof.Duration()
	starts := prof.PhaseStarts()
	p.rate = func(t time.Duration) float64 {
		i := len(starts) - 1
		for i > 0 && t < starts[i] {
			i--
		}
		return prof.Curve(i).Rate(t - starts[i])
	}
	p.phases = nil
	p.settings.Profile = prof.Name
	p.settings.Duration = prof.Duration()
	for i, ph := range prof.Phases {
		p.phases = append(p.phases, analysis.PhaseWindow{Name: ph.Name, Start: starts[i], End: starts[i] + ph.Duration, Warmup: ph.Warmup})
		arr := ph.Arrivals
		if arr == "" {
			arr = "constant"
		}
		p.settings.Phases = append(p.settings.Phases, results.PhasePlan{
			Name: ph.Name, Duration: ph.Duration, Rate: ph.Rate.String(), Arrivals: arr, Warmup: ph.Warmup})
	}
	evs := prof.FaultEvents()
	if err := p.checkEndpointEvents(prof, evs); err != nil {
		return err
	}
	if err := p.useHedgeSettings(prof, evs); err != nil {
		return err
	}
	if len(evs) > 0 {
		p.faults = newFaultRunner(evs)
		p.faults.balanced = p.balanced
		p.faults.plan = p
	}
	return nil
}

// checkEndpointEvents checks that a profile's endpoint actions name
// endpoints the options balance over.
func (p *Plan) checkEndpointEvents(prof *profiles.Profile, evs []profiles.FaultEvent) error {
	for _, e := range evs {
		if e.Endpoint == 0 {
			continue
		}
		if p.balanced == nil {
			return inputErrorf("profile %s: %s needs --endpoints to balance over", prof.Source, e.Action)
		}
		if n := len(p.balanced.Endpoints()); e.Endpoint > n {
			return inputErrorf("profile %s: %s endpoint %d, but --endpoints has %d", prof.Source, e.Action, e.Endpoint, n)
		}
	}
	return nil
}

// useHedgeSettings prepares a hedging client for each setting a profile's
// set_hedge actions switch to, behind a switch.
func (p *Plan) useHedgeSettings(prof *profiles.Profile, evs []profiles.FaultEvent) error {
	var settings []string
	for _, e := range evs {
		if e.Action == profiles.ActionSetHedge && !slices.Contains(settings, e.Value) {
			settings = append(settings, e.Value)
		}
	}
	if len(settings) == 0 {
		return nil
	}
	if p.hedge != nil {
		return inputErrorf("profile %s sets hedging per phase (set_hedge): leave out --hedge-after", prof.Source)
	}
	p.hedges = map[string]*targets.Hedge{}
	for _, v := range settings {
		if v == "off" {
			continue
		}
		after, _ := generator.ParseHedgeAfter(v) // profiles validated it
		h, err := targets.NewHedge(p.target, after)
		if err != nil {
			return inputErrorf("profile %s: set_hedge %q: %v", prof.Source, v, err)
		}
		p.hedges[v] = h
	}
	p.hedgeBase = p.target
	p.hedgeSwitch = targets.NewSwitch(p.target)
	p.target = p.hedgeSwitch
	return nil
}

// balance builds the balanced target over the options' endpoints.
func (p *Plan) balance(ho targets.HTTPOptions, seed uint64) error {
	eps, _ := balance.ParseEndpoints(p.opts.Endpoints)
	key := func(seq uint64) uint64 { return seq }
	if p.keys != nil {
		key = p.keys.Key
	}
	bal, err := targets.NewBalanced(p.opts.Balance, eps, balance.Options{Seed: seed}, key, func(addr string) (generator.Target, error) {
		o := ho
		o.URL = withHost(ho.URL, addr)
		t, _, err := newTarget(p.opts, o)
		if err == nil {
			p.noteEngine(t)
		}
		return t, err
	})
	if err != nil {
		return inputErrorf("--endpoints: %v", err)
	}
	p.balanced = bal
	p.target, p.closer = bal, bal.Close
	return nil
}
