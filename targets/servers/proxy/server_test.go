package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

func TestServeLifecycle(t *testing.T) {
	s := NewServer(Options{Version: "test-version"})
	t.Cleanup(func() { s.Close() })

	// Serve stops when its context is canceled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	status, body := apiCall(t, base, http.MethodGet, "/version", "")
	if status != http.StatusOK || string(body) != "test-version" {
		t.Fatalf("version: %d %q", status, body)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}

	// ListenAndServe stops when the Server is closed.
	go func() { served <- s.ListenAndServe(context.Background(), "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond) // let it register; Close must stop it either way
	s.Close()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, errServerClosed) {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return after Close")
	}

	if err := NewServer(Options{}).ListenAndServe(context.Background(), "127.0.0.1:99999"); err == nil {
		t.Fatal("ListenAndServe on a bad address succeeded")
	}
}

func TestDefaults(t *testing.T) {
	for in, want := range map[string]string{
		"":               "127.0.0.1:0",
		":8474":          "127.0.0.1:8474",
		"0.0.0.0:1":      "0.0.0.0:1",
		"localhost:9":    "localhost:9",
		"[::1]:5":        "[::1]:5",
		"no-port":        "no-port",
		"127.0.0.1:2000": "127.0.0.1:2000",
	} {
		if got := normalizeListen(in); got != want {
			t.Errorf("normalizeListen(%q) = %q, want %q", in, got, want)
		}
	}
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "p", "127.0.0.1:1")
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("proxy listens on %s", addr)
	}
	status, body := apiCall(t, ts.api.URL, "POST", "/proxies", `{"name":"nolisten","upstream":"127.0.0.1:1"}`)
	if status != http.StatusCreated || !bytes.Contains(body, []byte(`"listen":"127.0.0.1:`)) {
		t.Fatalf("proxy without listen: %d %s", status, body)
	}
	status, body = apiCall(t, ts.api.URL, "GET", "/version", "")
	if status != http.StatusOK || string(body) != DefaultVersion {
		t.Fatalf("version: %d %q", status, body)
	}
}

// A client of a proxy whose upstream is down is disconnected.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	ts := newTestServer(t)
	c := dial(t, createProxy(t, ts.api.URL, "dead", dead))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the connection closed", err)
	}
}

// Toxics that delay but never drop data (latency, bandwidth, noop) can be
// added, updated and removed while data flows, without corrupting it; the
// proxy can be disabled and re-enabled under load. Run with -race.
func TestToxicChurnUnderLoad(t *testing.T) {
	ts := newTestServer(t)
	addr := createProxy(t, ts.api.URL, "churn", startEcho(t))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := echoPayload(addr, 128<<10); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := ts.client
		for i := 0; ctx.Err() == nil; i++ {
			bg := context.Background()
			stream := []string{StreamUpstream, StreamDownstream}[i%2]
			name := fmt.Sprintf("t%d", i%3)
			_ = c.RemoveToxic(bg, "churn", name)
			var tx Toxic
			switch i % 3 {
			case 0:
				tx = Toxic{Type: ToxicLatency, Attributes: Attributes{"latency": 2, "jitter": 1}}
			case 1:
				tx = Toxic{Type: ToxicBandwidth, Attributes: Attributes{"rate": 50_000}}
			case 2:
				tx = Toxic{Type: ToxicNoop, Toxicity: 0.5}
			}
			tx.Name, tx.Stream = name, stream
			if err := c.AddToxic(bg, "churn", tx); err != nil {
				errs <- err
				return
			}
			status, body := apiCall(t, ts.api.URL, "POST", "/proxies/churn/toxics/"+name, `{"toxicity":0.9}`)
			if status != http.StatusOK {
				errs <- fmt.Errorf("update toxic: %d %s", status, body)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Disabling under load closes everything; re-enabling works.
	conns := make([]net.Conn, 5)
	for i := range conns {
		conns[i] = dial(t, addr)
		go func(c net.Conn) { _, _ = io.Copy(c, rand.Reader) }(conns[i])
	}
	time.Sleep(50 * time.Millisecond)
	if err := ts.client.SetEnabled(testCtx(t), "churn", false); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("connection still open after disable")
		}
	}
	if err := ts.client.Reset(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := echoPayload(addr, 64<<10); err != nil {
		t.Fatal(err)
	}
}
