// Package proxy is a TCP fault-injection proxy whose HTTP control API speaks
// toxiproxy's (github.com/Shopify/toxiproxy v2.5.0) for the subset tailgate
// uses, so load profiles can drive this proxy or a real toxiproxy server with
// the same client code (this package's Client, or toxiproxy's own client).
//
// A Server manages named proxies, each listening on one address and
// forwarding every accepted connection to an upstream address. Toxics attach
// to a proxy's "upstream" (client → server) or "downstream" (server → client)
// stream: latency, bandwidth, timeout, reset_peer and noop, with toxiproxy's
// attributes and semantics; each connection decides once per toxic, with
// probability "toxicity", whether the toxic applies to it. Toxics added,
// updated or removed at runtime apply to open connections too. Setting a
// proxy's "enabled" to false stops its listener and closes its connections.
//
// The HTTP API (Server.Handler) has toxiproxy's endpoints, JSON field names,
// status codes and {"error": ..., "status": N} error bodies:
//
//	GET    /proxies                          list proxies
//	POST   /proxies                          create (201; 409 if the name exists)
//	POST   /populate                         create or replace many (201)
//	GET    /proxies/{proxy}                  show
//	POST   /proxies/{proxy}                  update enabled/listen/upstream
//	DELETE /proxies/{proxy}                  delete (204)
//	GET    /proxies/{proxy}/toxics           list toxics
//	POST   /proxies/{proxy}/toxics           add a toxic (200); ?ttl=30s: with a lease
//	GET    /proxies/{proxy}/toxics/{toxic}   show a toxic
//	POST   /proxies/{proxy}/toxics/{toxic}   update attributes/toxicity; ?ttl=: renew the lease
//	DELETE /proxies/{proxy}/toxics/{toxic}   remove (204)
//	POST   /reset                            enable all proxies, remove all toxics (204)
//	GET    /version                          version, text/plain
//
// Deliberate differences from toxiproxy 2.5.0:
//   - Toxics can have a lease: POST .../toxics?ttl=30s adds a toxic that is
//     removed 30 s later (its JSON then has "expires_at"). Without ttl, as
//     from toxiproxy's clients, a toxic stays until removed.
//   - Writes (every method but GET) are refused with 403 when they carry a
//     foreign Origin, a non-loopback Host while the API listens on loopback
//     (DNS rebinding), or a body that is not application/json (text/plain is
//     accepted without an Origin on POST /proxies/{proxy}, which toxiproxy's
//     own client sends so). toxiproxy only refuses User-Agents "Mozilla/...".
//   - Addresses without a host bind to 127.0.0.1, not to all interfaces: a
//     proxy with an empty "listen" gets "127.0.0.1:0" (a free port; the
//     response shows the real address), and ListenAndServe defaults to
//     127.0.0.1:8474.
//   - Unknown toxic types get 400 "invalid toxic type \"x\": supported types
//     are ..." rather than the bare "invalid toxic type".
//   - TCP half-close is forwarded (a client's FIN reaches the upstream and the
//     response still flows back); toxiproxy closes both sides instead. A reset
//     from one peer is passed on to the other as a reset.
//   - Removing a timeout toxic closes only the connections it was applied to
//     (toxiproxy closes every connection on that stream); toxicity is rolled
//     when a connection first sees a toxic and again when the toxic is updated
//     (toxiproxy also re-rolls neighbouring toxics when the chain changes).
//   - reset_peer sends a RST on every connection it fires on; toxiproxy sends
//     a FIN on connections that were opened before the toxic was added.
//   - Toxics on one stream are not a pipeline of stages: latencies add up,
//     the lowest bandwidth rate applies, and the first timeout or reset_peer
//     toxic takes all data.
//   - A toxic update whose body fails to decode changes nothing (toxiproxy
//     may have applied part of it).
//   - POST /populate with an unchanged proxy reports that proxy's real state
//     (toxiproxy reports a disabled proxy with no toxics).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIAddr is the control API address used by ListenAndServe when it
// is given an empty address: toxiproxy's port, on loopback only.
const DefaultAPIAddr = "127.0.0.1:8474"

// DefaultVersion is what GET /version reports unless Options.Version is set.
// It names the toxiproxy API version this server mimics.
const DefaultVersion = "2.5.0+tailgate"

// Options configures a Server. The zero value is usable.
type Options struct {
	// Logger receives diagnostics (accept and dial failures and the like).
	// Nil discards them.
	Logger *slog.Logger
	// Version is reported by GET /version. Empty means DefaultVersion.
	Version string
	// DialTimeout bounds each connection attempt to a proxy's upstream.
	// Zero means 10 seconds.
	DialTimeout time.Duration
}

// Server is a set of named fault-injection proxies plus their HTTP control
// API. Create it with NewServer and release it with Close. Its methods are
// safe for concurrent use.
type Server struct {
	log           *slog.Logger
	versionString string
	dialTimeout   time.Duration

	mu      sync.Mutex
	proxies map[string]*managedProxy
	https   map[*http.Server]struct{}
	closed  atomic.Bool // set under mu

	wg     sync.WaitGroup // every goroutine the server starts
	nextID atomic.Uint64  // toxic ids and generations

	// Leases (?ttl=): one timer for the earliest; see lease.go. Lock
	// order: leaseMu, then mu, then a proxy's mu.
	leaseMu    sync.Mutex
	leaseTimer *time.Timer
	leaseAt    time.Time   // when leaseTimer fires; zero: not set
	leased     atomic.Bool // some toxic may have a lease
}

var errServerClosed = errors.New("proxy server closed")

// NewServer returns a Server with no proxies. Nothing listens until proxies
// are created through the API, and the API itself is served by Handler,
// Serve or ListenAndServe.
func NewServer(opts Options) *Server {
	s := &Server{
		log:           opts.Logger,
		versionString: opts.Version,
		dialTimeout:   opts.DialTimeout,
		proxies:       make(map[string]*managedProxy),
		https:         make(map[*http.Server]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.versionString == "" {
		s.versionString = DefaultVersion
	}
	if s.dialTimeout <= 0 {
		s.dialTimeout = 10 * time.Second
	}
	return s
}

// ListenAndServe serves the control API on apiAddr until ctx is done or the
// Server is closed, then shuts the API down gracefully and returns nil. It
// returns an error if it cannot listen or the Server is already closed. An
// empty apiAddr means DefaultAPIAddr and an address without a host binds
// 127.0.0.1. The proxies keep running after it returns; call Close to stop
// them.
func (s *Server) ListenAndServe(ctx context.Context, apiAddr string) error {
	if apiAddr == "" {
		apiAddr = DefaultAPIAddr
	}
	ln, err := net.Listen("tcp", loopbackDefault(apiAddr))
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves the control API on ln (which it closes) until ctx is done or
// the Server is closed; see ListenAndServe.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		ln.Close()
		return errServerClosed
	}
	s.https[hs] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.https, hs)
		s.mu.Unlock()
	}()

	stop := make(chan struct{})
	shutdownDone := make(chan struct{})
	go func() {
		defer close(shutdownDone)
		select {
		case <-ctx.Done():
		case <-stop:
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			hs.Close()
		}
	}()
	err := hs.Serve(ln)
	close(stop)
	<-shutdownDone
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops every proxy listener, closes every proxied connection and API
// server started by Serve or ListenAndServe, and waits for all of the
// Server's goroutines to finish. After Close the API still answers but no
// proxy can be started. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed.Store(true)
	proxies := make([]*managedProxy, 0, len(s.proxies))
	for _, p := range s.proxies {
		proxies = append(proxies, p)
	}
	https := make([]*http.Server, 0, len(s.https))
	for hs := range s.https {
		https = append(https, hs)
	}
	s.mu.Unlock()
	s.stopLeases()

	for _, hs := range https {
		hs.Close()
	}
	for _, p := range proxies {
		p.stop()
	}
	s.wg.Wait()
	return nil
}

// loopbackDefault puts 127.0.0.1 in front of a host-less "host:port"
// address; anything else is returned unchanged.
func loopbackDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// normalizeListen is loopbackDefault, with an empty address meaning a free
// loopback port.
func normalizeListen(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return loopbackDefault(addr)
}

func (s *Server) getProxy(name string) (*managedProxy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.proxies[name]
	if !ok {
		return nil, errProxyNotFound
	}
	return p, nil
}

func (s *Server) proxyList() []*managedProxy {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*managedProxy, 0, len(s.proxies))
	for _, p := range s.proxies {
		list = append(list, p)
	}
	return list
}

// addProxy creates a proxy, starting it if enabled, as toxiproxy's
// ProxyCollection.Add: 409 if the name is taken, the listen error (500) if it
// cannot start, in which case nothing is added.
func (s *Server) addProxy(name, listen, upstream string, enabled bool) (*managedProxy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.proxies[name]; ok {
		return nil, errProxyAlreadyExists
	}
	if s.closed.Load() {
		return nil, errServerClosed
	}
	p := newManagedProxy(s, name, normalizeListen(listen), upstream)
	if enabled {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	s.proxies[name] = p
	return p, nil
}

func (s *Server) removeProxy(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.proxies[name]
	if !ok {
		return errProxyNotFound
	}
	p.remove()
	delete(s.proxies, name)
	return nil
}

// populateJSON implements POST /populate like toxiproxy's PopulateJson: the
// whole list is validated first, then each proxy is added or, if one with the
// same name but a different listen or upstream exists, replaced (losing its
// toxics). It returns the proxies handled before any error.
func (s *Server) populateJSON(body []byte) ([]*managedProxy, error) {
	var input []struct {
		proxyInput
		Enabled *bool `json:"enabled"`
	}
	if err := decodeBody(body, &input); err != nil {
		return nil, errBadRequestBody.wrap(err)
	}
	for i := range input {
		if input[i].Name == "" {
			return nil, errMissingField.wrap(fmt.Errorf("name at proxy %d", i+1))
		}
		if input[i].Upstream == "" {
			return nil, errMissingField.wrap(fmt.Errorf("upstream at proxy %d", i+1))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, errServerClosed
	}
	out := make([]*managedProxy, 0, len(input))
	for _, in := range input {
		enabled := in.Enabled == nil || *in.Enabled
		listen := normalizeListen(in.Listen)
		if old, ok := s.proxies[in.Name]; ok {
			if old.sameAddrs(listen, in.Upstream) {
				out = append(out, old)
				continue
			}
			old.stop()
		}
		p := newManagedProxy(s, in.Name, listen, in.Upstream)
		if enabled {
			if err := p.start(); err != nil {
				return out, err
			}
		}
		if old, ok := s.proxies[in.Name]; ok {
			old.remove()
		}
		s.proxies[in.Name] = p
		out = append(out, p)
	}
	return out, nil
}
