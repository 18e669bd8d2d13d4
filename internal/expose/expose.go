// Package expose warns when a listener tailgate opens can be reached from
// other machines.
package expose

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// Warn warns on w when addr (host:port, as given to a listen flag
// or as bound) is reachable from other machines: every interface (no host,
// 0.0.0.0, ::) or an address or name that is not loopback. what names the
// listener and what it offers, e.g. "--http (the demo target and its fault
// API)". Loopback addresses (127.0.0.0/8, ::1, localhost) get no warning.
func Warn(w io.Writer, what, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return
	}
	ip := net.ParseIP(h)
	switch {
	case ip != nil && ip.IsLoopback():
		return
	case h == "" || ip != nil && ip.IsUnspecified():
		if h == "" {
			addr = net.JoinHostPort("0.0.0.0", port)
		}
		fmt.Fprintf(w, "warning: %s listens on every interface (%s): anyone who can reach this machine can use it; give 127.0.0.1:%s to keep it local\n", what, addr, port)
	default:
		fmt.Fprintf(w, "warning: %s listens on %s, not a loopback address: anyone who can reach it can use it; give 127.0.0.1:%s to keep it local\n", what, addr, port)
	}
}
