//go:build unix

package cli

import (
	"os/exec"
	"syscall"
)

// inGroup makes cmd the leader of a process group of its own, so that
// stopGroup reaches its children too (action.sh's tailgate).
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup sends SIGQUIT to cmd's process group: a Go program in it
// prints every goroutine's stack and exits; kill ends the rest.
func stopGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGQUIT
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-cmd.Process.Pid, sig)
}
