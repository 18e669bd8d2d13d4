package grpc

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc/credentials"

	"tailgate/targets"
)

// tlsCreds are grpc-go's TLS transport credentials (credentials.NewTLS,
// which adds ALPN h2 and defaults ServerName to the target's host) with
// handshake errors a reader can act on. grpc-go passes errors on as text,
// so the reason has to be in it:
//
//   - a certificate rejected for its host name names the names it is valid
//     for (targets.ExplainTLS);
//   - when the server asked for a client certificate and none was
//     configured, the connection's errors say so until the server's first
//     bytes arrive: a server that requires one (mutual TLS) rejects it
//     after the client's side of the handshake is done, and the client
//     often sees only "broken pipe" or EOF, not the server's alert.
type tlsCreds struct {
	credentials.TransportCredentials
	cfg     *tls.Config
	onAsked func() // called when a server asked for a certificate we lack
}

func newTLSCreds(cfg *tls.Config, onAsked func()) *tlsCreds {
	return &tlsCreds{TransportCredentials: credentials.NewTLS(cfg), cfg: cfg, onAsked: onAsked}
}

func (c *tlsCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	creds := c.TransportCredentials
	var asked atomic.Bool
	if len(c.cfg.Certificates) == 0 && c.cfg.GetClientCertificate == nil {
		// Send none, as without the callback, but note that the server
		// asked. Per handshake, to know which connection it was.
		cfg := c.cfg.Clone()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked.Store(true)
			return &tls.Certificate{}, nil
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, info, err := creds.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, targets.ExplainTLS(err)
	}
	if asked.Load() {
		if c.onAsked != nil {
			c.onAsked()
		}
		conn = &noCertConn{Conn: conn}
	}
	return conn, info, nil
}

func (c *tlsCreds) Clone() credentials.TransportCredentials {
	return &tlsCreds{TransportCredentials: c.TransportCredentials.Clone(), cfg: c.cfg, onAsked: c.onAsked}
}

// noCertConn is a TLS connection whose server asked for a client
// certificate and got none. Until the server's first bytes arrive, its
// errors say so.
type noCertConn struct {
	net.Conn
	heard atomic.Bool // the server sent something: it accepted us
}

func (c *noCertConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, c.explain(err)
}

func (c *noCertConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, c.explain(err)
}

func (c *noCertConn) explain(err error) error {
	if err == nil || c.heard.Load() || strings.Contains(err.Error(), "remote error: tls: ") {
		return err // no error, not the handshake's, or the server's alert says why
	}
	return &noCertError{err}
}

// noCertError is an error of a connection whose server asked for a client
// certificate and got none.
type noCertError struct{ err error }

func (e *noCertError) Error() string {
	return "tls: the server asked for a client certificate, none given: " + e.err.Error()
}

func (e *noCertError) Unwrap() error { return e.err }
