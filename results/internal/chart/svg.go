package chart

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	fontSize  = 11
	charWidth = 6.3 // rough width of a character at fontSize, for layout
	phaseFill = "#6b7280"
)

// plot is a Chart laid out: its size, the plot area [x0, x1] × [y0, y1]
// in pixels, the axes' scales, each series' colour and the legend.
type plot struct {
	w, h           int
	x0, x1, y0, y1 float64
	sx, sy         *scale
	colors         []string
	entries        []legendEntry
}

// legendEntry is one series in the legend, at (x, y).
type legendEntry struct {
	label  string
	color  string
	dash   bool
	line   bool
	dot    bool
	hollow bool
	x, y   float64
}

// esc escapes s for HTML text and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// num prints a pixel coordinate.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// layout sizes c, places the legend (which may push the plot area down)
// and fits the axes.
func (c *Chart) layout() *plot {
	p := &plot{w: c.Width, h: c.Height}
	if p.w <= 0 {
		p.w = 880
	}
	if p.h <= 0 {
		p.h = 300
	}
	rows := p.placeLegend(c.Title, c.Series)
	left, right, top, bottom := 70.0, 20.0, float64(30+16*rows), 44.0
	if c.Y.Label != "" {
		left += 14
	}
	p.x0, p.x1, p.y0, p.y1 = left, float64(p.w)-right, top, float64(p.h)-bottom
	xs, ys := c.extent()
	p.sx = c.X.resolve(xs, p.x0, p.x1)
	p.sy = c.Y.resolve(ys, p.y1, p.y0)
	return p
}

// placeLegend picks each series' colour and flows the legend entries of
// the named ones after the title, wrapping as needed. It returns the
// number of extra rows the legend took.
func (p *plot) placeLegend(title string, series []Series) (rows int) {
	x := 8.0
	if title != "" {
		x += 7.4*float64(utf8.RuneCountInString(title)) + 24 // bold, 12px
	}
	p.colors = make([]string, len(series))
	for i, s := range series {
		p.colors[i] = s.Color
		if p.colors[i] == "" {
			p.colors[i] = Palette(i)
		}
		if s.Name == "" {
			continue
		}
		width := 30 + charWidth*float64(utf8.RuneCountInString(s.Name)) + 16
		if x+width > float64(p.w)-8 && x > 8 {
			rows++
			x = 8
		}
		p.entries = append(p.entries, legendEntry{s.Name, p.colors[i], s.Dash, !s.NoLine, s.Points || s.NoLine, s.Hollow, x, float64(16 + 16*rows)})
		x += width
	}
	return rows
}

// extent returns every value the axes must cover: the series' points,
// the spans' ends and the markers' positions.
func (c *Chart) extent() (xs, ys []float64) {
	for _, s := range c.Series {
		xs = append(xs, s.X...)
		ys = append(ys, s.Y...)
		ys = append(ys, s.Lo...)
		ys = append(ys, s.Hi...)
	}
	for _, b := range c.Spans {
		xs = append(xs, b.From, b.To)
	}
	for _, m := range c.Markers {
		if m.Vertical {
			xs = append(xs, m.At)
		} else {
			ys = append(ys, m.At)
		}
	}
	return xs, ys
}

// header opens the <svg> element: its background and title.
func (p *plot) header(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="%d">`,
		p.w, p.h, p.w, p.h, esc(title), fontSize)
	fmt.Fprintf(b, `<rect class="bg" x="0" y="0" width="%d" height="%d" fill="#fff"/>`, p.w, p.h)
	if title != "" {
		fmt.Fprintf(b, `<text class="title" x="8" y="16" font-weight="600" font-size="12">%s</text>`, esc(title))
	}
}

// spans shades the spans, under everything else. A span narrower than
// half a pixel is left out; its label is clipped to its width.
func (p *plot) spans(b *strings.Builder, spans []Span) {
	for i, sp := range spans {
		if !(sp.To > sp.From) {
			continue
		}
		bx0, ok0 := p.sx.pos(sp.From)
		bx1, ok1 := p.sx.pos(sp.To)
		if !ok0 || !ok1 || bx1-bx0 < 0.5 {
			continue
		}
		fill, op, class, color := phaseFill, 0.07, "band phase", "#374151"
		if i%2 == 1 {
			op = 0.14
		}
		if sp.Kind == SpanFault {
			fill, op, class, color = FaultColor, 0.13, "band fault", "#9b1c1c"
		}
		fmt.Fprintf(b, `<g class="%s"><rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="%.2f"><title>%s</title></rect>`,
			class, num(bx0), num(p.y0), num(bx1-bx0), num(p.y1-p.y0), fill, op, esc(sp.Label))
		if sp.Kind == SpanFault {
			fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-opacity="0.6"/>`, num(bx0), num(bx0), num(p.y0), num(p.y1), fill)
		}
		if lbl := clip(sp.Label, int((bx1-bx0-6)/charWidth)); lbl != "" {
			fmt.Fprintf(b, `<text x="%s" y="%s" fill="%s">%s</text>`, num(bx0+3), num(p.y0+12+float64(12*sp.Row)), color, esc(lbl))
		}
		b.WriteString(`</g>`)
	}
}

// axes draws the grid, the ticks, the axis labels and the frame.
func (p *plot) axes(b *strings.Builder, xLabel, yLabel string) {
	b.WriteString(`<g class="axis x">`)
	for _, t := range p.sx.ticks {
		px, _ := p.sx.pos(t.Value)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#e5e7eb"/>`, num(px), num(px), num(p.y0), num(p.y1))
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="middle" fill="#4b5563">%s</text>`, num(px), num(p.y1+15), esc(t.Label))
	}
	if xLabel != "" {
		fmt.Fprintf(b, `<text class="label" x="%s" y="%s" text-anchor="middle" fill="#111827">%s</text>`, num((p.x0+p.x1)/2), num(p.y1+34), esc(xLabel))
	}
	b.WriteString(`</g><g class="axis y">`)
	for _, t := range p.sy.ticks {
		py, _ := p.sy.pos(t.Value)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#e5e7eb"/>`, num(p.x0), num(p.x1), num(py), num(py))
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="end" fill="#4b5563">%s</text>`, num(p.x0-6), num(py+4), esc(t.Label))
	}
	if yLabel != "" {
		fmt.Fprintf(b, `<text class="label" transform="translate(14 %s) rotate(-90)" text-anchor="middle" fill="#111827">%s</text>`, num((p.y0+p.y1)/2), esc(yLabel))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#9ca3af"/>`, num(p.x0), num(p.y0), num(p.x1-p.x0), num(p.y1-p.y0))
}

// markers draws the rules that fall within their axis, each labelled on
// the inner side.
func (p *plot) markers(b *strings.Builder, markers []Marker) {
	for _, m := range markers {
		color := m.Color
		if color == "" {
			color = "#9b1c1c"
		}
		if m.Vertical {
			if !p.sx.in(m.At) {
				continue
			}
			px, _ := p.sx.pos(m.At)
			fmt.Fprintf(b, `<g class="marker"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="2 3"/>`, num(px), num(px), num(p.y0), num(p.y1), color)
			anchor, tx := "start", px+4
			if px > (p.x0+p.x1)/2 {
				anchor, tx = "end", px-4
			}
			fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="%s" fill="%s">%s</text></g>`, num(tx), num(p.y1-6), anchor, color, esc(m.Label))
			continue
		}
		if !p.sy.in(m.At) {
			continue
		}
		py, _ := p.sy.pos(m.At)
		fmt.Fprintf(b, `<g class="marker"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="6 3"/>`, num(p.x0), num(p.x1), num(py), num(py), color)
		fmt.Fprintf(b, `<text x="%s" y="%s" fill="%s">%s</text></g>`, num(p.x0+4), num(py-4), color, esc(m.Label))
	}
}

// series draws every series and returns how many points were drawn.
func (p *plot) series(b *strings.Builder, series []Series) (points int) {
	for i, s := range series {
		d, dots, n := p.path(s)
		points += n
		fmt.Fprintf(b, `<g class="series" data-series="%s">`, esc(s.Name))
		p.bars(b, s, p.colors[i])
		if !s.NoLine && d != "" {
			dash := ""
			if s.Dash {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round"%s><title>%s</title></path>`,
				d, p.colors[i], dash, esc(s.Name))
		}
		if len(dots) > 0 {
			fill := p.colors[i]
			if s.Hollow {
				fill = "#fff"
			}
			fmt.Fprintf(b, `<g fill="%s" stroke="%s" stroke-width="1.5">%s</g>`, fill, p.colors[i], strings.Join(dots, ""))
		}
		b.WriteString(`</g>`)
	}
	return points
}

// bars draws s's intervals (Series.Lo, Hi): a vertical line with caps
// at each point where both bounds can be drawn.
func (p *plot) bars(b *strings.Builder, s Series, color string) {
	var d strings.Builder
	for j := range min(len(s.X), len(s.Lo), len(s.Hi)) {
		px, okx := p.sx.pos(s.X[j])
		lo, okl := p.sy.pos(s.Lo[j])
		hi, okh := p.sy.pos(s.Hi[j])
		if !okx || !okl || !okh {
			continue
		}
		fmt.Fprintf(&d, "M%s %sV%sM%s %sH%sM%s %sH%s", num(px), num(lo), num(hi),
			num(px-3), num(lo), num(px+3), num(px-3), num(hi), num(px+3))
	}
	if d.Len() > 0 {
		fmt.Fprintf(b, `<path class="bars" d="%s" fill="none" stroke="%s" stroke-opacity="0.55" stroke-width="1.2"/>`, d.String(), color)
	}
}

// path returns s as an SVG path (a point that cannot be drawn lifts the
// pen), its point markers when it has them, and the number of points
// drawn.
func (p *plot) path(s Series) (d string, dots []string, points int) {
	var pb strings.Builder
	pen := false
	for j := range min(len(s.X), len(s.Y)) {
		px, okx := p.sx.pos(s.X[j])
		py, oky := p.sy.pos(s.Y[j])
		if !okx || !oky {
			pen = false
			continue
		}
		points++
		if pen {
			pb.WriteString("L")
		} else {
			pb.WriteString("M")
			pen = true
		}
		pb.WriteString(num(px) + " " + num(py))
		if s.Points || s.NoLine {
			dots = append(dots, fmt.Sprintf(`<circle cx="%s" cy="%s" r="3.5"/>`, num(px), num(py)))
		}
	}
	return pb.String(), dots, points
}

// empty says msg ("no data" when "") in the middle of the plot area.
func (p *plot) empty(b *strings.Builder, msg string) {
	if msg == "" {
		msg = "no data"
	}
	fmt.Fprintf(b, `<text class="empty" x="%s" y="%s" text-anchor="middle" fill="#6b7280" font-size="14">%s</text>`, num((p.x0+p.x1)/2), num((p.y0+p.y1)/2), esc(msg))
}

// legend draws the legend entries placed by placeLegend: a line sample,
// a point sample, or both, and the name.
func (p *plot) legend(b *strings.Builder) {
	for _, e := range p.entries {
		b.WriteString(`<g class="legend">`)
		if e.line {
			dash := ""
			if e.dash {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, num(e.x), num(e.x+24), num(e.y-4), num(e.y-4), e.color, dash)
		}
		if e.dot {
			fill := e.color
			if e.hollow {
				fill = "#fff"
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5" fill="%s" stroke="%s" stroke-width="1.5"/>`, num(e.x+12), num(e.y-4), fill, e.color)
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" fill="#111827">%s</text></g>`, num(e.x+30), num(e.y), esc(e.label))
	}
}
