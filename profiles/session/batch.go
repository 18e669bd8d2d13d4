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

// BatchOptions are a batching grid's: every batch size × linger, each
// setting's capacity searched for (no Rates) or measured at fixed item
// rates.
type BatchOptions struct {
	Sizes        []int
	Lingers      []time.Duration
	Rates        []float64 // fixed offered item rates; none: search each setting's capacity
	CellDuration time.Duration
	Cooldown     time.Duration // pause between cells
	// A search's: its first rate (items/s; it doubles from there), the
	// bracket's width to stop at (hi/lo − 1) and the most cells per
	// setting.
	From      float64
	Precision float64
	MaxSteps  int
}

// batchSetting is one setting of the grid: batch size and linger.
type batchSetting struct {
	b int
	l time.Duration
}

// String names the setting in labels and progress: "B=16 L=2ms",
// "B=1 L=0".
func (s batchSetting) String() string {
	if s.l == 0 {
		return fmt.Sprintf("B=%d L=0", s.b)
	}
	return fmt.Sprintf("B=%d L=%v", s.b, s.l)
}

// batchGrid measures a grid's cells with one plan.
type batchGrid struct {
	plan     *Plan
	o        *Options
	bo       BatchOptions
	steps    []*results.File // every cell's result, in run order
	cells    []analysis.BatchCell
	searches map[batchSetting]string // each setting's search sentence
	steppers map[batchSetting]*stepper
}

// Batch runs the grid and returns its result: every cell's result in
// Steps (in run order), the cells, settings, frontier and recommendation
// in Batch. Without fixed rates, each setting in turn (in a seeded
// random order) has its capacity searched for as sweep --search does,
// from From; with them, every setting runs at every rate, cells in a
// seeded random order. It writes the options' outputs, each cell
// labelled. The options' BatchItem is the template of one item.
func Batch(ctx context.Context, o *Options, bo BatchOptions, out io.Writer) (*results.File, error) {
	o.Duration = bo.CellDuration
	// The plan's rate sizes the default in-flight cap (2 s of the peak),
	// as a sweep's does: the highest fixed rate, or a search's first.
	o.Rate = bo.From
	if len(bo.Rates) > 0 {
		o.Rate = 0
		for _, r := range bo.Rates {
			o.Rate = max(o.Rate, r)
		}
	}
	plan, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	g := &batchGrid{plan: plan, o: o, bo: bo, searches: map[batchSetting]string{}, steppers: map[batchSetting]*stepper{}}
	if len(bo.Rates) > 0 {
		err = g.fixed(ctx)
	} else {
		err = g.search(ctx)
	}
	if err != nil {
		return nil, err
	}
	if len(g.steps) == 0 {
		return nil, &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted before the first cell")}
	}
	an := analysis.AnalyzeBatch(g.cells, objectivesName(o))
	for i := range an.Settings {
		s := &an.Settings[i]
		s.Search = g.searches[batchSetting{s.BatchSize, s.Linger}]
	}
	f := *g.steps[len(g.steps)-1]
	f.Kind = "batch"
	f.Steps = g.steps
	f.Batch = &results.BatchInfo{Cells: g.cells, Recommendation: an.Recommendation, Search: len(bo.Rates) == 0,
		Settings: an.Settings, ReferenceRate: an.ReferenceRate, SLO: objectivesName(o)}
	f.Verdict = nil
	f.Interrupted = ctx.Err() != nil
	return &f, finishSteps(plan, &f, out)
}

// objectivesName names the options' objectives ("" for none): the first,
// and how many more.
func objectivesName(o *Options) string {
	objs := o.SLO.Objectives
	if len(objs) == 0 {
		return ""
	}
	name := objs[0].String()
	if len(objs) > 1 {
		name += fmt.Sprintf(" (and %d more)", len(objs)-1)
	}
	return name
}

// settings is every setting of the grid in a random order seeded by
// seed. B = 1 sends every item at once, so its linger does nothing: it
// runs once, with none, whatever the lingers.
func (g *batchGrid) settings(seed uint64) []batchSetting {
	var out []batchSetting
	for _, b := range g.bo.Sizes {
		if b == 1 {
			out = append(out, batchSetting{1, 0})
			continue
		}
		for _, l := range g.bo.Lingers {
			out = append(out, batchSetting{b, l})
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xba7c4))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// stepper is the stepper of one setting: its plan batches, its cells are
// named "B=16 L=2ms step-3 @800/s", rates in items/s.
func (g *batchGrid) stepper(s batchSetting) *stepper {
	if sr := g.steppers[s]; sr != nil {
		return sr
	}
	sr := &stepper{plan: g.plan.WithBatch(s.b, s.l), o: g.o, unit: "items/s", nominal: true,
		prefix: s.String() + ": ",
		name: func(n int, rate float64) string {
			return fmt.Sprintf("%s step-%d @%s/s", s, n, formatRate(rate))
		}}
	g.steppers[s] = sr
	return sr
}

// keep records a setting's cell: its result and its reduction.
func (g *batchGrid) keep(s batchSetting, f *results.File, st analysis.Step) {
	met := len(g.o.SLO.Objectives) == 0 || meets(f)
	g.steps = append(g.steps, f)
	g.cells = append(g.cells, cellOf(f, st, s, met))
}

// search searches each setting's capacity in turn (see session.search).
func (g *batchGrid) search(ctx context.Context) error {
	so := SweepOptions{From: g.bo.From, StepDuration: g.bo.CellDuration, Precision: g.bo.Precision, MaxSteps: g.bo.MaxSteps}
	pause := func() bool { return sleep(ctx, g.bo.Cooldown) }
	for _, s := range g.settings(g.o.Seed) {
		if ctx.Err() != nil {
			break
		}
		sr := g.stepper(s)
		info := &results.SweepInfo{}
		si, err := search(ctx, sr, so, info, pause)
		if err != nil {
			return err
		}
		for i, f := range sr.all {
			g.keep(s, f, info.Steps[i])
		}
		g.searches[s] = si.Sentence
		if sr.o.Progress {
			fmt.Fprintf(g.o.log(), "%ssearch: %s\n", sr.prefix, si.Sentence)
		}
	}
	return nil
}

// fixed runs every setting at every rate, cells in a seeded random
// order.
func (g *batchGrid) fixed(ctx context.Context) error {
	type cell struct {
		s    batchSetting
		rate float64
	}
	var cells []cell
	for _, s := range g.settings(g.o.Seed) {
		for _, r := range g.bo.Rates {
			cells = append(cells, cell{s, r})
		}
	}
	rng := rand.New(rand.NewPCG(g.o.Seed, 0xce11))
	rng.Shuffle(len(cells), func(i, j int) { cells[i], cells[j] = cells[j], cells[i] })
	for i, c := range cells {
		if ctx.Err() != nil {
			break
		}
		if g.o.Progress {
			fmt.Fprintf(g.o.log(), "cell %d/%d: ", i+1, len(cells))
		}
		f, st, err := g.stepper(c.s).run(ctx, c.rate, g.bo.CellDuration)
		if err != nil {
			return err
		}
		g.keep(c.s, f, st)
		if i < len(cells)-1 {
			sleep(ctx, g.bo.Cooldown)
		}
	}
	return nil
}

// cellOf reduces a cell's judged result and its step to an
// analysis.BatchCell; met says it met every objective.
func cellOf(f *results.File, st analysis.Step, s batchSetting, met bool) analysis.BatchCell {
	g := f.Summary.Generator
	c := analysis.BatchCell{
		BatchSize: s.b, Linger: s.l, Rate: f.Settings.Rate, Throughput: st.Achieved,
		P99: st.P99, P99Lo: st.P99Lo, P99Hi: st.P99Hi, Duration: st.Duration,
		FlushBySize: int64(g.FlushBySize), FlushByLinger: int64(g.FlushByLinger),
		Valid: st.Valid, Why: st.Why, Saturated: st.Saturated, Evidence: st.Evidence,
		ErrorRate: st.ErrorRate, MetSLO: met, TargetCPU: st.TargetCPU,
	}
	if g.Batches > 0 {
		c.MeanFill = float64(g.Intended) / float64(g.Batches) / float64(s.b)
	}
	if c.TargetCPU > 0 && c.Throughput > 0 {
		c.CPUPerKItems = c.TargetCPU / c.Throughput * 1000
	}
	return c
}
