package generator

import (
	"syscall"
	"time"
)

// preciseSleep blocks the calling thread in nanosleep(2). The Go runtime's
// timers wake up to a millisecond late on Linux (measured: p50 ≈ 550 µs
// late for 200 µs sleeps), nanosleep ≈ 85 µs; see docs/performance.md.
// An interrupted sleep returns early: callers re-check the clock.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
