package cli

import (
	"context"
	"fmt"
	stdio "io"
	"math"
	"sort"
	"strconv"
	"strings"
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
	Precision    float64 // binary search stops when hi/lo − 1 ≤ Precision
	MaxSteps     int
	Concurrency  []int // closed-loop sweep over these concurrencies (USL fit)
}

// NewCmdSweep builds `tailgate sweep`.
func NewCmdSweep(io *IOStreams) *cobra.Command {
	opts := &SweepOptions{}
	raw := &rawFlags{}
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
	met  map[stepKey]bool // whether each step met every objective
}

// stepKey tells steps apart for the objective's answer: the analysis
// passes steps by value.
type stepKey struct {
	offered float64
	p99     time.Duration
}

func (s *stepRun) run(ctx context.Context, rate float64, d time.Duration) (*results.File, analysis.Step, error) {
	s.n++
	name := fmt.Sprintf("step-%d", s.n)
	j := *s.job
	j.schedule = generator.Constant{Rate: rate, Duration: d}
	if s.opts.Arrivals == "poisson" {
		j.schedule = generator.NewPoisson(rate, d, s.opts.Seed+uint64(s.n))
	}
	j.phases = []analysis.PhaseWindow{{Name: name, End: d}}
	j.total = d
	j.faults = nil
	j.settings.Rate, j.settings.Duration, j.settings.Arrivals = rate, d, s.opts.Arrivals
	j.settings.Phases = []results.PhasePlan{{Name: name, Duration: d, Rate: fmt.Sprintf("constant %g", rate), Arrivals: s.opts.Arrivals}}
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
	st := judgeStep(f, d)
	if s.met == nil {
		s.met = map[stepKey]bool{}
	}
	s.met[stepKey{st.Offered, st.P99}] = s.meets(f)
	s.all = append(s.all, f)
	if !s.opts.Quiet {
		fmt.Fprintf(s.io.ErrOut, "  %s\n", stepState(st))
	}
	return f, st, nil
}

// judgeStep reduces a step's judged result (f.Verdict set) of length d to
// an analysis.Step: invalid when the generator's own checks failed,
// saturated when the target held the load back (analysis.Saturated).
func judgeStep(f *results.File, d time.Duration) analysis.Step {
	ph := &f.Summary.Phases[0]
	st := analysis.StepOf(ph, stepSeconds(f, d))
	st.Duration = d
	if ph.Target != nil {
		st.TargetCPU = ph.Target.CPUCores
	}
	sat, done, evidence := analysis.Saturated(f.Summary)
	if done > 0 {
		st.Achieved = min(done, st.Offered*1.05)
	}
	var why []string
	if f.Verdict != nil {
		why = generatorFaults(f.Verdict)
	}
	if st.P99 <= 0 {
		why = append(why, "no response measured")
	}
	st.Valid = len(why) == 0
	st.Why = strings.Join(why, "; ")
	st.Saturated = st.Valid && sat
	if st.Saturated {
		st.Evidence = evidence
	}
	return st
}

// generatorFaults lists a verdict's failing findings blamed on the
// generator (analysis.Finding.Blame): only these make a step invalid.
// The target's backpressure (slot waits, drops, censored requests with a
// cap large enough for the load) is evidence of saturation instead. Too
// few samples for a percentile's interval is no one's fault in a sweep:
// the step's p99 interval is then wide, and the knee test allows for it.
func generatorFaults(v *analysis.Verdict) []string {
	var out []string
	for _, f := range v.Findings {
		if f.OK || f.Blame != analysis.BlameGenerator || f.Check == analysis.CheckSamples {
			continue
		}
		out = append(out, f.String())
	}
	return out
}

// stepState is a step's state for the progress lines and the table.
func stepState(st analysis.Step) string {
	switch {
	case !st.Valid:
		return "INVALID: " + st.Why
	case st.Saturated:
		return "saturated: " + st.Evidence
	}
	return "ok"
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

// slo is the objective's answer for a step of this sweep, for the
// analysis; nil without an objective.
func (s *stepRun) slo() func(analysis.Step) (bool, string) {
	objs := s.opts.Verdict.spec.Objectives
	if len(objs) == 0 {
		return nil
	}
	name := objs[0].String()
	if len(objs) > 1 {
		name += fmt.Sprintf(" (and %d more)", len(objs)-1)
	}
	return func(st analysis.Step) (bool, string) {
		return s.met[stepKey{st.Offered, st.P99}], name
	}
}

func formatRate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(math.Round(r), 'f', 0, 64)
	}
	return fmt.Sprintf("%.1f", r)
}

func doSweep(ctx context.Context, io *IOStreams, opts *SweepOptions) error {
	opts.Duration = opts.StepDuration
	// The plan's rate sizes the default in-flight cap (2 s of the peak):
	// the highest step's rate, or at least --from for a search.
	opts.Rate = max(opts.To, opts.From)
	job, err := planRun(&opts.RunOptions)
	if err != nil {
		return err
	}
	defer job.close()
	sr := &stepRun{opts: opts, job: job, io: io}
	info := &results.SweepInfo{}
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
		retried := false
		for i := 0; i < opts.Steps && ctx.Err() == nil; i++ {
			rate := opts.From + (opts.To-opts.From)*float64(i)/float64(opts.Steps-1)
			_, st, err := sr.run(ctx, rate, opts.StepDuration)
			if err != nil {
				return err
			}
			info.Steps = append(info.Steps, st)
			// An invalid step is run once more: the generator's host may
			// have been disturbed in passing.
			if !st.Valid && !retried && pause() {
				retried = true
				i--
				continue
			}
			retried = false
			// Two saturated steps in a row: the target is past capacity,
			// and higher rates only pile up its queue. Two invalid ones:
			// the generator cannot offer more.
			if n := len(info.Steps); n >= 2 && i < opts.Steps-1 {
				a, b := info.Steps[n-2], info.Steps[n-1]
				stop := ""
				switch {
				case a.Saturated && b.Saturated:
					stop = "two saturated steps in a row"
				case !a.Valid && !b.Valid:
					stop = "two invalid steps in a row"
				}
				if stop != "" {
					fmt.Fprintf(io.ErrOut, "%s: stopping the sweep at %s req/s\n", stop, formatRate(rate))
					break
				}
			}
			if i < opts.Steps-1 && !pause() {
				break
			}
		}
	}
	if len(sr.all) == 0 {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted before the first step"))
	}
	sortSteps(info, sr.all)
	info.Knee = analysis.FindKnee(info.Steps, sr.slo())
	info.Capacity = &info.Knee.Bracket
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
		if objs := opts.Verdict.spec.Objectives; len(objs) > 0 {
			return withCode(ExitFail, fmt.Errorf("no rate tested met %s", objs[0]))
		}
		return withCode(ExitFail, fmt.Errorf("no rate tested ran without saturating the target"))
	}
	return nil
}

// sortSteps orders a sweep's steps, and their results with them, by
// offered rate (a search runs them out of order).
func sortSteps(info *results.SweepInfo, files []*results.File) {
	idx := make([]int, len(info.Steps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return info.Steps[idx[a]].Offered < info.Steps[idx[b]].Offered })
	steps := make([]analysis.Step, len(idx))
	fs := make([]*results.File, len(idx))
	for i, j := range idx {
		steps[i], fs[i] = info.Steps[j], files[j]
	}
	copy(info.Steps, steps)
	copy(files, fs)
}

// search narrows the capacity bracket (with an objective, the
// objective's: the failing end is also a step that missed it): ×2 from
// --from until a step fails, then bisecting until the bracket is no wider
// than --precision (analysis.CapacityBracket.Next), then a confirming
// run twice as long at its lower end (nighthawk's adaptive controller).
// A confirming run that saturates overrules the short step at its rate
// (analysis.BracketCapacity) and the search goes on below it. An invalid
// step is run again once; twice, and the search ends there: "the
// generator kept up" is among the conditions.
func search(ctx context.Context, sr *stepRun, opts *SweepOptions, info *results.SweepInfo, pause func() bool) (*results.SearchInfo, error) {
	slo := sr.slo()
	si := &results.SearchInfo{}
	var b analysis.CapacityBracket
	var stopped string
	rate, confirming, retried := opts.From, false, false
	confirmed := map[float64]bool{} // rates a confirming run was tried at
steps:
	for si.Iterations < opts.MaxSteps && ctx.Err() == nil {
		d := opts.StepDuration
		if confirming {
			d *= 2
		}
		_, st, err := sr.run(ctx, rate, d)
		if err != nil {
			return si, err
		}
		info.Steps = append(info.Steps, st)
		si.Iterations++
		if ctx.Err() == nil {
			pause()
		}
		if !st.Valid {
			// Once may be a passing disturbance on the generator's host;
			// twice in a row, the generator cannot offer this rate.
			if !retried {
				retried = true
				continue
			}
			stopped = fmt.Sprintf("; stopped at %s req/s, where the generator could not keep up (%s)", formatRate(rate), st.Why)
			break steps
		}
		retried = false
		b = analysis.BracketCapacity(info.Steps, slo)
		if confirming {
			si.Confirmed = st.Healthy() && (slo == nil || sr.met[stepKey{st.Offered, st.P99}])
			if si.Confirmed {
				break steps
			}
		}
		next, ok := b.Next(opts.Precision)
		switch {
		case ok:
			rate, confirming = next, false
		case b.Lo > 0 && !confirmed[b.Lo]:
			// Narrow enough: confirm the lower end.
			rate, confirming = b.Lo, true
			confirmed[b.Lo] = true
		default:
			break steps // nothing left to try
		}
	}
	si.SLO = b.SLO
	si.Best = b.Lo
	conf := "no confirming run"
	switch {
	case si.Confirmed:
		conf = fmt.Sprintf("confirmed by a run twice as long at %s req/s", formatRate(b.Lo))
	case len(confirmed) > 0:
		conf = "NOT confirmed by the longer run: the margin is thin"
	}
	up := b.Upper()
	switch {
	case si.SLO != "" && b.Lo == 0:
		si.Sentence = fmt.Sprintf("%s is not met even at %s req/s", si.SLO, formatRate(opts.From))
	case si.SLO != "" && up == 0:
		si.Sentence = fmt.Sprintf("%s holds up to at least %s req/s (the highest rate tried)", si.SLO, formatRate(b.Lo))
	case si.SLO != "":
		si.Sentence = fmt.Sprintf("%s holds up to %s req/s (fails at %s); %s", si.SLO, formatRate(b.Lo), formatRate(up), conf)
	case b.Lo == 0 && b.Hi == 0:
		si.Sentence = "no step could be judged"
	case b.Lo == 0:
		si.Sentence = fmt.Sprintf("the target saturated even at %s req/s", formatRate(b.Hi))
	case up == 0:
		si.Sentence = fmt.Sprintf("capacity above %s req/s (the highest rate tried)", formatRate(b.Lo))
	default:
		si.Sentence = fmt.Sprintf("capacity between %s and %s req/s (%.1f%% wide); %s",
			formatRate(b.Lo), formatRate(up), 100*(up/b.Lo-1), conf)
	}
	si.Sentence += stopped
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
		j.phases = []analysis.PhaseWindow{{Name: name, End: opts.StepDuration}}
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
	var model analysis.ModelCapacity
	if ferr != nil {
		fmt.Fprintf(io.Out, "no USL fit: %v\n", ferr)
	} else {
		fmt.Fprintf(io.Out, "Universal Scalability Law: %s\n", fit)
		reached := 0.0
		for _, p := range pts {
			reached = max(reached, p.X)
		}
		// The peak is a capacity only with its interval, and only when a
		// step came within 20 % of it.
		model = analysis.USLCapacity(pts, reached)
		if model.Shown {
			fmt.Fprintln(io.Out, model.String())
		} else {
			fmt.Fprintf(io.Out, "USL capacity not shown: %s\n", model.Why)
		}
	}
	out := *steps[len(steps)-1]
	out.Kind = "sweep"
	out.Steps = steps
	out.Verdict = nil
	out.Sweep = &results.SweepInfo{}
	if ferr == nil {
		out.Sweep.USL = &fit
		out.Sweep.USLCapacity = &model
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
