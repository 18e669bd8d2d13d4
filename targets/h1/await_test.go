package h1

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWaitingRequestTakesFreedConn: a request that finds no idle
// connection takes the one another request is done with, instead of
// waiting for (and paying for) a dial of its own, when that comes sooner
// than a dial would take.
func TestWaitingRequestTakesFreedConn(t *testing.T) {
	answers := []chan struct{}{make(chan struct{}), make(chan struct{})}
	got := make(chan int, 2)
	s := newRawServer(t, func(n int, _ *rawRequest) rawReply {
		got <- n
		if n < len(answers) {
			<-answers[n]
		}
		return rawReply{resp: ok200(2)}
	})
	var once [2]sync.Once
	answer := func(n int) { once[n].Do(func() { close(answers[n]) }) }
	t.Cleanup(func() { answer(0); answer(1) }) // before the server's cleanup waits for its handlers
	const timeout = 10 * time.Second
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: timeout})
	if n := tg.Warm(context.Background(), 1); n != 1 {
		t.Fatalf("Warm opened %d connections, want 1", n)
	}
	const dialTime = 4 * time.Second // a slow dial, as across a network with TLS
	tg.dialTime.Store(int64(dialTime))

	a, b := make(chan generator.Outcome, 1), make(chan generator.Outcome, 1)
	go func() { a <- tg.Do(context.Background(), 0) }() // takes the idle connection
	if n := recv(t, got, "the first request"); n != 0 {
		t.Fatalf("server got request %d first", n)
	}
	start := time.Now()
	go func() { b <- tg.Do(context.Background(), 1) }() // finds none
	waitFor(t, "the second request to wait for a connection", func() bool { return tg.pool.nwait.Load() == 1 })
	answer(0) // the first answer frees its connection
	answer(1)
	if o := recv(t, a, "the first answer"); !o.OK() {
		t.Fatalf("first request: %+v", o)
	}
	o := recv(t, b, "the second answer")
	if !o.OK() {
		t.Fatalf("second request: %+v", o)
	}
	if el := time.Since(start); el >= dialTime/2 {
		t.Errorf("the second request took %v: it waited for a dial (%v) instead of the freed connection", el, dialTime)
	}
	if o.NewConn {
		t.Errorf("the second request reports a new connection, want the reused one: %+v", o)
	}
	if n := tg.dials.Load(); n != 1 {
		t.Errorf("%d dials, want only Warm's: the freed connection came before a dial was due", n)
	}
}

// recv receives from ch, failing the test after 15 s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestDialsBounded: requests that all find no connection at once are
// served by at most maxDials dials at a time, and every one of them is
// answered once the dials go through.
func TestDialsBounded(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{resp: ok200(2)} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: 10 * time.Second})
	release := make(chan struct{})
	var in, most atomic.Int32
	tg.dialed = func() {
		n := in.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		in.Add(-1)
	}
	const n = 3 * maxDials
	wait := doConcurrently(tg, n)
	waitFor(t, "the dials to start", func() bool { return in.Load() == maxDials })
	waitFor(t, "every request to wait", func() bool { return tg.pool.nwait.Load() == n })
	time.Sleep(20 * time.Millisecond) // time for more dials to start, if they could
	if m := most.Load(); m != maxDials {
		t.Errorf("%d dials at once for %d waiting requests, want %d", m, n, maxDials)
	}
	close(release)
	outs, _ := wait()
	for i, o := range outs {
		if !o.OK() {
			t.Errorf("request %d: %+v", i, o)
		}
	}
	if d := tg.dials.Load(); d > n {
		t.Errorf("%d dials for %d requests", d, n)
	}
}

// TestDialErrorsReachEachRequest: with nothing listening, every one of
// many requests waiting at once fails with its own dial's error, refused,
// not at its timeout.
func TestDialErrorsReachEachRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const timeout = 10 * time.Second
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + addr, Timeout: timeout})
	const n = 3 * maxDials
	start := time.Now()
	outs, _ := doConcurrently(tg, n)()
	for i, o := range outs {
		if o.Err != generator.ErrRefused {
			t.Errorf("request %d: %v (%s), want refused", i, o.Err, o.Msg)
		}
	}
	if el := time.Since(start); el >= timeout/2 {
		t.Errorf("the requests took %v of their %v timeout", el, timeout)
	}
}

// TestWaitCancelled: a request cancelled while its dial is under way
// returns at once; the connection dialed for it is kept for the next.
func TestWaitCancelled(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{resp: ok200(2)} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: 10 * time.Second})
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	tg.dialed = func() {
		entered <- struct{}{}
		<-release
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan generator.Outcome)
	go func() { done <- tg.Do(ctx, 0) }()
	<-entered
	cancel()
	select {
	case o := <-done:
		if o.OK() {
			t.Fatalf("cancelled request: %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled request still waits for its dial")
	}
	close(release)
	waitFor(t, "the dialed connection to go idle", func() bool {
		tg.pool.mu.Lock()
		defer tg.pool.mu.Unlock()
		return len(tg.pool.idle) == 1
	})
	if o := tg.Do(context.Background(), 1); !o.OK() || o.NewConn {
		t.Errorf("next request: %+v, want OK on the idle connection", o)
	}
}

// TestWaitersOnFrozenTarget: a server that accepts connections and then
// says nothing, so that every TLS handshake hangs. More requests wait at
// once than may dial; each of them, dialing or not, ends as a timeout at
// about its own deadline, none later.
func TestWaitersOnFrozenTarget(t *testing.T) {
	s := newConnServer(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, c) // reads the ClientHello, answers nothing
	})
	const timeout = time.Second
	tg := mustNew(t, targets.HTTPOptions{URL: "https://" + s.addr + "/", Timeout: timeout, Insecure: true})
	const n = 3 * maxDials
	outs, took := doConcurrently(tg, n)()
	for i, o := range outs {
		if o.Err != generator.ErrTimeout {
			t.Errorf("request %d: %v (%s), want timeout", i, o.Err, o.Msg)
		}
		if took[i] > 3*timeout {
			t.Errorf("request %d took %v with a %v timeout", i, took[i], timeout)
		}
	}
}

// TestEveryWaiterIsDialed: when no connection frees up (the server answers
// only once every request has reached it), each of more waiting requests
// than may dial at once is dialed for in turn.
func TestEveryWaiterIsDialed(t *testing.T) {
	const n = 3 * maxDials
	var arrived atomic.Int32
	all := make(chan struct{})
	s := newRawServer(t, func(int, *rawRequest) rawReply {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(15 * time.Second): // the test has failed: let the cleanup end
		}
		return rawReply{resp: ok200(2)}
	})
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: 10 * time.Second})
	outs, _ := doConcurrently(tg, n)()
	for i, o := range outs {
		if !o.OK() {
			t.Errorf("request %d: %v (%s), want OK: %d of %d requests reached the server", i, o.Err, o.Msg, arrived.Load(), n)
		}
	}
	if d := tg.dials.Load(); d != n {
		t.Errorf("%d dials for %d requests that each needed one", d, n)
	}
}

// doConcurrently starts requests 0 to n-1 at once, each on a goroutine of
// its own; wait waits for them and returns their outcomes and how long
// each took.
func doConcurrently(tg *Target, n int) (wait func() ([]generator.Outcome, []time.Duration)) {
	var wg sync.WaitGroup
	outs := make([]generator.Outcome, n)
	took := make([]time.Duration, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			outs[i] = tg.Do(context.Background(), uint64(i))
			took[i] = time.Since(start)
		}()
	}
	return func() ([]generator.Outcome, []time.Duration) {
		wg.Wait()
		return outs, took
	}
}
