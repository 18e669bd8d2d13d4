// Package session owns a load test's three stages, for every command that
// loads a target (run, sweep and its search, batch, ab, demo) and for Go
// programs that want a result without the command line:
//
//   - plan: typed Options, checked once (Options.Check), become a Plan: the
//     target chain (client, endpoints, hedging, fan-out), the schedule and
//     its phases, the fault plan and the in-flight cap (NewPlan);
//   - measure: Plan.Measure runs the schedule into collectors, with the
//     faults, telemetry, the A/B split and the generator's CPU and GC
//     figures, and returns a result file, not yet judged;
//   - outputs: Judge applies the objectives and self-checks, and
//     WriteOutputs writes --out, --html, --csv, --junit and --markdown
//     (the HDR interval log is streamed by Measure), each labelled by step
//     or side when a command measures several.
//
// Run does all three for one run. The command line (cmd/cli) only turns
// flags into Options, prints, and maps errors (Error) to exit codes.
//
// Errors that name an option use its flag's spelling (--max-in-flight),
// which is what users of the command line see; the field is the flag's
// name in Go case.
package session

import (
	"io"
	"net/http"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/targets"
)

// Options say what load to send, to what, how to judge it and where to
// write it. The zero value is not usable: set URL (or Profile) and Rate
// (or ClosedLoop, or Profile), and take the defaults with Defaults.
type Options struct {
	// What load.
	URL        string        // target URL (template); overrides a profile's
	Profile    string        // built-in profile name or YAML file; empty: one phase from Rate
	Rate       float64       // offered rate, requests/s (one phase, open loop)
	ClosedLoop int           // > 0: closed loop at this concurrency instead of Rate
	Duration   time.Duration // the one phase's length
	Arrivals   string        // constant or poisson
	Seed       uint64        // arrivals, keys and balancing; a profile's seed unless Explicit.Seed
	Segment    string        // "i/n": fire stripe i of n of the schedule
	StartAt    time.Time     // absolute start shared by segments; zero: now

	// The send loop.
	MaxInFlight  int // cap on requests in flight; sized from the peak rate unless Explicit.MaxInFlight
	OnSaturation generator.SaturationPolicy
	Drain        time.Duration // wait for requests in flight after the schedule
	Connections  int           // cap on open connections (0: as many as requests in flight)
	Preconnect   int           // connections opened before the first request; -1: automatic
	Engine       string        // client: auto, fast-h1 or net/http; for gRPC grpc-fast or grpc
	// Reads is how fast-h1 reads responses: auto (eagerly, for now), lazy
	// (an open-loop run over plain http on Linux only) or eager; see
	// h1.Target.LazyReads.
	Reads string
	// closedSteps: the plan is for closed-loop steps (a closed sweep),
	// whatever ClosedLoop says.
	closedSteps bool
	// The scheduler's wake-ups: by default on a grid sized from the
	// target's latency (generator.AdaptiveGrid); CoarseTimers, a fixed
	// TimerSlack grid, or PreciseTimers (a wake per request) instead.
	CoarseTimers  bool
	TimerSlack    time.Duration
	PreciseTimers bool

	// The request.
	Timeout       time.Duration
	Method        string
	Header        http.Header
	Body          []byte
	Keys          string // {{key}} distribution: uniform:N, zipf:S:N, sequential:N
	DataFile      string // rows for {{data.COLUMN}}
	HTTP2         bool
	TLS           targets.TLSOptions // --cacert, --cert, --key, --server-name, --insecure
	Protoset      string             // gRPC descriptors from a protoset file
	ProtoFiles    []string           // gRPC descriptors from .proto files
	ImportPaths   []string
	Streams       int    // gRPC streams per connection (0: unlimited)
	Endpoints     string // host:port[=weight],… to balance over
	Balance       string // balancing strategy
	CacheHeader   string // "Name=value" ("" with Explicit.CacheHeader: off)
	CacheField    string // gRPC: "field[=value]" of the response message
	FanOut        int    // sub-requests per logical request (1: off)
	HedgeAfter    string // hedge delay: 50ms, p95, p95,20ms
	BatchItem     string // batched requests: the template of one item (batch)
	SecretHeaders []string

	// The verdict.
	SLO        analysis.SLOSpec
	MaxSendLag time.Duration // self-check: send lag p99 limit per phase

	// Outputs, written by WriteOutputs (HdrLog by Measure, as it goes).
	Outputs Outputs
	// MetricsAddr serves Prometheus metrics of the running test at
	// http://MetricsAddr/metrics.
	MetricsAddr string
	// TargetMetrics is the target's Prometheus endpoint, scraped each
	// second.
	TargetMetrics string

	// Reporting as it runs.
	Log      io.Writer       // warnings and progress lines (nil: none)
	Progress bool            // a progress line on Log each second
	TTY      bool            // Log is a terminal: redraw the progress line
	Abort    <-chan struct{} // closed: cancel the requests in flight at once

	// Recorded in the result file.
	Command     []string
	ToolVersion string
	Build       string // the build of the system under test, e.g. a commit; history labels runs with it

	// Explicit says which options were given rather than defaulted, where
	// that matters: a given option wins over a profile's setting.
	Explicit Explicit
}

// Explicit marks options given by the user.
type Explicit struct {
	Seed, Method, Body, CacheHeader, MaxInFlight, Balance bool
}

// Outputs are the files a session writes; empty: not written.
type Outputs struct {
	Out      string // the result file (JSON)
	HTML     string // a self-contained HTML report
	CSV      string // per-second rows
	HdrLog   string // HdrHistogram interval log
	JUnit    string // the verdict as JUnit XML
	Markdown string // the verdict as Markdown
}

// Defaults returns Options with every default the command line has: 10 s
// at constant arrivals, seed 1, the default cap sizing, wait on
// saturation, GET with the default timeout, the X-Cache=HIT cache header.
func Defaults() Options {
	return Options{
		Duration: 10 * time.Second, Arrivals: "constant", Seed: 1,
		MaxInFlight: generator.DefaultMaxInFlight, OnSaturation: generator.Wait, Drain: generator.DefaultDrain,
		Preconnect: -1, Engine: "auto", Reads: "auto", Timeout: targets.DefaultTimeout, Method: "GET",
		Balance: "round-robin", CacheHeader: "X-Cache=HIT", FanOut: 1,
		MaxSendLag: analysis.DefaultMaxSendLagP99,
	}
}

// seed is Seed if given, else the profile's seed, else Seed.
func (o *Options) seed(profileSeed uint64) uint64 {
	if !o.Explicit.Seed && profileSeed != 0 {
		return profileSeed
	}
	return o.Seed
}

func (o *Options) log() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}
