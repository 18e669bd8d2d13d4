package grpc

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"tailgate/generator"
	"tailgate/targets/servers/demo"
	"tailgate/targets/servers/grpcdemo"
)

// Paths of the demo service's descriptions, in the servers/grpcdemo package.
var (
	demoProtoset = filepath.Join("..", "servers", "grpcdemo", "testdata", "demo.protoset")
	demoProto    = filepath.Join("..", "servers", "grpcdemo", "demo.proto")
)

// noDelay is a demo config whose requests cost no simulated time.
func noDelay() demo.Config {
	c := demo.DefaultConfig()
	c.DepMedian, c.DepSigma, c.TailProb, c.TailLatency = 0, 0, 0, 0
	return c
}

// reflectionMode says what a test server offers besides demo.Store.
type reflectionMode int

const (
	fullDemo     reflectionMode = iota // health and reflection v1 + v1alpha
	v1alphaOnly                        // reflection v1alpha only
	noReflection                       // demo.Store only
)

// serve runs a gRPC demo on 127.0.0.1:0 until the test ends and returns
// its address and the demo.Server behind it.
func serve(t testing.TB, cfg demo.Config, mode reflectionMode, opts ...grpc.ServerOption) (string, *demo.Server) {
	t.Helper()
	d, err := demo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var gs *grpc.Server
	switch mode {
	case fullDemo:
		gs = grpcdemo.NewServer(d, opts...).GRPC
	case v1alphaOnly:
		gs = grpc.NewServer(opts...)
		grpcdemo.Register(gs, d)
		reflectionv1alpha.RegisterServerReflectionServer(gs, reflection.NewServer(reflection.ServerOptions{
			Services: gs, DescriptorResolver: grpcdemo.Resolver(),
		}))
	case noReflection:
		gs = grpc.NewServer(opts...)
		grpcdemo.Register(gs, d)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = gs.Serve(ln) })
	t.Cleanup(func() { gs.Stop(); wg.Wait() })
	return ln.Addr().String(), d
}

// newTarget builds a target or fails the test, closing it at the end.
func newTarget(t testing.TB, o Options) *Target {
	t.Helper()
	tg, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

// keyRecorder is a server interceptor remembering the key of every Get
// and some metadata.
type keyRecorder struct {
	mu    sync.Mutex
	keys  map[string]int
	meta  map[string]int
	peers map[string]int
}

func newKeyRecorder() *keyRecorder {
	return &keyRecorder{keys: map[string]int{}, meta: map[string]int{}, peers: map[string]int{}}
}

func (k *keyRecorder) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	m := req.(proto.Message).ProtoReflect()
	key := m.Get(m.Descriptor().Fields().ByName("key")).String()
	var seq, addr string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-seq"); len(v) > 0 {
			seq = v[0]
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr.String()
	}
	k.mu.Lock()
	k.keys[key]++
	k.meta[seq]++
	k.peers[addr]++
	k.mu.Unlock()
	return handler(ctx, req)
}

// tally counts outcomes by Status and by Err.
type tally struct {
	status map[int]int
	errs   map[generator.ErrKind]int
}

func count(outs []generator.Outcome) tally {
	t := tally{status: map[int]int{}, errs: map[generator.ErrKind]int{}}
	for _, o := range outs {
		t.status[o.Status]++
		t.errs[o.Err]++
	}
	return t
}

// doN runs n requests (seq 0..n-1) from conc goroutines.
func doN(tg generator.Target, n, conc int) []generator.Outcome {
	outs := make([]generator.Outcome, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				outs[i] = tg.Do(context.Background(), uint64(i))
			}
		})
	}
	wg.Wait()
	return outs
}

func statusErr(code int, msg string) error { return status.Error(codes.Code(code), msg) }
