package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/internal/fdtest"
)

func TestErrorMessage(t *testing.T) {
	long := strings.Repeat("é", 100)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Get", URL: "http://h/p?token=secret", Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
			"dial tcp 127.0.0.1:1: connect: connection refused"},
		{errors.New("first line\nsecond line"), "first line"},
		{errors.New(`redirect to "https://h/x?key=secret" refused`), `redirect to "https://h/x" refused`},
		{errors.New("see http://a/?q=1 and ftp://b/c?d=2"), "see http://a/ and ftp://b/c"},
		{errors.New("no query: http://a/b"), "no query: http://a/b"},
		{errors.New("read tcp 127.0.0.1:34220->127.0.0.1:8080: i/o timeout"), "read tcp 127.0.0.1:8080: i/o timeout"},
		{errors.New("write tcp [::1]:5->[::1]:80: broken pipe; a -> b"), "write tcp [::1]:80: broken pipe; a -> b"},
		{errors.New(long), strings.Repeat("é", 58) + "…"},
	} {
		got := ErrorMessage(tc.err)
		if got != tc.want {
			t.Errorf("ErrorMessage(%q) = %q, want %q", tc.err, got, tc.want)
		}
		if len(got) > MaxMsg {
			t.Errorf("ErrorMessage(%q) is %d bytes, more than %d", tc.err, len(got), MaxMsg)
		}
	}
	if ErrorMessage(nil) != "" {
		t.Error("a message for no error")
	}
}

func TestClassifyGeneratorLimits(t *testing.T) {
	dial := func(call string, errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: "http://127.0.0.1:8080/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(call, errno)}}
	}
	for _, tc := range []struct {
		err  error
		want generator.ErrKind
	}{
		{dial("socket", syscall.EMFILE), generator.ErrFDLimit},
		{dial("socket", syscall.ENFILE), generator.ErrFDLimit},
		{fmt.Errorf("accept: %w", syscall.EMFILE), generator.ErrFDLimit},
		{dial("connect", syscall.EADDRNOTAVAIL), generator.ErrPorts},
		{errors.New("dial tcp 127.0.0.1:80: socket: too many open files"), generator.ErrFDLimit},
		{errors.New("dial tcp 127.0.0.1:80: connect: cannot assign requested address"), generator.ErrPorts},
		{dial("connect", syscall.ECONNREFUSED), generator.ErrRefused},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if !Classify(tc.err).Generator() && tc.want != generator.ErrRefused {
			t.Errorf("%v: not the generator's own failure", tc.err)
		}
	}
	if m := ErrorMessage(dial("socket", syscall.EMFILE)); m != "dial tcp: socket: too many open files" {
		t.Errorf("message %q", m)
	}
}

func TestStatusMsg(t *testing.T) {
	if m := StatusMsg(503); m != "HTTP 503 Service Unavailable" {
		t.Errorf("StatusMsg(503) = %q", m)
	}
	if m := StatusMsg(599); m != "HTTP 599" {
		t.Errorf("StatusMsg(599) = %q", m)
	}
	if m := StatusMsg(999); m != "HTTP 999" {
		t.Errorf("StatusMsg(999) = %q", m)
	}
	var out generator.Outcome
	if n := testing.AllocsPerRun(100, func() {
		out = generator.Outcome{Status: 503}
		Describe(&out)
	}); n != 0 || out.Msg != "HTTP 503 Service Unavailable" {
		t.Errorf("Describe(503): %q, %v allocations", out.Msg, n)
	}
	for _, o := range []generator.Outcome{{Status: 200}, {Status: 302}, {Status: 1014}, {Err: generator.ErrTimeout, Msg: "x"}} {
		want := o.Msg
		Describe(&o)
		if o.Msg != want {
			t.Errorf("Describe(%+v) set %q", o, o.Msg)
		}
	}
}

// TestHTTPErrorMessages: every error says what went wrong, in words a
// reader can act on, without the URL's query.
func TestHTTPErrorMessages(t *testing.T) {
	// A certificate the client does not trust (no --insecure).
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tg, err := NewHTTP(HTTPOptions{URL: tlsSrv.URL + "/?token=secret"})
	if err != nil {
		t.Fatal(err)
	}
	out := tg.Do(context.Background(), 0)
	if out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "x509") {
		t.Errorf("untrusted certificate: %+v, want tls with the x509 reason", out)
	}
	if strings.Contains(out.Msg, "secret") || strings.Contains(out.Msg, "token") {
		t.Errorf("untrusted certificate: %q quotes the URL", out.Msg)
	}

	// Refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg, _ = NewHTTP(HTTPOptions{URL: "http://" + addr + "/p?token=secret"})
	out = tg.Do(context.Background(), 0)
	if out.Err != generator.ErrRefused || !strings.Contains(out.Msg, "refused") || !strings.Contains(out.Msg, addr) {
		t.Errorf("refused: %+v, want the refused address in Msg", out)
	}
	if strings.Contains(out.Msg, "secret") {
		t.Errorf("refused: %q quotes the URL", out.Msg)
	}

	// A failing status, and a success with no message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tg, _ = NewHTTP(HTTPOptions{URL: srv.URL + "/down"})
	if out := tg.Do(context.Background(), 0); out.Err != generator.ErrNone || out.Msg != "HTTP 503 Service Unavailable" {
		t.Errorf("503: %+v", out)
	}
	tg, _ = NewHTTP(HTTPOptions{URL: srv.URL + "/"})
	if out := tg.Do(context.Background(), 0); !out.OK() || out.Msg != "" {
		t.Errorf("200: %+v", out)
	}
}

// TestHTTPFDLimit: out of file descriptors, a request fails with the
// generator's own fd-limit kind, and says so.
func TestHTTPFDLimit(t *testing.T) {
	addr, child := fdtest.Child(t)
	if !child {
		return
	}
	tg, err := NewHTTP(HTTPOptions{URL: "http://" + addr + "/", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	fdtest.Check(t, fdtest.Exhaust(t, tg))
}
