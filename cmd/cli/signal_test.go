package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
