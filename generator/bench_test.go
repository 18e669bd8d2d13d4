package generator

import (
	"context"
	"testing"
	"time"
)

func BenchmarkConstantNext(b *testing.B) {
	c := Constant{Rate: 20000}
	for i := 0; i < b.N; i++ {
		c.Next(uint64(i))
	}
}

func BenchmarkPoissonNext(b *testing.B) {
	p := NewPoisson(20000, 0, 1)
	for i := 0; i < b.N; i++ {
		p.Next(uint64(i))
	}
}

// The worker's per-request path (time stamps, target call, record) must not
// allocate.
func TestWorkerPathDoesNotAllocate(t *testing.T) {
	l := &loop{start: time.Now(), target: TargetFunc(instant), rec: RecorderFunc(func(int, *Result) {}), ctx: context.Background(), g: new(Gauges)}
	res := new(Result)
	if n := testing.AllocsPerRun(1000, func() { l.do(0, token{seq: 1}, res) }); n != 0 {
		t.Fatalf("worker path allocates %.1f times per request", n)
	}
}

// BenchmarkRunMax measures the send loop's own overhead per request with an
// instant target and a schedule that is always due.
func BenchmarkRunMax(b *testing.B) {
	s := ScheduleFunc(func(n uint64) (time.Duration, bool) { return 0, n < uint64(b.N) })
	b.ReportAllocs()
	if _, err := Run(context.Background(), s, TargetFunc(instant), RecorderFunc(func(int, *Result) {}), Options{MaxInFlight: 4}); err != nil {
		b.Fatal(err)
	}
}
