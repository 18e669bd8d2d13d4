package h2

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The reader: one goroutine per connection reads every frame, keeps the
// HPACK decoder's state, fills in the streams' responses and ends them.

// readLoop reads frames until the connection fails.
func (c *conn) readLoop() {
	for {
		f, err := c.fr.next()
		if err == nil {
			err = c.onFrame(&f)
		}
		if err != nil {
			c.mu.Lock()
			shut := c.shutErr
			c.mu.Unlock()
			if shut == nil {
				shut = readErrorStatus(err)
			}
			c.fail(shut)
			return
		}
	}
}

// onFrame handles one frame; an error ends the connection.
func (c *conn) onFrame(f *frame) error {
	if c.cont != 0 && (f.typ != frameContinuation || f.stream != c.cont) {
		return connError{codeProtocol, "expected CONTINUATION"}
	}
	switch f.typ {
	case frameData:
		return c.onData(f)
	case frameHeaders:
		return c.onHeaders(f)
	case frameContinuation:
		if c.cont == 0 {
			return connError{codeProtocol, "unexpected CONTINUATION"}
		}
		return c.headerFragment(f.payload, f.has(flagEndHeaders))
	case frameRSTStream:
		code, err := parseRSTStream(f)
		if err != nil {
			return err
		}
		if st := c.lookup(f.stream); st != nil {
			c.onReset(st, code)
		}
	case frameSettings:
		return c.onSettings(f, false)
	case framePing:
		if err := checkPing(f); err != nil {
			return err
		}
		if !f.has(flagAck) {
			data := [8]byte(f.payload)
			c.queue(func(b []byte) []byte { return appendPingAck(b, data[:]) }, false)
		}
	case frameGoAway:
		return c.onGoAway(f)
	case frameWindowUpdate:
		return c.onWindowUpdate(f)
	case framePushPromise:
		return connError{codeProtocol, "PUSH_PROMISE with push disabled"}
	}
	return nil // PRIORITY, unknown types: ignored
}

// onReset ends a stream the server reset.
func (c *conn) onReset(st *stream, code uint32) {
	err := rstStatus(code)
	if code == codeRefusedStream {
		st.unprocessed = true
	}
	if code == codeCancel && !time.Now().Before(st.deadline) {
		// Our deadline had passed: most likely why it was cancelled.
		err = status.Error(codes.DeadlineExceeded, status.Convert(err).Message())
	}
	c.finish(st, err, false)
}

func (c *conn) onSettings(f *frame, first bool) error {
	if f.has(flagAck) {
		return parseSettings(f, nil)
	}
	err := parseSettings(f, func(s setting) error {
		switch s.id {
		case settingHeaderTableSize:
			c.tableLimit.Store(s.val)
		case settingMaxFrameSize:
			c.maxFrame.Store(int32(s.val))
		case settingMaxConcurrentStreams:
			if first && s.val < math.MaxInt32 {
				c.sem = make(chan struct{}, max(s.val, 1))
			}
		case settingInitialWindowSize:
			delta := int64(s.val) - c.initWin.Swap(int64(s.val))
			c.mu.Lock()
			for _, st := range c.streams {
				if st.sendWin.Add(delta) > maxWindow {
					c.mu.Unlock()
					return connError{codeFlowControl, "stream window too large"}
				}
			}
			c.mu.Unlock()
			c.wakeWindow()
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.queue(appendSettingsAck, true)
	return nil
}

func (c *conn) onGoAway(f *frame) error {
	last, _, _, err := parseGoAway(f)
	if err != nil {
		return err
	}
	if last > 0 && last%2 == 0 {
		return connError{codeProtocol, fmt.Sprintf("received goaway with non-zero even-numbered stream id: %v", last)}
	}
	var cut []*stream
	c.mu.Lock()
	if c.goAway && last > c.goAwayID {
		c.mu.Unlock()
		return connError{codeProtocol, "GOAWAY stream ID grew"}
	}
	c.draining, c.goAway, c.goAwayID = true, true, last
	c.unusable.Store(true)
	for id, st := range c.streams {
		if id > last {
			cut = append(cut, st)
		}
	}
	idle := len(c.streams) == len(cut)
	c.mu.Unlock()
	for _, st := range cut {
		st.unprocessed = true
		c.finish(st, errDraining, false)
	}
	if idle {
		c.closeDrained()
	}
	return nil
}

func (c *conn) onWindowUpdate(f *frame) error {
	incr, err := parseWindowUpdate(f)
	if err != nil {
		return err
	}
	if f.stream == 0 {
		if incr == 0 {
			return connError{codeProtocol, "WINDOW_UPDATE of 0"}
		}
		if c.sendWin.Add(int64(incr)) > maxWindow {
			return connError{codeFlowControl, "connection window too large"}
		}
	} else if st := c.lookup(f.stream); st != nil {
		if incr == 0 || st.sendWin.Add(int64(incr)) > maxWindow {
			c.finish(st, status.Error(codes.Internal, "stream flow control error"), true)
			return nil
		}
	}
	c.wakeWindow()
	return nil
}

// wakeWindow wakes the writers waiting for a window.
func (c *conn) wakeWindow() {
	if c.winWaits.Load() == 0 {
		return
	}
	c.winMu.Lock()
	if c.winCh != nil {
		close(c.winCh)
		c.winCh = nil
	}
	c.winMu.Unlock()
}

// windowChan returns a channel closed when a window next grows.
func (c *conn) windowChan() chan struct{} {
	c.winMu.Lock()
	if c.winCh == nil {
		c.winCh = make(chan struct{})
	}
	ch := c.winCh
	c.winMu.Unlock()
	return ch
}

func (c *conn) onData(f *frame) error {
	if f.stream == 0 {
		return connError{codeProtocol, "DATA on stream 0"}
	}
	n := uint32(len(f.payload))
	c.recvUnacked += n
	if c.recvUnacked >= connWindow/2 {
		incr := c.recvUnacked
		c.recvUnacked = 0
		c.queue(func(b []byte) []byte { return appendWindowUpdate(b, 0, incr) }, true)
	}
	data, err := unpad(f)
	if err != nil {
		return err
	}
	st := c.lookup(f.stream)
	if st == nil {
		return nil
	}
	end := f.has(flagEndStream)
	st.recvUnacked += n
	if st.recvUnacked >= streamWindow/2 && !end {
		incr, id := st.recvUnacked, st.id
		st.recvUnacked = 0
		c.queue(func(b []byte) []byte { return appendWindowUpdate(b, id, incr) }, true)
	}
	if st.nonGRPC != nil {
		k := min(len(data), nonGRPCBody-len(st.body))
		st.body = append(st.body, data[:k]...)
		if len(st.body) >= nonGRPCBody || end {
			c.finish(st, httpStatusBody(st.nonGRPC, st.body), !end)
		}
		return nil
	}
	if err := c.cl.messages(st, data); err != nil {
		c.finish(st, err, !end)
		return nil
	}
	if end {
		err := errNoTrailers
		if st.partial() {
			err = errUnexpectedEOF
		}
		c.finish(st, err, false)
	}
	return nil
}

// nonGRPCBody is how much of a response that is not gRPC is kept for
// the error, as grpc-go does.
const nonGRPCBody = 1024

func httpStatusBody(st error, body []byte) error {
	s := status.Convert(st)
	return status.Error(s.Code(), fmt.Sprintf("%s\ndata: %q", s.Message(), body))
}

// messages reads gRPC length-prefixed messages from data into st: one
// response message (of at most MaxRecvSize) is expected, uncompressed.
func (cl *Client) messages(st *stream, data []byte) error {
	for len(data) > 0 {
		if !st.inBody {
			k := copy(st.prefix[st.nPrefix:], data)
			st.nPrefix += k
			data = data[k:]
			if st.nPrefix < 5 {
				return nil
			}
			st.nPrefix = 0
			n := binary.BigEndian.Uint32(st.prefix[1:])
			switch pf := st.prefix[0]; {
			case pf == 1:
				if st.enc != "" {
					return status.Errorf(codes.Internal, "grpc: Decompressor is not installed for grpc-encoding %q", st.enc)
				}
				return errIdentityFlag
			case pf > 1:
				return status.Errorf(codes.Internal, "grpc: received unexpected payload format %d", pf)
			case int64(n) > int64(cl.maxRecv):
				return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, cl.maxRecv)
			}
			st.msgs++
			if st.msgs > 1 {
				return errTwoMessages
			}
			st.inBody, st.need = n > 0, int(n)
			st.buf = st.buf[:0]
			continue
		}
		k := min(st.need, len(data))
		st.buf = append(st.buf, data[:k]...)
		st.need -= k
		data = data[k:]
		st.inBody = st.need > 0
	}
	return nil
}

func (c *conn) onHeaders(f *frame) error {
	if f.stream == 0 {
		return connError{codeProtocol, "HEADERS on stream 0"}
	}
	p, err := unpad(f)
	if err != nil {
		return err
	}
	c.blk = block{st: c.lookup(f.stream), end: f.has(flagEndStream)}
	c.cont = f.stream
	return c.headerFragment(p, f.has(flagEndHeaders))
}

// headerFragment decodes part of a header block (every block is decoded,
// for the decoder's table, whether or not its stream is still here).
func (c *conn) headerFragment(p []byte, last bool) error {
	if _, err := c.dec.Write(p); err != nil {
		return connError{codeCompression, err.Error()}
	}
	if !last {
		return nil
	}
	c.cont = 0
	if err := c.dec.Close(); err != nil {
		return connError{codeCompression, err.Error()}
	}
	if c.blk.st != nil {
		c.endBlock(c.blk.st)
	}
	c.blk = block{}
	return nil
}

// onField takes in one response header field.
func (c *conn) onField(hf hpack.HeaderField) {
	b := &c.blk
	if b.st == nil {
		return
	}
	switch hf.Name {
	case ":status":
		n, err := strconv.Atoi(hf.Value)
		if err != nil {
			b.badHTTP = status.Errorf(codes.Internal, "transport: malformed http-status: %v", err)
		}
		b.httpCode = n
	case "content-type":
		b.ctype = hf.Value
	case "grpc-status":
		n, err := strconv.ParseInt(hf.Value, 10, 32)
		if err != nil {
			b.badCode = status.Errorf(codes.Unknown, "transport: malformed grpc-status: %v", err)
		}
		b.code, b.hasCode = int(uint32(n)), true
	case "grpc-message":
		b.msg = hf.Value
	case "grpc-encoding":
		b.encoding = hf.Value
	default:
		if h := c.cl.cacheHeader; h != "" && hf.Name == h && strings.EqualFold(hf.Value, c.cl.cacheHit) {
			b.st.cacheHit = true
		}
	}
}

// endBlock acts on a complete header block of st's: the response headers,
// its trailers, or both at once.
func (c *conn) endBlock(st *stream) {
	b := &c.blk
	if st.nonGRPC != nil {
		if b.end {
			c.finish(st, httpStatusBody(st.nonGRPC, st.body), false)
		}
		return
	}
	initial := !st.headers
	if !initial && !b.end {
		c.finish(st, errHeadersMiddle, true)
		return
	}
	if b.badCode != nil {
		c.finish(st, b.badCode, !b.end)
		return
	}
	if initial && !isGRPCContentType(b.ctype) {
		if b.badHTTP != nil {
			c.finish(st, b.badHTTP, !b.end)
			return
		}
		if b.httpCode >= 100 && b.httpCode < 200 {
			if b.end {
				c.finish(st, status.Errorf(codes.Internal,
					"protocol error: informational header with status code %d must not have END_STREAM set", b.httpCode), false)
			}
			return // informational
		}
		err := httpStatus(b.httpCode, b.ctype, nil, false)
		if b.end {
			c.finish(st, err, false)
			return
		}
		st.nonGRPC = err
		return
	}
	if initial {
		st.headers = true
		if b.encoding != "" && b.encoding != "identity" {
			st.enc = b.encoding
		}
	}
	if !b.end {
		return
	}
	var err error
	code := codes.Unknown
	if b.hasCode {
		code = codes.Code(b.code)
	}
	switch {
	case st.partial():
		err = errUnexpectedEOF
	case code != codes.OK:
		err = status.Error(code, decodeMessage(b.msg))
	case st.msgs == 0:
		err = errNoMessage
	}
	c.finish(st, err, false)
}
