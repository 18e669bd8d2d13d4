package chart

import (
	"math"
	"strconv"
)

// Scale is how an Axis maps values to positions.
type Scale uint8

// Scales.
const (
	Linear Scale = iota
	Log10        // values ≤ 0 are left out
)

// Tick is a labelled position on an Axis.
type Tick struct {
	Value float64
	Label string
}

// Axis is one axis of a Chart. The zero value fits a linear axis with
// "nice" ticks (1, 2, 5 × 10ⁿ) to the data.
type Axis struct {
	Label string
	Scale Scale
	// Min and Max fix the range when Max > Min (and, on a log axis,
	// Min > 0); otherwise it is fitted to the data, widened to whole
	// ticks.
	Min, Max float64
	// FromZero makes a fitted linear axis start at 0.
	FromZero bool
	// Pad widens a fitted linear axis by this fraction of the data's span
	// on each side (not below 0 with FromZero), so that markers at the
	// ends stay clear of the frame.
	Pad float64
	// Ticks, when set, are the only ticks drawn (e.g. the "nines" of a
	// percentile axis); otherwise they are chosen from the range.
	Ticks []Tick
	// Format labels chosen ticks; nil prints the value with 4
	// significant digits.
	Format func(float64) string
}

// scale maps the data values of an axis to pixels.
type scale struct {
	lo, hi float64 // data range (log10 of it on a log axis)
	p0, p1 float64 // pixel range
	log    bool
	ticks  []Tick
}

// tr is v in the axis' own coordinate: log10 v on a log axis.
func (s *scale) tr(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	return v
}

// pos returns the pixel for v, clamped to the axis, and whether v can be
// drawn at all.
func (s *scale) pos(v float64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (s.log && v <= 0) {
		return 0, false
	}
	t := (s.tr(v) - s.lo) / (s.hi - s.lo)
	t = math.Max(0, math.Min(1, t))
	return s.p0 + t*(s.p1-s.p0), true
}

// in reports whether v lies within the axis' range.
func (s *scale) in(v float64) bool {
	if math.IsNaN(v) || (s.log && v <= 0) {
		return false
	}
	t := s.tr(v)
	return t >= s.lo-1e-9 && t <= s.hi+1e-9
}

// resolve fits a to the values vals and returns its scale onto [p0, p1].
func (a *Axis) resolve(vals []float64, p0, p1 float64) *scale {
	s := &scale{p0: p0, p1: p1, log: a.Scale == Log10}
	lo, hi := a.Min, a.Max
	if !(a.Max > a.Min && (!s.log || a.Min > 0)) {
		lo, hi = a.fit(vals)
	}
	s.lo, s.hi = s.tr(lo), s.tr(hi)
	if s.hi <= s.lo {
		s.hi = s.lo + 1
	}
	s.ticks = a.ticks(s, lo, hi)
	return s
}

// fit returns the range of a fitted axis over vals: padded, from zero
// when asked, widened around a single value, and rounded out to nice
// values. With no data it is [0, 1] ([1, 10] on a log axis).
func (a *Axis) fit(vals []float64) (lo, hi float64) {
	log := a.Scale == Log10
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if a.Pad > 0 && !log && hi > lo {
		pad := a.Pad * (hi - lo)
		lo, hi = lo-pad, hi+pad
		if a.FromZero && lo+pad >= 0 {
			lo = math.Max(lo, 0)
		}
	}
	if a.FromZero && !log {
		lo = math.Min(lo, 0)
	}
	if lo > hi { // no data
		lo, hi = 0, 1
		if log {
			lo, hi = 1, 10
		}
	}
	if lo == hi {
		switch {
		case log:
			lo, hi = lo/2, hi*2
		case lo == 0:
			hi = 1
		default:
			lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
			if a.FromZero && lo < 0 {
				lo = 0
			}
		}
	}
	if log {
		return nice125Below(lo), nice125Above(hi)
	}
	step := niceStep(hi-lo, 5)
	return math.Floor(lo/step+1e-9) * step, math.Ceil(hi/step-1e-9) * step
}

// ticks returns the ticks of a over the range [lo, hi] of s: the fixed
// ones that fall inside it, or 1, 2, 5 per decade on a log axis, or
// about five nice steps.
func (a *Axis) ticks(s *scale, lo, hi float64) []Tick {
	format := a.Format
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	var ticks []Tick
	switch {
	case a.Ticks != nil:
		for _, t := range a.Ticks {
			if s.in(t.Value) {
				ticks = append(ticks, t)
			}
		}
	case s.log:
		for _, v := range logTicks(lo, hi) {
			ticks = append(ticks, Tick{v, format(v)})
		}
	default:
		step := niceStep(hi-lo, 5)
		for i := 0; i <= 100; i++ {
			v := lo + float64(i)*step
			if v > hi+step*1e-6 {
				break
			}
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			ticks = append(ticks, Tick{v, format(v)})
		}
	}
	return ticks
}

// niceStep returns a step of 1, 2, 2.5 or 5 × 10ⁿ that cuts span into
// about n parts.
func niceStep(span float64, n int) float64 {
	if !(span > 0) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 2.5:
		return 2.5 * mag
	case f <= 5:
		return 5 * mag
	}
	return 10 * mag
}

// nice125Below returns the largest 1, 2 or 5 × 10ⁿ ≤ v (v > 0).
func nice125Below(v float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{5, 2, 1} {
		if f*mag <= v*(1+1e-9) {
			return f * mag
		}
	}
	return mag
}

// nice125Above returns the smallest 1, 2 or 5 × 10ⁿ ≥ v (v > 0).
func nice125Above(v float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*mag >= v*(1-1e-9) {
			return f * mag
		}
	}
	return 10 * mag
}

// logTicks returns ticks for a log axis over [lo, hi]: 1, 2, 5 × 10ⁿ
// over up to three decades, powers of ten beyond.
func logTicks(lo, hi float64) []float64 {
	decades := math.Log10(hi / lo)
	mults := []float64{1, 2, 5}
	if decades > 3 {
		mults = []float64{1}
	}
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}
