package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"tailgate/internal/expose"
	"testing"
	"time"

	"tailgate/profiles"
	"tailgate/profiles/session"
	"tailgate/results"
	"tailgate/targets/servers/proxy"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// leftoverProfile is a short profile whose only fault comes in its second
// phase, so its first phase shows whether an earlier run's fault is still
// applied.
func leftoverProfile(t *testing.T, url, faultTargets string) string {
	t.Helper()
	prof := fmt.Sprintf(`name: leftover
target: {url: %q}
fault_targets:
%s
phases:
  - {name: clean, duration: 1s, rate: 50}
  - name: faulted
    duration: 500ms
    rate: 50
    faults: [{name: slow, target: dep, type: latency, attributes: {latency: 300}}]
`, url, faultTargets)
	pf := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pf, []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	return pf
}

// applyAndAbandon applies the first fault of the profile through the run
// side, as a run does, and drops the runner without its finish: what a run
// killed with SIGKILL leaves behind. It returns the fault's name on the
// target.
func applyAndAbandon(t *testing.T, pf, url string) string {
	t.Helper()
	p, err := profiles.Load(pf)
	if err != nil {
		t.Fatal(err)
	}
	var apply profiles.FaultEvent
	for _, e := range p.WithURL(url).FaultEvents() {
		if e.Apply && e.Action == "" {
			apply = e
			break
		}
	}
	name, w := session.AbandonFault(context.Background(), apply, 2*time.Second)
	if w.Error != "" || w.Lease <= session.FaultLeaseMargin || w.Lease > 2*time.Second+time.Minute+session.FaultLeaseMargin {
		t.Fatalf("the dead run's fault: %+v", w)
	}
	return name
}

// TestFaultLeftoverRemovedByNextRun: a fault left by a run that died
// without cleanup is found by the next run on the same fault target, which
// warns, removes it before the load starts, and records it in its result;
// its own fault is applied under its own name and removed.
func TestFaultLeftoverRemovedByNextRun(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		srv, base := startDemo(t, nil)
		url := base + "/item?key={{seq}}"
		pf := leftoverProfile(t, url, "  dep: {kind: demo}")
		left := applyAndAbandon(t, pf, url)
		list := srv.Faults().List()
		if len(list) != 1 || list[0].Name != left || list[0].Expires.IsZero() {
			t.Fatalf("faults on the demo after the dead run: %+v", list)
		}
		if until := time.Until(list[0].Expires); until <= session.FaultLeaseMargin || until > 2*time.Second+time.Minute+session.FaultLeaseMargin {
			t.Errorf("the dead run's fault lapses in %v, want the run's rest + drain + %v", until, session.FaultLeaseMargin)
		}
		f, errOut := runLeftover(t, pf)
		checkLeftoverRemoved(t, f, errOut, left, "demo")
		if n := len(srv.Faults().List()); n != 0 {
			t.Errorf("%d faults on the demo after the second run: %+v", n, srv.Faults().List())
		}
	})
	t.Run("toxiproxy", func(t *testing.T) {
		api, listen := proxyToDemo(t)
		url := "http://" + listen + "/item?key={{seq}}"
		pf := leftoverProfile(t, url, fmt.Sprintf("  dep: {kind: toxiproxy, api: %q, proxy: demo}", api))
		left := applyAndAbandon(t, pf, url)
		c := proxy.NewClient(api)
		toxics, err := c.Toxics(context.Background(), "demo")
		if err != nil || len(toxics) != 1 || toxics[0].Name != left || toxics[0].Expires.IsZero() {
			t.Fatalf("toxics after the dead run: %+v %v", toxics, err)
		}
		f, errOut := runLeftover(t, pf)
		checkLeftoverRemoved(t, f, errOut, left, "toxiproxy")
		if toxics, err := c.Toxics(context.Background(), "demo"); err != nil || len(toxics) != 0 {
			t.Errorf("toxics after the second run: %+v %v", toxics, err)
		}
	})
}

func runLeftover(t *testing.T, pf string) (f *results.File, errOut string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	io, _, stderr := testIO()
	if code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "--profile", pf, "--out", out, "-q"}); code != ExitOK && !skipIfStarved(t, code, stderr) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return readResult(t, out), stderr.String()
}

func checkLeftoverRemoved(t *testing.T, f *results.File, errOut, left, kind string) {
	t.Helper()
	if want := "warning: removed fault " + left + " left by an earlier run"; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
	if len(f.LeftoverFaults) != 1 || f.LeftoverFaults[0].Name != left || f.LeftoverFaults[0].Kind != kind || f.LeftoverFaults[0].Target != "dep" {
		t.Errorf("leftover_faults %+v", f.LeftoverFaults)
	}
	if len(f.Faults) != 1 || f.Faults[0].Error != "" || f.Faults[0].Removed == 0 ||
		!strings.HasPrefix(f.Faults[0].AppliedAs, session.FaultNamePrefix) || f.Faults[0].AppliedAs == left || f.Faults[0].Lease == 0 {
		t.Errorf("this run's fault windows %+v", f.Faults)
	}
	// The left fault's 300ms would show in every request of the clean phase.
	requireKeptUp(t, f)
	if p50 := f.Summary.Phases[0].Response.P50; p50 >= 300*time.Millisecond {
		t.Errorf("clean phase p50 %v: the earlier run's 300ms fault was still applied", p50)
	}
}

// TestFaultLeftoverUnremovableRefuses: a leftover the run cannot remove
// makes it refuse to start rather than measure a spoiled target.
func TestFaultLeftoverUnremovableRefuses(t *testing.T) {
	_, base := startDemo(t, nil)
	var deletes int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"name":"tailgate-0123abcd-slow","type":"latency","toxicity":1,"attributes":{"latency":300,"jitter":0}},{"name":"tailgate-mine","type":"latency","toxicity":1,"attributes":{"latency":1,"jitter":0}}]`)
		case http.MethodDelete:
			deletes++
			http.Error(w, `{"error":"no","status":500}`, http.StatusInternalServerError)
		default:
			http.Error(w, "unexpected", http.StatusTeapot)
		}
	}))
	t.Cleanup(api.Close)
	pf := leftoverProfile(t, base+"/item", fmt.Sprintf("  dep: {kind: demo, api: %q}", api.URL))
	out := filepath.Join(t.TempDir(), "r.json")
	io, _, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--profile", pf, "--out", out, "-q"})
	if code != ExitError || !strings.Contains(errOut.String(), "tailgate-0123abcd-slow, left by an earlier run, and removing it failed") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if deletes != 1 {
		t.Errorf("%d deletes, want 1 (a fault named tailgate-mine is not a run's)", deletes)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a result was written")
	}
}

// TestExposeWarning: listening on every interface or a non-loopback address
// prints a warning; loopback does not.
func TestExposeWarning(t *testing.T) {
	for addr, want := range map[string]string{
		":0":                   "listens on every interface (0.0.0.0:0)",
		":8080":                "listens on every interface (0.0.0.0:8080)",
		"0.0.0.0:9":            "listens on every interface (0.0.0.0:9)",
		"[::]:9":               "listens on every interface ([::]:9)",
		"192.0.2.7:9":          "listens on 192.0.2.7:9, not a loopback address",
		"myhost:9":             "listens on myhost:9, not a loopback address",
		"127.0.0.1:0":          "",
		"127.0.0.2:8080":       "",
		"[::1]:0":              "",
		"localhost:8080":       "",
		"api.localhost:1":      "",
		"not an address":       "",
		"LOCALHOST.:8080":      "",
		"[::ffff:127.0.0.1]:1": "",
	} {
		var b bytes.Buffer
		expose.Warn(&b, "--thing (a thing)", addr)
		got := b.String()
		if want == "" {
			if got != "" {
				t.Errorf("%s: %q, want no warning", addr, got)
			}
			continue
		}
		if !strings.HasPrefix(got, "warning: --thing (a thing) ") || !strings.Contains(got, want) || !strings.Contains(got, "anyone who can reach") {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

// TestServeBindLoopbackNoWarning: serve demo and proxy on loopback print
// no exposure warning (the warning itself is TestExposeWarning's; binding
// every interface has no place in a hermetic test).
func TestServeBindLoopbackNoWarning(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "demo", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--api", "127.0.0.1:0"},
		{"proxy", "--listen", ":0", "--upstream", "127.0.0.1:1", "--api", "localhost:0"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		io, _, errOut := testIO()
		sb := &lockedBuffer{}
		io.ErrOut = sb
		done := make(chan int, 1)
		go func() { done <- Execute(ctx, io, args) }()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(sb.String(), "Ctrl-C") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%v: exit %d: %s %s", args, code, sb, errOut)
		}
		if s := sb.String(); !strings.Contains(s, "Ctrl-C") || strings.Contains(s, "warning") {
			t.Errorf("%v: stderr %q", args, s)
		}
	}
}
