package results

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tailgate/analysis"
	"tailgate/generator"
)

// ProgressEvery is how often Progress prints a plain line when its output
// is not a terminal.
const ProgressEvery = 5 * time.Second

// Progress renders a run's live progress for people. On a terminal it
// keeps one line up to date, rewritten in place with \r and an ANSI
// clear-line; elsewhere (CI logs) it prints a plain line every
// ProgressEvery. Each line says how far the run is, the phase, the
// offered and achieved rates, requests in flight, dropped requests, and
// the errors, p50 and p99 of the last closed second.
//
// The rates are computed from the gauges over the time since the previous
// Update: call Update about once a second. Progress is safe for use from
// several goroutines, but a line is written only from Update and Done.
type Progress struct {
	// Width, when > 0, cuts terminal lines to Width−1 columns so that they
	// never wrap (a wrapped line cannot be rewritten with \r).
	Width int

	mu      sync.Mutex
	w       io.Writer
	tty     bool
	total   time.Duration
	phaseOf func(time.Duration) string

	next     time.Duration // plain mode: the next line is due at this offset
	prevEl   time.Duration
	prevDue  uint64
	prevDone uint64
	wrote    bool
	done     bool
}

// NewProgress returns a Progress writing to w, a terminal if tty is set,
// for a run planned to last total (0 if unknown: no bar). phaseOf names
// the phase at an offset; it may be nil.
func NewProgress(w io.Writer, tty bool, total time.Duration, phaseOf func(time.Duration) string) *Progress {
	return &Progress{w: w, tty: tty, total: total, phaseOf: phaseOf, next: ProgressEvery}
}

// Update reports the run at offset el: g holds the live counters, and
// last, when ok, is the last closed second (Collector.Seconds).
func (p *Progress) Update(el time.Duration, g *generator.Gauges, last analysis.Second, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || g == nil {
		return
	}
	due, done := g.Due.Load(), g.Done.Load()
	var offered, achieved float64
	if dt := (el - p.prevEl).Seconds(); dt > 0 {
		offered = float64(due-p.prevDue) / dt
		achieved = float64(done-p.prevDone) / dt
	}
	p.prevEl, p.prevDue, p.prevDone = el, due, done
	if !p.tty {
		if el < p.next {
			return
		}
		for p.next <= el {
			p.next += ProgressEvery
		}
	}
	phase := ""
	if p.phaseOf != nil {
		phase = p.phaseOf(el)
	}
	lat := "p50 - p99 -"
	errs := "-"
	if ok {
		lat = "p50 " + FormatDuration(last.P50) + " p99 " + FormatDuration(last.P99)
		errs = fmt.Sprint(last.Errors)
	}
	var b strings.Builder
	if p.tty {
		b.WriteString(clockString(el))
		if p.total > 0 {
			b.WriteString("/" + clockString(p.total) + " " + bar(el, p.total, 20))
		}
		if phase != "" {
			b.WriteString("  " + phase)
		}
		fmt.Fprintf(&b, "  offered %s/s achieved %s/s  in flight %d  dropped %d  errors %s  %s",
			formatRate(offered), formatRate(achieved), g.InFlight.Load(), g.Dropped.Load(), errs, lat)
		line := b.String()
		if p.Width > 1 && utf8.RuneCountInString(line) > p.Width-1 {
			line = string([]rune(line)[:p.Width-1])
		}
		fmt.Fprint(p.w, "\r\x1b[2K"+line)
		p.wrote = true
		return
	}
	b.WriteString("tailgate: " + clockString(el))
	if p.total > 0 {
		fmt.Fprintf(&b, "/%s (%.0f%%)", clockString(p.total), 100*min(1, el.Seconds()/p.total.Seconds()))
	}
	if phase != "" {
		b.WriteString(" phase " + phase)
	}
	fmt.Fprintf(&b, ": offered %s/s, achieved %s/s, in flight %d, dropped %d; last second: errors %s, %s\n",
		formatRate(offered), formatRate(achieved), g.InFlight.Load(), g.Dropped.Load(), errs, strings.Replace(lat, " p99", ", p99", 1))
	fmt.Fprint(p.w, b.String())
	p.wrote = true
}

// Done ends the display: on a terminal it moves past the progress line,
// which stays on screen. Later Updates print nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if p.tty && p.wrote {
		fmt.Fprint(p.w, "\n")
	}
}

// clockString prints an offset in whole seconds: 7s, 1m05s, 1h02m03s.
func clockString(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
}

// bar draws a progress bar n characters wide: [#####...............].
func bar(el, total time.Duration, n int) string {
	f := 0
	if total > 0 {
		f = int(float64(n) * min(1, max(0, el.Seconds()/total.Seconds())))
	}
	return "[" + strings.Repeat("#", f) + strings.Repeat(".", n-f) + "]"
}
