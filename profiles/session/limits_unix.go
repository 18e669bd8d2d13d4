//go:build unix

package session

import "syscall"

// fdBudget raises the soft open-file limit to the hard one (Go does so at
// start-up on most systems; this makes sure) and returns how many
// connections the process may open: the limit less fdReserve. 0: unknown.
func fdBudget() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		up := rl
		up.Cur = up.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			rl = up
		}
	}
	if rl.Cur > 1<<24 {
		return 1 << 24
	}
	return max(int(rl.Cur)-fdReserve, 1)
}
