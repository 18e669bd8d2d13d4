//go:build unix

package fdtest

import (
	"syscall"
	"testing"
)

// lowerFDLimit sets the soft open-file limit to cur and returns the
// function that restores it (also registered with t.Cleanup; it runs once).
// It skips t when the limit cannot be read or set, or is already below cur.
func lowerFDLimit(t *testing.T, cur uint64) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip("getrlimit:", err)
	}
	lim := old
	lim.Cur = cur
	if lim.Cur > old.Cur {
		t.Skipf("the open-file limit %d is already below %d", old.Cur, lim.Cur)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip("setrlimit:", err)
	}
	restored := false
	restore = func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restoring the open-file limit: %v", err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}
