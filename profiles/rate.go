package profiles

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"tailgate/generator"
)

// RateShape is a phase's offered rate, in requests per second. At most
// one of Ramp, Steps, Sine and Burst is set; when none is, the rate is
// Constant. In YAML it is a bare number (a constant rate) or a mapping
// with exactly one key:
//
//	rate: 500
//	rate: {constant: 500}
//	rate: {ramp: {from: 100, to: 1000, over: 10s}}
//	rate: {steps: [{rate: 100, duration: 3s}, {rate: 300, duration: 3s}]}
//	rate: {sine: {mean: 500, amplitude: 200, period: 10s}}
//	rate: {burst: {baseline: 500, peak: 2000, length: 2s, period: 5s, offset: 1s}}
type RateShape struct {
	Constant float64     `yaml:"constant,omitempty"`
	Ramp     *RampShape  `yaml:"ramp,omitempty"`
	Steps    []StepShape `yaml:"steps,omitempty"`
	Sine     *SineShape  `yaml:"sine,omitempty"`
	Burst    *BurstShape `yaml:"burst,omitempty"`
}

// RampShape goes linearly From → To req/s over Over, then stays at To
// (generator.Ramp). A zero Over means the phase's duration.
type RampShape struct {
	From float64       `yaml:"from"`
	To   float64       `yaml:"to"`
	Over time.Duration `yaml:"over,omitempty"`
}

// StepShape is one level of a steps rate: Rate req/s for Duration. After
// the last step its rate holds (generator.Steps).
type StepShape struct {
	Rate     float64       `yaml:"rate"`
	Duration time.Duration `yaml:"duration"`
}

// SineShape is Mean + Amplitude·sin(2πt/Period) req/s, Amplitude ≤ Mean
// (generator.Sine).
type SineShape struct {
	Mean      float64       `yaml:"mean"`
	Amplitude float64       `yaml:"amplitude"`
	Period    time.Duration `yaml:"period"`
}

// BurstShape is Baseline req/s with bursts of Peak req/s lasting Length,
// once every Period, the first starting at Offset (generator.Burst):
// 0 < Length < Period, 0 ≤ Offset < Period.
type BurstShape struct {
	Baseline float64       `yaml:"baseline"`
	Peak     float64       `yaml:"peak"`
	Length   time.Duration `yaml:"length"`
	Period   time.Duration `yaml:"period"`
	Offset   time.Duration `yaml:"offset,omitempty"`
}

// Rate shape names, as in YAML and Kind.
const (
	ShapeConstant = "constant"
	ShapeRamp     = "ramp"
	ShapeSteps    = "steps"
	ShapeSine     = "sine"
	ShapeBurst    = "burst"
)

var shapeNames = []string{ShapeConstant, ShapeRamp, ShapeSteps, ShapeSine, ShapeBurst}

// Kind returns the shape's name: "constant", "ramp", "steps", "sine" or
// "burst".
func (r RateShape) Kind() string {
	switch {
	case r.Ramp != nil:
		return ShapeRamp
	case r.Steps != nil:
		return ShapeSteps
	case r.Sine != nil:
		return ShapeSine
	case r.Burst != nil:
		return ShapeBurst
	}
	return ShapeConstant
}

// Curve returns the shape as a generator.Curve for a phase of length d
// (the default length of a ramp).
func (r RateShape) Curve(d time.Duration) generator.Curve {
	switch {
	case r.Ramp != nil:
		over := r.Ramp.Over
		if over <= 0 {
			over = d
		}
		return generator.Ramp{From: r.Ramp.From, To: r.Ramp.To, Over: over}
	case r.Steps != nil:
		s := make(generator.Steps, len(r.Steps))
		for i, st := range r.Steps {
			s[i] = generator.Step{Rate: st.Rate, Duration: st.Duration}
		}
		return s
	case r.Sine != nil:
		return generator.Sine{Mean: r.Sine.Mean, Amplitude: r.Sine.Amplitude, Period: r.Sine.Period}
	case r.Burst != nil:
		b := r.Burst
		return generator.Burst{Baseline: b.Baseline, Peak: b.Peak, Length: b.Length, Period: b.Period, Offset: b.Offset}
	}
	return generator.ConstantRate(r.Constant)
}

// Scale returns a copy of r with every rate multiplied by f.
func (r RateShape) Scale(f float64) RateShape {
	r = r.clone()
	r.Constant *= f
	if r.Ramp != nil {
		r.Ramp.From *= f
		r.Ramp.To *= f
	}
	for i := range r.Steps {
		r.Steps[i].Rate *= f
	}
	if r.Sine != nil {
		r.Sine.Mean *= f
		r.Sine.Amplitude *= f
	}
	if r.Burst != nil {
		r.Burst.Baseline *= f
		r.Burst.Peak *= f
	}
	return r
}

func (r RateShape) clone() RateShape {
	if r.Ramp != nil {
		x := *r.Ramp
		r.Ramp = &x
	}
	r.Steps = slices.Clone(r.Steps)
	if r.Sine != nil {
		x := *r.Sine
		r.Sine = &x
	}
	if r.Burst != nil {
		x := *r.Burst
		r.Burst = &x
	}
	return r
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// String describes the shape in one line, e.g. "ramp 100→1000 req/s".
func (r RateShape) String() string {
	switch {
	case r.Ramp != nil:
		s := fmt.Sprintf("ramp %s→%s req/s", fnum(r.Ramp.From), fnum(r.Ramp.To))
		if r.Ramp.Over > 0 {
			s += " over " + r.Ramp.Over.String()
		}
		return s
	case r.Steps != nil:
		parts := make([]string, len(r.Steps))
		for i, st := range r.Steps {
			parts[i] = fmt.Sprintf("%s×%v", fnum(st.Rate), st.Duration)
		}
		return "steps " + strings.Join(parts, ", ") + " req/s"
	case r.Sine != nil:
		return fmt.Sprintf("sine %s±%s req/s every %v", fnum(r.Sine.Mean), fnum(r.Sine.Amplitude), r.Sine.Period)
	case r.Burst != nil:
		b := r.Burst
		return fmt.Sprintf("burst %s req/s, %s for %v every %v from %v",
			fnum(b.Baseline), fnum(b.Peak), b.Length, b.Period, b.Offset)
	}
	return fnum(r.Constant) + " req/s"
}

// MarshalYAML encodes a constant rate as a bare number and any other shape
// as a mapping with one key.
func (r RateShape) MarshalYAML() (any, error) {
	switch r.Kind() {
	case ShapeRamp:
		return map[string]any{ShapeRamp: r.Ramp}, nil
	case ShapeSteps:
		return map[string]any{ShapeSteps: r.Steps}, nil
	case ShapeSine:
		return map[string]any{ShapeSine: r.Sine}, nil
	case ShapeBurst:
		return map[string]any{ShapeBurst: r.Burst}, nil
	}
	return r.Constant, nil
}

// UnmarshalYAML decodes a bare number or a single-key mapping (see
// RateShape), with the same checks as Parse except those that need the
// phase's duration. Its error is an *Error.
func (r *RateShape) UnmarshalYAML(n *yaml.Node) error {
	c := newChecker("")
	*r = c.rate(n, "rate")
	c.rateValues(*r, "rate", 0)
	return c.err()
}
