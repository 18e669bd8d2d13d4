package session

import (
	"context"
	"math"
	"sync"
	"time"

	"tailgate/analysis"
	"tailgate/targets"
)

// telemetry scrapes a target's Prometheus endpoint through a run.
type telemetry struct {
	scraper *targets.Scraper
	start   time.Time
	mu      sync.Mutex
	samples []teleSample
	err     error
}

type teleSample struct {
	at time.Duration
	targets.Telemetry
}

func (t *telemetry) scrape(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := t.scraper.Scrape(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.err = err
		return
	}
	t.samples = append(t.samples, teleSample{at: m.At.Sub(t.start), Telemetry: m})
}

// summarize sets each phase's TargetStats from the samples inside it.
func (t *telemetry) summarize(sum *analysis.Summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range sum.Phases {
		p := &sum.Phases[i]
		ts := &analysis.TargetStats{}
		var first, last *teleSample
		for k := range t.samples {
			sm := &t.samples[k]
			if sm.at < p.Start || sm.at > p.Start+p.Duration+time.Second {
				continue
			}
			if first == nil {
				first = sm
			}
			last = sm
			ts.Scrapes++
			if !math.IsNaN(sm.RSSBytes) {
				ts.RSSMax = max(ts.RSSMax, sm.RSSBytes)
			}
			if !math.IsNaN(sm.GCPauseMax) {
				ts.GCPauseMax = max(ts.GCPauseMax, time.Duration(sm.GCPauseMax*1e9))
			}
		}
		if first != nil && last != first && !math.IsNaN(first.CPUSeconds) && !math.IsNaN(last.CPUSeconds) {
			ts.CPUCores = (last.CPUSeconds - first.CPUSeconds) / (last.at - first.at).Seconds()
		}
		if ts.Scrapes == 0 && t.err != nil {
			ts.Error = t.err.Error()
		}
		p.Target = ts
	}
}
