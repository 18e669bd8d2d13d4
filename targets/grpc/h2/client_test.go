package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"tailgate/internal/pkitest"
)

// echo is a gRPC service without generated code: test.Echo/Echo returns
// its request's bytes, after the handler's hook.
type echo struct {
	hook func(ctx context.Context, req []byte) ([]byte, error)
}

// rawServerCodec passes *[]byte messages through a grpc-go server.
type rawServerCodec struct{}

func (rawServerCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawServerCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawServerCodec) Name() string { return "proto" }

// serveEcho runs the echo service (with opts) on loopback until the test
// ends and returns its address and server.
func serveEcho(t testing.TB, e *echo, opts ...grpc.ServerOption) (string, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(append(opts, grpc.ForceServerCodecV2(rawServerCodec{}))...)
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			resp := req
			if e.hook != nil {
				var err error
				if resp, err = e.hook(ctx, req); err != nil {
					return nil, err
				}
			}
			return &resp, nil
		}}},
	}, struct{}{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(ln) })
	t.Cleanup(func() { s.Stop(); wg.Wait() })
	return ln.Addr().String(), s
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = "/test.Echo/Echo"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func call(c *Client, msg string, dyn ...string) Result {
	var d [][]byte
	for _, v := range dyn {
		d = append(d, []byte(v))
	}
	var r Result
	c.Call(context.Background(), []byte(msg), d, &r)
	return r
}

func codeOf(err error) codes.Code { return status.Code(err) }

// cannedServer is an HTTP/2 server that allocates nothing per request:
// it answers every request with the same response, a 3-byte message and
// status OK, for measuring the client's allocations.
func cannedServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { canned(nc) })
		}
	})
	return ln.Addr().String()
}

func canned(nc net.Conn) {
	defer nc.Close()
	fr := newFrameReader(nc, 1<<16)
	if err := fr.fill(len(clientPreface)); err != nil {
		return
	}
	fr.lo += len(clientPreface)
	out := appendSettings(nil)
	if _, err := nc.Write(out); err != nil {
		return
	}
	// The first response adds its fields to the table, as grpc-go's
	// encoder does; the next ones send their indexes.
	hdrs := append([]byte{0x88}, appendLiteral(nil, 0x40, 6, staticContentType, "", "application/grpc")...)
	trl := appendLiteral(nil, 0x40, 6, 0, "grpc-status", "0")
	first := true
	for {
		f, err := fr.next()
		if err != nil {
			return
		}
		switch {
		case f.typ == frameSettings && !f.has(flagAck):
			out = appendSettingsAck(out[:0])
		case f.typ == frameData && f.has(flagEndStream):
			out = appendWindowUpdate(out[:0], 0, uint32(len(f.payload)))
			out = appendHeaders(out, f.stream, hdrs, false, defaultMaxFrame)
			out = appendFrameHeader(out, 8, frameData, 0, f.stream)
			out = append(out, 0, 0, 0, 0, 3, 'a', 'b', 'c')
			out = appendHeaders(out, f.stream, trl, true, defaultMaxFrame)
			if first {
				hdrs, trl, first = []byte{0x88, 0x80 | 63}, []byte{0x80 | 62}, false
			}
		default:
			continue
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// A call returns the response, and once warm allocates nothing.
func TestCallAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not counted under the race detector")
	}
	addr := cannedServer(t)
	c := newClient(t, Config{Addr: addr})
	if r := call(c, "hello"); r.Err != nil || r.BytesIn != 3 {
		t.Fatalf("%+v", r)
	}
	msg := []byte("hello")
	var r Result
	allocs := testing.AllocsPerRun(200, func() {
		c.Call(context.Background(), msg, nil, &r)
	})
	if r.Err != nil || allocs > 0 {
		t.Errorf("%v allocations per call (%+v)", allocs, r)
	}
}

// The server sees the request's headers: the path, authority, user
// agent, a deadline, static and per-call metadata, -bin values decoded.
func TestHeaders(t *testing.T) {
	type seen struct {
		md       metadata.MD
		deadline time.Duration
	}
	got := make(chan seen, 10)
	addr, _ := serveEcho(t, &echo{hook: func(ctx context.Context, req []byte) ([]byte, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		dl, _ := ctx.Deadline()
		got <- seen{md, time.Until(dl)}
		return req, nil
	}})
	c := newClient(t, Config{Addr: addr, UserAgent: "tailgate", Timeout: 5 * time.Second,
		Metadata: [][2]string{{"x-static", "s"}, {"x-raw-bin", "\x00\x01"}}, DynamicKeys: []string{"x-seq", "x-id-bin"}})
	for i, seq := range []string{"1", "22", "333"} {
		if r := call(c, "", seq, "\xff"+seq); r.Err != nil {
			t.Fatal(r.Err)
		}
		s := <-got
		for k, want := range map[string]string{":authority": addr, "user-agent": "tailgate", "x-static": "s",
			"x-raw-bin": "\x00\x01", "x-seq": seq, "x-id-bin": "\xff" + seq, "content-type": "application/grpc"} {
			if v := s.md.Get(k); len(v) != 1 || !strings.HasPrefix(v[0], want) {
				t.Errorf("call %d: %s = %q, want %q", i, k, v, want)
			}
		}
		if s.deadline <= 4*time.Second || s.deadline > 5*time.Second {
			t.Errorf("call %d: deadline in %v at the server, want about 5s", i, s.deadline)
		}
	}
}

// The server's MAX_CONCURRENT_STREAMS, and StreamsPerConnection, cap the
// calls in flight; calls over the cap wait and succeed.
func TestStreamLimits(t *testing.T) {
	var cur, peak atomic.Int32
	slow := &echo{hook: func(_ context.Context, req []byte) ([]byte, error) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		return req, nil
	}}
	for _, c := range []struct {
		name string
		opts []grpc.ServerOption
		cfg  Config
		max  int32
	}{
		{"MAX_CONCURRENT_STREAMS 2", []grpc.ServerOption{grpc.MaxConcurrentStreams(2)}, Config{}, 2},
		{"2 connections × 1 stream", nil, Config{Connections: 2, StreamsPerConnection: 1}, 2},
	} {
		peak.Store(0)
		addr, _ := serveEcho(t, slow, c.opts...)
		c.cfg.Addr = addr
		cl := newClient(t, c.cfg)
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 12 {
			wg.Go(func() {
				if r := call(cl, "x"); r.Err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if failed.Load() != 0 || peak.Load() > c.max || peak.Load() == 0 {
			t.Errorf("%s: %d failed, %d at once at the server, want none and at most %d", c.name, failed.Load(), peak.Load(), c.max)
		}
	}
}

// A call past its deadline fails with DeadlineExceeded, and the server
// sees the stream cancelled.
func TestDeadline(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	addr, _ := serveEcho(t, &echo{hook: func(ctx context.Context, req []byte) ([]byte, error) {
		<-ctx.Done()
		cancelled <- struct{}{}
		return nil, ctx.Err()
	}})
	c := newClient(t, Config{Addr: addr, Timeout: 50 * time.Millisecond})
	start := time.Now()
	r := call(c, "x")
	if codeOf(r.Err) != codes.DeadlineExceeded || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("%+v after %v", r, time.Since(start))
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the server's handler was not cancelled")
	}
	// The connection still serves.
	c2 := newClient(t, Config{Addr: addr, Timeout: time.Second})
	_ = c2
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	var r2 Result
	c.Call(ctx, []byte("x"), nil, &r2)
	if codeOf(r2.Err) != codes.Canceled {
		t.Errorf("cancelled: %+v", r2)
	}
}

// A refused connection fails the call with Unavailable, in grpc-go's
// words; until the backoff has passed, calls fail at once without
// dialing again.
func TestRefusedBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var dials atomic.Int32
	d := &net.Dialer{}
	c := newClient(t, Config{Addr: addr, Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, a)
	}})
	r := call(c, "x")
	msg := status.Convert(r.Err).Message()
	if codeOf(r.Err) != codes.Unavailable || !strings.Contains(msg, "Error while dialing") || !strings.Contains(msg, "connection refused") {
		t.Fatalf("%+v", r)
	}
	for range 10 {
		if r := call(c, "x"); codeOf(r.Err) != codes.Unavailable {
			t.Fatalf("%+v", r)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1 (backoff)", n)
	}
	if b := backoff(1); b < 800*time.Millisecond || b > 1200*time.Millisecond {
		t.Errorf("backoff(1) = %v", b)
	}
	if b := backoff(100); b < 96*time.Second || b > 144*time.Second {
		t.Errorf("backoff(100) = %v", b)
	}
}

// When the server goes away, calls in flight fail with Unavailable and the
// next calls connect again.
func TestReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	started := make(chan struct{}, 1)
	e := &echo{hook: func(ctx context.Context, req []byte) ([]byte, error) {
		if string(req) == "hang" {
			started <- struct{}{}
			<-ctx.Done()
		}
		return req, nil
	}}
	start := func() *grpc.Server {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer(grpc.ForceServerCodecV2(rawServerCodec{}))
		s.RegisterService(&grpc.ServiceDesc{ServiceName: "test.Echo", HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req []byte
				if err := dec(&req); err != nil {
					return nil, err
				}
				resp, err := e.hook(ctx, req)
				return &resp, err
			}}}}, struct{}{})
		go s.Serve(ln)
		return s
	}
	s := start()
	c := newClient(t, Config{Addr: addr})
	if r := call(c, "x"); r.Err != nil {
		t.Fatal(r.Err)
	}
	res := make(chan Result)
	go func() { res <- call(c, "hang") }()
	<-started
	s.Stop()
	if r := <-res; codeOf(r.Err) != codes.Unavailable {
		t.Fatalf("in flight when the server stopped: %+v", r)
	}
	s = start()
	defer s.Stop()
	var r Result
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if r = call(c, "y"); r.Err == nil {
			return
		}
	}
	t.Fatalf("no call succeeded after the restart: %+v", r)
}

// Close ends the calls in flight with Canceled, as grpc-go's Close does.
func TestClose(t *testing.T) {
	started := make(chan struct{}, 1)
	addr, _ := serveEcho(t, &echo{hook: func(ctx context.Context, req []byte) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	c := newClient(t, Config{Addr: addr})
	res := make(chan Result)
	go func() { res <- call(c, "x") }()
	<-started
	c.Close()
	if r := <-res; codeOf(r.Err) != codes.Canceled || !strings.Contains(r.Err.Error(), "closing") {
		t.Fatalf("%+v", r)
	}
	if r := call(c, "x"); codeOf(r.Err) != codes.Canceled {
		t.Fatalf("after Close: %+v", r)
	}
}

// Over TLS, with grpc-go's credentials doing the handshake (ALPN h2).
func TestTLS(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	addr, _ := serveEcho(t, &echo{}, grpc.Creds(credentials.NewTLS(pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), nil))))
	creds := credentials.NewTLS(&tls.Config{RootCAs: ca.Pool})
	hs := func(ctx context.Context, authority string, raw net.Conn) (net.Conn, error) {
		c, _, err := creds.ClientHandshake(ctx, authority, raw)
		return c, err
	}
	c := newClient(t, Config{Addr: addr, Handshake: hs})
	if r := call(c, "secret"); r.Err != nil || r.BytesIn != 6 {
		t.Fatalf("%+v", r)
	}
	// Against the wrong CA: Unavailable, the handshake's reason.
	other := pkitest.NewCA(t, "other")
	bad := credentials.NewTLS(&tls.Config{RootCAs: other.Pool})
	c = newClient(t, Config{Addr: addr, Handshake: func(ctx context.Context, authority string, raw net.Conn) (net.Conn, error) {
		c, _, err := bad.ClientHandshake(ctx, authority, raw)
		return c, err
	}})
	r := call(c, "x")
	if msg := status.Convert(r.Err).Message(); codeOf(r.Err) != codes.Unavailable || !strings.Contains(msg, "authentication handshake failed") || !strings.Contains(msg, "x509") {
		t.Fatalf("%+v", r)
	}
}

// Large messages both ways cross the flow control windows.
func TestLargeMessages(t *testing.T) {
	addr, _ := serveEcho(t, &echo{})
	c := newClient(t, Config{Addr: addr})
	for _, n := range []int{0, 1, 16 << 10, 70 << 10, 3 << 20} {
		msg := strings.Repeat("z", n)
		if r := call(c, msg); r.Err != nil || r.BytesIn != n {
			t.Fatalf("%d bytes: %+v", n, r)
		}
	}
	// Over the receive limit.
	if r := call(c, strings.Repeat("z", 5<<20)); codeOf(r.Err) != codes.ResourceExhausted {
		t.Fatalf("5 MiB: %+v", r)
	}
}

// Check sees each response; an error fails the call with Internal.
func TestCheck(t *testing.T) {
	addr, _ := serveEcho(t, &echo{})
	errBad := errors.New("bad message")
	c := newClient(t, Config{Addr: addr, Check: func(msg []byte) (bool, error) {
		if string(msg) == "bad" {
			return false, errBad
		}
		return string(msg) == "hit", nil
	}})
	if r := call(c, "hit"); r.Err != nil || !r.CacheHit {
		t.Errorf("hit: %+v", r)
	}
	if r := call(c, "miss"); r.Err != nil || r.CacheHit {
		t.Errorf("miss: %+v", r)
	}
	if r := call(c, "bad"); codeOf(r.Err) != codes.Internal || !strings.Contains(r.Err.Error(), "failed to unmarshal") {
		t.Errorf("bad: %+v", r)
	}
}

// BenchmarkCall measures a call to the echo service on loopback, from
// 1 and 50 goroutines.
func BenchmarkCall(b *testing.B) {
	addr, _ := serveEcho(b, &echo{})
	for _, conc := range []int{1, 50} {
		c := newClient(b, Config{Addr: addr})
		b.Run(map[int]string{1: "conc1", 50: "conc50"}[conc], func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(conc)
			msg := []byte("hello")
			b.RunParallel(func(pb *testing.PB) {
				var r Result
				for pb.Next() {
					if c.Call(context.Background(), msg, nil, &r); r.Err != nil {
						b.Error(r.Err)
						return
					}
				}
			})
		})
	}
}

// countingConn counts its writes.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// On one CPU, calls on a busy connection share writes: 50 callers
// looping on one connection write far fewer times than they call.
func TestWriteBatching(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	addr := cannedServer(t)
	var writes atomic.Int64
	d := &net.Dialer{}
	c := newClient(t, Config{Addr: addr, Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, a)
		if err != nil {
			return nil, err
		}
		return countingConn{nc, &writes}, nil
	}})
	if r := call(c, "warm"); r.Err != nil {
		t.Fatal(r.Err)
	}
	const callers, each = 50, 100
	w0 := writes.Load()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range callers {
		wg.Go(func() {
			var r Result
			for range each {
				if c.Call(context.Background(), []byte("x"), nil, &r); r.Err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	n := writes.Load() - w0
	t.Logf("%d calls, %d writes", callers*each, n)
	if failed.Load() != 0 || n > callers*each*3/4 {
		t.Errorf("%d failed, %d writes for %d calls: want none failed and at most 3/4 as many writes", failed.Load(), n, callers*each)
	}
}
