package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"tailgate/generator"
	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets"
	grpct "tailgate/targets/grpc"
	"tailgate/targets/h1"
)

// buildTarget builds the target chain: the client (or a balancer over the
// endpoints' clients), hedging, fan-out.
func (p *Plan) buildTarget(ho targets.HTTPOptions, prof *profiles.Profile) error {
	o := p.opts
	var err error
	if o.Endpoints != "" {
		if err := p.balance(ho, o.seed(profileSeed(prof))); err != nil {
			return err
		}
	} else if p.target, p.closer, err = newTarget(o, ho); err != nil {
		return err
	}
	p.noteEngine(p.target)
	if err := p.setReads(); err != nil {
		p.Close()
		return err
	}
	if o.HedgeAfter != "" {
		after, _ := generator.ParseHedgeAfter(o.HedgeAfter)
		if p.hedge, err = targets.NewHedge(p.target, after); err != nil {
			p.Close()
			return inputErrorf("--hedge-after: %v", err)
		}
		p.target = p.hedge
	}
	if o.FanOut > 1 {
		subs := []generator.Target{p.target}
		if p.balanced != nil {
			// Each sub-request to an endpoint of its own, as a scatter-gather
			// client does, instead of balancing each sub-request.
			subs = p.balanced.Targets()
		}
		if p.fan, err = targets.NewFanOut(o.FanOut, subs); err != nil {
			p.Close()
			return inputErrorf("--fanout: %v", err)
		}
		p.target = p.fan
	}
	return nil
}

// newTarget builds the client for one URL: gRPC (the fast client where it
// applies, else grpc-go), the fast HTTP/1.1 client where it applies
// (unless the options ask for net/http), else net/http.
func newTarget(o *Options, ho targets.HTTPOptions) (generator.Target, func(), error) {
	if isGRPC(ho.URL) {
		g, err := newGRPCTarget(o, ho)
		if err != nil {
			return nil, nil, err
		}
		return g, func() { g.Close() }, nil
	}
	if o.Engine == grpct.EngineFast || o.Engine == grpct.EngineGRPC {
		return nil, nil, inputErrorf("--engine %s: for grpc:// and grpcs:// URLs only", o.Engine)
	}
	if o.Engine != "net/http" {
		if ok, why := h1.Supported(ho); ok {
			h, err := h1.New(ho)
			if err != nil {
				return nil, nil, inputErrorf("%v", err)
			}
			return h, h.Close, nil
		} else if o.Engine == "fast-h1" {
			return nil, nil, inputErrorf("--engine fast-h1: %s", why)
		}
	}
	h, err := targets.NewHTTP(ho)
	if err != nil {
		return nil, nil, inputErrorf("%v", err)
	}
	return h, h.Close, nil
}

func isGRPC(u string) bool {
	return strings.HasPrefix(u, "grpc://") || strings.HasPrefix(u, "grpcs://")
}

// newGRPCTarget builds a gRPC target from the HTTP-shaped options: the
// body is the JSON request template, headers are metadata.
func newGRPCTarget(opts *Options, ho targets.HTTPOptions) (*grpct.Target, error) {
	o, err := grpct.ParseURL(ho.URL)
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	o.Data = string(ho.Body)
	if o.Data == "" {
		o.Data = "{}"
	}
	o.Vars = ho.Vars
	o.Metadata = map[string]string{}
	for k, vs := range ho.Header {
		o.Metadata[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	o.Protoset, o.ProtoFiles, o.ImportPaths = opts.Protoset, opts.ProtoFiles, opts.ImportPaths
	if o.TLS {
		t := opts.TLS
		o.Insecure, o.CAFile, o.CertFile, o.KeyFile, o.ServerName = t.Insecure, t.CAFile, t.CertFile, t.KeyFile, t.ServerName
	}
	o.Timeout = opts.Timeout
	if opts.Engine == grpct.EngineFast || opts.Engine == grpct.EngineGRPC {
		o.Engine = opts.Engine
	}
	o.Connections = max(opts.Connections, 1)
	o.StreamsPerConnection = opts.Streams
	// Cache hits are counted only when asked: a field of the response
	// (CacheField), or a header or trailer given explicitly. The HTTP
	// default header says nothing of gRPC.
	if opts.CacheField != "" {
		o.CacheField, o.CacheHit, _ = strings.Cut(opts.CacheField, "=")
	} else if opts.Explicit.CacheHeader && ho.CacheHeader != "" {
		o.CacheHeader, o.CacheHit = strings.ToLower(ho.CacheHeader), ho.CacheHit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := grpct.New(ctx, o)
	if errors.Is(err, grpct.ErrClientCertWanted) {
		return nil, inputErrorf("%v: give one with --cert and --key", err)
	}
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	return t, nil
}

// noteEngine remembers the engine of a gRPC target, for engineOf.
func (p *Plan) noteEngine(t generator.Target) {
	if g, ok := t.(*grpct.Target); ok {
		p.grpcEngine = g.Engine()
	}
}

// setReads makes fast-h1 read lazily (h1.Target.LazyReads) when --reads
// lazy says so, or says why it cannot. auto is eager: lazy reads cost
// less against a slow target (a wake-up grid in force) and more at 20,000
// req/s on one core, with a longer send-lag tail against a fast one
// (docs/performance.md, "Lazy reads"), so they are not the default until
// they follow the grid.
func (p *Plan) setReads() error {
	o := p.opts
	if o.Reads != "lazy" || o.ClosedLoop > 0 || o.closedSteps {
		return nil
	}
	var hs []*h1.Target
	if p.balanced != nil {
		for _, t := range p.balanced.Targets() {
			if h, ok := t.(*h1.Target); ok {
				hs = append(hs, h)
			}
		}
	} else if h, ok := p.target.(*h1.Target); ok {
		hs = append(hs, h)
	}
	lazy := len(hs) > 0
	for _, h := range hs {
		lazy = h.LazyReads() && lazy
	}
	if o.Reads == "lazy" && !lazy {
		return inputErrorf("--reads lazy: for the fast HTTP/1.1 client over plain http on Linux only")
	}
	p.lazy = lazy
	return nil
}

// engineOf names the client a run uses: grpc-fast or grpc (the gRPC
// target's, noted by noteEngine), fast-h1 or net/http.
func (p *Plan) engineOf(o *Options, ho targets.HTTPOptions) string {
	if isGRPC(ho.URL) {
		return p.grpcEngine
	}
	if o.Engine == "net/http" {
		return "net/http"
	}
	if ok, _ := h1.Supported(ho); ok {
		return "fast-h1"
	}
	return "net/http"
}

// tlsSettings records the TLS options in the result file: file paths and
// names, never key material. Nil when none was given.
func tlsSettings(o targets.TLSOptions) *results.TLSSettings {
	if o.IsZero() {
		return nil
	}
	return &results.TLSSettings{CAFile: o.CAFile, ClientCert: o.CertFile, ServerName: o.ServerName, Insecure: o.Insecure}
}

// withHost replaces the host:port of a URL (template) with addr.
func withHost(u, addr string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		j = len(rest)
	}
	return u[:i+3] + addr + rest[j:]
}
