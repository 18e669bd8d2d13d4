package results_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tailgate/analysis"
	"tailgate/internal/histtest"
	"tailgate/results"
)

// readSeries writes s into a temporary directory and reads it back as a
// history, from the directory's listing (which is not in night order).
func readSeries(t *testing.T, s histtest.Series) *results.History {
	t.Helper()
	dir := t.TempDir()
	if _, err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := results.ReadHistory(paths, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Comparable(); err != nil {
		t.Fatal(err)
	}
	if err := h.Detect(analysis.ChangeOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return h
}

func changesOf(h *results.History, m analysis.CompareMetric) []analysis.HistoryChange {
	var out []analysis.HistoryChange
	for _, c := range h.Changes {
		if c.Metric == m {
			out = append(out, c)
		}
	}
	return out
}

// Twenty nights with 5 % night-to-night noise and +15 % from night 8:
// the history is in start order and names night 8 (±1) for p99.
func TestHistoryNamesTheStep(t *testing.T) {
	h := readSeries(t, histtest.Series{StepAt: 7, Step: 1.15, Seed: 2, Builds: true})
	for i, r := range h.Runs {
		if r.Label != fmt.Sprintf("build-%d", i+1) {
			t.Fatalf("run %d is %s: not in start order", i+1, r.Label)
		}
	}
	cs := changesOf(h, analysis.CompareP99)
	if len(cs) != 1 || cs[0].Index < 6 || cs[0].Index > 8 || !cs[0].Rose() {
		t.Fatalf("p99 changes %+v, want one rise at night 8 ± 1", cs)
	}
	s := h.ChangeSentence(cs[0])
	if !strings.HasPrefix(s, "p99 rose 14% [+8%, +21%] between run 7 (build-7) and run 8 (build-8)") || !strings.Contains(s, "over runs 1–7 and 8–20") {
		t.Errorf("sentence %q", s)
	}
	var tab bytes.Buffer
	if err := results.WriteHistoryTable(&tab, h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), s) || !strings.Contains(tab.String(), "p99 ▲14%") {
		t.Errorf("table:\n%s", tab.String())
	}
}

// The same noise without a step: no change in any metric.
func TestHistoryFlat(t *testing.T) {
	h := readSeries(t, histtest.Series{Seed: 2, Builds: true})
	if len(h.Changes) != 0 {
		t.Fatalf("changes in a flat series: %+v", h.Changes)
	}
	var md bytes.Buffer
	if err := results.WriteHistoryMarkdown(&md, h); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.String(), "## ✅ tailgate history: no change point") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

// A p99 that creeps up 3 % a night for 14 nights fails the drift gate;
// 14 flat nights pass it.
func TestHistoryDriftGate(t *testing.T) {
	rule, err := analysis.ParseFailRule("p99>+10%")
	if err != nil {
		t.Fatal(err)
	}
	opt := analysis.CompareOptions{Resamples: 200, Seed: 1}
	creep := readSeries(t, histtest.Series{Runs: 14, Drift: 1.03, Seed: 4, Rate: 200})
	if err := creep.Gate(0, []analysis.FailRule{rule}, opt); err != nil {
		t.Fatal(err)
	}
	if len(creep.Drift.Breaches) != 1 || !strings.Contains(creep.Drift.Breaches[0], "breaches p99>+10%") {
		t.Errorf("creeping p99: breaches %q", creep.Drift.Breaches)
	}
	var md bytes.Buffer
	if err := results.WriteHistoryMarkdown(&md, creep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.String(), "## ❌ tailgate history: drift gate failed") || !strings.Contains(md.String(), "runs 1–7 against runs 8–14") {
		t.Errorf("markdown:\n%s", md.String())
	}
	flat := readSeries(t, histtest.Series{Runs: 14, Seed: 4, Rate: 200})
	if err := flat.Gate(6, []analysis.FailRule{rule}, opt); err != nil {
		t.Fatal(err)
	}
	if len(flat.Drift.Breaches) != 0 || !slices.Equal(flat.Drift.A, []int{8, 9, 10}) || !slices.Equal(flat.Drift.B, []int{11, 12, 13}) {
		t.Errorf("flat, last 6: breaches %q, sides %v %v", flat.Drift.Breaches, flat.Drift.A, flat.Drift.B)
	}
}

// TestHistoryGolden: the table, the Markdown and the JSON (without the
// paths, which are temporary) of twelve nights with +30 % from night 7.
func TestHistoryGolden(t *testing.T) {
	h := readSeries(t, histtest.Series{Runs: 12, StepAt: 6, Step: 1.3, Seed: 7, Rate: 200, Seconds: 5, Builds: true, ErrPct: 0.5})
	rule, _ := analysis.ParseFailRule("p99>+10%")
	if err := h.Gate(0, []analysis.FailRule{rule}, analysis.CompareOptions{Resamples: 200, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var tab, md, js bytes.Buffer
	if err := results.WriteHistoryTable(&tab, h); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteHistoryMarkdown(&md, h); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteHistoryJSON(&js, h); err != nil {
		t.Fatal(err)
	}
	var rep results.HistoryReport
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != results.HistorySchema || len(rep.Runs) != 12 || rep.Runs[4].Label != "build-5" || rep.Drift == nil || rep.Drift.Compare == nil {
		t.Fatalf("report %+v", rep)
	}
	for i := range rep.Runs {
		rep.Runs[i].Path = filepath.Base(rep.Runs[i].Path)
	}
	rep.Drift.Compare = nil // its own golden files are compare's
	stable, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "history-table.txt", tab.Bytes())
	golden(t, "history.md", md.Bytes())
	golden(t, "history.json", append(stable, '\n'))
}

// golden compares got with testdata/name, or rewrites it under -update
// (the flag is the package's internal tests').
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

func TestReadHistoryRefuses(t *testing.T) {
	dir := t.TempDir()
	paths, err := histtest.Series{Runs: 3, Rate: 100, Seconds: 2}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.ReadHistory(paths, "nosuch"); err == nil || !strings.Contains(err.Error(), `no phase "nosuch"`) {
		t.Errorf("missing phase: %v", err)
	}
	if _, err := results.ReadHistory(nil, ""); err == nil {
		t.Error("no files: no error")
	}
	f, err := results.Read(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	sweep := *f
	sweep.Kind, sweep.Steps = "sweep", []*results.File{f}
	sp := filepath.Join(dir, "sweep.json")
	if err := results.Write(sp, &sweep); err != nil {
		t.Fatal(err)
	}
	if _, err := results.ReadHistory(append(paths, sp), ""); err == nil || !strings.Contains(err.Error(), "a sweep, not a run") {
		t.Errorf("a sweep: %v", err)
	}
	// Another scenario: twice the rate.
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	more, err := histtest.Series{Runs: 1, Rate: 200, Seconds: 2}.Write(other)
	if err != nil {
		t.Fatal(err)
	}
	h, err := results.ReadHistory(append(paths, more...), "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Comparable(); err == nil || !strings.Contains(err.Error(), "offered") {
		t.Errorf("different rates: %v", err)
	}
}

// TestDriftGateRates measures the drift gate (--fail-on 'p99>+10%' over
// 14 nights) on 50 flat series (false alarms) and 50 that creep up 3 % a
// night, with 5 % night-to-night noise; docs/history.md quotes it.
//
//	TAILGATE_DRIFT_TABLE=1 go test -run TestDriftGateRates -v ./results/
func TestDriftGateRates(t *testing.T) {
	if os.Getenv("TAILGATE_DRIFT_TABLE") == "" {
		t.Skip("set TAILGATE_DRIFT_TABLE=1")
	}
	rule, _ := analysis.ParseFailRule("p99>+10%")
	const seeds = 50
	for _, drift := range []float64{1, 1.01, 1.03} {
		fails := 0
		for seed := range uint64(seeds) {
			h := readSeries(t, histtest.Series{Runs: 14, Drift: drift, Seed: 1000 + seed, Rate: 200})
			if err := h.Gate(0, []analysis.FailRule{rule}, analysis.CompareOptions{Resamples: 1000, Seed: seed}); err != nil {
				t.Fatal(err)
			}
			if len(h.Drift.Breaches) > 0 {
				fails++
			}
		}
		t.Logf("drift ×%.2f a night over 14 nights: the gate failed %d of %d series", drift, fails, seeds)
	}
}
