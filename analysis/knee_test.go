package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mm1Steps returns healthy steps of an M/M/1 queue with service rate mu
// at λ = mu/20, 2·mu/20, …, 0.95·mu: p99 = ln(100)/(μ − λ), each p99
// multiplied by noise() (nil: none), with a ±5 % confidence interval.
func mm1Steps(mu float64, noise func() float64) []Step {
	var steps []Step
	for i := 1; i <= 19; i++ {
		lam := mu * float64(i) / 20
		p99 := math.Log(100) / (mu - lam)
		if noise != nil {
			p99 *= noise()
		}
		steps = append(steps, withCI(Step{
			Offered: lam, Achieved: lam,
			P99:   time.Duration(p99 * 1e9),
			Valid: true,
		}, 0.05))
	}
	return steps
}

// withCI gives s.P99 a confidence interval of ± frac.
func withCI(s Step, frac float64) Step {
	s.P99Lo = time.Duration(float64(s.P99) * (1 - frac))
	s.P99Hi = time.Duration(float64(s.P99) * (1 + frac))
	return s
}

func TestFindKneeMM1(t *testing.T) {
	const mu = 10000.0
	r := FindKnee(mm1Steps(mu, nil), nil)
	if !r.Found {
		t.Fatalf("no knee: %s", r.Sentence)
	}
	// Kneedle's knee of 1/(1−ρ) on ρ ∈ [0.05, 0.95] is at ρ ≈ 0.78: on
	// this grid, the step at 8,000.
	if r.KneeRate < 7000 || r.KneeRate > 8500 {
		t.Errorf("KneeRate = %v, want ≈7,800", r.KneeRate)
	}
	// No step saturated: the line's capacity stands in, measured steps
	// reaching 95 % of it.
	if math.Abs(r.Capacity-mu)/mu > 0.10 || !r.Model.Shown || r.Capacity != r.Model.Estimate {
		t.Errorf("Capacity = %v (model %+v), want ≈%v", r.Capacity, r.Model, mu)
	}
	if math.Abs(r.Model.Estimate-mu) > 1 || math.Abs(r.Model.Lo-mu) > 1 || math.Abs(r.Model.Hi-mu) > 1 {
		t.Errorf("Model = %+v, want %v (exact for M/M/1, a zero-width interval)", r.Model, mu)
	}
	if r.MaxValid != 9500 {
		t.Errorf("MaxValid = %v, want 9500", r.MaxValid)
	}
	if want := r.KneeRate / r.Capacity; r.Utilization != want {
		t.Errorf("Utilization = %v, want %v", r.Utilization, want)
	}
	if len(r.Points) != 19 {
		t.Errorf("len(Points) = %d, want 19", len(r.Points))
	}
	for _, want := range []string{"knee at 8,000 req/s (ρ≈0.80 of ≈10,000 req/s capacity by the 1/p99 linear fit, 95 % CI 10,000–10,000; no step saturated); p99 0.48→2.3 ms"} {
		if !strings.Contains(r.Sentence, want) {
			t.Errorf("Sentence %q lacks %q", r.Sentence, want)
		}
	}
	t.Log(r.Sentence)
}

func TestFindKneeNoisy(t *testing.T) {
	const mu = 10000.0
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		noise := func() float64 { return 0.9 + 0.2*rng.Float64() } // ±10 %
		r := FindKnee(mm1Steps(mu, noise), nil)
		if !r.Found {
			t.Errorf("seed %d: no knee: %s", seed, r.Sentence)
			continue
		}
		if r.KneeRate < 6500 || r.KneeRate > 9000 {
			t.Errorf("seed %d: KneeRate = %v, want ≈7,800", seed, r.KneeRate)
		}
		if math.Abs(r.Capacity-mu)/mu > 0.10 {
			t.Errorf("seed %d: Capacity = %v (model %+v), want within 10 %% of %v", seed, r.Capacity, r.Model, mu)
		}
	}
}

func TestFindKneeServiceFloor(t *testing.T) {
	// p99 = 2 ms + ln(100)/(μ − λ): a fixed floor under the queueing.
	const mu = 10000.0
	steps := mm1Steps(mu, nil)
	for i := range steps {
		steps[i].P99 += 2 * time.Millisecond
	}
	r := FindKnee(steps, nil)
	if !r.Found {
		t.Fatalf("no knee: %s", r.Sentence)
	}
	if r.Capacity < steps[len(steps)-1].Offered || r.Capacity > 1.15*mu {
		t.Errorf("Capacity = %v (model %+v), want in [9,500, 11,500]", r.Capacity, r.Model)
	}
	t.Log(r.Sentence)
}

func TestFindKneeFlat(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var steps []Step
		for i := 1; i <= 20; i++ {
			steps = append(steps, withCI(Step{
				Offered: float64(i) * 1000, Achieved: float64(i) * 1000,
				P99:   time.Duration(3.1e6 * (0.9 + 0.2*rng.Float64())),
				Valid: true,
			}, 0.1))
		}
		r := FindKnee(steps, nil)
		if r.Found {
			t.Errorf("seed %d: found a knee at %v in a flat curve", seed, r.KneeRate)
		}
		if !strings.HasPrefix(r.Sentence, "no knee below capacity: p99 stays within 1.") ||
			!strings.Contains(r.Sentence, "up to 20,000 req/s (the largest healthy rate tested)") {
			t.Errorf("seed %d: Sentence = %q", seed, r.Sentence)
		}
		if r.Capacity != 20000 || r.Model.Shown {
			t.Errorf("seed %d: Capacity = %v (model %+v), want the largest healthy rate", seed, r.Capacity, r.Model)
		}
	}
}

func TestFindKneeFlatWithOutlier(t *testing.T) {
	// One step with twice the p99 in the middle of a flat curve is noise,
	// not a knee: the monotone fit pools it with the steps after it.
	var steps []Step
	for i := 1; i <= 12; i++ {
		p := 3 * time.Millisecond
		if i == 6 {
			p = 6 * time.Millisecond
		}
		steps = append(steps, Step{Offered: float64(i) * 500, Achieved: float64(i) * 500, P99: p, Valid: true})
	}
	if r := FindKnee(steps, nil); r.Found {
		t.Errorf("found a knee at %v: %s", r.KneeRate, r.Sentence)
	}
}

func TestFindKneeLinear(t *testing.T) {
	// p99 rising in proportion to the rate has no knee.
	var steps []Step
	for i := 1; i <= 10; i++ {
		steps = append(steps, Step{Offered: float64(i) * 100, Achieved: float64(i) * 100,
			P99: time.Duration(i) * time.Millisecond, Valid: true})
	}
	r := FindKnee(steps, nil)
	if r.Found || !strings.Contains(r.Sentence, "without a clear knee") {
		t.Errorf("Found = %v, Sentence = %q", r.Found, r.Sentence)
	}
}

func TestFindKneeSaturatedExcluded(t *testing.T) {
	const mu = 10000.0
	steps := mm1Steps(mu, nil)
	// Past capacity: the target completes only 10,000 req/s, and p99 is
	// whatever the queue grew to, here small enough to look like no knee.
	for _, lam := range []float64{11000, 12000, 13000} {
		steps = append(steps, Step{Offered: lam, Achieved: mu, P99: time.Millisecond, Valid: true,
			Saturated: true, Evidence: "completed 10,000/s of " + kneeRate(lam) + "/s offered"})
	}
	// And a step the generator could not keep up with, dropped.
	steps = append(steps, Step{Offered: 9750, Achieved: 9750, P99: time.Second, Why: "send-lag: p99 40 ms"})
	r := FindKnee(steps, nil)
	if len(r.Points) != 19 {
		t.Errorf("used %d points, want the 19 healthy ones", len(r.Points))
	}
	if r.MaxValid != 9500 || !r.Found {
		t.Errorf("MaxValid = %v, Found = %v", r.MaxValid, r.Found)
	}
	// ρ from the bracket's midpoint, 10,250.
	if r.Bracket.Lo != 9500 || r.Bracket.Hi != 11000 || r.Capacity != 10250 || r.Utilization != 8000.0/10250 {
		t.Errorf("bracket %+v, capacity %v, ρ %v", r.Bracket, r.Capacity, r.Utilization)
	}
	if want := "knee at 8,000 req/s (ρ≈0.78 of capacity 9,500–11,000 req/s); p99 0.48→2.3 ms; the 1/p99 linear fit puts capacity at ≈10,000 req/s (95 % CI 10,000–10,000)"; r.Sentence != want {
		t.Errorf("Sentence = %q, want %q", r.Sentence, want)
	}

	// With no healthy step there is nothing to find.
	r = FindKnee([]Step{{Offered: 1, Achieved: 1, P99: 1}, {Offered: 2, Achieved: 1, P99: 1, Valid: true, Saturated: true}}, nil)
	if r.Found || !strings.HasPrefix(r.Sentence, "no knee: no step ran healthy") {
		t.Errorf("no healthy steps: %+v", r)
	}
}

func TestFindKneeTooFew(t *testing.T) {
	r := FindKnee(mm1Steps(10000, nil)[16:], nil) // 3 steps
	if r.Found || !strings.Contains(r.Sentence, "only 3 healthy") {
		t.Errorf("3 steps: Found = %v, Sentence = %q", r.Found, r.Sentence)
	}
}

func TestFindKneeSLO(t *testing.T) {
	steps := mm1Steps(10000, nil)
	slo := func(lim time.Duration) func(Step) (bool, string) {
		return func(s Step) (bool, string) { return s.P99 < lim, "p99<" + kneeDur(lim) }
	}
	tests := []struct {
		lim    time.Duration
		holds  float64
		clause string
	}{
		// ln(100)/(10,000 − 8,500) = 3.07 ms, /(10,000 − 9,000) = 4.6 ms
		{4 * time.Millisecond, 8500, "p99<4 ms holds up to 8,500 req/s"},
		// every step is under 20 ms
		{20 * time.Millisecond, 9500, "p99<20 ms holds at every healthy rate tested, up to 9,500 req/s"},
		// the lowest step has 0.48 ms
		{100 * time.Microsecond, 0, "p99<100 µs is not met even at 500 req/s"},
	}
	for _, tt := range tests {
		r := FindKnee(steps, slo(tt.lim))
		if r.SLOHoldsTo != tt.holds || !strings.HasSuffix(r.Sentence, "; "+tt.clause) {
			t.Errorf("%v: SLOHoldsTo = %v, Sentence = %q; want %v, …%q", tt.lim, r.SLOHoldsTo, r.Sentence, tt.holds, tt.clause)
		}
		if r.SLO != "p99<"+kneeDur(tt.lim) {
			t.Errorf("SLO = %q", r.SLO)
		}
	}

	// A step failing in the middle (noise) ends "holds up to" there,
	// even if higher steps pass again.
	steps[10].P99 = time.Second
	r := FindKnee(steps, slo(20*time.Millisecond))
	if r.SLOHoldsTo != steps[9].Offered {
		t.Errorf("SLOHoldsTo = %v, want %v", r.SLOHoldsTo, steps[9].Offered)
	}
}

func TestStepOf(t *testing.T) {
	p := &PhaseSummary{OfferedRate: 100, AchievedRate: 99.5,
		Response: Dist{P50: 1, P99: 9}, SendLag: Dist{P99: 3}}
	p.OK, p.Errors = 90, 10
	s := StepOf(p, []Second{{Completed: 5, P50: 7}, {}, {Completed: 1, P50: 8}})
	if s.Offered != 100 || s.Achieved != 99.5 || s.P50 != 1 || s.P99 != 9 || s.SendLagP99 != 3 ||
		s.ErrorRate != 0.1 || len(s.SecondP50s) != 2 || s.SecondP50s[1] != 8 || s.Valid {
		t.Errorf("StepOf = %+v", s)
	}
}

func TestKneeFormat(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {12.5, "12.5"}, {999.6, "1,000"}, {7800, "7,800"}, {1234567, "1,234,567"}, {-20000, "-20,000"}} {
		if got := kneeRate(tt.v); got != tt.want {
			t.Errorf("kneeRate(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := kneeRound3(10012); got != 10000 {
		t.Errorf("kneeRound3(10012) = %v", got)
	}
	if got := kneeDurPair(3*time.Millisecond, 12100*time.Microsecond); got != "3→12 ms" {
		t.Errorf("kneeDurPair = %q", got)
	}
	if got := kneeDur(3070 * time.Microsecond); got != "3.1 ms" {
		t.Errorf("kneeDur = %q", got)
	}
}

func ExampleFindKnee() {
	// An M/M/1 server with μ = 10,000 req/s, swept at 500 … 9,500 req/s,
	// then at 11,000 req/s, where it saturated.
	steps := append(mm1Steps(10000, nil), Step{Offered: 11000, Achieved: 10000, P99: 90 * time.Millisecond,
		Valid: true, Saturated: true, Evidence: "completed 10,000/s of 11,000/s offered (90.9%)"})
	r := FindKnee(steps, nil)
	fmt.Println(r.Bracket.Sentence)
	fmt.Println(r.Sentence)
	// Output:
	// capacity between 9,500 and 11,000 req/s: at 11,000 the target completed 10,000/s and latency grew without bound
	// knee at 8,000 req/s (ρ≈0.78 of capacity 9,500–11,000 req/s); p99 0.48→2.3 ms; the 1/p99 linear fit puts capacity at ≈10,000 req/s (95 % CI 10,000–10,000)
}
