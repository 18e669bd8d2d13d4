package results

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// historyForTest is fourteen nights with p50, p99 and p99.9 25 % higher
// from night 8 on and a few errors, their change points found, and a
// failed drift gate.
func historyForTest(t testing.TB) *History {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	h := &History{}
	start := time.Date(2026, 3, 1, 2, 17, 0, 0, time.UTC)
	for i := range 14 {
		f := math.Exp(0.03 * rng.NormFloat64())
		if i >= 7 {
			f *= 1.25
		}
		est := func(v float64) analysis.Estimate {
			return analysis.Estimate{V: v * f, Lo: 0.93 * v * f, Hi: 1.08 * v * f}
		}
		errs := float64(rng.IntN(5)) / 1000
		pt := analysis.RunPoint{Completed: 1000, Values: []analysis.Estimate{est(2e6), est(6.5e6), est(9e6),
			{V: errs, Lo: max(errs-0.002, 0), Hi: errs + 0.004}}}
		h.Runs = append(h.Runs, HistoryRun{Path: "n.json", Label: "build <" + string(rune('a'+i)) + ">", Started: start.AddDate(0, 0, i), ToolVersion: "v1", Point: pt})
	}
	if err := h.Detect(analysis.ChangeOptions{Seed: 1, Permutations: 999}); err != nil {
		t.Fatal(err)
	}
	rule, _ := analysis.ParseFailRule("p99>+10%")
	h.Rules = []analysis.FailRule{rule}
	h.Drift = &analysis.DriftGate{A: []int{0, 1, 2, 3, 4, 5, 6}, B: []int{7, 8, 9, 10, 11, 12, 13},
		Breaches: []string{"p99 in total: +25% [+18%, +32%], worse: breaches p99>+10%"}}
	return h
}

func TestWriteHistoryHTML(t *testing.T) {
	h := historyForTest(t)
	var buf bytes.Buffer
	if err := WriteHistoryHTML(&buf, h); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	if len(h.Changes) == 0 {
		t.Fatal("no change point in the test history")
	}
	for _, want := range []string{
		"tailgate history: 14 runs, total",
		"Drift gate (p99&gt;&#43;10%): runs 1–7 against runs 8–14", `<span class="badge">FAIL</span>`, "breaches p99&gt;&#43;10%",
		"between run 7 (build &lt;g&gt;) and run 8 (build &lt;h&gt;)", // escaped labels
		`class="bars"`, `data-series="p99 level"`, `class="marker"`, `data-series="errors"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(out, "build <g>") {
		t.Error("a label is not escaped")
	}
	if n := strings.Count(out, "<svg "); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if err := WriteHistoryHTML(&buf, &History{}); err == nil {
		t.Error("an empty history: no error")
	}
}
