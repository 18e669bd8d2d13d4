package generator

import (
	"testing"
	"time"
)

// The fine timer never wakes early.
func TestFineTimer(t *testing.T) {
	ft := newFineTimer()
	if ft == nil {
		t.Fatal("timerfd unavailable on linux")
	}
	defer ft.close()
	for _, d := range []time.Duration{-time.Millisecond, 0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		t0 := time.Now()
		ft.sleep(d)
		if got := time.Since(t0); got < d {
			t.Errorf("sleep(%v) returned after %v: early", d, got)
		}
	}
}
