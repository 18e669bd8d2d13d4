package chart

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestAxes(t *testing.T) {
	tests := []struct {
		a      Axis
		vals   []float64
		lo, hi float64
		ticks  []string
	}{
		// a latency axis from zero: nice 1-2-5 steps in ns, labelled in ms
		{Axis{FromZero: true, Format: DurationTick}, []float64{1.2e6, 8.7e6}, 0, 1e7, []string{"0", "2ms", "4ms", "6ms", "8ms", "10ms"}},
		// a log axis widened to 1-2-5 values, ticks at 1, 2, 5 per decade
		{Axis{Scale: Log10, Format: DurationTick}, []float64{1.5e6, 30e6}, math.Log10(1e6), math.Log10(50e6), []string{"1ms", "2ms", "5ms", "10ms", "20ms", "50ms"}},
		// fixed ticks on a fixed range: the nines
		{NinesAxis(), nil, Nines(0.5), 5, []string{"50", "90", "99", "99.9", "99.99", "99.999"}},
		// a single value is widened around itself
		{Axis{Format: RateTick}, []float64{500, 500}, 200, 800, []string{"200", "400", "600", "800"}},
		// no data at all
		{Axis{}, nil, 0, 1, []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		// padded from zero: the pad does not take the axis below 0
		{Axis{FromZero: true, Pad: 0.1, Format: RateTick}, []float64{1000, 9000}, 0, 10000, []string{"0", "2000", "4000", "6000", "8000", "10k"}},
	}
	for i, tt := range tests {
		s := tt.a.resolve(tt.vals, 0, 100)
		if math.Abs(s.lo-tt.lo) > 1e-9 || math.Abs(s.hi-tt.hi) > 1e-9 {
			t.Errorf("%d: range [%g, %g], want [%g, %g]", i, s.lo, s.hi, tt.lo, tt.hi)
		}
		var got []string
		for _, tk := range s.ticks {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != strings.Join(tt.ticks, " ") {
			t.Errorf("%d: ticks %q, want %q", i, got, tt.ticks)
		}
	}
}

func TestLatencyAxis(t *testing.T) {
	if s := LatencyAxis([]float64{1e6, 2e6}, []float64{math.NaN(), 0, 25e6}).Scale; s != Linear {
		t.Errorf("values within 25×: scale %d, want linear", s)
	}
	if s := LatencyAxis([]float64{1e6}, []float64{40e6}).Scale; s != Log10 {
		t.Errorf("values over 40×: scale %d, want log10", s)
	}
	if s := LatencyAxis().Scale; s != Linear {
		t.Errorf("no values: scale %d, want linear", s)
	}
}

func TestSeriesGaps(t *testing.T) {
	c := &Chart{Title: "gaps", Y: Axis{Scale: Log10},
		Series: []Series{{Name: "s", X: []float64{0, 1, 2, 3, 4}, Y: []float64{1, 2, math.NaN(), 4, 0}}}}
	svg := string(c.SVG())
	d := regexp.MustCompile(`<path d="([^"]*)"`).FindStringSubmatch(svg)
	if d == nil {
		t.Fatal("no path")
	}
	// NaN and a non-positive value on a log axis break the line: two pieces.
	if m := strings.Count(d[1], "M"); m != 2 {
		t.Errorf("path %q has %d pieces, want 2", d[1], m)
	}
}

// TestSVG draws a chart with every element and checks that it is one
// well-formed SVG element, that labels are escaped, that a marker off
// the axis is left out and that an empty chart says so.
func TestSVG(t *testing.T) {
	const evil = `<b>&"x"`
	c := &Chart{
		Title: "t " + evil,
		X:     Axis{Label: "x " + evil, Min: 0, Max: 10},
		Y:     Axis{Label: "y", FromZero: true},
		Series: []Series{
			{Name: "a " + evil, X: []float64{1, 2, 3}, Y: []float64{1, 4, 9}, Points: true},
			{Name: "b", X: []float64{1, 2}, Y: []float64{2, 3}, Dash: true, Color: "#123456"},
		},
		Spans:   []Span{{From: 0, To: 5, Label: "phase " + evil}, {From: 6, To: 8, Label: "fault", Kind: SpanFault}},
		Markers: []Marker{{At: 4, Vertical: true, Label: "knee"}, {At: 20, Vertical: true, Label: "off the axis"}, {At: 5, Label: "slo"}},
	}
	svg := string(c.SVG())
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
	}
	if strings.Contains(svg, evil) || !strings.Contains(svg, "&lt;b&gt;&amp;&#34;x&#34;") {
		t.Error("a label is not escaped")
	}
	for what, n := range map[string]int{`class="band phase"`: 1, `class="band fault"`: 1, `class="marker"`: 2, `class="series"`: 2, `class="legend"`: 2, "<circle": 4, `stroke="#123456"`: 2} {
		if got := strings.Count(svg, what); got != n {
			t.Errorf("%d × %s, want %d", got, what, n)
		}
	}
	if strings.Contains(svg, "off the axis") {
		t.Error("a marker off the axis was drawn")
	}
	if !strings.Contains(svg, Palette(0)) {
		t.Error("a series without a colour did not take the palette's first")
	}
	empty := string((&Chart{Empty: "nothing here"}).SVG())
	if !strings.Contains(empty, `class="empty"`) || !strings.Contains(empty, "nothing here") {
		t.Error("an empty chart does not say so")
	}
}

// TestErrorBars: a series' intervals are drawn as one bar per point that
// has both bounds, under its line, and the y axis covers them.
func TestErrorBars(t *testing.T) {
	c := &Chart{Y: Axis{FromZero: true},
		Series: []Series{{Name: "p99", X: []float64{1, 2, 3, 4}, Y: []float64{5, 6, 7, 8},
			Lo: []float64{4, math.NaN(), 6, 7}, Hi: []float64{6, 7, 95, 9}, Points: true}}}
	svg := string(c.SVG())
	bars := regexp.MustCompile(`<path class="bars" d="([^"]*)"`).FindStringSubmatch(svg)
	if bars == nil {
		t.Fatalf("no bars:\n%s", svg)
	}
	if n := strings.Count(bars[1], "V"); n != 3 {
		t.Errorf("%d bars, want 3 (one point has no lower bound): %q", n, bars[1])
	}
	if strings.Index(svg, `class="bars"`) > strings.Index(svg, `stroke-linejoin`) {
		t.Error("the bars are drawn over the line")
	}
	// The axis reaches the highest bound, 95, though no point does.
	p := c.layout()
	if top := p.sy.ticks[len(p.sy.ticks)-1].Value; top < 95 {
		t.Errorf("y axis tops out at %v, below the bound 95", top)
	}
	if s := string((&Chart{Series: []Series{{X: []float64{1}, Y: []float64{1}}}}).SVG()); strings.Contains(s, "bars") {
		t.Error("bars without intervals")
	}
}
