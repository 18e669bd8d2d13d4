package grpc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/grpc/h2"
)

// DefaultTimeout is the per-request deadline when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// DefaultCacheHit is the value of Options.CacheField that marks a cache hit
// when Options.CacheHit is empty.
const DefaultCacheHit = "HIT"

// Options configure a gRPC target. Target and Method are required; the
// zero value of every other field is usable.
type Options struct {
	// Target is the server address, host:port (or any target string
	// grpc.NewClient accepts, such as unix:///path).
	Target string
	// Method is "pkg.Service/Method"; a leading slash and the form
	// "pkg.Service.Method" are accepted too.
	Method string
	// Data is the request message as protojson, a template with {{seq}},
	// {{key}} and {{data.COLUMN}} (see targets.Template) rendered per
	// request. Empty means the empty message. For client and bidi
	// streaming methods a JSON array sends one message per element.
	Data string
	// Metadata is sent with every request; values may be templates. Keys
	// are lower-cased.
	Metadata map[string]string
	// Vars feed the templates. Nil: {{key}} is the sequence number.
	Vars *targets.Vars
	// Protoset is a binary FileDescriptorSet file (protoc
	// --include_imports -o) describing the method. ProtoFiles are .proto
	// sources compiled at start-up, with imports searched in ImportPaths
	// (default: each file's directory). With neither, the method is
	// described by server reflection (v1, falling back to v1alpha). At
	// most one of Protoset and ProtoFiles may be set.
	Protoset    string
	ProtoFiles  []string
	ImportPaths []string
	// TLS connects with TLS; Insecure (which needs TLS) skips certificate
	// verification. The default is plaintext (h2c).
	TLS      bool
	Insecure bool
	// CAFile, CertFile, KeyFile and ServerName (which need TLS) are the
	// CAs to trust instead of the system roots, a client certificate and
	// its key (mutual TLS), and the name to verify and send in SNI
	// (default: the target's host). See targets.TLSOptions.
	CAFile, CertFile, KeyFile, ServerName string
	// Timeout is the per-request deadline (0 = DefaultTimeout). It also
	// bounds the reflection exchange in New.
	Timeout time.Duration
	// Connections is the number of connections (grpc.ClientConn), used in
	// turn by successive requests (0 = 1).
	Connections int
	// StreamsPerConnection caps concurrent calls per connection (0 = no
	// cap beyond the server's HTTP/2 limit). A request finding every
	// connection at the cap waits for its turn one, and the wait counts in
	// its service time, as with any pooled client.
	StreamsPerConnection int
	// CacheField names a top-level field of the response message that says
	// whether it was served from cache: a bool field, or a string field
	// whose value equals CacheHit (case-insensitively; default
	// DefaultCacheHit). For streams the last message decides. Empty: no
	// cache detection.
	CacheField string
	CacheHit   string
	// CacheHeader, when set (lower case), names a response header or
	// trailer whose value equal to CacheHit (case-insensitively; default
	// DefaultCacheHit) marks a cache hit, for servers that say so in
	// metadata rather than in the message. Reading it costs the call's
	// metadata; empty: not read.
	CacheHeader string
	// Engine chooses the client: EngineFast (package h2) or EngineGRPC
	// (grpc-go). Empty or "auto": the fast client where it applies (unary
	// methods on a host:port target), grpc-go otherwise; EngineFast where
	// it does not apply is an error.
	Engine string
}

// Engines: see Options.Engine and Target.Engine.
const (
	EngineFast = "grpc-fast"
	EngineGRPC = "grpc"
)

// Timing is what [Target.DoTimed] adds to an Outcome. Offsets are from the
// start of the call (the generator's Sent, give or take rendering the
// request).
type Timing struct {
	// FirstMessage is when the first response message arrived (0 if none).
	// For unary calls it is the end of the call.
	FirstMessage time.Duration
	// LastMessage is when the last response message arrived (0 if none).
	LastMessage time.Duration
	// Messages counts the response messages received.
	Messages int
}

// TimedTarget is implemented by targets that time the first message of a
// response apart from its end (server-streaming and bidi gRPC calls),
// beyond what generator.Outcome records.
type TimedTarget interface {
	generator.Target
	DoTimed(ctx context.Context, seq uint64) (generator.Outcome, Timing)
}

// Target is a gRPC target calling one method with dynamic (descriptor
// driven) messages: no generated code. It is safe for concurrent use.
type Target struct {
	opt     Options
	method  string // "/pkg.Service/Method"
	md      protoreflect.MethodDescriptor
	files   *protoregistry.Files
	stream  *grpc.StreamDesc // nil for unary methods
	dec     decoder
	dataT   *targets.Template            // nil when the data is static
	static  *encoded                     // the requests when the data is static
	reqs    *requestCache                // encodings of templated requests
	mdStat  metadata.MD                  // static metadata, or nil
	mdT     map[string]*targets.Template // templated metadata, or nil
	mdKeys  []string                     // mdT's keys, sorted
	conns   []*conn
	fast    *h2.Client // the fast engine, or nil
	next    atomic.Uint64
	cacheF  protoreflect.FieldDescriptor
	cacheV  string
	check   *responseChecker
	invalid atomic.Uint64
	// certAsked is set once a server asked for a client certificate and
	// none was configured.
	certAsked atomic.Bool
}

type conn struct {
	cc  *grpc.ClientConn
	sem chan struct{} // nil when uncapped
}

var (
	_ generator.Target = (*Target)(nil)
	_ TimedTarget      = (*Target)(nil)
)

// New validates o, connects, describes the method (by reflection, a
// protoset or .proto files) and checks that Data renders, for request 0,
// to a valid request message. Errors wrap ErrNoReflection,
// ErrMethodNotFound or ErrInvalidData where they apply, and list what is
// available: services and methods, or the message's fields. ctx bounds
// the set-up only.
func New(ctx context.Context, o Options) (*Target, error) {
	svc, method, err := o.check()
	if err != nil {
		return nil, err
	}
	var data *targets.Data
	if o.Vars != nil {
		data = o.Vars.Data
	}
	dataT, err := targets.ParseTemplate(o.Data, data)
	if err != nil {
		return nil, fmt.Errorf("grpc: data: %w", err)
	}
	t := &Target{opt: o, method: "/" + svc + "/" + method}
	if err := t.parseMetadata(data); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	md, err := t.describe(ctx, svc, method)
	if err != nil {
		return nil, err
	}
	t.useMethod(md)
	if err := t.setCacheField(); err != nil {
		return nil, err
	}
	t.check = newResponseChecker(md.Output(), t.cacheF, t.cacheV)
	if err := t.useData(dataT); err != nil {
		return nil, err
	}
	if err := t.useEngine(); err != nil {
		return nil, err
	}
	ok = true
	return t, nil
}

// useEngine starts the client of the engine chosen (see Options.Engine):
// the fast client, or grpc-go's connections (beyond the one reflection
// may have opened, which the fast client closes).
func (t *Target) useEngine() error {
	why := t.fastUnsupported()
	switch {
	case t.opt.Engine == EngineFast && why != "":
		return fmt.Errorf("grpc: engine %s: %s", EngineFast, why)
	case t.opt.Engine == EngineGRPC || why != "":
		return t.dial(t.opt.Connections)
	}
	for _, c := range t.conns {
		c.cc.Close()
	}
	t.conns = nil
	return t.startFast()
}

// fastUnsupported says why the fast client cannot make these calls, or
// "" when it can.
func (t *Target) fastUnsupported() string {
	switch {
	case t.stream != nil:
		return "streaming methods need grpc-go"
	case strings.Contains(t.opt.Target, "/"):
		return "target " + t.opt.Target + " is not host:port"
	case strings.HasSuffix(t.opt.CacheHeader, "-bin"):
		return "a binary cache header needs grpc-go"
	}
	if _, _, err := net.SplitHostPort(t.opt.Target); err != nil {
		return "target " + t.opt.Target + " is not host:port"
	}
	return ""
}

// Engine names the client in use: EngineFast or EngineGRPC.
func (t *Target) Engine() string {
	if t.fast != nil {
		return EngineFast
	}
	return EngineGRPC
}

// check validates o, fills in the defaults (Timeout, Connections) and
// returns the service and method names.
func (o *Options) check() (svc, method string, err error) {
	if o.Target == "" {
		return "", "", errors.New("grpc: no target address")
	}
	svc, method, err = splitMethod(o.Method)
	if err != nil {
		return "", "", fmt.Errorf("grpc: %w", err)
	}
	switch {
	case o.Protoset != "" && len(o.ProtoFiles) > 0:
		err = errors.New("grpc: set at most one of a protoset and .proto files")
	case o.Insecure && !o.TLS:
		err = errors.New("grpc: Insecure (skip certificate verification) needs TLS")
	case !o.TLS && (o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.ServerName != ""):
		err = errors.New("grpc: a CA file, client certificate or server name needs TLS")
	case o.Timeout < 0:
		err = fmt.Errorf("grpc: timeout must not be negative, got %v", o.Timeout)
	case o.Connections < 0:
		err = fmt.Errorf("grpc: connections must not be negative, got %d", o.Connections)
	case o.StreamsPerConnection < 0:
		err = fmt.Errorf("grpc: streams per connection must not be negative, got %d", o.StreamsPerConnection)
	case o.Engine != "" && o.Engine != "auto" && o.Engine != EngineFast && o.Engine != EngineGRPC:
		err = fmt.Errorf("grpc: engine %q: want auto, %s or %s", o.Engine, EngineFast, EngineGRPC)
	}
	if err != nil {
		return "", "", err
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Connections == 0 {
		o.Connections = 1
	}
	return svc, method, nil
}

// describe finds the method's descriptor in the protoset or .proto files,
// or else by server reflection over the first connection, and keeps the
// file registry it comes from in t.files.
func (t *Target) describe(ctx context.Context, svc, method string) (protoreflect.MethodDescriptor, error) {
	o := t.opt
	var src *filesSource
	var err error
	switch {
	case o.Protoset != "":
		src, err = loadProtoset(o.Protoset)
	case len(o.ProtoFiles) > 0:
		src, err = compileProtos(ctx, o.ProtoFiles, o.ImportPaths)
	}
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	var md protoreflect.MethodDescriptor
	if src != nil {
		t.files = src.files
		if md, err = src.find(svc, method); err != nil {
			return nil, fmt.Errorf("grpc: %w", err)
		}
		return md, nil
	}
	// Reflection runs over grpc-go: its first connection, which the
	// fast client closes.
	if err := t.dial(1); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	r, err := openReflection(rctx, t.conns[0].cc, o.Target)
	if err != nil {
		if t.certAsked.Load() {
			// The handshake ended before the server's alert was read:
			// the error says "broken pipe" or "EOF", not why.
			return nil, fmt.Errorf("grpc: %w; %w", err, ErrClientCertWanted)
		}
		return nil, fmt.Errorf("grpc: %w", err)
	}
	md, t.files, err = r.find(svc, method)
	r.close()
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	return md, nil
}

// useMethod sets up t to call md: the stream description for streaming
// methods, and the decoder of request messages.
func (t *Target) useMethod(md protoreflect.MethodDescriptor) {
	t.md = md
	if md.IsStreamingClient() || md.IsStreamingServer() {
		t.stream = &grpc.StreamDesc{
			StreamName:    string(md.Name()),
			ClientStreams: md.IsStreamingClient(),
			ServerStreams: md.IsStreamingServer(),
		}
	}
	t.dec = decoder{
		md:    md.Input(),
		opts:  protojson.UnmarshalOptions{Resolver: dynamicpb.NewTypes(t.files)},
		multi: md.IsStreamingClient(),
	}
}

// useData checks the data as request 0 would send it, and keeps the
// decoded messages when the data is static, the template otherwise.
func (t *Target) useData(dataT *targets.Template) error {
	msgs, n, err := t.dec.decode(dataT.Append(nil, 0, t.opt.Vars))
	if err != nil {
		if dataT.Static() {
			return fmt.Errorf("grpc: data for %s: %w", t.method, err)
		}
		return fmt.Errorf("grpc: data for %s (rendered for request 0): %w", t.method, err)
	}
	if dataT.Static() {
		enc, err := encodeAll(msgs)
		if err != nil {
			return fmt.Errorf("grpc: data for %s: %w", t.method, err)
		}
		t.static = &encoded{msgs: enc, size: n}
	} else {
		t.dataT, t.reqs = dataT, newRequestCache()
	}
	return nil
}

// parseMetadata compiles the metadata templates.
func (t *Target) parseMetadata(data *targets.Data) error {
	if len(t.opt.Metadata) == 0 {
		return nil
	}
	stat := metadata.MD{}
	dyn := map[string]*targets.Template{}
	for k, v := range t.opt.Metadata {
		key := strings.ToLower(k)
		if err := checkMetadataKey(key); err != nil {
			return err
		}
		tm, err := targets.ParseTemplate(v, data)
		if err != nil {
			return fmt.Errorf("grpc: metadata %s: %w", k, err)
		}
		stat[key] = []string{v}
		dyn[key] = tm
		if !tm.Static() {
			t.mdT = dyn
		}
	}
	if t.mdT == nil {
		t.mdStat = stat
	} else {
		t.mdKeys = slices.Sorted(maps.Keys(t.mdT))
	}
	return nil
}

func checkMetadataKey(k string) error {
	if k == "" {
		return errors.New("grpc: empty metadata key")
	}
	if strings.HasPrefix(k, "grpc-") {
		return fmt.Errorf("grpc: metadata key %q: the grpc- prefix is reserved", k)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("grpc: metadata key %q: only letters, digits, '-', '_' and '.' are allowed", k)
		}
	}
	return nil
}

func (t *Target) setCacheField() error {
	if t.opt.CacheField == "" {
		return nil
	}
	out := t.md.Output()
	f := out.Fields().ByName(protoreflect.Name(t.opt.CacheField))
	if f == nil {
		f = out.Fields().ByJSONName(t.opt.CacheField)
	}
	if f == nil || f.IsList() || f.IsMap() || (f.Kind() != protoreflect.StringKind && f.Kind() != protoreflect.BoolKind) {
		return fmt.Errorf("grpc: cache field %q: want a string or bool field of %s; its fields: %s",
			t.opt.CacheField, out.FullName(), describeFields(out))
	}
	t.cacheF = f
	t.cacheV = t.opt.CacheHit
	if t.cacheV == "" {
		t.cacheV = DefaultCacheHit
	}
	return nil
}

// tls returns o's TLS settings.
func (o Options) tls() targets.TLSOptions {
	return targets.TLSOptions{Insecure: o.Insecure, CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, ServerName: o.ServerName}
}

// dial creates grpc-go connections, up to n in all, and starts connecting
// them.
func (t *Target) dial(n int) error {
	creds := insecure.NewCredentials()
	if t.opt.TLS {
		cfg, err := targets.TLSConfig(t.opt.tls())
		if err != nil {
			return fmt.Errorf("grpc: %w", err)
		}
		creds = newTLSCreds(cfg, func() { t.certAsked.Store(true) })
	}
	for len(t.conns) < n {
		cc, err := grpc.NewClient(t.opt.Target,
			grpc.WithTransportCredentials(creds),
			grpc.WithUserAgent("tailgate"),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})),
		)
		if err != nil {
			return fmt.Errorf("grpc: target %q: %w", t.opt.Target, err)
		}
		c := &conn{cc: cc}
		if n := t.opt.StreamsPerConnection; n > 0 {
			c.sem = make(chan struct{}, n)
		}
		cc.Connect()
		t.conns = append(t.conns, c)
	}
	return nil
}

// Close closes the connections. Calls in flight fail with Canceled.
func (t *Target) Close() error {
	var errs []error
	for _, c := range t.conns {
		errs = append(errs, c.cc.Close())
	}
	if t.fast != nil {
		t.fast.Close()
	}
	return errors.Join(errs...)
}

// Method returns the method's descriptor.
func (t *Target) Method() protoreflect.MethodDescriptor { return t.md }

// InvalidRequests counts requests whose templated data did not decode into
// a request message; they were not sent and their Outcome has Err
// generator.ErrOther.
func (t *Target) InvalidRequests() uint64 { return t.invalid.Load() }

// pick returns the next connection in turn, waiting for a free stream when
// StreamsPerConnection caps it (trying the others first), and the function
// that gives the stream back.
func (t *Target) pick(ctx context.Context) (*conn, func(), error) {
	n := uint64(len(t.conns))
	i := (t.next.Add(1) - 1) % n
	c := t.conns[i]
	if c.sem == nil {
		return c, func() {}, nil
	}
	for j := range n {
		cj := t.conns[(i+j)%n]
		select {
		case cj.sem <- struct{}{}:
			return cj, func() { <-cj.sem }, nil
		default:
		}
	}
	select {
	case c.sem <- struct{}{}:
		return c, func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}
