package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Batching trade-offs.
//
// A batching grid measures settings (batch size B × linger L) open loop
// at item rates; each measurement is a cell. AnalyzeBatch reduces each
// setting's cells to what the user came for:
//
//	capacity   the largest item rate it held (kept up with and, with an
//	           objective, met it), bracketed by BracketCapacity: the
//	           highest held rate below, the lowest saturated rate above
//	p99        at a reference rate common to every setting
//	cost       the target's CPU seconds per 1,000 items, when scraped
//
// and compares settings only by differences larger than their intervals:
// inside them, two settings tie, and ties go to the smaller batch and the
// shorter linger. See docs/knee.md.

// BatchCell is one measurement of a batching grid: batch size B and
// linger L, open loop at a fixed offered item rate for Duration. A batch
// leaves when it holds BatchSize items or its first item has waited
// Linger.
type BatchCell struct {
	BatchSize int           // B ≥ 1; 1 is no batching
	Linger    time.Duration // L; 0 is none
	Rate      float64       // offered items per second (the nominal rate)
	// Throughput is the items per second completed over the cell's later
	// part (Saturated's completion rate, at most 5 % above Rate): for a
	// saturated cell, what the target could do, its capacity bound.
	Throughput float64
	// P99 is the item latency p99, each item timed from its own intended
	// send, so time spent waiting in the batcher counts; P99Lo and P99Hi
	// bound it at 95 % confidence (QuantileCI; 0 when too few items).
	P99          time.Duration
	P99Lo, P99Hi time.Duration
	MeanFill     float64 // mean items per batch ÷ BatchSize, in (0, 1]
	// FlushBySize and FlushByLinger count batches sent because they were
	// full and because the linger expired.
	FlushBySize, FlushByLinger int64
	// Duration is how long the rate was held (a search's confirming run
	// holds it twice as long as the others).
	Duration time.Duration

	// Valid says the generator kept to the schedule (its own self-checks
	// passed) and something was measured; Why says why not. Set by the
	// caller. A saturated cell is valid: it measured the target.
	Valid bool
	Why   string `json:",omitempty"`
	// Saturated says the target could not keep up with Rate (see
	// Saturated), Evidence how it showed.
	Saturated bool
	Evidence  string `json:",omitempty"`
	// ErrorRate is failed ÷ completed items; MetSLO says the cell met
	// every objective (by its point estimate; true without objectives).
	ErrorRate float64
	MetSLO    bool
	// TargetCPU is the target's CPU use in cores, CPUPerKItems its CPU
	// seconds per 1,000 items completed (TargetCPU ÷ Throughput × 1000),
	// when its metrics were scraped (--target-metrics); 0 otherwise.
	TargetCPU    float64
	CPUPerKItems float64

	// Pareto and Regressed are those of the cell's setting (BatchSetting),
	// set by AnalyzeBatch. (Before settings existed, they compared cells
	// at one rate by throughput.)
	Pareto    bool
	Regressed bool
}

// IsBaseline reports whether c is unbatched: B ≤ 1 and no linger.
func (c *BatchCell) IsBaseline() bool { return c.BatchSize <= 1 && c.Linger <= 0 }

// Label prints c's settings: "B=32, linger 1 ms", "B=1, no linger".
func (c *BatchCell) Label() string { return batchLabel(c.BatchSize, c.Linger) }

// Held reports whether the target held c's rate: the cell is valid, not
// saturated, met the objectives and had no errors.
func (c *BatchCell) Held() bool {
	return c.Valid && !c.Saturated && c.MetSLO && c.ErrorRate == 0
}

func batchLabel(b int, l time.Duration) string {
	if l <= 0 {
		return fmt.Sprintf("B=%d, no linger", b)
	}
	return fmt.Sprintf("B=%d, linger %s", b, kneeDur(l))
}

// CapacityScatter is how far above a saturated cell's completion rate the
// capacity may lie: under overload a target's throughput scatters by
// several percent around its capacity (docs/knee.md), so the completion
// rate bounds it only to within 10 %.
const CapacityScatter = 0.1

// BatchSetting is one setting of a batching grid (batch size × linger)
// with all its cells reduced. Rates are items per second.
type BatchSetting struct {
	BatchSize int
	Linger    time.Duration
	Cells     int // cells measured

	// Capacity brackets the highest rate the setting held (BracketCapacity
	// over its cells; a cell with errors fails like a missed objective):
	// Lo the highest held rate, Hi the lowest saturated rate above it,
	// HiCompleted what the target completed there, SLOFailsAt the lowest
	// unsaturated rate above Lo that missed the objective or had errors.
	Capacity CapacityBracket
	// CapLo and CapHi are the interval comparisons use: capacity ≥
	// CapLo = 95 % of Lo (a held cell completed at least that much,
	// SaturatedCompletion), capacity ≤ CapHi = Capacity.Upper, or, when a
	// saturated cell at Hi ends a bracket wider than its completion
	// rate's own scatter (Hi > (1 + 2 × CapacityScatter) × Lo, as a grid
	// at fixed rates leaves it) or no rate was held, the lower of that and
	// HiCompleted × (1 + CapacityScatter), never below Lo. CapHi is 0 when
	// nothing above Lo failed: the capacity is only bounded below.
	CapLo, CapHi float64
	// Estimate is the capacity shown: the bracket's midpoint; in the wide
	// case above, the completion rate (within [Lo, CapHi]); Lo when only
	// bounded below (AtLeast); the completion rate when no rate was held
	// (Lo = 0). 0 when unknown.
	Estimate float64
	AtLeast  bool

	// RefP99 is the p99 at the analysis' reference rate, with its 95 %
	// interval (RefP99Lo, RefP99Hi; 0 when unknown); 0 when the setting
	// has no valid cell there. RefHeld says the setting held that rate;
	// RefFill is the mean batch fill there.
	RefP99, RefP99Lo, RefP99Hi time.Duration
	RefHeld                    bool
	RefFill                    float64

	// Cost is the target's CPU seconds per 1,000 items: the slope of a
	// least-squares line through the held cells' CPU (cores) against
	// their throughput (items/s) when 3 or more rates were held with CPU
	// measured, with its 95 % interval (CostLo, CostHi: Student's t, n − 2
	// degrees of freedom); otherwise the reference cell's CPUPerKItems,
	// with no interval (CostLo = CostHi = 0). 0 when unknown. Costs
	// without intervals never decide a comparison.
	Cost, CostLo, CostHi float64

	// Pareto: no other setting is better on one of capacity, cost and
	// reference p99 by more than their intervals without being worse on
	// another. Regressed: capacity above the baseline's and reference
	// p99 worse, both beyond their intervals (batching bought capacity
	// with tail latency). Recommended: the setting AnalyzeBatch picked.
	Pareto, Regressed, Recommended bool

	// Search is the capacity search's sentence, set by the caller (a grid
	// at fixed rates has none).
	Search string `json:",omitempty"`
	// Sentence says the above in one line: "B=32, linger 2 ms: capacity
	// 11,800 items/s [11,200, 12,400]; p99 6.5 ms at 3,000 items/s".
	Sentence string
}

// IsBaseline reports whether s is unbatched: B ≤ 1 and no linger.
func (s *BatchSetting) IsBaseline() bool { return s.BatchSize <= 1 && s.Linger <= 0 }

// Label prints s's settings: "B=32, linger 1 ms", "B=1, no linger".
func (s *BatchSetting) Label() string { return batchLabel(s.BatchSize, s.Linger) }

// BatchAnalysis is a batching grid reduced: its settings by batch size,
// then linger; the reference rate their p99s are compared at (0 when no
// rate was measured validly in every setting); the recommended setting
// (an index into Settings, −1 for none) and why.
type BatchAnalysis struct {
	Settings       []BatchSetting
	ReferenceRate  float64
	Recommended    int
	Recommendation string
}

// AnalyzeBatch reduces a grid's cells (any order) to settings, marks the
// frontier and the regressions, and recommends one setting. slo names the
// objectives the cells' MetSLO answered ("" for none). It sets each
// cell's Pareto and Regressed from its setting's.
//
// The reference rate is the highest rate at which every setting with a
// valid cell has a valid cell and held it; failing that, the lowest rate
// at which every such setting has a valid cell.
//
// The recommendation, among the settings that held some rate: those whose
// capacity no other's beats (capBeats: CapLo of one ≥ CapHi of the other;
// for a capacity bounded only below, a held rate more than 10 % beyond
// it); of these, those whose cost no other's undercuts beyond the
// intervals; of these, those whose reference p99 no other's undercuts
// beyond the intervals (RefP99Hi of one < RefP99Lo of the other); of
// these, the smallest batch, then the shortest linger. When that is the
// baseline (B = 1, no linger), batching does not help here, unless a
// batched setting was not measured beyond a rate below what the baseline
// held: then the sentence says whether batching helps is not known.
func AnalyzeBatch(cells []BatchCell, slo string) BatchAnalysis {
	a := BatchAnalysis{Recommended: -1}
	groups := groupSettings(cells)
	for _, g := range groups {
		a.Settings = append(a.Settings, settingOf(cells, g, slo))
	}
	a.ReferenceRate = referenceRate(cells, groups)
	for i, g := range groups {
		a.Settings[i].atReference(cells, g, a.ReferenceRate)
		a.Settings[i].cost(cells, g)
		a.Settings[i].Sentence = a.Settings[i].sentence(a.ReferenceRate)
	}
	markBatchFrontier(a.Settings)
	base := -1
	for i := range a.Settings {
		if a.Settings[i].IsBaseline() {
			base = i
			break
		}
	}
	if base >= 0 {
		for i := range a.Settings {
			s, b := &a.Settings[i], &a.Settings[base]
			s.Regressed = i != base && capBeats(s, b) && p99Below(b, s)
		}
	}
	a.Recommended = recommendSetting(a.Settings)
	a.Recommendation = recommendation(a.Settings, a.Recommended, base, a.ReferenceRate, slo, cells)
	if a.Recommended >= 0 {
		a.Settings[a.Recommended].Recommended = true
	}
	for i, g := range groups {
		for _, k := range g {
			cells[k].Pareto, cells[k].Regressed = a.Settings[i].Pareto, a.Settings[i].Regressed
		}
	}
	return a
}

// groupSettings returns the indices of cells per setting, settings by
// batch size, then linger.
func groupSettings(cells []BatchCell) [][]int {
	type key struct {
		b int
		l time.Duration
	}
	idx := map[key]int{}
	var keys []key
	var groups [][]int
	for i, c := range cells {
		k := key{c.BatchSize, c.Linger}
		j, ok := idx[k]
		if !ok {
			j = len(groups)
			idx[k] = j
			keys = append(keys, k)
			groups = append(groups, nil)
		}
		groups[j] = append(groups[j], i)
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		if keys[x].b != keys[y].b {
			return keys[x].b - keys[y].b
		}
		return int(keys[x].l - keys[y].l)
	})
	out := make([][]int, len(order))
	for i, j := range order {
		out[i] = groups[j]
	}
	return out
}

// settingOf brackets one setting's capacity from its cells g.
func settingOf(cells []BatchCell, g []int, slo string) BatchSetting {
	c0 := &cells[g[0]]
	s := BatchSetting{BatchSize: c0.BatchSize, Linger: c0.Linger, Cells: len(g)}
	type key struct {
		rate float64
		p99  time.Duration
		d    time.Duration
	}
	held := map[key]bool{}
	steps := make([]Step, 0, len(g))
	for _, k := range g {
		c := &cells[k]
		steps = append(steps, Step{Offered: c.Rate, Achieved: c.Throughput, P99: c.P99, Duration: c.Duration,
			ErrorRate: c.ErrorRate, Valid: c.Valid, Saturated: c.Saturated, Evidence: c.Evidence})
		kk := key{c.Rate, c.P99, c.Duration}
		if v, seen := held[kk]; seen {
			held[kk] = v && c.Held()
		} else {
			held[kk] = c.Held()
		}
	}
	s.Capacity = bracketCapacity(steps, func(st Step) (bool, string) {
		return held[key{st.Offered, st.P99, st.Duration}], slo
	}, "items/s")
	b := &s.Capacity
	s.CapLo = SaturatedCompletion * b.Lo
	s.CapHi = b.Upper()
	// A bracket narrower than the completion rate's own scatter bounds the
	// capacity better than the completion rate does (a short cell's
	// completions also lag its arrivals by the time the pipeline takes
	// to fill).
	byCompletion := b.Hi > 0 && s.CapHi == b.Hi && b.HiCompleted > 0 && b.Hi > (1+2*CapacityScatter)*b.Lo
	switch {
	case byCompletion && b.Lo > 0:
		s.CapHi = max(min(s.CapHi, b.HiCompleted*(1+CapacityScatter)), b.Lo)
		s.Estimate = min(max(b.HiCompleted, b.Lo), s.CapHi)
	case b.Lo > 0 && s.CapHi > 0:
		s.Estimate = (b.Lo + s.CapHi) / 2
	case b.Lo > 0:
		s.Estimate, s.AtLeast = b.Lo, true
	case b.Hi > 0: // nothing held
		s.Estimate = b.HiCompleted
		if b.HiCompleted > 0 {
			s.CapHi = min(s.CapHi, b.HiCompleted*(1+CapacityScatter))
		}
	}
	return s
}

// sameRate reports whether two nominal rates are the same (within 0.1 %).
func sameRate(a, b float64) bool { return math.Abs(a-b) <= 0.001*max(a, b) }

// referenceRate is the rate every setting's p99 is compared at (see
// AnalyzeBatch); 0 when there is none.
func referenceRate(cells []BatchCell, groups [][]int) float64 {
	var rates []float64
	var live [][]int // settings with a valid cell
	for _, g := range groups {
		ok := false
		for _, k := range g {
			if c := &cells[k]; c.Valid {
				ok = true
				if !slices.ContainsFunc(rates, func(r float64) bool { return sameRate(r, c.Rate) }) {
					rates = append(rates, c.Rate)
				}
			}
		}
		if ok {
			live = append(live, g)
		}
	}
	slices.Sort(rates)
	every := func(r float64, want func(*BatchCell) bool) bool {
		for _, g := range live {
			if !slices.ContainsFunc(g, func(k int) bool { return sameRate(cells[k].Rate, r) && want(&cells[k]) }) {
				return false
			}
		}
		return true
	}
	for i := len(rates) - 1; i >= 0; i-- {
		if every(rates[i], (*BatchCell).Held) {
			return rates[i]
		}
	}
	for _, r := range rates {
		if every(r, func(c *BatchCell) bool { return c.Valid }) {
			return r
		}
	}
	return 0
}

// atReference sets the p99 and fill at rate ref from the setting's best
// valid cell there: a held one, then the longest, then the latest.
func (s *BatchSetting) atReference(cells []BatchCell, g []int, ref float64) {
	var best *BatchCell
	for _, k := range g {
		c := &cells[k]
		if !c.Valid || ref == 0 || !sameRate(c.Rate, ref) {
			continue
		}
		if best == nil || (c.Held() && !best.Held()) || (c.Held() == best.Held() && c.Duration >= best.Duration) {
			best = c
		}
	}
	if best == nil {
		return
	}
	s.RefP99, s.RefP99Lo, s.RefP99Hi = best.P99, best.P99Lo, best.P99Hi
	s.RefHeld, s.RefFill = best.Held(), best.MeanFill
	if best.CPUPerKItems > 0 {
		s.Cost = best.CPUPerKItems
	}
}

// cost fits the target's CPU against throughput over the held cells (see
// BatchSetting.Cost); without 3 rates it leaves the reference cell's.
func (s *BatchSetting) cost(cells []BatchCell, g []int) {
	var xs, ys []float64
	for _, k := range g {
		if c := &cells[k]; c.Held() && c.TargetCPU > 0 && c.Throughput > 0 {
			xs, ys = append(xs, c.Throughput), append(ys, c.TargetCPU)
		}
	}
	var rates []float64
	for _, x := range xs {
		if !slices.ContainsFunc(rates, func(r float64) bool { return math.Abs(r-x) <= 0.01*x }) {
			rates = append(rates, x)
		}
	}
	if len(rates) < 3 {
		return
	}
	slope, se := slopeSE(xs, ys)
	if !(slope > 0) {
		return
	}
	d := tQuantile975(len(xs)-2) * se
	s.Cost, s.CostLo, s.CostHi = 1000*slope, 1000*max(slope-d, 0), 1000*(slope+d)
}

// slopeSE is the least-squares slope of y on x and its standard error.
func slopeSE(xs, ys []float64) (slope, se float64) {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i] / n
		my += ys[i] / n
	}
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0
	}
	slope = sxy / sxx
	var ss float64
	for i := range xs {
		r := ys[i] - my - slope*(xs[i]-mx)
		ss += r * r
	}
	if n > 2 {
		se = math.Sqrt(ss / (n - 2) / sxx)
	}
	return slope, se
}

// capAbove reports whether a's capacity is above b's beyond their
// intervals.
func capAbove(a, b *BatchSetting) bool { return b.CapHi > 0 && a.CapLo > 0 && a.CapLo >= b.CapHi }

// capBeats reports whether a's capacity beats b's: above it beyond the
// intervals, or, when nothing bounds b's from above (its search stopped
// early, or it held every fixed rate), a held a rate more than
// CapacityScatter beyond any b held (a's CapLo ≥ (1 + 10 %) × b's Lo).
// The second is the best evidence there is, not proof: the
// recommendation says so.
func capBeats(a, b *BatchSetting) bool {
	return capAbove(a, b) || (b.CapHi == 0 && b.Lo() > 0 && a.CapLo >= (1+CapacityScatter)*b.Lo())
}

// Lo is the highest rate the setting held (Capacity.Lo).
func (s *BatchSetting) Lo() float64 { return s.Capacity.Lo }

// p99Below reports whether a's reference p99 is below b's beyond their
// intervals; a setting with no p99 at the reference rate has the worse.
func p99Below(a, b *BatchSetting) bool {
	switch {
	case a.RefP99 == 0:
		return false
	case b.RefP99 == 0:
		return true
	}
	return a.RefP99Hi > 0 && b.RefP99Lo > 0 && a.RefP99Hi < b.RefP99Lo
}

// costBelow reports whether a's cost is below b's beyond their
// intervals; a cost without an interval decides nothing.
func costBelow(a, b *BatchSetting) bool {
	return a.CostHi > 0 && b.CostLo > 0 && a.CostHi < b.CostLo
}

// markBatchFrontier sets Pareto: a setting is on the frontier unless
// another beats it on capacity, cost or reference p99 beyond the
// intervals and is not beaten by it on any of them.
func markBatchFrontier(ss []BatchSetting) {
	for i := range ss {
		a := &ss[i]
		a.Pareto = true
		for j := range ss {
			b := &ss[j]
			if j == i {
				continue
			}
			worse := capBeats(a, b) || costBelow(a, b) || p99Below(a, b)
			better := capBeats(b, a) || costBelow(b, a) || p99Below(b, a)
			if better && !worse {
				a.Pareto = false
				break
			}
		}
	}
}

// recommendSetting picks the setting to recommend (see AnalyzeBatch);
// −1 when no setting held any rate.
func recommendSetting(ss []BatchSetting) int {
	var cands []int
	for i := range ss {
		if ss[i].Capacity.Lo > 0 {
			cands = append(cands, i)
		}
	}
	for _, beats := range []func(a, b *BatchSetting) bool{capBeats, costBelow, p99Below} {
		var kept []int
		for _, i := range cands {
			if !slices.ContainsFunc(cands, func(j int) bool { return beats(&ss[j], &ss[i]) }) {
				kept = append(kept, i)
			}
		}
		cands = kept
	}
	if len(cands) == 0 {
		return -1
	}
	return cands[0] // settings are by batch size, then linger
}

// capText prints a setting's capacity: "11,800 items/s [11,200, 12,400]",
// "≥ 2,000 items/s", "< 3,000 items/s (saturated there, completed 840/s)".
func (s *BatchSetting) capText() string {
	b := &s.Capacity
	switch {
	case b.Lo > 0 && s.CapHi > 0:
		return fmt.Sprintf("%s items/s [%s, %s]", kneeRate(kneeRound3(s.Estimate)), kneeRate(b.Lo), kneeRate(s.CapHi))
	case b.Lo > 0:
		return fmt.Sprintf("≥ %s items/s", kneeRate(b.Lo))
	case b.Hi > 0:
		return fmt.Sprintf("< %s items/s (saturated there, completed %s/s)", kneeRate(b.Hi), kneeRate(b.HiCompleted))
	case b.SLOFailsAt > 0:
		return fmt.Sprintf("< %s items/s", kneeRate(b.SLOFailsAt))
	}
	return "unknown"
}

// p99Text prints the reference p99: "p99 6.5 ms at 3,000 items/s".
func (s *BatchSetting) p99Text(ref float64) string {
	if s.RefP99 == 0 {
		return "no p99 at " + kneeRate(ref) + " items/s"
	}
	t := fmt.Sprintf("p99 %s at %s items/s", kneeDur(s.RefP99), kneeRate(ref))
	if !s.RefHeld {
		t += " (not held)"
	}
	return t
}

func (s *BatchSetting) sentence(ref float64) string {
	t := s.Label() + ": capacity " + s.capText()
	if ref > 0 {
		t += "; " + s.p99Text(ref)
	}
	if s.Cost > 0 {
		t += "; " + s.costText()
	}
	return t
}

// costText prints the cost: "0.21 CPU s per 1,000 items [0.19, 0.23]".
func (s *BatchSetting) costText() string {
	t := kneeNum(s.Cost) + " CPU s per 1,000 items"
	if s.CostHi > 0 {
		t += fmt.Sprintf(" [%s, %s]", kneeNum(s.CostLo), kneeNum(s.CostHi))
	}
	return t
}

// capRatio prints a's capacity ÷ b's as "5.9×", "≥ 3.6×" when a's is
// only bounded below.
func capRatio(a, b *BatchSetting) string {
	r := kneeRatio(a.Estimate/b.Estimate) + "×"
	if a.AtLeast {
		r = "≥ " + r
	}
	return r
}

// recommendation says which setting is recommended and why; every ratio
// names its base.
func recommendation(ss []BatchSetting, rec, base int, ref float64, slo string, cells []BatchCell) string {
	if rec < 0 {
		return noneHeld(cells, slo)
	}
	r := &ss[rec]
	head := func(what string) string {
		t := r.Label() + ": " + what + "capacity " + r.capText()
		if slo != "" {
			t += " under " + slo
		}
		if ref > 0 {
			t += ", " + r.p99Text(ref)
		}
		return t
	}
	o := bestOther(ss, rec)
	switch {
	case r.IsBaseline() && o == nil:
		return head("") + "; no batched setting to compare with"
	case r.IsBaseline() && unmeasured(ss, r) != nil:
		u := unmeasured(ss, r)
		return head("") + fmt.Sprintf("; whether batching helps is not known: %s held up to %s items/s and was not measured beyond",
			u.Label(), kneeRate(u.Lo()))
	case r.IsBaseline():
		t := head("batching does not help here; ") + fmt.Sprintf("; the best batched setting, %s: capacity %s", o.Label(), o.capText())
		if o.Estimate > 0 && r.Estimate > 0 && !r.AtLeast {
			t += fmt.Sprintf(", %s that of %s", capRatio(o, r), r.Label())
		}
		if capBeats(r, o) {
			return t + ", below it"
		}
		return t + ": a tie within the intervals"
	case base < 0:
		return head("") + "; no unbatched setting to compare with (add 1 to the batch sizes)"
	}
	return r.Label() + ": capacity " + r.capText() + gains(r, &ss[base], ref, slo)
}

// gains says what the recommended setting r gains over the baseline b:
// capacity, reference p99, cost.
func gains(r, b *BatchSetting, ref float64, slo string) string {
	var t strings.Builder
	if slo != "" {
		t.WriteString(" under " + slo)
	}
	switch {
	case !capBeats(r, b):
		fmt.Fprintf(&t, "; its capacity ties with that of %s (%s)", b.Label(), b.capText())
	case b.CapHi == 0:
		fmt.Fprintf(&t, "; %s held up to %s items/s and was not measured beyond, so the gain over it is not known", b.Label(), kneeRate(b.Lo()))
	case r.Estimate > 0 && b.Estimate > 0:
		fmt.Fprintf(&t, ", %s the capacity of %s (%s)", capRatio(r, b), b.Label(), b.capText())
	default:
		fmt.Fprintf(&t, "; %s: capacity %s", b.Label(), b.capText())
	}
	if ref > 0 && r.RefP99 > 0 {
		fmt.Fprintf(&t, "; %s", r.p99Text(ref))
		if b.RefP99 > 0 {
			fmt.Fprintf(&t, " (%s: %s)", b.Label(), kneeDur(b.RefP99))
		}
	}
	if r.Cost > 0 && b.Cost > 0 {
		fmt.Fprintf(&t, "; %s, %s× the cost of %s (%s)", r.costText(), kneeNum(r.Cost/b.Cost), b.Label(), kneeNum(b.Cost))
	}
	return t.String()
}

// unmeasured is a setting other than r whose capacity is bounded only
// below, at a rate below what r held (its search stopped early): nothing
// says whether it would have done better; nil for none.
func unmeasured(ss []BatchSetting, r *BatchSetting) *BatchSetting {
	for i := range ss {
		if o := &ss[i]; o != r && o.CapHi == 0 && o.Lo() < r.CapLo {
			return o
		}
	}
	return nil
}

// bestOther is the setting other than rec with the highest capacity
// estimate; nil for none.
func bestOther(ss []BatchSetting, rec int) *BatchSetting {
	var o *BatchSetting
	for i := range ss {
		if i != rec && ss[i].Estimate > 0 && (o == nil || ss[i].Estimate > o.Estimate) {
			o = &ss[i]
		}
	}
	return o
}

// noneHeld says that no setting held any rate, with the lowest p99 any
// valid cell reached.
func noneHeld(cells []BatchCell, slo string) string {
	var low *BatchCell
	for i := range cells {
		if c := &cells[i]; c.Valid && (low == nil || c.P99 < low.P99) {
			low = c
		}
	}
	if low == nil {
		return "no valid cells"
	}
	what := "no setting kept up with any rate tried"
	if slo != "" {
		what = "no setting met " + slo + " at any rate tried"
	}
	return fmt.Sprintf("%s; the lowest p99 was %s (%s at %s items/s)", what, kneeDur(low.P99), low.Label(), kneeRate(low.Rate))
}

// ExpectedFirstItemWait is about how long the first item of a batch waits
// in the batcher at an offered rate of rate items/s (Poisson arrivals):
// until B − 1 more items arrive or the linger expires,
//
//	wait ≈ min(L, (B − 1)/λ).
//
// It is 0 when B ≤ 1 or L ≤ 0 (batches leave at once), and L when
// rate ≤ 0. Every item of a batch waits at most this long, so it is what
// batching adds to item latency at the low end, and why the cost depends
// on the offered rate.
func ExpectedFirstItemWait(B int, L time.Duration, rate float64) time.Duration {
	if B <= 1 || L <= 0 {
		return 0
	}
	if !(rate > 0) {
		return L
	}
	fill := float64(B-1) / rate * float64(time.Second)
	if fill >= float64(L) {
		return L
	}
	return time.Duration(fill)
}
