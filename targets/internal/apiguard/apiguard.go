// Package apiguard refuses writes to tailgate's management APIs (the demo
// target's faults, the proxy's toxiproxy API) that a web page open in a
// browser on the same machine could make: a fault injected that way would
// spoil a load test, or worse.
package apiguard

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RefuseWrite says why a write must be refused (403), or "" if it may go
// ahead. It is refused when
//
//   - it has an Origin header (browsers send one) that is not this
//     server, http://<Host>: a cross-origin request;
//   - it arrived on a loopback address but its Host is not a loopback
//     name or address: a page on a foreign name that resolves to
//     127.0.0.1 (DNS rebinding);
//   - it has a body whose Content-Type is not application/json: a browser
//     sends text/plain and form bodies cross-origin without asking first.
//     With textPlainOK, text/plain is allowed when there is no Origin
//     (toxiproxy's own client sends some JSON as text/plain).
//
// Writes without a body need no Content-Type. what names the server in
// the messages ("this server", "this API").
func RefuseWrite(r *http.Request, what string, textPlainOK bool) string {
	origin := r.Header.Get("Origin")
	if origin != "" && !sameOrigin(origin, r.Host) {
		return fmt.Sprintf("cross-origin request refused: Origin %q is not %s (http://%s)", origin, what, r.Host)
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && isLoopbackAddr(la) && !isLoopbackHost(r.Host) {
		return fmt.Sprintf("Host %q refused: %s listens on loopback (%s) and answers writes only to a loopback name", r.Host, what, la)
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" && !(textPlainOK && mt == "text/plain" && origin == "") {
			return fmt.Sprintf("Content-Type %q refused: send the body as application/json", r.Header.Get("Content-Type"))
		}
	}
	return ""
}

// ParseTTL parses the ttl query parameter of a write that takes a lease: a
// Go duration ("30s", "1m30s"), > 0.
func ParseTTL(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid ttl %q: want a positive duration such as 30s", v)
	}
	return d, nil
}

// sameOrigin reports whether an Origin header names the server reached as
// host (the request's Host).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// isLoopbackHost reports whether host (a Host header: name or address,
// with or without a port) names this machine's loopback interface:
// localhost, *.localhost, 127.0.0.0/8 or ::1. An empty host (HTTP/1.0)
// counts as loopback.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}
