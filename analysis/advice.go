package analysis

import (
	"sort"
	"strings"

	"tailgate/generator"
)

// ErrorAdvice is the fix for errors of a kind (a PhaseSummary.ErrorKinds
// key, or "status"), where one is known; "" otherwise. samples, a few of
// the errors' messages (ErrorSamples), make it sharper where they tell
// causes apart: the address that refused, a certificate rejected or an
// https:// URL at a plain-HTTP server. The self-checks, the verdict and
// every report writer use it, so that they all give the same advice.
func ErrorAdvice(kind string, samples ...string) string {
	has := func(subs ...string) bool {
		for _, m := range samples {
			m = strings.ToLower(m)
			for _, s := range subs {
				if strings.Contains(m, s) {
					return true
				}
			}
		}
		return false
	}
	switch kind {
	case generator.ErrFDLimit.String():
		return "raise the generator's open-file limit (ulimit -n; tailgate raises the soft limit to the hard one) or lower --max-in-flight / --connections"
	case generator.ErrPorts.String():
		return "the generator ran out of local ports: cap connections (--connections) or widen net.ipv4.ip_local_port_range"
	case generator.ErrTLS.String():
		switch {
		case has("http response to https client", "first record does not look like a tls handshake"):
			return "the target speaks plain HTTP: use an http:// URL"
		case has("remote error: tls: certificate required", "remote error: tls: bad certificate", "remote error: tls: unknown certificate",
			"asked for a client certificate"):
			// The server's alert, or (gRPC) a connection closed after it
			// asked for a client certificate: it wants one it trusts.
			return "the server wants a client certificate it trusts (mutual TLS): give --cert and --key"
		case has("certificate is valid for", "cannot validate certificate for", "not valid for any names"):
			name := "NAME"
			if n := validName(samples); n != "" {
				name = n
			}
			return "the certificate does not name the URL's host: give --server-name " + name + " (a name it is valid for), or --insecure to skip verification (test targets only)"
		case len(samples) == 0, has("x509", "certificate"):
			return "the target's certificate was rejected: give its CA with --cacert FILE (PEM), or --insecure to skip verification (test targets only)"
		}
	case generator.ErrRefused.String():
		if addr := dialAddr(samples); addr != "" {
			return "nothing listens at " + addr + ": is the service up, and the host:port right?"
		}
		return "nothing listens at the target's address: is the service up, and the host:port right?"
	case generator.ErrDNS.String():
		return "the target's host name did not resolve: check the URL"
	case generator.ErrTimeout.String():
		return "requests took longer than --timeout"
	}
	return ""
}

// validName finds the first name of "certificate is valid for NAME, …,
// not HOST" in msgs.
func validName(msgs []string) string {
	for _, m := range msgs {
		_, rest, ok := strings.Cut(m, "certificate is valid for ")
		if !ok {
			continue
		}
		names, _, ok := strings.Cut(rest, ", not ")
		if !ok {
			continue
		}
		if name, _, _ := strings.Cut(names, ", "); name != "" && !strings.ContainsAny(name, " \"") {
			return name
		}
	}
	return ""
}

// dialAddr finds the address of a failed dial, "dial tcp ADDR: …", in
// messages.
func dialAddr(msgs []string) string {
	for _, m := range msgs {
		_, rest, ok := strings.Cut(m, "dial tcp ")
		if !ok {
			continue
		}
		if addr, _, ok := strings.Cut(rest, ": "); ok && addr != "" {
			return addr
		}
	}
	return ""
}

// An ErrorNote is what a report says about one kind of error: a few of
// its messages and, where one is known, the fix.
type ErrorNote struct {
	Kind    string   // an ErrorKinds key, or "status" for failing statuses
	Samples []string // distinct messages (ErrorSamples), may be empty
	Advice  string   // ErrorAdvice's; "" when no fix is known
}

// ErrorNotes lists what a phase's errors say: every kind with samples or
// with a known fix, by name, then "status". Kinds that are not errors
// (dropped, censored) have no note unless they carry samples.
func ErrorNotes(p *PhaseSummary) []ErrorNote {
	seen := map[string]bool{}
	var kinds []string
	for k, l := range p.ErrorSamples {
		if len(l) > 0 && !seen[k] {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	for k, n := range p.ErrorKinds {
		if n > 0 && !seen[k] && ErrorAdvice(k) != "" {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		if (kinds[i] == "status") != (kinds[j] == "status") {
			return kinds[j] == "status"
		}
		return kinds[i] < kinds[j]
	})
	notes := make([]ErrorNote, len(kinds))
	for i, k := range kinds {
		notes[i] = ErrorNote{Kind: k, Samples: p.ErrorSamples[k], Advice: ErrorAdvice(k, p.ErrorSamples[k]...)}
	}
	return notes
}
