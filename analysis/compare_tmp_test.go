package analysis

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

func envf(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

func TestTmpRates(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	start := time.Now()
	sp := synth{n: int(envf("N", 40)), per: int(envf("PER", 100)), phi: envf("PHI", 0.98), level: envf("LEVEL", 0.2), noise: 0.5, errRate: 0.01, light: os.Getenv("LIGHT") != ""}
	seeds := int(envf("SEEDS", 200))
	var mu sync.Mutex
	fp := map[CompareMetric]int{}
	worse := map[CompareMetric]int{}
	cover := map[CompareMetric]int{}
	rels := map[CompareMetric][]float64{}
	widths := map[CompareMetric][]float64{}
	parallel(seeds, func(seed int) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		a := sp.phase(rng)
		b := sp.phase(rng)
		e := sp
		e.scale = 1.2
		b2 := e.phase(rng)
		c1, err := Compare(side("A", a), side("B", b), CompareOptions{Resamples: 500, Seed: uint64(seed)})
		if err != nil {
			panic(err)
		}
		c2, err := Compare(side("A", a), side("B", b2), CompareOptions{Resamples: 500, Seed: uint64(seed)})
		if err != nil {
			panic(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range c1.Deltas {
			rels[d.Metric] = append(rels[d.Metric], d.Rel)
			widths[d.Metric] = append(widths[d.Metric], (d.CIHi-d.CILo)/3.92)
			if d.Verdict != DeltaSame {
				fp[d.Metric]++
			}
		}
		for _, d := range c2.Deltas {
			if d.Verdict == DeltaWorse {
				worse[d.Metric]++
			}
			if d.CILo <= 0.2 && 0.2 <= d.CIHi {
				cover[d.Metric]++
			}
		}
	})
	t.Logf("elapsed %v", time.Since(start))
	for _, m := range CompareMetrics {
		var s1, s2, w float64
		for i, r := range rels[m] {
			s1 += r
			s2 += r * r
			w += widths[m][i]
		}
		n := float64(len(rels[m]))
		sd := math.Sqrt(s2/n - (s1/n)*(s1/n))
		t.Logf("%s: fp %d worse %d cover %d sd %.5f bootsd %.5f ratio %.3f", m, fp[m], worse[m], cover[m], sd, w/n, sd/(w/n))
	}
}
