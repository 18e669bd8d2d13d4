//go:build !unix

package session

import (
	"runtime/debug"
	"time"

	"tailgate/analysis"
)

// processCPU is 0 where getrusage is missing: the result then shows no
// CPU per request rather than a wrong one.
func processCPU() time.Duration { return 0 }

// gcStats records the GC pauses since a run began; the memory high-water
// mark is unknown here.
func gcStats(g *analysis.GeneratorStats, numGC0 int64) {
	var gs debug.GCStats
	gs.PauseQuantiles = make([]time.Duration, 101)
	debug.ReadGCStats(&gs)
	g.GCCount = gs.NumGC - numGC0
	if g.GCCount > 0 && len(gs.PauseQuantiles) == 101 {
		g.GCPauseMax = gs.PauseQuantiles[100]
		g.GCPauseP99 = gs.PauseQuantiles[99]
	}
}
