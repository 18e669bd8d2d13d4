package analysis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Step is one rate step of an open-loop sweep: a fixed offered rate held
// long enough to measure it. Rates are requests per second.
type Step struct {
	Offered    float64       // intended requests per second
	Achieved   float64       // completed (with or without error) per second
	P99        time.Duration // response-time p99 (from the intended send)
	P50        time.Duration // response-time p50
	ErrorRate  float64       // failed ÷ completed, in [0, 1]
	SendLagP99 time.Duration // p99 of actual − intended send
	Duration   time.Duration // how long the rate was held

	// P99Lo and P99Hi bound P99 at 95 % confidence (order statistics,
	// QuantileCI); both 0 when unknown. FindKnee claims a knee only when
	// p99 rose beyond them.
	P99Lo, P99Hi time.Duration

	// SecondP50s is the per-second response-time p50 over the step, in
	// order.
	SecondP50s []time.Duration

	// TargetCPU is the target's own CPU use during the step, in cores,
	// when its metrics were scraped (--target-metrics); 0 otherwise.
	TargetCPU float64

	// Valid is false when the step cannot be used at all: the generator
	// did not keep to the schedule (a self-check finding of its own
	// failed), or nothing was measured. Why says what was wrong ("" when
	// valid). Set by the caller.
	Valid bool
	Why   string

	// Saturated marks a valid step whose offered rate was above the
	// target's capacity (see Saturated); Evidence says how it showed.
	// Saturated steps bound capacity from above and are kept out of the
	// knee.
	Saturated bool
	Evidence  string
}

// Healthy reports whether s is valid and not saturated: the target kept
// up at s.Offered.
func (s Step) Healthy() bool { return s.Valid && !s.Saturated }

// StepOf builds a Step from a step's phase summary and the per-second
// rows that lie inside it (the caller picks them, e.g. by Second.Phase;
// leave out a partial first or last second). Valid and Saturated are
// left false: the caller judges the step.
func StepOf(p *PhaseSummary, seconds []Second) Step {
	s := Step{
		Offered:    p.OfferedRate,
		Achieved:   p.AchievedRate,
		P50:        p.Response.P50,
		P99:        p.Response.P99,
		SendLagP99: p.SendLag.P99,
		Duration:   p.Duration,
	}
	if lo, hi, _ := QuantileCI(p.ResponseHist, 0.99, 0.95); hi > 0 {
		s.P99Lo, s.P99Hi = lo, hi
	}
	if c := p.Completed(); c > 0 {
		s.ErrorRate = float64(p.Errors) / float64(c)
	}
	for _, r := range seconds {
		if r.Completed > 0 {
			s.SecondP50s = append(s.SecondP50s, r.P50)
		}
	}
	return s
}

// kneeHalves returns the medians of the first and second halves of d
// (the middle value of an odd count is in neither); ok is false when d
// has fewer than 4 values.
func kneeHalves(d []time.Duration) (first, second time.Duration, ok bool) {
	n := len(d)
	if n < 4 {
		return 0, 0, false
	}
	return kneeMedian(d[:n/2]), kneeMedian(d[n-n/2:]), true
}

func kneeMedian(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// KneePoint is one healthy step as FindKnee saw it, for plotting.
type KneePoint struct {
	Rate     float64       // offered req/s
	P99      time.Duration // as measured
	Smoothed time.Duration // after the monotone (isotonic) fit
	X, Y     float64       // Rate and Smoothed normalised to [0, 1]
	Diff     float64       // difference curve X − Y
	Knee     bool          // the knee point
}

// KneeResult is what FindKnee makes of a sweep. Rates are req/s.
type KneeResult struct {
	Found    bool
	KneeRate float64 // offered rate at the knee; 0 when not found
	// KneeP99Before is the p99 at the lowest healthy rate, KneeP99After the
	// p99 at the knee (at the highest healthy rate when not found).
	KneeP99Before, KneeP99After time.Duration

	// Bracket is the capacity bracket of the steps (BracketCapacity); not
	// in JSON here: a result file keeps it beside the knee (sweep.capacity).
	Bracket CapacityBracket `json:"-"`
	// Capacity is the capacity ρ is taken against: the bracket's midpoint
	// when both its ends are known, else the model's estimate when it is
	// shown, else the largest healthy rate (a lower bound); 0 when no step
	// was healthy.
	Capacity float64
	// Model is the capacity of the 1/p99 line (see FindKnee), reported
	// only when Model.Shown.
	Model    ModelCapacity
	MaxValid float64 // largest healthy offered rate
	// Utilization is KneeRate ÷ Capacity, ρ at the knee (an upper bound
	// when Capacity is only the largest healthy rate); 0 when not found.
	Utilization float64

	// SLO names the objective FindKnee was given ("" if none) and
	// SLOHoldsTo is the highest healthy rate up to which every healthy
	// step met it; 0 when even the lowest did not.
	SLO        string
	SLOHoldsTo float64

	// Sentence says all of the above in one line, e.g.
	//	knee at 7,800 req/s (ρ≈0.78 of capacity 9,500–10,500 req/s); p99 3→12 ms; p99<50ms holds up to 8,600 req/s
	//	no knee below capacity: p99 stays within 1.3× of 3.1 ms up to 20,000 req/s (the largest healthy rate tested)
	Sentence string
	Points   []KneePoint // healthy steps by rate
}

// Tuning of FindKnee.
const (
	kneeMinPoints    = 4   // healthy steps needed to look for a knee (~8 for a reliable one)
	kneeFlatRatio    = 1.5 // smoothed p99 max/min below this: flat, no knee
	kneeMinDiff      = 0.1 // difference-curve peak below this: no knee
	kneeSensitivity  = 1.0 // Kneedle's S
	kneeFitMinPoints = 3   // steps at or above the knee needed to fit only those
)

// FindKnee finds the utilisation knee of a rate sweep: the rate beyond
// which p99 grows much faster than the load. Only healthy steps (Valid,
// not Saturated) are used; saturated ones bound capacity (see
// BracketCapacity), invalid ones are ignored, never guessed at. slo, if
// not nil, reports whether a step meets an objective and names it
// ("p99<50ms").
//
// Knee (Kneedle, Satopää et al. 2011, for a convex increasing curve):
//
//  1. Points (x, y) = (offered rate, p99) of the healthy steps, by rate.
//  2. Smooth: latency does not fall as load rises, so y is replaced by
//     its isotonic (non-decreasing, least-squares in log y) fit, by pool
//     adjacent violators. This removes noise without a window to tune,
//     and makes the curve end at its maximum.
//  3. Normalise to the unit square:
//     x_n = (x − x_min)/(x_max − x_min), y_n = (y − y_min)/(y_max − y_min).
//  4. Difference curve. A convex curve lies below the diagonal, so
//     y_d = x_n − y_n (Kneedle's y_n − x_n after its flip for convex
//     increasing curves); the knee is where the curve is furthest below
//     the chord from first to last point.
//  5. Local maxima i of y_d (y_d[i−1] < y_d[i] ≥ y_d[i+1]), each with the
//     threshold T_i = y_d[i] − S·mean(Δx_n), S = 1. The knee is the first
//     local maximum after which y_d falls below T_i before the next one.
//  6. The rise must be real: the p99 confidence interval of the highest
//     healthy step must lie wholly above the knee step's
//     (P99Lo_top > P99Hi_knee). Normalising stretches any curve to the
//     unit square, so without this a flat curve's noise (2.6 → 2.9 ms)
//     looks like a knee.
//
// There is no knee when there are fewer than 4 healthy rates, when the
// smoothed p99 varies by less than 1.5× (flat), when max y_d < 0.1 (p99
// rises about linearly with the rate), or when the rise is within the
// confidence intervals (or they are unknown).
//
// Capacity and ρ. ρ = KneeRate / Capacity, Capacity the midpoint of the
// bracket (BracketCapacity) when a saturated step closes it. Without
// one, a model may stand in: under M/M/1, p99 ≈ ln(100)/(μ − λ), so
// 1/p99 ≈ (μ − λ)/4.6 is linear in λ and reaches zero at μ. FindKnee
// fits 1/p99 = a + b·λ, minimising the relative error
// Σ (1 − p99_i·(a + b·λ_i))², and takes −a/b when b < 0 (LineCapacity),
// with a jackknife interval. The fit uses the steps from the knee up when
// there is a knee with at least 3 steps at or above it, else every
// healthy step (a fixed service-time floor bends 1/p99 at low load and
// pushes the intercept up). The model's capacity is reported only with
// its interval and only when a healthy step reached within 20 % of it
// (ModelCapacity.Shown). Otherwise Capacity is the largest healthy rate,
// a lower bound, and ρ an upper bound.
func FindKnee(steps []Step, slo func(Step) (bool, string)) KneeResult {
	valid := healthySteps(steps)
	var r KneeResult
	r.Bracket = BracketCapacity(steps, slo)
	if len(valid) == 0 {
		r.Sentence = "no knee: no step ran healthy (see each step's state)"
		return r
	}
	n := len(valid)
	r.MaxValid = valid[n-1].Offered
	r.KneeP99Before = valid[0].P99
	r.KneeP99After = valid[n-1].P99
	sloClause := ""
	if slo != nil {
		sloClause = r.sloHolds(valid, slo)
	}
	var lo, hi float64
	r.Points, lo, hi = kneePoints(valid)
	knee := r.locateKnee(valid, lo, hi)
	capText := r.setCapacity(valid, knee)
	if knee >= 0 {
		r.setKnee(valid, knee, capText)
	}
	if r.Model.Shown && !(r.Found && r.Capacity == r.Model.Estimate) {
		r.Sentence += "; " + r.Model.String()
	}
	if sloClause != "" {
		r.Sentence += "; " + sloClause
	}
	return r
}

// healthySteps returns the healthy steps with a rate and a p99, by
// offered rate (steps of one rate in their given order).
func healthySteps(steps []Step) []Step {
	var valid []Step
	for _, s := range steps {
		if s.Healthy() && s.Offered > 0 && s.P99 > 0 {
			valid = append(valid, s)
		}
	}
	slices.SortStableFunc(valid, func(a, b Step) int {
		switch {
		case a.Offered < b.Offered:
			return -1
		case a.Offered > b.Offered:
			return 1
		}
		return 0
	})
	return valid
}

// kneePoints returns the steps as Kneedle's points (steps 2 to 4 of
// FindKnee): smoothed, normalised to the unit square, with the difference
// curve. lo and hi are the smallest and largest smoothed p99, in
// nanoseconds.
func kneePoints(valid []Step) (points []KneePoint, lo, hi float64) {
	n := len(valid)
	smooth := kneeIsotonicLog(valid)
	points = make([]KneePoint, n)
	lo, hi = smooth[0], smooth[n-1]
	x0, x1 := valid[0].Offered, valid[n-1].Offered
	for i, s := range valid {
		p := KneePoint{Rate: s.Offered, P99: s.P99, Smoothed: time.Duration(smooth[i])}
		if x1 > x0 {
			p.X = (s.Offered - x0) / (x1 - x0)
		}
		if hi > lo {
			p.Y = (smooth[i] - lo) / (hi - lo)
		}
		p.Diff = p.X - p.Y
		points[i] = p
	}
	return points, lo, hi
}

// locateKnee returns the index of the knee among the valid steps (by
// rate), or −1 with r.Sentence saying why there is none: too few rates, a
// flat curve (smoothed p99 from lo to hi), no clear knee in r.Points, or a
// rise within the confidence intervals.
func (r *KneeResult) locateKnee(valid []Step, lo, hi float64) int {
	n := len(valid)
	upTo := " up to " + kneeRate(r.MaxValid) + " req/s (the largest healthy rate tested)"
	minRaw, maxRaw := valid[0].P99, valid[0].P99
	for _, s := range valid {
		minRaw, maxRaw = min(minRaw, s.P99), max(maxRaw, s.P99)
	}
	rates := 1
	for i := 1; i < n; i++ {
		if valid[i].Offered != valid[i-1].Offered {
			rates++
		}
	}
	const none = "no knee below capacity: "
	switch {
	case rates < kneeMinPoints:
		r.Sentence = fmt.Sprintf(none+"only %d healthy rate(s) (need at least %d, about 8 for a reliable knee)", rates, kneeMinPoints)
		return -1
	case hi < kneeFlatRatio*lo:
		r.Sentence = fmt.Sprintf(none+"p99 stays within %s× of %s%s",
			kneeRatio(float64(maxRaw)/float64(minRaw)), kneeDur(minRaw), upTo)
		return -1
	}
	knee := kneedle(r.Points)
	if knee < 0 {
		r.Sentence = fmt.Sprintf(none+"p99 rises %s without a clear knee%s",
			kneeDurPair(valid[0].P99, valid[n-1].P99), upTo)
		return -1
	}
	k, top := valid[knee], valid[n-1]
	// The rise must clear every step up to the knee, not only the
	// knee's own: a dip at the knee step is noise, not a flat region
	// ending.
	for _, s := range valid[:knee] {
		if s.P99Hi > k.P99Hi {
			k.P99Lo, k.P99Hi = s.P99Lo, s.P99Hi
		}
	}
	switch {
	case k.P99Hi <= 0 || top.P99Lo <= 0:
		r.Sentence = fmt.Sprintf(none+"p99 rises %s, but without confidence intervals the rise cannot be told from noise%s",
			kneeDurPair(k.P99, top.P99), upTo)
		return -1
	case top.P99Lo <= k.P99Hi:
		r.Sentence = fmt.Sprintf(none+"p99 rises %s from %s to %s req/s, within its confidence intervals (%s and %s)",
			kneeDurPair(k.P99, top.P99), kneeRate(k.Offered), kneeRate(top.Offered),
			kneeDurPair(k.P99Lo, k.P99Hi), kneeDurPair(top.P99Lo, top.P99Hi))
		return -1
	}
	return knee
}

// setCapacity sets r.Model (fitted from the knee up when at least
// kneeFitMinPoints steps are there, else on every valid step) and
// r.Capacity: the bracket's midpoint, else the model's estimate when
// shown, else the largest healthy rate. It returns the capacity's clause
// for the sentence.
func (r *KneeResult) setCapacity(valid []Step, knee int) string {
	fitFrom := 0
	if knee >= 0 && len(valid)-knee >= kneeFitMinPoints {
		fitFrom = knee
	}
	r.Model = LineCapacity(valid[fitFrom:], r.MaxValid, r.Bracket.Hi)
	switch {
	case r.Bracket.Mid() > 0:
		r.Capacity = r.Bracket.Mid()
		return fmt.Sprintf("of capacity %s–%s req/s", kneeRate(r.Bracket.Lo), kneeRate(r.Bracket.Hi))
	case r.Model.Shown:
		r.Capacity = r.Model.Estimate
		return fmt.Sprintf("of ≈%s req/s capacity by the %s, %s; no step saturated",
			kneeRate(kneeRound3(r.Capacity)), r.Model.Model, r.Model.interval())
	default:
		r.Capacity = r.MaxValid
		return fmt.Sprintf("capacity ≥ %s req/s, the largest healthy rate tested; no step saturated", kneeRate(r.Capacity))
	}
}

// setKnee records the knee at valid[knee]: its rate, p99, utilisation ρ
// against r.Capacity (an upper bound when the capacity is only the
// largest healthy rate) and the sentence, with capText for the capacity.
func (r *KneeResult) setKnee(valid []Step, knee int, capText string) {
	r.Found = true
	r.Points[knee].Knee = true
	r.KneeRate = valid[knee].Offered
	r.KneeP99After = valid[knee].P99
	r.Utilization = r.KneeRate / r.Capacity
	rho := fmt.Sprintf("ρ≈%.2f %s", r.Utilization, capText)
	if r.Bracket.Mid() == 0 && !r.Model.Shown {
		rho = fmt.Sprintf("ρ≤%.2f: %s", r.Utilization, capText)
	}
	r.Sentence = fmt.Sprintf("knee at %s req/s (%s); p99 %s",
		kneeRate(r.KneeRate), rho, kneeDurPair(r.KneeP99Before, r.KneeP99After))
}

// sloHolds sets r.SLO and r.SLOHoldsTo from the valid steps (by rate) and
// returns the clause for the sentence.
func (r *KneeResult) sloHolds(valid []Step, slo func(Step) (bool, string)) string {
	all := true
	for _, s := range valid {
		ok, name := slo(s)
		if r.SLO == "" {
			r.SLO = name
		}
		if !ok {
			all = false
			break
		}
		r.SLOHoldsTo = s.Offered
	}
	name := r.SLO
	if name == "" {
		name = "the objective"
	}
	switch {
	case all:
		return fmt.Sprintf("%s holds at every healthy rate tested, up to %s req/s", name, kneeRate(r.SLOHoldsTo))
	case r.SLOHoldsTo == 0:
		return fmt.Sprintf("%s is not met even at %s req/s", name, kneeRate(valid[0].Offered))
	default:
		return fmt.Sprintf("%s holds up to %s req/s", name, kneeRate(r.SLOHoldsTo))
	}
}

// kneedle returns the index of the knee in pts (X, Diff set), or -1.
func kneedle(pts []KneePoint) int {
	n := len(pts)
	peak := 0.0
	for _, p := range pts {
		peak = max(peak, p.Diff)
	}
	if peak < kneeMinDiff {
		return -1
	}
	step := (pts[n-1].X - pts[0].X) / float64(n-1) // mean Δx_n
	var lmx []int
	for i := 1; i < n-1; i++ {
		if pts[i].Diff > pts[i-1].Diff && pts[i].Diff >= pts[i+1].Diff {
			lmx = append(lmx, i)
		}
	}
	for k, i := range lmx {
		end := n
		if k+1 < len(lmx) {
			end = lmx[k+1]
		}
		t := pts[i].Diff - kneeSensitivity*step
		for j := i + 1; j < end; j++ {
			if pts[j].Diff < t {
				return i
			}
		}
	}
	return -1
}

// kneeIsotonicLog returns the non-decreasing least-squares fit of
// log(p99) over steps (in order), back in nanoseconds: pool adjacent
// violators, each block valued at the geometric mean of its p99s.
func kneeIsotonicLog(steps []Step) []float64 {
	type block struct {
		sum float64 // of log p99
		n   int
	}
	var bs []block
	for _, s := range steps {
		bs = append(bs, block{math.Log(float64(s.P99)), 1})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sum/float64(a.n) <= b.sum/float64(b.n) {
				break
			}
			bs = bs[:len(bs)-2]
			bs = append(bs, block{a.sum + b.sum, a.n + b.n})
		}
	}
	out := make([]float64, 0, len(steps))
	for _, b := range bs {
		v := math.Exp(b.sum / float64(b.n))
		for range b.n {
			out = append(out, v)
		}
	}
	return out
}

// kneeCapacityFit fits 1/p99 = a + b·rate minimising Σ(1 − p99·(a + b·rate))²
// and returns −a/b, or 0 when b ≥ 0 or the fit is degenerate.
func kneeCapacityFit(steps []Step) float64 {
	// Normal equations for u_i = p99_i, v_i = p99_i·rate_i, target 1:
	// [Σu² Σuv; Σuv Σv²]·[a b]ᵀ = [Σu Σv]ᵀ. Seconds and req/s keep the
	// terms near 1.
	var suu, suv, svv, su, sv float64
	for _, s := range steps {
		u := s.P99.Seconds()
		v := u * s.Offered
		suu += u * u
		suv += u * v
		svv += v * v
		su += u
		sv += v
	}
	det := suu*svv - suv*suv
	if len(steps) < 2 || !(math.Abs(det) > 1e-12*suu*svv) {
		return 0
	}
	a := (su*svv - sv*suv) / det
	b := (suu*sv - suv*su) / det
	if !(b < 0) || !(a > 0) {
		return 0
	}
	return -a / b
}

// kneeRate prints a rate with thousands separators: 7,800; 12.5 below 100.
func kneeRate(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if math.Abs(v) < 100 {
		return kneeTrim(strconv.FormatFloat(v, 'f', 1, 64))
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// kneeRound3 rounds v to three significant digits (an estimate, not a
// measurement): 10,012 → 10,000.
func kneeRound3(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-2)
	return math.Round(v/p) * p
}

// kneeRatio prints a ratio with one decimal: 1.3.
func kneeRatio(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// kneeUnit picks the unit to print d in.
func kneeUnit(d time.Duration) (time.Duration, string) {
	switch {
	case d >= time.Second:
		return time.Second, "s"
	case d >= time.Millisecond:
		return time.Millisecond, "ms"
	case d >= time.Microsecond:
		return time.Microsecond, "µs"
	}
	return time.Nanosecond, "ns"
}

// kneeNum prints v with two significant digits, more for integer parts
// of three digits or more, without an exponent: 3.1, 12, 0.46, 123.
func kneeNum(v float64) string {
	if v == 0 {
		return "0"
	}
	dec := max(0, 1-int(math.Floor(math.Log10(math.Abs(v)))))
	return kneeTrim(strconv.FormatFloat(v, 'f', dec, 64))
}

func kneeTrim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// kneeDur prints d with a space before the unit: 3.1 ms, 450 µs.
func kneeDur(d time.Duration) string {
	u, name := kneeUnit(d)
	return kneeNum(float64(d)/float64(u)) + " " + name
}

// kneeDurPair prints a → b in the unit of the larger: 3→12 ms.
func kneeDurPair(a, b time.Duration) string {
	u, name := kneeUnit(max(a, b))
	return kneeNum(float64(a)/float64(u)) + "→" + kneeNum(float64(b)/float64(u)) + " " + name
}
