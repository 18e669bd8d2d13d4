package generator

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fineTimer waits precisely for short durations without holding a thread.
//
// Go's runtime timers wake up to a millisecond late on Linux: an idle
// runtime blocks in epoll_wait, whose timeout is in milliseconds. A
// nanosleep(2) is precise but blocks the thread in a syscall while the
// goroutine holds its P, so a worker readied by the dispatcher waits until
// sysmon retakes the P (measured: send lag p50 ≈ 200 µs at 5,000 req/s, and
// about 30 µs more CPU per request for the thread handoffs). A timerfd
// read through the runtime's netpoller has neither cost: the goroutine
// parks, the runtime's epoll_wait returns when the kernel's high-resolution
// timer fires (timerfd has no timer slack), and the P runs other
// goroutines meanwhile. See docs/performance.md for the measurements.
type fineTimer struct {
	fd   int
	f    *os.File
	rc   syscall.RawConn
	rfn  func(fd uintptr) bool
	spec unix.ItimerSpec
	buf  [8]byte
}

// newFineTimer returns nil when timerfd is unavailable; sleep then falls
// back to nanosleep.
func newFineTimer() *fineTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// A non-blocking descriptor given to os.NewFile is registered with the
	// runtime's poller, so Read parks the goroutine instead of the thread.
	t := &fineTimer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
	rc, err := t.f.SyscallConn()
	if err != nil {
		t.f.Close()
		return nil
	}
	t.rc = rc
	t.rfn = func(fd uintptr) bool {
		_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
		return e != unix.EAGAIN && e != unix.EINTR
	}
	return t
}

// sleep waits for about d (≥ 0). It may return early, for example when
// the descriptor fails; callers re-check the clock.
func (t *fineTimer) sleep(d time.Duration) {
	if t == nil {
		preciseSleep(d)
		return
	}
	if d <= 0 {
		return
	}
	t.spec.Value = unix.NsecToTimespec(int64(d))
	// Raw calls, which do not enter the runtime's syscall state: entering
	// it wakes the sysmon thread when it sleeps, a context switch per wait
	// (see targets/h1's sock for the measurement).
	if _, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), 0, uintptr(unsafe.Pointer(&t.spec)), 0, 0, 0); e != 0 {
		preciseSleep(d)
		return
	}
	if err := t.rc.Read(t.rfn); err != nil {
		preciseSleep(d)
	}
}

func (t *fineTimer) close() {
	if t != nil {
		t.f.Close()
	}
}

// preciseSleep blocks the calling thread in nanosleep(2): the fallback
// when a timerfd cannot be had. An interrupted sleep returns early.
func preciseSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}
