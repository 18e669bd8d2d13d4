package targets

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tailgate/generator"
	"tailgate/internal/pkitest"
)

// Every file TLSConfig cannot use is named, with the field that gave it.
func TestTLSConfigFileErrors(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	server := ca.Server(t, "server", "127.0.0.1")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name  string
		o     TLSOptions
		field string // the TLSFileError's Field
		path  string
		want  string // in the message
	}{
		{"missing CA", TLSOptions{CAFile: missing}, "CAFile", missing, "no such file"},
		{"CA not PEM", TLSOptions{CAFile: notPEM}, "CAFile", notPEM, "no PEM certificate"},
		// A key is not a certificate.
		{"CA is a key", TLSOptions{CAFile: client.KeyFile}, "CAFile", client.KeyFile, "no PEM certificate"},
		{"cert without key", TLSOptions{CertFile: client.CertFile}, "CertFile", client.CertFile, "private key"},
		{"key without cert", TLSOptions{KeyFile: client.KeyFile}, "KeyFile", client.KeyFile, "client certificate"},
		{"missing cert", TLSOptions{CertFile: missing, KeyFile: client.KeyFile}, "CertFile", missing, "no such file"},
		{"cert not PEM", TLSOptions{CertFile: notPEM, KeyFile: client.KeyFile}, "CertFile", notPEM, "no PEM certificate"},
		{"key not PEM", TLSOptions{CertFile: client.CertFile, KeyFile: notPEM}, "KeyFile", notPEM, "no PEM private key"},
		{"key of another cert", TLSOptions{CertFile: client.CertFile, KeyFile: server.KeyFile}, "KeyFile", server.KeyFile, "does not match"},
	} {
		_, err := TLSConfig(tc.o)
		var fe *TLSFileError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Path != tc.path {
			t.Errorf("%s: %v (%#v), want a TLSFileError for %s %s", tc.name, err, fe, tc.field, tc.path)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.path) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want the file and %q", tc.name, msg, tc.want)
		}
	}

	cfg, err := TLSConfig(TLSOptions{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile, ServerName: "tailgate.test"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "tailgate.test" || cfg.InsecureSkipVerify {
		t.Errorf("config %+v", cfg)
	}
}

// startTLS starts an HTTP/1.1 server presenting pair; with clients, it
// requires a client certificate that the pool verifies.
func startTLS(t *testing.T, pair pkitest.Pair, clients *pkitest.CA) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes fail by design
	if clients != nil {
		srv.TLS = pkitest.ServerConfig(pair, clients.Pool)
	} else {
		srv.TLS = pkitest.ServerConfig(pair, nil)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// net/http with a private CA, a client certificate and a server name.
func TestHTTPPrivateCAAndClientCert(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	do := func(o HTTPOptions) generator.Outcome {
		t.Helper()
		tg, err := NewHTTP(o)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		return tg.Do(context.Background(), 0)
	}

	mtls := startTLS(t, ca.Server(t, "server", "127.0.0.1"), ca)
	if out := do(HTTPOptions{URL: mtls.URL}); out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "x509: certificate signed by unknown authority") {
		t.Errorf("system roots: %+v, want the x509 reason", out)
	}
	if out := do(HTTPOptions{URL: mtls.URL, CAFile: ca.File}); out.Err != generator.ErrTLS || !strings.Contains(out.Msg, "certificate required") {
		t.Errorf("no client certificate: %+v, want tls, certificate required", out)
	}
	if out := do(HTTPOptions{URL: mtls.URL, CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}); out.Err != generator.ErrNone || out.Status != 204 {
		t.Errorf("client certificate: %+v, want 204", out)
	}

	named := startTLS(t, ca.Server(t, "named", "tailgate.test"), nil)
	if out := do(HTTPOptions{URL: named.URL, CAFile: ca.File}); out.Err != generator.ErrTLS ||
		!strings.Contains(out.Msg, "x509: certificate is valid for tailgate.test, not 127.0.0.1") {
		t.Errorf("host 127.0.0.1: %+v, want the names it is valid for", out)
	}
	if out := do(HTTPOptions{URL: named.URL, CAFile: ca.File, ServerName: "tailgate.test"}); out.Err != generator.ErrNone || out.Status != 204 {
		t.Errorf("--server-name: %+v, want 204", out)
	}
}

// ExplainTLS names what a certificate is valid for when Go's message for
// an IP host does not, and leaves other errors as they are.
func TestExplainTLS(t *testing.T) {
	if err := ExplainTLS(nil); err != nil {
		t.Errorf("ExplainTLS(nil) = %v", err)
	}
	other := errors.New("x")
	if err := ExplainTLS(other); err != other {
		t.Errorf("ExplainTLS(other) = %v", err)
	}
}
