//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSSKiB is a finished child's peak resident set in KiB (ru_maxrss,
// which Darwin gives in bytes); 0 when unknown.
func maxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return int64(ru.Maxrss) / maxRSSDivisor
}
