package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

// simulate drives p through secs seconds of a run at 100 req/s with 3
// requests in flight, one second's numbers closing each second.
func simulate(p *Progress, secs int) {
	g := new(generator.Gauges)
	g.InFlight.Store(3)
	for s := 1; s <= secs; s++ {
		g.Due.Add(100)
		g.Sent.Add(100)
		g.Done.Add(97)
		last := analysis.Second{T: int64(s - 1), Completed: 97, Errors: 2, P50: 1200 * time.Microsecond, P99: 8300 * time.Microsecond}
		p.Update(time.Duration(s)*time.Second, g, last, s > 1)
	}
}

func phaseAt(el time.Duration) string {
	if el < 5*time.Second {
		return "warm"
	}
	return "steady"
}

func TestProgressTTY(t *testing.T) {
	var term bytes.Buffer
	p := NewProgress(&term, true, 20*time.Second, phaseAt)
	simulate(p, 10)
	out := term.String()
	if strings.Contains(out, "\n") {
		t.Fatalf("a terminal line ended before Done: %q", out)
	}
	if n := strings.Count(out, "\r\x1b[2K"); n != 10 {
		t.Errorf("%d rewrites, want one per Update (10)", n)
	}
	lines := strings.Split(out, "\r\x1b[2K")
	if lines[0] != "" {
		t.Errorf("output starts with %q", lines[0])
	}
	first, last := lines[1], lines[len(lines)-1]
	if !strings.Contains(first, "p50 - p99 -") || !strings.Contains(first, "warm") {
		t.Errorf("first line %q: no second closed yet", first)
	}
	for _, want := range []string{"10s/20s", "[##########..........]", "steady", "offered 100/s achieved 97.0/s", "in flight 3", "dropped 0", "errors 2", "p50 1.20ms p99 8.30ms"} {
		if !strings.Contains(last, want) {
			t.Errorf("last line %q lacks %q", last, want)
		}
	}
	p.Done()
	if !strings.HasSuffix(term.String(), "\n") || strings.Count(term.String(), "\n") != 1 {
		t.Errorf("Done did not end the line: %q", term.String()[len(out):])
	}
	// After Done nothing more is written, and Done is idempotent.
	n := term.Len()
	simulate(p, 3)
	p.Done()
	if term.Len() != n {
		t.Errorf("wrote %q after Done", term.String()[n:])
	}
}

func TestProgressTTYWidth(t *testing.T) {
	var term bytes.Buffer
	p := NewProgress(&term, true, time.Minute, nil)
	p.Width = 40
	simulate(p, 2)
	for _, l := range strings.Split(term.String(), "\r\x1b[2K")[1:] {
		if n := len([]rune(l)); n > 39 {
			t.Errorf("line of %d columns on a 40-column terminal: %q", n, l)
		}
	}
}

func TestProgressPlain(t *testing.T) {
	var log bytes.Buffer
	p := NewProgress(&log, false, 20*time.Second, phaseAt)
	simulate(p, 12)
	p.Done()
	out := log.String()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("plain output has control characters: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		"tailgate: 5s/20s (25%) phase steady: offered 100/s, achieved 97.0/s, in flight 3, dropped 0; last second: errors 2, p50 1.20ms, p99 8.30ms",
		"tailgate: 10s/20s (50%) phase steady: offered 100/s, achieved 97.0/s, in flight 3, dropped 0; last second: errors 2, p50 1.20ms, p99 8.30ms",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want one every 5 s (%d):\n%s", len(lines), len(want), out)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
}

func TestProgressPlainSkippedTicks(t *testing.T) {
	// Updates that arrive late (a slow tick) still give one line per
	// interval reached, not a burst of catch-up lines.
	var log bytes.Buffer
	p := NewProgress(&log, false, 0, nil)
	g := new(generator.Gauges)
	for _, s := range []int{1, 4, 13, 14, 15} {
		p.Update(time.Duration(s)*time.Second, g, analysis.Second{}, false)
	}
	got := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], "tailgate: 13s: ") || !strings.HasPrefix(got[1], "tailgate: 15s: ") {
		t.Errorf("lines %q, want one at 13s and one at 15s", got)
	}
}

func TestClockString(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 7 * time.Second: "7s", 65 * time.Second: "1m05s", 3723 * time.Second: "1h02m03s", 1500 * time.Millisecond: "1s"} {
		if got := clockString(d); got != want {
			t.Errorf("clockString(%v) = %q, want %q", d, got, want)
		}
	}
}
