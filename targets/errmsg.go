package targets

import (
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"tailgate/generator"
)

// MaxMsg is the longest Outcome.Msg a target writes, in bytes.
const MaxMsg = 120

// ErrorMessage is what Outcome.Msg says for a transport error: the first
// line of err, at most MaxMsg bytes, without net/http's "Get "URL": "
// prefix and without the query of any URL it quotes (a query may hold a
// secret). Call it on the error path only: it allocates.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err // the method and URL are the user's own, and may hold a secret
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		if m := hostnameMsg(he); m != "" {
			return TrimMsg(m)
		}
	}
	return TrimMsg(err.Error())
}

// ExplainTLS returns err, or for a certificate rejected for its host
// name, an error (wrapping err) that names the names the certificate is
// valid for, as ErrorMessage does. For clients whose errors reach
// tailgate as text only (gRPC's transport credentials).
func ExplainTLS(err error) error {
	var he x509.HostnameError
	if err != nil && errors.As(err, &he) {
		if m := hostnameMsg(he); m != "" {
			return &explained{msg: m, err: err}
		}
	}
	return err
}

type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// hostnameMsg says which names a certificate is valid for when Go's
// message does not: for an IP address host Go says only that the
// certificate "doesn't contain any IP SANs", while the fix is to ask for
// one of its DNS names (--server-name). "" when Go's message says it.
func hostnameMsg(he x509.HostnameError) string {
	c := he.Certificate
	if c == nil || net.ParseIP(he.Host) == nil || len(c.IPAddresses) > 0 || len(c.DNSNames) == 0 {
		return ""
	}
	return "tls: failed to verify certificate: x509: certificate is valid for " + strings.Join(c.DNSNames, ", ") + ", not " + he.Host
}

// TrimMsg makes s fit Outcome.Msg: its first line, without URL queries,
// cut to MaxMsg bytes (on a rune boundary, with "…").
func TrimMsg(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = dropLocalAddrs(stripQueries(strings.TrimSpace(s)))
	if len(s) <= MaxMsg {
		return s
	}
	cut := MaxMsg - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// dropLocalAddrs drops the local end of net.OpError's "local->remote"
// address pairs: its ephemeral port would make every message distinct.
func dropLocalAddrs(s string) string {
	from := 0
	for {
		i := strings.Index(s[from:], "->")
		if i < 0 {
			return s
		}
		i += from
		j := strings.LastIndexByte(s[:i], ' ') + 1
		if j == i { // " -> ": not an address pair
			from = i + 2
			continue
		}
		s = s[:j] + s[i+2:]
		from = j
	}
}

// stripQueries drops the query of every URL ("scheme://…?query") in s.
func stripQueries(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "?") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			break
		}
		end := i + 3 + strings.IndexFunc(s[i+3:], func(r rune) bool { return r == ' ' || r == '"' || r == '\'' || r == '>' })
		if end < i+3 {
			end = len(s)
		}
		u := s[:end]
		if q := strings.IndexByte(u[i:], '?'); q >= 0 {
			u = u[:i+q]
		}
		b.WriteString(u)
		s = s[end:]
	}
	b.WriteString(s)
	return b.String()
}

// statusMsgs holds StatusMsg's strings for 100–599, built once so that a
// failing status costs no allocation.
var statusMsgs = func() (m [600]string) {
	for c := 100; c < len(m); c++ {
		m[c] = "HTTP " + strconv.Itoa(c)
		if t := http.StatusText(c); t != "" {
			m[c] += " " + t
		}
	}
	return m
}()

// StatusMsg is Outcome.Msg for a response with a failing HTTP status:
// "HTTP 503 Service Unavailable". It does not allocate for 100–599.
func StatusMsg(code int) string {
	if code >= 100 && code < len(statusMsgs) {
		return statusMsgs[code]
	}
	return "HTTP " + strconv.Itoa(code)
}

// ValidStatus reports whether code is an HTTP status code: 100–599
// (RFC 9110, section 15). A response with another code is not valid HTTP
// and counts as ErrProtocol, with its code kept in Outcome.Status.
func ValidStatus(code int) bool { return code >= 100 && code <= 599 }

// BadStatusMsg is Outcome.Msg for a response whose status code is not
// ValidStatus.
func BadStatusMsg(code int) string {
	return "malformed HTTP status code " + strconv.Itoa(code) + " (outside 100–599)"
}

// Fail sets out.Err and out.Msg for a transport error.
func Fail(out *generator.Outcome, err error) {
	out.Err = Classify(err)
	out.Msg = ErrorMessage(err)
}

// Describe sets out.Msg for a failed outcome that has none yet: the
// status's text for a failing HTTP status. It costs nothing for a
// success.
func Describe(out *generator.Outcome) {
	if out.Msg == "" && out.Err == generator.ErrNone && out.Status < 1000 && !out.OK() {
		out.Msg = StatusMsg(out.Status)
	}
}
