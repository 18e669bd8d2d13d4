package h1

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"tailgate/targets/internal/rawsock"
	"time"
)

// readBufSize is each connection's read buffer: response heads up to this
// size are parsed in place (a longer header line grows it, up to
// maxLine, for that response only), and bodies are read through it and
// discarded.
const readBufSize = 16 << 10

// pool holds a target's idle connections, most recently used on top, and
// caps the connections open when Options.Connections > 0.
type pool struct {
	mu      sync.Mutex
	idle    []*conn // capacity maxIdle: push never allocates under the lock
	maxIdle int
	closed  bool
	// sem holds one token per request holding (or dialing) a connection
	// when connections are capped; nil when they are not. A request dials
	// only when no connection is idle, so open connections never exceed
	// the tokens.
	sem chan struct{}
	// waiting are the requests waiting for a connection (Target.await),
	// oldest first; nwait is len(waiting), read without the lock.
	waiting []*waiter
	nwait   atomic.Int32
}

// waiter is a request waiting for a connection: its own dial's, or one
// that another request is done with, whichever comes first.
type waiter struct {
	ch       chan delivery // buffered: at most one delivery
	ctx      context.Context
	deadline time.Time
	due      bool // its wait before dialing is over; under pool.mu
	claimed  bool // a dialer is dialing for it; under pool.mu
}

// delivery is what a waiter is given: a connection, or its own dial's error.
type delivery struct {
	c   *conn
	err error
}

// enqueue adds w to the waiting requests.
func (p *pool) enqueue(w *waiter) {
	p.mu.Lock()
	p.waiting = append(p.waiting, w)
	p.nwait.Add(1)
	p.mu.Unlock()
}

// dequeue removes w from the waiting requests and reports whether it was
// there: false means that something was delivered to it already.
func (p *pool) dequeue(w *waiter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.waiting {
		if x == w {
			n := copy(p.waiting[i:], p.waiting[i+1:])
			p.waiting[i+n] = nil
			p.waiting = p.waiting[:i+n]
			p.nwait.Add(-1)
			return true
		}
	}
	return false
}

// due marks w as ready to be dialed for.
func (p *pool) due(w *waiter) {
	p.mu.Lock()
	w.due = true
	p.mu.Unlock()
}

// claim returns the oldest waiting request that is due and that no dialer
// has claimed, and claims it; nil if there is none.
func (p *pool) claim() *waiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.waiting {
		if w.due && !w.claimed {
			w.claimed = true
			return w
		}
	}
	return nil
}

// anyDue reports whether a waiting request is due and unclaimed.
func (p *pool) anyDue() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.waiting {
		if w.due && !w.claimed {
			return true
		}
	}
	return false
}

// handoff gives c to the request that has waited longest for a
// connection, if any request is waiting.
func (p *pool) handoff(c *conn) bool {
	if p.nwait.Load() == 0 {
		return false
	}
	p.mu.Lock()
	if len(p.waiting) == 0 {
		p.mu.Unlock()
		return false
	}
	w := p.waiting[0]
	n := copy(p.waiting, p.waiting[1:])
	p.waiting[n] = nil
	p.waiting = p.waiting[:n]
	p.nwait.Add(-1)
	p.mu.Unlock()
	w.ch <- delivery{c: c}
	return true
}

func (p *pool) init(maxConns, maxIdle int) {
	if maxConns > 0 {
		p.sem = make(chan struct{}, maxConns)
	}
	p.maxIdle = maxIdle
	p.idle = make([]*conn, 0, maxIdle)
}

// acquire waits for the right to use a connection, until deadline.
func (p *pool) acquire(ctx context.Context, deadline time.Time) error {
	if p.sem == nil {
		return nil
	}
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	d := time.Until(deadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return os.ErrDeadlineExceeded
	}
}

func (p *pool) release() {
	if p.sem != nil {
		<-p.sem
	}
}

// aliveCheck is how long a connection must have been idle before pop
// checks that the server has not closed it. A busy connection skips the
// system call; one that sat idle, which is when servers close them, pays
// it, so that a request that cannot be retried is not sent on a dead
// connection (net/http learns the same from its per-connection reader
// goroutine). A raw socket (rawsock) is checked on every use instead,
// inside the wait for the response: see conn.send.
const aliveCheck = 10 * time.Millisecond

// pop takes the most recently used idle connection, or returns nil.
// Connections idle longer than IdleTimeout, and idle ones the server has
// closed, are closed on the way.
func (p *pool) pop(now time.Time) *conn {
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if fresh(c, now) {
			return c
		}
		c.close()
		p.mu.Lock()
	}
	p.mu.Unlock()
	return nil
}

// fresh reports whether idle connection c may be used at now: not idle
// past IdleTimeout, and, if idle for aliveCheck or more, not closed by the
// server.
func fresh(c *conn, now time.Time) bool {
	idle := now.Sub(c.lastUse)
	if c.lz != nil {
		// A harvest may have seen the peer's FIN; else, as below.
		return idle <= IdleTimeout && (idle < aliveCheck && !c.lz.Readable() || c.lz.Quiet())
	}
	return idle <= IdleTimeout && (idle < aliveCheck || c.sk != nil || c.alive())
}

// push gives c to a waiting request, or returns it to the idle stack, or
// closes it if the stack is full or the target closed.
func (p *pool) push(c *conn) {
	if p.handoff(c) {
		return
	}
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = p.idle[:0:0], true
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// conn is one connection and the buffers it owns. Only the request
// holding it touches it.
type conn struct {
	nc         net.Conn
	io         io.ReadWriter   // reads and writes: raw system calls where possible (rawsock), else nc
	sk         *rawsock.Conn   // io when it is raw, else nil
	lz         *rawsock.Lazy   // nc, io and rd's clock when reads are lazy, else nil
	raw        syscall.RawConn // the socket, for alive; nil if unknown
	rd         reader
	wbuf, bbuf []byte // rendered request head and templated body
	reused     bool   // a response has been read on it
	lastUse    time.Time

	// Cancellation: an AfterFunc on the last context seen with a Done
	// channel, kept while requests keep coming with that same channel (the
	// generator runs every request under one context), so that it costs
	// nothing per request. When it fires it sets a deadline in the past,
	// which fails the I/O in progress at once.
	watchDone <-chan struct{}
	stopWatch func() bool
	// busy is the Done channel of the request now using c (nil when idle):
	// the hook acts only while c is busy with its context, so a context
	// cancelled after its request is done (a hedge's winner, say) does not
	// break the connection back in the pool.
	mu   sync.Mutex
	busy <-chan struct{}
}

var aLongTimeAgo = time.Unix(1, 0)

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc, raw: rawConn(nc), io: nc}
	if rc, ok := rawsock.Wrap(nc).(*rawsock.Conn); ok {
		c.io, c.sk = rc, rc
	}
	c.rd.nc = c.io
	c.rd.buf = make([]byte, readBufSize)
	return c
}

// newLazyConn is newConn for a socket read lazily (Target.LazyReads).
func newLazyConn(lz *rawsock.Lazy) *conn {
	c := &conn{nc: lz, io: lz, lz: lz}
	c.rd.nc, c.rd.lz = lz, lz
	c.rd.buf = make([]byte, readBufSize)
	return c
}

// watch arranges for ctx's cancellation to interrupt I/O on c while c
// serves ctx's request; idle must be called when the request is done. A
// hook left from an earlier context only acts while c is busy with that
// context, so it can be dropped whether or not it has run.
func (c *conn) watch(ctx context.Context) bool {
	done := ctx.Done()
	c.mu.Lock()
	c.busy = done
	c.mu.Unlock()
	if done == c.watchDone && (done == nil || c.stopWatch != nil) {
		return true
	}
	if c.stopWatch != nil {
		c.stopWatch() // if it ran, it found c idle or busy with its own context, now over
		c.stopWatch, c.watchDone = nil, nil
	}
	if done == nil {
		return true
	}
	c.watchDone = done
	c.stopWatch = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		if c.busy == done {
			c.nc.SetDeadline(aLongTimeAgo)
		}
		c.mu.Unlock()
	})
	return true
}

// idle marks c as serving no request.
func (c *conn) idle() {
	c.mu.Lock()
	c.busy = nil
	c.mu.Unlock()
}

func (c *conn) close() {
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch = nil
	}
	c.nc.Close()
}
