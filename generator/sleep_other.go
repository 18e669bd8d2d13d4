//go:build !linux

package generator

import "time"

// fineTimer is not available where timerfd(2) does not exist; the
// dispatcher uses preciseSleep.
type fineTimer struct{}

func newFineTimer(time.Time) *fineTimer { return nil }

func (t *fineTimer) sleepUntil(at, period time.Duration) {}

func (t *fineTimer) close() {}

func preciseSleep(d time.Duration) { time.Sleep(d) }
