package grpcdemo

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"tailgate/targets/servers/demo"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.protoset")

// protosetPath is the protoset the gRPC target's tests read.
var protosetPath = filepath.Join("testdata", "demo.protoset")

// TestProtoset checks testdata/demo.protoset is Protoset()'s output; run
// with -update to regenerate it after editing demo.proto.
func TestProtoset(t *testing.T) {
	want, err := Protoset()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(protosetPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(protosetPath)
	if err != nil {
		t.Fatalf("%v (run go test ./targets/servers/grpcdemo -run TestProtoset -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./targets/servers/grpcdemo -run TestProtoset -update", protosetPath)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(got, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.File) != 1 || set.File[0].GetName() != ProtoFile || set.File[0].GetService()[0].GetName() != "Store" {
		t.Fatalf("protoset holds %v", set.File)
	}
}

func TestDescriptor(t *testing.T) {
	sd := File().Services().ByName("Store")
	if sd == nil || sd.FullName() != ServiceName {
		t.Fatalf("no %s in %s", ServiceName, File().Path())
	}
	get, scan := sd.Methods().ByName("Get"), sd.Methods().ByName("Scan")
	if get == nil || get.IsStreamingServer() || get.IsStreamingClient() {
		t.Fatalf("Get: %v", get)
	}
	if scan == nil || !scan.IsStreamingServer() || scan.IsStreamingClient() {
		t.Fatalf("Scan: %v", scan)
	}
	// The resolver finds demo.proto and the global files behind it.
	r := Resolver()
	if _, err := r.FindDescriptorByName(ServiceName); err != nil {
		t.Fatal(err)
	}
	if _, err := r.FindFileByPath("grpc/health/v1/health.proto"); err != nil {
		t.Fatal(err)
	}
}

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		http int
		want codes.Code
	}{
		{200, codes.OK},
		{304, codes.OK},
		{400, codes.InvalidArgument},
		{401, codes.Unauthenticated},
		{403, codes.PermissionDenied},
		{404, codes.NotFound},
		{409, codes.Aborted},
		{418, codes.FailedPrecondition}, // other 4xx
		{429, codes.ResourceExhausted},
		{499, codes.Canceled},
		{500, codes.Internal},
		{501, codes.Unimplemented},
		{502, codes.Unavailable},
		{503, codes.Unavailable}, // the default error fault
		{504, codes.DeadlineExceeded},
		{599, codes.Internal}, // other 5xx
		{0, codes.Unknown},
	} {
		if got := Code(tc.http); got != tc.want {
			t.Errorf("Code(%d) = %v, want %v", tc.http, got, tc.want)
		}
	}
}

// noDelay is a demo config whose requests cost no simulated time.
func noDelay() demo.Config {
	c := demo.DefaultConfig()
	c.DepMedian, c.DepSigma, c.TailProb, c.TailLatency = 0, 0, 0, 0
	return c
}

// start serves a demo on 127.0.0.1:0 until the test ends and returns a
// client connection to it.
func start(t *testing.T, cfg demo.Config) (*grpc.ClientConn, *demo.Server) {
	t.Helper()
	d, err := demo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(d).Serve(ctx, ln) }()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cc, d
}

func get(ctx context.Context, cc *grpc.ClientConn, key string) (protoreflect.Message, error) {
	req := dynamicpb.NewMessage(desc.getReq)
	req.Set(desc.reqKey, protoreflect.ValueOfString(key))
	resp := dynamicpb.NewMessage(desc.getReply)
	err := cc.Invoke(ctx, MethodGet, req, resp)
	return resp, err
}

func field(m protoreflect.Message, name string) string {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
}

func TestGet(t *testing.T) {
	cc, d := start(t, noDelay())
	ctx := context.Background()
	r, err := get(ctx, cc, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if field(r, "key") != "k1" || field(r, "cache") != "MISS" || field(r, "value") == "" {
		t.Fatalf("first Get: %v", r)
	}
	r2, err := get(ctx, cc, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if field(r2, "cache") != "HIT" || field(r2, "value") != field(r, "value") {
		t.Fatalf("second Get: %v", r2)
	}
	r3, err := get(ctx, cc, "")
	if err != nil || field(r3, "key") != demo.DefaultKey {
		t.Fatalf("empty key: %v, %v", r3, err)
	}
	if _, err := get(ctx, cc, string(make([]byte, demo.MaxKeyLen+1))); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("long key: %v, want InvalidArgument", err)
	}
	if st := d.Stats(); st.Requests != 4 || st.Hits != 1 || st.Misses != 2 {
		t.Fatalf("demo stats %+v, want 4 requests, 1 hit, 2 misses", st)
	}
}

func TestScan(t *testing.T) {
	cc, _ := start(t, noDelay())
	scan := func(prefix string, count int32) ([]protoreflect.Message, error) {
		req := dynamicpb.NewMessage(desc.scanReq)
		req.Set(desc.scanPrefix, protoreflect.ValueOfString(prefix))
		req.Set(desc.scanCount, protoreflect.ValueOfInt32(count))
		st, err := cc.NewStream(context.Background(), &serviceDesc.Streams[0], MethodScan)
		if err != nil {
			return nil, err
		}
		if err := st.SendMsg(req); err != nil {
			return nil, err
		}
		if err := st.CloseSend(); err != nil {
			return nil, err
		}
		var out []protoreflect.Message
		for {
			m := dynamicpb.NewMessage(desc.getReply)
			if err := st.RecvMsg(m); err == io.EOF {
				return out, nil
			} else if err != nil {
				return out, err
			}
			out = append(out, m)
		}
	}
	ms, err := scan("p-", 5)
	if err != nil || len(ms) != 5 {
		t.Fatalf("Scan(p-, 5): %d replies, %v", len(ms), err)
	}
	for i, m := range ms {
		if field(m, "key") != "p-"+strconv.Itoa(i) {
			t.Errorf("reply %d: %v", i, m)
		}
	}
	if ms, err := scan("q-", 0); err != nil || len(ms) != DefaultScanCount {
		t.Fatalf("Scan(q-, 0): %d replies, %v", len(ms), err)
	}
	if _, err := scan("r-", MaxScanCount+1); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Scan count too large: %v", err)
	}
}

// TestFaults checks the HTTP demo's faults reach gRPC callers, with the
// documented codes.
func TestFaults(t *testing.T) {
	cfg := noDelay()
	cfg.CacheTTL = 0 // every request calls the dependency
	cc, d := start(t, cfg)
	ctx := context.Background()
	for _, tc := range []struct {
		fault demo.Fault
		want  codes.Code
	}{
		{demo.Fault{Type: demo.FaultError, Toxicity: 1}, codes.Unavailable},
		{demo.Fault{Type: demo.FaultError, Toxicity: 1, Attributes: demo.FaultAttributes{Status: http.StatusTooManyRequests}}, codes.ResourceExhausted},
		{demo.Fault{Type: demo.FaultTimeout, Toxicity: 1, Attributes: demo.FaultAttributes{Timeout: 1}}, codes.DeadlineExceeded},
	} {
		if err := d.Faults().Add(tc.fault); err != nil {
			t.Fatal(err)
		}
		_, err := get(ctx, cc, "k")
		if status.Code(err) != tc.want {
			t.Errorf("fault %+v: %v, want %v", tc.fault, err, tc.want)
		}
		d.Faults().Reset()
	}
	// A hanging fault ends with the caller's deadline.
	if err := d.Faults().Add(demo.Fault{Type: demo.FaultTimeout, Toxicity: 1}); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := get(tctx, cc, "k"); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("hanging fault: %v, want DeadlineExceeded", err)
	}
}

func TestHealthAndShutdown(t *testing.T) {
	d, err := demo.New(noDelay())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := NewServer(d)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	for _, svc := range []string{"", ServiceName} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v, %v", svc, resp, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := get(context.Background(), cc, "k"); status.Code(err) != codes.Unavailable {
		t.Fatalf("after shutdown: %v, want Unavailable", err)
	}
}

// TestServeError checks Serve reports a listener failure.
func TestServeError(t *testing.T) {
	d, err := demo.New(noDelay())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = NewServer(d).Serve(context.Background(), ln)
	if err == nil || errors.Is(err, grpc.ErrServerStopped) {
		t.Fatalf("Serve on a closed listener: %v", err)
	}
}

// TestConcurrent runs Gets from many goroutines (for -race).
func TestConcurrent(t *testing.T) {
	cc, d := start(t, noDelay())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := get(context.Background(), cc, strconv.Itoa(g*100+i%5)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := d.Stats(); st.Requests != 200 || st.Hits+st.Misses != 200 {
		t.Fatalf("stats %+v", st)
	}
}
