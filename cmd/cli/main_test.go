package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets tests run the real command line in a child process: the
// test binary re-executes itself with TAILGATE_RUN_MAIN=1 and tailgate's
// arguments.
func TestMain(m *testing.M) {
	if os.Getenv("TAILGATE_RUN_MAIN") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// skipIfStarved skips the test when a run came out INVALID because this
// machine starved the generator (send lag, uneven or bunched sends, its
// CPU): such a run measures the machine, not tailgate, and the self-check
// said so correctly. Tests about the self-check itself do not use it.
// Otherwise it returns false, so callers can write
// `if code != ExitOK && !skipIfStarved(t, code, errOut) { t.Fatal… }`.
func skipIfStarved(t *testing.T, code int, stderr fmt.Stringer) bool {
	t.Helper()
	msg := stderr.String()
	if code == ExitInvalid {
		for _, check := range []string{"INVALID: arrivals", "INVALID: send-lag", "INVALID: generator-cpu", "INVALID: send-rate"} {
			if strings.Contains(msg, check) {
				t.Skipf("machine overloaded, the generator fell behind: %s", strings.TrimSpace(msg))
			}
		}
	}
	return false
}

// startDemoProcess runs `tailgate serve demo` with args in a child process
// (the test binary itself) and returns its base URL. Load tests whose
// self-check looks at the generator's CPU use it: an in-process target's
// CPU would count as the generator's.
func startDemoProcess(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "demo", "--http", addr}, args...)...)
	cmd.Env = append(os.Environ(), "TAILGATE_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("demo target did not start on %s", addr)
	return ""
}
