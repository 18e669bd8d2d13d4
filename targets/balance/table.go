package balance

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// table is an immutable view of one endpoint list, with what each strategy
// needs precomputed. Only load's counters change after it is published.
type table struct {
	eps     []Endpoint // normalised copy
	ids     []string   // identity: Addr, with "#k" appended for the k-th duplicate
	idh     []uint64   // seeded hash of ids
	w       []int64    // weights
	totalW  int64
	uniform bool       // all weights equal
	load    []*counter // outstanding requests (least-conn, p2c, bounded-hash)

	seq  []int32 // weighted: one smooth cycle
	swrr *swrr   // weighted: stateful fallback for long cycles
	cum  []int64 // random: cumulative weights

	points []uint64  // ring-hash, bounded-hash: sorted ring points
	owner  []int32   // endpoint of each point
	capf   []float64 // bounded-hash: (1+ε)·w/W

	lookup []int32 // maglev

	slots  []int32  // jump: endpoint of each bucket, -1 for a tombstone
	slotID []string // jump: identity of each bucket's endpoint, "" for a tombstone

	modSlots []int32 // mod: weight-expanded buckets (nil when uniform)
}

const (
	maxCycle     = 1 << 16 // longest precomputed weighted cycle
	maxCycleWork = 1 << 24 // most steps × endpoints spent precomputing it
)

func (b *balancer) SetEndpoints(eps []Endpoint) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := b.tab.Load()
	t := b.build(prev, eps)
	if b.kind == kBounded && prev != nil {
		// Requests outstanding on endpoints that left no longer count.
		kept := make(map[*counter]bool, len(t.load))
		for _, c := range t.load {
			kept[c] = true
		}
		for _, c := range prev.load {
			if !kept[c] {
				b.total.n.Add(-c.n.Load())
			}
		}
	}
	b.tab.Store(t)
}

// build returns the table for eps, carrying outstanding counters and jump
// buckets over from prev (nil for the first list).
func (b *balancer) build(prev *table, eps []Endpoint) *table {
	n := len(eps)
	t := &table{
		eps: make([]Endpoint, n),
		ids: make([]string, n),
		idh: make([]uint64, n),
		w:   make([]int64, n),
	}
	seen := make(map[string]int, n)
	for i, ep := range eps {
		ep.Weight = min(max(ep.Weight, 1), MaxWeight)
		t.eps[i] = ep
		id := ep.Addr
		if k := seen[ep.Addr]; k > 0 {
			id += "#" + strconv.Itoa(k)
		}
		seen[ep.Addr]++
		t.ids[i] = id
		t.idh[i] = hashString(b.idSeed, id)
		t.w[i] = int64(ep.Weight)
		t.totalW += int64(ep.Weight)
	}
	t.uniform = true
	for _, w := range t.w {
		if w != t.w[0] {
			t.uniform = false
		}
	}
	if n == 0 {
		return t
	}
	if b.kind.tracksLoad() {
		old := map[string]*counter{}
		if prev != nil {
			for i, id := range prev.ids {
				old[id] = prev.load[i]
			}
		}
		t.load = make([]*counter, n)
		for i, id := range t.ids {
			if c := old[id]; c != nil {
				t.load[i] = c
			} else {
				t.load[i] = new(counter)
			}
		}
	}
	switch b.kind {
	case kWeighted:
		t.buildWeighted()
	case kRandom:
		t.cum = make([]int64, n)
		var c int64
		for i, w := range t.w {
			c += w
			t.cum[i] = c
		}
	case kRingHash, kBounded:
		t.buildRing(b.opts.VirtualNodes)
		if b.kind == kBounded {
			t.capf = make([]float64, n)
			for i, w := range t.w {
				t.capf[i] = (1 + b.opts.Epsilon) * float64(w) / float64(t.totalW)
			}
		}
	case kMaglev:
		t.buildMaglev(max(b.opts.TableSize, nextPrime(100*n)))
	case kJump:
		t.buildJump(prev)
	case kMod:
		if !t.uniform {
			t.modSlots = make([]int32, 0, t.totalW)
			for i, w := range t.w {
				for range w {
					t.modSlots = append(t.modSlots, int32(i))
				}
			}
		}
	}
	return t
}

func (t *table) buildWeighted() {
	g := t.w[0]
	for _, w := range t.w {
		g = gcd(g, w)
	}
	s := &swrr{cur: make([]int64, len(t.w)), w: make([]int64, len(t.w))}
	for i, w := range t.w {
		s.w[i] = w / g
		s.total += w / g
	}
	if s.total <= maxCycle && s.total*int64(len(t.w)) <= maxCycleWork {
		t.seq = make([]int32, s.total)
		for i := range t.seq {
			t.seq[i] = int32(s.step())
		}
		return
	}
	t.swrr = s
}

func (t *table) buildRing(vnodes int) {
	type point struct {
		h   uint64
		idh uint64
		e   int32
	}
	per := max(1, min(int64(vnodes), MaxRingPoints/t.totalW))
	pts := make([]point, 0, per*t.totalW)
	for i, id := range t.idh {
		for v := range per * t.w[i] {
			pts = append(pts, point{hash64(id, uint64(v)), id, int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(a.idh, b.idh)
	})
	t.points = make([]uint64, len(pts))
	t.owner = make([]int32, len(pts))
	for i, p := range pts {
		t.points[i], t.owner[i] = p.h, p.e
	}
}

// buildMaglev fills a table of prime size m as in Eisenbud et al. §3.4,
// with endpoints taking turns in order of their identity hash (so the table
// does not depend on list order) and each placing weight entries per turn.
func (t *table) buildMaglev(m int) {
	n := len(t.eps)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(t.idh[a], t.idh[b]); c != 0 {
			return c
		}
		return strings.Compare(t.ids[a], t.ids[b])
	})
	pos := make([]uint64, n)
	skip := make([]uint64, n)
	for i, id := range t.idh {
		pos[i] = hash64(id, 1) % uint64(m)
		skip[i] = hash64(id, 2)%uint64(m-1) + 1
	}
	t.lookup = make([]int32, m)
	for i := range t.lookup {
		t.lookup[i] = -1
	}
	for filled := 0; filled < m; {
		for _, i := range order {
			for k := int64(0); k < t.w[i] && filled < m; k++ {
				for t.lookup[pos[i]] >= 0 {
					pos[i] = (pos[i] + skip[i]) % uint64(m)
				}
				t.lookup[pos[i]] = int32(i)
				filled++
			}
		}
	}
}

// buildJump assigns weight buckets per endpoint. Buckets of endpoints still
// present keep their place; buckets of endpoints that left (or lost weight)
// become tombstones; new buckets fill tombstones first, then grow the
// bucket count, so only keys of endpoints that left, and keys that now
// belong to a joining endpoint, move. The bucket count never shrinks (even
// dropping a trailing tombstone would change where keys re-hashed through
// it land), except when tombstones would outnumber live buckets: then the
// buckets are rebuilt and keys move freely.
func (t *table) buildJump(prev *table) {
	need := make(map[string]int64, len(t.ids))
	index := make(map[string]int32, len(t.ids))
	for i, id := range t.ids {
		need[id] = t.w[i]
		index[id] = int32(i)
	}
	if prev != nil {
		t.slots = make([]int32, len(prev.slotID))
		t.slotID = make([]string, len(prev.slotID))
		for s, id := range prev.slotID {
			t.slots[s] = -1
			if id != "" && need[id] > 0 {
				t.slots[s], t.slotID[s] = index[id], id
				need[id]--
			}
		}
		if int64(len(t.slots)) > 2*t.totalW {
			// Tombstones would outnumber live buckets: start afresh.
			t.slots, t.slotID = nil, nil
			for i, id := range t.ids {
				need[id] = t.w[i]
			}
		}
	}
	free := 0
	for i, id := range t.ids {
		for ; need[id] > 0; need[id]-- {
			for free < len(t.slots) && t.slots[free] >= 0 {
				free++
			}
			if free < len(t.slots) {
				t.slots[free], t.slotID[free] = int32(i), id
			} else {
				t.slots = append(t.slots, int32(i))
				t.slotID = append(t.slotID, id)
			}
		}
	}
}
