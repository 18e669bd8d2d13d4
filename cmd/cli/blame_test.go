package cli

import (
	"context"
	stdio "io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/targets/servers/demo"
)

// freezingServer answers at once, except that from `from` after its first
// request every request is held until `from+freeze`.
func freezingServer(t *testing.T, from, freeze time.Duration) string {
	var start atomic.Int64
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		start.CompareAndSwap(0, now)
		el := time.Duration(now - start.Load())
		if el >= from && el < from+freeze {
			time.Sleep(from + freeze - el)
		}
		w.WriteHeader(204)
	})
	return srv.URL
}

// A freeze much longer than the in-flight cap holds (20 slots are 100 ms
// at 200 req/s; the freeze is 600 ms) is the target's backpressure: with a
// p99 objective the freeze breaks it, FAIL (exit 1), blamed on the target,
// never INVALID; the waits are in the response times.
func TestFreezeWithObjectiveFails(t *testing.T) {
	url := freezingServer(t, time.Second, 600*time.Millisecond)
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", url, "--rate", "200", "--duration", "3s", "--max-in-flight", "20",
		"--max-send-lag", "1s", "--slo", "p99<100ms", "--out", out, "-q"})
	if code != ExitFail && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d, want %d (FAIL); stderr %s\n%s", code, ExitFail, errOut, stdout)
	}
	f := readResult(t, out)
	checkAddsUp(t, f)
	if f.Verdict.Blame != analysis.BlameTarget {
		t.Errorf("blame %q, want the target", f.Verdict.Blame)
	}
	tot := f.Summary.Total
	if tot.Held == 0 || tot.SlotWait.Max < 300*time.Millisecond {
		t.Errorf("held %d, slot wait max %v: the freeze filled the cap", tot.Held, tot.SlotWait.Max)
	}
	if tot.Response.P99 < 300*time.Millisecond {
		t.Errorf("response p99 %v does not show a 600ms freeze", tot.Response.P99)
	}
	if tot.Lateness.P99 > tot.SlotWait.P99 {
		t.Errorf("scheduler lateness p99 %v above slot wait p99 %v: the wait was blamed on the scheduler", tot.Lateness.P99, tot.SlotWait.P99)
	}
	for _, want := range []string{"verdict: FAIL (the target's failure)", "p99", "target: backpressure", "waits for an in-flight slot"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// The same over gRPC: the demo's dependency hangs every call for 700 ms
// from the first second on, for 700 ms.
func TestFreezeWithObjectiveFailsGRPC(t *testing.T) {
	d, base := startGRPCDemo(t)
	var once sync.Once
	time.AfterFunc(1200*time.Millisecond, func() {
		d.Faults().Add(demo.Fault{Name: "freeze", Type: demo.FaultTimeout, Toxicity: 1, Attributes: demo.FaultAttributes{Timeout: 700}})
		time.AfterFunc(700*time.Millisecond, func() { once.Do(func() { d.Faults().Remove("freeze") }) })
	})
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", base + "/demo.Store/Get", "--data", `{"key":"k{{key}}"}`, "--keys", "uniform:1000000",
		"--rate", "200", "--duration", "3s", "--max-in-flight", "20", "--max-send-lag", "1s", "--slo", "p99<100ms", "--out", out, "-q"})
	if code != ExitFail && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d, want %d (FAIL); stderr %s\n%s", code, ExitFail, errOut, stdout)
	}
	f := readResult(t, out)
	checkAddsUp(t, f)
	if f.Verdict.Blame != analysis.BlameTarget || f.Summary.Total.Held == 0 {
		t.Errorf("blame %q, held %d: want the target's backpressure", f.Verdict.Blame, f.Summary.Total.Held)
	}
}

// A cap of 1 at 100 req/s against a target that always takes 50 ms: the
// load needs 5 in flight by Little's law and the target never slowed
// down, so the cap is the generator's configuration: INVALID, "raise
// --max-in-flight". The run ends by duration + drain (+ grace), however
// far behind it is; the requests it never sent, or cut off, are censored
// and in the histograms.
func TestCapTooSmallIsInvalidAndEndsOnTime(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(204)
	})
	out := filepath.Join(t.TempDir(), "r.json")
	start := time.Now()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "100", "--duration", "2s", "--max-in-flight", "1",
		"--drain", "500ms", "--out", out, "-q"})
	took := time.Since(start)
	if code != ExitInvalid || !strings.Contains(errOut.String(), "raise --max-in-flight to at least") {
		t.Fatalf("exit %d, want %d; stderr %s\n%s", code, ExitInvalid, errOut, stdout)
	}
	if took > 2*time.Second+500*time.Millisecond+2*time.Second {
		t.Errorf("the run took %v, past duration + drain + 2s", took)
	}
	f := readResult(t, out)
	checkAddsUp(t, f)
	tot := f.Summary.Total
	g := f.Summary.Generator
	// About 50 of 200 could be served; the rest were censored.
	if tot.Intended != 200 || tot.Censored < 100 || g.Expired == 0 || !g.DeadlineHit {
		t.Fatalf("intended %d censored %d expired %d cut off %d deadline %v", tot.Intended, tot.Censored, g.Expired, g.CutOff, g.DeadlineHit)
	}
	if n := f.Summary.Total.ResponseHist.TotalCount(); n != tot.OK+tot.Censored {
		t.Errorf("response histogram holds %d, want ok %d + censored %d", n, tot.OK, tot.Censored)
	}
	if f.Verdict.Blame != analysis.BlameGenerator {
		t.Errorf("blame %q, want the generator", f.Verdict.Blame)
	}
}

// A refused port, with a latency objective, is never PASS: FAIL, naming
// the cause and the fix.
func TestRefusedWithObjectiveFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", url, "--rate", "100", "--duration", "500ms", "--slo", "p99<250ms", "-q"})
	if code != ExitFail {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFail, errOut)
	}
	for _, want := range []string{"answered none of 50 requests successfully", "refused", "is the service up"} {
		if !strings.Contains(errOut.String()+stdout.String(), want) {
			t.Errorf("output lacks %q: %s\n%s", want, errOut, stdout)
		}
	}
}

// A certificate the client rejects, with a latency objective: FAIL, with
// the TLS reason and the way out.
func TestRejectedCertificateFails(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	srv.Config.ErrorLog = log.New(stdio.Discard, "", 0) // the handshakes fail by design
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, engine := range []string{"auto", "net/http"} {
		io, stdout, errOut := testIO()
		code := Execute(context.Background(), io, []string{"run", srv.URL, "--engine", engine, "--rate", "50", "--duration", "400ms", "--slo", "p99<250ms", "-q"})
		if code != ExitFail {
			t.Fatalf("%s: exit %d, want %d; stderr %s", engine, code, ExitFail, errOut)
		}
		all := errOut.String() + stdout.String()
		for _, want := range []string{"tls", "--insecure"} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: output lacks %q: %s\n%s", engine, want, errOut, stdout)
			}
		}
	}
}

// A target that serves 25 req/s (one worker, 40 ms a request) offered
// 100 req/s: the achieved rate is what it served, over the time the run
// really took, and throughput>=99% fails.
func TestThroughputOverRealTime(t *testing.T) {
	var mu sync.Mutex
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(40 * time.Millisecond)
		mu.Unlock()
		w.WriteHeader(204)
	})
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "100", "--duration", "3s", "--max-in-flight", "5",
		"--drain", "1s", "--max-send-lag", "1s", "--slo", "throughput>=99%", "--out", out, "-q"})
	if code != ExitFail && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d, want %d; stderr %s\n%s", code, ExitFail, errOut, stdout)
	}
	tot := readResult(t, out).Summary.Total
	if tot.AchievedRate < 18 || tot.AchievedRate > 32 {
		t.Errorf("achieved %.1f/s, want about 25/s (offered %.0f/s, span %v)", tot.AchievedRate, tot.OfferedRate, tot.Span)
	}
	if !strings.Contains(errOut.String(), "throughput") {
		t.Errorf("the failure does not name throughput: %s", errOut)
	}
}

// Closed loop against a fast target is not INVALID for using its CPU:
// exit 0, and the bottleneck is named.
func TestClosedLoopNamesBottleneck(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "max", "-c", "8", "--duration", "1s"})
	if code != ExitOK {
		t.Fatalf("exit %d; stderr %s\n%s", code, errOut, stdout)
	}
	if !strings.Contains(stdout.String(), "bottleneck") {
		t.Errorf("no bottleneck named:\n%s", stdout)
	}
}

// Running out of file descriptors is the generator's own limit: INVALID,
// naming "too many open files" and how to raise the limit, never PASS.
// The test reruns itself in a child process whose open-file limit (soft
// and hard, as `ulimit -n` sets them) leaves room for only a few
// connections once other descriptors are taken.
func TestFDLimitIsInvalid(t *testing.T) {
	if os.Getenv("TAILGATE_FDLIMIT_CHILD") == "" {
		if _, err := os.Stat("/proc/self/fd"); err != nil {
			t.Skip("no /proc/self/fd to count open descriptors")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFDLimitIsInvalid$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TAILGATE_FDLIMIT_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestFDLimitIsInvalid") {
			t.Fatalf("child did not pass:\n%s", out)
		}
		return
	}
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.WriteHeader(204)
	})
	srv.Config.ErrorLog = log.New(stdio.Discard, "", 0) // its accepts fail too, by design
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	open := uint64(len(ents))
	setFDLimit(t, open+100)
	// Something else holds most of the room the cap was sized for.
	var held []*os.File
	for range 92 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	t.Cleanup(func() {
		for _, f := range held {
			f.Close()
		}
	})
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "200", "--duration", "1s", "--timeout", "2s",
		"--max-send-lag", "1s", "--slo", "p99<1s", "-q"})
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d; stderr %s\n%s", code, ExitInvalid, errOut, stdout)
	}
	all := errOut.String() + stdout.String()
	for _, want := range []string{"generator-limits", "too many open files", "ulimit -n"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q: %s\n%s", want, errOut, stdout)
		}
	}
}
