package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
)

func testIO() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, &out, &errOut
}

func TestNewCmdRunFlags(t *testing.T) {
	io, _, _ := testIO()
	var got *RunOptions
	cmd := NewCmdRun(io, func(_ context.Context, o *RunOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"http://127.0.0.1:9/x", "--rate", "600/m", "--duration", "5s", "--arrivals", "poisson",
		"--seed", "9", "--max-in-flight", "7", "--on-saturation", "drop", "-H", "X-A: 1", "-H", "X-A: 2",
		"-X", "POST", "--data", "hello", "--timeout", "2s", "-c", "3"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Rate != 10 || got.Duration != 5*time.Second || got.Arrivals != "poisson" || got.Seed != 9 ||
		got.MaxInFlight != 7 || got.OnSaturation != generator.Drop || got.Method != "POST" ||
		string(got.Body) != "hello" || got.Timeout != 2*time.Second || got.Connections != 3 {
		t.Fatalf("options %+v", got)
	}
	if v := got.Header.Values("X-A"); len(v) != 2 || v[1] != "2" {
		t.Fatalf("headers %v", got.Header)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"2000": 2000, "2000/s": 2000, "600/m": 10, "1/ms": 1000, "3600/h": 1, "5/200ms": 25, "0.5": 0.5} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "abc", "10/fortnight", "NaN", "Inf", "1e400"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
	// A rate no generator can honour is refused with the way out, before
	// any schedule is built (1e12 used to spin in the catch-up loop).
	for _, in := range []string{"1e12", "2000001", "2/1us"} {
		if _, err := ParseRate(in); err == nil || !strings.Contains(err.Error(), "--segment") {
			t.Errorf("ParseRate(%q): %v, want a ceiling naming --segment", in, err)
		}
	}
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", "http://127.0.0.1:1/", "--rate", "1e12", "--duration", "1s"}); code != ExitUsage {
		t.Errorf("--rate 1e12: exit %d, want %d: %s", code, ExitUsage, errOut)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"2000", "600/m", "1/ms", "5/200ms", "-1", "x/y", "1e308/ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err == nil && !(r > 0) {
			t.Fatalf("ParseRate(%q) = %v with no error", s, r)
		}
	})
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("Content-Type: application/json")
	f.Add("bad header")
	f.Add(":")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeaders([]string{s})
		if err == nil && len(h) != 1 {
			t.Fatalf("ParseHeaders(%q) = %v", s, h)
		}
	})
}

// countingServer counts requests; tests use it to check no load was sent.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRunBadInput(t *testing.T) {
	srv, hits := countingServer(t, nil)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string // in the one-line error
	}{
		{"unknown flag", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--bogus"}, "--bogus"},
		{"zero rate", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "0"}, `--rate "0"`},
		{"negative rate", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "-5"}, `--rate "-5"`},
		{"missing rate", []string{"run", "--max-send-lag", "1s", srv.URL}, "rate"},
		{"malformed URL", []string{"run", "--max-send-lag", "1s", "http://[::1", "--rate", "10"}, "malformed URL"},
		{"bad scheme", []string{"run", "--max-send-lag", "1s", "ftp://127.0.0.1/", "--rate", "10"}, "scheme"},
		{"unwritable out", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--out", filepath.Join(dir, "no", "such", "dir", "r.json")}, "--out"},
		{"out is a directory", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--out", dir}, "directory"},
		{"bad policy", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--on-saturation", "block"}, "block"},
		{"bad header", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "-H", "nocolon"}, "nocolon"},
		{"missing data file", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--data", "@" + filepath.Join(dir, "nope")}, "--data"},
		{"zero duration", []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "10", "--duration", "0s"}, "--duration"},
		{"negative timer slack", []string{"run", srv.URL, "--rate", "10", "--timer-slack", "-1ms"}, "--timer-slack"},
		{"timer slack and coarse timers", []string{"run", srv.URL, "--rate", "10", "--timer-slack", "1ms", "--coarse-timers"}, "choose one"},
		{"unknown command", []string{"walk"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, errOut := testIO()
			code := Execute(context.Background(), io, tt.args)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, errOut)
			}
			msg := errOut.String()
			if strings.Count(strings.TrimSpace(msg), "\n") != 0 || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q: want one line mentioning %q", msg, tt.want)
			}
		})
	}
	if hits.Load() != 0 {
		t.Fatalf("bad input sent %d requests", hits.Load())
	}
}

func readResult(t *testing.T, path string) *results.File {
	t.Helper()
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func checkAddsUp(t *testing.T, f *results.File) {
	t.Helper()
	tot := f.Summary.Total
	g := f.Summary.Generator
	if tot.Intended != tot.OK+tot.Errors+tot.Dropped+tot.Unsent+tot.Censored {
		t.Errorf("intended %d != ok %d + errors %d + dropped %d + unsent %d + censored %d", tot.Intended, tot.OK, tot.Errors, tot.Dropped, tot.Unsent, tot.Censored)
	}
	if uint64(tot.Censored) != g.Expired+g.CutOff {
		t.Errorf("censored %d != expired %d + cut off %d", tot.Censored, g.Expired, g.CutOff)
	}
	if uint64(tot.Intended) != g.Intended || g.Intended != g.Sent+g.Dropped+g.Unsent+g.Expired {
		t.Errorf("summary intended %d; generator %+v", tot.Intended, g)
	}
}

func TestRunRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "http://" + addr + "/", "--rate", "200", "--duration", "500ms", "--out", out, "-q"})
	// A service that answered nothing never passes, objectives or not.
	if code != ExitFail && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	f := readResult(t, out)
	checkAddsUp(t, f)
	tot := f.Summary.Total
	if tot.Intended != 100 || tot.Errors != 100 || tot.ErrorKinds["refused"] != 100 {
		t.Fatalf("intended %d errors %d kinds %v", tot.Intended, tot.Errors, tot.ErrorKinds)
	}
	if !strings.Contains(stdout.String(), "every request failed") || !strings.Contains(stdout.String(), "refused 100") {
		t.Fatalf("table does not say so:\n%s", stdout)
	}
}

// The end-to-end stall test: a server that holds every response for half
// a second in the middle of the run. Response time, counted from the
// intended send, shows the stall; service time, with only 4 requests in
// flight allowed, stays small for the requests that queued behind it.
func TestRunStallEndToEnd(t *testing.T) {
	const stallLen = 500 * time.Millisecond
	url := freezingServer(t, time.Second, stallLen)
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", url, "--rate", "200", "--duration", "3s", "--max-in-flight", "4", "--out", out, "-q"})
	// The server held the in-flight cap full (4 slots are 20 ms of this
	// rate; the stall is 500 ms): the target's backpressure, counted from
	// the intended sends. No objective: PASS, with the finding listed.
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d; stderr %s\n%s", code, errOut, stdout)
	}
	if !strings.Contains(stdout.String(), "target: backpressure") || !strings.Contains(stdout.String(), "waited for an in-flight slot") {
		t.Fatalf("backpressure not listed:\n%s", stdout)
	}
	f := readResult(t, out)
	checkAddsUp(t, f)
	tot := f.Summary.Total
	if tot.Intended != 600 || tot.OK != 600 {
		t.Fatalf("intended %d ok %d, want 600", tot.Intended, tot.OK)
	}
	// ~100 requests (1/6 of the run) were due during the stall: p99 must
	// see it, and be far above the service time of the same run.
	if tot.Response.P99 < stallLen/2 {
		t.Errorf("response p99 %v does not reflect a %v stall", tot.Response.P99, stallLen)
	}
	if tot.Service.P99*4 > tot.Response.P99 {
		t.Errorf("service p99 %v not well below response p99 %v", tot.Service.P99, tot.Response.P99)
	}
	if tot.Response.Max < stallLen/2 || tot.Service.Max < stallLen/4 {
		t.Errorf("max response %v service %v: the held requests must show", tot.Response.Max, tot.Service.Max)
	}
	if f.Summary.Generator.SlotWaits == 0 {
		t.Error("no request waited for a slot during the stall")
	}
	for _, want := range []string{"response time (from intended send)", "service time (from actual send)", "600 intended"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// Interrupting a run writes a complete, readable result marked interrupted,
// and every request due is accounted for.
func TestRunInterruptWritesResult(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	})
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); time.Sleep(700 * time.Millisecond); cancel() }()
	code := Execute(ctx, io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "100", "--duration", "1m", "--out", out, "-q"})
	wg.Wait()
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitInterrupted, errOut)
	}
	f := readResult(t, out)
	if !f.Interrupted || !f.Summary.Generator.Interrupted {
		t.Fatal("result not marked interrupted")
	}
	checkAddsUp(t, f)
	// Planning and start-up come out of the 0.7 s: on a loaded machine
	// sending may begin late, so only the upper bound is tight.
	if n := f.Summary.Total.Intended; n < 1 || n > 200 {
		t.Errorf("intended %d after ~0.7s at 100/s", n)
	}
	if !strings.Contains(stdout.String(), "INTERRUPTED") || !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("not said: stdout %q stderr %q", stdout, errOut)
	}
}

func TestReportRoundTrip(t *testing.T) {
	srv, _ := countingServer(t, nil)
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "100", "--duration", "1s", "--arrivals", "poisson", "--out", out, "-q"}); code != 0 && !skipIfStarved(t, code, errOut) {
		t.Fatalf("run exit %d: %s", code, errOut)
	}
	first := stdout.String()
	first = first[:strings.LastIndex(first, "result written")]
	io2, stdout2, _ := testIO()
	if code := Execute(context.Background(), io2, []string{"report", out}); code != 0 {
		t.Fatalf("report exit %d", code)
	}
	if stdout2.String() != first {
		t.Fatalf("report differs from run:\n%s\n---\n%s", first, stdout2)
	}
	io3, stdout3, _ := testIO()
	if code := Execute(context.Background(), io3, []string{"report", out, "--format", "json"}); code != 0 {
		t.Fatalf("report json exit %d", code)
	}
	var v map[string]any
	if err := json.Unmarshal(stdout3.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := v["histograms"]; ok || v["summary"] == nil || v["schema"] != results.Schema {
		t.Fatalf("json summary keys: %v", keys(v))
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestReportBadFile(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"schema":"tailgate/result","schema_version":99}`), 0o644)
	junk := filepath.Join(dir, "junk.json")
	os.WriteFile(junk, []byte(`not json`), 0o644)
	for path, want := range map[string]string{newer: "newer tailgate", junk: "not a tailgate result", filepath.Join(dir, "missing.json"): "no such file"} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, []string{"report", path}); code != ExitUsage || !strings.Contains(errOut.String(), want) {
			t.Errorf("report %s: exit %d, stderr %q (want %q)", filepath.Base(path), code, errOut, want)
		}
	}
}

func TestVersion(t *testing.T) {
	io, out, _ := testIO()
	if code := Execute(context.Background(), io, []string{"version"}); code != 0 || !strings.Contains(out.String(), Version) {
		t.Fatalf("exit %d out %q", code, out)
	}
}

// The fast HTTP/1.1 client is used where it applies, net/http elsewhere
// or when asked; the result says which.
func TestEngineChoice(t *testing.T) {
	srv, _ := countingServer(t, nil)
	for _, tt := range []struct {
		extra []string
		want  string
	}{{nil, "fast-h1"}, {[]string{"--engine", "net/http"}, "net/http"}} {
		out := filepath.Join(t.TempDir(), "r.json")
		io, stdout, errOut := testIO()
		args := append([]string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "50", "--duration", "500ms", "-q", "--out", out}, tt.extra...)
		if code := Execute(context.Background(), io, args); code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%v: exit %d %s", tt.extra, code, errOut)
		}
		if f := readResult(t, out); f.Settings.Engine != tt.want || f.Summary.Total.OK != 25 || !strings.Contains(stdout.String(), "engine "+tt.want) {
			t.Errorf("%v: engine %q, ok %d", tt.extra, f.Settings.Engine, f.Summary.Total.OK)
		}
	}
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "1", "--engine", "fast-h1", "--http2"}); code != ExitUsage || !strings.Contains(errOut.String(), "fast-h1") {
		t.Errorf("fast-h1 with --http2: exit %d %s", code, errOut)
	}
}

// --timer-slack sends every request on a grid of its step, records the
// setting, and the self-check judges arrivals against that grid: a run
// whose sends are grouped by design is not INVALID for it.
func TestRunTimerSlack(t *testing.T) {
	srv, hits := countingServer(t, nil)
	out := filepath.Join(t.TempDir(), "r.json")
	io, _, errOut := testIO()
	args := []string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "2000", "--duration", "1s", "--timer-slack", "1ms", "-q", "--out", out}
	if code := Execute(context.Background(), io, args); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d %s", code, errOut)
	}
	f := readResult(t, out)
	if f.Settings.TimerSlack != time.Millisecond || hits.Load() != 2000 {
		t.Fatalf("timer slack %v, %d requests", f.Settings.TimerSlack, hits.Load())
	}
	// The sends were grouped: at 2,000 req/s on a 1 ms grid two leave
	// together, so about half the gaps between sends are a small fraction
	// of the intended 500 µs; sent one by one, almost none are.
	var together int
	gaps := f.Summary.Generator.Gaps
	for _, g := range gaps {
		if g[2] < g[1]/5 {
			together++
		}
	}
	if len(gaps) == 0 || float64(together) < 0.3*float64(len(gaps)) {
		t.Fatalf("%d of %d gaps between sends were short: the sends were not grouped", together, len(gaps))
	}
	var arrivals *analysis.Finding
	for i, fd := range f.Verdict.Findings {
		if fd.Check == analysis.CheckArrivals {
			arrivals = &f.Verdict.Findings[i]
		}
	}
	if arrivals == nil || !arrivals.OK || !strings.Contains(arrivals.Measured, "timer-slack grid") {
		t.Fatalf("arrivals finding %+v", arrivals)
	}
}

// --preconnect opens connections before the first request (h1's TestWarm
// checks that requests then use them); the default scales with the rate,
// the connection cap and an explicit count win, and 0 turns it off, when
// the first request dials.
func TestRunPreconnect(t *testing.T) {
	srv, _ := countingServer(t, nil)
	for _, tt := range []struct {
		extra []string
		want  int
	}{
		{nil, 2},                            // 400 req/s × 5 ms
		{[]string{"--preconnect", "0"}, 0},  // none
		{[]string{"--preconnect", "5"}, 5},  // as asked
		{[]string{"--connections", "3"}, 3}, // the connection cap
	} {
		out := filepath.Join(t.TempDir(), "r.json")
		io, _, errOut := testIO()
		args := append([]string{"run", "--max-send-lag", "1s", srv.URL, "--rate", "400", "--duration", "500ms", "-q", "--out", out}, tt.extra...)
		if code := Execute(context.Background(), io, args); code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%v: exit %d %s", tt.extra, code, errOut)
		}
		f := readResult(t, out)
		if f.Settings.Preconnected != tt.want {
			t.Errorf("%v: preconnected %d, want %d", tt.extra, f.Settings.Preconnected, tt.want)
		}
		if tt.want == 0 && f.Summary.Total.NewConns == 0 {
			t.Errorf("%v: no request opened a connection, yet none was opened before", tt.extra)
		}
	}
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "10", "--preconnect", "-2"}); code != ExitUsage || !strings.Contains(errOut.String(), "--preconnect") {
		t.Errorf("--preconnect -2: exit %d %s", code, errOut)
	}
}

// TestRunBuildLabel: --build is recorded in the result file, where
// history reads its label.
func TestRunBuildLabel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	io, _, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "20", "--duration", "300ms", "--build", "abc1234", "--out", out, "-q"})
	if code != ExitOK && code != ExitInvalid {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if f := readResult(t, out); f.Build != "abc1234" {
		t.Errorf("build %q, want abc1234", f.Build)
	}
}
