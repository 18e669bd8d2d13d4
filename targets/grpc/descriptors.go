package grpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Errors wrapped by New, to be tested with errors.Is.
var (
	// ErrNoReflection: the server offers neither reflection v1 nor v1alpha.
	ErrNoReflection = errors.New("server reflection not available")
	// ErrClientCertWanted: reflection failed on a TLS connection whose
	// server asked for a client certificate, and none was configured
	// (Options.CertFile, KeyFile). A server that requires one (mutual
	// TLS) closes the connection after the handshake.
	ErrClientCertWanted = errors.New("the server asked for a client certificate (mutual TLS) and none was given")
	// ErrMethodNotFound: the service or the method does not exist; the
	// message lists what does.
	ErrMethodNotFound = errors.New("method not found")
	// ErrInvalidData: the request template does not render to a valid JSON
	// request message; the message lists the message's fields.
	ErrInvalidData = errors.New("invalid request data")
)

// Reflection methods. Both versions use the same messages on the wire, so
// the v1 Go types serve for v1alpha too.
const (
	reflectV1      = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	reflectV1alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
)

// splitMethod splits "pkg.Service/Method", "/pkg.Service/Method" or
// "pkg.Service.Method" into the service's full name and the method name.
func splitMethod(m string) (svc, method string, err error) {
	s := strings.TrimPrefix(m, "/")
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		i = strings.LastIndexByte(s, '.')
	}
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("method %q: want pkg.Service/Method", m)
	}
	svc, method = s[:i], s[i+1:]
	if !protoreflect.FullName(svc).IsValid() || !protoreflect.Name(method).IsValid() {
		return "", "", fmt.Errorf("method %q: want pkg.Service/Method (dot-separated identifiers)", m)
	}
	return svc, method, nil
}

// fileSet collects file descriptor protos by name and builds them into a
// registry, taking dependencies it lacks (well-known types) from
// protoregistry.GlobalFiles.
type fileSet map[string]*descriptorpb.FileDescriptorProto

func (fs fileSet) add(fdp *descriptorpb.FileDescriptorProto) {
	if _, ok := fs[fdp.GetName()]; !ok {
		fs[fdp.GetName()] = fdp
	}
}

// missing returns the dependencies named by the set but not in it.
func (fs fileSet) missing() []string {
	var out []string
	for _, fdp := range fs {
		for _, dep := range fdp.GetDependency() {
			if _, ok := fs[dep]; !ok && !slices.Contains(out, dep) {
				out = append(out, dep)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (fs fileSet) build() (*protoregistry.Files, error) {
	files := new(protoregistry.Files)
	visiting := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, err := files.FindFileByPath(name); err == nil {
			return nil
		}
		fdp, ok := fs[name]
		if !ok {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(name)
			if err != nil {
				return fmt.Errorf("missing dependency %q", name)
			}
			return registerWithDeps(files, fd)
		}
		if visiting[name] {
			return fmt.Errorf("import cycle through %q", name)
		}
		visiting[name] = true
		for _, dep := range fdp.GetDependency() {
			if err := visit(dep); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		fd, err := protodesc.NewFile(fdp, files)
		if err != nil {
			return err
		}
		return files.RegisterFile(fd)
	}
	names := make([]string, 0, len(fs))
	for name := range fs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// registerWithDeps registers fd and its imports into files.
func registerWithDeps(files *protoregistry.Files, fd protoreflect.FileDescriptor) error {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	imps := fd.Imports()
	for i := range imps.Len() {
		if err := registerWithDeps(files, imps.Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	return files.RegisterFile(fd)
}

// filesSource describes methods from a local registry (protoset or .proto
// files).
type filesSource struct {
	what  string // for messages: "protoset x.protoset"
	files *protoregistry.Files
}

func (s *filesSource) services() []protoreflect.ServiceDescriptor {
	var out []protoreflect.ServiceDescriptor
	s.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		svcs := fd.Services()
		for i := range svcs.Len() {
			out = append(out, svcs.Get(i))
		}
		return true
	})
	slices.SortFunc(out, func(a, b protoreflect.ServiceDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	return out
}

func (s *filesSource) find(svc, method string) (protoreflect.MethodDescriptor, error) {
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(svc))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: no service %s in %s; %s", ErrMethodNotFound, svc, s.what, describeServices(s.services()))
	}
	return findMethod(sd, method, s.what)
}

func findMethod(sd protoreflect.ServiceDescriptor, method, what string) (protoreflect.MethodDescriptor, error) {
	if md := sd.Methods().ByName(protoreflect.Name(method)); md != nil {
		return md, nil
	}
	return nil, fmt.Errorf("%w: service %s in %s has no method %s; its methods: %s",
		ErrMethodNotFound, sd.FullName(), what, method, methodNames(sd))
}

func methodNames(sd protoreflect.ServiceDescriptor) string {
	ms := sd.Methods()
	names := make([]string, ms.Len())
	for i := range ms.Len() {
		names[i] = string(ms.Get(i).Name())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// describeServices lists services with their methods:
// "available services: a.B (Get, Put); c.D (Watch)".
func describeServices(sds []protoreflect.ServiceDescriptor) string {
	if len(sds) == 0 {
		return "no services available"
	}
	parts := make([]string, len(sds))
	for i, sd := range sds {
		parts[i] = fmt.Sprintf("%s (%s)", sd.FullName(), methodNames(sd))
	}
	return "available services: " + strings.Join(parts, "; ")
}

// loadProtoset reads a binary FileDescriptorSet.
func loadProtoset(path string) (*filesSource, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("protoset: %w", err)
	}
	return parseProtoset(path, b)
}

// parseProtoset decodes and links a binary FileDescriptorSet.
func parseProtoset(path string, b []byte) (*filesSource, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("protoset %s: not a FileDescriptorSet: %w", path, err)
	}
	fs := fileSet{}
	for _, fdp := range set.GetFile() {
		fs.add(fdp)
	}
	files, err := fs.build()
	if err != nil {
		return nil, fmt.Errorf("protoset %s: %w (build it with protoc --include_imports)", path, err)
	}
	return &filesSource{what: "protoset " + path, files: files}, nil
}

// compileProtos compiles .proto files with protocompile. With no import
// paths, each file's directory is one (so files import their siblings by
// name); otherwise names are made relative to the import path holding them.
func compileProtos(ctx context.Context, paths, importPaths []string) (*filesSource, error) {
	names := make([]string, len(paths))
	ips := slices.Clone(importPaths)
	for i, p := range paths {
		names[i] = p
		if len(importPaths) == 0 {
			dir := filepath.Dir(p)
			if !slices.Contains(ips, dir) {
				ips = append(ips, dir)
			}
			names[i] = filepath.Base(p)
			continue
		}
		for _, ip := range importPaths {
			if _, err := os.Stat(filepath.Join(ip, p)); err == nil {
				break // already relative to an import path
			}
			if rel, err := filepath.Rel(ip, p); err == nil && !strings.HasPrefix(rel, "..") {
				if _, err := os.Stat(p); err == nil {
					names[i] = filepath.ToSlash(rel)
					break
				}
			}
		}
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: ips}),
	}
	res, err := c.Compile(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", strings.Join(paths, ", "), err)
	}
	files := new(protoregistry.Files)
	for _, f := range res {
		if err := registerWithDeps(files, f); err != nil {
			return nil, fmt.Errorf("compile %s: %w", f.Path(), err)
		}
	}
	return &filesSource{what: "proto files " + strings.Join(paths, ", "), files: files}, nil
}

// reflectionSource asks a server, over one reflection stream.
type reflectionSource struct {
	target   string
	stream   grpc.ClientStream
	version  string   // "v1" or "v1alpha"
	services []string // from ListServices
	fs       fileSet
}

// openReflection opens a reflection stream, v1 first then v1alpha, and
// lists the services.
func openReflection(ctx context.Context, cc *grpc.ClientConn, target string) (*reflectionSource, error) {
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	for _, m := range []string{reflectV1, reflectV1alpha} {
		st, err := cc.NewStream(ctx, desc, m)
		if err == nil {
			r := &reflectionSource{target: target, stream: st, version: "v1", fs: fileSet{}}
			if m == reflectV1alpha {
				r.version = "v1alpha"
			}
			var resp *reflectionpb.ServerReflectionResponse
			resp, err = r.ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
			})
			if err == nil {
				for _, s := range resp.GetListServicesResponse().GetService() {
					r.services = append(r.services, s.GetName())
				}
				slices.Sort(r.services)
				return r, nil
			}
		}
		if status.Code(err) != codes.Unimplemented {
			return nil, fmt.Errorf("reflection on %s: %w", target, err)
		}
	}
	return nil, fmt.Errorf("%w: %s implements neither grpc.reflection.v1 nor v1alpha; describe the method with a protoset (Options.Protoset) or .proto files (Options.ProtoFiles)", ErrNoReflection, target)
}

func (r *reflectionSource) close() { r.stream.CloseSend() }

// ask sends one request and returns its response, turning an error
// response into an error.
func (r *reflectionSource) ask(req *reflectionpb.ServerReflectionRequest) (*reflectionpb.ServerReflectionResponse, error) {
	if err := r.stream.SendMsg(req); err != nil && err != io.EOF {
		return nil, err
	}
	resp := new(reflectionpb.ServerReflectionResponse)
	if err := r.stream.RecvMsg(resp); err != nil {
		return nil, err
	}
	if e := resp.GetErrorResponse(); e != nil {
		return nil, status.Error(codes.Code(e.GetErrorCode()), e.GetErrorMessage())
	}
	return resp, nil
}

// fetch adds the files answering req and then any missing dependencies.
func (r *reflectionSource) fetch(req *reflectionpb.ServerReflectionRequest) error {
	resp, err := r.ask(req)
	if err != nil {
		return err
	}
	if err := r.addFiles(resp); err != nil {
		return err
	}
	tried := map[string]bool{}
	for {
		miss := r.fs.missing()
		progress := false
		for _, name := range miss {
			if tried[name] {
				continue
			}
			tried[name] = true
			progress = true
			resp, err := r.ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: name},
			})
			if err != nil {
				if status.Code(err) == codes.NotFound {
					continue // maybe a well-known type we have locally
				}
				return fmt.Errorf("file %s: %w", name, err)
			}
			if err := r.addFiles(resp); err != nil {
				return err
			}
		}
		if !progress {
			return nil
		}
	}
}

func (r *reflectionSource) addFiles(resp *reflectionpb.ServerReflectionResponse) error {
	for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			return fmt.Errorf("malformed file descriptor: %w", err)
		}
		r.fs.add(fdp)
	}
	return nil
}

// service returns the descriptor of the named service and the registry of
// the files fetched so far.
func (r *reflectionSource) service(svc string) (protoreflect.ServiceDescriptor, *protoregistry.Files, error) {
	err := r.fetch(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc},
	})
	if err != nil {
		return nil, nil, err
	}
	files, err := r.fs.build()
	if err != nil {
		return nil, nil, err
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, nil, err
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %T, not a service", svc, d)
	}
	return sd, files, nil
}

func (r *reflectionSource) what() string {
	return fmt.Sprintf("server %s (reflection %s)", r.target, r.version)
}

// find resolves svc/method, listing what the server offers when it fails.
func (r *reflectionSource) find(svc, method string) (protoreflect.MethodDescriptor, *protoregistry.Files, error) {
	if slices.Contains(r.services, svc) || len(r.services) == 0 {
		sd, files, err := r.service(svc)
		if err == nil {
			md, err := findMethod(sd, method, r.what())
			return md, files, err
		}
		if status.Code(err) != codes.NotFound {
			return nil, nil, fmt.Errorf("describe %s via reflection on %s: %w", svc, r.target, err)
		}
	}
	// Unknown service: describe the others.
	var sds []protoreflect.ServiceDescriptor
	var names []string
	for _, name := range r.services {
		if strings.HasPrefix(name, "grpc.reflection.") {
			continue
		}
		if sd, _, err := r.service(name); err == nil {
			sds = append(sds, sd)
		} else {
			names = append(names, name)
		}
	}
	msg := describeServices(sds)
	if len(names) > 0 {
		msg += "; not described: " + strings.Join(names, ", ")
	}
	return nil, nil, fmt.Errorf("%w: %s has no service %s; %s", ErrMethodNotFound, r.what(), svc, msg)
}
