package h2

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tailgate/targets/internal/rawsock"
)

// DefaultMaxRecvSize is the largest response message accepted, grpc-go's
// default.
const DefaultMaxRecvSize = 4 << 20

// Config describes a client's calls: one method, one server.
type Config struct {
	// Addr is the server's host:port.
	Addr string
	// Authority is sent as :authority and given to Handshake (default
	// Addr).
	Authority string
	// Handshake, when set, secures a new connection (TLS with ALPN h2);
	// nil is plaintext HTTP/2 (h2c, prior knowledge).
	Handshake func(ctx context.Context, authority string, raw net.Conn) (net.Conn, error)
	// Path is the method, "/pkg.Service/Method".
	Path string
	// UserAgent is sent in user-agent.
	UserAgent string
	// Metadata is sent with every call, in order: lower-case names, values
	// as given (-bin values raw: they are base64-encoded here).
	Metadata [][2]string
	// DynamicKeys name metadata whose values each call gives.
	DynamicKeys []string
	// Timeout is each call's deadline, sent as grpc-timeout.
	Timeout time.Duration
	// Connections is the number of connections, used in turn (0 = 1).
	Connections int
	// StreamsPerConnection caps the calls in flight on each connection
	// (0: the server's MAX_CONCURRENT_STREAMS only). A call that finds
	// every connection at the cap waits for its turn one.
	StreamsPerConnection int
	// MaxRecvSize bounds a response message (0 = DefaultMaxRecvSize).
	MaxRecvSize int
	// CacheHeader, when set, is a response header or trailer (lower case)
	// whose value equal to CacheHit (case-insensitively) marks a cache hit.
	CacheHeader, CacheHit string
	// Check, when set, is given the response message of each successful
	// call: it says whether the response was a cache hit, and an error
	// when the message does not decode (the call then fails with
	// Internal, as grpc-go's would).
	Check func(msg []byte) (hit bool, err error)
	// Dial opens a TCP connection (default: a net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Result is what a call returns.
type Result struct {
	// Err is nil for status OK, else a google.golang.org/grpc/status
	// error whose code and message are those grpc-go gives the same
	// failure.
	Err error
	// Deadline is the call's deadline.
	Deadline time.Time
	// BytesIn is the size of the response message.
	BytesIn int
	// CacheHit: see Config.CacheHeader and Config.Check.
	CacheHit bool
}

// Client makes unary gRPC calls over HTTP/2 connections of its own.
type Client struct {
	cfg         Config
	plan        *blockPlan
	maxRecv     int
	cacheHeader string
	cacheHit    string
	slots       []*slot
	next        atomic.Uint64
	closed      atomic.Bool
	ctx         context.Context // ends with Close, for dials
	cancel      context.CancelFunc
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
}

// New returns a client that starts connecting at once, in the background.
func New(cfg Config) (*Client, error) {
	if cfg.Addr == "" || !strings.HasPrefix(cfg.Path, "/") {
		return nil, errors.New("h2: an address and a method path are required")
	}
	cfg.Connections = max(cfg.Connections, 1)
	if cfg.Authority == "" {
		cfg.Authority = cfg.Addr
	}
	c := &Client{cfg: cfg, maxRecv: cfg.MaxRecvSize, cacheHeader: cfg.CacheHeader, cacheHit: cfg.CacheHit, dial: cfg.Dial}
	if c.maxRecv <= 0 {
		c.maxRecv = DefaultMaxRecvSize
	}
	if c.dial == nil {
		c.dial = (&net.Dialer{}).DialContext
	}
	fixed := []hfield{
		{name: ":path", value: cfg.Path, static: staticPath},
		{name: ":authority", value: cfg.Authority, static: staticAuthority},
		{name: "content-type", value: "application/grpc", static: staticContentType},
		{name: "user-agent", value: cfg.UserAgent, static: staticUserAgent},
		{name: "te", value: "trailers"},
	}
	for _, kv := range cfg.Metadata {
		v := kv[1]
		if strings.HasSuffix(kv[0], "-bin") {
			v = b64(v)
		}
		fixed = append(fixed, hfield{name: kv[0], value: v})
	}
	c.plan = newBlockPlan(cfg.Handshake != nil, fixed, cfg.DynamicKeys)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for range cfg.Connections {
		s := &slot{cl: c}
		if n := cfg.StreamsPerConnection; n > 0 {
			s.sem = make(chan struct{}, n)
		}
		c.slots = append(c.slots, s)
		s.mu.Lock()
		s.startDial()
		s.mu.Unlock()
	}
	return c, nil
}

// Close closes the connections; calls in flight end with Canceled.
func (c *Client) Close() {
	if c.closed.Swap(true) {
		return
	}
	c.cancel()
	for _, s := range c.slots {
		s.mu.Lock()
		cn := s.cur.Load()
		s.mu.Unlock()
		if cn != nil {
			cn.shut(errClosing)
		}
	}
}

// Call makes one call: msg is the encoded request message, dyn the values
// of Config.DynamicKeys. It fills r, and never keeps msg or dyn.
func (c *Client) Call(ctx context.Context, msg []byte, dyn [][]byte, r *Result) {
	*r = Result{Deadline: time.Now().Add(c.cfg.Timeout)}
	if d, ok := ctx.Deadline(); ok && d.Before(r.Deadline) {
		r.Deadline = d
	}
	st := newStream()
	st.deadline = r.Deadline
	st.timer.Reset(time.Until(r.Deadline))
	for attempt := 0; ; attempt++ {
		err, again := c.attempt(ctx, st, msg, dyn, r)
		if st.state.Load() == stateAbandoned {
			st.timer.Stop()
			st = nil // the reader may still hold it
		}
		if again && attempt == 0 && err != nil {
			// Unprocessed by the server: grpc-go retries these once,
			// transparently.
			if st != nil {
				st.timer.Stop()
				st.release()
			}
			st = newStream()
			st.deadline = r.Deadline
			st.timer.Reset(time.Until(r.Deadline))
			continue
		}
		r.Err = err
		break
	}
	if st != nil {
		st.timer.Stop()
		st.release()
	}
}

// attempt makes one try of a call with st (fresh). again reports that the
// server never processed it.
func (c *Client) attempt(ctx context.Context, st *stream, msg []byte, dyn [][]byte, r *Result) (err error, again bool) {
	s, release, err := c.pick(ctx, st)
	if err != nil {
		return err, false
	}
	defer release()
	var cn *conn
	var off int
	for {
		if cn, err = s.get(ctx, st); err != nil {
			return err, false
		}
		if cn.sem != nil {
			select {
			case cn.sem <- struct{}{}:
			case <-cn.closed:
				continue
			case <-st.timer.C:
				return errDeadline, false
			case <-ctx.Done():
				return ctxStatus(ctx.Err()), false
			}
		}
		off, err = cn.open(st, msg, dyn)
		if err == nil {
			break
		}
		cn.releaseSem()
	}
	defer cn.releaseSem()
	if off < 5+len(msg) {
		if err := cn.sendRest(ctx, st, msg, off); err != nil && cn.abandon(st) {
			return err, false
		}
	}
	select {
	case <-st.done:
	case <-st.timer.C:
		if cn.abandon(st) {
			return errDeadline, false
		}
	case <-ctx.Done():
		if cn.abandon(st) {
			return ctxStatus(ctx.Err()), false
		}
	}
	if st.err == nil && st.msgs == 1 {
		r.BytesIn = len(st.buf)
		r.CacheHit = st.cacheHit
		if c.cfg.Check != nil {
			hit, err := c.cfg.Check(st.buf)
			if err != nil {
				return unmarshalStatus(err), false
			}
			r.CacheHit = r.CacheHit || hit
		}
	} else if st.msgs == 1 && !st.partial() && c.cfg.Check != nil && !st.unprocessed {
		// grpc-go decodes the message before it reads the status.
		if _, err := c.cfg.Check(st.buf); err != nil {
			return unmarshalStatus(err), false
		}
	}
	return st.err, st.unprocessed
}

func (cn *conn) releaseSem() {
	if cn.sem != nil {
		<-cn.sem
	}
}

// pick returns the next slot in turn, waiting for a free stream when
// StreamsPerConnection caps it (trying the others first), and the function
// that gives the stream back.
func (c *Client) pick(ctx context.Context, st *stream) (*slot, func(), error) {
	n := uint64(len(c.slots))
	i := (c.next.Add(1) - 1) % n
	s := c.slots[i]
	if s.sem == nil {
		return s, noop, nil
	}
	for j := range n {
		sj := c.slots[(i+j)%n]
		select {
		case sj.sem <- struct{}{}:
			return sj, sj.release, nil
		default:
		}
	}
	select {
	case s.sem <- struct{}{}:
		return s, s.release, nil
	case <-st.timer.C:
		return nil, nil, errDeadline
	case <-ctx.Done():
		return nil, nil, ctxStatus(ctx.Err())
	}
}

func noop() {}

// Backoff between failed connection attempts, grpc-go's defaults.
const (
	backoffBase       = time.Second
	backoffMultiplier = 1.6
	backoffJitter     = 0.2
	backoffMax        = 120 * time.Second
	connectTimeout    = 20 * time.Second
)

// slot is one of the client's connections, over its lifetimes: it dials,
// and after a failed attempt lets calls fail at once, with that attempt's
// error, until the backoff has passed.
type slot struct {
	cl      *Client
	sem     chan struct{} // StreamsPerConnection
	cur     atomic.Pointer[conn]
	mu      sync.Mutex
	dialing chan struct{} // closed when the attempt under way ends
	lastErr error
	retryAt time.Time
	fails   int
}

func (s *slot) release() { <-s.sem }

// get returns the slot's usable connection, dialing or waiting for one.
func (s *slot) get(ctx context.Context, st *stream) (*conn, error) {
	for {
		if cn := s.cur.Load(); cn != nil && !cn.unusable.Load() {
			return cn, nil
		}
		s.mu.Lock()
		if cn := s.cur.Load(); cn != nil && !cn.unusable.Load() {
			s.mu.Unlock()
			return cn, nil
		}
		if s.cl.closed.Load() {
			s.mu.Unlock()
			return nil, errClosing
		}
		if s.dialing == nil {
			if time.Now().Before(s.retryAt) {
				err := s.lastErr
				s.mu.Unlock()
				return nil, err
			}
			s.startDial()
		}
		ch := s.dialing
		s.mu.Unlock()
		select {
		case <-ch:
		case <-st.timer.C:
			return nil, errDeadline
		case <-ctx.Done():
			return nil, ctxStatus(ctx.Err())
		}
		s.mu.Lock()
		failed := s.cur.Load() == nil || s.cur.Load().unusable.Load()
		err := s.lastErr
		s.mu.Unlock()
		if failed && err != nil {
			return nil, err
		}
	}
}

// startDial starts a connection attempt (s.mu held).
func (s *slot) startDial() {
	ch := make(chan struct{})
	s.dialing = ch
	start := time.Now()
	go func() {
		cn, err := s.cl.connect()
		s.mu.Lock()
		if err == nil && s.cl.closed.Load() {
			cn.shut(errClosing)
			err = errClosing
		}
		if err != nil {
			s.fails++
			s.lastErr = err
			s.retryAt = start.Add(backoff(s.fails))
		} else {
			s.fails, s.lastErr = 0, nil
			s.cur.Store(cn)
		}
		s.dialing = nil
		close(ch)
		s.mu.Unlock()
	}()
}

// backoff is the wait after the n-th failed attempt in a row.
func backoff(n int) time.Duration {
	d := float64(backoffBase)
	for i := 1; i < n && d < float64(backoffMax); i++ {
		d *= backoffMultiplier
	}
	d = min(d, float64(backoffMax))
	return time.Duration(d * (1 + backoffJitter*(rand.Float64()*2-1)))
}

// connect opens a connection: TCP, the handshake, the HTTP/2 preface and
// the server's settings. Its error is the status calls fail with.
func (c *Client) connect() (*conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, connectTimeout)
	defer cancel()
	nc, err := c.dial(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, dialStatus(err, false)
	}
	// Raw reads and writes (under TLS too): see package rawsock.
	nc = rawsock.Wrap(nc)
	if c.cfg.Handshake != nil {
		raw := nc
		if nc, err = c.cfg.Handshake(ctx, c.cfg.Authority, raw); err != nil {
			raw.Close()
			return nil, dialStatus(err, true)
		}
	}
	cn := newConn(c, nc)
	if err := cn.handshake(ctx); err != nil {
		nc.Close()
		return nil, connErrorStatus(err.Error())
	}
	go cn.readLoop()
	return cn, nil
}
