package targets

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TLSOptions say how a client verifies the server and presents itself
// over TLS. The zero value verifies the server's certificate against the
// system roots under the URL's host name and presents no certificate.
type TLSOptions struct {
	// Insecure skips verification of the server's certificate (test
	// targets only). The other fields still apply.
	Insecure bool
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system roots (they are not consulted when it is set).
	CAFile string
	// CertFile and KeyFile are PEM files holding a client certificate
	// (with any intermediates after it) and its private key, presented
	// when the server asks for one (mutual TLS). Both or neither.
	CertFile, KeyFile string
	// ServerName is sent in SNI and is the name the server's certificate
	// must be valid for; empty: the URL's host.
	ServerName string
}

// IsZero reports whether o is the default: verify against the system
// roots, no client certificate, the URL's host name.
func (o TLSOptions) IsZero() bool { return o == TLSOptions{} }

// A TLSFileError is TLSConfig's error for a file it cannot use, or for
// a certificate without its key (or the reverse). Field is the
// TLSOptions field: "CAFile", "CertFile" or "KeyFile".
type TLSFileError struct {
	Field string
	Path  string
	Err   error
}

func (e *TLSFileError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *TLSFileError) Unwrap() error { return e.Err }

// TLSConfig builds the client TLS configuration of o, reading its files.
// Every client (net/http, fast-h1, gRPC) gets its configuration here and
// adds only its own ALPN protocols and session settings. Errors are
// *TLSFileError and name the file.
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: o.Insecure, //nolint:gosec // only when the user asks
		ServerName:         o.ServerName,
	}
	if o.CAFile != "" {
		pool, err := loadCAs(o.CAFile)
		if err != nil {
			return nil, &TLSFileError{Field: "CAFile", Path: o.CAFile, Err: err}
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile == "":
		return nil, &TLSFileError{Field: "CertFile", Path: o.CertFile, Err: errors.New("a client certificate needs its private key (KeyFile)")}
	case o.KeyFile != "" && o.CertFile == "":
		return nil, &TLSFileError{Field: "KeyFile", Path: o.KeyFile, Err: errors.New("a private key needs its client certificate (CertFile)")}
	case o.CertFile != "":
		cert, err := loadKeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// loadCAs reads a PEM file of CA certificates into a new pool.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, pathless(err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
	}
	return pool, nil
}

// loadKeyPair reads a client certificate and its key, naming the file at
// fault.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, &TLSFileError{Field: "CertFile", Path: certFile, Err: pathless(err)}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, &TLSFileError{Field: "KeyFile", Path: keyFile, Err: pathless(err)}
	}
	if !hasPEM(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		return tls.Certificate{}, &TLSFileError{Field: "CertFile", Path: certFile, Err: errors.New("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")}
	}
	if !hasPEM(keyPEM, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }) {
		return tls.Certificate{}, &TLSFileError{Field: "KeyFile", Path: keyFile, Err: errors.New("no PEM private key (-----BEGIN … PRIVATE KEY-----) in it")}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, &TLSFileError{Field: "KeyFile", Path: keyFile, Err: fmt.Errorf("with certificate %s: %w", certFile, err)}
	}
	return cert, nil
}

// hasPEM reports whether b holds a PEM block of a type ok accepts.
func hasPEM(b []byte, ok func(string) bool) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if ok(blk.Type) {
			return true
		}
	}
}

// pathless drops the path from an *os.PathError, which TLSFileError
// names already: "open: no such file or directory".
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
