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

	// The timer runs on absolute CLOCK_MONOTONIC time, which is the
	// runtime's own clock: base is the run's offset 0 on it. When the
	// dispatcher asks for the next wake a period after the last one (a
	// constant rate), the timer re-arms itself and no system call is
	// needed to set it: armed is its next expiry, period its interval.
	base, armed, period int64

	// start is the run's offset 0; at and early are the wait in progress:
	// its offset, and whether rfn has not yet been called for it.
	start time.Time
	at    time.Duration
	early bool
}

// earlyMargin is how far before its expiry a wait must begin for its
// first, doomed read to be skipped.
const earlyMargin = 20 * time.Microsecond

// newFineTimer returns a timer for the run whose offset 0 is start, or nil
// when timerfd is unavailable (the dispatcher then uses nanosleep).
func newFineTimer(start time.Time) *fineTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// A non-blocking descriptor given to os.NewFile is registered with the
	// runtime's poller, so Read parks the goroutine instead of the thread.
	t := &fineTimer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd"), start: start}
	rc, err := t.f.SyscallConn()
	if err != nil {
		t.f.Close()
		return nil
	}
	t.rc = rc
	base, ok := monotonicBase(start)
	if !ok {
		t.f.Close()
		return nil
	}
	t.base = base
	t.rfn = func(fd uintptr) bool {
		if t.early {
			// The first call of a wait comes after the poller was reset
			// for it: while the clock is before the expiry the timer has
			// not fired, its edge is still to come, and reading would
			// only return EAGAIN (a system call per wait for nothing).
			// This holds only because base is never below the true
			// one (see monotonicBase): a timer armed early would fire
			// before this check and its edge would be lost to the
			// reset, a wait for ever.
			t.early = false
			if time.Since(t.start) < t.at-earlyMargin {
				return false
			}
		}
		for {
			_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
			if e != unix.EINTR {
				// EAGAIN: not yet fired, wait on the poller. An interrupted
				// read is retried here, not waited on: the edge that made
				// the descriptor readable may already have been consumed.
				return e != unix.EAGAIN
			}
		}
	}
	return t
}

// baseStall, in tests, runs between monotonicBase's clock readings, as a
// preemption there would.
var baseStall func(try int)

// monotonicBase returns start's offset 0 on CLOCK_MONOTONIC, the clock of
// the timerfd, from the runtime's reading of the same clock (time.Since).
// The two cannot be read at once; the thread may be preempted between
// them, by milliseconds on a loaded machine. The offset returned is never
// below the true one, so that a timer armed at base+at never fires before
// time.Since(start) reaches at, which fineTimer's skipped first read
// relies on: the runtime's clock is read before the kernel's, and of a
// few tries the narrowest pair is kept (too high by that width at most,
// a wake that much late).
func monotonicBase(start time.Time) (int64, bool) {
	best, width := int64(0), int64(-1)
	for try := 0; try < 5; try++ {
		before := int64(time.Since(start))
		if baseStall != nil {
			baseStall(try)
		}
		var now unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) != nil {
			return 0, false
		}
		if baseStall != nil {
			baseStall(try)
		}
		after := int64(time.Since(start))
		if w := after - before; width < 0 || w < width {
			best, width = now.Nano()-before, w
		}
		if width < int64(time.Microsecond) {
			break
		}
	}
	return best, true
}

// sleepUntil waits until the run's offset at, or a little after. period,
// when > 0, is the likely gap to the next wait: the timer is armed to fire
// again then, so a constant rate costs one read a request and no re-arm.
// It may return early when the descriptor fails; callers re-check the
// clock.
func (t *fineTimer) sleepUntil(at, period time.Duration) {
	dl := t.base + int64(at)
	if dl != t.armed || int64(period) != t.period {
		t.spec.Value = unix.NsecToTimespec(dl)
		t.spec.Interval = unix.NsecToTimespec(max(int64(period), 0))
		// Raw calls, which do not enter the runtime's syscall state:
		// entering it wakes the sysmon thread when it sleeps, a context
		// switch per wait (see targets/h1's sock for the measurement).
		if _, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), unix.TFD_TIMER_ABSTIME, uintptr(unsafe.Pointer(&t.spec)), 0, 0, 0); e != 0 {
			t.armed, t.period = 0, 0
			t.fallback(dl)
			return
		}
		t.armed, t.period = dl, max(int64(period), 0)
	}
	// Only when no expiry is pending unread: a settime just now, or a
	// read that consumed every expiry so far.
	t.at, t.early = at, true
	if err := t.rc.Read(t.rfn); err != nil {
		t.armed, t.period = 0, 0
		t.fallback(dl)
		return
	}
	// The read returns how many times the timer fired since the last one.
	if n := *(*uint64)(unsafe.Pointer(&t.buf[0])); t.period > 0 && n > 0 {
		t.armed += int64(n) * t.period
	} else {
		t.armed = 0
	}
}

func (t *fineTimer) fallback(dl int64) {
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) == nil && dl > now.Nano() {
		preciseSleep(time.Duration(dl - now.Nano()))
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
