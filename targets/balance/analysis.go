package balance

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// KeysMoved measures how stable a strategy's placement is when a node
// leaves. It places keys 0..nKeys-1 (hashed, as Pick does) over eps, removes
// eps[remove] with SetEndpoints, places the keys again and returns the
// fraction whose endpoint changed. The ideal is 1/len(eps): only the removed
// endpoint's keys move.
//
// For bounded-hash all nKeys keys stay outstanding while they are placed
// (nKeys balls into bins, the setting of Mirrokni et al.), so keys that
// overflowed to another endpoint, before or after the removal, count too.
// Strategies that ignore keys (round-robin, weighted, random, least-conn,
// p2c) are rejected.
func KeysMoved(strategy string, eps []Endpoint, remove int, nKeys int, opts Options) (float64, error) {
	k, err := parseKind(strategy)
	if err != nil {
		return 0, err
	}
	if !k.usesKey() {
		return 0, fmt.Errorf("keys moved: strategy %q ignores keys", strategy)
	}
	if len(eps) < 2 {
		return 0, errors.New("keys moved: need at least 2 endpoints")
	}
	if remove < 0 || remove >= len(eps) {
		return 0, fmt.Errorf("keys moved: endpoint to remove %d is out of range 0..%d", remove, len(eps)-1)
	}
	if nKeys < 1 {
		return 0, fmt.Errorf("keys moved: need at least 1 key, got %d", nKeys)
	}
	b, err := New(strategy, eps, opts)
	if err != nil {
		return 0, fmt.Errorf("keys moved: %w", err)
	}
	before := place(b, nKeys)
	rest := slices.Delete(slices.Clone(eps), remove, remove+1)
	b.SetEndpoints(rest)
	after := place(b, nKeys)
	moved := 0
	for key := range nKeys {
		if eps[before[key]].Addr != rest[after[key]].Addr {
			moved++
		}
	}
	return float64(moved) / float64(nKeys), nil
}

// place picks every key with all of them outstanding, then finishes them.
func place(b Balancer, nKeys int) []int {
	at := make([]int, nKeys)
	for key := range nKeys {
		at[key] = b.Pick(uint64(key))
	}
	for _, i := range at {
		b.Done(i)
	}
	return at
}

// LoadStats summarises how evenly requests (or keys) spread over endpoints.
type LoadStats struct {
	Counts    []int64 // per endpoint, a copy of the input
	Mean      float64 // mean count
	Max       float64 // largest count
	Imbalance float64 // Max/Mean: 1 is perfect; 0 when Mean is 0
	CV        float64 // coefficient of variation, population σ/Mean; 0 when Mean is 0
}

// Load computes LoadStats for per-endpoint counts. An empty slice gives the
// zero LoadStats.
func Load(counts []int64) LoadStats {
	s := LoadStats{Counts: slices.Clone(counts)}
	if len(counts) == 0 {
		return s
	}
	var sum float64
	s.Max = float64(counts[0])
	for _, c := range counts {
		sum += float64(c)
		s.Max = max(s.Max, float64(c))
	}
	s.Mean = sum / float64(len(counts))
	if s.Mean == 0 {
		return s
	}
	var ss float64
	for _, c := range counts {
		d := float64(c) - s.Mean
		ss += d * d
	}
	s.Imbalance = s.Max / s.Mean
	s.CV = math.Sqrt(ss/float64(len(counts))) / s.Mean
	return s
}
