package analysis

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// USLPoint is one measurement of a concurrency sweep: N requests in
// flight (a closed-loop concurrency, or LittleN of an open-loop step)
// and the throughput X they achieved, in req/s.
type USLPoint struct {
	N, X float64
}

// USLFit is the Universal Scalability Law (Gunther) fitted to a sweep:
//
//	         λ·N
//	X(N) = ─────────────────────────
//	       1 + σ(N − 1) + κ·N(N − 1)
//
// λ is the throughput of one request in flight (req/s), σ the contention
// (the serial fraction, Amdahl) and κ the coherency cost (crosstalk
// between every pair). With κ > 0 throughput peaks at
//
//	N* = √((1 − σ)/κ)
//
// and falls beyond it (retrograde scaling).
type USLFit struct {
	Sigma, Kappa, Lambda float64
	// PeakN is N*: +Inf when κ = 0 (throughput only levels off, at λ/σ),
	// 1 when σ ≥ 1 (adding concurrency never helps).
	PeakN float64
	// PeakX is the predicted throughput at PeakN (λ/σ, or +Inf when σ = 0,
	// for κ = 0), req/s.
	PeakX float64
	// R2 is the coefficient of determination of the fitted X(N) against
	// the measured X (1 − SS_res/SS_tot); 1 for a perfect fit.
	R2 float64
	// Points is the number of points fitted.
	Points int
}

// Throughput returns the fitted X(n), req/s.
func (f USLFit) Throughput(n float64) float64 {
	return f.Lambda * n / (1 + f.Sigma*(n-1) + f.Kappa*n*(n-1))
}

// String prints the fit: σ=0.050 κ=0.00100 λ=1,000 req/s; peak 1,000 req/s at N≈31 (R²=0.999).
func (f USLFit) String() string {
	peak := "no peak"
	switch {
	case !math.IsInf(f.PeakN, 1):
		peak = fmt.Sprintf("peak %s req/s at N≈%s", kneeRate(kneeRound3(f.PeakX)), kneeNum(f.PeakN))
	case !math.IsInf(f.PeakX, 1):
		peak = fmt.Sprintf("levels off at %s req/s", kneeRate(kneeRound3(f.PeakX)))
	}
	return fmt.Sprintf("σ=%.3g κ=%.3g λ=%s req/s; %s (R²=%.3f)", f.Sigma, f.Kappa, kneeRate(kneeRound3(f.Lambda)), peak, f.R2)
}

// FitUSL fits the Universal Scalability Law to points by linear least
// squares. Dividing N/X(N) by 1/λ gives Gunther's linearisation
//
//	N/C(N) − 1 = σ(N − 1) + κ·N(N − 1),   C(N) = X(N)/X(1) = X(N)/λ,
//
// and FitUSL solves the same model without needing a point at N = 1, by
// regressing N/X on (1, N − 1, N(N − 1)) with an intercept:
//
//	N/X = a + b(N − 1) + c·N(N − 1),   λ = 1/a, σ = b/a, κ = c/a.
//
// (With a point at N = 1 and exact data this is Gunther's fit.) σ and κ
// are kept ≥ 0: if the unconstrained fit makes one negative, it is fixed
// at 0 and the others refitted. The points need N > 0 and X > 0, and at
// least 3 distinct N.
func FitUSL(points []USLPoint) (USLFit, error) {
	distinct := map[float64]bool{}
	for _, p := range points {
		if !(p.N > 0) || !(p.X > 0) || math.IsInf(p.N, 0) || math.IsInf(p.X, 0) {
			return USLFit{}, fmt.Errorf("usl: point N=%v X=%v: want N > 0 and X > 0", p.N, p.X)
		}
		distinct[p.N] = true
	}
	if len(distinct) < 3 {
		return USLFit{}, fmt.Errorf("usl: %d distinct concurrency levels, need at least 3", len(distinct))
	}
	// The full model if its σ, κ ≥ 0; else the better (least squares in
	// N/X) of σ = 0 and κ = 0; else both 0. This is the non-negative
	// least-squares solution: the optimum lies on the first face tried
	// that has a feasible fit.
	if f, _, ok := uslSolve(points, true, true); ok {
		return f, nil
	}
	fs, ss, oks := uslSolve(points, false, true)
	fk, sk, okk := uslSolve(points, true, false)
	switch {
	case oks && (!okk || ss <= sk):
		return fs, nil
	case okk:
		return fk, nil
	}
	if f, _, ok := uslSolve(points, false, false); ok {
		return f, nil
	}
	return USLFit{}, errors.New("usl: no fit with σ, κ ≥ 0 and λ > 0")
}

// uslSolve fits N/X = a + b(N−1) + c·N(N−1) with b (σ) and c (κ) in the
// model only when withSigma, withKappa. ssr is the sum of squared
// residuals in N/X; ok is false if the system is singular or a
// coefficient comes out negative.
func uslSolve(points []USLPoint, withSigma, withKappa bool) (f USLFit, ssr float64, ok bool) {
	beta, ssr, ok := uslRegress(points, withSigma, withKappa)
	if !ok {
		return USLFit{}, 0, false
	}
	a := beta[0]
	if !(a > 0) {
		return USLFit{}, 0, false
	}
	f = USLFit{Lambda: 1 / a, Points: len(points)}
	i := 1
	if withSigma {
		f.Sigma = beta[i] / a
		i++
	}
	if withKappa {
		f.Kappa = beta[i] / a
	}
	// Rounding leaves ~1e-17 where the truth is 0; a term that changes
	// the denominator by less than 1e-9 over the measured range is 0.
	nmax := 2.0
	for _, p := range points {
		nmax = max(nmax, p.N)
	}
	if f.Sigma*(nmax-1) < 1e-9 {
		f.Sigma = 0
	}
	if f.Kappa*nmax*(nmax-1) < 1e-9 {
		f.Kappa = 0
	}
	f.PeakN, f.PeakX = uslPeak(f)
	f.R2 = uslR2(f, points)
	return f, ssr, true
}

// uslCols is the regressors of N/X at concurrency n: 1, then N − 1 when
// withSigma, then N(N − 1) when withKappa.
func uslCols(n float64, withSigma, withKappa bool) []float64 {
	c := []float64{1}
	if withSigma {
		c = append(c, n-1)
	}
	if withKappa {
		c = append(c, n*(n-1))
	}
	return c
}

// uslRegress regresses N/X on uslCols by least squares, through the
// normal equations with columns scaled to a largest magnitude of 1. It
// returns the coefficients in uslCols order and the sum of squared
// residuals; ok is false if the system is singular or a coefficient comes
// out negative.
func uslRegress(points []USLPoint, withSigma, withKappa bool) (beta []float64, ssr float64, ok bool) {
	k := len(uslCols(1, withSigma, withKappa))
	// Columns are scaled to a largest magnitude of 1 for conditioning.
	scale := make([]float64, k)
	for _, p := range points {
		for i, v := range uslCols(p.N, withSigma, withKappa) {
			scale[i] = max(scale[i], math.Abs(v))
		}
	}
	for i := range scale {
		if scale[i] == 0 {
			return nil, 0, false
		}
	}
	// Normal equations AᵀA·β = Aᵀy, with y = N/X.
	m := make([][]float64, k)
	for i := range m {
		m[i] = make([]float64, k+1)
	}
	for _, p := range points {
		c := uslCols(p.N, withSigma, withKappa)
		for i := range c {
			c[i] /= scale[i]
		}
		y := p.N / p.X
		for i := range k {
			for j := range k {
				m[i][j] += c[i] * c[j]
			}
			m[i][k] += c[i] * y
		}
	}
	beta, ok = uslGauss(m)
	if !ok {
		return nil, 0, false
	}
	for i := range beta {
		beta[i] /= scale[i]
		if beta[i] < 0 {
			return nil, 0, false
		}
	}
	for _, p := range points {
		r := p.N / p.X
		for i, v := range uslCols(p.N, withSigma, withKappa) {
			r -= beta[i] * v
		}
		ssr += r * r
	}
	return beta, ssr, true
}

// uslPeak is f's concurrency of peak throughput and that throughput:
// N* = √((1 − σ)/κ) when κ > 0, 1 (at λ) when σ ≥ 1, and +Inf (levelling
// off at λ/σ, or unbounded) when κ = 0.
func uslPeak(f USLFit) (n, x float64) {
	switch {
	case f.Sigma >= 1:
		return 1, f.Lambda
	case f.Kappa > 0:
		n = math.Sqrt((1 - f.Sigma) / f.Kappa)
		return n, f.Throughput(n)
	case f.Sigma > 0:
		return math.Inf(1), f.Lambda / f.Sigma
	default:
		return math.Inf(1), math.Inf(1)
	}
}

// uslR2 is the coefficient of determination of f's throughput over the
// points: 1 when their throughputs are all equal.
func uslR2(f USLFit, points []USLPoint) float64 {
	var mean, ssTot, ssRes float64
	for _, p := range points {
		mean += p.X
	}
	mean /= float64(len(points))
	for _, p := range points {
		ssTot += (p.X - mean) * (p.X - mean)
		d := p.X - f.Throughput(p.N)
		ssRes += d * d
	}
	if ssTot > 0 {
		return 1 - ssRes/ssTot
	}
	return 1
}

// uslGauss solves the augmented k×(k+1) system m by Gaussian elimination
// with partial pivoting (m is overwritten).
func uslGauss(m [][]float64) ([]float64, bool) {
	k := len(m)
	scale := 0.0
	for i := range k {
		scale = max(scale, math.Abs(m[i][i]))
	}
	for col := range k {
		p := col
		for r := col + 1; r < k; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if !(math.Abs(m[p][col]) > 1e-13*scale) {
			return nil, false
		}
		m[col], m[p] = m[p], m[col]
		for r := col + 1; r < k; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c <= k; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	x := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		s := m[i][k]
		for j := i + 1; j < k; j++ {
			s -= m[i][j] * x[j]
		}
		x[i] = s / m[i][i]
	}
	return x, true
}

// LittleN is the mean number of requests in flight by Little's law,
// N = X·R̄: throughput in req/s times the mean response time. It turns
// the steps of an open-loop rate sweep into USLPoints.
func LittleN(throughput float64, meanLatency time.Duration) float64 {
	return throughput * meanLatency.Seconds()
}
