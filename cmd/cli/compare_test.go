package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One ab run against two demo targets whose dependencies differ (1 ms vs
// 6 ms median) finds B slower at p50 and names it.
func TestABFindsTheSlowerBuild(t *testing.T) {
	a := startDemoProcess(t, "--dep-median", "1ms", "--cache-ttl", "0", "--tail-prob", "0")
	b := startDemoProcess(t, "--dep-median", "6ms", "--cache-ttl", "0", "--tail-prob", "0")
	dir := t.TempDir()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"ab", "--a", a + "/", "--b", b + "/", "--rate", "300", "--duration", "4s",
		"-q", "--max-send-lag", "1s", "--fail-on", "p50>+50%", "--json", filepath.Join(dir, "d.json"),
		"--out-a", filepath.Join(dir, "a.json"), "--out-b", filepath.Join(dir, "b.json")})
	if code == ExitInvalid {
		skipIfStarved(t, code, errOut)
	}
	if code != ExitFail {
		t.Fatalf("exit %d (want 1: p50 is far more than 50%% worse): %s\n%s", code, errOut, stdout)
	}
	if !strings.Contains(stdout.String(), "B is") || !strings.Contains(stdout.String(), "slower at p50") {
		t.Errorf("%s", stdout)
	}
	var diff map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "d.json"))
	if err := json.Unmarshal(raw, &diff); err != nil {
		t.Fatalf("json diff: %v", err)
	}
	fa, fb := readResult(t, filepath.Join(dir, "a.json")), readResult(t, filepath.Join(dir, "b.json"))
	// The coin splits one schedule about evenly, and both sides saw the
	// same phases.
	na, nb := fa.Summary.Total.Intended, fb.Summary.Total.Intended
	if na+nb != 1200 || na < 500 || nb < 500 {
		t.Errorf("sides got %d and %d of 1200", na, nb)
	}

	// compare on the two side files reaches the same verdict, and the
	// fail-on rules and refusals behave.
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), "--fail-on", "p50>+50%"}, ExitFail},
		{[]string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}, ExitOK},
		{[]string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), "--fail-on", "p50>>1"}, ExitUsage},
		{[]string{"compare", filepath.Join(dir, "b.json"), filepath.Join(dir, "a.json"), "--fail-on", "p50>+50%"}, ExitOK}, // B faster
	} {
		io, out, errOut := testIO()
		if code := Execute(context.Background(), io, tt.args); code != tt.code {
			t.Errorf("%v: exit %d, want %d: %s\n%s", tt.args[1:], code, tt.code, errOut, out)
		}
	}
}

func TestCompareRefusesDifferentRates(t *testing.T) {
	srv, _ := countingServer(t, nil)
	dir := t.TempDir()
	for i, rate := range []string{"100", "300"} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", rate, "--duration", "1s", "-q",
			"--out", filepath.Join(dir, []string{"a.json", "b.json"}[i])}); code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("run: %d %s", code, errOut)
		}
	}
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}); code != ExitUsage || !strings.Contains(errOut.String(), "--force") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	io2, _, errOut2 := testIO()
	if code := Execute(context.Background(), io2, []string{"compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), "--force"}); code != ExitOK {
		t.Errorf("--force: exit %d: %s", code, errOut2)
	}
}
