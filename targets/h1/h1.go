// Package h1 is tailgate's fast HTTP/1.1 client: a generator.Target for
// the common case of a load test (HTTP/1.1 keep-alive, plain or TLS, no
// redirects followed) that costs a fraction of net/http's CPU per request
// and allocates nothing per request in steady state.
//
// Where it is faster:
//
//   - The request is rendered once per template: every static byte of the
//     request line, headers and body is prebuilt in New; per request only
//     the {{seq}}, {{key}} and {{data.COLUMN}} values are appended (with
//     targets.Template.Append) into a buffer the connection owns.
//   - The response is parsed in place from a fixed read buffer the
//     connection owns: status line, the headers that matter
//     (Content-Length, Transfer-Encoding, Connection and the cache header),
//     then the body is read and discarded (chunked decoding included),
//     counting its bytes.
//   - A connection is taken for the whole exchange and driven by the
//     calling goroutine: no per-connection read and write goroutines, no
//     channels between them. Each of the send loop's workers keeps the
//     connection it used (DoWorker: no lock); other callers share an idle
//     stack.
//
// What it covers is checked by Supported; New returns an error wrapping
// ErrUnsupported for the rest (HTTP/2, Expect: 100-continue, a templated
// host), so that a caller can fall back to targets.NewHTTP. It behaves like
// targets.HTTP where the two overlap:
//
//   - the same request bytes: Host, User-Agent: Go-http-client/1.1 (unless
//     set), Content-Length (also 0 for an empty POST, PUT or PATCH), then
//     the user's headers sorted by name; credentials in the URL as basic
//     auth; DoBatch's JSON array body for client-side batching;
//   - redirects reported, not followed; the same per-request timeout
//     covering the wait for a connection, dial, TLS handshake (verified
//     unless Insecure), request and response; the context's deadline and
//     cancellation honoured (a cancelled request is interrupted at once);
//   - the same error kinds, by one taxonomy (docs/hardening.md, "One
//     taxonomy", and TestErrorKindsSameOnBothEngines): targets.Classify;
//     a response that is malformed, or cut short by the peer's clean
//     close, is ErrProtocol; any error once the timeout has expired is
//     ErrTimeout, as net/http's Client.Timeout counts it; responses are
//     accepted and rejected as net/http's client does (header lines as
//     net/textproto, status codes 100–599, heads up to 10 MB with their
//     1xx responses);
//   - the same Outcome fields, TTFB, Connect and NewConn included;
//   - the same retry rule as net/http: a request that fails on a reused
//     keep-alive connection before any byte of a response arrived is sent
//     once more, on a new connection, if it is idempotent (GET, HEAD,
//     OPTIONS, TRACE, or with an Idempotency-Key header) or if nothing of
//     it was written. net/http notices most such closes beforehand, from
//     a reader goroutine per connection; here a reused connection is
//     checked with one non-blocking peek before the request goes out (on a
//     socket read through rawsock, every time; otherwise once it has sat
//     idle for 10 ms or more).
//
// With LazyReads (tailgate's --reads lazy, over plain http),
// a response does not wake the process when it arrives: the sockets are
// kept in an epoll set of the target's own, which each request looks at
// without waiting once it has sent, and a timer 2 ms after the last look
// otherwise. Every response is timed by the kernel's receive timestamp of
// its bytes, so reading it later does not make it later; a FIN on an idle
// connection shows at the next look, with no system call of its own.
//
// It differs in that templated URL values are percent-escaped where a
// request line cannot carry them (space, '#', non-ASCII) rather than
// parsed as URL syntax, and idle connections beyond 1024 (or
// HTTPOptions.Connections) are closed, as net/http's MaxIdleConnsPerHost.
package h1

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/internal/rawsock"
)

// ErrUnsupported is wrapped by New's error when the options need something
// the fast path does not do; the error says what. Use targets.NewHTTP then.
var ErrUnsupported = errors.New("not supported by the fast HTTP/1.1 client")

// IdleTimeout is how long an idle keep-alive connection is kept before it
// is closed instead of reused, as net/http's Transport.IdleConnTimeout.
const IdleTimeout = 90 * time.Second

// userAgent is what net/http sends when the user sets no User-Agent.
const userAgent = "Go-http-client/1.1"

// Target is an HTTP/1.1 target. It is safe for concurrent use.
type Target struct {
	opt     targets.HTTPOptions
	timeout time.Duration
	addr    string      // host:port to dial
	tlsConf *tls.Config // nil for http

	req       request // for Do
	batch     request // for DoBatch
	head      bool    // HEAD: responses have no body
	replay    bool    // idempotent: may be retried after a stale connection
	closeEach bool    // the user asked for Connection: close

	cacheHeader, cacheHit string

	pool  pool
	dials atomic.Int64 // connections dialed, for tests
	// dialTime is how long a dial (with TLS, the handshake) has been
	// taking, in ns (noteDial; 0: none yet): how long await waits for a
	// connection to be freed before it dials.
	dialTime atomic.Int64
	dialing  atomic.Int32 // dialers running (startDial)
	// dialed, in tests, runs after a connection is dialed for a request,
	// before it is given to one; set before the first request.
	dialed func()

	// lazy, when set (LazyReads), holds the connections' sockets, out of
	// the runtime's poller: their responses are read once a later request
	// has been sent, or by its fallback timer.
	lazy *rawsock.Poller

	// owned[w] is the send loop's worker w's own idle connection (see
	// DoWorker), when connections are not capped; ownClosed is set by
	// Close.
	owned     []ownedConn
	ownClosed atomic.Bool
}

// ownedConn is a worker's connection slot, alone on its cache line.
type ownedConn struct {
	c atomic.Pointer[conn]
	_ [56]byte
}

var (
	_ generator.BatchTarget  = (*Target)(nil)
	_ generator.WorkerTarget = (*Target)(nil)
)

// Supported reports whether the fast path covers o and, if not, why.
// It does not validate o: New does.
func Supported(o targets.HTTPOptions) (bool, string) {
	if o.HTTP2 {
		return false, "HTTP/2 requested"
	}
	for k, vs := range o.Header {
		if http.CanonicalHeaderKey(k) == "Expect" && len(vs) > 0 {
			return false, "Expect header (100-continue)"
		}
	}
	scheme, rest, ok := strings.Cut(o.URL, "://")
	if !ok {
		return true, "" // New reports the malformed URL
	}
	if s := strings.ToLower(scheme); s != "http" && s != "https" {
		return false, fmt.Sprintf("scheme %q", scheme)
	}
	if auth, _ := splitAuthority(rest); strings.Contains(auth, "{{") {
		return false, "templated host in URL"
	}
	return true, ""
}

// splitAuthority splits what follows "scheme://" into the authority and
// the rest (path, query and fragment).
func splitAuthority(rest string) (auth, path string) {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, ""
}

// New validates o and returns a target. The error wraps ErrUnsupported if
// the fast path does not cover o (see Supported).
func New(o targets.HTTPOptions) (*Target, error) {
	if ok, why := Supported(o); !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, why)
	}
	var data *targets.Data
	if o.Vars != nil {
		data = o.Vars.Data
	}
	urlT, err := targets.ParseTemplate(o.URL, data)
	if err != nil {
		return nil, err
	}
	// Check the URL as the first request would send it.
	u, err := targets.ParseURL(string(urlT.Append(nil, 0, o.Vars)))
	if err != nil {
		return nil, err
	}
	if err := checkOptions(&o); err != nil {
		return nil, err
	}
	t := &Target{
		opt:         o,
		timeout:     o.Timeout,
		head:        o.Method == http.MethodHead,
		cacheHeader: o.CacheHeader,
		cacheHit:    o.CacheHit,
	}
	if err := t.setAddr(u); err != nil {
		return nil, err
	}
	target, err := requestTarget(o.URL, urlT, u, data)
	if err != nil {
		return nil, err
	}
	if err := t.buildRequests(u, target, data); err != nil {
		return nil, err
	}
	t.initPool()
	return t, nil
}

// checkOptions fills in o's default method and timeout, and checks the
// method, the timeout and the connection cap.
func checkOptions(o *targets.HTTPOptions) error {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.BatchItem != "" && o.Method == http.MethodGet {
		o.Method = http.MethodPost // as targets.HTTP: a batch has a body
	}
	if !validToken(o.Method) {
		return fmt.Errorf("invalid method %q", o.Method)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("timeout must not be negative, got %v", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = targets.DefaultTimeout
	}
	if o.Connections < 0 {
		return fmt.Errorf("connections must not be negative, got %d", o.Connections)
	}
	return nil
}

// setAddr sets the address to dial from u, with the scheme's default port,
// and for https the TLS configuration.
func (t *Target) setAddr(u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme != "https" {
		return nil
	}
	var err error
	if t.tlsConf, err = targets.TLSConfig(t.opt.TLS()); err != nil {
		return err
	}
	if t.tlsConf.ServerName == "" {
		t.tlsConf.ServerName = u.Hostname()
	}
	t.tlsConf.NextProtos = []string{"http/1.1"}
	return nil
}

// requestTarget returns the template of the request target: exactly
// net/http's when the URL (rawURL, parsed as urlT, rendered for request 0
// as u) is static; otherwise the template of everything after the host.
func requestTarget(rawURL string, urlT *targets.Template, u *url.URL, data *targets.Data) (*targets.Template, error) {
	if urlT.Static() {
		return targets.ParseTemplate(u.RequestURI(), nil)
	}
	_, rest, _ := strings.Cut(rawURL, "://")
	_, p := splitAuthority(rest)
	if i := strings.IndexByte(p, '#'); i >= 0 && !strings.Contains(p[i:], "{{") {
		p = p[:i]
	}
	if p == "" || p[0] == '?' {
		p = "/" + p
	}
	return targets.ParseTemplate(p, data)
}

// buildRequests prebuilds the request for Do and the one for DoBatch.
func (t *Target) buildRequests(u *url.URL, target *targets.Template, data *targets.Data) error {
	o := t.opt
	bodyT, err := targets.ParseTemplate(string(o.Body), data)
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	// A batch's body is a JSON array of items: BatchItem rendered per item
	// or, without one, the body template (as targets.HTTP does).
	itemT := bodyT
	if o.BatchItem != "" {
		if itemT, err = targets.ParseTemplate(o.BatchItem, data); err != nil {
			return fmt.Errorf("batch item: %w", err)
		}
	}
	if err := t.buildRequest(&t.req, u, target, bodyT, nil, data); err != nil {
		return err
	}
	return t.buildRequest(&t.batch, u, target, nil, itemT, data)
}

// initPool sizes the connection pool and, without a connection cap, the
// workers' own connection slots.
func (t *Target) initPool() {
	maxIdle := t.opt.Connections
	if maxIdle == 0 {
		maxIdle = generator.DefaultMaxInFlight // as targets.HTTP's MaxIdleConnsPerHost
	}
	t.pool.init(t.opt.Connections, maxIdle)
	if t.opt.Connections == 0 {
		// With a cap, an idle connection a worker kept could leave another
		// worker unable to open one: the stack alone then.
		t.owned = make([]ownedConn, maxIdle)
	}
}

// buildRequest prebuilds a request in net/http's order: request line,
// Host, User-Agent, Content-Length, then the user's headers sorted by name,
// then the body: bodyT, or with itemT a batch of items.
func (t *Target) buildRequest(r *request, u *url.URL, target, bodyT, itemT *targets.Template, data *targets.Data) error {
	o := t.opt
	r.vars = o.Vars
	r.lit(o.Method + " ")
	r.tmpl(target, segTarget)
	r.lit(" HTTP/1.1\r\nHost: ")
	hs, host, ua, err := t.userHeaders(u)
	if err != nil {
		return err
	}
	if len(host) > 0 && host[0] != "" {
		if err := r.headerValue("Host", host[0], data); err != nil {
			return err
		}
	} else {
		r.lit(u.Host)
	}
	r.lit("\r\n")
	if len(ua) > 0 && ua[0] != "" {
		if err := r.header("User-Agent", ua[0], data); err != nil {
			return err
		}
	}
	r.contentLength(o, bodyT, itemT)
	for _, h := range hs {
		for _, v := range h.vals {
			if err := r.header(h.name, v, data); err != nil {
				return err
			}
		}
	}
	r.lit("\r\n")
	if itemT == nil && bodyT.Static() {
		r.staticBody(o.Body)
	}
	r.finish()
	return nil
}

// userHeader is one of the user's headers with its values.
type userHeader struct {
	name string
	vals []string
}

// userHeaders returns the user's headers other than Host and User-Agent
// (whose values it returns apart, the default User-Agent if unset) and
// those net/http writes itself, with the URL's credentials as basic auth
// unless an Authorization header is set, sorted by name. On the way it
// notes whether every request asks for its connection to be closed, and
// whether requests may be replayed on a new connection (idempotent
// methods, or an idempotency key).
func (t *Target) userHeaders(u *url.URL) (hs []userHeader, host, ua []string, err error) {
	o := t.opt
	ua = []string{userAgent}
	auth := false
	for k, vs := range o.Header {
		if !validToken(k) {
			return nil, nil, nil, fmt.Errorf("invalid header name %q", k)
		}
		switch http.CanonicalHeaderKey(k) {
		case "Host":
			host = vs
			continue
		case "User-Agent":
			ua = vs
			continue
		case "Content-Length", "Transfer-Encoding", "Trailer":
			continue // net/http writes its own
		case "Authorization":
			auth = true
		case "Connection":
			for _, v := range vs {
				if hasToken(v, "close") {
					t.closeEach = true
				}
			}
		case "Idempotency-Key", "X-Idempotency-Key":
			t.replay = true
		}
		hs = append(hs, userHeader{k, vs})
	}
	if u.User != nil && !auth {
		// net/http sends the URL's credentials as basic auth.
		pw, _ := u.User.Password()
		hs = append(hs, userHeader{"Authorization", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))}})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	switch o.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		t.replay = true
	}
	return hs, host, ua, nil
}

// Engine names the client, for reports: "fast-h1".
func (t *Target) Engine() string { return "fast-h1" }

// Close closes idle connections; connections in use are closed when their
// request ends. The target must not be used after Close.
func (t *Target) Close() {
	t.ownClosed.Store(true)
	for i := range t.owned {
		if c := t.owned[i].c.Swap(nil); c != nil {
			c.close()
		}
	}
	t.pool.close()
	if t.lazy != nil {
		t.lazy.Close()
	}
}

// LazyReads makes the connections opened from now on read their responses
// lazily (rawsock.Poller): each request, once written, looks without
// waiting for the responses that have arrived on any connection, and a
// timer does when no request has for rawsock.FallbackEvery; each response
// is timed by the kernel's receive timestamp (generator.Outcome.Arrived).
// A response then wakes nobody. For an open-loop run only: a closed loop
// waits for each response before it sends, so its reads would wait for
// the timer. Plain http on Linux only. It reports whether it took effect.
// Call it before the first request.
func (t *Target) LazyReads() bool {
	if t.lazy != nil {
		return true
	}
	if !rawsock.LazySupported || t.tlsConf != nil {
		return false
	}
	p, err := rawsock.NewPoller()
	if err != nil {
		return false
	}
	t.lazy = p
	return true
}

// Do sends one request and reads the whole response, discarding the body.
func (t *Target) Do(ctx context.Context, seq uint64) generator.Outcome {
	return t.do(ctx, &t.req, seq, nil, -1)
}

// DoWorker is Do for the send loop's worker w (generator.WorkerTarget):
// the worker keeps the connection it used, and takes it again next time
// without going through the shared idle stack and its lock. A worker's
// connection is checked like any idle one before reuse. Workers beyond
// the idle limit, and every worker when connections are capped, share
// the stack as Do does.
func (t *Target) DoWorker(ctx context.Context, w int, seq uint64) generator.Outcome {
	return t.do(ctx, &t.req, seq, nil, w)
}

// RetireWorker closes worker w's own connection: the send loop ended the
// worker (generator.WorkerRetirer), and the connection and its buffers
// are not kept for a worker that may never come back.
func (t *Target) RetireWorker(w int) {
	if w >= 0 && w < len(t.owned) {
		if c := t.owned[w].c.Swap(nil); c != nil {
			c.close()
		}
	}
}

// take returns worker w's own connection if it has a usable one, else one
// from the idle stack, else nil.
func (t *Target) take(w int, now time.Time) *conn {
	if w >= 0 && w < len(t.owned) {
		if c := t.owned[w].c.Swap(nil); c != nil {
			if fresh(c, now) {
				return c
			}
			c.close()
		}
	}
	return t.pool.pop(now)
}

// give hands c to a request waiting for a connection, or keeps it as
// worker w's connection, or returns it to the idle stack.
func (t *Target) give(w int, c *conn) {
	if t.pool.handoff(c) {
		return
	}
	if w >= 0 && w < len(t.owned) && !t.ownClosed.Load() && t.owned[w].c.CompareAndSwap(nil, c) {
		if t.ownClosed.Load() && t.owned[w].c.CompareAndSwap(c, nil) {
			c.close() // Close ran meanwhile and missed it
		}
		return
	}
	t.pool.push(c)
}

// DoBatch sends the items seqs as one request whose body is a JSON array
// of HTTPOptions.BatchItem rendered per item (or, without BatchItem, of the
// body template); the URL and headers are rendered for the first item.
func (t *Target) DoBatch(ctx context.Context, seqs []uint64) generator.Outcome {
	if len(seqs) == 0 {
		return generator.Outcome{Err: generator.ErrOther, Msg: "empty batch"}
	}
	return t.do(ctx, &t.batch, seqs[0], seqs, -1)
}

// do sends a request for worker w (-1: none known).
func (t *Target) do(ctx context.Context, r *request, seq uint64, seqs []uint64, w int) generator.Outcome {
	if err := ctx.Err(); err != nil {
		return t.failed(ctx, err, time.Time{})
	}
	now := time.Now()
	deadline := now.Add(t.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := t.pool.acquire(ctx, deadline); err != nil {
		return t.failed(ctx, err, deadline)
	}
	defer t.pool.release()
	c := t.take(w, now)
	var connect time.Duration
	for attempt := 0; ; attempt++ {
		if c == nil {
			var err error
			t0 := time.Now()
			if attempt == 0 && t.pool.sem == nil && !t.closeEach {
				c, err = t.await(ctx, deadline)
			} else {
				c, err = t.dialNew(ctx, deadline)
			}
			if err != nil {
				return t.failed(ctx, err, deadline)
			}
			if !c.reused {
				connect = max(time.Since(t0), 1)
			}
		}
		out, st := t.exchange(ctx, c, r, seq, seqs, deadline)
		c.idle()
		if connect > 0 {
			out.NewConn, out.Connect = true, connect
		}
		if c.rd.got {
			out.TTFB = c.rd.first.Sub(now)
		}
		if c.lz != nil && out.Err == generator.ErrNone {
			out.Arrived = c.lz.Arrived()
		}
		switch {
		case st == keep:
			c.lastUse = time.Now()
			t.give(w, c)
			return out
		case st == retry && attempt == 0:
			c.close()
			c = nil
			continue
		}
		c.close()
		return out
	}
}

// connState is what to do with a connection after an exchange.
type connState uint8

const (
	keep    connState = iota // reuse it
	discard                  // close it
	retry                    // close it and send the request again on a new connection
)

// exchange sends the request for seq on c and reads the response.
func (t *Target) exchange(ctx context.Context, c *conn, r *request, seq uint64, seqs []uint64, deadline time.Time) (generator.Outcome, connState) {
	out := generator.Outcome{}
	if !c.watch(ctx) {
		// The connection's cancellation hook for an earlier context may be
		// running: do not trust its deadline.
		return generator.Outcome{Err: generator.ErrOther, Msg: msgBusy}, retry
	}
	if err := c.nc.SetDeadline(deadline); err != nil {
		return t.failed(ctx, err, deadline), discard
	}
	if err := ctx.Err(); err != nil { // cancelled before the deadline was set
		return t.failed(ctx, err, deadline), keep
	}
	head, body, wb, bb, bodyLen, kind := r.render(c.wbuf, c.bbuf, seq, seqs)
	c.wbuf, c.bbuf = wb, bb
	if kind != generator.ErrNone {
		return generator.Outcome{Err: kind, Msg: renderMsg(kind)}, keep
	}
	out.BytesOut = int64(bodyLen)

	c.rd.start()
	n, err := c.send(head, body)
	if c.lz != nil {
		// Now that the request is out: let the responses that came in
		// since the last look be read.
		t.lazy.Harvest()
	}
	if err != nil {
		out.Err, out.Msg = t.classify(ctx, err, deadline)
		if c.reused && (n == 0 || t.replay) && out.Err != generator.ErrTimeout && out.Err != generator.ErrCanceled {
			return out, retry
		}
		return out, discard
	}
	resp, err := t.readResponse(&c.rd)
	if err != nil {
		out.Status, out.BytesIn, out.CacheHit = resp.status, resp.bytesIn, resp.cacheHit
		out.Err, out.Msg = t.classify(ctx, err, deadline)
		if c.reused && !c.rd.got && t.replay && out.Err != generator.ErrTimeout && out.Err != generator.ErrCanceled {
			return out, retry
		}
		return out, discard
	}
	out.Status, out.BytesIn, out.CacheHit = resp.status, resp.bytesIn, resp.cacheHit
	targets.Describe(&out)
	c.reused = true
	if resp.close || t.closeEach || c.rd.buffered() > 0 {
		return out, discard
	}
	return out, keep
}

// send writes the request's head and body. On a raw socket they go out
// from inside the wait for the response (rawsock's SendRecv), whose first
// bytes are then in c.rd: that saves a read per request that would find
// nothing yet. The wait resets the poller's readiness, so SendRecv peeks
// first, after the reset: a FIN or bytes that came while a reused
// connection sat idle (a server closing as a lingering close does: FIN
// sent, what follows read and dropped, no reset) is errStale, nothing
// written, and the request is retried on a new connection; on a new
// connection, whatever the server sent first (a 503 on accept, say) is
// read as the response, after the request is written, as net/http does.
// Other connections are checked by pool.pop after aliveCheck.
func (c *conn) send(head, body []byte) (int, error) {
	if c.sk != nil && c.rd.w < len(c.rd.buf) {
		wrote, got, err := c.sk.SendRecv(head, body, c.rd.buf[c.rd.w:], true)
		switch {
		case err == rawsock.ErrSpoke && c.reused:
			return 0, errStale
		case err == rawsock.ErrSpoke:
		case wrote == len(head)+len(body):
			c.rd.took(got, err)
			return wrote, nil
		case err != nil:
			return wrote, err
		}
		// The rest goes out by plain writes; the read then comes first.
		if wrote < len(head) {
			head = head[wrote:]
		} else {
			head, body = nil, body[wrote-len(head):]
		}
		n, err := c.write(head, body)
		return wrote + n, err
	}
	return c.write(head, body)
}

// write writes head and body, whichever is not empty.
func (c *conn) write(head, body []byte) (int, error) {
	var n int
	if len(head) > 0 {
		m, err := c.io.Write(head)
		if n = m; err != nil {
			return n, err
		}
	}
	if len(body) > 0 {
		m, err := c.io.Write(body)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// errStale is send's error when the server had closed (or spoken on) a
// reused connection while it sat idle: nothing was written, and the
// request goes again on a new connection.
var errStale = errors.New("h1: connection closed by the server while idle")

// classify maps an error to its kind and Outcome.Msg; the context's own
// error wins, since cancelling a request shows as a deadline in the past.
// An error that comes when the request's deadline (zero: none yet) has
// passed is a timeout whatever it is, as net/http's Client.Timeout counts
// it: the request had timed out, and a peer that gave up at the same
// moment (a server or proxy closing after its own 30 s, say) must not
// turn some of a run's timeouts into resets, depending on which of two
// timers fired first. It allocates: call it on the error path only.
func (t *Target) classify(ctx context.Context, err error, deadline time.Time) (generator.ErrKind, string) {
	if cerr := ctx.Err(); cerr != nil {
		return targets.Classify(cerr), targets.ErrorMessage(cerr)
	}
	kind, msg := generator.ErrOther, ""
	var pe protoError
	if errors.As(err, &pe) {
		kind, msg = generator.ErrProtocol, pe.Error()
	} else {
		kind, msg = targets.Classify(err), targets.ErrorMessage(err)
	}
	if kind != generator.ErrTimeout && !kind.Generator() && !deadline.IsZero() && !time.Now().Before(deadline) {
		return generator.ErrTimeout, targets.TrimMsg("timeout exceeded: " + msg)
	}
	return kind, msg
}

// failed is the Outcome of a request that failed with err.
func (t *Target) failed(ctx context.Context, err error, deadline time.Time) generator.Outcome {
	var out generator.Outcome
	out.Err, out.Msg = t.classify(ctx, err, deadline)
	return out
}

// msgBusy is Outcome.Msg when a connection's cancellation hook for an
// earlier request may still be running.
const msgBusy = "h1: connection still held by a cancelled request"

// renderMsg is Outcome.Msg for a request that rendered to something
// net/http would refuse to send (see request.render).
func renderMsg(kind generator.ErrKind) string {
	if kind == generator.ErrProtocol {
		return "invalid header field value (templated)"
	}
	return "invalid control character in URL (templated)"
}

// await returns a connection for a request that found none idle: the
// first of one another request is done with (pool.handoff) and one
// dialed for it, as net/http's Transport does; a dial that loses the race
// leaves its connection idle for the next request.
//
// The dial is due only after the time a dial has been taking (dialTime):
// a connection freed by then costs the request no more than a dial would
// have, and spares the generator and the target one. Dialing at once
// made a short stall of the generator into a collapse: at 20,000 req/s
// against a canned-response server good for 50,000 (2026-12-08, one vCPU
// each), the stall put a hundred or so requests past the 64 connections
// opened before the run, every one of them dialed, dialing took CPU the
// generator had not got to spare, more requests piled up behind, and in
// 5 s it opened 4,000 to 9,800 connections (setup p50 190–240 ms) and
// held 4,096 in flight (the cap): in 5 runs of 5, where with the wait and
// the bound on dialers below (maxDials) 3 of 5 kept to tens of dials and
// under 250 in flight (interleaved runs; the machine was noisy).
func (t *Target) await(ctx context.Context, deadline time.Time) (*conn, error) {
	w := &waiter{ch: make(chan delivery, 1), ctx: ctx, deadline: deadline}
	wait := time.Until(deadline)
	d := time.Duration(t.dialTime.Load())
	if d <= 0 || d >= wait {
		w.due, d = true, wait
	}
	t.pool.enqueue(w)
	if w.due {
		t.startDial()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	var err error
	for err == nil {
		select {
		case v := <-w.ch:
			return v.c, v.err
		case <-tm.C:
			if wait = time.Until(deadline); wait > 0 && d < wait {
				t.pool.due(w)
				t.startDial()
				d = wait
				tm.Reset(wait)
				continue
			}
			err = os.ErrDeadlineExceeded
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if !t.pool.dequeue(w) {
		if v := <-w.ch; v.c != nil { // delivered as it gave up
			t.pool.push(v.c)
		}
	}
	return nil, err
}

// maxDials is how many connections await dials at once. Unbounded (one
// dial a waiting request, as net/http's Transport), a stall of the
// generator at 20,000 req/s set off up to 9,800 dials in 5 s, each
// costing the generator CPU when it had none to spare: with 64 dialers at
// once 4 runs of 5 still reached 4,096 in flight, with 2 to 8 one run in 5
// or none. At 8 and a dial of 10 ms (TLS across a network), connections
// open at 800 a second after the preconnected ones; the requests waiting
// meanwhile take connections that free up, and their wait shows as
// connection setup.
const maxDials = 8

// startDial starts a dialer unless maxDials are running.
func (t *Target) startDial() {
	for {
		n := t.dialing.Load()
		if n >= maxDials {
			return
		}
		if t.dialing.CompareAndSwap(n, n+1) {
			break
		}
	}
	go t.dialer()
}

// dialer dials for the oldest waiting request no other dialer is dialing
// for, until none is left: the connection goes to that request if it is
// still waiting, else to the oldest one (or the idle stack); an error
// goes to that request alone.
func (t *Target) dialer() {
	for {
		w := t.pool.claim()
		if w == nil {
			break
		}
		c, err := t.dialNew(w.ctx, w.deadline)
		if t.pool.dequeue(w) {
			w.ch <- delivery{c, err}
			continue
		}
		if err == nil {
			c.lastUse = time.Now()
			t.pool.push(c)
		}
	}
	t.dialing.Add(-1)
	if t.pool.nwait.Load() > 0 && t.pool.anyDue() { // one came due as this dialer gave up
		t.startDial()
	}
}

// dialNew dials a connection for a request (dial), with the test hook.
func (t *Target) dialNew(ctx context.Context, deadline time.Time) (*conn, error) {
	c, err := t.dial(ctx, deadline)
	if err == nil && t.dialed != nil {
		t.dialed()
	}
	return c, err
}

// dial opens a new connection, with the TLS handshake for https.
func (t *Target) dial(ctx context.Context, deadline time.Time) (*conn, error) {
	t.dials.Add(1)
	t0 := time.Now()
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tlsConf != nil {
		tc := tls.Client(nc, t.tlsConf)
		if err := nc.SetDeadline(deadline); err != nil {
			nc.Close()
			return nil, err
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	t.noteDial(time.Since(t0))
	if t.lazy != nil && !t.lazy.Closed() {
		lz, err := t.lazy.Wrap(nc)
		if err != nil {
			nc.Close()
			return nil, err
		}
		return newLazyConn(lz), nil
	}
	return newConn(nc), nil
}

// noteDial folds a successful dial's duration into dialTime, a moving
// average weighting the newest 1/8 (updates racing each other may lose
// one: it is an estimate).
func (t *Target) noteDial(d time.Duration) {
	old := t.dialTime.Load()
	if old == 0 {
		t.dialTime.Store(int64(d))
		return
	}
	t.dialTime.Store(old + (int64(d)-old)/8)
}

// validToken reports whether s is an RFC 9110 token (method, header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue reports whether a header value holds no control characters
// but tab, as net/http requires (of requests and responses).
func validValue[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token tok
// (case-insensitive).
func hasToken(v, tok string) bool {
	for v != "" {
		var f string
		f, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.Trim(f, " \t"), tok) {
			return true
		}
	}
	return false
}

// Warm opens up to n connections before a run and leaves them idle, as
// wrk2 and fortio open theirs before the first request: otherwise the
// first requests of a run at a high rate each dial a connection, the
// target accepts thousands at once, and the run starts with a transient
// that is the client's doing (measured at 20,000 req/s: p99 357 ms in the
// first second, then 7 ms). It returns how many it opened; dial errors
// are left for the requests to meet.
func (t *Target) Warm(ctx context.Context, n int) int {
	n = min(n, t.pool.maxIdle)
	if t.pool.sem != nil {
		n = min(n, cap(t.pool.sem))
	}
	if n <= 0 {
		return 0
	}
	deadline := time.Now().Add(t.timeout)
	var left, opened atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for w := 0; w < min(n, 8); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				c, err := t.dial(ctx, deadline)
				if err != nil {
					return
				}
				c.lastUse = time.Now()
				t.pool.push(c)
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(opened.Load())
}
