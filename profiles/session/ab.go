package session

import (
	"context"
	"fmt"
	"io"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results"
	"tailgate/targets"
)

// ABOptions are an A/B run's: side B's URL and where each side's result
// goes (the options' Outputs hold both sides, labelled A and B).
type ABOptions struct {
	URLB       string
	OutA, OutB string
}

// AB runs one schedule at two targets, each request sent to side A (the
// options' URL) or side B by a seeded coin, and returns both sides'
// judged results. The options' outputs hold both sides: the CSV and JUnit
// one part per side, the interval log tagged side=A|B; OutA and OutB get
// each side's result file.
func AB(ctx context.Context, o *Options, ab ABOptions, out io.Writer) (a, b *results.File, st bool, err error) {
	plan, err := NewPlan(o)
	if err != nil {
		return nil, nil, false, err
	}
	defer plan.Close()
	ob := *o
	ob.URL = ab.URLB
	ob.SLO = analysis.SLOSpec{}
	ob.Outputs = Outputs{}
	ob.MetricsAddr, ob.TargetMetrics = "", ""
	planB, err := NewPlan(&ob)
	if err != nil {
		return nil, nil, false, err
	}
	defer planB.Close()
	split := &targets.AB{A: plan.target, B: planB.target, Seed: plan.opts.Seed ^ 0xab}
	plan.target = split
	plan.split = split.Side
	plan.settings.Target = redact.URL(o.URL) + " | " + redact.URL(ab.URLB)
	m, err := plan.Measure(ctx)
	if err != nil {
		return nil, nil, false, errorOf(Internal, err)
	}
	a, b = m.File, m.SideB
	a.Settings.Target, b.Settings.Target = redact.URL(o.URL), redact.URL(ab.URLB)
	a.Kind, b.Kind = "ab-a", "ab-b"
	for _, side := range []struct {
		f    *results.File
		path string
	}{{a, ab.OutA}, {b, ab.OutB}} {
		o.Judge(side.f, plan.rate)
		if side.path != "" {
			if err := results.Write(side.path, side.f); err != nil {
				return a, b, m.Stats.Interrupted, errorOf(Internal, err)
			}
		}
	}
	if err := plan.Close(); err != nil {
		return a, b, m.Stats.Interrupted, errorOf(Internal, err)
	}
	outs := o.Outputs
	outs.Out, outs.HTML, outs.Markdown = "", "", "" // the comparison's (cmd), not a side's
	err = WriteOutputs(out, outs, a, Labelled{"A", a}, Labelled{"B", b})
	return a, b, m.Stats.Interrupted, errorOf(Internal, err)
}

// InvalidSide is the Invalid error for the first INVALID side of an A/B
// run, nil if neither is.
func InvalidSide(a, b *results.File) error {
	for _, s := range []struct {
		name string
		f    *results.File
	}{{"A", a}, {"B", b}} {
		if s.f.Verdict != nil && s.f.Verdict.Status == analysis.StatusInvalid {
			return &Error{Kind: Invalid, Err: fmt.Errorf("side %s is INVALID: %s", s.name, FirstReason(*s.f.Verdict))}
		}
	}
	return nil
}
