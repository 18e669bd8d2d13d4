package balance

import (
	"math"
	"slices"
	"sync"
)

func (b *balancer) Pick(key uint64) int {
	t := b.tab.Load()
	n := len(t.eps)
	if n == 0 {
		return -1
	}
	switch b.kind {
	case kRoundRobin:
		return int((b.next.n.Add(1) - 1) % uint64(n))
	case kWeighted:
		if t.seq != nil {
			return int(t.seq[(b.next.n.Add(1)-1)%uint64(len(t.seq))])
		}
		return t.swrr.pick()
	case kRandom:
		r := b.rand()
		if t.uniform {
			return int(bound(r, uint64(n)))
		}
		return searchCum(t.cum, int64(bound(r, uint64(t.totalW))))
	case kLeastConn:
		return b.leastConn(t)
	case kP2C:
		return b.p2c(t)
	case kRingHash:
		return int(t.owner[t.ringIndex(b.hashKey(key))])
	case kMaglev:
		return int(t.lookup[b.hashKey(key)%uint64(len(t.lookup))])
	case kBounded:
		return b.bounded(t, b.hashKey(key))
	case kJump:
		return t.jump(b.hashKey(key))
	case kRendezvous:
		return t.rendezvous(b.hashKey(key))
	case kMod:
		h := b.hashKey(key)
		if t.modSlots == nil {
			return int(h % uint64(n))
		}
		return int(t.modSlots[h%uint64(len(t.modSlots))])
	}
	panic("balance: unreachable strategy")
}

func (b *balancer) Done(i int) {
	if !b.kind.tracksLoad() {
		return
	}
	t := b.tab.Load()
	if i < 0 || i >= len(t.load) {
		return
	}
	if t.load[i].decrement() && b.kind == kBounded {
		b.total.n.Add(-1)
	}
}

// searchCum returns the first i with cum[i] > x.
func searchCum(cum []int64, x int64) int {
	lo, hi := 0, len(cum)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// lighter reports whether endpoint a (load la, weight wa) should be
// preferred to b: (la+1)/wa < (lb+1)/wb, counting the request being placed.
func lighter(la, wa, lb, wb int64) bool { return (la+1)*wb < (lb+1)*wa }

func (b *balancer) leastConn(t *table) int {
	n := len(t.eps)
	i := int(bound(b.rand(), uint64(n)))
	best, bl := i, t.load[i].n.Load()
	for s := 1; s < n; s++ {
		if i++; i == n {
			i = 0
		}
		if l := t.load[i].n.Load(); lighter(l, t.w[i], bl, t.w[best]) {
			best, bl = i, l
		}
	}
	t.load[best].n.Add(1)
	return best
}

func (b *balancer) p2c(t *table) int {
	n := len(t.eps)
	if n == 1 {
		t.load[0].n.Add(1)
		return 0
	}
	r := b.rand()
	x := int(bound(r, uint64(n)))
	y := int(bound(r<<32|r>>32, uint64(n-1)))
	if y >= x {
		y++
	}
	lx, ly := t.load[x].n.Load(), t.load[y].n.Load()
	if lighter(ly, t.w[y], lx, t.w[x]) {
		x = y
	}
	t.load[x].n.Add(1)
	return x
}

// ringIndex returns the index of the first ring point ≥ h, wrapping to 0.
func (t *table) ringIndex(h uint64) int {
	i, _ := slices.BinarySearch(t.points, h)
	if i == len(t.points) {
		i = 0
	}
	return i
}

// capacity is ⌈m·f⌉, rounded down by a relative 1e-12 so that floating-point
// error never lifts an exact integer to the next one.
func capacity(m int64, f float64) int64 {
	x := float64(m) * f
	return int64(math.Ceil(x - x*1e-12))
}

// bounded places a request by consistent hashing with bounded loads. The
// request is counted in total first, so m includes it; an endpoint is
// admitted by compare-and-swap only while its load stays within capacity,
// so no endpoint ever goes above the capacity computed at its admission.
func (b *balancer) bounded(t *table, h uint64) int {
	m := b.total.n.Add(1)
	start := t.ringIndex(h)
	p := len(t.points)
	for attempt := 0; attempt < 8; attempt++ {
		i := start
		for s := 0; s < p; s++ {
			j := t.owner[i]
			c := capacity(m, t.capf[j])
			ld := &t.load[j].n
			for {
				l := ld.Load()
				if l >= c {
					break
				}
				if ld.CompareAndSwap(l, l+1) {
					return int(j)
				}
			}
			if i++; i == p {
				i = 0
			}
		}
		// Every endpoint was full: only possible while other requests
		// raced in. Look again with the current total.
		m = max(b.total.n.Load(), 1)
	}
	// Still full after repeated walks (pathological contention): take the
	// least loaded endpoint relative to its share rather than spin.
	best, bl := 0, t.load[0].n.Load()
	for j := 1; j < len(t.eps); j++ {
		if l := t.load[j].n.Load(); lighter(l, t.w[j], bl, t.w[best]) {
			best, bl = j, l
		}
	}
	t.load[best].n.Add(1)
	return best
}

// jump hashes h onto a bucket; a tombstone re-hashes h until a live bucket
// comes up, so keys on live buckets never move.
func (t *table) jump(h uint64) int {
	n := len(t.slots)
	for {
		if e := t.slots[jumpHash(h, n)]; e >= 0 {
			return int(e)
		}
		h = splitmix64(h + golden)
	}
}

func (t *table) rendezvous(h uint64) int {
	best := 0
	if t.uniform {
		var bs uint64
		for j, id := range t.idh {
			if s := hash64(id, h); s > bs || j == 0 {
				best, bs = j, s
			}
		}
		return best
	}
	bs := math.Inf(-1)
	for j, id := range t.idh {
		u := (float64(hash64(id, h)>>11) + 0.5) / (1 << 53) // in (0, 1)
		if s := float64(t.w[j]) / -math.Log(u); s > bs {
			best, bs = j, s
		}
	}
	return best
}

// swrr is nginx's smooth weighted round robin, with its state under a
// mutex; used only when one cycle is too long to precompute.
type swrr struct {
	mu    sync.Mutex
	cur   []int64
	w     []int64
	total int64
}

func (s *swrr) pick() int {
	s.mu.Lock()
	best := s.step()
	s.mu.Unlock()
	return best
}

func (s *swrr) step() int {
	best := 0
	for i := range s.cur {
		s.cur[i] += s.w[i]
		if s.cur[i] > s.cur[best] {
			best = i
		}
	}
	s.cur[best] -= s.total
	return best
}
