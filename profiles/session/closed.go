package session

import (
	"context"
	"fmt"
	"io"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results"
)

// closedSweep runs closed-loop steps at each concurrency and fits the
// Universal Scalability Law to throughput against concurrency.
func closedSweep(ctx context.Context, o *Options, so SweepOptions, out io.Writer) (*results.File, error) {
	oc := *o
	oc.closedSteps = true
	plan, err := NewPlan(&oc)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	var pts []analysis.USLPoint
	var steps []*results.File
	fmt.Fprintf(out, "tailgate sweep (closed loop) → %s\n", redact.URL(o.URL))
	for i, n := range so.Concurrency {
		if ctx.Err() != nil {
			break
		}
		if o.Progress {
			fmt.Fprintf(o.log(), "step %d: %d connections, closed loop, for %v\n", i+1, n, so.StepDuration)
		}
		m, err := plan.ClosedStep(fmt.Sprintf("c=%d", n), n, so.StepDuration).Measure(ctx)
		if err != nil {
			return nil, err
		}
		f := m.File
		o.Judge(f, nil)
		steps = append(steps, f)
		tot := f.Summary.Total
		pts = append(pts, analysis.USLPoint{N: float64(n), X: tot.GoodputRate})
		fmt.Fprintf(out, "  c=%-4d %8.0f req/s  p50 %-8s p99 %s\n", n, tot.GoodputRate, results.FormatDuration(tot.Response.P50), results.FormatDuration(tot.Response.P99))
		if i < len(so.Concurrency)-1 {
			sleep(ctx, so.Cooldown)
		}
	}
	if len(steps) == 0 {
		return nil, &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted before the first step")}
	}
	f := *steps[len(steps)-1]
	f.Kind = "sweep"
	f.Steps = steps
	f.Verdict = nil
	f.Sweep = uslFit(pts, out)
	for _, sf := range steps {
		t := sf.Summary.Total
		f.Sweep.Steps = append(f.Sweep.Steps, analysis.Step{Offered: t.OfferedRate, Achieved: t.GoodputRate,
			P50: t.Response.P50, P99: t.Response.P99, Valid: true})
	}
	f.Interrupted = ctx.Err() != nil
	return &f, finishSteps(plan, &f, out)
}

// uslFit fits the Universal Scalability Law to the points and says so on
// out; the capacity it implies is shown only with its interval, and only
// when a step came within 20 % of it.
func uslFit(pts []analysis.USLPoint, out io.Writer) *results.SweepInfo {
	info := &results.SweepInfo{}
	fit, err := analysis.FitUSL(pts)
	if err != nil {
		fmt.Fprintf(out, "no USL fit: %v\n", err)
		return info
	}
	fmt.Fprintf(out, "Universal Scalability Law: %s\n", fit)
	reached := 0.0
	for _, p := range pts {
		reached = max(reached, p.X)
	}
	model := analysis.USLCapacity(pts, reached)
	if model.Shown {
		fmt.Fprintln(out, model.String())
	} else {
		fmt.Fprintf(out, "USL capacity not shown: %s\n", model.Why)
	}
	info.USL = &fit
	info.USLCapacity = &model
	return info
}
