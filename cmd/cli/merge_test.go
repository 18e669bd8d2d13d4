package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

// Four generator processes each fire a quarter of one schedule, starting
// together; merged, they equal a single-process run of the same schedule
// arrival for arrival, and their percentiles agree within sampling error.
func TestSegmentsMergeEqualsSingleRun(t *testing.T) {
	_, base := startDemo(t, nil)
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.yaml")
	os.WriteFile(prof, []byte(`name: seg
target: {url: "http://x/item?key={{key}}"}
keys: {dist: zipf, s: 1.1, n: 1000}
seed: 7
phases:
  - {name: a, duration: 2s, rate: 300, arrivals: poisson}
  - {name: b, duration: 1s, rate: {ramp: {from: 300, to: 600}}, arrivals: poisson}
`), 0o644)
	url := base + "/item?key={{key}}"
	startAt := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	var procs []*exec.Cmd
	for i := 1; i <= 4; i++ {
		cmd := exec.Command(os.Args[0], "run", "--profile", prof, url, "--segment", fmt.Sprintf("%d/4", i),
			"--start-at", startAt, "--out", filepath.Join(dir, fmt.Sprintf("r-%d.json", i)), "-q", "--max-send-lag", "1s")
		cmd.Env = append(os.Environ(), "TAILGATE_RUN_MAIN=1")
		cmd.Stderr = os.Stderr
		inGroup(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		// A segment that hangs prints its stacks on stderr and fails.
		stop := time.AfterFunc(childLimit, func() { stopGroup(p, false) })
		err := p.Wait()
		if !stop.Stop() {
			t.Fatalf("a segment still ran after %v: stopped, its stacks are above", childLimit)
		}
		if err != nil {
			if p.ProcessState.ExitCode() == ExitInvalid {
				t.Skipf("a segment was INVALID: machine overloaded (its self-check is on stderr above)")
			}
			t.Fatalf("segment: %v", err)
		}
	}
	io, stdout, errOut := testIO()
	merged := filepath.Join(dir, "merged.json")
	if code := Execute(context.Background(), io, []string{"merge", filepath.Join(dir, "r-*.json"), "--out", merged, "--max-send-lag", "1s"}); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("merge exit %d: %s\n%s", code, errOut, stdout)
	}
	single := filepath.Join(dir, "single.json")
	io2, _, errOut2 := testIO()
	if code := Execute(context.Background(), io2, []string{"run", "--profile", prof, url, "--out", single, "-q", "--max-send-lag", "1s"}); code != ExitOK && !skipIfStarved(t, code, errOut2) {
		t.Fatalf("single exit %d: %s", code, errOut2)
	}
	m, s := readResult(t, merged), readResult(t, single)
	if m.Settings.Segment != "1,2,3,4/4" {
		t.Errorf("merged segment %q", m.Settings.Segment)
	}
	for i := range s.Summary.Phases {
		if a, b := m.Summary.Phases[i].Intended, s.Summary.Phases[i].Intended; a != b {
			t.Errorf("phase %d: merged intended %d, single %d", i, a, b)
		}
	}
	for i, sec := range s.Summary.Seconds {
		if i < len(m.Summary.Seconds) && m.Summary.Seconds[i].Offered != sec.Offered {
			t.Errorf("second %d: merged offered %d, single %d", i, m.Summary.Seconds[i].Offered, sec.Offered)
		}
	}
	// The merged percentiles are exactly those of the segments' histograms
	// together.
	union := readResult(t, filepath.Join(dir, "r-1.json")).Summary.Total.ResponseHist
	for i := 2; i <= 4; i++ {
		union.Merge(readResult(t, filepath.Join(dir, fmt.Sprintf("r-%d.json", i))).Summary.Total.ResponseHist)
	}
	mt, st := m.Summary.Total, s.Summary.Total
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if got, want := analysis.ValueAt(mt.ResponseHist, q), analysis.ValueAt(union, q); got != want {
			t.Errorf("merged p%g %d ns, segments together %d ns", 100*q, got, want)
		}
	}
	if got, want := mt.Response.P99, analysis.ValueAt(union, 0.99); got != want {
		t.Errorf("merged summary p99 %d ns, segments together %d ns", got, want)
	}
	// Against the single run, only a sanity bound: four generator processes
	// share two cores (and the in-process target's) where one does not, so
	// under -race their latencies are inflated by contention (seen: service
	// p50 0.86 ms merged against 0.26 ms single); a merge that lost units
	// or mixed clocks would be off by far more.
	if mp, sp := mt.Service.P50, st.Service.P50; mp > 10*sp || sp > 10*mp {
		t.Errorf("service p50 merged %v single %v", mp, sp)
	}
	if m.Summary.Total.ResponseHist.TotalCount() != m.Summary.Total.Completed() {
		t.Errorf("merged histogram holds %d of %d", m.Summary.Total.ResponseHist.TotalCount(), m.Summary.Total.Completed())
	}
	if !strings.Contains(stdout.String(), "merged segments [1 2 3 4] of 4") {
		t.Errorf("merge output:\n%s", stdout)
	}

	// A missing segment: INVALID naming it, unless --allow-partial.
	os.Remove(filepath.Join(dir, "r-3.json"))
	io3, stdout3, errOut3 := testIO()
	if code := Execute(context.Background(), io3, []string{"merge", filepath.Join(dir, "r-*.json"), "--out", merged, "--max-send-lag", "1s"}); code != ExitInvalid ||
		!strings.Contains(errOut3.String()+stdout3.String(), "segments [3] of 4 missing") {
		t.Errorf("partial merge: exit %d: %s", code, errOut3)
	}
	io4, _, errOut4 := testIO()
	if code := Execute(context.Background(), io4, []string{"merge", filepath.Join(dir, "r-*.json"), "--out", merged, "--allow-partial", "--max-send-lag", "1s"}); code != ExitOK && !skipIfStarved(t, code, errOut4) {
		t.Errorf("--allow-partial: exit %d: %s", code, errOut4)
	}
	// A run of another plan is refused.
	io5, _, errOut5 := testIO()
	// A segment and a whole run of the same plan are not one schedule's stripes.
	if code := Execute(context.Background(), io5, []string{"merge", filepath.Join(dir, "r-1.json"), single, "--out", merged}); code != ExitUsage || !strings.Contains(errOut5.String(), "whole runs") {
		t.Errorf("mixed merge: exit %d: %s", code, errOut5)
	}
}

func TestMergeRefusesDifferentRuns(t *testing.T) {
	srv, _ := countingServer(t, nil)
	dir := t.TempDir()
	for i, rate := range []string{"100", "200"} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", rate, "--duration", "500ms", "--out", filepath.Join(dir, fmt.Sprintf("r%d.json", i)), "-q", "--max-send-lag", "1s"}); code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("run: %d %s", code, errOut)
		}
	}
	io, _, errOut := testIO()
	code := Execute(context.Background(), io, []string{"merge", filepath.Join(dir, "r0.json"), filepath.Join(dir, "r1.json"), "--out", filepath.Join(dir, "m.json")})
	if code != ExitUsage || !strings.Contains(errOut.String(), "load differs") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"run", srv.URL, "--rate", "1", "--segment", "5/4"}, {"run", srv.URL, "--rate", "1", "--start-at", "yesterday"}, {"run", srv.URL, "--rate", "1", "--start-at", "2001-01-01T00:00:00Z"}} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, args); code != ExitUsage {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
}
