// Command soak runs tailgate for a long time at a fixed rate against the
// demo target and samples the generator's RSS, its requests in flight at
// peak and its workers: memory must stay flat (within 2 % from the end of
// the warm-up to the end) however long the run, and is fitted as a base
// plus a cost per worker (a request in flight at the recent peak).
//
//	go run ./bench/soak -bin bin/tailgate -duration 1h -rate 5000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tailgate/internal/benchhost"
	"tailgate/results"
)

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/tailgate", "tailgate binary")
	flag.DurationVar(&c.dur, "duration", time.Hour, "length of the soak")
	flag.Float64Var(&c.rate, "rate", 5000, "offered rate, req/s")
	flag.DurationVar(&c.every, "every", time.Minute, "sampling interval after the warm-up (every 10 s before)")
	flag.DurationVar(&c.warm, "warmup", 2*time.Minute, "samples before this are warm-up: not held to the limit")
	flag.StringVar(&c.keys, "keys", "zipf:1.1:100000", "the {{key}} distribution of the requests (tailgate run --keys)")
	flag.Float64Var(&c.limit, "limit", 0.02, "largest RSS spread after the warm-up, (max − min) ÷ min")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, keys        string
	dur, every, warm time.Duration
	rate, limit      float64
	metrics          string
}

// point is one sample of the generator.
type point struct {
	at            time.Duration
	rssKB         int64
	peak, workers float64 // from its metrics; -1 when not read
}

func rssKB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// gauges reads tailgate_peak_in_flight and tailgate_workers from the
// generator's metrics endpoint.
func gauges(addr string) (peak, workers float64) {
	peak, workers = -1, -1
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(f[0], "{")
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		switch name {
		case "tailgate_peak_in_flight":
			peak = v
		case "tailgate_workers":
			workers = v
		}
	}
	return
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func run(c config) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	if c.metrics, err = freeAddr(); err != nil {
		return err
	}
	// The target answers every key from its cache once it has seen it, on
	// the other CPU, so that it keeps up and what is measured is the
	// generator's memory, not a saturated target's backlog.
	srv := benchhost.Pin(context.Background(), "1", c.bin, "serve", "demo", "--http", addr, "--cache-ttl", "1h", "--cache-size", "100000")
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	time.Sleep(500 * time.Millisecond)
	tmp, _ := os.MkdirTemp("", "soak")
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "soak.json")
	gen := benchhost.Pin(context.Background(), "0", c.bin, "run", "http://"+addr+"/item?key={{key}}", "--keys", c.keys,
		"--rate", fmt.Sprint(c.rate), "--duration", c.dur.String(), "--arrivals", "poisson", "--out", out, "-q",
		"--metrics-addr", c.metrics)
	gen.Stderr = os.Stderr
	if err := gen.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- gen.Wait() }()
	fmt.Printf("soak: %v at %g req/s; RSS every 10 s to %v (warm-up), then every %v\n", c.dur, c.rate, c.warm, c.every)
	fmt.Printf("%9s  %8s  %16s  %7s\n", "elapsed", "RSS", "peak in flight", "workers")
	start := time.Now()
	var pts []point
	next := 10 * time.Second
loop:
	for {
		select {
		case err := <-done:
			if err != nil && gen.ProcessState.ExitCode() != 3 {
				return err
			}
			break loop
		case <-time.After(time.Until(start.Add(next))):
			kb, err := rssKB(gen.Process.Pid)
			if err == nil {
				p := point{at: time.Since(start).Round(time.Second), rssKB: kb}
				p.peak, p.workers = gauges(c.metrics)
				pts = append(pts, p)
				fmt.Printf("%9v  %5.1f MB  %16.0f  %7.0f\n", p.at, float64(kb)/1024, p.peak, p.workers)
			}
			if next < c.warm {
				next += 10 * time.Second
			} else {
				next += c.every
			}
		}
	}
	f, err := results.Read(out)
	if err != nil {
		return err
	}
	g := f.Summary.Generator
	fmt.Printf("generator: %d requests, peak in flight %d, %d workers started, %d retired; max RSS %.1f MB, %d GCs, GC pause p99 %v max %v\n",
		g.Sent, g.PeakInFlight, g.Workers, g.Retired, float64(g.MaxRSS)/1e6, g.GCCount, g.GCPauseP99, g.GCPauseMax)
	report(pts, c)
	return flat(pts, c)
}

// report prints the fit RSS ≈ base + cost × workers over every sample
// (workers being the requests in flight the recent peak needed).
func report(pts []point, c config) {
	var xs, ys []float64
	for _, p := range pts {
		if p.workers >= 0 {
			xs, ys = append(xs, p.workers), append(ys, float64(p.rssKB))
		}
	}
	base, cost, ok := fit(xs, ys)
	if !ok {
		fmt.Println("fit: the workers did not vary enough to fit RSS = base + cost × workers")
		return
	}
	fmt.Printf("fit over %d samples: RSS ≈ %.1f MB + %.1f KB × workers (requests in flight at the recent peak)\n", len(xs), base/1024, cost)
}

// fit is the least-squares line y = a + b·x; ok is false when x hardly
// varies (less than 10 % of its mean, or fewer than 3 points).
func fit(x, y []float64) (a, b float64, ok bool) {
	n := float64(len(x))
	if len(x) < 3 {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	lo, hi := x[0], x[0]
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
		lo, hi = min(lo, x[i]), max(hi, x[i])
	}
	if hi-lo < 0.1*sx/n || hi == lo {
		return 0, 0, false
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a = (sy - b*sx) / n
	return a, b, true
}

// flat checks the RSS after the warm-up: its spread within c.limit.
func flat(pts []point, c config) error {
	var lo, hi, first, last int64
	for _, p := range pts {
		if p.at < c.warm {
			continue
		}
		if first == 0 {
			first, lo, hi = p.rssKB, p.rssKB, p.rssKB
		}
		last, lo, hi = p.rssKB, min(lo, p.rssKB), max(hi, p.rssKB)
	}
	if first == 0 {
		fmt.Println("no samples after the warm-up")
		return nil
	}
	spread := float64(hi-lo) / float64(lo)
	fmt.Printf("RSS from %v to the end: %.1f MB → %.1f MB (%+.1f%%), min %.1f MB, max %.1f MB: spread %.1f%% (limit %.0f%%)\n",
		c.warm, float64(first)/1024, float64(last)/1024, 100*(float64(last)/float64(first)-1), float64(lo)/1024, float64(hi)/1024, 100*spread, 100*c.limit)
	if spread > c.limit {
		return fmt.Errorf("RSS spread %.1f%% after the warm-up (limit %.0f%%)", 100*spread, 100*c.limit)
	}
	return nil
}
