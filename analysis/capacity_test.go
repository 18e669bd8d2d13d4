package analysis

import (
	"math"
	"strings"
	"testing"
	"time"
)

// stepSummary is a constant-rate step of len(done) whole seconds at rate
// req/s, whose target completed done[i] and had p50 p50s[i] in second i,
// followed by one second of draining.
func stepSummary(rate int64, done []int64, p50s []time.Duration) *Summary {
	s := &Summary{}
	n := len(done)
	s.Total = PhaseSummary{Name: "step-1", Duration: time.Duration(n) * time.Second,
		Intended: rate * int64(n), OfferedRate: float64(rate)}
	var total int64
	for i := range done {
		s.Seconds = append(s.Seconds, Second{T: int64(i), Offered: rate, Completed: done[i], P50: p50s[i]})
		total += done[i]
	}
	s.Seconds = append(s.Seconds, Second{T: int64(n), Completed: rate*int64(n) - total, P50: p50s[n-1]})
	s.Total.OK = rate * int64(n)
	s.Total.AchievedRate = float64(s.Total.OK) / float64(n)
	s.Generator = GeneratorStats{Intended: uint64(rate) * uint64(n), Sent: uint64(rate) * uint64(n)}
	return s
}

func ms(v float64) time.Duration { return time.Duration(v * 1e6) }

func TestSaturated(t *testing.T) {
	flat := []time.Duration{ms(2.6), ms(2.5), ms(2.7), ms(2.6), ms(2.6), ms(2.5)}
	tests := []struct {
		name string
		s    *Summary
		rate float64 // completed rate over the later part
		want string  // substring of the evidence; "" for not saturated
	}{
		// The target kept up: completions follow the offers.
		{"healthy", stepSummary(1600, []int64{1597, 1600, 1601, 1599, 1600, 1603}, flat), 1600.6, ""},
		// The step: 2,000 offered, 1,576 completed in the later seconds.
		{"behind", stepSummary(2000, []int64{1580, 1576, 1576}, []time.Duration{ms(100), ms(300), ms(500)}),
			1576, "completed 1,576/s of 2,000/s offered (78.8%)"},
		// 96 % is within the 95 % allowed, and p50 is flat.
		{"nearly", stepSummary(1000, []int64{990, 960, 960, 960, 960, 960}, flat), 960, ""},
		// Completions 2 % short, within the 95 %, but p50 climbed: 2.5 → 9
		// ms (medians of halves). The queue is growing slowly.
		{"trend", stepSummary(1000, []int64{1000, 980, 980, 980, 980, 980},
			[]time.Duration{ms(2.5), ms(2.5), ms(3), ms(8), ms(9), ms(12)}), 980,
			"p50 rose 2.5→9 ms within the step (+260%) with 980/s completed of 1,000/s offered: the queue kept growing"},
		// The same climb with completions keeping pace is a disturbance's
		// queue draining.
		{"draining", stepSummary(1000, []int64{1000, 1000, 1000, 1000, 1000, 1000},
			[]time.Duration{ms(2.5), ms(2.5), ms(3), ms(8), ms(9), ms(12)}), 1000, ""},
		// +40 % over halves is noise, not a trend.
		{"trend-ok", stepSummary(1000, []int64{1000, 1000, 1000, 1000},
			[]time.Duration{ms(10), ms(10), ms(14), ms(14)}), 1000, ""},
		// Two seconds: the last second against the first.
		{"short-trend", stepSummary(1000, []int64{1000, 970}, []time.Duration{ms(3), ms(40)}), 970,
			"p50 rose 3→40 ms within the step (+1233%)"},
		{"short-ok", stepSummary(1000, []int64{1000, 970}, []time.Duration{ms(3), ms(4)}), 970, ""},
	}
	for _, tt := range tests {
		sat, rate, ev := Saturated(tt.s)
		if sat != (tt.want != "") || !strings.Contains(ev, tt.want) || (tt.want == "" && ev != "") {
			t.Errorf("%s: sat = %v, evidence %q; want %q", tt.name, sat, ev, tt.want)
		}
		if math.Abs(rate-tt.rate) > 0.1 {
			t.Errorf("%s: completed rate %v, want %v", tt.name, rate, tt.rate)
		}
	}

	// Held back by the generator's cap: saturated whatever the rates say.
	s := stepSummary(1000, []int64{1000, 1000}, []time.Duration{ms(3), ms(3)})
	s.Generator.SlotWaits, s.Generator.Dropped = 250, 3
	if sat, _, ev := Saturated(s); !sat || ev != "250 requests waited for an in-flight slot; 3 requests dropped with every in-flight slot busy" {
		t.Errorf("slot waits: %v %q", sat, ev)
	}
	// Cut off by the run's deadline.
	s = stepSummary(1000, []int64{1000, 1000}, []time.Duration{ms(3), ms(3)})
	s.Total.Censored = 17
	if sat, _, ev := Saturated(s); !sat || ev != "17 requests unanswered when the run's deadline came (censored)" {
		t.Errorf("censored: %v %q", sat, ev)
	}
	// Unsent because the run was interrupted says nothing of the target.
	s = stepSummary(1000, []int64{1000, 1000}, []time.Duration{ms(3), ms(3)})
	s.Generator.Unsent, s.Generator.Interrupted = 40, true
	if sat, _, ev := Saturated(s); sat {
		t.Errorf("interrupted: %q", ev)
	}
	s.Generator.Interrupted = false
	if sat, _, ev := Saturated(s); !sat || ev != "40 requests due were never sent" {
		t.Errorf("unsent: %v %q", sat, ev)
	}
	// A step shorter than a second is judged on the rows it has.
	s = &Summary{Total: PhaseSummary{Duration: 500 * time.Millisecond, OfferedRate: 1000}}
	s.Seconds = []Second{{T: 0, Offered: 500, Completed: 300, P50: ms(50)}, {T: 1, Completed: 200}}
	if sat, rate, ev := Saturated(s); !sat || rate != 300 || !strings.Contains(ev, "completed 300/s of 500/s") {
		t.Errorf("short step: %v %v %q", sat, rate, ev)
	}
}

// healthyStep and saturatedStep make synthetic steps.
func healthyStep(rate float64, p99 time.Duration) Step {
	return withCI(Step{Offered: rate, Achieved: rate, P99: p99, Valid: true}, 0.1)
}

func saturatedStep(rate, done float64) Step {
	return Step{Offered: rate, Achieved: done, P99: time.Second, Valid: true, Saturated: true,
		Evidence: "completed " + kneeRate(done) + "/s of " + kneeRate(rate) + "/s offered"}
}

func TestBracketCapacity(t *testing.T) {
	ms := time.Millisecond
	// The sweep: steps above capacity used to be dropped as
	// invalid; now they close the bracket. Any order.
	steps := []Step{saturatedStep(2000, 1576), healthyStep(800, 3*ms), healthyStep(1600, 3*ms), healthyStep(1200, 3*ms),
		{Offered: 2400, Why: "send-lag: p99 40 ms"}, saturatedStep(2400, 1550)}
	b := BracketCapacity(steps, nil)
	if b.Lo != 1600 || b.Hi != 2000 || b.HiCompleted != 1576 || b.Mid() != 1800 || math.Abs(b.Width()-0.25) > 1e-12 {
		t.Errorf("bracket %+v", b)
	}
	if want := "capacity between 1,600 and 2,000 req/s: at 2,000 the target completed 1,576/s and latency grew without bound"; b.Sentence != want {
		t.Errorf("Sentence = %q, want %q", b.Sentence, want)
	}

	// A saturated step below a healthy one is a disturbance: it neither
	// closes the bracket nor is hidden.
	b = BracketCapacity([]Step{healthyStep(800, 3*ms), saturatedStep(1200, 1100), healthyStep(1600, 3*ms), saturatedStep(2000, 1700)}, nil)
	if b.Lo != 1600 || b.Hi != 2000 || len(b.Contradicted) != 1 || b.Contradicted[0] != 1200 ||
		!strings.HasSuffix(b.Sentence, "; the step at 1,200 req/s looked saturated too, yet a higher one kept up (a disturbance, or capacity close to it)") {
		t.Errorf("contradicted: %+v", b)
	}

	// At one rate, a saturated step at least 1.5× as long as the healthy
	// ones there overrules them (a short step can end before its queue
	// shows); as long, it does not.
	short, long := healthyStep(1640, 3*ms), saturatedStep(1640, 1580)
	short.Duration, long.Duration = 2*time.Second, 4*time.Second
	b = BracketCapacity([]Step{healthyStep(1600, 3*ms), short, long, saturatedStep(2000, 1580)}, nil)
	if b.Lo != 1600 || b.Hi != 1640 || len(b.Overruled) != 1 || len(b.Contradicted) != 0 ||
		!strings.HasSuffix(b.Sentence, "; 1,640 req/s kept up in a short step but saturated in a longer one") {
		t.Errorf("overruled: %+v", b)
	}
	long.Duration = 2 * time.Second
	b = BracketCapacity([]Step{healthyStep(1600, 3*ms), short, long, saturatedStep(2000, 1580)}, nil)
	if b.Lo != 1640 || b.Hi != 2000 || len(b.Overruled) != 0 || len(b.Contradicted) != 1 {
		t.Errorf("as long: %+v", b)
	}

	// Open ends.
	tests := []struct {
		steps []Step
		want  string
	}{
		{[]Step{healthyStep(800, 3*ms), healthyStep(1600, 3*ms)}, "capacity above 1,600 req/s: no step above it saturated the target"},
		{[]Step{saturatedStep(800, 500)}, "capacity below 800 req/s: at the lowest rate that could count, 800, the target completed 500/s and latency grew without bound"},
		{[]Step{{Offered: 800, Why: "send-lag"}}, "capacity unknown: no valid step"},
		// Held back without a rate deficit: the evidence is quoted.
		{[]Step{healthyStep(800, 3*ms), {Offered: 1000, Achieved: 1000, Valid: true, Saturated: true, Evidence: "12 requests waited for an in-flight slot"}},
			"capacity between 800 and 1,000 req/s: at 1,000 the target completed 1,000/s and held requests back: 12 requests waited for an in-flight slot"},
	}
	for _, tt := range tests {
		if b := BracketCapacity(tt.steps, nil); b.Sentence != tt.want {
			t.Errorf("Sentence = %q, want %q", b.Sentence, tt.want)
		}
	}

	// With an objective, Lo must meet it; a healthy step above Lo that
	// failed it is where an objective's search bisects below.
	slo := func(s Step) (bool, string) { return s.P99 < 10*ms, "p99<10ms" }
	steps = []Step{healthyStep(800, 3*ms), healthyStep(1200, 4*ms), healthyStep(1600, 30*ms), saturatedStep(2000, 1700)}
	b = BracketCapacity(steps, slo)
	if b.Lo != 1200 || b.Hi != 2000 || b.SLO != "p99<10ms" || b.SLOFailsAt != 1600 ||
		!strings.HasSuffix(b.Sentence, "; p99<10ms fails at 1,600 req/s, below saturation") {
		t.Errorf("slo: %+v", b)
	}
	if r, ok := b.Next(0.05); !ok || r != 1400 {
		t.Errorf("Next = %v, %v; want 1,400 (between 1,200 and 1,600)", r, ok)
	}
}

// A search driven by Next against a target of known capacity ends with
// a bracket no wider than the precision that contains it.
func TestBracketNextSearch(t *testing.T) {
	for _, c := range []float64{150, 1687, 1999, 2001, 45000} {
		var steps []Step
		rate := 200.0
		for i := 0; ; i++ {
			if i == 30 {
				t.Fatalf("capacity %v: no end after 30 steps: %v", c, steps)
			}
			if rate > c {
				steps = append(steps, saturatedStep(rate, c))
			} else {
				steps = append(steps, healthyStep(rate, time.Millisecond))
			}
			next, ok := BracketCapacity(steps, nil).Next(0.05)
			if !ok {
				break
			}
			rate = next
		}
		b := BracketCapacity(steps, nil)
		if c < 200 {
			// Below the first rate: halving until a rate holds.
			if !(b.Lo <= c && c < b.Hi) || b.Width() > 0.05 {
				t.Errorf("capacity %v: bracket %v–%v after %d steps", c, b.Lo, b.Hi, len(steps))
			}
			continue
		}
		if !(b.Lo <= c && c < b.Hi) || b.Width() > 0.05 {
			t.Errorf("capacity %v: bracket %v–%v (width %.3f) after %d steps", c, b.Lo, b.Hi, b.Width(), len(steps))
		}
		t.Logf("capacity %v: %v–%v in %d steps", c, b.Lo, b.Hi, len(steps))
	}
	if _, ok := (CapacityBracket{}).Next(0.05); ok {
		t.Error("Next of an empty bracket")
	}
}

// The flat curve: p99 moved 2.6 → 2.9 ms between 800 and 1,600
// req/s, with one noisy step; Kneedle alone finds a "knee" on it. The
// confidence intervals overlap, so none is claimed.
func TestFindKneeFlatWithinCI(t *testing.T) {
	p99 := []float64{2.6, 2.6, 2.7, 2.6, 2.65, 4.4}
	var steps []Step
	for i, p := range p99 {
		steps = append(steps, Step{Offered: 800 + 160*float64(i), Achieved: 800 + 160*float64(i), P99: ms(p),
			P99Lo: ms(p * 0.85), P99Hi: ms(p * 1.15), Valid: true})
	}
	// The last step is noisy: its interval is wide.
	steps[5].P99Lo, steps[5].P99Hi = ms(2.8), ms(9)
	steps = append(steps, saturatedStep(2000, 1576))
	r := FindKnee(steps, nil)
	if r.Found || !strings.HasPrefix(r.Sentence, "no knee below capacity: p99 rises 2.6→4.4 ms from ") ||
		!strings.Contains(r.Sentence, "within its confidence intervals") {
		t.Errorf("Found = %v at %v: %s", r.Found, r.KneeRate, r.Sentence)
	}
	// Without the interval test Kneedle would have claimed one.
	if kneedle(r.Points) < 0 {
		t.Error("the test data no longer fools Kneedle")
	}
	// Intervals apart: the same curve has a knee.
	steps[5].P99Lo = ms(3.5)
	if r := FindKnee(steps, nil); !r.Found || !strings.Contains(r.Sentence, "of capacity 1,600–2,000 req/s") {
		t.Errorf("separated intervals: %s", r.Sentence)
	}
	// Without intervals, no claim either.
	for i := range steps {
		steps[i].P99Lo, steps[i].P99Hi = 0, 0
	}
	if r := FindKnee(steps, nil); r.Found || !strings.Contains(r.Sentence, "without confidence intervals") {
		t.Errorf("no intervals: %s", r.Sentence)
	}
}

// The 1/p99 line's capacity is shown only with an interval and when
// measured steps reached within 20 % of it.
func TestLineCapacityShown(t *testing.T) {
	const mu = 10000.0
	noisy := func(s []Step) []Step {
		// ±3 %, alternating, so the jackknife has something to measure.
		for i := range s {
			f := 1.03
			if i%2 == 1 {
				f = 0.97
			}
			s[i].P99 = time.Duration(float64(s[i].P99) * f)
		}
		return s
	}
	all := noisy(mm1Steps(mu, nil))
	tests := []struct {
		name  string
		steps []Step
		hi    float64
		shown bool
		why   string
	}{
		// Up to 0.9 μ: within 20 %.
		{"near", all[:18], 0, true, ""},
		// Up to 0.5 μ: the fit extrapolates twice as far as measured.
		{"far", all[:10], 0, false, "more than 20% above the highest rate measured (5,000 req/s)"},
		// A saturated step below the estimate refutes it.
		{"refuted", all[:18], 9600, false, "at or above 9,600 req/s, which saturated"},
		// Two points have no jackknife.
		{"two", all[16:18], 0, false, "no interval"},
	}
	for _, tt := range tests {
		reached := tt.steps[len(tt.steps)-1].Offered
		m := LineCapacity(tt.steps, reached, tt.hi)
		if m.Shown != tt.shown || !strings.Contains(m.Why, tt.why) {
			t.Errorf("%s: %+v", tt.name, m)
		}
		if tt.shown && !(m.Lo < mu && mu < m.Hi && m.Lo < m.Estimate && m.Estimate < m.Hi) {
			t.Errorf("%s: interval %v–%v (estimate %v) misses %v", tt.name, m.Lo, m.Hi, m.Estimate, mu)
		}
		t.Logf("%s: %s (%s)", tt.name, m, m.Why)
	}
}

func TestUSLCapacity(t *testing.T) {
	// σ = 0.05, κ = 0.001, λ = 1,000: peak ≈ 31 at N* = √(0.95/0.001) ≈ 30.8.
	f := USLFit{Sigma: 0.05, Kappa: 0.001, Lambda: 1000}
	pts := func(ns ...float64) []USLPoint {
		var p []USLPoint
		for i, n := range ns {
			x := f.Throughput(n) * (1 + 0.01*float64(i%3-1)) // ±1 %
			p = append(p, USLPoint{N: n, X: x})
		}
		return p
	}
	peak := f.Throughput(math.Sqrt(0.95 / 0.001))
	near := pts(1, 2, 4, 8, 16, 32, 48)
	reached := 0.0
	for _, p := range near {
		reached = max(reached, p.X)
	}
	m := USLCapacity(near, reached)
	if !m.Shown || !(m.Lo < peak && peak < m.Hi) {
		t.Errorf("near the peak: %+v, peak %v", m, peak)
	}
	// Only the start of the curve: 4 at most, throughput far below the peak.
	far := pts(1, 2, 3, 4)
	m = USLCapacity(far, far[3].X)
	if m.Shown {
		t.Errorf("far from the peak, shown: %+v", m)
	}
	t.Logf("near: %s; far: %s (%s)", USLCapacity(near, reached), m, m.Why)
}

// A noisy flat curve whose knee step happens to dip (from a CI run): the
// top step's interval clears the dip's but not the steps before it, so
// there is no knee.
func TestFindKneeDipIsNotAKnee(t *testing.T) {
	var steps []Step
	for i, p := range [][3]float64{{1.92, 1.45, 3.22}, {2.19, 1.94, 3.87}, {3.02, 2.44, 5.25}, {1.38, 1.10, 2.00}, {3.81, 2.60, 10.9}} {
		r := 100 * float64(i+1)
		steps = append(steps, Step{Offered: r, Achieved: r, P99: ms(p[0]), P99Lo: ms(p[1]), P99Hi: ms(p[2]), Valid: true})
	}
	if r := FindKnee(steps, nil); r.Found || !strings.HasPrefix(r.Sentence, "no knee below capacity") {
		t.Errorf("Found = %v at %v: %s", r.Found, r.KneeRate, r.Sentence)
	}
}
