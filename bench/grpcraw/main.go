// Command grpcraw is a gRPC server that costs almost nothing: it answers
// every request on every connection with the same response (a 3-byte
// demo.GetReply and status OK), whatever the method, without decoding the
// request. loadbench's gRPC closed-loop rows use it, as its HTTP ones use
// a canned HTTP server, so that the generators, not the target, saturate.
//
// It speaks just enough HTTP/2 for that: the preface and settings, acks of
// settings and pings, flow control both ways (a WINDOW_UPDATE for the
// requests' data it reads; its responses wait for the client's window),
// and responses whose header fields are indexed in the client's HPACK
// table after the first. Request headers are not decoded (their HPACK
// state is the client's encoder's business only). One goroutine per
// connection reads what has arrived, answers every request in it, and
// writes the answers in one write; nothing is allocated per request.
//
//	grpcraw -addr 127.0.0.1:50051
//
// It exits when its standard input closes.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

// Frame types and flags (RFC 9113).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	flagEndStream     = 0x1
	flagAck           = 0x1
	flagEndHeaders    = 0x4
)

// reply is the response message, length-prefixed: demo.GetReply{key: "k"}.
var reply = []byte{0, 0, 0, 0, 3, 0x0a, 0x01, 'k'}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpcraw:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpcraw:", err)
			os.Exit(1)
		}
		go serve(nc)
	}
}

func frameHeader(b []byte, n int, typ, flags byte, id uint32) []byte {
	return append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags, byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

// conn is one client connection.
type conn struct {
	nc      net.Conn
	buf     []byte
	lo, hi  int
	out     []byte
	waiting []byte // responses waiting for the client's window
	sendWin int64  // the client's connection window for our DATA
	primed  bool   // our response fields are in the client's HPACK table
	unacked int    // request DATA bytes read and not yet given back
}

func serve(nc net.Conn) {
	defer nc.Close()
	c := &conn{nc: nc, buf: make([]byte, 1<<20), sendWin: 65535}
	if !c.fill(24) { // the client preface
		return
	}
	c.lo += 24
	// No limit on concurrent streams, a large window for the requests.
	c.out = frameHeader(c.out, 6, frameSettings, 0, 0)
	c.out = append(c.out, 0, 4, 0, 0x10, 0, 0) // INITIAL_WINDOW_SIZE 1 MiB
	c.out = frameHeader(c.out, 4, frameWindowUpdate, 0, 0)
	c.out = binary.BigEndian.AppendUint32(c.out, 16<<20)
	for {
		for c.hi-c.lo >= 9 {
			n := int(c.buf[c.lo])<<16 | int(c.buf[c.lo+1])<<8 | int(c.buf[c.lo+2])
			if n > len(c.buf)-9 {
				return
			}
			if c.hi-c.lo < 9+n {
				break
			}
			if !c.frame(c.buf[c.lo+3], c.buf[c.lo+4], binary.BigEndian.Uint32(c.buf[c.lo+5:])&(1<<31-1), c.buf[c.lo+9:c.lo+9+n]) {
				return
			}
			c.lo += 9 + n
		}
		if c.unacked >= 1<<16 {
			c.out = frameHeader(c.out, 4, frameWindowUpdate, 0, 0)
			c.out = binary.BigEndian.AppendUint32(c.out, uint32(c.unacked))
			c.unacked = 0
		}
		if len(c.out) > 0 {
			if _, err := nc.Write(c.out); err != nil {
				return
			}
			c.out = c.out[:0]
		}
		if !c.fill(c.hi - c.lo + 1) {
			return
		}
	}
}

// fill reads until buf[lo:] holds n bytes.
func (c *conn) fill(n int) bool {
	if c.lo == c.hi {
		c.lo, c.hi = 0, 0
	} else if len(c.buf)-c.lo < n {
		c.hi = copy(c.buf, c.buf[c.lo:c.hi])
		c.lo = 0
	}
	for c.hi-c.lo < n {
		m, err := c.nc.Read(c.buf[c.hi:])
		c.hi += m
		if err != nil {
			return c.hi-c.lo >= n
		}
	}
	return true
}

// frame handles one frame; false ends the connection.
func (c *conn) frame(typ, flags byte, id uint32, p []byte) bool {
	switch typ {
	case frameSettings:
		if flags&flagAck == 0 {
			c.out = frameHeader(c.out, 0, frameSettings, flagAck, 0)
		}
	case framePing:
		if flags&flagAck == 0 && len(p) == 8 {
			c.out = frameHeader(c.out, 8, framePing, flagAck, 0)
			c.out = append(c.out, p...)
		}
	case frameWindowUpdate:
		if id == 0 && len(p) == 4 {
			c.sendWin += int64(binary.BigEndian.Uint32(p) & (1<<31 - 1))
			c.release()
		}
	case frameGoAway:
		return false
	case frameData:
		c.unacked += len(p)
		if flags&flagEndStream != 0 {
			c.respond(id)
		}
	case frameHeaders:
		if flags&flagEndHeaders == 0 {
			return false // CONTINUATION: not for the small requests of a benchmark
		}
		if flags&flagEndStream != 0 {
			c.respond(id)
		}
	}
	return true
}

// respond answers stream id: headers, the reply, trailers.
func (c *conn) respond(id uint32) {
	hdrs, trl := []byte{0x88, 0xbf}, []byte{0xbe} // :status 200; content-type, grpc-status 0 indexed
	if !c.primed {
		// Added to the table: content-type (then at 63) and grpc-status
		// (then at 62).
		hdrs = append([]byte{0x88, 0x40 | 31, 16}, "application/grpc"...)
		trl = append([]byte{0x40, 11}, "grpc-status"...)
		trl = append(trl, 1, '0')
		c.primed = true
	}
	c.out = frameHeader(c.out, len(hdrs), frameHeaders, flagEndHeaders, id)
	c.out = append(c.out, hdrs...)
	if c.sendWin >= int64(len(reply)) && len(c.waiting) == 0 {
		c.sendWin -= int64(len(reply))
		c.out = frameHeader(c.out, len(reply), frameData, 0, id)
		c.out = append(c.out, reply...)
		c.out = frameHeader(c.out, len(trl), frameHeaders, flagEndHeaders|flagEndStream, id)
		c.out = append(c.out, trl...)
		return
	}
	// Out of window: the rest waits, in order, for WINDOW_UPDATE.
	c.waiting = binary.BigEndian.AppendUint32(c.waiting, id)
	c.waiting = append(c.waiting, byte(len(trl)))
	c.waiting = append(c.waiting, trl...)
}

// release sends the waiting responses the window now allows.
func (c *conn) release() {
	for len(c.waiting) > 0 && c.sendWin >= int64(len(reply)) {
		id := binary.BigEndian.Uint32(c.waiting)
		n := int(c.waiting[4])
		trl := c.waiting[5 : 5+n]
		c.sendWin -= int64(len(reply))
		c.out = frameHeader(c.out, len(reply), frameData, 0, id)
		c.out = append(c.out, reply...)
		c.out = frameHeader(c.out, len(trl), frameHeaders, flagEndHeaders|flagEndStream, id)
		c.out = append(c.out, trl...)
		c.waiting = c.waiting[5+n:]
	}
	if len(c.waiting) == 0 {
		c.waiting = c.waiting[:0]
	}
}
