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
