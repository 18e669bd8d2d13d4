//go:build !unix

package cli

import "testing"

// setFDLimit skips t: there is no open-file limit to set here.
func setFDLimit(t *testing.T, _ uint64) {
	t.Helper()
	t.Skip("no open-file limit to set on this platform")
}
