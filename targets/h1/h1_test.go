package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/internal/rawsock"
)

// lazyAll, set by TestMain for its second pass, makes mustNew's targets
// read lazily (LazyReads) where they can: every test that uses mustNew
// runs both ways.
var lazyAll bool

// TestMain runs the package's tests twice: with eager reads, then with
// lazy ones.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && rawsock.LazySupported {
		lazyAll = true
		code = m.Run()
	}
	os.Exit(code)
}

func mustNew(t testing.TB, o targets.HTTPOptions) *Target {
	t.Helper()
	tg, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	if lazyAll {
		tg.LazyReads()
	}
	t.Cleanup(tg.Close)
	return tg
}

// plain is o without its timings and message, for comparisons.
func plain(o generator.Outcome) generator.Outcome {
	o.Connect, o.TTFB, o.NewConn, o.Msg, o.Arrived = 0, 0, false, "", time.Time{}
	return o
}

func TestTimings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // the head goes first
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL})
	first := tg.Do(context.Background(), 0)
	if !first.OK() || !first.NewConn || first.Connect <= 0 || first.TTFB < first.Connect {
		t.Errorf("first request: %+v, want a new connection and TTFB ≥ Connect > 0", first)
	}
	second := tg.Do(context.Background(), 1)
	if !second.OK() || second.NewConn || second.Connect != 0 || second.TTFB <= 0 {
		t.Errorf("second request: %+v, want a reused connection and TTFB > 0", second)
	}
}

// seen is a request as a net/http server saw it.
type seen struct {
	Method, RequestURI, Host, Proto string
	Header                          http.Header
	Body                            string
	ContentLength                   int64
	TransferEncoding                []string
}

// seenServer records every request as the server sees it.
type seenServer struct {
	*httptest.Server
	mu  sync.Mutex
	got []seen
}

func newSeenServer(t *testing.T) *seenServer {
	s := &seenServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, seen{r.Method, r.RequestURI, r.Host, r.Proto, r.Header, string(b), r.ContentLength, r.TransferEncoding})
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// take returns the requests seen so far and forgets them.
func (s *seenServer) take() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// TestRequestsMatchNetHTTP sends the same requests with both clients and
// checks that the server sees the same thing.
func TestRequestsMatchNetHTTP(t *testing.T) {
	srv := newSeenServer(t)
	keys, _ := targets.NewKeys(targets.KeyUniform, 1000, 0, 7)
	data := &targets.Data{Source: "t", Columns: []string{"name", "id"}, Rows: [][]string{{"ann", "1"}, {"bob", "2"}}}
	hostURL := strings.Replace(srv.URL, "127.0.0.1", "user:pw@127.0.0.1", 1)
	for _, o := range []targets.HTTPOptions{
		// Plain GET.
		{URL: srv.URL},
		// Path and query, no templates.
		{URL: srv.URL + "/a/b?x=1&y=two#frag"},
		// POST with a body and headers, one repeated.
		{URL: srv.URL + "/p", Method: "POST", Body: []byte(`{"a":1}`),
			Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"1", "2"}, "Accept": {"*/*"}}},
		// POST, PUT and DELETE without a body.
		{URL: srv.URL + "/e", Method: "POST"},
		{URL: srv.URL + "/e", Method: "PUT"},
		{URL: srv.URL + "/e", Method: "DELETE"},
		// Host and User-Agent set by the user; Content-Length ignored.
		{URL: srv.URL, Header: http.Header{"Host": {"example.test"}, "User-Agent": {"me/1"}, "Content-Length": {"99"}}},
		// Templates everywhere.
		{URL: srv.URL + "/item/{{key}}?seq={{seq}}&n={{data.name}}", Method: "PATCH",
			Body:   []byte(`{"id":{{data.id}},"seq":{{seq}}}`),
			Header: http.Header{"X-Seq": {"s-{{seq}}"}, "X-Key": {" {{key}} "}},
			Vars:   &targets.Vars{Keys: keys, Data: data}},
		// Templated query only.
		{URL: srv.URL + "?k={{key}}"},
		// Credentials in the URL.
		{URL: hostURL + "/auth"},
		// Connection: close asked for.
		{URL: srv.URL + "/c", Header: http.Header{"Connection": {"close"}}},
	} {
		srv.take()
		nh, err := targets.NewHTTP(o)
		if err != nil {
			t.Fatal(err)
		}
		fh := mustNew(t, o)
		for seq := uint64(0); seq < 3; seq++ {
			if out := nh.Do(context.Background(), seq); !out.OK() {
				t.Fatalf("%s: net/http: %+v", o.URL, out)
			}
			out := fh.Do(context.Background(), seq)
			if !out.OK() {
				t.Fatalf("%s: fast-h1: %+v", o.URL, out)
			}
			if want := nh.Do(context.Background(), seq); plain(out) != plain(want) {
				t.Errorf("%s: outcome %+v, net/http %+v", o.URL, out, want)
			}
		}
		nh.Close()
		got := srv.take()
		for i := 0; i+2 < len(got); i += 3 {
			want, have := got[i], got[i+1]
			if !reflect.DeepEqual(want, have) {
				t.Errorf("%s seq %d:\nnet/http %+v\nfast-h1  %+v", o.URL, i/3, want, have)
			}
		}
	}
}

func TestTemplatesPerRequest(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("X-Seq")+" "+string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL + "/{{seq}}", Method: "POST",
		Header: http.Header{"X-Seq": {"h{{seq}}"}}, Body: []byte("b{{seq}}")})
	for seq := uint64(0); seq < 12; seq++ {
		out := tg.Do(context.Background(), seq)
		if !out.OK() || out.BytesOut != int64(len("b"+strconv.FormatUint(seq, 10))) {
			t.Fatalf("seq %d: %+v", seq, out)
		}
	}
	for i, g := range got {
		if want := "/" + strconv.Itoa(i) + " h" + strconv.Itoa(i) + " b" + strconv.Itoa(i); g != want {
			t.Errorf("request %d: %q, want %q", i, g, want)
		}
	}
	if d := tg.dials.Load(); d != 1 {
		t.Errorf("%d dials for sequential keep-alive requests, want 1", d)
	}
}

// TestIdleAfterDeadline: a connection whose last request's deadline
// passed while it sat idle is still reused.
func TestIdleAfterDeadline(t *testing.T) {
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{ok200(1), false} })
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: 20 * time.Millisecond})
	for i := 0; i < 3; i++ {
		if out := tg.Do(context.Background(), 0); !out.OK() {
			t.Fatalf("request %d: %+v", i, out)
		}
		time.Sleep(40 * time.Millisecond)
	}
	if d := tg.dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}

func TestTemplatedValuesEscapedOrRefused(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
	}))
	defer srv.Close()
	data := &targets.Data{Columns: []string{"v"}, Rows: [][]string{{"a b#é"}, {"x\ny"}}}
	vars := &targets.Vars{Data: data}
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL + "/{{data.v}}", Vars: vars})
	// Row 0: escaped as net/http escapes a path.
	if out := tg.Do(context.Background(), 0); !out.OK() || len(uris) != 1 || uris[0] != "/a%20b%23%C3%A9" {
		t.Errorf("escaped: %+v, server saw %q", out, uris)
	}
	// Row 1: a control character, which net/http refuses in a URL.
	if out := tg.Do(context.Background(), 1); out.Err != generator.ErrOther {
		t.Errorf("control character in URL: %+v", out)
	}
	hv := mustNew(t, targets.HTTPOptions{URL: srv.URL, Header: http.Header{"X-V": {"{{data.v}}"}}, Vars: vars})
	if out := hv.Do(context.Background(), 1); out.Err != generator.ErrProtocol {
		t.Errorf("newline in header value: %+v", out)
	}
	if out := hv.Do(context.Background(), 0); !out.OK() {
		t.Errorf("after a refused request: %+v", out)
	}
}

func TestResponses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		resp   string
		close  bool // the server closes after writing resp
		status int
		in     int64
		err    generator.ErrKind
		reuse  bool // the connection is kept for the next request
	}{
		{name: "content-length", resp: ok200(10), status: 200, in: 10, reuse: true},
		{name: "empty", resp: ok200(0), status: 200, reuse: true},
		{name: "chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n", status: 200, in: 16, reuse: true},
		{name: "chunked wins over length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", status: 200, in: 3, reuse: true},
		{name: "connection close", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", close: true, status: 200, in: 2},
		{name: "http/1.0", resp: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", close: true, status: 200, in: 2},
		{name: "http/1.0 keep-alive", resp: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", status: 200, in: 2, reuse: true},
		{name: "until close", resp: "HTTP/1.1 200 OK\r\n\r\nall of this", close: true, status: 200, in: 11},
		{name: "head", method: "HEAD", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", status: 200, reuse: true},
		{name: "204", resp: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, reuse: true},
		{name: "304", resp: "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", status: 304, reuse: true},
		{name: "1xx skipped", resp: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, in: 1, reuse: true},
		{name: "redirect not followed", resp: "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", status: 302, reuse: true},
		{name: "no reason", resp: "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", status: 503, reuse: true},
		{name: "bare LF", resp: "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", status: 200, in: 1, reuse: true},
		{name: "malformed status line", resp: "HTTP/1.1 2x0 OK\r\n\r\n", err: generator.ErrProtocol},
		{name: "not http", resp: "SSH-2.0-OpenSSH\r\n\r\n", err: generator.ErrProtocol},
		{name: "bad content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", err: generator.ErrProtocol},
		{name: "conflicting content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", err: generator.ErrProtocol},
		{name: "bad header line", resp: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", err: generator.ErrProtocol},
		{name: "unsupported transfer-encoding", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", err: generator.ErrProtocol},
		{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: generator.ErrProtocol},
		{name: "chunk without CRLF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", in: 2, err: generator.ErrProtocol},
		{name: "truncated body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", close: true, status: 200, in: 5, err: generator.ErrProtocol},
		{name: "truncated chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", close: true, status: 200, in: 3, err: generator.ErrProtocol},
		{name: "truncated head", resp: "HTTP/1.1 200 OK\r\nContent-Le", close: true, err: generator.ErrProtocol},
		{name: "closed without a response", resp: "", close: true, err: generator.ErrReset},
		{name: "extra bytes after the body", resp: ok200(1) + "garbage", status: 200, in: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{tc.resp, tc.close} })
			tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr + "/", Method: tc.method, Timeout: 5 * time.Second})
			for i := 0; i < 2; i++ {
				out := tg.Do(context.Background(), uint64(i))
				want := generator.Outcome{Status: tc.status, Err: tc.err, BytesIn: tc.in}
				if tc.err != generator.ErrNone {
					want.Status = out.Status // a status may or may not have arrived
				}
				if plain(out) != want {
					t.Fatalf("request %d: %+v, want %+v", i, out, want)
				}
				if (out.Msg != "") != !out.OK() {
					t.Errorf("request %d: %+v: a message if and only if it failed", i, out)
				}
			}
			wantDials := int64(2)
			if tc.reuse {
				wantDials = 1
			}
			if d := tg.dials.Load(); d != wantDials {
				t.Errorf("%d dials for two requests, want %d", d, wantDials)
			}
		})
	}
}

func TestCacheHeader(t *testing.T) {
	s := newRawServer(t, func(n int, _ *rawRequest) rawReply {
		v := []string{"HIT", "miss", "hit"}[n%3]
		return rawReply{"HTTP/1.1 200 OK\r\nx-cache: " + v + "\r\nX-Cache: MISS\r\nContent-Length: 0\r\n\r\n", false}
	})
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, CacheHeader: "X-Cache", CacheHit: "hit"})
	for i, want := range []bool{true, false, true} {
		if out := tg.Do(context.Background(), 0); out.CacheHit != want {
			t.Errorf("response %d: cache hit %v, want %v (first header wins)", i, out.CacheHit, want)
		}
	}
}

func TestLargeBodies(t *testing.T) {
	const size = 8 << 20
	chunk := strings.Repeat("z", 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			for i := 0; i < size/len(chunk); i++ {
				io.WriteString(w, chunk)
				w.(http.Flusher).Flush()
			}
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Header().Set("X-Got", strconv.FormatInt(n, 10))
		for i := 0; i < size/len(chunk); i++ {
			io.WriteString(w, chunk)
		}
	}))
	defer srv.Close()
	for _, path := range []string{"/length", "/chunked"} {
		tg := mustNew(t, targets.HTTPOptions{URL: srv.URL + path})
		for i := 0; i < 2; i++ {
			if out := tg.Do(context.Background(), 0); !out.OK() || out.BytesIn != size {
				t.Fatalf("%s: %+v, want %d bytes in", path, out, size)
			}
		}
		if d := tg.dials.Load(); d != 1 {
			t.Errorf("%s: %d dials", path, d)
		}
	}
	// A large request body, static and templated.
	big := strings.Repeat("b", 1<<20)
	for body, sent := range map[string]int64{big: 1 << 20, big + "{{seq}}": 1<<20 + 1} {
		tg := mustNew(t, targets.HTTPOptions{URL: srv.URL, Method: "POST", Body: []byte(body)})
		if out := tg.Do(context.Background(), 7); !out.OK() || out.BytesIn != size || out.BytesOut != sent {
			t.Errorf("large request body: %+v, want %d bytes out", out, sent)
		}
	}
}

// TestStaleConnections: a server that closes keep-alive connections while
// they are idle. An idle connection found closed is not used, and a
// request that fails on a reused connection before any response arrives is
// retried once on a new one if it is idempotent, as net/http does.
func TestStaleConnections(t *testing.T) {
	s := newRawServer(t, func(n int, _ *rawRequest) rawReply {
		return rawReply{ok200(1), true} // close right after answering, without saying so
	})
	for _, method := range []string{"GET", "POST"} {
		tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Method: method})
		for i := 0; i < 5; i++ {
			time.Sleep(2 * aliveCheck) // let the close arrive and the connection sit idle
			if out := tg.Do(context.Background(), 0); !out.OK() {
				t.Errorf("%s request %d: %+v", method, i, out)
			}
		}
	}
	// Without the idle check (the close races the next request), an
	// idempotent request is retried once.
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr})
	for i := 0; i < 20; i++ {
		if out := tg.Do(context.Background(), 0); !out.OK() {
			t.Errorf("GET %d without waiting: %+v", i, out)
		}
	}
}

// TestCancelPooledConnections: the cancellation hook is kept per
// connection across requests with the same context, and a new context on
// a pooled connection takes over from the old one.
func TestCancelPooledConnections(t *testing.T) {
	var slowNext atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slowNext.Load() {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL})
	ctx1, cancel1 := context.WithCancel(context.Background())
	for i := 0; i < 3; i++ {
		if out := tg.Do(ctx1, 0); !out.OK() {
			t.Fatalf("ctx1: %+v", out)
		}
	}
	cancel1() // fires the hook on the idle connection
	time.Sleep(10 * time.Millisecond)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for i := 0; i < 3; i++ {
		if out := tg.Do(ctx2, 0); !out.OK() {
			t.Fatalf("ctx2 after ctx1 was cancelled: %+v", out)
		}
	}
	if out := tg.Do(context.Background(), 0); !out.OK() {
		t.Fatalf("no context: %+v", out)
	}
	slowNext.Store(true)
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	if out := tg.Do(ctx2, 0); out.Err != generator.ErrCanceled {
		t.Fatalf("ctx2 cancelled in flight: %+v", out)
	}
}

func TestTLS(t *testing.T) {
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		io.WriteString(w, "secure")
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	defer srv.Close()
	// Verification is on by default: the test server's certificate is untrusted.
	if out := mustNew(t, targets.HTTPOptions{URL: srv.URL}).Do(context.Background(), 0); out.Err != generator.ErrTLS {
		t.Errorf("untrusted certificate: %+v, want tls error", out)
	}
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL, Insecure: true})
	for i := 0; i < 3; i++ {
		if out := tg.Do(context.Background(), 0); !out.OK() || out.BytesIn != 6 || proto.Load() != 1 {
			t.Errorf("--insecure: %+v over HTTP/%d", out, proto.Load())
		}
	}
	if d := tg.dials.Load(); d != 1 {
		t.Errorf("%d TLS dials for 3 requests", d)
	}
	// Plain HTTP to a TLS port.
	plain := "http" + strings.TrimPrefix(srv.URL, "https")
	if out := mustNew(t, targets.HTTPOptions{URL: plain}).Do(context.Background(), 0); out.OK() {
		t.Errorf("http to a TLS server: %+v", out)
	}
}

func TestConnectionsCap(t *testing.T) {
	var in, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := in.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		in.Add(-1)
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL, Connections: 2})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out := tg.Do(context.Background(), 0); !out.OK() {
				t.Errorf("%+v", out)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d requests at the server at once, cap 2", p)
	}
	if d := tg.dials.Load(); d > 2 {
		t.Errorf("%d dials, cap 2", d)
	}
	// Waiting for a connection is bounded by the timeout.
	tg = mustNew(t, targets.HTTPOptions{URL: srv.URL, Connections: 1, Timeout: time.Millisecond})
	tg.pool.sem <- struct{}{} // the only connection is busy
	if out := tg.Do(context.Background(), 0); out.Err != generator.ErrTimeout {
		t.Errorf("waiting for a connection past the timeout: %+v", out)
	}
}

func TestUnsupportedAndInvalid(t *testing.T) {
	for _, o := range []targets.HTTPOptions{
		{URL: "https://x/", HTTP2: true},
		{URL: "http://x/", Header: http.Header{"Expect": {"100-continue"}}},
		{URL: "http://{{key}}.x/"},
		{URL: "grpc://x/"},
	} {
		ok, why := Supported(o)
		_, err := New(o)
		if ok || why == "" || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), why) {
			t.Errorf("%+v: Supported %v %q, New error %v", o, ok, why, err)
		}
	}
	for _, o := range []targets.HTTPOptions{
		{URL: "ftp//x/"}, {URL: "http://"}, {URL: "::"},
		{URL: "http://x/", Timeout: -1}, {URL: "http://x/", Connections: -1},
		{URL: "http://x/", Method: "GE T"},
		{URL: "http://x/", Header: http.Header{"X": {"a\r\nb"}}},
		{URL: "http://x/", Header: http.Header{"X Y": {"a"}}},
		{URL: "http://x/{{nope}}"},
	} {
		_, err := New(o)
		if err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("New(%+v): %v, want a validation error", o, err)
		}
	}
	if ok, why := Supported(targets.HTTPOptions{URL: "https://x/{{key}}", Insecure: true}); !ok {
		t.Errorf("https with a templated path: %s", why)
	}
	if e := mustNew(t, targets.HTTPOptions{URL: "http://x/"}).Engine(); e != "fast-h1" {
		t.Errorf("Engine() = %q", e)
	}
}

// TestConcurrent runs many goroutines over a small pool, for the race
// detector.
func TestConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("s"))
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL + "/?s={{seq}}", Connections: 4})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				seq := uint64(g*1000 + i)
				if out := tg.Do(context.Background(), seq); !out.OK() || out.BytesIn != int64(len(strconv.FormatUint(seq, 10))) {
					t.Errorf("seq %d: %+v", seq, out)
				}
			}
		}()
	}
	wg.Wait()
}

func TestBatchMatchesNetHTTP(t *testing.T) {
	srv := newSeenServer(t)
	for _, o := range []targets.HTTPOptions{
		{URL: srv.URL + "/batch?first={{seq}}", BatchItem: `{"id":{{seq}}}`},
		{URL: srv.URL + "/batch", Method: "PUT", Body: []byte(`"k{{key}}"`)},
		{URL: srv.URL + "/batch", Method: "POST", Body: []byte(`static`)},
	} {
		srv.take()
		nh, err := targets.NewHTTP(o)
		if err != nil {
			t.Fatal(err)
		}
		defer nh.Close()
		fh := mustNew(t, o)
		seqs := []uint64{5, 6, 9}
		want := nh.DoBatch(context.Background(), seqs)
		out := fh.DoBatch(context.Background(), seqs)
		if !out.OK() || plain(out) != plain(want) {
			t.Errorf("%+v: DoBatch %+v, net/http %+v", o, out, want)
		}
		// Do on the same target sends the plain body.
		want, out = nh.Do(context.Background(), 3), fh.Do(context.Background(), 3)
		if !out.OK() || plain(out) != plain(want) {
			t.Errorf("%+v: Do %+v, net/http %+v", o, out, want)
		}
		if got := srv.take(); len(got) != 4 || !reflect.DeepEqual(got[0], got[1]) || !reflect.DeepEqual(got[2], got[3]) {
			t.Errorf("%+v: server saw\n%+v", o, got)
		}
	}
	if out := mustNew(t, targets.HTTPOptions{URL: srv.URL}).DoBatch(context.Background(), nil); out.Err != generator.ErrOther {
		t.Errorf("empty batch: %+v", out)
	}
}

// Warm opens connections that the first requests then use: no dial on
// the hot path. It respects the connection cap.
func TestWarm(t *testing.T) {
	url := cannedServer(t, cannedOK)
	tg, err := New(targets.HTTPOptions{URL: url + "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	var _ generator.Warmer = tg
	if got := tg.Warm(context.Background(), 6); got != 6 || tg.dials.Load() != 6 {
		t.Fatalf("warmed %d, dialed %d, want 6", got, tg.dials.Load())
	}
	// Six requests at once: all on warm connections.
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out := tg.Do(context.Background(), 1); !out.OK() || out.NewConn {
				t.Errorf("%+v", out)
			}
		}()
	}
	wg.Wait()
	if d := tg.dials.Load(); d != 6 {
		t.Fatalf("dialed %d after the requests, want 6", d)
	}
	capped, err := New(targets.HTTPOptions{URL: url + "/", Connections: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer capped.Close()
	if got := capped.Warm(context.Background(), 10); got != 3 {
		t.Fatalf("warmed %d with --connections 3", got)
	}
}

// TestLingeringClose: a server that closes a keep-alive connection the way
// nginx's lingering close and net/http's closeWriteAndWait do, sending its
// FIN right after a response while it goes on reading (and dropping) what
// arrives, then closing without a reset. The next request, sent sooner
// than the idle check, must not wait for its timeout on that connection:
// net/http's reader goroutine sees the FIN first; here the wait for the
// answer must see it as the end of the connection, and the idempotent
// request is retried on a new one.
func TestLingeringClose(t *testing.T) {
	s := newConnServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRawRequest(br); err != nil {
			return
		}
		io.WriteString(c, ok200(1))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		readRawRequest(br) // the next request is read and dropped
	})
	const timeout = 5 * time.Second
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: timeout})
	for i := 0; i < 10; i++ {
		start := time.Now()
		out := tg.Do(context.Background(), 0)
		if !out.OK() {
			t.Fatalf("request %d: %+v", i, out)
		}
		if el := time.Since(start); el > timeout/2 {
			t.Fatalf("request %d took %v of its %v timeout: it waited on a connection the server had closed", i, el, timeout)
		}
		time.Sleep(aliveCheck / 5) // the FIN arrives; the connection is not checked before reuse
	}
}

// TestAnswerOnAccept: a server at its limit that answers 503 the moment it
// accepts, sends its FIN and reads on (a lingering close). The request on
// that new connection goes out and the 503 is its answer, well before the
// timeout: what the server sent before the request must not be lost to
// the poller's reset while the request waits.
func TestAnswerOnAccept(t *testing.T) {
	s := newConnServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	})
	const timeout = 5 * time.Second
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: timeout})
	tg.dialed = func() { time.Sleep(20 * time.Millisecond) } // the 503 is there before the request goes out
	for i := 0; i < 5; i++ {
		start := time.Now()
		out := tg.Do(context.Background(), 0)
		if out.Status != 503 || out.Err != generator.ErrNone {
			t.Fatalf("request %d: %+v, want the 503", i, out)
		}
		if el := time.Since(start); el > timeout/2 {
			t.Fatalf("request %d took %v of its %v timeout", i, el, timeout)
		}
	}
}
