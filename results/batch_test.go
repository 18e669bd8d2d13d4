package results

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// batchFile is a batch result at fixed rates, its cells in run order
// (shuffled), reduced by analysis.AnalyzeBatch.
func batchFile() *File {
	const ms = time.Millisecond
	cell := func(b int, l time.Duration, rate, thr float64, p99 time.Duration, sat bool) analysis.BatchCell {
		return analysis.BatchCell{BatchSize: b, Linger: l, Rate: rate, Throughput: thr, P99: p99, P99Lo: p99 * 9 / 10,
			P99Hi: p99 * 11 / 10, MeanFill: 0.5, Duration: time.Second, Valid: true, Saturated: sat, MetSLO: true,
			TargetCPU: thr / 2000, CPUPerKItems: 0.5}
	}
	cells := []analysis.BatchCell{
		cell(32, 2*ms, 3000, 3000, 6*ms, false),
		cell(1, 0, 500, 500, 6*ms, false),
		cell(1, 0, 3000, 840, 7*time.Second, true),
		cell(32, 2*ms, 500, 500, 8*ms, false),
	}
	a := analysis.AnalyzeBatch(cells, "")
	return &File{Kind: "batch", Settings: Settings{Target: "http://127.0.0.1:9/batch"}, Summary: &analysis.Summary{},
		Batch: &BatchInfo{Cells: cells, Recommendation: a.Recommendation, Settings: a.Settings, ReferenceRate: a.ReferenceRate}}
}

func TestWriteBatch(t *testing.T) {
	f := batchFile()
	var buf bytes.Buffer
	if err := WriteBatch(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Cells by rate, then batch size, then linger; the file keeps run
	// order.
	row := regexp.MustCompile(`(?m)^│ +(\d+) │ +(\d+) │`)
	var order []string
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		order = append(order, m[1]+"/"+m[2])
	}
	if want := []string{"500/1", "500/32", "3000/1", "3000/32", "1/0"}; !slices.Equal(order[:4], want[:4]) {
		t.Errorf("rows %q\n%s", order, out)
	}
	if f.Batch.Cells[0].BatchSize != 32 || f.Batch.Cells[0].Rate != 3000 {
		t.Errorf("the file's cells were reordered: %+v", f.Batch.Cells[0])
	}
	for _, want := range []string{"saturated: completed 840/s", "at fixed rates; p99 at 500 items/s, the highest rate every setting held",
		"★ frontier, recommended, capacity up, p99 worse", "≥ 3.6×", "[500, 924]", "CPU s/1k items",
		"B=32, linger 2 ms: capacity ≥ 3,000 items/s, ≥ 3.6× the capacity of B=1, no linger"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	buf.Reset()
	if err := WriteHTMLBatch(&buf, f); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	checkHTML(t, html)
	for _, want := range []string{"Item p99 against the offered rate", `data-series="B=1, no linger"`, `data-series="B=1, no linger: saturated"`,
		"<caption>Settings</caption>", "<caption>Cells, by rate, batch size and linger</caption>", "saturated: completed 840/s"} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

// A file written before settings existed is shown as it was: its cells in
// their order, with the marks they were written with.
func TestWriteBatchOld(t *testing.T) {
	f := &File{Kind: "batch", Settings: Settings{Target: "http://127.0.0.1:9/batch"}, Summary: &analysis.Summary{},
		Batch: &BatchInfo{Recommendation: "B=8, linger 1 ms: 1.0× throughput at 2,024 items/s with p99 9.6 ms", Cells: []analysis.BatchCell{
			{BatchSize: 8, Linger: time.Millisecond, Rate: 2000, Throughput: 2024, P99: 9 * time.Millisecond, Valid: true, Pareto: true, Regressed: true},
			{BatchSize: 1, Rate: 3000, Throughput: 840, P99: 7 * time.Second},
		}}}
	var buf bytes.Buffer
	if err := WriteBatch(&buf, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"★ frontier, p99 worse than unbatched", "invalid", "1.0× throughput at 2,024 items/s"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := WriteHTMLBatch(&buf, f); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, buf.String())
	if !strings.Contains(buf.String(), "Item p99 against throughput") {
		t.Error("old html chart missing")
	}
}
