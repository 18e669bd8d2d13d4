package analysis

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"tailgate/generator"
)

func TestIntervalStoreSpillsToDisk(t *testing.T) {
	var s intervalStore
	var want []string
	for i := 0; i < 50; i++ {
		e := fmt.Sprintf("interval-%d-%s", i, string(make([]byte, i*37)))
		s.add(e)
		want = append(want, e)
	}
	if s.f == nil || len(s.mem) != 0 || s.len() != 50 {
		t.Fatalf("not on disk: file %v, %d in memory, len %d", s.f, len(s.mem), s.len())
	}
	if got := s.all(); !slices.Equal(got, want) {
		t.Fatalf("read back %d intervals, differ", len(got))
	}
	s.replace(want[:3])
	s.add("more")
	if got := s.all(); !slices.Equal(got, append(slices.Clone(want[:3]), "more")) || s.len() != 4 {
		t.Fatalf("after replace: %d %q", s.len(), got)
	}
}

func TestIntervalStoreWithoutTempDir(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent/for/this/test")
	var s intervalStore
	s.add("a")
	s.add("b")
	if s.f != nil || len(s.mem) != 2 {
		t.Fatalf("file %v, %d in memory", s.f, len(s.mem))
	}
	if got := s.all(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("%q", got)
	}
	s.replace([]string{"c"})
	if got := s.all(); !slices.Equal(got, []string{"c"}) || s.len() != 1 {
		t.Fatalf("%q", got)
	}
}

// Ten minutes at 5,000 results a second, recorded and ticked as a run
// would: the heap at minute 10 is within 0.5 MB of minute 1. Kept in
// memory, the interval histograms alone (about 2 KB a second here) grew
// it by 1.2 MB.
func TestMemoryCollectorFlatOverTenMinutes(t *testing.T) {
	if raceEnabled {
		t.Skip("heap is measured without -race")
	}
	c := NewCollector(nil)
	rng := rand.New(rand.NewPCG(1, 1))
	r := &generator.Result{Outcome: generator.Outcome{Status: 200}}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var at1 uint64
	for sec := 0; sec < 600; sec++ {
		base := time.Duration(sec) * time.Second
		for k := 0; k < 5000; k++ {
			r.Intended = base + time.Duration(k)*200*time.Microsecond
			r.Sent = r.Intended + time.Duration(20+rng.IntN(100))*time.Microsecond
			r.Done = min(r.Sent+time.Duration(50_000+rng.ExpFloat64()*400_000), base+time.Second-1)
			c.Record(k%4, r)
		}
		_ = c.Tick(base + time.Second + 300*time.Millisecond)
		if sec == 59 {
			at1 = heap()
		}
	}
	at10 := heap()
	ivs := c.Summarize(generator.Stats{Elapsed: 600 * time.Second}).Intervals
	if len(ivs) != 600 || len(ivs[599]) < 1000 {
		t.Fatalf("%d intervals, the last %d bytes", len(ivs), len(ivs[len(ivs)-1]))
	}
	if growth := int64(at10) - int64(at1); growth > 500_000 {
		t.Errorf("heap grew %d bytes from minute 1 to 10 (%d → %d)", growth, at1, at10)
	}
	t.Logf("heap at 1 min %.2f MB, at 10 min %.2f MB; an interval %d bytes", float64(at1)/1e6, float64(at10)/1e6, len(ivs[599]))
}
