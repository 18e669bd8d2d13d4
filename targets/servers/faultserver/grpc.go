package faultserver

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"tailgate/targets/servers/grpcdemo"
)

// The demo.Store messages, from grpcdemo's embedded demo.proto.
var (
	getRequest = grpcdemo.File().Messages().ByName("GetRequest")
	getReply   = grpcdemo.File().Messages().ByName("GetReply")
)

// storeDesc is demo.Store with Get only, answered by (*Server).grpcGet.
// Scan, described by reflection but not served, gets UNIMPLEMENTED.
var storeDesc = grpc.ServiceDesc{
	ServiceName: grpcdemo.ServiceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			return srv.(*Server).grpcGet(ctx, dec)
		},
	}},
	Metadata: grpcdemo.ProtoFile,
}

// startGRPC serves the gRPC modes: demo.Store/Get and reflection.
func (s *Server) startGRPC() {
	var opts []grpc.ServerOption
	if s.tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.tlsCfg)))
	}
	s.grpcSrv = grpc.NewServer(opts...)
	s.grpcSrv.RegisterService(&storeDesc, s)
	grpcdemo.RegisterReflection(s.grpcSrv)
	s.wg.Go(func() { _ = s.grpcSrv.Serve(s.ln) })
}

func (s *Server) grpcGet(ctx context.Context, dec func(any) error) (any, error) {
	req := dynamicpb.NewMessage(getRequest)
	if err := dec(req); err != nil {
		return nil, err
	}
	s.requests.Add(1)
	switch s.mode {
	case GRPCUnavailable:
		return nil, status.Error(codes.Unavailable, "faultserver: unavailable")
	case GRPCDeadline:
		select {
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-s.closed:
			return nil, status.Error(codes.Unavailable, "faultserver: closed")
		}
	case GRPCCloseConnection:
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			s.abortRemote(p.Addr.String())
		}
		// The connection is gone: this status goes nowhere.
		return nil, status.Error(codes.Internal, "faultserver: connection reset")
	}
	f := getReply.Fields()
	key := req.Get(getRequest.Fields().ByName("key")).String()
	m := dynamicpb.NewMessage(getReply)
	m.Set(f.ByName("key"), protoreflect.ValueOfString(key))
	m.Set(f.ByName("value"), protoreflect.ValueOfString("ok"))
	m.Set(f.ByName("cache"), protoreflect.ValueOfString("MISS"))
	return m, nil
}
