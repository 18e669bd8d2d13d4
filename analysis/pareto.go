package analysis

import (
	"fmt"
	"time"
)

// BatchCell is one cell of a batching grid: batch size B and linger L,
// measured open loop at a fixed offered item rate. A batch leaves when
// it holds BatchSize items or its first item has waited Linger.
type BatchCell struct {
	BatchSize  int           // B ≥ 1; 1 is no batching
	Linger     time.Duration // L; 0 is none
	Rate       float64       // offered items per second
	Throughput float64       // items per second achieved
	// P99 is the item latency p99, each item timed from its own intended
	// send, so time spent waiting in the batcher counts.
	P99      time.Duration
	MeanFill float64 // mean items per batch ÷ BatchSize, in (0, 1]
	// FlushBySize and FlushByLinger count batches sent because they were
	// full and because the linger expired.
	FlushBySize, FlushByLinger int64

	// Valid says the cell's run passed its self-checks; set by the caller.
	Valid bool
	// Pareto is set by MarkPareto, Regressed by MarkRegressions.
	Pareto    bool
	Regressed bool
}

// IsBaseline reports whether c is unbatched: B ≤ 1 and no linger.
func (c *BatchCell) IsBaseline() bool { return c.BatchSize <= 1 && c.Linger <= 0 }

// Label prints c's settings: "B=32, linger 1 ms", "B=1, no linger".
func (c *BatchCell) Label() string {
	if c.Linger <= 0 {
		return fmt.Sprintf("B=%d, no linger", c.BatchSize)
	}
	return fmt.Sprintf("B=%d, linger %s", c.BatchSize, kneeDur(c.Linger))
}

// MarkPareto sets Pareto on every cell. Cells are compared only with
// cells at the same Rate (exactly equal). A valid cell is on the frontier
// when no other valid cell at its rate dominates it:
//
//	Throughput ≥ and P99 ≤, with at least one strictly better.
//
// Cells with equal throughput and p99 do not dominate each other, so
// both are on the frontier. Invalid cells never are.
func MarkPareto(cells []BatchCell) {
	for i := range cells {
		a := &cells[i]
		a.Pareto = a.Valid
		if !a.Valid {
			continue
		}
		for j := range cells {
			b := &cells[j]
			if j == i || !b.Valid || b.Rate != a.Rate {
				continue
			}
			if b.Throughput >= a.Throughput && b.P99 <= a.P99 &&
				(b.Throughput > a.Throughput || b.P99 < a.P99) {
				a.Pareto = false
				break
			}
		}
	}
}

// RegressTolerance is the relative change MarkRegressions ignores as
// noise: throughput must rise, and p99 grow, by more than 1 %.
const RegressTolerance = 0.01

// MarkRegressions sets Regressed on every cell: a valid cell is flagged
// when, against the valid baseline cell (B = 1, L = 0) at the same Rate,
//
//	Throughput > (1 + 1 %)·baseline Throughput  and  P99 > (1 + 1 %)·baseline P99
//
// (batching bought throughput with tail latency). Cells with no baseline
// at their rate, invalid cells and baselines are not flagged. With
// several baselines at one rate, the first is used.
func MarkRegressions(cells []BatchCell) {
	base := map[float64]*BatchCell{}
	for i := range cells {
		c := &cells[i]
		if c.Valid && c.IsBaseline() && base[c.Rate] == nil {
			base[c.Rate] = c
		}
	}
	for i := range cells {
		c := &cells[i]
		b := base[c.Rate]
		c.Regressed = c.Valid && b != nil && !c.IsBaseline() &&
			c.Throughput > (1+RegressTolerance)*b.Throughput &&
			float64(c.P99) > (1+RegressTolerance)*float64(b.P99)
	}
}

// Recommend picks the valid cell with the highest throughput whose p99 is
// at most slo (any p99 when slo ≤ 0). Ties go to the lower p99, then the
// smaller batch, then the shorter linger. best points into cells; it is
// nil when no valid cell meets slo. The sentence says why, e.g.
//
//	B=32, linger 1 ms: 3.1× throughput at 8,000 items/s with p99 14 ms (≤ 50 ms)
//
// where 3.1× compares with the best valid baseline (B = 1, L = 0) cell
// that meets slo.
func Recommend(cells []BatchCell, slo time.Duration) (best *BatchCell, sentence string) {
	meets := func(c *BatchCell) bool { return c.Valid && (slo <= 0 || c.P99 <= slo) }
	better := func(a, b *BatchCell) bool { // a before b
		switch {
		case a.Throughput != b.Throughput:
			return a.Throughput > b.Throughput
		case a.P99 != b.P99:
			return a.P99 < b.P99
		case a.BatchSize != b.BatchSize:
			return a.BatchSize < b.BatchSize
		}
		return a.Linger < b.Linger
	}
	var base, lowest *BatchCell
	for i := range cells {
		c := &cells[i]
		if !c.Valid {
			continue
		}
		if lowest == nil || c.P99 < lowest.P99 {
			lowest = c
		}
		if !meets(c) {
			continue
		}
		if best == nil || better(c, best) {
			best = c
		}
		if c.IsBaseline() && (base == nil || better(c, base)) {
			base = c
		}
	}
	sloText := ""
	if slo > 0 {
		sloText = " (≤ " + kneeDur(slo) + ")"
	}
	switch {
	case lowest == nil:
		return nil, "no valid cells"
	case best == nil:
		return nil, fmt.Sprintf("no cell meets p99 ≤ %s; the lowest p99 was %s (%s at %s items/s)",
			kneeDur(slo), kneeDur(lowest.P99), lowest.Label(), kneeRate(lowest.Rate))
	case best.IsBaseline():
		return best, fmt.Sprintf("%s: batching does not help; %s items/s with p99 %s%s",
			best.Label(), kneeRate(best.Throughput), kneeDur(best.P99), sloText)
	case base == nil || !(base.Throughput > 0):
		return best, fmt.Sprintf("%s: %s items/s with p99 %s%s; no unbatched cell to compare with",
			best.Label(), kneeRate(best.Throughput), kneeDur(best.P99), sloText)
	}
	return best, fmt.Sprintf("%s: %s× throughput at %s items/s with p99 %s%s",
		best.Label(), kneeRatio(best.Throughput/base.Throughput), kneeRate(best.Throughput), kneeDur(best.P99), sloText)
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
