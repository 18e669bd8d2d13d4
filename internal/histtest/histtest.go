// Package histtest writes series of synthetic result files, one a night,
// for the tests of `tailgate history`: runs recorded through the same
// analysis.Collector and written by the same results.Write as a real run,
// with night-to-night noise, a planted step or a slow drift.
package histtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
)

// Series describes the nights to write. Zero fields take the defaults in
// brackets.
type Series struct {
	Runs    int     // nights [20]
	Rate    int     // requests per second [500]
	Seconds int     // length of a run [10]
	Median  float64 // response-time median in ms [2]; log-normal, σ 0.5 within a run
	// SigmaRun is the night-to-night noise: each night's latencies are
	// scaled by a log-normal factor with this σ [0.05]; negative for none.
	SigmaRun float64
	// StepAt is the first night (0-based) scaled by Step; 0 for no step.
	StepAt int
	Step   float64
	// Drift scales night i by Drift^i (1.03: +3 % a night); 0 for none.
	Drift float64
	// ErrPct is the percentage of requests that fail (HTTP 500).
	ErrPct float64
	Seed   uint64
	// Builds labels night i with File.Build "build-i" (1-based); otherwise
	// the files carry no build and history labels them by file name.
	Builds bool
}

// Start is the first night's start time; night i starts i days later.
var Start = time.Date(2026, 3, 1, 2, 17, 0, 0, time.UTC)

func (s Series) withDefaults() Series {
	if s.Runs == 0 {
		s.Runs = 20
	}
	if s.Rate == 0 {
		s.Rate = 500
	}
	if s.Seconds == 0 {
		s.Seconds = 10
	}
	if s.Median == 0 {
		s.Median = 2
	}
	if s.SigmaRun == 0 {
		s.SigmaRun = 0.05
	}
	return s
}

// Write writes the nights into dir as night-XX.json, where XX is not the
// night's number (the files' names do not sort in time order: history
// must order them by their start times), and returns the paths in night
// order.
func (s Series) Write(dir string) ([]string, error) {
	s = s.withDefaults()
	rng := rand.New(rand.NewPCG(s.Seed, 0x41570))
	perm := rng.Perm(s.Runs)
	paths := make([]string, s.Runs)
	for i := range s.Runs {
		f, err := s.night(rng, i)
		if err != nil {
			return nil, err
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("night-%02d.json", perm[i]))
		if err := results.Write(paths[i], f); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// night records night i.
func (s Series) night(rng *rand.Rand, i int) (*results.File, error) {
	scale := math.Exp(max(s.SigmaRun, 0) * rng.NormFloat64())
	if s.StepAt > 0 && i >= s.StepAt {
		scale *= s.Step
	}
	if s.Drift > 0 {
		scale *= math.Pow(s.Drift, float64(i))
	}
	length := time.Duration(s.Seconds) * time.Second
	c := analysis.NewCollector([]analysis.PhaseWindow{{Name: "main", End: length}})
	var st generator.Stats
	n := s.Rate * s.Seconds
	for k := range n {
		at := time.Duration(k) * time.Second / time.Duration(s.Rate)
		lat := time.Duration(scale * s.Median * 1e6 * math.Exp(0.5*rng.NormFloat64()))
		r := generator.Result{Seq: uint64(k), Intended: at, Sent: at, Done: at + lat}
		r.Status = 200
		if rng.Float64()*100 < s.ErrPct {
			r.Status = 500
		}
		st.Intended++
		st.Sent++
		c.Record(k%4, &r)
	}
	end := length + time.Second
	if err := c.Close(end); err != nil {
		return nil, err
	}
	st.Elapsed = end
	f, err := results.New("run", c.Summarize(st))
	if err != nil {
		return nil, err
	}
	f.ToolVersion = "test"
	f.Started = Start.Add(time.Duration(i) * 24 * time.Hour)
	f.Ended = f.Started.Add(end)
	f.Settings = results.Settings{Target: "http://127.0.0.1:8080/", Rate: float64(s.Rate), Duration: length,
		Arrivals: "constant", MaxInFlight: 1024, OnSaturation: "wait"}
	if s.Builds {
		f.Build = fmt.Sprintf("build-%d", i+1)
	}
	return f, nil
}
