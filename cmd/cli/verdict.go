package cli

import (
	"io"
	"time"

	"github.com/spf13/pflag"

	"tailgate/analysis"
	"tailgate/profiles/session"
	"tailgate/results"
)

// verdictOptions are the flags shared by run, demo and gate: objectives,
// the self-check's limits, and CI report files.
type verdictOptions struct {
	SLOs       []string
	SLOFile    string
	Uncertain  string
	JUnit      string
	Markdown   string
	MaxSendLag time.Duration

	spec analysis.SLOSpec // parsed
}

func (v *verdictOptions) addFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&v.SLOs, "slo", nil, "objective, e.g. 'p99<250ms', 'degraded:p99.9<1s', 'errors<0.1%', 'throughput>=99%' (repeatable; docs/slo.md)")
	f.StringVar(&v.SLOFile, "slo-file", "", "objectives and policy from a YAML file")
	f.StringVar(&v.Uncertain, "uncertain", "", "when a threshold lies inside a percentile's confidence interval: fail (default), pass or warn")
	f.StringVar(&v.JUnit, "junit", "", "write the verdict as JUnit XML here")
	f.StringVar(&v.Markdown, "markdown", "", "write the verdict as a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
	f.DurationVar(&v.MaxSendLag, "max-send-lag", analysis.DefaultMaxSendLagP99, "self-check: the run is INVALID if send lag p99 exceeds this in a phase")
}

// parse checks the objectives and output paths before any load is sent.
func (v *verdictOptions) parse() error {
	if v.SLOFile != "" {
		spec, err := analysis.LoadSLOFile(v.SLOFile)
		if err != nil {
			return usageErrorf("%v", err)
		}
		v.spec = spec
	}
	for _, s := range v.SLOs {
		o, err := analysis.ParseObjective(s)
		if err != nil {
			return usageErrorf("--slo: %v", err)
		}
		v.spec.Objectives = append(v.spec.Objectives, o)
	}
	if v.Uncertain != "" {
		p, err := analysis.ParseUncertainPolicy(v.Uncertain)
		if err != nil {
			return usageErrorf("--uncertain: %v", err)
		}
		v.spec.Policy.Uncertain = p
	}
	if v.MaxSendLag <= 0 {
		return usageErrorf("--max-send-lag %v: must be positive", v.MaxSendLag)
	}
	for flag, path := range map[string]string{"--junit": v.JUnit, "--markdown": v.Markdown} {
		if path != "" {
			if err := results.CheckWritable(path); err != nil {
				return usageErrorf("%s: %v", flag, err)
			}
		}
	}
	return nil
}

// checkPhases rejects objectives naming phases the run will not have.
func (v *verdictOptions) checkPhases(names []string) error {
	if err := analysis.CheckPhases(v.spec.Objectives, names); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

// selfCheck runs the generator's self-checks on a fresh summary.
func (v *verdictOptions) selfCheck(f *results.File, rate func(time.Duration) float64) []analysis.Finding {
	arr := map[string]string{}
	for _, ph := range f.Settings.Phases {
		arr[ph.Name] = ph.Arrivals
	}
	return analysis.SelfCheck(f.Summary, nil, analysis.SelfCheckConfig{
		MaxSendLagP99:  v.MaxSendLag,
		Arrivals:       arr,
		Rate:           rate,
		PhaseQuantiles: analysis.ObjectiveQuantiles(v.spec.Objectives),
		TimerSlack:     f.Settings.TimerSlack,
		MaxInFlight:    f.Settings.MaxInFlight,
		CapLimit:       f.Settings.MaxInFlightLimit,
		ClosedLoop:     f.Settings.ClosedLoop > 0,
	})
}

// judge evaluates the objectives against f with the given findings,
// stores the verdict in f and writes the CI reports.
func (v *verdictOptions) judge(f *results.File, findings []analysis.Finding) (analysis.Verdict, error) {
	verdict := analysis.Evaluate(f.Summary, v.spec.Objectives, v.spec.Policy, findings)
	f.Verdict = &verdict
	if v.JUnit != "" {
		if err := results.WriteAtomic(v.JUnit, func(w io.Writer) error { return results.WriteJUnit(w, f, verdict) }); err != nil {
			return verdict, err
		}
	}
	if v.Markdown != "" {
		if err := results.WriteAtomic(v.Markdown, func(w io.Writer) error { return results.WriteMarkdown(w, f, verdict) }); err != nil {
			return verdict, err
		}
	}
	return verdict, nil
}

// verdictCode maps a verdict to the exit-code contract, as the session
// does for the commands that load a target.
func verdictCode(v analysis.Verdict) error { return session.VerdictError(v) }
