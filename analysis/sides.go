package analysis

import (
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// This file holds one side's phases aligned for Compare, and merges them.

// sideData is one side's phases aligned to comparer.names.
type sideData struct {
	label string
	ph    [][]*PhaseHistograms // run → phase
	tabs  [2]*histTables       // by unitKind (kindIntervals, kindWhole), built on first use
}

func (s *sideData) runs() int { return len(s.ph) }

// all reports whether f holds for the phases of set in every run of s.
func (s *sideData) all(set []int, f func(*PhaseHistograms) bool) bool {
	for _, row := range s.ph {
		for _, p := range set {
			if !f(row[p]) {
				return false
			}
		}
	}
	return true
}

// all reports whether f holds for the phases of set in every run of both
// sides.
func (c *comparer) all(set []int, f func(*PhaseHistograms) bool) bool {
	return c.sides[0].all(set, f) && c.sides[1].all(set, f)
}

func (c *comparer) mannWhitney() bool {
	return c.sides[0].runs() >= MinRunsMannWhitney && c.sides[1].runs() >= MinRunsMannWhitney
}

// mergeHist merges the phases of set of runs (nil: every run) into one
// histogram with tailgate's geometry, and returns how many values were
// dropped (beyond its range). A single histogram is returned as it is.
func (s *sideData) mergeHist(set []int, runs []int) (*hdr.Histogram, int64) {
	if runs == nil {
		for r := range s.ph {
			runs = append(runs, r)
		}
	}
	var hs []*hdr.Histogram
	for _, r := range runs {
		for _, p := range set {
			if ph := s.ph[r][p]; ph.Hist != nil {
				hs = append(hs, ph.Hist)
			} else {
				hs = append(hs, ph.Intervals...)
			}
		}
	}
	if len(hs) == 1 && hs[0] != nil {
		return hs[0], 0
	}
	h := NewHistogram()
	var dropped int64
	for _, x := range hs {
		if x != nil {
			dropped += h.Merge(x)
		}
	}
	return h, dropped
}

// mergeSparse is mergeHist read as a sparse histogram. Phases whose
// intervals were given already read (PhaseHistograms.intervals) and have no
// histogram are merged in that form.
func (s *sideData) mergeSparse(set []int, runs []int) (sparse, int64) {
	if runs == nil {
		for r := range s.ph {
			runs = append(runs, r)
		}
	}
	light := false
	for _, r := range runs {
		for _, p := range set {
			ph := s.ph[r][p]
			light = light || (ph.Hist == nil && ph.intervals != nil)
		}
	}
	if !light {
		h, dropped := s.mergeHist(set, runs)
		return sparseOf(h), dropped
	}
	var parts []sparse
	for _, r := range runs {
		for _, p := range set {
			switch ph := s.ph[r][p]; {
			case ph.Hist != nil:
				parts = append(parts, sparseOf(ph.Hist))
			case ph.intervals != nil:
				parts = append(parts, ph.intervals...)
			default:
				for _, h := range ph.Intervals {
					parts = append(parts, sparseOf(h))
				}
			}
		}
	}
	return mergeSparse(parts), 0
}

// mergeSparse adds sparse histograms of one geometry.
func mergeSparse(parts []sparse) sparse {
	type bucket struct{ lo, n int64 }
	m := map[int64]bucket{}
	for _, p := range parts {
		for i, v := range p.v {
			b := m[v]
			b.lo, b.n = p.lo[i], b.n+p.n[i]
			m[v] = b
		}
	}
	var sp sparse
	for v := range m {
		sp.v = append(sp.v, v)
	}
	slices.Sort(sp.v)
	for _, v := range sp.v {
		b := m[v]
		sp.lo, sp.n = append(sp.lo, b.lo), append(sp.n, b.n)
		sp.total += b.n
	}
	return sp
}
