package demo

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// rngPool hands out *rand.Rand backed by PCG sources, one per pooled object,
// so concurrent requests never contend on a shared source. Source i is
// seeded with (seed, splitmix64(i)).
type rngPool struct {
	seed uint64
	next atomic.Uint64
	pool sync.Pool
}

func newRNGPool(seed int64) *rngPool {
	p := &rngPool{seed: uint64(seed)}
	p.pool.New = func() any {
		return rand.New(rand.NewPCG(p.seed, splitmix64(p.next.Add(1))))
	}
	return p
}

func (p *rngPool) get() *rand.Rand  { return p.pool.Get().(*rand.Rand) }
func (p *rngPool) put(r *rand.Rand) { p.pool.Put(r) }

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sampleLatency draws one dependency latency: lognormal(median, sigma), plus
// with probability tailProb an extra uniform in [0.5, 1.5] × tail.
func sampleLatency(r *rand.Rand, median time.Duration, sigma, tailProb float64, tail time.Duration) time.Duration {
	d := float64(median)
	if sigma > 0 && d > 0 {
		d *= math.Exp(sigma * r.NormFloat64())
	}
	if tailProb > 0 && r.Float64() < tailProb {
		d += float64(tail) * (0.5 + r.Float64())
	}
	return clampDuration(d)
}

func clampDuration(d float64) time.Duration {
	if !(d < float64(maxLatency)) { // also catches +Inf and NaN
		return maxLatency
	}
	if d < 0 {
		return 0
	}
	return time.Duration(d)
}
