package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// The scheduler's grid is adaptive unless a fixed grid, Go timers or a
// wake per request is asked for.
func TestPlanTimerGrid(t *testing.T) {
	for _, c := range []struct {
		name     string
		set      func(*Options)
		adaptive bool
	}{
		{"default", func(*Options) {}, true},
		{"precise", func(o *Options) { o.PreciseTimers = true }, false},
		{"slack", func(o *Options) { o.TimerSlack = time.Millisecond }, false},
		{"coarse", func(o *Options) { o.CoarseTimers = true }, false},
	} {
		o := Defaults()
		o.URL, o.Rate = "http://127.0.0.1:9/", 100
		c.set(&o)
		p, err := NewPlan(&o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := p.gen.AdaptiveGrid != nil; got != c.adaptive || p.settings.AdaptiveGrid != c.adaptive {
			t.Errorf("%s: adaptive grid %v (settings %v), want %v", c.name, got, p.settings.AdaptiveGrid, c.adaptive)
		}
		p.Close()
	}
	o := Defaults()
	o.URL, o.Rate, o.PreciseTimers, o.TimerSlack = "http://127.0.0.1:9/", 100, true, time.Millisecond
	if _, err := NewPlan(&o); err == nil {
		t.Error("--precise-timers with --timer-slack accepted")
	}
}

// Against a target answering in 20 ms, a default run puts its sends on a
// grid of at most 5 % of that, reports it, and the self-check judges the
// send lag with the grid allowed for. (Whether the lag passes depends on
// the machine's load: a shared machine's stalls are the generator's.)
func TestRunAdaptiveGridReported(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s run")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	o := Defaults()
	o.URL, o.Rate, o.Duration = srv.URL, 500, 2*time.Second
	f, _ := Run(context.Background(), &o, nil)
	if f == nil || f.Summary == nil {
		t.Fatal("no result")
	}
	g := f.Summary.Total.TimerGrid
	if !f.Settings.AdaptiveGrid || g == nil || g.Max <= 0 {
		t.Fatalf("adaptive %v, grid %+v: no grid against a 20ms target", f.Settings.AdaptiveGrid, g)
	}
	if p50 := f.Summary.Total.Service.P50; g.Max > p50/20 {
		t.Errorf("grid up to %v, over 5 %% of the service-time p50 %v", g.Max, p50)
	}
	if len(f.Summary.Generator.Grid) == 0 {
		t.Error("no grid steps in the generator's stats")
	}
	var lag *analysis.Finding
	for i, fd := range f.Verdict.Findings {
		if fd.Check == analysis.CheckSendLag {
			lag = &f.Verdict.Findings[i]
		}
	}
	if lag == nil || !strings.Contains(lag.Limit, "wake-up grid") {
		t.Errorf("send-lag finding %v: the grid not allowed for", lag)
	}
}
