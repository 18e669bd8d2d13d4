package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"tailgate/generator"
	"tailgate/profiles/session"
	"tailgate/targets"
	"tailgate/targets/balance"
)

// The flag groups every command that loads a target shares, so that a
// flag means the same everywhere (docs/cli.md has the table): what load
// (run, ab), the request and its target, the send loop, the outputs.

// RunOptions are the flags of the commands that load a target, turned
// into session.Options, with what only the command line has: the format
// on stdout, quiet, and the verdict flags as given.
type RunOptions struct {
	session.Options
	Format  string // stdout: table or json
	Quiet   bool
	Verdict verdictOptions
	Redact  []string // --redact patterns

	raw rawFlags
}

// rawFlags hold flag values parsed in finish.
type rawFlags struct {
	rate, policy string
	headers      []string
	data         string
}

// planned, when set (by tests), receives a command's parsed options
// instead of the command running: the seam the flag-walk test uses to see
// what each flag changes.
var planned func(command string, opts any) error

// newRunOptions are the options with every default.
func newRunOptions() *RunOptions {
	return &RunOptions{Options: session.Defaults(), Format: "table"}
}

// addLoadFlags registers the flags that say what load to send: a rate
// and duration, or a profile; segments and a start time.
func (opts *RunOptions) addLoadFlags(f *pflag.FlagSet) {
	raw := &opts.raw
	f.StringVarP(&raw.rate, "rate", "r", "", "offered load in requests per second (e.g. 2000, 2000/s, 600/m); max: closed loop, each of --connections (10) sending when its last answer came")
	f.IntVar(&opts.ClosedLoop, "concurrency", 0, "closed loop instead of a rate: N connections, each sending when its last answer came (the same as --rate max -c N)")
	f.DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "how long to send")
	f.StringVar(&opts.Arrivals, "arrivals", "constant", "arrival process: constant (evenly spaced) or poisson")
	f.StringVarP(&opts.Profile, "profile", "p", "", "a built-in profile name or a profile YAML file (see 'tailgate profiles list')")
	f.StringVar(&opts.Segment, "segment", "", "fire only stripe i of n of the schedule (i/n, 1-based); merge the results with 'tailgate merge'")
	f.Func("start-at", "start at this absolute time (RFC 3339, e.g. 2026-12-01T02:00:00Z), for segments on several machines", func(v string) error {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("want RFC 3339, e.g. 2026-12-01T02:00:00Z")
		}
		opts.StartAt = t
		return nil
	})
}

// addRequestFlags registers the flags of the request and its target.
func (opts *RunOptions) addRequestFlags(f *pflag.FlagSet) {
	raw := &opts.raw
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for random arrivals and keys (same seed, same schedule)")
	f.DurationVar(&opts.Timeout, "timeout", targets.DefaultTimeout, "per-request timeout (a timeout is an error result)")
	f.StringVarP(&opts.Method, "method", "X", "GET", "HTTP method")
	f.StringArrayVarP(&raw.headers, "header", "H", nil, "request header 'Name: value' (repeatable); gRPC metadata for grpc:// URLs")
	f.StringVar(&raw.data, "data", "", "request body, inline or @file; the JSON request for grpc:// URLs")
	f.StringVar(&opts.Keys, "keys", "", "{{key}} distribution: uniform:N, zipf:S:N or sequential:N")
	f.StringVar(&opts.DataFile, "data-file", "", "CSV (with header) or JSONL rows for {{data.COLUMN}}")
	f.BoolVar(&opts.HTTP2, "http2", false, "negotiate HTTP/2 over TLS")
	f.StringVar(&opts.Engine, "engine", "auto", "client: auto (HTTP: the fast HTTP/1.1 client where it applies, else net/http; gRPC: grpc-fast for unary methods, else grpc-go), fast-h1, net/http, grpc-fast or grpc")
	f.StringVar(&opts.Reads, "reads", "auto", "how fast-h1 reads responses: auto (eager, for now), lazy (open loop over plain http on Linux: when the generator wakes to send, each timed by the kernel's receive timestamp, so a response wakes nobody; cheaper against slow targets) or eager (as each arrives)")
	f.StringVar(&opts.Protoset, "protoset", "", "gRPC: method descriptors from a protoset file (default: server reflection)")
	f.StringArrayVar(&opts.ProtoFiles, "proto", nil, "gRPC: method descriptors from a .proto file (repeatable)")
	f.StringArrayVar(&opts.ImportPaths, "import-path", nil, "gRPC: import path for --proto (repeatable)")
	f.IntVar(&opts.Streams, "streams-per-connection", 0, "gRPC: cap on concurrent streams per connection (0 = unlimited)")
	f.IntVar(&opts.FanOut, "fanout", 1, "turn each request into N parallel sub-requests (over --endpoints when given) and time it as the slowest")
	f.StringVar(&opts.HedgeAfter, "hedge-after", "", "send a duplicate when a request has not answered after this long (50ms) or this percentile of recent ones (p95, or p95,20ms with a fallback); the loser is cancelled")
	f.StringVar(&opts.Endpoints, "endpoints", "", "balance over these host:port[=weight] endpoints (comma-separated); the URL's host is replaced")
	f.StringVar(&opts.Balance, "balance", "round-robin", "balancing strategy with --endpoints: "+strings.Join(balance.Strategies(), ", "))
	f.BoolVar(&opts.TLS.Insecure, "insecure", false, "skip TLS certificate verification (test targets only)")
	f.StringVar(&opts.TLS.CAFile, "cacert", "", "trust the CAs in this PEM file instead of the system roots (https://, grpcs://)")
	f.StringVar(&opts.TLS.CertFile, "cert", "", "present this PEM client certificate (mutual TLS; needs --key)")
	f.StringVar(&opts.TLS.KeyFile, "key", "", "the PEM private key of --cert")
	f.StringVar(&opts.TLS.ServerName, "server-name", "", "TLS server name to send (SNI) and verify the certificate against (default: the URL's host)")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "treat this header's value as a secret: never written or printed (names with auth, token, secret, password, cookie, session, api-key, private… always are)")
	f.Var(redactFlag{&opts.Redact}, "redact", "hide whatever matches this regular expression in every output and error message (repeatable; URL query values, secret headers and body fields always are)")
	f.StringVar(&opts.CacheHeader, "cache-header", "X-Cache=HIT", "count responses with this header value as cache hits (Name=value; empty to disable); gRPC: a response header or trailer, only when given")
	f.StringVar(&opts.CacheField, "cache-field", "", "gRPC: count responses whose top-level field NAME equals VALUE (NAME[=VALUE], default value HIT; a bool field counts when true) as cache hits")
}

// addLoopFlags registers the flags of the send loop.
func (opts *RunOptions) addLoopFlags(f *pflag.FlagSet) {
	raw := &opts.raw
	f.IntVar(&opts.MaxInFlight, "max-in-flight", generator.DefaultMaxInFlight, "cap on concurrent requests (default: 2 s of the peak rate, at least 1024, within the open-file limit and the local port range)")
	f.StringVar(&raw.policy, "on-saturation", "wait", "when the in-flight cap is full: wait (timed from the intended time) or drop (counted)")
	f.DurationVar(&opts.Drain, "drain", generator.DefaultDrain, "how long to wait for requests in flight after the schedule ends (or an interrupt); then they are cut off and counted as censored, timed at their lower bound")
	f.IntVarP(&opts.Connections, "connections", "c", 0, "cap on open connections (0 = as many as requests in flight)")
	f.BoolVar(&opts.CoarseTimers, "coarse-timers", false, "wake the scheduler with Go timers only: less CPU per request at low rates, but sends up to ~1 ms late, whatever the target's latency (default: a precise timer for the last 2 ms, on the adaptive grid of --timer-slack)")
	f.IntVar(&opts.Preconnect, "preconnect", -1, "HTTP/1.1: connections to open before the first request, as wrk2 does (default: --connections if set, else the peak rate × 5 ms, 1 to 64; 0: none)")
	f.DurationVar(&opts.TimerSlack, "timer-slack", 0, "coalesce the scheduler's wake-ups onto a fixed grid of this step (e.g. 1ms, as wrk2's event loop): less CPU per request, sends up to this late, timed from their intended times and shown as send lag; 0: a wake per request (default: a grid of 5% of the target's service-time median, at most 1ms, none when it answers in under 1ms)")
	f.BoolVar(&opts.PreciseTimers, "precise-timers", false, "wake the scheduler for each request, whatever the target's latency (as --timer-slack 0; default: an adaptive grid, see --timer-slack)")
}

// addOutputFlags registers the outputs: the result file (unless noOut),
// the reports, stdout's format, progress, and the metrics served and
// scraped during the run; and the verdict's flags.
func (opts *RunOptions) addOutputFlags(f *pflag.FlagSet, noOut bool) {
	if !noOut {
		f.StringVarP(&opts.Outputs.Out, "out", "o", "", "write the result file (JSON) here")
	}
	f.StringVar(&opts.Format, "format", "table", "output on stdout: table or json")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	f.StringVar(&opts.Outputs.HdrLog, "hdr-log", "", "write an HdrHistogram interval log (ns, one line per second per phase) here")
	f.StringVar(&opts.Outputs.CSV, "csv", "", "write per-second summaries as CSV here")
	f.StringVar(&opts.Outputs.HTML, "html", "", "write a self-contained HTML report here")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics of the running test at http://ADDR/metrics")
	f.StringVar(&opts.TargetMetrics, "target-metrics", "", "scrape the target's Prometheus endpoint (URL) each second: CPU, memory, GC pauses per phase")
	f.StringVar(&opts.Build, "build", "", "record the build of the system under test (e.g. a commit) in the result file: 'tailgate history' labels runs with it")
	opts.Verdict.addFlags(f)
}

// addFlags registers the flags of the request, the send loop and the
// outputs: all but the load's.
func (opts *RunOptions) addFlags(f *pflag.FlagSet) {
	opts.addRequestFlags(f)
	opts.addLoopFlags(f)
	opts.addOutputFlags(f, false)
}

// alias registers old as a hidden spelling of the flag name, kept for one
// release: using it works and warns.
func alias(f *pflag.FlagSet, old, name string) {
	fl := f.Lookup(name)
	f.Var(fl.Value, old, fl.Usage)
	if fl.Shorthand == "" {
		f.Lookup(old).NoOptDefVal = fl.NoOptDefVal
	}
	_ = f.MarkDeprecated(old, fmt.Sprintf("use --%s (the old name goes in the next release)", name))
}
