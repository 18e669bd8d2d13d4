package results

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
	"tailgate/generator"
)

// hlogRun records 4 s of results at 500 req/s in two phases whose names
// need escaping, with the interval log (and a copy of every interval) as
// the collector's sink.
func hlogRun(t *testing.T, il *IntervalLog) (*analysis.Summary, map[string][]*hdr.Histogram) {
	t.Helper()
	phases := []analysis.PhaseWindow{{Name: "warm up", End: time.Second, Warmup: true}, {Name: "main,1=a;b%", Start: time.Second}}
	c := analysis.NewCollector(phases)
	il.Phases = c.Phases()
	sink := il.Sink()
	copies := map[string][]*hdr.Histogram{}
	c.SetIntervalSink(func(iv *analysis.Interval) error {
		name := phases[iv.Phase].Name
		copies[IntervalTag(name, "response", "worker=2/4")] = append(copies[IntervalTag(name, "response", "worker=2/4")], iv.Response.Clone())
		copies[IntervalTag(name, "service", "worker=2/4")] = append(copies[IntervalTag(name, "service", "worker=2/4")], iv.Service.Clone())
		return sink(iv)
	})
	var r generator.Result
	for i := 0; i < 2000; i++ {
		at := time.Duration(i) * 2 * time.Millisecond
		sent := at + time.Duration(i%7)*time.Millisecond
		r = generator.Result{Seq: uint64(i), Intended: at, Sent: sent, Done: sent + time.Duration(1+i%89)*time.Millisecond + time.Duration(i%13)*time.Microsecond,
			Outcome: generator.Outcome{Status: 200}}
		c.Record(i%3, &r)
		if i%500 == 499 {
			if err := c.Tick(at); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Close(4 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := il.Close(); err != nil {
		t.Fatal(err)
	}
	return c.Summarize(generator.Stats{Intended: 2000, Sent: 2000, Elapsed: 4 * time.Second}), copies
}

func TestIntervalLogRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2026, 3, 4, 5, 6, 7, 250e6, time.UTC)
	il := NewIntervalLog(&buf, start, "worker=2/4")
	il.Service = true
	sum, copies := hlogRun(t, il)
	log := buf.String()

	// The header: format version, start and base time with milliseconds,
	// the legend.
	for _, want := range []string{"#[Histogram log format version 1.3]\n", "#[StartTime: 1772600767.250 (seconds since epoch), 2026-03-04T05:06:07.25Z]\n",
		"#[BaseTime: 1772600767.250 (seconds since epoch)]\n", `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"` + "\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%.600s", want, log)
		}
	}
	// Tags are escaped and hold no comma or space.
	tagMain := IntervalTag("main,1=a;b%", "response", "worker=2/4")
	if tagMain != "phase=main%2C1%3Da%3Bb%25;metric=response;worker=2/4" {
		t.Errorf("tag %q", tagMain)
	}
	if got := ParseIntervalTag(tagMain); got["phase"] != "main,1=a;b%" || got["metric"] != "response" || got["worker"] != "2/4" {
		t.Errorf("ParseIntervalTag(%q) = %q", tagMain, got)
	}

	// Every line: relative timestamps, 1 s long, Max in milliseconds.
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Tag=") {
			continue
		}
		lines++
		f := strings.Split(line, ",")
		if len(f) != 5 {
			t.Fatalf("line has %d fields: %s", len(f), line)
		}
		tag := strings.TrimPrefix(f[0], "Tag=")
		ts, _ := strconv.ParseFloat(f[1], 64)
		length, _ := strconv.ParseFloat(f[2], 64)
		maxMs, _ := strconv.ParseFloat(f[3], 64)
		if ts != math.Trunc(ts) || ts < 0 || ts > 4 || length != 1 {
			t.Errorf("interval %s + %s", f[1], f[2])
		}
		h, err := hdr.Decode([]byte(f[4]))
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(h.Max()) / 1e6; math.Abs(maxMs-want) > 1e-6 {
			t.Errorf("%s: Max column %s, want %g ms", tag, f[3], want)
		}
		if maxMs < 1 || maxMs > 200 {
			t.Errorf("%s: Max column %s is not in milliseconds", tag, f[3])
		}
	}
	if lines == 0 {
		t.Fatal("no interval lines")
	}

	// Through hdrhistogram-go's reader: the same tags, the same histograms.
	got, err := ReadIntervalLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(copies) {
		t.Errorf("read %d tags, wrote %d", len(got), len(copies))
	}
	n := 0
	for tag, want := range copies {
		hs := got[tag]
		if len(hs) != len(want) {
			t.Errorf("%s: read %d intervals, wrote %d", tag, len(hs), len(want))
			continue
		}
		for i := range want {
			n++
			if !hs[i].Equals(want[i]) || hs[i].TotalCount() != want[i].TotalCount() || hs[i].Max() != want[i].Max() {
				t.Errorf("%s interval %d differs after the round trip", tag, i)
			}
			if hs[i].Tag() != tag {
				t.Errorf("tag %q, want %q", hs[i].Tag(), tag)
			}
			// Absolute times, to the millisecond (the reader goes through
			// float seconds).
			if d := hs[i].EndTimeMs() - hs[i].StartTimeMs(); d < 999 || d > 1001 {
				t.Errorf("%s interval %d lasts %d ms", tag, i, d)
			}
			if s := hs[i].StartTimeMs() - start.UnixMilli(); s < -1 || s > 4001 || (s+1)%1000 > 2 {
				t.Errorf("%s interval %d starts at +%d ms", tag, i, s)
			}
		}
	}
	if n != lines {
		t.Errorf("compared %d intervals, the log has %d lines", n, lines)
	}

	// Merging a phase's intervals gives the phase's histogram.
	for _, p := range sum.Phases {
		for metric, want := range map[string]*hdr.Histogram{"response": p.ResponseHist, "service": p.ServiceHist} {
			m := analysis.NewHistogram()
			for _, h := range got[IntervalTag(p.Name, metric, "worker=2/4")] {
				if dropped := m.Merge(h); dropped != 0 {
					t.Fatalf("dropped %d", dropped)
				}
			}
			if !m.Equals(want) {
				t.Errorf("phase %q %s: merged intervals (%d values) differ from the phase histogram (%d)", p.Name, metric, m.TotalCount(), want.TotalCount())
			}
		}
	}
}

func TestIntervalLogResponseOnly(t *testing.T) {
	var buf bytes.Buffer
	il := NewIntervalLog(&buf, time.Unix(1700000000, 0), "run=a b")
	hlogRun(t, il)
	got, err := ReadIntervalLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for tag := range got {
		if ParseIntervalTag(tag)["metric"] != "response" || ParseIntervalTag(tag)["run"] != "a b" {
			t.Errorf("tag %q", tag)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d tags, want one per phase", len(got))
	}
}

func TestIntervalLogEmptyRun(t *testing.T) {
	var buf bytes.Buffer
	il := NewIntervalLog(&buf, time.Unix(1700000000, 0))
	if err := il.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "#[StartTime: 1700000000.000") {
		t.Errorf("an empty log has no header:\n%s", buf.String())
	}
	got, err := ReadIntervalLog(&buf)
	if err != nil || len(got) != 0 {
		t.Errorf("read %v, %v", got, err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestIntervalLogWriteError(t *testing.T) {
	il := NewIntervalLog(&failWriter{n: 7}, time.Unix(1700000000, 0))
	c := analysis.NewCollector(nil)
	c.SetIntervalSink(il.Sink())
	var r generator.Result
	for i := 0; i < 30; i++ {
		at := time.Duration(i) * 100 * time.Millisecond
		r = generator.Result{Intended: at, Sent: at, Done: at + time.Millisecond, Outcome: generator.Outcome{Status: 200}}
		c.Record(0, &r)
	}
	err := c.Close(3 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the write error", err)
	}
	if il.Close() == nil {
		t.Error("IntervalLog.Close forgot the error")
	}
}

// FuzzReadIntervalLog: any input is read or refused, never a panic, and
// tags survive escaping.
func FuzzReadIntervalLog(f *testing.F) {
	var buf bytes.Buffer
	il := NewIntervalLog(&buf, time.Unix(1700000000, 0))
	h := analysis.NewHistogram()
	h.RecordValue(1234567)
	_ = il.Sink()(&analysis.Interval{Start: 0, End: time.Second, Response: h, Service: h})
	f.Add(buf.String(), "main")
	f.Add("Tag=x\n1,2,3,HISTFAAAAB\n#[BaseTime: 1e9]\n", "a,b c=d;e%")
	f.Fuzz(func(t *testing.T, log, phase string) {
		_, _ = ReadIntervalLog(strings.NewReader(log))
		tag := IntervalTag(phase, "response")
		if strings.ContainsAny(tag, ", \r\n") {
			t.Fatalf("tag %q has a separator", tag)
		}
		if got := ParseIntervalTag(tag)["phase"]; got != phase {
			t.Fatalf("phase %q came back as %q", phase, got)
		}
	})
}
