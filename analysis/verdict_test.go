package analysis

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"tailgate/generator"
)

func objectives(t testing.TB, exprs ...string) []Objective {
	t.Helper()
	var objs []Objective
	for _, e := range exprs {
		objs = append(objs, mustObjective(t, e))
	}
	return objs
}

// judge runs the self-checks and the evaluation the way the CLI does.
func judge(s *Summary, objs []Objective, policy SLOPolicy, cfg SelfCheckConfig) Verdict {
	cfg.PhaseQuantiles = ObjectiveQuantiles(objs)
	return Evaluate(s, objs, policy, SelfCheck(s, nil, cfg))
}

var constantArrivals = SelfCheckConfig{Arrivals: map[string]string{"*": "constant"}}

func TestEvaluatePass(t *testing.T) {
	s := healthySummary(t)
	objs := objectives(t, "p99<250ms", "service.p99<250ms", "degraded:p99<500ms", "mean<30ms", "max<2s",
		"errors<0.1%", "errors<=5", "throughput>=99%", "rps>=900")
	v := judge(s, objs, SLOPolicy{}, constantArrivals)
	if v.Status != StatusPass || v.Uncertain || len(v.Reasons) != 0 {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
	if len(v.Results) != len(objs) {
		t.Fatalf("%d results", len(v.Results))
	}
	r := v.Results[0]
	if r.Phase != "total" || !r.HasCI || !(r.CILo <= r.Measured && r.Measured <= r.CIHi) || r.Margin <= 0 || r.Uncertain {
		t.Errorf("p99 result %+v", r)
	}
	if want := 100 * r.Margin / r.Threshold; r.MarginPct != want {
		t.Errorf("margin %% %v, want %v", r.MarginPct, want)
	}
	if svc := v.Results[1]; svc.Measured >= r.Measured {
		t.Errorf("service p99 %v not below response p99 %v", svc.Measured, r.Measured)
	}
	if rps := v.Results[8]; rps.Measured != 1000 || rps.Margin != 100 {
		t.Errorf("rps result %+v", rps)
	}
	if v.Results[2].Phase != "degraded" {
		t.Errorf("phase %q", v.Results[2].Phase)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
}

func TestEvaluateFailNamesPhaseAndMargin(t *testing.T) {
	rs := healthyRun()
	rs.phases[2].latency = logNormal(400*time.Millisecond, 0.3) // p99 ≈ 800 ms
	s := rs.build(t)
	v := judge(s, objectives(t, "steady:p99<250ms", "degraded:p99<500ms"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusFail || v.Uncertain {
		t.Fatalf("verdict %s; reasons %q; findings %v", v, v.Reasons, failing(v.Findings))
	}
	if !v.Results[0].Pass {
		t.Errorf("steady failed: %+v", v.Results[0])
	}
	r := v.Results[1]
	if r.Pass || r.Met || r.Margin >= 0 || r.MarginPct >= -20 || r.Phase != "degraded" {
		t.Errorf("degraded result %+v", r)
	}
	if len(v.Reasons) != 1 {
		t.Fatalf("reasons %q", v.Reasons)
	}
	want := "degraded: p99 " + r.Objective.Format(r.Measured) + " breaches <500ms by " + r.Objective.Format(-r.Margin)
	if !strings.HasPrefix(v.Reasons[0], want) || !strings.Contains(v.Reasons[0], "%)") {
		t.Errorf("reason %q, want it to start %q and give the margin in %%", v.Reasons[0], want)
	}
}

func TestEvaluateErrors(t *testing.T) {
	rs := healthyRun()
	rs.phases[2].errPct = 2
	s := rs.build(t)
	v := judge(s, objectives(t, "errors<0.1%", "errors<=5", "steady:errors<0.1%"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusFail || len(v.Reasons) != 2 {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
	rate, count := v.Results[0], v.Results[1]
	if rate.Measured < 0.5 || rate.Measured > 1.5 || rate.Pass { // 2 % of half the requests
		t.Errorf("error rate %+v", rate)
	}
	if count.Measured != float64(s.Total.Errors) || count.Margin != 5-count.Measured {
		t.Errorf("error count %+v", count)
	}
	if !v.Results[2].Pass {
		t.Errorf("steady has no errors: %+v", v.Results[2])
	}
}

// A starved generator makes the run INVALID, not FAIL, even when the
// objectives fail too; both are said.
func TestEvaluateStarvedIsInvalid(t *testing.T) {
	rs := healthyRun()
	// the generator fell further and further behind in "degraded"
	rs.phases[2].lag = func(_ *rand.Rand, i int) time.Duration { return time.Duration(i) * 200 * time.Microsecond }
	s := rs.build(t)
	v := judge(s, objectives(t, "p99<250ms", "steady:p99<250ms"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusInvalid {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
	all := strings.Join(v.Reasons, "\n")
	for _, want := range []string{"did not keep to the schedule", `send-lag in phase "degraded"`,
		"objectives also failed", "total: p99"} {
		if !strings.Contains(all, want) {
			t.Errorf("reasons %q\nwant %q", v.Reasons, want)
		}
	}
	if strings.Contains(all, "steady: p99") {
		t.Errorf("steady passed but is listed: %q", v.Reasons)
	}
}

func TestEvaluateTooFewSamplesIsInvalid(t *testing.T) {
	s := runSpec{phases: []phaseSpec{{name: "main", dur: 5 * time.Second, rate: 1000}}, seed: 6}.build(t)
	v := judge(s, objectives(t, "p99.99<1s"), SLOPolicy{}, SelfCheckConfig{})
	if v.Status != StatusInvalid || len(v.Reasons) < 1 || !strings.Contains(v.Reasons[0], "samples (p99.99) in phase \"total\"") {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
	if r := v.Results[0]; !r.Uncertain || r.HasCI || r.Pass || !r.Met {
		t.Errorf("result %+v", r)
	}
}

func TestEvaluatePoissonConstantGapsIsInvalid(t *testing.T) {
	s := poissonRun(7, nil).build(t)
	rng := rand.New(rand.NewPCG(7, 7))
	setGaps(s, rng, func(time.Duration) time.Duration { return expGap(rng, 1000) },
		func(int, time.Duration) time.Duration { return time.Millisecond })
	v := judge(s, objectives(t, "p99<1s"), SLOPolicy{}, SelfCheckConfig{Arrivals: map[string]string{"main": "poisson"}})
	if v.Status != StatusInvalid || !strings.Contains(strings.Join(v.Reasons, "\n"), "arrivals in phase \"main\"") {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
}

func TestEvaluateUnknownPhase(t *testing.T) {
	s := healthySummary(t)
	v := judge(s, objectives(t, "degarded:p99<1s"), SLOPolicy{}, SelfCheckConfig{})
	if v.Status != StatusInvalid || len(v.Reasons) != 1 || !strings.Contains(v.Reasons[0], "phases: warm, steady, degraded") {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
	if r := v.Results[0]; r.Pass || !r.NoData {
		t.Errorf("result %+v", r)
	}
}

// A threshold inside the confidence interval: how each policy counts it.
func TestEvaluateUncertain(t *testing.T) {
	s := healthySummary(t)
	p99 := ValueAt(s.Total.ResponseHist, 0.99)
	lo, hi, ok := QuantileCI(s.Total.ResponseHist, 0.99, 0.95)
	if !ok || lo >= p99 || hi <= p99 {
		t.Fatalf("CI [%v, %v] around %v", lo, hi, p99)
	}
	meets := Objective{Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: float64(p99 + (hi-p99)/2)}
	breaches := Objective{Metric: MetricQuantile, Percentile: 99, Op: OpLess, Threshold: float64(p99 - (p99-lo)/2)}
	tests := []struct {
		name      string
		obj       Objective
		policy    UncertainPolicy
		status    Status
		uncertain bool
		reason    string
		warnings  int
	}{
		{"uncertain pass, default policy", meets, UncertainFail, StatusFail, true, "FAIL marked uncertain", 0},
		{"uncertain breach, default policy", breaches, UncertainFail, StatusFail, true, "FAIL marked uncertain", 0},
		{"uncertain pass, policy pass", meets, UncertainPass, StatusPass, true, "PASS marked uncertain", 0},
		{"uncertain breach, policy pass", breaches, UncertainPass, StatusPass, true, "PASS marked uncertain", 0},
		{"uncertain pass, policy warn", meets, UncertainWarn, StatusPass, false, "", 1},
		{"uncertain breach, policy warn", breaches, UncertainWarn, StatusFail, false, "breaches", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(s, []Objective{tt.obj}, SLOPolicy{Uncertain: tt.policy}, constantArrivals)
			if v.Status != tt.status || v.Uncertain != tt.uncertain || len(v.Warnings) != tt.warnings {
				t.Fatalf("verdict %s, reasons %q, warnings %q", v, v.Reasons, v.Warnings)
			}
			if !v.Results[0].Uncertain {
				t.Errorf("result not uncertain: %+v", v.Results[0])
			}
			if tt.reason != "" && (len(v.Reasons) != 1 || !strings.Contains(v.Reasons[0], tt.reason)) {
				t.Errorf("reasons %q, want %q", v.Reasons, tt.reason)
			}
		})
	}
	// Far from the interval, nothing is uncertain.
	v := judge(s, objectives(t, "p99<1s"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusPass || v.Results[0].Uncertain {
		t.Errorf("verdict %s %+v", v, v.Results[0])
	}
}

func TestEvaluateNoData(t *testing.T) {
	s := healthySummary(t)
	s.Total.ResponseHist = NewHistogram()
	s.Total.Response = Dist{}
	v := Evaluate(s, objectives(t, "p99<1s"), SLOPolicy{}, nil)
	if v.Status != StatusFail || !v.Results[0].NoData || !strings.Contains(v.Reasons[0], "no responses") {
		t.Fatalf("verdict %s, reasons %q", v, v.Reasons)
	}
}

// A run in which requests were due and none succeeded is FAIL, with or
// without objectives, and says why; the same run failing on the
// generator's own file-descriptor limit is INVALID.
func TestEvaluateNoSuccessFails(t *testing.T) {
	rs := runSpec{phases: []phaseSpec{{name: "main", dur: time.Second, rate: 200, errPct: 100}}, seed: 3}
	s := rs.build(t)
	for _, objs := range [][]Objective{nil, objectives(t, "p99<250ms")} {
		v := judge(s, objs, SLOPolicy{}, constantArrivals)
		if v.Status != StatusFail || v.Blame != BlameTarget || !strings.HasPrefix(v.Reasons[0], "the target answered none of 200 requests successfully") {
			t.Fatalf("%v: verdict %s blame %q reasons %q", objs, v, v.Blame, v.Reasons)
		}
		if v.Uncertain {
			t.Errorf("a service that answered nothing is certainly failing")
		}
	}
	s.Total.ErrKinds[generator.ErrFDLimit] = 200
	s.Total.FillMaps()
	if v := judge(s, nil, SLOPolicy{}, constantArrivals); v.Status != StatusInvalid || !strings.Contains(strings.Join(v.Reasons, "\n"), "ulimit -n") {
		t.Fatalf("fd limit: verdict %s reasons %q", v, v.Reasons)
	}
}

// With objectives but none about errors, errors<1% applies; an errors
// objective of the user's replaces it.
func TestEvaluateDefaultErrorBudget(t *testing.T) {
	rs := healthyRun()
	rs.phases[2].errPct = 5
	s := rs.build(t)
	v := judge(s, objectives(t, "p99<1s"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusFail || len(v.Results) != 2 || v.Results[1].Objective.Source != DefaultBudgetSource || v.Results[1].Pass {
		t.Fatalf("verdict %s results %+v", v, v.Results)
	}
	if v := judge(s, objectives(t, "p99<1s", "errors<=100%"), SLOPolicy{}, constantArrivals); v.Status != StatusPass || len(v.Results) != 2 {
		t.Fatalf("errors allowed explicitly: verdict %s %q", v, v.Reasons)
	}
	if v := judge(s, nil, SLOPolicy{}, constantArrivals); v.Status != StatusPass || len(v.Results) != 0 {
		t.Fatalf("no objectives, no budget: verdict %s %+v", v, v.Results)
	}
}

// Censored requests are lower bounds: a percentile that meets its
// threshold only because enough of them were read at their bounds is
// uncertain; one that holds whatever they are is not.
func TestEvaluateCensoredLowerBounds(t *testing.T) {
	s := runSpec{phases: []phaseSpec{{name: "main", dur: 2 * time.Second, rate: 1000}}, seed: 4}.build(t)
	if v := judge(s, objectives(t, "p99<100ms"), SLOPolicy{}, constantArrivals); v.Status != StatusPass {
		t.Fatalf("baseline: %s %q", v, v.Reasons)
	}
	// 5 % censored at small bounds: they could all lie above p99.
	for _, p := range []*PhaseSummary{&s.Total, &s.Phases[0]} {
		p.Censored = p.Intended / 20
	}
	v := judge(s, objectives(t, "p99<100ms"), SLOPolicy{}, constantArrivals)
	if v.Status != StatusFail || !v.Results[0].Uncertain || !strings.Contains(v.Results[0].Note, "censored") {
		t.Fatalf("5%% censored: verdict %s result %+v", v, v.Results[0])
	}
	// A few: p99 holds even if they are all above it.
	for _, p := range []*PhaseSummary{&s.Total, &s.Phases[0]} {
		p.Censored = 3
	}
	if v := judge(s, objectives(t, "p99<100ms"), SLOPolicy{}, constantArrivals); v.Status != StatusPass || v.Results[0].Uncertain {
		t.Fatalf("3 censored: verdict %s result %+v", v, v.Results[0])
	}
}

// Throughput is achieved over offered rate, the achieved rate over the
// time the phase really took.
func TestThroughputOverSpan(t *testing.T) {
	p := PhaseSummary{Name: "main", Duration: 5 * time.Second, Intended: 500}
	p.OK, p.Held, p.LastDone = 125, 400, 5*time.Second+time.Second
	p.SetRates()
	if p.Span != 6*time.Second || math.Abs(p.AchievedRate-125.0/6) > 1e-9 || p.OfferedRate != 100 {
		t.Fatalf("span %v achieved %v offered %v", p.Span, p.AchievedRate, p.OfferedRate)
	}
	s := &Summary{Phases: []PhaseSummary{p}, Total: p}
	v := Evaluate(s, objectives(t, "throughput>=99%"), SLOPolicy{}, nil)
	if v.Status != StatusFail || math.Abs(v.Results[0].Measured-100*(125.0/6)/100) > 1e-9 {
		t.Fatalf("verdict %s measured %v", v, v.Results[0].Measured)
	}
	// Unhindered phases keep their schedule's length, however late the
	// last answer.
	q := PhaseSummary{Name: "main", Duration: 5 * time.Second, Intended: 500}
	q.OK, q.LastDone = 500, 9*time.Second
	q.SetRates()
	if q.Span != 5*time.Second || q.AchievedRate != 100 {
		t.Fatalf("span %v achieved %v", q.Span, q.AchievedRate)
	}
}
