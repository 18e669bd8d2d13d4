package cli

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// buildTailgate returns a tailgate for the Action's script to run: this
// test binary, which is tailgate when TAILGATE_RUN_MAIN=1 (TestMain;
// runAction sets it), so no build is needed.
func buildTailgate(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	return exe
}

// actionRun is one run of scripts/action.sh as the Action's step.
type actionRun struct {
	code    int
	stdout  string
	summary string
	outputs map[string]string
	dir     string // the working directory
}

// runAction runs scripts/action.sh with the environment GitHub gives a
// composite action's step (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
// RUNNER_TEMP, RUNNER_OS, RUNNER_ARCH, GITHUB_ACTION_PATH) and the
// Action's inputs as action.yml passes them (INPUT_URL, …), in a fresh
// working directory.
func runAction(t *testing.T, inputs map[string]string) actionRun {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	work, runner := t.TempDir(), t.TempDir()
	out, summary := filepath.Join(runner, "output"), filepath.Join(runner, "summary")
	for _, f := range []string{out, summary} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + out, "GITHUB_STEP_SUMMARY=" + summary,
		"RUNNER_TEMP=" + runner, "RUNNER_OS=" + runnerOS(), "RUNNER_ARCH=" + runnerArch(),
		"GITHUB_ACTION_PATH=" + root, "ACTION_REPOSITORY=example/tailgate", "ACTION_REF=main",
		"TAILGATE_RUN_MAIN=1"} // the test binary is tailgate (buildTailgate)
	for k, v := range inputs {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "action.sh"))
	cmd.Dir, cmd.Env = work, env
	b, err := combinedOutput(t, cmd, childLimit)
	r := actionRun{stdout: string(b), outputs: map[string]string{}, dir: work}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if r.code == ExitInvalid {
		skipIfStarved(t, r.code, bytes.NewBufferString(r.stdout)) // this machine, not the Action
	}
	s, _ := os.ReadFile(summary)
	r.summary = string(s)
	o, _ := os.ReadFile(out)
	for _, line := range strings.Split(strings.TrimSpace(string(o)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.outputs[k] = v
		}
	}
	return r
}

func runnerOS() string {
	return map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows"}[runtime.GOOS]
}

func runnerArch() string {
	return map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
}

// slowServer answers after delay.
func slowServer(t *testing.T, delay time.Duration, seen *sync.Map) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil && r.Header.Get("X-Env") != "" {
			seen.Store(r.Header.Get("X-Env"), true)
		}
		time.Sleep(delay)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The Action's step against a loopback target: a met objective passes
// (exit 0, ✅ in the summary, verdict=PASS), a missed one fails (exit 1,
// ❌, an error annotation, verdict=FAIL); flags in the args input reach
// tailgate run, quotes and all.
func TestActionPassAndFail(t *testing.T) {
	bin := buildTailgate(t)
	var seen sync.Map
	fast := slowServer(t, 0, &seen)
	pass := runAction(t, map[string]string{"INPUT_TAILGATE": bin, "INPUT_URL": fast.URL, "INPUT_RATE": "50",
		"INPUT_DURATION": "1s", "INPUT_OBJECTIVES": "p50<2s\n  errors<1%  \n", "INPUT_RESULT": "nightly.json",
		"INPUT_ARGS": `--max-send-lag 1s -H 'X-Env: ci run'`})
	if pass.code != 0 || !strings.HasPrefix(pass.summary, "## ✅ PASS") || pass.outputs["verdict"] != "PASS" ||
		pass.outputs["exit-code"] != "0" || pass.outputs["result"] != "nightly.json" || pass.outputs["tailgate"] != bin {
		t.Fatalf("pass: exit %d, outputs %v\nsummary:\n%s\nstdout:\n%s", pass.code, pass.outputs, pass.summary, pass.stdout)
	}
	if _, err := os.Stat(filepath.Join(pass.dir, "nightly.json")); err != nil {
		t.Errorf("result file: %v", err)
	}
	if _, ok := seen.Load("ci run"); !ok {
		t.Errorf("the args input's header did not reach the target:\n%s", pass.stdout)
	}
	if !strings.Contains(pass.summary, "`p50<2s`") || !strings.Contains(pass.summary, "`errors<1%`") {
		t.Errorf("summary lacks the objectives:\n%s", pass.summary)
	}

	slow := slowServer(t, 5*time.Millisecond, nil)
	fail := runAction(t, map[string]string{"INPUT_TAILGATE": bin, "INPUT_URL": slow.URL, "INPUT_RATE": "50",
		"INPUT_DURATION": "1s", "INPUT_OBJECTIVES": "p50<1ms", "INPUT_ARGS": "--max-send-lag 1s"})
	if fail.code != ExitFail || !strings.HasPrefix(fail.summary, "## ❌ FAIL") || fail.outputs["verdict"] != "FAIL" ||
		fail.outputs["exit-code"] != "1" || !strings.Contains(fail.stdout, "::error title=tailgate FAIL::") {
		t.Fatalf("fail: exit %d, outputs %v\nsummary:\n%s\nstdout:\n%s", fail.code, fail.outputs, fail.summary, fail.stdout)
	}
	if _, err := os.Stat(filepath.Join(fail.dir, "tailgate-result.json")); err != nil {
		t.Errorf("default result path: %v", err)
	}
}

// With a baseline, a run that meets its objectives but is significantly
// slower than the baseline by more than the fail-on rule fails, and the
// comparison follows the verdict in the summary.
func TestActionBaseline(t *testing.T) {
	bin := buildTailgate(t)
	base := runAction(t, map[string]string{"INPUT_TAILGATE": bin, "INPUT_URL": slowServer(t, 0, nil).URL,
		"INPUT_RATE": "100", "INPUT_DURATION": "1s", "INPUT_OBJECTIVES": "p50<2s", "INPUT_ARGS": "--max-send-lag 1s"})
	if base.code != 0 {
		t.Fatalf("baseline: exit %d\n%s", base.code, base.stdout)
	}
	cand := runAction(t, map[string]string{"INPUT_TAILGATE": bin, "INPUT_URL": slowServer(t, 10*time.Millisecond, nil).URL,
		"INPUT_RATE": "100", "INPUT_DURATION": "1s", "INPUT_OBJECTIVES": "p50<2s", "INPUT_ARGS": "--max-send-lag 1s",
		"INPUT_BASELINE": filepath.Join(base.dir, "tailgate-result.json"), "INPUT_FAIL_ON": "p50>+10%\np90>+1000%"})
	if cand.code != ExitFail || cand.outputs["verdict"] != "FAIL" || !strings.HasPrefix(cand.summary, "## ✅ PASS") ||
		!strings.Contains(cand.summary, "## ❌ tailgate compare") {
		t.Fatalf("candidate: exit %d, outputs %v\nsummary:\n%s\nstdout:\n%s", cand.code, cand.outputs, cand.summary, cand.stdout)
	}
}

// Bad inputs: exit 2, verdict=ERROR, an annotation and a line in the
// summary, and no load.
func TestActionBadInputs(t *testing.T) {
	bin := buildTailgate(t)
	for name, inputs := range map[string]map[string]string{
		"no target":       {"INPUT_TAILGATE": bin},
		"no binary":       {"INPUT_TAILGATE": "/nonexistent/tailgate", "INPUT_URL": "http://127.0.0.1:9/"},
		"bad objective":   {"INPUT_TAILGATE": bin, "INPUT_URL": "http://127.0.0.1:9/", "INPUT_RATE": "10", "INPUT_OBJECTIVES": "p99<<1s"},
		"unbalanced args": {"INPUT_TAILGATE": bin, "INPUT_URL": "http://127.0.0.1:9/", "INPUT_ARGS": "-H 'X: y"},
	} {
		r := runAction(t, inputs)
		if r.code != ExitUsage || r.outputs["exit-code"] != "2" || !strings.Contains(r.summary, "⚠️") || !strings.Contains(r.stdout, "::error") {
			t.Errorf("%s: exit %d, outputs %v\nsummary:\n%s\nstdout:\n%s", name, r.code, r.outputs, r.summary, r.stdout)
		}
	}
}

// The version input downloads the release binary for the runner's
// platform and checks it against the release's SHA256SUMS; a binary that
// does not match is refused (exit 4).
func TestActionDownload(t *testing.T) {
	bin := buildTailgate(t)
	if runnerOS() == "" || runnerArch() == "" {
		t.Skip("no release for this platform")
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	name := "tailgate-" + runtime.GOOS + "-" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	sums := fmt.Sprintf("%x  %s\n%x  tailgate-other\n", sha256.Sum256(b), name, sha256.Sum256([]byte("x")))
	var mu sync.Mutex
	release := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/v9.9.9/" + name:
			w.Write(b)
		case "/v9.9.9/SHA256SUMS":
			w.Write([]byte(sums))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(release.Close)
	target := slowServer(t, 0, nil)
	inputs := map[string]string{"INPUT_VERSION": "v9.9.9", "TAILGATE_DOWNLOAD_BASE": release.URL + "/v9.9.9",
		"INPUT_URL": target.URL, "INPUT_RATE": "20", "INPUT_DURATION": "1s", "INPUT_ARGS": "--max-send-lag 1s"}
	if r := runAction(t, inputs); r.code != 0 || r.outputs["verdict"] != "PASS" {
		t.Fatalf("download: exit %d, outputs %v\n%s", r.code, r.outputs, r.stdout)
	}
	mu.Lock()
	sums = strings.Replace(sums, fmt.Sprintf("%x", sha256.Sum256(b)), fmt.Sprintf("%x", sha256.Sum256([]byte("y"))), 1)
	mu.Unlock()
	if r := runAction(t, inputs); r.code != ExitError || !strings.Contains(r.stdout, "does not match SHA256SUMS") {
		t.Fatalf("tampered: exit %d\n%s", r.code, r.stdout)
	}
	// The Action's own ref, when it is a version tag, is the version.
	inputs["TAILGATE_DOWNLOAD_BASE"] = release.URL + "/v0.0.0"
	delete(inputs, "INPUT_VERSION")
	inputs["ACTION_REF"] = "v0.0.0"
	if r := runAction(t, inputs); r.code != ExitError || !strings.Contains(r.stdout, "cannot download "+release.URL+"/v0.0.0/"+name) {
		t.Fatalf("ref v0.0.0: exit %d\n%s", r.code, r.stdout)
	}
}

// action.yml and scripts/action.sh agree: every input reaches the script as
// INPUT_<NAME>, the script reads no other, and the Action's outputs are the
// step's, which the script writes.
func TestActionYAMLMatchesScript(t *testing.T) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Name, Description string
		Inputs            map[string]struct{ Description string }
		Outputs           map[string]struct{ Value string }
		Runs              struct {
			Using string
			Steps []struct {
				ID, Shell, Run string
				Env            map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Name == "" || a.Description == "" || a.Runs.Using != "composite" || len(a.Runs.Steps) != 1 {
		t.Fatalf("action.yml: %+v", a)
	}
	step := a.Runs.Steps[0]
	if step.Shell != "bash" || !strings.Contains(step.Run, "$GITHUB_ACTION_PATH/scripts/action.sh") {
		t.Errorf("step: %+v", step)
	}
	script, err := os.ReadFile("../../scripts/action.sh")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range a.Inputs {
		v := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if step.Env[v] != "${{ inputs."+name+" }}" {
			t.Errorf("input %s: the step's env has %s=%q", name, v, step.Env[v])
		}
		if !strings.Contains(string(script), v) {
			t.Errorf("input %s: scripts/action.sh never reads %s", name, v)
		}
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	for k := range step.Env {
		if name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "INPUT_"), "_", "-")); strings.HasPrefix(k, "INPUT_") {
			if _, ok := a.Inputs[name]; !ok {
				t.Errorf("the step passes %s, but there is no input %s", k, name)
			}
		}
	}
	for name, out := range a.Outputs {
		if out.Value != "${{ steps."+step.ID+".outputs."+name+" }}" {
			t.Errorf("output %s = %q, not the step's", name, out.Value)
		}
		if !strings.Contains(string(script), `echo "`+name+`=`) {
			t.Errorf("scripts/action.sh never writes output %s", name)
		}
	}
}

// shellcheck (when installed; `make actionlint` requires it) finds nothing
// in the Action's script.
func TestActionScriptShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("no shellcheck")
	}
	if out, err := exec.Command(sc, "../../scripts/action.sh").CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
