package grpc

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL parses a gRPC target URL into the Target, Method and TLS fields
// of an Options:
//
//	grpc://host:port/pkg.Service/Method    plaintext
//	grpcs://host:port/pkg.Service/Method   TLS
//
// The port is required; IPv6 hosts go in brackets. No user, query or
// fragment is allowed.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, fmt.Errorf("malformed gRPC URL %q: %v", raw, unwrapURLError(err))
	}
	var o Options
	switch u.Scheme {
	case "grpc":
	case "grpcs":
		o.TLS = true
	default:
		return Options{}, fmt.Errorf("URL %q: scheme must be grpc or grpcs", raw)
	}
	switch {
	case u.Opaque != "":
		return Options{}, fmt.Errorf("URL %q: want grpc://host:port/pkg.Service/Method", raw)
	case u.User != nil:
		return Options{}, fmt.Errorf("URL %q: user information is not supported", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return Options{}, fmt.Errorf("URL %q: a query is not supported", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return Options{}, fmt.Errorf("URL %q: a fragment is not supported", raw)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return Options{}, fmt.Errorf("URL %q: want host:port", raw)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return Options{}, fmt.Errorf("URL %q: port %q must be in [1, 65535]", raw, port)
	}
	path := u.Path
	if u.RawPath != "" {
		return Options{}, fmt.Errorf("URL %q: escapes are not allowed in the method", raw)
	}
	if strings.Count(path, "/") != 2 {
		return Options{}, fmt.Errorf("URL %q: path must be /pkg.Service/Method", raw)
	}
	svc, method, err := splitMethod(path)
	if err != nil {
		return Options{}, fmt.Errorf("URL %q: %w", raw, err)
	}
	o.Target = net.JoinHostPort(host, port)
	o.Method = svc + "/" + method
	return o, nil
}

// URL formats o's Target, Method and TLS as a URL that ParseURL accepts.
func (o Options) URL() string {
	scheme := "grpc"
	if o.TLS {
		scheme = "grpcs"
	}
	return scheme + "://" + o.Target + "/" + strings.TrimPrefix(o.Method, "/")
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
