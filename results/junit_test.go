package results

import (
	"bytes"
	"encoding/xml"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

// -update rewrites the golden files under testdata. Registered only if no
// other test file of the package has registered it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// verdictFile builds a deterministic two-phase run (plus warm-up) through
// the Collector: "steady" at 1 ms ± a little, "degraded" at 10× that, 1 %
// of 5xx in degraded.
func verdictFile(t testing.TB, degradedMs float64, slotWaits uint64) *File {
	t.Helper()
	phases := []analysis.PhaseWindow{
		{Name: "warm", End: time.Second, Warmup: true},
		{Name: "steady", Start: time.Second, End: 3 * time.Second},
		{Name: "degraded", Start: 3 * time.Second, End: 5 * time.Second},
	}
	c := analysis.NewCollector(phases)
	var st generator.Stats
	var r generator.Result
	x := uint64(42)
	next := func() float64 { // deterministic uniform in [0, 1)
		x = x*6364136223846793005 + 1442695040888963407
		return float64(x>>11) / (1 << 53)
	}
	const rate = 1000
	gap := time.Second / rate
	for i := 0; i < 5*rate; i++ {
		at := time.Duration(i) * gap
		ms := 1.0
		status := 200
		if at >= 3*time.Second {
			ms = degradedMs
			if i%100 == 0 {
				status = 503
			}
		}
		lat := time.Duration(ms * float64(time.Millisecond) * math.Exp(0.4*(next()-0.5)*4))
		sent := at + 30*time.Microsecond
		r = generator.Result{Seq: uint64(i), Intended: at, Sent: sent, Done: sent + lat, Outcome: generator.Outcome{Status: status}}
		c.Record(i%4, &r)
		st.Intended++
		st.Sent++
		if i > 0 && i%3 == 0 {
			st.Gaps = append(st.Gaps, generator.Gap{At: at, Intended: gap, Actual: gap + time.Duration(next()*20e3) - 10e3})
		}
	}
	if err := c.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	st.Elapsed = 5 * time.Second
	st.SlotWaits = slotWaits
	st.PeakInFlight = 12
	s := c.Summarize(st)
	s.Generator.CPU = 600 * time.Millisecond
	s.Generator.Cores = 2
	f, err := New("run", s)
	if err != nil {
		t.Fatal(err)
	}
	f.ToolVersion = "v0.0.0-test"
	f.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Ended = f.Started.Add(5 * time.Second)
	f.Settings = Settings{Target: "http://127.0.0.1:8080/item?key={{key}}", Profile: "burst", Seed: 1, MaxInFlight: 1024,
		OnSaturation: "wait", Connections: 16, Timeout: 10 * time.Second}
	return f
}

func judge(t *testing.T, f *File, policy analysis.SLOPolicy, exprs ...string) analysis.Verdict {
	t.Helper()
	var objs []analysis.Objective
	for _, e := range exprs {
		o, err := analysis.ParseObjective(e)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	cfg := analysis.SelfCheckConfig{
		Arrivals:       map[string]string{"*": "constant"},
		PhaseQuantiles: analysis.ObjectiveQuantiles(objs),
	}
	return analysis.Evaluate(f.Summary, objs, policy, analysis.SelfCheck(f.Summary, nil, cfg))
}

type verdictCase struct {
	name string
	f    *File
	v    analysis.Verdict
}

var cases struct {
	once sync.Once
	all  []verdictCase
}

// verdictCases returns the three verdicts the golden files show, built
// once; they must not be modified.
func verdictCases(t *testing.T) []verdictCase {
	cases.once.Do(func() { cases.all = buildVerdictCases(t) })
	return cases.all
}

func buildVerdictCases(t *testing.T) []verdictCase {
	pass := verdictFile(t, 2, 0)
	fail := verdictFile(t, 30, 0)
	invalid := verdictFile(t, 30, 250)
	objs := []string{"p99<250ms", "errors<1%", "degraded:p99<20ms", "throughput>=99%"}
	return []verdictCase{
		{"pass", pass, judge(t, pass, analysis.SLOPolicy{}, objs...)},
		{"fail", fail, judge(t, fail, analysis.SLOPolicy{}, objs...)},
		{"invalid", invalid, judge(t, invalid, analysis.SLOPolicy{}, append(objs, "steady:p99.9<5ms")...)},
	}
}

// What a JUnit reader sees, parsed back with encoding/xml.
type parsedSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	for _, c := range verdictCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, c.f, c.v); err != nil {
				t.Fatal(err)
			}
			golden(t, "verdict-"+c.name+".junit.xml", buf.Bytes())

			var doc parsedSuites
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			if len(doc.Suites) != 1 || doc.Suites[0].Name != "tailgate" {
				t.Fatalf("suites %+v", doc.Suites)
			}
			su := doc.Suites[0]
			if su.Tests != len(c.v.Results)+len(c.v.Findings) || su.Tests != len(su.Cases) || doc.Tests != su.Tests {
				t.Errorf("tests %d (doc %d), %d cases, %d results + %d findings", su.Tests, doc.Tests, len(su.Cases), len(c.v.Results), len(c.v.Findings))
			}
			failures, errs := 0, 0
			for i, tc := range su.Cases {
				if tc.Failure != nil {
					failures++
				}
				if tc.Error != nil {
					errs++
				}
				if i < len(c.v.Results) {
					r := c.v.Results[i]
					if tc.Classname != "tailgate."+r.Phase || tc.Name != r.Objective.Name() {
						t.Errorf("case %d: %s / %s for %s in %s", i, tc.Classname, tc.Name, r.Objective.Name(), r.Phase)
					}
					if (tc.Failure != nil) != !r.Pass {
						t.Errorf("case %s: failure %v, pass %v", tc.Name, tc.Failure, r.Pass)
					}
				} else if !strings.HasPrefix(tc.Classname, "tailgate.selfcheck") && !strings.HasPrefix(tc.Classname, "tailgate.target") {
					t.Errorf("case %d: classname %q", i, tc.Classname)
				}
			}
			if su.Failures != failures || su.Errors != errs || doc.Failures != failures || doc.Errors != errs {
				t.Errorf("counts: failures %d/%d, errors %d/%d", su.Failures, failures, su.Errors, errs)
			}
			switch c.v.Status {
			case analysis.StatusPass:
				if failures+errs != 0 {
					t.Errorf("PASS with %d failures, %d errors", failures, errs)
				}
			case analysis.StatusFail:
				if failures == 0 || errs != 0 {
					t.Errorf("FAIL with %d failures, %d errors", failures, errs)
				}
			case analysis.StatusInvalid:
				if errs == 0 {
					t.Error("INVALID without an error case")
				}
			}
		})
	}
}

func TestWriteJUnitEscapes(t *testing.T) {
	f := verdictFile(t, 2, 0)
	name := "st<e>ady & \"co\" ]]> \x01" // control characters come only from profiles, not objectives
	f.Summary.Phases[1].Name = name
	o, err := analysis.ParseObjective("p99<=1ms")
	if err != nil {
		t.Fatal(err)
	}
	o.Phase = name
	v := analysis.Evaluate(f.Summary, []analysis.Objective{o}, analysis.SLOPolicy{}, nil)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, f, v); err != nil {
		t.Fatal(err)
	}
	var doc parsedSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	tc := doc.Suites[0].Cases[0]
	if tc.Classname != "tailgate.st<e>ady & \"co\" ]]> \uFFFD" || tc.Name != "p99<=1ms" || tc.Failure == nil ||
		!strings.Contains(tc.Failure.Text, "objective: st<e>ady & \"co\" ]]> \uFFFD:p99<=1ms") {
		t.Errorf("case %+v", tc)
	}
}
