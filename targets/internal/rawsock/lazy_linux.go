//go:build linux

package rawsock

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LazySupported says whether NewPoller can work here.
const LazySupported = true

// A Poller reads its connections lazily: their sockets are kept out of
// the runtime's poller, in an epoll set of the Poller's own, so that a
// response arriving wakes nobody. Whoever wakes anyway (an open-loop send
// loop, to send) calls Harvest, which looks at the set without waiting
// and lets the reads that can go on go on. Each read is timed by the
// kernel's receive timestamp (SO_TIMESTAMPNS), so a response read late is
// not timed late: Lazy.Arrived says when its bytes came.
//
// Why: on an idle machine every wake-up is the largest single cost of a
// request (bench/floor: a quarter of its CPU), and a response that wakes
// the process costs one; read at the send loop's next wake, it costs
// none. When nobody harvests for FallbackEvery, a timer does, so a read
// is never left waiting longer than that.
type Poller struct {
	ep int

	mu    sync.Mutex
	conns []*Lazy // by file descriptor
	live  int     // connections not yet closed

	waiting atomic.Int32 // reads waiting for a harvest
	last    atomic.Int64 // when the last harvest began, ns on the monotonic clock since base
	base    time.Time
	hmu     sync.Mutex // one harvest at a time; guards evs
	evs     [128]unix.EpollEvent

	fb     *time.Timer   // the fallback harvest
	every  time.Duration // FallbackEvery; 0 in tests: no fallback
	closed atomic.Bool
}

// FallbackEvery is how long a read waits for a harvest at most before
// the Poller's own timer harvests.
const FallbackEvery = 2 * time.Millisecond

// harvestGap is how soon after a harvest another is skipped: requests
// sent together (on a wake-up grid, several at a wake) look once.
const harvestGap = 20 * time.Microsecond

// NewPoller returns a Poller with an empty epoll set.
func NewPoller() (*Poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	p := &Poller{ep: ep, base: time.Now(), every: FallbackEvery}
	p.fb = time.AfterFunc(time.Hour, p.fallback)
	p.fb.Stop()
	return p, nil
}

// Close closes the epoll set once the last of its connections is closed
// (their owners close them, and a connection in use at Close goes on
// being read); Wrap fails from now on.
func (p *Poller) Close() {
	p.mu.Lock()
	if p.closed.Swap(true) {
		p.mu.Unlock()
		return
	}
	last := p.live == 0
	p.mu.Unlock()
	if last {
		p.closeEp()
	}
}

// Closed says whether Close has been called.
func (p *Poller) Closed() bool { return p.closed.Load() }

func (p *Poller) closeEp() {
	p.fb.Stop()
	p.hmu.Lock()
	if p.ep >= 0 {
		unix.Close(p.ep)
		p.ep = -1
	}
	p.hmu.Unlock()
}

// Harvest lets every read whose socket has something (bytes, the peer's
// FIN, an error) go on, without waiting: one epoll_wait, and nothing when
// no read waits or when the last harvest began less than harvestGap ago.
func (p *Poller) Harvest() {
	if p.waiting.Load() == 0 {
		return
	}
	now := int64(time.Since(p.base))
	if now-p.last.Load() < int64(harvestGap) || !p.hmu.TryLock() {
		return
	}
	p.last.Store(now)
	n := 0
	for p.ep >= 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.ep), uintptr(unsafe.Pointer(&p.evs[0])), uintptr(len(p.evs)), 0, 0, 0)
		if e != unix.EINTR {
			if e == 0 {
				n = int(r)
			}
			break
		}
	}
	if n > 0 {
		p.mu.Lock()
		for i := range n {
			if fd := int(p.evs[i].Fd); fd < len(p.conns) {
				if c := p.conns[fd]; c != nil {
					c.readable.Store(true)
					if c.waiting.Load() {
						c.wake()
					}
				}
			}
		}
		p.mu.Unlock()
	}
	p.hmu.Unlock()
	if p.waiting.Load() > 0 {
		p.arm() // later: the next wake will likely come first
	}
}

// fallback harvests for reads that no wake-up came for, after Close too:
// a read in progress then goes on until its connection is closed.
func (p *Poller) fallback() {
	p.last.Store(0)
	p.Harvest()
}

// arm sets the fallback to come FallbackEvery from now.
func (p *Poller) arm() {
	if p.every > 0 {
		p.fb.Reset(p.every)
	}
}

// Lazy is a TCP connection of a Poller: reads wait for the Poller's
// harvest and are timed by the kernel, writes are raw system calls. It
// is a net.Conn; Read and Write may run at once, Close must not run
// during either.
type Lazy struct {
	p             *Poller
	fd            int
	local, remote net.Addr

	readable atomic.Bool   // a harvest saw something to read that no read has taken yet
	waiting  atomic.Bool   // a read waits on ready
	ready    chan struct{} // a harvest, a new deadline or Close for a waiting read
	timer    *time.Timer
	rdl, wdl atomic.Int64 // deadlines, Unix ns; 0: none
	closed   atomic.Bool

	streaming atomic.Bool // a read since the last write filled its buffer: a large answer is coming

	oob [64]byte
	rx  int64 // CLOCK_REALTIME ns when the bytes of the last read arrived; 0: unknown
	at  time.Time
}

// Wrap moves nc's socket into the Poller: nc is closed, its socket lives
// on in the returned connection. nc must be a *net.TCPConn.
func (p *Poller) Wrap(nc net.Conn) (*Lazy, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, errors.New("rawsock: lazy reads need a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("dup", derr)
	}
	c := &Lazy{p: p, fd: fd, local: nc.LocalAddr(), remote: nc.RemoteAddr(), ready: make(chan struct{}, 1)}
	c.timer = time.NewTimer(time.Hour)
	c.timer.Stop()
	fail := func(op string, err error) (*Lazy, error) {
		unix.Close(fd)
		return nil, os.NewSyscallError(op, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail("fcntl", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("setsockopt", err)
	}
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return fail("epoll_ctl", net.ErrClosed)
	}
	if fd >= len(p.conns) {
		p.conns = append(p.conns, make([]*Lazy, fd+1-len(p.conns))...)
	}
	p.conns[fd] = c
	p.live++
	p.mu.Unlock()
	// Level-triggered: what a harvest does not hand on is seen at the
	// next, and a FIN on an idle connection stays visible until it is
	// closed.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.forget(c)
		return fail("epoll_ctl", err)
	}
	// The runtime's descriptor goes, and with it the runtime poller's
	// interest; the socket stays open through fd.
	nc.Close()
	return c, nil
}

// forget takes c out of the Poller's connections; the last one out after
// Close closes the epoll set.
func (p *Poller) forget(c *Lazy) {
	p.mu.Lock()
	if c.fd < len(p.conns) && p.conns[c.fd] == c {
		p.conns[c.fd] = nil
	}
	p.live--
	last := p.live == 0 && p.closed.Load()
	p.mu.Unlock()
	if last {
		p.closeEp()
	}
}

func (c *Lazy) wake() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// Readable says whether a harvest saw something on the socket that no read
// has taken since: on an idle connection, the peer's FIN or bytes nobody
// asked for (or, rarely, nothing: a harvest that raced the last read).
func (c *Lazy) Readable() bool { return c.readable.Load() }

// Quiet peeks without blocking: true when nothing (no byte, no FIN, no
// error) waits to be read. One system call.
func (c *Lazy) Quiet() bool {
	var b byte
	return quietFD(uintptr(c.fd), &b)
}

// Arrived is when the bytes of the last read arrived, by the kernel's
// receive timestamp, on the monotonic clock; the time of the read when
// the kernel gave none.
func (c *Lazy) Arrived() time.Time { return c.at }

// Read reads what the socket has once a harvest has seen it readable.
func (c *Lazy) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	try := c.readable.Load() || c.streaming.Load()
	for {
		if c.closed.Load() {
			return 0, c.opError("read", net.ErrClosed)
		}
		if dl := c.rdl.Load(); dl != 0 && time.Now().UnixNano() >= dl {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		if try {
			n, e := c.recv(b)
			switch e {
			case 0:
				// A read that fills b is part of a large answer: until
				// the next request, reads wait here, not for a harvest,
				// so that the peer is not held up by a full window.
				if n == len(b) {
					c.streaming.Store(true)
				} else {
					c.readable.Store(false) // drained, as far as we know
				}
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				c.readable.Store(false)
			default:
				c.streaming.Store(false)
				return 0, c.opError("read", os.NewSyscallError("recvmsg", e))
			}
		}
		if c.streaming.Load() {
			c.poll(unix.POLLIN, &c.rdl)
		} else {
			c.wait(&c.rdl)
		}
		try = true
	}
}

// poll waits in poll(2) for the socket to be ready for events, 10 ms at
// most so that deadlines and Close are seen: the thread waits, the
// runtime hands its other work to another. For a large answer or
// request only, where waiting for a harvest would hold the peer up.
func (c *Lazy) poll(events int16, dl *atomic.Int64) {
	ms := 10
	if d := dl.Load(); d != 0 {
		ms = int(min(max((d-time.Now().UnixNano())/int64(time.Millisecond)+1, 0), 10))
	}
	pfd := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
	unix.Poll(pfd, ms)
}

// wait waits for a harvest, a new deadline, the deadline dl, or Close.
// Each of those stores its news before it looks at waiting, and wait sets
// waiting before it looks at the news: one of the two sees the other.
func (c *Lazy) wait(dl *atomic.Int64) {
	p := c.p
	c.waiting.Store(true)
	if p.waiting.Add(1) == 1 {
		p.arm()
	}
	if !c.readable.Load() && !c.closed.Load() {
		timed := false
		if d := dl.Load(); d != 0 {
			c.timer.Reset(time.Duration(d - time.Now().UnixNano()))
			timed = true
		}
		select {
		case <-c.ready:
		case <-c.timer.C:
		}
		if timed {
			c.timer.Stop()
		}
	}
	p.waiting.Add(-1)
	c.waiting.Store(false)
	select { // a wake that came after all
	case <-c.ready:
	default:
	}
}

// recv is recvmsg(2) into b, keeping the receive timestamp.
func (c *Lazy) recv(b []byte) (int, unix.Errno) {
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &c.oob[0]}
	msg.SetControllen(len(c.oob))
	r, e := rawRecvmsg(uintptr(c.fd), unsafe.Pointer(&msg), b)
	if e != 0 {
		return 0, e
	}
	now := time.Now()
	c.at = now
	if msg.Controllen >= unix.SizeofCmsghdr+16 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&c.oob[0]))
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS {
			ts := (*unix.Timespec)(unsafe.Pointer(&c.oob[unix.SizeofCmsghdr]))
			c.rx = ts.Nano()
			// The stamp is on the real-time clock; carry it over to the
			// monotonic one through now, which has both.
			if ago := now.UnixNano() - c.rx; ago > 0 {
				c.at = now.Add(-time.Duration(ago))
			}
		}
	}
	return r, 0
}

// Write writes all of b. What is read next is a new answer: it waits for
// a harvest.
func (c *Lazy) Write(b []byte) (int, error) {
	c.streaming.Store(false)
	done := 0
	for done < len(b) {
		if c.closed.Load() {
			return done, c.opError("write", net.ErrClosed)
		}
		if dl := c.wdl.Load(); dl != 0 && time.Now().UnixNano() >= dl {
			return done, c.opError("write", os.ErrDeadlineExceeded)
		}
		n, e := rawRW(sysWrite, uintptr(c.fd), b[done:])
		switch e {
		case 0:
			done += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			c.poll(unix.POLLOUT, &c.wdl) // the socket's buffer is full: a large body
		default:
			return done, c.opError("write", os.NewSyscallError("write", e))
		}
	}
	return done, nil
}

// Close closes the socket.
func (c *Lazy) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", net.ErrClosed)
	}
	c.p.forget(c)
	if c.waiting.Load() {
		c.wake()
	}
	c.timer.Stop()
	return unix.Close(c.fd) // and so out of the epoll set
}

func (c *Lazy) LocalAddr() net.Addr  { return c.local }
func (c *Lazy) RemoteAddr() net.Addr { return c.remote }

func (c *Lazy) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

func (c *Lazy) SetReadDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	if c.waiting.Load() {
		c.wake()
	}
	return nil
}

func (c *Lazy) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(unixNano(t))
	return nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

func (c *Lazy) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}
