//go:build linux && !race

package h1

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawRW is read(2) or write(2) without entering the runtime's syscall state.
func rawRW(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(r), e
}
