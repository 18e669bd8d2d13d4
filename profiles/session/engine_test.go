package session

import (
	"strings"
	"tailgate/internal/demotest"
	"testing"
)

// The result names the gRPC engine in use: grpc-fast for unary methods,
// grpc (grpc-go) for streaming ones or when asked.
func TestGRPCEngine(t *testing.T) {
	_, base := demotest.GRPC(t, nil)
	for _, c := range []struct {
		method, engine, want string
	}{
		{"demo.Store/Get", "auto", "grpc-fast"},
		{"demo.Store/Get", "grpc", "grpc"},
		{"demo.Store/Get", "grpc-fast", "grpc-fast"},
		{"demo.Store/Scan", "auto", "grpc"},
	} {
		o := Defaults()
		o.URL, o.Rate, o.Engine, o.Body = base+"/"+c.method, 10, c.engine, []byte(`{}`)
		p, err := NewPlan(&o)
		if err != nil {
			t.Fatalf("%s, --engine %s: %v", c.method, c.engine, err)
		}
		if p.settings.Engine != c.want {
			t.Errorf("%s, --engine %s: engine %q, want %q", c.method, c.engine, p.settings.Engine, c.want)
		}
		p.Close()
	}
	for _, c := range []struct{ url, engine, want string }{
		{base + "/demo.Store/Scan", "grpc-fast", "streaming"},
		{"http://127.0.0.1:1/", "grpc", "grpc:// and grpcs://"},
	} {
		o := Defaults()
		o.URL, o.Rate, o.Engine = c.url, 10, c.engine
		if _, err := NewPlan(&o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s, --engine %s: %v, want an error saying %q", c.url, c.engine, err, c.want)
		}
	}
}
