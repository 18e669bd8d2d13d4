package h2

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"time"
)

// The writer. Callers append their frames to pend under wmu, which is
// never held across a system call, and the first to find nobody writing
// writes them: a call alone on its connection writes its own request, in
// one write, as before. Frames appended while a write is under way are
// left to writeLoop, one goroutine per connection, which writes them all
// at once: under concurrency, many requests share a write, and no caller
// is held up writing others' requests (which would add to its own
// measured time).

// Who writes pend.
const (
	writerNone   uint8 = iota
	writerCaller       // a caller, writing what it appended
	writerLoop         // writeLoop, writing what was appended meanwhile
)

// ackHold is how long a ping ack (or a reset) waits before it rides with
// a request. grpc-go servers send a ping (for their BDP estimate) on the
// DATA of a request whenever none is outstanding: acked at once, that is
// a write of ours and a wake-up of both sides for every other request;
// held, one ping per ackHold at most, and no write of its own. The server
// then measures a longer round trip, which only slows the growth of its
// receive window for large uploads.
const ackHold = time.Millisecond

func (c *conn) now() int64 { return int64(time.Since(c.epoch)) + 1 }

// burstGap: a request opened within this of the previous one on its
// connection is part of a burst, whose writes are worth batching.
const burstGap = 50 * time.Microsecond

var errRetry = errors.New("connection not usable")

func writeErrorStatus(err error) error {
	return connErrorStatus("transport: error writing to server: " + err.Error())
}

// flushLocked writes pend, unless someone is writing (who then will): it
// is called with wmu held and returns with it released. What was appended
// during the write is handed to writeLoop.
func (c *conn) flushLocked() {
	if c.werr != nil {
		c.pend = c.pend[:0]
	}
	if c.writing != writerNone || len(c.pend) == 0 {
		c.wmu.Unlock()
		return
	}
	c.writing = writerCaller
	c.writePending()
	if len(c.pend) > 0 {
		c.writing = writerLoop
		c.wmu.Unlock()
		c.kickLoop()
		return
	}
	c.writing = writerNone
	c.wmu.Unlock()
}

// writePending writes what is pending, with wmu (held on entry and on
// return) released for the write, so that callers append to the other
// buffer meanwhile.
func (c *conn) writePending() {
	b := c.pend
	c.pend = c.out[:0]
	c.wmu.Unlock()
	_, err := c.nc.Write(b)
	c.wmu.Lock()
	c.out = b[:0]
	if err != nil {
		c.failWrite(err)
	}
}

// writeLoop writes what callers appended while one of them was writing,
// until the connection ends.
func (c *conn) writeLoop() {
	for {
		select {
		case <-c.kick:
		case <-c.closed:
			return
		}
		if c.batch {
			// Let the callers already woken append first: a goroutine
			// woken by a channel runs next, before them.
			runtime.Gosched()
		}
		c.wmu.Lock()
		if c.writing != writerLoop {
			c.wmu.Unlock()
			continue
		}
		for len(c.pend) > 0 {
			c.writePending()
		}
		c.writing = writerNone
		c.wmu.Unlock()
	}
}

// failWrite ends the connection after a failed write (wmu held): what is
// pending is dropped, and later writes too.
func (c *conn) failWrite(err error) {
	if c.werr == nil {
		c.werr = writeErrorStatus(err)
		c.shut(c.werr)
	}
	c.pend = c.pend[:0]
}

// appendPend appends frames for writing (wmu held), or drops them once a
// write failed.
func (c *conn) appendPend(add func([]byte) []byte) {
	if c.werr == nil {
		c.pend = add(c.pend)
	}
}

// queue adds a control frame: urgent ones are written at once (or with
// the write under way), the others are held (see ackHold).
func (c *conn) queue(add func([]byte) []byte, urgent bool) {
	c.wmu.Lock()
	if urgent {
		c.appendPend(add)
		c.flushLocked()
		return
	}
	c.held = add(c.held)
	if c.heldAt == 0 {
		c.heldAt = c.now()
	}
	if !c.heldArmed {
		c.heldArmed = true
		c.heldTimer.Reset(2 * ackHold)
	}
	c.wmu.Unlock()
}

// takeHeld moves the held control frames to pend (wmu held): when they
// are due, or always if all.
func (c *conn) takeHeld(all bool) {
	if len(c.held) == 0 || !all && c.now()-c.heldAt < int64(ackHold) {
		return
	}
	c.appendPend(func(b []byte) []byte { return append(b, c.held...) })
	c.held, c.heldAt = c.held[:0], 0
	if c.heldArmed {
		c.heldArmed = false
		c.heldTimer.Stop()
	}
}

// flushHeld writes the held control frames no request took in time.
func (c *conn) flushHeld() {
	c.wmu.Lock()
	c.heldArmed = false
	c.takeHeld(true)
	c.flushLocked()
}

// open registers st and writes its HEADERS and as much of its message as
// the windows allow. It returns how much of the message (with its 5-byte
// prefix) went, or errRetry when the connection takes no new calls.
func (c *conn) open(st *stream, msg []byte, dyn [][]byte) (int, error) {
	c.wmu.Lock()
	if c.unusable.Load() || c.werr != nil {
		c.wmu.Unlock()
		return 0, errRetry
	}
	if c.nextID > maxStreamID {
		c.wmu.Unlock()
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
		c.wmu.Unlock()
		return 0, errRetry
	}
	c.streams[st.id] = st
	busy := len(c.streams) > 1
	c.mu.Unlock()
	c.nextID += 2

	now := time.Now()
	burst := now.Sub(c.lastOpen) < burstGap
	c.lastOpen = now
	c.tbuf = appendTimeout(c.tbuf[:0], st.deadline.Sub(now))
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
	c.pend = appendHeaders(c.pend, st.id, hb, false, int(c.maxFrame.Load()))
	var sent int
	c.pend, sent = c.appendData(c.pend, st, msg, 0)
	// Held frames after the request: a ping ack after the DATA it would
	// otherwise make the server answer with a new ping.
	c.takeHeld(false)
	if busy && burst && c.batch && c.writing == writerNone {
		// On one CPU other callers cannot append while this one writes:
		// when calls come in a burst (answers read together wake their
		// callers together), writeLoop writes after they have appended.
		c.writing = writerLoop
		c.wmu.Unlock()
		c.kickLoop()
		return sent, nil
	}
	c.flushLocked()
	return sent, nil
}

// kickLoop wakes writeLoop.
func (c *conn) kickLoop() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
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
		if st.state.Load() != stateActive {
			// The server ended the stream: reset our half.
			c.queue(func(b []byte) []byte { return appendRSTStream(b, st.id, codeCancel) }, false)
			return nil
		}
		c.wmu.Lock()
		c.pend, off = c.appendData(c.pend, st, msg, off)
		c.takeHeld(false)
		c.flushLocked()
	}
	return nil
}
