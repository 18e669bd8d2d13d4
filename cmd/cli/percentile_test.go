package cli

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
	"tailgate/results"
)

// nearestRank reads quantile num/den from h's own bucket counts, by the
// reference HdrHistogram's rule and without tailgate's code: the highest
// value of the bucket holding the k-th smallest value, k = ⌈num·n/den⌉
// (exact, in integers), at least 1.
func nearestRank(h *hdr.Histogram, num, den int64) time.Duration {
	k := max((num*h.TotalCount()+den-1)/den, 1)
	var cum int64
	for _, b := range h.Distribution() {
		if cum += b.Count; cum >= k {
			return time.Duration(b.To)
		}
	}
	return 0
}

// roundedRank is hdrhistogram-go's rule, ⌊q·n + ½⌋, read the same way:
// what tailgate reported before it took the reference rule.
func roundedRank(h *hdr.Histogram, num, den int64) time.Duration {
	n := h.TotalCount()
	k := max((2*num*n+den)/(2*den), 1)
	var cum int64
	for _, b := range h.Distribution() {
		if cum += b.Count; cum >= k {
			return time.Duration(b.To)
		}
	}
	return 0
}

// End to end: a run against a server that sleeps durations from a seeded
// list, with a p99 objective. The table's p99, the objective's measured
// value and the summary's p99 are all the nearest-rank value of the total
// response histogram written to the result file, and compare reads the
// same percentiles from two such files.
//
// 680 requests: p99's nearest rank is ⌈673.2⌉ = 674, the rounded rank 673.
// Seven of the sleeps are long, so the 674th response is one of them and
// the 673rd (barring a stray slow request) is not: the rules disagree.
func TestPercentilesEndToEndAreNearestRank(t *testing.T) {
	const n, rate, dur = 680, 340, 2 * time.Second
	sleepsFor := func(seed uint64) []time.Duration {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(500+rng.IntN(2500)) * time.Microsecond
		}
		for _, i := range rng.Perm(n)[:7] {
			s[i] = time.Duration(30+rng.IntN(40)) * time.Millisecond
		}
		return s
	}
	dir := t.TempDir()
	run := func(name string, seed uint64) (*results.File, string) {
		sleeps := sleepsFor(seed)
		var next atomic.Int64
		srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(sleeps[int(next.Add(1)-1)%len(sleeps)])
			w.WriteHeader(204)
		})
		out := filepath.Join(dir, name+".json")
		io, stdout, errOut := testIO()
		code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "340",
			"--duration", dur.String(), "--slo", "p99<10s", "--out", out})
		if code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%s: exit %d; stderr %s\n%s", name, code, errOut, stdout)
		}
		return readResult(t, out), stdout.String()
	}
	fa, stdout := run("a", 1)

	// The total response histogram, decoded from the file as written.
	raw, err := os.ReadFile(filepath.Join(dir, "a.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Histograms results.Histograms `json:"histograms"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	h, err := results.DecodeHistogram(file.Histograms.Total.ResponseTime)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != n {
		t.Fatalf("%d responses in the histogram, want %d", h.TotalCount(), n)
	}
	want := nearestRank(h, 99, 100)
	if got := analysis.ValueAt(h, 0.99); got != want {
		t.Fatalf("ValueAt(0.99) = %d, nearest rank from the counts %d", got, want)
	}
	if rounded := roundedRank(h, 99, 100); rounded == want {
		t.Logf("the rounded rule gives the same p99 (%v) in this run: a stray slow response filled the gap", want)
	}

	// The summary, all its percentiles.
	tot := fa.Summary.Total.Response
	for _, c := range []struct {
		name     string
		got      time.Duration
		num, den int64
	}{
		{"p50", tot.P50, 1, 2}, {"p90", tot.P90, 9, 10}, {"p95", tot.P95, 95, 100}, {"p99", tot.P99, 99, 100},
		{"p99.9", tot.P999, 999, 1000}, {"p99.99", tot.P9999, 9999, 10000},
	} {
		if w := nearestRank(h, c.num, c.den); c.got != w {
			t.Errorf("summary %s = %d, nearest rank %d", c.name, c.got, w)
		}
	}

	// The table on stdout.
	var row []string
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == '│' || r == ' ' })
		if len(f) == 3 && f[0] == "p99" {
			row = f
			break
		}
	}
	if row == nil || row[1] != results.FormatDuration(want) {
		t.Errorf("table p99 row %q, want response time %s:\n%s", row, results.FormatDuration(want), stdout)
	}

	// The objective's measurement.
	if fa.Verdict == nil || len(fa.Verdict.Results) == 0 {
		t.Fatal("no verdict in the result file")
	}
	var measured bool
	for _, r := range fa.Verdict.Results {
		if r.Objective.Metric == analysis.MetricQuantile && r.Phase == "total" {
			measured = true
			if time.Duration(r.Measured) != want {
				t.Errorf("objective %s measured %v, nearest rank %d", r.Objective, r.Measured, want)
			}
			if r.HasCI && !(r.CILo <= r.Measured && r.Measured <= r.CIHi) {
				t.Errorf("p99 %v outside its interval [%v, %v]", r.Measured, r.CILo, r.CIHi)
			}
		}
	}
	if !measured {
		t.Errorf("no p99 result: %+v", fa.Verdict.Results)
	}
	if !strings.Contains(stdout, "total: p99 "+results.FormatDuration(want)+" meets") {
		t.Errorf("the objective's line does not show p99 %s:\n%s", results.FormatDuration(want), stdout)
	}

	// compare reads the same percentiles from both files.
	fb, _ := run("b", 2)
	io, out, errOut := testIO()
	diffPath := filepath.Join(dir, "d.json")
	if code := Execute(context.Background(), io, []string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"),
		"--json", diffPath, "--resamples", "200"}); code != ExitOK {
		t.Fatalf("compare: exit %d: %s\n%s", code, errOut, out)
	}
	var diff results.CompareReport
	raw, err = os.ReadFile(diffPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &diff); err != nil {
		t.Fatal(err)
	}
	ha, hb := fa.Summary.Phases[0].ResponseHist, fb.Summary.Phases[0].ResponseHist
	frac := map[string][2]int64{"p50": {1, 2}, "p90": {9, 10}, "p99": {99, 100}, "p99.9": {999, 1000}}
	checked := 0
	for _, d := range diff.Deltas {
		f, ok := frac[d.Metric]
		if !ok || d.Phase != fa.Summary.Phases[0].Name {
			continue
		}
		checked++
		for side, c := range map[string]struct {
			got *float64
			h   *hdr.Histogram
		}{"A": {d.A, ha}, "B": {d.B, hb}} {
			if w := nearestRank(c.h, f[0], f[1]); c.got == nil || time.Duration(*c.got) != w {
				t.Errorf("compare %s %s = %v, nearest rank %d", side, d.Metric, c.got, w)
			}
		}
	}
	if checked != len(frac) {
		t.Errorf("compare reported %d of the %d latency percentiles for phase %q:\n%s", checked, len(frac), fa.Summary.Phases[0].Name, raw)
	}
}
