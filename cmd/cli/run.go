package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/balance"
	grpct "tailgate/targets/grpc"
	"tailgate/targets/h1"
)

// RunOptions are the flags of `tailgate run`.
type RunOptions struct {
	URL           string
	Profile       string // built-in name or file; empty: a single phase from the flags
	Rate          float64
	Duration      time.Duration
	Arrivals      string
	Seed          uint64
	MaxInFlight   int
	OnSaturation  generator.SaturationPolicy
	Drain         time.Duration
	Connections   int
	Timeout       time.Duration
	Method        string
	Header        http.Header
	Body          []byte
	Keys          string // dist spec: uniform:N, zipf:S:N, sequential:N
	DataFile      string // rows for {{data.COLUMN}}
	HTTP2         bool
	Insecure      bool
	Protoset      string   // gRPC descriptors from a protoset file
	ProtoFiles    []string // gRPC descriptors from .proto files
	ImportPaths   []string
	Streams       int       // gRPC streams per connection (0 = unlimited)
	Segment       string    // i/n: fire stripe i of n of the schedule
	StartAt       time.Time // absolute start shared by segments
	Endpoints     string    // host:port[=weight],… to balance over
	Balance       string    // balancing strategy
	CacheHeader   string    // "Name=value"
	CacheField    string    // gRPC: "field[=value]" of the response message
	Out           string
	Format        string
	Quiet         bool
	Command       []string
	Verdict       verdictOptions
	SecretHeaders []string // header names whose values are secret
	Redact        []string // --redact patterns
	FanOut        int      // sub-requests per logical request (1 = off)
	ClosedLoop    int      // --rate max: closed loop at this concurrency (0 = open loop)
	Engine        string   // HTTP client: auto, fast-h1 or net/http
	CoarseTimers  bool     // Go timers only: less CPU, sends up to ~1 ms late
	TimerSlack    time.Duration
	Preconnect    int    // connections to open before the first request; -1: automatic
	HedgeAfter    string // hedge delay: 50ms, p95, p95,20ms
	HdrLog        string // HdrHistogram interval log file
	CSV           string // per-second CSV file
	HTML          string // HTML report file
	MetricsAddr   string // serve Prometheus metrics here during the run
	TargetMetrics string // scrape the target's Prometheus endpoint during the run

	// TLS holds --cacert, --cert, --key and --server-name (--insecure is
	// Insecure).
	TLS targets.TLSOptions

	changed func(flag string) bool // which flags the user set
}

// NewCmdRun builds `tailgate run`. runF, when set, receives the parsed
// options instead of running (for tests).
func NewCmdRun(io *IOStreams, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	raw := &rawFlags{}
	cmd := &cobra.Command{
		Use:   "run [URL] (--rate R [--duration D] | --profile NAME|FILE) [flags]",
		Short: "Send open-loop load at a target and report its latency",
		Long: `Send requests at URL on an open-loop schedule: each request is due at a fixed
time whatever happened to the previous ones. Response time counts from that
intended time; service time from when the request actually left.

With --profile, the load follows a profile's phases (rate shapes, arrivals,
faults applied to dependencies); see 'tailgate profiles list'. The URL argument
overrides the profile's target URL.

URL, header values and the body may hold templates: {{seq}} (the request's
sequence number), {{key}} (a key drawn per --keys) and {{data.COLUMN}} (a row of
--data-file, in turn).`,
		Example: `  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s
  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s --arrivals poisson --out run.json
  tailgate run 'http://127.0.0.1:8080/item?key={{key}}' --keys zipf:1.1:10000 --rate 500
  tailgate run --profile burst http://127.0.0.1:8080/
  tailgate run --profile ./checkout-peak.yaml --out peak.json
  tailgate run https://api.example.test/orders -X POST -H 'Content-Type: application/json' --data @order.json --rate 200`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.URL = args[0]
			}
			if err := opts.finishLoad(c, raw); err != nil {
				return err
			}
			if opts.URL == "" && opts.Profile == "" {
				return usageErrorf("a target URL is required (or a --profile that names one)")
			}
			if err := opts.finish(c, raw); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return doRun(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	opts.addLoadFlags(f, raw)
	opts.addFlags(f, raw)
	return cmd
}

// addLoadFlags registers the flags that say what load to send: a rate
// and duration, or a profile; segments and a start time.
func (opts *RunOptions) addLoadFlags(f *pflag.FlagSet, raw *rawFlags) {
	f.StringVarP(&raw.rate, "rate", "r", "", "offered load in requests per second (e.g. 2000, 2000/s, 600/m); max: closed loop, each of --connections (10) sending when its last answer came")
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

// finishLoad checks the load flags.
func (opts *RunOptions) finishLoad(c *cobra.Command, raw *rawFlags) error {
	if opts.Profile != "" {
		for _, fl := range []string{"rate", "duration", "arrivals"} {
			if c.Flags().Changed(fl) {
				return usageErrorf("--%s and --profile: the profile sets the load; choose one", fl)
			}
		}
	} else {
		if !c.Flags().Changed("rate") {
			return usageErrorf("--rate is required (or --profile)")
		}
		var err error
		if raw.rate == "max" {
			// Closed loop, for measuring the generator or the target's
			// capacity: each connection sends when its last answer came.
			opts.ClosedLoop = opts.Connections
			if opts.ClosedLoop == 0 {
				opts.ClosedLoop = 10
			}
			if opts.Segment != "" || !opts.StartAt.IsZero() {
				return usageErrorf("--rate max is closed loop: no schedule to split into segments")
			}
		} else if opts.Rate, err = ParseRate(raw.rate); err != nil {
			return usageErrorf("--rate %q: %v", raw.rate, err)
		}
	}
	if opts.Duration <= 0 {
		return usageErrorf("--duration %v: must be positive", opts.Duration)
	}
	if _, err := generator.ParseArrivals(opts.Arrivals); err != nil {
		return usageErrorf("--arrivals %q: want constant or poisson", opts.Arrivals)
	}
	if opts.Segment != "" {
		if _, _, err := results.ParseSegment(opts.Segment); err != nil {
			return usageErrorf("--segment: %v", err)
		}
	}
	if !opts.StartAt.IsZero() && time.Until(opts.StartAt) < -time.Second {
		return usageErrorf("--start-at %s is %v in the past", opts.StartAt.Format(time.RFC3339), -time.Until(opts.StartAt).Round(time.Second))
	}
	return nil
}

// rawFlags hold flag values that RunOptions keeps parsed.
type rawFlags struct {
	rate, policy string
	headers      []string
	data         string
}

// addFlags registers the flags shared by run, sweep and batch: the
// target, the request, the send loop, the output and the verdict.
func (opts *RunOptions) addFlags(f *pflag.FlagSet, raw *rawFlags) {
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for random arrivals and keys (same seed, same schedule)")
	f.IntVar(&opts.MaxInFlight, "max-in-flight", generator.DefaultMaxInFlight, "cap on concurrent requests (default: 2 s of the peak rate, at least 1024, within the open-file limit and the local port range)")
	f.StringVar(&raw.policy, "on-saturation", "wait", "when the in-flight cap is full: wait (timed from the intended time) or drop (counted)")
	f.DurationVar(&opts.Drain, "drain", generator.DefaultDrain, "how long to wait for requests in flight after the schedule ends (or an interrupt); then they are cut off and counted as censored, timed at their lower bound")
	f.IntVarP(&opts.Connections, "connections", "c", 0, "cap on open connections (0 = as many as requests in flight)")
	f.DurationVar(&opts.Timeout, "timeout", targets.DefaultTimeout, "per-request timeout (a timeout is an error result)")
	f.StringVarP(&opts.Method, "method", "X", "GET", "HTTP method")
	f.StringArrayVarP(&raw.headers, "header", "H", nil, "request header 'Name: value' (repeatable); gRPC metadata for grpc:// URLs")
	f.StringVar(&raw.data, "data", "", "request body, inline or @file; the JSON request for grpc:// URLs")
	f.StringVar(&opts.Keys, "keys", "", "{{key}} distribution: uniform:N, zipf:S:N or sequential:N")
	f.StringVar(&opts.DataFile, "data-file", "", "CSV (with header) or JSONL rows for {{data.COLUMN}}")
	f.BoolVar(&opts.HTTP2, "http2", false, "negotiate HTTP/2 over TLS")
	f.BoolVar(&opts.CoarseTimers, "coarse-timers", false, "wake the scheduler with Go timers only: less CPU per request at low rates, but sends up to ~1 ms late (default: a precise timer for the last 2 ms)")
	f.IntVar(&opts.Preconnect, "preconnect", -1, "HTTP/1.1: connections to open before the first request, as wrk2 does (default: --connections if set, else the peak rate × 5 ms, 1 to 64; 0: none)")
	f.DurationVar(&opts.TimerSlack, "timer-slack", 0, "coalesce the scheduler's wake-ups onto a grid of this step (e.g. 1ms, as wrk2's event loop): less CPU per request, sends up to this late, timed from their intended times and shown as send lag (0: wake for each request)")
	f.StringVar(&opts.Engine, "engine", "auto", "HTTP client: auto (the fast HTTP/1.1 client where it applies, else net/http), fast-h1 or net/http")
	f.StringVar(&opts.Protoset, "protoset", "", "gRPC: method descriptors from a protoset file (default: server reflection)")
	f.StringArrayVar(&opts.ProtoFiles, "proto", nil, "gRPC: method descriptors from a .proto file (repeatable)")
	f.StringArrayVar(&opts.ImportPaths, "import-path", nil, "gRPC: import path for --proto (repeatable)")
	f.IntVar(&opts.Streams, "streams-per-connection", 0, "gRPC: cap on concurrent streams per connection (0 = unlimited)")
	f.IntVar(&opts.FanOut, "fanout", 1, "turn each request into N parallel sub-requests (over --endpoints when given) and time it as the slowest")
	f.StringVar(&opts.HedgeAfter, "hedge-after", "", "send a duplicate when a request has not answered after this long (50ms) or this percentile of recent ones (p95, or p95,20ms with a fallback); the loser is cancelled")
	f.StringVar(&opts.Endpoints, "endpoints", "", "balance over these host:port[=weight] endpoints (comma-separated); the URL's host is replaced")
	f.StringVar(&opts.Balance, "balance", "round-robin", "balancing strategy with --endpoints: "+strings.Join(balance.Strategies(), ", "))
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification (test targets only)")
	f.StringVar(&opts.TLS.CAFile, "cacert", "", "trust the CAs in this PEM file instead of the system roots (https://, grpcs://)")
	f.StringVar(&opts.TLS.CertFile, "cert", "", "present this PEM client certificate (mutual TLS; needs --key)")
	f.StringVar(&opts.TLS.KeyFile, "key", "", "the PEM private key of --cert")
	f.StringVar(&opts.TLS.ServerName, "server-name", "", "TLS server name to send (SNI) and verify the certificate against (default: the URL's host)")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "treat this header's value as a secret: never written or printed (names with auth, token, secret, password, cookie, session, api-key, private… always are)")
	f.Var(redactFlag{&opts.Redact}, "redact", "hide whatever matches this regular expression in every output and error message (repeatable; URL query values, secret headers and body fields always are)")
	f.StringVar(&opts.CacheHeader, "cache-header", "X-Cache=HIT", "count responses with this header value as cache hits (Name=value; empty to disable); gRPC: a response header or trailer, only when given")
	f.StringVar(&opts.CacheField, "cache-field", "", "gRPC: count responses whose top-level field NAME equals VALUE (NAME[=VALUE], default value HIT; a bool field counts when true) as cache hits")
	f.StringVarP(&opts.Out, "out", "o", "", "write the result file (JSON) here")
	f.StringVar(&opts.Format, "format", "table", "output on stdout: table or json")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	f.StringVar(&opts.HdrLog, "hdr-log", "", "write an HdrHistogram interval log (ns, one line per second per phase) here")
	f.StringVar(&opts.CSV, "csv", "", "write per-second summaries as CSV here")
	f.StringVar(&opts.HTML, "html", "", "write a self-contained HTML report here")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics of the running test at http://ADDR/metrics")
	f.StringVar(&opts.TargetMetrics, "target-metrics", "", "scrape the target's Prometheus endpoint (URL) each second: CPU, memory, GC pauses per phase")
	opts.Verdict.addFlags(f)
}

// finish checks the shared flags and parses their values, before any
// load is sent.
func (opts *RunOptions) finish(c *cobra.Command, raw *rawFlags) error {
	opts.Command = append([]string{"tailgate"}, redactArgs(os.Args[1:])...)
	opts.changed = c.Flags().Changed
	var err error
	if opts.OnSaturation, err = generator.ParsePolicy(raw.policy); err != nil {
		return usageErrorf("--on-saturation: %v", err)
	}
	if opts.MaxInFlight <= 0 {
		return usageErrorf("--max-in-flight %d: must be positive", opts.MaxInFlight)
	}
	if opts.Drain < 0 {
		return usageErrorf("--drain %v: must not be negative", opts.Drain)
	}
	if opts.Preconnect < -1 {
		return usageErrorf("--preconnect %d: must not be negative", opts.Preconnect)
	}
	if opts.TimerSlack < 0 || opts.TimerSlack > time.Second {
		return usageErrorf("--timer-slack %v: want 0 to 1s", opts.TimerSlack)
	}
	if opts.CoarseTimers && opts.TimerSlack > 0 {
		return usageErrorf("--timer-slack and --coarse-timers: choose one (Go timers already wake up to ~1 ms late)")
	}
	if opts.Connections < 0 {
		return usageErrorf("--connections %d: must not be negative", opts.Connections)
	}
	if opts.Timeout <= 0 {
		return usageErrorf("--timeout %v: must be positive", opts.Timeout)
	}
	if opts.Header, err = ParseHeaders(raw.headers); err != nil {
		return usageErrorf("%v", err)
	}
	for k, vs := range opts.Header {
		if isSecretHeader(k, opts.SecretHeaders) {
			for _, v := range vs {
				addSecret(v)
			}
		}
	}
	if opts.Body, err = ReadData(raw.data); err != nil {
		return usageErrorf("--data: %v", err)
	}
	if opts.Keys != "" {
		if _, err := ParseKeys(opts.Keys, 0); err != nil {
			return usageErrorf("--keys %q: %v", opts.Keys, err)
		}
	}
	if opts.CacheHeader != "" && !strings.Contains(opts.CacheHeader, "=") {
		return usageErrorf("--cache-header %q: want Name=value, e.g. X-Cache=HIT", opts.CacheHeader)
	}
	if opts.Format != "table" && opts.Format != "json" {
		return usageErrorf("--format %q: want table or json", opts.Format)
	}
	if opts.URL != "" && !strings.Contains(opts.URL, "{{") {
		if isGRPC(opts.URL) {
			if _, err := grpct.ParseURL(opts.URL); err != nil {
				return usageErrorf("%v", err)
			}
		} else if _, err := targets.ParseURL(opts.URL); err != nil {
			return usageErrorf("%v", err)
		}
	}
	if opts.Endpoints != "" {
		if _, err := balance.ParseEndpoints(opts.Endpoints); err != nil {
			return usageErrorf("--endpoints: %v", err)
		}
		if !slices.Contains(balance.Strategies(), opts.Balance) {
			return usageErrorf("--balance %q: want one of %s", opts.Balance, strings.Join(balance.Strategies(), ", "))
		}
	} else if c.Flags().Changed("balance") {
		return usageErrorf("--balance needs --endpoints")
	}
	if opts.Streams < 0 {
		return usageErrorf("--streams-per-connection %d: must not be negative", opts.Streams)
	}
	if opts.Engine != "auto" && opts.Engine != "fast-h1" && opts.Engine != "net/http" {
		return usageErrorf("--engine %q: want auto, fast-h1 or net/http", opts.Engine)
	}
	if opts.FanOut < 1 || opts.FanOut > 1000 {
		return usageErrorf("--fanout %d: want 1 to 1000", opts.FanOut)
	}
	if opts.HedgeAfter != "" {
		if _, err := targets.ParseHedgeAfter(opts.HedgeAfter); err != nil {
			return usageErrorf("--hedge-after %q: %v", opts.HedgeAfter, err)
		}
	}
	for flag, path := range map[string]string{"--out": opts.Out, "--hdr-log": opts.HdrLog, "--csv": opts.CSV, "--html": opts.HTML} {
		if path != "" {
			if err := results.CheckWritable(path); err != nil {
				return usageErrorf("%s: %v", flag, err)
			}
		}
	}
	if err := opts.checkTLS(); err != nil {
		return err
	}
	if opts.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(opts.MetricsAddr); err != nil {
			return usageErrorf("--metrics-addr %q: want host:port", opts.MetricsAddr)
		}
	}
	return opts.Verdict.parse()
}

// tlsFlags maps targets.TLSFileError's fields to the flags that set them.
var tlsFlags = map[string]string{"CAFile": "--cacert", "CertFile": "--cert", "KeyFile": "--key"}

// checkTLS checks the TLS flags: --cert and --key come together, and
// every file exists and holds PEM that parses (a certificate that matches
// its key).
func (opts *RunOptions) checkTLS() error {
	o := opts.tlsOptions()
	switch {
	case o.CertFile != "" && o.KeyFile == "":
		return usageErrorf("--cert %s needs --key (the client certificate's private key)", o.CertFile)
	case o.KeyFile != "" && o.CertFile == "":
		return usageErrorf("--key %s needs --cert (the client certificate)", o.KeyFile)
	}
	if _, err := targets.TLSConfig(o); err != nil {
		var fe *targets.TLSFileError
		if errors.As(err, &fe) {
			return usageErrorf("%s %v", tlsFlags[fe.Field], err)
		}
		return usageErrorf("%v", err)
	}
	return nil
}

// tlsOptions are the TLS flags, --insecure included.
func (opts *RunOptions) tlsOptions() targets.TLSOptions {
	o := opts.TLS
	o.Insecure = opts.Insecure
	return o
}

// ParseKeys parses a key distribution: uniform:N, zipf:S:N, sequential:N.
func ParseKeys(spec string, seed uint64) (*targets.Keys, error) {
	parts := strings.Split(spec, ":")
	d, err := targets.ParseKeyDist(parts[0])
	if err != nil {
		return nil, err
	}
	want := 2
	if d == targets.KeyZipf {
		want = 3
	}
	if len(parts) != want {
		return nil, fmt.Errorf("want uniform:N, zipf:S:N or sequential:N")
	}
	n, err := strconv.ParseUint(parts[len(parts)-1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the key count %q is not a whole number", parts[len(parts)-1])
	}
	var sExp float64
	if d == targets.KeyZipf {
		if sExp, err = strconv.ParseFloat(parts[1], 64); err != nil {
			return nil, fmt.Errorf("the zipf exponent %q is not a number", parts[1])
		}
	}
	return targets.NewKeys(d, n, sExp, seed)
}

// ParseRate parses "2000", "2000/s", "600/m" or "10/ms" into requests per
// second.
func ParseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	per := time.Second
	if unit != "" {
		switch unit {
		case "s":
		case "m", "min":
			per = time.Minute
		case "ms":
			per = time.Millisecond
		case "h":
			per = time.Hour
		default:
			if d, err := time.ParseDuration(unit); err == nil && d > 0 {
				per = d
			} else {
				return 0, fmt.Errorf("unknown unit %q (want s, m, h or a duration)", unit)
			}
		}
	}
	r := v / per.Seconds()
	if err := (generator.Constant{Rate: r}).Validate(); err != nil {
		return 0, fmt.Errorf("must be a positive number of requests per second")
	}
	if r > generator.MaxRate {
		return 0, fmt.Errorf("%g req/s is above the %g req/s one tailgate process schedules: split the load over several generators (--segment 1/N … N/N)", r, generator.MaxRate)
	}
	return r, nil
}

// ParseHeaders parses 'Name: value' strings.
func ParseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		k, v, ok := strings.Cut(s, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			name := s
			if i := strings.IndexAny(s, " \t="); i >= 0 {
				name = s[:i] + " …" // never echo what may be a secret value
			}
			return nil, fmt.Errorf("--header %q: want 'Name: value'", name)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// ReadData returns an inline body, or a file's contents for "@path".
func ReadData(s string) ([]byte, error) {
	if path, ok := strings.CutPrefix(s, "@"); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := targets.CheckSize(path, f); err != nil {
			return nil, err
		}
		return stdio.ReadAll(f)
	}
	return []byte(s), nil
}

func doRun(ctx context.Context, io *IOStreams, opts *RunOptions) error {
	job, err := planRun(opts)
	if err != nil {
		return err
	}
	defer job.close()
	return job.run(ctx, io)
}

// planRun turns the options (and the profile, if any) into a load job,
// checking everything before any load is sent.
func planRun(opts *RunOptions) (*loadJob, error) { return planRunWith(opts, "") }

// planRunWith is planRun with a batch item template for batched requests.
func planRunWith(opts *RunOptions, batchItem string) (*loadJob, error) {
	var prof *profiles.Profile
	if opts.Profile != "" {
		p, err := profiles.Load(opts.Profile)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		if opts.URL != "" {
			p = p.WithURL(opts.URL)
		}
		if p.Target.URL == "" {
			return nil, usageErrorf("profile %s names no target URL: give one as an argument", p.Source)
		}
		prof = p
	}
	ho := targets.HTTPOptions{
		URL: opts.URL, Method: opts.Method, Header: opts.Header, Body: opts.Body,
		Timeout: opts.Timeout, Connections: opts.Connections, HTTP2: opts.HTTP2, Insecure: opts.Insecure,
		CAFile: opts.TLS.CAFile, CertFile: opts.TLS.CertFile, KeyFile: opts.TLS.KeyFile, ServerName: opts.TLS.ServerName,
	}
	ho.CacheHeader, ho.CacheHit, _ = strings.Cut(opts.CacheHeader, "=")
	vars := &targets.Vars{}
	var err error
	if prof != nil {
		ho.URL = prof.Target.URL
		if !opts.changed("method") && prof.Target.Method != "" {
			ho.Method = prof.Target.Method
		}
		if !opts.changed("data") && prof.Target.Body != "" {
			ho.Body = []byte(prof.Target.Body)
		}
		if len(prof.Target.Headers) > 0 {
			h := http.Header{}
			for k, v := range prof.Target.Headers {
				h.Set(k, v)
			}
			for k, v := range opts.Header { // flags win
				h[k] = v
			}
			ho.Header = h
		}
		if prof.Keys != nil && opts.Keys == "" {
			if vars.Keys, err = targets.NewKeys(mustKeyDist(prof.Keys.Dist), uint64(prof.Keys.N), prof.Keys.S, opts.seed(prof)); err != nil {
				return nil, usageErrorf("profile %s: keys: %v", prof.Source, err)
			}
		}
		if prof.Data != nil && opts.DataFile == "" {
			path := prof.Data.File
			if !filepath.IsAbs(path) && !strings.HasPrefix(prof.Source, "builtin:") {
				path = filepath.Join(filepath.Dir(prof.Source), path)
			}
			if vars.Data, err = targets.LoadData(path); err != nil {
				return nil, usageErrorf("profile %s: data: %v", prof.Source, err)
			}
		}
		if prof.Cache != nil && !opts.changed("cache-header") {
			ho.CacheHeader, ho.CacheHit = prof.Cache.Header, prof.Cache.Hit
		}
	}
	if opts.Keys != "" {
		if vars.Keys, err = ParseKeys(opts.Keys, opts.seed(prof)); err != nil {
			return nil, usageErrorf("--keys %q: %v", opts.Keys, err)
		}
	}
	if opts.DataFile != "" {
		if vars.Data, err = targets.LoadData(opts.DataFile); err != nil {
			return nil, usageErrorf("--data-file: %v", err)
		}
	}
	registerRequestSecrets(ho.Header, ho.Body)
	ho.Vars = vars
	ho.BatchItem = batchItem
	mk := func(ho targets.HTTPOptions) (generator.Target, func(), error) {
		if isGRPC(ho.URL) {
			g, err := newGRPCTarget(opts, ho)
			if err != nil {
				return nil, nil, err
			}
			return g, func() { g.Close() }, nil
		}
		if opts.Engine != "net/http" {
			if ok, why := h1.Supported(ho); ok {
				h, err := h1.New(ho)
				if err != nil {
					return nil, nil, usageErrorf("%v", err)
				}
				return h, h.Close, nil
			} else if opts.Engine == "fast-h1" {
				return nil, nil, usageErrorf("--engine fast-h1: %s", why)
			}
		}
		h, err := targets.NewHTTP(ho)
		if err != nil {
			return nil, nil, usageErrorf("%v", err)
		}
		return h, h.Close, nil
	}
	var tg generator.Target
	var closer func()
	var bal *targets.Balanced
	if opts.Endpoints != "" {
		eps, _ := balance.ParseEndpoints(opts.Endpoints)
		key := func(seq uint64) uint64 { return seq }
		if vars.Keys != nil {
			key = vars.Keys.Key
		}
		bal, err = targets.NewBalanced(opts.Balance, eps, balance.Options{Seed: opts.seed(prof)}, key, func(addr string) (generator.Target, error) {
			o := ho
			o.URL = withHost(ho.URL, addr)
			t, _, err := mk(o)
			return t, err
		})
		if err != nil {
			return nil, usageErrorf("--endpoints: %v", err)
		}
		tg, closer = bal, bal.Close
	} else if tg, closer, err = mk(ho); err != nil {
		return nil, err
	}
	var hedge *targets.Hedge
	var fan *targets.FanOut
	if opts.HedgeAfter != "" {
		after, _ := targets.ParseHedgeAfter(opts.HedgeAfter)
		if hedge, err = targets.NewHedge(tg, after); err != nil {
			closer()
			return nil, usageErrorf("--hedge-after: %v", err)
		}
		tg = hedge
	}
	if opts.FanOut > 1 {
		subs := []generator.Target{tg}
		if bal != nil {
			// Each sub-request to an endpoint of its own, as a scatter-gather
			// client does, instead of balancing each sub-request.
			subs = bal.Targets()
		}
		if fan, err = targets.NewFanOut(opts.FanOut, subs); err != nil {
			closer()
			return nil, usageErrorf("--fanout: %v", err)
		}
		tg = fan
	}
	settings := results.Settings{
		Engine: engineOf(opts, ho),
		Target: redactURL(ho.URL), Method: ho.Method, Seed: opts.seed(prof), MaxInFlight: opts.MaxInFlight,
		OnSaturation: opts.OnSaturation.String(), Connections: opts.Connections, Timeout: opts.Timeout, HTTP2: opts.HTTP2,
		TimerSlack: opts.TimerSlack, CoarseTimers: opts.CoarseTimers,
		TLS: tlsSettings(opts.tlsOptions()),
	}
	job := &loadJob{
		target: tg, closer: closer, settings: settings, verdict: &opts.Verdict, reports: opts,
		gen: generator.Options{MaxInFlight: opts.MaxInFlight, OnSaturation: opts.OnSaturation, Drain: opts.Drain, CoarseTimers: opts.CoarseTimers, TimerSlack: opts.TimerSlack},
		out: opts.Out, format: opts.Format, quiet: opts.Quiet, command: opts.Command,
	}
	job.keys = vars.Keys
	job.hedge, job.fan = hedge, fan
	if bal != nil {
		job.balanced = bal
		job.settings.Endpoints = opts.Endpoints
		job.settings.Balance = opts.Balance
	}
	if prof != nil {
		if err := job.useProfile(prof, opts.seed(prof)); err != nil {
			job.close()
			return nil, err
		}
	} else {
		job.plainSchedule(opts)
	}
	if opts.Segment != "" {
		i, n, _ := results.ParseSegment(opts.Segment)
		job.schedule = generator.Segment{Schedule: job.schedule, Index: i, Count: n}
		job.settings.Segment = results.SegmentString(i, n)
	}
	if !opts.StartAt.IsZero() {
		job.gen.Start = opts.StartAt
		job.settings.StartAt = opts.StartAt.UTC()
	}
	if err := job.sizeCap(opts, isGRPC(ho.URL) || opts.HTTP2); err != nil {
		job.close()
		return nil, err
	}
	job.warm = job.preconnect(opts)
	var names []string
	for _, ph := range job.phases {
		names = append(names, ph.Name)
	}
	if err := opts.Verdict.checkPhases(names); err != nil {
		job.close()
		return nil, err
	}
	return job, nil
}

// preconnect is how many connections to open before the first request:
// --preconnect; else --connections; else the closed-loop concurrency; else
// enough for 5 ms of the peak offered rate, between 1 and 64. Never more
// than may be in flight.
func (job *loadJob) preconnect(opts *RunOptions) int {
	n := opts.Preconnect
	switch {
	case n >= 0:
	case opts.Connections > 0:
		n = opts.Connections
	case job.closed > 0:
		n = job.closed
	default:
		n = min(max(int(math.Ceil(job.peakRate()*0.005)), 1), 64)
	}
	if job.closed == 0 {
		n = min(n, max(opts.MaxInFlight, 1))
	}
	return n
}

// peakRate is the highest offered rate of the plan, in requests/s.
func (job *loadJob) peakRate() float64 {
	peak := job.settings.Rate
	if job.rate != nil && job.total > 0 {
		for i := 0; i <= 200; i++ {
			peak = max(peak, job.rate(job.total*time.Duration(i)/200))
		}
	}
	return peak
}

// capSeconds is how many seconds of the peak rate the default in-flight
// cap holds: enough for a target to stall that long without the cap
// filling.
const capSeconds = 2

// sizeCap sets the in-flight cap: --max-in-flight when given, else
// capSeconds of the peak rate (at least generator.DefaultMaxInFlight),
// within what the process can open: every request in flight may hold a
// connection (a file descriptor and a local port) unless --connections
// caps them or the protocol multiplexes (gRPC, HTTP/2). An explicit cap
// or connection count the limits cannot hold is an error before any load.
func (job *loadJob) sizeCap(opts *RunOptions, multiplexed bool) error {
	explicit := opts.changed != nil && opts.changed("max-in-flight")
	limit, ports := fdBudget(), localPorts()
	room := limit
	if ports > 0 {
		room = min(room, ports)
	}
	capN := opts.MaxInFlight
	if !explicit && job.closed == 0 {
		capN = max(generator.DefaultMaxInFlight, int(math.Ceil(capSeconds*job.peakRate())))
		if opts.Connections == 0 && !multiplexed && room > 0 && capN > room {
			capN = room
			job.settings.MaxInFlightLimit = fmt.Sprintf("open-file limit %d (ulimit -n)", limit+fdReserve)
			if ports > 0 && ports < limit {
				job.settings.MaxInFlightLimit = fmt.Sprintf("local port range of %d ports", ports)
			}
		}
	}
	conns, what, flag := capN, fmt.Sprintf("--max-in-flight %d", capN), "--max-in-flight"
	switch {
	case opts.Connections > 0:
		conns, what, flag = opts.Connections, fmt.Sprintf("--connections %d", opts.Connections), "--connections"
	case job.closed > 0:
		conns, what, flag = job.closed, fmt.Sprintf("closed loop at %d connections", job.closed), "--connections"
	case multiplexed:
		conns = 0
	}
	if room > 0 && conns > room {
		why := fmt.Sprintf("this process may open %d files (ulimit -n; %d kept for itself): raise it, e.g. ulimit -n %d", limit+fdReserve, fdReserve, conns+fdReserve)
		if ports > 0 && ports < limit {
			why = fmt.Sprintf("the local port range has %d ports (net.ipv4.ip_local_port_range): widen it", ports)
		}
		return usageErrorf("%s needs up to %d connections, but %s, or lower %s", what, conns, why, flag)
	}
	job.gen.MaxInFlight = capN
	job.settings.MaxInFlight = capN
	return nil
}

// plainSchedule sets a one-phase schedule from --rate, --duration and
// --arrivals.
func (job *loadJob) plainSchedule(opts *RunOptions) {
	job.closed = opts.ClosedLoop
	job.settings.ClosedLoop = opts.ClosedLoop
	arr, _ := generator.ParseArrivals(opts.Arrivals)
	var sched generator.Schedule = generator.Constant{Rate: opts.Rate, Duration: opts.Duration}
	if arr == generator.PoissonArrivals {
		sched = generator.NewPoisson(opts.Rate, opts.Duration, opts.Seed)
	}
	job.schedule = sched
	job.total = opts.Duration
	job.phases = []analysis.PhaseWindow{{Name: "main", End: opts.Duration}}
	job.settings.Rate, job.settings.Duration, job.settings.Arrivals = opts.Rate, opts.Duration, opts.Arrivals
	job.settings.Phases = []results.PhasePlan{{Name: "main", Duration: opts.Duration, Rate: fmt.Sprintf("constant %g", opts.Rate), Arrivals: opts.Arrivals}}
}

func isGRPC(u string) bool {
	return strings.HasPrefix(u, "grpc://") || strings.HasPrefix(u, "grpcs://")
}

// newGRPCTarget builds a gRPC target from the HTTP-shaped options: the
// body is the JSON request template, headers are metadata.
func newGRPCTarget(opts *RunOptions, ho targets.HTTPOptions) (*grpct.Target, error) {
	o, err := grpct.ParseURL(ho.URL)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	o.Data = string(ho.Body)
	if o.Data == "" {
		o.Data = "{}"
	}
	o.Vars = ho.Vars
	o.Metadata = map[string]string{}
	for k, vs := range ho.Header {
		o.Metadata[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	o.Protoset, o.ProtoFiles, o.ImportPaths = opts.Protoset, opts.ProtoFiles, opts.ImportPaths
	if o.TLS {
		t := opts.tlsOptions()
		o.Insecure, o.CAFile, o.CertFile, o.KeyFile, o.ServerName = t.Insecure, t.CAFile, t.CertFile, t.KeyFile, t.ServerName
	}
	o.Timeout = opts.Timeout
	o.Connections = max(opts.Connections, 1)
	o.StreamsPerConnection = opts.Streams
	// Cache hits are counted only when asked: a field of the response
	// (--cache-field), or a header or trailer given explicitly with
	// --cache-header. The HTTP default header says nothing of gRPC.
	if opts.CacheField != "" {
		o.CacheField, o.CacheHit, _ = strings.Cut(opts.CacheField, "=")
	} else if opts.changed != nil && opts.changed("cache-header") && ho.CacheHeader != "" {
		o.CacheHeader, o.CacheHit = strings.ToLower(ho.CacheHeader), ho.CacheHit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := grpct.New(ctx, o)
	if errors.Is(err, grpct.ErrClientCertWanted) {
		return nil, usageErrorf("%v: give one with --cert and --key", err)
	}
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return t, nil
}

// tlsSettings records the TLS flags in the result file: file paths and
// names, never key material. Nil when none was given.
func tlsSettings(o targets.TLSOptions) *results.TLSSettings {
	if o.IsZero() {
		return nil
	}
	return &results.TLSSettings{CAFile: o.CAFile, ClientCert: o.CertFile, ServerName: o.ServerName, Insecure: o.Insecure}
}

// seed is --seed if given, else the profile's seed, else 1.
func (o *RunOptions) seed(p *profiles.Profile) uint64 {
	if (o.changed == nil || !o.changed("seed")) && p != nil && p.Seed != 0 {
		return p.Seed
	}
	return o.Seed
}

func mustKeyDist(s string) targets.KeyDist {
	d, _ := targets.ParseKeyDist(s) // profiles validated it
	return d
}

// withHost replaces the host:port of a URL (template) with addr.
func withHost(u, addr string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		j = len(rest)
	}
	return u[:i+3] + addr + rest[j:]
}

// useProfile sets the job's schedule, phases and fault plan from p.
func (j *loadJob) useProfile(p *profiles.Profile, seed uint64) error {
	j.schedule = p.Schedule(seed)
	j.total = p.Duration()
	starts := p.PhaseStarts()
	j.rate = func(t time.Duration) float64 {
		i := len(starts) - 1
		for i > 0 && t < starts[i] {
			i--
		}
		return p.Curve(i).Rate(t - starts[i])
	}
	j.phases = nil
	j.settings.Profile = p.Name
	j.settings.Duration = p.Duration()
	for i, ph := range p.Phases {
		j.phases = append(j.phases, analysis.PhaseWindow{Name: ph.Name, Start: starts[i], End: starts[i] + ph.Duration, Warmup: ph.Warmup})
		arr := ph.Arrivals
		if arr == "" {
			arr = "constant"
		}
		j.settings.Phases = append(j.settings.Phases, results.PhasePlan{
			Name: ph.Name, Duration: ph.Duration, Rate: ph.Rate.String(), Arrivals: arr, Warmup: ph.Warmup})
	}
	evs := p.FaultEvents()
	for _, e := range evs {
		if e.Endpoint == 0 {
			continue
		}
		if j.balanced == nil {
			return usageErrorf("profile %s: %s needs --endpoints to balance over", p.Source, e.Action)
		}
		if n := len(j.balanced.Endpoints()); e.Endpoint > n {
			return usageErrorf("profile %s: %s endpoint %d, but --endpoints has %d", p.Source, e.Action, e.Endpoint, n)
		}
	}
	var settings []string
	for _, e := range evs {
		if e.Action == profiles.ActionSetHedge && !slices.Contains(settings, e.Value) {
			settings = append(settings, e.Value)
		}
	}
	if len(settings) > 0 {
		if j.hedge != nil {
			return usageErrorf("profile %s sets hedging per phase (set_hedge): leave out --hedge-after", p.Source)
		}
		j.hedges = map[string]*targets.Hedge{}
		for _, v := range settings {
			if v == "off" {
				continue
			}
			after, _ := targets.ParseHedgeAfter(v) // profiles validated it
			h, err := targets.NewHedge(j.target, after)
			if err != nil {
				return usageErrorf("profile %s: set_hedge %q: %v", p.Source, v, err)
			}
			j.hedges[v] = h
		}
		j.hedgeBase = j.target
		j.hedgeSwitch = targets.NewSwitch(j.target)
		j.target = j.hedgeSwitch
	}
	if len(evs) > 0 {
		j.faults = newFaultRunner(evs)
		j.faults.balanced = j.balanced
		j.faults.job = j
	}
	return nil
}

// loadJob is one run from schedule to written results, shared by run and
// demo.
type loadJob struct {
	schedule generator.Schedule
	target   generator.Target
	closer   func()
	faults   *faultRunner
	balanced *targets.Balanced
	keys     *targets.Keys
	verdict  *verdictOptions
	rate     func(time.Duration) float64 // offered rate at an offset; nil: constant
	reports  *RunOptions                 // --hdr-log, --csv, --html, --metrics-addr
	split    func(seq uint64) int        // A/B: which side (0 or 1) request seq is on; nil: one side
	hedge    *targets.Hedge
	fan      *targets.FanOut
	// A profile's set_hedge actions switch between these (by setting;
	// "off" is the plain target).
	hedges      map[string]*targets.Hedge
	hedgeSwitch *targets.Switch
	hedgeBase   generator.Target
	closed      int           // closed loop at this concurrency; 0: open loop
	sideB       *results.File // A/B: side B's result, set by measure
	phases      []analysis.PhaseWindow
	settings    results.Settings
	gen         generator.Options
	out         string
	format      string
	quiet       bool
	command     []string
	total       time.Duration // planned length, for progress
	warm        int           // connections to open before the first request
}

func (j *loadJob) close() {
	if j.closer != nil {
		j.closer()
	}
}

func (j *loadJob) run(ctx context.Context, io *IOStreams) error {
	f, st, err := j.measure(ctx, io)
	if err != nil {
		return err
	}
	vo := j.verdict
	if vo == nil {
		vo = &verdictOptions{MaxSendLag: analysis.DefaultMaxSendLagP99}
	}
	verdict, verr := vo.judge(f, vo.selfCheck(f, j.rate))
	if j.out != "" {
		if err := results.Write(j.out, f); err != nil {
			return withCode(ExitError, err)
		}
	}
	if err := j.writeReports(f); err != nil {
		return withCode(ExitError, err)
	}
	if err := render(io, f, j.format); err != nil {
		return withCode(ExitError, err)
	}
	if j.out != "" && j.format == "table" {
		fmt.Fprintf(io.Out, "result written to %s\n", j.out)
	}
	if verr != nil {
		return withCode(ExitError, verr)
	}
	if st.Interrupted {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted after %v: partial results written", st.Elapsed.Round(time.Millisecond)))
	}
	return verdictCode(verdict)
}

// measure runs the load and returns its result, not yet judged or
// written.
func (j *loadJob) measure(ctx context.Context, io *IOStreams) (*results.File, generator.Stats, error) {
	col := analysis.NewCollector(j.phases)
	g := new(generator.Gauges)
	j.gen.Gauges = g
	if j.faults != nil {
		if err := j.faults.sweep(ctx, io.ErrOut); err != nil {
			return nil, generator.Stats{}, withCode(ExitError, err)
		}
	}
	if w, ok := j.target.(generator.Warmer); ok && j.warm > 0 {
		j.settings.Preconnected = w.Warm(ctx, j.warm)
	}
	started := j.gen.Start
	if started.IsZero() {
		started = time.Now()
		j.gen.Start = started
	} else if !j.quiet {
		fmt.Fprintf(io.ErrOut, "waiting until %s to start (%v)\n", started.Format(time.RFC3339), time.Until(started).Round(time.Millisecond))
	}
	last := func() (analysis.Second, bool) {
		secs := col.Seconds()
		if len(secs) == 0 {
			return analysis.Second{}, false
		}
		return secs[len(secs)-1], true
	}
	var hlog *results.IntervalLog
	if j.reports != nil && j.reports.HdrLog != "" {
		fh, err := os.Create(j.reports.HdrLog)
		if err != nil {
			return nil, generator.Stats{}, withCode(ExitError, err)
		}
		defer fh.Close()
		hlog = newHdrLog(fh, started, col.Phases())
		col.SetIntervalSink(hlog.Sink())
	}
	if j.reports != nil && j.reports.MetricsAddr != "" {
		stop, err := serveMetrics(j.reports.MetricsAddr, results.NewMetricsHandler(g, last, map[string]string{"target": j.settings.Target}))
		if err != nil {
			return nil, generator.Stats{}, usageErrorf("--metrics-addr: %v", err)
		}
		defer stop()
		warnIfExposed(io.ErrOut, "--metrics-addr (the run's live metrics)", j.reports.MetricsAddr)
	}
	var tel *telemetry
	if j.reports != nil && j.reports.TargetMetrics != "" {
		tel = &telemetry{scraper: targets.NewScraper(j.reports.TargetMetrics), start: started}
		tel.scrape(ctx)
	}
	var prog *results.Progress
	if !j.quiet {
		prog = results.NewProgress(io.ErrOut, io.StderrTTY, j.total, func(t time.Duration) string {
			return col.Phases()[col.PhaseOf(t)].Name
		})
	}
	var inflight [][2]float64 // (offset s, requests in flight), each second; read after ticksDone
	stopTicks := make(chan struct{})
	ticksDone := make(chan struct{})
	go func() {
		defer close(ticksDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopTicks:
				return
			case <-t.C:
				_ = col.Tick(time.Since(started))
				inflight = append(inflight, [2]float64{time.Since(started).Seconds(), float64(g.InFlight.Load())})
				if tel != nil {
					tel.scrape(ctx)
				}
				if prog != nil {
					sec, ok := last()
					prog.Update(time.Since(started), g, sec, ok)
				}
			}
		}
	}()
	var stopFaults context.CancelFunc = func() {}
	if j.faults != nil {
		var fctx context.Context
		fctx, stopFaults = context.WithCancel(ctx)
		go j.faults.run(fctx, started)
	}
	var gc0 debug.GCStats
	debug.ReadGCStats(&gc0)
	var rec generator.Recorder = col
	var colB *analysis.Collector
	if j.split != nil {
		// A/B: one schedule, each request's side chosen by j.split; each
		// side gets a collector of its own.
		colB = analysis.NewCollector(j.phases)
		rec = generator.RecorderFunc(func(w int, r *generator.Result) {
			if j.split(r.Seq) == 0 {
				col.Record(w, r)
			} else {
				colB.Record(w, r)
			}
		})
	}
	if a := abortOf(ctx); a != nil {
		j.gen.Abort = a
	}
	if j.gen.Deadline == 0 && j.total > 0 {
		// The run ends on time whatever the target does: the schedule,
		// then the drain for what is in flight.
		drain := j.gen.Drain
		if drain <= 0 {
			drain = generator.DefaultDrain
		}
		j.gen.Deadline = j.total + drain
		if !j.gen.Start.IsZero() {
			j.gen.Deadline += max(j.gen.Start.Sub(started), 0)
		}
	}
	cpu0, wall0 := processCPU(), time.Now()
	var st generator.Stats
	var err error
	if j.closed > 0 {
		st, err = generator.RunClosed(ctx, j.closed, j.total, j.target, rec, j.gen)
	} else {
		st, err = generator.Run(ctx, j.schedule, j.target, rec, j.gen)
	}
	cpu, wall := processCPU()-cpu0, time.Since(wall0)
	stopFaults()
	var windows []results.FaultWindow
	if j.faults != nil {
		windows = j.faults.finish()
	}
	close(stopTicks)
	<-ticksDone
	if prog != nil {
		prog.Done()
	}
	if err != nil {
		return nil, st, withCode(ExitError, err)
	}
	if err := col.Close(st.Elapsed); err != nil {
		return nil, st, withCode(ExitError, err)
	}
	if colB != nil {
		if err := colB.Close(st.Elapsed); err != nil {
			return nil, st, withCode(ExitError, err)
		}
	}
	if hlog != nil {
		if err := hlog.Close(); err != nil {
			return nil, st, withCode(ExitError, err)
		}
	}
	sum := col.Summarize(st)
	if colB != nil {
		sumB := colB.Summarize(st)
		littleCheck(sumB, nil, false)
		fb, err := j.fileOf(sumB, st, started, windows, nil, cpu, wall, gc0.NumGC)
		if err != nil {
			return nil, st, err
		}
		j.sideB = fb
	}
	littleCheck(sum, inflight, st.PeakInFlight >= j.maxInFlight() && st.SlotWaits+st.Dropped > 0)
	if tel != nil {
		tel.scrape(context.Background())
		tel.summarize(sum)
	}
	var bi *results.BalanceInfo
	if j.balanced != nil {
		bi = j.balanceInfo(sum, windows)
	}
	f, err := j.fileOf(sum, st, started, windows, bi, cpu, wall, gc0.NumGC)
	return f, st, err
}

// fileOf builds the result file of a measured summary.
func (j *loadJob) fileOf(sum *analysis.Summary, st generator.Stats, started time.Time, windows []results.FaultWindow, bi *results.BalanceInfo, cpu, wall time.Duration, numGC0 int64) (*results.File, error) {
	sum.Generator.CPU = cpu
	sum.Generator.Wall = wall
	sum.Generator.Cores = runtime.GOMAXPROCS(0)
	gcStats(&sum.Generator, numGC0)
	sum.Generator.Batches, sum.Generator.FlushBySize, sum.Generator.FlushByLinger = st.Batches, st.FlushBySize, st.FlushByLinger
	f, err := results.New("run", sum)
	if err != nil {
		return nil, withCode(ExitError, err)
	}
	f.ToolVersion = Version
	f.Command = j.command
	f.Started = started.UTC()
	f.Ended = started.Add(st.Elapsed).UTC()
	f.Interrupted = st.Interrupted
	f.Settings = j.settings
	f.Faults = windows
	if j.faults != nil {
		f.LeftoverFaults = j.faults.leftovers
	}
	f.Balance = bi
	f.Settings.StartLate = st.StartLate
	if j.hedge != nil {
		j.hedge.Wait() // losers still being cancelled
		hs := j.hedge.Stats()
		f.Hedge = &results.HedgeInfo{After: j.hedge.After().String(), Requests: hs.Requests, Hedges: hs.Hedges,
			HedgeWins: hs.HedgeWins, ExtraLoad: hs.ExtraLoad, Delay: hs.Delay}
	}
	for _, w := range windows {
		if w.Action != profiles.ActionSetHedge {
			continue
		}
		hi := results.HedgeInfo{Phase: w.Phase, After: w.Name}
		if h := j.hedges[w.Name]; h != nil {
			h.Wait()
			hs := h.Stats()
			hi.Requests, hi.Hedges, hi.HedgeWins, hi.ExtraLoad, hi.Delay = hs.Requests, hs.Hedges, hs.HedgeWins, hs.ExtraLoad, hs.Delay
		}
		f.HedgePhases = append(f.HedgePhases, hi)
	}
	if j.fan != nil {
		fs := j.fan.Stats()
		a := j.fan.Amplification(0)
		f.FanOut = &results.FanOutInfo{N: fs.N, Requests: fs.Requests, SubRequests: fs.SubRequests, Failed: fs.Failed,
			SubFailed: fs.SubFailed, Threshold: a.Threshold, SubSlow: a.SubSlow, Measured: a.Measured,
			Estimated: a.Estimated, StdErr: a.StdErr, Sentence: a.String()}
	}
	return f, nil
}

func render(io *IOStreams, f *results.File, format string) error {
	switch {
	case format == "json":
		return writeSummaryJSON(io, f)
	case f.Sweep != nil:
		return results.WriteSweep(io.Out, f)
	case f.Batch != nil:
		return results.WriteBatch(io.Out, f)
	}
	return results.WriteTable(io.Out, f)
}

func writeSummaryJSON(io *IOStreams, f *results.File) error {
	view := *f.Redacted()
	view.Histograms = results.Histograms{}
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*results.File
		Histograms *struct{} `json:"histograms,omitempty"`
	}{File: &view})
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// balanceInfo names the endpoints in the summary and computes, for every
// endpoint removed during the run, the fraction of keys that moved: by
// running the same strategy over the key space (the real key count with
// --keys, else 100,000), which is exact for the strategy and needs no
// per-key memory during the run.
func (j *loadJob) balanceInfo(sum *analysis.Summary, windows []results.FaultWindow) *results.BalanceInfo {
	eps := j.balanced.Endpoints()
	bi := &results.BalanceInfo{Strategy: j.balanced.Strategy()}
	for _, ep := range eps {
		bi.Endpoints = append(bi.Endpoints, ep.Addr)
	}
	for i := range sum.Endpoints {
		if k := sum.Endpoints[i].Endpoint - 1; k < len(eps) {
			sum.Endpoints[i].Addr = eps[k].Addr
		}
	}
	nKeys := 100000
	if ks, ok := j.keySpace(); ok {
		nKeys = ks
	}
	for _, w := range windows {
		if w.Action != profiles.ActionRemoveEndpoint || w.Error != "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(w.Target, "endpoint %d", &n); err != nil || n < 1 || n > len(eps) {
			continue
		}
		moved, err := balance.KeysMoved(bi.Strategy, eps, n-1, nKeys, balance.Options{Seed: j.settings.Seed})
		if err != nil {
			moved = -1 // the strategy does not place keys
		}
		bi.Removed = append(bi.Removed, results.EndpointLoss{Endpoint: n, Addr: eps[n-1].Addr, At: w.Applied, KeysMoved: moved, Keys: nKeys})
	}
	return bi
}

// keySpace is the number of distinct keys requests draw from, capped at a
// million for simulations.
func (j *loadJob) keySpace() (int, bool) {
	if j.keys == nil {
		return 0, false
	}
	return int(min(j.keys.N, 1_000_000)), true
}

// writeReports writes the optional CSV and HTML reports of f.
func (j *loadJob) writeReports(f *results.File) error {
	if j.reports == nil {
		return nil
	}
	if p := j.reports.CSV; p != "" {
		if err := results.WriteAtomic(p, func(w stdio.Writer) error { return results.WriteSecondsCSV(w, f) }); err != nil {
			return err
		}
	}
	if p := j.reports.HTML; p != "" {
		if err := results.WriteAtomic(p, func(w stdio.Writer) error { return results.WriteHTML(w, f) }); err != nil {
			return err
		}
	}
	return nil
}

// newHdrLog returns the --hdr-log writer: response and service time, each
// line tagged phase=<name>;metric=response|service and nothing more, the
// exact strings docs/reports.md's HistogramLogProcessor -tag commands
// select (the tool compares the whole tag). The header says the log is
// tailgate's.
func newHdrLog(w stdio.Writer, started time.Time, phases []analysis.PhaseWindow) *results.IntervalLog {
	hlog := results.NewIntervalLog(w, started)
	hlog.Phases = phases
	hlog.Service = true
	return hlog
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

// telemetry scrapes a target's Prometheus endpoint through a run.
type telemetry struct {
	scraper *targets.Scraper
	start   time.Time
	mu      sync.Mutex
	samples []teleSample
	err     error
}

type teleSample struct {
	at time.Duration
	targets.Telemetry
}

func (t *telemetry) scrape(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := t.scraper.Scrape(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.err = err
		return
	}
	t.samples = append(t.samples, teleSample{at: m.At.Sub(t.start), Telemetry: m})
}

// summarize sets each phase's TargetStats from the samples inside it.
func (t *telemetry) summarize(sum *analysis.Summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range sum.Phases {
		p := &sum.Phases[i]
		ts := &analysis.TargetStats{}
		var first, last *teleSample
		for k := range t.samples {
			sm := &t.samples[k]
			if sm.at < p.Start || sm.at > p.Start+p.Duration+time.Second {
				continue
			}
			if first == nil {
				first = sm
			}
			last = sm
			ts.Scrapes++
			if !math.IsNaN(sm.RSSBytes) {
				ts.RSSMax = max(ts.RSSMax, sm.RSSBytes)
			}
			if !math.IsNaN(sm.GCPauseMax) {
				ts.GCPauseMax = max(ts.GCPauseMax, time.Duration(sm.GCPauseMax*1e9))
			}
		}
		if first != nil && last != first && !math.IsNaN(first.CPUSeconds) && !math.IsNaN(last.CPUSeconds) {
			ts.CPUCores = (last.CPUSeconds - first.CPUSeconds) / (last.at - first.at).Seconds()
		}
		if ts.Scrapes == 0 && t.err != nil {
			ts.Error = t.err.Error()
		}
		p.Target = ts
	}
}

func (j *loadJob) maxInFlight() int {
	if j.gen.MaxInFlight > 0 {
		return j.gen.MaxInFlight
	}
	return generator.DefaultMaxInFlight
}

// littleCheck sets each phase's Little's-law check from the per-second
// samples of requests in flight.
func littleCheck(sum *analysis.Summary, samples [][2]float64, capHit bool) {
	for i := range sum.Phases {
		p := &sum.Phases[i]
		from, to := p.Start.Seconds(), (p.Start + p.Duration).Seconds()
		var total float64
		var n int
		for _, s := range samples {
			if s[0] > from && s[0] <= to {
				total += s[1]
				n++
			}
		}
		if n == 0 || p.Service.Count == 0 {
			continue
		}
		p.Little = &analysis.LittleCheck{
			MeasuredInFlight:  total / float64(n),
			PredictedInFlight: p.AchievedRate * p.Service.Mean.Seconds(),
			CapHit:            capHit,
		}
	}
}

// gcStats records the process's memory high-water mark and the GC pauses
// since a run began (from the last 256 pauses the runtime keeps).
func gcStats(g *analysis.GeneratorStats, numGC0 int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		g.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	var gs debug.GCStats
	gs.PauseQuantiles = make([]time.Duration, 101)
	debug.ReadGCStats(&gs)
	g.GCCount = gs.NumGC - numGC0
	if g.GCCount > 0 && len(gs.PauseQuantiles) == 101 {
		g.GCPauseMax = gs.PauseQuantiles[100]
		g.GCPauseP99 = gs.PauseQuantiles[99]
	}
}

// engineOf names the client a run uses: grpc, fast-h1 or net/http.
func engineOf(opts *RunOptions, ho targets.HTTPOptions) string {
	if isGRPC(ho.URL) {
		return "grpc"
	}
	if opts.Engine == "net/http" {
		return "net/http"
	}
	if ok, _ := h1.Supported(ho); ok {
		return "fast-h1"
	}
	return "net/http"
}
