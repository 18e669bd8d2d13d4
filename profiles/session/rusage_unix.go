//go:build unix

package session

import (
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"tailgate/analysis"
)

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcStats records the process's memory high-water mark and the GC pauses
// since a run began (from the last 256 pauses the runtime keeps).
func gcStats(g *analysis.GeneratorStats, numGC0 int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		g.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
		if runtime.GOOS == "darwin" {
			g.MaxRSS = ru.Maxrss // bytes on macOS
		}
	}
	gcPauses(g, numGC0)
}

func gcPauses(g *analysis.GeneratorStats, numGC0 int64) {
	var gs debug.GCStats
	gs.PauseQuantiles = make([]time.Duration, 101)
	debug.ReadGCStats(&gs)
	g.GCCount = gs.NumGC - numGC0
	if g.GCCount > 0 && len(gs.PauseQuantiles) == 101 {
		g.GCPauseMax = gs.PauseQuantiles[100]
		g.GCPauseP99 = gs.PauseQuantiles[99]
	}
}
