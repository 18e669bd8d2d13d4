// Package benchhost is what tailgate's load benchmarks (bench/loadbench and
// targets/h1's engine comparison) share about the machine they run on:
// the CPU model, pinning a process to a CPU, and reading wrk's output.
package benchhost

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
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

// Stop interrupts cmd and waits for it to exit, killing it after 5 s.
func Stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

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

// Machine is what a benchmark table says about the machine it ran on.
type Machine struct {
	CPU    string // model name
	Cores  int    // logical CPUs
	Kernel string // "Linux 6.1.0", else GOOS
	Go     string // the Go version of the measured binary, else this one's
	Pinned bool   // Pin pins (taskset, two CPUs or more)
	// Load is the load average (1, 5, 15 minutes) when Describe was
	// called, and LoadEnd when End was: a shared machine's noise.
	Load, LoadEnd string
	Start, Stop   time.Time
}

// Describe reads the machine now; bin, when not empty, is the binary whose
// Go version is reported.
func Describe(bin string) Machine {
	m := Machine{CPU: CPUModel(), Cores: runtime.NumCPU(), Pinned: Pinned(), Start: time.Now().UTC(), Go: runtime.Version(), Load: LoadAverage()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	} else {
		m.Kernel = runtime.GOOS
	}
	if bin != "" {
		if bi, err := buildinfo.ReadFile(bin); err == nil {
			m.Go = bi.GoVersion
		}
	}
	return m
}

// End records the end of the measurement and the load average then.
func (m *Machine) End() {
	m.Stop, m.LoadEnd = time.Now().UTC(), LoadAverage()
}

// LoadAverage is /proc/loadavg's three load averages, "0.91 1.07 1.20", or
// "" where there is none.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

func (m Machine) String() string {
	pin := "generator pinned to CPU 0 and target to CPU 1 (taskset)"
	if !m.Pinned {
		pin = "not pinned (no taskset or one CPU)"
	}
	s := fmt.Sprintf("%s, %d CPUs, %s, %s, %s", m.CPU, m.Cores, m.Kernel, m.Go, m.Start.Format("2006-01-02 15:04"))
	if !m.Stop.IsZero() {
		s += "–" + m.Stop.Format("15:04")
	}
	s += " UTC, " + pin
	if m.Load != "" {
		s += ", load average " + m.Load + " at start"
		if m.LoadEnd != "" {
			s += ", " + m.LoadEnd + " at the end"
		}
	}
	return s
}
