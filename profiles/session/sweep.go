package session

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/results"
)

// SweepOptions are a sweep's: the rates (or, closed loop, the
// concurrencies) to step through, or the bracket to narrow (Search).
type SweepOptions struct {
	From, To     float64 // lowest and highest rate
	Steps        int     // steps from From to To, evenly spaced
	StepDuration time.Duration
	Cooldown     time.Duration // pause between steps
	Search       bool          // narrow the capacity bracket instead of sweeping
	Precision    float64       // Search stops when hi/lo − 1 ≤ Precision
	MaxSteps     int           // Search gives up after this many steps
	Concurrency  []int         // closed-loop sweep over these concurrencies (USL fit)
}

// stepper runs one constant-rate step after another with one plan.
type stepper struct {
	plan *Plan
	o    *Options
	n    int
	all  []*results.File
	met  map[stepKey]bool // whether each step met every objective
	// unit names the rates ("req/s"; a batch grid's "items/s"); name
	// names step n at rate ("step-3"), prefix starts its progress lines.
	unit   string
	name   func(n int, rate float64) string
	prefix string
	// nominal makes each step's Offered the rate asked for, not the rate
	// the schedule offered (Poisson arrivals scatter it): a batch grid's
	// settings are compared at the same rates.
	nominal bool
}

// stepKey tells steps apart for the objective's answer: the analysis
// passes steps by value.
type stepKey struct {
	offered float64
	p99     time.Duration
}

// units is the unit of the stepper's rates.
func (s *stepper) units() string {
	if s.unit == "" {
		return "req/s"
	}
	return s.unit
}

func (s *stepper) logf(format string, a ...any) {
	if s.o.Progress {
		fmt.Fprintf(s.o.log(), format, a...)
	}
}

// run measures one step at rate for d and judges it.
func (s *stepper) run(ctx context.Context, rate float64, d time.Duration) (*results.File, analysis.Step, error) {
	s.n++
	name := fmt.Sprintf("step-%d", s.n)
	if s.name != nil {
		name = s.name(s.n, rate)
	}
	s.logf("%sstep %d: %s %s for %v\n", s.prefix, s.n, formatRate(rate), s.units(), d)
	m, err := s.plan.Step(name, s.n, rate, d).Measure(ctx)
	if err != nil {
		return nil, analysis.Step{}, err
	}
	f := m.File
	s.o.Judge(f, nil)
	st := judgeStep(f, d)
	if s.nominal {
		st.Offered = rate
	}
	if s.met == nil {
		s.met = map[stepKey]bool{}
	}
	s.met[stepKey{st.Offered, st.P99}] = meets(f)
	s.all = append(s.all, f)
	s.logf("  %s\n", stepState(st))
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
func meets(f *results.File) bool {
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
func (s *stepper) slo() func(analysis.Step) (bool, string) {
	name := objectivesName(s.o)
	if name == "" {
		return nil
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

// Sweep runs a sweep (or its search, or a closed-loop sweep over
// concurrencies) with the options' target and request, and returns the
// sweep's result: every step's result in Steps, the bracket, knee and
// search in Sweep. It writes the options' outputs, each step labelled.
// Lines for the user (a closed-loop sweep's rows) go to out.
func Sweep(ctx context.Context, o *Options, so SweepOptions, out io.Writer) (*results.File, error) {
	o.Duration = so.StepDuration
	if len(so.Concurrency) > 0 {
		o.Rate = 1 // placeholder: closed-loop steps have no schedule
		return closedSweep(ctx, o, so, out)
	}
	// The plan's rate sizes the default in-flight cap (2 s of the peak):
	// the highest step's rate, or at least From for a search.
	o.Rate = max(so.To, so.From)
	plan, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	s := &stepper{plan: plan, o: o}
	info := &results.SweepInfo{}
	pause := func() bool { return sleep(ctx, so.Cooldown) }
	if so.Search {
		info.Search, err = search(ctx, s, so, info, pause)
	} else {
		err = sweepSteps(ctx, s, so, info, pause)
	}
	if err != nil {
		return nil, err
	}
	if len(s.all) == 0 {
		return nil, &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted before the first step")}
	}
	sortSteps(info, s.all)
	info.Knee = analysis.FindKnee(info.Steps, s.slo())
	info.Capacity = &info.Knee.Bracket
	f := *s.all[len(s.all)-1]
	f.Kind = "sweep"
	f.Steps = s.all
	f.Sweep = info
	f.Verdict = nil
	f.Settings.Rate = 0
	f.Interrupted = ctx.Err() != nil
	if err := finishSteps(plan, &f, out); err != nil {
		return &f, err
	}
	if so.Search && (info.Search == nil || info.Search.Best == 0) {
		if objs := o.SLO.Objectives; len(objs) > 0 {
			return &f, &Error{Kind: Fail, Err: fmt.Errorf("no rate tested met %s", objs[0])}
		}
		return &f, &Error{Kind: Fail, Err: fmt.Errorf("no rate tested ran without saturating the target")}
	}
	return &f, nil
}

// finishSteps closes the plan's interval log and writes a sweep's or a
// batch grid's outputs; an interrupted one is an Interrupted error.
func finishSteps(plan *Plan, f *results.File, out io.Writer) error {
	if err := plan.Close(); err != nil {
		return errorOf(Internal, err)
	}
	if err := WriteOutputs(out, plan.opts.Outputs, f); err != nil {
		return errorOf(Internal, err)
	}
	if f.Interrupted {
		return &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted: partial %s written", f.Kind)}
	}
	return nil
}

// sleep waits d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sweepSteps runs the sweep's evenly spaced steps, each invalid one
// once more, and stops after two saturated (or two invalid) steps in a
// row.
func sweepSteps(ctx context.Context, s *stepper, so SweepOptions, info *results.SweepInfo, pause func() bool) error {
	retried := false
	for i := 0; i < so.Steps && ctx.Err() == nil; i++ {
		rate := so.From + (so.To-so.From)*float64(i)/float64(so.Steps-1)
		_, st, err := s.run(ctx, rate, so.StepDuration)
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
		if i < so.Steps-1 {
			if stop := stopReason(info.Steps); stop != "" {
				fmt.Fprintf(s.o.log(), "%s: stopping the sweep at %s req/s\n", stop, formatRate(rate))
				break
			}
			if !pause() {
				break
			}
		}
	}
	return nil
}

// stopReason says why a sweep should stop after its last steps: two
// saturated steps in a row (the target is past capacity, and higher rates
// only pile up its queue) or two invalid ones (the generator cannot offer
// more); "" to go on.
func stopReason(steps []analysis.Step) string {
	n := len(steps)
	if n < 2 {
		return ""
	}
	a, b := steps[n-2], steps[n-1]
	switch {
	case a.Saturated && b.Saturated:
		return "two saturated steps in a row"
	case !a.Valid && !b.Valid:
		return "two invalid steps in a row"
	}
	return ""
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
func search(ctx context.Context, sr *stepper, opts SweepOptions, info *results.SweepInfo, pause func() bool) (*results.SearchInfo, error) {
	slo := sr.slo()
	u := sr.units()
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
			stopped = fmt.Sprintf("; stopped at %s %s, where the generator could not keep up (%s)", formatRate(rate), u, st.Why)
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
		conf = fmt.Sprintf("confirmed by a run twice as long at %s %s", formatRate(b.Lo), u)
	case len(confirmed) > 0:
		conf = "NOT confirmed by the longer run: the margin is thin"
	}
	up := b.Upper()
	switch {
	case si.SLO != "" && b.Lo == 0:
		si.Sentence = fmt.Sprintf("%s is not met even at %s %s", si.SLO, formatRate(opts.From), u)
	case si.SLO != "" && up == 0:
		si.Sentence = fmt.Sprintf("%s holds up to at least %s %s (the highest rate tried)", si.SLO, formatRate(b.Lo), u)
	case si.SLO != "":
		si.Sentence = fmt.Sprintf("%s holds up to %s %s (fails at %s); %s", si.SLO, formatRate(b.Lo), u, formatRate(up), conf)
	case b.Lo == 0 && b.Hi == 0:
		si.Sentence = "no step could be judged"
	case b.Lo == 0:
		si.Sentence = fmt.Sprintf("the target saturated even at %s %s", formatRate(b.Hi), u)
	case up == 0:
		si.Sentence = fmt.Sprintf("capacity above %s %s (the highest rate tried)", formatRate(b.Lo), u)
	default:
		si.Sentence = fmt.Sprintf("capacity between %s and %s %s (%.1f%% wide); %s",
			formatRate(b.Lo), formatRate(up), u, 100*(up/b.Lo-1), conf)
	}
	si.Sentence += stopped
	return si, nil
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
