package analysis

import (
	"math"
	"sort"
)

// This file holds the distributions and tests Compare uses: Student's t, the
// regularized incomplete beta function and the Mann–Whitney U test.

// studentQuantile is the p-quantile (p > ½) of Student's t distribution
// with nu > 0 degrees of freedom, by bisection on its distribution
// function.
func studentQuantile(p, nu float64) float64 {
	if !(nu > 0) || !(p > 0.5 && p < 1) {
		return math.NaN()
	}
	if nu > 1e7 {
		return math.Sqrt2 * math.Erfinv(2*p-1)
	}
	lo, hi := 0.0, 1.0
	for studentCDF(hi, nu) < p {
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for range 64 {
		mid := (lo + hi) / 2
		if studentCDF(mid, nu) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// studentCDF is P(T ≤ t) for t ≥ 0: 1 − ½·I_x(ν/2, ½) with x = ν/(ν+t²).
func studentCDF(t, nu float64) float64 {
	return 1 - 0.5*regIncBeta(nu/(nu+t*t), nu/2, 0.5)
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by
// its continued fraction (Lentz's method).
func regIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x > (a+1)/(a+b+2) {
		return 1 - regIncBeta(1-x, b, a)
	}
	const tiny = 1e-300
	f, cc, dd := 1.0, 1.0, 0.0
	for i := 0; i <= 400; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		}
		dd = 1 + num*dd
		if math.Abs(dd) < tiny {
			dd = tiny
		}
		dd = 1 / dd
		cc = 1 + num/cc
		if math.Abs(cc) < tiny {
			cc = tiny
		}
		f *= cc * dd
		if math.Abs(1-cc*dd) < 1e-12 {
			break
		}
	}
	return front * (f - 1) / a
}

// MannWhitney returns the Mann–Whitney U statistic of b against a — the
// number of pairs (a_i, b_j) with b_j > a_i, ties counting ½ — and the
// two-sided p-value of the hypothesis that neither side tends to be larger,
// from the normal approximation with tie and continuity corrections:
//
//	μ = nₐn_b/2
//	σ² = nₐn_b/12 · ((n+1) − Σ(t³−t)/(n(n−1)))   (t: sizes of groups of ties)
//	z = max(|U − μ| − ½, 0)/σ,   p = erfc(z/√2)
//
// p is 1 when every value is tied, and both are NaN when a side is empty.
func MannWhitney(a, b []float64) (u, p float64) {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		return math.NaN(), math.NaN()
	}
	type obs struct {
		v float64
		b bool
	}
	all := make([]obs, 0, na+nb)
	for _, v := range a {
		all = append(all, obs{v, false})
	}
	for _, v := range b {
		all = append(all, obs{v, true})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(na + nb)
	var rankB, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].b {
				rankB += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	u = rankB - float64(nb)*float64(nb+1)/2
	mu := float64(na) * float64(nb) / 2
	v := float64(na) * float64(nb) / 12 * ((n + 1) - ties/(n*(n-1)))
	if !(v > 0) {
		return u, 1
	}
	z := max(math.Abs(u-mu)-0.5, 0) / math.Sqrt(v)
	return u, math.Erfc(z / math.Sqrt2)
}
