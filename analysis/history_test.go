package analysis

import (
	"math"
	"strings"
	"testing"
)

func TestWilsonInterval(t *testing.T) {
	for _, tc := range []struct {
		k, n   int64
		lo, hi float64
	}{
		{0, 100, 0, 0.0370},        // no errors still has an upper bound
		{5, 100, 0.0215, 0.1118},   // textbook value
		{100, 100, 0.9630, 1},      // all
		{50, 1000, 0.0381, 0.0653}, // 5 % of 1000
	} {
		lo, hi := WilsonInterval(tc.k, tc.n, 0.95)
		if math.Abs(lo-tc.lo) > 5e-4 || math.Abs(hi-tc.hi) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	if lo, hi := WilsonInterval(0, 0, 0.95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("n = 0: [%v, %v]", lo, hi)
	}
}

func TestPointOf(t *testing.T) {
	s, _ := collectRun(t, 1, 1, 2)
	p := PointOf(&s.Total)
	if len(p.Values) != len(HistoryMetrics) || p.Completed != s.Total.OK+s.Total.Errors {
		t.Fatalf("point %+v", p)
	}
	for i, m := range HistoryMetrics {
		e := p.Values[i]
		if m == CompareP999 && math.IsNaN(e.Lo) && s.Total.Response.Count < int64(MinSamples(0.999)) {
			continue // too few samples for its interval
		}
		if !(e.Lo <= e.V && e.V <= e.Hi) {
			t.Errorf("%s: %v not in [%v, %v]", m, e.V, e.Lo, e.Hi)
		}
	}
	p50, _ := p.Value(CompareP50)
	p99, _ := p.Value(CompareP99)
	p999, _ := p.Value(CompareP999)
	if !(p50.V < p99.V && p99.V <= p999.V) || p50.V != float64(s.Total.Response.P50) || p99.V != float64(s.Total.Response.P99) {
		t.Errorf("p50 %v, p99 %v, p99.9 %v; summary p50 %v, p99 %v", p50.V, p99.V, p999.V, s.Total.Response.P50, s.Total.Response.P99)
	}
	if e, _ := p.Value(CompareErrorRate); math.Abs(e.V-0.02) > 0.01 {
		t.Errorf("error rate %v, want about 2 %%", e.V)
	}
	if _, ok := p.Value(CompareMax); ok {
		t.Error("a history does not follow max")
	}
}

func TestHistoryChanges(t *testing.T) {
	var pts []RunPoint
	for i := range 12 {
		scale := 1.0
		if i >= 6 {
			scale = 1.5
		}
		s, _ := collectRun(t, uint64(100+i), scale, 0)
		pts = append(pts, PointOf(&s.Total))
	}
	cs, warns, err := HistoryChanges(pts, ChangeOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var p99 int
	for _, c := range cs {
		if c.Metric == CompareErrorRate {
			t.Errorf("error rate change %+v in a series without errors", c)
		}
		if c.Metric == CompareP99 {
			p99++
			if c.Index != 6 || math.Abs(c.Shift-0.5) > 0.1 {
				t.Errorf("p99 change %+v, want +50 %% at run 6", c)
			}
		}
	}
	if p99 != 1 || len(warns) != 0 {
		t.Errorf("%d p99 changes, warnings %v: %+v", p99, warns, cs)
	}
	// A run without responses cannot be in a latency series.
	pts[3].Values[1].V = 0
	if _, warns, err := HistoryChanges(pts, ChangeOptions{Permutations: 999}); err != nil || len(warns) != 1 || !strings.Contains(warns[0], "p99") {
		t.Errorf("zero p99: %v, %v", err, warns)
	}
}

// CheckDrift fails a p99 that creeps up 5 % a night for 8 nights (no
// night 10 % worse than the one before; the last 4 are about 22 % above
// the first 4), and passes 8 flat nights. (results' TestHistoryDriftGate
// has 3 % a night for 14 nights, from files.)
func TestCheckDrift(t *testing.T) {
	rule, err := ParseFailRule("p99>+10%")
	if err != nil {
		t.Fatal(err)
	}
	series := func(growth float64, seed uint64) []RunData {
		var runs []RunData
		for i := range 8 {
			s, iv := collectRun(t, seed+uint64(i), math.Pow(growth, float64(i)), 0)
			runs = append(runs, RunDataFromSummary(s, iv))
		}
		return runs
	}
	opt := CompareOptions{Resamples: 300, Seed: 1}
	g, err := CheckDrift(series(1.05, 200), 0, []FailRule{rule}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.A) != 4 || len(g.B) != 4 || g.A[0] != 0 || g.B[3] != 7 || len(g.Breaches) != 1 {
		t.Errorf("creeping p99: sides %v %v, breaches %v", g.A, g.B, g.Breaches)
	}
	g, err = CheckDrift(series(1, 300), 0, []FailRule{rule}, opt)
	if err != nil || len(g.Breaches) != 0 {
		t.Errorf("flat: %v, breaches %v", err, g.Breaches)
	}
	// --last 5 of 8: runs 3, 4 against 6, 7.
	g, err = CheckDrift(series(1, 300), 5, []FailRule{rule}, opt)
	if err != nil || len(g.A) != 2 || g.A[0] != 3 || g.B[0] != 6 {
		t.Errorf("last 5: %v, sides %v %v", err, g.A, g.B)
	}
	if _, err := CheckDrift(series(1, 300)[:1], 0, []FailRule{rule}, opt); err == nil {
		t.Error("one run: no error")
	}
	bad, _ := ParseFailRule("nosuch:p99>+10%")
	if _, err := CheckDrift(series(1, 300), 0, []FailRule{bad}, opt); err == nil {
		t.Error("a rule on a missing phase: no error")
	}
}
