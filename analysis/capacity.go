package analysis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Saturation and the capacity bracket of a rate sweep.
//
// A step of a sweep is one of three things:
//
//	invalid    the generator did not keep to the schedule (its own fault):
//	           the step measures the generator and is dropped
//	saturated  the target's backpressure held completions below the offered
//	           rate, or its queue kept growing: the rate is above capacity
//	healthy    neither: the target kept up, capacity is at least this rate
//
// Healthy and saturated steps bracket the capacity; only healthy steps
// feed the knee.

// Limits of Saturated.
const (
	// SaturatedCompletion is the least fraction of the offered rate a
	// step's later part must complete for the target to have kept up.
	SaturatedCompletion = 0.95
	// SaturatedTrend bounds the rise of the per-second p50 within a step:
	// median(second half) / median(first half) − 1 over 4 seconds or
	// more, last second over first − 1 over 2 or 3.
	SaturatedTrend = 0.5
	// SaturatedKeepUp: a latency trend counts only while the later part
	// completed less than this fraction of what was offered in it.
	SaturatedKeepUp = 0.99
)

// Saturated reports whether the target held a step's load back: whether
// the offered rate was above its capacity. s is the step's summary (a
// single-phase constant-rate run). The signs, any one of which is
// enough:
//
//   - completions fell behind: over the step's later part (its whole
//     seconds but the first, which fills the pipeline; all of them when
//     there are fewer than two) the target completed less than
//     SaturatedCompletion (95 %) of what was offered in the same seconds;
//   - the queue kept growing: the per-second p50 rose through the step
//     by more than SaturatedTrend (50 %) while the later part
//     completed less than SaturatedKeepUp (99 %) of its offers (a rising
//     p50 with completions keeping pace is a disturbance's queue
//     draining, not a growing one);
//   - requests were held back: they waited for an in-flight slot, were
//     dropped with the cap full, were still unanswered (or unsent) when
//     the run's deadline came (censored), or were due and never sent
//     although the run was not interrupted.
//
// completedRate is the completion rate over the later part (req/s, with
// or without error; the whole step's when it has no whole second), the
// target's throughput when saturated. evidence says what was seen, with
// numbers; "" when not saturated.
func Saturated(s *Summary) (sat bool, completedRate float64, evidence string) {
	rows := stepRows(s)
	later := rows
	if len(later) >= 2 {
		later = later[1:]
	}
	var ev []string
	var done, offered int64
	for _, r := range later {
		done += r.Completed
		offered += r.Offered
	}
	offeredRate := s.Total.OfferedRate
	if n := len(later); n > 0 {
		completedRate = float64(done) / float64(n)
		if offered > 0 {
			offeredRate = float64(offered) / float64(n)
		}
	} else {
		completedRate = s.Total.AchievedRate
	}
	if offeredRate > 0 && completedRate < SaturatedCompletion*offeredRate {
		ev = append(ev, fmt.Sprintf("completed %s/s of %s/s offered (%s%%)",
			kneeRate(completedRate), kneeRate(offeredRate), formatPct(100*completedRate/offeredRate)))
	}
	var p50s []time.Duration
	for _, r := range rows {
		if r.Completed > 0 {
			p50s = append(p50s, r.P50)
		}
	}
	// A rising p50 is a growing queue only while completions fall short
	// of arrivals (what arrives and is not completed is queued): with
	// completions keeping pace, it is a queue left by a disturbance,
	// draining.
	if first, last, ok := p50Trend(p50s); ok && first > 0 && completedRate < SaturatedKeepUp*offeredRate {
		if tr := float64(last)/float64(first) - 1; tr > SaturatedTrend {
			short := ""
			if len(ev) == 0 { // else said already
				short = fmt.Sprintf(" with %s/s completed of %s/s offered", kneeRate(completedRate), kneeRate(offeredRate))
			}
			ev = append(ev, fmt.Sprintf("p50 rose %s within the step (+%s%%)%s: the queue kept growing",
				kneeDurPair(first, last), pctText(100*tr), short))
		}
	}
	g, t := &s.Generator, &s.Total
	if n := max(t.Held, int64(g.SlotWaits)); n > 0 {
		ev = append(ev, fmt.Sprintf("%d requests waited for an in-flight slot", n))
	}
	if n := max(t.Dropped, int64(g.Dropped)); n > 0 {
		ev = append(ev, fmt.Sprintf("%d requests dropped with every in-flight slot busy", n))
	}
	if t.Censored > 0 {
		ev = append(ev, fmt.Sprintf("%d requests unanswered when the run's deadline came (censored)", t.Censored))
	}
	if g.Unsent > 0 && !g.Interrupted {
		ev = append(ev, fmt.Sprintf("%d requests due were never sent", g.Unsent))
	}
	return len(ev) > 0, completedRate, strings.Join(ev, "; ")
}

// pctText prints a percentage: three significant digits, whole numbers
// from 100 up (no exponent).
func pctText(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return formatPct(v)
}

// stepRows returns the per-second rows wholly inside the measured
// (non-warm-up) part of s; when there is none, the rows in which
// requests were due.
func stepRows(s *Summary) []Second {
	from := int64(s.Total.Start / time.Second)
	if s.Total.Start%time.Second != 0 {
		from++
	}
	end := s.Total.Start + s.Total.Duration
	var rows, due []Second
	for _, r := range s.Seconds {
		if r.T >= from && time.Duration(r.T+1)*time.Second <= end {
			rows = append(rows, r)
		}
		if r.Offered > 0 {
			due = append(due, r)
		}
	}
	if len(rows) == 0 {
		return due
	}
	return rows
}

// p50Trend returns the p50s to compare for a trend: the medians of the
// halves for 4 or more seconds, the first and last for 2 or 3; ok is
// false for fewer.
func p50Trend(p50s []time.Duration) (first, last time.Duration, ok bool) {
	switch n := len(p50s); {
	case n >= 4:
		return kneeHalves(p50s)
	case n >= 2:
		return p50s[0], p50s[n-1], true
	}
	return 0, 0, false
}

// CapacityBracket is what a sweep's steps say about the target's
// capacity, the highest rate it sustains: Lo ≤ capacity < Hi. Rates are
// req/s; a missing end is 0.
//
// Only measured steps bound it. The completion rate of a saturated step
// is reported (HiCompleted) but bounds nothing: under overload a
// target's throughput scatters by several percent around its capacity
// (queueing costs it CPU, the machine is shared), so it is evidence, not
// a limit.
type CapacityBracket struct {
	// Lo is the highest offered rate of a valid step that was not
	// saturated and, with an objective, met it: capacity ≥ Lo.
	Lo float64
	// Hi is the lowest offered rate above Lo of a saturated step:
	// capacity < Hi. HiCompleted is what the target completed per second
	// there, HiEvidence the step's evidence (see Saturated).
	Hi          float64
	HiCompleted float64
	HiEvidence  string
	// SLO names the objective Lo had to meet ("" for none); SLOFailsAt is
	// the lowest rate above Lo of a valid, unsaturated step that failed
	// it (0: none). A search for the objective bisects below it.
	SLO        string
	SLOFailsAt float64
	// Contradicted lists the saturated steps at or below Lo, by rate: a
	// healthy step above them shows the target kept up there, so they were
	// a passing disturbance, or capacity is close to them.
	Contradicted []float64
	// Overruled lists the rates of healthy steps that a longer saturated
	// step at the same rate overruled (see BracketCapacity).
	Overruled []float64
	// Sentence says the above in one line, e.g.
	//	capacity between 1,600 and 2,000 req/s: at 2,000 the target completed 1,576/s and latency grew without bound
	Sentence string
}

// Mid is the bracket's midpoint, the capacity estimate when both ends
// are known; 0 otherwise.
func (b CapacityBracket) Mid() float64 {
	if b.Lo > 0 && b.Hi > 0 {
		return (b.Lo + b.Hi) / 2
	}
	return 0
}

// Width is Hi/Lo − 1, the bracket's relative width; +Inf when an end is
// missing.
func (b CapacityBracket) Width() float64 {
	if b.Lo > 0 && b.Hi > 0 {
		return b.Hi/b.Lo - 1
	}
	return math.Inf(1)
}

// Upper is the failing end a search bisects towards: the lower of Hi
// and SLOFailsAt that is set; 0 for none.
func (b CapacityBracket) Upper() float64 {
	switch {
	case b.Hi > 0 && b.SLOFailsAt > 0:
		return min(b.Hi, b.SLOFailsAt)
	case b.Hi > 0:
		return b.Hi
	}
	return b.SLOFailsAt
}

// Next is the rate a search (sweep --search) should try next to narrow
// the bracket: twice Lo while nothing above it failed, half the failing
// end while nothing below it held, else the midpoint. The failing end is
// Hi, or SLOFailsAt when lower. ok is false when the bracket is no wider
// than precision (upper/Lo − 1 ≤ precision), or there is no step to go
// from.
func (b CapacityBracket) Next(precision float64) (rate float64, ok bool) {
	up := b.Upper()
	switch {
	case b.Lo > 0 && up > 0:
		if up/b.Lo-1 <= precision {
			return 0, false
		}
		return (b.Lo + up) / 2, true
	case b.Lo > 0:
		return 2 * b.Lo, true
	case up > 0:
		return up / 2, true
	}
	return 0, false
}

// BracketCapacity brackets capacity from a sweep's steps (any order):
// Lo is the highest valid, unsaturated step that met slo (every such step
// when slo is nil), Hi the lowest saturated step above Lo. slo, if not
// nil, reports whether a step met the objective and names it.
//
// When steps disagree:
//
//   - At one rate (within 1 %), a saturated step at least 1.5× as long as
//     every healthy one there overrules them: a short step near capacity
//     can end before its queue shows (Overruled).
//   - Otherwise a healthy step is the stronger evidence: a disturbance can
//     make a step look saturated, never the reverse. A saturated step at
//     or below Lo does not move Hi; it is listed in Contradicted.
func BracketCapacity(steps []Step, slo func(Step) (bool, string)) CapacityBracket {
	return bracketCapacity(steps, slo, "req/s")
}

// bracketCapacity is BracketCapacity with rates in unit ("req/s",
// "items/s") in its sentence.
func bracketCapacity(steps []Step, slo func(Step) (bool, string), unit string) CapacityBracket {
	var b CapacityBracket
	var used []*Step
	for i := range steps {
		if s := &steps[i]; s.Valid && s.Offered > 0 {
			used = append(used, s)
		}
	}
	overruled := func(h *Step) bool {
		var longest *Step
		for _, s := range used {
			if math.Abs(s.Offered-h.Offered) <= 0.01*h.Offered && (longest == nil || s.Duration > longest.Duration) {
				longest = s
			}
		}
		if !longest.Saturated {
			return false
		}
		for _, s := range used {
			if !s.Saturated && math.Abs(s.Offered-h.Offered) <= 0.01*h.Offered && 2*longest.Duration < 3*s.Duration {
				return false
			}
		}
		return true
	}
	for _, s := range used {
		if s.Saturated {
			continue
		}
		if overruled(s) {
			b.Overruled = append(b.Overruled, s.Offered)
			continue
		}
		if slo != nil {
			ok, name := slo(*s)
			if b.SLO == "" {
				b.SLO = name
			}
			if !ok {
				continue
			}
		}
		b.Lo = max(b.Lo, s.Offered)
	}
	var hi *Step
	for _, s := range used {
		switch {
		case s.Saturated && s.Offered <= b.Lo:
			b.Contradicted = append(b.Contradicted, s.Offered)
		case s.Saturated:
			if hi == nil || s.Offered < hi.Offered {
				hi = s
			}
		case slo != nil && s.Offered > b.Lo && !overruled(s):
			if ok, _ := slo(*s); !ok && (b.SLOFailsAt == 0 || s.Offered < b.SLOFailsAt) {
				b.SLOFailsAt = s.Offered
			}
		}
	}
	if hi != nil {
		b.Hi, b.HiCompleted, b.HiEvidence = hi.Offered, hi.Achieved, hi.Evidence
	}
	// A failure above Hi is beside the point.
	if b.Hi > 0 && b.SLOFailsAt >= b.Hi {
		b.SLOFailsAt = 0
	}
	slices.Sort(b.Contradicted)
	b.Overruled = slices.Compact(slices.Sorted(slices.Values(b.Overruled)))
	b.Sentence = b.sentence(hi, unit)
	return b
}

func (b CapacityBracket) sentence(hi *Step, unit string) string {
	var s string
	switch {
	case b.Lo > 0 && b.Hi > 0:
		s = fmt.Sprintf("capacity between %s and %s %s: at %s the target completed %s/s%s",
			kneeRate(b.Lo), kneeRate(b.Hi), unit, kneeRate(b.Hi), kneeRate(b.HiCompleted), growthClause(hi))
	case b.Lo > 0:
		s = fmt.Sprintf("capacity above %s %s: no step above it saturated the target", kneeRate(b.Lo), unit)
	case b.Hi > 0:
		s = fmt.Sprintf("capacity below %s %s: at the lowest rate that could count, %s, the target completed %s/s%s",
			kneeRate(b.Hi), unit, kneeRate(b.Hi), kneeRate(b.HiCompleted), growthClause(hi))
	default:
		s = "capacity unknown: no valid step"
	}
	if b.SLO != "" {
		switch {
		case b.SLOFailsAt > 0:
			s += fmt.Sprintf("; %s fails at %s %s, below saturation", b.SLO, kneeRate(b.SLOFailsAt), unit)
		case b.Lo == 0 && b.Hi == 0:
			s += fmt.Sprintf("; %s was not met at any unsaturated rate", b.SLO)
		}
	}
	if len(b.Overruled) > 0 {
		s += fmt.Sprintf("; %s %s kept up in a short step but saturated in a longer one", joinRates(b.Overruled), unit)
	}
	if n := len(b.Contradicted); n > 0 {
		step := "the step"
		if n > 1 {
			step = "the steps"
		}
		s += fmt.Sprintf("; %s at %s %s looked saturated too, yet a higher one kept up (a disturbance, or capacity close to it)",
			step, joinRates(b.Contradicted), unit)
	}
	return s
}

func joinRates(rates []float64) string {
	t := make([]string, len(rates))
	for i, r := range rates {
		t[i] = kneeRate(r)
	}
	return strings.Join(t, ", ")
}

// growthClause says how a saturated step showed it.
func growthClause(s *Step) string {
	if s == nil {
		return ""
	}
	if s.Achieved < SaturatedCompletion*s.Offered || strings.Contains(s.Evidence, "queue kept growing") {
		return " and latency grew without bound"
	}
	if s.Evidence != "" {
		return " and held requests back: " + s.Evidence
	}
	return ""
}

// Showing a model's capacity.
const (
	// ModelReach is how far beyond the highest healthy step a model's
	// capacity may lie to be shown: measured steps must reach within
	// 20 % of it (capacity ≤ 1.2 × the highest healthy rate).
	ModelReach = 1.2
	// modelConf is the confidence level of a model capacity's interval.
	modelConf = 0.95
)

// ModelCapacity is a capacity predicted by fitting a model to the steps
// (the 1/p99 line, or the Universal Scalability Law's peak), with a 95 %
// jackknife interval. Rates are req/s.
type ModelCapacity struct {
	Model    string  // "1/p99 linear fit" or "USL"
	Estimate float64 // 0 when the model gives none
	Lo, Hi   float64 // the interval; 0 when there is none
	// Reached is the highest rate measured without saturation.
	Reached float64
	// Shown is set when the estimate may be reported: it has an interval,
	// the interval is not wholly below Reached (a faster step kept up) nor
	// wholly at or above the bracket's Hi (a slower step saturated), and
	// the estimate is within ModelReach × Reached (measurements came
	// close). Why says why not, when not.
	Shown bool
	Why   string
}

// String is the clause for a sentence: "the 1/p99 linear fit puts
// capacity at ≈1,750 req/s (95 % CI 1,650–1,850)".
func (m ModelCapacity) String() string {
	return fmt.Sprintf("the %s puts capacity at ≈%s req/s (%s)", m.Model, kneeRate(kneeRound3(m.Estimate)), m.interval())
}

func (m ModelCapacity) interval() string {
	return fmt.Sprintf("95 %% CI %s–%s", kneeRate(kneeRound3(m.Lo)), kneeRate(kneeRound3(m.Hi)))
}

// judge sets Shown and Why from the estimate, its interval, the highest
// healthy rate reached and the bracket's Hi (0 if none).
func (m *ModelCapacity) judge(reached, hi float64) {
	m.Reached = reached
	switch {
	case !(m.Estimate > 0) || math.IsInf(m.Estimate, 0):
		m.Why = "the model gives no capacity"
	case m.Hi == 0:
		m.Why = "no interval (too few steps to fit without each one)"
	case m.Hi < reached:
		m.Why = fmt.Sprintf("below %s req/s, which kept up", kneeRate(reached))
	case m.Estimate > ModelReach*reached:
		m.Why = fmt.Sprintf("more than %s%% above the highest rate measured (%s req/s): an extrapolation",
			formatPct(100*(ModelReach-1)), kneeRate(reached))
	case hi > 0 && m.Lo >= hi:
		m.Why = fmt.Sprintf("at or above %s req/s, which saturated", kneeRate(hi))
	default:
		m.Shown = true
	}
}

// jackknife returns est ± t·se, se the jackknife standard error of fit
// over the n leave-one-out subsets of n points; ok is false when a
// subset has no estimate or n < 3.
func jackknife(n int, fit func(skip int) float64, est float64) (lo, hi float64, ok bool) {
	if n < 3 {
		return 0, 0, false
	}
	loo := make([]float64, n)
	mean := 0.0
	for i := range n {
		v := fit(i)
		if !(v > 0) || math.IsInf(v, 0) {
			return 0, 0, false
		}
		loo[i] = v
		mean += v / float64(n)
	}
	ss := 0.0
	for _, v := range loo {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(float64(n-1) / float64(n) * ss)
	d := tQuantile975(n-1) * se
	return max(est-d, 0), est + d, true
}

// tQuantile975 is Student's t 0.975 quantile for df degrees of freedom
// (two-sided 95 %).
func tQuantile975(df int) float64 {
	table := []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086}
	switch {
	case df < 1:
		return math.Inf(1)
	case df < len(table):
		return table[df]
	case df < 30:
		return 2.06
	case df < 60:
		return 2.02
	}
	return zFor(modelConf)
}

// LineCapacity fits 1/p99 = a + b·rate to steps (see FindKnee) and
// returns where the line reaches zero, with its jackknife interval,
// judged against the highest healthy rate reached and the bracket's
// Hi (0 if none).
func LineCapacity(steps []Step, reached, hi float64) ModelCapacity {
	m := ModelCapacity{Model: "1/p99 linear fit", Estimate: kneeCapacityFit(steps)}
	if m.Estimate > 0 {
		var ok bool
		m.Lo, m.Hi, ok = jackknife(len(steps), func(skip int) float64 {
			sub := make([]Step, 0, len(steps)-1)
			sub = append(sub, steps[:skip]...)
			return kneeCapacityFit(append(sub, steps[skip+1:]...))
		}, m.Estimate)
		if !ok {
			m.Lo, m.Hi = 0, 0
		}
	}
	m.judge(reached, hi)
	return m
}

// USLCapacity is the Universal Scalability Law's peak throughput fitted
// to points, with its jackknife interval (4 points or more: each subset
// needs 3), judged against the highest throughput measured (reached).
func USLCapacity(points []USLPoint, reached float64) ModelCapacity {
	m := ModelCapacity{Model: "USL"}
	if f, err := FitUSL(points); err == nil {
		m.Estimate = f.PeakX
	}
	if m.Estimate > 0 && !math.IsInf(m.Estimate, 0) && len(points) >= 4 {
		var ok bool
		m.Lo, m.Hi, ok = jackknife(len(points), func(skip int) float64 {
			sub := make([]USLPoint, 0, len(points)-1)
			sub = append(sub, points[:skip]...)
			f, err := FitUSL(append(sub, points[skip+1:]...))
			if err != nil {
				return 0
			}
			return f.PeakX
		}, m.Estimate)
		if !ok {
			m.Lo, m.Hi = 0, 0
		}
	}
	m.judge(reached, 0)
	return m
}
