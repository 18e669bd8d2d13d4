package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
)

// BatchCmdOptions are the flags of `tailgate batch`.
type BatchCmdOptions struct {
	RunOptions
	Sizes        []int
	Lingers      []time.Duration
	Rates        []float64
	CellDuration time.Duration
	Cooldown     time.Duration
	BatchItem    string
}

// NewCmdBatch builds `tailgate batch`.
func NewCmdBatch(io *IOStreams) *cobra.Command {
	opts := &BatchCmdOptions{}
	raw := &rawFlags{}
	var sizes, lingers, rates string
	cmd := &cobra.Command{
		Use:   "batch URL --batch-sizes 1,8,32 --linger 0,1ms,5ms --rates 2000,8000 [--batch-item TEMPLATE]",
		Short: "Measure batching trade-offs: throughput against item p99 over batch size × linger",
		Long: `Run a grid of client-side batching settings open loop at fixed item rates. A batch
leaves when it holds B items or its first item has waited the linger; each item's
latency counts from its own intended time, time in the batcher included. The body
of each request is a JSON array of --batch-item rendered per item (templates:
{{seq}}, {{key}}, {{data.COLUMN}}). Cells run in a seeded random order. The table
marks the Pareto frontier (no other cell at the same rate has both higher
throughput and lower p99), flags cells where throughput rose but p99 got worse
than unbatched, and recommends the best cell under the SLO.`,
		Example: `  tailgate batch http://127.0.0.1:8080/batch --batch-sizes 1,8,32,128 --linger 0,1ms,5ms,20ms --rates 2000,8000 --slo 'p99<50ms'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			var err error
			if opts.Sizes, err = parseList(sizes, func(s string) (int, error) {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return 0, fmt.Errorf("batch size %q: want a whole number ≥ 1", s)
				}
				return n, nil
			}); err != nil {
				return usageErrorf("--batch-sizes: %v", err)
			}
			if opts.Lingers, err = parseList(lingers, func(s string) (time.Duration, error) {
				if s == "0" {
					return 0, nil
				}
				d, err := time.ParseDuration(s)
				if err != nil || d < 0 {
					return 0, fmt.Errorf("linger %q: want a duration ≥ 0, e.g. 5ms", s)
				}
				return d, nil
			}); err != nil {
				return usageErrorf("--linger: %v", err)
			}
			if opts.Rates, err = parseList(rates, ParseRate); err != nil {
				return usageErrorf("--rates: %v", err)
			}
			if opts.CellDuration <= 0 {
				return usageErrorf("--cell-duration %v: must be positive", opts.CellDuration)
			}
			if err := opts.finish(c, raw); err != nil {
				return err
			}
			return doBatch(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sizes, "batch-sizes", "1,8,32", "batch sizes B to try (comma-separated)")
	f.StringVar(&lingers, "linger", "0,1ms,5ms", "lingers L to try (comma-separated)")
	f.StringVar(&rates, "rates", "1000", "offered item rates to try, items/s (comma-separated)")
	f.DurationVar(&opts.CellDuration, "cell-duration", 10*time.Second, "length of each cell's run")
	f.DurationVar(&opts.Cooldown, "cooldown", time.Second, "pause between cells")
	f.StringVar(&opts.BatchItem, "batch-item", `{"key":"{{key}}"}`, "template of one item in the batch body (a JSON array of items)")
	f.StringVar(&opts.Arrivals, "arrivals", "poisson", "arrival process of items: constant or poisson")
	opts.addFlags(f, raw)
	return cmd
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, part := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

func doBatch(ctx context.Context, io *IOStreams, opts *BatchCmdOptions) error {
	opts.Duration = opts.CellDuration
	job, err := planRunWith(&opts.RunOptions, opts.BatchItem)
	if err != nil {
		return err
	}
	defer job.close()
	type cellPlan struct {
		b    int
		l    time.Duration
		rate float64
	}
	var plan []cellPlan
	for _, rate := range opts.Rates {
		for _, b := range opts.Sizes {
			for _, l := range opts.Lingers {
				if b == 1 && l > 0 {
					continue // B = 1 sends every item at once: linger does nothing
				}
				plan = append(plan, cellPlan{b, l, rate})
			}
		}
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0xba7c4))
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	var cells []analysis.BatchCell
	var steps []*results.File
	for i, p := range plan {
		if ctx.Err() != nil {
			break
		}
		j := *job
		bo := generator.BatchOptions{Size: p.b, Linger: p.l}
		j.gen.Batch = &bo
		name := fmt.Sprintf("B=%d L=%v @%s/s", p.b, p.l, formatRate(p.rate))
		j.schedule = generator.Constant{Rate: p.rate, Duration: opts.CellDuration}
		if opts.Arrivals == "poisson" {
			j.schedule = generator.NewPoisson(p.rate, opts.CellDuration, opts.Seed+uint64(i))
		}
		j.phases = []analysis.PhaseWindow{{Name: name, End: opts.CellDuration}}
		j.total = opts.CellDuration
		j.settings.Rate, j.settings.Duration, j.settings.Arrivals = p.rate, opts.CellDuration, opts.Arrivals
		j.settings.Phases = []results.PhasePlan{{Name: name, Duration: opts.CellDuration, Rate: fmt.Sprintf("constant %g", p.rate), Arrivals: opts.Arrivals}}
		if !opts.Quiet {
			fmt.Fprintf(io.ErrOut, "cell %d/%d: %s\n", i+1, len(plan), name)
		}
		f, _, err := j.measure(ctx, io)
		if err != nil {
			return err
		}
		vo := opts.Verdict
		v := analysis.Evaluate(f.Summary, vo.spec.Objectives, vo.spec.Policy, vo.selfCheck(f, nil))
		f.Verdict = &v
		steps = append(steps, f)
		g := f.Summary.Generator
		tot := &f.Summary.Total
		thr := tot.GoodputRate
		if r, ok := windowRate(stepSeconds(f, opts.CellDuration), true); ok {
			thr = min(r, p.rate*1.05)
		}
		cell := analysis.BatchCell{
			BatchSize: p.b, Linger: p.l, Rate: p.rate, Throughput: thr, P99: tot.Response.P99,
			FlushBySize: int64(g.FlushBySize), FlushByLinger: int64(g.FlushByLinger),
			Valid: v.Status != analysis.StatusInvalid && tot.Errors == 0,
		}
		if g.Batches > 0 {
			cell.MeanFill = float64(g.Intended) / float64(g.Batches) / float64(p.b)
		}
		cells = append(cells, cell)
		if i < len(plan)-1 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Cooldown):
			}
		}
	}
	if len(steps) == 0 {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted before the first cell"))
	}
	analysis.MarkPareto(cells)
	analysis.MarkRegressions(cells)
	var slo time.Duration
	for _, o := range opts.Verdict.spec.Objectives {
		if o.Metric == analysis.MetricQuantile && o.Percentile == 99 {
			slo = time.Duration(o.Threshold)
		}
	}
	_, sentence := analysis.Recommend(cells, slo)
	out := *steps[len(steps)-1]
	out.Kind = "batch"
	out.Steps = steps
	out.Batch = &results.BatchInfo{Cells: cells, Recommendation: sentence}
	out.Verdict = nil
	out.Interrupted = ctx.Err() != nil
	return writeSteps(io, &opts.RunOptions, &out)
}
