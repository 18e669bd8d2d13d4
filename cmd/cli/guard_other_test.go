//go:build !unix

package cli

import "os/exec"

// inGroup does nothing here: there are no process groups to signal.
func inGroup(*exec.Cmd) {}

// stopGroup kills cmd itself, without a stack dump.
func stopGroup(cmd *exec.Cmd, _ bool) {
	cmd.Process.Kill()
}
