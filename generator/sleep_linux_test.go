package generator

import (
	"testing"
	"time"
)

// The fine timer never wakes early.
func TestFineTimer(t *testing.T) {
	start := time.Now()
	ft := newFineTimer(start)
	if ft == nil {
		t.Fatal("timerfd unavailable on linux")
	}
	defer ft.close()
	// Deadlines in the past return at once; others never early, whether
	// the timer is re-armed (a new period) or fires again by itself.
	for i, step := range []struct{ at, period time.Duration }{
		{-time.Millisecond, 0}, {0, 0},
		{5 * time.Millisecond, 0}, {10 * time.Millisecond, 5 * time.Millisecond},
		{15 * time.Millisecond, 5 * time.Millisecond}, {20 * time.Millisecond, 5 * time.Millisecond},
		{30 * time.Millisecond, 10 * time.Millisecond}, {35 * time.Millisecond, 5 * time.Millisecond},
		{45 * time.Millisecond, 0},
	} {
		if step.at > 0 && time.Since(start) >= step.at {
			t.Skipf("step %d: the machine is too slow to test %v (now %v)", i, step.at, time.Since(start))
		}
		ft.sleepUntil(step.at, step.period)
		if got := time.Since(start); got < step.at {
			t.Errorf("step %d: sleepUntil(%v) returned at %v: early", i, step.at, got)
		}
	}
	// A constant rate re-arms once: after the first wait the timer fires
	// by itself (armed moves on by one period per wait).
	const gap = 2 * time.Millisecond
	base := time.Since(start) + gap
	for k := 0; k < 5; k++ {
		at := base + time.Duration(k)*gap
		ft.sleepUntil(at, gap)
		if got := time.Since(start); got < at {
			t.Errorf("periodic wait %d returned at %v, before %v", k, got, at)
		}
		if want := ft.base + int64(at+gap); ft.armed != want && time.Since(start) < at+gap {
			t.Errorf("periodic wait %d: next expiry %v, want %v", k, time.Duration(ft.armed-ft.base), at+gap)
		}
	}
}

// A preemption between the two clock readings that set the timer's base
// (the thread descheduled for milliseconds on a loaded machine, as in a CI
// run that hung here for minutes) must make wakes late, never lose one:
// were the base low, the timer would fire before the wait began while the
// clock still said it was early, the wait would skip its read, and the
// poller's reset would have eaten the only edge.
func TestFineTimerBaseAfterPreemption(t *testing.T) {
	const stall = 3 * time.Millisecond
	baseStall = func(int) { time.Sleep(stall) } // every try preempted
	t.Cleanup(func() { baseStall = nil })
	start := time.Now()
	ft := newFineTimer(start)
	if ft == nil {
		t.Fatal("timerfd unavailable on linux")
	}
	for i := 0; i < 5; i++ {
		at := time.Since(start) + 4*stall
		// Enter the wait between a low base's expiry (at - stall) and at.
		time.Sleep(at - stall/2 - time.Since(start))
		done := make(chan struct{})
		go func() {
			defer close(done)
			ft.sleepUntil(at, 0)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			ft.close() // frees the wait
			<-done
			t.Fatalf("wait %d for %v still waiting after 2s: an expiry was lost", i, at)
		}
		if got := time.Since(start); got < at {
			t.Fatalf("wait %d for %v returned at %v: early", i, at, got)
		}
	}
	ft.close()
}
