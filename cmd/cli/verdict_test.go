package cli

import (
	"context"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A healthy run against the demo target passes its objectives.
func TestVerdictPass(t *testing.T) {
	_, base := startDemo(t, nil)
	dir := t.TempDir()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", base + "/item?key={{key}}", "--keys", "zipf:1.1:1000", "--rate", "300", "--duration", "2s",
		"--slo", "p99<2s", "--slo", "errors<1%", "--out", filepath.Join(dir, "r.json"), "--junit", filepath.Join(dir, "j.xml"),
		"--markdown", filepath.Join(dir, "s.md"), "-q", "--max-send-lag", "1s"})
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
	if !strings.Contains(stdout.String(), "verdict: PASS") {
		t.Errorf("table:\n%s", stdout)
	}
	f := readResult(t, filepath.Join(dir, "r.json"))
	if f.Verdict == nil || f.Verdict.Status != "PASS" || len(f.Verdict.Results) != 2 {
		t.Fatalf("verdict %+v", f.Verdict)
	}
	checkJUnit(t, filepath.Join(dir, "j.xml"), 0)
	if md, _ := os.ReadFile(filepath.Join(dir, "s.md")); !strings.Contains(string(md), "PASS") {
		t.Errorf("markdown:\n%s", md)
	}
}

// A degraded dependency breaches the degraded phase's p99: FAIL, naming
// the phase and the margin.
func TestVerdictFailNamesPhase(t *testing.T) {
	_, base := startDemo(t, nil)
	dir := t.TempDir()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "--profile", "testdata/degraded-short.yaml", base + "/item?key={{key}}",
		"--slo", "degraded:p99<150ms", "--slo", "baseline:p99<150ms", "--out", filepath.Join(dir, "r.json"),
		"--junit", filepath.Join(dir, "j.xml"), "-q", "--max-send-lag", "1s"})
	f := readResult(t, filepath.Join(dir, "r.json"))
	requireKeptUp(t, f)
	if code != ExitFail {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
	if !strings.Contains(errOut.String(), "degraded") || !strings.Contains(stdout.String(), "✗ degraded: p99") {
		t.Errorf("stderr %q\n%s", errOut, stdout)
	}
	checkJUnit(t, filepath.Join(dir, "j.xml"), 1)
}

// A starved generator (one slot, a slow target) is INVALID, not FAIL,
// even though its objective is breached.
func TestVerdictStarvedGeneratorInvalid(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) })
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "200", "--duration", "1s", "--max-in-flight", "1",
		"--slo", "p99<10ms", "-q"})
	// INVALID, and among the reasons (a loaded machine may add its own
	// first) the cap: 200/s × 20 ms needs 4 in flight.
	if code != ExitInvalid || !strings.Contains(errOut.String(), "INVALID") || !strings.Contains(stdout.String(), "raise --max-in-flight") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
}

// Too few samples for the percentile asked: INVALID.
func TestVerdictTooFewSamplesInvalid(t *testing.T) {
	srv, _ := countingServer(t, nil)
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "200", "--duration", "5s",
		"--slo", "p99.99<1s", "-q", "--max-send-lag", "1s"})
	if code != ExitInvalid || !strings.Contains(stdout.String()+errOut.String(), "samples") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
}

// gate re-judges a stored result against other objectives.
func TestGate(t *testing.T) {
	srv, _ := countingServer(t, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "400", "--duration", "2s", "--out", out, "-q", "--max-send-lag", "1s"}); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("run exit %d: %s", code, errOut)
	}
	slo := filepath.Join(dir, "slo.yaml")
	os.WriteFile(slo, []byte("objectives:\n  - {metric: p99, op: \"<\", threshold: 1ns}\n"), 0o644)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"gate", out, "--slo", "p99<5s", "--max-send-lag", "1s"}, ExitOK},
		{[]string{"gate", out, "--slo-file", slo, "--max-send-lag", "1s", "--junit", filepath.Join(dir, "g.xml")}, ExitFail},
		{[]string{"gate", out, "--slo", "nope:p99<5s"}, ExitUsage},
		{[]string{"gate", out, "--slo", "p99<<5s"}, ExitUsage},
		{[]string{"gate", filepath.Join(dir, "missing.json"), "--slo", "p99<5s"}, ExitUsage},
	} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, tt.args); code != tt.code {
			t.Errorf("%v: exit %d, want %d: %s", tt.args, code, tt.code, errOut)
		}
	}
	checkJUnit(t, filepath.Join(dir, "g.xml"), 1)
}

func checkJUnit(t *testing.T, path string, failures int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) == 0 || doc.Suites[0].Failures != failures {
		t.Fatalf("junit shape: %+v", doc)
	}
}
