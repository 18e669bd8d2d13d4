package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"tailgate/analysis"
	"tailgate/results"
)

// Run plans, measures and judges one run, and writes its outputs (w for
// any output path "-"). It returns the judged result, also when the
// verdict is FAIL or INVALID or the run was interrupted (then with an
// Error of that Kind), so that a caller can always print it.
func Run(ctx context.Context, o *Options, w io.Writer) (*results.File, error) {
	p, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Run(ctx, w)
}

// Run measures the plan once, judges it and writes its outputs: Run
// without the planning.
func (p *Plan) Run(ctx context.Context, w io.Writer) (*results.File, error) {
	m, err := p.Measure(ctx)
	if err != nil {
		return nil, errorOf(Internal, err)
	}
	f := m.File
	v := p.opts.Judge(f, p.rate)
	if err := p.Close(); err != nil {
		return f, errorOf(Internal, err)
	}
	if err := WriteOutputs(w, p.opts.Outputs, f); err != nil {
		return f, errorOf(Internal, err)
	}
	if m.Stats.Interrupted {
		return f, &Error{Kind: Interrupted, Err: fmt.Errorf("interrupted after %v: partial results written", m.Stats.Elapsed.Round(time.Millisecond))}
	}
	return f, VerdictError(v)
}

// VerdictError is the error a verdict makes: nil for PASS, a Fail or
// Invalid Error with its first reason otherwise.
func VerdictError(v analysis.Verdict) error {
	switch v.Status {
	case analysis.StatusFail:
		return &Error{Kind: Fail, Err: fmt.Errorf("FAIL: %s", FirstReason(v))}
	case analysis.StatusInvalid:
		return &Error{Kind: Invalid, Err: fmt.Errorf("INVALID: %s", FirstReason(v))}
	}
	return nil
}

// FirstReason is a verdict's first reason, with how many more there are.
func FirstReason(v analysis.Verdict) string {
	if len(v.Reasons) > 0 {
		s := v.Reasons[0]
		if n := len(v.Reasons) - 1; n > 0 {
			s += fmt.Sprintf(" (and %d more)", n)
		}
		return s
	}
	return v.String()
}

// IsInterrupted reports whether err says the run was interrupted.
func IsInterrupted(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Interrupted
}
