package proxy

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Data path. A link is one proxied connection: a client conn and an upstream
// conn. Each direction is a pipe served by two goroutines: a reader that
// fills buffers from the source and a writer that applies the direction's
// active toxics and writes to the destination. Buffers cycle between them
// through channels, so the plain path allocates nothing per chunk; the reader
// may run ahead of the writer by plainBuffers chunks, or latencyBuffers while a
// latency toxic is active (toxiproxy delays each chunk from the moment it was
// read, so delayed chunks pipeline rather than queue behind one another).
//
// Toxics reach a link as an immutable linkState swapped in atomically; the
// old state's changed channel is closed so that a writer waiting on a toxic
// (latency, bandwidth, a stall) re-evaluates at once.

const (
	bufSize        = 32 << 10
	plainBuffers   = 2
	latencyBuffers = 64
	linkGoroutines = 2 * int(numDirections)
)

// chunk is one read: buf[:n] and the read error, if any, stamped with the
// time it was read.
type chunk struct {
	buf []byte
	n   int
	ts  time.Time
	err error
}

// roll is a link's toxicity decision for one toxic generation.
type roll struct {
	gen    uint64
	typ    string
	active bool
	since  time.Time // when this generation started applying to the link
}

// activeSet is what one direction of one link must do to each chunk.
type activeSet struct {
	plain    bool            // no toxic with an effect: write straight through
	terminal *toxic          // first timeout or reset_peer toxic: data goes no further
	since    time.Time       // when terminal started applying
	latency  []*latencyAttrs // delays add up
	rate     int64           // bytes per millisecond (= KB/s); 0 = unlimited
	stall    bool            // a bandwidth toxic with rate <= 0 holds all data
}

func (a *activeSet) add(t *toxic, since time.Time) {
	switch attrs := t.attrs.(type) {
	case *latencyAttrs:
		a.plain = false
		a.latency = append(a.latency, attrs)
	case *bandwidthAttrs:
		a.plain = false
		switch rate := clampMillis(attrs.Rate); {
		case rate <= 0:
			a.stall = true
		case a.rate == 0 || rate < a.rate:
			a.rate = rate // toxics in series: the slowest wins
		}
	case *timeoutAttrs, *resetPeerAttrs:
		a.plain = false
		if a.terminal == nil {
			a.terminal = t
			a.since = since
		}
	}
}

type linkState struct {
	dirs    [numDirections]activeSet
	changed chan struct{} // closed when this state is replaced
}

type link struct {
	p         *managedProxy
	conns     [numDirections]net.Conn // conns[d] is the source of direction d: {client, upstream}
	done      chan struct{}
	closeOnce sync.Once
	state     atomic.Pointer[linkState]
	live      atomic.Int32 // running goroutines; the last one unregisters the link
	eofs      atomic.Int32 // directions that ended with a forwarded EOF
	pipes     [numDirections]pipe

	mu    sync.Mutex
	rolls map[uint64]roll // by toxic id
}

type pipe struct {
	l        *link
	dir      direction
	src, dst net.Conn
	data     chan chunk
	free     chan []byte

	nbufs int // buffers allocated; reader only

	// Writer only.
	timer     *time.Timer
	bwNext    time.Time // bandwidth: when the previous piece's time slot ends
	dropped   bool      // a timeout toxic swallowed data
	termTox   *toxic    // timeout toxic the timer below refers to
	termSince time.Time // timeout toxic: start of the current quiet period
}

func newLink(p *managedProxy, client, upstream net.Conn) *link {
	l := &link{
		p:     p,
		conns: [numDirections]net.Conn{dirUpstream: client, dirDownstream: upstream},
		done:  make(chan struct{}),
	}
	for d := range numDirections {
		l.pipes[d] = pipe{
			l:    l,
			dir:  d,
			src:  l.conns[d],
			dst:  l.conns[numDirections-1-d],
			data: make(chan chunk, latencyBuffers),
			free: make(chan []byte, latencyBuffers),
		}
	}
	return l
}

// start runs the link's goroutines; the caller has added linkGoroutines to
// the server's WaitGroup.
func (l *link) start() {
	l.live.Store(int32(linkGoroutines))
	for d := range numDirections {
		go l.pipes[d].readLoop()
		go l.pipes[d].writeLoop()
	}
}

func (l *link) exit() {
	defer l.p.srv.wg.Done()
	if l.live.Add(-1) == 0 {
		l.close(false)
		l.p.removeLink(l)
	}
}

// close closes both conns, with TCP RST if rst is set. Idempotent.
func (l *link) close(rst bool) {
	l.closeOnce.Do(func() {
		if rst {
			for _, c := range l.conns {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
			}
		}
		close(l.done)
		for _, c := range l.conns {
			c.Close()
		}
	})
}

// setToxics installs the proxy's current toxic lists. Toxics the link has
// already seen keep their toxicity roll unless updated. A timeout toxic that
// applied to this link and is now gone closes it, as toxiproxy's timeout
// Cleanup does: the data it swallowed is lost. Called with the proxy's lock
// held.
func (l *link) setToxics(set *[numDirections][]*toxic) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	rolls := make(map[uint64]roll, len(set[0])+len(set[1]))
	st := &linkState{changed: make(chan struct{})}
	for d := range numDirections {
		a := &st.dirs[d]
		a.plain = true
		for _, t := range set[d] {
			r, ok := l.rolls[t.id]
			if !ok || r.gen != t.gen {
				r = roll{gen: t.gen, typ: t.typ, active: rand.Float32() < t.toxicity, since: now}
			}
			rolls[t.id] = r
			if r.active {
				a.add(t, r.since)
			}
		}
	}
	closeLink := false
	for id, r := range l.rolls {
		if _, ok := rolls[id]; !ok && r.active && r.typ == ToxicTimeout {
			closeLink = true
		}
	}
	l.rolls = rolls
	if old := l.state.Swap(st); old != nil {
		close(old.changed)
	}
	if closeLink {
		l.close(false)
	}
}

func (pp *pipe) readLoop() {
	defer pp.l.exit()
	for {
		buf := pp.getBuf()
		if buf == nil {
			return
		}
		n, err := pp.src.Read(buf)
		select {
		case pp.data <- chunk{buf: buf, n: n, ts: time.Now(), err: err}:
		case <-pp.l.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// getBuf returns a recycled buffer, allocates one while under the limit, or
// waits for the writer to return one. Nil means the link closed.
func (pp *pipe) getBuf() []byte {
	select {
	case b := <-pp.free:
		return b
	default:
	}
	limit := plainBuffers
	if len(pp.l.state.Load().dirs[pp.dir].latency) > 0 {
		limit = latencyBuffers
	}
	if pp.nbufs < limit {
		pp.nbufs++
		return make([]byte, bufSize)
	}
	select {
	case b := <-pp.free:
		return b
	case <-pp.l.done:
		return nil
	}
}

func (pp *pipe) writeLoop() {
	defer pp.l.exit()
	for {
		st := pp.l.state.Load()
		a := &st.dirs[pp.dir]
		var timeout <-chan time.Time
		if t := a.terminal; t != nil && t.typ == ToxicTimeout {
			if pp.termTox != t {
				pp.termTox, pp.termSince = t, a.since
			}
			if ms := t.attrs.(*timeoutAttrs).Timeout; ms > 0 {
				d := time.Until(pp.termSince.Add(millis(ms)))
				if d <= 0 {
					pp.l.close(false)
					return
				}
				pp.armTimer(d)
				timeout = pp.timer.C
			}
		}
		select {
		case c := <-pp.data:
			if !pp.handle(c) {
				return
			}
		case <-st.changed:
		case <-timeout:
			pp.l.close(false)
			return
		case <-pp.l.done:
			return
		}
	}
}

// handle delivers one chunk and recycles its buffer. It reports whether the
// writer should keep going.
func (pp *pipe) handle(c chunk) bool {
	ok := c.n == 0 || pp.deliver(c)
	select {
	case pp.free <- c.buf:
	default:
	}
	if !ok {
		pp.l.close(false)
		return false
	}
	if c.err == nil {
		return true
	}
	pp.finish(c.err)
	return false
}

// deliver pushes c's bytes through the active toxics to the destination. It
// re-reads the toxic state whenever that changes while it waits.
func (pp *pipe) deliver(c chunk) bool {
	data := c.buf[:c.n]
	var delay time.Duration
	var delayFor *linkState
	for len(data) > 0 {
		st := pp.l.state.Load()
		a := &st.dirs[pp.dir]
		if a.plain {
			return pp.write(data)
		}
		if t := a.terminal; t != nil {
			if t.typ == ToxicResetPeer {
				pp.reset(t)
				return false
			}
			// Timeout: swallow the data; the quiet period restarts.
			pp.dropped = true
			pp.termTox, pp.termSince = t, time.Now()
			return true
		}
		if a.stall {
			if pp.waitUntil(time.Time{}, st.changed) == waitClosed {
				return false
			}
			continue
		}
		if len(a.latency) > 0 {
			if delayFor != st {
				delay, delayFor = 0, st
				for _, lat := range a.latency {
					delay += lat.delay()
				}
			}
			switch pp.waitUntil(c.ts.Add(delay), st.changed) {
			case waitClosed:
				return false
			case waitChanged:
				continue
			}
		}
		n := len(data)
		if a.rate > 0 {
			// As toxiproxy: at most 100 ms worth of data per write, each
			// piece sent after its transmission time has passed.
			if limit := a.rate * 100; int64(n) > limit {
				n = int(limit)
			}
			start := time.Now()
			if pp.bwNext.After(start) {
				start = pp.bwNext
			}
			at := start.Add(time.Duration(n) * time.Millisecond / time.Duration(a.rate))
			switch pp.waitUntil(at, st.changed) {
			case waitClosed:
				return false
			case waitChanged:
				continue
			}
			pp.bwNext = at
		}
		if !pp.write(data[:n]) {
			return false
		}
		data = data[n:]
	}
	return true
}

func (pp *pipe) write(b []byte) bool {
	_, err := pp.dst.Write(b)
	return err == nil
}

// finish handles the end of the source stream. A clean EOF is forwarded as a
// half-close (FIN) unless a toxic swallowed data or is resetting; the link
// closes once both directions are finished. Read errors close the link,
// passing a reset on as a reset.
func (pp *pipe) finish(err error) {
	if !errors.Is(err, io.EOF) {
		pp.l.close(errors.Is(err, syscall.ECONNRESET))
		return
	}
	a := &pp.l.state.Load().dirs[pp.dir]
	if t := a.terminal; t != nil && t.typ == ToxicResetPeer {
		pp.reset(t) // toxiproxy's reset_peer also fires on EOF
		return
	}
	if pp.dropped || a.terminal != nil {
		pp.l.close(false)
		return
	}
	cw, ok := pp.dst.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		pp.l.close(false)
		return
	}
	if pp.l.eofs.Add(1) == int32(numDirections) {
		pp.l.close(false)
	}
}

// reset waits out the reset_peer toxic's timeout (like toxiproxy, removing the
// toxic does not cancel a reset in progress) and resets both connections.
func (pp *pipe) reset(t *toxic) {
	if ms := t.attrs.(*resetPeerAttrs).Timeout; ms > 0 {
		if pp.waitUntil(time.Now().Add(millis(ms)), nil) == waitClosed {
			return
		}
	}
	pp.l.close(true)
}

type waitResult int

const (
	waitElapsed waitResult = iota
	waitChanged
	waitClosed
)

// waitUntil sleeps until at (forever if at is zero), returning early if
// changed is closed or the link closes.
func (pp *pipe) waitUntil(at time.Time, changed <-chan struct{}) waitResult {
	var fire <-chan time.Time
	if !at.IsZero() {
		d := time.Until(at)
		if d <= 0 {
			return waitElapsed
		}
		pp.armTimer(d)
		fire = pp.timer.C
	}
	select {
	case <-fire:
		return waitElapsed
	case <-changed:
		return waitChanged
	case <-pp.l.done:
		return waitClosed
	}
}

// armTimer (re)starts the writer's timer. With Go ≥ 1.23 timer semantics
// Reset never leaves a stale tick in the channel.
func (pp *pipe) armTimer(d time.Duration) {
	if pp.timer == nil {
		pp.timer = time.NewTimer(d)
		return
	}
	pp.timer.Reset(d)
}
