package session

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"tailgate/analysis"
	"tailgate/results"
)

// BatchOptions are a batching grid's: every batch size × linger, at each
// item rate.
type BatchOptions struct {
	Sizes        []int
	Lingers      []time.Duration
	Rates        []float64 // offered item rates
	CellDuration time.Duration
	Cooldown     time.Duration // pause between cells
}

// batchCell is one cell of the grid to run.
type batchCell struct {
	b    int
	l    time.Duration
	rate float64
}

// Batch runs the grid, cells in a seeded random order, and returns its
// result: every cell's result in Steps, the cells, frontier and
// recommendation in Batch. It writes the options' outputs, each cell
// labelled. The options' BatchItem is the template of one item.
func Batch(ctx context.Context, o *Options, bo BatchOptions, out io.Writer) (*results.File, error) {
	o.Duration = bo.CellDuration
	// The plan's rate sizes the default in-flight cap (2 s of the peak),
	// as a sweep's does: the highest item rate.
	o.Rate = 0
	for _, r := range bo.Rates {
		o.Rate = max(o.Rate, r)
	}
	plan, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	grid := batchGrid(bo, o.Seed)
	var cells []analysis.BatchCell
	var steps []*results.File
	for i, c := range grid {
		if ctx.Err() != nil {
			break
		}
		name := fmt.Sprintf("B=%d L=%v @%s/s", c.b, c.l, formatRate(c.rate))
		if o.Progress {
			fmt.Fprintf(o.log(), "cell %d/%d: %s\n", i+1, len(grid), name)
		}
		m, err := plan.Step(name, i, c.rate, bo.CellDuration).WithBatch(c.b, c.l).Measure(ctx)
		if err != nil {
			return nil, err
		}
		f := m.File
		v := o.Judge(f, nil)
		steps = append(steps, f)
		cells = append(cells, cellOf(f, v, c, bo.CellDuration))
		if i < len(grid)-1 {
			sleep(ctx, bo.Cooldown)
		}
	}
	if len(steps) == 0 {
		return nil, &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted before the first cell")}
	}
	analysis.MarkPareto(cells)
	analysis.MarkRegressions(cells)
	var slo time.Duration
	for _, ob := range o.SLO.Objectives {
		if ob.Metric == analysis.MetricQuantile && ob.Percentile == 99 {
			slo = time.Duration(ob.Threshold)
		}
	}
	_, sentence := analysis.Recommend(cells, slo)
	f := *steps[len(steps)-1]
	f.Kind = "batch"
	f.Steps = steps
	f.Batch = &results.BatchInfo{Cells: cells, Recommendation: sentence}
	f.Verdict = nil
	f.Interrupted = ctx.Err() != nil
	return &f, finishSteps(plan, &f, out)
}

// batchGrid is every cell of the grid in a random order seeded by seed.
// B = 1 sends every item at once: its linger does nothing, so it runs
// once per rate.
func batchGrid(bo BatchOptions, seed uint64) []batchCell {
	var grid []batchCell
	for _, rate := range bo.Rates {
		for _, b := range bo.Sizes {
			for _, l := range bo.Lingers {
				if b == 1 && l > 0 {
					continue
				}
				grid = append(grid, batchCell{b, l, rate})
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xba7c4))
	rng.Shuffle(len(grid), func(i, j int) { grid[i], grid[j] = grid[j], grid[i] })
	return grid
}

// cellOf reduces a cell's judged result to an analysis.BatchCell.
func cellOf(f *results.File, v analysis.Verdict, c batchCell, d time.Duration) analysis.BatchCell {
	g := f.Summary.Generator
	tot := &f.Summary.Total
	thr := tot.GoodputRate
	if r, ok := windowRate(stepSeconds(f, d), true); ok {
		thr = min(r, c.rate*1.05)
	}
	cell := analysis.BatchCell{
		BatchSize: c.b, Linger: c.l, Rate: c.rate, Throughput: thr, P99: tot.Response.P99,
		FlushBySize: int64(g.FlushBySize), FlushByLinger: int64(g.FlushByLinger),
		Valid: v.Status != analysis.StatusInvalid && tot.Errors == 0,
	}
	if g.Batches > 0 {
		cell.MeanFill = float64(g.Intended) / float64(g.Batches) / float64(c.b)
	}
	return cell
}
