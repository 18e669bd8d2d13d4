package targets

import (
	"context"
	"testing"

	"tailgate/generator"
	"tailgate/targets/balance"
)

func TestBalancedRemoveRestore(t *testing.T) {
	eps := []balance.Endpoint{{Addr: "a:1"}, {Addr: "b:1"}, {Addr: "c:1"}}
	hits := make([]int, 3)
	b, err := NewBalanced("ring-hash", eps, balance.Options{}, nil, func(addr string) (generator.Target, error) {
		i := int(addr[0] - 'a')
		return generator.TargetFunc(func(context.Context, uint64) generator.Outcome {
			hits[i]++
			return generator.Outcome{Status: 200}
		}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[uint64]int32{}
	for seq := uint64(0); seq < 3000; seq++ {
		out := b.Do(context.Background(), seq)
		if out.Endpoint < 1 || out.Endpoint > 3 || hits[out.Endpoint-1] == 0 {
			t.Fatalf("outcome %+v", out)
		}
		owner[seq] = out.Endpoint
	}
	if err := b.Remove(1); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for seq := uint64(0); seq < 3000; seq++ {
		out := b.Do(context.Background(), seq)
		if out.Endpoint == 2 {
			t.Fatal("removed endpoint picked")
		}
		if out.Endpoint != owner[seq] {
			moved++
			if owner[seq] != 2 {
				t.Fatalf("key %d moved from %d, which is still there", seq, owner[seq])
			}
		}
	}
	if moved < 600 || moved > 1400 {
		t.Errorf("%d of 3000 keys moved, want about a third", moved)
	}
	if err := b.Restore(1); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq < 3000; seq++ {
		if out := b.Do(context.Background(), seq); out.Endpoint != owner[seq] {
			t.Fatalf("after restore key %d on %d, was %d", seq, out.Endpoint, owner[seq])
		}
	}
	if b.Remove(7) == nil {
		t.Error("removing a missing endpoint succeeded")
	}
	if b.Remove(0) != nil || b.Remove(1) != nil {
		t.Fatal("remove failed")
	}
	if b.Remove(2) == nil {
		t.Error("removing the last endpoint succeeded")
	}
}

func TestABCoin(t *testing.T) {
	var n [2]int
	a := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { n[0]++; return generator.Outcome{Status: 200} })
	b := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { n[1]++; return generator.Outcome{Status: 200} })
	ab := &AB{A: a, B: b, Seed: 5}
	for seq := uint64(0); seq < 10000; seq++ {
		out := ab.Do(context.Background(), seq)
		if int(out.Endpoint) != ab.Side(seq)+1 || ab.Side(seq) != (&AB{Seed: 5}).Side(seq) {
			t.Fatalf("seq %d: endpoint %d side %d", seq, out.Endpoint, ab.Side(seq))
		}
	}
	if n[0] < 4800 || n[0] > 5200 {
		t.Fatalf("A got %d of 10000", n[0])
	}
}
