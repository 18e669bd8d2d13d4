// Command loadbench measures tailgate as a load generator: it starts the
// demo target, runs `tailgate run` at fixed rates against it on loopback,
// and prints the achieved rate, the generator's CPU time per request
// (user+sys from rusage), its max RSS and its send lag.
//
//	go run ./bench/loadbench -bin bin/tailgate -rates 5000,20000 -duration 10s
//
// With taskset on PATH the generator is pinned to CPU 0 and the target to
// CPU 1, as the performance goals are stated.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tailgate/results"
)

func main() {
	bin := flag.String("bin", "bin/tailgate", "tailgate binary")
	rates := flag.String("rates", "5000,20000", "offered rates, req/s")
	dur := flag.Duration("duration", 10*time.Second, "length of each run")
	runs := flag.Int("runs", 3, "runs per rate (the median is printed)")
	extra := flag.String("args", "", "extra tailgate run flags, space-separated (e.g. '--engine net/http' or '--coarse-timers')")
	flag.Parse()
	extraArgs = strings.Fields(*extra)
	if err := run(*bin, *rates, *dur, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

var extraArgs []string

type sample struct {
	achieved, cpuPerReq float64 // req/s, µs
	maxRSS              int64   // KiB
	lag50, lag99        time.Duration
	resp99, svc99       time.Duration
	errors              int64
	verdict             string // the run's self-check verdict
}

func pin(cpu string, name string, args ...string) *exec.Cmd {
	if runtime.NumCPU() >= 2 {
		if ts, err := exec.LookPath("taskset"); err == nil {
			return exec.Command(ts, append([]string{"-c", cpu, name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

func run(bin string, rates string, dur time.Duration, runs int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	// A cheap target: one key, always cached, so the target's cost is small
	// and constant and the generator is what is measured.
	srv := pin("1", bin, "serve", "demo", "--addr", addr, "--cache-ttl", "1h")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("demo target did not start on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tmp, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Printf("machine: %s, %d CPUs, %s, generator pinned: %v\n", cpuModel(), runtime.NumCPU(), runtime.Version(), hasTaskset())
	fmt.Printf("target: tailgate demo target on %s (cached key); %d run(s) of %v per rate, median shown; extra flags %q\n\n", addr, runs, dur, extraArgs)
	fmt.Printf("%-10s %-12s %-14s %-10s %-12s %-12s %-12s %-12s %-7s %s\n",
		"offered/s", "achieved/s", "CPU µs/req", "maxRSS", "lag p50", "lag p99", "resp p99", "svc p99", "errors", "self-check")
	for _, rs := range strings.Split(rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			return fmt.Errorf("rate %q: %v", rs, err)
		}
		var ss []sample
		for i := 0; i < runs; i++ {
			s, err := once(bin, addr, rate, dur, filepath.Join(tmp, fmt.Sprintf("r-%v-%d.json", rate, i)))
			if err != nil {
				return err
			}
			ss = append(ss, s)
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].cpuPerReq < ss[j].cpuPerReq })
		m := ss[len(ss)/2]
		fmt.Printf("%-10.0f %-12.0f %-14.1f %-10s %-12s %-12s %-12s %-12s %-7d %s\n",
			rate, m.achieved, m.cpuPerReq, fmt.Sprintf("%.1fMB", float64(m.maxRSS)/1024),
			results.FormatDuration(m.lag50), results.FormatDuration(m.lag99),
			results.FormatDuration(m.resp99), results.FormatDuration(m.svc99), m.errors, m.verdict)
	}
	return nil
}

func once(bin, addr string, rate float64, dur time.Duration, out string) (sample, error) {
	args := append([]string{"run", "http://" + addr + "/", "--rate", fmt.Sprint(rate), "--duration", dur.String(),
		"--max-in-flight", "4096", "--out", out, "-q", "--format", "json"}, extraArgs...)
	cmd := pin("0", bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 3 {
		return sample{}, fmt.Errorf("tailgate run at %v/s: %w: %s", rate, err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	f, err := results.Read(out)
	if err != nil {
		return sample{}, err
	}
	t := f.Summary.Total
	verdict := "PASS"
	if f.Verdict != nil {
		verdict = string(f.Verdict.Status)
		for _, fd := range f.Verdict.Findings {
			if !fd.OK {
				verdict += " (" + fd.Check + ")"
				break
			}
		}
	}
	s := sample{
		verdict:  verdict,
		achieved: t.AchievedRate,
		maxRSS:   ru.Maxrss,
		lag50:    t.SendLag.P50, lag99: t.SendLag.P99,
		resp99: t.Response.P99, svc99: t.Service.P99,
		errors: t.Errors,
	}
	if n := t.Completed(); n > 0 {
		s.cpuPerReq = float64(cpu.Microseconds()) / float64(n)
	}
	return s, nil
}

func hasTaskset() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
