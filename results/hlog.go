package results

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
)

// IntervalLog writes an HdrHistogram interval log (log format 1.3, as
// HdrHistogram's Java HistogramLogProcessor, HdrHistogram_c and
// hdrhistogram-go read it) from a run's closed intervals: one line per
// second per phase with the response-time histogram, tagged
//
//	phase=<phase>;metric=response[;key=value…]
//
// and, when Service is set, a second line tagged metric=service. Values
// are nanoseconds, so the Interval_Max column (max ÷ 10⁶) reads as
// milliseconds. Timestamps are seconds since the run's start, which the
// log's BaseTime and StartTime headers give.
//
// The log format ends a tag at the first comma and forbids spaces, so
// keys and values in tags are escaped: ',', ';', '=', '%', spaces and
// control characters become %XX (see IntervalTag).
//
// Use it as the collector's sink:
//
//	il := results.NewIntervalLog(w, started, "worker=2")
//	il.Phases = col.Phases()
//	col.SetIntervalSink(il.Sink())
//	… run …
//	err := il.Close() // writes the header if no interval came
type IntervalLog struct {
	// Phases names the collector's phases by index (Collector.Phases);
	// a phase beyond it is written as its index.
	Phases []analysis.PhaseWindow
	// Service also logs service time (metric=service).
	Service bool

	mu      sync.Mutex
	lw      *hdr.HistogramLogWriter
	start   time.Time
	extra   string
	header  bool
	scratch *hdr.Histogram
	err     error
}

// NewIntervalLog returns an interval log writing to w for a run that
// started at start. tags are "key=value" pairs added to every line's tag
// (e.g. "worker=2", "run=nightly"); a tag without '=' is kept as a bare
// word.
func NewIntervalLog(w io.Writer, start time.Time, tags ...string) *IntervalLog {
	lw := hdr.NewHistogramLogWriter(w)
	lw.SetBaseTime(start.UnixMilli())
	return &IntervalLog{lw: lw, start: start, extra: extraTags(tags), scratch: analysis.NewHistogram()}
}

// extraTags are "key=value" tags (or bare words), escaped, each after a
// ';'.
func extraTags(tags []string) string {
	var b strings.Builder
	for _, t := range tags {
		b.WriteByte(';')
		if k, v, ok := strings.Cut(t, "="); ok {
			b.WriteString(tagEscape(k) + "=" + tagEscape(v))
		} else {
			b.WriteString(tagEscape(t))
		}
	}
	return b.String()
}

// IntervalTag returns the tag IntervalLog writes for a phase and metric
// ("response" or "service") with extra tags, for looking lines up in
// what ReadIntervalLog returns.
func IntervalTag(phase, metric string, extra ...string) string {
	var b strings.Builder
	b.WriteString("phase=" + tagEscape(phase) + ";metric=" + tagEscape(metric))
	for _, t := range extra {
		b.WriteByte(';')
		if k, v, ok := strings.Cut(t, "="); ok {
			b.WriteString(tagEscape(k) + "=" + tagEscape(v))
		} else {
			b.WriteString(tagEscape(t))
		}
	}
	return b.String()
}

// ParseIntervalTag splits a tag IntervalLog wrote into its keys and
// values, unescaped: {"phase": "main", "metric": "response", …}.
func ParseIntervalTag(tag string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(tag, ";") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		m[tagUnescape(k)] = tagUnescape(v)
	}
	return m
}

// tagEscape makes s safe inside a tag: percent-encodes the separators,
// spaces, control characters and '%' itself.
func tagEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == ';' || c == '=' || c == '%' || c <= ' ' || c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func tagUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// WriteHeader writes the log's header (format version, StartTime,
// BaseTime, the legend) if it has not been written yet. The sink calls it
// before the first interval.
func (l *IntervalLog) WriteHeader() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.headerLocked()
}

func (l *IntervalLog) headerLocked() error {
	if l.header || l.err != nil {
		return l.err
	}
	l.header = true
	secs := float64(l.start.UnixMilli()) / 1000
	l.err = errors.Join(
		l.lw.OutputComment("[Logged with tailgate]"),
		l.lw.OutputLogFormatVersion(),
		// Written as comments, with milliseconds, as the Java writer does:
		// the library's OutputStartTime and OutputBaseTime print whole
		// seconds only. Both readers parse the fraction.
		l.lw.OutputComment(fmt.Sprintf("[StartTime: %.3f (seconds since epoch), %s]", secs, l.start.UTC().Format(time.RFC3339Nano))),
		l.lw.OutputComment(fmt.Sprintf("[BaseTime: %.3f (seconds since epoch)]", secs)),
		l.lw.OutputLegend(),
	)
	return l.err
}

// Sink returns the analysis.IntervalSink that writes each interval. It
// stops at the first write error and returns it (the collector keeps it
// and returns it from Tick and Close).
func (l *IntervalLog) Sink() analysis.IntervalSink {
	return func(iv *analysis.Interval) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err := l.headerLocked(); err != nil {
			return err
		}
		name := fmt.Sprint(iv.Phase)
		if iv.Phase >= 0 && iv.Phase < len(l.Phases) {
			name = l.Phases[iv.Phase].Name
		}
		if err := l.writeLocked(iv, iv.Response, name, "response"); err != nil {
			return err
		}
		if l.Service {
			return l.writeLocked(iv, iv.Service, name, "service")
		}
		return nil
	}
}

// SinkAt returns a sink for the intervals of a measurement that started
// at start (at or after the log's start) with phases of its own, each
// line tagged with tags as well ("step=step-3", "side=B"): one log then
// holds several measurements, a sweep's steps or an A/B run's sides, on
// one clock.
func (l *IntervalLog) SinkAt(start time.Time, phases []analysis.PhaseWindow, tags ...string) analysis.IntervalSink {
	more := extraTags(tags)
	shift := start.Sub(l.start)
	return func(iv *analysis.Interval) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err := l.headerLocked(); err != nil {
			return err
		}
		name := fmt.Sprint(iv.Phase)
		if iv.Phase >= 0 && iv.Phase < len(phases) {
			name = phases[iv.Phase].Name
		}
		moved := *iv
		moved.Start += shift
		moved.End += shift
		if err := l.writeTagged(&moved, iv.Response, name, "response", more); err != nil {
			return err
		}
		if l.Service {
			return l.writeTagged(&moved, iv.Service, name, "service", more)
		}
		return nil
	}
}

// writeLocked writes one histogram line, through a scratch copy so that
// the collector's histogram keeps its own tag and times.
func (l *IntervalLog) writeLocked(iv *analysis.Interval, h *hdr.Histogram, phase, metric string) error {
	return l.writeTagged(iv, h, phase, metric, "")
}

// writeTagged is writeLocked with more tags (escaped, each after a ';').
func (l *IntervalLog) writeTagged(iv *analysis.Interval, h *hdr.Histogram, phase, metric, more string) error {
	s := l.scratch
	s.Reset()
	if h != nil {
		if dropped := s.Merge(h); dropped != 0 {
			l.err = fmt.Errorf("interval log: %d values out of range", dropped)
			return l.err
		}
	}
	base := l.start.UnixMilli()
	s.SetStartTimeMs(base + iv.Start.Milliseconds())
	s.SetEndTimeMs(base + iv.End.Milliseconds())
	s.SetTag("phase=" + tagEscape(phase) + ";metric=" + metric + l.extra + more)
	if err := l.lw.OutputIntervalHistogram(s); err != nil {
		l.err = fmt.Errorf("interval log: %w", err)
	}
	return l.err
}

// Close writes the header if no interval was written (so that even an
// empty run leaves a valid log) and returns the first error. It does not
// close the writer.
func (l *IntervalLog) Close() error {
	return l.WriteHeader()
}

// ReadIntervalLog reads an HdrHistogram interval log and returns its
// histograms by tag ("" for untagged lines), each list in the log's
// order. The histograms' StartTimeMs and EndTimeMs are absolute (ms since
// the epoch).
func ReadIntervalLog(r io.Reader) (map[string][]*hdr.Histogram, error) {
	lr := hdr.NewHistogramLogReader(r)
	out := map[string][]*hdr.Histogram{}
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return out, fmt.Errorf("read interval log: %w", err)
		}
		if h == nil {
			return out, nil
		}
		out[h.Tag()] = append(out[h.Tag()], h)
	}
}
