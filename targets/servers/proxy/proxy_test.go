package proxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bytes pass through unchanged both ways, with half-close, under concurrent
// load: 20 connections each echo a random 1 MiB payload.
func TestPassthroughConcurrent(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "echo", startEcho(t))

	const conns, size = 20, 1 << 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoPayload(addr, size)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// echoPayload sends size random bytes through addr, half-closes, and checks
// that exactly the same bytes come back followed by EOF.
func echoPayload(addr string, size int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return err
	}
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c) // until EOF: the FIN must be forwarded
	if err != nil {
		return err
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, payload) {
		return errors.New("payload corrupted in transit")
	}
	return nil
}

// A latency toxic delays a round trip by at least its latency, on a
// connection that was already open; removing it restores speed.
func TestLatencyToxic(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "lat", startEcho(t))
	c := dial(t, addr)

	base := minRoundTrip(t, c, 3)
	if base >= 100*time.Millisecond {
		t.Fatalf("plain round trip took %v", base)
	}
	const latency = 200 * time.Millisecond
	err := ts.client.AddToxic(testCtx(t), "lat", Toxic{Type: ToxicLatency, Attributes: Attributes{"latency": 200}})
	if err != nil {
		t.Fatal(err)
	}
	if rt := roundTrip(t, c, []byte("slow")); rt < latency {
		t.Fatalf("round trip with %v latency took only %v", latency, rt)
	}
	// A new connection is delayed too, upstream as well as downstream.
	err = ts.client.AddToxic(testCtx(t), "lat", Toxic{Name: "up", Type: ToxicLatency, Stream: StreamUpstream, Attributes: Attributes{"latency": 100}})
	if err != nil {
		t.Fatal(err)
	}
	if rt := roundTrip(t, dial(t, addr), []byte("slower")); rt < latency+100*time.Millisecond {
		t.Fatalf("round trip with 300ms total latency took only %v", rt)
	}
	if err := ts.client.Reset(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if rt := minRoundTrip(t, c, 3); rt >= latency/2 {
		t.Fatalf("round trip after removing latency took %v", rt)
	}
}

// Latency delays each chunk from when it was read, so a stream of chunks is
// delayed once, not once per chunk.
func TestLatencyPipelines(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "lat", startEcho(t))
	err := ts.client.AddToxic(testCtx(t), "lat", Toxic{Type: ToxicLatency, Attributes: Attributes{"latency": 100}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	start := time.Now()
	for range 10 {
		if _, err := c.Write(bytes.Repeat([]byte("x"), 100)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // separate chunks
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	if el < 100*time.Millisecond || el > 900*time.Millisecond {
		t.Fatalf("10 chunks with 100ms latency took %v; want about 150ms, well under 10×100ms", el)
	}
}

// A bandwidth toxic limits throughput: 60 KB at 100 KB/s takes at least
// ~0.6 s, several times longer than without it.
func TestBandwidthToxic(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "bw", startEcho(t))
	c := dial(t, addr)
	payload := make([]byte, 60_000)
	_, _ = rand.Read(payload)

	base := roundTrip(t, c, payload)
	err := ts.client.AddToxic(testCtx(t), "bw", Toxic{Type: ToxicBandwidth, Attributes: Attributes{"rate": 100}})
	if err != nil {
		t.Fatal(err)
	}
	limited := roundTrip(t, c, payload)
	if limited < 480*time.Millisecond { // 80% of 0.6 s
		t.Fatalf("60 KB at 100 KB/s took %v", limited)
	}
	if base*3 > limited {
		t.Fatalf("limited transfer (%v) not clearly slower than unlimited (%v)", limited, base)
	}
}

// A timeout toxic with timeout 0 black-holes data without closing the
// connection; removing it closes the connections it swallowed data from.
func TestTimeoutBlackHole(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "bh", startEcho(t))
	c := dial(t, addr)
	roundTrip(t, c, []byte("before"))

	err := ts.client.AddToxic(testCtx(t), "bh", Toxic{Name: "hole", Type: ToxicTimeout, Attributes: Attributes{"timeout": 0}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, addr)
	for _, conn := range []net.Conn{c, fresh} {
		if _, err := conn.Write([]byte("into the void")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := conn.Read(make([]byte, 64))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read through black hole: n=%d err=%v, want deadline exceeded", n, err)
		}
	}
	if err := ts.client.RemoveToxic(testCtx(t), "bh", "hole"); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []net.Conn{c, fresh} {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 64)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("after removing the timeout toxic: err=%v, want the connection closed", err)
		}
	}
	roundTrip(t, dial(t, addr), []byte("after"))
}

// A timeout toxic with a timeout closes the connection after that long
// without data.
func TestTimeoutCloses(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "to", startEcho(t))
	err := ts.client.AddToxic(testCtx(t), "to", Toxic{Type: ToxicTimeout, Stream: StreamUpstream, Attributes: Attributes{"timeout": 150}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	el := time.Since(start)
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want connection closed", err)
	}
	if el < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the 150ms timeout", el)
	}
}

// reset_peer makes the client see ECONNRESET.
func TestResetPeer(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "rst", startEcho(t))
	err := ts.client.AddToxic(testCtx(t), "rst", Toxic{Type: ToxicResetPeer, Attributes: Attributes{"timeout": 50}})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	start := time.Now()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v, want ECONNRESET", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("reset after %v, before the 50ms timeout", el)
	}
}

// Disabling a proxy refuses new connections and closes open ones;
// re-enabling serves the same address again.
func TestDisable(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "d", startEcho(t))
	c := dial(t, addr)
	roundTrip(t, c, []byte("hi"))

	if err := ts.client.SetEnabled(testCtx(t), "d", false); err != nil {
		t.Fatal(err)
	}
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("dial succeeded on a disabled proxy")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("open connection after disable: %v, want closed", err)
	}
	if err := ts.client.SetEnabled(testCtx(t), "d", true); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, dial(t, addr), []byte("back"))
}

// Toxicity 0 never applies; a toxic on one proxy does not touch another.
func TestToxicityAndIsolation(t *testing.T) {
	ts := newTestServer(t)
	echo := startEcho(t)
	a := createProxy(t, ts.api.URL, "a", echo)
	b := createProxy(t, ts.api.URL, "b", echo)
	// Toxicity has to be sent explicitly as a tiny value: zero in Toxic
	// means "server default" (1).
	err := ts.client.AddToxic(testCtx(t), "a", Toxic{Type: ToxicTimeout, Toxicity: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	err = ts.client.AddToxic(testCtx(t), "b", Toxic{Type: ToxicLatency, Attributes: Attributes{"latency": 300}})
	if err != nil {
		t.Fatal(err)
	}
	if rt := minRoundTrip(t, dial(t, a), 3); rt >= 150*time.Millisecond {
		t.Fatalf("proxy a affected: %v", rt)
	}
	if rt := roundTrip(t, dial(t, b), []byte("x")); rt < 300*time.Millisecond {
		t.Fatalf("proxy b latency missing: %v", rt)
	}
}

// Close stops listeners and links and leaves no goroutines behind, even with
// connections stuck in toxics.
func TestCloseNoLeaks(t *testing.T) {
	s := NewServer(Options{})
	h := s.Handler()
	api := newHandlerServer(t, h)
	echo := startEcho(t)
	addr := createProxy(t, api, "p", echo)
	var conns []net.Conn
	for range 3 {
		c := dial(t, addr)
		roundTrip(t, c, []byte("x"))
		conns = append(conns, c)
	}
	c := NewClient(api)
	if err := c.AddToxic(testCtx(t), "p", Toxic{Type: ToxicTimeout}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddToxic(testCtx(t), "p", Toxic{Type: ToxicLatency, Stream: StreamUpstream, Attributes: Attributes{"latency": 10000}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		_, _ = c.Write([]byte("stuck"))
	}
	if serverGoroutines() == "" {
		t.Fatal("expected running proxy goroutines")
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if g := waitNoServerGoroutines(5 * time.Second); g != "" {
		t.Fatalf("goroutines left after Close:\n%s", g)
	}
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("proxy still listening after Close")
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection open after Close: %v", err)
		}
	}
	// Creating a proxy on a closed server fails cleanly.
	status, _ := apiCall(t, api, "POST", "/proxies", `{"name":"late","upstream":"127.0.0.1:1"}`)
	if status != 500 {
		t.Fatalf("create after Close: status %d, want 500", status)
	}
	s.Close() // idempotent
}

// The plain path does not allocate per chunk: 16 MiB through one link, in
// at least 1024 chunks, costs far fewer than 1024 allocations.
func TestPlainPathAllocations(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "alloc", startEcho(t))
	c := dial(t, addr)
	roundTrip(t, c, []byte("warm up")) // link buffers allocated
	const total = 16 << 20
	out := make([]byte, 64<<10)
	in := make([]byte, 64<<10)
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	werr := make(chan error, 1)
	go func() {
		for sent := 0; sent < total; sent += len(out) {
			if _, err := c.Write(out); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for got := 0; got < total; {
		n, err := c.Read(in)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	allocs := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for 16 MiB", allocs)
	if allocs > 300 {
		t.Fatalf("%d allocations for 16 MiB through the proxy", allocs)
	}
}
