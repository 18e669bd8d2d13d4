package h1

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/servers/faultserver"
)

// engine is one of the two HTTP/1.1 clients, built from the same options.
type engine struct {
	name string
	make func(testing.TB, targets.HTTPOptions) generator.Target
}

var engines = []engine{
	{"net/http", func(t testing.TB, o targets.HTTPOptions) generator.Target {
		h, err := targets.NewHTTP(o)
		if err != nil {
			t.Fatalf("NewHTTP(%+v): %v", o, err)
		}
		t.Cleanup(h.Close)
		return h
	}},
	{"fast-h1", func(t testing.TB, o targets.HTTPOptions) generator.Target { return mustNew(t, o) }},
}

// kindRow is a scenario that both clients must count the same way.
type kindRow struct {
	name string
	// Exactly one of these makes the target: raw response bytes from a
	// server that then closes (FIN); a faultserver mode; any URL.
	resp string
	mode faultserver.Mode
	url  func(t *testing.T) string

	timeout time.Duration // default 5 s
	// ctx, when set, gives the request's context (a deadline, a cancel).
	ctx func() (context.Context, context.CancelFunc)

	kind   generator.ErrKind // ErrNone: no transport error
	ok     bool              // with ErrNone: a success (else a failing status)
	status int               // the status both must report (0: none)
}

// kindRows are the scenarios of the taxonomy in docs/hardening.md ("One
// taxonomy"): the rule for each kind, then the cases at its edges.
func kindRows() []kindRow {
	const hang = 100 * time.Millisecond
	return []kindRow{
		// refused: nothing listens.
		{name: "refused", mode: faultserver.Refuse, kind: generator.ErrRefused},
		// dns: the name does not resolve (locally: see UnresolvableHost).
		{name: "dns", url: func(*testing.T) string { return "http://" + faultserver.UnresolvableHost + "/" }, kind: generator.ErrDNS},

		// timeout: the timeout expired, whatever else happened after it.
		{name: "timeout/hang", mode: faultserver.Hang, timeout: hang, kind: generator.ErrTimeout},
		{name: "timeout/mid-body", url: headThenHang, timeout: hang, kind: generator.ErrTimeout, status: 200},
		{name: "timeout/context-deadline", mode: faultserver.Hang, kind: generator.ErrTimeout,
			ctx: func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), hang) }},
		// A server that closes when the client's timeout expires (a proxy's
		// own 30 s, say): its close comes after the client's deadline, so
		// it is a timeout, whichever the client notices first.
		{name: "timeout/peer-closes-at-the-deadline", url: closeAfter(hang), timeout: hang, kind: generator.ErrTimeout},

		// canceled: the run ended the request.
		{name: "canceled/in-flight", mode: faultserver.Hang, kind: generator.ErrCanceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			}},
		{name: "canceled/before", mode: faultserver.OK, kind: generator.ErrCanceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			}},

		// reset: the peer reset the connection (at any point), or closed
		// it before any byte of the response.
		{name: "reset/before-response", mode: faultserver.ResetBeforeResponse, kind: generator.ErrReset},
		{name: "reset/close-before-response", mode: faultserver.CloseBeforeResponse, kind: generator.ErrReset},
		{name: "reset/mid-response", mode: faultserver.ResetMidResponse, kind: generator.ErrReset, status: 200},

		// tls: the handshake failed.
		{name: "tls/untrusted", url: untrustedTLS, kind: generator.ErrTLS},
		{name: "tls/https-to-plaintext", url: func(t *testing.T) string {
			return "https://" + faultserver.StartTB(t, faultserver.OK, faultserver.Options{}).Addr() + "/"
		}, kind: generator.ErrTLS},

		// protocol: a response began and was cut short by a clean close
		// (FIN: the peer said it was done, with less than it declared)…
		{name: "protocol/short-body", mode: faultserver.WrongContentLength, kind: generator.ErrProtocol, status: 200},
		{name: "protocol/close-after-headers", mode: faultserver.CloseAfterHeaders, kind: generator.ErrProtocol, status: 200},
		{name: "protocol/truncated-chunked", mode: faultserver.TruncatedChunked, kind: generator.ErrProtocol, status: 200},
		{name: "protocol/truncated-trailer", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/truncated-head", resp: "HTTP/1.1 200 OK\r\nContent-Le", kind: generator.ErrProtocol},
		{name: "protocol/status-line-only", resp: "HTTP/1.1 200 OK\r\n", kind: generator.ErrProtocol},
		{name: "protocol/truncated-status-line", resp: "HTTP/1.1 20", kind: generator.ErrProtocol},
		// … or is not valid HTTP/1.1.
		{name: "protocol/malformed-status", mode: faultserver.MalformedStatus, kind: generator.ErrProtocol},
		{name: "protocol/not-http", mode: faultserver.NotHTTP, kind: generator.ErrProtocol},
		{name: "protocol/status-999", resp: "HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol, status: 999},
		{name: "protocol/status-600", resp: "HTTP/1.1 600 Weird\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol, status: 600},
		{name: "protocol/status-099", resp: "HTTP/1.1 099 Weird\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol, status: 99},
		{name: "protocol/status-2-digits", resp: "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/version-2.0", resp: "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/header-without-colon", mode: faultserver.MalformedHeaders, kind: generator.ErrProtocol},
		{name: "protocol/fold-before-first-header", resp: "HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/bad-header-name", resp: "HTTP/1.1 200 OK\r\nX@Y: z\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/control-in-value", resp: "HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/head-over-10MB", resp: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: "+strings.Repeat("a", 1000)+"\r\n", 11000) + "Content-Length: 0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/bad-content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/negative-content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/conflicting-content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", kind: generator.ErrProtocol},
		{name: "protocol/content-length-list", resp: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nxx", kind: generator.ErrProtocol},
		{name: "protocol/transfer-encoding-gzip-chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/transfer-encoding-gzip", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", kind: generator.ErrProtocol},
		{name: "protocol/transfer-encoding-twice", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol},
		{name: "protocol/malformed-chunked", mode: faultserver.MalformedChunked, kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-without-crlf", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-cr-inside", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a\rb\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-size-after-space", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-line-over-4KB", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;" + strings.Repeat("e", 4093) + "\r\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-extensions-over-16KB", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1;"+strings.Repeat("e", 2000)+"\r\nx\r\n", 10) + "0\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/malformed-trailer", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nno colon\r\n\r\n", kind: generator.ErrProtocol, status: 200},
		{name: "protocol/chunk-bare-lf", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", kind: generator.ErrProtocol, status: 200},

		// Not errors of transport, on either: odd but valid, or a status.
		{name: "none/duplicate-equal-content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxx", ok: true, status: 200},
		{name: "none/space-before-colon", resp: "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", ok: true, status: 200},
		{name: "none/six-1xx", resp: strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok: true, status: 200},
		{name: "none/2MB-header-line", resp: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 2<<20) + "\r\nContent-Length: 0\r\n\r\n", ok: true, status: 200},
		{name: "none/extra-spaces-in-status-line", resp: "HTTP/1.1  204  No Content\r\n\r\n", ok: true, status: 204},
		{name: "none/chunk-size-then-space", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0;last\r\nX-T: 1\r\n\r\n", ok: true, status: 200},
		{name: "none/status-503", resp: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", status: 503},
		{name: "none/status-101", resp: "HTTP/1.1 101 Switching Protocols\r\n\r\n", status: 101},
	}
}

// TestErrorKindsSameOnBothEngines runs every scenario of the taxonomy on
// net/http and on fast-h1: both must count it as the row says, with the
// same status and a message when it failed.
func TestErrorKindsSameOnBothEngines(t *testing.T) {
	for _, row := range kindRows() {
		t.Run(row.name, func(t *testing.T) {
			url := row.target(t)
			o := targets.HTTPOptions{URL: url, Timeout: row.timeout}
			if o.Timeout == 0 {
				o.Timeout = 5 * time.Second
			}
			var outs []generator.Outcome
			for _, e := range engines {
				tg := e.make(t, o)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if row.ctx != nil {
					ctx, cancel = row.ctx()
				}
				start := time.Now()
				out := tg.Do(ctx, 0)
				took := time.Since(start)
				cancel()
				outs = append(outs, out)
				switch {
				case out.Err != row.kind || out.OK() != row.ok || out.Status != row.status:
					t.Errorf("%s: %v, status %d, ok %v (%q); want %v, status %d, ok %v", e.name, kindName(out.Err), out.Status, out.OK(), out.Msg, kindName(row.kind), row.status, row.ok)
				case (out.Msg == "") != out.OK():
					t.Errorf("%s: %+v: a message if and only if it failed", e.name, out)
				case took > 3*time.Second:
					// Every row ends by itself long before the 5 s timeout:
					// a cancel, a close or a 100 ms timeout.
					t.Errorf("%s: took %v", e.name, took)
				}
			}
			t.Logf("net/http %q; fast-h1 %q", outs[0].Msg, outs[1].Msg)
		})
	}
}

func kindName(k generator.ErrKind) string {
	if k == generator.ErrNone {
		return "no kind"
	}
	return k.String()
}

// target starts the row's server and returns its URL.
func (row kindRow) target(t *testing.T) string {
	switch {
	case row.url != nil:
		return row.url(t)
	case row.mode != "":
		return faultserver.StartTB(t, row.mode, faultserver.Options{}).URL()
	}
	s := newRawServer(t, func(int, *rawRequest) rawReply { return rawReply{row.resp, true} })
	return "http://" + s.addr + "/"
}

// closeAfter is a server that reads a request, waits d, and closes the
// connection without answering.
func closeAfter(d time.Duration) func(t *testing.T) string {
	return func(t *testing.T) string {
		s := newConnServer(t, func(c net.Conn) {
			buf := make([]byte, 4096)
			if _, err := c.Read(buf); err == nil {
				time.Sleep(d)
			}
		})
		return "http://" + s.addr + "/"
	}
}

// headThenHang is a server that answers a head and part of the body,
// then nothing more.
func headThenHang(t *testing.T) string {
	s := newConnServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			io.Copy(io.Discard, c) // until the client closes
		}
	})
	return "http://" + s.addr + "/"
}

// untrustedTLS is a TLS server whose certificate the clients do not trust.
func untrustedTLS(t *testing.T) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// timeoutRun is what TestTimeoutOnTime keeps of a run's results.
type timeoutRun struct {
	mu         sync.Mutex
	kinds      map[generator.ErrKind]int
	msgs       int // errors with a message
	lo, hi     time.Duration
	maxSendLag time.Duration
}

func (r *timeoutRun) Record(_ int, res *generator.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[res.Err]++
	if res.Msg != "" {
		r.msgs++
	}
	st := res.ServiceTime()
	if r.lo == 0 || st < r.lo {
		r.lo = st
	}
	r.hi = max(r.hi, st)
	r.maxSendLag = max(r.maxSendLag, res.SendLag())
}

// oversleep measures how late the machine wakes a goroutine while f runs:
// the most a 1 ms sleep overran. Go's timers alone overrun it by up to
// about 1 ms (the poller waits in milliseconds); more is a machine too
// busy to time anything.
func oversleep(f func()) time.Duration {
	stop := make(chan struct{})
	res := make(chan time.Duration)
	go func() {
		var worst time.Duration
		for {
			select {
			case <-stop:
				res <- worst
				return
			default:
			}
			t0 := time.Now()
			time.Sleep(time.Millisecond)
			worst = max(worst, time.Since(t0)-time.Millisecond)
		}
	}()
	f()
	close(stop)
	return <-res
}

// TestTimeoutOnTime: against a server that never answers, every request
// on either engine is a timeout, and ends within a few milliseconds after
// --timeout, counted from its send: never before, and never late by the
// tens of milliseconds that let a peer's own close overtake the timeout.
// The upper bound holds on a machine that can keep time; a run during
// which a goroutine's 1 ms sleep or a send was more than 3 ms late proves
// nothing and is tried again, up to three times, then skipped.
func TestTimeoutOnTime(t *testing.T) {
	const (
		timeout = 200 * time.Millisecond
		slack   = 5 * time.Millisecond
		starved = 3 * time.Millisecond
		n       = 20
	)
	url := faultserver.StartTB(t, faultserver.Hang, faultserver.Options{}).URL()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			tg := e.make(t, targets.HTTPOptions{URL: url, Timeout: timeout})
			for attempt := 1; ; attempt++ {
				r := &timeoutRun{kinds: map[generator.ErrKind]int{}}
				var err error
				late := oversleep(func() {
					_, err = generator.Run(context.Background(), generator.Constant{Rate: n / 0.5, Duration: 500 * time.Millisecond}, tg, r, generator.Options{})
				})
				if err != nil {
					t.Fatal(err)
				}
				if r.kinds[generator.ErrTimeout] != n || r.msgs != n {
					t.Fatalf("kinds %v, %d with a message; want all %d timeouts with one", r.kinds, r.msgs, n)
				}
				if r.lo < timeout {
					t.Fatalf("a timeout after %v of service, before the %v timeout", r.lo, timeout)
				}
				t.Logf("attempt %d: service time %v to %v (timeout %v); sleeps up to %v late, sends up to %v", attempt, r.lo, r.hi, timeout, late, r.maxSendLag)
				if late <= starved && r.maxSendLag <= starved {
					if r.hi > timeout+slack {
						t.Errorf("a timeout after %v of service: more than %v after the %v timeout", r.hi, slack, timeout)
					}
					return
				}
				if attempt == 3 {
					t.Skipf("the machine could not keep time in %d attempts (a 1 ms sleep up to %v late, sends up to %v)", attempt, late, r.maxSendLag)
				}
			}
		})
	}
}
