package results

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results/internal/chart"
)

// reportRun builds a deterministic 14-second run through the Collector:
// a warm-up, a steady phase and a degraded one, 400 req/s over three
// balanced endpoints, a latency fault on "db" from 9 s to 12 s (latency ×
// slow, 2 % of 503s), a one-off action at 11 s, and a verdict.
func reportRun(t testing.TB, seed uint64, slow float64) *File {
	t.Helper()
	phases := []analysis.PhaseWindow{
		{Name: "warm", End: 2 * time.Second, Warmup: true},
		{Name: "steady", Start: 2 * time.Second, End: 8 * time.Second},
		{Name: "degraded", Start: 8 * time.Second, End: 14 * time.Second},
	}
	c := analysis.NewCollector(phases)
	x := seed
	next := func() float64 {
		x = x*6364136223846793005 + 1442695040888963407
		return float64(x>>11) / (1 << 53)
	}
	const rate = 400
	gap := time.Second / rate
	var st generator.Stats
	var r generator.Result
	for i := 0; i < 14*rate; i++ {
		at := time.Duration(i) * gap
		ms := 2.0 * math.Exp(0.5*(next()-0.5)*4)
		if next() < 0.01 {
			ms *= 6 // a tail
		}
		status := 200
		inFault := at >= 9*time.Second && at < 12*time.Second
		if inFault {
			ms *= slow
			if i%50 == 0 {
				status = 503
			}
		}
		sent := at + time.Duration(20+next()*60)*time.Microsecond
		lat := time.Duration(ms * float64(time.Millisecond))
		r = generator.Result{Seq: uint64(i), Intended: at, Sent: sent, Done: sent + lat,
			Outcome: generator.Outcome{Status: status, BytesIn: 512, BytesOut: 64, CacheHit: i%3 == 0, Endpoint: int32(1 + i%3)}}
		c.Record(i%4, &r)
		st.Intended++
		st.Sent++
		if i > 0 && i%7 == 0 {
			st.Gaps = append(st.Gaps, generator.Gap{At: at, Intended: gap, Actual: gap + time.Duration(next()*20e3) - 10e3})
		}
	}
	if err := c.Close(14 * time.Second); err != nil {
		t.Fatal(err)
	}
	st.Elapsed = 14 * time.Second
	st.PeakInFlight = 9
	st.Workers = 9
	s := c.Summarize(st)
	s.Generator.CPU = 900 * time.Millisecond
	s.Generator.Cores = 2
	f, err := New("run", s)
	if err != nil {
		t.Fatal(err)
	}
	f.ToolVersion = "v0.0.0-test"
	f.Command = []string{"tailgate", "run", "--profile", "burst", "-H", "X-Trace: 1"}
	f.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Ended = f.Started.Add(st.Elapsed)
	f.Settings = Settings{Target: "http://127.0.0.1:8080/item?key={{key}}", Method: "GET", Profile: "burst", Seed: seed,
		MaxInFlight: 1024, OnSaturation: "wait", Connections: 16, Timeout: 10 * time.Second,
		Endpoints: "127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003", Balance: "p2c"}
	f.Faults = []FaultWindow{
		{Phase: "degraded", Target: "db", Kind: "demo", Name: "slow-db", Type: "latency", Applied: 9 * time.Second, Removed: 12 * time.Second},
		{Phase: "degraded", Target: "lb", Kind: "demo", Action: "remove endpoint 3", Applied: 11 * time.Second},
	}
	f.Balance = &BalanceInfo{Strategy: "p2c", Endpoints: []string{"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"}}
	var objs []analysis.Objective
	for _, e := range []string{"p99<50ms", "errors<1%", "degraded:p99<20ms"} {
		o, err := analysis.ParseObjective(e)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	cfg := analysis.SelfCheckConfig{Arrivals: map[string]string{"*": "constant"}, PhaseQuantiles: analysis.ObjectiveQuantiles(objs)}
	v := analysis.Evaluate(f.Summary, objs, analysis.SLOPolicy{}, analysis.SelfCheck(f.Summary, nil, cfg))
	f.Verdict = &v
	return f
}

func sweepSteps() []SweepPoint {
	var steps []SweepPoint
	for i, rate := range []float64{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000} {
		rho := rate / 10500
		p50 := time.Duration(float64(time.Millisecond) / (1 - rho) * 0.7)
		p99 := time.Duration(4.6 * float64(time.Millisecond) / (1 - rho) * 0.7)
		ach := rate * (1 - 0.002*float64(i))
		steps = append(steps, SweepPoint{Offered: rate, Achieved: ach, P50: p50, P99: p99, Valid: rate <= 9000})
	}
	return steps
}

// checkHTML parses out as XML-ish HTML and runs the structural checks
// every report must pass: one document, no scripts, nothing fetched.
func checkHTML(t *testing.T, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("does not start with a doctype: %.40q", out)
	}
	low := strings.ToLower(out)
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", " src=", " href="} {
		if strings.Contains(low, bad) {
			t.Errorf("report contains %q: it must be self-contained", bad)
		}
	}
	// Every <svg> is well-formed XML on its own.
	for i, svg := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(out, -1) {
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg %d is not well-formed: %v\n%.300s", i, err, svg)
			}
		}
	}
}

func TestWriteHTML(t *testing.T) {
	f := reportRun(t, 7, 8)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	if n := strings.Count(out, "<svg "); n != 3 {
		t.Errorf("%d charts, want 3 (distribution, latency over time, throughput)", n)
	}
	for _, want := range []string{
		// the verdict: FAIL (degraded p99 breached) with its objectives
		`<section class="verdict fail">`, `<span class="badge">FAIL`, "p99&lt;20ms",
		// series
		`data-series="response time"`, `data-series="service time"`, `data-series="p50"`, `data-series="p99"`,
		`data-series="max"`, `data-series="offered"`, `data-series="completed"`,
		// the nines axis
		">50<", ">90<", ">99<", ">99.9<", ">99.99<", ">99.999<", ">percentile<",
		// bands and markers
		`class="band phase"`, `class="band fault"`, "slow-db on db", `class="marker"`, "remove endpoint 3 on lb",
		"warm (warm-up)", "steady", "degraded",
		// tables
		"<caption>Phases</caption>", "<caption>Endpoints</caption>", "<caption>Faults</caption>", "127.0.0.1:9002",
		"response time (from intended send)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every series path has points.
	for _, m := range regexp.MustCompile(`<path d="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if strings.Count(m[1], "L") < 5 {
			t.Errorf("a series path has only %q", m[1])
		}
	}
	if testing.Verbose() {
		path := filepath.Join(t.TempDir(), "report.html")
		os.WriteFile(path, buf.Bytes(), 0o644)
		t.Logf("report in %s (%d bytes)", path, buf.Len())
	}
}

func TestWriteHTMLNoVerdictNoEndpoints(t *testing.T) {
	f, err := New("run", sampleSummary(t))
	if err != nil {
		t.Fatal(err)
	}
	f.Settings.Target = "http://127.0.0.1:1/"
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	for _, absent := range []string{`class="verdict`, "<caption>Endpoints</caption>", "<caption>Faults</caption>", `class="band fault"`} {
		if strings.Contains(out, absent) {
			t.Errorf("report has %q", absent)
		}
	}
	if n := strings.Count(out, "<svg "); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
}

func TestWriteHTMLEmptyRun(t *testing.T) {
	c := analysis.NewCollector(nil)
	if err := c.Close(0); err != nil {
		t.Fatal(err)
	}
	f, err := New("run", c.Summarize(generator.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, buf.String())
	if !strings.Contains(buf.String(), "no responses") {
		t.Error("an empty distribution chart does not say so")
	}
	if err := WriteHTML(&buf, &File{}); err == nil {
		t.Error("a file without a summary was rendered")
	}
	// A summary without histograms (not decoded) still renders.
	buf.Reset()
	if err := WriteHTML(&buf, &File{Summary: &analysis.Summary{Phases: []analysis.PhaseSummary{{Name: "main"}}}}); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, buf.String())
}

const evil = `<script>alert(1)</script>`

// TestHTMLEscapes plants markup in every string a user or a target can
// supply and checks it never appears raw.
func TestHTMLEscapes(t *testing.T) {
	f := reportRun(t, 7, 8)
	f.Summary.Phases[1].Name = "steady" + evil
	f.Settings.Target = "http://x/" + evil
	f.Settings.Method = evil
	f.Settings.Profile = evil
	f.Command = append(f.Command, "-H", "X-Evil: "+evil)
	f.Faults[0].Target = "db" + evil
	f.Faults[0].Name = evil
	f.Faults[1].Action = evil
	f.Faults[0].Error = evil
	f.Summary.Endpoints[0].Addr = evil
	f.Verdict.Reasons = append(f.Verdict.Reasons, "because "+evil)
	f.Verdict.Warnings = append(f.Verdict.Warnings, evil)
	f.Verdict.Findings[0].Advice = evil
	f.Verdict.Findings[0].OK = false
	f.Verdict.Results[0].Phase = evil
	f.Summary.Total.Status[evil] = 1
	f.Balance.Removed = []EndpointLoss{{Endpoint: 3, Addr: evil, At: 11 * time.Second, KeysMoved: -1}}
	g := reportRun(t, 8, 2)
	g.Summary.Phases[2].Name = evil
	var run, cmp, sweep bytes.Buffer
	if err := WriteHTML(&run, f); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTMLCompare(&cmp, f, g, "compare "+evil); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTMLSweep(&sweep, sweepSteps(), &KneeMark{Rate: 8000, Label: "knee " + evil}, 20*time.Millisecond, evil); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"run": run.String(), "compare": cmp.String(), "sweep": sweep.String()} {
		checkHTML(t, out)
		if strings.Contains(out, evil) || strings.Contains(strings.ToLower(out), "<script") {
			i := strings.Index(out, evil)
			t.Errorf("%s: planted markup appears unescaped: …%s…", name, out[max(0, i-200):min(len(out), i+60)])
		}
		if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the planted text is not shown escaped", name)
		}
	}
	// Shown escaped where planted: in the SVG band labels and the tables.
	for _, want := range []string{"db&lt;script&gt;", "steady&lt;script&gt;alert(1)&lt;/script&gt;", "because &lt;script&gt;", "X-Evil: &lt;script&gt;"} {
		if !strings.Contains(run.String(), want) {
			t.Errorf("run report lacks %q", want)
		}
	}
}

func TestWriteHTMLCompare(t *testing.T) {
	a, b := reportRun(t, 7, 8), reportRun(t, 9, 3)
	var buf bytes.Buffer
	if err := WriteHTMLCompare(&buf, a, b, "before → after"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	if n := strings.Count(out, "<svg "); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
	for _, want := range []string{"<title>before → after</title>", `data-series="A response"`, `data-series="B response"`,
		`data-series="A service"`, `data-series="B p99"`, `data-series="A completed"`, "p99 B vs A", "Verdict of A", "Verdict of B", ">99.999<"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q", want)
		}
	}
	if err := WriteHTMLCompare(&buf, a, &File{}, ""); err == nil {
		t.Error("compare with a file without summary succeeded")
	}
}

func TestWriteHTMLSweep(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTMLSweep(&buf, sweepSteps(), &KneeMark{Rate: 7800, Label: "knee at 7,800 req/s"}, 20*time.Millisecond, "sweep"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	if n := strings.Count(out, "<svg "); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	for _, want := range []string{`data-series="p99"`, `data-series="saturated or invalid step (p99)"`, "knee at 7,800 req/s", "SLO p99 &lt; 20.0ms", `class="marker"`, "<caption>Steps</caption>"} {
		if !strings.Contains(out, want) {
			t.Errorf("sweep lacks %q", want)
		}
	}
	// No knee, no SLO, no steps: still a page.
	buf.Reset()
	if err := WriteHTMLSweep(&buf, nil, nil, 0, ""); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, buf.String())
	if strings.Contains(buf.String(), `class="marker"`) {
		t.Error("markers without knee or SLO")
	}
}

func TestPercentileCurve(t *testing.T) {
	h := analysis.NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.RecordValue(int64(i) * 1000)
	}
	xs, ys := percentileCurve(h)
	if len(xs) == 0 || len(xs) != len(ys) {
		t.Fatalf("%d x, %d y", len(xs), len(ys))
	}
	// 1000 samples: the curve stops at p99.9 (x = 3).
	if got := xs[len(xs)-1]; math.Abs(got-3) > 1e-9 {
		t.Errorf("curve ends at x = %g, want 3", got)
	}
	if xs[0] != chart.Nines(0.5) || math.Abs(ys[0]-500e3) > 1e3 {
		t.Errorf("curve starts at (%g, %g), want p50 = 500µs", xs[0], ys[0])
	}
	for i := 1; i < len(ys); i++ {
		if ys[i] < ys[i-1] {
			t.Fatalf("curve decreases at %d", i)
		}
	}
}
