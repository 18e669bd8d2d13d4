package session

import (
	"fmt"
	"math"
	"time"

	"tailgate/generator"
)

// preconnect is how many connections to open before the first request:
// Options.Preconnect; else Connections; else the closed-loop concurrency;
// else enough for 5 ms of the peak offered rate, between 1 and 64. Never
// more than may be in flight.
func (p *Plan) preconnect() int {
	o := p.opts
	n := o.Preconnect
	switch {
	case n >= 0:
	case o.Connections > 0:
		n = o.Connections
	case p.closed > 0:
		n = p.closed
	default:
		n = min(max(int(math.Ceil(p.peakRate()*0.005)), 1), 64)
	}
	if p.closed == 0 {
		n = min(n, max(o.MaxInFlight, 1))
	}
	return n
}

// peakRate is the highest offered rate of the plan, in requests/s.
func (p *Plan) peakRate() float64 {
	peak := p.settings.Rate
	if p.rate != nil && p.total > 0 {
		for i := 0; i <= 200; i++ {
			peak = max(peak, p.rate(p.total*time.Duration(i)/200))
		}
	}
	return peak
}

// capSeconds is how many seconds of the peak rate the default in-flight
// cap holds: enough for a target to stall that long without the cap
// filling.
const capSeconds = 2

// sizeCap sets the in-flight cap: MaxInFlight when explicit, else
// capSeconds of the peak rate (at least generator.DefaultMaxInFlight),
// within what the process can open: every request in flight may hold a
// connection (a file descriptor and a local port) unless Connections
// caps them or the protocol multiplexes (gRPC, HTTP/2). An explicit cap
// or connection count the limits cannot hold is an error before any load.
func (p *Plan) sizeCap(multiplexed bool) error {
	o := p.opts
	limit, ports := fdBudget(), localPorts()
	room := limit
	if ports > 0 {
		room = min(room, ports)
	}
	capN := o.MaxInFlight
	if !o.Explicit.MaxInFlight && p.closed == 0 {
		capN = max(generator.DefaultMaxInFlight, int(math.Ceil(capSeconds*p.peakRate())))
		if o.Connections == 0 && !multiplexed && room > 0 && capN > room {
			capN = room
			p.settings.MaxInFlightLimit = fmt.Sprintf("open-file limit %d (ulimit -n)", limit+fdReserve)
			if ports > 0 && ports < limit {
				p.settings.MaxInFlightLimit = fmt.Sprintf("local port range of %d ports", ports)
			}
		}
	}
	conns, what, flag := capN, fmt.Sprintf("--max-in-flight %d", capN), "--max-in-flight"
	switch {
	case o.Connections > 0:
		conns, what, flag = o.Connections, fmt.Sprintf("--connections %d", o.Connections), "--connections"
	case p.closed > 0:
		conns, what, flag = p.closed, fmt.Sprintf("closed loop at %d connections", p.closed), "--connections"
	case multiplexed:
		conns = 0
	}
	if room > 0 && conns > room {
		why := fmt.Sprintf("this process may open %d files (ulimit -n; %d kept for itself): raise it, e.g. ulimit -n %d", limit+fdReserve, fdReserve, conns+fdReserve)
		if ports > 0 && ports < limit {
			why = fmt.Sprintf("the local port range has %d ports (net.ipv4.ip_local_port_range): widen it", ports)
		}
		return inputErrorf("%s needs up to %d connections, but %s, or lower %s", what, conns, why, flag)
	}
	p.gen.MaxInFlight = capN
	p.settings.MaxInFlight = capN
	return nil
}

func (p *Plan) maxInFlight() int {
	if p.gen.MaxInFlight > 0 {
		return p.gen.MaxInFlight
	}
	return generator.DefaultMaxInFlight
}
