// Package fdtest runs a target out of file descriptors, for the tests of
// the fd-limit error kind (generator.ErrFDLimit) in every client.
//
// Lowering RLIMIT_NOFILE in a test process would starve the package's
// other tests, and a server in the same process would share the limit, so
// a test runs twice: in the parent, Child starts a loopback server that
// holds every connection open without answering, and reruns the test
// alone in a child process; in the child, Exhaust lowers the open-file
// limit to a few above what is open and sends requests that each need a
// new connection, until some fail for want of a descriptor.
package fdtest

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"tailgate/generator"
)

const envAddr = "TAILGATE_FDTEST_ADDR"

// Headroom is how many descriptors Exhaust leaves free: the connections
// that open before the rest fail.
const Headroom = 6

// Requests is how many requests Exhaust sends at once: more than
// Headroom, so that some must fail.
const Requests = 4 * Headroom

// Child returns, in the child process, the address of the parent's
// holding server and true. In the parent it starts that server, reruns
// t's test in a child process, fails t if the child fails, and returns
// false: the caller then returns. It skips t where open descriptors
// cannot be counted (no /proc/self/fd).
func Child(t *testing.T) (addr string, child bool) {
	t.Helper()
	if addr := os.Getenv(envAddr); addr != "" {
		return addr, true
	}
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count open descriptors")
	}
	addr = holdServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), envAddr+"="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if regexp.MustCompile(`(?m)^\s*--- SKIP`).Match(out) {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("child process:\n%s", out)
	return "", false
}

// holdServer accepts loopback connections and reads from them, never
// answering, until the test ends.
func holdServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) uint64 {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil && runtime.GOOS != "linux" {
		t.Skip("no /proc/self/fd to count descriptors:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return uint64(len(ents)) - 1 // the directory's own, now closed
}

// Exhaust, in the child, lowers the open-file limit to Headroom above
// what is open (restored when t ends) and sends Requests requests to tg
// at once, each of which needs a connection of its own, since the server
// never answers. Once one has failed with generator.ErrFDLimit (or 20 s
// have passed), it cancels the rest and returns every outcome.
func Exhaust(t *testing.T, tg generator.Target) []generator.Outcome {
	t.Helper()
	// Start the runtime's network poller before counting: it keeps
	// descriptors of its own open.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	restore := lowerFDLimit(t, openFDs(t)+Headroom)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan generator.Outcome, Requests)
	for i := range Requests {
		go func() { done <- tg.Do(ctx, uint64(i)) }()
	}
	outs := make([]generator.Outcome, 0, Requests)
	bound := time.NewTimer(20 * time.Second)
	defer bound.Stop()
	for len(outs) < Requests {
		select {
		case o := <-done:
			outs = append(outs, o)
			if o.Err == generator.ErrFDLimit {
				cancel()
			}
		case <-bound.C:
			cancel()
		}
	}
	restore()
	return outs
}

// Check fails t unless some outcome is generator.ErrFDLimit, and every
// such outcome's Msg says "too many open files".
func Check(t *testing.T, outs []generator.Outcome) {
	t.Helper()
	kinds := map[generator.ErrKind]int{}
	for _, o := range outs {
		kinds[o.Err]++
		if o.Err == generator.ErrFDLimit && !strings.Contains(o.Msg, "too many open files") {
			t.Errorf("fd-limit outcome %+v: Msg does not say why", o)
		}
	}
	if kinds[generator.ErrFDLimit] == 0 {
		t.Errorf("no fd-limit outcome: kinds %v; first outcomes %+v", kinds, outs[:min(3, len(outs))])
	}
	t.Logf("outcomes by kind: %v", kinds)
}
