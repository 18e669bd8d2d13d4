package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
	"tailgate/targets"
)

// RunOptions are the flags of `tailgate run`.
type RunOptions struct {
	URL          string
	Rate         float64
	Duration     time.Duration
	Arrivals     string
	Seed         uint64
	MaxInFlight  int
	OnSaturation generator.Policy
	Drain        time.Duration
	Connections  int
	Timeout      time.Duration
	Method       string
	Header       http.Header
	Body         []byte
	HTTP2        bool
	Insecure     bool
	CacheHeader  string // "Name=value"
	Out          string
	Format       string
	Quiet        bool
	Command      []string
}

// NewCmdRun builds `tailgate run`. runF, when set, receives the parsed
// options instead of running (for tests).
func NewCmdRun(io *IOStreams, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	var rate, policy string
	var headers []string
	var data string
	cmd := &cobra.Command{
		Use:   "run URL --rate R [--duration D] [flags]",
		Short: "Send open-loop load at a target and report its latency",
		Long: `Send requests at URL on an open-loop schedule: each request is due at a fixed
time whatever happened to the previous ones. Response time counts from that
intended time; service time from when the request actually left.`,
		Example: `  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s
  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s --arrivals poisson --out run.json
  tailgate run https://api.example.test/orders -X POST -H 'Content-Type: application/json' -d @order.json --rate 200`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			opts.Command = append([]string{"tailgate"}, os.Args[1:]...)
			var err error
			if opts.Rate, err = ParseRate(rate); err != nil {
				return usageErrorf("--rate %q: %v", rate, err)
			}
			if opts.Duration <= 0 {
				return usageErrorf("--duration %v: must be positive", opts.Duration)
			}
			if opts.Arrivals != "constant" && opts.Arrivals != "poisson" {
				return usageErrorf("--arrivals %q: want constant or poisson", opts.Arrivals)
			}
			if opts.OnSaturation, err = generator.ParsePolicy(policy); err != nil {
				return usageErrorf("--on-saturation: %v", err)
			}
			if opts.MaxInFlight <= 0 {
				return usageErrorf("--max-in-flight %d: must be positive", opts.MaxInFlight)
			}
			if opts.Connections < 0 {
				return usageErrorf("--connections %d: must not be negative", opts.Connections)
			}
			if opts.Timeout <= 0 {
				return usageErrorf("--timeout %v: must be positive", opts.Timeout)
			}
			if opts.Header, err = ParseHeaders(headers); err != nil {
				return usageErrorf("%v", err)
			}
			if opts.Body, err = ReadData(data); err != nil {
				return usageErrorf("--data: %v", err)
			}
			if opts.CacheHeader != "" && !strings.Contains(opts.CacheHeader, "=") {
				return usageErrorf("--cache-header %q: want Name=value, e.g. X-Cache=HIT", opts.CacheHeader)
			}
			if opts.Format != "table" && opts.Format != "json" {
				return usageErrorf("--format %q: want table or json", opts.Format)
			}
			if _, err := targets.ParseURL(opts.URL); err != nil {
				return usageErrorf("%v", err)
			}
			if opts.Out != "" {
				if err := results.CheckWritable(opts.Out); err != nil {
					return usageErrorf("--out: %v", err)
				}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return doRun(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&rate, "rate", "r", "", "offered load in requests per second (e.g. 2000, 2000/s, 600/m) (required)")
	f.DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "how long to send")
	f.StringVar(&opts.Arrivals, "arrivals", "constant", "arrival process: constant (evenly spaced) or poisson")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for random arrivals (same seed, same schedule)")
	f.IntVar(&opts.MaxInFlight, "max-in-flight", generator.DefaultMaxInFlight, "cap on concurrent requests")
	f.StringVar(&policy, "on-saturation", "wait", "when the in-flight cap is full: wait (timed from the intended time) or drop (counted)")
	f.DurationVar(&opts.Drain, "drain", generator.DefaultDrain, "after an interrupt, how long to wait for requests in flight")
	f.IntVarP(&opts.Connections, "connections", "c", 0, "cap on open connections (0 = as many as requests in flight)")
	f.DurationVar(&opts.Timeout, "timeout", targets.DefaultTimeout, "per-request timeout (a timeout is an error result)")
	f.StringVarP(&opts.Method, "method", "X", "GET", "HTTP method")
	f.StringArrayVarP(&headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVar(&data, "data", "", "request body, inline or @file")
	f.BoolVar(&opts.HTTP2, "http2", false, "negotiate HTTP/2 over TLS")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification")
	f.StringVar(&opts.CacheHeader, "cache-header", "X-Cache=HIT", "count responses with this header value as cache hits (Name=value; empty to disable)")
	f.StringVarP(&opts.Out, "out", "o", "", "write the result file (JSON) here")
	f.StringVar(&opts.Format, "format", "table", "output on stdout: table or json")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	_ = cmd.MarkFlagRequired("rate")
	return cmd
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
	return r, nil
}

// ParseHeaders parses 'Name: value' strings.
func ParseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		k, v, ok := strings.Cut(s, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", s)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// ReadData returns an inline body, or a file's contents for "@path".
func ReadData(s string) ([]byte, error) {
	if path, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return []byte(s), nil
}

func doRun(ctx context.Context, io *IOStreams, opts *RunOptions) error {
	cacheName, cacheVal, _ := strings.Cut(opts.CacheHeader, "=")
	tg, err := targets.NewHTTP(targets.HTTPOptions{
		URL: opts.URL, Method: opts.Method, Header: opts.Header, Body: opts.Body,
		Timeout: opts.Timeout, Connections: opts.Connections, HTTP2: opts.HTTP2, Insecure: opts.Insecure,
		CacheHeader: cacheName, CacheHit: cacheVal,
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer tg.Close()
	var sched generator.Schedule = generator.Constant{Rate: opts.Rate, Duration: opts.Duration}
	if opts.Arrivals == "poisson" {
		sched = generator.NewPoisson(opts.Rate, opts.Duration, opts.Seed)
	}
	settings := results.Settings{
		Target: opts.URL, Method: opts.Method, Rate: opts.Rate, Duration: opts.Duration, Arrivals: opts.Arrivals,
		Seed: opts.Seed, MaxInFlight: opts.MaxInFlight, OnSaturation: opts.OnSaturation.String(),
		Connections: opts.Connections, Timeout: opts.Timeout, HTTP2: opts.HTTP2,
	}
	job := &loadJob{
		schedule: sched, target: tg, phases: []analysis.Phase{{Name: "main", End: opts.Duration}}, settings: settings,
		gen: generator.Options{MaxInFlight: opts.MaxInFlight, OnSaturation: opts.OnSaturation, Drain: opts.Drain},
		out: opts.Out, format: opts.Format, quiet: opts.Quiet, command: opts.Command, total: opts.Duration,
	}
	return job.run(ctx, io)
}

// loadJob is one run from schedule to written results, shared by run and
// demo.
type loadJob struct {
	schedule generator.Schedule
	target   generator.Target
	phases   []analysis.Phase
	settings results.Settings
	gen      generator.Options
	out      string
	format   string
	quiet    bool
	command  []string
	total    time.Duration // planned length, for progress
}

func (j *loadJob) run(ctx context.Context, io *IOStreams) error {
	col := analysis.NewCollector(j.phases)
	g := new(generator.Gauges)
	j.gen.Gauges = g
	started := time.Now()
	j.gen.Start = started
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
				if !j.quiet {
					progress(io, g, col, time.Since(started), j.total)
				}
			}
		}
	}()
	cpu0 := processCPU()
	st, err := generator.Run(ctx, j.schedule, j.target, col, j.gen)
	cpu := processCPU() - cpu0
	close(stopTicks)
	<-ticksDone
	if !j.quiet && io.StderrTTY {
		fmt.Fprintln(io.ErrOut)
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	if err := col.Close(st.Elapsed); err != nil {
		return withCode(ExitError, err)
	}
	sum := col.Summarize(st)
	sum.Generator.CPU = cpu
	sum.Generator.Cores = runtime.GOMAXPROCS(0)
	f, err := results.New("run", sum)
	if err != nil {
		return withCode(ExitError, err)
	}
	f.ToolVersion = Version
	f.Command = j.command
	f.Started = started.UTC()
	f.Ended = started.Add(st.Elapsed).UTC()
	f.Interrupted = st.Interrupted
	f.Settings = j.settings
	if j.out != "" {
		if err := results.Write(j.out, f); err != nil {
			return withCode(ExitError, err)
		}
	}
	if err := render(io, f, j.format); err != nil {
		return withCode(ExitError, err)
	}
	if j.out != "" && j.format == "table" {
		fmt.Fprintf(io.Out, "result written to %s\n", j.out)
	}
	if st.Interrupted {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted after %v: partial results written", st.Elapsed.Round(time.Millisecond)))
	}
	return nil
}

func render(io *IOStreams, f *results.File, format string) error {
	if format == "json" {
		return writeSummaryJSON(io, f)
	}
	return results.WriteTable(io.Out, f)
}

func writeSummaryJSON(io *IOStreams, f *results.File) error {
	view := *f
	view.Histograms = results.Histograms{}
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*results.File
		Histograms *struct{} `json:"histograms,omitempty"`
	}{File: &view})
}

// progress prints one line about the run so far: a rewritten line on a
// terminal, nothing otherwise (the plain periodic lines come later).
func progress(io *IOStreams, g *generator.Gauges, col *analysis.Collector, el, total time.Duration) {
	if !io.StderrTTY {
		return
	}
	secs := col.Seconds()
	var p50, p99 time.Duration
	if n := len(secs); n > 0 {
		p50, p99 = secs[n-1].P50, secs[n-1].P99
	}
	fmt.Fprintf(io.ErrOut, "\r%5.0fs/%v  sent %d  done %d  in flight %d  dropped %d  last second p50 %s p99 %s   ",
		el.Seconds(), total, g.Sent.Load(), g.Done.Load(), g.InFlight.Load(), g.Dropped.Load(),
		results.FormatDuration(p50), results.FormatDuration(p99))
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
