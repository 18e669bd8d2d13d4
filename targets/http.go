// Package targets holds tailgate's protocol clients (implementations of
// generator.Target), the built-in demo servers and the fault proxy.
package targets

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tailgate/generator"
)

// DefaultTimeout is the per-request timeout when HTTPOptions.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// HTTPOptions configure an HTTP target. The zero value of every field but
// URL is usable.
type HTTPOptions struct {
	URL     string
	Method  string      // default GET
	Header  http.Header // sent with every request
	Body    []byte      // sent with every request
	Timeout time.Duration
	// Connections caps open connections to the host (0 = as many as
	// requests in flight). When capped, a request waiting for a connection
	// counts that wait in its service time, as with any pooled client.
	Connections int
	HTTP2       bool // negotiate HTTP/2 over TLS (ALPN); HTTP/1.1 otherwise
	Insecure    bool // skip TLS certificate verification
	// CAFile, CertFile, KeyFile and ServerName configure TLS for https://
	// URLs: the CAs to trust instead of the system roots, a client
	// certificate and its key (mutual TLS), the name to verify and send
	// in SNI. See TLSOptions.
	CAFile, CertFile, KeyFile, ServerName string
	// CacheHeader and CacheHit mark responses as cache hits when the named
	// response header has that value (case-insensitive), e.g. X-Cache: HIT.
	CacheHeader string
	CacheHit    string
	// Vars feed {{key}} and {{data.COLUMN}} templates in URL, header values
	// and body ({{seq}} needs nothing). Nil: {{key}} is the sequence number.
	Vars *Vars
	// BatchItem is the template of one item of a batched request
	// (generator.BatchOptions): DoBatch sends the items as a JSON array,
	// [item, item, …], rendered each with its own sequence number. The
	// URL and headers are rendered for the batch's first item.
	BatchItem string
}

// TLS returns o's TLS settings.
func (o HTTPOptions) TLS() TLSOptions {
	return TLSOptions{Insecure: o.Insecure, CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, ServerName: o.ServerName}
}

// HTTP is an HTTP/1.1 or HTTP/2 target on net/http.
type HTTP struct {
	opt    HTTPOptions
	url    *url.URL
	client *http.Client
	bufs   sync.Pool

	// Set when a template has variables; nil when static.
	urlT, bodyT *Template
	headerT     map[string][]*Template
	itemT       *Template
}

var _ generator.BatchTarget = (*HTTP)(nil)

var _ generator.Target = (*HTTP)(nil)

// ParseURL checks a target URL: http or https, with a host.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed URL %q: %v", raw, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("URL %q: port %q must be in [1, 65535]", raw, p)
		}
	}
	return u, nil
}

// NewHTTP validates o and returns a target.
func NewHTTP(o HTTPOptions) (*HTTP, error) {
	var data *Data
	if o.Vars != nil {
		data = o.Vars.Data
	}
	urlT, err := ParseTemplate(o.URL, data)
	if err != nil {
		return nil, err
	}
	// Check the URL as the first request would send it.
	u, err := ParseURL(string(urlT.Append(nil, 0, o.Vars)))
	if err != nil {
		return nil, err
	}
	var bodyT *Template
	if bodyT, err = ParseTemplate(string(o.Body), data); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	headerT := map[string][]*Template{}
	dynamicHeaders := false
	for k, vs := range o.Header {
		for _, v := range vs {
			t, err := ParseTemplate(v, data)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", k, err)
			}
			dynamicHeaders = dynamicHeaders || !t.Static()
			headerT[k] = append(headerT[k], t)
		}
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("timeout must not be negative, got %v", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Connections < 0 {
		return nil, fmt.Errorf("connections must not be negative, got %d", o.Connections)
	}
	tlsConf, err := TLSConfig(o.TLS())
	if err != nil {
		return nil, err
	}
	idle := o.Connections
	if idle == 0 {
		idle = generator.DefaultMaxInFlight
	}
	tr := &http.Transport{
		Proxy:                 nil, // a load test goes where it is pointed
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		MaxConnsPerHost:       o.Connections,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     o.HTTP2,
		DisableCompression:    true,
		TLSClientConfig:       tlsConf,
	}
	if !o.HTTP2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	h := &HTTP{
		opt: o,
		url: u,
		client: &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // report the redirect, do not follow it
			},
		},
	}
	if !urlT.Static() {
		h.urlT = urlT
	}
	if o.BatchItem != "" {
		if h.itemT, err = ParseTemplate(o.BatchItem, data); err != nil {
			return nil, fmt.Errorf("batch item: %w", err)
		}
		if o.Method == http.MethodGet {
			h.opt.Method = http.MethodPost
		}
	}
	if !bodyT.Static() {
		h.bodyT = bodyT
	}
	if dynamicHeaders {
		h.headerT = headerT
	}
	h.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	return h, nil
}

// Close releases idle connections.
func (h *HTTP) Close() { h.client.CloseIdleConnections() }

// Do sends one request and reads the whole response, discarding the body.
func (h *HTTP) Do(ctx context.Context, seq uint64) generator.Outcome {
	bodyBytes := h.opt.Body
	if h.bodyT != nil {
		bodyBytes = h.bodyT.Append(make([]byte, 0, 2*len(h.opt.Body)), seq, h.opt.Vars)
	}
	return h.send(ctx, seq, bodyBytes)
}

// DoBatch sends the items seqs as one request whose body is a JSON array
// of BatchItem rendered per item (or, without BatchItem, of the body
// template).
func (h *HTTP) DoBatch(ctx context.Context, seqs []uint64) generator.Outcome {
	t := h.itemT
	if t == nil {
		t = h.bodyT
	}
	if t == nil {
		t, _ = ParseTemplate(string(h.opt.Body), nil)
	}
	body := make([]byte, 0, 2+len(seqs)*(len(h.opt.BatchItem)+8))
	body = append(body, '[')
	for i, seq := range seqs {
		if i > 0 {
			body = append(body, ',')
		}
		body = t.Append(body, seq, h.opt.Vars)
	}
	body = append(body, ']')
	return h.send(ctx, seqs[0], body)
}

func (h *HTTP) send(ctx context.Context, seq uint64, bodyBytes []byte) generator.Outcome {
	rawURL := h.opt.URL
	if h.urlT != nil {
		rawURL = string(h.urlT.Append(make([]byte, 0, 2*len(h.opt.URL)), seq, h.opt.Vars))
	}
	var body io.Reader
	if len(bodyBytes) > 0 {
		body = bytes.NewReader(bodyBytes)
	}
	tr := &timing{start: time.Now()}
	ctx = httptrace.WithClientTrace(ctx, tr.trace())
	req, err := http.NewRequestWithContext(ctx, h.opt.Method, rawURL, body)
	if err != nil {
		return generator.Outcome{Err: generator.ErrOther, Msg: ErrorMessage(err)}
	}
	if h.headerT != nil {
		for k, ts := range h.headerT {
			vs := make([]string, len(ts))
			for i, t := range ts {
				vs[i] = string(t.Append(nil, seq, h.opt.Vars))
			}
			req.Header[k] = vs
		}
	} else {
		for k, v := range h.opt.Header {
			req.Header[k] = v
		}
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}
	out := generator.Outcome{BytesOut: int64(len(bodyBytes))}
	resp, err := h.client.Do(req)
	if err != nil {
		Fail(&out, err)
		return out
	}
	tr.fill(&out)
	if resp.ProtoMajor != 1 && (resp.ProtoMajor != 2 || !h.opt.HTTP2) {
		// "HTTP/2.0 200" as text on an HTTP/1.1 connection: not a
		// response this connection can carry (fast-h1 rejects the line).
		resp.Body.Close()
		out.Err, out.Msg = generator.ErrProtocol, TrimMsg("malformed HTTP version "+strconv.Quote(resp.Proto))
		return out
	}
	out.Status = resp.StatusCode
	if !ValidStatus(resp.StatusCode) {
		resp.Body.Close() // its body is not read: the response is not valid HTTP
		out.Err, out.Msg = generator.ErrProtocol, BadStatusMsg(resp.StatusCode)
		return out
	}
	if h.opt.CacheHeader != "" && strings.EqualFold(resp.Header.Get(h.opt.CacheHeader), h.opt.CacheHit) {
		out.CacheHit = true
	}
	bp := h.bufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.Discard, resp.Body, *bp)
	h.bufs.Put(bp)
	resp.Body.Close()
	out.BytesIn = n
	if err != nil {
		Fail(&out, err)
		if out.Err == generator.ErrOther {
			// The head was read; an error that is not the network's
			// ("malformed chunked encoding", "chunked line ends with bare
			// LF", a trailer too long) is the body's framing.
			out.Err = generator.ErrProtocol
		}
		return out
	}
	Describe(&out)
	return out
}

// Classify maps a transport error to an error kind, by the rules of the
// taxonomy in docs/hardening.md ("One taxonomy"): the peer resetting the
// connection (ECONNRESET, EPIPE), or closing it before any byte of the
// response, is ErrReset; a response that began and was then cut short by
// a clean close (io.ErrUnexpectedEOF) or could not be parsed is
// ErrProtocol. Running out of file descriptors (EMFILE, ENFILE) or local
// ports (EADDRNOTAVAIL) is the generator's own failure: ErrFDLimit,
// ErrPorts. Whether the request's timeout had expired when the error came
// is the caller's to check (net/http's Client.Timeout does it; fast-h1
// does it in its classify).
func Classify(err error) generator.ErrKind {
	if err == nil {
		return generator.ErrNone
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	var protoErr textproto.ProtocolError
	msg := err.Error()
	switch {
	case errors.As(err, &protoErr):
		return generator.ErrProtocol
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"),
		strings.Contains(msg, "remote error: tls: "): // the server's alert, e.g. "bad certificate" for a client certificate it rejected
		return generator.ErrTLS
	case strings.Contains(msg, "stream error:") && !strings.Contains(msg, "REFUSED_STREAM"),
		strings.Contains(msg, "server sent GOAWAY"):
		return generator.ErrReset
	case strings.Contains(msg, "connection error: PROTOCOL_ERROR"):
		return generator.ErrProtocol
	}
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return generator.ErrFDLimit // the generator's own limit
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return generator.ErrPorts // the generator's own limit
	case errors.Is(err, context.Canceled):
		return generator.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return generator.ErrTimeout
	case errors.As(err, &dnsErr):
		return generator.ErrDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return generator.ErrRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return generator.ErrReset
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &recErr):
		return generator.ErrTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return generator.ErrTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		return generator.ErrProtocol // a response had begun: the peer's close cut it short
	case errors.Is(err, io.EOF):
		return generator.ErrReset // the peer closed before the response began
	}
	switch {
	case strings.Contains(msg, "too many open files"):
		return generator.ErrFDLimit
	case strings.Contains(msg, "cannot assign requested address"):
		return generator.ErrPorts
	case strings.Contains(msg, "malformed HTTP"), strings.Contains(msg, "invalid"), strings.Contains(msg, "bad "):
		return generator.ErrProtocol
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return generator.ErrTLS
	case strings.Contains(msg, "HTTP/1.x transport connection broken: "):
		// net/http could not read the response, for a reason that is not
		// the network's (those are above): "unsupported transfer
		// encoding", "multiple Content-Length headers", "server response
		// headers exceeded …".
		return generator.ErrProtocol
	}
	return generator.ErrOther
}

// timing records where a request's time went, via net/http/httptrace.
// Its hooks can run on net/http's dialing goroutine, even after the
// request is done (a dial that lost the race to an idle connection), so
// it is locked.
type timing struct {
	mu                                    sync.Mutex
	start, connStart, connDone, firstByte time.Time
	reused                                bool
}

func (t *timing) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			t.reused = info.Reused
			if !info.Reused {
				t.connDone = time.Now()
			}
			t.mu.Unlock()
		},
		DNSStart:     func(httptrace.DNSStartInfo) { t.markConnStart() },
		ConnectStart: func(string, string) { t.markConnStart() },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.firstByte = time.Now()
			t.mu.Unlock()
		},
	}
}

func (t *timing) markConnStart() {
	t.mu.Lock()
	if t.connStart.IsZero() {
		t.connStart = time.Now()
	}
	t.mu.Unlock()
}

func (t *timing) fill(out *generator.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.firstByte.IsZero() {
		out.TTFB = t.firstByte.Sub(t.start)
	}
	if !t.reused && !t.connStart.IsZero() && !t.connDone.IsZero() {
		out.NewConn = true
		out.Connect = t.connDone.Sub(t.connStart)
	}
}
