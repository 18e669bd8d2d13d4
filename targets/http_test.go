package targets

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/generator"
)

func TestHTTPRequestShape(t *testing.T) {
	var got struct {
		method, body, hdr, host string
		proto                   int
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.body, got.hdr, got.host, got.proto = r.Method, string(b), r.Header.Get("X-Test"), r.Host, r.ProtoMajor
		w.Header().Set("X-Cache", "hit")
		w.Write([]byte("12345"))
	}))
	defer srv.Close()
	tg, err := NewHTTP(HTTPOptions{URL: srv.URL + "/p", Method: "POST", Body: []byte("abc"),
		Header: http.Header{"X-Test": {"v"}, "Host": {"example.test"}}, CacheHeader: "X-Cache", CacheHit: "HIT"})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	out := tg.Do(context.Background(), 0)
	if !out.OK() || out.Status != 200 || out.BytesIn != 5 || out.BytesOut != 3 || !out.CacheHit {
		t.Fatalf("outcome %+v", out)
	}
	if got.method != "POST" || got.body != "abc" || got.hdr != "v" || got.host != "example.test" || got.proto != 1 {
		t.Fatalf("server saw %+v", got)
	}
}

func TestHTTPStatusesAndRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/missing":
			w.WriteHeader(404)
		default:
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	for path, want := range map[string]struct {
		status int
		ok     bool
	}{"/redirect": {302, true}, "/missing": {404, false}, "/down": {503, false}} {
		tg, _ := NewHTTP(HTTPOptions{URL: srv.URL + path})
		out := tg.Do(context.Background(), 0)
		if out.Status != want.status || out.OK() != want.ok || out.Err != generator.ErrNone {
			t.Errorf("%s: %+v, want status %d ok %v", path, out, want.status, want.ok)
		}
	}
}

func TestHTTPTLS(t *testing.T) {
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	// Verification is on by default: the test server's certificate is untrusted.
	tg, _ := NewHTTP(HTTPOptions{URL: srv.URL})
	if out := tg.Do(context.Background(), 0); out.Err != generator.ErrTLS {
		t.Errorf("untrusted certificate: %+v, want tls error", out)
	}
	tg, _ = NewHTTP(HTTPOptions{URL: srv.URL, Insecure: true})
	if out := tg.Do(context.Background(), 0); !out.OK() || proto.Load() != 1 {
		t.Errorf("--insecure: %+v over HTTP/%d", out, proto.Load())
	}
	tg, _ = NewHTTP(HTTPOptions{URL: srv.URL, Insecure: true, HTTP2: true})
	if out := tg.Do(context.Background(), 0); !out.OK() || proto.Load() != 2 {
		t.Errorf("http2: %+v over HTTP/%d", out, proto.Load())
	}
}

func TestNewHTTPRejects(t *testing.T) {
	for _, o := range []HTTPOptions{{URL: "ftp://x/"}, {URL: "http://"}, {URL: "::"}, {URL: "http://x/", Timeout: -1}, {URL: "http://x/", Connections: -1}} {
		if _, err := NewHTTP(o); err == nil {
			t.Errorf("NewHTTP(%+v) accepted", o)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	f.Add("http://127.0.0.1:8080/item?key=1")
	f.Add("https://[::1]:443/")
	f.Add("http://[::1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err == nil && (u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
			t.Fatalf("ParseURL(%q) accepted %v", s, u)
		}
	})
}

func TestParseTelemetry(t *testing.T) {
	in := `# HELP process_cpu_seconds_total CPU.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# HELP process_resident_memory_bytes RSS.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4.2e+07
# HELP go_gc_duration_seconds GC pauses.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 1e-05
go_gc_duration_seconds{quantile="1"} 0.0021
go_gc_duration_seconds_sum 0.01
go_gc_duration_seconds_count 7
`
	tm, err := ParseTelemetry(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if tm.CPUSeconds != 12.5 || tm.RSSBytes != 4.2e7 || tm.GCPauseMax != 0.0021 {
		t.Fatalf("%+v", tm)
	}
	if _, err := ParseTelemetry(strings.NewReader("garbage{")); err == nil {
		t.Fatal("garbage parsed")
	}
}

// A server with known delays in each part: a slow TLS handshake
// (connection setup), a slow first byte, a slow body. The breakdown
// finds each, and the parts add up to the service time.
func TestHTTPBreakdown(t *testing.T) {
	const hs, first, body = 40 * time.Millisecond, 50 * time.Millisecond, 30 * time.Millisecond
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(first)
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(body)
		w.Write([]byte("done"))
	}))
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		time.Sleep(hs)
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	tg, err := NewHTTP(HTTPOptions{URL: srv.URL, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, fresh := range []bool{true, false} {
		start := time.Now()
		out := tg.Do(context.Background(), uint64(i))
		svc := time.Since(start)
		if !out.OK() || out.NewConn != fresh {
			t.Fatalf("request %d: %+v", i, out)
		}
		if fresh && out.Connect < hs {
			t.Errorf("connection setup %v, want ≥ %v", out.Connect, hs)
		}
		if !fresh && out.Connect != 0 {
			t.Errorf("reused connection reports setup %v", out.Connect)
		}
		if out.TTFB < out.Connect+first {
			t.Errorf("ttfb %v, want ≥ setup %v + %v", out.TTFB, out.Connect, first)
		}
		if bodyTime := svc - out.TTFB; bodyTime < body {
			t.Errorf("body %v, want ≥ %v (ttfb %v of service %v)", bodyTime, body, out.TTFB, svc)
		}
	}
}
