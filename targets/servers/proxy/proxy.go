package proxy

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// managedProxy is one named proxy: a listener (while enabled), its upstream,
// its toxics and its open links.
type managedProxy struct {
	srv  *Server
	name string

	mu       sync.Mutex
	listen   string // after a successful start, the real bound address
	upstream string
	enabled  bool
	removed  bool      // deleted or replaced; may never start again
	run      *proxyRun // non-nil exactly while enabled
	toxics   [numDirections][]*toxic
	links    map[*link]struct{}
}

// proxyRun is one enabled period of a proxy, from start to stop.
type proxyRun struct {
	ln         net.Listener
	upstream   string
	ctx        context.Context // canceled by stop; aborts upstream dials
	cancel     context.CancelFunc
	acceptDone chan struct{}
}

var errAlreadyStarted = errors.New("proxy already started")

func newManagedProxy(s *Server, name, listen, upstream string) *managedProxy {
	return &managedProxy{
		srv:      s,
		name:     name,
		listen:   listen,
		upstream: upstream,
		links:    make(map[*link]struct{}),
	}
}

func (p *managedProxy) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startLocked()
}

// startLocked binds the listener and starts accepting. Like toxiproxy, the
// proxy's listen address becomes the real bound address (so port 0 turns
// into the chosen port and later restarts reuse it).
func (p *managedProxy) startLocked() error {
	switch {
	case p.enabled:
		return errAlreadyStarted
	case p.removed:
		return errProxyNotFound
	case p.srv.closed.Load():
		return errServerClosed
	}
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		return err
	}
	p.listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	run := &proxyRun{ln: ln, upstream: p.upstream, ctx: ctx, cancel: cancel, acceptDone: make(chan struct{})}
	p.run = run
	p.enabled = true
	p.srv.wg.Add(1)
	go p.acceptLoop(run)
	return nil
}

func (p *managedProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

// stopLocked closes the listener, waits for the accept loop to exit and
// closes every open link (whose goroutines then exit on their own).
func (p *managedProxy) stopLocked() {
	if !p.enabled {
		return
	}
	run := p.run
	p.run = nil
	p.enabled = false
	run.cancel()
	run.ln.Close()
	<-run.acceptDone
	for l := range p.links {
		l.close(false)
	}
}

// remove stops the proxy for good (it was deleted or replaced).
func (p *managedProxy) remove() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
	p.removed = true
}

// update applies a POST /proxies/{name} like toxiproxy's Proxy.Update: a new
// listen or upstream restarts the proxy (dropping its connections), then the
// enabled flag is applied.
func (p *managedProxy) update(listen, upstream string, enabled bool) error {
	listen = normalizeListen(listen)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.removed {
		return errProxyNotFound
	}
	if listen != p.listen || upstream != p.upstream {
		p.stopLocked()
		p.listen = listen
		p.upstream = upstream
	}
	if enabled != p.enabled {
		if enabled {
			return p.startLocked()
		}
		p.stopLocked()
	}
	return nil
}

// reset enables the proxy and removes all its toxics (POST /reset).
func (p *managedProxy) reset() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.removed {
		return nil // deleted while the reset was running
	}
	if !p.enabled {
		if err := p.startLocked(); err != nil {
			return err
		}
	}
	p.toxics = [numDirections][]*toxic{}
	p.pushToxicsLocked()
	return nil
}

func (p *managedProxy) sameAddrs(listen, upstream string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listen == listen && p.upstream == upstream
}

func (p *managedProxy) currentInput() proxyInput {
	p.mu.Lock()
	defer p.mu.Unlock()
	return proxyInput{Listen: p.listen, Upstream: p.upstream, Enabled: p.enabled}
}

func (p *managedProxy) toJSON() proxyJSON {
	p.mu.Lock()
	defer p.mu.Unlock()
	return proxyJSON{
		Name:     p.name,
		Listen:   p.listen,
		Upstream: p.upstream,
		Enabled:  p.enabled,
		Toxics:   p.toxicsJSONLocked(),
	}
}

func (p *managedProxy) toxicsJSON() []toxicJSON {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.toxicsJSONLocked()
}

// toxicsJSONLocked lists the toxics as toxiproxy does: upstream ones first,
// each stream in the order added; never null.
func (p *managedProxy) toxicsJSONLocked() []toxicJSON {
	out := make([]toxicJSON, 0, len(p.toxics[dirUpstream])+len(p.toxics[dirDownstream]))
	for _, list := range p.toxics {
		for _, t := range list {
			out = append(out, t.toJSON())
		}
	}
	return out
}

func (p *managedProxy) findToxic(name string) *toxic {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, _, _ := p.findToxicLocked(name)
	return t
}

func (p *managedProxy) findToxicLocked(name string) (*toxic, direction, int) {
	for d, list := range p.toxics {
		for i, t := range list {
			if t.name == name {
				return t, direction(d), i
			}
		}
	}
	return nil, 0, -1
}

// addToxic adds a decoded toxic. A duplicate name wins over attrErr, the
// attribute decoding error, as in toxiproxy.
func (p *managedProxy) addToxic(t *toxic, attrErr *APIError) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, _, _ := p.findToxicLocked(t.name); old != nil {
		return errToxicAlreadyExists
	}
	if attrErr != nil {
		return attrErr
	}
	t.id = p.srv.nextID.Add(1)
	t.gen = t.id
	p.toxics[t.dir] = append(p.toxics[t.dir], t)
	p.pushToxicsLocked()
	return nil
}

// updateToxic applies an update body to the named toxic; a non-zero expires
// renews its lease.
func (p *managedProxy) updateToxic(name string, body []byte, expires time.Time) (*toxic, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, d, i := p.findToxicLocked(name)
	if cur == nil {
		return nil, errToxicNotFound
	}
	next, err := decodeToxicUpdate(cur, body)
	if err != nil {
		return nil, err
	}
	next.gen = p.srv.nextID.Add(1)
	if !expires.IsZero() {
		next.expires = expires
	}
	p.toxics[d][i] = next
	p.pushToxicsLocked()
	return next, nil
}

func (p *managedProxy) removeToxic(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, d, i := p.findToxicLocked(name)
	if t == nil {
		return errToxicNotFound
	}
	p.toxics[d] = slices.Delete(p.toxics[d], i, i+1)
	p.pushToxicsLocked()
	return nil
}

// pushToxicsLocked hands the current toxic lists to every open link.
func (p *managedProxy) pushToxicsLocked() {
	for l := range p.links {
		l.setToxics(&p.toxics)
	}
}

func (p *managedProxy) acceptLoop(run *proxyRun) {
	defer p.srv.wg.Done()
	defer close(run.acceptDone)
	for {
		c, err := run.ln.Accept()
		if err != nil {
			if run.ctx.Err() != nil {
				return
			}
			// E.g. out of file descriptors: back off instead of giving up.
			p.srv.log.Warn("proxy: accept failed", "proxy", p.name, "err", err)
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case <-run.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		p.srv.wg.Add(1)
		go p.handleConn(run, c)
	}
}

// handleConn dials the upstream for one accepted client and, if the proxy is
// still in the same run, starts a link between them.
func (p *managedProxy) handleConn(run *proxyRun, client net.Conn) {
	defer p.srv.wg.Done()
	d := net.Dialer{Timeout: p.srv.dialTimeout}
	up, err := d.DialContext(run.ctx, "tcp", run.upstream)
	if err != nil {
		p.srv.log.Debug("proxy: upstream dial failed", "proxy", p.name, "upstream", run.upstream, "err", err)
		client.Close()
		return
	}
	p.mu.Lock()
	if p.run != run {
		p.mu.Unlock()
		client.Close()
		up.Close()
		return
	}
	l := newLink(p, client, up)
	l.setToxics(&p.toxics)
	p.links[l] = struct{}{}
	p.srv.wg.Add(linkGoroutines)
	p.mu.Unlock()
	l.start()
}

func (p *managedProxy) removeLink(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.links, l)
}
