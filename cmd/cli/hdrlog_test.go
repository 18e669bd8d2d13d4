package cli

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/profiles"
	"tailgate/results"
)

// TestHdrLogDocTagSelects holds docs/reports.md's HistogramLogProcessor
// commands to the log --hdr-log writes. The Java tool keeps only the lines
// whose whole tag equals -tag (String.equals), so each documented -tag
// must be, character for character, the tag of the lines it says it
// selects: the steady phase's response times, for the builtin steady
// profile the example is about.
func TestHdrLogDocTagSelects(t *testing.T) {
	doc, err := os.ReadFile("../../docs/reports.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`HistogramLogProcessor [^\n]*-tag '([^']*)'(?: -start (\S+) -end (\S+))?`).FindAllStringSubmatch(string(doc), -1)
	if len(cmds) == 0 {
		t.Fatal("docs/reports.md has no HistogramLogProcessor -tag command")
	}

	prof, err := profiles.Load("steady")
	if err != nil {
		t.Fatal(err)
	}
	starts := prof.PhaseStarts()
	var phases []analysis.PhaseWindow
	for i, ph := range prof.Phases {
		phases = append(phases, analysis.PhaseWindow{Name: ph.Name, Start: starts[i], End: starts[i] + ph.Duration, Warmup: ph.Warmup})
	}
	steady := -1
	for i, ph := range phases {
		if ph.Name == "steady" {
			steady = i
		}
	}
	if steady < 0 {
		t.Fatalf("the steady profile has no phase called steady: %+v", phases)
	}

	// 50 req/s through the whole profile, written as run writes --hdr-log.
	col := analysis.NewCollector(phases)
	var buf bytes.Buffer
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	hl := results.NewIntervalLog(&buf, start)
	hl.Service = true
	col.SetIntervalSink(hl.SinkAt(start, col.Phases()))
	end := prof.Duration()
	var inSteady int64
	for i := 0; time.Duration(i)*20*time.Millisecond < end; i++ {
		at := time.Duration(i) * 20 * time.Millisecond
		col.Record(i%3, &generator.Result{Seq: uint64(i), Intended: at, Sent: at, Done: at + 2*time.Millisecond, Outcome: generator.Outcome{Status: 200}})
		if col.PhaseOf(at) == steady {
			inSteady++
		}
	}
	if err := col.Close(end); err != nil {
		t.Fatal(err)
	}
	if err := hl.Close(); err != nil {
		t.Fatal(err)
	}

	// Read it back with hdrhistogram-go's reader, which gives each line's
	// whole tag as the Java reader does.
	byTag := map[string][]*hdr.Histogram{}
	lr := hdr.NewHistogramLogReader(&buf)
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		byTag[h.Tag()] = append(byTag[h.Tag()], h)
	}
	var tags []string
	for tag := range byTag {
		tags = append(tags, tag)
	}
	sort.Strings(tags)

	for _, c := range cmds {
		tag := c[1]
		hs := byTag[tag]
		if len(hs) == 0 {
			t.Errorf("docs/reports.md: -tag '%s' selects no interval; the log's tags are %q", tag, tags)
			continue
		}
		if got := results.ParseIntervalTag(tag); got["phase"] != "steady" || got["metric"] != "response" || len(got) != 2 {
			t.Errorf("docs/reports.md: -tag '%s' is not the steady phase's response times: %v", tag, got)
		}
		var n int64
		for _, h := range hs {
			n += h.TotalCount()
		}
		// With -start and -end (seconds from the log's start), some of
		// those intervals must fall in the window.
		if c[2] != "" {
			from, err1 := strconv.ParseFloat(c[2], 64)
			to, err2 := strconv.ParseFloat(c[3], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("-start %s -end %s", c[2], c[3])
			}
			n = 0
			for _, h := range hs {
				if at := float64(h.StartTimeMs()-start.UnixMilli()) / 1000; at >= from && at < to {
					n += h.TotalCount()
				}
			}
			if n == 0 {
				t.Errorf("-tag '%s' -start %s -end %s selects no interval: the steady profile runs %v", tag, c[2], c[3], end)
			}
			continue
		}
		if n != inSteady {
			t.Errorf("-tag '%s' selects %d response times, the steady phase had %d", tag, n, inSteady)
		}
	}
}
