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
	var sizes, lingers, rates, from string
	cmd := &cobra.Command{
		Use:   "batch URL --batch-sizes 1,8,32 --linger 0,1ms,5ms [--from R] [--rates 2000,8000] [--batch-item TEMPLATE]",
		Short: "Measure batching trade-offs: capacity, item p99 and cost per item over batch size × linger",
		Long: `Measure client-side batching settings (batch size B × linger L) open loop. A
batch leaves when it holds B items or its first item has waited the linger;
each item's latency counts from its own intended time, time in the batcher
included. The body of each request is a JSON array of --batch-item rendered per
item (templates: {{seq}}, {{key}}, {{data.COLUMN}}).

For each setting, in a seeded random order, it searches the capacity as
sweep --search does: the largest item rate the target keeps up with (with
--slo, meets the objective), doubling from --from, then bisecting to
--precision, then confirming. With --rates, every setting runs at those fixed
rates instead (cells in a seeded random order), and a cell the target could not
keep up with says so, its completion rate the capacity bound.

Each setting gets its capacity bracket, its p99 at a reference rate common to
all settings and, with --target-metrics, the target's CPU seconds per 1,000
items. Settings are compared only where the differences are larger than their
intervals: the frontier marks the settings no other beats that way, and the
recommendation is the highest capacity, then the lowest cost, then the lowest
p99, ties going to the smaller batch and the shorter linger. When batching buys
nothing it says so and recommends B=1. See docs/knee.md.`,
		Example: `  tailgate batch http://127.0.0.1:8080/batch --batch-sizes 1,8,32 --linger 0,2ms --cell-duration 2s
  tailgate batch http://127.0.0.1:8080/batch --batch-sizes 1,8,32,128 --linger 1ms,5ms --rates 2000,8000 --slo 'p99<50ms'`,
		Args: cobra.ExactArgs(1),
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
			if rates != "" {
				if opts.Rates, err = parseList(rates, ParseRate); err != nil {
					return usageErrorf("--rates: %v", err)
				}
			}
			if opts.From, err = ParseRate(from); err != nil {
				return usageErrorf("--from %q: %v", from, err)
			}
			if !(opts.Precision > 0 && opts.Precision < 1) {
				return usageErrorf("--precision %v: want a fraction in (0, 1), e.g. 0.05", opts.Precision)
			}
			if opts.MaxSteps < 1 {
				return usageErrorf("--max-steps %d: want at least 1", opts.MaxSteps)
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
	f.StringVar(&rates, "rates", "", "fixed offered item rates, items/s (comma-separated), instead of searching each setting's capacity")
	f.StringVar(&from, "from", "100", "the first rate of each setting's capacity search, items/s (it doubles from there)")
	f.Float64Var(&opts.Precision, "precision", 0.05, "stop a setting's search when its bracket is this narrow (hi/lo − 1)")
	f.IntVar(&opts.MaxSteps, "max-steps", 20, "cells of a setting's search at most")
	f.DurationVar(&opts.CellDuration, "cell-duration", 10*time.Second, "length of each cell's run (a search's confirming run: twice that)")
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
