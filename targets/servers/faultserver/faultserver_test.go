package faultserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"tailgate/targets/servers/faultserver"
	"tailgate/targets/servers/grpcdemo"
)

// get sends one GET to s with a client like tailgate's (HTTP/2 only for
// the h2 modes, no verification unless roots are given) and reads the
// body; it returns the status (0 if none), the body size and the error.
func get(t *testing.T, url string, h2 bool, roots *x509.CertPool) (int, int64, error) {
	t.Helper()
	tr := &http.Transport{
		ForceAttemptHTTP2: h2,
		TLSClientConfig:   &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil},
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, err
}

func TestHTTPModes(t *testing.T) {
	hang := 300 * time.Millisecond
	for _, tt := range []struct {
		mode   faultserver.Mode
		status int    // 0: no response
		n      int64  // body bytes read
		err    string // substring of the error; "" for none
	}{
		// A row per HTTP mode; the error is what net/http reports.
		{faultserver.OK, 200, 2, ""},
		{faultserver.Refuse, 0, 0, "connection refused"},
		{faultserver.ResetBeforeResponse, 0, 0, "connection reset by peer"},
		{faultserver.CloseBeforeResponse, 0, 0, "EOF"},
		{faultserver.ResetMidResponse, 200, 512, "connection reset by peer"},
		{faultserver.Drip, 200, 16, ""},
		{faultserver.Huge, 200, 8 << 20, ""},
		{faultserver.MalformedStatus, 0, 0, `malformed HTTP status code "abc"`},
		{faultserver.MalformedHeaders, 0, 0, "malformed MIME header"},
		{faultserver.NotHTTP, 0, 0, `malformed HTTP response "SSH-2.0`},
		{faultserver.TruncatedChunked, 200, 16, "unexpected EOF"},
		{faultserver.MalformedChunked, 200, 0, "invalid byte in chunk length"},
		{faultserver.WrongContentLength, 200, 5, "unexpected EOF"},
		{faultserver.CloseAfterHeaders, 200, 0, "unexpected EOF"},
		{faultserver.BadStatus, 999, 2, ""}, // net/http takes any three digits; tailgate does not
		{faultserver.DuplicateContentLength, 0, 0, "multiple Content-Length headers"},
		{faultserver.UnsupportedEncoding, 0, 0, `unsupported transfer encoding: "gzip, chunked"`},
		{faultserver.H2OK, 200, 2, ""},
		{faultserver.H2Huge, 200, 1 << 20, ""},
		{faultserver.H2ResetStream, 0, 0, "stream error: stream ID 1; INTERNAL_ERROR; received from peer"},
		{faultserver.H2ResetMidResponse, 200, 512, "INTERNAL_ERROR"},
		{faultserver.H2GoAway, 0, 0, "server sent GOAWAY and closed the connection; LastStreamID=2147483647, ErrCode=NO_ERROR"},
		{faultserver.H2ProtocolError, 0, 0, "connection error: PROTOCOL_ERROR"},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			o := faultserver.Options{}
			if tt.mode == faultserver.Huge || tt.mode == faultserver.H2Huge {
				o.HugeSize = tt.n
			}
			s := faultserver.StartTB(t, tt.mode, o)
			h2 := strings.HasPrefix(string(tt.mode), "h2-")
			st, n, err := get(t, s.URL(), h2, nil)
			if st != tt.status || n != tt.n || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("status %d, %d bytes, error %v; want %d, %d, %q", st, n, err, tt.status, tt.n, tt.err)
			}
			if tt.mode != faultserver.Refuse && s.Requests() != 1 {
				t.Errorf("server saw %d requests, want 1", s.Requests())
			}
		})
	}
	for _, mode := range []faultserver.Mode{faultserver.Hang, faultserver.H2Hang} {
		t.Run(string(mode), func(t *testing.T) {
			s := faultserver.StartTB(t, mode, faultserver.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(), nil)
			tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			defer tr.CloseIdleConnections()
			start := time.Now()
			_, err := tr.RoundTrip(req)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < hang {
				t.Errorf("after %v: %v; want the deadline to pass", time.Since(start), err)
			}
		})
	}
}

// An h2 mode answers 505 to HTTP/1.1, so a test cannot pass without
// HTTP/2 by mistake.
func TestH2NeedsHTTP2(t *testing.T) {
	s := faultserver.StartTB(t, faultserver.H2ResetStream, faultserver.Options{})
	if st, _, err := get(t, s.URL(), false, nil); st != http.StatusHTTPVersionNotSupported || err != nil {
		t.Fatalf("status %d, error %v; want 505", st, err)
	}
}

func TestCertificates(t *testing.T) {
	self := faultserver.StartTB(t, faultserver.OK, faultserver.Options{TLS: faultserver.SelfSigned})
	expired := faultserver.StartTB(t, faultserver.OK, faultserver.Options{TLS: faultserver.Expired})
	for _, tt := range []struct {
		s     *faultserver.Server
		roots *x509.CertPool
		err   string
	}{
		{self, x509.NewCertPool(), "certificate signed by unknown authority"},
		{self, self.RootCAs(), ""},
		{expired, x509.NewCertPool(), "certificate has expired"},
		{expired, expired.RootCAs(), "certificate has expired"}, // trusted, still expired
	} {
		_, _, err := get(t, tt.s.URL(), false, tt.roots)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v; want %q", tt.s.Options().TLS, err, tt.err)
		}
	}
	if !strings.HasPrefix(self.URL(), "https://") || self.Certificate() == nil {
		t.Errorf("URL %s, certificate %v", self.URL(), self.Certificate())
	}
}

// A TLS client at a plaintext server gets an HTTP answer, as from a
// real server.
func TestTLSToPlaintext(t *testing.T) {
	s := faultserver.StartTB(t, faultserver.OK, faultserver.Options{})
	_, _, err := get(t, "https://"+s.Addr()+"/", false, nil)
	if err == nil || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		t.Fatalf("%v", err)
	}
}

func TestUnresolvableHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, faultserver.UnresolvableHost)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("%v; want not found", err)
	}
}

func TestGRPCModes(t *testing.T) {
	for _, tt := range []struct {
		mode faultserver.Mode
		code codes.Code
		msg  string
	}{
		{faultserver.GRPCOK, codes.OK, ""},
		{faultserver.GRPCUnavailable, codes.Unavailable, "faultserver: unavailable"},
		{faultserver.GRPCDeadline, codes.DeadlineExceeded, ""},
		{faultserver.GRPCCloseConnection, codes.Unavailable, "connection reset by peer"},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			s := faultserver.StartTB(t, tt.mode, faultserver.Options{})
			if !strings.HasPrefix(s.URL(), "grpc://") || !strings.HasSuffix(s.URL(), "/demo.Store/Get") {
				t.Fatalf("URL %s", s.URL())
			}
			cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			file := grpcdemo.File().Messages()
			req := dynamicpb.NewMessage(file.ByName("GetRequest"))
			resp := dynamicpb.NewMessage(file.ByName("GetReply"))
			err = cc.Invoke(ctx, grpcdemo.MethodGet, req, resp)
			st := status.Convert(err)
			// A reset connection reads as "connection reset by peer" or,
			// when the RST races the client's read, as EOF.
			msgOK := strings.Contains(st.Message(), tt.msg) ||
				(tt.msg == "connection reset by peer" && strings.Contains(st.Message(), "EOF"))
			if st.Code() != tt.code || !msgOK {
				t.Errorf("%v; want %v %q", err, tt.code, tt.msg)
			}
			if s.Requests() != 1 {
				t.Errorf("server saw %d calls, want 1", s.Requests())
			}
		})
	}
}

// Close ends hanging requests and transfers in flight, promptly.
func TestCloseInFlight(t *testing.T) {
	for _, mode := range []faultserver.Mode{faultserver.Hang, faultserver.Huge, faultserver.Drip, faultserver.H2Hang, faultserver.GRPCDeadline} {
		s, err := faultserver.Start(mode, faultserver.Options{DripInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		if strings.HasPrefix(string(mode), "grpc-") {
			cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			file := grpcdemo.File().Messages()
			go func() {
				errc <- cc.Invoke(context.Background(), grpcdemo.MethodGet, dynamicpb.NewMessage(file.ByName("GetRequest")), dynamicpb.NewMessage(file.ByName("GetReply")))
			}()
		} else {
			tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			defer tr.CloseIdleConnections()
			go func() {
				resp, err := (&http.Client{Transport: tr}).Get(s.URL())
				if err == nil {
					time.Sleep(50 * time.Millisecond) // let the server block writing
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				errc <- err
			}()
		}
		for s.Requests() == 0 {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		s.Close()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Close took %v", mode, d)
		}
		select {
		case err := <-errc:
			if err == nil {
				t.Errorf("%s: the request succeeded after Close", mode)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: the client was still waiting 5 s after Close", mode)
		}
		s.Close() // idempotent
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := faultserver.Start("nope", faultserver.Options{}); err == nil || !strings.Contains(err.Error(), "reset-mid-response") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := faultserver.Start(faultserver.OK, faultserver.Options{HugeSize: -1}); err == nil {
		t.Error("negative HugeSize accepted")
	}
	if n := len(faultserver.Modes()); n != 29 {
		t.Errorf("%d modes", n)
	}
}
