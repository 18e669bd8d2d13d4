package faultserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Cert says whether and how a server speaks TLS. Every certificate is
// generated in-process at Start (ECDSA P-256, self-signed and its own CA,
// for 127.0.0.1, ::1 and localhost), so nothing but [Server.RootCAs]
// trusts it.
type Cert int

const (
	// NoTLS serves plaintext: HTTP/1.1, or h2c for gRPC. For the HTTP/2
	// modes, which need TLS, it means SelfSigned.
	NoTLS Cert = iota
	// SelfSigned is a valid certificate that no system root trusts: a
	// client that verifies gets "x509: certificate signed by unknown
	// authority"; one that skips verification (--insecure) is served.
	SelfSigned
	// Expired is like SelfSigned but its validity ended a day ago: a
	// verifying client gets "x509: certificate has expired or is not yet
	// valid" (even if it trusts RootCAs).
	Expired
)

func (c Cert) String() string {
	switch c {
	case NoTLS:
		return "none"
	case SelfSigned:
		return "self-signed"
	case Expired:
		return "expired"
	}
	return fmt.Sprintf("Cert(%d)", int(c))
}

// newCert generates a self-signed certificate valid now, or, if expired,
// one that expired a day ago.
func newCert(expired bool) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(24*time.Hour)
	if expired {
		notBefore, notAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"tailgate faultserver"}, CommonName: "127.0.0.1"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}
