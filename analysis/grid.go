package analysis

import (
	"time"

	"tailgate/generator"
)

// GridRange is the scheduler's wake-up grid over a phase: a request due at
// t left at the first point of the grid at or after t, so up to the grid
// late by design. Min and Max are the smallest and largest grid in force
// during the phase (0: a wake per request), Last the one in force at its
// end.
type GridRange struct {
	Min  time.Duration `json:"min_ns"`
	Max  time.Duration `json:"max_ns"`
	Last time.Duration `json:"last_ns"`
}

// GridSteps returns the run's grid steps (GeneratorStats.Grid) as the
// generator's.
func (g *GeneratorStats) GridSteps() []generator.GridStep {
	if len(g.Grid) == 0 {
		return nil
	}
	out := make([]generator.GridStep, len(g.Grid))
	for i, s := range g.Grid {
		out[i] = generator.GridStep{At: time.Duration(s[0]), Step: time.Duration(s[1])}
	}
	return out
}

// GridOver returns the grid's range over the intended times [from, to), or
// nil when the run had no grid.
func GridOver(steps []generator.GridStep, from, to time.Duration) *GridRange {
	if len(steps) == 0 {
		return nil
	}
	g := generator.GridAt(steps, from)
	r := &GridRange{Min: g, Max: g, Last: g}
	for _, s := range steps {
		if s.At <= from || s.At >= to {
			continue
		}
		r.Min, r.Max, r.Last = min(r.Min, s.Step), max(r.Max, s.Step), s.Step
	}
	return r
}

// setGridRanges sets each phase's TimerGrid, and the total's over the
// phases that are not warm-up.
func setGridRanges(s *Summary) {
	steps := s.Generator.GridSteps()
	if len(steps) == 0 {
		return
	}
	var tot *GridRange
	for i := range s.Phases {
		p := &s.Phases[i]
		p.TimerGrid = GridOver(steps, p.Start, p.Start+p.Duration)
		if p.Warmup || p.TimerGrid == nil {
			continue
		}
		if tot == nil {
			c := *p.TimerGrid
			tot = &c
			continue
		}
		tot.Min, tot.Max, tot.Last = min(tot.Min, p.TimerGrid.Min), max(tot.Max, p.TimerGrid.Max), p.TimerGrid.Last
	}
	s.Total.TimerGrid = tot
}
