//go:build !linux

package rawsock

import "syscall"

// Elsewhere, Wrap leaves connections as they are.
const (
	supported = false
	sysRead   = 0
	sysWrite  = 1
)

func rawRW(uintptr, uintptr, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

func rawPeek(uintptr, *byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
