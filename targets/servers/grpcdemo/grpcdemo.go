// Package grpcdemo is the gRPC face of tailgate's demo target: the service
// demo.Store (see demo.proto in this directory) backed by a [demo.Server],
// so it has the same dependency latency model, TTL cache, worker pool and
// per-request faults as the HTTP demo, and faults added with
// demo.Server.Faults (or over the HTTP demo's /faults API, when both front
// ends share one demo.Server) apply to gRPC calls too.
//
// The package uses no generated code and needs no protoc: demo.proto is
// embedded, compiled at init with protocompile, and the service is a
// hand-written grpc.ServiceDesc whose handlers read and write dynamicpb
// messages (the default proto codec handles them).
//
// # Service
//
//	service Store {
//	  rpc Get(GetRequest{key}) returns (GetReply{key, value, cache});
//	  rpc Scan(ScanRequest{prefix, count}) returns (stream GetReply);
//	}
//
// Get looks a key up like GET /item?key=K: cache is "HIT" or "MISS". Scan
// streams count replies (1–1000, 0 means 10) for the keys prefix+"0",
// prefix+"1", …, each looked up like Get, one after another, so the time to
// the first reply and to the last differ. [NewServer] also registers the
// standard health service (grpc.health.v1.Health; "demo.Store" and ""
// report SERVING until shutdown) and server reflection (v1 and v1alpha).
//
// # Status codes
//
// A failed lookup carries the HTTP demo's status, mapped to a gRPC code by
// [Code] (after google.rpc.Code's HTTP mapping):
//
//	HTTP 400  InvalidArgument     HTTP 429  ResourceExhausted
//	HTTP 401  Unauthenticated     HTTP 499  Canceled
//	HTTP 403  PermissionDenied    HTTP 501  Unimplemented
//	HTTP 404  NotFound            HTTP 502  Unavailable
//	HTTP 409  Aborted             HTTP 503  Unavailable (the default error fault)
//	other 4xx FailedPrecondition  HTTP 504  DeadlineExceeded (timeout faults)
//	                              other 5xx Internal
//
// A call whose context ends first (the client's deadline or cancellation)
// gets DeadlineExceeded or Canceled.
package grpcdemo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"tailgate/targets/servers/demo"
)

// ProtoSource is the text of demo.proto, the service definition.
//
//go:embed demo.proto
var ProtoSource string

// ProtoFile is the path of the service definition in its descriptor (and
// in reflection answers).
const ProtoFile = "demo.proto"

// ServiceName is the full name of the demo service.
const ServiceName = "demo.Store"

// Full method names, as a client passes them to Invoke or NewStream.
const (
	MethodGet  = "/demo.Store/Get"
	MethodScan = "/demo.Store/Scan"
)

// Scan limits.
const (
	DefaultScanCount = 10
	MaxScanCount     = 1000
)

// desc holds the compiled descriptors and the fields the handlers use.
var desc = mustCompile()

type descriptors struct {
	file                         protoreflect.FileDescriptor
	files                        *protoregistry.Files
	getReq, getReply, scanReq    protoreflect.MessageDescriptor
	reqKey                       protoreflect.FieldDescriptor
	replyKey, replyValue, replyC protoreflect.FieldDescriptor
	scanPrefix, scanCount        protoreflect.FieldDescriptor
}

// compile compiles ProtoSource with protocompile and rebuilds it as a plain
// protobuf-go file descriptor.
func compile() (*descriptors, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{ProtoFile: ProtoSource}),
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	res, err := c.Compile(context.Background(), ProtoFile)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", ProtoFile, err)
	}
	fd, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(res[0]), protoregistry.GlobalFiles)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", ProtoFile, err)
	}
	d := &descriptors{file: fd, files: new(protoregistry.Files)}
	if err := d.files.RegisterFile(fd); err != nil {
		return nil, err
	}
	msgs := fd.Messages()
	d.getReq, d.getReply, d.scanReq = msgs.ByName("GetRequest"), msgs.ByName("GetReply"), msgs.ByName("ScanRequest")
	if d.getReq == nil || d.getReply == nil || d.scanReq == nil {
		return nil, errors.New("demo.proto: missing a message")
	}
	d.reqKey = d.getReq.Fields().ByName("key")
	d.replyKey = d.getReply.Fields().ByName("key")
	d.replyValue = d.getReply.Fields().ByName("value")
	d.replyC = d.getReply.Fields().ByName("cache")
	d.scanPrefix = d.scanReq.Fields().ByName("prefix")
	d.scanCount = d.scanReq.Fields().ByName("count")
	for _, f := range []protoreflect.FieldDescriptor{d.reqKey, d.replyKey, d.replyValue, d.replyC, d.scanPrefix, d.scanCount} {
		if f == nil {
			return nil, errors.New("demo.proto: missing a field")
		}
	}
	return d, nil
}

func mustCompile() *descriptors {
	d, err := compile()
	if err != nil {
		panic("grpcdemo: " + err.Error())
	}
	return d
}

// File returns the descriptor of demo.proto.
func File() protoreflect.FileDescriptor { return desc.file }

// FileDescriptorSet returns demo.proto as a descriptor set (it imports
// nothing), the content of a protoset file.
func FileDescriptorSet() *descriptorpb.FileDescriptorSet {
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(desc.file)}}
}

// Protoset returns FileDescriptorSet in the binary wire format, marshalled
// deterministically: what `protoc --include_imports -o demo.protoset
// demo.proto` writes, give or take source info.
func Protoset() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(FileDescriptorSet())
}

// Resolver returns a descriptor resolver that knows demo.proto and, after
// it, everything in protoregistry.GlobalFiles (health, reflection...). Pass
// it as reflection.ServerOptions.DescriptorResolver to serve reflection
// for demo.Store, which is not in the global registry.
func Resolver() protodesc.Resolver { return resolver{} }

type resolver struct{}

func (resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := desc.files.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := desc.files.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

// Code maps an HTTP status of the demo (see the package documentation) to
// a gRPC code; 2xx and 3xx map to OK.
func Code(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case 499:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	switch {
	case httpStatus >= 200 && httpStatus < 400:
		return codes.OK
	case httpStatus >= 400 && httpStatus < 500:
		return codes.FailedPrecondition
	case httpStatus >= 500 && httpStatus < 600:
		return codes.Internal
	}
	return codes.Unknown
}

// store implements demo.Store on a demo.Server.
type store struct{ d *demo.Server }

// storeServer is the handler type of the service description.
type storeServer interface {
	get(ctx context.Context, req protoreflect.Message) (proto.Message, error)
	scan(req protoreflect.Message, stream grpc.ServerStream) error
}

var _ storeServer = store{}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*storeServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler:    getHandler,
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Scan",
		Handler:       scanHandler,
		ServerStreams: true,
	}},
	Metadata: ProtoFile,
}

func getHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := dynamicpb.NewMessage(desc.getReq)
	if err := dec(req); err != nil {
		return nil, err
	}
	s := srv.(storeServer)
	if interceptor == nil {
		return s.get(ctx, req)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: MethodGet}
	return interceptor(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		return s.get(ctx, req.(protoreflect.ProtoMessage).ProtoReflect())
	})
}

func scanHandler(srv any, stream grpc.ServerStream) error {
	req := dynamicpb.NewMessage(desc.scanReq)
	if err := stream.RecvMsg(req); err != nil {
		return err
	}
	return srv.(storeServer).scan(req, stream)
}

// lookup serves one key through the demo model and returns the reply.
func (s store) lookup(ctx context.Context, key string) (*dynamicpb.Message, error) {
	if key == "" {
		key = demo.DefaultKey
	}
	value, hit, st, err := s.d.Item(ctx, key)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// The caller gave up (its deadline or cancellation), not a fault.
			return nil, status.FromContextError(err).Err()
		}
		return nil, status.Error(Code(st), err.Error())
	}
	cache := "MISS"
	if hit {
		cache = "HIT"
	}
	m := dynamicpb.NewMessage(desc.getReply)
	m.Set(desc.replyKey, protoreflect.ValueOfString(key))
	m.Set(desc.replyValue, protoreflect.ValueOfString(value))
	m.Set(desc.replyC, protoreflect.ValueOfString(cache))
	return m, nil
}

func (s store) get(ctx context.Context, req protoreflect.Message) (proto.Message, error) {
	m, err := s.lookup(ctx, req.Get(desc.reqKey).String())
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s store) scan(req protoreflect.Message, stream grpc.ServerStream) error {
	prefix := req.Get(desc.scanPrefix).String()
	n := int(req.Get(desc.scanCount).Int())
	switch {
	case n == 0:
		n = DefaultScanCount
	case n < 0 || n > MaxScanCount:
		return status.Errorf(codes.InvalidArgument, "count %d out of range [0, %d]", n, MaxScanCount)
	}
	ctx := stream.Context()
	for i := range n {
		m, err := s.lookup(ctx, prefix+strconv.Itoa(i))
		if err != nil {
			return err
		}
		if err := stream.SendMsg(m); err != nil {
			return err
		}
	}
	return nil
}

// Register registers demo.Store, backed by d, on s: no health, no
// reflection.
func Register(s grpc.ServiceRegistrar, d *demo.Server) {
	s.RegisterService(&serviceDesc, store{d})
}

// RegisterReflection registers server reflection, v1 and v1alpha, on s,
// resolving descriptors with [Resolver] so that demo.Store is described.
func RegisterReflection(s reflection.GRPCServer) {
	opt := reflection.ServerOptions{Services: s, DescriptorResolver: Resolver()}
	reflectionv1.RegisterServerReflectionServer(s, reflection.NewServerV1(opt))
	reflectionv1alpha.RegisterServerReflectionServer(s, reflection.NewServer(opt))
}

// Server is the gRPC demo: demo.Store, health and reflection on one
// grpc.Server.
type Server struct {
	GRPC   *grpc.Server
	Demo   *demo.Server
	Health *health.Server
}

// NewServer returns a server with demo.Store (backed by d), the health
// service and reflection registered. opts are passed to grpc.NewServer
// (interceptors, limits, credentials).
func NewServer(d *demo.Server, opts ...grpc.ServerOption) *Server {
	s := &Server{GRPC: grpc.NewServer(opts...), Demo: d, Health: health.NewServer()}
	Register(s.GRPC, d)
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	s.Health.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	RegisterReflection(s.GRPC)
	return s
}

// Serve serves on ln until ctx is done, then shuts down gracefully: health
// turns NOT_SERVING, new calls are refused, and calls in flight get up to
// the demo's Config.ShutdownTimeout to finish before their connections are
// closed. It returns nil after a shutdown caused by ctx, or the error that
// stopped serving otherwise. ln is closed on return. A Server serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.GRPC.Serve(ln) }()
	select {
	case err := <-errc:
		s.GRPC.Stop()
		return err
	case <-ctx.Done():
	}
	s.Health.Shutdown()
	stopped := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(stopped) }()
	t := time.NewTimer(s.Demo.Config().ShutdownTimeout)
	select {
	case <-stopped:
		t.Stop()
	case <-t.C:
		s.GRPC.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}
