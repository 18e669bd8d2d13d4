package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tailgate/generator"
)

// runSpec describes a synthetic run: phases at constant rates, each
// request's latency and send lag drawn by functions, and the generator's
// own account.
type runSpec struct {
	phases []phaseSpec
	// gaps, if set, gives the actual gap for sample i of a phase with the
	// given intended gap; default: the intended gap ± 1 %.
	gaps  func(rng *rand.Rand, intended time.Duration) time.Duration
	stats generator.Stats // Intended/Sent/Dropped/Elapsed are filled in
	seed  uint64
}

type phaseSpec struct {
	name    string
	dur     time.Duration
	rate    float64 // req/s
	warmup  bool
	latency func(rng *rand.Rand) time.Duration        // service time; default log-normal around 5 ms
	lag     func(rng *rand.Rand, i int) time.Duration // send lag; default 50µs
	errPct  float64                                   // share of 500s, in percent
	dropPct float64                                   // share dropped, in percent
	held    bool                                      // the send lag was a wait for a slot
}

func logNormal(median time.Duration, sigma float64) func(*rand.Rand) time.Duration {
	return func(rng *rand.Rand) time.Duration {
		return time.Duration(float64(median) * math.Exp(sigma*rng.NormFloat64()))
	}
}

// build runs the spec through a Collector, as a real run would.
func (rs runSpec) build(t testing.TB) *Summary {
	t.Helper()
	rng := rand.New(rand.NewPCG(rs.seed, 99))
	var phases []PhaseWindow
	var start time.Duration
	for _, p := range rs.phases {
		phases = append(phases, PhaseWindow{Name: p.name, Start: start, End: start + p.dur, Warmup: p.warmup})
		start += p.dur
	}
	c := NewCollector(phases)
	st := rs.stats
	var seq uint64
	var r generator.Result
	var prevAt, prevSent time.Duration
	start = 0
	for _, p := range rs.phases {
		gap := time.Duration(float64(time.Second) / p.rate)
		n := int(p.dur.Seconds() * p.rate)
		lat := p.latency
		if lat == nil {
			lat = logNormal(5*time.Millisecond, 0.5)
		}
		for i := 0; i < n; i++ {
			at := start + time.Duration(i)*gap
			lag := 50 * time.Microsecond
			if p.lag != nil {
				lag = p.lag(rng, i)
			}
			r = generator.Result{Seq: seq, Intended: at, Sent: at + lag}
			if p.held {
				r.Held = lag
			}
			seq++
			st.Intended++
			if rng.Float64()*100 < p.dropPct {
				r.Done, r.Err = r.Sent, generator.ErrDropped
				st.Dropped++
			} else {
				r.Done = r.Sent + lat(rng)
				r.Status = 200
				if rng.Float64()*100 < p.errPct {
					r.Status = 500
				}
				st.Sent++
			}
			if seq > 1 && len(st.Gaps) < generator.GapSampleSize {
				actual := r.Sent - prevSent
				if rs.gaps != nil {
					actual = rs.gaps(rng, at-prevAt)
				}
				st.Gaps = append(st.Gaps, generator.Gap{At: at, Intended: at - prevAt, Actual: actual})
			}
			prevAt, prevSent = at, r.Sent
			c.Record(int(seq%8), &r)
		}
		start += p.dur
	}
	if err := c.Close(start); err != nil {
		t.Fatal(err)
	}
	if st.Elapsed == 0 {
		st.Elapsed = start
	}
	s := c.Summarize(st)
	s.Generator.CPU = st.Elapsed / 10 // 10 % of one core
	s.Generator.Cores = 4
	return s
}

var healthy struct {
	once sync.Once
	s    *Summary
}

// healthySummary returns a copy of healthyRun's summary, built once: the
// phases, seconds and gaps are its own; the histograms are shared and must
// not be modified.
func healthySummary(t testing.TB) *Summary {
	healthy.once.Do(func() { healthy.s = healthyRun().build(t) })
	c := *healthy.s
	c.Phases = slices.Clone(c.Phases)
	c.Seconds = slices.Clone(c.Seconds)
	c.Generator.Gaps = slices.Clone(c.Generator.Gaps)
	return &c
}

func healthyRun() runSpec {
	return runSpec{phases: []phaseSpec{
		{name: "warm", dur: time.Second, rate: 500, warmup: true},
		{name: "steady", dur: 3 * time.Second, rate: 1000},
		{name: "degraded", dur: 3 * time.Second, rate: 1000},
	}, seed: 1}
}

func failing(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if !f.OK {
			out = append(out, f)
		}
	}
	return out
}

func findingsOf(fs []Finding, check, phase string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Check == check && f.Phase == phase {
			out = append(out, f)
		}
	}
	return out
}

func TestSelfCheckHealthy(t *testing.T) {
	s := healthySummary(t)
	fs := SelfCheck(s, []float64{0.5, 0.99}, SelfCheckConfig{Arrivals: map[string]string{"*": "constant"}})
	if bad := failing(fs); len(bad) > 0 {
		t.Fatalf("healthy run fails self-checks: %v", bad)
	}
	for _, check := range []string{CheckSendRate, CheckBackpressure, CheckSendLag, CheckArrivals, CheckSamples} {
		if len(findingsOf(fs, check, "steady")) == 0 || len(findingsOf(fs, check, "degraded")) == 0 {
			t.Errorf("no %s finding for each phase: %v", check, fs)
		}
		if len(findingsOf(fs, check, "warm")) != 0 {
			t.Errorf("warm-up phase checked for %s", check)
		}
	}
	if len(findingsOf(fs, CheckCPU, "")) != 1 || len(findingsOf(fs, CheckLimits, "")) != 1 {
		t.Errorf("run-wide findings missing: %v", fs)
	}
}

func TestSelfCheckStarved(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*runSpec)
		after func(*Summary)
		check string // the check that must fail
		phase string
		want  string // in its advice
	}{
		// 1,000 req/s at a fixed 50 ms needs 50 in flight; the cap (10,
		// set below) was the limit and the target did not slow down.
		{"cap too small", func(rs *runSpec) {
			rs.phases[1].held = true
			rs.phases[1].latency = func(*rand.Rand) time.Duration { return 50 * time.Millisecond }
			rs.phases[1].lag = func(_ *rand.Rand, i int) time.Duration { return time.Duration(i) * time.Millisecond }
		}, nil, CheckCap, "steady", "raise --max-in-flight to at least 100"},
		{"drops with a small cap", func(rs *runSpec) {
			rs.phases[2].dropPct = 3
			rs.phases[2].latency = func(*rand.Rand) time.Duration { return 50 * time.Millisecond }
		}, nil, CheckCap, "degraded", "raise --max-in-flight"},
		{"unsent", nil, func(s *Summary) {
			p := &s.Phases[1]
			p.Intended += p.Intended / 20
			p.Unsent = p.Intended / 20
		}, CheckSendRate, "steady", "lower the rate"},
		{"send lag", func(rs *runSpec) {
			rs.phases[1].lag = func(_ *rand.Rand, i int) time.Duration { return time.Duration(i) * 20 * time.Microsecond }
		}, nil, CheckSendLag, "steady", "did not keep to the schedule"},
		{"cpu", nil, func(s *Summary) { s.Generator.CPU = s.Generator.Elapsed * 4 * 95 / 100 }, CheckCPU, "", "second generator (--segment"},
		{"interrupted", nil, func(s *Summary) { s.Generator.Interrupted = true }, CheckComplete, "", "let it run to the end"},
		{"bursty constant arrivals", func(rs *runSpec) {
			// caught up in bursts: nine sends at once, then a long gap
			n := 0
			rs.gaps = func(_ *rand.Rand, intended time.Duration) time.Duration {
				n++
				if n%10 == 0 {
					return 10 * intended
				}
				return 0
			}
		}, nil, CheckArrivals, "steady", "unevenly spaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *Summary
			if tt.edit != nil {
				rs := healthyRun()
				tt.edit(&rs)
				s = rs.build(t)
			} else {
				s = healthySummary(t)
			}
			if tt.after != nil {
				tt.after(s)
			}
			fs := SelfCheck(s, []float64{0.99}, SelfCheckConfig{Arrivals: map[string]string{"*": "constant"}, MaxInFlight: 10})
			got := findingsOf(failing(fs), tt.check, tt.phase)
			if len(got) != 1 {
				t.Fatalf("want %s to fail in %q; failing: %v", tt.check, tt.phase, failing(fs))
			}
			if !strings.Contains(got[0].Advice, tt.want) {
				t.Errorf("advice %q, want it to contain %q", got[0].Advice, tt.want)
			}
		})
	}
}

func TestSelfCheckCPUUnknown(t *testing.T) {
	s := healthySummary(t)
	s.Generator.CPU = 0
	if fs := findingsOf(SelfCheck(s, nil, SelfCheckConfig{}), CheckCPU, ""); len(fs) != 0 {
		t.Errorf("CPU unknown but checked: %v", fs)
	}
}

// A 5-second run at 1,000 req/s cannot say anything about p99.99.
func TestSelfCheckTooFewSamples(t *testing.T) {
	s := runSpec{phases: []phaseSpec{{name: "main", dur: 5 * time.Second, rate: 1000}}, seed: 2}.build(t)
	fs := SelfCheck(s, []float64{0.99, 0.9999}, SelfCheckConfig{})
	bad := failing(fs)
	if len(bad) != 1 || bad[0].Check != CheckSamples || bad[0].Subject != "p99.99" || bad[0].Measured != "5000 responses" {
		t.Fatalf("failing: %v", bad)
	}
	if !strings.Contains(bad[0].Advice, "at least 56647") || !strings.Contains(bad[0].Advice, "make the phase at least 57s long at 1000 req/s") {
		t.Errorf("advice %q", bad[0].Advice)
	}
}

// Objectives on the total need samples in the total only: p99.9 needs
// 5,662; each phase has 3,000, the total 6,000.
func TestSelfCheckPhaseQuantiles(t *testing.T) {
	s := healthySummary(t)
	objs := []Objective{mustObjective(t, "p99.9<1s"), mustObjective(t, "degraded:p99<1s")}
	fs := SelfCheck(s, nil, SelfCheckConfig{PhaseQuantiles: ObjectiveQuantiles(objs)})
	if bad := failing(fs); len(bad) != 0 {
		t.Errorf("scoped: failing %v", bad)
	}
	if len(findingsOf(fs, CheckSamples, "total")) != 1 || len(findingsOf(fs, CheckSamples, "degraded")) != 1 ||
		len(findingsOf(fs, CheckSamples, "steady")) != 0 {
		t.Errorf("scoped sample checks: %v", fs)
	}
	// Asked of every phase, p99.9 has too few samples in each.
	bad := failing(SelfCheck(s, AskedQuantiles(objs), SelfCheckConfig{}))
	if len(bad) != 2 || bad[0].Phase != "steady" || bad[1].Phase != "degraded" {
		t.Errorf("every phase: failing %v", bad)
	}
}

func poissonRun(seed uint64, gaps func(*rand.Rand, time.Duration) time.Duration) runSpec {
	return runSpec{phases: []phaseSpec{{name: "main", dur: 2 * time.Second, rate: 1000}}, gaps: gaps, seed: seed}
}

// setGaps replaces a built summary's gap sample: intended gaps drawn by
// intended, actual gaps derived from them by actual.
func setGaps(s *Summary, rng *rand.Rand, intended func(at time.Duration) time.Duration, actual func(i int, intended time.Duration) time.Duration) {
	var at time.Duration
	for i := range s.Generator.Gaps {
		g := intended(at)
		at += g
		s.Generator.Gaps[i] = [5]int64{int64(at), int64(g), int64(max(actual(i, g), 0))} // no spans: a file from before them
	}
}

func expGap(rng *rand.Rand, rate float64) time.Duration {
	return time.Duration(rng.ExpFloat64() / rate * 1e9)
}

// A generator that paced a Poisson schedule evenly is caught.
func TestSelfCheckPoissonPacedGaps(t *testing.T) {
	s := poissonRun(3, nil).build(t)
	rng := rand.New(rand.NewPCG(3, 3))
	setGaps(s, rng, func(time.Duration) time.Duration { return expGap(rng, 1000) },
		func(int, time.Duration) time.Duration { return time.Millisecond })
	fs := findingsOf(SelfCheck(s, nil, SelfCheckConfig{Arrivals: map[string]string{"main": "poisson"}}), CheckArrivals, "main")
	if len(fs) != 1 || fs[0].OK {
		t.Fatalf("paced gaps pass the Poisson check: %v", fs)
	}
	if !strings.Contains(fs[0].Measured, "KS distance") || !strings.Contains(fs[0].Advice, "not exponential") {
		t.Errorf("finding %+v", fs[0])
	}
}

// A generator that fell behind and sent in bursts (every other gap
// collapsed to zero) is caught.
func TestSelfCheckPoissonBunchedGaps(t *testing.T) {
	s := poissonRun(8, nil).build(t)
	rng := rand.New(rand.NewPCG(8, 8))
	var carry time.Duration
	setGaps(s, rng, func(time.Duration) time.Duration { return expGap(rng, 1000) }, func(i int, g time.Duration) time.Duration {
		if i%2 == 0 {
			carry = g
			return 0
		}
		return g + carry
	})
	fs := findingsOf(SelfCheck(s, nil, SelfCheckConfig{Arrivals: map[string]string{"main": "poisson"}}), CheckArrivals, "main")
	if len(fs) != 1 || fs[0].OK {
		t.Fatalf("bunched gaps pass: %v", fs)
	}
}

// A healthy generator: each send 50–150 µs late, independently, at
// 1,000 req/s. It passes in every one of 100 seeds, at a constant and at
// a stepped rate alike (actual and intended gaps are compared directly).
func TestSelfCheckPoissonFollowedGaps(t *testing.T) {
	s := poissonRun(4, nil).build(t)
	cfg := SelfCheckConfig{Arrivals: map[string]string{"*": "poisson"}}
	for _, stepped := range []bool{false, true} {
		passed := 0
		for seed := range uint64(100) {
			rng := rand.New(rand.NewPCG(seed, 7))
			prevLag := 100 * time.Microsecond
			setGaps(s, rng, func(at time.Duration) time.Duration {
				if stepped && at > time.Second {
					return expGap(rng, 3000)
				}
				return expGap(rng, 1000)
			}, func(_ int, g time.Duration) time.Duration {
				lag := 50*time.Microsecond + time.Duration(rng.Int64N(int64(100*time.Microsecond)))
				a := g + lag - prevLag
				prevLag = lag
				return a
			})
			fs := findingsOf(SelfCheck(s, nil, cfg), CheckArrivals, "main")
			if len(fs) != 1 {
				t.Fatalf("findings %v", fs)
			}
			if fs[0].OK {
				passed++
			}
		}
		if passed != 100 {
			t.Errorf("stepped %v: a healthy generator passed in %d of 100 seeds", stepped, passed)
		}
	}
}

func TestKSDistance(t *testing.T) {
	if d := KSDistance([]float64{1, 2, 3}, []float64{1, 2, 3}); d != 0 {
		t.Errorf("same samples: %v", d)
	}
	if d := KSDistance([]float64{1, 2}, []float64{3, 4}); d != 1 {
		t.Errorf("disjoint samples: %v", d)
	}
	if d := KSDistance([]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}); d != 0.5 {
		t.Errorf("half overlap: %v", d)
	}
}

func TestADExponential(t *testing.T) {
	if a := ADExponential([]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}); a < 4 {
		t.Errorf("constant sample: A² %v, want ≈ 0.459·n", a)
	}
	if a := ADExponential([]float64{0, 0, 0}); !math.IsInf(a, 1) {
		t.Errorf("all-zero sample: %v", a)
	}
	// Quantiles of the exponential itself fit almost perfectly.
	var x []float64
	for i := 1; i <= 200; i++ {
		x = append(x, -math.Log(1-(float64(i)-0.5)/200))
	}
	if a := ADExponential(x); a > 0.3 {
		t.Errorf("exponential quantiles: A² %v", a)
	}
}

// With timer slack, sends leave on a grid: a constant 7,000 req/s run on
// a 1 ms grid (7 sends together, then a gap of 1 ms) passes when the
// check knows the grid, and the same gaps fail without it; sends that fell
// behind the grid (bunched into every other step) still fail with it.
// Poisson arrivals on the grid pass too.
func TestSelfCheckArrivalsOnTimerSlackGrid(t *testing.T) {
	const sl = time.Millisecond
	for _, kind := range []string{"constant", "poisson"} {
		s := poissonRun(5, nil).build(t)
		rng := rand.New(rand.NewPCG(5, 5))
		gap := func(time.Duration) time.Duration { return time.Second / 7000 }
		if kind == "poisson" {
			gap = func(time.Duration) time.Duration { return expGap(rng, 7000) }
		}
		var at time.Duration
		setGaps(s, rng, func(a time.Duration) time.Duration { at = a; return gap(a) }, func(_ int, g time.Duration) time.Duration {
			return generator.SlackWake(at+g, sl) - generator.SlackWake(at, sl)
		})
		cfg := SelfCheckConfig{Arrivals: map[string]string{"main": kind}, TimerSlack: sl}
		fs := findingsOf(SelfCheck(s, nil, cfg), CheckArrivals, "main")
		if len(fs) != 1 || !fs[0].OK || !strings.Contains(fs[0].Measured, "timer-slack grid") && kind == "constant" {
			t.Fatalf("%s: sends on the grid fail: %v", kind, fs)
		}
		if kind == "constant" {
			cfg.TimerSlack = 0
			if fs := findingsOf(SelfCheck(s, nil, cfg), CheckArrivals, "main"); len(fs) != 1 || fs[0].OK {
				t.Fatalf("grid gaps pass without the grid: the test cannot tell: %v", fs)
			}
			cfg.TimerSlack = sl
			// Behind the grid: every other step's sends held to the next.
			setGaps(s, rng, func(a time.Duration) time.Duration { at = a; return gap(a) }, func(_ int, g time.Duration) time.Duration {
				w := func(t time.Duration) time.Duration { return generator.SlackWake(t, 2*sl) }
				return w(at+g) - w(at)
			})
			if fs := findingsOf(SelfCheck(s, nil, cfg), CheckArrivals, "main"); len(fs) != 1 || fs[0].OK {
				t.Fatalf("sends behind the grid pass: %v", fs)
			}
		}
	}
}

// sendGaps is what the send loop samples from dispatches intended at ats
// and made at ons: each gap with its span (see generator.GapSpan), the
// first generator.GapSampleSize of them.
func sendGaps(ats, ons []time.Duration) [][5]int64 {
	var out [][5]int64
	for i := 1; i < len(ats) && len(out) < generator.GapSampleSize; i++ {
		j := i - 1
		for j > 0 && i-j < 64 && ats[i]-ats[j] < generator.GapSpan {
			j--
		}
		out = append(out, [5]int64{int64(ats[i]), int64(ats[i] - ats[i-1]), int64(ons[i] - ons[i-1]), int64(ats[i] - ats[j]), int64(ons[i] - ons[j])})
	}
	return out
}

// At 20,000 req/s a healthy generator's sends are each 20–150 µs late,
// independently: single gaps of 50 µs then vary by more than the gap
// itself, but over spans of ≥ 250 µs the sends are even, and the check
// passes. A generator that stalls for 2 ms every 20 ms and then catches
// up, or one that sends 5 at a time each millisecond (coarse timers at
// 5,000 req/s), is still caught.
func TestSelfCheckArrivalsJudgedOverSpans(t *testing.T) {
	check := func(rate float64, late func(i int, at time.Duration) time.Duration) Finding {
		s := poissonRun(9, nil).build(t)
		rng := rand.New(rand.NewPCG(9, 9))
		gap := time.Duration(float64(time.Second) / rate)
		var ats, ons []time.Duration
		for i := 0; i < 5000; i++ {
			at := time.Duration(i) * gap
			ats = append(ats, at)
			ons = append(ons, at+late(i, at)+time.Duration(rng.IntN(1000)))
		}
		s.Generator.Gaps = sendGaps(ats, ons)
		fs := findingsOf(SelfCheck(s, nil, SelfCheckConfig{Arrivals: map[string]string{"main": "constant"}}), CheckArrivals, "main")
		if len(fs) != 1 {
			t.Fatalf("findings %v", fs)
		}
		return fs[0]
	}
	rng := rand.New(rand.NewPCG(10, 10))
	jitter := func(int, time.Duration) time.Duration { return 20*time.Microsecond + time.Duration(rng.IntN(130_000)) }
	if f := check(20000, jitter); !f.OK || !strings.Contains(f.Measured, "spans of ≥ 250µs") {
		t.Errorf("jitter within the send-lag budget fails: %+v", f)
	}
	stall := func(_ int, at time.Duration) time.Duration {
		if ph := at % (20 * time.Millisecond); ph < 2*time.Millisecond {
			return 2*time.Millisecond - ph // held until the stall ends, then sent together
		}
		return 30 * time.Microsecond
	}
	if f := check(20000, stall); f.OK {
		t.Errorf("a generator stalling 2 ms in 20 passes: %+v", f)
	}
	coarse := func(_ int, at time.Duration) time.Duration {
		return time.Millisecond - at%time.Millisecond // on a 1 ms tick
	}
	if f := check(5000, coarse); f.OK {
		t.Errorf("sends bunched on a 1 ms tick pass: %+v", f)
	}
	// The same jitter judged on single gaps (a file without spans) fails:
	// without spans the test could not tell.
	s := poissonRun(9, nil).build(t)
	var ats, ons []time.Duration
	for i := 0; i < 5000; i++ {
		at := time.Duration(i) * 50 * time.Microsecond
		ats, ons = append(ats, at), append(ons, at+jitter(i, at))
	}
	s.Generator.Gaps = sendGaps(ats, ons)
	for i := range s.Generator.Gaps {
		s.Generator.Gaps[i][3], s.Generator.Gaps[i][4] = 0, 0
	}
	if fs := findingsOf(SelfCheck(s, nil, SelfCheckConfig{Arrivals: map[string]string{"main": "constant"}}), CheckArrivals, "main"); len(fs) != 1 || fs[0].OK {
		t.Errorf("single 50 µs gaps with 20-150 µs jitter pass: %v", fs)
	}
}

// The same held requests behind a cap that the load fits (by Little's
// law) while the target slowed down: backpressure, blamed on the target,
// never a failing generator finding; the scheduler's lateness stays
// small, so send-lag passes although the send lag is seconds long.
func TestSelfCheckBackpressure(t *testing.T) {
	rs := healthyRun()
	rs.phases[1].held = true
	rs.phases[1].lag = func(_ *rand.Rand, i int) time.Duration { return time.Duration(i) * time.Millisecond }
	n := 0
	rs.phases[1].latency = func(*rand.Rand) time.Duration { n++; return time.Duration(n) * 100 * time.Microsecond }
	s := rs.build(t)
	fs := SelfCheck(s, []float64{0.99}, SelfCheckConfig{Arrivals: map[string]string{"*": "constant"}, MaxInFlight: 1024})
	for _, f := range failing(fs) {
		if f.Blame != BlameTarget {
			t.Errorf("failing generator finding: %v", f)
		}
	}
	bp := findingsOf(failing(fs), CheckBackpressure, "steady")
	if len(bp) != 1 || !strings.Contains(bp[0].Measured, "2999 of 3000 requests (100%) waited for an in-flight slot") {
		t.Fatalf("backpressure: %v", bp)
	}
	if lag := findingsOf(fs, CheckSendLag, "steady"); len(lag) != 1 || !lag[0].OK {
		t.Fatalf("send-lag: %v", lag)
	}
	v := Evaluate(s, nil, SLOPolicy{}, fs)
	if v.Status != StatusPass || len(v.Reasons) != 1 || !strings.Contains(v.Reasons[0], "held the generator back") {
		t.Fatalf("verdict %v %v, want PASS listing the backpressure", v.Status, v.Reasons)
	}
	v = Evaluate(s, []Objective{mustObjective(t, "p99<100ms")}, SLOPolicy{}, fs)
	if v.Status != StatusFail || !strings.Contains(strings.Join(v.Reasons, "\n"), "held the generator back") {
		t.Fatalf("verdict %v %v, want FAIL with the backpressure as evidence", v.Status, v.Reasons)
	}
}

// A closed-loop run on a busy generator is not INVALID: the finding says
// which side was the bottleneck.
func TestSelfCheckClosedLoopBottleneck(t *testing.T) {
	s := healthySummary(t)
	s.Generator.CPU = s.Generator.Elapsed * 4 * 95 / 100
	fs := SelfCheck(s, nil, SelfCheckConfig{ClosedLoop: true})
	if len(findingsOf(fs, CheckCPU, "")) != 0 {
		t.Fatalf("closed loop CPU judged as a self-check: %v", fs)
	}
	b := findingsOf(fs, CheckBottleneck, "")
	if len(b) != 1 || !b[0].OK || !strings.HasPrefix(b[0].Measured, "the generator") {
		t.Fatalf("bottleneck: %v", b)
	}
	s.Generator.CPU = s.Generator.Elapsed / 10
	if b := findingsOf(SelfCheck(s, nil, SelfCheckConfig{ClosedLoop: true}), CheckBottleneck, ""); len(b) != 1 || !strings.HasPrefix(b[0].Measured, "the target") {
		t.Fatalf("bottleneck: %v", b)
	}
}

// An adaptive grid that changed during the run (recorded in
// Generator.Grid): sends that followed it pass the arrivals check, the
// same gaps judged without it fail; send lag within the grid in force
// does not fail the send-lag check, while the same lag without a grid
// does.
func TestSelfCheckAdaptiveGrid(t *testing.T) {
	steps := [][2]int64{{0, 0}, {int64(100 * time.Millisecond), int64(time.Millisecond)}, {int64(200 * time.Millisecond), int64(400 * time.Microsecond)}}
	grid := func(t time.Duration) time.Duration {
		var g time.Duration
		for _, s := range steps {
			if time.Duration(s[0]) <= t {
				g = time.Duration(s[1])
			}
		}
		return g
	}
	rs := poissonRun(6, nil)
	rs.phases[0].lag = func(_ *rand.Rand, i int) time.Duration { return 900 * time.Microsecond }
	s := rs.build(t)
	rng := rand.New(rand.NewPCG(6, 6))
	var at time.Duration
	setGaps(s, rng, func(a time.Duration) time.Duration { at = a; return time.Second / 7000 }, func(_ int, g time.Duration) time.Duration {
		return generator.SlackWake(at+g, grid(at+g)) - generator.SlackWake(at, grid(at))
	})
	cfg := SelfCheckConfig{Arrivals: map[string]string{"main": "constant"}, MaxSendLagP99: 500 * time.Microsecond}
	s.Generator.Grid = steps
	fs := SelfCheck(s, nil, cfg)
	if a := findingsOf(fs, CheckArrivals, "main"); len(a) != 1 || !a[0].OK || !strings.Contains(a[0].Measured, "0–1.00ms timer-slack grid") {
		t.Fatalf("sends on the recorded grid: %v", a)
	}
	if l := findingsOf(fs, CheckSendLag, "main"); len(l) != 1 || !l[0].OK || !strings.Contains(l[0].Limit, "1.00ms wake-up grid") {
		t.Fatalf("lag within the grid: %v", l)
	}
	s.Generator.Grid = nil
	fs = SelfCheck(s, nil, cfg)
	if a := findingsOf(fs, CheckArrivals, "main"); len(a) != 1 || a[0].OK {
		t.Fatalf("grid gaps pass without the grid: the test cannot tell: %v", a)
	}
	if l := findingsOf(fs, CheckSendLag, "main"); len(l) != 1 || l[0].OK {
		t.Fatalf("900µs lag passes a 500µs limit without a grid: %v", l)
	}
}

func TestGridOver(t *testing.T) {
	steps := []generator.GridStep{{At: 0, Step: 0}, {At: time.Second, Step: 800 * time.Microsecond}, {At: 3 * time.Second, Step: 80 * time.Microsecond}}
	for _, c := range []struct {
		from, to time.Duration
		want     GridRange
	}{
		{0, time.Second, GridRange{0, 0, 0}},
		{0, 2 * time.Second, GridRange{0, 800 * time.Microsecond, 800 * time.Microsecond}},
		{2 * time.Second, 4 * time.Second, GridRange{80 * time.Microsecond, 800 * time.Microsecond, 80 * time.Microsecond}},
		{4 * time.Second, 5 * time.Second, GridRange{80 * time.Microsecond, 80 * time.Microsecond, 80 * time.Microsecond}},
	} {
		if got := GridOver(steps, c.from, c.to); got == nil || *got != c.want {
			t.Errorf("GridOver [%v, %v) = %+v, want %+v", c.from, c.to, got, c.want)
		}
	}
	if GridOver(nil, 0, time.Second) != nil {
		t.Error("a run without a grid has a grid range")
	}
}
