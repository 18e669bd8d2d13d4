//go:build linux

// Command uring measures bench/floor's io_uring loop (-uring) against its
// epoll loop: issue 21's experiment with kernel-timed sends. It builds
// bench/floor, starts the targets bench/loadbench uses (the demo target for
// the fixed rates, the minimal raw server for the closed loop) pinned to CPU
// 1, runs every mode of the floor pinned to CPU 0, interleaved (run 1 of
// every mode, then run 2, the order rotated from run to run), and prints
// the medians as a Markdown table: achieved rate, CPU µs per response
// (user+sys from the child's rusage), voluntary context switches and
// returns to user space per response, send lag and latency.
//
//	go run ./bench/uring -runs 3 -duration 10s
//
// Run it from the repository root.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tailgate/internal/benchhost"
)

// mode is one way of running the floor.
type mode struct {
	name  string
	args  []string
	fixed bool // takes part at fixed rates
	max   bool // and in closed loop
}

var modes = []mode{
	{name: "epoll", fixed: true, max: true},
	{name: "epoll -lazy", args: []string{"-lazy"}, fixed: true},
	{name: "uring", args: []string{"-uring"}, fixed: true, max: true},
	{name: "uring timeout", args: []string{"-uring", "-uring-timer", "timeout"}, fixed: true},
}

type config struct {
	bin        string
	rates      []float64
	max        bool
	runs       int
	dur        time.Duration
	conns      int // fixed rates
	maxConns   int // closed loop
	interval   string
	stampEvery string
	only       []string // mode names; nil: all
	quietWait  time.Duration
	maxOthers  float64
	retries    int
}

// sample is one run of one mode.
type sample struct {
	achieved         float64
	cpuPerReq        float64 // µs of user+sys per response
	vcswPerReq       float64 // voluntary context switches per response
	wakesPerReq      float64 // the loop's returns from epoll_wait or io_uring_enter per response
	lag50, lag99     time.Duration
	lat50, lat99     time.Duration
	lagSamples, errs int64
	redials          int64
	cpu              time.Duration
	others           float64 // the machine's CPU used by other processes during the run, fraction of all CPUs
}

func main() {
	var c config
	var rates, only string
	flag.StringVar(&c.bin, "bin", "", "tailgate binary for the demo target (default: built from ./cmd/tailgate)")
	flag.StringVar(&rates, "rates", "5000,20000", "fixed rates, req/s")
	flag.BoolVar(&c.max, "max", true, "also the closed loop (maximum throughput) against the raw server")
	flag.IntVar(&c.runs, "runs", 3, "runs per mode and scenario (the table shows medians)")
	flag.DurationVar(&c.dur, "duration", 10*time.Second, "length of each run")
	flag.IntVar(&c.conns, "conns", 64, "connections at a fixed rate")
	flag.IntVar(&c.maxConns, "max-conns", 50, "connections in closed loop")
	flag.StringVar(&c.interval, "interval", "1ms", "floor -interval for the io_uring modes")
	flag.StringVar(&c.stampEvery, "stamp-every", "16", "floor -stamp-every for the io_uring modes")
	flag.Float64Var(&c.maxOthers, "max-others", 0.15, "run again when other processes took more than this share of the machine during a run")
	flag.IntVar(&c.retries, "retries", 2, "runs again at most")
	flag.DurationVar(&c.quietWait, "quiet-wait", 3*time.Minute, "before each run, wait up to this long for a second in which the machine is at least 90 % idle")
	flag.StringVar(&only, "modes", "", "run only these modes (comma list: epoll, epoll -lazy, uring, uring timeout)")
	flag.Parse()
	for _, r := range strings.Split(rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			fatalf("-rates: %q is not a rate", r)
		}
		c.rates = append(c.rates, v)
	}
	if only != "" {
		c.only = strings.Split(only, ",")
	}
	if err := run(c); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "uring: "+format+"\n", a...)
	os.Exit(1)
}

// scenario is one load: a fixed rate, or the closed loop (rate 0).
type scenario struct {
	rate  float64
	url   string
	modes []mode
	pid   int // the target's
}

func (s scenario) String() string {
	if s.rate == 0 {
		return "closed loop"
	}
	return strconv.FormatFloat(s.rate, 'f', -1, 64) + " req/s"
}

func run(c config) error {
	tmp, err := os.MkdirTemp("", "uring")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	floor := filepath.Join(tmp, "floor")
	if err := build(floor, "./bench/floor"); err != nil {
		return err
	}
	if c.bin == "" {
		c.bin = filepath.Join(tmp, "tailgate")
		if err := build(c.bin, "./cmd/tailgate"); err != nil {
			return err
		}
	}
	scens, stop, err := targets(c, tmp)
	if err != nil {
		return err
	}
	defer stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stop() // the targets, and the floor dies with its context
		os.RemoveAll(tmp)
		os.Exit(1)
	}()
	start, load0 := time.Now().UTC(), loadavg()
	res := make([]map[string][]sample, len(scens))
	for r := 0; r < c.runs; r++ {
		for si, sc := range scens {
			if res[si] == nil {
				res[si] = map[string][]sample{}
			}
			for k := range sc.modes {
				m := sc.modes[(k+r)%len(sc.modes)]
				s, err := runQuiet(c, floor, sc, m)
				if err != nil {
					return fmt.Errorf("%s, %s: %v", sc, m.name, err)
				}
				res[si][m.name] = append(res[si][m.name], s)
				fmt.Fprintf(os.Stderr, "run %d/%d %s %s: %.0f/s, %.2f µs/req, %.2f vcsw/req, %.2f wakes/req, lag p50 %v p99 %v (%d measured), %d errors, %d redials, others %.0f %%\n",
					r+1, c.runs, sc, m.name, s.achieved, s.cpuPerReq, s.vcswPerReq, s.wakesPerReq, s.lag50, s.lag99, s.lagSamples, s.errs, s.redials, 100*s.others)
			}
		}
	}
	fmt.Printf("%s, %d CPUs, Linux %s, %s–%s UTC, load average %s at start, %s at end; floor pinned to CPU 0, target to CPU 1; %d runs of %v, medians\n\n",
		benchhost.CPUModel(), runtime.NumCPU(), kernel(), start.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"), load0, loadavg(), c.runs, c.dur)
	fmt.Print(table(scens, res))
	return nil
}

func build(out, pkg string) error {
	b := exec.Command("go", "build", "-o", out, pkg)
	b.Stderr = os.Stderr
	if err := b.Run(); err != nil {
		return fmt.Errorf("building %s (run from the repository root): %v", pkg, err)
	}
	return nil
}

// targets starts the demo target for the fixed rates and the raw server
// for the closed loop, both on CPU 1, and lists the scenarios.
func targets(c config, tmp string) ([]scenario, func(), error) {
	pick := func(keep func(mode) bool) []mode {
		var ms []mode
		for _, m := range modes {
			if keep(m) && (c.only == nil || slices.Contains(c.only, m.name)) {
				ms = append(ms, m)
			}
		}
		return ms
	}
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	var scens []scenario
	if len(c.rates) > 0 {
		addr, pid, s, err := serve(nil, c.bin, "serve", "demo", "--cache-ttl", "1h", "--http")
		if err != nil {
			return nil, nil, err
		}
		stops = append(stops, s)
		for _, r := range c.rates {
			scens = append(scens, scenario{rate: r, url: "http://" + addr + "/", modes: pick(func(m mode) bool { return m.fixed }), pid: pid})
		}
	}
	if c.max {
		raw := filepath.Join(tmp, "loadcmp")
		if err := build(raw, "./targets/h1/internal/loadcmp/cmd/loadcmp"); err != nil {
			stop()
			return nil, nil, err
		}
		// The raw server exits when its standard input closes.
		pr, pw := io.Pipe()
		addr, pid, s, err := serve(pr, raw, "serve", "-kind", "raw", "-addr")
		if err != nil {
			stop()
			return nil, nil, err
		}
		stops = append(stops, func() { pw.Close(); s() })
		scens = append(scens, scenario{url: "http://" + addr + "/", modes: pick(func(m mode) bool { return m.max }), pid: pid})
	}
	return scens, stop, nil
}

// serve starts name args... ADDR on CPU 1 and waits until it listens;
// pid is its process (taskset execs it).
func serve(stdin io.Reader, name string, args ...string) (addr string, pid int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd := benchhost.Pin(context.Background(), "1", name, append(args, addr)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() { benchhost.Stop(cmd) }
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, cmd.Process.Pid, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", 0, nil, fmt.Errorf("%s did not start on %s", filepath.Base(name), addr)
}

// runQuiet runs the floor once when the machine is quiet, again (up to
// -retries times) while other processes took more than -max-others of it
// during the run, and keeps the last run.
func runQuiet(c config, floor string, sc scenario, m mode) (sample, error) {
	for try := 0; ; try++ {
		waitQuiet(c.quietWait)
		before := snapshot(sc.pid)
		s, err := runFloor(c, floor, sc, m)
		if err != nil {
			return s, err
		}
		s.others = snapshot(sc.pid).othersSince(before, s.cpu)
		time.Sleep(300 * time.Millisecond)
		if s.others <= c.maxOthers || try >= c.retries {
			return s, nil
		}
		fmt.Fprintf(os.Stderr, "(%s %s: others took %.0f %% of the machine, again)\n", sc, m.name, 100*s.others)
	}
}

// runFloor runs the floor once on CPU 0 and reads its report and rusage.
func runFloor(c config, floor string, sc scenario, m mode) (sample, error) {
	conns := c.conns
	if sc.rate == 0 {
		conns = c.maxConns
	}
	args := []string{"-url", sc.url, "-c", strconv.Itoa(conns), "-d", c.dur.String(), "-rate", strconv.FormatFloat(sc.rate, 'f', -1, 64)}
	if slices.Contains(m.args, "-uring") {
		args = append(args, "-interval", c.interval, "-stamp-every", c.stampEvery)
	}
	args = append(args, m.args...)
	ctx, cancel := context.WithTimeout(context.Background(), c.dur+time.Minute)
	defer cancel()
	cmd := benchhost.Pin(ctx, "0", floor, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	var r struct {
		Completed  int64   `json:"completed"`
		Achieved   float64 `json:"achieved"`
		Errors     int64   `json:"errors"`
		LagP50     int64   `json:"lag_p50_ns"`
		LagP99     int64   `json:"lag_p99_ns"`
		LatP50     int64   `json:"latency_p50_ns"`
		LatP99     int64   `json:"latency_p99_ns"`
		LagSamples int64   `json:"lag_samples"`
		Wakes      int64   `json:"wakes"`
		Redials    int64   `json:"redials"`
	}
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil || r.Completed <= 0 {
		return sample{}, fmt.Errorf("report %q: %v", out.String(), err)
	}
	s := sample{achieved: r.Achieved, errs: r.Errors, redials: r.Redials,
		lag50: time.Duration(r.LagP50), lag99: time.Duration(r.LagP99), lat50: time.Duration(r.LatP50), lat99: time.Duration(r.LatP99),
		lagSamples: r.LagSamples}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, fmt.Errorf("no rusage")
	}
	n := float64(r.Completed)
	s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.cpuPerReq = float64(s.cpu.Nanoseconds()) / 1e3 / n
	s.vcswPerReq = float64(ru.Nvcsw) / n
	s.wakesPerReq = float64(r.Wakes) / n
	return s, nil
}

// table is the Markdown table of the medians.
func table(scens []scenario, res []map[string][]sample) string {
	var b strings.Builder
	b.WriteString("| load | loop | achieved req/s | CPU µs/req | vol. ctx switches/req | loop wakes/req | send lag p50 / p99 | latency p50 / p99 | errors | others' CPU |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for si, sc := range scens {
		for _, m := range sc.modes {
			ss := res[si][m.name]
			med := func(f func(sample) float64) float64 {
				v := make([]float64, len(ss))
				for i, s := range ss {
					v[i] = f(s)
				}
				slices.Sort(v)
				return v[len(v)/2]
			}
			dur := func(f func(sample) time.Duration) string {
				return us(time.Duration(med(func(s sample) float64 { return float64(f(s)) })))
			}
			lag := "–"
			if sc.rate > 0 {
				lag = dur(func(s sample) time.Duration { return s.lag50 }) + " / " + dur(func(s sample) time.Duration { return s.lag99 })
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f | %.2f | %.2f | %s | %s / %s | %.0f | %.0f %% |\n", sc, m.name,
				med(func(s sample) float64 { return s.achieved }),
				med(func(s sample) float64 { return s.cpuPerReq }),
				med(func(s sample) float64 { return s.vcswPerReq }),
				med(func(s sample) float64 { return s.wakesPerReq }),
				lag,
				dur(func(s sample) time.Duration { return s.lat50 }), dur(func(s sample) time.Duration { return s.lat99 }),
				med(func(s sample) float64 { return float64(s.errs) }),
				100*med(func(s sample) float64 { return s.others }))
		}
	}
	return b.String()
}

// us is a duration in µs, to one decimal under 100 µs, or from 10 ms in
// ms.
func us(d time.Duration) string {
	switch v := float64(d) / 1e3; {
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " µs"
	case v < 10000:
		return strconv.FormatFloat(v, 'f', 0, 64) + " µs"
	default:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + " ms"
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// cpuSnap is the machine's CPU time (busy and total, in USER_HZ ticks,
// from /proc/stat) and the target's (utime+stime ticks) at one moment.
type cpuSnap struct {
	busy, total, target int64
}

func snapshot(pid int) cpuSnap {
	var s cpuSnap
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		// user nice system idle iowait irq softirq steal (guest time is
		// in user already); stolen time is noise as much as a neighbour.
		for k, f := range strings.Fields(line)[1:] {
			if k > 7 {
				break
			}
			v, _ := strconv.ParseInt(f, 10, 64)
			s.total += v
			if k != 3 && k != 4 {
				s.busy += v
			}
		}
	}
	if pid > 0 {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			// After the command name in parentheses, utime and stime are
			// the 12th and 13th fields.
			if _, rest, ok := strings.Cut(string(b), ") "); ok {
				if f := strings.Fields(rest); len(f) > 12 {
					u, _ := strconv.ParseInt(f[11], 10, 64)
					st, _ := strconv.ParseInt(f[12], 10, 64)
					s.target = u + st
				}
			}
		}
	}
	return s
}

// othersSince is the fraction of the machine that processes other than
// the floor (which used own) and the target used since before.
func (s cpuSnap) othersSince(before cpuSnap, own time.Duration) float64 {
	total := s.total - before.total
	if total <= 0 {
		return 0
	}
	const hz = 100 // USER_HZ
	busy := float64(s.busy-before.busy-(s.target-before.target)) - own.Seconds()*hz
	return max(busy, 0) / float64(total)
}

// waitQuiet waits, up to limit, for a second in which the machine is at
// least 90 % idle.
func waitQuiet(limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		a := snapshot(0)
		time.Sleep(time.Second)
		b := snapshot(0)
		if b.total > a.total && float64(b.busy-a.busy)/float64(b.total-a.total) < 0.1 {
			return
		}
	}
}
