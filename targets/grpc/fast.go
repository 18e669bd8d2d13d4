package grpc

import (
	"context"
	"fmt"
	"net"

	"tailgate/targets"
	"tailgate/targets/grpc/h2"
)

// startFast starts the fast client (package h2) for a unary method on a
// host:port target.
func (t *Target) startFast() error {
	cfg := h2.Config{
		Addr:                 t.opt.Target,
		Path:                 t.method,
		UserAgent:            "tailgate",
		DynamicKeys:          t.mdKeys,
		Timeout:              t.opt.Timeout,
		Connections:          t.opt.Connections,
		StreamsPerConnection: t.opt.StreamsPerConnection,
		Check:                t.check.check,
	}
	for _, k := range sortedKeys(t.mdStat) {
		cfg.Metadata = append(cfg.Metadata, [2]string{k, t.mdStat[k][0]})
	}
	if t.opt.CacheHeader != "" {
		cfg.CacheHeader, cfg.CacheHit = t.opt.CacheHeader, t.opt.CacheHit
		if cfg.CacheHit == "" {
			cfg.CacheHit = DefaultCacheHit
		}
	}
	if t.opt.TLS {
		tc, err := targets.TLSConfig(t.opt.tls())
		if err != nil {
			return fmt.Errorf("grpc: %w", err)
		}
		// grpc-go's credentials, as its own connections use them: ALPN
		// h2, the server name from the target, errors explained.
		creds := newTLSCreds(tc, func() { t.certAsked.Store(true) })
		// As grpc-go: the credentials' server name, when set, is the
		// channel's authority (:authority, and the name verified).
		cfg.Authority = tc.ServerName
		cfg.Handshake = func(ctx context.Context, authority string, raw net.Conn) (net.Conn, error) {
			c, _, err := creds.ClientHandshake(ctx, authority, raw)
			return c, err
		}
	}
	c, err := h2.New(cfg)
	if err != nil {
		return fmt.Errorf("grpc: %w", err)
	}
	t.fast = c
	return nil
}
