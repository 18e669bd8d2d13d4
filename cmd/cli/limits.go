package cli

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// fdReserve is how many file descriptors tailgate keeps for itself (its
// output files, listeners, the metrics server) out of the open-file limit.
const fdReserve = 64

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

// localPorts is the size of the local (ephemeral) port range, which bounds
// the connections to one target address; 0 when unknown.
func localPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return 0
	}
	return hi - lo + 1
}
