//go:build !linux

package generator

import "time"

// fineTimer falls back to Go timers where timerfd(2) does not exist.
type fineTimer struct{}

func newFineTimer() *fineTimer { return nil }

func (t *fineTimer) sleep(d time.Duration) { time.Sleep(d) }

func (t *fineTimer) close() {}
