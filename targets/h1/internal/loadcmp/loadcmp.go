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

// runOne is one client run: a fixed rate (or, with -rate 0, as fast as
// -max-in-flight requests at a time allow) for -duration, then one JSON
// line.
func runOne(args []string, engines map[string]Factory) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	url := fs.String("url", "", "target URL")
	engine := fs.String("engine", "fast-h1", "client engine")
	rate := fs.Float64("rate", 5000, "offered rate, req/s (0: closed loop, as fast as possible)")
	dur := fs.Duration("duration", 10*time.Second, "run length")
	maxIn := fs.Int("max-in-flight", 4096, "generator in-flight cap")
	conns := fs.Int("connections", 0, "connection cap (0: as many as in flight)")
	warm := fs.Duration("warmup", time.Second, "unmeasured run first, same rate")
	prof := fs.String("cpuprofile", "", "write a CPU profile of the measured run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mk, ok := engines[*engine]
	if !ok {
		return fmt.Errorf("unknown engine %q", *engine)
	}
	tg, closeFn, err := mk(targets.HTTPOptions{URL: *url, Connections: *conns, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer closeFn()
	var sched generator.Schedule
	opt := generator.Options{MaxInFlight: *maxIn}
	closedLoop := *rate <= 0
	if closedLoop {
		sched = generator.Constant{Rate: 10e6} // far past what one core does: workers never idle
	} else {
		sched = generator.Constant{Rate: *rate}
	}
	// A fixed-rate run ends with its schedule; a closed-loop one when its
	// context does (the generator then drains the requests in flight).
	run := func(d time.Duration, rec generator.Recorder) (generator.Stats, error) {
		s, stop := sched, d
		if !closedLoop {
			s = generator.ScheduleFunc(func(n uint64) (time.Duration, bool) {
				at, ok := sched.Next(n)
				return at, ok && at < d
			})
			stop = d + 30*time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), stop)
		defer cancel()
		return generator.Run(ctx, s, tg, rec, opt)
	}
	if *warm > 0 {
		if _, err := run(*warm, &recorder{}); err != nil {
			return err
		}
	}
	expect := int(*rate * dur.Seconds() * 1.2)
	if closedLoop {
		expect = int(400e3 * dur.Seconds())
	}
	rec := &recorder{svc: make([]time.Duration, expect), lag: make([]time.Duration, expect)}
	runtime.GC()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	cpu0 := cpuTime()
	st, err := run(*dur, rec)
	if *prof != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	cpu := cpuTime() - cpu0
	n := rec.n.Load()
	s := Sample{Engine: *engine, Offered: *rate, Completed: n, Errors: rec.errs.Load()}
	if closedLoop {
		s.Offered = 0
	}
	el := st.Elapsed.Seconds()
	if el > 0 {
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
	if e, ok := tg.(interface{ Engine() string }); ok {
		s.Engine2 = e.Engine()
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

// all runs the comparison: for each server kind, every engine at every
// rate (the median of -runs by CPU per request), then closed loop at
// -max-conns, then wrk at the same connection count.
func all(args []string, engines map[string]Factory) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	rates := fs.String("rates", "5000,20000", "fixed rates, req/s")
	dur := fs.Duration("duration", 10*time.Second, "length of each run")
	runs := fs.Int("runs", 3, "runs per point (median shown)")
	names := fs.String("engines", "", "engines, comma-separated (default all)")
	servers := fs.String("servers", "raw", "server kinds: raw, nethttp")
	maxConns := fs.Int("max-conns", 50, "connections for the closed-loop (max throughput) runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var list []string
	if *names == "" {
		for k := range engines {
			list = append(list, k)
		}
		slices.Sort(list)
	} else {
		list = strings.Split(*names, ",")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("machine: %s, %d CPUs, %s; client pinned to CPU 0, server to CPU 1: %v\n", benchhost.CPUModel(), runtime.NumCPU(), runtime.Version(), runtime.NumCPU() >= 2)
	fmt.Printf("%d run(s) of %v per point, median by CPU/req\n", *runs, *dur)
	for _, kind := range strings.Split(*servers, ",") {
		srv := pin("1", self, "serve", "-kind", kind)
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
		// Each run goes through every engine in turn, so that the engines
		// share the machine's noise; the median of the runs is shown.
		pointsFor := func(rate float64, extra ...string) error {
			samples := map[string][]Sample{}
			engs := slices.Clone(list)
			if rate == 0 && hasWrk() {
				engs = append(engs, "wrk")
			}
			for i := 0; i < *runs; i++ {
				for _, e := range engs {
					var s Sample
					var err error
					if e == "wrk" {
						s, err = wrk(url, *maxConns, *dur)
					} else {
						s, err = client(self, url, e, rate, *dur, extra)
					}
					if err != nil {
						return fmt.Errorf("%s at %v/s: %w", e, rate, err)
					}
					samples[e] = append(samples[e], s)
				}
			}
			for _, e := range engs {
				ss := samples[e]
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
					fmt.Printf("%-10s %-10s %-11.0f %-11.1f (wrk -t1 -c%d; runs: %s)\n", e, off, m.Achieved, m.CPUPerReq, *maxConns, runsOf(ss, rate))
					continue
				}
				fmt.Printf("%-10s %-10s %-11.0f %-11.1f %-9.0f %-9.0f %-9.0f %-11.0f %-6d %s\n", e, off, m.Achieved, m.CPUPerReq, m.P50, m.P99, m.P999, m.LagP99, m.Errors, runsOf(ss, rate))
			}
			return nil
		}
		for _, rs := range strings.Split(*rates, ",") {
			rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
			if err != nil {
				return err
			}
			if err := pointsFor(rate); err != nil {
				return err
			}
		}
		c := strconv.Itoa(*maxConns)
		if err := pointsFor(0, "-max-in-flight", c, "-connections", c); err != nil {
			return err
		}
		if !hasWrk() {
			fmt.Println("wrk: not installed (apt-get install -y wrk)")
		}
		stdin.Close()
		srv.Wait()
	}
	return nil
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
