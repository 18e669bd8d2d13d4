//go:build linux

// Command floor is the least a load generator can do on this machine: a
// reference for bench/loadbench, not a tool to use. It measures the cost
// floor that every HTTP/1.1 load generator pays here (system calls, the
// kernel's loopback TCP, timer wake-ups), so that the table can say how much
// of a generator's cost is its own.
//
// One OS thread, one epoll set, nonblocking sockets opened before the clock
// starts, one static request written with one write(2), and responses found
// by their head and Content-Length in a fixed buffer and otherwise not
// parsed: no goroutines, no runtime poller, no allocation per request. Like
// a real open-loop generator it times each response from its intended send
// time and records it, and its send lag, in HdrHistograms.
//
//	floor -url http://127.0.0.1:8080/ -c 50 -d 10s            closed loop
//	floor -url http://127.0.0.1:8080/ -c 64 -rate 5000 -d 10s  constant rate
//
// At a constant rate it wakes once for each request, precisely: a periodic
// timerfd whose period is the gap between requests, read once per expiry.
// It prints one line of JSON: completed, achieved, errors, lag and latency
// percentiles in nanoseconds.
//
// With -uring it does the same on io_uring instead of epoll and system
// calls, its sends timed by timeouts in the ring (see uring.go): an
// experiment, measured against this loop by bench/uring.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"tailgate/analysis"
)

type conn struct {
	fd     int
	buf    []byte
	n      int   // bytes buffered
	need   int   // bytes of the current response still to come; -1: head not complete
	sentAt int64 // ns since start: when the request was written
	due    int64 // ns since start: when it was intended
	busy   bool
	oob    []byte // lazy: control messages, for the receive timestamp
	rx     int64  // lazy: CLOCK_REALTIME ns when the last bytes arrived
}

type report struct {
	Completed int64   `json:"completed"`
	Achieved  float64 `json:"achieved"`
	Errors    int64   `json:"errors"`
	LagP50    int64   `json:"lag_p50_ns"`
	LagP99    int64   `json:"lag_p99_ns"`
	LagP999   int64   `json:"lag_p99_9_ns"`
	LagMax    int64   `json:"lag_max_ns"`
	LatP50    int64   `json:"latency_p50_ns"`
	LatP99    int64   `json:"latency_p99_ns"`
	LagCount  int64   `json:"lag_samples"` // send lags recorded: with -uring one in -stamp-every
	Wakes     int64   `json:"wakes"`
	Redials   int64   `json:"redials"`
}

// options are the command's flags.
type options struct {
	url        string
	conns      int
	rate       float64 // req/s; 0: closed loop
	dur        time.Duration
	lazy       bool
	uring      bool
	timer      string        // -uring at a constant rate: timerfd or timeout
	interval   time.Duration // -uring at a constant rate: how far ahead sends are queued, and the wake period
	stampEvery int64         // -uring: one send in stampEvery has its lag measured
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "target, http://host:port/path (IPv4 literal host)")
	flag.IntVar(&o.conns, "c", 50, "connections")
	flag.Float64Var(&o.rate, "rate", 0, "requests/s at a constant rate; 0: closed loop")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "duration")
	flag.BoolVar(&o.lazy, "lazy", false, "constant rate: wake for the timer only, and read responses when sending, timed by the kernel's receive timestamps (SO_TIMESTAMPNS)")
	flag.BoolVar(&o.uring, "uring", false, "io_uring instead of epoll, sends timed by timeouts in the ring (an experiment, see uring.go)")
	flag.StringVar(&o.timer, "uring-timer", "link-timeout", "-uring at a constant rate: what holds each send until it is due: link-timeout (a poll that never fires, cancelled by its LINK_TIMEOUT) or timeout (an IORING_OP_TIMEOUT); see gate in uring.go")
	flag.DurationVar(&o.interval, "interval", time.Millisecond, "-uring at a constant rate: wake this often, queueing the sends due before the next wake")
	flag.Int64Var(&o.stampEvery, "stamp-every", 16, "-uring at a constant rate: measure the send lag (kernel send timestamps) of one request in this many")
	flag.Parse()
	r, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

func run(o options) (report, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" {
		return report{}, fmt.Errorf("-url %q: want http://IPv4:port/path", o.url)
	}
	sa, err := sockaddr(u.Host)
	if err != nil {
		return report{}, err
	}
	if o.conns < 1 {
		return report{}, fmt.Errorf("-c %d: want at least 1", o.conns)
	}
	if o.uring && (o.lazy || o.rate > 0 && (o.interval <= 0 || o.stampEvery < 1 || o.timer != "link-timeout" && o.timer != "timeout")) {
		return report{}, fmt.Errorf("-uring: not with -lazy; -interval and -stamp-every must be positive, -uring-timer link-timeout or timeout")
	}
	f := &floor{
		host:        u.Host,
		sa:          sa,
		req:         []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: floor\r\n\r\n"),
		rate:        o.rate,
		lazy:        o.lazy,
		uring:       o.uring,
		linkTimeout: o.timer != "timeout",
		interval:    int64(o.interval),
		stampEvery:  o.stampEvery,
		tfd:         -1,
		lat:         hdrhistogram.New(1, int64(time.Minute), 3),
		lag:         hdrhistogram.New(1, int64(time.Minute), 3),
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer f.closeAll()
	if err := f.open(o.conns); err != nil {
		return report{}, err
	}
	f.start = time.Now()
	f.end = int64(o.dur)
	if f.uring {
		if err := f.ringLoop(); err != nil {
			return report{}, err
		}
		return f.finish(), nil
	}
	if err := f.begin(); err != nil {
		return report{}, err
	}
	if err := f.loop(); err != nil {
		return report{}, err
	}
	return f.finish(), nil
}

// floor is one run's state: its connections, epoll sets and timer, the
// schedule and the histograms. Only the run's locked OS thread touches it.
type floor struct {
	host string // host:port, for errors
	sa   *unix.SockaddrInet4
	req  []byte // the request, written whole
	rate float64
	lazy bool

	// -uring (uring.go)
	uring       bool
	linkTimeout bool // sends held by link timeouts, else by timeouts (see gate)
	efd         int  // the eventfd the link timeouts' polls wait on
	ur          *ring
	us          []uconn
	interval    int64 // ns between wakes
	stampEvery  int64
	planned     int64 // requests queued, at a constant rate
	mono        int64 // CLOCK_MONOTONIC ns at the start
	realOff     int64 // CLOCK_REALTIME ns at the start

	fds     []int // every descriptor opened, closed at the end
	ep      int   // the epoll set the loop waits on
	cep     int   // the connections' epoll set: ep, or with lazy its own
	tfd     int   // the timerfd at a constant rate; -1 in closed loop
	cs      []*conn
	free    []int // idle connections, at a constant rate
	start   time.Time
	end     int64 // ns since start: when the run ends
	gap     int64 // ns between requests at a constant rate
	nextDue int64 // ns since start: when the next request is due

	lat, lag *hdrhistogram.Histogram
	rep      report
}

// now is the time since the start, in nanoseconds.
func (f *floor) now() int64 { return int64(time.Since(f.start)) }

// closeAll closes every descriptor the run opened, the ring first.
func (f *floor) closeAll() {
	if f.ur != nil {
		f.ur.close()
	}
	for _, fd := range f.fds {
		unix.Close(fd)
	}
}

// open creates the epoll sets (two with lazy: one for the timer, one for
// the connections), or with -uring the ring, and dials every connection.
func (f *floor) open(nconns int) error {
	if f.uring {
		if err := f.openRing(nconns); err != nil {
			return err
		}
		return f.dialAll(nconns)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	f.fds = append(f.fds, ep)
	f.ep, f.cep = ep, ep
	if f.lazy {
		if f.rate <= 0 {
			return fmt.Errorf("-lazy needs -rate")
		}
		if f.cep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
			return err
		}
		f.fds = append(f.fds, f.cep)
	}
	return f.dialAll(nconns)
}

func (f *floor) dialAll(nconns int) error {
	f.cs = make([]*conn, nconns)
	for i := range f.cs {
		if err := f.dial(i); err != nil {
			return err
		}
	}
	f.free = make([]int, 0, nconns)
	return nil
}

// dial opens connection i: connected, TCP_NODELAY, nonblocking (with lazy,
// receive-timestamped), in the connections' epoll set under its index;
// with -uring, see dialRing.
func (f *floor) dial(i int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f.fds = append(f.fds, fd)
	if err := unix.Connect(fd, f.sa); err != nil {
		return fmt.Errorf("connect %s: %v", f.host, err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	f.cs[i] = &conn{fd: fd, buf: make([]byte, 64<<10), need: -1, oob: make([]byte, 64)}
	if f.uring {
		return f.dialRing(i)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return err
	}
	if f.lazy {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	return unix.EpollCtl(f.cep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)})
}

// redial replaces a connection the server closed while it was idle
// (servers close connections that sent no request for a while: the
// demo target after 10 s). The old descriptor leaves the list closed at
// the end: its number may be reused meanwhile, by this run or by anyone
// else in the process.
func (f *floor) redial(i int) error {
	old := f.cs[i].fd
	if !f.uring {
		unix.EpollCtl(f.cep, unix.EPOLL_CTL_DEL, old, nil)
	}
	unix.Close(old)
	f.fds = slices.DeleteFunc(f.fds, func(fd int) bool { return fd == old })
	f.rep.Redials++
	return f.dial(i)
}

// send writes the request on connection i, due at due (ns since start;
// negative in closed loop, where it is due when sent), recording its send
// lag at a constant rate.
func (f *floor) send(i int, due int64) {
	c := f.cs[i]
	c.busy, c.due, c.sentAt = true, due, f.now()
	if due >= 0 {
		f.lag.RecordValue(max(c.sentAt-due, 0))
	} else {
		c.due = c.sentAt
	}
	if n, err := unix.Write(c.fd, f.req); err != nil || n != len(f.req) {
		f.rep.Errors++
		c.busy = false
	}
}

// begin sends the first requests: in closed loop one on every
// connection; at a constant rate it arms the timer, marks every
// connection free and sends the request due at the start.
func (f *floor) begin() error {
	if f.rate <= 0 {
		for i := range f.cs {
			f.send(i, -1)
		}
		return nil
	}
	f.gap = int64(float64(time.Second) / f.rate)
	if f.gap < 1 {
		return fmt.Errorf("-rate %v: too high", f.rate)
	}
	if err := f.armTimer(); err != nil {
		return err
	}
	for i := range f.cs {
		f.free = append(f.free, i)
	}
	f.send(f.free[len(f.free)-1], 0)
	f.free = f.free[:len(f.free)-1]
	f.nextDue = f.gap
	return nil
}

// armTimer starts the timer of a constant rate: a timerfd in the wake-up
// epoll set (as Fd −1), periodic from the start, every gap.
func (f *floor) armTimer() error {
	var err error
	if f.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return err
	}
	f.fds = append(f.fds, f.tfd)
	if err := unix.EpollCtl(f.ep, unix.EPOLL_CTL_ADD, f.tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return err
	}
	// Absolute CLOCK_MONOTONIC time of the start: Go's monotonic clock
	// is CLOCK_MONOTONIC on Linux.
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	base := ts.Nano() - f.now()
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(base + f.gap), Interval: unix.NsecToTimespec(f.gap)}
	return unix.TimerfdSettime(f.tfd, unix.TFD_TIMER_ABSTIME, &spec, nil)
}

// complete reads what arrived on connection i (with the receive
// timestamp when stamped) and reports whether a whole response is in;
// the connection is then free again. An idle one the server closed is
// opened again.
func (f *floor) complete(i int, stamped bool) (bool, error) {
	c := f.cs[i]
	done, ok := c.read(stamped)
	switch {
	case !ok && !c.busy:
		return false, f.redial(i)
	case !ok && c.n == 0 && c.need < 0:
		// Closed with nothing of the answer read: the server closed
		// the idle connection as the request went out (the keep-alive
		// race every HTTP client retries). Open it again and resend,
		// still due when it was.
		due, sent := c.due, c.sentAt
		if err := f.redial(i); err != nil {
			return false, err
		}
		f.send(i, due)
		f.cs[i].sentAt = sent
		return false, nil
	case !ok:
		return false, fmt.Errorf("connection %d: read failed or malformed response", i)
	case done:
		f.rep.Completed++
		c.busy = false
	}
	return done, nil
}

// loop waits on the wake-up epoll set until the end: it consumes timer
// expiries, handles responses (see responded), with lazy harvests the
// responses that came in meanwhile, and at a constant rate sends what is
// due.
func (f *floor) loop() error {
	events := make([]unix.EpollEvent, 256)
	cevents := make([]unix.EpollEvent, 256)
	var tb [8]byte
	// realtime - monotonic offset, to place receive timestamps on our clock
	realOff := time.Now().UnixNano() - int64(time.Since(f.start))
	for {
		t := f.now()
		if t >= f.end {
			return nil
		}
		k, errno := epollWait(f.ep, events, int((f.end-t)/int64(time.Millisecond))+1)
		switch {
		case errno == unix.EINTR: // the runtime's preemption signal
		case errno != 0:
			return errno
		default:
			f.rep.Wakes++
		}
		for _, ev := range events[:max(k, 0)] {
			if ev.Fd < 0 {
				unix.Read(f.tfd, tb[:])
				continue
			}
			if err := f.responded(int(ev.Fd)); err != nil {
				return err
			}
		}
		if f.lazy {
			if err := f.harvest(cevents, realOff); err != nil {
				return err
			}
		}
		if f.rate > 0 {
			f.sendDue()
		}
	}
}

// responded reads connection i, ready in the wake-up set. Once a whole
// response is in, it records its latency and frees the connection (at a
// constant rate) or sends the next request (in closed loop, before the
// end).
func (f *floor) responded(i int) error {
	done, err := f.complete(i, false)
	if err != nil || !done {
		return err
	}
	at := f.now()
	f.lat.RecordValue(max(at-f.cs[i].due, 0))
	if f.rate > 0 {
		f.free = append(f.free, i)
	} else if at < f.end {
		f.send(i, -1)
	}
	return nil
}

// harvest reads, without waiting, the responses that came in since the
// last wake (lazy), timed by the kernel's receive timestamps; realOff is
// CLOCK_REALTIME minus our clock.
func (f *floor) harvest(cevents []unix.EpollEvent, realOff int64) error {
	k, errno := epollWait(f.cep, cevents, 0)
	if errno != 0 && errno != unix.EINTR {
		return errno
	}
	for _, ev := range cevents[:max(k, 0)] {
		done, err := f.complete(int(ev.Fd), true)
		if err != nil {
			return err
		}
		if done {
			c := f.cs[ev.Fd]
			f.lat.RecordValue(max(c.rx-realOff-c.due, 0))
			f.free = append(f.free, int(ev.Fd))
		}
	}
	return nil
}

// sendDue sends everything that is due, on free connections.
func (f *floor) sendDue() {
	for t := f.now(); f.nextDue <= t && f.nextDue < f.end && len(f.free) > 0; {
		f.send(f.free[len(f.free)-1], f.nextDue)
		f.free = f.free[:len(f.free)-1]
		f.nextDue += f.gap
	}
}

// finish is the report: the achieved rate, and the percentiles by
// tailgate's rule (nearest rank), so the table compares like with like.
func (f *floor) finish() report {
	el := time.Since(f.start)
	rep := f.rep
	rep.Achieved = float64(rep.Completed) / el.Seconds()
	at := func(h *hdrhistogram.Histogram, q float64) int64 { return int64(analysis.ValueAt(h, q)) }
	rep.LagP50, rep.LagP99 = at(f.lag, 0.5), at(f.lag, 0.99)
	rep.LagP999, rep.LagMax = at(f.lag, 0.999), f.lag.Max()
	rep.LatP50, rep.LatP99 = at(f.lat, 0.5), at(f.lat, 0.99)
	rep.LagCount = f.lag.TotalCount()
	return rep
}

// read reads what has arrived on c; done: a whole response is in.
func (c *conn) read(stamp bool) (done, ok bool) {
	var n int
	var err error
	if stamp {
		n, err = c.recvStamped()
	} else {
		n, err = unix.Read(c.fd, c.buf[c.n:])
	}
	if err == unix.EAGAIN {
		return false, true
	}
	if err != nil || n <= 0 {
		return false, false
	}
	return c.consume(n)
}

// consume takes n bytes just read into c.buf[c.n:]; done: a whole response
// is in. With -uring the kernel did the reading.
func (c *conn) consume(n int) (done, ok bool) {
	if c.need >= 0 { // reading the body
		c.need -= n
		if c.need <= 0 {
			c.n, c.need = 0, -1
			return true, true
		}
		return false, true
	}
	c.n += n
	h := bytes.Index(c.buf[:c.n], []byte("\r\n\r\n"))
	if h < 0 {
		return false, c.n < len(c.buf)
	}
	cl := contentLength(c.buf[:h])
	if cl < 0 {
		return false, false
	}
	if rest := c.n - (h + 4); rest < cl {
		c.n, c.need = 0, cl-rest
		return false, true
	}
	c.n = 0
	return true, true
}

// recvStamped reads like read(2) and keeps the kernel's receive timestamp
// of the last bytes read (SO_TIMESTAMPNS) in c.rx.
func (c *conn) recvStamped() (int, error) {
	p := c.buf[c.n:]
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &c.oob[0]}
	msg.SetControllen(len(c.oob))
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return 0, e
	}
	// One cmsghdr (len, level, type) then a timespec.
	if msg.Controllen >= unix.SizeofCmsghdr+16 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&c.oob[0]))
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS {
			ts := (*unix.Timespec)(unsafe.Pointer(&c.oob[unix.SizeofCmsghdr]))
			c.rx = ts.Nano()
		}
	}
	return int(r), nil
}

// contentLength finds Content-Length in a response head; -1 if missing.
func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if name, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || n < 0 {
				return -1
			}
			return n
		}
	}
	return -1
}

// epollWait is epoll_pwait without the runtime's syscall bookkeeping: this
// thread is the program, so there is nobody to hand the processor to.
func epollWait(ep int, events []unix.EpollEvent, msec int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	return int(r), e
}

func sockaddr(host string) (*unix.SockaddrInet4, error) {
	ap, err := netip.ParseAddrPort(host)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("-url host %q: want IPv4:port", host)
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, nil
}
