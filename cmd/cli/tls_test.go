package cli

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	stdio "io"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"tailgate/internal/pkitest"
	"tailgate/internal/protosettest"
)

// These tests load servers not written here (net/http, golang.org/x/net's
// http2, grpc-go's health service) over TLS with a private CA made at
// test time, with and without a client certificate.

// tlsServer is a plain net/http server over TLS (HTTP/1.1 only) that
// counts its requests.
func tlsServer(t *testing.T, cfg *tls.Config) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(204)
	}))
	srv.Config.ErrorLog = log.New(stdio.Discard, "", 0) // some handshakes fail by design
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &n
}

// tlsRun runs tailgate against url for 400 ms at 50/s with args, and
// returns the exit code, stdout and stderr, and the result file's path.
func tlsRun(t *testing.T, url string, args ...string) (int, string, string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, append([]string{"run", url, "--rate", "50", "--duration", "400ms",
		"--max-send-lag", "1s", "--timeout", "5s", "--out", out, "-q"}, args...))
	return code, stdout.String(), errOut.String(), out
}

// wantAllOK checks a run that should have passed with every request OK.
func wantAllOK(t *testing.T, what string, code int, stdout, stderr, out string) {
	t.Helper()
	if code != ExitOK {
		var msg strings.Builder
		msg.WriteString(stderr)
		skipIfStarved(t, code, &msg)
		t.Fatalf("%s: exit %d, want 0\n%s\n%s", what, code, stderr, stdout)
	}
	tot := readResult(t, out).Summary.Total
	if tot.Intended == 0 || tot.OK != tot.Intended {
		t.Errorf("%s: %d of %d requests OK (errors %v %v)", what, tot.OK, tot.Intended, tot.ErrorKinds, tot.ErrorSamples)
	}
}

// wantFail checks a run in which every request failed on TLS: FAIL,
// every request counted as a tls error, and the output says why and what
// to do.
func wantFail(t *testing.T, what string, code int, stdout, stderr, out string, wants ...string) {
	t.Helper()
	if code != ExitFail {
		t.Fatalf("%s: exit %d, want %d\n%s\n%s", what, code, ExitFail, stderr, stdout)
	}
	// Every request that ended failed on TLS; on a loaded machine one may
	// still be handshaking at the run's deadline (censored).
	if tot := readResult(t, out).Summary.Total; tot.Errors == 0 || tot.OK != 0 || tot.ErrorKinds["tls"] != tot.Errors || tot.Errors+tot.Censored != tot.Intended {
		t.Errorf("%s: %d of %d requests failed on TLS (errors %v, censored %d)", what, tot.ErrorKinds["tls"], tot.Intended, tot.ErrorKinds, tot.Censored)
	}
	for _, want := range wants {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("%s: output lacks %q:\n%s\n%s", what, want, stderr, stdout)
		}
	}
}

// A net/http server whose certificate a private CA signed: --cacert on
// both HTTP/1.1 engines; the settings record the CA file.
func TestTLSPrivateCA(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	srv, hits := tlsServer(t, pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), nil))
	for _, engine := range []string{"fast-h1", "net/http"} {
		before := hits.Load()
		code, stdout, stderr, out := tlsRun(t, srv.URL+"/", "--engine", engine, "--cacert", ca.File)
		wantAllOK(t, engine, code, stdout, stderr, out)
		f := readResult(t, out)
		if f.Settings.Engine != engine || f.Settings.TLS == nil || f.Settings.TLS.CAFile != ca.File {
			t.Errorf("%s: settings engine %q tls %+v", engine, f.Settings.Engine, f.Settings.TLS)
		}
		if got := hits.Load() - before; got != f.Summary.Total.OK {
			t.Errorf("%s: server saw %d requests, result says %d OK", engine, got, f.Summary.Total.OK)
		}
	}
}

// A golang.org/x/net/http2 server (not net/http's bundled copy) on TLS
// connections: --http2 --cacert, and the server saw HTTP/2 only.
func TestTLSHTTP2PrivateCA(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	cfg := pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), nil)
	cfg.NextProtos = []string{"h2"}
	var h2, other atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			other.Add(1)
		}
		w.WriteHeader(204)
	})
	// x/net/http2's own server, deprecated in favour of net/http's: the
	// point is a second HTTP/2 implementation, one net/http does not share.
	//lint:ignore SA1019 a stranger's HTTP/2 server, on purpose
	s2 := &http2.Server{}
	ln := serveConns(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
		//lint:ignore SA1019 a stranger's HTTP/2 server, on purpose
		s2.ServeConn(tc, &http2.ServeConnOpts{Handler: h})
	})
	url := "https://" + ln.Addr().String() + "/"
	code, stdout, stderr, out := tlsRun(t, url, "--http2", "--cacert", ca.File)
	wantAllOK(t, "http2", code, stdout, stderr, out)
	f := readResult(t, out)
	if f.Settings.Engine != "net/http" || !f.Settings.HTTP2 {
		t.Errorf("settings engine %q http2 %v", f.Settings.Engine, f.Settings.HTTP2)
	}
	if h2.Load() != f.Summary.Total.OK || other.Load() != 0 {
		t.Errorf("server saw %d HTTP/2 and %d other requests, result says %d OK", h2.Load(), other.Load(), f.Summary.Total.OK)
	}
}

// A server that requires a client certificate its CA signed: without
// --cert/--key every request fails on TLS (FAIL, naming the fix); with
// them every one is OK, on both HTTP/1.1 engines.
func TestMTLSHTTP(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	srv, _ := tlsServer(t, pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), ca.Pool))
	for _, engine := range []string{"fast-h1", "net/http"} {
		code, stdout, stderr, out := tlsRun(t, srv.URL+"/", "--engine", engine, "--cacert", ca.File)
		wantFail(t, engine+" without --cert", code, stdout, stderr, out, "remote error: tls: certificate required", "--cert and --key")

		code, stdout, stderr, out = tlsRun(t, srv.URL+"/", "--engine", engine, "--cacert", ca.File, "--cert", client.CertFile, "--key", client.KeyFile)
		wantAllOK(t, engine+" with --cert", code, stdout, stderr, out)
		f := readResult(t, out)
		if f.Settings.TLS == nil || f.Settings.TLS.ClientCert != client.CertFile {
			t.Errorf("%s: settings tls %+v", engine, f.Settings.TLS)
		}
		// The key is never written, not even its path.
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "PRIVATE KEY") || strings.Contains(stringsWithout(string(raw), `"command"`), client.KeyFile) {
			t.Errorf("%s: the result file holds the key or its path", engine)
		}
	}
}

// stringsWithout is s without the JSON array that follows key (the
// command line, which names every flag's value as the user typed it).
func stringsWithout(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i:], ']')
	if j < 0 {
		return s[:i]
	}
	return s[:i] + s[i+j+1:]
}

// grpcTLSServer starts grpc-go's health service, with reflection, over
// TLS with cfg, and returns its grpcs:// URL for Health/Check.
func grpcTLSServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(ln) })
	t.Cleanup(func() { s.Stop(); wg.Wait() })
	return "grpcs://" + ln.Addr().String() + "/grpc.health.v1.Health/Check"
}

// mTLS over gRPC: grpc-go's health server requiring a client
// certificate. Without one the calls fail on TLS (FAIL); with one they
// succeed, reflection included.
func TestMTLSGRPC(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	url := grpcTLSServer(t, pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), ca.Pool))

	// The server's alert ("certificate required") or, when the client
	// wrote before reading it, a broken pipe that says the server asked.
	code, stdout, stderr, out := tlsRun(t, url, "--cacert", ca.File, "--protoset", protosettest.Of(t, "grpc.health.v1.Health"))
	wantFail(t, "grpc without --cert", code, stdout, stderr, out, "client certificate", "--cert and --key")

	// With reflection, the set-up fails: a usage error saying why.
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", url, "--rate", "10", "--duration", "1s", "--cacert", ca.File}); code != ExitUsage ||
		!strings.Contains(errOut.String(), "the server asked for a client certificate") || !strings.Contains(errOut.String(), "--cert and --key") {
		t.Errorf("reflection without --cert: exit %d: %s", code, errOut)
	}

	code, stdout, stderr, out = tlsRun(t, url, "--cacert", ca.File, "--cert", client.CertFile, "--key", client.KeyFile)
	wantAllOK(t, "grpc with --cert", code, stdout, stderr, out)
	f := readResult(t, out)
	if f.Settings.Engine != "grpc-fast" || f.Summary.Total.GRPCCodes["OK"] != f.Summary.Total.Intended {
		t.Errorf("engine %q codes %v of %d", f.Settings.Engine, f.Summary.Total.GRPCCodes, f.Summary.Total.Intended)
	}
}

// A certificate valid for tailgate.test only, at 127.0.0.1: without
// --server-name every request fails naming the name it is valid for;
// with it they pass (HTTP/1.1 engines and gRPC).
func TestTLSServerName(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	pair := ca.Server(t, "named", "tailgate.test")
	srv, _ := tlsServer(t, pkitest.ServerConfig(pair, nil))
	grpcURL := grpcTLSServer(t, pkitest.ServerConfig(pair, nil))
	for _, tc := range []struct {
		name string
		url  string
		args []string
	}{
		{"fast-h1", srv.URL + "/", []string{"--engine", "fast-h1"}},
		{"net/http", srv.URL + "/", []string{"--engine", "net/http"}},
		{"grpc", grpcURL, []string{"--protoset", protosettest.Of(t, "grpc.health.v1.Health")}},
	} {
		code, stdout, stderr, out := tlsRun(t, tc.url, append([]string{"--cacert", ca.File}, tc.args...)...)
		wantFail(t, tc.name+" without --server-name", code, stdout, stderr, out,
			"x509: certificate is valid for tailgate.test, not 127.0.0.1", "--server-name tailgate.test")

		code, stdout, stderr, out = tlsRun(t, tc.url, append([]string{"--cacert", ca.File, "--server-name", "tailgate.test"}, tc.args...)...)
		wantAllOK(t, tc.name+" with --server-name", code, stdout, stderr, out)
		if s := readResult(t, out).Settings.TLS; s == nil || s.ServerName != "tailgate.test" {
			t.Errorf("%s: settings tls %+v", tc.name, s)
		}
	}
}

// A server signed by another CA than --cacert's: FAIL, and the table
// shows the x509 reason and the --cacert advice.
func TestTLSWrongCA(t *testing.T) {
	ca, other := pkitest.NewCA(t, "ca"), pkitest.NewCA(t, "other")
	srv, hits := tlsServer(t, pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), nil))
	for _, engine := range []string{"fast-h1", "net/http"} {
		code, stdout, stderr, out := tlsRun(t, srv.URL+"/", "--engine", engine, "--cacert", other.File)
		wantFail(t, engine, code, stdout, stderr, out)
		for _, want := range []string{"x509: certificate signed by unknown authority", "--cacert"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: the table lacks %q:\n%s", engine, want, stdout)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server answered %d requests over an unverified connection", n)
	}
}

// Bad TLS flags are usage errors (exit 2) naming the flag and the file,
// before any load.
func TestTLSFlagErrors(t *testing.T) {
	ca := pkitest.NewCA(t, "ca")
	client := ca.Client(t, "client")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	srv, hits := tlsServer(t, pkitest.ServerConfig(ca.Server(t, "server", "127.0.0.1"), nil))
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the error
	}{
		{"cert without key", []string{"--cert", client.CertFile}, []string{"--cert " + client.CertFile, "needs --key"}},
		{"key without cert", []string{"--key", client.KeyFile}, []string{"--key " + client.KeyFile, "needs --cert"}},
		{"missing CA", []string{"--cacert", missing}, []string{"--cacert " + missing, "no such file"}},
		{"CA not PEM", []string{"--cacert", notPEM}, []string{"--cacert " + notPEM, "no PEM certificate"}},
		{"missing cert", []string{"--cert", missing, "--key", client.KeyFile}, []string{"--cert " + missing, "no such file"}},
		{"cert not PEM", []string{"--cert", notPEM, "--key", client.KeyFile}, []string{"--cert " + notPEM, "no PEM certificate"}},
		{"key not PEM", []string{"--cert", client.CertFile, "--key", notPEM}, []string{"--key " + notPEM, "no PEM private key"}},
		{"key of another cert", []string{"--cert", client.CertFile, "--key", ca.Server(t, "s2", "x").KeyFile}, []string{"--key ", "does not match"}},
	} {
		for _, verb := range [][]string{{"run", srv.URL}, {"sweep", srv.URL, "--from", "10", "--to", "20", "--steps", "2"}} {
			io, _, errOut := testIO()
			args := append(append(append([]string{}, verb...), "--rate", "10", "--duration", "1s"), tc.args...)
			if verb[0] == "sweep" {
				args = append(append([]string{}, verb...), tc.args...)
			}
			code := Execute(context.Background(), io, args)
			if code != ExitUsage {
				t.Errorf("%s %s: exit %d, want %d: %s", verb[0], tc.name, code, ExitUsage, errOut)
				continue
			}
			for _, want := range tc.want {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("%s %s: error lacks %q: %s", verb[0], tc.name, want, errOut)
				}
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests sent despite bad flags", n)
	}
}
