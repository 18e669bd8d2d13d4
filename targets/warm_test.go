package targets

import (
	"context"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets/balance"
)

// warmer is a target that counts the connections asked of it.
type warmer struct {
	generator.TargetFunc
	asked int
}

func (w *warmer) Warm(_ context.Context, n int) int { w.asked += n; return n }

// Warm reaches the clients under every wrapping target, shared out.
func TestWarmPassesThrough(t *testing.T) {
	ok := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	a, b := &warmer{TargetFunc: ok}, &warmer{TargetFunc: ok}
	byAddr := map[string]generator.Target{"a:1": a, "b:1": b}
	bal, err := NewBalanced("round-robin", []balance.Endpoint{{Addr: "a:1"}, {Addr: "b:1"}}, balance.Options{}, nil,
		func(addr string) (generator.Target, error) { return byAddr[addr], nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := bal.Warm(context.Background(), 5); got != 6 || a.asked != 3 || b.asked != 3 {
		t.Fatalf("balanced: opened %d, asked %d and %d", got, a.asked, b.asked)
	}
	fan, err := NewFanOut(3, []generator.Target{a})
	if err != nil {
		t.Fatal(err)
	}
	if got := fan.Warm(context.Background(), 2); got != 6 || a.asked != 9 {
		t.Fatalf("fan-out: opened %d, asked %d", got, a.asked)
	}
	h, err := NewHedge(a, generator.HedgeAfter{Fixed: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Warm(context.Background(), 2); got != 2 || a.asked != 11 {
		t.Fatalf("hedge: opened %d, asked %d", got, a.asked)
	}
	sw := NewSwitch(b)
	if got := sw.Warm(context.Background(), 4); got != 4 || b.asked != 7 {
		t.Fatalf("switch: opened %d, asked %d", got, b.asked)
	}
	// A target that cannot warm is skipped.
	if got := NewSwitch(ok).Warm(context.Background(), 4); got != 0 {
		t.Fatalf("plain target: opened %d", got)
	}
}

// workerTarget counts the calls that came with a worker.
type workerTarget struct {
	generator.TargetFunc
	byWorker map[int]int
}

func (w *workerTarget) DoWorker(ctx context.Context, worker int, seq uint64) generator.Outcome {
	w.byWorker[worker]++
	return w.Do(ctx, seq)
}

// Balancing and switches pass the worker on; Do still comes without one.
func TestWorkerPassesThrough(t *testing.T) {
	ok := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	a, b := &workerTarget{ok, map[int]int{}}, &workerTarget{ok, map[int]int{}}
	byAddr := map[string]generator.Target{"a:1": a, "b:1": b}
	bal, err := NewBalanced("round-robin", []balance.Endpoint{{Addr: "a:1"}, {Addr: "b:1"}}, balance.Options{}, nil,
		func(addr string) (generator.Target, error) { return byAddr[addr], nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if out := bal.DoWorker(context.Background(), 7, uint64(i)); !out.OK() || out.Endpoint == 0 {
			t.Fatalf("%+v", out)
		}
	}
	bal.Do(context.Background(), 9)
	if a.byWorker[7] != 2 || b.byWorker[7] != 2 || len(a.byWorker)+len(b.byWorker) != 2 {
		t.Fatalf("balanced: %v %v", a.byWorker, b.byWorker)
	}
	sw := NewSwitch(a)
	sw.DoWorker(context.Background(), 3, 0)
	if a.byWorker[3] != 1 {
		t.Fatalf("switch: %v", a.byWorker)
	}
	// A target without workers is called through Do.
	if out := NewSwitch(ok).DoWorker(context.Background(), 3, 0); !out.OK() {
		t.Fatalf("%+v", out)
	}
}
