// Command soak runs tailgate for a long time at a fixed rate against the
// demo target and samples the generator's RSS every minute: memory must
// stay flat (within 10 % after warm-up) however long the run.
//
//	go run ./bench/soak -bin bin/tailgate -duration 1h -rate 1000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tailgate/results"
)

func main() {
	bin := flag.String("bin", "bin/tailgate", "tailgate binary")
	dur := flag.Duration("duration", time.Hour, "length of the soak")
	rate := flag.Float64("rate", 1000, "offered rate, req/s")
	every := flag.Duration("every", time.Minute, "RSS sampling interval")
	warm := flag.Duration("warmup", 5*time.Minute, "samples before this are warm-up")
	flag.Parse()
	if err := run(*bin, *dur, *rate, *every, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
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

func run(bin string, dur time.Duration, rate float64, every, warm time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(bin, "serve", "demo", "--http", addr)
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	time.Sleep(500 * time.Millisecond)
	tmp, _ := os.MkdirTemp("", "soak")
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "soak.json")
	gen := exec.Command(bin, "run", "http://"+addr+"/item?key={{key}}", "--keys", "zipf:1.1:100000",
		"--rate", fmt.Sprint(rate), "--duration", dur.String(), "--arrivals", "poisson", "--out", out, "-q")
	gen.Stderr = os.Stderr
	if err := gen.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- gen.Wait() }()
	fmt.Printf("soak: %v at %g req/s; RSS every %v (warm-up %v)\n", dur, rate, every, warm)
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	var base, peak int64
loop:
	for {
		select {
		case err := <-done:
			if err != nil && gen.ProcessState.ExitCode() != 3 {
				return err
			}
			break loop
		case <-tick.C:
			kb, err := rssKB(gen.Process.Pid)
			if err != nil {
				continue
			}
			el := time.Since(start).Round(time.Second)
			fmt.Printf("%8v  RSS %6.1f MB\n", el, float64(kb)/1024)
			if el >= warm {
				if base == 0 {
					base = kb
				}
				peak = max(peak, kb)
			}
		}
	}
	f, err := results.Read(out)
	if err != nil {
		return err
	}
	g := f.Summary.Generator
	fmt.Printf("generator: %d requests, max RSS %.1f MB, %d GCs, GC pause p99 %v max %v\n",
		g.Sent, float64(g.MaxRSS)/1e6, g.GCCount, g.GCPauseP99, g.GCPauseMax)
	if base > 0 {
		growth := float64(peak)/float64(base) - 1
		fmt.Printf("RSS after warm-up: %.1f MB → peak %.1f MB (%+.1f%%)\n", float64(base)/1024, float64(peak)/1024, 100*growth)
		if growth > 0.10 {
			return fmt.Errorf("RSS grew %.1f%% after warm-up (limit 10%%)", 100*growth)
		}
	}
	return nil
}
