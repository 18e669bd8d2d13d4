package h1

import (
	"context"
	"testing"
	"time"

	"tailgate/targets"
)

// A worker keeps its connection: four workers calling in turn dial four
// connections and never touch the shared idle stack, Do (no worker) uses
// the stack, and Close closes every one of them.
func TestWorkersOwnTheirConnections(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{ok200(2), false} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr + "/"})
	ctx := context.Background()
	for round := 0; round < 10; round++ {
		for w := 0; w < 4; w++ {
			if out := tg.DoWorker(ctx, w, uint64(round)); !out.OK() {
				t.Fatalf("worker %d: %+v", w, out)
			}
		}
		if n := len(tg.pool.idle); n != 0 {
			t.Fatalf("round %d: %d connections in the shared stack", round, n)
		}
	}
	if d := tg.dials.Load(); d != 4 {
		t.Fatalf("%d dials for 4 workers", d)
	}
	if out := tg.Do(ctx, 99); !out.OK() || tg.dials.Load() != 5 || len(tg.pool.idle) != 1 {
		t.Fatalf("Do: %+v, %d dials, %d idle in the stack", out, tg.dials.Load(), len(tg.pool.idle))
	}
	s.mu.Lock()
	open := len(s.conns)
	s.mu.Unlock()
	tg.Close()
	for w := 0; w < 4; w++ {
		if tg.owned[w].c.Load() != nil {
			t.Fatalf("worker %d's connection survived Close", w)
		}
	}
	// A connection given back after Close is closed, not kept.
	c, err := tg.dial(ctx, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tg.give(0, c)
	if tg.owned[0].c.Load() != nil {
		t.Fatal("a connection was kept after Close")
	}
	if open != 5 {
		t.Fatalf("server saw %d connections", open)
	}
}

// A worker's connection that the server closed while it sat idle is not
// used: the request goes on a new one.
func TestOwnedConnectionClosedByServer(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{ok200(1), true} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr + "/", Method: "POST"}) // not retried
	for i := 0; i < 4; i++ {
		time.Sleep(2 * aliveCheck)
		if out := tg.DoWorker(context.Background(), 3, 0); !out.OK() {
			t.Fatalf("request %d: %+v", i, out)
		}
	}
	if d := tg.dials.Load(); d != 4 {
		t.Fatalf("%d dials, want one per request", d)
	}
}

// With connections capped, workers share the stack: an idle connection
// kept by one worker would count against the cap and could leave another
// unable to open one.
func TestCappedConnectionsAreNotOwned(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{ok200(1), false} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr + "/", Connections: 1})
	for w := 0; w < 3; w++ {
		if out := tg.DoWorker(context.Background(), w, 0); !out.OK() {
			t.Fatalf("worker %d: %+v", w, out)
		}
	}
	if tg.owned != nil || tg.dials.Load() != 1 {
		t.Fatalf("owned slots %d, %d dials under a cap of 1", len(tg.owned), tg.dials.Load())
	}
}

// A retired worker's connection is closed, and its number, given to a new
// worker, dials a new one; other workers keep theirs.
func TestRetireWorkerClosesItsConnection(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{ok200(2), false} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr + "/"})
	defer tg.Close()
	ctx := context.Background()
	for w := 0; w < 2; w++ {
		if out := tg.DoWorker(ctx, w, 0); !out.OK() {
			t.Fatalf("worker %d: %+v", w, out)
		}
	}
	tg.RetireWorker(1)
	tg.RetireWorker(99) // beyond the owned slots: nothing to do
	if tg.owned[1].c.Load() != nil || tg.owned[0].c.Load() == nil {
		t.Fatal("retiring worker 1 left its connection, or took worker 0's")
	}
	for w := 0; w < 2; w++ {
		if out := tg.DoWorker(ctx, w, 1); !out.OK() {
			t.Fatalf("worker %d again: %+v", w, out)
		}
	}
	if d := tg.dials.Load(); d != 3 {
		t.Fatalf("%d dials, want 3 (worker 1 twice)", d)
	}
}
