//go:build linux && !race

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

// rawRW is read(2) or write(2) without entering the runtime's syscall
// state.
func rawRW(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(r), e
}

// rawPeek is recv(2) of one byte with MSG_PEEK|MSG_DONTWAIT.
func rawPeek(fd uintptr, b *byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(b)), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return int(r), e
}

// rawRecvmsg is recvmsg(2) of msg, whose one buffer is b.
func rawRecvmsg(fd uintptr, msg unsafe.Pointer, b []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(msg), 0)
	return int(r), e
}
