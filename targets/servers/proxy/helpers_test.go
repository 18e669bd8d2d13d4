package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain fails the run if any goroutine of this package's server outlives
// the tests (every test closes its servers through t.Cleanup).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoServerGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked proxy goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// serverGoroutines returns the stacks of goroutines running this package's
// server code (not test helpers).
func serverGoroutines() string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range []string{
			"tailgate/targets/servers/proxy.(*pipe)",
			"tailgate/targets/servers/proxy.(*link)",
			"tailgate/targets/servers/proxy.(*managedProxy)",
			"tailgate/targets/servers/proxy.(*Server).Serve",
		} {
			if strings.Contains(g, fn) {
				out = append(out, g)
				break
			}
		}
	}
	return strings.Join(out, "\n\n")
}

func waitNoServerGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		g := serverGoroutines()
		if g == "" || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testServer is our Server with its API on an httptest server.
type testServer struct {
	srv    *Server
	api    *httptest.Server
	client *Client
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	s := NewServer(Options{})
	api := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		api.Close()
		s.Close()
	})
	return &testServer{srv: s, api: api, client: NewClient(api.URL)}
}

// apiCall does one raw API request and returns status and body.
func apiCall(t *testing.T, base, method, path, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// createProxy creates an enabled proxy on a free loopback port and returns
// the address it listens on.
func createProxy(t *testing.T, base, name, upstream string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"listen":"127.0.0.1:0","upstream":%q}`, name, upstream)
	status, data := apiCall(t, base, http.MethodPost, "/proxies", body)
	if status != http.StatusCreated {
		t.Fatalf("create proxy: %d %s", status, data)
	}
	var p struct {
		Listen string `json:"listen"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p.Listen
}

// startEcho runs a TCP echo server on loopback. Each connection echoes until
// EOF, then half-closes. All connections are closed at cleanup.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if errors.Is(err, io.EOF) {
							_ = c.(*net.TCPConn).CloseWrite()
							// Wait for the peer to close.
							_, _ = io.Copy(io.Discard, c)
						}
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads the echo, returning how long it took.
func roundTrip(t *testing.T, c net.Conn, msg []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if err := c.SetDeadline(start.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo mismatch")
	}
	return time.Since(start)
}

// minRoundTrip is the fastest of n round trips, robust against a noisy
// machine.
func minRoundTrip(t *testing.T, c net.Conn, n int) time.Duration {
	t.Helper()
	best := time.Duration(1<<63 - 1)
	for range n {
		best = min(best, roundTrip(t, c, []byte("ping")))
	}
	return best
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newHandlerServer serves h on a loopback httptest server closed at cleanup
// and returns its URL.
func newHandlerServer(t *testing.T, h http.Handler) string {
	t.Helper()
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	return api.URL
}
