package cli

import (
	"os"
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
