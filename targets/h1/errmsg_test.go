package h1

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/internal/fdtest"
	"tailgate/targets"
)

// TestErrorMessages: every error says what went wrong, in words a reader
// can act on, without the URL's query; a success says nothing.
func TestErrorMessages(t *testing.T) {
	// A certificate the client does not trust (no --insecure).
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	out := mustNew(t, targets.HTTPOptions{URL: tlsSrv.URL + "/?token=secret"}).Do(context.Background(), 0)
	if out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "x509") {
		t.Errorf("untrusted certificate: %+v, want tls with the x509 reason", out)
	}
	if strings.Contains(out.Msg, "secret") {
		t.Errorf("untrusted certificate: %q quotes the URL", out.Msg)
	}

	// Refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out = mustNew(t, targets.HTTPOptions{URL: "http://" + addr + "/p?token=secret"}).Do(context.Background(), 0)
	if out.Err != generator.ErrRefused || !strings.Contains(out.Msg, "refused") || !strings.Contains(out.Msg, addr) {
		t.Errorf("refused: %+v, want the refused address in Msg", out)
	}
	if strings.Contains(out.Msg, "secret") {
		t.Errorf("refused: %q quotes the URL", out.Msg)
	}

	// A timeout.
	hang := newConnServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	out = mustNew(t, targets.HTTPOptions{URL: "http://" + hang.addr + "/", Timeout: 50 * time.Millisecond}).Do(context.Background(), 0)
	if out.Err != generator.ErrTimeout || out.Msg == "" {
		t.Errorf("timeout: %+v, want a message", out)
	}

	// A failing status, and a success with no message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tg := mustNew(t, targets.HTTPOptions{URL: srv.URL + "/down"})
	for i := range 2 { // a new connection, then a reused one
		if out := tg.DoWorker(context.Background(), 0, uint64(i)); out.Err != generator.ErrNone || out.Msg != "HTTP 503 Service Unavailable" {
			t.Errorf("503: %+v", out)
		}
	}
	if out := mustNew(t, targets.HTTPOptions{URL: srv.URL + "/"}).Do(context.Background(), 0); !out.OK() || out.Msg != "" {
		t.Errorf("200: %+v", out)
	}
}

// TestFailingStatusAllocs: a failing status is described from a table, at
// no allocation.
func TestFailingStatusAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need the steady state")
	}
	tg := mustNew(t, targets.HTTPOptions{URL: cannedServer(t, []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown")) + "/"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	do := func() {
		if out := tg.DoWorker(ctx, 0, 1); out.Status != 503 || out.Msg != "HTTP 503 Service Unavailable" {
			t.Fatalf("%+v", out)
		}
	}
	for range 100 {
		do()
	}
	if n := testing.AllocsPerRun(1000, do); n > 0 {
		t.Errorf("%.2f allocations per failing request, want 0", n)
	}
}

// TestFDLimit: out of file descriptors, a request fails with the
// generator's own fd-limit kind, and says so.
func TestFDLimit(t *testing.T) {
	addr, child := fdtest.Child(t)
	if !child {
		return
	}
	tg, err := New(targets.HTTPOptions{URL: "http://" + addr + "/", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	fdtest.Check(t, fdtest.Exhaust(t, tg))
}
