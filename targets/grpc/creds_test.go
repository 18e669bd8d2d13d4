package grpc

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"tailgate/generator"
	"tailgate/internal/pkitest"
)

// A private CA, a client certificate and a server name over gRPC, and a
// server requiring a client certificate that gets none.
func TestTLSOptions(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	mtls, _ := serve(t, noDelay(), fullDemo, grpc.Creds(credentials.NewTLS(pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), ca.Pool))))
	o := Options{Target: mtls, Method: "demo.Store/Get", TLS: true, CAFile: ca.File, Timeout: 10 * time.Second}

	// Without a certificate: every call fails on TLS, saying why.
	bare := o
	bare.Protoset = demoProtoset
	tg := newTarget(t, bare)
	for i := range 3 {
		out := tg.Do(context.Background(), uint64(i))
		if out.Err != generator.ErrTLS || !(strings.Contains(out.Msg, "certificate required") || strings.Contains(out.Msg, "asked for a client certificate")) {
			t.Errorf("no client certificate: %+v, want tls naming the client certificate", out)
		}
	}
	// Reflection cannot describe the method either: New says why.
	if _, err := New(context.Background(), o); !errors.Is(err, ErrClientCertWanted) {
		t.Errorf("reflection without a client certificate: %v, want ErrClientCertWanted", err)
	}

	// With one, reflection and calls work.
	withCert := o
	withCert.CertFile, withCert.KeyFile = client.CertFile, client.KeyFile
	if out := newTarget(t, withCert).Do(context.Background(), 0); !out.OK() {
		t.Errorf("client certificate: %+v", out)
	}

	// A certificate for tailgate.test only: the message names it, and
	// ServerName makes it verify.
	named, _ := serve(t, noDelay(), fullDemo, grpc.Creds(credentials.NewTLS(pkitest.ServerConfig(ca.Server(t, "named", "tailgate.test"), nil))))
	o = Options{Target: named, Method: "demo.Store/Get", Protoset: demoProtoset, TLS: true, CAFile: ca.File, Timeout: 10 * time.Second}
	if out := newTarget(t, o).Do(context.Background(), 0); out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "valid for tailgate.test, not 127.0.0.1") {
		t.Errorf("host 127.0.0.1: %+v, want the name the certificate is valid for", out)
	}
	o.ServerName = "tailgate.test"
	if out := newTarget(t, o).Do(context.Background(), 0); !out.OK() {
		t.Errorf("ServerName: %+v", out)
	}

	// TLS settings without TLS are an error.
	if _, err := New(context.Background(), Options{Target: "127.0.0.1:1", Method: "a.B/C", CAFile: ca.File}); err == nil || !strings.Contains(err.Error(), "needs TLS") {
		t.Errorf("CAFile without TLS: %v", err)
	}
}

// Until the server's first bytes, a connection whose server asked for a
// client certificate and got none blames that; the server's own alert
// and errors after it spoke pass through.
func TestNoCertConn(t *testing.T) {
	c := &noCertConn{Conn: &errConn{err: syscall.EPIPE}}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) || !strings.Contains(err.Error(), "asked for a client certificate") {
		t.Errorf("write before the server spoke: %v", err)
	}
	alert := errors.New("remote error: tls: certificate required")
	if err := c.explain(alert); err != alert {
		t.Errorf("the server's alert: %v", err)
	}
	c = &noCertConn{Conn: &errConn{n: 1, err: syscall.ECONNRESET}}
	if _, err := c.Read(make([]byte, 1)); err != syscall.ECONNRESET {
		t.Errorf("read after the server spoke: %v", err)
	}
}

// errConn is a net.Conn whose reads and writes return n and err.
type errConn struct {
	net.Conn
	n   int
	err error
}

func (c *errConn) Read([]byte) (int, error)  { return c.n, c.err }
func (c *errConn) Write([]byte) (int, error) { return c.n, c.err }
