package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A tailgate process sent SIGINT or SIGTERM at several points still
// leaves a complete, readable result file, marked interrupted, and exits
// 130.
func TestSignalsLeaveReadableResults(t *testing.T) {
	base := startDemoProcess(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		after time.Duration
		extra []string
	}{
		{"before the first request (waiting for --start-at)", syscall.SIGINT, 300 * time.Millisecond,
			[]string{"--start-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
		{"mid-run, SIGINT", syscall.SIGINT, 1200 * time.Millisecond, nil},
		{"mid-run, SIGTERM", syscall.SIGTERM, 1200 * time.Millisecond, nil},
		{"mid-profile, with a fault applied", syscall.SIGINT, 4 * time.Second, []string{"--profile", "testdata/degraded-short.yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("r-%d.json", tt.sig)+filepath.Base(t.Name())+".json")
			args := []string{"run", base + "/item?key={{key}}", "-q", "--out", out, "--keys", "uniform:100"}
			if len(tt.extra) == 0 || tt.extra[0] != "--profile" {
				args = append(args, "--rate", "200", "--duration", "1m")
			}
			args = append(args, tt.extra...)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "TAILGATE_RUN_MAIN=1")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(tt.after)
			cmd.Process.Signal(tt.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatal("did not exit within 20 s of the signal")
			}
			if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
				t.Fatalf("exit %d, want %d", code, ExitInterrupted)
			}
			f := readResult(t, out)
			if !f.Interrupted {
				t.Error("result not marked interrupted")
			}
			checkAddsUp(t, f)
		})
	}
}

// serveConns accepts connections on a new loopback listener and hands
// each to serve (nil: hold it open, never answering), each in its own
// goroutine; the test's cleanup closes the listener and every connection
// and waits for the handlers.
func serveConns(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if serve != nil {
				wg.Go(func() { serve(c) })
			}
		}
	})
	return ln
}

// blackHole accepts connections and never answers; accepted counts them.
func blackHole(t *testing.T) (url string, accepted *atomic.Int64) {
	accepted = new(atomic.Int64)
	ln := serveConns(t, func(net.Conn) { accepted.Add(1) })
	return "http://" + ln.Addr().String() + "/", accepted
}

// Signals at every stage of a run against a target that never answers:
// while sending, after sending (the last requests in flight), and a
// second one during the drain, which stops at once. Each leaves a
// readable result marked interrupted and exits 130, on time.
func TestSignalStates(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name     string
		args     []string
		signals  []time.Duration // when to send SIGINT, from the start
		maxTaken time.Duration
	}{
		// Sending for 30 s: the first SIGINT stops sending, the drain
		// (1 s) ends the wait for the requests in flight.
		{"while sending", []string{"--duration", "30s", "--drain", "1s"}, []time.Duration{time.Second}, 6 * time.Second},
		// Sending ended at 1 s; the requests hang until the 60 s timeout
		// and the run's deadline (duration + 20 s drain): SIGINT at 2 s
		// ends the wait after the drain… of 20 s, so a second SIGINT
		// stops it at once.
		{"after sending, twice", []string{"--duration", "1s", "--drain", "20s", "--timeout", "60s"}, []time.Duration{2 * time.Second, 2500 * time.Millisecond}, 8 * time.Second},
		// Twice during sending with a long drain: the second stops at once.
		{"twice while sending", []string{"--duration", "30s", "--drain", "30s"}, []time.Duration{time.Second, 1500 * time.Millisecond}, 7 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, accepted := blackHole(t)
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			args := append([]string{"run", url, "-q", "--out", out, "--rate", "50"}, tt.args...)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "TAILGATE_RUN_MAIN=1")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Times count from the first request: the child's start-up
			// (slow on a loaded machine) is not the run's.
			for wait := time.Now(); accepted.Load() == 0; time.Sleep(10 * time.Millisecond) {
				if time.Since(wait) > 20*time.Second {
					cmd.Process.Kill()
					t.Fatal("no request within 20 s of starting")
				}
			}
			start := time.Now()
			for _, at := range tt.signals {
				time.Sleep(time.Until(start.Add(at)))
				cmd.Process.Signal(syscall.SIGINT)
			}
			select {
			case <-done:
			case <-time.After(tt.maxTaken + 10*time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running %v after the start", tt.maxTaken+10*time.Second)
			}
			if took := time.Since(start); took > tt.maxTaken {
				t.Errorf("took %v, want at most %v", took, tt.maxTaken)
			}
			if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
				t.Fatalf("exit %d, want %d", code, ExitInterrupted)
			}
			f := readResult(t, out)
			if !f.Interrupted {
				t.Error("result not marked interrupted")
			}
			checkAddsUp(t, f)
		})
	}
}
