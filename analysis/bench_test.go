package analysis

import (
	"sync/atomic"
	"testing"
	"time"

	"tailgate/generator"
)

// Recording a result is on every request's path: it must not allocate.
func TestRecordDoesNotAllocate(t *testing.T) {
	c := NewCollector(nil)
	r := &generator.Result{Intended: time.Millisecond, Sent: time.Millisecond, Done: 3 * time.Millisecond, Outcome: generator.Outcome{Status: 200}}
	c.Record(0, r) // first use of the shard and second takes an accumulator
	if n := testing.AllocsPerRun(1000, func() { c.Record(0, r) }); n != 0 {
		t.Fatalf("Record allocates %.1f times per call", n)
	}
}

func BenchmarkCollectorRecord(b *testing.B) {
	c := NewCollector(nil)
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		r := &generator.Result{Intended: time.Millisecond, Sent: time.Millisecond, Done: 3 * time.Millisecond, Outcome: generator.Outcome{Status: 200}}
		w := int(next.Add(1)) // one worker index per goroutine, as in the send loop
		for pb.Next() {
			r.Done += 7
			c.Record(w, r)
		}
	})
}

// BenchmarkCollectorSecond is one second of a run at 5,000 results a
// second from 4 workers: the records, the shards' hand-overs and the Tick
// that closes the second. Its time per op is the collector's CPU per
// second of run, all of which a one-core generator spends on the core that
// also sends.
func BenchmarkCollectorSecond(b *testing.B) {
	c := NewCollector(nil)
	r := &generator.Result{Outcome: generator.Outcome{Status: 200}}
	const perSec = 5000
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		base := time.Duration(i) * time.Second
		for k := 0; k < perSec; k++ {
			r.Intended = base + time.Duration(k)*(time.Second/perSec)
			r.Sent = r.Intended + time.Duration(40+k%50)*time.Microsecond
			r.Done = r.Sent + time.Duration(100+k*37%5000)*time.Microsecond
			if r.Done >= base+time.Second {
				r.Done = base + time.Second - 1
			}
			c.Record(k%4, r)
		}
		_ = c.Tick(base + time.Second + 300*time.Millisecond)
	}
}
