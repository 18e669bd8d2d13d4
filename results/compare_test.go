package results

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// goldenComparison is a fixed comparison: two phases and the total, a
// regression in burst, an improvement in steady, a metric without an
// interval, and warnings.
func goldenComparison() analysis.Comparison {
	nan := math.NaN()
	const ms = 1e6
	mk := func(phase string, m analysis.CompareMetric, a, b, lo, hi float64, verdict, method string) analysis.Delta {
		d := analysis.Delta{Phase: phase, Metric: m, A: a, B: b, CILo: lo, CIHi: hi, Verdict: verdict, Method: method,
			PValue: nan, U: nan, ACILo: nan, ACIHi: nan, BCILo: nan, BCIHi: nan}
		if m == analysis.CompareErrorRate {
			d.Abs, d.Rel = true, b-a
		} else {
			d.Rel = b/a - 1
		}
		return d
	}
	blocks := "block bootstrap over 30 main + 30 pr-42 intervals, blocks of 6"
	total := "block bootstrap over 60 main + 60 pr-42 intervals, blocks of 6, stratified by phase"
	secs := "block bootstrap over 30 main + 30 pr-42 seconds, blocks of 6"
	totalSecs := "block bootstrap over 60 main + 60 pr-42 seconds, blocks of 6, stratified by phase"
	none := "none: a single run's max has no reliable interval (compare several runs)"
	c := analysis.Comparison{RunsA: 1, RunsB: 1, Conf: 0.95, Resamples: 2000, Seed: 1}
	c.Deltas = []analysis.Delta{
		mk("steady", analysis.CompareP50, 2.1*ms, 1.93*ms, -0.12, -0.042, analysis.DeltaBetter, blocks),
		mk("steady", analysis.CompareP90, 4.2*ms, 4.1*ms, -0.09, 0.05, analysis.DeltaSame, blocks),
		mk("steady", analysis.CompareP99, 8.8*ms, 9.0*ms, -0.07, 0.11, analysis.DeltaSame, blocks),
		mk("steady", analysis.CompareP999, 15.2*ms, 16.1*ms, -0.2, 0.35, analysis.DeltaSame, blocks),
		mk("steady", analysis.CompareMax, 31*ms, 28*ms, nan, nan, analysis.DeltaSame, none),
		mk("steady", analysis.CompareErrorRate, 0.001, 0.0012, -0.0009, 0.0013, analysis.DeltaSame, secs),
		mk("steady", analysis.CompareThroughput, 1000, 1000, 0, 0, analysis.DeltaSame, secs),
		mk("burst", analysis.CompareP50, 6.1*ms, 6.4*ms, -0.02, 0.11, analysis.DeltaSame, blocks),
		mk("burst", analysis.CompareP90, 14*ms, 15.1*ms, -0.01, 0.16, analysis.DeltaSame, blocks),
		mk("burst", analysis.CompareP99, 30*ms, 33.6*ms, 0.061, 0.18, analysis.DeltaWorse, blocks),
		mk("burst", analysis.CompareP999, 52*ms, 61*ms, -0.05, 0.41, analysis.DeltaSame, blocks),
		mk("burst", analysis.CompareMax, 90*ms, 120*ms, nan, nan, analysis.DeltaSame, none),
		mk("burst", analysis.CompareErrorRate, 0.0021, 0.0062, 0.0019, 0.0063, analysis.DeltaWorse, secs),
		mk("burst", analysis.CompareThroughput, 2000, 1985, -0.016, 0.001, analysis.DeltaSame, secs),
		mk("total", analysis.CompareP50, 3.9*ms, 3.85*ms, -0.06, 0.04, analysis.DeltaSame, total),
		mk("total", analysis.CompareP90, 11*ms, 11.6*ms, -0.01, 0.12, analysis.DeltaSame, total),
		mk("total", analysis.CompareP99, 27*ms, 30*ms, 0.02, 0.2, analysis.DeltaWorse, total),
		mk("total", analysis.CompareP999, 49*ms, 57*ms, -0.03, 0.38, analysis.DeltaSame, total),
		mk("total", analysis.CompareMax, 90*ms, 120*ms, nan, nan, analysis.DeltaSame, none),
		mk("total", analysis.CompareErrorRate, 0.0016, 0.0037, 0.0008, 0.0034, analysis.DeltaWorse, totalSecs),
		mk("total", analysis.CompareThroughput, 1500, 1492, -0.011, 0.002, analysis.DeltaSame, totalSecs),
	}
	c.Deltas[2].ACILo, c.Deltas[2].ACIHi, c.Deltas[2].BCILo, c.Deltas[2].BCIHi = 8.5*ms, 9.1*ms, 8.7*ms, 9.4*ms
	c.Warnings = []string{
		"steady: main has 30000 responses, fewer than the 56647 that p99.99 needs: read it with care",
		"burst: a | pipe\nand a newline",
	}
	return c
}

func TestWriteCompareGolden(t *testing.T) {
	c := goldenComparison()
	var tab, md, js bytes.Buffer
	if err := WriteCompareTable(&tab, c, "main", "pr-42"); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareMarkdown(&md, c, "main", "pr-42"); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareJSON(&js, c, "main", "pr-42"); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-table.txt", tab.Bytes())
	golden(t, "compare-pr.md", md.Bytes())
	golden(t, "compare-diff.json", js.Bytes())

	for _, want := range []string{
		"pr-42 is 12% slower at p99 in phase burst [+6.1%, +18%]",
		"pr-42 has 0.41 pp more errors in phase burst [+0.19pp, +0.63pp]",
		"pr-42 is 8.1% faster at p50 in phase steady [-12%, -4.2%]",
		"pr-42 is 11% slower at p99 overall [+2%, +20%]",
	} {
		// Markdown escapes the brackets (mdText).
		mdWant := strings.NewReplacer("[", `\[`, "]", `\]`).Replace(want)
		for name, c := range map[string][2]string{"table": {tab.String(), want}, "markdown": {md.String(), mdWant}} {
			if !strings.Contains(c[0], c[1]) {
				t.Errorf("%s has no %q", name, c[1])
			}
		}
	}
	if !strings.HasPrefix(md.String(), "## ❌ tailgate compare: 4 regressions, 1 improvement\n") {
		t.Errorf("heading %q", strings.SplitN(md.String(), "\n", 2)[0])
	}
	// Every Markdown table row has as many cells as its header.
	cols := 0
	for _, line := range strings.Split(md.String(), "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row has %d separators, header %d: %s", n, cols, line)
		}
	}

	var r CompareReport
	if err := json.Unmarshal(js.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != CompareSchema || r.SchemaVersion != 1 || r.A != (CompareSide{"main", 1}) || r.B.Name != "pr-42" ||
		len(r.Deltas) != len(c.Deltas) || r.Summary.Worse != 4 || r.Summary.Better != 1 || r.Summary.Same != 16 {
		t.Errorf("report %+v", r)
	}
	mx := r.Deltas[4]
	if mx.Metric != "max" || mx.CI != nil || mx.PValue != nil || mx.Change == nil {
		t.Errorf("max delta %+v", mx)
	}
	if er := r.Deltas[12]; er.Unit != "fraction" || er.ChangeKind != "difference" || math.Abs(*er.Change-0.0041) > 1e-12 {
		t.Errorf("error rate delta %+v", er)
	}
	if p99 := r.Deltas[2]; p99.Unit != "ns" || p99.ChangeKind != "relative" || p99.ACI == nil || p99.BCI == nil {
		t.Errorf("p99 delta %+v", p99)
	}
}

func TestWriteCompareNoDifference(t *testing.T) {
	c := goldenComparison()
	for i := range c.Deltas {
		c.Deltas[i].Verdict = analysis.DeltaSame
	}
	c.Warnings = nil
	var tab, md bytes.Buffer
	if err := WriteCompareTable(&tab, c, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareMarkdown(&md, c, "", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "no significant difference between A and B (95% CIs)") {
		t.Errorf("table:\n%s", tab.String())
	}
	if !strings.HasPrefix(md.String(), "## ➖ tailgate compare: no significant difference\n") || strings.Contains(md.String(), "Warning") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

func TestFormatChange(t *testing.T) {
	rel := analysis.Delta{Metric: analysis.CompareP99}
	abs := analysis.Delta{Metric: analysis.CompareErrorRate, Abs: true}
	tests := []struct {
		d    analysis.Delta
		v    float64
		want string
	}{
		{rel, 0.123, "+12%"},
		{rel, 0.0812, "+8.1%"},
		{rel, -0.0042, "-0.42%"},
		{rel, 0, "0%"},
		{rel, -0.00001, "0%"},
		{rel, math.NaN(), "—"},
		{abs, 0.0041, "+0.41pp"},
		{abs, -0.02, "-2pp"},
	}
	for _, tt := range tests {
		if got := formatChange(tt.d, tt.v); got != tt.want {
			t.Errorf("formatChange(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// A real comparison renders in every format, and its JSON parses back.
func TestWriteCompareFromRuns(t *testing.T) {
	run := func(seed uint64, scale float64) analysis.RunData {
		rng := rand.New(rand.NewPCG(seed, 1))
		var rd analysis.RunData
		for _, name := range []string{"steady", "burst"} {
			p := analysis.PhaseHistograms{Name: name, Hist: analysis.NewHistogram(), Duration: 12 * time.Second, Offered: 50, Achieved: 50}
			for i := range 12 {
				h := analysis.NewHistogram()
				for range 50 {
					v := int64(scale * 3e6 * math.Exp(0.5*rng.NormFloat64()))
					_ = h.RecordValue(v)
					_ = p.Hist.RecordValue(v)
				}
				p.Intervals = append(p.Intervals, h)
				p.Seconds = append(p.Seconds, analysis.Second{T: int64(i), Completed: 50, Offered: 50})
				p.OK += 50
			}
			p.Intended = p.OK
			rd.Phases = append(rd.Phases, p)
		}
		return rd
	}
	a := analysis.Side{Name: "base", Runs: []analysis.RunData{run(1, 1)}}
	b := analysis.Side{Name: "cand", Runs: []analysis.RunData{run(2, 2)}}
	c, err := analysis.Compare(a, b, analysis.CompareOptions{Resamples: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var tab, md, js bytes.Buffer
	if err := WriteCompareTable(&tab, c, "base", "cand"); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareMarkdown(&md, c, "base", "cand"); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareJSON(&js, c, "base", "cand"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "slower at p50 overall") {
		t.Errorf("table:\n%s", tab.String())
	}
	if !strings.HasPrefix(md.String(), "## ❌ tailgate compare:") {
		t.Errorf("markdown:\n%s", md.String())
	}
	var r CompareReport
	if err := json.Unmarshal(js.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if len(r.Deltas) != 3*len(analysis.CompareMetrics) || r.Summary.Worse == 0 {
		t.Errorf("report: %d deltas, summary %+v", len(r.Deltas), r.Summary)
	}
}
