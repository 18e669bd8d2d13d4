//go:build linux

package main

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The -uring mode: the same work on io_uring, as an experiment with
// kernel-timed sends (issue 21). Nothing is read or written by system
// calls of its own; the loop wakes once per -interval, and then:
//
//   - reaps the completions in (responses, send timestamps);
//   - for every request due before the next wake, on a free connection,
//     queues a chain: TIMEOUT at the due time (absolute, CLOCK_MONOTONIC,
//     an expiry counting as success) → SEND, neither posting a completion
//     when it succeeds;
//   - submits them and waits, in the same io_uring_enter, until the next
//     wake.
//
// Every connection has a read in the ring at all times (RECVMSG, queued
// again as each completes), as every connection is in the epoll loop's
// set: a response completes it, and so does a server closing an idle
// connection, which is then opened again.
//
// The ring defers task work to io_uring_enter (IORING_SETUP_DEFER_TASKRUN):
// an expired timeout wakes the thread inside the kernel, which issues the
// linked send and goes back to waiting without returning to user space,
// and a response only queues work, done at the next such wake.
//
// Responses are timed by the kernel's receive timestamps (SO_TIMESTAMPING,
// software), as with -lazy. The send lag is the kernel's own send
// timestamp (SOF_TIMESTAMPING_TX_SCHED, asked per message with a control
// message) minus the due time, for one request in -stamp-every, read from
// the socket's error queue by a RECVMSG linked behind the send. It is taken
// when the packet is queued to the device, after the send's system-call
// and TCP path: a few microseconds later than the epoll loop's, which is
// read just before write(2).
//
// In closed loop there are no timeouts and no timestamps: a SEND on every
// connection, reads with RECV, and the loop waits for the first
// completion, reaps all that are in and queues the next requests.

// The kinds of request in the ring, in the high half of user_data; the
// low half is the connection.
const (
	kindTimeout = iota + 1
	kindSend
	kindErrq
	kindRecv
	kindGate
)

func userData(kind, i int) uint64 { return uint64(kind)<<32 | uint64(uint32(i)) }

func ptr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

// uconn is a connection's state in the ring: the headers and buffers the
// kernel reads and writes while its request is in flight. It is never
// moved (the floor's slice of them is made once).
type uconn struct {
	ts      unix.Timespec // the timeout's due time
	smsg    unix.Msghdr   // a stamped send
	siov    unix.Iovec
	soob    [24]byte    // one cmsg: SO_TIMESTAMPING, TX_SCHED
	emsg    unix.Msghdr // the error queue's read
	eoob    [128]byte
	rmsg    unix.Msghdr // the response's read
	riov    unix.Iovec
	roob    [128]byte
	stamped bool // the request in flight asks for its send timestamp
}

// openRing sets up the ring and each connection's headers.
func (f *floor) openRing(nconns int) error {
	// Per connection at most five requests in flight (poll, link
	// timeout, send, error queue, read): 4096 completions are plenty.
	r, err := newRing(1024, 4096)
	if err != nil {
		return err
	}
	f.ur = r
	if f.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC); err != nil {
		return err
	}
	f.fds = append(f.fds, f.efd)
	f.us = make([]uconn, nconns)
	for i := range f.us {
		u := &f.us[i]
		u.siov = unix.Iovec{Base: &f.req[0]}
		u.siov.SetLen(len(f.req))
		u.smsg = unix.Msghdr{Iov: &u.siov, Iovlen: 1, Control: &u.soob[0]}
		u.smsg.SetControllen(len(u.soob))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&u.soob[0]))
		h.Level, h.Type = unix.SOL_SOCKET, unix.SO_TIMESTAMPING
		h.SetLen(unix.CmsgLen(4))
		*(*uint32)(unsafe.Pointer(&u.soob[unix.SizeofCmsghdr])) = unix.SOF_TIMESTAMPING_TX_SCHED
		u.emsg = unix.Msghdr{Control: &u.eoob[0]}
		u.rmsg = unix.Msghdr{Iov: &u.riov, Iovlen: 1, Control: &u.roob[0]}
	}
	return nil
}

// dialRing readies connection i, just dialled, for the ring. The socket
// stays blocking: on a nonblocking one io_uring returns EAGAIN where it
// would otherwise wait for the data. At a constant rate it asks for software timestamps, of every packet received
// and of the sends that ask (TSONLY: the error queue carries the
// timestamp without the packet); then it queues its first read.
func (f *floor) dialRing(i int) error {
	if f.rate > 0 {
		err := unix.SetsockoptInt(f.cs[i].fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING,
			unix.SOF_TIMESTAMPING_SOFTWARE|unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_OPT_TSONLY)
		if err != nil {
			return err
		}
	}
	return f.recvRing(i)
}

// ringLoop is loop on the ring.
func (f *floor) ringLoop() error {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	f.mono = ts.Nano() - f.now()
	f.realOff = f.start.UnixNano()
	if f.rate <= 0 {
		for i := range f.cs {
			if err := f.sendRing(i, -1); err != nil {
				return err
			}
		}
	} else if err := f.beginRate(); err != nil {
		return err
	}
	for {
		t := f.now()
		if t >= f.end {
			return nil
		}
		// Closed loop: wait for the first completion. At a constant
		// rate: for nothing but the next wake (all the ring can hold).
		want, wait := uint32(1), f.end-t
		if f.rate > 0 {
			if err := f.planRing(t + f.interval); err != nil {
				return err
			}
			want, wait = f.ur.cqEntries, max(min(f.interval, f.end-f.now()), 1)
		}
		if _, err := f.ur.enter(want, wait); err != nil {
			return err
		}
		f.rep.Wakes++
		if err := f.ur.reap(f.completed); err != nil {
			return err
		}
	}
}

// beginRate sets up a constant rate: the gap, and every connection free.
func (f *floor) beginRate() error {
	f.gap = int64(1e9 / f.rate)
	if f.gap < 1 {
		return fmt.Errorf("-rate %v: too high", f.rate)
	}
	for i := range f.cs {
		f.free = append(f.free, i)
	}
	return nil
}

// planRing queues every request due before horizon on a free connection.
func (f *floor) planRing(horizon int64) error {
	for f.nextDue < horizon && f.nextDue < f.end && len(f.free) > 0 {
		i := f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		f.us[i].stamped = f.planned%f.stampEvery == 0
		f.planned++
		if err := f.sendRing(i, f.nextDue); err != nil {
			return err
		}
		f.nextDue += f.gap
	}
	return nil
}

// sendRing queues connection i's request, due at due (ns since start; in
// closed loop negative: now): at once if it is due, else behind a timer
// (see gate).
func (f *floor) sendRing(i int, due int64) error {
	if now := f.claim(i, due); f.cs[i].due > now {
		if err := f.gate(i); err != nil {
			return err
		}
	}
	return f.queueSend(i, 0)
}

// gate queues what holds connection i's send until its due time, linked
// to it:
//
//   - -uring-timer link-timeout: a POLL_ADD on an eventfd nobody writes,
//     hard-linked (its cancellation does not cancel the send), and its
//     LINK_TIMEOUT at the due time, which cancels it;
//   - -uring-timer timeout: an IORING_OP_TIMEOUT at the due time, whose
//     expiry counts as success.
//
// Both are absolute CLOCK_MONOTONIC hrtimers. They differ in what an
// expiry does to the thread waiting in io_uring_enter: an expired TIMEOUT
// counts as a timeout of the wait itself (ctx->cq_timeouts), which
// returns to user space, once per request; a LINK_TIMEOUT only queues
// work that the wait runs (cancel the poll, issue the send) before it
// goes back to sleep.
func (f *floor) gate(i int) error {
	u := &f.us[i]
	u.ts = unix.NsecToTimespec(f.mono + f.cs[i].due)
	s, err := f.ur.next()
	if err != nil {
		return err
	}
	if !f.linkTimeout {
		s.opcode, s.flags, s.fd, s.userData = opTimeout, sqeIOLink|sqeCQESkipSuccess, -1, userData(kindTimeout, i)
		s.addr, s.len, s.opFlags = ptr(&u.ts), 1, timeoutAbs|timeoutETimeSucces
		return nil
	}
	// The poll's user_data must be unique among pending requests: the
	// link timeout cancels it by user_data.
	s.opcode, s.flags, s.fd, s.userData = opPollAdd, sqeIOHardlink|sqeCQESkipSuccess, int32(f.efd), userData(kindGate, i)
	s.opFlags = unix.POLLIN
	if s, err = f.ur.next(); err != nil {
		return err
	}
	s.opcode, s.flags, s.fd, s.userData = opLinkTimeout, sqeIOLink|sqeCQESkipSuccess, -1, userData(kindTimeout, i)
	s.addr, s.len, s.opFlags = ptr(&u.ts), 1, timeoutAbs
	return nil
}

// claim makes connection i busy with a request due at due (negative: now,
// in closed loop, unstamped), and returns the time.
func (f *floor) claim(i int, due int64) int64 {
	c := f.cs[i]
	now := f.now()
	if due < 0 {
		due, f.us[i].stamped = now, false
	}
	c.busy, c.due, c.sentAt = true, due, now
	return now
}

// queueSend queues connection i's send, and if it is stamped the read of
// its send timestamp behind it; link links the last of them to what comes
// next. Neither a send nor a timeout posts a completion when it succeeds.
func (f *floor) queueSend(i int, link uint8) error {
	c, u := f.cs[i], &f.us[i]
	s, err := f.ur.next()
	if err != nil {
		return err
	}
	s.fd, s.opFlags, s.userData = int32(c.fd), unix.MSG_NOSIGNAL, userData(kindSend, i)
	if !u.stamped {
		s.flags = link | sqeCQESkipSuccess
		s.opcode, s.addr, s.len = opSend, ptr(&f.req[0]), uint32(len(f.req))
		return nil
	}
	s.flags = sqeIOHardlink | sqeCQESkipSuccess
	s.opcode, s.addr, s.len = opSendmsg, ptr(&u.smsg), 1
	if s, err = f.ur.next(); err != nil {
		return err
	}
	// The timestamp is queued as the packet goes out, within the send:
	// read it right behind it, without waiting (DONTWAIT) if it is not.
	u.emsg.SetControllen(len(u.eoob))
	s.opcode, s.flags, s.fd, s.userData = opRecvmsg, link, int32(c.fd), userData(kindErrq, i)
	s.addr, s.len, s.opFlags = ptr(&u.emsg), 1, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT
	return nil
}

// recvRing queues a read of connection i into its buffer's free part:
// RECVMSG with the receive timestamp at a constant rate, RECV in closed
// loop.
func (f *floor) recvRing(i int) error {
	c, u := f.cs[i], &f.us[i]
	s, err := f.ur.next()
	if err != nil {
		return err
	}
	s.fd, s.userData = int32(c.fd), userData(kindRecv, i)
	if f.rate > 0 {
		u.riov.Base = &c.buf[c.n]
		u.riov.SetLen(len(c.buf) - c.n)
		u.rmsg.SetControllen(len(u.roob))
		s.opcode, s.addr, s.len = opRecvmsg, ptr(&u.rmsg), 1
	} else {
		s.opcode, s.addr, s.len = opRecv, ptr(&c.buf[c.n]), uint32(len(c.buf)-c.n)
	}
	return nil
}

// completed handles one completion: a response's read, a send's
// timestamp. A gate's poll posts one each time (cancelled, it failed), and
// is ignored. A timeout or a send posts one only when it failed: then the
// connection's read says what to do (a server that closed it).
func (f *floor) completed(e cqe) error {
	i := int(uint32(e.userData))
	switch e.userData >> 32 {
	case kindRecv:
		return f.receivedRing(i, int(e.res))
	case kindErrq:
		u := &f.us[i]
		if tx, ok := softwareStamp(u.eoob[:min(int(u.emsg.Controllen), len(u.eoob))]); e.res >= 0 && ok {
			f.lag.RecordValue(max(tx-f.realOff-f.cs[i].due, 0))
		}
	}
	return nil
}

// receivedRing takes a read of n bytes (or an error, negative) on
// connection i, as complete and responded do for the epoll loop.
func (f *floor) receivedRing(i, n int) error {
	c, u := f.cs[i], &f.us[i]
	switch {
	case n <= 0 && !c.busy:
		return f.redial(i) // an idle connection the server closed
	case n <= 0 && c.n == 0 && c.need < 0:
		// Closed with nothing of the answer read: the server closed
		// the idle connection as the request went out (the keep-alive
		// race). Open another and resend, still due when it was. The
		// ring may still hold the send, behind its gate, and it names
		// the socket by number: the old one stays open to the end, so
		// that the send goes to it, in vain, and not to a socket that
		// got its number since.
		due := c.due
		if f.rate <= 0 {
			due = -1
		}
		f.rep.Redials++
		if err := f.dial(i); err != nil {
			return err
		}
		return f.sendRing(i, due)
	case n <= 0:
		return fmt.Errorf("connection %d: closed in the middle of a response", i)
	}
	done, ok := c.consume(n)
	if !ok {
		return fmt.Errorf("connection %d: malformed response", i)
	}
	if err := f.recvRing(i); err != nil || !done {
		return err
	}
	f.rep.Completed++
	c.busy = false
	if f.rate <= 0 {
		at := f.now()
		f.lat.RecordValue(max(at-c.due, 0))
		if at < f.end {
			return f.sendRing(i, -1)
		}
		return nil
	}
	at := f.now()
	if rx, ok := softwareStamp(u.roob[:min(int(u.rmsg.Controllen), len(u.roob))]); ok {
		at = rx - f.realOff
	}
	f.lat.RecordValue(max(at-c.due, 0))
	f.free = append(f.free, i)
	return nil
}

// softwareStamp finds the software timestamp (CLOCK_REALTIME ns) of an
// SCM_TIMESTAMPING control message in oob, without allocating.
func softwareStamp(oob []byte) (int64, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPING && l >= unix.SizeofCmsghdr+int(unsafe.Sizeof(unix.ScmTimestamping{})) {
			ts := (*unix.ScmTimestamping)(unsafe.Pointer(&oob[unix.SizeofCmsghdr]))
			return ts.Ts[0].Nano(), true
		}
		oob = oob[min(unix.CmsgSpace(l-unix.SizeofCmsghdr), len(oob)):]
	}
	return 0, false
}
