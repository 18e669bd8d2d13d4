//go:build unix

package loadcmp

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"tailgate/generator"
	"tailgate/targets"
)

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
