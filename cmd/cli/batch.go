package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tailgate/profiles/session"
)

// BatchCmdOptions are the flags of `tailgate batch`.
type BatchCmdOptions struct {
	RunOptions
	session.BatchOptions
}

// NewCmdBatch builds `tailgate batch`.
func NewCmdBatch(io *IOStreams) *cobra.Command {
	opts := &BatchCmdOptions{RunOptions: *newRunOptions()}
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
			if err := opts.finish(c, io); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), opts)
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
	opts.addFlags(f)
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
	f, err := session.Batch(ctx, &opts.Options, opts.BatchOptions, io.Out)
	if f == nil {
		return err
	}
	return renderSteps(io, &opts.RunOptions, f, err)
}
