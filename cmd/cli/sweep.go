package cli

import (
	"context"
	"fmt"
	stdio "io"
	"math"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
)

// SweepOptions are the flags of `tailgate sweep`.
type SweepOptions struct {
	RunOptions
	From, To     float64
	Steps        int
	StepDuration time.Duration
	Cooldown     time.Duration
	Search       bool
	Precision    float64 // binary search stops when hi/lo − 1 < Precision
	MaxSteps     int
	Concurrency  []int // closed-loop sweep over these concurrencies (USL fit)
}

// NewCmdSweep builds `tailgate sweep`.
func NewCmdSweep(io *IOStreams) *cobra.Command {
	opts := &SweepOptions{}
	raw := &rawFlags{}
	var from, to, conc string
	cmd := &cobra.Command{
		Use:   "sweep URL --from R --to R [--steps N] [--step-duration D] [--slo EXPR] | sweep URL --search --slo EXPR",
		Short: "Find the utilization knee (rate sweep) or the highest rate that meets an SLO (--search)",
		Long: `A sweep runs the target at increasing constant rates, one step after another,
each step a fresh open-loop run with its own self-check. Only valid steps count:
achieved ≥ 99 % of offered, small send lag, latency stationary within the step
(an upward trend means the rate is above capacity). From the valid steps it finds
the knee (Kneedle), estimates capacity (largest stable rate, cross-checked by the
linear fit of 1/p99 against rate) and, with --slo, the highest rate the objective
holds to. See docs/knee.md.

--search finds the highest rate that meets the SLO instead: doubling from --from
until a step fails (SLO breached or step invalid), then bisecting to --precision,
then a confirming run twice as long.`,
		Example: `  tailgate sweep http://127.0.0.1:8080/ --from 500 --to 20000 --steps 12 --step-duration 20s --slo 'p99<50ms'
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
				if err := opts.finish(c, raw); err != nil {
					return err
				}
				return doClosedSweep(c.Context(), io, opts)
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
			if err := opts.finish(c, raw); err != nil {
				return err
			}
			if opts.Search && len(opts.Verdict.spec.Objectives) == 0 {
				return usageErrorf("--search needs an objective (--slo or --slo-file)")
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
	f.BoolVar(&opts.Search, "search", false, "search for the highest rate that meets the SLO instead of sweeping")
	f.Float64Var(&opts.Precision, "precision", 0.01, "--search: stop bisecting when the bracket is this narrow (relative)")
	f.IntVar(&opts.MaxSteps, "max-steps", 30, "--search: give up after this many steps")
	f.StringVar(&conc, "concurrency", "", "closed-loop sweep over these concurrencies (e.g. 1,2,4,8,16) and a Universal Scalability Law fit")
	opts.addFlags(f, raw)
	return cmd
}

// stepRun runs one constant-rate step with the sweep's target.
type stepRun struct {
	opts *SweepOptions
	job  *loadJob
	io   *IOStreams
	n    int
	all  []*results.File
}

func (s *stepRun) run(ctx context.Context, rate float64, d time.Duration) (*results.File, analysis.Step, error) {
	s.n++
	name := fmt.Sprintf("step-%d", s.n)
	j := *s.job
	j.schedule = generator.Constant{Rate: rate, Duration: d}
	if s.opts.Arrivals == "poisson" {
		j.schedule = generator.NewPoisson(rate, d, s.opts.Seed+uint64(s.n))
	}
	j.phases = []analysis.Phase{{Name: name, End: d}}
	j.total = d
	j.faults = nil
	j.settings.Rate, j.settings.Duration, j.settings.Arrivals = rate, d, s.opts.Arrivals
	j.settings.Phases = []results.PhaseSettings{{Name: name, Duration: d, Rate: fmt.Sprintf("constant %g", rate), Arrivals: s.opts.Arrivals}}
	if !s.opts.Quiet {
		fmt.Fprintf(s.io.ErrOut, "step %d: %s req/s for %v\n", s.n, formatRate(rate), d)
	}
	f, _, err := j.measure(ctx, s.io)
	if err != nil {
		return nil, analysis.Step{}, err
	}
	vo := s.opts.Verdict
	v := analysis.Evaluate(f.Summary, vo.spec.Objectives, vo.spec.Policy, vo.selfCheck(f, nil))
	f.Verdict = &v
	ph := &f.Summary.Phases[0]
	secs := stepSeconds(f, d)
	st := analysis.StepOf(ph, secs)
	if r, ok := windowRate(secs, false); ok {
		st.Achieved = min(r, st.Offered*1.05)
	}
	if ph.Target != nil {
		st.TargetCPU = ph.Target.CPUCores
	}
	analysis.CheckStep(&st, analysis.StepCheck{MaxSendLagP99: vo.MaxSendLag})
	if st.Valid && f.Summary.Generator.SlotWaits > 0 {
		st.Valid, st.Why = false, "the in-flight cap was hit: raise --max-in-flight"
	}
	s.all = append(s.all, f)
	return f, st, nil
}

// meets reports whether a step met every objective by its point
// estimate. Steps are short, so a percentile's confidence interval often
// straddles the threshold; the gate's uncertainty policy is for verdicts,
// and the sweep's sentence reports the estimate.
func (s *stepRun) meets(f *results.File) bool {
	if f.Verdict == nil || len(f.Verdict.Results) == 0 {
		return false
	}
	for _, r := range f.Verdict.Results {
		if !r.Met {
			return false
		}
	}
	return true
}

func formatRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

func doSweep(ctx context.Context, io *IOStreams, opts *SweepOptions) error {
	opts.Duration = opts.StepDuration
	job, err := planRun(&opts.RunOptions)
	if err != nil {
		return err
	}
	defer job.close()
	sr := &stepRun{opts: opts, job: job, io: io}
	info := &results.SweepInfo{}
	var sloName string
	if objs := opts.Verdict.spec.Objectives; len(objs) > 0 {
		sloName = objs[0].String()
	}
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(opts.Cooldown):
			return true
		}
	}
	if opts.Search {
		info.Search, err = search(ctx, sr, opts, info, pause)
		if err != nil {
			return err
		}
	} else {
		for i := 0; i < opts.Steps && ctx.Err() == nil; i++ {
			rate := opts.From + (opts.To-opts.From)*float64(i)/float64(opts.Steps-1)
			_, st, err := sr.run(ctx, rate, opts.StepDuration)
			if err != nil {
				return err
			}
			info.Steps = append(info.Steps, st)
			// Two invalid steps in a row: the target is past capacity;
			// higher rates only waste time.
			if n := len(info.Steps); n >= 2 && !info.Steps[n-1].Valid && !info.Steps[n-2].Valid && i < opts.Steps-1 {
				fmt.Fprintf(io.ErrOut, "two invalid steps in a row: stopping the sweep at %s req/s\n", formatRate(rate))
				break
			}
			if i < opts.Steps-1 && !pause() {
				break
			}
		}
	}
	var sloFn func(analysis.Step) (bool, string)
	if sloName != "" {
		byRate := map[float64]*results.File{}
		for _, f := range sr.all {
			byRate[f.Settings.Rate] = f
		}
		sloFn = func(st analysis.Step) (bool, string) {
			f := byRate[st.Offered]
			if f == nil {
				for r, g := range byRate { // offered is measured, rates planned
					if math.Abs(r-st.Offered)/r < 0.02 {
						f = g
					}
				}
			}
			return f != nil && sr.meets(f), sloName
		}
	}
	info.Knee = analysis.FindKnee(info.Steps, sloFn)
	if len(sr.all) == 0 {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted before the first step"))
	}
	last := sr.all[len(sr.all)-1]
	out := *last
	out.Kind = "sweep"
	out.Steps = sr.all
	out.Sweep = info
	out.Verdict = nil
	out.Settings.Rate = 0
	out.Interrupted = ctx.Err() != nil
	if err := writeSteps(io, &opts.RunOptions, &out); err != nil {
		return err
	}
	if opts.Search && (info.Search == nil || info.Search.Best == 0) {
		return withCode(ExitFail, fmt.Errorf("no rate tested met %s", sloName))
	}
	return nil
}

// search finds the highest rate meeting the SLO: ×2 from --from until a
// step fails, bisect to --precision, then confirm with a run twice as long
// (nighthawk's adaptive controller, with "the generator kept up" among
// the conditions).
func search(ctx context.Context, sr *stepRun, opts *SweepOptions, info *results.SweepInfo, pause func() bool) (*results.SearchInfo, error) {
	si := &results.SearchInfo{SLO: opts.Verdict.spec.Objectives[0].String()}
	good, bad := 0.0, 0.0
	try := func(rate float64, d time.Duration) (bool, error) {
		f, st, err := sr.run(ctx, rate, d)
		if err != nil {
			return false, err
		}
		info.Steps = append(info.Steps, st)
		si.Iterations++
		ok := st.Valid && sr.meets(f)
		if ctx.Err() == nil {
			pause()
		}
		return ok, nil
	}
	rate := opts.From
	for si.Iterations < opts.MaxSteps && ctx.Err() == nil {
		ok, err := try(rate, opts.StepDuration)
		if err != nil {
			return si, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
		rate *= 2
	}
	for bad > 0 && good > 0 && bad/good-1 > opts.Precision && si.Iterations < opts.MaxSteps && ctx.Err() == nil {
		mid := (good + bad) / 2
		ok, err := try(mid, opts.StepDuration)
		if err != nil {
			return si, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	si.Best = good
	if good > 0 && ctx.Err() == nil {
		ok, err := try(good, 2*opts.StepDuration)
		if err != nil {
			return si, err
		}
		si.Confirmed = ok
	}
	switch {
	case good == 0:
		si.Sentence = fmt.Sprintf("%s is not met even at %s req/s", si.SLO, formatRate(opts.From))
	case bad == 0:
		si.Sentence = fmt.Sprintf("%s holds up to at least %s req/s (the highest rate tried)", si.SLO, formatRate(good))
	default:
		conf := "confirmed by a run twice as long"
		if !si.Confirmed {
			conf = "NOT confirmed by the longer run: the margin is thin"
		}
		si.Sentence = fmt.Sprintf("%s holds up to %s req/s (fails at %s); %s", si.SLO, formatRate(good), formatRate(bad), conf)
	}
	return si, nil
}

// doClosedSweep runs closed-loop steps at each concurrency and fits the
// Universal Scalability Law to throughput against concurrency.
func doClosedSweep(ctx context.Context, io *IOStreams, opts *SweepOptions) error {
	opts.Duration = opts.StepDuration
	opts.Rate = 1 // placeholder: closed-loop steps have no schedule
	job, err := planRun(&opts.RunOptions)
	if err != nil {
		return err
	}
	defer job.close()
	var pts []analysis.USLPoint
	var steps []*results.File
	fmt.Fprintf(io.Out, "tailgate sweep (closed loop) → %s\n", redactURL(opts.URL))
	for i, n := range opts.Concurrency {
		if ctx.Err() != nil {
			break
		}
		j := *job
		j.closed = n
		name := fmt.Sprintf("c=%d", n)
		j.phases = []analysis.Phase{{Name: name, End: opts.StepDuration}}
		j.total = opts.StepDuration
		j.settings.ClosedLoop = n
		if !opts.Quiet {
			fmt.Fprintf(io.ErrOut, "step %d: %d connections, closed loop, for %v\n", i+1, n, opts.StepDuration)
		}
		f, _, err := j.measure(ctx, io)
		if err != nil {
			return err
		}
		steps = append(steps, f)
		tot := f.Summary.Total
		pts = append(pts, analysis.USLPoint{N: float64(n), X: tot.GoodputRate})
		fmt.Fprintf(io.Out, "  c=%-4d %8.0f req/s  p50 %-8s p99 %s\n", n, tot.GoodputRate, results.FormatDuration(tot.Response.P50), results.FormatDuration(tot.Response.P99))
		if i < len(opts.Concurrency)-1 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Cooldown):
			}
		}
	}
	if len(steps) == 0 {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted before the first step"))
	}
	fit, ferr := analysis.FitUSL(pts)
	if ferr != nil {
		fmt.Fprintf(io.Out, "no USL fit: %v\n", ferr)
	} else {
		fmt.Fprintf(io.Out, "Universal Scalability Law: %s\n", fit)
	}
	out := *steps[len(steps)-1]
	out.Kind = "sweep"
	out.Steps = steps
	out.Verdict = nil
	out.Sweep = &results.SweepInfo{}
	if ferr == nil {
		out.Sweep.USL = &fit
	}
	for _, f := range steps {
		t := f.Summary.Total
		out.Sweep.Steps = append(out.Sweep.Steps, analysis.Step{Offered: t.OfferedRate, Achieved: t.GoodputRate,
			P50: t.Response.P50, P99: t.Response.P99, Valid: true})
	}
	if opts.Out != "" {
		if err := results.Write(opts.Out, &out); err != nil {
			return withCode(ExitError, err)
		}
	}
	return nil
}

// writeSteps writes a sweep's or a batch grid's result (--out, --html),
// renders it, and says if it was cut short.
func writeSteps(io *IOStreams, opts *RunOptions, out *results.File) error {
	if opts.Out != "" {
		if err := results.Write(opts.Out, out); err != nil {
			return withCode(ExitError, err)
		}
	}
	if opts.HTML != "" {
		if err := results.WriteAtomic(opts.HTML, func(w stdio.Writer) error { return writeHTML(w, out) }); err != nil {
			return withCode(ExitError, err)
		}
	}
	if err := render(io, out, opts.Format); err != nil {
		return withCode(ExitError, err)
	}
	if opts.Out != "" && opts.Format == "table" {
		fmt.Fprintf(io.Out, "result written to %s\n", opts.Out)
	}
	if out.Interrupted {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted: partial %s written", out.Kind))
	}
	return nil
}

// windowRate is the rate of completions (or of successes, okOnly) within
// whole seconds of a step: the phase's own rate also counts the backlog
// drained after the step ends, which hides overload. secs are the rows
// inside the step, the first left out as the pipeline fills.
func windowRate(secs []analysis.Second, okOnly bool) (float64, bool) {
	if len(secs) == 0 {
		return 0, false
	}
	var done int64
	for _, r := range secs {
		done += r.Completed
		if okOnly {
			done -= r.Errors
		}
	}
	return float64(done) / float64(len(secs)), true
}

// stepSeconds are the per-second rows wholly inside a step of length d,
// the first second left out.
func stepSeconds(f *results.File, d time.Duration) []analysis.Second {
	var secs []analysis.Second
	for _, r := range f.Summary.Seconds {
		if r.T >= 1 && time.Duration(r.T+1)*time.Second <= d {
			secs = append(secs, r)
		}
	}
	return secs
}
