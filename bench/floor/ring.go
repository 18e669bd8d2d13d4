//go:build linux

package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring ABI this mode uses (include/uapi/linux/io_uring.h), by raw
// system calls: golang.org/x/sys has the system call numbers but none of
// the structures, and no maintained Go binding is in the module proxy's
// list here.
const (
	ringOffSQEs = 0x10000000 // mmap offset of the SQE array (the rings are at 0)

	setupCQSize        = 1 << 3
	setupSubmitAll     = 1 << 7
	setupSingleIssuer  = 1 << 12
	setupDeferTaskrun  = 1 << 13 // task work (completions, linked issues) runs only in io_uring_enter
	featSingleMmap     = 1 << 0
	featExtArg         = 1 << 8
	enterGetEvents     = 1 << 0
	enterExtArg        = 1 << 3
	sqeIOLink          = 1 << 2
	sqeIOHardlink      = 1 << 3
	sqeCQESkipSuccess  = 1 << 6
	opPollAdd          = 6
	opSendmsg          = 9
	opRecvmsg          = 10
	opTimeout          = 11
	opLinkTimeout      = 15
	opSend             = 26
	opRecv             = 27
	timeoutAbs         = 1 << 0
	timeoutETimeSucces = 1 << 5 // an expired timeout succeeds: the linked request runs
)

// ringParams is struct io_uring_params.
type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32 // msg_flags, timeout_flags
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	_           uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// getEventsArg is struct io_uring_getevents_arg: the wait's timeout.
type getEventsArg struct {
	sigmask     uint64
	sigmaskSz   uint32
	minWaitUsec uint32
	ts          uint64
}

// ring is one io_uring, set up for a single thread that submits and
// reaps: SQEs are filled in place and published at the next enter.
type ring struct {
	fd           int
	mem, sqeMem  []byte
	sqHead       *uint32 // written by the kernel
	sqTail       *uint32
	sqes         []sqe
	sqMask       uint32
	tail         uint32 // our SQ tail, published at enter
	cqHead       *uint32
	cqTail       *uint32 // written by the kernel
	cqes         []cqe
	cqMask       uint32
	cqEntries    uint32
	ts           unix.Timespec // the wait's timeout
	arg          getEventsArg
	enters, full int64
}

var errNoRing = errors.New("io_uring unavailable")

// newRing sets up a ring of sqEntries submissions and cqEntries
// completions, with task work deferred to io_uring_enter (so that
// completions wake the waiting thread only when it asked for them, and an
// expired timeout's linked send runs in this thread's time).
func newRing(sqEntries, cqEntries uint32) (*ring, error) {
	p := ringParams{flags: setupCQSize | setupSubmitAll | setupSingleIssuer | setupDeferTaskrun, cqEntries: cqEntries}
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(sqEntries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("%w: io_uring_setup: %v (errno %d)", errNoRing, e, int(e))
	}
	r := &ring{fd: int(fd)}
	if p.features&featSingleMmap == 0 || p.features&featExtArg == 0 {
		unix.Close(r.fd)
		return nil, fmt.Errorf("%w: kernel lacks IORING_FEAT_SINGLE_MMAP or EXT_ARG (features %#x)", errNoRing, p.features)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	var err error
	if r.mem, err = unix.Mmap(r.fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("mmap rings: %v", err)
	}
	if r.sqeMem, err = unix.Mmap(r.fd, ringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("mmap SQEs: %v", err)
	}
	u32 := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }
	r.sqHead, r.sqTail, r.sqMask = u32(p.sqOff.head), u32(p.sqOff.tail), *u32(p.sqOff.ringMask)
	r.cqHead, r.cqTail, r.cqMask = u32(p.cqOff.head), u32(p.cqOff.tail), *u32(p.cqOff.ringMask)
	r.cqEntries = p.cqEntries
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.mem[p.cqOff.cqes])), p.cqEntries)
	array := unsafe.Slice(u32(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i) // SQ slot i holds SQE i, always
	}
	r.tail = atomic.LoadUint32(r.sqTail)
	return r, nil
}

func (r *ring) close() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.mem != nil {
		unix.Munmap(r.mem)
	}
	unix.Close(r.fd)
}

// next is a zeroed SQE to fill, submitting what is queued first if the
// submission queue is full.
func (r *ring) next() (*sqe, error) {
	for r.tail-atomic.LoadUint32(r.sqHead) > r.sqMask {
		r.full++
		if _, err := r.enter(0, 0); err != nil {
			return nil, err
		}
	}
	s := &r.sqes[r.tail&r.sqMask]
	*s = sqe{}
	r.tail++
	return s, nil
}

// enter submits the queued SQEs and, with min > 0, waits until min
// completions are in or wait (ns, > 0) has passed. A wait cut short by a
// signal or the timeout is not an error.
func (r *ring) enter(min uint32, wait int64) (int, error) {
	atomic.StoreUint32(r.sqTail, r.tail)
	submit := r.tail - atomic.LoadUint32(r.sqHead)
	var flags, argp, argsz uintptr
	if min > 0 {
		flags = enterGetEvents
		if wait > 0 {
			r.ts = unix.NsecToTimespec(wait)
			r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
			flags |= enterExtArg
			argp, argsz = uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg)
		}
	}
	r.enters++
	n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(min), flags, argp, argsz)
	switch e {
	case 0, unix.EINTR, unix.ETIME, unix.EAGAIN, unix.EBUSY:
		return int(n), nil
	}
	return 0, fmt.Errorf("io_uring_enter: %v", e)
}

// reap calls fn for every completion in, then releases them to the kernel.
func (r *ring) reap(fn func(c cqe) error) error {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	var err error
	for ; head != tail && err == nil; head++ {
		err = fn(r.cqes[head&r.cqMask])
	}
	atomic.StoreUint32(r.cqHead, head)
	return err
}
