// Command loadbench measures tailgate as a load generator beside other load
// generators, in one invocation, and prints one table.
//
// It starts the demo target (`tailgate serve demo`, one cached key, HTTP and
// gRPC) pinned to CPU 1, then runs each generator pinned to CPU 0 against it
// over loopback (HTTP/1.1 keep-alive, gRPC over plaintext HTTP/2):
//
//   - fixed rate (-rates, default 5,000 and 20,000 req/s): tailgate, wrk2,
//     fortio, vegeta, hey;
//   - fixed rate against a slow target (-slow-rate, default 5,000 req/s,
//     against a second demo whose /item answers in -slow-service, 20 ms):
//     the same tools, with connections enough for the requests in flight;
//   - maximum throughput, closed loop on -conns connections (default 50):
//     tailgate --rate max, wrk, wrk2 with a huge -R, fortio -qps 0, vegeta
//     -rate 0, hey;
//   - gRPC demo.Store/Get at -grpc-rate (default 5,000 req/s) and at maximum:
//     tailgate (its default engine, grpc-fast, and a row per -grpc-variants,
//     by default --engine grpc: grpc-go) and ghz.
//
// For every run it records what the tool reports as achieved, the generator's
// CPU time per response (user+sys from the child's rusage ÷ responses
// completed) and its max RSS (same rusage); for tailgate also its send lag and
// self-check verdict. Runs are interleaved (run 1 of every tool, then run 2,
// ...) so that the tools meet the same noise, and the table shows medians.
//
//	go run ./bench/loadbench -bin bin/tailgate -runs 3 -md /tmp/bench.md
//
// Other tools are optional. Each is looked up in the environment variable of
// its name in capitals (WRK2=/path/to/wrk2), then in -tools-dir (bin/tools,
// where `make bench-tools` installs the Go ones), then on PATH; one that is
// missing is listed as not found, with how to get it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tailgate/internal/benchhost"
)

type config struct {
	bin        string // tailgate
	toolsDir   string
	dur        time.Duration
	runs       int
	rates      []float64
	grpcRate   float64
	conns      int // closed loop: connections = concurrency
	fixedConns int // wrk2 and fortio at a fixed rate
	grpcConns  int // gRPC at a fixed rate: tailgate -c, ghz --connections
	extra      []string
	only       map[string]bool // -tools; nil: all
	scenarios  map[string]bool
	md         string
	doc        string        // a Markdown file whose loadbench block is replaced with the table
	slowRate   float64       // req/s of the slow-target rows
	slowSvc    time.Duration // the slow target's service time
	maxServer  string        // raw or demo: the HTTP target of the closed-loop rows
	rawFrom    float64       // fixed rates from this on go to the minimal server; 0: none
	grpcMax    string        // raw or demo: the gRPC target of the closed-loop rows
	floorBin   string        // bench/floor, built into a temporary directory
}

func main() {
	var c config
	var rates, tools, scen, extra, variants, grpcVariants string
	flag.StringVar(&c.bin, "bin", "bin/tailgate", "tailgate binary (also serves the demo target)")
	flag.StringVar(&c.toolsDir, "tools-dir", "bin/tools", "directory searched for the other tools before PATH (make bench-tools installs there)")
	flag.StringVar(&rates, "rates", "5000,20000", "fixed rates, req/s")
	flag.Float64Var(&c.grpcRate, "grpc-rate", 5000, "gRPC fixed rate, req/s")
	flag.DurationVar(&c.dur, "duration", 10*time.Second, "length of each run")
	flag.IntVar(&c.runs, "runs", 3, "runs per tool and scenario (the median is printed)")
	flag.IntVar(&c.conns, "conns", 50, "closed loop (max throughput): connections, each with one request in flight")
	flag.IntVar(&c.fixedConns, "fixed-conns", 64, "fixed rate: connections of wrk2 and fortio (hey: 50 workers; tailgate and vegeta: as many as needed)")
	flag.IntVar(&c.grpcConns, "grpc-conns", 1, "gRPC at a fixed rate: connections of tailgate (-c) and ghz (--connections)")
	flag.StringVar(&tools, "tools", "", "run only these tools (comma list of "+strings.Join(toolOrder, ",")+"; default all)")
	flag.StringVar(&scen, "scenarios", "fixed,slow,max,grpc", "which rows: fixed (fixed rates), slow (a fixed rate against a slow target), max (closed loop), grpc")
	flag.Float64Var(&c.slowRate, "slow-rate", 5000, "rate of the slow-target rows, req/s")
	flag.DurationVar(&c.slowSvc, "slow-service", 20*time.Millisecond, "service time of the slow target (the demo's --service-time)")
	flag.StringVar(&c.doc, "doc", "", "also replace the block between <!-- loadbench:begin --> and <!-- loadbench:end --> in this Markdown file with the table (docs/performance.md)")
	flag.StringVar(&extra, "args", "", "extra tailgate run flags, space-separated (e.g. '--engine net/http' or '--coarse-timers')")
	flag.StringVar(&c.md, "md", "", "also write the table as Markdown to this file")
	flag.StringVar(&variants, "variants", "--reads lazy;--timer-slack 1ms;--precise-timers", "extra fixed-rate tailgate rows, each with these run flags (';'-separated; empty for none); the plain tailgate row has the default timing (the adaptive grid)")
	flag.StringVar(&grpcVariants, "grpc-variants", "--engine grpc", "extra gRPC tailgate rows, each with these run flags (';'-separated; empty for none)")
	flag.StringVar(&c.maxServer, "max-server", "raw", "HTTP target of the closed-loop rows: raw (a canned-response server that costs almost nothing, so that the generator saturates) or demo")
	flag.Float64Var(&c.rawFrom, "raw-from", 10000, "fixed rates from this on (req/s) go to the minimal server (-max-server's raw) instead of the demo, which on one vCPU serves about 19,000 req/s at most over 64 connections, so that at 20,000 it, not the generators, is measured; 0: every fixed rate goes to the demo")
	flag.StringVar(&c.grpcMax, "grpc-max-server", "raw", "gRPC target of the closed-loop rows: raw (bench/grpcraw, a canned-response server, described by the demo's protoset) or demo")
	flag.Parse()
	c.extra = strings.Fields(extra)
	addVariants(splitVariants(variants), splitVariants(grpcVariants))
	for _, r := range splitList(rates) {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			fatalf("-rates: %q is not a rate", r)
		}
		c.rates = append(c.rates, v)
	}
	if tools != "" {
		c.only = map[string]bool{}
		for _, t := range splitList(tools) {
			if toolByName(t) == nil {
				fatalf("-tools: unknown tool %q (known: %s)", t, strings.Join(toolOrder, ", "))
			}
			c.only[t] = true
		}
	}
	c.scenarios = map[string]bool{}
	for _, s := range splitList(scen) {
		if s != "fixed" && s != "slow" && s != "max" && s != "grpc" {
			fatalf("-scenarios: unknown %q (fixed, slow, max, grpc)", s)
		}
		c.scenarios[s] = true
	}
	if c.grpcMax != "raw" && c.grpcMax != "demo" {
		fatalf("-grpc-max-server: %q (raw or demo)", c.grpcMax)
	}
	if c.maxServer != "raw" && c.maxServer != "demo" {
		fatalf("-max-server: %q (raw or demo)", c.maxServer)
	}
	if c.runs < 1 || c.dur <= 0 || c.conns < 1 || c.fixedConns < 1 || c.grpcConns < 1 || c.slowRate <= 0 || c.slowSvc <= 0 {
		fatalf("-runs, -duration, -conns, -fixed-conns, -grpc-conns, -slow-rate and -slow-service must be positive")
	}
	if err := run(c); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", a...)
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// scenario is one group of rows: the same load, one row per tool.
type scenario struct {
	title string
	rate  float64       // req/s; 0: closed loop at maximum throughput
	svc   time.Duration // > 0: against the slow target, which answers in this
	grpc  bool
	raw   bool // HTTP at a fixed rate, against the minimal server (-raw-from)
	// protoset describes the gRPC method to the generators, for a server
	// without reflection (bench/grpcraw); "": reflection.
	protoset string
	tools    []*tool // those that apply, found or not, in toolOrder
	base     *tool   // the baseline of the ratio columns, or nil
}

// target is where the generators send.
type target struct {
	httpURL  string // http://127.0.0.1:PORT/
	grpcAddr string // 127.0.0.1:PORT
	rawURL   string // the minimal server for the closed-loop rows; "" for the demo
	slowURL  string // the slow demo's /item; "" when not started
	grpcRaw  string // bench/grpcraw's address for the gRPC closed-loop rows; "" for the demo
}

// forScenario is where sc's rows send, and sc with the protoset that
// describes bench/grpcraw's method when its rows send there.
func (tg target) forScenario(sc scenario) (target, scenario) {
	switch {
	case sc.svc > 0:
		tg.httpURL = tg.slowURL
	case (sc.rate == 0 || sc.raw) && !sc.grpc && tg.rawURL != "":
		tg.httpURL = tg.rawURL
	case sc.rate == 0 && sc.grpc && tg.grpcRaw != "":
		tg.grpcAddr, sc.protoset = tg.grpcRaw, grpcProtoset
	}
	return tg, sc
}

// connsFor is the connections of the tools that take a fixed number at a
// fixed rate (wrk2, fortio, hey's workers, the floor): -fixed-conns, or
// twice the requests in flight against the slow target (rate × service
// time), so that none of them is short of connections.
func connsFor(c config, sc scenario) int {
	if sc.rate == 0 {
		return c.conns
	}
	need := int(2 * sc.rate * sc.svc.Seconds())
	return max(c.fixedConns, need)
}

// result is one run of one tool in one scenario.
type result struct {
	s   sample
	err error
}

func run(c config) error {
	if _, err := os.Stat(c.bin); err != nil {
		return fmt.Errorf("tailgate binary: %v (make build)", err)
	}
	tmp, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if c.only == nil || c.only["floor"] {
		c.floorBin = filepath.Join(tmp, "floor")
		b := exec.Command("go", "build", "-o", c.floorBin, "./bench/floor")
		b.Stderr = os.Stderr
		if err := b.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: building bench/floor (run from the repository root): %v\n", err)
			c.floorBin = ""
		}
	}
	for _, t := range tools {
		t.resolve(c)
	}
	scens := plan(c)
	if len(scens) == 0 {
		return errors.New("nothing to run: check -tools and -scenarios")
	}

	tg, stop, err := startTargets(c, tmp)
	if err != nil {
		return err
	}
	defer stop()

	m := benchhost.Describe(c.bin)
	fmt.Fprintf(os.Stderr, "loadbench: machine: %s\n", m)
	nRuns := 0
	for _, sc := range scens {
		for _, t := range sc.tools {
			if t.path != "" {
				nRuns++
			}
		}
	}
	fmt.Fprintf(os.Stderr, "loadbench: %d runs of %v (about %v); target %s, gRPC %s\n",
		nRuns*c.runs, c.dur, (time.Duration(nRuns*c.runs) * (c.dur + 2*time.Second)).Round(time.Minute), tg.httpURL, tg.grpcAddr)

	res := runAll(c, scens, tg, tmp)
	m.End()
	return writeTable(c, buildTable(c, scens, res), m)
}

// runAll runs every found tool of every scenario c.runs times and returns
// res[scenario][tool], one result per run. Runs are interleaved and the
// order of the tools is rotated from run to run, so that a burst of noise
// on the machine does not land on the same tool every time.
func runAll(c config, scens []scenario, tg target, tmp string) []map[*tool][]result {
	res := make([]map[*tool][]result, len(scens))
	for i := range res {
		res[i] = map[*tool][]result{}
	}
	for r := 0; r < c.runs; r++ {
		for si, sc := range scens {
			var found []*tool
			for _, t := range sc.tools {
				if t.path != "" {
					found = append(found, t)
				}
			}
			for k := range found {
				t := found[(k+r)%len(found)]
				out := filepath.Join(tmp, fmt.Sprintf("%s-%d-%d", t.name, si, r))
				stg, ssc := tg.forScenario(sc)
				s, err := t.run(t, c, stg, ssc, out)
				res[si][t] = append(res[si][t], result{s, err})
				if err != nil {
					fmt.Fprintf(os.Stderr, "run %d/%d %s, %s: failed: %v\n", r+1, c.runs, sc.title, t.name, err)
				} else {
					fmt.Fprintf(os.Stderr, "run %d/%d %s, %s: %s/s, %.1f µs/req, %s\n", r+1, c.runs, sc.title, t.name,
						thousands(s.achieved), s.cpuPerReq, mb(s.maxRSS))
				}
				time.Sleep(300 * time.Millisecond)
			}
		}
	}
	return res
}

// startTargets starts the targets the scenarios need: the demo, the slow
// demo and the minimal server; stop stops them all.
func startTargets(c config, tmp string) (tg target, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	tg, s, err := startTarget(c.bin, 0)
	if err != nil {
		return tg, nil, err
	}
	stops = append(stops, s)
	if c.scenarios["slow"] {
		slow, s, err := startTarget(c.bin, c.slowSvc)
		if err != nil {
			stop()
			return tg, nil, err
		}
		stops = append(stops, s)
		tg.slowURL = slow.httpURL + "item?key=k"
	}
	if needRaw(c) {
		raw, s, err := startRawServer(tmp)
		if err != nil {
			stop()
			return tg, nil, err
		}
		stops = append(stops, s)
		tg.rawURL = raw
	}
	if c.grpcMax == "raw" && c.scenarios["grpc"] {
		raw, s, err := startGRPCRawServer(tmp)
		if err != nil {
			stop()
			return tg, nil, err
		}
		stops = append(stops, s)
		tg.grpcRaw = raw
	}
	return tg, stop, nil
}

// writeTable prints the table and writes it to -md and into -doc.
func writeTable(c config, tb table, m benchhost.Machine) error {
	fmt.Println()
	fmt.Print(tb.text(m, c))
	if c.md != "" {
		if err := os.WriteFile(c.md, []byte(tb.markdown(m, c)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loadbench: wrote %s\n", c.md)
	}
	if c.doc != "" {
		if err := replaceBlock(c.doc, tb.markdown(m, c)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loadbench: updated the table in %s\n", c.doc)
	}
	return nil
}

// plan lists the scenarios with the tools that apply to each and its
// baseline: for fixed rates wrk2, else fortio; for maximum throughput wrk2,
// else wrk; for gRPC ghz.
func plan(c config) []scenario {
	pick := func(apply func(*tool) bool) []*tool {
		var ts []*tool
		for _, name := range toolOrder {
			t := toolByName(name)
			if (c.only == nil || c.only[strings.Fields(name)[0]]) && apply(t) {
				ts = append(ts, t)
			}
		}
		return ts
	}
	base := func(ts []*tool, names ...string) *tool {
		for _, n := range names {
			for _, t := range ts {
				if t.name == n && t.path != "" {
					return t
				}
			}
		}
		return nil
	}
	var out []scenario
	if c.scenarios["fixed"] {
		for _, r := range c.rates {
			ts := pick(func(t *tool) bool { return t.fixed })
			sc := scenario{title: fmt.Sprintf("HTTP/1.1 fixed %s req/s", thousands(r)), rate: r, tools: ts, base: base(ts, "wrk2", "fortio")}
			if sc.raw = rawRate(c, r); sc.raw {
				sc.title += ", minimal server"
			}
			out = append(out, sc)
		}
	}
	if c.scenarios["slow"] {
		ts := pick(func(t *tool) bool { return t.fixed })
		out = append(out, scenario{title: fmt.Sprintf("HTTP/1.1 fixed %s req/s, target answering in %v", thousands(c.slowRate), c.slowSvc),
			rate: c.slowRate, svc: c.slowSvc, tools: ts, base: base(ts, "wrk2", "fortio")})
	}
	if c.scenarios["max"] {
		ts := pick(func(t *tool) bool { return t.max })
		srv := "demo target"
		if c.maxServer == "raw" {
			srv = "minimal server"
		}
		out = append(out, scenario{title: fmt.Sprintf("HTTP/1.1 max, closed loop, %d conns, %s", c.conns, srv), tools: ts, base: base(ts, "wrk2", "wrk")})
	}
	if c.scenarios["grpc"] {
		ts := pick(func(t *tool) bool { return t.grpc })
		out = append(out,
			scenario{title: fmt.Sprintf("gRPC fixed %s req/s, %d conn(s)", thousands(c.grpcRate), c.grpcConns), rate: c.grpcRate, grpc: true, tools: ts, base: base(ts, "ghz")},
			scenario{title: fmt.Sprintf("gRPC max, closed loop, %d conns, %s", c.conns, map[string]string{"raw": "minimal server", "demo": "demo target"}[c.grpcMax]),
				grpc: true, tools: ts, base: base(ts, "ghz")})
	}
	var keep []scenario
	for _, sc := range out {
		if len(sc.tools) > 0 {
			keep = append(keep, sc)
		}
	}
	return keep
}

// rawRate reports whether fixed rate r goes to the minimal server.
func rawRate(c config, r float64) bool { return c.rawFrom > 0 && r >= c.rawFrom }

// needRaw reports whether any row sends to the minimal HTTP server.
func needRaw(c config) bool {
	if c.maxServer == "raw" && c.scenarios["max"] {
		return true
	}
	if c.scenarios["fixed"] {
		for _, r := range c.rates {
			if rawRate(c, r) {
				return true
			}
		}
	}
	return false
}

// startTarget starts the demo target, HTTP and gRPC, pinned to CPU 1. Its
// one key is cached for an hour, so its cost is small and constant and the
// generator is what is measured. With svc > 0, /item answers after svc
// (--service-time, no worker cap).
func startTarget(bin string, svc time.Duration) (target, func(), error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	args := []string{"serve", "demo", "--http", httpAddr, "--grpc", grpcAddr, "--cache-ttl", "1h"}
	if svc > 0 {
		args = append(args, "--service-time", svc.String(), "--workers", "0")
	}
	srv := benchhost.Pin(context.Background(), "1", bin, args...)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return target{}, nil, err
	}
	stop := func() { benchhost.Stop(srv) }
	for _, addr := range []string{httpAddr, grpcAddr} {
		if !waitListening(addr) {
			stop()
			return target{}, nil, fmt.Errorf("demo target did not start on %s", addr)
		}
	}
	return target{httpURL: "http://" + httpAddr + "/", grpcAddr: grpcAddr}, stop, nil
}

// startRawServer builds and starts the minimal HTTP/1.1 server of
// targets/h1's engine comparison (loadcmp serve -kind raw: a canned
// response for every request head, no allocation), pinned to CPU 1, for
// the closed-loop rows: there the target must not be what saturates.
func startRawServer(dir string) (string, func(), error) {
	addr, stop, err := startCanned(dir, "raw server", "./targets/h1/internal/loadcmp/cmd/loadcmp", "serve", "-kind", "raw", "-addr")
	if err != nil {
		return "", nil, err
	}
	return "http://" + addr + "/", stop, nil
}

// startCanned builds the canned-response server pkg (what, in errors) and
// starts it pinned to CPU 1 with args and a free address after them. It
// returns the address and how to stop it: the server exits when its
// standard input closes.
func startCanned(dir, what, pkg string, args ...string) (string, func(), error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	b := exec.Command("go", "build", "-o", bin, pkg)
	b.Stderr = os.Stderr
	if err := b.Run(); err != nil {
		return "", nil, fmt.Errorf("building the %s (run from the repository root): %v", what, err)
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	srv := benchhost.Pin(context.Background(), "1", bin, append(args, addr)...)
	stdin, err := srv.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { stdin.Close(); srv.Wait() }
	if !waitListening(addr) {
		stop()
		return "", nil, fmt.Errorf("%s did not start on %s", what, addr)
	}
	return addr, stop, nil
}

// grpcProtoset describes demo.Store to the generators, for bench/grpcraw
// (no reflection): relative to the repository root, where loadbench runs.
const grpcProtoset = "targets/servers/grpcdemo/testdata/demo.protoset"

// startGRPCRawServer builds bench/grpcraw and starts it pinned to CPU 1.
// It returns the server's address and how to stop it.
func startGRPCRawServer(dir string) (string, func(), error) {
	return startCanned(dir, "raw gRPC server", "./bench/grpcraw", "-addr")
}

// waitListening waits up to 5 s for addr to accept connections.
func waitListening(addr string) bool {
	for i := 0; i <= 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// execution is a finished run of a generator.
type execution struct {
	stdout, stderr string
	cpu            time.Duration // user+sys
	maxRSS         int64         // KiB
	exit           int
}

// execPinned runs a generator on CPU 0 and waits for it, for at most the
// run's duration and a minute. okExit lists the exit codes that are not a
// failure (besides 0).
func execPinned(c config, name string, args []string, okExit ...int) (execution, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.dur+time.Minute)
	defer cancel()
	cmd := benchhost.Pin(ctx, "0", name, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	e := execution{stdout: stdout.String(), stderr: stderr.String()}
	if cmd.ProcessState == nil {
		return e, err
	}
	e.exit = cmd.ProcessState.ExitCode()
	e.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	e.maxRSS = maxRSSKiB(cmd.ProcessState)
	if ctx.Err() != nil {
		return e, fmt.Errorf("%s did not finish within %v", filepath.Base(name), c.dur+time.Minute)
	}
	if err != nil {
		for _, ok := range okExit {
			if e.exit == ok {
				return e, nil
			}
		}
		return e, fmt.Errorf("%s: %v: %s", filepath.Base(name), err, benchhost.LastLine(e.stderr+e.stdout))
	}
	return e, nil
}

// The block of a Markdown file that -doc replaces.
const (
	blockBegin = "<!-- loadbench:begin -->"
	blockEnd   = "<!-- loadbench:end -->"
)

// replaceBlock replaces what lies between blockBegin and blockEnd in the
// file at path with md.
func replaceBlock(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := withBlock(string(b), md)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func withBlock(doc, md string) (string, error) {
	i, j := strings.Index(doc, blockBegin), strings.Index(doc, blockEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s … %s block", blockBegin, blockEnd)
	}
	return doc[:i+len(blockBegin)] + "\n" + strings.TrimRight(md, "\n") + "\n" + doc[j:], nil
}
