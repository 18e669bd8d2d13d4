//go:build unix

// Command fasthttpcmp is loadcmp with one more engine, "fasthttp"
// (github.com/valyala/fasthttp's HostClient), the library alternative
// measured before choosing our own client:
//
//	cd targets/h1/internal/loadcmp/fasthttpcmp
//	go run . all -engines fast-h1,fasthttp,net-http,noop
package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/h1/internal/loadcmp"
)

func main() {
	os.Exit(loadcmp.Main(os.Args[1:], map[string]loadcmp.Factory{"fasthttp": newFastHTTP}))
}

// fh is a generator.Target on fasthttp, used as its documentation
// suggests: pooled Request and Response objects, a HostClient per host,
// a deadline per request.
type fh struct {
	c       *fasthttp.HostClient
	url     string
	timeout time.Duration
}

func newFastHTTP(o targets.HTTPOptions) (generator.Target, func(), error) {
	u, err := targets.ParseURL(o.URL)
	if err != nil {
		return nil, nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	maxConns := o.Connections
	if maxConns == 0 {
		maxConns = 1 << 20 // unbounded, as net/http and fast-h1 with Connections 0
	}
	t := &fh{
		c: &fasthttp.HostClient{
			Addr:                          addr,
			MaxConns:                      maxConns,
			ReadBufferSize:                16 << 10,
			NoDefaultUserAgentHeader:      false,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
		},
		url:     (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawQuery: u.RawQuery}).String(),
		timeout: o.Timeout,
	}
	if t.timeout == 0 {
		t.timeout = targets.DefaultTimeout
	}
	return t, t.c.CloseIdleConnections, nil
}

func (t *fh) Do(ctx context.Context, seq uint64) generator.Outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.url)
	err := t.c.DoDeadline(req, resp, time.Now().Add(t.timeout))
	if err != nil {
		return generator.Outcome{Err: classify(err)}
	}
	return generator.Outcome{Status: resp.StatusCode(), BytesIn: int64(len(resp.Body()))}
}

func classify(err error) generator.ErrKind {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return generator.ErrTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return generator.ErrReset
	}
	return targets.Classify(err)
}
