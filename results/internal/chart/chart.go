// Package chart draws the line charts of tailgate's HTML reports as
// inline SVG: one self-contained <svg> element per chart, no scripts, no
// fonts or styles fetched.
//
// A Chart has two Axes (linear or log10, fitted to the data with "nice"
// ticks unless fixed), line Series (optionally with point markers),
// shaded x Spans (a run's phases and fault windows) and labelled rule
// Markers (a knee, an SLO). Chart.SVG renders it; every label is escaped,
// so callers may pass text from users and targets as it is.
//
// Tick formatters for the axes of latency (nanoseconds), time (seconds)
// and rate charts, the "nines" axis of a percentile distribution and the
// colour palette are here too, so that every page looks alike.
//
// A series may carry an interval at each point (Series.Lo, Hi): drawn as
// a vertical error bar under the line, and fitted into the y axis.
package chart

import (
	"html/template"
	"strings"
)

// Series is one line on a Chart. A point with a NaN coordinate (or, on a
// log axis, one ≤ 0) breaks the line.
type Series struct {
	Name string
	X, Y []float64
	// Color is a CSS colour; "" takes the palette's colour for the
	// series' index (see Palette).
	Color  string
	Dash   bool // dashed line
	Points bool // a marker at every point
	Hollow bool // markers are rings, not dots
	NoLine bool // markers only
	// Lo and Hi, when set (parallel to Y), bound an interval at each
	// point, e.g. its confidence interval: a vertical bar with caps from
	// Lo[j] to Hi[j] at X[j], under the line. A NaN bound (or, on a log
	// axis, one ≤ 0) leaves that point's bar out.
	Lo, Hi []float64
}

// SpanKind is how a Span is shaded.
type SpanKind uint8

// Span kinds.
const (
	// SpanPhase is a phase of a run: grey, alternately lighter and
	// darker (by the span's index in Chart.Spans).
	SpanPhase SpanKind = iota
	// SpanFault is a fault window: red, with a rule at its start.
	SpanFault
)

// Span shades the x range [From, To) of a Chart, labelled at its top
// left. Row moves the label down by rows, so that the labels of
// overlapping spans stay readable.
type Span struct {
	From, To float64
	Label    string
	Kind     SpanKind
	Row      int
}

// Marker is a labelled rule across a Chart: vertical at x = At (a knee,
// a one-off action) or horizontal at y = At (an SLO). It is drawn only
// when At lies within the axis.
type Marker struct {
	At       float64
	Vertical bool
	Label    string
	Color    string // "" is dark red
}

// Chart is an SVG line chart: axes with ticks and grid, shaded spans,
// rules, and line series with a legend (of the series that have a Name)
// after the title. The axes are fitted to the series, the spans and the
// markers. SVG renders it.
type Chart struct {
	Title         string
	Width, Height int // in CSS pixels; 0 means 880 × 300
	X, Y          Axis
	Series        []Series
	Spans         []Span
	Markers       []Marker
	// Empty is shown in the middle when no series has a point; "" shows
	// "no data".
	Empty string
}

// SVG renders the chart as one <svg> element. Every label is escaped.
func (c *Chart) SVG() template.HTML {
	p := c.layout()
	var b strings.Builder
	p.header(&b, c.Title)
	p.spans(&b, c.Spans)
	p.axes(&b, c.X.Label, c.Y.Label)
	p.markers(&b, c.Markers)
	if p.series(&b, c.Series) == 0 {
		p.empty(&b, c.Empty)
	}
	p.legend(&b)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every interpolated string is escaped (see esc)
}
