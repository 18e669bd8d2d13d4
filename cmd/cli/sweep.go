package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"tailgate/profiles/session"
	"tailgate/results"
)

// SweepOptions are the flags of `tailgate sweep`.
type SweepOptions struct {
	RunOptions
	session.SweepOptions
}

// NewCmdSweep builds `tailgate sweep`.
func NewCmdSweep(io *IOStreams) *cobra.Command {
	opts := &SweepOptions{RunOptions: *newRunOptions()}
	var from, to, conc string
	cmd := &cobra.Command{
		Use:   "sweep URL --from R --to R [--steps N] [--step-duration D] [--slo EXPR] | sweep URL --search [--slo EXPR]",
		Short: "Bracket the target's capacity and find the utilization knee (rate sweep); narrow the bracket (--search)",
		Long: `A sweep runs the target at increasing constant rates, one step after another,
each step a fresh open-loop run with its own self-check. Each step is one of:
  ok         the target kept up: capacity is at least this rate
  saturated  the target's backpressure held completions below the offered rate,
             or its latency kept rising through the step: the rate is above
             capacity. Kept, with the evidence.
  INVALID    the generator did not keep to the schedule (its own fault): dropped,
             with the reason, and the rate tried once more.
The highest ok step and the lowest saturated one bracket the capacity
("capacity between 1,600 and 2,000 req/s: at 2,000 the target completed 1,576/s
and latency grew without bound"). From the ok steps it finds the knee (Kneedle),
claimed only where p99 rose beyond its confidence interval, with ρ taken against
the bracket; and, with --slo, the highest rate the objective holds to. A model's
capacity (the 1/p99 line) is shown only with its interval and only when a step
reached within 20 % of it. See docs/knee.md.

--search narrows the bracket instead: doubling from --from until a step saturates
(or, with an objective, fails it), then bisecting until the bracket is no wider
than --precision, then a confirming run twice as long at its lower end.`,
		Example: `  tailgate sweep http://127.0.0.1:8080/ --from 500 --to 20000 --steps 12 --step-duration 20s --slo 'p99<50ms'
  tailgate sweep http://127.0.0.1:8080/ --search --from 500
  tailgate sweep http://127.0.0.1:8080/ --search --slo 'p99<50ms' --from 500`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			var err error
			if conc != "" {
				if opts.Concurrency, err = parseList(conc, func(s string) (int, error) {
					n, err := strconv.Atoi(s)
					if err != nil || n < 1 {
						return 0, fmt.Errorf("concurrency %q: want a whole number ≥ 1", s)
					}
					return n, nil
				}); err != nil {
					return usageErrorf("--concurrency: %v", err)
				}
				if err := opts.finish(c, io); err != nil {
					return err
				}
				if planned != nil {
					return planned(c.CommandPath(), opts)
				}
				return doSweep(c.Context(), io, opts)
			}
			if opts.From, err = ParseRate(from); err != nil {
				return usageErrorf("--from %q: %v", from, err)
			}
			if !opts.Search {
				if opts.To, err = ParseRate(to); err != nil {
					return usageErrorf("--to %q: %v", to, err)
				}
				if opts.To <= opts.From {
					return usageErrorf("--to %v must be above --from %v", opts.To, opts.From)
				}
				if opts.Steps < 2 {
					return usageErrorf("--steps %d: want at least 2", opts.Steps)
				}
			}
			if opts.StepDuration <= 0 {
				return usageErrorf("--step-duration %v: must be positive", opts.StepDuration)
			}
			if !(opts.Precision > 0 && opts.Precision < 1) {
				return usageErrorf("--precision %v: want a fraction in (0, 1), e.g. 0.01", opts.Precision)
			}
			if err := opts.finish(c, io); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), opts)
			}
			return doSweep(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "100", "lowest rate, req/s")
	f.StringVar(&to, "to", "", "highest rate, req/s")
	f.IntVar(&opts.Steps, "steps", 8, "number of rate steps, evenly spaced from --from to --to")
	f.DurationVar(&opts.StepDuration, "step-duration", 10*time.Second, "length of each step")
	f.DurationVar(&opts.Cooldown, "cooldown", time.Second, "pause between steps, for the target to drain")
	f.StringVar(&opts.Arrivals, "arrivals", "constant", "arrival process of each step: constant or poisson")
	f.BoolVar(&opts.Search, "search", false, "bisect the capacity bracket (with --slo: the objective's) instead of sweeping")
	f.Float64Var(&opts.Precision, "precision", 0.05, "--search: stop bisecting when the bracket is this narrow (hi/lo − 1)")
	f.IntVar(&opts.MaxSteps, "max-steps", 30, "--search: give up after this many steps")
	f.StringVar(&conc, "concurrency", "", "closed-loop sweep over these concurrencies (e.g. 1,2,4,8,16) and a Universal Scalability Law fit")
	opts.addFlags(f)
	return cmd
}

func doSweep(ctx context.Context, io *IOStreams, opts *SweepOptions) error {
	f, err := session.Sweep(ctx, &opts.Options, opts.SweepOptions, io.Out)
	if f == nil || len(opts.Concurrency) > 0 {
		return err
	}
	return renderSteps(io, &opts.RunOptions, f, err)
}

// renderSteps prints a sweep's or a batch grid's result and says where it
// was written; err is the session's.
func renderSteps(io *IOStreams, opts *RunOptions, f *results.File, err error) error {
	if rerr := render(io, f, opts.Format); rerr != nil {
		return withCode(ExitError, rerr)
	}
	if opts.Outputs.Out != "" && opts.Format == "table" {
		fmt.Fprintf(io.Out, "result written to %s\n", opts.Outputs.Out)
	}
	return err
}
