//go:build unix

package cli

import (
	"syscall"
	"testing"
)

// setFDLimit sets the process's open-file limit (soft and hard) to n, or
// skips t. Only for a child process: the hard limit cannot be raised back.
func setFDLimit(t *testing.T, n uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: n, Max: n}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip("setrlimit:", err)
	}
}
