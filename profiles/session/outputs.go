package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"tailgate/analysis"
	"tailgate/internal/redact"
	"tailgate/results"
)

// hdrLog is the HDR interval log (Outputs.HdrLog) that every measurement
// of a plan streams into, created at the first: each measurement's lines
// on the first one's clock, tagged with its step or side.
type hdrLog struct {
	path string
	f    *os.File
	log  *results.IntervalLog
}

// sink is the interval sink of a measurement that started at started.
func (h *hdrLog) sink(started time.Time, phases []analysis.PhaseWindow, tags ...string) analysis.IntervalSink {
	if h.log == nil {
		f, err := os.Create(h.path)
		if err != nil {
			return func(*analysis.Interval) error { return err }
		}
		h.f = f
		h.log = results.NewIntervalLog(f, started)
		h.log.Service = true
	}
	return h.log.SinkAt(started, phases, tags...)
}

// flush writes the header if no interval came, so even an empty run
// leaves a valid log.
func (h *hdrLog) flush() error {
	if h.log == nil {
		return nil
	}
	return h.log.Close()
}

func (h *hdrLog) close() error {
	if h.f == nil {
		return nil
	}
	err := errors.Join(h.flush(), h.f.Close())
	h.f = nil
	return err
}

// SelfCheck runs the generator's self-checks on a fresh result with the
// options' limits; rate is the offered rate at an offset (nil: constant).
func (o *Options) SelfCheck(f *results.File, rate func(time.Duration) float64) []analysis.Finding {
	arr := map[string]string{}
	for _, ph := range f.Settings.Phases {
		arr[ph.Name] = ph.Arrivals
	}
	maxLag := o.MaxSendLag
	if maxLag <= 0 {
		maxLag = analysis.DefaultMaxSendLagP99
	}
	return analysis.SelfCheck(f.Summary, nil, analysis.SelfCheckConfig{
		MaxSendLagP99:  maxLag,
		Arrivals:       arr,
		Rate:           rate,
		PhaseQuantiles: analysis.ObjectiveQuantiles(o.SLO.Objectives),
		TimerSlack:     f.Settings.TimerSlack,
		MaxInFlight:    f.Settings.MaxInFlight,
		CapLimit:       f.Settings.MaxInFlightLimit,
		ClosedLoop:     f.Settings.ClosedLoop > 0,
	})
}

// Judge evaluates the options' objectives and self-checks on f and
// stores the verdict in f.
func (o *Options) Judge(f *results.File, rate func(time.Duration) float64) analysis.Verdict {
	v := analysis.Evaluate(f.Summary, o.SLO.Objectives, o.SLO.Policy, o.SelfCheck(f, rate))
	f.Verdict = &v
	return v
}

// Labelled is one of several results written to one output, with its
// label ("step-3", "A").
type Labelled struct {
	Label string
	File  *results.File
}

// WriteOutputs writes f to every output the options name but the
// interval log (streamed as it ran): the result file, HTML, CSV, JUnit
// and Markdown. A file of several measurements (a sweep's or a batch
// grid's steps in f.Steps) writes each step, labelled, where the format
// holds several; parts are extra results written beside f in the CSV,
// JUnit and Markdown (an A/B run's sides), labelled. Path "-" is w.
func WriteOutputs(w io.Writer, outs Outputs, f *results.File, parts ...Labelled) error {
	write := func(path string, fn func(io.Writer) error) error {
		switch path {
		case "":
			return nil
		case "-":
			return fn(w)
		}
		return results.WriteAtomic(path, fn)
	}
	all := labelled(f, parts)
	var errs []error
	if outs.Out != "" {
		errs = append(errs, write(outs.Out, func(w io.Writer) error { return results.Encode(w, f) }))
	}
	errs = append(errs,
		write(outs.HTML, func(w io.Writer) error { return WriteHTML(w, f) }),
		write(outs.CSV, func(w io.Writer) error { return writeCSV(w, all) }),
		write(outs.JUnit, func(w io.Writer) error { return writeJUnit(w, all) }),
		write(outs.Markdown, func(w io.Writer) error { return writeMarkdown(w, f, all) }),
	)
	return errors.Join(errs...)
}

// labelled lists the results an output of f holds: f alone, its steps,
// or the parts.
func labelled(f *results.File, parts []Labelled) []Labelled {
	if len(parts) > 0 {
		return parts
	}
	if len(f.Steps) > 0 {
		var out []Labelled
		for i, s := range f.Steps {
			label := fmt.Sprintf("step-%d", i+1)
			if len(s.Summary.Phases) == 1 {
				label = s.Summary.Phases[0].Name
			}
			out = append(out, Labelled{Label: label, File: s})
		}
		return out
	}
	return []Labelled{{File: f}}
}

// verdictOf is a result's verdict, or a judgement on the spot for a
// result without one.
func verdictOf(f *results.File) analysis.Verdict {
	if f.Verdict != nil {
		return *f.Verdict
	}
	return analysis.Evaluate(f.Summary, nil, analysis.SLOPolicy{}, nil)
}

// WriteHTML renders any result file as HTML: a sweep as its latency
// against throughput curve with the knee, a batch grid as its frontier,
// anything else as a run report.
func WriteHTML(w io.Writer, f *results.File) error {
	if f.Batch != nil {
		return results.WriteHTMLBatch(w, f)
	}
	if f.Sweep == nil {
		return results.WriteHTML(w, f)
	}
	var pts []results.SweepPoint
	for _, st := range f.Sweep.Steps {
		state := "ok"
		switch {
		case !st.Valid:
			state = "invalid"
		case st.Saturated:
			state = "saturated"
		}
		pts = append(pts, results.SweepPoint{Offered: st.Offered, Achieved: st.Achieved, P50: st.P50, P99: st.P99, Valid: st.Healthy(), State: state})
	}
	var knee *results.KneeMark
	if f.Sweep.Knee.Found {
		knee = &results.KneeMark{Rate: f.Sweep.Knee.KneeRate, Label: f.Sweep.Knee.Sentence}
	}
	var notes []string
	if c := f.Sweep.Capacity; c != nil {
		notes = append(notes, c.Sentence)
	}
	if !f.Sweep.Knee.Found && f.Sweep.Knee.Sentence != "" {
		notes = append(notes, f.Sweep.Knee.Sentence)
	}
	var slo time.Duration
	if f.Verdict != nil {
		for _, r := range f.Verdict.Results {
			if r.Objective.Metric.Latency() {
				slo = time.Duration(r.Threshold)
				break
			}
		}
	}
	return results.WriteHTMLSweep(w, pts, knee, slo, "tailgate sweep → "+redact.URL(f.Settings.Target), notes...)
}
