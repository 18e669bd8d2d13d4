package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"
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
