package analysis

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFailRule(t *testing.T) {
	tests := []struct {
		in   string
		want FailRule
	}{
		// p99 of the total may rise by at most 10 %
		{"p99>+10%", FailRule{Metric: CompareP99, Op: '>', Threshold: 0.10}},
		// the sign is optional; spaces are allowed around the parts
		{" p99.9 > 5 % ", FailRule{Metric: CompareP999, Op: '>', Threshold: 0.05}},
		// percentage points: an absolute change of the error rate
		{"errors>+0.5pp", FailRule{Metric: CompareErrorRate, Op: '>', Threshold: 0.005, Abs: true}},
		{"error_rate>+1pp", FailRule{Metric: CompareErrorRate, Op: '>', Threshold: 0.01, Abs: true}},
		// a relative change of the error rate
		{"errors>+50%", FailRule{Metric: CompareErrorRate, Op: '>', Threshold: 0.5}},
		// throughput may fall by at most 2 %
		{"throughput<-2%", FailRule{Metric: CompareThroughput, Op: '<', Threshold: -0.02}},
		// one phase; every phase
		{"burst:p99>+10%", FailRule{Metric: CompareP99, Phase: "burst", Op: '>', Threshold: 0.10}},
		{"*:max>+100%", FailRule{Metric: CompareMax, Phase: "*", Op: '>', Threshold: 1}},
		// a duration: an absolute change of a latency
		{"P50>+2ms", FailRule{Metric: CompareP50, Op: '>', Threshold: 2e6, Abs: true}},
		{"p90<-1.5s", FailRule{Metric: CompareP90, Op: '<', Threshold: -1.5e9, Abs: true}},
	}
	for _, tt := range tests {
		got, err := ParseFailRule(tt.in)
		if err != nil {
			t.Errorf("ParseFailRule(%q): %v", tt.in, err)
			continue
		}
		if got.Metric != tt.want.Metric || got.Phase != tt.want.Phase || got.Op != tt.want.Op || got.Abs != tt.want.Abs ||
			math.Abs(got.Threshold-tt.want.Threshold) > 1e-12*math.Abs(tt.want.Threshold) {
			t.Errorf("ParseFailRule(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		back, err := ParseFailRule(got.String())
		if err != nil || back != got {
			t.Errorf("%q → %q → %+v, %v", tt.in, got.String(), back, err)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty rule"},
		{"p99", "no comparison"},
		{">+10%", "missing metric"},
		{"p99>=+10%", "use >, not >="},
		{"p99=+10%", "want > or <"},
		{"p97>+10%", `unknown metric "p97"`},
		{"p99>", "missing change"},
		{"p99>10", "has no unit"},
		{"p99>+ten%", `"ten" is not a number`},
		{"p99>+-5%", "is not a number"},
		{"p99>+1pp", "percentage points apply to errors only"},
		{"errors>+1ms", "want a percentage"},
		{"errors>+5", "has no unit"},
		{"errors>+200pp", "more than 100 percentage points"},
		{"throughput<-120%", "nothing falls by more than 100%"},
		{"throughput<-2pp", "percentage points apply to errors only"},
		{"p99>+2000h", "more than 1000h0m0s"},
		{":p99>+10%", "empty phase name"},
		{"p99>+1e3%", "not a number"},
	}
	for _, tt := range bad {
		_, err := ParseFailRule(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFailRule(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParseFailRule(f *testing.F) {
	for _, s := range []string{"p99>+10%", "p99.9>+5%", "errors>+0.5pp", "throughput<-2%", "burst:p99>+10%",
		"*:max>+100%", "p50>+2ms", "p90<-1.5s", "a:b:p99>0.07%", " p99 > 5 % ", "p99>=1%", "errors>+200pp", "x\xff:p99>1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFailRule(s)
		if err != nil {
			return
		}
		if r.Op != '>' && r.Op != '<' || !slices.Contains(CompareMetrics, r.Metric) || math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
			t.Fatalf("ParseFailRule(%q) = %+v", s, r)
		}
		back, err := ParseFailRule(r.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose String %q does not parse: %v", s, r, r.String(), err)
		}
		if back.Metric != r.Metric || back.Phase != r.Phase || back.Op != r.Op || back.Abs != r.Abs ||
			math.Abs(back.Threshold-r.Threshold) > 1e-9*math.Abs(r.Threshold) {
			t.Fatalf("%q: %+v, but its String %q parses to %+v", s, r, r.String(), back)
		}
		_, _ = r.Breached(nil)
	})
}

func TestFailRuleBreached(t *testing.T) {
	nan := math.NaN()
	mk := func(phase string, m CompareMetric, a, b, lo, hi float64, verdict string) Delta {
		d := Delta{Phase: phase, Metric: m, A: a, B: b, CILo: lo, CIHi: hi, Verdict: verdict, PValue: nan}
		if m == CompareErrorRate {
			d.Abs, d.Rel = true, b-a
		} else {
			d.Rel = ratio(a, b)
		}
		return d
	}
	ms := float64(time.Millisecond)
	ds := []Delta{
		mk("steady", CompareP99, 10*ms, 10.3*ms, -0.02, 0.08, DeltaSame),
		mk("burst", CompareP99, 10*ms, 11.2*ms, 0.06, 0.18, DeltaWorse),
		mk("total", CompareP99, 10*ms, 10.8*ms, 0.02, 0.14, DeltaWorse),
		mk("total", CompareP50, 5*ms, 5.75*ms, -0.05, 0.35, DeltaSame),
		mk("total", CompareErrorRate, 0.001, 0.012, 0.006, 0.016, DeltaWorse),
		mk("total", CompareThroughput, 1000, 950, -0.08, -0.02, DeltaWorse),
		mk("total", CompareP999, 0, 5*ms, nan, nan, DeltaSame),
	}
	tests := []struct {
		rule string
		want bool
		why  string
	}{
		// +8 % is within +10 %
		{"p99>+10%", false, "p99 in total: +8% [+2%, +14%], worse: does not breach p99>+10%"},
		// +8 % is beyond +5 % and significant
		{"p99>+5%", true, "p99 in total: +8% [+2%, +14%], worse: breaches p99>+5%"},
		// burst: +12 %, significant
		{"burst:p99>+10%", true, "p99 in phase burst: +12% [+6%, +18%], worse: breaches burst:p99>+10%"},
		// steady: +3 %, within
		{"steady:p99>+2%", false, "p99 in phase steady: +3% [-2%, +8%], ~: beyond steady:p99>+2% but not significant"},
		// every phase: burst breaches
		{"*:p99>+10%", true, "p99 in phase burst"},
		// +15 % but the interval contains 0: noise never fails a build
		{"p50>+10%", false, "beyond p50>+10% but not significant"},
		// +1.1 pp errors
		{"errors>+0.5pp", true, "error_rate in total: +1.1pp [+0.6pp, +1.6pp], worse: breaches errors>+0.5pp"},
		{"errors>+2pp", false, "does not breach"},
		// errors rose elevenfold
		{"errors>+500%", true, "breaches errors>+500%"},
		// throughput −5 %
		{"throughput<-2%", true, "throughput in total: -5% [-8%, -2%], worse: breaches throughput<-2%"},
		{"throughput<-10%", false, "does not breach"},
		// +0.8 ms on p99
		{"p99>+0.5ms", true, "breaches p99>+500µs"},
		{"p99>+1ms", false, "does not breach"},
		// no estimate
		{"p99.9>+1%", false, "no estimate"},
		// a phase the comparison does not have
		{"spike:p99>+1%", false, "no p99 in phase spike in the comparison"},
	}
	for _, tt := range tests {
		r, err := ParseFailRule(tt.rule)
		if err != nil {
			t.Fatal(err)
		}
		got, why := r.Breached(ds)
		if got != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("%s: %v %q; want %v with %q", tt.rule, got, why, tt.want, tt.why)
		}
	}

	// With one phase and no total, a rule without a phase watches it.
	one := []Delta{mk("main", CompareP99, 10*ms, 12*ms, 0.1, 0.3, DeltaWorse)}
	if ok, why := (FailRule{Metric: CompareP99, Op: '>', Threshold: 0.1}).Breached(one); !ok {
		t.Errorf("single phase: %q", why)
	}

	rules := []FailRule{}
	for _, s := range []string{"p99>+5%", "p99>+10%", "errors>+0.5pp"} {
		r, _ := ParseFailRule(s)
		rules = append(rules, r)
	}
	breaches, err := CheckFailRules(Comparison{Deltas: ds}, rules)
	if err != nil || len(breaches) != 2 {
		t.Errorf("CheckFailRules: %q, %v", breaches, err)
	}
	spike, _ := ParseFailRule("spike:p99>+1%")
	if _, err := CheckFailRules(Comparison{Deltas: ds}, append(rules, spike)); err == nil || !strings.Contains(err.Error(), "spike") {
		t.Errorf("an unknown phase is not reported: %v", err)
	}
}
