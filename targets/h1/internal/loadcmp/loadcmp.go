//go:build unix

// Package loadcmp measures HTTP client engines as a load generator uses
// them: CPU time per request at fixed rates, and the highest rate one core
// sustains. It runs the target server and each measured client in separate
// processes, pinned to different CPUs with taskset when there are two, as
// the performance goals are stated; wrk, if installed, runs against the
// same server for reference.
//
//	go run ./targets/h1/internal/loadcmp/cmd/loadcmp all -rates 5000,20000 -duration 10s
//
// Subcommands: serve (the target), run (one client run, one JSON line on
// stdout) and all (the comparison table). The engines are fast-h1 and
// net-http; a build may add more (see the fasthttpcmp module beside this
// package).
package loadcmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"tailgate/generator"
	"tailgate/internal/benchhost"
	"tailgate/targets"
	"tailgate/targets/h1"
	"tailgate/targets/h1/internal/canned"
)

// Factory builds a client engine for a URL.
type Factory func(o targets.HTTPOptions) (generator.Target, func(), error)

// Engines are the built-in engines.
var Engines = map[string]Factory{
	"fast-h1": func(o targets.HTTPOptions) (generator.Target, func(), error) {
		t, err := h1.New(o)
		if err != nil {
			return nil, nil, err
		}
		return t, t.Close, nil
	},
	// noop sends nothing: the generator's own cost, the floor under every
	// engine.
	"noop": func(targets.HTTPOptions) (generator.Target, func(), error) {
		return generator.TargetFunc(func(context.Context, uint64) generator.Outcome {
			return generator.Outcome{Status: 200}
		}), func() {}, nil
	},
	"net-http": func(o targets.HTTPOptions) (generator.Target, func(), error) {
		t, err := targets.NewHTTP(o)
		if err != nil {
			return nil, nil, err
		}
		return t, t.Close, nil
	},
}

// Main runs the command line args (without the program name) with the
// built-in engines and extra ones, and returns the exit code.
func Main(args []string, extra map[string]Factory) int {
	engines := map[string]Factory{}
	for k, v := range Engines {
		engines[k] = v
	}
	for k, v := range extra {
		engines[k] = v
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: loadcmp serve|run|all [flags]")
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:])
	case "run":
		err = runOne(args[1:], engines)
	case "all":
		err = all(args[1:], engines)
	default:
		err = fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadcmp:", err)
		return 1
	}
	return 0
}

// cannedResp is the raw server's response: small, keep-alive, with a cache
// header, like the demo target's cached answer.
var cannedResp = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Cache: HIT\r\nContent-Length: 27\r\n\r\n{\"key\":\"k1\",\"value\":\"v-k1\"}")

// serve runs the target until stdin closes: "raw" answers every request
// head with a canned response (a server that costs almost nothing, so that
// the client is what saturates); "nethttp" is a net/http server.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	kind := fs.String("kind", "raw", "raw or nethttp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	switch *kind {
	case "raw":
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			go func() { defer c.Close(); canned.Serve(c, cannedResp) }()
		}
	case "nethttp":
		body := cannedResp[bytesIndex(cannedResp, "\r\n\r\n")+4:]
		return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Cache", "HIT")
			w.Write(body)
		}))
	}
	return fmt.Errorf("unknown server kind %q", *kind)
}

func bytesIndex(b []byte, s string) int { return strings.Index(string(b), s) }

// Sample is one client run.
type Sample struct {
	Engine    string  `json:"engine"`
	Offered   float64 `json:"offered_rps"` // 0: as fast as possible
	Achieved  float64 `json:"achieved_rps"`
	Completed int64   `json:"completed"`
	Errors    int64   `json:"errors"`
	CPUPerReq float64 `json:"cpu_us_per_req"` // user+sys of the process during the run
	P50       float64 `json:"p50_us"`         // service time
	P99       float64 `json:"p99_us"`
	P999      float64 `json:"p999_us"`
	LagP99    float64 `json:"lag_p99_us"` // send lag: the generator behind its schedule
	MaxRSSKiB int64   `json:"max_rss_kib"`
	Engine2   string  `json:"engine_reported,omitempty"`
}

type recorder struct {
	svc, lag []time.Duration
	n        atomic.Int64
	errs     atomic.Int64
}

func (r *recorder) Record(_ int, res *generator.Result) {
	if !res.OK() {
		r.errs.Add(1)
		return
	}
	if i := r.n.Add(1) - 1; i < int64(len(r.svc)) {
		r.svc[i], r.lag[i] = res.ServiceTime(), res.SendLag()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runFlags are the flags of one client run.
type runFlags struct {
	url, engine string
	rate        float64 // req/s; 0: closed loop
	dur, warm   time.Duration
	maxIn       int
	conns       int
	prof        string
}

func parseRunFlags(args []string) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&f.url, "url", "", "target URL")
	fs.StringVar(&f.engine, "engine", "fast-h1", "client engine")
	fs.Float64Var(&f.rate, "rate", 5000, "offered rate, req/s (0: closed loop, as fast as possible)")
	fs.DurationVar(&f.dur, "duration", 10*time.Second, "run length")
	fs.IntVar(&f.maxIn, "max-in-flight", 4096, "generator in-flight cap")
	fs.IntVar(&f.conns, "connections", 0, "connection cap (0: as many as in flight)")
	fs.DurationVar(&f.warm, "warmup", time.Second, "unmeasured run first, same rate")
	fs.StringVar(&f.prof, "cpuprofile", "", "write a CPU profile of the measured run")
	return f, fs.Parse(args)
}

// runOne is one client run: a fixed rate (or, with -rate 0, as fast as
// -max-in-flight requests at a time allow) for -duration, then one JSON
// line.
func runOne(args []string, engines map[string]Factory) error {
	f, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	mk, ok := engines[f.engine]
	if !ok {
		return fmt.Errorf("unknown engine %q", f.engine)
	}
	tg, closeFn, err := mk(targets.HTTPOptions{URL: f.url, Connections: f.conns, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer closeFn()
	l := newLoad(tg, f.rate, f.maxIn)
	if f.warm > 0 {
		if _, err := l.run(f.warm, &recorder{}); err != nil {
			return err
		}
	}
	expect := int(f.rate * f.dur.Seconds() * 1.2)
	if l.closedLoop {
		expect = int(400e3 * f.dur.Seconds())
	}
	rec := &recorder{svc: make([]time.Duration, expect), lag: make([]time.Duration, expect)}
	runtime.GC()
	stopProfile, err := startProfile(f.prof)
	if err != nil {
		return err
	}
	cpu0 := cpuTime()
	st, err := l.run(f.dur, rec)
	stopProfile()
	if err != nil {
		return err
	}
	s := sample(f, st, cpuTime()-cpu0, rec)
	if e, ok := tg.(interface{ Engine() string }); ok {
		s.Engine2 = e.Engine()
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

// load drives a target at a fixed rate, or in closed loop.
type load struct {
	tg         generator.Target
	sched      generator.Schedule
	opt        generator.Options
	closedLoop bool
}

// newLoad returns a load at rate req/s, closed loop if rate <= 0.
func newLoad(tg generator.Target, rate float64, maxIn int) *load {
	l := &load{tg: tg, opt: generator.Options{MaxInFlight: maxIn}, closedLoop: rate <= 0}
	if l.closedLoop {
		l.sched = generator.Constant{Rate: 10e6} // far past what one core does: workers never idle
	} else {
		l.sched = generator.Constant{Rate: rate}
	}
	return l
}

// run runs the load for d. A fixed-rate run ends with its schedule; a
// closed-loop one when its context does (the generator then drains the
// requests in flight).
func (l *load) run(d time.Duration, rec generator.Recorder) (generator.Stats, error) {
	s, stop := l.sched, d
	if !l.closedLoop {
		s = generator.ScheduleFunc(func(n uint64) (time.Duration, bool) {
			at, ok := l.sched.Next(n)
			return at, ok && at < d
		})
		stop = d + 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), stop)
	defer cancel()
	return generator.Run(ctx, s, l.tg, rec, l.opt)
}

// startProfile starts a CPU profile into path, if not empty, and returns
// the function that stops it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// sample sums up a measured run that took cpu of this process.
func sample(f runFlags, st generator.Stats, cpu time.Duration, rec *recorder) Sample {
	n := rec.n.Load()
	s := Sample{Engine: f.engine, Offered: f.rate, Completed: n, Errors: rec.errs.Load()}
	if f.rate <= 0 {
		s.Offered = 0
	}
	if el := st.Elapsed.Seconds(); el > 0 {
		s.Achieved = float64(n) / el
	}
	if n+s.Errors > 0 {
		s.CPUPerReq = float64(cpu.Nanoseconds()) / 1e3 / float64(n+s.Errors)
	}
	k := min(n, int64(len(rec.svc)))
	svc, lag := rec.svc[:k], rec.lag[:k]
	slices.Sort(svc)
	slices.Sort(lag)
	q := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) / 1e3
	}
	s.P50, s.P99, s.P999, s.LagP99 = q(svc, 0.5), q(svc, 0.99), q(svc, 0.999), q(lag, 0.99)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.MaxRSSKiB = ru.Maxrss
	}
	return s
}

// allFlags are the flags of the comparison.
type allFlags struct {
	rates    string
	dur      time.Duration
	runs     int
	names    string
	servers  string
	maxConns int
}

func parseAllFlags(args []string) (allFlags, error) {
	var f allFlags
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.StringVar(&f.rates, "rates", "5000,20000", "fixed rates, req/s")
	fs.DurationVar(&f.dur, "duration", 10*time.Second, "length of each run")
	fs.IntVar(&f.runs, "runs", 3, "runs per point (median shown)")
	fs.StringVar(&f.names, "engines", "", "engines, comma-separated (default all)")
	fs.StringVar(&f.servers, "servers", "raw", "server kinds: raw, nethttp")
	fs.IntVar(&f.maxConns, "max-conns", 50, "connections for the closed-loop (max throughput) runs")
	return f, fs.Parse(args)
}

// comparison is the state of one all run.
type comparison struct {
	allFlags
	self    string   // this executable, run as server and clients
	engines []string // the engines compared, wrk aside
}

// all runs the comparison: for each server kind, every engine at every
// rate (the median of -runs by CPU per request), then closed loop at
// -max-conns, then wrk at the same connection count.
func all(args []string, engines map[string]Factory) error {
	f, err := parseAllFlags(args)
	if err != nil {
		return err
	}
	c := comparison{allFlags: f}
	if f.names == "" {
		for k := range engines {
			c.engines = append(c.engines, k)
		}
		slices.Sort(c.engines)
	} else {
		c.engines = strings.Split(f.names, ",")
	}
	if c.self, err = os.Executable(); err != nil {
		return err
	}
	fmt.Printf("machine: %s, %d CPUs, %s; client pinned to CPU 0, server to CPU 1: %v\n", benchhost.CPUModel(), runtime.NumCPU(), runtime.Version(), runtime.NumCPU() >= 2)
	fmt.Printf("%d run(s) of %v per point, median by CPU/req\n", f.runs, f.dur)
	for _, kind := range strings.Split(f.servers, ",") {
		if err := c.server(kind); err != nil {
			return err
		}
	}
	return nil
}

// server starts a server of this kind and measures every point against it:
// each fixed rate, then closed loop.
func (c *comparison) server(kind string) error {
	srv := pin("1", c.self, "serve", "-kind", kind)
	stdin, _ := srv.StdinPipe()
	out, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	url := "http://" + strings.TrimSpace(addr) + "/"
	fmt.Printf("\nserver: %s on %s\n", kind, url)
	fmt.Printf("%-10s %-10s %-11s %-11s %-9s %-9s %-9s %-11s %-6s %s\n", "engine", "offered/s", "achieved/s", "CPU µs/req", "p50 µs", "p99 µs", "p99.9 µs", "lag p99 µs", "errors", "all runs (CPU µs/req, or req/s at max)")
	for _, rs := range strings.Split(c.rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			return err
		}
		if err := c.point(url, rate); err != nil {
			return err
		}
	}
	conns := strconv.Itoa(c.maxConns)
	if err := c.point(url, 0, "-max-in-flight", conns, "-connections", conns); err != nil {
		return err
	}
	if !hasWrk() {
		fmt.Println("wrk: not installed (apt-get install -y wrk)")
	}
	stdin.Close()
	srv.Wait()
	return nil
}

// point measures every engine at rate (0: closed loop, with wrk if
// installed) and prints a line each. Each run goes through every engine in
// turn, so that the engines share the machine's noise; the median of the
// runs is shown.
func (c *comparison) point(url string, rate float64, extra ...string) error {
	samples := map[string][]Sample{}
	engs := slices.Clone(c.engines)
	if rate == 0 && hasWrk() {
		engs = append(engs, "wrk")
	}
	for i := 0; i < c.runs; i++ {
		for _, e := range engs {
			var s Sample
			var err error
			if e == "wrk" {
				s, err = wrk(url, c.maxConns, c.dur)
			} else {
				s, err = client(c.self, url, e, rate, c.dur, extra)
			}
			if err != nil {
				return fmt.Errorf("%s at %v/s: %w", e, rate, err)
			}
			samples[e] = append(samples[e], s)
		}
	}
	for _, e := range engs {
		c.printPoint(e, rate, samples[e])
	}
	return nil
}

// printPoint prints the median of an engine's runs ss at rate: by
// throughput in closed loop, by CPU per request otherwise.
func (c *comparison) printPoint(e string, rate float64, ss []Sample) {
	slices.SortFunc(ss, func(a, b Sample) int {
		if rate == 0 { // closed loop: the median by throughput
			return cmpFloat(a.Achieved, b.Achieved)
		}
		return cmpFloat(a.CPUPerReq, b.CPUPerReq)
	})
	m := ss[len(ss)/2]
	off := fmt.Sprint(rate)
	if rate == 0 {
		off = "max"
	}
	if e == "wrk" {
		fmt.Printf("%-10s %-10s %-11.0f %-11.1f (wrk -t1 -c%d; runs: %s)\n", e, off, m.Achieved, m.CPUPerReq, c.maxConns, runsOf(ss, rate))
		return
	}
	fmt.Printf("%-10s %-10s %-11.0f %-11.1f %-9.0f %-9.0f %-9.0f %-11.0f %-6d %s\n", e, off, m.Achieved, m.CPUPerReq, m.P50, m.P99, m.P999, m.LagP99, m.Errors, runsOf(ss, rate))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// client runs one engine in a pinned child process.
func client(self, url, engine string, rate float64, dur time.Duration, extra []string) (Sample, error) {
	cmd := pin("0", self, append([]string{"run", "-url", url, "-engine", engine, "-rate", fmt.Sprint(rate), "-duration", dur.String()}, extra...)...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return Sample{}, err
	}
	var s Sample
	if err := json.Unmarshal(b, &s); err != nil {
		return Sample{}, fmt.Errorf("%q: %w", b, err)
	}
	return s, nil
}

// runsOf lists every run's number, for judging the noise.
func runsOf(ss []Sample, rate float64) string {
	var parts []string
	for _, s := range ss {
		if rate == 0 {
			parts = append(parts, fmt.Sprintf("%.0f", s.Achieved))
		} else {
			parts = append(parts, fmt.Sprintf("%.1f", s.CPUPerReq))
		}
	}
	return strings.Join(parts, " ")
}

func hasWrk() bool {
	_, err := exec.LookPath("wrk")
	return err == nil
}

// wrk runs wrk -t1 (closed loop, one thread) on CPU 0 and returns its rate
// and its CPU per request (from the child's rusage).
func wrk(url string, conns int, dur time.Duration) (Sample, error) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return Sample{}, errors.New("not installed (apt-get install -y wrk)")
	}
	cmd := pin("0", path, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(dur.Seconds()))+"s", url)
	b, err := cmd.Output()
	if err != nil {
		return Sample{}, err
	}
	w, err := benchhost.ParseWrk(string(b))
	if err != nil {
		return Sample{}, err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Sample{Engine: "wrk", Achieved: w.Rate, CPUPerReq: float64(cpu.Nanoseconds()) / 1e3 / float64(w.Requests)}, nil
}

// pin runs name on cpu (benchhost.Pin).
func pin(cpu string, name string, args ...string) *exec.Cmd {
	return benchhost.Pin(context.Background(), cpu, name, args...)
}
