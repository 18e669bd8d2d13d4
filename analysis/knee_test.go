package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mm1Steps returns valid steps of an M/M/1 queue with service rate mu at
// λ = mu/20, 2·mu/20, …, 0.95·mu: p99 = ln(100)/(μ − λ), each p99
// multiplied by noise() (nil: none).
func mm1Steps(mu float64, noise func() float64) []Step {
	var steps []Step
	for i := 1; i <= 19; i++ {
		lam := mu * float64(i) / 20
		p99 := math.Log(100) / (mu - lam)
		if noise != nil {
			p99 *= noise()
		}
		steps = append(steps, Step{
			Offered: lam, Achieved: lam,
			P99:   time.Duration(p99 * 1e9),
			Valid: true,
		})
	}
	return steps
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
	if math.Abs(r.Capacity-mu)/mu > 0.10 || !r.CapacityFromFit {
		t.Errorf("Capacity = %v (from fit %v), want ≈%v", r.Capacity, r.CapacityFromFit, mu)
	}
	if math.Abs(r.CapacityFit-mu) > 1 {
		t.Errorf("CapacityFit = %v, want %v (exact for M/M/1)", r.CapacityFit, mu)
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
	for _, want := range []string{"knee at 8,000 req/s (ρ≈0.80 of ≈10,000 req/s capacity); p99 0.48→2.3 ms"} {
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
			t.Errorf("seed %d: Capacity = %v (fit %v), want within 10 %% of %v", seed, r.Capacity, r.CapacityFit, mu)
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
		t.Errorf("Capacity = %v (fit %v), want in [9,500, 11,500]", r.Capacity, r.CapacityFit)
	}
	t.Log(r.Sentence)
}

func TestFindKneeFlat(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var steps []Step
		for i := 1; i <= 20; i++ {
			steps = append(steps, Step{
				Offered: float64(i) * 1000, Achieved: float64(i) * 1000,
				P99:   time.Duration(3.1e6 * (0.9 + 0.2*rng.Float64())),
				Valid: true,
			})
		}
		r := FindKnee(steps, nil)
		if r.Found {
			t.Errorf("seed %d: found a knee at %v in a flat curve", seed, r.KneeRate)
		}
		if !strings.HasPrefix(r.Sentence, "no knee: p99 stays within 1.") ||
			!strings.HasSuffix(r.Sentence, "up to 20,000 req/s (the largest stable rate tested)") {
			t.Errorf("seed %d: Sentence = %q", seed, r.Sentence)
		}
		if r.Capacity != 20000 || r.CapacityFromFit {
			t.Errorf("seed %d: Capacity = %v (from fit %v), want the largest valid rate", seed, r.Capacity, r.CapacityFromFit)
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

func TestFindKneeInvalidExcluded(t *testing.T) {
	const mu = 10000.0
	steps := mm1Steps(mu, nil)
	// Past capacity: the target completes only 10,000 req/s, and p99 is
	// whatever the queue grew to, here small enough to look like no knee.
	for _, lam := range []float64{11000, 12000, 13000} {
		steps = append(steps, Step{Offered: lam, Achieved: mu, P99: time.Millisecond})
	}
	for i := range steps {
		CheckStep(&steps[i], StepCheck{})
	}
	r := FindKnee(steps, nil)
	if len(r.Points) != 19 {
		t.Errorf("used %d points, want the 19 valid ones", len(r.Points))
	}
	if r.MaxValid != 9500 || !r.Found {
		t.Errorf("MaxValid = %v, Found = %v", r.MaxValid, r.Found)
	}
	for _, s := range steps[19:] {
		if s.Valid || !strings.Contains(s.Why, "achieved 10,000 of") {
			t.Errorf("step %v: Valid = %v, Why = %q", s.Offered, s.Valid, s.Why)
		}
	}

	// Without CheckStep nothing is valid.
	r = FindKnee([]Step{{Offered: 1, Achieved: 1, P99: 1}}, nil)
	if r.Found || !strings.HasPrefix(r.Sentence, "no knee: no step was stable") {
		t.Errorf("no valid steps: %+v", r)
	}
}

func TestFindKneeTooFew(t *testing.T) {
	r := FindKnee(mm1Steps(10000, nil)[16:], nil) // 3 steps
	if r.Found || !strings.Contains(r.Sentence, "only 3 stable") {
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
		{20 * time.Millisecond, 9500, "p99<20 ms holds at every stable rate tested, up to 9,500 req/s"},
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

func TestCheckStep(t *testing.T) {
	ms := time.Millisecond
	flat := []time.Duration{3 * ms, 3 * ms, 3 * ms, 3 * ms, 3 * ms, 3 * ms}
	tests := []struct {
		name string
		s    Step
		c    StepCheck
		want string // substring of Why; "" for valid
	}{
		{"valid", Step{Offered: 1000, Achieved: 995, P99: ms, SendLagP99: ms, SecondP50s: flat}, StepCheck{}, ""},
		// 98 % achieved < 99 %
		{"behind", Step{Offered: 1000, Achieved: 980, P99: ms}, StepCheck{}, "achieved 980 of 1,000 req/s (98%, need ≥ 99%)"},
		// a looser limit accepts it
		{"behind-ok", Step{Offered: 1000, Achieved: 980, P99: ms}, StepCheck{MinAchievedFraction: 0.95}, ""},
		{"no-rate", Step{P99: ms}, StepCheck{}, "no offered rate"},
		{"no-p99", Step{Offered: 10, Achieved: 10}, StepCheck{}, "no p99"},
		// 12 ms > 10 ms default
		{"lag", Step{Offered: 10, Achieved: 10, P99: ms, SendLagP99: 12 * ms}, StepCheck{}, "send lag p99 12 ms > 10 ms"},
		{"lag-ok", Step{Offered: 10, Achieved: 10, P99: ms, SendLagP99: 12 * ms}, StepCheck{MaxSendLagP99: 20 * ms}, ""},
		// p50 median 2 ms → 9 ms: +350 %
		{"trend", Step{Offered: 10, Achieved: 10, P99: ms,
			SecondP50s: []time.Duration{ms, 2 * ms, 3 * ms, 50 * ms, 6 * ms, 9 * ms, 12 * ms}}, StepCheck{}, "p50 2→9 ms (+350%, limit +50%)"},
		// +40 % is within +50 %
		{"trend-ok", Step{Offered: 10, Achieved: 10, P99: ms,
			SecondP50s: []time.Duration{10 * ms, 10 * ms, 14 * ms, 14 * ms}}, StepCheck{}, ""},
		// three seconds are too few to judge a trend
		{"trend-short", Step{Offered: 10, Achieved: 10, P99: ms,
			SecondP50s: []time.Duration{ms, 10 * ms, 100 * ms}}, StepCheck{}, ""},
		{"errors", Step{Offered: 10, Achieved: 10, P99: ms, ErrorRate: 0.2}, StepCheck{MaxErrorRate: 0.01}, "errors 20% > 1%"},
		{"errors-unchecked", Step{Offered: 10, Achieved: 10, P99: ms, ErrorRate: 0.2}, StepCheck{}, ""},
	}
	for _, tt := range tests {
		s := tt.s
		s.Valid, s.Why = !(tt.want == ""), "stale"
		CheckStep(&s, tt.c)
		if s.Valid != (tt.want == "") || !strings.Contains(s.Why, tt.want) || (tt.want == "" && s.Why != "") {
			t.Errorf("%s: Valid = %v, Why = %q; want %q", tt.name, s.Valid, s.Why, tt.want)
		}
	}

	// Several failures are all listed.
	s := Step{Offered: 1000, Achieved: 500, P99: ms, SendLagP99: time.Second}
	CheckStep(&s, StepCheck{})
	if strings.Count(s.Why, "; ") != 1 {
		t.Errorf("Why = %q, want two reasons", s.Why)
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
	// An M/M/1 server with μ = 10,000 req/s, swept at 500 … 9,500 req/s.
	steps := mm1Steps(10000, nil)
	for i := range steps {
		CheckStep(&steps[i], StepCheck{})
	}
	slo := func(s Step) (bool, string) { return s.P99 < 5*time.Millisecond, "p99<5ms" }
	fmt.Println(FindKnee(steps, slo).Sentence)
	// Output:
	// knee at 8,000 req/s (ρ≈0.80 of ≈10,000 req/s capacity); p99 0.48→2.3 ms; p99<5ms holds up to 9,000 req/s
}
