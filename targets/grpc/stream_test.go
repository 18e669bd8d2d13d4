package grpc

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const counterProto = `syntax = "proto3";
package test;
import "google/protobuf/wrappers.proto";
service Counter {
  // Sum adds the values it is sent.
  rpc Sum(stream google.protobuf.Int64Value) returns (google.protobuf.Int64Value);
}
`

// serveCounter serves test.Counter (client streaming) without reflection
// and returns its address and the sums it computed, in order.
func serveCounter(t *testing.T) (string, func() []int64) {
	var mu sync.Mutex
	var sums []int64
	desc := grpc.ServiceDesc{
		ServiceName: "test.Counter",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    "Sum",
			ClientStreams: true,
			Handler: func(_ any, st grpc.ServerStream) error {
				var sum int64
				for {
					v := new(wrapperspb.Int64Value)
					err := st.RecvMsg(v)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						return err
					}
					sum += v.GetValue()
				}
				mu.Lock()
				sums = append(sums, sum)
				mu.Unlock()
				return st.SendMsg(wrapperspb.Int64(sum))
			},
		}},
	}
	gs := grpc.NewServer()
	gs.RegisterService(&desc, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = gs.Serve(ln) })
	t.Cleanup(func() { gs.Stop(); wg.Wait() })
	return ln.Addr().String(), func() []int64 { mu.Lock(); defer mu.Unlock(); return slices.Clone(sums) }
}

// TestClientStreaming sends a JSON array as a stream of messages, to a
// method described by a .proto file importing a well-known type.
func TestClientStreaming(t *testing.T) {
	addr, sums := serveCounter(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "counter.proto")
	if err := os.WriteFile(path, []byte(counterProto), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, Options{Target: addr, Method: "test.Counter/Sum", ProtoFiles: []string{path}, Data: `[1, 2, "{{seq}}"]`})
	for seq := range uint64(3) {
		out, tm := tg.DoTimed(context.Background(), seq)
		if !out.OK() || tm.Messages != 1 || out.BytesIn == 0 || out.BytesOut == 0 {
			t.Fatalf("seq %d: outcome %+v, timing %+v", seq, out, tm)
		}
	}
	if got, want := sums(), []int64{3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("server sums %v, want %v", got, want)
	}
	// A bad element is located.
	_, err := New(context.Background(), Options{Target: addr, Method: "test.Counter/Sum", ProtoFiles: []string{path}, Data: `[1, "x"]`})
	if !errors.Is(err, ErrInvalidData) {
		t.Fatalf("bad element: %v", err)
	}
	t.Log(err)
}

// TestStaticShared runs static data and metadata, decoded once and shared,
// from many goroutines (for -race).
func TestStaticShared(t *testing.T) {
	rec := newKeyRecorder()
	addr, _ := serve(t, noDelay(), noReflection, grpc.UnaryInterceptor(rec.unary))
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset,
		Data: `{"key":"same"}`, Metadata: map[string]string{"x-seq": "static"}, Connections: 2})
	if c := count(doN(tg, 200, 8)); c.status[1000] != 200 {
		t.Fatalf("statuses %v", c.status)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.keys["same"] != 200 || rec.meta["static"] != 200 {
		t.Fatalf("keys %v, metadata %v", rec.keys, rec.meta)
	}
}
