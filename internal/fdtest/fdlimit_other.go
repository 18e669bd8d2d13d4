//go:build !unix

package fdtest

import "testing"

// lowerFDLimit skips t: there is no RLIMIT_NOFILE to lower here.
func lowerFDLimit(t *testing.T, _ uint64) func() {
	t.Helper()
	t.Skip("no open-file limit to lower on this platform")
	return func() {}
}
