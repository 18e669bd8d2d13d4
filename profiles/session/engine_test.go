package session

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"tailgate/internal/demotest"
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

// fast-h1 reads lazily when told to in an open-loop run over plain http
// (on Linux), and the result says so; auto and eager read eagerly;
// --reads lazy where it cannot is an input error. A measured run with
// lazy reads completes every request with its times in order.
func TestReads(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("lazy reads need Linux")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	for _, c := range []struct {
		url, reads string
		closed     int
		want       string
	}{
		{srv.URL + "/", "auto", 0, ""},
		{srv.URL + "/", "lazy", 0, "lazy"},
		{srv.URL + "/", "eager", 0, ""},
		{srv.URL + "/", "auto", 4, ""},
		{tlsSrv.URL + "/", "auto", 0, ""},
	} {
		o := Defaults()
		o.URL, o.Rate, o.Reads, o.ClosedLoop, o.TLS.Insecure = c.url, 10, c.reads, c.closed, true
		p, err := NewPlan(&o)
		if err != nil {
			t.Fatalf("%s --reads %s, closed %d: %v", c.url, c.reads, c.closed, err)
		}
		if p.settings.Reads != c.want {
			t.Errorf("%s --reads %s, closed %d: reads %q, want %q", c.url, c.reads, c.closed, p.settings.Reads, c.want)
		}
		p.Close()
	}
	for _, c := range []struct {
		url, engine string
		closed      int
		want        string
	}{
		{tlsSrv.URL + "/", "auto", 0, "plain http"},
		{srv.URL + "/", "net/http", 0, "plain http"},
		{srv.URL + "/", "auto", 4, "open-loop"},
	} {
		o := Defaults()
		o.URL, o.Rate, o.Reads, o.Engine, o.ClosedLoop, o.TLS.Insecure = c.url, 10, "lazy", c.engine, c.closed, true
		if _, err := NewPlan(&o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s --engine %s --reads lazy, closed %d: %v, want an error saying %q", c.url, c.engine, c.closed, err, c.want)
		}
	}

	o := Defaults()
	o.URL, o.Rate, o.Duration, o.Reads = srv.URL+"/", 200, time.Second, "lazy"
	p, err := NewPlan(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m, err := p.Measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := m.File
	tot := f.Summary.Total
	if f.Settings.Reads != "lazy" || tot.Completed() != 200 || tot.OK != 200 {
		t.Fatalf("reads %q, %d completed, %d ok; want lazy, 200, 200", f.Settings.Reads, tot.Completed(), tot.OK)
	}
	if tot.Service.P50 <= 0 || tot.Service.P50 > tot.Response.P50 || tot.Service.Max > tot.Response.Max {
		t.Fatalf("service p50 %v max %v, response p50 %v max %v", tot.Service.P50, tot.Service.Max, tot.Response.P50, tot.Response.Max)
	}
}
