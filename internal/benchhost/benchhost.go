// Package benchhost is what tailgate's load benchmarks (bench/loadbench and
// targets/h1's engine comparison) share about the machine they run on:
// the CPU model, pinning a process to a CPU, and reading wrk's output.
package benchhost

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// CPUModel is the processor's model name from /proc/cpuinfo, else GOARCH.
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return runtime.GOARCH
}

// Pinned reports whether Pin pins: there are at least two CPUs and taskset
// is on PATH.
func Pinned() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}

// Pin returns a command that runs name on the given CPU, through taskset
// when Pinned. taskset execs the program, so the child's rusage is the
// program's own.
func Pin(ctx context.Context, cpu, name string, args ...string) *exec.Cmd {
	if Pinned() {
		return exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// Wrk is what a wrk or wrk2 run reports.
type Wrk struct {
	Requests int64   // "N requests in"
	Rate     float64 // "Requests/sec:"
	Errors   int64   // non-2xx/3xx responses and socket errors
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in `)
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// ParseWrk reads wrk's (or wrk2's) summary.
func ParseWrk(out string) (Wrk, error) {
	var w Wrk
	m := wrkRequests.FindStringSubmatch(out)
	r := wrkRate.FindStringSubmatch(out)
	if m == nil || r == nil {
		return w, fmt.Errorf("no \"N requests in\" or \"Requests/sec:\" in the output: %s", LastLine(out))
	}
	w.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	w.Rate, _ = strconv.ParseFloat(r[1], 64)
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		w.Errors += n
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, f := range m[1:] {
			n, _ := strconv.ParseInt(f, 10, 64)
			w.Errors += n
		}
	}
	return w, nil
}

// LastLine is the last non-blank line of s, for error messages.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
