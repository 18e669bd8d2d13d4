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
