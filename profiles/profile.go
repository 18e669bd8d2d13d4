package profiles

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"tailgate/generator"
)

// Fault target kinds (FaultTarget.Kind).
const (
	// KindDemo is the demo target's own per-request fault API (POST /faults,
	// DELETE /faults/{name}, POST /cache/flush). Its API defaults to the
	// scheme://host of the profile's target URL.
	KindDemo = "demo"
	// KindToxiproxy is a toxiproxy-compatible API (a real toxiproxy, or
	// tailgate's own proxy) and one of its proxies.
	KindToxiproxy = "toxiproxy"
)

// Fault types (Fault.Type). Which kind supports which type, and with
// which attributes, is listed in the package documentation.
const (
	FaultLatency   = "latency"    // added latency: latency, jitter (ms)
	FaultError     = "error"      // demo only: failing dependency calls: status
	FaultTimeout   = "timeout"    // hang / black hole: timeout (ms, 0 = forever)
	FaultBandwidth = "bandwidth"  // toxiproxy only: rate (KB/s)
	FaultResetPeer = "reset_peer" // toxiproxy only: TCP RST after timeout (ms)
	FaultDisable   = "disable"    // toxiproxy only: the proxy is disabled; no attributes
)

// ActionFlushCache empties the demo target's cache (POST /cache/flush).
const ActionFlushCache = "flush_cache"

// ActionRemoveEndpoint takes balanced endpoint Action.Endpoint (1-based,
// in the order of --endpoints) out of the balancer, as when a node is
// lost; ActionRestoreEndpoint puts it back. They need no target.
const (
	ActionRemoveEndpoint  = "remove_endpoint"
	ActionRestoreEndpoint = "restore_endpoint"
)

// ActionSetHedge switches hedging for the rest of the run: Action.Value
// is "off", a delay ("10ms"), a percentile of recent latencies ("p95") or
// both ("p95,20ms"). It needs no target.
const ActionSetHedge = "set_hedge"

// Streams (Fault.Stream): the direction of a proxied connection a
// toxiproxy fault acts on. Demo targets ignore it.
const (
	StreamUpstream   = "upstream"
	StreamDownstream = "downstream"
)

// Key distributions (Keys.Dist).
const (
	DistUniform    = "uniform"    // every key in [0, N) equally likely
	DistZipf       = "zipf"       // key k with probability ∝ 1/(k+1)^S
	DistSequential = "sequential" // 0, 1, …, N−1, 0, 1, …
)

// Profile is a load scenario: where to send (Target, Keys, Data), what
// counts as a cache hit, and a sequence of phases, each with its own
// offered-rate shape and the faults active during it. Parse and Load
// return validated profiles with every default filled in.
type Profile struct {
	// Name identifies the profile. Default: the file's base name without
	// its extension.
	Name string `yaml:"name"`
	// Description is one line for listings.
	Description string `yaml:"description,omitempty"`
	// Target holds request defaults; the CLI's URL argument overrides URL.
	Target TargetDefaults `yaml:"target,omitempty"`
	// Keys is the distribution {{key}} is drawn from; nil: none given.
	Keys *Keys `yaml:"keys,omitempty"`
	// Data is a file of rows for {{data.NAME}} templates; nil: none.
	Data *Data `yaml:"data,omitempty"`
	// Cache says how to tell a cache hit from a response; nil: don't count.
	Cache *Cache `yaml:"cache,omitempty"`
	// Seed is the default seed for Poisson arrivals and key draws.
	Seed uint64 `yaml:"seed,omitempty"`
	// FaultTargets are the named places faults can be applied, by name.
	FaultTargets map[string]FaultTarget `yaml:"fault_targets,omitempty"`
	// Phases run one after another; at least one.
	Phases []Phase `yaml:"phases"`
	// Source is where the profile came from: the file name as given, or
	// "builtin:NAME". It is the file name in problems.
	Source string `yaml:"-"`
}

// TargetDefaults are the request settings of a profile. Strings may hold
// the templates {{seq}} (the request's sequence number), {{key}} (a key
// drawn from Keys) and {{data.NAME}} (column NAME of a Data row).
type TargetDefaults struct {
	// URL is the request URL: http, https or grpc. Empty: the CLI must
	// supply one.
	URL string `yaml:"url,omitempty"`
	// Method is the HTTP method. Default: GET.
	Method string `yaml:"method,omitempty"`
	// Headers are extra request headers.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Body is the request body.
	Body string `yaml:"body,omitempty"`
}

// Keys is the distribution of {{key}} values: integers in [0, N).
type Keys struct {
	// Dist is DistUniform, DistZipf or DistSequential.
	Dist string `yaml:"dist"`
	// S is the Zipf exponent, > 1; zipf only.
	S float64 `yaml:"s,omitempty"`
	// N is the number of distinct keys, ≥ 1.
	N int `yaml:"n"`
}

// Data names a file of rows for {{data.NAME}} templates: CSV with a
// header line, or JSON Lines (.jsonl, .ndjson) of flat objects. A relative
// path is relative to the profile file's directory.
type Data struct {
	File string `yaml:"file"`
}

// Cache says which responses count as cache hits: those whose Header has
// the value Hit.
type Cache struct {
	Header string `yaml:"header"`
	Hit    string `yaml:"hit"`
}

// FaultTarget is a named place faults can be applied.
type FaultTarget struct {
	// Name is the key of the target in Profile.FaultTargets.
	Name string `yaml:"-"`
	// Kind is KindDemo or KindToxiproxy.
	Kind string `yaml:"kind"`
	// API is the base URL of the fault API. Required for toxiproxy; for a
	// demo target the default is the scheme://host of the target URL (it
	// is filled in by FaultEvents, so that WithURL moves it too).
	API string `yaml:"api,omitempty"`
	// Proxy is the toxiproxy proxy name; toxiproxy only, required.
	Proxy string `yaml:"proxy,omitempty"`
}

// Phase is one part of a profile.
type Phase struct {
	// Name labels the phase in results; unique. Default: "phase-N" (1-based).
	Name string `yaml:"name"`
	// Duration is the phase's length, > 0.
	Duration time.Duration `yaml:"duration"`
	// Rate is the offered rate over the phase, from the phase's start.
	Rate RateShape `yaml:"rate"`
	// Arrivals is "constant" (the default, also "" and "uniform") or
	// "poisson"; see generator.ParseArrivals.
	Arrivals string `yaml:"arrivals,omitempty"`
	// Warmup phases are run but left out of the totals.
	Warmup bool `yaml:"warmup,omitempty"`
	// Faults are applied at the phase's start and removed at its end.
	Faults []Fault `yaml:"faults,omitempty"`
	// Actions are one-off operations during the phase.
	Actions []Action `yaml:"actions,omitempty"`
}

// Fault is a fault applied to a fault target for the length of a phase.
// Its shape is the one of a toxiproxy toxic.
type Fault struct {
	// Name identifies the fault; unique within its phase. Default:
	// "<phase>-<target>-<type>".
	Name string `yaml:"name"`
	// Target names one of Profile.FaultTargets.
	Target string `yaml:"target"`
	// Type is one of the Fault* constants supported by the target's kind.
	Type string `yaml:"type"`
	// Toxicity is the probability, in [0, 1], that the fault applies to a
	// request (demo) or connection (toxiproxy). Default 1.
	Toxicity float64 `yaml:"toxicity"`
	// Stream is StreamDownstream (the default) or StreamUpstream.
	Stream string `yaml:"stream,omitempty"`
	// Attributes are the type's parameters: milliseconds, KB/s or an
	// HTTP status, never negative.
	Attributes map[string]float64 `yaml:"attributes,omitempty"`
}

// Action is a one-off operation At an offset from its phase's start.
type Action struct {
	// At is the offset from the phase's start, in [0, phase duration).
	At time.Duration `yaml:"at"`
	// Do is the operation: ActionFlushCache.
	Do string `yaml:"do"`
	// Target names one of Profile.FaultTargets (flush_cache only).
	Target string `yaml:"target,omitempty"`
	// Endpoint is the balanced endpoint (1-based) of remove_endpoint and
	// restore_endpoint.
	Endpoint int `yaml:"endpoint,omitempty"`
	// Value is set_hedge's setting.
	Value string `yaml:"value,omitempty"`
}

// Duration is the total length of the phases.
func (p *Profile) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	return d
}

// PhaseStarts returns each phase's start as an offset from the run's
// start.
func (p *Profile) PhaseStarts() []time.Duration {
	starts := make([]time.Duration, len(p.Phases))
	var at time.Duration
	for i, ph := range p.Phases {
		starts[i] = at
		at += ph.Duration
	}
	return starts
}

// Curve returns the offered-rate curve of phase i, t measured from the
// phase's start.
func (p *Profile) Curve(i int) generator.Curve {
	return p.Phases[i].Rate.Curve(p.Phases[i].Duration)
}

// MeanRate is the expected number of requests of the whole profile
// divided by its duration, in req/s; 0 for an empty profile.
func (p *Profile) MeanRate() float64 {
	d := p.Duration()
	if d <= 0 {
		return 0
	}
	var n float64
	for i, ph := range p.Phases {
		n += p.Curve(i).Integral(ph.Duration)
	}
	return n / d.Seconds()
}

// Schedule returns the profile's arrival schedule: a *generator.Sequence
// with one generator.CurveSchedule per phase. Phase i draws its Poisson
// arrivals from a seed derived from seed and i, so phases are independent
// of each other and the same seed gives the same schedule. Callers pass
// p.Seed unless the user chose another seed. Each call returns a fresh
// schedule.
func (p *Profile) Schedule(seed uint64) generator.Schedule {
	q := &generator.Sequence{Phases: make([]generator.PhaseSchedule, len(p.Phases))}
	// Evenly spaced arrivals continue across phases: arrival k falls where
	// the rate's integral over the whole profile reaches k, so a phase
	// shorter than its requests' spacing sends none rather than one at
	// its start.
	var sum float64
	for i, ph := range p.Phases {
		a, err := generator.ParseArrivals(ph.Arrivals)
		if ph.Arrivals == "" || err != nil {
			a = generator.Uniform
		}
		cs := generator.NewCurveSchedule(p.Curve(i), ph.Duration, a, PhaseSeed(seed, i))
		if next := math.Ceil(sum - 1e-9); next > sum {
			cs.Phase = next - sum
		}
		sum += cs.Total()
		q.Phases[i] = generator.PhaseSchedule{Schedule: cs, Duration: ph.Duration}
	}
	return q
}

// PhaseSeed derives phase i's seed from a profile seed (SplitMix64 of the
// two), as Schedule does.
func PhaseSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Scale returns a copy of p with every rate multiplied by factor (≥ 0),
// for sweeps. Durations, faults and the shape of each curve are kept.
func (p *Profile) Scale(factor float64) *Profile {
	q := p.clone()
	for i := range q.Phases {
		q.Phases[i].Rate = q.Phases[i].Rate.Scale(factor)
	}
	return q
}

// WithURL returns a copy of p whose target URL is u. Demo fault targets
// without an explicit API follow it. Call Validate to check u.
func (p *Profile) WithURL(u string) *Profile {
	q := p.clone()
	q.Target.URL = u
	return q
}

// clone returns a deep copy of p.
func (p *Profile) clone() *Profile {
	q := *p
	q.Target.Headers = maps.Clone(p.Target.Headers)
	if p.Keys != nil {
		k := *p.Keys
		q.Keys = &k
	}
	if p.Data != nil {
		d := *p.Data
		q.Data = &d
	}
	if p.Cache != nil {
		c := *p.Cache
		q.Cache = &c
	}
	q.FaultTargets = maps.Clone(p.FaultTargets)
	q.Phases = slices.Clone(p.Phases)
	for i := range q.Phases {
		ph := &q.Phases[i]
		ph.Rate = ph.Rate.clone()
		ph.Faults = slices.Clone(ph.Faults)
		for j := range ph.Faults {
			ph.Faults[j].Attributes = maps.Clone(ph.Faults[j].Attributes)
		}
		ph.Actions = slices.Clone(ph.Actions)
	}
	return &q
}

// FaultEvent is one step of a profile's fault plan.
type FaultEvent struct {
	// At is the offset from the run's start.
	At time.Duration
	// Phase is the name of the phase the event belongs to.
	Phase string
	// Apply is true to add Fault (for FaultDisable: disable the proxy) and
	// false to remove it (re-enable the proxy). It is true for actions.
	Apply bool
	// Fault is the fault to add or remove; zero for an action.
	Fault Fault
	// Target is where the fault or action goes, with Name set and, for a
	// demo target without an explicit API, the API derived from the
	// target URL (empty if the profile has no URL).
	Target FaultTarget
	// Action is the one-off operation (ActionFlushCache, …); "" for faults.
	Action string
	// Endpoint is the 1-based balanced endpoint of an endpoint action.
	Endpoint int
	// Value is an action's setting (set_hedge).
	Value string
}

func (e FaultEvent) String() string {
	switch {
	case e.Endpoint > 0:
		return fmt.Sprintf("%v %s: %s %d", e.At, e.Phase, e.Action, e.Endpoint)
	case e.Action != "":
		return fmt.Sprintf("%v %s: %s on %s", e.At, e.Phase, e.Action, e.Target.Name)
	case e.Apply:
		return fmt.Sprintf("%v %s: apply %s (%s on %s)", e.At, e.Phase, e.Fault.Name, e.Fault.Type, e.Target.Name)
	default:
		return fmt.Sprintf("%v %s: remove %s (%s on %s)", e.At, e.Phase, e.Fault.Name, e.Fault.Type, e.Target.Name)
	}
}

// FaultEvents returns the fault plan, sorted by time: each phase's faults
// are applied at its start and removed at its end; actions come at their
// phase's start + At. At the same instant removals come first, then
// applications, then actions, each in profile order.
func (p *Profile) FaultEvents() []FaultEvent {
	type ev struct {
		FaultEvent
		order int
	}
	var evs []ev
	starts := p.PhaseStarts()
	for i, ph := range p.Phases {
		start, end := starts[i], starts[i]+ph.Duration
		for _, f := range ph.Faults {
			t := p.faultTarget(f.Target)
			evs = append(evs,
				ev{FaultEvent{At: start, Phase: ph.Name, Apply: true, Fault: f, Target: t}, 1},
				ev{FaultEvent{At: end, Phase: ph.Name, Apply: false, Fault: f, Target: t}, 0})
		}
		for _, a := range ph.Actions {
			e := FaultEvent{At: start + a.At, Phase: ph.Name, Apply: true, Action: a.Do, Endpoint: a.Endpoint, Value: a.Value}
			if a.Target != "" {
				e.Target = p.faultTarget(a.Target)
			}
			evs = append(evs, ev{e, 2})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].At != evs[j].At {
			return evs[i].At < evs[j].At
		}
		return evs[i].order < evs[j].order
	})
	out := make([]FaultEvent, len(evs))
	for i, e := range evs {
		out[i] = e.FaultEvent
	}
	return out
}

// faultTarget returns the named fault target with its name and, for a
// demo target, its default API filled in.
func (p *Profile) faultTarget(name string) FaultTarget {
	t := p.FaultTargets[name]
	t.Name = name
	if t.Kind == KindDemo && t.API == "" {
		t.API = demoAPI(p.Target.URL)
	}
	return t
}

// demoAPI is the scheme://host of a target URL, templates aside; grpc
// becomes http. "" if the URL has no host.
func demoAPI(target string) string {
	u, err := url.Parse(stripTemplates(target))
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" {
		scheme = "http"
	}
	return scheme + "://" + u.Host
}
