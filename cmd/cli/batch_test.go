package cli

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/results"
)

// batchTarget starts the demo target in a child process (its CPU is not
// the generator's) with workers handling POST /batch at a cost of fixed
// + perItem × items, and nothing else slowing it down.
func batchTarget(t *testing.T, workers, fixed, perItem string) string {
	return startDemoProcess(t, "--workers", workers, "--service-time", "0", "--batch-fixed", fixed,
		"--batch-per-item", perItem, "--cache-ttl", "0", "--dep-median", "0", "--tail-prob", "0")
}

// closedBatch measures base's unbatched capacity closed loop: one item per
// POST /batch, 4 connections (twice the workers, so one always waits),
// 2 s.
func closedBatch(t *testing.T, base string) float64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "closed.json")
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", base + "/batch", "-X", "POST", "--data", `[{"key":"a"}]`,
		"--rate", "max", "-c", "4", "--duration", "2s", "-q", "--out", out}); code != ExitOK {
		t.Fatalf("closed loop: exit %d: %s", code, errOut)
	}
	return readResult(t, out).Summary.Total.GoodputRate
}

// closedReference is the closed-loop capacity around a batch run: the
// mean of the runs before and after it, or, when they differ by more
// than 10 % (the machine changed under them), the median of three.
func closedReference(t *testing.T, base string, before, after float64) (float64, string) {
	t.Helper()
	if math.Abs(before-after) <= 0.1*(before+after)/2 {
		return (before + after) / 2, fmt.Sprintf("%.0f and %.0f items/s", before, after)
	}
	third := closedBatch(t, base)
	runs := []float64{before, after, third}
	slices.Sort(runs)
	return runs[1], fmt.Sprintf("%.0f, %.0f and %.0f items/s (median)", before, after, third)
}

// batchSettingOf finds the setting B, L in a batch result.
func batchSettingOf(t *testing.T, f *results.File, b int, l time.Duration) *analysis.BatchSetting {
	t.Helper()
	for i := range f.Batch.Settings {
		if s := &f.Batch.Settings[i]; s.BatchSize == b && s.Linger == l {
			return s
		}
	}
	t.Fatalf("no setting B=%d L=%v in %+v", b, l, f.Batch.Settings)
	return nil
}

// capacityOff reports whether setting b's capacity is not bracketed on
// both sides or is more than 15 % from the closed-loop reference ref.
func capacityOff(b *analysis.BatchSetting, ref float64) bool {
	return b.Capacity.Lo == 0 || b.CapHi == 0 || math.Abs(b.Estimate/ref-1) > 0.15
}

// cutShort says why a setting's search, if any, ended early: twice in a
// row the generator could not keep to the schedule (the machine starved
// it), so the setting's capacity was not measured.
func cutShort(ss ...*analysis.BatchSetting) string {
	for _, s := range ss {
		if strings.Contains(s.Search, "where the generator could not keep up") {
			return s.Label() + ": " + s.Search
		}
	}
	return ""
}

// A target with a per-request and a per-item cost (2 workers, 2 ms per
// request + 0.1 ms per item: about 950 items/s unbatched, 8,900 in
// batches of 16, less on a loaded machine): each setting's capacity is
// searched for; the unbatched one matches what a closed-loop run
// measures, and the batched one is recommended with its gain named
// against B=1. Evenly spaced arrivals: with Poisson ones a 1-s cell's
// offered count scatters by ±4 % at 600 items/s, and a cell at 90 % of
// capacity that drew 5 % more items than its rate completed less than 95
// % of them (saturated), 15 % below the closed-loop capacity.
func TestBatchCapacity(t *testing.T) {
	base := batchTarget(t, "2", "2ms", "100us")
	out := filepath.Join(t.TempDir(), "b.json")
	var f *results.File
	var stdout *bytes.Buffer
	var b1, b16 *analysis.BatchSetting
	var ref float64
	var refText string
	// An unbatched search the starved generator cut short measured
	// nothing, and one made while other work took the machine (the closed
	// loop measured before and after it, in calmer moments) compares
	// nothing: the run is made again, up to three times in all; then a cut
	// short search skips the test and a mismatch fails it. (A batched
	// search cut short usually still held rates far above B=1's capacity:
	// its capacity is then "≥" what it held; cut short below 3× B=1, as
	// once in CI at 1,600 items/s, it too is made again.)
	const tries = 3
	for try := 0; ; try++ {
		before := closedBatch(t, base)
		io, so, errOut := testIO()
		stdout = so
		code := Execute(context.Background(), io, []string{"batch", base + "/batch", "--batch-sizes", "1,16", "--linger", "2ms",
			"--cell-duration", "2s", "--cooldown", "200ms", "--from", "400", "--precision", "0.1", "--max-steps", "16",
			"--max-send-lag", "100ms", "--max-in-flight", "256", "--target-metrics", base + "/metrics",
			"--out", out, "-q"})
		if code != ExitOK {
			t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
		}
		ref, refText = closedReference(t, base, before, closedBatch(t, base))
		f = readResult(t, out)
		b1, b16 = batchSettingOf(t, f, 1, 0), batchSettingOf(t, f, 16, 2*time.Millisecond)
		why := cutShort(b1)
		if why == "" && b16.Estimate < 3*b1.Estimate {
			// B=16 held rates the generator then could not keep up with
			// (CI's other packages took the machine): its "≥" compares
			// nothing.
			why = cutShort(b16)
		}
		if why == "" && !capacityOff(b1, ref) {
			break
		}
		if try == tries-1 {
			if why != "" {
				t.Skipf("machine overloaded: %s\n%s", why, stdout)
			}
			break
		}
		if why == "" {
			why = fmt.Sprintf("unbatched capacity %.0f items/s, closed loop %s", b1.Estimate, refText)
		}
		t.Logf("machine overloaded, once more: %s", why)
	}
	// The unbatched capacity, bracketed on both sides, within 15 % of
	// closed loop.
	if capacityOff(b1, ref) {
		t.Errorf("unbatched capacity %.0f items/s %+v, closed loop %s\n%s", b1.Estimate, b1.Capacity, refText, stdout)
	}
	t.Logf("unbatched capacity %.0f items/s [%.0f, %.0f], closed loop %s; B=16 %.0f items/s", b1.Estimate, b1.Capacity.Lo, b1.CapHi, refText, b16.Estimate)
	// B=16 recommended, its gain stated against B=1 (about 9× with the
	// costs above; 3× is far outside any noise).
	rec := f.Batch.Recommendation
	if !b16.Recommended || b1.Recommended || !strings.HasPrefix(rec, "B=16, linger 2 ms: capacity ") ||
		!strings.Contains(rec, "× the capacity of B=1, no linger (") || b16.Estimate < 3*b1.Estimate || !b16.Pareto {
		t.Errorf("recommendation %q\n%s", rec, stdout)
	}
	// The target's CPU per item: a batch of 16 parses one request for 16
	// items.
	if b1.Cost <= 0 || b16.Cost <= 0 || b16.Cost >= b1.Cost {
		t.Errorf("CPU s per 1,000 items: B=1 %v, B=16 %v", b1.Cost, b16.Cost)
	}
	// Every cell is in the file in run order, each with its step.
	if len(f.Steps) != len(f.Batch.Cells) || !f.Batch.Search || f.Batch.ReferenceRate <= 0 {
		t.Fatalf("%d steps, %d cells, search %v, reference %v", len(f.Steps), len(f.Batch.Cells), f.Batch.Search, f.Batch.ReferenceRate)
	}
	for i, c := range f.Batch.Cells {
		if name := f.Steps[i].Summary.Phases[0].Name; !strings.HasPrefix(name, fmt.Sprintf("B=%d ", c.BatchSize)) {
			t.Errorf("cell %d (B=%d at %v) is step %q", i, c.BatchSize, c.Rate, name)
		}
	}
	for _, want := range []string{"capacity searched per setting", "★ frontier, recommended", "B=1, no linger: capacity between"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
}

// A target whose cost does not depend on batching: 32 workers, 100 ms
// per item, nothing per request (about 320 items/s however the items
// come). Every request also costs the time the worker takes to wake up,
// a few milliseconds on a loaded machine: with 10 ms per item that made
// batches of 8 carry 20–40 % more than single items closed loop, a real
// gain; against 100 ms it is a few percent. Batching buys nothing, and the
// recommendation says so and is B=1, whatever the noise, on two seeds
// and at fixed rates. Cells of 2 s: a cell's first second, where
// completions lag arrivals by the time an item takes, is left out of its
// judgement only when it has a second one.
func TestBatchNoGain(t *testing.T) {
	base := batchTarget(t, "32", "0", "100ms")
	runs := 0
	for _, args := range [][]string{
		{"--seed", "1"}, {"--seed", "2"},
		{"--rates", "100,200", "--seed", "3"},
	} {
		out := filepath.Join(t.TempDir(), "b.json")
		io, stdout, errOut := testIO()
		code := Execute(context.Background(), io, append([]string{"batch", base + "/batch", "--batch-sizes", "1,8", "--linger", "5ms",
			"--cell-duration", "2s", "--cooldown", "100ms", "--from", "100", "--precision", "0.2", "--max-steps", "10",
			"--max-send-lag", "100ms", "--out", out, "-q"}, args...))
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s\n%s", args, code, errOut, stdout)
		}
		f := readResult(t, out)
		b1, b8 := batchSettingOf(t, f, 1, 0), batchSettingOf(t, f, 8, 5*time.Millisecond)
		if why := cutShort(b1, b8); why != "" {
			t.Logf("%v: machine overloaded, not counted: %s", args, why)
			continue
		}
		if b1.CapHi > 0 && b1.CapHi < 160 {
			// The target carries about 320 items/s unbatched: a bracket
			// that ends below half of that was found on a machine that
			// could not run the target (seen in CI with other sessions
			// loading both cores: 41 items/s [38, 44]).
			t.Logf("%v: machine overloaded, not counted: B=1's capacity %.0f items/s [%.0f, %.0f] is below half the target's", args, b1.Estimate, b1.Capacity.Lo, b1.CapHi)
			continue
		}
		runs++
		t.Logf("%v: B=1 %.0f items/s [%.0f, %.0f], B=8 %.0f [%.0f, %.0f]: %s", args, b1.Estimate, b1.Capacity.Lo, b1.CapHi,
			b8.Estimate, b8.Capacity.Lo, b8.CapHi, f.Batch.Recommendation)
		if !b1.Recommended || b8.Recommended || !strings.HasPrefix(f.Batch.Recommendation, "B=1, no linger: batching does not help here; capacity ") {
			t.Errorf("%v: %s\n%s", args, f.Batch.Recommendation, stdout)
		}
	}
	if runs == 0 {
		t.Skip("machine overloaded in every run")
	}
}

// At fixed rates (--rates), every setting runs at every rate; a cell the
// target could not keep up with is saturated, not invalid, and its
// completion rate bounds the setting's capacity; the table lists cells by
// rate, then batch size, then linger.
func TestBatchGrid(t *testing.T) {
	base := startDemoProcess(t, "--workers", "4")
	out := filepath.Join(t.TempDir(), "b.json")
	var f *results.File
	var stdout *bytes.Buffer
	// A cell the generator could not keep to its schedule (the machine
	// starved it) is INVALID: the grid runs once more, then the test
	// skips.
	for try := 0; ; try++ {
		io, so, errOut := testIO()
		stdout = so
		code := Execute(context.Background(), io, []string{"batch", base + "/batch", "--batch-sizes", "16,1", "--linger", "5ms",
			"--rates", "1000,300", "--cell-duration", "2s", "--cooldown", "200ms", "--slo", "p99<200ms", "--max-send-lag", "100ms",
			"--out", out, "-q"})
		if code != ExitOK {
			t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
		}
		f = readResult(t, out)
		bad := slices.IndexFunc(f.Batch.Cells, func(c analysis.BatchCell) bool { return !c.Valid })
		if bad < 0 {
			break
		}
		if c := f.Batch.Cells[bad]; try == 1 {
			t.Skipf("machine overloaded: cell %d (%s at %v) invalid: %s", bad, c.Label(), c.Rate, c.Why)
		}
	}
	cells := f.Batch.Cells
	if len(cells) != 4 || len(f.Steps) != 4 || len(f.Batch.Settings) != 2 || f.Batch.Search { // B=1 runs without linger: it does nothing there
		t.Fatalf("%d cells, %d steps, %d settings", len(cells), len(f.Steps), len(f.Batch.Settings))
	}
	for _, c := range cells {
		if c.BatchSize == 16 && c.Linger > 0 && (c.MeanFill <= 0 || c.FlushBySize+c.FlushByLinger == 0) {
			t.Errorf("cell %+v", c)
		}
	}
	// 4 workers × (5 ms + 0.2 ms per item): unbatched capacity ≈ 770
	// items/s (650 on the loaded project machine), below the 1,000
	// offered; batches of 16 carry it. (At 1,500, twice B=1's capacity, the
	// generator sharing 2 cores with the target fell behind its schedule
	// in every run: the cell was INVALID, not saturated.)
	b1, b16 := batchSettingOf(t, f, 1, 0), batchSettingOf(t, f, 16, 5*time.Millisecond)
	if b1.Capacity.Lo != 300 || b1.Capacity.Hi != 1000 || b1.Capacity.HiCompleted <= 0 || b1.Capacity.HiCompleted > 950 {
		t.Errorf("B=1: %+v", b1.Capacity)
	}
	rec := f.Batch.Recommendation
	if !b16.Recommended || !strings.HasPrefix(rec, "B=16, linger 5 ms: capacity ≥ 1,000 items/s under p99<200ms, ≥ ") ||
		!strings.Contains(rec, "× the capacity of B=1, no linger (") {
		t.Errorf("recommendation %q\n%s", rec, stdout)
	}
	// The table: cells by rate, then batch size, then linger; the
	// saturated cell says so, with its completion rate.
	var rows []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if fields := strings.Split(line, "│"); len(fields) > 4 && strings.TrimSpace(fields[1]) != "" &&
			(strings.TrimSpace(fields[1]) == "300" || strings.TrimSpace(fields[1]) == "1000") {
			rows = append(rows, strings.Join(strings.Fields(strings.Join(fields[1:4], " ")), " "))
		}
	}
	want := []string{"300 1 0", "300 16 5.00ms", "1000 1 0", "1000 16 5.00ms"}
	if !slices.Equal(rows, want) || !strings.Contains(stdout.String(), "saturated: completed ") {
		t.Errorf("rows %q, want %q\n%s", rows, want, stdout)
	}
	io2, html, _ := testIO()
	if code := Execute(context.Background(), io2, []string{"report", out, "--format", "html"}); code != 0 || !strings.Contains(html.String(), "Item p99 against the offered rate") {
		t.Errorf("batch html: %d", code)
	}
}
