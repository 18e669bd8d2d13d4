package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseObjective(t *testing.T) {
	ms := float64(time.Millisecond)
	tests := []struct {
		in   string
		want Objective
	}{
		// the common case: response time p99
		{"p99<250ms", Objective{Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: 250 * ms}},
		// fractional percentile, seconds
		{"p99.9<1s", Objective{Metric: MetricQuantile, Percentile: 99.9, Op: OpLess, Threshold: 1000 * ms}},
		// inclusive bound
		{"p50<=20ms", Objective{Metric: MetricQuantile, Percentile: 50, Op: OpLessEq, Threshold: 20 * ms}},
		{"max<2s", Objective{Metric: MetricMax, Op: OpLess, Threshold: 2000 * ms}},
		{"mean<30ms", Objective{Metric: MetricMean, Op: OpLess, Threshold: 30 * ms}},
		// service time only when asked by name
		{"service.p99<100ms", Objective{Metric: MetricQuantile, Clock: ServiceTime, Percentile: 99, Op: OpLess, Threshold: 100 * ms}},
		{"response.p99<100ms", Objective{Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: 100 * ms}},
		{"service.max<1s", Objective{Metric: MetricMax, Clock: ServiceTime, Op: OpLess, Threshold: 1000 * ms}},
		// errors as a percentage and as a count
		{"errors<0.1%", Objective{Metric: MetricErrorRate, Op: OpLess, Threshold: 0.1}},
		{"errors<=5", Objective{Metric: MetricErrorCount, Op: OpLessEq, Threshold: 5}},
		{"throughput>=99%", Objective{Metric: MetricThroughput, Op: OpGreaterEq, Threshold: 99}},
		{"rps>=1000", Objective{Metric: MetricRPS, Op: OpGreaterEq, Threshold: 1000}},
		{"rps>1000/s", Objective{Metric: MetricRPS, Op: OpGreater, Threshold: 1000}},
		// phase scopes, both spellings
		{"degraded:p99<500ms", Objective{Phase: "degraded", Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: 500 * ms}},
		{"phase=degraded:p99<500ms", Objective{Phase: "degraded", Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: 500 * ms}},
		// spaces and capitals are forgiven
		{"  burst : P99 <= 250ms ", Objective{Phase: "burst", Metric: MetricQuantile, Percentile: 99, Op: OpLessEq, Threshold: 250 * ms}},
		{"p99<800us", Objective{Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: 0.8 * ms}},
		{"errors < 0.5 %", Objective{Metric: MetricErrorRate, Op: OpLess, Threshold: 0.5}},
	}
	for _, tt := range tests {
		got, err := ParseObjective(tt.in)
		if err != nil {
			t.Errorf("ParseObjective(%q): %v", tt.in, err)
			continue
		}
		tt.want.Source = tt.in
		if got != tt.want {
			t.Errorf("ParseObjective(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		back, err := ParseObjective(got.String())
		if err != nil || back.String() != got.String() {
			t.Errorf("%q: String %q does not parse back (%v)", tt.in, got.String(), err)
		}
	}
}

func TestParseObjectiveErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the error, besides the expression
	}{
		{"", "empty expression"},
		{"p99", "no comparison"},
		{"p99=250ms", `bad comparison "="`},
		{"p99==250ms", `bad comparison "=="`},
		{"p99≤250ms", `bad comparison "≤"`},
		{"p99<", "missing threshold"},
		{"<250ms", "missing metric"},
		{"p99<250", `threshold "250" has no unit`},
		{"p99<25x", `threshold "25x" is not a duration`},
		{"p99<-5ms", "negative"},
		{"p99<5000h", "more than"},
		{"p100<1s", "write max"},
		{"p999<1s", "written with a dot"},
		{"p0<1s", "out of range"},
		{"p-1<1s", "unknown metric"},
		{"p9e1<1s", "unknown metric"},
		{"latency<1s", `unknown metric "latency"`},
		{"p99>250ms", "upper bound"},
		{"errors>1%", "upper bound"},
		{"throughput<99%", "lower bound"},
		{"throughput>=0.99", "percentage"},
		{"throughput>=101%", "more than 100%"},
		{"errors<5.5", "whole count"},
		{"errors<abc%", `"abc" is not a number`},
		{"rps>=fast", "requests per second"},
		{"service.errors<1%", "only to latency"},
		{":p99<1s", "empty phase name"},
		{"phase=:p99<1s", "empty phase name"},
		{"phase=degraded p99<1s", "needs a colon"},
	}
	for _, tt := range tests {
		_, err := ParseObjective(tt.in)
		if err == nil {
			t.Errorf("ParseObjective(%q): no error, want one containing %q", tt.in, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || !strings.Contains(msg, `objective "`+tt.in+`"`) {
			t.Errorf("ParseObjective(%q) error %q: want it to name the expression and contain %q", tt.in, msg, tt.want)
		}
	}
}

func TestObjectiveJSON(t *testing.T) {
	o, err := ParseObjective("degraded:service.p99.9<1.5s")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(struct{ O Objective }{o})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"O":"degraded:service.p99.9\u003c1.5s"}` {
		t.Fatalf("JSON %s", b)
	}
	var back struct{ O Objective }
	if err := json.Unmarshal(b, &back); err != nil || back.O.String() != o.String() {
		t.Fatalf("round trip %+v, %v", back.O, err)
	}
}

func writeSLO(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slo.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSLOFile(t *testing.T) {
	path := writeSLO(t, `# nightly gate
objectives:
  - metric: p99
    op: "<"
    threshold: 250ms
  - metric: service.p99.9
    op: "<="
    threshold: 1s
    phase: degraded
  - metric: rps
    op: ">="
    threshold: 1000
  - "errors<0.1%"
policy:
  uncertain: warn
  confidence: 0.99
`)
	spec, err := LoadSLOFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range spec.Objectives {
		got = append(got, o.String())
	}
	want := []string{"p99<250ms", "degraded:service.p99.9<=1s", "rps>=1000", "errors<0.1%"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("objectives %q, want %q", got, want)
	}
	if spec.Policy.Uncertain != UncertainWarn || spec.Policy.Confidence != 0.99 {
		t.Errorf("policy %+v", spec.Policy)
	}
	if spec.Objectives[1].Source != path+":6" {
		t.Errorf("source %q, want %s:6", spec.Objectives[1].Source, path)
	}
}

func TestLoadSLOFileErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // after the file name
	}{
		{"bad threshold", `objectives:
  - metric: p99
    op: "<"
    threshold: 25x
`, `:4: objectives[0].threshold: bad value "25x": threshold "25x" is not a duration`},
		{"bad metric", `objectives:
  - "p99<1s"
  - metric: p99.9.9
    op: "<"
    threshold: 1s
`, `:3: objectives[1].metric: bad value "p99.9.9": unknown metric`},
		{"bad op", `objectives:
  - metric: p99
    op: "=="
    threshold: 1s
`, `:3: objectives[0].op: bad value "==": want <, <=, > or >=`},
		{"wrong direction", `objectives:
  - metric: rps
    op: "<"
    threshold: 10
`, `:3: objectives[0].op: bad value "<": rps is a lower bound`},
		{"missing threshold", `objectives:
  - metric: p99
    op: "<"
`, `:2: objectives[0].threshold: missing`},
		{"unknown field", `objectives:
  - metric: p99
    op: "<"
    treshold: 1s
`, `:4: objectives[0].treshold: unknown field`},
		{"bad expression", `objectives:
  - "p99<1s"
  - "p99<fast"
`, `:3: objectives[1]: bad value "p99<fast": threshold "fast" is not a duration`},
		{"bad policy", `objectives: ["p99<1s"]
policy:
  uncertain: maybe
`, `:3: policy.uncertain: bad value "maybe": want fail, pass or warn`},
		{"bad confidence", `objectives: ["p99<1s"]
policy: {confidence: 95}
`, `:2: policy.confidence: bad value "95": want a level between 0 and 1`},
		{"unknown top level", `objective: ["p99<1s"]
`, `:1: objective: unknown field`},
		{"no objectives", `policy: {uncertain: fail}
`, `objectives: missing`},
		{"empty objectives", `objectives: []
`, `:1: objectives: empty`},
		{"syntax", `objectives:
  - metric: p99
   op: "<"
`, `did not find expected`},
		{"bare >", `objectives:
  - metric: rps
    op: >=
    threshold: 10
`, `:3: op: did not find expected comment or line break (quote the comparison: op: ">=")`},
		{"not a mapping", `- p99<1s
`, `want a mapping`},
		{"empty", ``, `empty file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSLO(t, tt.text)
			_, err := LoadSLOFile(path)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to start with the path and contain %q", err, tt.want)
			}
		})
	}
	if _, err := LoadSLOFile(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestCheckPhases(t *testing.T) {
	objs := []Objective{mustObjective(t, "p99<1s"), mustObjective(t, "total:p99<1s"), mustObjective(t, "burst:p99<1s")}
	if err := CheckPhases(objs, []string{"warm", "burst"}); err != nil {
		t.Fatal(err)
	}
	err := CheckPhases(append(objs, mustObjective(t, "brust:p99<1s")), []string{"warm", "burst"})
	if err == nil || !strings.Contains(err.Error(), `phase "brust"`) || !strings.Contains(err.Error(), "phases: warm, burst") {
		t.Fatalf("error %v", err)
	}
}

func mustObjective(t testing.TB, s string) Objective {
	t.Helper()
	o, err := ParseObjective(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// ParseObjective never panics, and what it accepts prints in a canonical
// form that parses back to the same objective.
func FuzzParseObjective(f *testing.F) {
	for _, s := range []string{
		"p99<250ms", "p99.9<1s", "p50<=20ms", "max<2s", "mean<30ms", "service.p99<100ms",
		"errors<0.1%", "errors<=5", "throughput>=99%", "rps>=1000", "degraded:p99<500ms",
		"phase=degraded:p99<500ms", "phase=phase=x:p99<1s", "a:b:p99<1s", "p.5<1µs", "rps>1.5/s",
		"p99<1h2m3.5s", "", ":", "p99", "<", "p99<<1s", "errors<100%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseObjective(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "objective ") {
				t.Fatalf("error %q does not name the expression", err)
			}
			return
		}
		c := o.String()
		back, err := ParseObjective(c)
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", s, c, err)
		}
		back.Source, o.Source = "", ""
		if back != o {
			t.Fatalf("%q: canonical %q parses to %+v, not %+v", s, c, back, o)
		}
	})
}

func FuzzParseSLO(f *testing.F) {
	f.Add([]byte("objectives:\n  - {metric: p99, op: \"<\", threshold: 250ms}\npolicy: {uncertain: warn}\n"))
	f.Add([]byte("objectives: [{metric: errors, op: \"<\", threshold: 0.1%, phase: burst}]\n"))
	f.Add([]byte("objectives: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := ParseSLO("fuzz.yaml", b)
		if err == nil {
			for _, o := range spec.Objectives {
				if _, err := ParseObjective(o.String()); err != nil {
					t.Fatalf("objective %q does not round-trip: %v", o, err)
				}
			}
		}
	})
}
