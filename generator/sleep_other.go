//go:build !linux

package generator

import "time"

func preciseSleep(d time.Duration) { time.Sleep(d) }
