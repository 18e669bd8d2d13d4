//go:build linux && race

package rawsock

import (
	"syscall"
	"unsafe"
)

const (
	supported = true
	sysRead   = syscall.SYS_READ
	sysWrite  = syscall.SYS_WRITE
)

// rawRW, under the race detector, goes through package syscall: its Read
// and Write tell the detector that a write to a socket happens before the
// read of it at the other end, which tests' servers rely on; a raw call
// would show their data as racing.
func rawRW(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	var n int
	var err error
	if trap == sysRead {
		n, err = syscall.Read(int(fd), p)
	} else {
		n, err = syscall.Write(int(fd), p)
	}
	var e syscall.Errno
	if err != nil {
		var ok bool
		if e, ok = err.(syscall.Errno); !ok {
			e = syscall.EIO
		}
	}
	return max(n, 0), e
}

// rawPeek is recv(2) of one byte with MSG_PEEK|MSG_DONTWAIT.
func rawPeek(fd uintptr, b *byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(int(fd), unsafe.Slice(b, 1), syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
		return 0, syscall.EIO
	}
	return n, 0
}

// rawRecvmsg is recvmsg(2) of msg, whose one buffer is b; under the race
// detector, followed by a read of nothing through package syscall, which
// tells the detector what Read would (see rawRW).
func rawRecvmsg(fd uintptr, msg unsafe.Pointer, b []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(msg), 0)
	if e == 0 {
		syscall.Read(int(fd), b[:0])
	}
	return int(r), e
}
