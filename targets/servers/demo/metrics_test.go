package demo

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	sampleRE     = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^{}]*\})? (\S+)$`)
	labelRE      = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"$`)
)

// parseExposition checks the Prometheus text format 0.0.4 line structure and
// returns the samples as "name{labels}" -> value and the family types.
func parseExposition(text string) (map[string]float64, map[string]string, error) {
	samples := map[string]float64{}
	types := map[string]string{}
	help := map[string]bool{}
	if !strings.HasSuffix(text, "\n") {
		return nil, nil, fmt.Errorf("no trailing newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				continue // plain comment
			}
			name := f[2]
			if !metricNameRE.MatchString(name) {
				return nil, nil, fmt.Errorf("line %d: bad metric name %q", n, name)
			}
			if len(f) != 4 || f[3] == "" {
				return nil, nil, fmt.Errorf("line %d: %s without text", n, f[1])
			}
			if f[1] == "HELP" {
				if help[name] {
					return nil, nil, fmt.Errorf("line %d: second HELP for %s", n, name)
				}
				help[name] = true
				continue
			}
			if _, dup := types[name]; dup {
				return nil, nil, fmt.Errorf("line %d: second TYPE for %s", n, name)
			}
			switch f[3] {
			case "counter", "gauge", "summary", "histogram", "untyped":
			default:
				return nil, nil, fmt.Errorf("line %d: bad type %q", n, f[3])
			}
			types[name] = f[3]
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			return nil, nil, fmt.Errorf("line %d: not `name{labels} value`: %q", n, line)
		}
		name, labels, val := m[1], m[2], m[3]
		if labels != "" {
			for _, l := range strings.Split(labels[1:len(labels)-1], ",") {
				if !labelRE.MatchString(l) {
					return nil, nil, fmt.Errorf("line %d: bad label %q", n, l)
				}
			}
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: bad value %q", n, val)
		}
		family := name
		if _, ok := types[family]; !ok {
			for _, suf := range []string{"_sum", "_count", "_bucket"} {
				if b, ok := strings.CutSuffix(name, suf); ok && (types[b] == "summary" || types[b] == "histogram") {
					family = b
				}
			}
		}
		if types[family] == "" || !help[family] {
			return nil, nil, fmt.Errorf("line %d: sample of %s before its HELP and TYPE", n, name)
		}
		if types[family] == "counter" && !strings.HasSuffix(name, "_total") {
			return nil, nil, fmt.Errorf("line %d: counter %s without _total", n, name)
		}
		key := name + labels
		if _, dup := samples[key]; dup {
			return nil, nil, fmt.Errorf("line %d: duplicate sample %s", n, key)
		}
		samples[key] = v
	}
	return samples, types, nil
}

func TestMetrics(t *testing.T) {
	s := newServer(t, noDelay())
	h := s.Handler()
	do(h, "GET", "/item?key=a", "")
	do(h, "GET", "/item?key=a", "")
	do(h, "GET", "/item?key=a", "")
	s.Faults().Add(Fault{Name: "e", Type: FaultError, Toxicity: 1})
	do(h, "GET", "/item?key=b", "")

	rec := do(h, "GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	samples, types, err := parseExposition(rec.Body.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, rec.Body)
	}
	wantTypes := map[string]string{
		"process_cpu_seconds_total":     "counter",
		"process_resident_memory_bytes": "gauge",
		"go_gc_duration_seconds":        "summary",
		"go_goroutines":                 "gauge",
		"demo_requests_total":           "counter",
		"demo_inflight_requests":        "gauge",
		"demo_queued_requests":          "gauge",
		"demo_injected_faults_total":    "counter",
	}
	for name, typ := range wantTypes {
		if types[name] != typ {
			t.Errorf("%s: type %q, want %q", name, types[name], typ)
		}
	}
	want := map[string]float64{
		`demo_requests_total{cache="hit"}`:           2,
		`demo_requests_total{cache="miss"}`:          2,
		`demo_injected_faults_total{kind="error"}`:   1,
		`demo_injected_faults_total{kind="latency"}`: 0,
		`demo_injected_faults_total{kind="timeout"}`: 0,
		`demo_inflight_requests`:                     0,
		`demo_queued_requests`:                       0,
	}
	for k, v := range want {
		if got, ok := samples[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		if _, ok := samples[`go_gc_duration_seconds{quantile="`+q+`"}`]; !ok {
			t.Errorf("missing GC quantile %s", q)
		}
	}
	for _, k := range []string{"go_gc_duration_seconds_sum", "go_gc_duration_seconds_count"} {
		if _, ok := samples[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if samples["process_cpu_seconds_total"] <= 0 || samples["process_resident_memory_bytes"] <= 0 || samples["go_goroutines"] < 1 {
		t.Errorf("implausible process metrics: cpu %v rss %v goroutines %v",
			samples["process_cpu_seconds_total"], samples["process_resident_memory_bytes"], samples["go_goroutines"])
	}
}

func TestParseExpositionRejects(t *testing.T) {
	for _, bad := range []string{
		"x 1\n",
		"# HELP x h\n# TYPE x gauge\nx{a=b} 1\n",
		"# HELP x h\n# TYPE x gauge\nx one\n",
		"# HELP x_total h\n# TYPE x_total counter\nx_total 1 2 3\n",
		"# HELP x h\n# TYPE x counter\nx 1\n",
		"# HELP x h\n# TYPE x gauge\nx 1",
	} {
		if _, _, err := parseExposition(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
