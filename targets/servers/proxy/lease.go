package proxy

import (
	"net/http"
	"slices"
	"time"

	"tailgate/targets/internal/apiguard"
)

// Leases: a toxic created (or updated) with ?ttl=D is removed D after, so
// that a toxic whose owner died (a load test killed with SIGKILL) does not
// outlive it for long. toxiproxy has no such thing; its clients send no ttl
// and their toxics stay until removed. One timer, set for the earliest
// lease of the server, removes lapsed toxics; API requests drop them too,
// so a read never shows a lapsed toxic.

// parseTTL parses the ttl query parameter: a Go duration ("30s"), > 0.
func parseTTL(r *http.Request) (time.Duration, *APIError) {
	v := r.URL.Query().Get("ttl")
	if v == "" {
		return 0, nil
	}
	d, err := apiguard.ParseTTL(v)
	if err != nil {
		return 0, &APIError{Message: err.Error(), Status: http.StatusBadRequest}
	}
	return d, nil
}

// expire removes p's lapsed toxics and returns the earliest remaining
// lease (zero if none).
func (p *managedProxy) expire(now time.Time) (earliest time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lapsed := func(t *toxic) bool { return t.expired(now) }
	changed := false
	for d := range p.toxics {
		if slices.ContainsFunc(p.toxics[d], lapsed) {
			p.toxics[d] = slices.DeleteFunc(p.toxics[d], lapsed)
			changed = true
		}
		for _, t := range p.toxics[d] {
			if !t.expires.IsZero() && (earliest.IsZero() || t.expires.Before(earliest)) {
				earliest = t.expires
			}
		}
	}
	if changed {
		p.pushToxicsLocked()
	}
	return earliest
}

// expireToxics removes every lapsed toxic and sets the lease timer for the
// earliest remaining lease.
func (s *Server) expireToxics() {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.closed.Load() {
		return
	}
	now := time.Now()
	var earliest time.Time
	for _, p := range s.proxyList() {
		if e := p.expire(now); !e.IsZero() && (earliest.IsZero() || e.Before(earliest)) {
			earliest = e
		}
	}
	s.leaseAt = time.Time{}
	s.leased.Store(false)
	s.armLeaseLocked(now, earliest)
}

// armLease makes sure the lease timer fires by at.
func (s *Server) armLease(at time.Time) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	s.armLeaseLocked(time.Now(), at)
}

func (s *Server) armLeaseLocked(now, at time.Time) {
	if at.IsZero() || s.closed.Load() || (!s.leaseAt.IsZero() && !at.Before(s.leaseAt)) {
		return
	}
	s.leased.Store(true)
	s.leaseAt = at
	d := max(at.Sub(now), 0)
	if s.leaseTimer == nil {
		s.leaseTimer = time.AfterFunc(d, s.expireToxics)
	} else {
		s.leaseTimer.Reset(d)
	}
}

// stopLeases stops the lease timer (Close).
func (s *Server) stopLeases() {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.leaseTimer != nil {
		s.leaseTimer.Stop()
	}
}

// refuseWrite says why a write to the API must be refused, or "" if it may
// go ahead. A web page open in a browser on the same machine must not be
// able to add toxics, so a write is refused (403) when
//
//   - it has an Origin header (browsers send one) that is not this server,
//     http://<Host>: a cross-origin request;
//   - it arrived on a loopback address but its Host is not a loopback name
//     or address: a page on a foreign name that resolves to 127.0.0.1 (DNS
//     rebinding);
//   - it has a body whose Content-Type is not application/json (a browser
//     sends text/plain and form bodies cross-origin without asking first).
//     Exception, for toxiproxy's own Go client, whose Proxy.Save sends its
//     JSON as text/plain: POST /proxies/{proxy} may be text/plain when the
//     request has no Origin (browsers always send one with a POST).
//
// Writes without a body (DELETE, POST /reset) need no Content-Type.
// Requests from browsers are also refused earlier, by User-Agent, as
// toxiproxy does.
func refuseWrite(r *http.Request, textPlainOK bool) string {
	return apiguard.RefuseWrite(r, "this API", textPlainOK)
}
