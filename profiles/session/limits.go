package session

import (
	"os"
	"strconv"
	"strings"
)

// fdReserve is how many file descriptors tailgate keeps for itself (its
// output files, listeners, the metrics server) out of the open-file limit.
const fdReserve = 64

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
