package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childLimit is how long a child process of a test (tailgate, the
// Action's script) may run: every one of them loads for seconds, and a
// run ends on time, so one still running after this hangs.
const childLimit = 2 * time.Minute

// combinedOutput is cmd.CombinedOutput, except that a child (or any of
// its children) still running after limit fails the test with every Go
// process's goroutine stacks (SIGQUIT to the process group) in the
// message, instead of hanging until go test's own timeout names only the
// test that waited.
func combinedOutput(t testing.TB, cmd *exec.Cmd, limit time.Duration) ([]byte, error) {
	t.Helper()
	var out lockedBuffer // lease_test.go
	cmd.Stdout, cmd.Stderr = &out, &out
	inGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return []byte(out.String()), err
	case <-time.After(limit):
	}
	stopGroup(cmd, false)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		stopGroup(cmd, true)
		<-done
	}
	t.Fatalf("%s still running after %v: stopped with SIGQUIT; its output and stacks:\n%s", cmd.Path, limit, out.String())
	return nil, nil
}

// fakeT records a Fatalf and ends the call instead of the test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

type fatal struct{}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	panic(fatal{})
}

// TestHangChild is the child of TestCombinedOutputStopsAHang: it hangs.
func TestHangChild(t *testing.T) {
	if os.Getenv("TAILGATE_HANG_CHILD") == "" {
		t.Skip("only as TestCombinedOutputStopsAHang's child")
	}
	time.Sleep(time.Hour)
}

// The guard stops a child that hangs, and fails with the child's stacks.
func TestCombinedOutputStopsAHang(t *testing.T) {
	ft := &fakeT{TB: t}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHangChild$")
	cmd.Env = append(os.Environ(), "TAILGATE_HANG_CHILD=1")
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil && r != (fatal{}) {
				panic(r)
			}
		}()
		combinedOutput(ft, cmd, 5*time.Second) // time for the child to reach TestHangChild on a loaded machine
	}()
	if !ft.failed || !strings.Contains(ft.msg, "goroutine ") || !strings.Contains(ft.msg, "TestHangChild") {
		t.Fatalf("failed=%v, message:\n%s", ft.failed, ft.msg)
	}
	if el := time.Since(start); el > time.Minute {
		t.Fatalf("took %v", el)
	}
}
