package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tailgate/internal/histtest"
	"tailgate/results"
)

func TestNewCmdHistory(t *testing.T) {
	io, _, _ := testIO()
	var got *HistoryOptions
	cmd := NewCmdHistory(io, func(o *HistoryOptions) error { got = o; return nil })
	md := filepath.Join(t.TempDir(), "h.md")
	cmd.SetArgs([]string{"results/", "old/*.json", "--phase", "burst", "--last", "14", "--fail-on", "p99>+10%",
		"--fail-on", "errors>+0.5pp", "--alpha", "0.05", "--min-segment", "4", "--bootstrap-seed", "7", "--markdown", md, "--force"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !slices.Equal(got.Args, []string{"results/", "old/*.json"}) || got.Phase != "burst" || got.Last != 14 ||
		len(got.rules) != 2 || got.rules[1].String() != "errors>+0.5pp" || got.Alpha != 0.05 || got.MinSegment != 4 ||
		got.Seed != 7 || got.Markdown != md || !got.Force || got.Resamples != 2000 {
		t.Fatalf("options %+v", got)
	}
}

func TestHistoryUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"history"},      // no files
		{"history", dir}, // a directory without results
		{"history", filepath.Join(dir, "nope.json")}, // a missing file
		{"history", dir, "--fail-on", "p99>>10%"},    // a bad rule
		{"history", dir, "--alpha", "1.5"},           // not a probability
		{"history", dir, "--last", "1"},              // a window of one run
		{"history", dir, "--last", "5"},              // a window without a rule
	} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, args); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, ExitUsage, errOut)
		}
	}
}

// The history of twenty nights with +15 % from night 8 names night 8 and
// writes its Markdown and JSON; the exit code is 0 (no gate).
func TestHistoryRunNamesTheStep(t *testing.T) {
	dir := t.TempDir()
	if _, err := (histtest.Series{StepAt: 7, Step: 1.15, Seed: 2, Builds: true}).Write(dir); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	md, js, page := filepath.Join(out, "h.md"), filepath.Join(out, "h.json"), filepath.Join(out, "h.html")
	io, stdout, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"history", dir, "--markdown", md, "--json", js, "--html", page}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout.String(), "p99 rose 14% [+8%, +21%] between run 7 (build-7) and run 8 (build-8)") {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(md)
	if err != nil || !strings.HasPrefix(string(b), "## 📈 tailgate history:") {
		t.Errorf("markdown %v:\n%s", err, b)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "p99 rose 14%") || strings.Count(string(b), "<svg ") != 2 {
		t.Errorf("html %v: %d bytes", err, len(b))
	}
	var rep results.HistoryReport
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &rep) != nil || len(rep.Runs) != 20 || rep.Runs[7].Label != "build-8" {
		t.Errorf("json %v: %+v", err, rep)
	}
}

// --fail-on is a gate for slow drift: fourteen nights 3 % slower each
// fail it (exit 1), fourteen flat ones pass (exit 0).
func TestHistoryRunDriftGate(t *testing.T) {
	creep, flat := t.TempDir(), t.TempDir()
	if _, err := (histtest.Series{Runs: 14, Drift: 1.03, Seed: 4, Rate: 200}).Write(creep); err != nil {
		t.Fatal(err)
	}
	if _, err := (histtest.Series{Runs: 14, Seed: 4, Rate: 200}).Write(flat); err != nil {
		t.Fatal(err)
	}
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"history", filepath.Join(creep, "*.json"), "--fail-on", "p99>+10%", "--resamples", "400"})
	if code != ExitFail || !strings.Contains(stdout.String(), "breaches p99>+10%") || !strings.Contains(errOut.String(), "runs 1–14 drifted") {
		t.Errorf("creeping: exit %d\n%s\n%s", code, stdout, errOut)
	}
	io, stdout, errOut = testIO()
	code = Execute(context.Background(), io, []string{"history", flat, "--last", "10", "--fail-on", "p99>+10%", "--resamples", "400"})
	if code != ExitOK || !strings.Contains(stdout.String(), "runs 5–9 against runs 10–14") {
		t.Errorf("flat: exit %d\n%s\n%s", code, stdout, errOut)
	}
}

// Runs of another scenario are refused, or followed with --force.
func TestHistoryRunOtherScenario(t *testing.T) {
	dir := t.TempDir()
	if _, err := (histtest.Series{Runs: 4, Rate: 100, Seconds: 2}).Write(dir); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := (histtest.Series{Runs: 1, Rate: 300, Seconds: 2}).Write(other); err != nil {
		t.Fatal(err)
	}
	args := []string{"history", dir, other}
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, args); code != ExitUsage || !strings.Contains(errOut.String(), "--force") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	io, stdout, errOut := testIO()
	if code := Execute(context.Background(), io, append(args, "--force")); code != ExitOK || !strings.Contains(stdout.String(), "warning: runs are not comparable") ||
		!strings.Contains(stdout.String(), "5 runs: too few for a change point") {
		t.Errorf("--force: exit %d\n%s\n%s", code, stdout, errOut)
	}
}
