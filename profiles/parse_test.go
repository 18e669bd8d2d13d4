package profiles

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// specExample is the format's full example (package documentation).
const specExample = `name: degraded-dependency
description: Baseline, then 5% of dependency calls get +300ms, then recovery.
target:
  url: http://127.0.0.1:8080/item?key={{key}}
  method: GET
  headers: {X-Client: tailgate}
  body: ""
keys: {dist: zipf, s: 1.1, n: 10000}
data: {file: users.csv}
cache: {header: X-Cache, hit: HIT}
seed: 1
fault_targets:
  dep: {kind: demo}
  db: {kind: toxiproxy, api: http://127.0.0.1:8474, proxy: postgres}
phases:
  - name: baseline
    duration: 10s
    rate: 500
    arrivals: poisson
    warmup: false
  - name: burst
    duration: 10s
    rate: {burst: {baseline: 500, peak: 2000, length: 2s, period: 5s, offset: 1s}}
  - name: ramp-up
    duration: 10s
    rate: {ramp: {from: 100, to: 1000}}
  - name: steps
    duration: 9s
    rate: {steps: [{rate: 100, duration: 3s}, {rate: 300, duration: 3s}, {rate: 600, duration: 3s}]}
  - name: wave
    duration: 20s
    rate: {sine: {mean: 500, amplitude: 200, period: 10s}}
  - name: degraded
    duration: 1m30s
    rate: 500
    faults:
      - {name: slow-dep, target: dep, type: latency, toxicity: 0.05, attributes: {latency: 300, jitter: 0}}
      - {target: db, type: timeout, attributes: {timeout: 0}}
  - name: flush
    duration: 5s
    rate: {constant: 500}
    actions: [{at: 1s, do: flush_cache, target: dep}]
`

func mustParse(t testing.TB, src string) *Profile {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return p
}

// problems parses src and returns its problems; it fails the test if src
// parses.
func problems(t *testing.T, src string) []Problem {
	t.Helper()
	p, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\nas %+v", src, p)
	}
	if p != nil {
		t.Errorf("Parse returned a profile with an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if len(e.Problems) == 0 {
		t.Fatalf("*Error with no problems")
	}
	return e.Problems
}

func TestParseSpecExample(t *testing.T) {
	p := mustParse(t, specExample)
	want := &Profile{
		Name:        "degraded-dependency",
		Description: "Baseline, then 5% of dependency calls get +300ms, then recovery.",
		Target: TargetDefaults{
			URL:     "http://127.0.0.1:8080/item?key={{key}}",
			Method:  "GET",
			Headers: map[string]string{"X-Client": "tailgate"},
		},
		Keys:  &Keys{Dist: "zipf", S: 1.1, N: 10000},
		Data:  &Data{File: "users.csv"},
		Cache: &Cache{Header: "X-Cache", Hit: "HIT"},
		Seed:  1,
		FaultTargets: map[string]FaultTarget{
			"dep": {Name: "dep", Kind: "demo"},
			"db":  {Name: "db", Kind: "toxiproxy", API: "http://127.0.0.1:8474", Proxy: "postgres"},
		},
		Phases: []Phase{
			{Name: "baseline", Duration: 10 * time.Second, Rate: RateShape{Constant: 500}, Arrivals: "poisson"},
			{Name: "burst", Duration: 10 * time.Second, Rate: RateShape{Burst: &BurstShape{
				Baseline: 500, Peak: 2000, Length: 2 * time.Second, Period: 5 * time.Second, Offset: time.Second}}},
			{Name: "ramp-up", Duration: 10 * time.Second, Rate: RateShape{Ramp: &RampShape{From: 100, To: 1000}}},
			{Name: "steps", Duration: 9 * time.Second, Rate: RateShape{Steps: []StepShape{
				{100, 3 * time.Second}, {300, 3 * time.Second}, {600, 3 * time.Second}}}},
			{Name: "wave", Duration: 20 * time.Second, Rate: RateShape{Sine: &SineShape{Mean: 500, Amplitude: 200, Period: 10 * time.Second}}},
			{Name: "degraded", Duration: 90 * time.Second, Rate: RateShape{Constant: 500}, Faults: []Fault{
				{Name: "slow-dep", Target: "dep", Type: "latency", Toxicity: 0.05, Stream: "downstream",
					Attributes: map[string]float64{"latency": 300, "jitter": 0}},
				{Name: "degraded-db-timeout", Target: "db", Type: "timeout", Toxicity: 1, Stream: "downstream",
					Attributes: map[string]float64{"timeout": 0}},
			}},
			{Name: "flush", Duration: 5 * time.Second, Rate: RateShape{Constant: 500},
				Actions: []Action{{At: time.Second, Do: "flush_cache", Target: "dep"}}},
		},
		Source: "test.yaml",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
		for i := range min(len(p.Phases), len(want.Phases)) {
			if !reflect.DeepEqual(p.Phases[i], want.Phases[i]) {
				t.Errorf("phase %d:\ngot  %+v\nwant %+v", i, p.Phases[i], want.Phases[i])
			}
		}
	}
	if got, want := p.Duration(), 154*time.Second; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse("dir/my-scenario.yaml", []byte(`
fault_targets: {dep: {kind: demo}}
phases:
  - {duration: 1s, rate: 1, faults: [{target: dep, type: error}]}
  - {duration: 1s, rate: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "my-scenario" {
		t.Errorf("Name = %q, want the file's base name", p.Name)
	}
	if p.Target.Method != "GET" {
		t.Errorf("Method = %q, want GET", p.Target.Method)
	}
	if p.Phases[0].Name != "phase-1" || p.Phases[1].Name != "phase-2" {
		t.Errorf("phase names %q, %q; want phase-1, phase-2", p.Phases[0].Name, p.Phases[1].Name)
	}
	f := p.Phases[0].Faults[0]
	if f.Name != "phase-1-dep-error" || f.Toxicity != 1 || f.Stream != "downstream" {
		t.Errorf("fault defaults: %+v", f)
	}
	if p.Keys != nil || p.Data != nil || p.Cache != nil {
		t.Errorf("absent sections should stay nil: %+v", p)
	}
}

func TestParseDurations(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"10s", 10 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"1h", time.Hour},
		{"1.5s", 1500 * time.Millisecond},
		{`"2s"`, 2 * time.Second},
		{"500us", 500 * time.Microsecond},
	} {
		p := mustParse(t, "phases: [{duration: "+tt.in+", rate: 1}]")
		if got := p.Phases[0].Duration; got != tt.want {
			t.Errorf("duration %s = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	p := mustParse(t, `
x-base: &base {duration: 5s, rate: 300, arrivals: poisson}
phases:
  - {<<: *base, name: before}
  - <<: *base
    name: after
    rate: 600
  - *base
`)
	if len(p.Phases) != 3 {
		t.Fatalf("%d phases", len(p.Phases))
	}
	if p.Phases[1].Rate.Constant != 600 || p.Phases[1].Duration != 5*time.Second || p.Phases[1].Arrivals != "poisson" {
		t.Errorf("merged phase: %+v", p.Phases[1])
	}
	if p.Phases[2].Name != "phase-3" || p.Phases[2].Rate.Constant != 300 {
		t.Errorf("aliased phase: %+v", p.Phases[2])
	}
}

// TestParseProblems has one row per kind of problem: each source has
// exactly one, whose line, path, value and message are checked.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		line  int
		path  string
		value string
		msg   string
	}{
		// Structure.
		{"unknown field", "phases: [{duration: 1s, rate: 1}]\nsed: 5\n", 2, "sed", "sed", `unknown field (did you mean "seed"?)`},
		{"unknown nested field", "phases:\n  - duration: 1s\n    rate: 1\n    arival: poisson\n", 4, "phases[0].arival", "arival", `did you mean "arrivals"?`},
		{"unknown field far off", "phases: [{duration: 1s, rate: 1}]\nzzzzzzz: 1\n", 2, "zzzzzzz", "zzzzzzz", "want one of: name, description"},
		{"duplicate field", "name: a\nname: b\nphases: [{duration: 1s, rate: 1}]\n", 2, "name", "name", "duplicate field (first at line 1)"},
		{"not a mapping", "- 1\n", 1, "", "", "a profile must be a mapping"},
		{"empty file", "", 1, "", "", "empty profile"},
		{"comments only", "# nothing\n", 1, "", "", "empty profile"},
		{"two documents", "phases: [{duration: 1s, rate: 1}]\n---\nname: x\n", 3, "", "", "more than one YAML document"},
		{"syntax error", "name: x\nphases: [\n", 2, "", "", "invalid YAML"},
		{"tab indent", "phases:\n\t- duration: 1s\n", 2, "", "", "invalid YAML"},
		{"unknown anchor", "phases: *nope\n", 1, "", "", "unknown anchor"},
		{"wrong type", "name: [a]\nphases: [{duration: 1s, rate: 1}]\n", 1, "name", "", "must be a string, not a list"},
		{"seed negative", "seed: -1\nphases: [{duration: 1s, rate: 1}]\n", 1, "seed", "-1", "whole number ≥ 0"},
		{"warmup not bool", "phases: [{duration: 1s, rate: 1, warmup: yes}]\n", 1, "phases[0].warmup", "yes", "true or false"},

		// Phases.
		{"missing phases", "name: x\n", 1, "phases", "", "missing phases"},
		{"empty phases", "name: x\nphases: []\n", 2, "phases", "", "no phases"},
		{"phases not a list", "phases: {duration: 1s}\n", 1, "phases", "", "must be a list"},
		{"missing duration", "phases:\n  - rate: 5\n", 2, "phases[0].duration", "", "missing duration"},
		{"zero duration", "phases:\n  - {duration: 1s, rate: 5}\n  - {duration: 0s, rate: 5}\n", 3, "phases[1].duration", "0s", "must be positive"},
		{"negative duration", "phases:\n  - {duration: -5s, rate: 5}\n", 2, "phases[0].duration", "-5s", "must be positive"},
		{"duration without unit", "phases:\n  - duration: 10\n    rate: 5\n", 2, "phases[0].duration", "10", "must be a duration with a unit"},
		{"duration garbage", "phases:\n  - duration: soon\n    rate: 5\n", 2, "phases[0].duration", "soon", `like "10s"`},
		{"duplicate phase names", "phases:\n  - {name: a, duration: 1s, rate: 5}\n  - {name: a, duration: 1s, rate: 5}\n", 3, "phases[1].name", "a", "duplicate phase name (also phases[0])"},
		{"too long", "phases:\n  - {duration: 8000h, rate: 5}\n  - {duration: 8000h, rate: 5}\n", 3, "phases[1].duration", "8000h", "longer than"},
		{"unknown arrivals", "phases:\n  - duration: 1s\n    rate: 5\n    arrivals: bursty\n", 4, "phases[0].arrivals", "bursty", "unknown arrivals"},

		// Rates.
		{"missing rate", "phases:\n  - duration: 1s\n", 2, "phases[0].rate", "", "missing rate"},
		{"negative rate", "phases:\n  - duration: 1s\n    rate: -5\n", 3, "phases[0].rate", "-5", "must not be negative"},
		{"rate past the ceiling", "phases:\n  - duration: 1s\n    rate: 1e12\n", 3, "phases[0].rate", "1e12", "--segment"},
		{"infinite rate", "phases:\n  - duration: 1s\n    rate: .inf\n", 3, "phases[0].rate", ".inf", "finite"},
		{"NaN rate", "phases:\n  - duration: 1s\n    rate: .nan\n", 3, "phases[0].rate", ".nan", "finite"},
		{"rate not a number", "phases:\n  - duration: 1s\n    rate: fast\n", 3, "phases[0].rate", "fast", "must be a number of requests per second"},
		{"quoted rate", "phases:\n  - duration: 1s\n    rate: \"500\"\n", 3, "phases[0].rate", "500", "must be a number"},
		{"negative constant", "phases:\n  - duration: 1s\n    rate: {constant: -1}\n", 3, "phases[0].rate.constant", "-1", "must not be negative"},
		{"unknown shape", "phases:\n  - duration: 1s\n    rate: {linear: {from: 1}}\n", 3, "phases[0].rate.linear", "linear", "unknown rate shape"},
		{"two shapes", "phases:\n  - duration: 10s\n    rate:\n      ramp: {from: 1, to: 2}\n      sine: {mean: 5, amplitude: 1, period: 1s}\n", 5, "phases[0].rate.sine", "sine", "more than one rate shape (ramp and sine)"},
		{"empty shape", "phases:\n  - duration: 1s\n    rate: {}\n", 3, "phases[0].rate", "", "empty rate"},
		{"ramp missing to", "phases:\n  - duration: 1s\n    rate: {ramp: {from: 1}}\n", 3, "phases[0].rate.ramp.to", "", "missing to"},
		{"ramp negative to", "phases:\n  - duration: 10s\n    rate:\n      ramp: {from: 100, to: -1}\n", 4, "phases[0].rate.ramp.to", "-1", "must not be negative"},
		{"ramp over too long", "phases:\n  - duration: 10s\n    rate:\n      ramp:\n        from: 1\n        to: 2\n        over: 11s\n", 7, "phases[0].rate.ramp.over", "11s", "longer than its phase (10s)"},
		{"ramp over zero", "phases:\n  - duration: 10s\n    rate: {ramp: {from: 1, to: 2, over: 0s}}\n", 3, "phases[0].rate.ramp.over", "0s", "must be positive"},
		{"sine amplitude > mean", "phases:\n  - duration: 10s\n    rate: {sine: {mean: 100, amplitude: 150, period: 5s}}\n", 3, "phases[0].rate.sine.amplitude", "150", "larger than mean 100"},
		{"sine zero period", "phases:\n  - duration: 10s\n    rate: {sine: {mean: 100, amplitude: 50, period: 0s}}\n", 3, "phases[0].rate.sine.period", "0s", "must be positive"},
		{"burst length ≥ period", "phases:\n  - duration: 10s\n    rate: {burst: {baseline: 1, peak: 2, length: 5s, period: 5s}}\n", 3, "phases[0].rate.burst.length", "5s", "shorter than the period (5s)"},
		{"burst offset ≥ period", "phases:\n  - duration: 10s\n    rate: {burst: {baseline: 1, peak: 2, length: 1s, period: 5s, offset: 6s}}\n", 3, "phases[0].rate.burst.offset", "6s", "shorter than the period"},
		{"burst length 0", "phases:\n  - duration: 10s\n    rate: {burst: {baseline: 1, peak: 2, length: 0s, period: 5s}}\n", 3, "phases[0].rate.burst.length", "0s", "must be positive"},
		{"burst missing period", "phases:\n  - duration: 10s\n    rate: {burst: {baseline: 1, peak: 2, length: 1s}}\n", 3, "phases[0].rate.burst.period", "", "missing period"},
		{"empty steps", "phases:\n  - duration: 10s\n    rate: {steps: []}\n", 3, "phases[0].rate.steps", "", "empty steps"},
		{"step zero duration", "phases:\n  - duration: 10s\n    rate:\n      steps:\n        - {rate: 1, duration: 2s}\n        - {rate: 2, duration: 0s}\n", 6, "phases[0].rate.steps[1].duration", "0s", "must be positive"},
		{"steps too long", "phases:\n  - duration: 5s\n    rate: {steps: [{rate: 1, duration: 3s}, {rate: 2, duration: 3s}]}\n", 3, "phases[0].rate.steps", "", "steps last 6s, longer than their phase (5s)"},
		{"step unknown field", "phases:\n  - duration: 5s\n    rate: {steps: [{rate: 1, duration: 3s, ramp: 1}]}\n", 3, "phases[0].rate.steps[0].ramp", "ramp", "unknown field"},

		// Faults and actions.
		{"unknown fault target", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: db, type: latency, attributes: {latency: 1}}\n", 6, "phases[0].faults[0].target", "db", "unknown fault target (defined: dep)"},
		{"no fault targets", "phases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: db, type: latency}]\n", 4, "phases[0].faults[0].target", "db", "no fault_targets defined"},
		{"type not supported by kind", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep, type: bandwidth, attributes: {rate: 1}}\n", 6, "phases[0].faults[0].type", "bandwidth", `not supported by demo target "dep" (supported: latency, error, timeout)`},
		{"disable on demo", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: dep, type: disable}]\n", 5, "phases[0].faults[0].type", "disable", "not supported by demo target"},
		{"error on toxiproxy", "fault_targets: {db: {kind: toxiproxy, api: 'http://h:8474', proxy: pg}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: db, type: error}]\n", 5, "phases[0].faults[0].type", "error", "supported: latency, timeout, bandwidth, reset_peer, disable"},
		{"toxicity > 1", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep, type: error, toxicity: 1.5}\n", 6, "phases[0].faults[0].toxicity", "1.5", "must be in [0, 1]"},
		{"toxicity < 0", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep, type: error, toxicity: -0.1}\n", 6, "phases[0].faults[0].toxicity", "-0.1", "must be in [0, 1]"},
		{"missing attribute", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep, type: latency, attributes: {jitter: 5}}\n", 6, "phases[0].faults[0].attributes.latency", "", "missing attribute latency (ms)"},
		{"missing attributes", "fault_targets: {db: {kind: toxiproxy, api: 'http://h:8474', proxy: pg}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: db, type: bandwidth}\n", 6, "phases[0].faults[0].attributes.rate", "", "missing attribute rate (KB/s)"},
		{"negative attribute", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - target: dep\n        type: latency\n        attributes:\n          latency: -300\n", 9, "phases[0].faults[0].attributes.latency", "-300", "≥ 0"},
		{"unknown attribute", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - target: dep\n        type: latency\n        attributes:\n          latency: 300\n          latancy: 3\n", 10, "phases[0].faults[0].attributes.latancy", "latancy", "unknown attribute for latency faults (want latency, jitter)"},
		{"status out of range", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: dep, type: error, attributes: {status: 200}}]\n", 5, "phases[0].faults[0].attributes.status", "200", "[400, 599]"},
		{"fractional toxiproxy attribute", "fault_targets: {db: {kind: toxiproxy, api: 'http://h:8474', proxy: pg}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: db, type: latency, attributes: {latency: 2.5}}]\n", 5, "phases[0].faults[0].attributes.latency", "2.5", "whole number"},
		{"disable with attributes", "fault_targets: {db: {kind: toxiproxy, api: 'http://h:8474', proxy: pg}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: db, type: disable, attributes: {timeout: 1}}]\n", 5, "phases[0].faults[0].attributes.timeout", "timeout", "disable faults take no attributes"},
		{"bad stream", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{target: dep, type: error, stream: both}]\n", 5, "phases[0].faults[0].stream", "both", "unknown stream"},
		{"duplicate fault names", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep, type: error}\n      - {target: dep, type: error}\n", 7, "phases[0].faults[1].name", "phase-1-dep-error", `duplicate fault name in phase "phase-1" (also faults[0])`},
		{"fault name with slash", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults: [{name: a/b, target: dep, type: error}]\n", 5, "phases[0].faults[0].name", "a/b", "must not contain '/'"},
		{"fault missing type", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    faults:\n      - {target: dep}\n", 6, "phases[0].faults[0].type", "", "missing type"},
		{"action at end", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    actions:\n      - {at: 5s, do: flush_cache, target: dep}\n", 6, "phases[0].actions[0].at", "5s", "not before the end of its phase (5s)"},
		{"action unknown", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    actions:\n      - {at: 1s, do: restart, target: dep}\n", 6, "phases[0].actions[0].do", "restart", "not supported by demo target"},
		{"action on toxiproxy", "fault_targets: {db: {kind: toxiproxy, api: 'http://h:8474', proxy: pg}}\nphases:\n  - duration: 5s\n    rate: 1\n    actions: [{at: 1s, do: flush_cache, target: db}]\n", 5, "phases[0].actions[0].do", "flush_cache", "supported: none"},
		{"action unknown target", "fault_targets: {dep: {kind: demo}}\nphases:\n  - duration: 5s\n    rate: 1\n    actions: [{at: 1s, do: flush_cache, target: cache}]\n", 5, "phases[0].actions[0].target", "cache", "unknown fault target"},

		// Fault targets.
		{"unknown kind", "fault_targets:\n  dep: {kind: chaos}\nphases: [{duration: 1s, rate: 1}]\n", 2, "fault_targets.dep.kind", "chaos", "unknown kind (want demo or toxiproxy)"},
		{"missing kind", "fault_targets:\n  dep: {api: 'http://x'}\nphases: [{duration: 1s, rate: 1}]\n", 2, "fault_targets.dep.kind", "", "missing kind"},
		{"toxiproxy without proxy", "fault_targets:\n  db: {kind: toxiproxy, api: 'http://h:8474'}\nphases: [{duration: 1s, rate: 1}]\n", 2, "fault_targets.db.proxy", "", "missing proxy"},
		{"toxiproxy bad api", "fault_targets:\n  db: {kind: toxiproxy, api: 'tcp://h:8474', proxy: pg}\nphases: [{duration: 1s, rate: 1}]\n", 2, "fault_targets.db.api", "tcp://h:8474", `unsupported URL scheme "tcp" (want http or https)`},

		// Target, keys, data, cache.
		{"bad scheme", "target:\n  url: ftp://example.com/\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.url", "ftp://example.com/", `unsupported URL scheme "ftp" (want http, https or grpc)`},
		{"no scheme", "target:\n  url: example.com/x\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.url", "example.com/x", "URL has no scheme"},
		{"no host", "target:\n  url: 'http:///x'\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.url", "http:///x", "no host"},
		{"unknown template", "target:\n  url: http://h/item?key={{id}}\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.url", "{{id}}", "unknown template variable"},
		{"template with spaces", "target:\n  body: '{\"k\": \"{{ key }}\"}'\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.body", "{{ key }}", "without spaces: {{key}}"},
		{"unterminated template", "target:\n  headers: {X-Seq: '{{seq'}\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.headers.X-Seq", "{{seq", "unterminated"},
		{"data template without data", "target:\n  url: http://h/u/{{data.user}}\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.url", "{{data.user}}", "needs a data section"},
		{"bad method", "target:\n  method: 'GET IT'\nphases: [{duration: 1s, rate: 1}]\n", 2, "target.method", "GET IT", "invalid method"},
		{"bad header name", "target:\n  headers:\n    'X Client': a\nphases: [{duration: 1s, rate: 1}]\n", 3, `target.headers["X Client"]`, "X Client", "invalid header name"},
		{"unknown dist", "keys: {dist: normal, n: 10}\nphases: [{duration: 1s, rate: 1}]\n", 1, "keys.dist", "normal", "unknown key distribution"},
		{"zipf s ≤ 1", "keys:\n  dist: zipf\n  s: 1\n  n: 10\nphases: [{duration: 1s, rate: 1}]\n", 3, "keys.s", "1", "zipf needs a finite s > 1"},
		{"zipf without s", "name: z\nkeys:\n  dist: zipf\n  n: 10\nphases: [{duration: 1s, rate: 1}]\n", 2, "keys.s", "", "missing s: zipf needs a finite s > 1"},
		{"s for uniform", "keys: {dist: uniform, s: 2, n: 10}\nphases: [{duration: 1s, rate: 1}]\n", 1, "keys.s", "2", "only applies to dist zipf"},
		{"n < 1", "keys:\n  dist: uniform\n  n: 0\nphases: [{duration: 1s, rate: 1}]\n", 3, "keys.n", "0", "at least 1"},
		{"n fractional", "keys:\n  dist: uniform\n  n: 2.5\nphases: [{duration: 1s, rate: 1}]\n", 3, "keys.n", "2.5", "whole number"},
		{"missing data file", "data: {}\nphases: [{duration: 1s, rate: 1}]\n", 1, "data.file", "", "missing file"},
		{"data file type", "data: {file: users.xlsx}\nphases: [{duration: 1s, rate: 1}]\n", 1, "data.file", "users.xlsx", "want .csv, .jsonl or .ndjson"},
		{"cache missing hit", "cache: {header: X-Cache}\nphases: [{duration: 1s, rate: 1}]\n", 1, "cache.hit", "", "missing hit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.src)
			if len(ps) != 1 {
				t.Fatalf("%d problems, want 1:\n%v", len(ps), (&Error{ps}).Error())
			}
			p := ps[0]
			if p.Line != tt.line || p.Path != tt.path || p.Value != tt.value || !strings.Contains(p.Msg, tt.msg) || p.File != "bad.yaml" {
				t.Errorf("got  line %d path %q value %q msg %q\nwant line %d path %q value %q msg ~ %q",
					p.Line, p.Path, p.Value, p.Msg, tt.line, tt.path, tt.value, tt.msg)
			}
			s := p.String()
			if !strings.HasPrefix(s, "bad.yaml:"+strconv.Itoa(tt.line)+":") {
				t.Errorf("message %q does not start with file:line", s)
			}
			if tt.value != "" && !strings.Contains(s, fmt.Sprintf("(got %q)", tt.value)) {
				t.Errorf("message %q does not show the value", s)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	ps := problems(t, "phases:\n  - duration: 1s\n    rate: {ramp: {from: 1, to: -2}}\n")
	want := `bad.yaml:3:32: phases[0].rate.ramp.to: must not be negative (got "-2")`
	if got := (&Error{ps}).Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	// Without a position or a value.
	p := Problem{File: "f.yaml", Path: "phases", Msg: "no phases"}
	if got, want := p.String(), "f.yaml: phases: no phases"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// Long values are cut.
	p = Problem{File: "f", Line: 1, Column: 2, Path: "x", Msg: "bad", Value: strings.Repeat("é", 100)}
	if got := p.String(); len(got) > 100 || !strings.HasSuffix(got, `…")`) {
		t.Errorf("long value not cut: %q", got)
	}
}

func TestEveryErrorReported(t *testing.T) {
	src := `name: three
phases:
  - name: a
    duration: 0s
    rate: 5
  - name: b
    duration: 5s
    rate: {sine: {mean: 10, amplitude: 20, period: 1s}}
    arrivals: sometimes
`
	ps := problems(t, src)
	if len(ps) != 3 {
		t.Fatalf("%d problems, want 3:\n%v", len(ps), (&Error{ps}).Error())
	}
	want := []struct {
		line int
		path string
	}{{4, "phases[0].duration"}, {8, "phases[1].rate.sine.amplitude"}, {9, "phases[1].arrivals"}}
	for i, w := range want {
		if ps[i].Line != w.line || ps[i].Path != w.path {
			t.Errorf("problem %d: %v; want line %d path %s", i, ps[i], w.line, w.path)
		}
	}
	if n := strings.Count((&Error{ps}).Error(), "\n"); n != 2 {
		t.Errorf("Error() has %d newlines, want one line per problem", n)
	}
}

func TestManyProblemsOneFile(t *testing.T) {
	// Decoding problems (a bad duration) don't hide validation problems
	// elsewhere, and don't cause follow-on problems on the same field.
	ps := problems(t, `phases:
  - {duration: ten, rate: -1}
  - {duration: 5s, rate: {ramp: {from: 1, to: 2, over: 6s}}}
  - {duration: 5s, rate: {steps: [{rate: x, duration: 1s}]}}
`)
	paths := make([]string, len(ps))
	for i, p := range ps {
		paths[i] = p.Path
	}
	want := []string{"phases[0].duration", "phases[0].rate", "phases[1].rate.ramp.over", "phases[2].rate.steps[0].rate"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %q, want %q\n%v", paths, want, (&Error{ps}).Error())
	}
}

func TestAliasBomb(t *testing.T) {
	// Merge keys nest: m6 expands to 10⁶ attributes.
	src := "x-1: &m1 {a: 1}\n"
	for i := 2; i <= 6; i++ {
		src += fmt.Sprintf("x-%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10), ", "))
	}
	src += "fault_targets: {d: {kind: demo}}\nphases: [{duration: 1s, rate: 1, faults: [{target: d, type: error, attributes: *m6}]}]\n"
	start := time.Now()
	ps := problems(t, src)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "profile too large") {
		t.Errorf("want one 'too large' problem, got %d:\n%v", len(ps), (&Error{ps}).Error())
	}
}

func TestMergeCycle(t *testing.T) {
	ps := problems(t, "phases: [&a {duration: 1s, rate: 1, <<: *a}]\n")
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "merge key") {
		t.Errorf("got %v", (&Error{ps}).Error())
	}
}

func TestRateShapeYAML(t *testing.T) {
	// RateShape decodes on its own, through yaml.Unmarshal.
	var v struct {
		Rate RateShape `yaml:"rate"`
	}
	if err := yaml.Unmarshal([]byte("rate: {sine: {mean: 5, amplitude: 2, period: 1s}}"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Rate.Kind() != ShapeSine || v.Rate.Sine.Period != time.Second {
		t.Errorf("got %+v", v.Rate)
	}
	err := yaml.Unmarshal([]byte("rate: {sine: {mean: 5, amplitude: 7, period: 1s}}"), &v)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Path != "rate.sine.amplitude" {
		t.Errorf("err = %v", err)
	}
	// And encodes back to the same form.
	for _, src := range []string{"500", "{ramp: {from: 1, to: 2, over: 1s}}", "{steps: [{rate: 1, duration: 2s}]}",
		"{burst: {baseline: 1, peak: 2, length: 1s, period: 2s, offset: 500ms}}"} {
		var r RateShape
		if err := yaml.Unmarshal([]byte(src), &r); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out, err := yaml.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var r2 RateShape
		if err := yaml.Unmarshal(out, &r2); err != nil || !reflect.DeepEqual(r, r2) {
			t.Errorf("%s → %s → %+v, %v", src, out, r2, err)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	// A parsed profile marshals back to YAML that parses to the same profile.
	for _, src := range append([]string{specExample}, builtinSources(t)...) {
		p := mustParse(t, src)
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse("test.yaml", out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\n%v", out, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: round trip changed the profile:\n%+v\n%+v", p.Name, p, q)
		}
	}
}

func TestValidate(t *testing.T) {
	p := mustParse(t, specExample)
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate of a parsed profile: %v", err)
	}
	q := p.WithURL("ftp://nowhere/")
	err := q.Validate()
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Path != "target.url" || e.Problems[0].Line != 0 {
		t.Fatalf("Validate after WithURL(ftp) = %v", err)
	}
	if got, want := err.Error(), `test.yaml: target.url: unsupported URL scheme "ftp" (want http, https or grpc) (got "ftp://nowhere/")`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A Go-built profile with two shapes set.
	r := &Profile{Phases: []Phase{{Name: "x", Duration: time.Second, Rate: RateShape{Constant: 1, Ramp: &RampShape{To: 1}}}}}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "more than one rate shape") {
		t.Errorf("Validate = %v", err)
	}
}
