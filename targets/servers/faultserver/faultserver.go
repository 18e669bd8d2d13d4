// Package faultserver is a test target that misbehaves on demand: one
// server per fault, on 127.0.0.1:0, for tests that check a client (the
// load generator) survives bad targets and counts what they do.
//
// A [Mode] selects the fault. There are four families:
//
//   - HTTP/1.1 modes (no prefix) run on a raw TCP listener, so they can
//     write bytes no HTTP server would: malformed status lines and
//     headers, truncated bodies, resets. With [Options.TLS] the same bytes
//     go over TLS, which is how certificate faults are made ([OK] with an
//     untrusted or expired [Cert]).
//   - HTTP/2 modes ("h2-" prefix) always speak TLS with the h2 ALPN
//     protocol. Most run on net/http's HTTP/2 server (a stream reset is a
//     handler panicking with http.ErrAbortHandler); [H2GoAway] and
//     [H2ProtocolError] write raw frames with golang.org/x/net/http2's
//     Framer. A request that is not HTTP/2 gets 505.
//   - gRPC modes ("grpc-" prefix) serve demo.Store/Get (the service of
//     tailgate/targets/servers/grpcdemo, same descriptors, reflection included),
//     plaintext (h2c) unless Options.TLS is set.
//   - [Refuse] serves nothing: its address is a port that was just
//     closed, so connecting is refused.
//
// A name that does not resolve needs no server: use [UnresolvableHost].
//
// Every server closes every connection it accepted when closed, and every
// fault is bounded in time ([Hang] and the like last until the client
// gives up or the server closes) and in memory ([Huge] streams its body
// from a zero reader through a fixed buffer).
//
// In a test:
//
//	s := faultserver.StartTB(t, faultserver.ResetMidResponse, faultserver.Options{})
//	resp, err := http.Get(s.URL()) // err, or a body read that fails: connection reset
package faultserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// Mode is the fault a server injects into every request (or every
// connection) it gets.
type Mode string

// HTTP/1.1 modes, on raw TCP (TLS with Options.TLS). Unless said
// otherwise the server reads the whole request first, and closes the
// connection after the fault; only OK keeps connections alive.
const (
	// OK answers 200 with a 2-byte body, keeping the connection alive: the
	// control, and with Options.TLS the certificate faults.
	OK Mode = "ok"
	// Refuse listens on nothing: connections to Addr are refused.
	Refuse Mode = "refuse"
	// ResetBeforeResponse reads the request and resets the connection
	// (RST: SO_LINGER 0, then close) without answering.
	ResetBeforeResponse Mode = "reset-before-response"
	// CloseBeforeResponse reads the request and closes the connection
	// cleanly (FIN) without answering.
	CloseBeforeResponse Mode = "close-before-response"
	// ResetMidResponse sends a 200 header promising 1024 bytes and half
	// of the body, waits ~20 ms, then resets the connection.
	ResetMidResponse Mode = "reset-mid-response"
	// Hang reads the request and never answers; the connection stays open
	// until the client closes it or the server is closed.
	Hang Mode = "hang"
	// Drip sends a valid 200 response (DripSize bytes) one byte at a time,
	// Options.DripInterval apart: DripSize × DripInterval in all (~160 ms
	// by default).
	Drip Mode = "drip"
	// Huge sends a valid 200 response with a Content-Length body of
	// Options.HugeSize zero bytes (300 MB by default), generated as it is
	// written: the server holds no more than a copy buffer.
	Huge Mode = "huge"
	// MalformedStatus answers "HTTP/1.1 abc Nonsense": a status code that
	// is not a number.
	MalformedStatus Mode = "malformed-status"
	// MalformedHeaders answers a 200 status line followed by a header line
	// with no colon.
	MalformedHeaders Mode = "malformed-headers"
	// NotHTTP answers an SSH banner: the peer is not an HTTP server.
	NotHTTP Mode = "not-http"
	// TruncatedChunked sends a chunked body's first chunk, then closes
	// (FIN) without the last-chunk marker.
	TruncatedChunked Mode = "truncated-chunked"
	// MalformedChunked sends a chunked body whose chunk size is not hex.
	MalformedChunked Mode = "malformed-chunked"
	// WrongContentLength declares Content-Length 1000, sends 5 bytes of
	// body and closes (FIN).
	WrongContentLength Mode = "wrong-content-length"
	// CloseAfterHeaders sends a complete 200 header with Content-Length 64
	// and closes (FIN) before any of the body.
	CloseAfterHeaders Mode = "close-after-headers"
	// BadStatus answers "HTTP/1.1 999 Weird": three digits, but no HTTP
	// status code (those are 100–599).
	BadStatus Mode = "bad-status"
	// DuplicateContentLength answers a 200 with two different
	// Content-Length headers (2 and 3), which no client may choose between.
	DuplicateContentLength Mode = "duplicate-content-length"
	// UnsupportedEncoding answers a 200 with "Transfer-Encoding: gzip,
	// chunked": a transfer coding HTTP/1.1 clients do not decode.
	UnsupportedEncoding Mode = "unsupported-encoding"
)

// HTTP/2 modes, over TLS with ALPN h2 (Options.TLS NoTLS means
// SelfSigned).
const (
	// H2OK answers 200 "ok".
	H2OK Mode = "h2-ok"
	// H2Hang never answers: the handler waits for the request's context
	// (the client's reset or the connection's end); if the server closes
	// first, it resets the stream.
	H2Hang Mode = "h2-hang"
	// H2Huge answers a body of Options.HugeSize zero bytes (64 MB by
	// default), generated as it is written.
	H2Huge Mode = "h2-huge"
	// H2ResetStream resets the request's stream (RST_STREAM
	// INTERNAL_ERROR) before any header: the handler panics with
	// http.ErrAbortHandler. The connection stays up.
	H2ResetStream Mode = "h2-reset-stream"
	// H2ResetMidResponse sends a 200 header promising 1024 bytes and 512
	// of them, then resets the stream.
	H2ResetMidResponse Mode = "h2-reset-mid-response"
	// H2GoAway answers the first request on each connection with GOAWAY
	// (code NO_ERROR, last stream 2^31-1: every stream opened may have
	// been processed, so the client may not retry any) and then ends the
	// connection without answering any of them.
	H2GoAway Mode = "h2-goaway"
	// H2ProtocolError answers each request with a DATA frame on stream 0,
	// a connection error (PROTOCOL_ERROR) the client must detect.
	H2ProtocolError Mode = "h2-protocol-error"
)

// gRPC modes: demo.Store/Get (see tailgate/targets/servers/grpcdemo), with server
// reflection; plaintext (h2c) unless Options.TLS is set.
const (
	// GRPCOK answers every Get with a reply (value "ok", cache "MISS").
	GRPCOK Mode = "grpc-ok"
	// GRPCUnavailable fails every Get with status UNAVAILABLE.
	GRPCUnavailable Mode = "grpc-unavailable"
	// GRPCDeadline never answers: the handler outlives the client's
	// deadline (it returns when the call's context ends or the server
	// closes), so the client sees DEADLINE_EXCEEDED of its own making.
	GRPCDeadline Mode = "grpc-deadline"
	// GRPCCloseConnection resets the call's TCP connection (RST) from
	// inside the handler, mid-call, with the call and any others on the
	// connection unanswered.
	GRPCCloseConnection Mode = "grpc-close-connection"
)

// UnresolvableHost is a host name that fails to resolve without a query
// leaving the machine: its first label is 64 bytes, one more than DNS
// allows, so Go's resolver (and the C library's) rejects it locally with
// "no such host"; and it is under .invalid (RFC 6761), so a resolver that
// did ask would get NXDOMAIN.
var UnresolvableHost = strings.Repeat("x", 64) + ".invalid"

type family uint8

const (
	famNone  family = iota
	famHTTP1        // raw TCP
	famH2           // net/http HTTP/2 server
	famH2Raw        // raw HTTP/2 frames
	famGRPC
)

var modes = []struct {
	mode Mode
	fam  family
}{
	{OK, famHTTP1},
	{Refuse, famNone},
	{ResetBeforeResponse, famHTTP1},
	{CloseBeforeResponse, famHTTP1},
	{ResetMidResponse, famHTTP1},
	{Hang, famHTTP1},
	{Drip, famHTTP1},
	{Huge, famHTTP1},
	{MalformedStatus, famHTTP1},
	{MalformedHeaders, famHTTP1},
	{NotHTTP, famHTTP1},
	{TruncatedChunked, famHTTP1},
	{MalformedChunked, famHTTP1},
	{WrongContentLength, famHTTP1},
	{CloseAfterHeaders, famHTTP1},
	{BadStatus, famHTTP1},
	{DuplicateContentLength, famHTTP1},
	{UnsupportedEncoding, famHTTP1},
	{H2OK, famH2},
	{H2Hang, famH2},
	{H2Huge, famH2},
	{H2ResetStream, famH2},
	{H2ResetMidResponse, famH2},
	{H2GoAway, famH2Raw},
	{H2ProtocolError, famH2Raw},
	{GRPCOK, famGRPC},
	{GRPCUnavailable, famGRPC},
	{GRPCDeadline, famGRPC},
	{GRPCCloseConnection, famGRPC},
}

// Modes returns every mode, in documentation order.
func Modes() []Mode {
	out := make([]Mode, len(modes))
	for i, m := range modes {
		out[i] = m.mode
	}
	return out
}

func (m Mode) family() family {
	for _, e := range modes {
		if e.mode == m {
			return e.fam
		}
	}
	return famNone
}

// Defaults for the zero fields of Options.
const (
	DefaultHugeSize     = 300 << 20 // Huge
	DefaultH2HugeSize   = 64 << 20  // H2Huge
	DefaultDripInterval = 2 * time.Millisecond
)

// Options tune a server. The zero value is usable.
type Options struct {
	// TLS makes the server speak TLS with a generated certificate (see
	// Cert). HTTP/2 modes always do: NoTLS means SelfSigned for them.
	// Ignored by Refuse.
	TLS Cert
	// HugeSize is the body size of Huge and H2Huge in bytes; 0 means
	// DefaultHugeSize or DefaultH2HugeSize.
	HugeSize int64
	// DripInterval is the pause between the bytes of a Drip response; 0
	// means DefaultDripInterval.
	DripInterval time.Duration
}

// Server is a running fault server. Its methods are safe for concurrent
// use.
type Server struct {
	mode   Mode
	opt    Options
	addr   string
	ln     net.Listener // nil for Refuse
	cert   *x509.Certificate
	tlsCfg *tls.Config // nil without TLS
	closed chan struct{}

	httpSrv *http.Server
	grpcSrv *grpc.Server

	requests atomic.Int64
	wg       sync.WaitGroup // accept loop and connection goroutines

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	isClosed bool
}

// Start starts a server injecting mode's fault, on 127.0.0.1 at a port
// the system picks. Close it when done.
func Start(mode Mode, o Options) (*Server, error) {
	fam := mode.family()
	if fam == famNone && mode != Refuse {
		names := make([]string, len(modes))
		for i, m := range modes {
			names[i] = string(m.mode)
		}
		return nil, fmt.Errorf("faultserver: unknown mode %q (want one of %s)", mode, strings.Join(names, ", "))
	}
	if o.TLS < NoTLS || o.TLS > Expired {
		return nil, fmt.Errorf("faultserver: unknown TLS %v", o.TLS)
	}
	if o.HugeSize < 0 || o.DripInterval < 0 {
		return nil, fmt.Errorf("faultserver: HugeSize %d and DripInterval %v must not be negative", o.HugeSize, o.DripInterval)
	}
	if o.HugeSize == 0 {
		o.HugeSize = DefaultHugeSize
		if mode == H2Huge {
			o.HugeSize = DefaultH2HugeSize
		}
	}
	if o.DripInterval == 0 {
		o.DripInterval = DefaultDripInterval
	}
	if (fam == famH2 || fam == famH2Raw) && o.TLS == NoTLS {
		o.TLS = SelfSigned
	}
	if mode == Refuse {
		o.TLS = NoTLS
	}
	s := &Server{mode: mode, opt: o, closed: make(chan struct{}), conns: map[*trackedConn]struct{}{}}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultserver: %w", err)
	}
	s.addr = ln.Addr().String()
	if mode == Refuse {
		// Nothing listens here once it is closed. Another listener could
		// in principle get the port before the client dials; the kernel
		// picks ports for :0 from a wide range, so that is unlikely.
		ln.Close()
		close(s.closed)
		s.isClosed = true
		return s, nil
	}
	s.ln = &trackingListener{Listener: ln, s: s}

	if o.TLS != NoTLS {
		cert, leaf, err := newCert(o.TLS == Expired)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("faultserver: %w", err)
		}
		s.cert = leaf
		s.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	switch fam {
	case famHTTP1:
		l := s.ln
		if s.tlsCfg != nil {
			s.tlsCfg.NextProtos = []string{"http/1.1"}
			l = tls.NewListener(l, s.tlsCfg)
		}
		s.acceptLoop(l, s.serveHTTP1)
	case famH2:
		s.startH2()
	case famH2Raw:
		s.tlsCfg.NextProtos = []string{"h2"}
		s.acceptLoop(tls.NewListener(s.ln, s.tlsCfg), s.serveH2Raw)
	case famGRPC:
		s.startGRPC()
	}
	return s, nil
}

// StartTB starts a server like Start, failing tb if it cannot, and closes
// it when tb's test ends.
func StartTB(tb testing.TB, mode Mode, o Options) *Server {
	tb.Helper()
	s, err := Start(mode, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Mode returns the server's fault.
func (s *Server) Mode() Mode { return s.mode }

// Options returns the server's options with the defaults filled in.
func (s *Server) Options() Options { return s.opt }

// Addr returns the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return s.addr }

// URL returns a URL for the server: http:// or https:// and "/" for the
// HTTP modes (and Refuse); grpc:// or grpcs:// and "/demo.Store/Get" for
// the gRPC modes.
func (s *Server) URL() string {
	switch s.mode.family() {
	case famGRPC:
		if s.tlsCfg != nil {
			return "grpcs://" + s.addr + "/demo.Store/Get"
		}
		return "grpc://" + s.addr + "/demo.Store/Get"
	}
	if s.tlsCfg != nil {
		return "https://" + s.addr + "/"
	}
	return "http://" + s.addr + "/"
}

// Certificate returns the server's TLS certificate, or nil without TLS.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// RootCAs returns a pool that trusts the server's certificate (so that a
// client can tell an expired certificate from an untrusted one), or nil
// without TLS.
func (s *Server) RootCAs() *x509.CertPool {
	if s.cert == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.cert)
	return p
}

// Requests returns how many requests (gRPC calls, HTTP/2 streams) the
// server has received so far, counted once each request's headers were
// read and before its fault. Connections that failed the TLS handshake
// carried none.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Close stops the server: it stops accepting, closes every connection and
// waits for its goroutines. A request still hanging gets its connection
// closed. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return
	}
	s.isClosed = true
	close(s.closed)
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	s.ln.Close()
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	if s.grpcSrv != nil {
		s.grpcSrv.Stop()
	}
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
}

// done reports whether the server is closing.
func (s *Server) done() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// sleep waits d or until the server closes; it reports whether d passed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

// acceptLoop serves each connection of l with serve in its own goroutine
// until l is closed.
func (s *Server) acceptLoop(l net.Listener, serve func(net.Conn)) {
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				if s.done() {
					return
				}
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				serve(c)
			})
		}
	})
}

// trackingListener records accepted connections so that Close can close
// them and the gRPC handler can find its own.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	closed := l.s.isClosed
	if !closed {
		l.s.conns[tc] = struct{}{}
	}
	l.s.mu.Unlock()
	if closed {
		c.Close()
		return nil, net.ErrClosed
	}
	return tc, nil
}

// trackedConn is an accepted TCP connection that leaves the server's set
// when closed.
type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	var err error
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// abort resets the TCP connection under c: SO_LINGER 0 makes close send
// RST instead of FIN.
func abort(c net.Conn) {
	if tcp := tcpConn(c); tcp != nil {
		_ = tcp.SetLinger(0)
		tcp.Close()
		return
	}
	c.Close()
}

// tcpConn returns the TCP connection under c (a *tls.Conn, a
// *trackedConn, or both), or nil.
func tcpConn(c net.Conn) *net.TCPConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok {
		c = tc.Conn
	}
	tcp, _ := c.(*net.TCPConn)
	return tcp
}

// abortRemote resets the accepted connection whose peer is remote, if
// there is one; it reports whether there was.
func (s *Server) abortRemote(remote string) bool {
	s.mu.Lock()
	var found *trackedConn
	for c := range s.conns {
		if c.RemoteAddr().String() == remote {
			found = c
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		return false
	}
	abort(found)
	found.Close() // leaves the set; the socket is already closed
	return true
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
