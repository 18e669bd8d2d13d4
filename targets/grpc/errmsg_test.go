package grpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"tailgate/generator"
)

// selfSigned makes a certificate for 127.0.0.1 that nobody trusts.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tailgate test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestErrorMessages: a call that fails says why, without grpc-go's
// wrapping: the x509 reason for an untrusted certificate, the address for
// a refused connection.
func TestErrorMessages(t *testing.T) {
	cert := selfSigned(t)
	addr, _ := serve(t, noDelay(), noReflection, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, TLS: true, Timeout: 10 * time.Second})
	out := tg.Do(context.Background(), 0)
	if out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "x509") {
		t.Errorf("untrusted certificate: %+v, want tls with the x509 reason", out)
	}
	t.Logf("untrusted certificate: %q", out.Msg)
	if strings.Contains(out.Msg, "connection error") || strings.Contains(out.Msg, "transport:") {
		t.Errorf("untrusted certificate: %q keeps grpc-go's wrapping", out.Msg)
	}
	// With --insecure the same server answers, and a success says nothing.
	tg = newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, TLS: true, Insecure: true, Timeout: 10 * time.Second})
	if out := tg.Do(context.Background(), 0); !out.OK() || out.Msg != "" {
		t.Errorf("--insecure: %+v", out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	tg = newTarget(t, Options{Target: refused, Method: "demo.Store/Get", Protoset: demoProtoset, Timeout: 5 * time.Second})
	out = tg.Do(context.Background(), 0)
	if out.Err != generator.ErrRefused || !strings.Contains(out.Msg, "refused") || !strings.Contains(out.Msg, refused) {
		t.Errorf("refused: %+v, want the refused address in Msg", out)
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{statusErr(0, ""), ""},
		{statusErr(14, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`),
			"Unavailable: dial tcp 127.0.0.1:1: connect: connection refused"},
		{statusErr(14, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`),
			"Unavailable: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{statusErr(5, "no such key\nsecond line"), "NotFound: no such key"},
		{context.Canceled, "context canceled"},
	} {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	for _, tc := range []struct {
		msg  string
		kind generator.ErrKind
	}{
		{`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: socket: too many open files"`, generator.ErrFDLimit},
		{`connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.1:80: connect: cannot assign requested address"`, generator.ErrPorts},
	} {
		if _, kind := Classify(context.Background(), statusErr(14, tc.msg)); kind != tc.kind {
			t.Errorf("Classify(%q) = %v, want %v", tc.msg, kind, tc.kind)
		}
	}
}
