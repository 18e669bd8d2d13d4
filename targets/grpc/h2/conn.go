package h2

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Flow control windows this client gives the server: per stream, and for
// the connection. Received data is consumed as it arrives, so they are
// handed back as soon as half is used.
const (
	streamWindow = 1 << 20
	connWindow   = 16 << 20
)

// maxStreamID is the last client stream ID; a connection that reaches it
// takes no more calls.
const maxStreamID = 1<<31 - 1

// conn is one HTTP/2 connection and its reader.
type conn struct {
	cl *Client
	nc net.Conn
	fr *frameReader

	// Writing (see write.go): wmu guards what follows, never held across
	// a system call.
	wmu      sync.Mutex
	pend     []byte // frames to write
	out      []byte // the frames being written
	writing  uint8  // who writes pend: nobody, a caller, or writeLoop
	kick     chan struct{}
	batch    bool   // GOMAXPROCS is 1: leave a busy connection's writes to writeLoop
	werr     error  // a write failed: the connection is done
	hbuf     []byte // header block
	tbuf     []byte // grpc-timeout
	mode     blockMode
	used     int // dynamic table bytes the requests' fields take
	nextID   uint32
	lastOpen time.Time

	// Set by the reader from the server's SETTINGS.
	maxFrame   atomic.Int32
	tableLimit atomic.Uint32
	initWin    atomic.Int64
	sem        chan struct{} // MAX_CONCURRENT_STREAMS; nil: no limit

	sendWin  atomic.Int64 // connection send window
	winMu    sync.Mutex
	winCh    chan struct{} // closed when a window grows; nil if none waits
	winWaits atomic.Int32

	// Held control frames (ping acks, resets, under wmu): they go with
	// the first request written once they have waited ackHold, or by the
	// timer after 2 × ackHold. Urgent ones go straight to pend.
	held      []byte
	heldAt    int64 // when the oldest held frame was queued, since epoch; 0: none
	epoch     time.Time
	heldTimer *time.Timer
	heldArmed bool

	mu       sync.Mutex
	streams  map[uint32]*stream
	err      error // the connection failed with this status
	shutErr  error // shut with this status, for the reader to fail with
	draining bool  // GOAWAY, or out of stream IDs: no new calls
	goAway   bool
	goAwayID uint32
	closed   chan struct{}
	unusable atomic.Bool // err or draining

	// The reader's.
	dec         *hpack.Decoder
	recvUnacked uint32
	cont        uint32 // a header block continues on this stream; 0: none
	blk         block
}

// block is what the reader gathers from one header block.
type block struct {
	st       *stream // nil: a stream that is gone
	end      bool    // END_STREAM
	httpCode int
	ctype    string
	code     int
	hasCode  bool
	msg      string
	encoding string
	badCode  error // a malformed grpc-status
	badHTTP  error // a malformed :status
}

// newConn sets up a connection over nc, not yet started.
func newConn(cl *Client, nc net.Conn) *conn {
	c := &conn{
		cl: cl, nc: nc, fr: newFrameReader(nc, 64<<10),
		kick: make(chan struct{}, 1), nextID: 1, batch: runtime.GOMAXPROCS(0) == 1,
		streams: map[uint32]*stream{}, closed: make(chan struct{}),
	}
	c.maxFrame.Store(defaultMaxFrame)
	c.tableLimit.Store(defaultTableSize)
	c.initWin.Store(65535)
	c.sendWin.Store(65535)
	c.dec = hpack.NewDecoder(defaultTableSize, c.onField)
	c.dec.SetMaxStringLength(maxHeaderBytes)
	c.epoch = time.Now()
	c.heldTimer = time.AfterFunc(time.Hour, c.flushHeld)
	c.heldTimer.Stop()
	return c
}

// maxHeaderBytes bounds a response header value.
const maxHeaderBytes = 1 << 20

// handshake sends the client preface and settings and reads the server's
// first SETTINGS, before ctx's deadline.
func (c *conn) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	b := append([]byte(clientPreface), appendSettings(nil, settingEnablePush, 0, settingInitialWindowSize, streamWindow)...)
	b = appendWindowUpdate(b, 0, connWindow-65535)
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	f, err := c.fr.next()
	if err != nil {
		return fmt.Errorf("error reading server preface: %w", err)
	}
	if f.typ != frameSettings || f.has(flagAck) {
		return errNotSettings
	}
	if err := c.onSettings(&f, true); err != nil {
		return err
	}
	if c.werr != nil { // writing the settings ack
		return c.werr
	}
	go c.writeLoop()
	return nil
}

// shut closes the connection from outside the reader, which then fails it
// with err: only the reader ends streams in flight, so that none is
// ended while the reader fills it in.
func (c *conn) shut(err error) {
	c.mu.Lock()
	if c.shutErr == nil {
		c.shutErr = err
	}
	c.unusable.Store(true)
	c.mu.Unlock()
	c.nc.Close()
}

// fail ends the connection: every call on it ends with err (a status),
// and it takes no more. The first error wins. Only the reader calls it.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.unusable.Store(true)
	streams := c.streams
	c.streams = nil
	close(c.closed)
	c.mu.Unlock()
	c.nc.Close()
	for _, st := range streams {
		c.end(st, err)
	}
	c.wakeWindow()
}

// end finishes st with err (nil: judge by what arrived), once.
func (c *conn) end(st *stream, err error) {
	if st.state.CompareAndSwap(stateActive, stateDone) {
		st.err = err
		st.done <- struct{}{}
	}
}

// finish removes st from the table and ends it; rst says the server has
// not ended the stream, so it is reset.
func (c *conn) finish(st *stream, err error, rst bool) {
	c.mu.Lock()
	if c.streams != nil {
		delete(c.streams, st.id)
	}
	idle := c.draining && len(c.streams) == 0
	c.mu.Unlock()
	if rst {
		c.queue(func(b []byte) []byte { return appendRSTStream(b, st.id, codeCancel) }, false)
	}
	c.end(st, err)
	if idle {
		c.closeDrained()
	}
}

// closeDrained closes a draining connection whose last call ended.
func (c *conn) closeDrained() {
	c.shut(connErrorStatus("the connection is draining"))
}

// lookup returns the stream with this ID, or nil.
func (c *conn) lookup(id uint32) *stream {
	c.mu.Lock()
	st := c.streams[id]
	c.mu.Unlock()
	return st
}

// abandon gives up on st (its deadline passed or ctx ended): unless the
// reader finished it meanwhile, it is reset and never reused. It returns
// whether st was abandoned.
func (c *conn) abandon(st *stream) bool {
	if !st.state.CompareAndSwap(stateActive, stateAbandoned) {
		<-st.done
		return false
	}
	c.mu.Lock()
	if c.streams != nil {
		delete(c.streams, st.id)
	}
	idle := c.draining && len(c.streams) == 0
	c.mu.Unlock()
	c.queue(func(b []byte) []byte { return appendRSTStream(b, st.id, codeCancel) }, false)
	if idle {
		c.closeDrained()
	}
	return true
}
