package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// The table shows the wake-up grid in force under the send lag, and only
// when there was one.
func TestTableShowsGrid(t *testing.T) {
	tot := &analysis.PhaseSummary{Name: "total"}
	var b bytes.Buffer
	if err := writeLatency(&b, tot); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "grid") {
		t.Fatalf("a grid shown for a wake per request:\n%s", b.String())
	}
	tot.TimerGrid = &analysis.GridRange{Min: 0, Max: 800 * time.Microsecond, Last: 800 * time.Microsecond}
	b.Reset()
	if err := writeLatency(&b, tot); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "wake-up grid (sends coalesced onto it, up to one step late by design): 0–800µs, 800µs at the end") {
		t.Fatalf("no grid line:\n%s", b.String())
	}
	if got := FormatGrid(&analysis.GridRange{Min: time.Millisecond, Max: time.Millisecond, Last: time.Millisecond}); got != "1.00ms" {
		t.Errorf("a fixed grid: %q", got)
	}
}

// Merging segments keeps the widest range of their grids.
func TestMergeGrid(t *testing.T) {
	p := &analysis.PhaseSummary{}
	for _, g := range []*analysis.GridRange{{Min: 100, Max: 800, Last: 800}, nil, {Min: 0, Max: 500, Last: 400}} {
		if err := addPhase(p, &analysis.PhaseSummary{Name: "main", TimerGrid: g}); err != nil {
			t.Fatal(err)
		}
	}
	if p.TimerGrid == nil || *p.TimerGrid != (analysis.GridRange{Min: 0, Max: 800, Last: 800}) {
		t.Fatalf("merged grid %+v", p.TimerGrid)
	}
}
