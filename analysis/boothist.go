package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// This file reads latency quantiles from bootstrap resamples: prefix tables
// over interval histograms, or else per-second rows.

type unitKind int

const (
	kindIntervals unitKind = iota // interval histograms, in blocks
	kindWhole                     // whole-phase histograms or counts: bootstrap over runs
)

// --- histogram resampling ---

// histTables let a resample's quantiles be read without merging
// histograms. grid holds every distinct value (highest equivalent, as
// hdr reports values) recorded on the side; for stratum s with n units,
// tab[s][j·U + u] counts the values ≤ grid[u] in units 0…j−1 (U =
// len(grid)). A resample's count of values ≤ grid[u] is then a sum over its
// segments of two table cells, and its quantiles are found by binary
// search over u. The results equal hdr's Merge followed by ValueAt (or
// Max).
type histTables struct {
	grid  []int64
	tab   [][]int64
	top   [][]int32 // stratum → unit → grid index of its largest value (−1: empty)
	lay   *layout
	group int // intervals per unit
}

func (c *comparer) tables(s *sideData, kind unitKind) *histTables {
	if t := s.tabs[kind]; t != nil {
		return t
	}
	P := len(c.names)
	units := make([][]sparse, s.runs()*P) // stratum → interval (or whole phase)
	for r, row := range s.ph {
		for p, ph := range row {
			st := r*P + p
			switch {
			case kind == kindIntervals:
				units[st] = ph.intervals
				if units[st] == nil {
					for _, h := range ph.Intervals {
						units[st] = append(units[st], sparseOf(h))
					}
				}
			default:
				sp, _ := s.mergeSparse([]int{p}, []int{r})
				units[st] = []sparse{sp}
			}
		}
	}
	t := &histTables{lay: newLayout(s.runs(), P), group: 1}
	for _, us := range units {
		for _, u := range us {
			t.grid = append(t.grid, u.v...)
		}
	}
	slices.Sort(t.grid)
	t.grid = slices.Compact(t.grid)
	U := max(len(t.grid), 1)
	// Merge consecutive intervals into units of g when the tables would
	// be too large.
	cells := func(g int) int {
		n := 0
		for _, us := range units {
			n += ((len(us)+g-1)/g + 1) * U
		}
		return n
	}
	maxN := 0
	for _, us := range units {
		maxN = max(maxN, len(us))
	}
	for t.group < maxN && cells(t.group) > maxTableCells {
		t.group++
	}
	if t.group > 1 {
		c.warn("%s: %d intervals merged per bootstrap unit to bound memory", s.label, t.group)
	}
	dense := make([]int64, U)
	t.tab = make([][]int64, len(units))
	t.top = make([][]int32, len(units))
	for st, us := range units {
		n := (len(us) + t.group - 1) / t.group
		t.lay.setBlock(st, n, len(us), t.group, c.opt.BlockLen)
		tab := make([]int64, (n+1)*U)
		t.top[st] = make([]int32, n)
		for j := 0; j < n; j++ {
			t.top[st][j] = -1
			for _, u := range us[j*t.group : min((j+1)*t.group, len(us))] {
				// u.v ascends: walk the grid alongside it.
				g := 0
				for k, v := range u.v {
					g += sort.Search(len(t.grid)-g, func(i int) bool { return t.grid[g+i] >= v })
					dense[g] += u.n[k]
				}
			}
			prev, row := tab[j*U:(j+1)*U], tab[(j+1)*U:(j+2)*U]
			var run int64
			for k := range dense {
				if dense[k] > 0 {
					t.top[st][j] = int32(k)
				}
				run += dense[k]
				dense[k] = 0
				row[k] = prev[k] + run
			}
		}
		t.tab[st] = tab
	}
	s.tabs[kind] = t
	return t
}

// count is the number of values ≤ grid[u] in the segments.
func (t *histTables) count(segs []segment, u int) int64 {
	U := len(t.grid)
	var n int64
	for _, sg := range segs {
		tab := t.tab[sg.st]
		n += tab[int(sg.to)*U+u] - tab[int(sg.from)*U+u]
	}
	return n
}

// values sets out[i] to the merged segments' value at quantile qs[i]
// (ascending; 1 means the max), as ValueAt would read it from their merged
// histogram; NaN when the segments hold no values.
func (t *histTables) values(segs []segment, qs []float64, out []float64) {
	U := len(t.grid)
	var total int64
	if U > 0 {
		total = t.count(segs, U-1)
	}
	if total == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	lo := 0
	for i, q := range qs {
		if q >= 1 {
			top := int32(-1)
			for _, sg := range segs {
				for _, k := range t.top[sg.st][sg.from:sg.to] {
					top = max(top, k)
				}
			}
			out[i] = float64(t.grid[top])
			continue
		}
		rank := Rank(q, total)
		l, h := lo, U-1 // count(U−1) = total ≥ rank
		for l < h {
			m := int(uint(l+h) >> 1)
			if t.count(segs, m) >= rank {
				h = m
			} else {
				l = m + 1
			}
		}
		out[i] = float64(t.grid[l])
		lo = l
	}
}

func (c *comparer) bootHist(t [2]*histTables, set []int, rng *rand.Rand, ds []Delta) *boot {
	return c.bootstrap([2]*layout{t[0].lay, t[1].lay}, set, rng, ds, func(j int, segs []segment, out []float64) {
		t[j].values(segs, latencyQ, out)
	})
}

// --- per-second rows ---

// rowLayout builds a layout over the rows rowsOf picks, one unit per row.
func (c *comparer) rowLayout(s *sideData, rowsOf func(*PhaseHistograms) []Second) (*layout, [][]Second) {
	P := len(c.names)
	l := newLayout(s.runs(), P)
	rows := make([][]Second, s.runs()*P)
	for r, row := range s.ph {
		for p, ph := range row {
			st := r*P + p
			rows[st] = rowsOf(ph)
			l.setBlock(st, len(rows[st]), len(rows[st]), 1, c.opt.BlockLen)
		}
	}
	return l, rows
}

// bootLatencyRows resamples the per-second rows: the statistic for p50,
// p90 and p99 is the completion-weighted mean of that column, for max the
// largest Max; p99.9 has no column.
func (c *comparer) bootLatencyRows(set []int, rng *rand.Rand, ds []Delta) (*boot, [2]*layout) {
	var lay [2]*layout
	var rows [2][][]Second
	for j, s := range c.sides {
		lay[j], rows[j] = c.rowLayout(s, latencyRows)
	}
	return c.bootstrap(lay, set, rng, ds, func(j int, segs []segment, out []float64) {
		var w, p50, p90, p99, mx float64
		for _, sg := range segs {
			for _, s := range rows[j][sg.st][sg.from:sg.to] {
				c := float64(s.Completed)
				w += c
				p50 += c * float64(s.P50)
				p90 += c * float64(s.P90)
				p99 += c * float64(s.P99)
				mx = max(mx, float64(s.Max))
			}
		}
		out[0], out[1], out[2], out[3], out[4] = p50/w, p90/w, p99/w, math.NaN(), mx
	}), lay
}
