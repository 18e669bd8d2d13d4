package analysis

import (
	"fmt"
	"testing"
	"time"
)

// batchGrid is a hand-made batching grid at two rates.
func batchGrid() []BatchCell {
	const ms = time.Millisecond
	return []BatchCell{
		// rate 1,000
		{BatchSize: 1, Rate: 1000, Throughput: 1000, P99: 5 * ms, Valid: true},                   // 0 baseline
		{BatchSize: 8, Linger: ms, Rate: 1000, Throughput: 1000, P99: 4 * ms, Valid: true},       // 1 dominates the baseline
		{BatchSize: 32, Linger: 5 * ms, Rate: 1000, Throughput: 1000, P99: 9 * ms, Valid: true},  // 2 dominated by 1
		{BatchSize: 64, Linger: 10 * ms, Rate: 1000, Throughput: 900, P99: 2 * ms, Valid: false}, // 3 invalid
		// rate 8,000
		{BatchSize: 1, Rate: 8000, Throughput: 2600, P99: 40 * ms, Valid: true},                   // 4 baseline, saturated
		{BatchSize: 8, Linger: ms, Rate: 8000, Throughput: 6000, P99: 12 * ms, Valid: true},       // 5 frontier
		{BatchSize: 32, Linger: ms, Rate: 8000, Throughput: 8000, P99: 14 * ms, Valid: true},      // 6 frontier
		{BatchSize: 64, Linger: ms, Rate: 8000, Throughput: 8000, P99: 14 * ms, Valid: true},      // 7 tie with 6: frontier
		{BatchSize: 64, Linger: 20 * ms, Rate: 8000, Throughput: 8000, P99: 60 * ms, Valid: true}, // 8 dominated, regressed
		{BatchSize: 16, Linger: 2 * ms, Rate: 8000, Throughput: 7000, P99: 30 * ms, Valid: true},  // 9 dominated by 6
	}
}

func TestMarkPareto(t *testing.T) {
	cells := batchGrid()
	cells[0].Pareto = true // stale marks are overwritten
	cells[3].Pareto = true
	MarkPareto(cells)
	want := []bool{false, true, false, false, false, true, true, true, false, false}
	for i, c := range cells {
		if c.Pareto != want[i] {
			t.Errorf("cell %d (%s at %v): Pareto = %v, want %v", i, c.Label(), c.Rate, c.Pareto, want[i])
		}
	}

	// The invalid cell would dominate everything at its rate if it counted.
	cells = batchGrid()
	cells[3].Valid = true
	MarkPareto(cells)
	if !cells[3].Pareto || !cells[1].Pareto {
		t.Errorf("valid cell 3: Pareto = %v, cell 1 %v; want both (3 has lower p99, 1 more throughput)", cells[3].Pareto, cells[1].Pareto)
	}
}

func TestMarkRegressions(t *testing.T) {
	const ms = time.Millisecond
	cells := batchGrid()
	MarkRegressions(cells)
	// At 8,000 the baseline does 2,600 items/s with p99 40 ms: only cell
	// 8 has both more throughput and a worse p99. At 1,000 throughput
	// is the same for every cell, so none is flagged.
	want := []bool{false, false, false, false, false, false, false, false, true, false}
	for i, c := range cells {
		if c.Regressed != want[i] {
			t.Errorf("cell %d (%s at %v): Regressed = %v, want %v", i, c.Label(), c.Rate, c.Regressed, want[i])
		}
	}

	// Within 1 % is noise; a rate without a valid baseline flags nothing.
	cells = []BatchCell{
		{BatchSize: 1, Rate: 100, Throughput: 100, P99: 10 * ms, Valid: true},
		{BatchSize: 4, Linger: ms, Rate: 100, Throughput: 100.5, P99: 20 * ms, Valid: true},                // +0.5 %: no
		{BatchSize: 8, Linger: ms, Rate: 100, Throughput: 120, P99: 10050 * time.Microsecond, Valid: true}, // p99 +0.5 %: no
		{BatchSize: 8, Linger: ms, Rate: 100, Throughput: 120, P99: 11 * ms, Valid: false},                 // invalid: no
		{BatchSize: 1, Rate: 200, Throughput: 100, P99: 10 * ms, Valid: false},
		{BatchSize: 8, Linger: ms, Rate: 200, Throughput: 190, P99: 50 * ms, Valid: true}, // invalid baseline: no
	}
	MarkRegressions(cells)
	for i, c := range cells {
		if c.Regressed {
			t.Errorf("cell %d flagged", i)
		}
	}
}

func TestRecommend(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name  string
		cells []BatchCell
		slo   time.Duration
		want  int // index of best; -1 for nil
		sent  string
	}{
		// 8,000 items/s at 14 ms for B=32 and B=64: the tie goes to the smaller batch
		{"slo", batchGrid(), 50 * ms, 6, "B=32, linger 1 ms: 3.1× throughput at 8,000 items/s with p99 14 ms (≤ 50 ms)"},
		// under 13 ms only B=8 at 8,000 (12 ms) and the cells at 1,000 qualify;
		// no baseline meets it at 12 ms except cell 0 (5 ms, 1,000 items/s)
		{"tight", batchGrid(), 13 * ms, 5, "B=8, linger 1 ms: 6.0× throughput at 6,000 items/s with p99 12 ms (≤ 13 ms)"},
		// no SLO: the highest throughput, ties to the lower p99 (14 < 60 ms), then smaller batch
		{"none", batchGrid(), 0, 6, "B=32, linger 1 ms: 3.1× throughput at 8,000 items/s with p99 14 ms"},
		// nothing is under 1 ms; the invalid cell's 2 ms does not count
		{"unmet", batchGrid(), ms, -1, "no cell meets p99 ≤ 1 ms; the lowest p99 was 4 ms (B=8, linger 1 ms at 1,000 items/s)"},
		{"baseline-best", []BatchCell{
			{BatchSize: 1, Rate: 100, Throughput: 100, P99: 3 * ms, Valid: true},
			{BatchSize: 8, Linger: 5 * ms, Rate: 100, Throughput: 100, P99: 9 * ms, Valid: true},
		}, 50 * ms, 0, "B=1, no linger: batching does not help; 100 items/s with p99 3 ms (≤ 50 ms)"},
		{"no-baseline", []BatchCell{
			{BatchSize: 8, Linger: 5 * ms, Rate: 100, Throughput: 100, P99: 9 * ms, Valid: true},
		}, 50 * ms, 0, "B=8, linger 5 ms: 100 items/s with p99 9 ms (≤ 50 ms); no unbatched cell to compare with"},
		{"no-valid", []BatchCell{{BatchSize: 1, Throughput: 1, P99: 1, Valid: false}}, 0, -1, "no valid cells"},
		{"empty", nil, 0, -1, "no valid cells"},
	}
	for _, tt := range tests {
		best, sent := Recommend(tt.cells, tt.slo)
		switch {
		case tt.want < 0 && best != nil:
			t.Errorf("%s: best = %+v, want nil", tt.name, *best)
		case tt.want >= 0 && best != &tt.cells[tt.want]:
			t.Errorf("%s: best = %+v, want cell %d", tt.name, best, tt.want)
		}
		if sent != tt.sent {
			t.Errorf("%s: sentence\n got %q\nwant %q", tt.name, sent, tt.sent)
		}
	}
}

func TestExpectedFirstItemWait(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		b    int
		l    time.Duration
		rate float64
		want time.Duration
	}{
		{32, 10 * ms, 1000, 10 * ms},                   // 31 items take 31 ms > 10 ms linger
		{32, 10 * ms, 31000, ms},                       // 31 items at 31,000/s take 1 ms
		{8, 10 * ms, 700, 10 * ms},                     // 7 items at 700/s take exactly 10 ms
		{1, 10 * ms, 1000, 0},                          // no batching
		{32, 0, 1000, 0},                               // no linger: leaves at once
		{32, 10 * ms, 0, 10 * ms},                      // no arrivals: the linger
		{2, time.Second, 4000, 250 * time.Microsecond}, // one more item at 4,000/s
	}
	for _, tt := range tests {
		if got := ExpectedFirstItemWait(tt.b, tt.l, tt.rate); got != tt.want {
			t.Errorf("ExpectedFirstItemWait(%d, %v, %v) = %v, want %v", tt.b, tt.l, tt.rate, got, tt.want)
		}
	}
}

func ExampleRecommend() {
	const ms = time.Millisecond
	cells := []BatchCell{
		{BatchSize: 1, Rate: 8000, Throughput: 2600, P99: 40 * ms, Valid: true},
		{BatchSize: 32, Linger: ms, Rate: 8000, Throughput: 8000, P99: 14 * ms, Valid: true},
		{BatchSize: 64, Linger: 20 * ms, Rate: 8000, Throughput: 8000, P99: 60 * ms, Valid: true},
	}
	MarkPareto(cells)
	MarkRegressions(cells)
	for _, c := range cells {
		fmt.Printf("%s: pareto=%v regressed=%v\n", c.Label(), c.Pareto, c.Regressed)
	}
	_, sentence := Recommend(cells, 50*ms)
	fmt.Println(sentence)
	// Output:
	// B=1, no linger: pareto=false regressed=false
	// B=32, linger 1 ms: pareto=true regressed=false
	// B=64, linger 20 ms: pareto=false regressed=true
	// B=32, linger 1 ms: 3.1× throughput at 8,000 items/s with p99 14 ms (≤ 50 ms)
}
