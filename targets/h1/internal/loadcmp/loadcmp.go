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
	"slices"
	"strconv"
	"strings"
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
