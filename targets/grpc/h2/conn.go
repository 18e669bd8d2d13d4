package h2

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
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

	// Writing: wlock is held (a value in it) by whoever writes.
	wlock  chan struct{}
	wbuf   []byte
	hbuf   []byte // header block
	tbuf   []byte // grpc-timeout
	mode   blockMode
	used   int    // dynamic table bytes the requests' fields take
	nextID uint32 // under wlock

	// Set by the reader from the server's SETTINGS.
	maxFrame   atomic.Int32
	tableLimit atomic.Uint32
	initWin    atomic.Int64
	sem        chan struct{} // MAX_CONCURRENT_STREAMS; nil: no limit

	sendWin  atomic.Int64 // connection send window
	winMu    sync.Mutex
	winCh    chan struct{} // closed when a window grows; nil if none waits
	winWaits atomic.Int32

	// Control frames to send: urgent ones (window updates, settings acks)
	// at once, or by whoever holds wlock when they are queued; held ones
	// (ping acks, resets) with the first request written once they have
	// waited ackHold, or by the timer after 2 × ackHold.
	cmu         sync.Mutex
	ctrl        []byte
	ctrlPending atomic.Bool
	urgent      atomic.Bool
	heldAt      atomic.Int64 // when the oldest held frame was queued, since epoch; 0: none
	epoch       time.Time
	held        *time.Timer
	heldArmed   atomic.Bool

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
		wlock: make(chan struct{}, 1), nextID: 1,
		streams: map[uint32]*stream{}, closed: make(chan struct{}),
	}
	c.maxFrame.Store(defaultMaxFrame)
	c.tableLimit.Store(defaultTableSize)
	c.initWin.Store(65535)
	c.sendWin.Store(65535)
	c.dec = hpack.NewDecoder(defaultTableSize, c.onField)
	c.dec.SetMaxStringLength(maxHeaderBytes)
	c.epoch = time.Now()
	c.held = time.AfterFunc(time.Hour, func() {
		c.heldArmed.Store(false)
		c.flushControl()
	})
	c.held.Stop()
	return c
}

// ackHold is how long a ping ack (or a reset) waits before it rides with
// a request. grpc-go servers send a ping (for their BDP estimate) on the
// DATA of a request whenever none is outstanding: acked at once, that is
// a write of ours and a wake-up of both sides for every other request;
// held, one ping per ackHold at most, and no write of its own. The server
// then measures a longer round trip, which only slows the growth of its
// receive window for large uploads.
const ackHold = time.Millisecond

func (c *conn) now() int64 { return int64(time.Since(c.epoch)) + 1 }

// maxHeaderBytes bounds a response header value.
const maxHeaderBytes = 1 << 20

// handshake sends the client preface and settings and reads the server's
// first SETTINGS, before ctx's deadline.
func (c *conn) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	b := append(c.wbuf[:0], clientPreface...)
	b = appendSettings(b, settingEnablePush, 0, settingInitialWindowSize, streamWindow)
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
	c.wbuf = b[:0]
	return c.onSettings(&f, true) // and its ack is written
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

// queue adds a control frame: urgent ones are written at once (or by the
// writer holding the lock), the others are held (see ackHold).
func (c *conn) queue(add func([]byte) []byte, urgent bool) {
	c.cmu.Lock()
	c.ctrl = add(c.ctrl)
	c.ctrlPending.Store(true)
	if urgent {
		c.urgent.Store(true)
	} else if c.heldAt.Load() == 0 {
		c.heldAt.Store(c.now())
	}
	c.cmu.Unlock()
	if urgent {
		c.flushControl()
	} else if !c.heldArmed.Swap(true) {
		c.held.Reset(2 * ackHold)
	}
}

// flushControl writes every queued control frame, unless someone holds
// the write lock (who then writes the urgent ones).
func (c *conn) flushControl() {
	for c.ctrlPending.Load() {
		select {
		case c.wlock <- struct{}{}:
		default:
			return
		}
		b := c.takeControl(c.wbuf[:0], true)
		if len(b) > 0 {
			if _, err := c.nc.Write(b); err != nil {
				c.shut(writeErrorStatus(err))
			}
		}
		c.wbuf = b[:0]
		<-c.wlock
		if !c.urgent.Load() {
			return
		}
	}
}

// takeControl appends the queued control frames to b (wlock held): all of
// them if all, else unless they are only held frames not yet due.
func (c *conn) takeControl(b []byte, all bool) []byte {
	if !c.ctrlPending.Load() {
		return b
	}
	if !all && !c.urgent.Load() {
		if at := c.heldAt.Load(); at != 0 && c.now()-at < int64(ackHold) {
			return b
		}
	}
	c.cmu.Lock()
	b = append(b, c.ctrl...)
	c.ctrl = c.ctrl[:0]
	c.ctrlPending.Store(false)
	c.urgent.Store(false)
	c.heldAt.Store(0)
	c.cmu.Unlock()
	if c.heldArmed.Swap(false) {
		c.held.Stop()
	}
	return b
}

// unlock releases the write lock and writes the urgent control frames
// queued meanwhile.
func (c *conn) unlock() {
	<-c.wlock
	if c.urgent.Load() {
		c.flushControl()
	}
}

func writeErrorStatus(err error) error {
	return connErrorStatus("transport: error writing to server: " + err.Error())
}

var errRetry = errors.New("connection not usable")

// open registers st and writes its HEADERS and as much of its message as
// the windows allow (wlock held). It returns how much of the message (with
// its 5-byte prefix) went, or errRetry when the connection takes no new
// calls.
func (c *conn) open(st *stream, msg []byte, dyn [][]byte) (int, error) {
	if c.unusable.Load() {
		return 0, errRetry
	}
	if c.nextID > maxStreamID {
		c.mu.Lock()
		c.draining = true
		c.unusable.Store(true)
		idle := len(c.streams) == 0
		c.mu.Unlock()
		if idle {
			c.closeDrained()
		}
		return 0, errRetry
	}
	st.id = c.nextID
	st.sendWin.Store(c.initWin.Load())
	c.mu.Lock()
	if c.streams == nil || c.draining {
		c.mu.Unlock()
		return 0, errRetry
	}
	c.streams[st.id] = st
	c.mu.Unlock()
	c.nextID += 2

	c.tbuf = appendTimeout(c.tbuf[:0], time.Until(st.deadline))
	mode, hb := c.mode, c.hbuf[:0]
	switch limit := c.tableLimit.Load(); {
	case mode == modePrime && c.cl.plan.tableSize(c.tbuf, dyn) > int(limit):
		mode, c.mode = modeLiteral, modeLiteral
	case mode == modeIndexed && c.used > int(limit):
		// The server shrank its table below what we put in it.
		hb = appendTableSizeUpdate(hb, 0)
		mode, c.mode = modeLiteral, modeLiteral
	}
	if mode == modePrime {
		c.used = c.cl.plan.tableSize(c.tbuf, dyn)
		c.mode = modeIndexed
	}
	hb = c.cl.plan.appendBlock(hb, mode, c.tbuf, dyn)
	c.hbuf = hb
	b := appendHeaders(c.wbuf[:0], st.id, hb, false, int(c.maxFrame.Load()))
	b, sent := c.appendData(b, st, msg, 0)
	// Control frames after the request: a ping ack after the DATA it
	// would otherwise make the server answer with a new ping.
	b = c.takeControl(b, false)
	_, err := c.nc.Write(b)
	c.wbuf = b[:0]
	if err != nil {
		c.shut(writeErrorStatus(err))
	}
	return sent, nil
}

// appendData appends DATA frames with the message from offset off (into
// prefix and message), as far as the windows and the frame size allow,
// and returns the new offset. The last frame ends the stream.
func (c *conn) appendData(b []byte, st *stream, msg []byte, off int) ([]byte, int) {
	total := 5 + len(msg)
	maxFrame := int(c.maxFrame.Load())
	for off < total {
		n := int(min(int64(total-off), c.sendWin.Load(), st.sendWin.Load(), int64(maxFrame)))
		if n <= 0 {
			break
		}
		var flags uint8
		if off+n == total {
			flags = flagEndStream
		}
		b = appendFrameHeader(b, n, frameData, flags, st.id)
		end := off + n
		if off < 5 {
			var prefix [5]byte
			binary.BigEndian.PutUint32(prefix[1:], uint32(len(msg)))
			k := min(5, end)
			b = append(b, prefix[off:k]...)
			off = k
		}
		if off < end {
			b = append(b, msg[off-5:end-5]...)
			off = end
		}
		c.sendWin.Add(int64(-n))
		st.sendWin.Add(int64(-n))
	}
	return b, off
}

// sendRest writes the rest of a message, from offset off, as the windows
// allow. It returns nil once the message is sent or the stream has ended,
// else the status of the call's deadline or ctx, which ended first.
func (c *conn) sendRest(ctx context.Context, st *stream, msg []byte, off int) error {
	total := 5 + len(msg)
	for off < total {
		c.winWaits.Add(1)
		ch := c.windowChan()
		if c.sendWin.Load() <= 0 || st.sendWin.Load() <= 0 {
			var err error
			select {
			case <-ch:
			case <-st.done:
				st.done <- struct{}{} // for the caller's wait
			case <-st.timer.C:
				err = errDeadline
			case <-ctx.Done():
				err = ctxStatus(ctx.Err())
			}
			if err != nil {
				c.winWaits.Add(-1)
				return err
			}
		}
		c.winWaits.Add(-1)
		c.wlock <- struct{}{}
		if st.state.Load() != stateActive {
			// The server ended the stream: reset our half.
			c.unlock()
			c.queue(func(b []byte) []byte { return appendRSTStream(b, st.id, codeCancel) }, false)
			return nil
		}
		b, o := c.appendData(c.wbuf[:0], st, msg, off)
		off = o
		b = c.takeControl(b, false)
		_, err := c.nc.Write(b)
		c.wbuf = b[:0]
		c.unlock()
		if err != nil {
			c.shut(writeErrorStatus(err))
			return nil
		}
	}
	return nil
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
